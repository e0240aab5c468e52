/*
 * queue.ts — the floor's outbox: nothing a person declares on a phone is lost or sent twice.
 *
 * Every command made on the floor (a declaration, a call for a mechanic, a first-piece
 * check …) is first written to IndexedDB with its Idempotency-Key, its time and who made
 * it; only then is it sent. The server's answer decides what happens to it:
 *   201/200                 done (kept a day to show what was sent, then pruned)
 *   202, 401, 408, 429, 5xx pending: the decision is not known yet
 *   any other 4xx           refused: kept and shown with the server's reason until dismissed
 *   no answer               pending
 * Pending commands go out through the batch endpoint (POST /api/v1/commands, in the order
 * they were made, at most 100 at a time) when the network returns, every 15 s, and at
 * sign-in. A command is sent with the same key every time, so when the answer to a send is
 * lost and it goes again, the server answers the first result and writes nothing new
 * (its idempotency window is a day): exactly once, whatever the network does.
 *
 * Keys are scoped to the signed-in subject on the server, so a command is only ever sent
 * with the token of the person who made it: on a shared phone another person's pending
 * commands wait for them to sign in again (shown as such).
 */
import { apiFetch, issuedOf, labelOf, newKey, NetworkError, sendCommand, type CommandAnswer } from './api';
import { getSession, onSession } from './session';
import { idbAll, idbDelete, idbGet, idbPut, OUTBOX } from './idb';

export type QueueState = 'pending' | 'done' | 'refused';

export interface Queued {
  key: string;
  type: string;
  data: Record<string, unknown>;
  tenant: string;
  sub: string;
  badge?: string;
  created_at: string;
  /* Order of submission: increasing even for two commands of the same millisecond (and
   * across reloads, being built from the clock); items queued before it existed have none. */
  seq?: number;
  state: QueueState;
  attempts: number;
  status?: number;
  code?: string;
  detail?: string;
  label?: string;
  position?: string; /* the answer's position: reads with ?position= see what it wrote */
  issued?: Record<string, string>; /* the ids the decision gave (a cut's lot labels …) */
  done_at?: string;
}

export const BATCH_MAX = 100;
const KEEP_DONE_MS = 24 * 3600 * 1000;

const listeners = new Set<() => void>();
const inFlight = new Set<string>();
let syncing: Promise<SyncReport> | null = null;

export function onQueueChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
const changed = () => listeners.forEach((fn) => fn());

export function classify(status: number): QueueState {
  if (status === 200 || status === 201) return 'done';
  if (status === 0 || status === 202 || status === 401 || status === 408 || status === 425 || status === 429 || status >= 500)
    return 'pending';
  return 'refused';
}

async function apply(item: Queued, status: number, body: CommandAnswer | undefined): Promise<Queued> {
  const state = classify(status);
  const next: Queued = { ...item, status, attempts: item.attempts + 1, state };
  if (state === 'done') {
    next.done_at = new Date().toISOString();
    next.label = labelOf(body) ?? item.label;
    next.position = body?.position ?? item.position;
    const issued = issuedOf(body);
    if (issued) next.issued = issued;
    delete next.code;
    delete next.detail;
  } else if (state === 'refused' || status !== 0) {
    next.code = body?.code;
    next.detail = body?.detail;
  }
  await idbPut(OUTBOX, next);
  return next;
}

/* Records a command in the outbox (pending) for the signed-in person. */
export async function enqueue(type: string, data: Record<string, unknown>, key = newKey()): Promise<Queued> {
  const s = getSession();
  if (!s) throw new Error('not signed in');
  const item: Queued = {
    key,
    type,
    data,
    tenant: s.claims.tenant,
    sub: s.claims.sub,
    badge: s.claims.badge,
    created_at: new Date().toISOString(),
    seq: nextSeq(),
    state: 'pending',
    attempts: 0,
  };
  await idbPut(OUTBOX, item);
  changed();
  return item;
}

export interface Submitted {
  item: Queued;
  answer?: CommandAnswer;
}

/* Outbox first, then one try at sending it now. The item tells the outcome. */
export async function submit(type: string, data: Record<string, unknown>): Promise<Submitted> {
  let item = await enqueue(type, data);
  if (typeof navigator !== 'undefined' && navigator.onLine === false) return { item };
  inFlight.add(item.key);
  try {
    const { status, body } = await sendCommand(type, data, item.key);
    item = await apply(item, status, body);
    return { item, answer: body };
  } catch (e) {
    if (!(e instanceof NetworkError)) throw e;
    return { item };
  } finally {
    inFlight.delete(item.key);
    changed();
  }
}

let lastSeq = 0;
function nextSeq(): number {
  lastSeq = Math.max(Date.now() * 1000, lastSeq + 1);
  return lastSeq;
}

/* Oldest first, in the order the commands were submitted. */
export async function listQueue(): Promise<Queued[]> {
  const all = await idbAll<Queued>(OUTBOX);
  return all.sort((a, b) => {
    if (a.seq !== undefined && b.seq !== undefined && a.seq !== b.seq) return a.seq - b.seq;
    return a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.key < b.key ? -1 : 1;
  });
}

export async function dismiss(key: string): Promise<void> {
  const item = await idbGet<Queued>(OUTBOX, key);
  if (item && item.state !== 'pending') await idbDelete(OUTBOX, key);
  changed();
}

export interface SyncReport {
  sent: number;
  done: number;
  refused: number;
  pending: number;
}

/* Sends the signed-in person's pending commands through the batch endpoint. One sync at
 * a time; a sync that finds nothing to send answers at once. */
export function syncQueue(): Promise<SyncReport> {
  if (!syncing)
    syncing = runSync().finally(() => {
      syncing = null;
    });
  return syncing;
}

async function runSync(): Promise<SyncReport> {
  const report: SyncReport = { sent: 0, done: 0, refused: 0, pending: 0 };
  const s = getSession();
  const all = await listQueue();
  const now = Date.now();
  for (const it of all)
    if (it.state === 'done' && it.done_at && now - Date.parse(it.done_at) > KEEP_DONE_MS) await idbDelete(OUTBOX, it.key);
  if (!s) return report;
  const mine = all.filter(
    (it) => it.state === 'pending' && it.tenant === s.claims.tenant && it.sub === s.claims.sub && !inFlight.has(it.key),
  );
  for (let i = 0; i < mine.length; i += BATCH_MAX) {
    const chunk = mine.slice(i, i + BATCH_MAX);
    chunk.forEach((it) => inFlight.add(it.key));
    try {
      const res = await apiFetch(
        '/api/v1/commands',
        {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ commands: chunk.map((it) => ({ type: it.type, idempotency_key: it.key, data: it.data })) }),
        },
        { check: false },
      );
      report.sent += chunk.length;
      if (!res.ok) {
        // The batch as a whole was not taken (401 after a failed refresh, 429, 503 …): all stay pending.
        report.pending += chunk.length;
        break;
      }
      const { results } = (await res.json()) as { results: { idempotency_key?: string; status: number; body?: CommandAnswer }[] };
      for (let j = 0; j < chunk.length; j++) {
        const r = results[j];
        const next = await apply(chunk[j], r?.status ?? 0, r?.body);
        report[next.state]++;
      }
    } catch (e) {
      if (!(e instanceof NetworkError)) throw e;
      report.pending += chunk.length;
      break;
    } finally {
      chunk.forEach((it) => inFlight.delete(it.key));
      changed();
    }
  }
  return report;
}

let started = false;

/* Sends the outbox when the network returns, at sign-in and every 15 s. */
export function startAutoSync(): void {
  if (started) return;
  started = true;
  const go = () => void syncQueue().catch(() => {});
  window.addEventListener('online', go);
  onSession((s) => s && go());
  setInterval(go, 15000);
  go();
}
