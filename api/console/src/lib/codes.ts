/*
 * codes.ts — what a scanned QR code names. Labels carry FOFAL:L:<tenant>:<label id> (or
 * <FOFAL_API_LABEL_URL>/l/<tenant>/<label id> when the server sets a URL); an order's
 * route card FOFAL:O:<tenant>:<order id>; a loom's plate FOFAL:M:<tenant>:<loom> or just its
 * code (L03). A bare UUID is taken for an order. Anything else is unknown.
 */
export type Scanned =
  | { kind: 'label'; id: string; tenant?: string }
  | { kind: 'order'; id: string; tenant?: string }
  | { kind: 'loom'; code: string; tenant?: string }
  | { kind: 'unknown'; text: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CODE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function parseScan(raw: string): Scanned {
  const text = raw.trim();
  const m = /^FOFAL:([LOM]):([^:]+):(.+)$/.exec(text);
  if (m) {
    const [, k, tenant, id] = m;
    if (k === 'L' && UUID.test(id)) return { kind: 'label', id, tenant };
    if (k === 'O' && UUID.test(id)) return { kind: 'order', id, tenant };
    if (k === 'M' && CODE.test(id)) return { kind: 'loom', code: id, tenant };
    return { kind: 'unknown', text };
  }
  const url = /\/l\/([^/]+)\/([0-9a-fA-F-]{36})\/?$/.exec(text);
  if (/^https?:\/\//.test(text) && url && UUID.test(url[2])) return { kind: 'label', id: url[2], tenant: decodeURIComponent(url[1]) };
  if (UUID.test(text)) return { kind: 'order', id: text };
  if (/^L\d{1,4}$/i.test(text) || (CODE.test(text) && /^[A-Z]+\d+$/i.test(text))) return { kind: 'loom', code: text.toUpperCase() };
  return { kind: 'unknown', text };
}
