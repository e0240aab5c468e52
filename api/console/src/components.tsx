/*
 * components.tsx — pieces every screen uses: the frame (title, navigation by role,
 * network and live state, language, sign-out), error and loading states, a dialog, the
 * notification list and the outbox panel.
 */
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError, NetworkError } from './lib/api';
import { useOnline, useSession } from './lib/hooks';
import { useI18n } from './lib/i18n';
import { dismiss, listQueue, onQueueChange, syncQueue, type Queued } from './lib/queue';
import { navigate, useRoute } from './lib/router';
import { signOut } from './lib/session';

const NAV: { route: string; key: string; roles: string[] }[] = [
  { route: '/floor/weaver', key: 'nav.weaver', roles: ['weaver', 'planner', 'manager', 'admin'] },
  { route: '/floor/mechanic', key: 'nav.mechanic', roles: ['mechanic', 'planner', 'manager', 'admin'] },
  { route: '/office/planner', key: 'nav.planner', roles: ['planner', 'manager', 'admin'] },
  { route: '/office/machines', key: 'nav.machines', roles: ['planner', 'manager', 'admin', 'mechanic', 'quality', 'auditor'] },
  { route: '/floor/cutter', key: 'nav.cutter', roles: ['cutter', 'planner', 'manager', 'admin'] },
  { route: '/floor/quality', key: 'nav.quality', roles: ['quality', 'manager', 'admin'] },
  { route: '/floor/store-mp', key: 'nav.storeMp', roles: ['storekeeper_mp', 'manager', 'admin'] },
  { route: '/floor/store-pf', key: 'nav.storePf', roles: ['storekeeper_pf', 'manager', 'admin'] },
  { route: '/floor/store-st', key: 'nav.storeSt', roles: ['storekeeper_st', 'manager', 'admin'] },
  { route: '/office/stock', key: 'nav.stock', roles: ['planner', 'manager', 'admin', 'accountant', 'auditor', 'quality'] },
  { route: '/office/purchasing', key: 'nav.purchasing', roles: ['planner', 'manager', 'admin', 'accountant', 'storekeeper_mp'] },
  { route: '/office/quality', key: 'nav.qoffice', roles: ['quality', 'planner', 'manager', 'admin'] },
  { route: '/office/accounting', key: 'nav.accounting', roles: ['accountant', 'manager', 'admin', 'auditor'] },
  { route: '/office/payslip', key: 'nav.payslip', roles: ['hr', 'accountant', 'manager', 'admin'] },
  { route: '/office/control', key: 'nav.control', roles: ['manager', 'accountant', 'admin', 'auditor'] },
  { route: '/office/projects', key: 'nav.projects', roles: ['planner', 'manager', 'accountant', 'auditor', 'admin'] },
];

export function Shell({ title, live, children, wide }: { title: string; live?: boolean; children: ReactNode; wide?: boolean }) {
  const { t, lang, setLang } = useI18n();
  const online = useOnline();
  const session = useSession();
  const route = useRoute();
  const role = session?.claims.role ?? '';
  return (
    <div className={wide ? 'shell wide' : 'shell'}>
      <header className="bar">
        <h1>{title}</h1>
        <div className="bar-right">
          <span className={online ? 'pill ok' : 'pill warn'} role="status" data-testid="network">
            {online ? t('online') : t('offline')}
          </span>
          {live !== undefined && (
            <span className={live ? 'pill ok' : 'pill muted'} data-testid="live">
              {live ? t('live') : t('reconnecting')}
            </span>
          )}
          <button type="button" className="link" onClick={() => setLang(lang === 'fr' ? 'en' : 'fr')}>
            {t('lang.switch')}
          </button>
        </div>
      </header>
      {session && (
        <nav className="nav" aria-label="screens">
          {NAV.filter((n) => n.roles.includes(role)).map((n) => (
            <a
              key={n.route}
              href={`/console${n.route}`}
              aria-current={route === n.route ? 'page' : undefined}
              onClick={(e) => {
                e.preventDefault();
                navigate(n.route);
              }}
            >
              {t(n.key)}
            </a>
          ))}
          <span className="who" data-testid="who">
            {session.claims.badge ? `${session.claims.badge} · ${role}` : role}
          </span>
          <button
            type="button"
            className="link"
            onClick={() => {
              const floor = route.startsWith('/floor');
              void signOut().then(() => navigate(floor ? '/floor/signin' : '/signin'));
            }}
          >
            {t('signout')}
          </button>
        </nav>
      )}
      <main>{children}</main>
    </div>
  );
}

export function describeError(e: unknown, t: (k: string, v?: Record<string, string>) => string): string {
  if (e instanceof NetworkError) return t('error.network');
  if (e instanceof ApiError) {
    if (e.status === 403) return `${t('error.forbidden')} (${e.code})`;
    return t('error.generic', { detail: `${e.detail} (${e.code})` });
  }
  return t('error.generic', { detail: String(e) });
}

export function ErrorBox({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useI18n();
  if (!error) return null;
  return (
    <div className="error" role="alert">
      {describeError(error, t)}
      {onRetry && (
        <button type="button" className="link" onClick={onRetry}>
          {t('retry')}
        </button>
      )}
    </div>
  );
}

export function Loading() {
  const { t } = useI18n();
  return <p className="muted">{t('loading')}</p>;
}

export function Modal({ title, onClose, children }: { title: string; onClose: () => void; children: ReactNode }) {
  const { t } = useI18n();
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.querySelector<HTMLElement>('input, button, select, textarea')?.focus();
    const key = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    window.addEventListener('keydown', key);
    return () => window.removeEventListener('keydown', key);
  }, [onClose]);
  return (
    <div className="overlay">
      <div className="modal" role="dialog" aria-modal="true" aria-label={title} ref={ref}>
        <div className="modal-head">
          <h2>{title}</h2>
          <button type="button" className="link" onClick={onClose} aria-label={t('close')}>
            ✕
          </button>
        </div>
        {children}
      </div>
    </div>
  );
}

export interface Notice {
  id: string;
  text: string;
  at: Date;
  level: 'info' | 'alert';
}

export function Notices({ items }: { items: Notice[] }) {
  const { t } = useI18n();
  if (!items.length) return null;
  return (
    <section className="card notices" aria-live="polite" data-testid="notices">
      <h2>{t('notif.title')}</h2>
      <ul>
        {items.slice(0, 8).map((n) => (
          <li key={n.id} className={n.level}>
            <time>{n.at.toLocaleTimeString()}</time> {n.text}
          </li>
        ))}
      </ul>
    </section>
  );
}

/* The outbox: what waits to be sent, what was refused (and why), what went out lately. */
export function QueuePanel() {
  const { t } = useI18n();
  const session = useSession();
  const [items, setItems] = useState<Queued[]>([]);
  useEffect(() => {
    const load = () => void listQueue().then(setItems, () => setItems([]));
    load();
    return onQueueChange(load);
  }, []);
  // A shared phone: each person sees their own commands; others' pending ones are only counted.
  const mine = (i: Queued) => !!session && i.tenant === session.claims.tenant && i.sub === session.claims.sub;
  const others = items.filter((i) => i.state === 'pending' && !mine(i)).length;
  const shown = items.filter((i) => mine(i) && (i.state !== 'done' || (i.done_at && Date.now() - Date.parse(i.done_at) < 10 * 60000)));
  if (!shown.length && !others) return null;
  const pending = shown.filter((i) => i.state === 'pending').length;
  return (
    <section className="card queue" data-testid="queue">
      <h2>
        {t('queue.title')} {pending > 0 && <span className="pill warn">{t('queue.pending', { n: pending })}</span>}
      </h2>
      <ul>
        {shown
          .slice(-10)
          .reverse()
          .map((i) => (
            <li key={i.key} className={`q-${i.state}`} data-testid={`queue-${i.state}`}>
              <span>
                {i.type.replace(/^(production|inventory|quality|purchasing|subcontracting)\./, '')} · {new Date(i.created_at).toLocaleTimeString()}
              </span>{' '}
              {i.state === 'pending' && <span className="pill warn">{t('queue.item.pending')}</span>}
              {i.state === 'done' && <span className="pill ok">{t('queue.synced')}</span>}
              {i.state === 'refused' && (
                <>
                  <span className="pill bad">
                    {t('queue.refused')}: {i.detail ?? i.code}
                  </span>
                  <button type="button" className="link" onClick={() => void dismiss(i.key)}>
                    {t('close')}
                  </button>
                </>
              )}
            </li>
          ))}
      </ul>
      {others > 0 && <p className="muted small">{t('queue.others', { n: others })}</p>}
      {pending > 0 && (
        <button type="button" onClick={() => void syncQueue().catch(() => {})}>
          {t('queue.sync')}
        </button>
      )}
    </section>
  );
}

export const pct = (x: number | null | undefined) => (x === null || x === undefined ? '—' : `${Math.round(x * 1000) / 10} %`);
export const num = (x: number | null | undefined, digits = 0) =>
  x === null || x === undefined ? '—' : x.toLocaleString(undefined, { maximumFractionDigits: digits });
export const time = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');
