/*
 * QualityScreen.tsx — the quality inspector's phone: scan a lot (a roll's or a piece
 * lot's label, a yarn lot's code), see its status, record a 4-point inspection (each
 * defect where it is along the length, its size or a hole; the length and width) and see
 * the score per 100 m² and the grade the server gave, reject the lot into quarantine, open
 * a non-conformity about it, follow the NCs I opened (NcPanel.tsx: analysis, actions,
 * closing, photos), photos of an inspection just made, and the corrective actions past
 * due. The points are the server's to count (the decider's rule); the screen shows its
 * answer.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { ErrorBox, Loading, Modal, QueuePanel, Shell } from '../components';
import { ApiError, getJson, newKey } from '../lib/api';
import { useLoad } from '../lib/hooks';
import { useI18n } from '../lib/i18n';
import { Photos } from './CutPhotos';
import { isUuid, OutcomeBox, scaled, ScanField, Section, useCommand } from './kit';
import { MyNcs } from './NcPanel';

export interface Inspection {
  inspection_id: string;
  lot: string;
  points: number;
  score_per_100m2: number | string;
  max_points_per_100m2: number | string;
  grade: string;
}

interface QualityLot {
  lot: string;
  lot_kind: string;
  status: string;
  grade: string | null;
}

export interface DefectRow {
  at_m: string;
  size_mm: string;
  hole: boolean;
}

/* The body of quality.inspection.record: metres along the roll and centimetres of width
 * as the inspector reads them, in millimetres for the server. */
export function inspectionBody(f: { id: string; lot: string; kind: string; lengthM: string; widthCm: string; defects: DefectRow[] }) {
  return {
    inspection_id: f.id,
    lot: f.lot,
    lot_kind: f.kind,
    length_mm: scaled(f.lengthM, 1000) ?? 0,
    width_mm: scaled(f.widthCm, 10) ?? 0,
    defects: f.defects
      .filter((d) => d.at_m.trim() && (d.hole || d.size_mm.trim()))
      .map((d) => ({ at_mm: scaled(d.at_m, 1000) ?? 0, size_mm: scaled(d.size_mm, 1) || 1, ...(d.hole ? { hole: true } : {}) })),
  };
}

export function QualityScreen() {
  const { t } = useI18n();
  const [lot, setLot] = useState('');
  const [kind, setKind] = useState('roll');
  const [status, setStatus] = useState<QualityLot | null | undefined>();
  const [dialog, setDialog] = useState<'reject' | 'nc' | null>(null);
  const [lastInspection, setLastInspection] = useState<Inspection | null>(null);
  const [ncAt, setNcAt] = useState<string | undefined>();
  const overdue = useLoad(() => getJson<{ items: OverdueAction[] }>('/api/v1/quality/actions/overdue'), []);

  useEffect(() => {
    setStatus(undefined);
    setLastInspection(null);
    if (!lot.trim()) return;
    setKind(isUuid(lot) ? 'roll' : 'yarn');
    let gone = false;
    getJson<QualityLot>(`/api/v1/quality/lots/${encodeURIComponent(lot.trim())}`).then(
      (l) => !gone && setStatus(l),
      (e) => !gone && setStatus(e instanceof ApiError && e.status === 404 ? null : undefined),
    );
    return () => {
      gone = true;
    };
  }, [lot]);

  return (
    <Shell title={t('quality.title')}>
      <QueuePanel />
      <section className="card">
        <ScanField label={t('quality.lot')} name="lot" value={lot} onChange={setLot} testId="lot" />
        <fieldset className="causes">
          <legend>{t('quality.kind')}</legend>
          {['roll', 'pieces', 'yarn'].map((k) => (
            <label key={k} className={kind === k ? 'chip on' : 'chip'}>
              <input type="radio" name="kind" value={k} checked={kind === k} onChange={() => setKind(k)} />
              {t(`lotkind.${k}`)}
            </label>
          ))}
        </fieldset>
        {status && (
          <p data-testid="lot-status">
            <span className={status.status === 'rejected' ? 'pill bad' : status.status === 'pending' ? 'pill warn' : 'pill ok'}>{t(`lotstatus.${status.status}`)}</span>{' '}
            {status.grade && t(`grade.${status.grade}`)}
          </p>
        )}
        {status === null && lot.trim() && <p className="muted">{t('quality.notInspected')}</p>}
      </section>
      {lot.trim() && <InspectionForm lot={lot.trim()} kind={kind} onDone={setLastInspection} />}
      {lastInspection && (
        <section className="card" data-testid="score">
          <h2>{t('quality.result')}</h2>
          <div className="kpis">
            <div>
              <span className="kpi">{lastInspection.points}</span>
              <span className="muted">{t('quality.points')}</span>
            </div>
            <div>
              <span className="kpi">{String(lastInspection.score_per_100m2)}</span>
              <span className="muted">{t('quality.score')}</span>
            </div>
            <div>
              <span className={lastInspection.grade === 'first' ? 'kpi ok' : 'kpi bad'} data-testid="grade">
                {t(`grade.${lastInspection.grade}`)}
              </span>
              <span className="muted">
                {t('quality.threshold')} {String(lastInspection.max_points_per_100m2)}
              </span>
            </div>
          </div>
          <Photos kind="inspection" id={lastInspection.inspection_id} />
        </section>
      )}
      {lot.trim() && (
        <div className="actions">
          <button type="button" className="danger big" onClick={() => setDialog('reject')} data-testid="reject-open">
            {t('quality.reject')}
          </button>
          <button type="button" className="big" onClick={() => setDialog('nc')} data-testid="nc-open">
            {t('quality.nc')}
          </button>
        </div>
      )}
      <MyNcs position={ncAt} />
      <Section title={t('quality.overdue')} testId="overdue">
        <ErrorBox error={overdue.error} onRetry={overdue.reload} />
        {!overdue.data && !overdue.error && <Loading />}
        {overdue.data && <OverdueList items={overdue.data.items} />}
      </Section>
      {dialog === 'reject' && <RejectDialog lot={lot.trim()} kind={kind} onClose={() => setDialog(null)} />}
      {dialog === 'nc' && (
        <NcDialog
          lot={lot.trim()}
          inspection={lastInspection?.inspection_id}
          onClose={() => setDialog(null)}
          onOpened={setNcAt}
        />
      )}
    </Shell>
  );
}

export interface OverdueAction {
  nc_id: string;
  action_no: number;
  description: string;
  owner: string | null;
  due: string;
  nc_title: string;
  days_overdue: number;
}

export function OverdueList({ items }: { items: OverdueAction[] }) {
  const { t } = useI18n();
  if (!items.length) return <p className="muted">{t('none')}</p>;
  return (
    <ul className="list">
      {items.map((a) => (
        <li key={`${a.nc_id}-${a.action_no}`}>
          <span>
            <strong>{a.nc_title}</strong> — {a.description} {a.owner && <span className="muted">({a.owner})</span>}
          </span>
          <span className="pill bad">{t('quality.daysLate', { n: a.days_overdue, due: a.due })}</span>
        </li>
      ))}
    </ul>
  );
}

function InspectionForm({ lot, kind, onDone }: { lot: string; kind: string; onDone: (i: Inspection) => void }) {
  const { t } = useI18n();
  const cmd = useCommand();
  const [lengthM, setLengthM] = useState('');
  const [widthCm, setWidthCm] = useState('');
  const [defects, setDefects] = useState<DefectRow[]>([]);
  const [readError, setReadError] = useState<unknown>();
  const set = (i: number, d: Partial<DefectRow>) => setDefects((all) => all.map((x, j) => (j === i ? { ...x, ...d } : x)));
  const send = async (e: FormEvent) => {
    e.preventDefault();
    const id = newKey();
    setReadError(undefined);
    const o = await cmd.send('quality.inspection.record', inspectionBody({ id, lot, kind, lengthM, widthCm, defects }));
    if (o.state !== 'done') return;
    setDefects([]);
    // The score and grade are the server's: read the inspection once the projection has it.
    const q = o.item?.position ? `?position=${encodeURIComponent(o.item.position)}` : '';
    getJson<Inspection>(`/api/v1/quality/inspections/${id}${q}`).then(onDone, setReadError);
  };
  return (
    <form className="card" onSubmit={send} data-testid="inspection">
      <h2>{t('quality.inspect')}</h2>
      <div className="row">
        <label>
          {t('quality.length')}
          <input name="length-m" inputMode="decimal" value={lengthM} onChange={(e) => setLengthM(e.target.value)} required />
        </label>
        <label>
          {t('quality.width')}
          <input name="width-cm" inputMode="decimal" value={widthCm} onChange={(e) => setWidthCm(e.target.value)} required />
        </label>
      </div>
      <h3>
        {t('quality.defects')} ({defects.length})
      </h3>
      {defects.map((d, i) => (
        <div className="defect" key={i} data-testid={`defect-${i}`}>
          <label>
            {t('quality.at')}
            <input name={`at-${i}`} inputMode="decimal" value={d.at_m} onChange={(e) => set(i, { at_m: e.target.value })} />
          </label>
          <label>
            {t('quality.size')}
            <input name={`size-${i}`} inputMode="numeric" value={d.size_mm} onChange={(e) => set(i, { size_mm: e.target.value })} disabled={d.hole} />
          </label>
          <label className={d.hole ? 'chip on' : 'chip'}>
            <input type="checkbox" name={`hole-${i}`} checked={d.hole} onChange={(e) => set(i, { hole: e.target.checked })} />
            {t('quality.hole')}
          </label>
          <button type="button" className="link" onClick={() => setDefects((all) => all.filter((_, j) => j !== i))}>
            {t('quality.remove')}
          </button>
        </div>
      ))}
      <button type="button" className="big" onClick={() => setDefects((all) => [...all, { at_m: '', size_mm: '', hole: false }])}>
        {t('quality.addDefect')}
      </button>
      <button type="submit" className="primary big" disabled={cmd.busy} data-testid="inspection-send">
        {t('quality.record')}
      </button>
      <OutcomeBox outcome={cmd.outcome} />
      <ErrorBox error={readError} />
    </form>
  );
}

function RejectDialog({ lot, kind, onClose }: { lot: string; kind: string; onClose: () => void }) {
  const { t } = useI18n();
  const cmd = useCommand();
  const [reason, setReason] = useState('');
  return (
    <Modal title={`${t('quality.reject')} — ${lot.slice(0, 12)}`} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void cmd.send('quality.lot.reject', { lot, lot_kind: kind, reason: reason.trim() });
        }}
      >
        <label>
          {t('quality.reason')}
          <input name="reason" value={reason} onChange={(e) => setReason(e.target.value)} required maxLength={500} />
        </label>
        <button type="submit" className="danger big" disabled={cmd.busy || cmd.outcome?.state === 'done'}>
          {t('quality.reject')}
        </button>
        <OutcomeBox outcome={cmd.outcome} />
      </form>
    </Modal>
  );
}

function NcDialog({ lot, inspection, onClose, onOpened }: { lot: string; inspection?: string; onClose: () => void; onOpened?: (position: string | undefined) => void }) {
  const { t } = useI18n();
  const cmd = useCommand();
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  return (
    <Modal title={t('quality.nc')} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const data: Record<string, unknown> = { nc_id: newKey(), title: title.trim(), source: inspection ? 'inspection' : 'manual', lots: [lot] };
          if (inspection) data.inspection_id = inspection;
          if (description.trim()) data.description = description.trim();
          void cmd.send('quality.nc.open', data).then((o) => o.state === 'done' && onOpened?.(o.item?.position ?? ''));
        }}
      >
        <label>
          {t('quality.ncTitle')}
          <input name="nc-title" value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={200} />
        </label>
        <label>
          {t('quality.ncDescription')}
          <input name="nc-description" value={description} onChange={(e) => setDescription(e.target.value)} maxLength={2000} />
        </label>
        <button type="submit" className="primary big" disabled={cmd.busy || cmd.outcome?.state === 'done'}>
          {t('send')}
        </button>
        <OutcomeBox outcome={cmd.outcome} />
      </form>
    </Modal>
  );
}
