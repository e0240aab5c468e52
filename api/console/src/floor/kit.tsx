/*
 * kit.tsx — what the cutter's, the inspector's and the storekeepers' phones share: a field
 * filled by scanning a label (or typing its code), a command sent through the outbox with
 * its outcome shown (sent, kept for later without network, refused with the server's
 * reason), a number stepper, the current count of a location, and a purchase request.
 */
import { useState, type FormEvent, type ReactNode } from 'react';
import { ErrorBox, Modal } from '../components';
import { getJson, newKey } from '../lib/api';
import { useI18n } from '../lib/i18n';
import { submit, type Queued } from '../lib/queue';
import { Scanner } from './Scanner';

/* What a scanned text names, as the id or code a command takes: a label's QR code
 * (FOFAL:L:<tenant>:<id> or a label URL) its id, anything else the code as typed. */
export function scannedId(raw: string): string {
  const text = raw.trim();
  const m = /^FOFAL:[A-Z]:[^:]+:(.+)$/.exec(text);
  if (m) return m[1];
  const url = /\/l\/[^/]+\/([0-9a-fA-F-]{36})\/?$/.exec(text);
  if (/^https?:\/\//.test(text) && url) return url[1].toLowerCase();
  return text;
}

export const isUuid = (s: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);

/* A text field with a big scan button beside it: scan first, type when the label is torn. */
export function ScanField({
  label,
  name,
  value,
  onChange,
  testId,
}: {
  label: string;
  name: string;
  value: string;
  onChange: (v: string) => void;
  testId?: string;
}) {
  const { t } = useI18n();
  const [scanning, setScanning] = useState(false);
  return (
    <div className="scanfield">
      <label>
        {label}
        <span className="scanrow">
          <input name={name} value={value} onChange={(e) => onChange(e.target.value)} autoComplete="off" data-testid={testId} />
          <button type="button" className="primary" onClick={() => setScanning(true)} aria-label={`${t('kit.scan')} — ${label}`}>
            {t('kit.scan')}
          </button>
        </span>
      </label>
      {scanning && (
        <Scanner
          onResult={(text) => {
            setScanning(false);
            onChange(scannedId(text));
          }}
          onClose={() => setScanning(false)}
        />
      )}
    </div>
  );
}

export type Outcome = { state: 'done' | 'pending' | 'refused' | 'error'; text: string; item?: Queued };

/* Sends a command through the outbox and keeps what happened for the screen to show. */
export function useCommand() {
  const { t } = useI18n();
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [busy, setBusy] = useState(false);
  const send = async (type: string, data: Record<string, unknown>): Promise<Outcome> => {
    setBusy(true);
    setOutcome(null);
    let o: Outcome;
    try {
      const { item } = await submit(type, data);
      if (item.state === 'refused') o = { state: 'refused', text: `${item.detail ?? ''} (${item.code ?? item.status})`, item };
      else if (item.state === 'pending') o = { state: 'pending', text: t('kit.queued'), item };
      else o = { state: 'done', text: t('kit.done'), item };
    } catch (e) {
      o = { state: 'error', text: String(e) };
    }
    setBusy(false);
    setOutcome(o);
    return o;
  };
  return { send, outcome, busy, clear: () => setOutcome(null) };
}

export function OutcomeBox({ outcome }: { outcome: Outcome | null }) {
  if (!outcome) return null;
  const bad = outcome.state === 'refused' || outcome.state === 'error';
  return (
    <p className={bad ? 'error' : outcome.state === 'pending' ? 'pill warn' : 'pill ok'} role={bad ? 'alert' : 'status'} data-testid="outcome">
      {outcome.text}
    </p>
  );
}

export function Stepper({ label, name, value, onChange, max = 10000 }: { label: string; name: string; value: number; onChange: (n: number) => void; max?: number }) {
  return (
    <div>
      <label htmlFor={`st-${name}`}>{label}</label>
      <div className="stepper">
        <button type="button" onClick={() => onChange(Math.max(0, value - 1))} aria-label={`${label} −`}>
          −
        </button>
        <input
          id={`st-${name}`}
          name={name}
          type="number"
          min={0}
          max={max}
          inputMode="numeric"
          value={value}
          onChange={(e) => onChange(Math.min(max, Math.max(0, parseInt(e.target.value, 10) || 0)))}
        />
        <button type="button" onClick={() => onChange(Math.min(max, value + 1))} aria-label={`${label} +`}>
          +
        </button>
      </div>
    </div>
  );
}

/* A decimal typed with a comma or a dot, times `scale`, as an integer (kg → g: 1000). */
export function scaled(text: string, scale: number): number | undefined {
  const x = parseFloat(text.replace(',', '.'));
  return text.trim() && Number.isFinite(x) && x >= 0 ? Math.round(x * scale) : undefined;
}

/* Tabs for a phone screen: big buttons, one panel at a time. */
export function Tabs<K extends string>({ tabs, current, onPick }: { tabs: [K, string][]; current: K; onPick: (k: K) => void }) {
  return (
    <div className="tabs" role="tablist">
      {tabs.map(([k, label]) => (
        <button key={k} type="button" role="tab" aria-selected={current === k} className={current === k ? 'primary' : ''} onClick={() => onPick(k)}>
          {label}
        </button>
      ))}
    </div>
  );
}

export const nowIso = () => new Date().toISOString();

/* ------------------------------------------------------------ counts (all storekeepers) */

interface CountView {
  count_id: string;
  location: string;
  status: string;
  lines: { holding: string; kind: string; book: number | null; counted: number | null; variance: number | null }[];
}

const COUNT_KEY = 'fofal.count';

/* A count of a location: opened here, each holding scanned with what was found, closed.
 * The open count's id is kept on the phone (not a secret) so a reload goes on with it. */
export function CountPanel({ locations }: { locations: string[] }) {
  const { t } = useI18n();
  const cmd = useCommand();
  const [countId, setCountId] = useState<string>(() => localStorage.getItem(COUNT_KEY) ?? '');
  const [location, setLocation] = useState('');
  const [holding, setHolding] = useState('');
  const [qty, setQty] = useState('');
  const [view, setView] = useState<CountView | null>(null);
  const [error, setError] = useState<unknown>();
  const keep = (id: string) => {
    setCountId(id);
    if (id) localStorage.setItem(COUNT_KEY, id);
    else localStorage.removeItem(COUNT_KEY);
  };
  const load = (position?: string) =>
    getJson<CountView>(`/api/v1/inventory/counts/${countId}${position ? `?position=${encodeURIComponent(position)}` : ''}`).then(
      (v) => {
        setView(v);
        setError(undefined);
      },
      setError,
    );
  const open = async (e: FormEvent) => {
    e.preventDefault();
    const id = newKey();
    const o = await cmd.send('inventory.count.open', { count_id: id, location, occurred_at: nowIso() });
    if (o.state === 'done' || o.state === 'pending') keep(id);
  };
  const record = async (e: FormEvent) => {
    e.preventDefault();
    const n = parseInt(qty, 10);
    if (!holding.trim() || !Number.isFinite(n) || n < 0) return;
    const o = await cmd.send('inventory.count.record', { count_id: countId, holding: holding.trim(), quantity: n, occurred_at: nowIso() });
    if (o.state !== 'refused') {
      setHolding('');
      setQty('');
    }
  };
  const close = async () => {
    const o = await cmd.send('inventory.count.close', { count_id: countId, occurred_at: nowIso() });
    if (o.state === 'done') void load(o.item?.position);
    if (o.state === 'done' || o.state === 'pending') keep('');
  };
  return (
    <section className="card" data-testid="count">
      <h2>{t('count.title')}</h2>
      {!countId ? (
        <form onSubmit={open}>
          <label>
            {t('stock.location')}
            <select name="count-location" value={location} onChange={(e) => setLocation(e.target.value)} required>
              <option value="">—</option>
              {locations.map((l) => (
                <option key={l}>{l}</option>
              ))}
            </select>
          </label>
          <button type="submit" className="primary big" disabled={cmd.busy || !location}>
            {t('count.open')}
          </button>
        </form>
      ) : (
        <>
          <p className="muted small">
            {t('count.current')} <span className="mono">{countId.slice(0, 8)}</span>
          </p>
          <form onSubmit={record}>
            <ScanField label={t('count.holding')} name="count-holding" value={holding} onChange={setHolding} />
            <label>
              {t('count.quantity')}
              <input name="count-quantity" inputMode="numeric" value={qty} onChange={(e) => setQty(e.target.value)} />
            </label>
            <button type="submit" className="primary big" disabled={cmd.busy}>
              {t('count.record')}
            </button>
          </form>
          <div className="row">
            <button type="button" onClick={() => void load()}>
              {t('count.show')}
            </button>
            <button type="button" className="danger" onClick={() => void close()} disabled={cmd.busy}>
              {t('count.close')}
            </button>
          </div>
        </>
      )}
      <OutcomeBox outcome={cmd.outcome} />
      <ErrorBox error={error} />
      {view && (
        <table data-testid="count-lines">
          <thead>
            <tr>
              <th>{t('count.holding')}</th>
              <th>{t('count.book')}</th>
              <th>{t('count.counted')}</th>
              <th>{t('count.variance')}</th>
            </tr>
          </thead>
          <tbody>
            {view.lines.map((l) => (
              <tr key={l.holding} className={l.variance ? 'late' : undefined}>
                <td className="mono">{l.holding.length > 20 ? l.holding.slice(0, 8) : l.holding}</td>
                <td>{l.book ?? '—'}</td>
                <td>{l.counted ?? '—'}</td>
                <td>{l.variance ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/* ------------------------------------------------------------ purchase request (DA) */

export const UNITS = ['piece', 'kg', 'g', 'm', 'l', 'cone', 'box', 'set'];

export function RequestDialog({ onClose }: { onClose: () => void }) {
  const { t } = useI18n();
  const cmd = useCommand();
  const [description, setDescription] = useState('');
  const [quantity, setQuantity] = useState('1');
  const [unit, setUnit] = useState('piece');
  const [needBy, setNeedBy] = useState(() => new Date(Date.now() + 7 * 86400000).toISOString().slice(0, 10));
  const [reason, setReason] = useState('');
  const [price, setPrice] = useState('');
  const send = (e: FormEvent) => {
    e.preventDefault();
    const q = scaled(quantity, 1000);
    if (!q) return;
    const data: Record<string, unknown> = { request_id: newKey(), description: description.trim(), quantity_milli: q, unit, need_by: needBy, reason: reason.trim() };
    const p = scaled(price, 1000); // TND in millimes
    if (p !== undefined) data.estimated_unit_price = p;
    void cmd.send('purchasing.request.submit', data);
  };
  return (
    <Modal title={t('da.title')} onClose={onClose}>
      {cmd.outcome && cmd.outcome.state !== 'refused' && cmd.outcome.state !== 'error' ? (
        <OutcomeBox outcome={cmd.outcome} />
      ) : (
        <form onSubmit={send}>
          <label>
            {t('da.what')}
            <input name="da-description" value={description} onChange={(e) => setDescription(e.target.value)} required maxLength={200} />
          </label>
          <div className="row">
            <label>
              {t('da.quantity')}
              <input name="da-quantity" inputMode="decimal" value={quantity} onChange={(e) => setQuantity(e.target.value)} required />
            </label>
            <label>
              {t('da.unit')}
              <select name="da-unit" value={unit} onChange={(e) => setUnit(e.target.value)}>
                {UNITS.map((u) => (
                  <option key={u}>{u}</option>
                ))}
              </select>
            </label>
          </div>
          <label>
            {t('da.needBy')}
            <input name="da-need-by" type="date" value={needBy} onChange={(e) => setNeedBy(e.target.value)} required />
          </label>
          <label>
            {t('da.reason')}
            <input name="da-reason" value={reason} onChange={(e) => setReason(e.target.value)} required maxLength={500} />
          </label>
          <label>
            {t('da.price')}
            <input name="da-price" inputMode="decimal" value={price} onChange={(e) => setPrice(e.target.value)} />
          </label>
          <button type="submit" className="primary big" disabled={cmd.busy}>
            {t('send')}
          </button>
          <OutcomeBox outcome={cmd.outcome} />
        </form>
      )}
    </Modal>
  );
}

export function Section({ title, children, testId }: { title: string; children: ReactNode; testId?: string }) {
  return (
    <section className="card" data-testid={testId}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}
