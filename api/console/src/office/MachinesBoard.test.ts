/* MachinesBoard.test.ts — the board follows pushed machine events without a reload. */
import { describe, expect, it } from 'vitest';
import { applyMachineEvent, type BoardLoom } from './MachinesBoard';

const ev = (type: string, data: Record<string, unknown>) => ({ tenant: 't1', module: 'machines', aggregate: 'L1', type: `fofal.machines.${type}.v1`, data: { loom: 'L1', ...data } });
const L1: BoardLoom = { loom: 'L1', state: 'running', cause: null, since: null, breakdown: false, ppm: 600, last_seen: null };

describe('applyMachineEvent', () => {
  it('stops, breaks down and runs again', () => {
    let b = applyMachineEvent([L1], ev('loom_stopped', { since: '2026-01-01T08:00:00Z', cause: 'warp_break' }));
    expect(b[0]).toMatchObject({ state: 'stopped', cause: 'warp_break', breakdown: false });
    b = applyMachineEvent(b, ev('breakdown_declared', { since: '2026-01-01T08:00:00Z', cause: 'mechanical', reason: 'x' }));
    expect(b[0]).toMatchObject({ state: 'stopped', breakdown: true, cause: 'mechanical' });
    b = applyMachineEvent(b, ev('loom_running', { since: '2026-01-01T08:30:00Z', ppm: 580 }));
    expect(b[0]).toMatchObject({ state: 'running', breakdown: false, cause: null, ppm: 580 });
  });
  it('adds a loom it did not know, in order, and ignores tallies', () => {
    const b = applyMachineEvent([{ ...L1, loom: 'L2' }], ev('loom_running', { since: 'x', ppm: 500 }));
    expect(b.map((l) => l.loom)).toEqual(['L1', 'L2']);
    const same = [L1];
    expect(applyMachineEvent(same, ev('loom_activity', { shift: 's' }))).toBe(same);
  });
});
