/*
 * FloorSignIn.tsx — the operator's sign-in on an enrolled phone: badge, then PIN on a big
 * keypad (gloved hands, 360 px screens). The phone's device id and secret come from
 * device.ts; a phone that has none sends the operator to the enrolment screen.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { describeError, Shell } from '../components';
import { postJson } from '../lib/api';
import { loadDevice, type Device } from '../lib/device';
import { useI18n } from '../lib/i18n';
import { navigate } from '../lib/router';
import { setTokens, type TokenAnswer } from '../lib/session';

export function FloorSignIn() {
  const { t } = useI18n();
  const [device, setDevice] = useState<Device | null | undefined>(undefined);
  const [badge, setBadge] = useState('');
  const [pin, setPin] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    loadDevice().then(
      (d) => setDevice(d ?? null),
      () => setDevice(null),
    );
  }, []);

  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    if (!device) return;
    setBusy(true);
    setError(null);
    postJson<TokenAnswer>(
      '/api/v1/auth/pin-login',
      { tenant: device.tenant, device_id: device.device_id, device_secret: device.device_secret, badge: badge.trim().toUpperCase(), pin },
      { auth: false },
    ).then(
      (r) => {
        setTokens(r);
        setPin('');
        navigate('/', true);
      },
      (err) => {
        setPin('');
        setError(describeError(err, t));
        setBusy(false);
      },
    );
  };

  const key = (k: string) => {
    if (k === '⌫') setPin((p) => p.slice(0, -1));
    else if (pin.length < 12) setPin((p) => p + k);
  };

  return (
    <Shell title={t('signin.floor')}>
      <section className="card narrow floor">
        {device === undefined ? null : device === null ? (
          <>
            <p>{t('signin.floor.nodevice')}</p>
            <button type="button" className="primary big" onClick={() => navigate('/device')}>
              {t('device.title')}
            </button>
          </>
        ) : (
          <form onSubmit={submit}>
            <p className="muted">{t('device.current', { name: device.name })}</p>
            <label>
              {t('signin.badge')}
              <input
                name="badge"
                className="big"
                value={badge}
                onChange={(e) => setBadge(e.target.value)}
                required
                autoCapitalize="characters"
                autoComplete="off"
              />
            </label>
            <label>
              {t('signin.pin')}
              <input
                name="pin"
                className="big"
                type="password"
                inputMode="numeric"
                value={pin}
                onChange={(e) => setPin(e.target.value.replace(/\D/g, ''))}
                required
                autoComplete="off"
              />
            </label>
            <div className="keypad" aria-label={t('signin.pin')}>
              {['1', '2', '3', '4', '5', '6', '7', '8', '9', '⌫', '0'].map((k) => (
                <button type="button" key={k} onClick={() => key(k)} aria-label={k === '⌫' ? 'effacer' : k}>
                  {k}
                </button>
              ))}
              <button type="submit" className="primary" disabled={busy || !pin || !badge}>
                OK
              </button>
            </div>
          </form>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <p>
          <a
            href="/console/signin"
            onClick={(e) => {
              e.preventDefault();
              navigate('/signin');
            }}
          >
            {t('signin.floor.toOffice')}
          </a>
        </p>
      </section>
    </Shell>
  );
}
