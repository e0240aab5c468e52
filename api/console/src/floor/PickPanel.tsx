/*
 * PickPanel.tsx — the yarn storekeeper's pick lists (README "Stores"): make one for an
 * order's warping from scanned lots and kilograms (`inventory.pick.create`, its id made on
 * the phone so the list can be scanned before the network returns), scan each lot as it is
 * picked (`inventory.pick.scan`, the grams found; the line's when left empty), then issue
 * what was picked to the warping's beam (`inventory.pick.issue`). Every command goes through
 * the outbox with the phone's own time.
 */
import { useState, type FormEvent } from 'react';
import { ErrorBox, num } from '../components';
import { getJson, newKey } from '../lib/api';
import { useLoad } from '../lib/hooks';
import { useI18n } from '../lib/i18n';
import { nowIso, OutcomeBox, scaled, ScanField, useCommand } from './kit';

interface PickLine {
  lot: string;
  weight_g: number;
  picked_g: number | null;
  location: string | null;
  item: string | null;
}
interface Pick {
  pick_id: string;
  order_id: string;
  beam: string | null;
  status: string;
  weight_g: number;
  lines?: PickLine[];
  created_at?: string;
}

/* The create command's body from the lines typed (kg with up to 3 decimals, into grams). */
export function pickBody(pickId: string, order: string, beam: string, lines: { lot: string; kg: string }[]) {
  const body: Record<string, unknown> = {
    pick_id: pickId,
    order_id: order.trim(),
    lines: lines.filter((l) => l.lot.trim()).map((l) => ({ lot: l.lot.trim(), weight_g: scaled(l.kg, 1000) ?? 0 })),
    occurred_at: nowIso(),
  };
  if (beam.trim()) body.beam = beam.trim();
  return body;
}

export function PickPanel() {
  const { t } = useI18n();
  const [current, setCurrent] = useState<string | null>(null);
  const open = useLoad(() => getJson<{ items: Pick[] }>('/api/v1/inventory/picks?status=open'), []);
  return (
    <div data-testid="picks">
      {current ? (
        <PickWork id={current} onBack={() => { setCurrent(null); open.reload(); }} />
      ) : (
        <>
          <section className="card">
            <h2>{t('pick.open')}</h2>
            <ErrorBox error={open.error} onRetry={open.reload} />
            {open.data && !open.data.items.length && <p className="muted">{t('none')}</p>}
            <ul className="list">
              {open.data?.items.map((p) => (
                <li key={p.pick_id}>
                  <button type="button" className="link" onClick={() => setCurrent(p.pick_id)}>
                    {t('pick.of', { o: p.order_id.slice(0, 8) })} · {num(p.weight_g / 1000, 3)} kg
                  </button>
                </li>
              ))}
            </ul>
          </section>
          <PickCreate onMade={setCurrent} />
        </>
      )}
    </div>
  );
}

function PickCreate({ onMade }: { onMade: (id: string) => void }) {
  const { t } = useI18n();
  const cmd = useCommand();
  const [order, setOrder] = useState('');
  const [beam, setBeam] = useState('');
  const [lines, setLines] = useState([{ lot: '', kg: '' }]);
  const setLine = (i: number, k: 'lot' | 'kg', v: string) => setLines((ls) => ls.map((l, j) => (j === i ? { ...l, [k]: v } : l)));
  const send = async (e: FormEvent) => {
    e.preventDefault();
    const id = newKey();
    const o = await cmd.send('inventory.pick.create', pickBody(id, order, beam, lines));
    if (o.state === 'done' || o.state === 'pending') onMade(id);
  };
  return (
    <form className="card" onSubmit={(e) => void send(e)} data-testid="pick-create">
      <h2>{t('pick.new')}</h2>
      <ScanField label={t('pick.order')} name="pick-order" value={order} onChange={setOrder} />
      <ScanField label={t('store.beam')} name="pick-beam" value={beam} onChange={setBeam} />
      {lines.map((l, i) => (
        <div className="row" key={i}>
          <ScanField label={`${t('store.lot')} ${i + 1}`} name={`pick-lot-${i}`} value={l.lot} onChange={(v) => setLine(i, 'lot', v)} />
          <label>
            {t('store.kg')}
            <input name={`pick-kg-${i}`} inputMode="decimal" value={l.kg} onChange={(e) => setLine(i, 'kg', e.target.value)} required={!!l.lot} />
          </label>
        </div>
      ))}
      <button type="button" onClick={() => setLines((ls) => [...ls, { lot: '', kg: '' }])} disabled={lines.length >= 50}>
        {t('pick.addLine')}
      </button>
      <button type="submit" className="primary big" disabled={cmd.busy}>
        {t('pick.create')}
      </button>
      <OutcomeBox outcome={cmd.outcome} />
    </form>
  );
}

function PickWork({ id, onBack }: { id: string; onBack: () => void }) {
  const { t } = useI18n();
  const pick = useLoad(() => getJson<Pick>(`/api/v1/inventory/picks/${id}`), [id]);
  const scan = useCommand();
  const issue = useCommand();
  const [lot, setLot] = useState('');
  const [kg, setKg] = useState('');
  const [beam, setBeam] = useState('');
  const sendScan = (e: FormEvent) => {
    e.preventDefault();
    const body: Record<string, unknown> = { pick_id: id, lot: lot.trim(), occurred_at: nowIso() };
    const g = scaled(kg, 1000);
    if (kg.trim() && g !== undefined) body.weight_g = g;
    void scan.send('inventory.pick.scan', body).then((o) => {
      if (o.state !== 'refused' && o.state !== 'error') {
        setLot('');
        setKg('');
      }
      if (o.state === 'done') pick.reload();
    });
  };
  const sendIssue = () => {
    const body: Record<string, unknown> = { pick_id: id, occurred_at: nowIso() };
    if (beam.trim()) body.beam = beam.trim();
    void issue.send('inventory.pick.issue', body).then((o) => o.state === 'done' && pick.reload());
  };
  const p = pick.data;
  return (
    <>
      <section className="card" data-testid="pick-work">
        <h2>
          {t('pick.list')} <span className="mono small">{id.slice(0, 8)}</span>
        </h2>
        {/* A list made offline is not on the server yet: its scans wait in the outbox with it. */}
        <ErrorBox error={p ? pick.error : undefined} onRetry={pick.reload} />
        {p && (
          <>
            <p className="muted small">
              {t('pick.of', { o: p.order_id.slice(0, 8) })} · {t(p.status === 'open' ? 'pick.open_' : `pick.${p.status}`)} {p.beam ? `· ${p.beam}` : ''}
            </p>
            <ul className="list">
              {(p.lines ?? []).map((l) => (
                <li key={l.lot} data-testid={`pick-line-${l.lot}`}>
                  <span>
                    <strong>{l.lot}</strong> <span className="muted small">{l.item ?? ''} · {l.location ?? '—'}</span>
                  </span>
                  <span className={l.picked_g === null ? 'pill warn' : 'pill ok'}>
                    {l.picked_g === null ? '—' : num(l.picked_g / 1000, 3)} / {num(l.weight_g / 1000, 3)} kg
                  </span>
                </li>
              ))}
            </ul>
          </>
        )}
        <button type="button" onClick={onBack}>
          {t('pick.back')}
        </button>
      </section>
      <form className="card" onSubmit={sendScan}>
        <h2>{t('pick.scan')}</h2>
        <ScanField label={t('store.lot')} name="pick-scan-lot" value={lot} onChange={setLot} />
        <label>
          {t('pick.kgFound')}
          <input name="pick-scan-kg" inputMode="decimal" value={kg} onChange={(e) => setKg(e.target.value)} />
        </label>
        <button type="submit" className="primary big" disabled={scan.busy || !lot.trim()}>
          {t('pick.scan')}
        </button>
        <OutcomeBox outcome={scan.outcome} />
      </form>
      <section className="card">
        <h2>{t('pick.issue')}</h2>
        <ScanField label={t('store.beam')} name="pick-issue-beam" value={beam} onChange={setBeam} />
        <button type="button" className="primary big" disabled={issue.busy} onClick={sendIssue}>
          {t('pick.issue')}
        </button>
        <OutcomeBox outcome={issue.outcome} />
      </section>
    </>
  );
}
