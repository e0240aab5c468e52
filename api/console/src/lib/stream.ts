/*
 * stream.ts — live pushes over the WebSocket /api/v1/stream.
 *
 * Browsers cannot set headers on a WebSocket, so the access token goes in ?access_token=.
 * The client subscribes to modules and/or aggregates, hands each pushed event to its
 * listener, and remembers the last stream id: after a drop it reconnects (1 s, doubling
 * to 30 s) with ?since=<last id>, so the server replays what was missed, in order; a
 * {"resync":true} means entries were trimmed and the screen should reload its data. A
 * token refresh does not cut the socket; a reconnect uses the newest token.
 */
import { getSession, refreshNow } from './session';

export interface PushEvent {
  tenant: string;
  module: string;
  aggregate: string;
  type: string;
  seq?: number;
  position?: string;
  data: Record<string, unknown>;
}

export interface StreamOptions {
  modules?: string[];
  aggregates?: string[];
  onEvent: (ev: PushEvent) => void;
  onResync?: () => void;
  onStatus?: (live: boolean) => void;
}

export interface Stream {
  close: () => void;
}

export function openStream(opts: StreamOptions): Stream {
  let ws: WebSocket | null = null;
  let last: string | null = null;
  let delay = 1000;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const connect = async () => {
    if (closed) return;
    let s = getSession();
    if (!s) return;
    if (s.claims.exp && s.claims.exp * 1000 < Date.now() + 5000) {
      await refreshNow();
      s = getSession();
      if (!s || closed) return;
    }
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = new URLSearchParams({ access_token: s.access });
    if (last) q.set('since', last);
    const sock = new WebSocket(`${proto}//${location.host}/api/v1/stream?${q}`);
    ws = sock;
    sock.onopen = () => {
      delay = 1000;
      const sub: Record<string, string[]> = {};
      if (opts.modules) sub.modules = opts.modules;
      if (opts.aggregates) sub.aggregates = opts.aggregates;
      sock.send(JSON.stringify({ subscribe: sub }));
    };
    sock.onmessage = (m) => {
      let msg: { ack?: string; resync?: boolean; id?: string; event?: PushEvent };
      try {
        msg = JSON.parse(String(m.data));
      } catch {
        return;
      }
      if (msg.ack) {
        opts.onStatus?.(true);
        return;
      }
      if (msg.resync) {
        opts.onResync?.();
        return;
      }
      if (msg.id) last = msg.id;
      if (msg.event) opts.onEvent(msg.event);
    };
    sock.onclose = () => {
      opts.onStatus?.(false);
      if (ws === sock) ws = null;
      if (closed) return;
      timer = setTimeout(() => void connect(), delay);
      delay = Math.min(delay * 2, 30000);
    };
  };
  void connect();
  return {
    close: () => {
      closed = true;
      if (timer) clearTimeout(timer);
      ws?.close(1000);
    },
  };
}
