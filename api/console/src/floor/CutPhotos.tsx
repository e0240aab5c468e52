/*
 * CutPhotos.tsx — a defect photo of a cut, an inspection or an NC (README "Files"): the
 * phone's camera (a file input with capture) or a file, sent as raw bytes to
 * POST /api/v1/files/upload?kind=cut|inspection|nc&id=<roll label id, inspection or NC id>
 * with its Content-Type; the thing's photos shown as thumbnails (?thumb=1, fetched with the token into blob: URLs). An upload
 * is not an outbox command (bytes, not JSON): without network it is refused on the spot
 * and the cutter takes it again later. JPEG, PNG or PDF only, 10 MiB at most (the
 * server's default cap, checked here first so a phone does not send a big file in vain).
 */
import { useEffect, useState } from 'react';
import { ErrorBox } from '../components';
import { apiFetch, blobUrl, getJson } from '../lib/api';
import { useI18n } from '../lib/i18n';

export const PHOTO_TYPES = ['image/jpeg', 'image/png', 'application/pdf'];
export const PHOTO_MAX = 10 * 1024 * 1024;

interface Attachment {
  sha256: string;
  type: string;
  name: string | null;
  href: string;
}

export type PhotoKind = 'cut' | 'inspection' | 'nc';

/* The upload URL of a photo of a cut (by its roll), an inspection or an NC (the file's
 * name only shown, never a path). */
export function uploadUrl(id: string, name?: string, kind: PhotoKind = 'cut'): string {
  const p = new URLSearchParams({ kind, id });
  const safe = name?.replace(/[/\\:~]/g, '_').replace(/^\.+/, '').slice(0, 100);
  if (safe) p.set('name', safe);
  return `/api/v1/files/upload?${p.toString()}`;
}

export function CutPhotos({ roll }: { roll: string }) {
  return <Photos kind="cut" id={roll} />;
}

/* The photos of one thing (a cut by its roll, an inspection, an NC) and a button to add one. */
export function Photos({ kind, id }: { kind: PhotoKind; id: string }) {
  const { t } = useI18n();
  const [files, setFiles] = useState<Attachment[]>([]);
  const [thumbs, setThumbs] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [n, setN] = useState(0);
  const [position, setPosition] = useState<string | undefined>();

  useEffect(() => {
    let gone = false;
    // After an upload, as of its position: the list is a projection, a moment behind.
    const q = position ? `?position=${encodeURIComponent(position)}` : '';
    getJson<{ items: Attachment[] }>(`/api/v1/files/attachments/${kind}/${id}${q}`).then(
      (a) => !gone && setFiles(a.items),
      () => {},
    );
    return () => {
      gone = true;
    };
  }, [kind, id, n, position]);

  useEffect(() => {
    for (const f of files)
      if (f.type.startsWith('image/') && !thumbs[f.sha256])
        blobUrl(`${f.href}?thumb=1`).then(
          (u) => setThumbs((m) => ({ ...m, [f.sha256]: u })),
          () => {},
        );
  }, [files, thumbs]);

  const upload = async (file: File) => {
    setError(undefined);
    if (!PHOTO_TYPES.includes(file.type)) return setError(new Error(t('photo.type')));
    if (file.size > PHOTO_MAX) return setError(new Error(t('photo.big')));
    setBusy(true);
    try {
      const res = await apiFetch(uploadUrl(id, file.name, kind), { method: 'POST', headers: { 'Content-Type': file.type }, body: file });
      const answer = (await res.json().catch(() => ({}))) as { position?: string };
      setPosition(answer.position);
      setN((x) => x + 1);
    } catch (e) {
      setError(e);
    }
    setBusy(false);
  };

  return (
    <div className="photos" data-testid={`photos-${id}`}>
      <label className="button">
        {busy ? t('loading') : t('photo.add')}
        <input
          type="file"
          name={`photo-${id}`}
          accept="image/jpeg,image/png,application/pdf"
          capture="environment"
          disabled={busy}
          onChange={(e) => {
            const f = e.target.files?.[0];
            e.target.value = '';
            if (f) void upload(f);
          }}
        />
      </label>
      <ErrorBox error={error} />
      {files.map((f) =>
        thumbs[f.sha256] ? <img key={f.sha256} src={thumbs[f.sha256]} alt={f.name ?? t('photo.alt')} className="thumb" /> : <span key={f.sha256} className="pill">{f.name ?? f.type}</span>,
      )}
    </div>
  );
}
