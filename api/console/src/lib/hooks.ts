/*
 * hooks.ts — small React hooks shared by the screens: loading a read with reload, the
 * network state, the signed-in session, and a debounced reload for bursts of pushes.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { NetworkError } from './api';
import { getSession, onSession, type Session } from './session';

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const seq = useRef(0);
  const shown = useRef<T>();
  const reload = useCallback(() => {
    const n = ++seq.current;
    setLoading(true);
    load().then(
      (d) => {
        if (n !== seq.current) return;
        shown.current = d;
        setData(d);
        setError(undefined);
        setLoading(false);
      },
      (e) => {
        if (n !== seq.current) return;
        // Offline with data already shown: keep showing it (the network pill says why it is not fresh).
        setError(shown.current !== undefined && e instanceof NetworkError ? undefined : e);
        setLoading(false);
      },
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(reload, [reload]);
  return { data, error, loading, reload };
}

export function useOnline(): boolean {
  const [online, setOnline] = useState(typeof navigator === 'undefined' ? true : navigator.onLine);
  useEffect(() => {
    const on = () => setOnline(true);
    const off = () => setOnline(false);
    window.addEventListener('online', on);
    window.addEventListener('offline', off);
    return () => {
      window.removeEventListener('online', on);
      window.removeEventListener('offline', off);
    };
  }, []);
  return online;
}

export function useSession(): Session | null {
  const [s, setS] = useState(getSession());
  useEffect(() => onSession(setS), []);
  return s;
}

/* fn at most once per `ms`, the last call winning (many pushes, one reload). */
export function useDebounced(fn: () => void, ms: number): () => void {
  const ref = useRef(fn);
  ref.current = fn;
  const timer = useRef<ReturnType<typeof setTimeout>>();
  useEffect(() => () => clearTimeout(timer.current), []);
  return useCallback(() => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => ref.current(), ms);
  }, [ms]);
}
