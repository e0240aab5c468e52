/*
 * notify.ts — which pushed events a person on the floor is told about, and how.
 * Breakdowns and requests are alerts; acceptances, finishes and first-piece checks are
 * information; everything else (tallies, consumptions …) only refreshes the screens.
 */
import type { PushEvent } from './stream';

type T = (key: string, vars?: Record<string, string | number>) => string;

export function describePush(ev: PushEvent, t: T): { text: string; level: 'info' | 'alert' } | null {
  const d = ev.data ?? {};
  const loom = String(d.loom ?? ev.aggregate);
  const cause = (c: unknown) => (typeof c === 'string' ? t(`cause.${c}`) : '');
  const kind = ev.type.replace(/^fofal\.[a-z]+\./, '').replace(/\.v\d+$/, '');
  switch (kind) {
    case 'breakdown_declared':
      return { text: t('notif.breakdown', { loom, cause: cause(d.cause) }), level: 'alert' };
    case 'intervention_requested':
      return { text: t('notif.request', { loom, cause: cause(d.cause) }), level: 'alert' };
    case 'intervention_accepted':
      return { text: t('notif.accepted', { loom }), level: 'info' };
    case 'intervention_finished':
      return { text: t('notif.finished', { loom }), level: 'info' };
    case 'first_piece_checked':
      return { text: t('notif.firstpiece', { loom, result: String(d.result ?? '') }), level: 'info' };
    default:
      return null;
  }
}

/* The event's short kind: "fofal.machines.loom_stopped.v1" → "loom_stopped". */
export const kindOf = (type: string) => type.replace(/^fofal\.[a-z]+\./, '').replace(/\.v\d+$/, '');
