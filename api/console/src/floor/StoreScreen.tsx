/*
 * StoreScreen.tsx — the three storekeepers' phones, one panel at a time, scan first:
 *   MP (yarn store): receive a yarn lot, issue grams of a lot to a beam, move or return a
 *      lot, a purchase request;
 *   PF (finished goods): move a roll or pieces, pack units into a carton (its label),
 *      build a pallet of cartons with its SSCC-18, the stock of a location;
 *   ST (subcontracting): send lots to a subcontractor, record what came back (good,
 *      rejected, lost), the dispatches overdue.
 * All three: scan any label or lot code to see what it is and where, and counts (open,
 * record what is found, close). Every command goes through the outbox with the phone's
 * own time (occurred_at), so a scan made without Wi-Fi is sent later, once.
 */
import { useState, type FormEvent } from 'react';
import { ErrorBox, Loading, num, pct, QueuePanel, Shell } from '../components';
import { ApiError, getJson, newKey } from '../lib/api';
import { useLoad } from '../lib/hooks';
import { useI18n } from '../lib/i18n';
import { PickPanel } from './PickPanel';
import { CountPanel, isUuid, scannedId, nowIso, OutcomeBox, RequestDialog, scaled, ScanField, Section, Tabs, useCommand } from './kit';

export type StoreKind = 'mp' | 'pf' | 'st';

interface Location {
  location: string;
  kind: string;
  name: string | null;
}

function useLocations() {
  return useLoad(() => getJson<{ items: Location[] }>('/api/v1/inventory/locations').then((r) => r.items), []);
}

function LocationSelect({ name, value, onChange, kinds, locations }: { name: string; value: string; onChange: (v: string) => void; kinds?: string[]; locations: Location[] }) {
  const { t } = useI18n();
  return (
    <label>
      {t('stock.location')}
      <select name={name} value={value} onChange={(e) => onChange(e.target.value)} required>
        <option value="">—</option>
        {locations
          .filter((l) => !kinds || kinds.includes(l.kind))
          .map((l) => (
            <option key={l.location} value={l.location}>
              {l.location}
              {l.name ? ` — ${l.name}` : ''}
            </option>
          ))}
      </select>
    </label>
  );
}

/* GS1 check digit of 17 digits: the SSCC-18 a pallet label carries. */
export function ssccOf(digits17: string): string | null {
  if (!/^[0-9]{17}$/.test(digits17)) return null;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(digits17[16 - i]) * (i % 2 === 0 ? 3 : 1);
  return digits17 + String((10 - (sum % 10)) % 10);
}

const TABS: Record<StoreKind, string[]> = {
  mp: ['where', 'receive', 'pick', 'issue', 'move', 'count'],
  pf: ['where', 'move', 'pack', 'pallet', 'stock', 'count'],
  st: ['where', 'dispatch', 'return', 'overdue', 'subs', 'count'],
};

export function StoreScreen({ kind }: { kind: StoreKind }) {
  const { t } = useI18n();
  const [tab, setTab] = useState(TABS[kind][0]);
  const [request, setRequest] = useState(false);
  const locations = useLocations();
  const locs = locations.data ?? [];
  return (
    <Shell title={t(`store.${kind}`)}>
      <Tabs tabs={TABS[kind].map((k) => [k, t(`store.tab.${k}`)] as [string, string])} current={tab} onPick={setTab} />
      <QueuePanel />
      <ErrorBox error={locations.error} onRetry={locations.reload} />
      {tab === 'where' && <WherePanel />}
      {tab === 'receive' && <ReceivePanel locations={locs} />}
      {tab === 'pick' && <PickPanel />}
      {tab === 'issue' && <IssuePanel />}
      {tab === 'move' && kind === 'mp' && <LotMovePanel locations={locs} />}
      {tab === 'move' && kind === 'pf' && <UnitMovePanel locations={locs} />}
      {tab === 'pack' && <PackPanel />}
      {tab === 'pallet' && <PalletPanel />}
      {tab === 'stock' && <StockPanel locations={locs} />}
      {tab === 'dispatch' && <DispatchPanel />}
      {tab === 'return' && <ReturnPanel />}
      {tab === 'overdue' && <OverduePanel />}
      {tab === 'subs' && <SubcontractorsPanel />}
      {tab === 'count' && <CountPanel locations={locs.map((l) => l.location)} />}
      {kind === 'mp' && (
        <div className="actions">
          <button type="button" className="big" onClick={() => setRequest(true)}>
            {t('da.open')}
          </button>
        </div>
      )}
      {request && <RequestDialog onClose={() => setRequest(false)} />}
    </Shell>
  );
}

/* ------------------------------------------------------------ where is it */

type Found = { kind: 'unit' | 'lot' | 'container'; data: Record<string, unknown> };

/* What a scanned id or code is: a unit's label, a carton or pallet, or a yarn lot. */
export async function lookup(code: string): Promise<Found> {
  const c = encodeURIComponent(code);
  if (isUuid(code)) {
    try {
      return { kind: 'unit', data: await getJson(`/api/v1/inventory/labels/${c}`) };
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 404) throw e;
    }
    return { kind: 'container', data: await getJson(`/api/v1/inventory/containers/${c}`) };
  }
  return { kind: 'lot', data: await getJson(`/api/v1/inventory/lots/${c}`) };
}

function WherePanel() {
  const { t } = useI18n();
  const [code, setCode] = useState('');
  const [found, setFound] = useState<Found | null>(null);
  const [error, setError] = useState<unknown>();
  const look = (v: string) => {
    setCode(v);
    setFound(null);
    setError(undefined);
    if (v.trim()) lookup(v.trim()).then(setFound, setError);
  };
  const d = found?.data as Record<string, any> | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any
  return (
    <Section title={t('store.tab.where')} testId="where">
      <ScanField label={t('store.code')} name="where-code" value={code} onChange={look} />
      <ErrorBox error={error} />
      {found && d && (
        <dl className="facts" data-testid="found">
          <dt>{t('store.what')}</dt>
          <dd>{t(`store.found.${found.kind === 'container' ? String(d.kind) : found.kind}`)}</dd>
          <dt>{t('stock.location')}</dt>
          <dd data-testid="found-location">{String(d.location ?? t('store.atLoom'))}</dd>
          {found.kind === 'unit' && (
            <>
              <dt>{t('stock.item')}</dt>
              <dd>{d.article?.article}</dd>
              <dt>{t('stock.quantity')}</dt>
              <dd>
                {num(d.quantity)} {d.unit}
              </dd>
            </>
          )}
          {found.kind === 'lot' && (
            <>
              <dt>{t('stock.item')}</dt>
              <dd>{d.item?.item}</dd>
              <dt>{t('store.supplierLot')}</dt>
              <dd>{d.supplier_lot}</dd>
              <dt>{t('store.left')}</dt>
              <dd>{num(Number(d.weight_g) / 1000, 3)} kg</dd>
            </>
          )}
          {found.kind === 'container' && (
            <>
              <dt>{t('stock.quantity')}</dt>
              <dd>{num(d.pieces)}</dd>
            </>
          )}
        </dl>
      )}
    </Section>
  );
}

/* ------------------------------------------------------------ MP */

function ReceivePanel({ locations }: { locations: Location[] }) {
  const { t } = useI18n();
  const cmd = useCommand();
  const [f, setF] = useState({ lot: '', item: '', supplier_lot: '', kg: '', cones: '', location: '', po: '' });
  const set = (k: keyof typeof f) => (v: string) => setF((x) => ({ ...x, [k]: v }));
  const send = (e: FormEvent) => {
    e.preventDefault();
    const data: Record<string, unknown> = {
      lot: f.lot.trim(),
      item: f.item.trim(),
      supplier_lot: f.supplier_lot.trim(),
      weight_g: scaled(f.kg, 1000) ?? 0,
      location: f.location,
      occurred_at: nowIso(),
    };
    const cones = scaled(f.cones, 1);
    if (cones) data.cones = cones;
    if (f.po.trim()) data.purchase_order = f.po.trim();
    void cmd.send('inventory.lot.receive', data);
  };
  return (
    <form className="card" onSubmit={send} data-testid="receive">
      <h2>{t('store.tab.receive')}</h2>
      <ScanField label={t('store.lot')} name="lot" value={f.lot} onChange={set('lot')} />
      <label>
        {t('stock.item')}
        <input name="item" value={f.item} onChange={(e) => set('item')(e.target.value)} required />
      </label>
      <label>
        {t('store.supplierLot')}
        <input name="supplier-lot" value={f.supplier_lot} onChange={(e) => set('supplier_lot')(e.target.value)} required />
      </label>
      <div className="row">
        <label>
          {t('store.kg')}
          <input name="kg" inputMode="decimal" value={f.kg} onChange={(e) => set('kg')(e.target.value)} required />
        </label>
        <label>
          {t('store.cones')}
          <input name="cones" inputMode="numeric" value={f.cones} onChange={(e) => set('cones')(e.target.value)} />
        </label>
      </div>
      <LocationSelect name="location" value={f.location} onChange={set('location')} kinds={['raw', 'quarantine']} locations={locations} />
      <label>
        {t('store.po')}
        <input name="po" value={f.po} onChange={(e) => set('po')(e.target.value)} />
      </label>
      <button type="submit" className="primary big" disabled={cmd.busy}>
        {t('store.tab.receive')}
      </button>
      <OutcomeBox outcome={cmd.outcome} />
    </form>
  );
}

function IssuePanel() {
  const { t } = useI18n();
  const cmd = useCommand();
  const [lot, setLot] = useState('');
  const [kg, setKg] = useState('');
  const [beam, setBeam] = useState('');
  const send = (e: FormEvent) => {
    e.preventDefault();
    void cmd.send('inventory.lot.issue', { lot: lot.trim(), weight_g: scaled(kg, 1000) ?? 0, beam: beam.trim(), occurred_at: nowIso() });
  };
  return (
    <form className="card" onSubmit={send} data-testid="issue">
      <h2>{t('store.tab.issue')}</h2>
      <ScanField label={t('store.lot')} name="issue-lot" value={lot} onChange={setLot} />
      <label>
        {t('store.kg')}
        <input name="issue-kg" inputMode="decimal" value={kg} onChange={(e) => setKg(e.target.value)} required />
      </label>
      <ScanField label={t('store.beam')} name="beam" value={beam} onChange={setBeam} />
      <button type="submit" className="primary big" disabled={cmd.busy}>
        {t('store.tab.issue')}
      </button>
      <OutcomeBox outcome={cmd.outcome} />
    </form>
  );
}

function LotMovePanel({ locations }: { locations: Location[] }) {
  const { t } = useI18n();
  const cmd = useCommand();
  const [lot, setLot] = useState('');
  const [to, setTo] = useState('');
  const [kg, setKg] = useState('');
  const [reason, setReason] = useState('');
  return (
    <>
      <form
        className="card"
        data-testid="lot-move"
        onSubmit={(e) => {
          e.preventDefault();
          void cmd.send('inventory.lot.move', { lot: lot.trim(), to, occurred_at: nowIso() });
        }}
      >
        <h2>{t('store.move')}</h2>
        <ScanField label={t('store.lot')} name="move-lot" value={lot} onChange={setLot} />
        <LocationSelect name="to" value={to} onChange={setTo} kinds={['raw', 'floor', 'quarantine', 'subcontractor']} locations={locations} />
        <button type="submit" className="primary big" disabled={cmd.busy}>
          {t('store.move')}
        </button>
      </form>
      <form
        className="card"
        data-testid="lot-return"
        onSubmit={(e) => {
          e.preventDefault();
          void cmd.send('inventory.lot.return', { lot: lot.trim(), weight_g: scaled(kg, 1000) ?? 0, reason: reason.trim(), occurred_at: nowIso() });
        }}
      >
        <h2>{t('store.return')}</h2>
        <p className="muted small">{t('store.returnHelp')}</p>
        <label>
          {t('store.kg')}
          <input name="return-kg" inputMode="decimal" value={kg} onChange={(e) => setKg(e.target.value)} required />
        </label>
        <label>
          {t('quality.reason')}
          <input name="return-reason" value={reason} onChange={(e) => setReason(e.target.value)} required maxLength={500} />
        </label>
        <button type="submit" className="big" disabled={cmd.busy || !lot.trim()}>
          {t('store.return')}
        </button>
      </form>
      <OutcomeBox outcome={cmd.outcome} />
    </>
  );
}

/* ------------------------------------------------------------ PF */

function UnitMovePanel({ locations }: { locations: Location[] }) {
  const { t } = useI18n();
  const cmd = useCommand();
  const [unit, setUnit] = useState('');
  const [to, setTo] = useState('');
  return (
    <form
      className="card"
      data-testid="unit-move"
      onSubmit={(e) => {
        e.preventDefault();
        void cmd.send('inventory.unit.move', { label_id: unit.trim(), to, occurred_at: nowIso() });
      }}
    >
      <h2>{t('store.move')}</h2>
      <ScanField label={t('store.unit')} name="unit" value={unit} onChange={setUnit} />
      <LocationSelect name="unit-to" value={to} onChange={setTo} locations={locations.filter((l) => l.kind !== 'raw')} />
      <button type="submit" className="primary big" disabled={cmd.busy || !unit.trim()} data-testid="unit-move-send">
        {t('store.move')}
      </button>
      <OutcomeBox outcome={cmd.outcome} />
    </form>
  );
}

/* Scan one label after another into a list (a carton's units, a pallet's cartons). */
function ScanList({ label, items, setItems }: { label: string; items: string[]; setItems: (f: (l: string[]) => string[]) => void }) {
  const { t } = useI18n();
  const [code, setCode] = useState('');
  const add = (v: string) => {
    const c = scannedId(v); // a pasted or wedge-typed QR text too
    if (c && isUuid(c)) {
      setItems((l) => (l.includes(c) ? l : [...l, c]));
      setCode('');
    } else setCode(v);
  };
  return (
    <>
      <ScanField label={label} name="scan-list" value={code} onChange={add} />
      <ul className="list" data-testid="scanned">
        {items.map((i) => (
          <li key={i}>
            <span className="mono">{i.slice(0, 8)}</span>
            <button type="button" className="link" onClick={() => setItems((l) => l.filter((x) => x !== i))}>
              {t('quality.remove')}
            </button>
          </li>
        ))}
      </ul>
    </>
  );
}

function PackPanel() {
  const { t } = useI18n();
  const cmd = useCommand();
  const [units, setUnits] = useState<string[]>([]);
  const [carton, setCarton] = useState<string | null>(null);
  return (
    <form
      className="card"
      data-testid="pack"
      onSubmit={async (e) => {
        e.preventDefault();
        const id = newKey();
        const o = await cmd.send('inventory.carton.pack', { carton_id: id, units, occurred_at: nowIso() });
        if (o.state === 'done' || o.state === 'pending') {
          setCarton(id);
          setUnits([]);
        }
      }}
    >
      <h2>{t('store.tab.pack')}</h2>
      <ScanList label={t('store.unit')} items={units} setItems={setUnits} />
      <button type="submit" className="primary big" disabled={cmd.busy || !units.length}>
        {t('store.pack', { n: units.length })}
      </button>
      <OutcomeBox outcome={cmd.outcome} />
      {carton && (
        <p data-testid="carton">
          {t('store.carton')} <code>{carton}</code>
        </p>
      )}
    </form>
  );
}

function PalletPanel() {
  const { t } = useI18n();
  const cmd = useCommand();
  const [cartons, setCartons] = useState<string[]>([]);
  const [digits, setDigits] = useState('');
  const sscc = digits.length === 18 ? digits : ssccOf(digits);
  return (
    <form
      className="card"
      data-testid="pallet"
      onSubmit={(e) => {
        e.preventDefault();
        if (!sscc) return;
        void cmd.send('inventory.pallet.build', { pallet_id: newKey(), sscc, cartons, occurred_at: nowIso() }).then((o) => o.state !== 'refused' && o.state !== 'error' && setCartons([]));
      }}
    >
      <h2>{t('store.tab.pallet')}</h2>
      <ScanList label={t('store.carton')} items={cartons} setItems={setCartons} />
      <label>
        {t('store.sscc')}
        <input name="sscc" inputMode="numeric" value={digits} onChange={(e) => setDigits(e.target.value.replace(/\D/g, '').slice(0, 18))} />
      </label>
      {sscc && <p className="mono">SSCC {sscc}</p>}
      <button type="submit" className="primary big" disabled={cmd.busy || !cartons.length || !sscc}>
        {t('store.tab.pallet')}
      </button>
      <OutcomeBox outcome={cmd.outcome} />
    </form>
  );
}

export interface StockAnswer {
  holdings: { location: string; holding: string; kind: string; item: string; quantity: number; unit: string }[];
  totals: { item: string; kind: string; location: string; quantity: number; holdings: number }[];
  truncated: boolean;
  as_of: string | null;
}

export function StockTables({ stock }: { stock: StockAnswer }) {
  const { t } = useI18n();
  if (!stock.holdings.length) return <p className="muted">{t('none')}</p>;
  return (
    <>
      <table data-testid="stock-totals">
        <thead>
          <tr>
            <th>{t('stock.location')}</th>
            <th>{t('stock.item')}</th>
            <th>{t('stock.quantity')}</th>
            <th>{t('stock.holdings')}</th>
          </tr>
        </thead>
        <tbody>
          {stock.totals.map((r) => (
            <tr key={`${r.location}/${r.item}`}>
              <td>{r.location}</td>
              <td>{r.item}</td>
              <td>
                {r.kind === 'lot' ? `${num(r.quantity / 1000, 3)} kg` : num(r.quantity)}
              </td>
              <td>{r.holdings}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>{t('stock.detail')}</h3>
      <table data-testid="stock-holdings">
        <thead>
          <tr>
            <th>{t('stock.location')}</th>
            <th>{t('stock.holding')}</th>
            <th>{t('stock.item')}</th>
            <th>{t('stock.quantity')}</th>
          </tr>
        </thead>
        <tbody>
          {stock.holdings.map((h) => (
            <tr key={`${h.location}/${h.holding}`}>
              <td>{h.location}</td>
              <td className="mono">{h.holding}</td>
              <td>{h.item}</td>
              <td>
                {num(h.quantity)} {h.unit}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function StockPanel({ locations }: { locations: Location[] }) {
  const { t } = useI18n();
  const [location, setLocation] = useState('');
  const stock = useLoad(() => getJson<StockAnswer>(`/api/v1/inventory/stock${location ? `?location=${encodeURIComponent(location)}` : ''}`), [location]);
  return (
    <Section title={t('store.tab.stock')} testId="stock">
      <LocationSelect name="stock-location" value={location} onChange={setLocation} locations={locations} />
      <button type="button" onClick={stock.reload}>
        {t('refresh')}
      </button>
      <ErrorBox error={stock.error} onRetry={stock.reload} />
      {!stock.data && !stock.error && <Loading />}
      {stock.data && <StockTables stock={stock.data} />}
    </Section>
  );
}

/* ------------------------------------------------------------ ST */

interface Subcontractor {
  subcontractor: string;
  name: string;
  operations: string[];
  holds?: { lots: number; outstanding_milli: number | string; since: string | null };
  open_dispatches?: number;
  overdue_dispatches?: number;
  lead_time_days?: number | string | null;
  reject_rate?: number | string | null;
}

export const OPERATIONS = ['dyeing', 'embroidery', 'hemming', 'finishing', 'printing', 'other'];

/* The subcontractors followed (what each holds, open and overdue dispatches, lead time,
 * reject rate) and a new one registered. */
function SubcontractorsPanel() {
  const { t } = useI18n();
  const cmd = useCommand();
  const subs = useLoad(() => getJson<{ items: Subcontractor[] }>('/api/v1/subcontracting/subcontractors').then((r) => r.items), []);
  const [f, setF] = useState({ code: '', name: '', site: '', contact: '' });
  const [ops, setOps] = useState<string[]>([]);
  return (
    <>
      <Section title={t('st.subs')} testId="subs">
        <ErrorBox error={subs.error} onRetry={subs.reload} />
        {!subs.data && !subs.error && <Loading />}
        <ul className="list">
          {subs.data?.map((s) => (
            <li key={s.subcontractor}>
              <span>
                <strong>{s.subcontractor}</strong> {s.name}
                <div className="muted small">
                  {t('st.holds')} {s.holds?.lots ?? 0} {t('st.lots')} · {t('st.openDispatches')} {s.open_dispatches ?? 0} · {t('st.leadTime')}{' '}
                  {s.lead_time_days ?? '—'} · {t('st.rejectRate')} {s.reject_rate === null || s.reject_rate === undefined ? '—' : pct(Number(s.reject_rate))}
                </div>
              </span>
              {!!s.overdue_dispatches && <span className="pill bad">{t('store.tab.overdue')} {s.overdue_dispatches}</span>}
            </li>
          ))}
        </ul>
      </Section>
      <form
        className="card"
        data-testid="register"
        onSubmit={(e) => {
          e.preventDefault();
          const data: Record<string, unknown> = { subcontractor: f.code.trim(), name: f.name.trim(), operations: ops };
          if (f.site.trim()) data.site = f.site.trim();
          if (f.contact.trim()) data.contact = f.contact.trim();
          void cmd.send('subcontracting.subcontractor.register', data).then((o) => o.state === 'done' && subs.reload());
        }}
      >
        <h2>{t('st.register')}</h2>
        {(['code', 'name', 'site', 'contact'] as const).map((k) => (
          <label key={k}>
            {t(`st.${k}`)}
            <input name={`st-${k}`} value={f[k]} onChange={(e) => setF((x) => ({ ...x, [k]: e.target.value }))} required={k === 'code' || k === 'name'} maxLength={200} />
          </label>
        ))}
        <fieldset className="causes">
          <legend>{t('st.operation')}</legend>
          {OPERATIONS.map((o) => (
            <label key={o} className={ops.includes(o) ? 'chip on' : 'chip'}>
              <input type="checkbox" name={`op-${o}`} checked={ops.includes(o)} onChange={(e) => setOps((l) => (e.target.checked ? [...l, o] : l.filter((x) => x !== o)))} />
              {t(`op.${o}`)}
            </label>
          ))}
        </fieldset>
        <button type="submit" className="primary big" disabled={cmd.busy || !ops.length}>
          {t('st.register')}
        </button>
        <OutcomeBox outcome={cmd.outcome} />
      </form>
    </>
  );
}

export interface Dispatch {
  dispatch_id: string;
  subcontractor: string;
  operation: string;
  status: string;
  expected_return: string;
  overdue: boolean;
  lots: { label_id: string; quantity_milli: number; good_milli: number; rejected_milli: number; lost_milli: number; outstanding_milli: number }[];
}

function DispatchPanel() {
  const { t } = useI18n();
  const cmd = useCommand();
  const subs = useLoad(() => getJson<{ items: Subcontractor[] }>('/api/v1/subcontracting/subcontractors').then((r) => r.items), []);
  const [sub, setSub] = useState('');
  const [operation, setOperation] = useState('');
  const [expected, setExpected] = useState(() => new Date(Date.now() + 7 * 86400000).toISOString().slice(0, 10));
  const [lots, setLots] = useState<string[]>([]);
  const [pieces, setPieces] = useState<Record<string, string>>({});
  const ops = subs.data?.find((s) => s.subcontractor === sub)?.operations ?? [];
  return (
    <form
      className="card"
      data-testid="dispatch"
      onSubmit={(e) => {
        e.preventDefault();
        const body = {
          dispatch_id: newKey(),
          subcontractor: sub,
          operation,
          expected_return: expected,
          lots: lots.map((l) => ({ label_id: l, quantity_milli: (scaled(pieces[l] ?? '', 1) ?? 0) * 1000 })),
        };
        void cmd.send('subcontracting.dispatch.send', body).then((o) => o.state !== 'refused' && o.state !== 'error' && setLots([]));
      }}
    >
      <h2>{t('store.tab.dispatch')}</h2>
      <ErrorBox error={subs.error} onRetry={subs.reload} />
      <label>
        {t('st.subcontractor')}
        <select name="subcontractor" value={sub} onChange={(e) => setSub(e.target.value)} required>
          <option value="">—</option>
          {(subs.data ?? []).map((s) => (
            <option key={s.subcontractor} value={s.subcontractor}>
              {s.subcontractor} — {s.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t('st.operation')}
        <select name="operation" value={operation} onChange={(e) => setOperation(e.target.value)} required>
          <option value="">—</option>
          {ops.map((o) => (
            <option key={o} value={o}>
              {t(`op.${o}`)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t('st.expected')}
        <input name="expected" type="date" value={expected} onChange={(e) => setExpected(e.target.value)} required />
      </label>
      <ScanList label={t('store.unit')} items={lots} setItems={setLots} />
      {lots.map((l) => (
        <label key={l}>
          {t('st.pieces', { lot: l.slice(0, 8) })}
          <input name={`pieces-${l}`} inputMode="numeric" value={pieces[l] ?? ''} onChange={(e) => setPieces((p) => ({ ...p, [l]: e.target.value }))} required />
        </label>
      ))}
      <button type="submit" className="primary big" disabled={cmd.busy || !lots.length}>
        {t('store.tab.dispatch')}
      </button>
      <OutcomeBox outcome={cmd.outcome} />
    </form>
  );
}

/* The lines of a return: pieces typed per lot, thousandths for the server; a lot with
 * nothing typed is left out. */
export function returnLines(counts: Record<string, { good: string; rejected: string; lost: string }>) {
  return Object.entries(counts)
    .map(([label_id, c]) => ({
      label_id,
      good_milli: (scaled(c.good, 1) ?? 0) * 1000,
      rejected_milli: (scaled(c.rejected, 1) ?? 0) * 1000,
      lost_milli: (scaled(c.lost, 1) ?? 0) * 1000,
    }))
    .filter((l) => l.good_milli + l.rejected_milli + l.lost_milli > 0);
}

function ReturnPanel() {
  const { t } = useI18n();
  const cmd = useCommand();
  const open = useLoad(
    () =>
      Promise.all(['open', 'partly_returned'].map((s) => getJson<{ items: Dispatch[] }>(`/api/v1/subcontracting/dispatches?status=${s}`))).then((r) =>
        r.flatMap((x) => x.items),
      ),
    [],
  );
  const [id, setId] = useState('');
  const [counts, setCounts] = useState<Record<string, { good: string; rejected: string; lost: string }>>({});
  const d = open.data?.find((x) => x.dispatch_id === id);
  const set = (lot: string, k: 'good' | 'rejected' | 'lost', v: string) =>
    setCounts((c) => ({ ...c, [lot]: { ...(c[lot] ?? { good: '', rejected: '', lost: '' }), [k]: v } }));
  return (
    <form
      className="card"
      data-testid="return"
      onSubmit={(e) => {
        e.preventDefault();
        void cmd.send('subcontracting.dispatch.return', { dispatch_id: id, return_id: newKey(), lines: returnLines(counts) }).then((o) => {
          if (o.state === 'done') open.reload();
          if (o.state !== 'refused' && o.state !== 'error') setCounts({});
        });
      }}
    >
      <h2>{t('store.tab.return')}</h2>
      <ErrorBox error={open.error} onRetry={open.reload} />
      <label>
        {t('st.dispatch')}
        <select name="dispatch" value={id} onChange={(e) => setId(e.target.value)} required>
          <option value="">—</option>
          {(open.data ?? []).map((x) => (
            <option key={x.dispatch_id} value={x.dispatch_id}>
              {x.subcontractor} · {t(`op.${x.operation}`)} · {x.expected_return}
            </option>
          ))}
        </select>
      </label>
      {d?.lots.map((l) => (
        <fieldset key={l.label_id} className="defects">
          <legend>
            <span className="mono">{l.label_id.slice(0, 8)}</span> — {t('st.outstanding', { n: l.outstanding_milli / 1000 })}
          </legend>
          <div className="row">
            {(['good', 'rejected', 'lost'] as const).map((k) => (
              <label key={k}>
                {t(`st.${k}`)}
                <input name={`${k}-${l.label_id}`} inputMode="numeric" value={counts[l.label_id]?.[k] ?? ''} onChange={(e) => set(l.label_id, k, e.target.value)} />
              </label>
            ))}
          </div>
        </fieldset>
      ))}
      <button type="submit" className="primary big" disabled={cmd.busy || !id}>
        {t('st.record')}
      </button>
      <OutcomeBox outcome={cmd.outcome} />
    </form>
  );
}

function OverduePanel() {
  const { t } = useI18n();
  const late = useLoad(() => getJson<{ items: Dispatch[] }>('/api/v1/subcontracting/dispatches?overdue=true'), []);
  return (
    <Section title={t('store.tab.overdue')} testId="st-overdue">
      <ErrorBox error={late.error} onRetry={late.reload} />
      {!late.data && !late.error && <Loading />}
      {late.data && !late.data.items.length && <p className="muted">{t('none')}</p>}
      <ul className="list">
        {late.data?.items.map((d) => (
          <li key={d.dispatch_id}>
            <span>
              <strong>{d.subcontractor}</strong> · {t(`op.${d.operation}`)} · {d.lots.length} {t('st.lots')}
            </span>
            <span className="pill bad">{d.expected_return}</span>
          </li>
        ))}
      </ul>
    </Section>
  );
}
