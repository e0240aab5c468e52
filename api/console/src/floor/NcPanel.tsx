/*
 * NcPanel.tsx — the inspector's follow-up of the non-conformities they opened: the NCs
 * not closed whose opened_by is this account (the server writes "u:<subject>/<role>"
 * from the token), each opened in place with its photos (files kind=nc), its analysis
 * (quality.nc.analyse: the cause and its 5M category), its actions (quality.nc.act:
 * corrective or preventive, an owner's badge, a due date) and its closing
 * (quality.nc.close, once analysed with a corrective action: the verification). The
 * decider's rules decide (analysis_required, action_required, unknown_employee): the
 * screen only offers the step that comes next and shows the server's refusal otherwise.
 * The quality module has no command that closes one action: an action is done when its
 * NC is closed (README "Screens", Not yet).
 */
import { useEffect, useState } from 'react';
import { ErrorBox, Loading } from '../components';
import { getJson } from '../lib/api';
import { useLoad } from '../lib/hooks';
import { useI18n } from '../lib/i18n';
import { getSession } from '../lib/session';
import { Photos } from './CutPhotos';
import { OutcomeBox, Section, useCommand } from './kit';

export interface NcAction {
  action_no: number;
  kind: string;
  description: string;
  owner: string;
  due: string;
}

export interface Nc {
  nc_id: string;
  title: string;
  status: string;
  opened_by: string;
  opened_at: string;
  lots: string[] | null;
  cause: string | null;
  category: string | null;
  actions?: NcAction[];
}

export const NC_CATEGORIES = ['man', 'machine', 'method', 'material', 'environment', 'measurement'];

/* Whether the account signed in opened this NC (its actor is "u:<subject>/<role>"). */
export function openedByMe(nc: Pick<Nc, 'opened_by'>, sub: string | undefined): boolean {
  return !!sub && nc.opened_by.startsWith(`u:${sub}/`);
}

/* A date `days` after today, YYYY-MM-DD (an action's default due date). */
export function inDays(days: number, now = new Date()): string {
  return new Date(now.getTime() + days * 86400000).toISOString().slice(0, 10);
}

/* The NCs I opened that are not closed; after a command of mine, as of its position. */
async function myOpenNcs(position?: string): Promise<Nc[]> {
  const sub = getSession()?.claims.sub;
  const q = position ? `&position=${encodeURIComponent(position)}` : '';
  const [open, analysed] = await Promise.all(
    ['open', 'analysed'].map((s) => getJson<{ items: Nc[] }>(`/api/v1/quality/ncs?status=${s}&limit=200${q}`)),
  );
  return [...open.items, ...analysed.items].filter((n) => openedByMe(n, sub)).sort((a, b) => a.opened_at.localeCompare(b.opened_at));
}

export function MyNcs({ position }: { position?: string }) {
  const { t } = useI18n();
  const [after, setAfter] = useState<string | undefined>();
  const list = useLoad(() => myOpenNcs(after ?? position), [position, after]);
  const [openId, setOpenId] = useState<string | null>(null);
  return (
    <Section title={t('nc.mine')} testId="my-ncs">
      <ErrorBox error={list.error} onRetry={list.reload} />
      {!list.data && !list.error && <Loading />}
      {list.data && !list.data.length && <p className="muted">{t('none')}</p>}
      {list.data && list.data.length > 0 && (
        <ul className="list">
          {list.data.map((n) => (
            <li key={n.nc_id} data-testid={`nc-${n.nc_id}`}>
              <button type="button" className="link" onClick={() => setOpenId(openId === n.nc_id ? null : n.nc_id)} aria-expanded={openId === n.nc_id}>
                <strong>{n.title}</strong>
              </button>
              <span className={n.status === 'open' ? 'pill warn' : 'pill'}>{t(`ncstatus.${n.status}`)}</span>
              {openId === n.nc_id && <NcFollowUp id={n.nc_id} onChanged={setAfter} />}
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}

/* One NC: what it is, its photos, and the next step the decider accepts. */
export function NcFollowUp({ id, onChanged }: { id: string; onChanged: (position: string | undefined) => void }) {
  const { t } = useI18n();
  const cmd = useCommand();
  const [position, setPosition] = useState<string | undefined>();
  const [seq, setSeq] = useState(0);
  const [nc, setNc] = useState<Nc | null>(null);
  const [error, setError] = useState<unknown>();
  const [cause, setCause] = useState('');
  const [category, setCategory] = useState('machine');
  const [kind, setKind] = useState('corrective');
  const [description, setDescription] = useState('');
  const [owner, setOwner] = useState(getSession()?.claims.badge ?? '');
  const [due, setDue] = useState(inDays(7));
  const [verification, setVerification] = useState('');

  useEffect(() => {
    let gone = false;
    const q = position ? `?position=${encodeURIComponent(position)}` : '';
    getJson<Nc>(`/api/v1/quality/ncs/${id}${q}`).then(
      (n) => !gone && (setNc(n), setError(undefined)),
      (e) => !gone && setError(e),
    );
    return () => {
      gone = true;
    };
  }, [id, position, seq]);

  const run = async (type: string, data: Record<string, unknown>, reset: () => void) => {
    const o = await cmd.send(type, { nc_id: id, ...data });
    if (o.state !== 'done') return;
    reset();
    setPosition(o.item?.position);
    setSeq((n) => n + 1);
    onChanged(o.item?.position);
  };

  if (error) return <ErrorBox error={error} />;
  if (!nc) return <Loading />;
  const corrective = (nc.actions ?? []).some((a) => a.kind === 'corrective');
  return (
    <div className="nc" data-testid="nc-follow" data-status={nc.status}>
      {nc.lots?.length ? <p className="muted mono small">{nc.lots.join(', ')}</p> : null}
      {nc.cause && (
        <p data-testid="nc-cause">
          {t(`nccat.${nc.category}`)} — {nc.cause}
        </p>
      )}
      {(nc.actions ?? []).length > 0 && (
        <ul className="list" data-testid="nc-actions">
          {(nc.actions ?? []).map((a) => (
            <li key={a.action_no}>
              <span>
                {a.action_no}. {a.description} <span className="muted">({a.owner})</span>
              </span>
              <span className={a.kind === 'corrective' ? 'pill ok' : 'pill'}>
                {t(`ncaction.${a.kind}`)} · {a.due}
              </span>
            </li>
          ))}
        </ul>
      )}
      <Photos kind="nc" id={id} />
      {nc.status === 'open' && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void run('quality.nc.analyse', { cause: cause.trim(), category }, () => setCause(''));
          }}
        >
          <h3>{t('nc.analyse')}</h3>
          <label>
            {t('nc.cause')}
            <input name="nc-cause" value={cause} onChange={(e) => setCause(e.target.value)} required maxLength={1000} />
          </label>
          <label>
            {t('nc.category')}
            <select name="nc-category" value={category} onChange={(e) => setCategory(e.target.value)}>
              {NC_CATEGORIES.map((c) => (
                <option key={c} value={c}>
                  {t(`nccat.${c}`)}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className="primary big" disabled={cmd.busy} data-testid="nc-analyse-send">
            {t('nc.analyse')}
          </button>
        </form>
      )}
      {nc.status === 'analysed' && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void run('quality.nc.act', { kind, description: description.trim(), owner: owner.trim(), due }, () => setDescription(''));
          }}
        >
          <h3>{t('nc.act')}</h3>
          <label>
            {t('nc.actionKind')}
            <select name="nc-action-kind" value={kind} onChange={(e) => setKind(e.target.value)}>
              <option value="corrective">{t('ncaction.corrective')}</option>
              <option value="preventive">{t('ncaction.preventive')}</option>
            </select>
          </label>
          <label>
            {t('nc.actionWhat')}
            <input name="nc-action" value={description} onChange={(e) => setDescription(e.target.value)} required maxLength={1000} />
          </label>
          <div className="row">
            <label>
              {t('nc.owner')}
              <input name="nc-owner" value={owner} onChange={(e) => setOwner(e.target.value)} required maxLength={64} />
            </label>
            <label>
              {t('nc.due')}
              <input name="nc-due" type="date" value={due} onChange={(e) => setDue(e.target.value)} required />
            </label>
          </div>
          <button type="submit" className="big" disabled={cmd.busy} data-testid="nc-act-send">
            {t('nc.act')}
          </button>
        </form>
      )}
      {nc.status === 'analysed' && corrective && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void run('quality.nc.close', { verification: verification.trim() }, () => setVerification(''));
          }}
        >
          <h3>{t('nc.close')}</h3>
          <label>
            {t('nc.verification')}
            <input name="nc-verification" value={verification} onChange={(e) => setVerification(e.target.value)} required maxLength={1000} />
          </label>
          <button type="submit" className="primary big" disabled={cmd.busy} data-testid="nc-close-send">
            {t('nc.close')}
          </button>
        </form>
      )}
      {nc.status === 'closed' && <p className="pill ok">{t('ncstatus.closed')}</p>}
      <OutcomeBox outcome={cmd.outcome} />
    </div>
  );
}
