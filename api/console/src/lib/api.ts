/*
 * api.ts — the console's only way to the server: the public API under /api/v1.
 *
 * Every call carries the signed-in access token; a 401 triggers one refresh (session.ts)
 * and one retry. Errors become ApiError with the problem+json `code` and `detail`; a
 * request that got no answer at all (no network, server gone) is a NetworkError, which
 * the offline queue tells apart from a refusal.
 */
import { getSession, refreshNow } from './session';

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    public detail: string,
    public body: unknown,
  ) {
    super(`${status} ${code}: ${detail}`);
  }
}

export class NetworkError extends Error {}

async function once(path: string, init: RequestInit, auth: boolean): Promise<Response> {
  const headers = new Headers(init.headers);
  const s = getSession();
  if (auth && s) headers.set('Authorization', `Bearer ${s.access}`);
  try {
    return await fetch(path, { ...init, headers });
  } catch (e) {
    throw new NetworkError(String(e));
  }
}

/* A request with the token; one refresh and retry on 401. Throws ApiError for any other
 * answer outside 2xx when `check` (default). */
export async function apiFetch(path: string, init: RequestInit = {}, opts: { auth?: boolean; check?: boolean } = {}) {
  const auth = opts.auth ?? true;
  let res = await once(path, init, auth);
  if (res.status === 401 && auth && (await refreshNow())) res = await once(path, init, auth);
  if (opts.check !== false && !res.ok) throw await toError(res);
  return res;
}

export async function toError(res: Response): Promise<ApiError> {
  let body: { code?: string; detail?: string } = {};
  try {
    body = await res.json();
  } catch {
    /* not JSON */
  }
  return new ApiError(res.status, body.code ?? `http_${res.status}`, body.detail ?? res.statusText, body);
}

export async function getJson<T>(path: string): Promise<T> {
  return (await (await apiFetch(path)).json()) as T;
}

export async function postJson<T>(path: string, body: unknown, opts: { auth?: boolean } = {}): Promise<T> {
  const res = await apiFetch(
    path,
    { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) },
    opts,
  );
  return (await res.json()) as T;
}

export interface CommandAnswer {
  aggregate?: string;
  version?: number;
  position?: string;
  events?: { type: string; aggregate?: string; issued?: Record<string, string>; data?: Record<string, unknown> }[];
  code?: string;
  detail?: string;
  state?: string;
}

/* One command; answers the HTTP status and body whatever it is (the caller decides). */
export async function sendCommand(type: string, data: unknown, key: string): Promise<{ status: number; body: CommandAnswer }> {
  const res = await apiFetch(
    `/api/v1/commands/${encodeURIComponent(type)}`,
    { method: 'POST', headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key }, body: JSON.stringify(data) },
    { check: false },
  );
  let body: CommandAnswer = {};
  try {
    body = (await res.json()) as CommandAnswer;
  } catch {
    /* empty */
  }
  return { status: res.status, body };
}

/* The label id a declaration assigned (its output_declared's issued.label_id): the unit
 * the inventory module receives by reaction, a moment later (see stocked). */
export function labelOf(answer: CommandAnswer | undefined): string | undefined {
  return answer?.events?.find((e) => e.issued?.label_id)?.issued?.label_id;
}

/* Every id the decision gave, all events' `issued` merged (a cut's first_lot_id …). */
export function issuedOf(answer: CommandAnswer | undefined): Record<string, string> | undefined {
  const all = Object.assign({}, ...(answer?.events ?? []).map((e) => e.issued ?? {})) as Record<string, string>;
  return Object.keys(all).length ? all : undefined;
}

/* A read of a label right after its declaration: inventory receives the unit by reaction,
 * so the label route may answer 409 label_pending (after waiting a little itself); this
 * asks again, retry_after_s later, up to `tries` times. Other errors pass through, but
 * with `missing` a 404 too is asked again: a cut's piece lot, which inventory makes by
 * reaction to the cut and no declaration announced. */
export async function stocked<T>(read: () => Promise<T>, tries = 20, missing = false): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await read();
    } catch (e) {
      const pending = e instanceof ApiError && ((e.status === 409 && e.code === 'label_pending') || (missing && e.status === 404));
      if (!pending || i >= tries) throw e;
      const after = Number((e.body as { retry_after_s?: number } | undefined)?.retry_after_s ?? 1);
      await new Promise((r) => setTimeout(r, Math.min(Math.max(after, 0.2), 5) * 1000));
    }
  }
}

/* An Idempotency-Key: a UUID (crypto.randomUUID needs a secure context; getRandomValues does not). */
export function newKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/* An image of the API (it needs the token, so no plain <img src>) as an object URL. */
export async function blobUrl(path: string): Promise<string> {
  const res = await apiFetch(path);
  return URL.createObjectURL(await res.blob());
}
