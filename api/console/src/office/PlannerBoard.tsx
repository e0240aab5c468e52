/*
 * PlannerBoard.tsx — the planner's board: open orders on each loom with progress and the
 * loom's measured efficiency, orders on no loom, late orders, and the beams that run out
 * within a shift (views/planner and views/mechanic). Live: it reloads (debounced) when
 * the production module pushes an order, declaration, beam or loom event.
 */
import { useEffect, useState } from 'react';
import { ErrorBox, Loading, num, pct, Shell, time } from '../components';
import { getJson } from '../lib/api';
import { useDebounced, useLoad } from '../lib/hooks';
import { useI18n } from '../lib/i18n';
import { kindOf } from '../lib/notify';
import { openStream } from '../lib/stream';
import type { MechanicView } from '../floor/MechanicScreen';

export interface Order {
  order_id: string;
  article: string;
  quantity: number;
  unit: string;
  due_date: string | null;
  loom: string | null;
  status: string;
  declared: number;
  progress: number | null;
  late: boolean;
}

export interface PlannerView {
  looms: { loom: string; hall: string | null; current_order: string | null; efficiency: number | null; orders: Order[] }[];
  unplanned: Order[];
  late: Order[];
}

function OrderRow({ o }: { o: Order }) {
  const { t } = useI18n();
  return (
    <tr className={o.late ? 'late' : undefined}>
      <td className="mono">{o.order_id.slice(0, 8)}</td>
      <td>{o.article}</td>
      <td>{t(`order.${o.status}`)}</td>
      <td>
        <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round((o.progress ?? 0) * 100)}>
          <span style={{ width: `${Math.min(100, (o.progress ?? 0) * 100)}%` }} />
        </div>
        {num(o.declared)}/{num(o.quantity)}
      </td>
      <td>
        {o.due_date ?? '—'} {o.late && <span className="pill bad">{t('planner.late')}</span>}
      </td>
    </tr>
  );
}

function Orders({ orders }: { orders: Order[] }) {
  const { t } = useI18n();
  if (!orders.length) return <p className="muted">{t('none')}</p>;
  return (
    <table>
      <thead>
        <tr>
          <th>{t('declare.order')}</th>
          <th>{t('label.article')}</th>
          <th>{t('order.status')}</th>
          <th>{t('planner.progress')}</th>
          <th>{t('planner.due')}</th>
        </tr>
      </thead>
      <tbody>
        {orders.map((o) => (
          <OrderRow key={o.order_id} o={o} />
        ))}
      </tbody>
    </table>
  );
}

export function PlannerBoard() {
  const { t } = useI18n();
  const view = useLoad(() => getJson<PlannerView>('/api/v1/production/views/planner'));
  const beams = useLoad(() => getJson<MechanicView>('/api/v1/maintenance/views/mechanic?within_hours=24'));
  const [live, setLive] = useState(false);
  const reload = useDebounced(() => {
    view.reload();
    beams.reload();
  }, 1000);
  useEffect(() => {
    const s = openStream({
      modules: ['production'],
      onStatus: setLive,
      onResync: reload,
      onEvent: (ev) => {
        if (/order|output|beam|loom/.test(kindOf(ev.type))) reload();
      },
    });
    return s.close;
  }, [reload]);
  const v = view.data;
  return (
    <Shell title={t('planner.title')} live={live} wide>
      <ErrorBox error={view.error} onRetry={view.reload} />
      {!v && !view.error && <Loading />}
      {v && (
        <div className="grid">
          <section className="card span2" data-testid="planner-looms">
            <h2>{t('planner.looms')}</h2>
            {v.looms.length === 0 && <p className="muted">{t('none')}</p>}
            {v.looms.map((l) => (
              <div key={l.loom ?? '-'} className="loomblock">
                <h3>
                  {l.loom} <small className="muted">{l.hall ?? ''}</small> <span className="pill">{pct(l.efficiency)}</span>
                </h3>
                <Orders orders={l.orders} />
              </div>
            ))}
          </section>
          <section className="card" data-testid="planner-beams">
            <h2>{t('planner.beams')}</h2>
            <ErrorBox error={beams.error} />
            <ul className="list">
              {beams.data?.beams_running_out.length === 0 && <li className="muted">{t('none')}</li>}
              {beams.data?.beams_running_out.map((b) => (
                <li key={b.beam}>
                  <div>
                    <strong>{b.loom}</strong> · {b.beam} ({b.position})
                  </div>
                  <div className="muted">
                    {t('mech.metersLeft', { m: num(b.meters_left, 1) })} · {time(b.runout_at)}
                  </div>
                </li>
              ))}
            </ul>
          </section>
          <section className="card">
            <h2>{t('planner.late')}</h2>
            <Orders orders={v.late} />
          </section>
          <section className="card">
            <h2>{t('planner.unplanned')}</h2>
            <Orders orders={v.unplanned} />
          </section>
        </div>
      )}
    </Shell>
  );
}
