/*
 * OfficeScreens.tsx — the office's desktop screens over the stores, purchasing and
 * quality modules, tables first and a chart where it says more:
 *   stock and genealogy (/office/stock): stock by location now or as of an instant (with
 *     a bar chart of each location's pieces), the genealogy of an id (down from a pallet,
 *     carton or unit to the yarn) or a lot code (up to every roll, carton and pallet);
 *   purchasing (/office/purchasing): requests to approve or reject, orders, late orders;
 *   quality (/office/quality): lots by status, non-conformities, overdue actions, and the
 *     1st-choice share by loom (chart).
 * Approvals and rejections go through the outbox like the floor's commands.
 */
import { useState, type FormEvent } from 'react';
import { ErrorBox, Loading, num, pct, Shell, time } from '../components';
import { getJson } from '../lib/api';
import { useLoad, useSession } from '../lib/hooks';
import { useI18n } from '../lib/i18n';
import { OutcomeBox, useCommand } from '../floor/kit';
import { OverdueList, type OverdueAction } from '../floor/QualityScreen';
import { StockTables, type StockAnswer } from '../floor/StoreScreen';
import { BarChart } from './BarChart';

const q = (params: Record<string, string>) => {
  const s = new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString();
  return s ? `?${s}` : '';
};

/* ------------------------------------------------------------ stock and genealogy */

export function StockOffice() {
  const { t } = useI18n();
  const [location, setLocation] = useState('');
  const [asOf, setAsOf] = useState('');
  const at = asOf ? new Date(asOf) : null;
  const iso = at && !Number.isNaN(at.getTime()) ? at.toISOString() : '';
  const stock = useLoad(() => getJson<StockAnswer>(`/api/v1/inventory/stock${q({ location, as_of: iso })}`), [location, iso]);
  const locations = useLoad(() => getJson<{ items: { location: string }[] }>('/api/v1/inventory/locations').then((r) => r.items.map((l) => l.location)), []);
  const perLocation = new Map<string, number>();
  for (const r of stock.data?.totals ?? []) if (r.kind !== 'lot') perLocation.set(r.location, (perLocation.get(r.location) ?? 0) + r.quantity);
  return (
    <Shell title={t('office.stock')} wide>
      <div className="grid">
        <section className="card span2" data-testid="office-stock">
          <h2>{t('office.stock')}</h2>
          <div className="row">
            <label>
              {t('stock.location')}
              <select name="location" value={location} onChange={(e) => setLocation(e.target.value)}>
                <option value="">{t('stock.all')}</option>
                {(locations.data ?? []).map((l) => (
                  <option key={l}>{l}</option>
                ))}
              </select>
            </label>
            <label>
              {t('stock.asOf')}
              <input name="as-of" type="datetime-local" value={asOf} onChange={(e) => setAsOf(e.target.value)} />
            </label>
          </div>
          <ErrorBox error={stock.error} onRetry={stock.reload} />
          {!stock.data && !stock.error && <Loading />}
          {stock.data && (
            <>
              <p className="muted small">{stock.data.as_of ? t('stock.asOfShown', { t: time(stock.data.as_of) }) : t('stock.now')}</p>
              <StockTables stock={stock.data} />
            </>
          )}
        </section>
        <section className="card">
          <h2>{t('stock.piecesBy')}</h2>
          <BarChart labels={[...perLocation.keys()]} values={[...perLocation.values()]} label={t('stock.pieces')} color="#0f3d3e" testId="stock-chart" />
        </section>
        <Genealogy />
      </div>
    </Shell>
  );
}

/* eslint-disable @typescript-eslint/no-explicit-any */
function Genealogy() {
  const { t } = useI18n();
  const [code, setCode] = useState('');
  const [g, setG] = useState<any>(null);
  const [error, setError] = useState<unknown>();
  const go = (e: FormEvent) => {
    e.preventDefault();
    setG(null);
    setError(undefined);
    getJson<any>(`/api/v1/inventory/genealogy/${encodeURIComponent(code.trim())}`).then(setG, setError);
  };
  return (
    <section className="card" data-testid="genealogy">
      <h2>{t('genealogy.title')}</h2>
      <form onSubmit={go}>
        <label>
          {t('genealogy.of')}
          <input name="genealogy" value={code} onChange={(e) => setCode(e.target.value)} required />
        </label>
        <button type="submit" className="primary">
          {t('genealogy.show')}
        </button>
      </form>
      <ErrorBox error={error} />
      {g?.direction === 'down' && (
        <>
          <p>
            {t(`store.found.${g.of.kind}`)} · {g.of.location ?? '—'}
          </p>
          <table>
            <thead>
              <tr>
                <th>{t('store.unit')}</th>
                <th>{t('stock.item')}</th>
                <th>{t('genealogy.loom')}</th>
                <th>{t('genealogy.beams')}</th>
              </tr>
            </thead>
            <tbody>
              {g.units.map((u: any) => (
                <tr key={u.label_id}>
                  <td className="mono">{u.label_id.slice(0, 8)}</td>
                  <td>
                    {u.article} × {u.quantity}
                  </td>
                  <td>
                    {u.loom} · {u.weaver} · {u.shift}
                  </td>
                  <td>
                    {(u.beams ?? []).map((b: any) => (
                      <div key={b.beam}>
                        {b.beam}: {(b.lots ?? []).map((l: any) => `${l.lot} (${l.supplier_lot ?? '—'})`).join(', ') || '—'}
                      </div>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {g?.direction === 'up' && (
        <>
          <p>
            {g.of ? `${g.of.lot} · ${g.of.supplier_lot} · ${g.of.item}` : code} — {t('genealogy.beams')}: {g.beams.join(', ') || '—'}
          </p>
          <table>
            <thead>
              <tr>
                <th>{t('store.unit')}</th>
                <th>{t('stock.item')}</th>
                <th>{t('genealogy.loom')}</th>
                <th>{t('stock.location')}</th>
              </tr>
            </thead>
            <tbody>
              {g.units.map((u: any) => (
                <tr key={u.label_id}>
                  <td className="mono">{u.label_id.slice(0, 8)}</td>
                  <td>
                    {u.article} × {u.quantity}
                  </td>
                  <td>{u.loom}</td>
                  <td>
                    {u.location ?? '—'}
                    {u.carton_id && ` · ${t('store.carton')} ${u.carton_id.slice(0, 8)}`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="muted small">
            {t('genealogy.containers', { c: g.cartons.length, p: g.pallets.length })}
          </p>
        </>
      )}
    </section>
  );
}

/* ------------------------------------------------------------ purchasing */

interface PRequest {
  request_id: string;
  status: string;
  item: string | null;
  description: string | null;
  quantity_milli: number;
  unit: string;
  need_by: string;
  reason: string;
  amount: number | null;
  station: string;
  requester_badge: string | null;
}

interface POrder {
  order_id: string;
  supplier: string;
  currency: string;
  status: string;
  total: number;
  late: boolean;
  issued_at: string;
}

/* Minor units: millimes for TND (3 decimals), cents for most others. */
export function money(minor: number | null | undefined, cur = 'TND'): string {
  if (minor === null || minor === undefined) return '—';
  const digits = ['TND', 'KWD', 'BHD', 'OMR', 'JOD', 'LYD', 'IQD'].includes(cur) ? 3 : cur === 'JPY' ? 0 : 2;
  return `${(minor / 10 ** digits).toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${cur}`;
}

export function PurchasingOffice() {
  const { t } = useI18n();
  const requests = useLoad(() => getJson<{ items: PRequest[] }>('/api/v1/purchasing/requests?status=open'), []);
  const [status, setStatus] = useState('');
  const orders = useLoad(() => getJson<{ items: POrder[] }>(`/api/v1/purchasing/orders${q({ status })}`), [status]);
  const late = useLoad(() => getJson<{ items: POrder[] }>('/api/v1/purchasing/orders?late=true'), []);
  return (
    <Shell title={t('office.purchasing')} wide>
      <section className="card" data-testid="requests">
        <h2>{t('purchasing.requests')}</h2>
        <ErrorBox error={requests.error} onRetry={requests.reload} />
        {!requests.data && !requests.error && <Loading />}
        {requests.data && !requests.data.items.length && <p className="muted">{t('none')}</p>}
        {!!requests.data?.items.length && (
          <table>
            <thead>
              <tr>
                <th>{t('purchasing.what')}</th>
                <th>{t('da.quantity')}</th>
                <th>{t('da.needBy')}</th>
                <th>{t('purchasing.by')}</th>
                <th>{t('purchasing.amount')}</th>
                <th>{t('purchasing.status')}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {requests.data.items.map((r) => (
                <RequestRow key={r.request_id} r={r} onDone={requests.reload} />
              ))}
            </tbody>
          </table>
        )}
      </section>
      <div className="grid">
        <section className="card span2" data-testid="orders">
          <h2>{t('purchasing.orders')}</h2>
          <label>
            {t('purchasing.status')}
            <select name="order-status" value={status} onChange={(e) => setStatus(e.target.value)}>
              <option value="">{t('stock.all')}</option>
              {['issued', 'partly_received', 'received', 'closed', 'cancelled'].map((s) => (
                <option key={s} value={s}>
                  {t(`po.${s}`)}
                </option>
              ))}
            </select>
          </label>
          <ErrorBox error={orders.error} onRetry={orders.reload} />
          {orders.data && <OrdersTable items={orders.data.items} />}
        </section>
        <section className="card" data-testid="late-orders">
          <h2>{t('purchasing.late')}</h2>
          <ErrorBox error={late.error} onRetry={late.reload} />
          {late.data && <OrdersTable items={late.data.items} />}
        </section>
      </div>
    </Shell>
  );
}

function OrdersTable({ items }: { items: POrder[] }) {
  const { t } = useI18n();
  if (!items.length) return <p className="muted">{t('none')}</p>;
  return (
    <table>
      <thead>
        <tr>
          <th>{t('purchasing.order')}</th>
          <th>{t('purchasing.supplier')}</th>
          <th>{t('purchasing.status')}</th>
          <th>{t('purchasing.amount')}</th>
        </tr>
      </thead>
      <tbody>
        {items.map((o) => (
          <tr key={o.order_id} className={o.late ? 'late' : undefined}>
            <td className="mono">{o.order_id.slice(0, 8)}</td>
            <td>{o.supplier}</td>
            <td>
              {t(`po.${o.status}`)} {o.late && <span className="pill bad">{t('kit.late')}</span>}
            </td>
            <td>{money(o.total, o.currency)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function RequestRow({ r, onDone }: { r: PRequest; onDone: () => void }) {
  const { t } = useI18n();
  const cmd = useCommand();
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState('');
  const after = (o: { state: string }) => o.state === 'done' && onDone();
  return (
    <tr data-testid={`request-${r.request_id}`}>
      <td>
        {r.item ?? r.description}
        <div className="muted small">{r.reason}</div>
      </td>
      <td>
        {num(r.quantity_milli / 1000, 3)} {r.unit}
      </td>
      <td>{r.need_by}</td>
      <td>
        {t(`role.${r.station}`)} {r.requester_badge ?? ''}
      </td>
      <td>{money(r.amount)}</td>
      <td>{t(`pr.${r.status}`)}</td>
      <td>
        {!rejecting ? (
          <div className="row">
            <button type="button" className="primary" disabled={cmd.busy} onClick={() => void cmd.send('purchasing.request.approve', { request_id: r.request_id }).then(after)}>
              {t('purchasing.approve')}
            </button>
            <button type="button" onClick={() => setRejecting(true)}>
              {t('purchasing.reject')}
            </button>
          </div>
        ) : (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void cmd.send('purchasing.request.reject', { request_id: r.request_id, reason: reason.trim() }).then(after);
            }}
          >
            <input name="reject-reason" aria-label={t('quality.reason')} value={reason} onChange={(e) => setReason(e.target.value)} required maxLength={500} />
            <button type="submit" className="danger" disabled={cmd.busy}>
              {t('purchasing.reject')}
            </button>
          </form>
        )}
        <OutcomeBox outcome={cmd.outcome} />
      </td>
    </tr>
  );
}

/* ------------------------------------------------------------ quality */

interface QLot {
  lot: string;
  lot_kind: string;
  status: string;
  grade: string | null;
  reason: string | null;
  location: string | null;
  created_at: string;
}

interface Nc {
  nc_id: string;
  title: string;
  source: string;
  status: string;
  lots: string[] | null;
  opened_at: string;
}

interface Yield {
  key: string;
  rolls: number;
  first_choice: number;
  second_choice: number;
  waste_pieces: number;
  first_share: number | string | null;
}

export function QualityOffice() {
  const { t } = useI18n();
  const [status, setStatus] = useState('');
  const lots = useLoad(() => getJson<{ items: QLot[] }>(`/api/v1/quality/lots${q({ status, limit: '200' })}`), [status]);
  const ncs = useLoad(() => getJson<{ items: Nc[] }>('/api/v1/quality/ncs?limit=200'), []);
  const overdue = useLoad(() => getJson<{ items: OverdueAction[] }>('/api/v1/quality/actions/overdue'), []);
  const yields = useLoad(() => getJson<{ items: Yield[] }>('/api/v1/quality/yields?by=loom'), []);
  const y = yields.data?.items ?? [];
  // Only manager and admin approve a lot (their sign-in has TOTP): the approval is signed.
  const signs = ['manager', 'admin'].includes(useSession()?.claims.role ?? '');
  return (
    <Shell title={t('office.quality')} wide>
      <div className="grid">
        <section className="card span2" data-testid="quality-lots">
          <h2>{t('qoffice.lots')}</h2>
          <label>
            {t('purchasing.status')}
            <select name="lot-status" value={status} onChange={(e) => setStatus(e.target.value)}>
              <option value="">{t('stock.all')}</option>
              {['pending', 'approved', 'approved_with_derogation', 'rejected'].map((s) => (
                <option key={s} value={s}>
                  {t(`lotstatus.${s}`)}
                </option>
              ))}
            </select>
          </label>
          <ErrorBox error={lots.error} onRetry={lots.reload} />
          {lots.data && !lots.data.items.length && <p className="muted">{t('none')}</p>}
          {!!lots.data?.items.length && (
            <table>
              <thead>
                <tr>
                  <th>{t('quality.lot')}</th>
                  <th>{t('quality.kind')}</th>
                  <th>{t('purchasing.status')}</th>
                  <th>{t('qoffice.grade')}</th>
                  <th>{t('stock.location')}</th>
                  {signs && <th />}
                </tr>
              </thead>
              <tbody>
                {lots.data.items.map((l) => (
                  <tr key={l.lot} className={l.status === 'rejected' ? 'late' : undefined} data-testid={`qlot-${l.lot}`}>
                    <td className="mono">{l.lot.length > 20 ? l.lot.slice(0, 8) : l.lot}</td>
                    <td>{t(`lotkind.${l.lot_kind}`)}</td>
                    <td>{t(`lotstatus.${l.status}`)}</td>
                    <td>{l.grade ? t(`grade.${l.grade}`) : '—'}</td>
                    <td>{l.location ?? '—'}</td>
                    {signs && <td>{(l.status === 'pending' || l.status === 'rejected') && <ApproveLot lot={l} onDone={lots.reload} />}</td>}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section className="card">
          <h2>{t('qoffice.yield')}</h2>
          <ErrorBox error={yields.error} />
          <BarChart labels={y.map((r) => r.key)} values={y.map((r) => Math.round(Number(r.first_share ?? 0) * 1000) / 10)} label={t('qoffice.firstShare')} max={100} color="#166534" testId="yield-chart" />
          <ul className="list small">
            {y.map((r) => (
              <li key={r.key}>
                {r.key}: {pct(r.first_share === null ? null : Number(r.first_share))} ({r.first_choice}/{r.first_choice + r.second_choice + r.waste_pieces})
              </li>
            ))}
          </ul>
        </section>
        <section className="card" data-testid="ncs">
          <h2>{t('qoffice.ncs')}</h2>
          <ErrorBox error={ncs.error} onRetry={ncs.reload} />
          {ncs.data && !ncs.data.items.length && <p className="muted">{t('none')}</p>}
          <ul className="list">
            {ncs.data?.items.map((n) => (
              <li key={n.nc_id}>
                <span>
                  <strong>{n.title}</strong> <span className="muted small">{t(`ncsource.${n.source}`)} · {time(n.opened_at)}</span>
                </span>
                <span className={n.status === 'closed' ? 'pill ok' : 'pill warn'}>{t(`ncstatus.${n.status}`)}</span>
              </li>
            ))}
          </ul>
        </section>
        <section className="card" data-testid="overdue">
          <h2>{t('quality.overdue')}</h2>
          <ErrorBox error={overdue.error} onRetry={overdue.reload} />
          {overdue.data && <OverdueList items={overdue.data.items} />}
        </section>
      </div>
    </Shell>
  );
}

/* A lot approved, or a rejected one released with a derogation (quality.lot.approve). */
function ApproveLot({ lot, onDone }: { lot: QLot; onDone: () => void }) {
  const { t } = useI18n();
  const cmd = useCommand();
  const [why, setWhy] = useState('');
  const rejected = lot.status === 'rejected';
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        const data: Record<string, unknown> = { lot: lot.lot, lot_kind: lot.lot_kind };
        if (why.trim()) data.derogation = why.trim();
        void cmd.send('quality.lot.approve', data).then((o) => o.state === 'done' && onDone());
      }}
    >
      <input name={`derogation-${lot.lot}`} aria-label={t('qoffice.derogation')} placeholder={t('qoffice.derogation')} value={why} onChange={(e) => setWhy(e.target.value)} required={rejected} maxLength={500} />
      <button type="submit" className="primary" disabled={cmd.busy}>
        {rejected ? t('qoffice.release') : t('qoffice.approve')}
      </button>
      <OutcomeBox outcome={cmd.outcome} />
    </form>
  );
}
