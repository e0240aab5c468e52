/*
 * WeaverScreen.tsx — the weaver's phone: my shift and looms (output against target,
 * efficiency measured by telemetry), scan the order (or the loom's plate), declare what
 * was woven and get its label to print, call a mechanic, and live notifications about my
 * looms. Declarations and calls go through the outbox (queue.ts): without network they
 * wait on the phone, shown as pending, and go out when it returns.
 */
import { MyTasks } from '../office/ControlOffice';
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { ErrorBox, Loading, Modal, Notices, num, pct, QueuePanel, Shell, type Notice } from '../components';
import { getJson, newKey } from '../lib/api';
import { parseScan } from '../lib/codes';
import { useDebounced, useLoad, useSession } from '../lib/hooks';
import { useI18n } from '../lib/i18n';
import { describePush, kindOf } from '../lib/notify';
import { submit } from '../lib/queue';
import { openStream } from '../lib/stream';
import { LabelCard } from './LabelCard';
import { Scanner } from './Scanner';

export interface WeaverLoom {
  loom: string;
  hall: string | null;
  article: string | null;
  first_piece: string | null;
  order: { order_id: string; status: string; quantity: number; declared: number } | null;
  output: number;
  output_m: number;
  target: number | null;
  efficiency: number | null;
}

export interface WeaverView {
  badge: string;
  name: string | null;
  shift: { shift: string; starts_at: string; ends_at: string; hours: number; elapsed_hours: number } | null;
  looms: WeaverLoom[];
  output: number;
  target: number | null;
  efficiency: number | null;
}

export const CAUSES = ['warp_break', 'weft_break', 'mechanical', 'electrical', 'beam_change', 'quality', 'other'];

type Dialog =
  | { kind: 'scan' }
  | { kind: 'declare'; loom: WeaverLoom }
  | { kind: 'label'; id: string; position?: string }
  | { kind: 'call'; loom: string }
  | { kind: 'message'; text: string };

export function WeaverScreen() {
  const { t } = useI18n();
  const session = useSession();
  const pos = useRef<string>(); // the last command's position: the next read waits for it
  const view = useLoad(
    () => getJson<WeaverView>(`/api/v1/production/views/weaver${pos.current ? `?position=${encodeURIComponent(pos.current)}` : ''}`),
    [session?.claims.sub],
  );
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const [notices, setNotices] = useState<Notice[]>([]);
  const [live, setLive] = useState(false);
  const reload = useDebounced(view.reload, 400);
  const looms = view.data?.looms.map((l) => l.loom) ?? [];
  const loomKey = looms.join(',');

  useEffect(() => {
    if (!loomKey) return;
    const mine = new Set(loomKey.split(','));
    const s = openStream({
      // hr: the weaver's own record (a new shift assignment changes their looms)
      modules: ['production', 'maintenance', 'machines', 'hr'],
      onStatus: setLive,
      onResync: reload,
      onEvent: (ev) => {
        const loom = String(ev.data?.loom ?? ev.aggregate);
        const k = kindOf(ev.type);
        if ((ev.module === 'production' && k !== 'loom_activity') || ev.module === 'hr') reload();
        if (!mine.has(loom)) return;
        const n = describePush(ev, t);
        if (n) setNotices((l) => [{ id: `${ev.type}-${ev.aggregate}-${ev.seq}-${Date.now()}`, at: new Date(), ...n }, ...l].slice(0, 20));
      },
    });
    return s.close;
  }, [loomKey, reload, t]);

  const onScan = useCallback(
    (text: string) => {
      const s = parseScan(text);
      const byLoom = (code: string) => view.data?.looms.find((l) => l.loom === code);
      if (s.kind === 'label') return setDialog({ kind: 'label', id: s.id });
      if (s.kind === 'loom' && byLoom(s.code)) return setDialog({ kind: 'declare', loom: byLoom(s.code)! });
      if (s.kind === 'order') {
        const l = view.data?.looms.find((x) => x.order?.order_id === s.id);
        if (l) return setDialog({ kind: 'declare', loom: l });
      }
      setDialog({ kind: 'message', text: t('scan.unknown', { code: text }) });
    },
    [view.data, t],
  );

  const v = view.data;
  return (
    <Shell title={t('weaver.title')} live={live}>
      <div className="actions">
        <button type="button" className="primary big" onClick={() => setDialog({ kind: 'scan' })} data-testid="scan">
          {t('weaver.scan')}
        </button>
      </div>
      <QueuePanel />
      <Notices items={notices} />
      <ErrorBox error={view.error} onRetry={view.reload} />
      {!v && !view.error && <Loading />}
      {v && (
        <>
          <section className="card">
            <h2>{v.shift ? t('weaver.shift', { shift: v.shift.shift }) : t('weaver.noshift')}</h2>
            <div className="kpis">
              <div>
                <span className="kpi">{num(v.output)}</span>
                <span className="muted">{t('weaver.output')}</span>
              </div>
              <div>
                <span className="kpi">{num(v.target, 0)}</span>
                <span className="muted">{t('weaver.target')}</span>
              </div>
              <div>
                <span className="kpi">{pct(v.efficiency)}</span>
                <span className="muted">{t('weaver.efficiency')}</span>
              </div>
            </div>
          </section>
          {v.looms.map((l) => (
            <section className="card loom" key={l.loom} data-testid={`loom-${l.loom}`}>
              <h2>
                {l.loom} <small className="muted">{l.article ?? ''}</small>
              </h2>
              {l.order ? (
                <p>
                  {t('declare.order')} <span className="mono">{l.order.order_id.slice(0, 8)}</span> · {l.order.declared}/{l.order.quantity}
                </p>
              ) : (
                <p className="muted">{t('weaver.noorder')}</p>
              )}
              <p className="muted">
                {t('weaver.output')} {num(l.output)} · {t('weaver.efficiency')} {pct(l.efficiency)}
              </p>
              <div className="row">
                <button type="button" className="primary big" disabled={!l.order} onClick={() => setDialog({ kind: 'declare', loom: l })}>
                  {t('weaver.declare')}
                </button>
                <button type="button" className="big" onClick={() => setDialog({ kind: 'call', loom: l.loom })}>
                  {t('weaver.callMechanic')}
                </button>
              </div>
            </section>
          ))}
        </>
      )}
      {dialog?.kind === 'scan' && <Scanner onResult={onScan} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'declare' && (
        <DeclareDialog
          loom={dialog.loom}
          onClose={() => setDialog(null)}
          onDone={(label, queued, position) => {
            pos.current = position;
            view.reload();
            if (label) setDialog({ kind: 'label', id: label, position });
            else setDialog(queued ? { kind: 'message', text: t('declare.queued') } : null);
          }}
        />
      )}
      {dialog?.kind === 'label' && (
        <Modal title={t('label.title')} onClose={() => setDialog(null)}>
          <LabelCard id={dialog.id} position={dialog.position} />
        </Modal>
      )}
      {dialog?.kind === 'call' && <CallDialog loom={dialog.loom} source="weaver" onClose={() => setDialog(null)} />}
      {dialog?.kind === 'message' && (
        <Modal title={t('app')} onClose={() => setDialog(null)}>
          <p data-testid="message">{dialog.text}</p>
        </Modal>
      )}
      <MyTasks />
    </Shell>
  );
}

export function DeclareDialog({
  loom,
  onClose,
  onDone,
}: {
  loom: WeaverLoom;
  onClose: () => void;
  onDone: (label: string | undefined, queued: boolean, position?: string) => void;
}) {
  const { t } = useI18n();
  const [quantity, setQuantity] = useState(1);
  const [length, setLength] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const order = loom.order!;
  const send = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const data: Record<string, unknown> = { order_id: order.order_id, quantity, woven_at: new Date().toISOString() };
    const m = parseFloat(length.replace(',', '.'));
    if (length.trim() && Number.isFinite(m)) data.length_m = m;
    submit('production.order.declare_output', data).then(
      ({ item }) => {
        setBusy(false);
        if (item.state === 'refused') setError(`${item.detail ?? ''} (${item.code ?? item.status})`);
        else onDone(item.label, item.state === 'pending', item.position);
      },
      (err) => {
        setBusy(false);
        setError(String(err));
      },
    );
  };
  return (
    <Modal title={`${t('declare.title')} — ${loom.loom}`} onClose={onClose}>
      <form onSubmit={send} className="declare">
        <p>
          {t('declare.order')} <span className="mono">{order.order_id.slice(0, 8)}</span> · {loom.article}
        </p>
        <label htmlFor="qty">{t('declare.quantity')}</label>
        <div className="stepper">
          <button type="button" onClick={() => setQuantity((q) => Math.max(1, q - 1))} aria-label="moins">
            −
          </button>
          <input
            id="qty"
            name="quantity"
            type="number"
            min={1}
            max={10000}
            inputMode="numeric"
            value={quantity}
            onChange={(e) => setQuantity(Math.max(1, parseInt(e.target.value, 10) || 1))}
          />
          <button type="button" onClick={() => setQuantity((q) => Math.min(10000, q + 1))} aria-label="plus">
            +
          </button>
        </div>
        <label>
          {t('declare.length')}
          <input name="length" inputMode="decimal" value={length} onChange={(e) => setLength(e.target.value)} />
        </label>
        <button type="submit" className="primary big" disabled={busy} data-testid="declare-send">
          {t('weaver.declare')}
        </button>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </Modal>
  );
}

export function CallDialog({ loom, source, onClose }: { loom: string; source: 'weaver' | 'mechanic'; onClose: () => void }) {
  const { t } = useI18n();
  const [cause, setCause] = useState('mechanical');
  const [note, setNote] = useState('');
  const [state, setState] = useState<string | null>(null);
  const send = (e: FormEvent) => {
    e.preventDefault();
    const data: Record<string, unknown> = { intervention_id: newKey(), loom, cause, source };
    if (note.trim()) data.note = note.trim();
    submit('maintenance.intervention.request', data).then(
      ({ item }) =>
        setState(item.state === 'refused' ? `${item.detail} (${item.code})` : item.state === 'pending' ? t('declare.queued') : t('call.sent')),
      (err) => setState(String(err)),
    );
  };
  return (
    <Modal title={`${t('call.title')} — ${loom}`} onClose={onClose}>
      {state ? (
        <p role="status">{state}</p>
      ) : (
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
            <input name="note" value={note} onChange={(e) => setNote(e.target.value)} maxLength={500} />
          </label>
          <button type="submit" className="primary big">
            {t('send')}
          </button>
        </form>
      )}
    </Modal>
  );
}
