/*
 * queue.test.ts — the outbox: what is kept, what is sent, and that a command whose answer
 * was lost goes again with the same key and is counted once (a fake server here does what
 * fofal-api does with an Idempotency-Key: the first answer again, nothing new written).
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resetDbForTests } from './idb';
import { classify, listQueue, submit, syncQueue, dismiss } from './queue';
import { setTokens } from './session';

function jwt(claims: object): string {
  const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  return `${b64({ alg: 'HS256' })}.${b64(claims)}.sig`;
}

/* A server that decides each key once, like fofal-api: a repeat gets the first answer. */
class FakeServer {
  decided = new Map<string, { status: number; body: object }>();
  writes = 0;
  loseNextAnswer = false;
  down = false;
  refuse = new Set<string>();
  batches = 0;
  decide(key: string, type: string): { status: number; body: object } {
    const seen = this.decided.get(key);
    if (seen) return seen;
    const answer = this.refuse.has(type)
      ? { status: 422, body: { code: 'order_not_started', detail: 'the order is paused' } }
      : { status: 201, body: { events: [{ type: 'fofal.production.output_declared.v1', issued: { label_id: `label-${key}` } }] } };
    if (answer.status === 201) this.writes++;
    this.decided.set(key, answer);
    return answer;
  }
  fetch = async (url: string, init: RequestInit): Promise<Response> => {
    if (this.down) throw new TypeError('Failed to fetch');
    const headers = new Headers(init.headers);
    let out: { status: number; body: object };
    if (url === '/api/v1/commands') {
      this.batches++;
      const { commands } = JSON.parse(String(init.body)) as { commands: { type: string; idempotency_key: string }[] };
      const results = commands.map((c) => ({ idempotency_key: c.idempotency_key, ...this.decide(c.idempotency_key, c.type) }));
      out = { status: 200, body: { results } };
    } else {
      out = this.decide(headers.get('Idempotency-Key') ?? '', url.replace('/api/v1/commands/', ''));
    }
    if (this.loseNextAnswer) {
      this.loseNextAnswer = false;
      throw new TypeError('network connection lost');
    }
    return new Response(JSON.stringify(out.body), { status: out.status, headers: { 'Content-Type': 'application/json' } });
  };
}

let server: FakeServer;

beforeEach(() => {
  globalThis.indexedDB = new IDBFactory();
  resetDbForTests();
  server = new FakeServer();
  vi.stubGlobal('fetch', server.fetch);
  vi.stubGlobal('navigator', { onLine: true });
  setTokens({ access_token: jwt({ tenant: 't1', sub: 'acc-w1', role: 'weaver', badge: 'W1' }), expires_in: 300 });
});
afterEach(() => vi.unstubAllGlobals());

describe('classify', () => {
  it('tells decided, unknown and refused answers apart', () => {
    expect(classify(201)).toBe('done');
    expect(classify(200)).toBe('done');
    for (const s of [0, 202, 401, 408, 429, 500, 503]) expect(classify(s)).toBe('pending');
    for (const s of [400, 403, 404, 409, 422]) expect(classify(s)).toBe('refused');
  });
});

describe('the outbox', () => {
  it('sends a command at once when online and keeps its label', async () => {
    const { item } = await submit('production.order.declare_output', { order_id: 'o1', quantity: 2 });
    expect(item.state).toBe('done');
    expect(item.label).toBe(`label-${item.key}`);
    expect(server.writes).toBe(1);
  });

  it('keeps a command made offline, with its key and time, and sends it by batch later', async () => {
    vi.stubGlobal('navigator', { onLine: false });
    const before = Date.now();
    const { item } = await submit('production.order.declare_output', { order_id: 'o1', quantity: 1 });
    expect(item.state).toBe('pending');
    expect(item.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(item.created_at)).toBeGreaterThanOrEqual(before - 1);
    expect(server.writes).toBe(0);
    const stored = await listQueue();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ key: item.key, state: 'pending', sub: 'acc-w1', badge: 'W1' });

    vi.stubGlobal('navigator', { onLine: true });
    const report = await syncQueue();
    expect(report).toMatchObject({ sent: 1, done: 1, pending: 0 });
    expect(server.batches).toBe(1);
    expect(server.writes).toBe(1);
    expect((await listQueue())[0].state).toBe('done');
  });

  it('sends nothing twice when the answer is lost: the same key goes again, written once', async () => {
    vi.stubGlobal('navigator', { onLine: false });
    await submit('production.order.declare_output', { order_id: 'o1', quantity: 1 });
    await submit('maintenance.intervention.request', { loom: 'L1', cause: 'mechanical' });
    vi.stubGlobal('navigator', { onLine: true });
    server.loseNextAnswer = true; // the server decides both, the phone hears nothing
    const first = await syncQueue();
    expect(first.pending).toBe(2);
    expect(server.writes).toBe(2);
    expect((await listQueue()).map((i) => i.state)).toEqual(['pending', 'pending']);
    const second = await syncQueue();
    expect(second).toMatchObject({ sent: 2, done: 2, pending: 0 });
    expect(server.writes).toBe(2); // nothing new: the first answers came back
    expect((await listQueue()).every((i) => i.state === 'done')).toBe(true);
  });

  it('loses nothing while the network is down, and keeps the order of the commands', async () => {
    server.down = true;
    const a = await submit('production.order.declare_output', { order_id: 'o1', quantity: 1 });
    const b = await submit('production.order.declare_output', { order_id: 'o1', quantity: 2 });
    expect([a.item.state, b.item.state]).toEqual(['pending', 'pending']);
    expect(await syncQueue()).toMatchObject({ pending: 2, done: 0 });
    server.down = false;
    const seen: string[] = [];
    const real = server.fetch;
    vi.stubGlobal('fetch', (url: string, init: RequestInit) => {
      seen.push(...(JSON.parse(String(init.body)).commands as { idempotency_key: string }[]).map((c) => c.idempotency_key));
      return real(url, init);
    });
    expect(await syncQueue()).toMatchObject({ done: 2 });
    expect(seen).toEqual([a.item.key, b.item.key]);
  });

  it('shows a refusal with its reason until dismissed, and never sends it again', async () => {
    server.refuse.add('production.order.declare_output');
    const { item } = await submit('production.order.declare_output', { order_id: 'o1', quantity: 1 });
    expect(item.state).toBe('refused');
    expect(item.code).toBe('order_not_started');
    expect(await syncQueue()).toMatchObject({ sent: 0 });
    await dismiss(item.key);
    expect(await listQueue()).toHaveLength(0);
  });

  it("sends only the signed-in person's commands: another's wait for them", async () => {
    vi.stubGlobal('navigator', { onLine: false });
    await submit('production.order.declare_output', { order_id: 'o1', quantity: 1 });
    setTokens({ access_token: jwt({ tenant: 't1', sub: 'acc-w2', role: 'weaver', badge: 'W2' }), expires_in: 300 });
    vi.stubGlobal('navigator', { onLine: true });
    expect(await syncQueue()).toMatchObject({ sent: 0 });
    expect((await listQueue())[0].state).toBe('pending');
    setTokens({ access_token: jwt({ tenant: 't1', sub: 'acc-w1', role: 'weaver', badge: 'W1' }), expires_in: 300 });
    expect(await syncQueue()).toMatchObject({ sent: 1, done: 1 });
  });
});
