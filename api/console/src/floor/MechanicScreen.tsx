/*
 * MechanicScreen.tsx — the mechanic's phone: alerts (looms in breakdown, live), open
 * interventions to take, start and finish, first-piece checks due (pass or fail), beams
 * running out, and a loom's history (scan its plate or tap it). Everything refreshes by
 * itself from the WebSocket: a breakdown appears without a reload.
 */
import { MyTasks } from '../office/ControlOffice';
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { ErrorBox, Loading, Modal, Notices, num, QueuePanel, Shell, time, type Notice } from '../components';
import { getJson } from '../lib/api';
import { parseScan } from '../lib/codes';
import { useDebounced, useLoad } from '../lib/hooks';
import { useI18n } from '../lib/i18n';
import { describePush, kindOf } from '../lib/notify';
import { submit } from '../lib/queue';
import { openStream } from '../lib/stream';
import { LabelCard } from './LabelCard';
import { Scanner } from './Scanner';
import { CAUSES } from './WeaverScreen';
import { RequestDialog } from './kit';

export interface Intervention {
  intervention_id: string;
  loom: string;
  status: string;
  cause: string;
  note: string | null;
  source: string | null;
  requested_by: string | null;
  requested_at: string;
  mechanic: string | null;
}

export interface MechanicView {
  open_requests: Intervention[];
  beams_running_out: { loom: string; beam: string; position: string; meters_left: number; hours_to_runout: number | null; runout_at: string | null }[];
  first_piece_checks_due: { loom: string; hall: string | null; article: string | null; first_piece: string; since: string | null }[];
}

interface BoardLoom {
  loom: string;
  state: string;
  cause: string | null;
  since: string | null;
  breakdown: boolean;
}

type Dialog = { kind: 'scan' } | { kind: 'history'; loom: string } | { kind: 'label'; id: string } | { kind: 'finish'; it: Intervention } | { kind: 'message'; text: string };

export function MechanicScreen() {
  const { t } = useI18n();
  const pos = useRef<string>(); // the last command's position: the next read waits for it
  const view = useLoad(() =>
    getJson<MechanicView>(`/api/v1/maintenance/views/mechanic?within_hours=8${pos.current ? `&position=${encodeURIComponent(pos.current)}` : ''}`),
  );
  const board = useLoad(() => getJson<{ items: BoardLoom[] }>('/api/v1/machines/looms'));
  const [notices, setNotices] = useState<Notice[]>([]);
  const [live, setLive] = useState(false);
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const [request, setRequest] = useState(false); // a purchase request (spare parts)
  const [busy, setBusy] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const reloadView = useDebounced(view.reload, 300);
  const reloadBoard = useDebounced(board.reload, 300);

  useEffect(() => {
    const s = openStream({
      modules: ['production', 'maintenance', 'machines'],
      onStatus: setLive,
      onResync: () => {
        reloadView();
        reloadBoard();
      },
      onEvent: (ev) => {
        const k = kindOf(ev.type);
        if (ev.module === 'machines' && k !== 'loom_activity' && k !== 'hall_reading') reloadBoard();
        if (ev.module === 'maintenance' || (ev.module === 'production' && /first_piece|beam|loom_/.test(k))) reloadView();
        const n = describePush(ev, t);
        if (n) setNotices((l) => [{ id: `${ev.type}-${ev.aggregate}-${ev.seq}-${Date.now()}`, at: new Date(), ...n }, ...l].slice(0, 20));
      },
    });
    return s.close;
  }, [reloadView, reloadBoard, t]);

  const act = (id: string, type: string, data: Record<string, unknown>) => {
    setBusy(id);
    setActionError(null);
    submit(type, data).then(
      ({ item }) => {
        setBusy(null);
        if (item.state === 'refused') setActionError(`${item.detail ?? ''} (${item.code ?? item.status})`);
        pos.current = item.position;
        view.reload();
      },
      (e) => {
        setBusy(null);
        setActionError(String(e));
      },
    );
  };

  const onScan = useCallback((text: string) => {
    const s = parseScan(text);
    if (s.kind === 'loom') setDialog({ kind: 'history', loom: s.code });
    else if (s.kind === 'label') setDialog({ kind: 'label', id: s.id });
    else setDialog({ kind: 'message', text: t('scan.unknown', { code: text }) });
  }, [t]);

  const v = view.data;
  const down = board.data?.items.filter((l) => l.breakdown) ?? [];
  return (
    <Shell title={t('mech.title')} live={live}>
      <div className="actions">
        <button type="button" className="primary big" onClick={() => setDialog({ kind: 'scan' })}>
          {t('weaver.scan')}
        </button>
        <button type="button" className="big" onClick={() => setRequest(true)} data-testid="da-open">
          {t('mech.parts')}
        </button>
      </div>
      {request && <RequestDialog onClose={() => setRequest(false)} />}
      <QueuePanel />
      <section className="card alerts" data-testid="alerts">
        <h2>{t('mech.alerts')}</h2>
        {down.length === 0 ? (
          <p className="muted">{t('none')}</p>
        ) : (
          <ul>
            {down.map((l) => (
              <li key={l.loom} className="alert" data-testid={`breakdown-${l.loom}`}>
                <button type="button" className="link" onClick={() => setDialog({ kind: 'history', loom: l.loom })}>
                  <strong>{l.loom}</strong>
                </button>{' '}
                {t('machines.breakdown')} · {l.cause ? t(`cause.${l.cause}`) : ''} · {t('machines.since', { t: time(l.since) })}
              </li>
            ))}
          </ul>
        )}
      </section>
      <Notices items={notices} />
      <ErrorBox error={view.error} onRetry={view.reload} />
      {actionError && (
        <p className="error" role="alert">
          {actionError}
        </p>
      )}
      {!v && !view.error && <Loading />}
      {v && (
        <>
          <section className="card" data-testid="requests">
            <h2>
              {t('mech.requests')} <span className="pill">{v.open_requests.length}</span>
            </h2>
            {v.open_requests.length === 0 && <p className="muted">{t('mech.nothing')}</p>}
            <ul className="list">
              {v.open_requests.map((it) => (
                <li key={it.intervention_id} data-testid={`request-${it.loom}`}>
                  <div>
                    <button type="button" className="link" onClick={() => setDialog({ kind: 'history', loom: it.loom })}>
                      <strong>{it.loom}</strong>
                    </button>{' '}
                    {t(`cause.${it.cause}`)} · <span className="pill">{t(`status.${it.status}`)}</span>
                    <div className="muted small">
                      {time(it.requested_at)} · {it.source === 'telemetry' ? 'capteur' : it.requested_by ?? ''}
                      {it.mechanic ? ` · ${it.mechanic}` : ''}
                    </div>
                  </div>
                  <div className="row">
                    {it.status === 'requested' && (
                      <button type="button" className="primary" disabled={busy === it.intervention_id} onClick={() => act(it.intervention_id, 'maintenance.intervention.accept', { intervention_id: it.intervention_id })}>
                        {t('mech.accept')}
                      </button>
                    )}
                    {it.status === 'accepted' && (
                      <button type="button" className="primary" disabled={busy === it.intervention_id} onClick={() => act(it.intervention_id, 'maintenance.intervention.start', { intervention_id: it.intervention_id })}>
                        {t('mech.start')}
                      </button>
                    )}
                    {it.status === 'started' && (
                      <button type="button" className="primary" onClick={() => setDialog({ kind: 'finish', it })}>
                        {t('mech.finish')}
                      </button>
                    )}
                  </div>
                </li>
              ))}
            </ul>
          </section>
          <section className="card" data-testid="firstpieces">
            <h2>{t('mech.firstpieces')}</h2>
            {v.first_piece_checks_due.length === 0 && <p className="muted">{t('none')}</p>}
            <ul className="list">
              {v.first_piece_checks_due.map((f) => (
                <li key={f.loom}>
                  <div>
                    <strong>{f.loom}</strong> {f.article ?? ''} · {f.first_piece}
                  </div>
                  <div className="row">
                    <button type="button" className="primary" disabled={busy === f.loom} onClick={() => act(f.loom, 'production.loom.check_first_piece', { loom: f.loom, result: 'pass' })}>
                      {t('mech.pass')}
                    </button>
                    <button type="button" className="danger" disabled={busy === f.loom} onClick={() => act(f.loom, 'production.loom.check_first_piece', { loom: f.loom, result: 'fail' })}>
                      {t('mech.fail')}
                    </button>
                  </div>
                </li>
              ))}
            </ul>
          </section>
          <section className="card">
            <h2>{t('mech.beams')}</h2>
            {v.beams_running_out.length === 0 && <p className="muted">{t('none')}</p>}
            <ul className="list">
              {v.beams_running_out.map((b) => (
                <li key={b.beam}>
                  <div>
                    <strong>{b.loom}</strong> · {b.beam} ({b.position})
                  </div>
                  <div className="muted">
                    {t('mech.metersLeft', { m: num(b.meters_left, 1) })} · {t('mech.hoursLeft', { h: num(b.hours_to_runout, 1) })}
                  </div>
                </li>
              ))}
            </ul>
          </section>
        </>
      )}
      {dialog?.kind === 'scan' && <Scanner onResult={onScan} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'history' && <HistoryDialog loom={dialog.loom} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'label' && (
        <Modal title={t('label.title')} onClose={() => setDialog(null)}>
          <LabelCard id={dialog.id} />
        </Modal>
      )}
      {dialog?.kind === 'finish' && (
        <FinishDialog
          it={dialog.it}
          onClose={() => setDialog(null)}
          onSend={(data) => {
            setDialog(null);
            act(dialog.it.intervention_id, 'maintenance.intervention.finish', data);
          }}
        />
      )}
      {dialog?.kind === 'message' && (
        <Modal title={t('app')} onClose={() => setDialog(null)}>
          <p data-testid="message">{dialog.text}</p>
        </Modal>
      )}
      <MyTasks />
    </Shell>
  );
}

function FinishDialog({ it, onClose, onSend }: { it: Intervention; onClose: () => void; onSend: (d: Record<string, unknown>) => void }) {
  const { t } = useI18n();
  const [cause, setCause] = useState(it.cause && CAUSES.includes(it.cause) ? it.cause : 'mechanical');
  const [notes, setNotes] = useState('');
  const send = (e: FormEvent) => {
    e.preventDefault();
    const d: Record<string, unknown> = { intervention_id: it.intervention_id, cause };
    if (notes.trim()) d.notes = notes.trim();
    onSend(d);
  };
  return (
    <Modal title={`${t('mech.finish')} — ${it.loom}`} onClose={onClose}>
      <form onSubmit={send}>
        <fieldset className="causes">
          <legend>{t('call.cause')}</legend>
          {CAUSES.map((c) => (
            <label key={c} className={cause === c ? 'chip on' : 'chip'}>
              <input type="radio" name="cause" value={c} checked={cause === c} onChange={() => setCause(c)} />
              {t(`cause.${c}`)}
            </label>
          ))}
        </fieldset>
        <label>
          {t('call.note')}
          <input name="notes" value={notes} onChange={(e) => setNotes(e.target.value)} maxLength={1000} />
        </label>
        <button type="submit" className="primary big">
          {t('mech.finish')}
        </button>
      </form>
    </Modal>
  );
}

function HistoryDialog({ loom, onClose }: { loom: string; onClose: () => void }) {
  const { t } = useI18n();
  const h = useLoad(
    () => getJson<{ items: { at: string; kind: string; ref: string | null; detail: Record<string, unknown> | null }[] }>(`/api/v1/production/looms/${encodeURIComponent(loom)}/history?limit=30`),
    [loom],
  );
  return (
    <Modal title={`${t('mech.historyOf')} ${loom}`} onClose={onClose}>
      <ErrorBox error={h.error} />
      {!h.data && !h.error && <Loading />}
      {h.data && (
        <ul className="list history">
          {h.data.items.length === 0 && <li className="muted">{t('none')}</li>}
          {h.data.items.map((x, i) => (
            <li key={i}>
              <time>{time(x.at)}</time> <strong>{x.kind}</strong> {x.ref ?? ''}
              {x.detail && typeof x.detail === 'object' && 'cause' in x.detail ? ` · ${String(x.detail.cause)}` : ''}
            </li>
          ))}
        </ul>
      )}
    </Modal>
  );
}
