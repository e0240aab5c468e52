/*
 * MachinesBoard.tsx — every loom's state, live: a tile per loom (running, stopped with
 * its cause, breakdown) that changes the moment fofal-machines' event is pushed; stop
 * time by cause and OEE per loom over the current shift (GET /machines/looms/{loom}/shifts,
 * reloaded when tallies are pushed, at most every 5 s); and the halls' climate.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { ErrorBox, Loading, num, pct, Shell, time } from '../components';
import { getJson } from '../lib/api';
import { useDebounced, useLoad } from '../lib/hooks';
import { useI18n } from '../lib/i18n';
import { kindOf } from '../lib/notify';
import { openStream, type PushEvent } from '../lib/stream';
import { BarChart } from './BarChart';

export interface BoardLoom {
  loom: string;
  state: string;
  cause: string | null;
  since: string | null;
  breakdown: boolean;
  ppm: number | null;
  last_seen: string | null;
}

export interface ShiftTally {
  shift: string;
  run_s: number;
  stop_s: number;
  stop_s_by_cause: Record<string, number>;
  efficiency: number | null;
  availability: number | null;
  performance: number | null;
  oee: number | null;
}

const CAUSE_KEYS = ['warp_break', 'weft_break', 'mechanical', 'electrical', 'other'];

/* The board after one pushed machines event (pure: the unit tests hold it). */
export function applyMachineEvent(looms: BoardLoom[], ev: PushEvent): BoardLoom[] {
  const k = kindOf(ev.type);
  const d = ev.data as Record<string, unknown>;
  const code = String(d.loom ?? ev.aggregate);
  let patch: Partial<BoardLoom> | null = null;
  if (k === 'loom_running') patch = { state: 'running', cause: null, since: String(d.since ?? ''), breakdown: false, ppm: (d.ppm as number) ?? null };
  else if (k === 'loom_stopped') patch = { state: 'stopped', cause: (d.cause as string) ?? null, since: String(d.since ?? '') };
  else if (k === 'breakdown_declared') patch = { breakdown: true, cause: (d.cause as string) ?? null };
  if (!patch) return looms;
  const i = looms.findIndex((l) => l.loom === code);
  if (i < 0) return [...looms, { loom: code, state: 'unknown', cause: null, since: null, breakdown: false, ppm: null, last_seen: null, ...patch }].sort((a, b) => a.loom.localeCompare(b.loom));
  const next = looms.slice();
  next[i] = { ...looms[i], ...patch };
  return next;
}

export function MachinesBoard() {
  const { t } = useI18n();
  const board = useLoad(() => getJson<{ items: BoardLoom[] }>('/api/v1/machines/looms'));
  const halls = useLoad(() => getJson<{ items: { hall: string; temperature: number | null; humidity: number | null; at: string | null }[] }>('/api/v1/machines/halls'));
  const [looms, setLooms] = useState<BoardLoom[]>([]);
  const [tallies, setTallies] = useState<Record<string, ShiftTally | null>>({});
  const [live, setLive] = useState(false);
  useEffect(() => {
    if (board.data) setLooms(board.data.items);
  }, [board.data]);

  const codes = looms.map((l) => l.loom).join(',');
  const loadTallies = useCallback(() => {
    if (!codes) return;
    void Promise.all(
      codes.split(',').map((c) =>
        getJson<{ items: ShiftTally[] }>(`/api/v1/machines/looms/${encodeURIComponent(c)}/shifts?limit=1`).then(
          (r) => [c, r.items[0] ?? null] as const,
          () => [c, null] as const,
        ),
      ),
    ).then((pairs) => setTallies(Object.fromEntries(pairs)));
  }, [codes]);
  useEffect(loadTallies, [loadTallies]);
  const reloadTallies = useDebounced(loadTallies, 5000);
  useEffect(() => {
    const id = setInterval(loadTallies, 60000);
    return () => clearInterval(id);
  }, [loadTallies]);

  useEffect(() => {
    const s = openStream({
      modules: ['machines'],
      onStatus: setLive,
      onResync: board.reload,
      onEvent: (ev) => {
        const k = kindOf(ev.type);
        if (k === 'loom_activity') reloadTallies();
        else if (k === 'hall_reading') halls.reload();
        else setLooms((l) => applyMachineEvent(l, ev));
      },
    });
    return s.close;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const stopByCause = useMemo(() => {
    const sum: Record<string, number> = Object.fromEntries(CAUSE_KEYS.map((c) => [c, 0]));
    for (const tl of Object.values(tallies)) if (tl) for (const c of CAUSE_KEYS) sum[c] += (tl.stop_s_by_cause?.[c] ?? 0) / 60;
    return sum;
  }, [tallies]);
  const withOee = looms.filter((l) => tallies[l.loom]?.oee !== undefined && tallies[l.loom]?.oee !== null);
  const counts = {
    running: looms.filter((l) => l.state === 'running' && !l.breakdown).length,
    stopped: looms.filter((l) => l.state !== 'running' && !l.breakdown).length,
    breakdown: looms.filter((l) => l.breakdown).length,
  };

  return (
    <Shell title={t('machines.title')} live={live} wide>
      <ErrorBox error={board.error} onRetry={board.reload} />
      {!board.data && !board.error && <Loading />}
      {board.data && (
        <>
          <div className="kpis wide">
            <div>
              <span className="kpi ok" data-testid="count-running">{counts.running}</span>
              <span className="muted">{t('machines.running')}</span>
            </div>
            <div>
              <span className="kpi warn" data-testid="count-stopped">{counts.stopped}</span>
              <span className="muted">{t('machines.stopped')}</span>
            </div>
            <div>
              <span className="kpi bad" data-testid="count-breakdown">{counts.breakdown}</span>
              <span className="muted">{t('machines.breakdown')}</span>
            </div>
          </div>
          <section className="tiles" aria-label={t('machines.title')}>
            {looms.length === 0 && <p className="muted">{t('tenant.empty')}</p>}
            {looms.map((l) => {
              const tl = tallies[l.loom];
              const cls = l.breakdown ? 'tile bad' : l.state === 'running' ? 'tile ok' : 'tile warn';
              return (
                <div key={l.loom} className={cls} data-testid={`tile-${l.loom}`} data-state={l.breakdown ? 'breakdown' : l.state}>
                  <strong>{l.loom}</strong>
                  <span>{l.breakdown ? t('machines.breakdown') : t(`state.${l.state}`)}</span>
                  <span className="small">{l.cause ? t(`cause.${l.cause}`) : l.state === 'running' ? `${num(l.ppm)} ppm` : ''}</span>
                  <span className="small muted">{t('machines.since', { t: l.since ? new Date(l.since).toLocaleTimeString() : '—' })}</span>
                  <span className="small">OEE {pct(tl?.oee)}</span>
                </div>
              );
            })}
          </section>
          <div className="grid">
            <section className="card">
              <h2>{t('machines.stopsByCause')}</h2>
              <BarChart labels={CAUSE_KEYS.map((c) => t(`cause.${c}`))} values={CAUSE_KEYS.map((c) => Math.round(stopByCause[c] * 10) / 10)} label={t('machines.stopsByCause')} color="#c2410c" testId="chart-stops" />
            </section>
            <section className="card">
              <h2>{t('machines.oee')}</h2>
              <BarChart labels={withOee.map((l) => l.loom)} values={withOee.map((l) => Math.round((tallies[l.loom]?.oee ?? 0) * 1000) / 10)} label="OEE %" max={100} color="#1d4ed8" testId="chart-oee" />
            </section>
            <section className="card">
              <h2>{t('machines.halls')}</h2>
              <ul className="list">
                {halls.data?.items.length === 0 && <li className="muted">{t('none')}</li>}
                {halls.data?.items.map((h) => (
                  <li key={h.hall}>
                    <strong>{h.hall}</strong> {num(h.temperature, 1)} °C · {num(h.humidity, 0)} % · <span className="muted">{time(h.at)}</span>
                  </li>
                ))}
              </ul>
            </section>
          </div>
        </>
      )}
    </Shell>
  );
}
