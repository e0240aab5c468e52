/*
 * LabelCard.tsx — a woven label: what the scan answers (article, order, loom, weaver,
 * shift, where it is, prints) and its QR code, printable from the phone (the browser's
 * print dialog shows the label alone) or as a ZPL file for a Zebra printer.
 */
import { useEffect, useState } from 'react';
import { ErrorBox, Loading, num, time } from '../components';
import { apiFetch, blobUrl, getJson, stocked } from '../lib/api';
import { useI18n } from '../lib/i18n';

export interface LabelScan {
  label_id: string;
  what: string;
  quantity: number;
  unit: string;
  length_m: number | null;
  woven_at: string;
  location: string | null;
  article: { article: string; name: string | null };
  order: { order_id: string | null; status: string; quantity: number; declared: number };
  loom: { loom: string; hall: string | null };
  weaver: { badge: string; name: string | null };
  shift: { shift: string };
  prints: number;
}

/* `derived`: a piece lot of a cut, received by inventory's reaction a moment after the cut
 * (404 until then, asked again). */
export function LabelCard({ id, position, derived }: { id: string; position?: string; derived?: boolean }) {
  const { t } = useI18n();
  const [scan, setScan] = useState<LabelScan>();
  const [qr, setQr] = useState<string>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let url: string | undefined;
    let gone = false;
    // Right after the declaration, ?position= waits until production has the declaration;
    // the unit itself is inventory's, received by reaction a moment later: 409
    // label_pending until then, which stocked() asks again.
    const q = position ? `?position=${encodeURIComponent(position)}` : '';
    const base = `/api/v1/inventory/labels/${encodeURIComponent(id)}`;
    stocked(() => getJson<LabelScan>(`${base}${q}`), derived ? 40 : 20, derived).then((s) => !gone && setScan(s), setError);
    stocked(() => blobUrl(`${base}/qr.svg${q}`), derived ? 40 : 20, derived).then((u) => {
      url = u;
      if (!gone) setQr(u);
    }, setError);
    return () => {
      gone = true;
      if (url) URL.revokeObjectURL(url);
    };
  }, [id, position, derived]);

  const zpl = async () => {
    const res = await apiFetch(`/api/v1/inventory/labels/${encodeURIComponent(id)}/label.zpl`);
    const u = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = u;
    a.download = `label-${id}.zpl`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(u), 5000);
  };

  if (error) return <ErrorBox error={error} />;
  if (!scan) return <Loading />;
  return (
    <div className="label" data-testid="label" data-label={scan.label_id}>
      <div className="label-print">
        {qr && <img className="qr" src={qr} alt={`QR ${scan.label_id}`} data-testid="label-qr" />}
        <dl>
          <dt>{t('label.article')}</dt>
          <dd>
            {scan.article.article}
            {scan.article.name && scan.article.name !== scan.article.article ? ` — ${scan.article.name}` : ''}
          </dd>
          <dt>{t('declare.quantity')}</dt>
          <dd>
            {scan.quantity} {scan.unit === 'pieces' ? '' : scan.unit} {scan.length_m !== null ? `· ${num(scan.length_m, 2)} m` : ''}
          </dd>
          <dt>{t('declare.order')}</dt>
          <dd className="mono">{scan.order.order_id?.slice(0, 8) ?? '—'}</dd>
          <dt>{t('label.loom')}</dt>
          <dd>{scan.loom.loom}</dd>
          <dt>{t('label.weaver')}</dt>
          <dd>{scan.weaver.badge}</dd>
          <dt>{t('label.woven')}</dt>
          <dd>
            {time(scan.woven_at)} ({scan.shift.shift})
          </dd>
          <dt>{t('label.where')}</dt>
          <dd>{scan.location ?? '—'}</dd>
          <dt>{t('label.prints')}</dt>
          <dd>{scan.prints}</dd>
        </dl>
        <p className="mono small">{scan.label_id}</p>
      </div>
      <div className="row no-print">
        <button type="button" className="primary" onClick={() => window.print()}>
          {t('label.print')}
        </button>
        <button type="button" onClick={() => void zpl()}>
          {t('label.zpl')}
        </button>
      </div>
    </div>
  );
}
