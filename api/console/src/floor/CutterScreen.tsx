/*
 * CutterScreen.tsx — the cutter's phone: scan a roll's label, declare its cut (1st and
 * 2nd choice, waste pieces, waste in mm and g, the defect causes of what was downgraded:
 * quality.roll.cut), see the label ids the cut gave its graded lots, and raise a purchase
 * request (blades, bags, labels: purchasing.request.submit), and attach defect photos to a
 * cut once it is recorded (CutPhotos.tsx), and print each graded lot's label (LabelCard: QR
 * code, the browser's print, ZPL; inventory makes the lot by reaction to the cut, so the
 * card asks again until it is there). Everything goes through the
 * outbox: without network the cut waits on the phone and its lot ids show once it is sent.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { ErrorBox, Modal, QueuePanel, Shell } from '../components';
import { getJson } from '../lib/api';
import { getSession } from '../lib/session';
import { useI18n } from '../lib/i18n';
import { listQueue, onQueueChange, type Queued } from '../lib/queue';
import { LabelCard, type LabelScan } from './LabelCard';
import { CutPhotos } from './CutPhotos';
import { OutcomeBox, RequestDialog, ScanField, Stepper, scaled, useCommand, isUuid } from './kit';

export const DEFECT_CAUSES = ['broken_pick', 'weft_bar', 'oil_stain', 'hole', 'selvedge', 'pattern', 'other'];

/* The body of quality.roll.cut from what the cutter typed; the defect rows with no piece
 * are left out. */
export function cutBody(f: {
  roll: string;
  first: number;
  second: number;
  waste: number;
  wasteMm: string;
  wasteG: string;
  defects: Record<string, number>;
  note?: string;
}): Record<string, unknown> {
  const data: Record<string, unknown> = { roll: f.roll, first_choice: f.first, second_choice: f.second, waste_pieces: f.waste };
  const mm = scaled(f.wasteMm, 1);
  const g = scaled(f.wasteG, 1);
  if (mm) data.waste_mm = mm;
  if (g) data.waste_g = g;
  const defects = Object.entries(f.defects)
    .filter(([, n]) => n > 0)
    .map(([cause, pieces]) => ({ cause, pieces }));
  if (defects.length) data.defects = defects;
  if (f.note?.trim()) data.note = f.note.trim();
  return data;
}

export function CutterScreen() {
  const { t } = useI18n();
  const cmd = useCommand();
  const [roll, setRoll] = useState('');
  const [info, setInfo] = useState<LabelScan | null>(null);
  const [infoError, setInfoError] = useState<unknown>();
  const [first, setFirst] = useState(0);
  const [second, setSecond] = useState(0);
  const [waste, setWaste] = useState(0);
  const [wasteMm, setWasteMm] = useState('');
  const [wasteG, setWasteG] = useState('');
  const [defects, setDefects] = useState<Record<string, number>>({});
  const [note, setNote] = useState('');
  const [request, setRequest] = useState(false);
  const [cuts, setCuts] = useState<Queued[]>([]);
  const [printing, setPrinting] = useState<{ id: string; grade: string } | null>(null);

  // The roll's label: what it is (article, pieces declared), once scanned.
  useEffect(() => {
    setInfo(null);
    setInfoError(undefined);
    if (!isUuid(roll)) return;
    let gone = false;
    getJson<LabelScan>(`/api/v1/inventory/labels/${roll}`).then(
      (s) => {
        if (gone) return;
        setInfo(s);
        setFirst(s.quantity);
      },
      (e) => !gone && setInfoError(e),
    );
    return () => {
      gone = true;
    };
  }, [roll]);

  // My cuts of the day from the outbox: the lot ids come with each answer, even one sent later.
  useEffect(() => {
    const load = () => void listQueue().then((all) => setCuts(all.filter((i) => i.type === 'quality.roll.cut' && i.sub === getSession()?.claims.sub).slice(-5).reverse()), () => {});
    load();
    return onQueueChange(load);
  }, []);

  const downgraded = second + waste;
  const counted = Object.values(defects).reduce((a, b) => a + b, 0);
  const send = async (e: FormEvent) => {
    e.preventDefault();
    const o = await cmd.send('quality.roll.cut', cutBody({ roll, first, second, waste, wasteMm, wasteG, defects, note }));
    if (o.state === 'done' || o.state === 'pending') {
      // The lots' labels are what the cutter needs next: bring them into view.
      setTimeout(() => document.getElementById('cuts')?.scrollIntoView?.({ block: 'start' }), 50);
      setRoll('');
      setFirst(0);
      setSecond(0);
      setWaste(0);
      setWasteMm('');
      setWasteG('');
      setDefects({});
      setNote('');
    }
  };

  return (
    <Shell title={t('cutter.title')}>
      <QueuePanel />
      <form className="card" onSubmit={send} data-testid="cut-form">
        <h2>{t('cutter.cut')}</h2>
        <ScanField label={t('cutter.roll')} name="roll" value={roll} onChange={setRoll} testId="roll" />
        {info && (
          <p className="muted" data-testid="roll-info">
            {info.article.article} · {info.quantity} {t('cutter.pieces')} · {info.loom.loom} · {info.weaver.badge}
          </p>
        )}
        <ErrorBox error={infoError} />
        <Stepper label={t('cutter.first')} name="first" value={first} onChange={setFirst} />
        <Stepper label={t('cutter.second')} name="second" value={second} onChange={setSecond} />
        <Stepper label={t('cutter.waste')} name="waste" value={waste} onChange={setWaste} />
        <div className="row">
          <label>
            {t('cutter.wasteMm')}
            <input name="waste-mm" inputMode="numeric" value={wasteMm} onChange={(e) => setWasteMm(e.target.value)} />
          </label>
          <label>
            {t('cutter.wasteG')}
            <input name="waste-g" inputMode="numeric" value={wasteG} onChange={(e) => setWasteG(e.target.value)} />
          </label>
        </div>
        {downgraded > 0 && (
          <fieldset className="defects">
            <legend>
              {t('cutter.defects')} <span className={counted === downgraded ? 'pill ok' : 'pill warn'}>{t('cutter.defectsCount', { n: counted, of: downgraded })}</span>
            </legend>
            {DEFECT_CAUSES.map((c) => (
              <Stepper key={c} label={t(`defect.${c}`)} name={`defect-${c}`} value={defects[c] ?? 0} onChange={(n) => setDefects((d) => ({ ...d, [c]: n }))} />
            ))}
          </fieldset>
        )}
        <label>
          {t('call.note')}
          <input name="note" value={note} onChange={(e) => setNote(e.target.value)} maxLength={500} />
        </label>
        <button type="submit" className="primary big" disabled={cmd.busy || !roll.trim()} data-testid="cut-send">
          {t('cutter.send')}
        </button>
        <OutcomeBox outcome={cmd.outcome} />
      </form>
      {cuts.length > 0 && (
        <section className="card" id="cuts" data-testid="cuts">
          <h2>{t('cutter.lots')}</h2>
          <ul className="list">
            {cuts.map((c) => (
              <li key={c.key}>
                <span className="mono">{String(c.data.roll).slice(0, 8)}</span>
                {c.state === 'pending' && <span className="pill warn">{t('queue.item.pending')}</span>}
                {c.state === 'refused' && <span className="pill bad">{c.detail ?? c.code}</span>}
                {c.issued?.first_lot_id && (
                  <span data-testid="lot-first">
                    1<sup>er</sup> ({String(c.data.first_choice)}) <code>{c.issued.first_lot_id}</code>{' '}
                    <button type="button" onClick={() => setPrinting({ id: c.issued!.first_lot_id, grade: t('grade.first') })} data-testid="label-first">
                      {t('cutter.label')}
                    </button>
                  </span>
                )}
                {c.issued?.second_lot_id && (
                  <span data-testid="lot-second">
                    2<sup>e</sup> ({String(c.data.second_choice)}) <code>{c.issued.second_lot_id}</code>{' '}
                    <button type="button" onClick={() => setPrinting({ id: c.issued!.second_lot_id, grade: t('grade.second') })} data-testid="label-second">
                      {t('cutter.label')}
                    </button>
                  </span>
                )}
                {c.state === 'done' && <CutPhotos roll={String(c.data.roll)} />}
              </li>
            ))}
          </ul>
        </section>
      )}
      <div className="actions">
        <button type="button" className="big" onClick={() => setRequest(true)} data-testid="da-open">
          {t('da.open')}
        </button>
      </div>
      {request && <RequestDialog onClose={() => setRequest(false)} />}
      {printing && (
        <Modal title={t('cutter.labelOf', { grade: printing.grade })} onClose={() => setPrinting(null)}>
          <LabelCard id={printing.id} derived />
        </Modal>
      )}
    </Shell>
  );
}
