/*
 * OfficeSignIn.tsx — password sign-in for the office, with the TOTP step the API asks of
 * accountant, hr, manager and admin: enrolment the first time (the QR code the server
 * draws, then a code; the recovery codes it answers are shown once), a code after that,
 * or a recovery code.
 */
import { useState, type FormEvent } from 'react';
import { describeError, Shell } from '../components';
import { postJson } from '../lib/api';
import { useI18n } from '../lib/i18n';
import { navigate } from '../lib/router';
import { setTokens, type TokenAnswer } from '../lib/session';

type LoginAnswer = TokenAnswer & { mfa_required?: boolean; mfa_token?: string; mfa_enrolled?: boolean; recovery_codes?: string[] };

export function rememberedTenant(): string {
  try {
    return localStorage.getItem('fofal.tenant') ?? '';
  } catch {
    return '';
  }
}

export function OfficeSignIn() {
  const { t } = useI18n();
  const [tenant, setTenant] = useState(rememberedTenant());
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [mfa, setMfa] = useState<{ token: string; enrolled: boolean; qr?: string; uri?: string } | null>(null);
  const [code, setCode] = useState('');
  const [recovery, setRecovery] = useState<string[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(describeError(e, t));
    } finally {
      setBusy(false);
    }
  };

  const login = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      try {
        localStorage.setItem('fofal.tenant', tenant);
      } catch {
        /* not kept */
      }
      const r = await postJson<LoginAnswer>('/api/v1/auth/login', { tenant, username, password }, { auth: false });
      setPassword('');
      if (r.mfa_required && r.mfa_token) {
        if (r.mfa_enrolled) {
          setMfa({ token: r.mfa_token, enrolled: true });
        } else {
          const en = await postJson<{ otpauth_uri: string; qr_svg?: string }>(
            '/api/v1/auth/totp/enrol',
            { mfa_token: r.mfa_token },
            { auth: false },
          );
          setMfa({ token: r.mfa_token, enrolled: false, uri: en.otpauth_uri, qr: en.qr_svg });
        }
        return;
      }
      setTokens(r);
      navigate('/', true);
    });
  };

  const verify = (e: FormEvent) => {
    e.preventDefault();
    if (!mfa) return;
    void run(async () => {
      const body = /^\d{6}$/.test(code.trim()) ? { mfa_token: mfa.token, code: code.trim() } : { mfa_token: mfa.token, recovery_code: code.trim() };
      const r = await postJson<LoginAnswer>('/api/v1/auth/mfa', body, { auth: false });
      setTokens(r);
      if (r.recovery_codes?.length) setRecovery(r.recovery_codes);
      else navigate('/', true);
    });
  };

  return (
    <Shell title={t('signin.office')}>
      <section className="card narrow">
        {recovery ? (
          <div data-testid="recovery">
            <p>{t('signin.recovery')}</p>
            <ul className="codes">
              {recovery.map((c) => (
                <li key={c}>
                  <code>{c}</code>
                </li>
              ))}
            </ul>
            <button type="button" className="primary" onClick={() => navigate('/', true)}>
              {t('signin.continue')}
            </button>
          </div>
        ) : !mfa ? (
          <form onSubmit={login}>
            <label>
              {t('signin.tenant')}
              <input name="tenant" value={tenant} onChange={(e) => setTenant(e.target.value)} required autoComplete="organization" />
            </label>
            <label>
              {t('signin.username')}
              <input name="username" value={username} onChange={(e) => setUsername(e.target.value)} required autoComplete="username" />
            </label>
            <label>
              {t('signin.password')}
              <input
                name="password"
                type="password"
                value={password}
                onChange={(e) => setPassword(e.target.value)}
                required
                autoComplete="current-password"
              />
            </label>
            <button type="submit" className="primary" disabled={busy}>
              {t('signin.submit')}
            </button>
          </form>
        ) : (
          <form onSubmit={verify}>
            {!mfa.enrolled && (
              <div className="enrol">
                <p>{t('signin.totp.enrol')}</p>
                {mfa.qr && <img className="qr" alt="TOTP QR" src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(mfa.qr)}`} />}
                <code className="uri" data-testid="otpauth">
                  {mfa.uri}
                </code>
              </div>
            )}
            <label>
              {t('signin.totp')}
              <input name="code" value={code} onChange={(e) => setCode(e.target.value)} required autoComplete="one-time-code" inputMode="numeric" />
            </label>
            <button type="submit" className="primary" disabled={busy}>
              {t('signin.continue')}
            </button>
          </form>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <p>
          <a
            href="/console/floor/signin"
            onClick={(e) => {
              e.preventDefault();
              navigate('/floor/signin');
            }}
          >
            {t('signin.office.toFloor')}
          </a>
        </p>
      </section>
    </Shell>
  );
}
