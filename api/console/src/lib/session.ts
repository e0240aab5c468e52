/*
 * session.ts — who is signed in, and where the tokens live.
 *
 * The access token (5 minutes) lives in this module's memory only: never in any storage,
 * so nothing on disk and no other tab holds it. The refresh token is in sessionStorage:
 * it survives a reload of this tab (a phone that reloads the page keeps its operator
 * signed in) but not the tab or the installed app being closed, it is never shared with
 * another tab, and it is gone at sign-out. That is the safest place available to a page
 * that talks to an API answering tokens in its body: an HttpOnly cookie would hide it
 * from scripts, but the API issues no cookie. What protects both from a script injected
 * into the page is fofal-api's Content-Security-Policy (scripts from this origin only,
 * no inline script). Each refresh rotates the token (the server ends the session if an
 * old one is presented again), and a refresh is scheduled at 80 % of the access token's
 * life, one at a time.
 */
export interface Claims {
  tenant: string;
  sub: string;
  role: string;
  badge?: string;
  sid?: string;
  exp?: number;
}

export interface Session {
  access: string;
  claims: Claims;
}

export interface TokenAnswer {
  access_token: string;
  expires_in: number;
  refresh_token?: string;
}

const REFRESH_KEY = 'fofal.refresh';
let current: Session | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;
let refreshing: Promise<boolean> | null = null;
const listeners = new Set<(s: Session | null) => void>();

/* The JSON payload of a JWT (not verified: the server does that; this only reads claims). */
export function decodeClaims(jwt: string): Claims {
  const part = jwt.split('.')[1] ?? '';
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as Claims;
}

export const getSession = (): Session | null => current;

export function onSession(fn: (s: Session | null) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit() {
  for (const fn of listeners) fn(current);
}

function storeRefresh(token: string | null) {
  try {
    if (token) sessionStorage.setItem(REFRESH_KEY, token);
    else sessionStorage.removeItem(REFRESH_KEY);
  } catch {
    /* no storage: the session ends with the page */
  }
}

function readRefresh(): string | null {
  try {
    return sessionStorage.getItem(REFRESH_KEY);
  } catch {
    return null;
  }
}

/* Installs the tokens of a sign-in or refresh answer. */
export function setTokens(t: TokenAnswer): Session {
  current = { access: t.access_token, claims: decodeClaims(t.access_token) };
  if (t.refresh_token) storeRefresh(t.refresh_token);
  if (timer) clearTimeout(timer);
  const life = Math.max(10, t.expires_in || 300);
  timer = setTimeout(() => void refreshNow(), life * 800);
  emit();
  return current;
}

/* Rotates the refresh token for a new access token. False (and signed out) when the
 * server refused it; a network failure keeps the session and answers false. */
export function refreshNow(): Promise<boolean> {
  if (refreshing) return refreshing;
  const token = readRefresh();
  if (!token) return Promise.resolve(false);
  refreshing = (async () => {
    try {
      const res = await fetch('/api/v1/auth/refresh', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: token }),
      });
      if (res.ok) {
        setTokens((await res.json()) as TokenAnswer);
        return true;
      }
      if (res.status === 401 || res.status === 400 || res.status === 422) clear();
      return false;
    } catch {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => void refreshNow(), 15000);
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/* At start: a refresh token left by this tab signs it back in. */
export async function restore(): Promise<boolean> {
  if (current) return true;
  return refreshNow();
}

function clear() {
  current = null;
  storeRefresh(null);
  if (timer) clearTimeout(timer);
  timer = undefined;
  emit();
}

export async function signOut(): Promise<void> {
  const s = current;
  clear();
  if (s) {
    try {
      await fetch('/api/v1/auth/logout', { method: 'POST', headers: { Authorization: `Bearer ${s.access}` } });
    } catch {
      /* offline: the access token expires by itself within minutes */
    }
  }
}

/* Floor roles act as themselves; the office ones (planner, manager, admin and the rest). */
export const FLOOR_ROLES = ['weaver', 'mechanic', 'cutter', 'quality', 'storekeeper_mp', 'storekeeper_pf', 'storekeeper_st'];
export const isFloorRole = (role: string) => FLOOR_ROLES.includes(role);
