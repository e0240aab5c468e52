/*
 * components.test.tsx — screens rendered in jsdom: the outbox panel, the office sign-in's
 * TOTP enrolment step, the floor's PIN keypad, and the notifications of pushed events.
 */
import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { QueuePanel } from './components';
import { idbPut, OUTBOX, resetDbForTests } from './lib/idb';
import { I18nProvider, translate } from './lib/i18n';
import { describePush } from './lib/notify';
import { saveDevice } from './lib/device';
import { OfficeSignIn } from './signin/OfficeSignIn';
import { setTokens } from './lib/session';
import { FloorSignIn } from './signin/FloorSignIn';

beforeEach(() => {
  globalThis.indexedDB = new IDBFactory();
  resetDbForTests();
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const wrap = (el: JSX.Element) => render(<I18nProvider lang="fr">{el}</I18nProvider>);
const json = (status: number, body: object) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

describe('QueuePanel', () => {
  it("shows the signed-in person's waiting and refused commands, and counts others'", async () => {
    const claims = btoa(JSON.stringify({ tenant: 't1', sub: 's', role: 'weaver', badge: 'W1' })).replace(/=+$/, '');
    setTokens({ access_token: `e30.${claims}.sig`, expires_in: 300 });
    const base = { tenant: 't1', sub: 's', data: {}, attempts: 1 };
    await idbPut(OUTBOX, { ...base, sub: 'other', key: 'k0', type: 'production.order.declare_output', created_at: '2026-01-01T07:00:00Z', state: 'pending' });
    await idbPut(OUTBOX, { ...base, key: 'k1', type: 'production.order.declare_output', created_at: '2026-01-01T08:00:00Z', state: 'pending' });
    await idbPut(OUTBOX, {
      ...base,
      key: 'k2',
      type: 'maintenance.intervention.request',
      created_at: '2026-01-01T08:01:00Z',
      state: 'refused',
      code: 'unknown_loom',
      detail: 'no such loom',
    });
    wrap(<QueuePanel />);
    expect(await screen.findByText('1 en attente', { selector: 'h2 .pill' })).toBeTruthy();
    expect(screen.getByText(/Refusée: no such loom/)).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Envoyer maintenant' })).toBeTruthy();
    expect(screen.getAllByTestId(/^queue-/)).toHaveLength(2); // not the other person's
    expect(screen.getByText(/1 envoi\(s\) d’autres personnes/)).toBeTruthy();
  });
});

describe('OfficeSignIn', () => {
  it('asks for TOTP enrolment when the account has none, showing the QR code and URI', async () => {
    const calls: string[] = [];
    vi.stubGlobal('fetch', async (url: string) => {
      calls.push(url);
      if (url === '/api/v1/auth/login') return json(200, { mfa_required: true, mfa_token: 'mt', mfa_enrolled: false });
      if (url === '/api/v1/auth/totp/enrol') return json(200, { otpauth_uri: 'otpauth://totp/FOFAL:boss?secret=ABC', qr_svg: '<svg xmlns="http://www.w3.org/2000/svg"/>' });
      return json(404, { code: 'not_found' });
    });
    wrap(<OfficeSignIn />);
    fireEvent.change(screen.getByLabelText('Société (tenant)'), { target: { value: 't1' } });
    fireEvent.change(screen.getByLabelText('Identifiant'), { target: { value: 'boss' } });
    fireEvent.change(screen.getByLabelText('Mot de passe'), { target: { value: 'secret-secret' } });
    fireEvent.click(screen.getByRole('button', { name: 'Se connecter' }));
    expect(await screen.findByText('otpauth://totp/FOFAL:boss?secret=ABC')).toBeTruthy();
    expect(screen.getByRole('img', { name: 'TOTP QR' }).getAttribute('src')).toMatch(/^data:image\/svg\+xml/);
    expect(screen.getByLabelText('Code de l’application (6 chiffres)')).toBeTruthy();
    expect(calls).toEqual(['/api/v1/auth/login', '/api/v1/auth/totp/enrol']);
  });

  it('says why a sign-in failed', async () => {
    vi.stubGlobal('fetch', async () => json(401, { code: 'invalid_credentials', detail: 'wrong username or password' }));
    wrap(<OfficeSignIn />);
    fireEvent.change(screen.getByLabelText('Société (tenant)'), { target: { value: 't1' } });
    fireEvent.change(screen.getByLabelText('Identifiant'), { target: { value: 'x' } });
    fireEvent.change(screen.getByLabelText('Mot de passe'), { target: { value: 'y' } });
    fireEvent.click(screen.getByRole('button', { name: 'Se connecter' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/wrong username or password/);
  });
});

describe('FloorSignIn', () => {
  it('signs in with the enrolled device, the badge and the PIN typed on the keypad', async () => {
    await saveDevice({ tenant: 't1', device_id: 'dev-1', device_secret: 'sec-1', name: 'H1' });
    let sent: Record<string, string> = {};
    vi.stubGlobal('fetch', async (_url: string, init: RequestInit) => {
      sent = JSON.parse(String(init.body));
      return json(401, { code: 'invalid_credentials', detail: 'wrong badge or PIN' });
    });
    wrap(<FloorSignIn />);
    fireEvent.change(await screen.findByLabelText('Badge'), { target: { value: 'w101' } });
    for (const d of '4812') fireEvent.click(screen.getByRole('button', { name: d }));
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'OK' }));
    });
    await waitFor(() => expect(sent.badge).toBe('W101'));
    expect(sent).toEqual({ tenant: 't1', device_id: 'dev-1', device_secret: 'sec-1', badge: 'W101', pin: '4812' });
    expect((await screen.findByRole('alert')).textContent).toMatch(/wrong badge or PIN/);
  });

  it('sends a phone that is not enrolled to the enrolment', async () => {
    wrap(<FloorSignIn />);
    expect(await screen.findByText('Ce téléphone n’est pas encore enrôlé.')).toBeTruthy();
  });
});

describe('notifications', () => {
  const t = (k: string, v?: Record<string, string | number>) => translate('fr', k, v);
  it('tells the floor about breakdowns and requests, not about tallies', () => {
    const ev = (type: string, data: Record<string, unknown>) => ({ tenant: 't', module: 'x', aggregate: 'L1', type, data });
    expect(describePush(ev('fofal.machines.breakdown_declared.v1', { loom: 'L1', cause: 'mechanical' }), t)).toEqual({
      text: 'Panne sur L1 (Mécanique)',
      level: 'alert',
    });
    expect(describePush(ev('fofal.maintenance.intervention_requested.v1', { loom: 'L1', cause: 'warp_break' }), t)?.text).toBe(
      'Intervention demandée sur L1 (Casse chaîne)',
    );
    expect(describePush(ev('fofal.machines.loom_activity.v1', { loom: 'L1' }), t)).toBeNull();
  });
  it('speaks English too', () => {
    expect(translate('en', 'notif.breakdown', { loom: 'L2', cause: 'x' })).toBe('Breakdown on L2 (x)');
    expect(translate('en', 'app')).toBe('FOFAL'); // falls back to French
  });
});
