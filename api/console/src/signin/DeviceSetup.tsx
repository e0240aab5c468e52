/*
 * DeviceSetup.tsx — enrolling a shared phone once: an admin or manager signed in on it
 * enrols it (POST /api/v1/auth/devices; the secret is shown by the server once and kept
 * in this phone's IndexedDB), or types a device id and secret enrolled elsewhere. Then
 * the admin signs out and operators sign in with badge and PIN.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { describeError, Shell } from '../components';
import { enrolDevice, forgetDevice, loadDevice, saveDevice, type Device } from '../lib/device';
import { useSession } from '../lib/hooks';
import { useI18n } from '../lib/i18n';
import { navigate } from '../lib/router';
import { signOut } from '../lib/session';
import { rememberedTenant } from './OfficeSignIn';

export function DeviceSetup() {
  const { t } = useI18n();
  const session = useSession();
  const [device, setDevice] = useState<Device | null>(null);
  const [name, setName] = useState('');
  const [tenant, setTenant] = useState(rememberedTenant());
  const [id, setId] = useState('');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    loadDevice().then((d) => setDevice(d ?? null), () => {});
  }, []);
  const canEnrol = session && ['admin', 'manager'].includes(session.claims.role);

  const enrol = (e: FormEvent) => {
    e.preventDefault();
    if (!session) return;
    enrolDevice(session.claims.tenant, name).then(
      (d) => {
        setDevice(d);
        // The admin's session is not the operator's: the phone goes back to badge and PIN.
        void signOut().then(() => navigate('/floor/signin'));
      },
      (err) => setError(describeError(err, t)),
    );
  };
  const manual = (e: FormEvent) => {
    e.preventDefault();
    saveDevice({ tenant, device_id: id.trim(), device_secret: secret.trim(), name: name || id.trim() }).then(
      (d) => {
        setDevice(d);
        navigate('/floor/signin');
      },
      (err) => setError(String(err)),
    );
  };

  return (
    <Shell title={t('device.title')}>
      <section className="card narrow">
        <p>{t('device.explain')}</p>
        {device && (
          <p data-testid="device">
            {t('device.saved', { name: device.name })}{' '}
            <button type="button" className="link" onClick={() => void forgetDevice().then(() => setDevice(null))}>
              {t('device.forget')}
            </button>
          </p>
        )}
        {canEnrol && (
          <form onSubmit={enrol}>
            <label>
              {t('device.name')}
              <input name="device-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={64} />
            </label>
            <button type="submit" className="primary">
              {t('device.enrol')}
            </button>
          </form>
        )}
        <details open={!canEnrol}>
          <summary>{t('device.manual')}</summary>
          <form onSubmit={manual}>
            <label>
              {t('signin.tenant')}
              <input name="tenant" value={tenant} onChange={(e) => setTenant(e.target.value)} required />
            </label>
            <label>
              {t('device.id')}
              <input name="device-id" value={id} onChange={(e) => setId(e.target.value)} required autoComplete="off" />
            </label>
            <label>
              {t('device.secret')}
              <input name="device-secret" type="password" value={secret} onChange={(e) => setSecret(e.target.value)} required autoComplete="off" />
            </label>
            <button type="submit">{t('save')}</button>
          </form>
        </details>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
      </section>
    </Shell>
  );
}
