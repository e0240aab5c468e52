/*
 * additions.test.tsx — the floor's additions against a fake server: the yarn storekeeper's
 * pick lists (create from scanned lots in grams, scan a line, issue; a refusal shown; a
 * scan made without network kept pending in the outbox), a cut's defect photo (the raw
 * bytes with their type to the files route, a refusal shown, a wrong type kept on the
 * phone), "my tasks" (the badge's own, overdue first), and the inspector's NCs (mine only,
 * the next step the decider accepts: analyse, act, then close; photos of kind nc).
 */
import { act, cleanup, configure, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resetDbForTests } from '../lib/idb';
import { I18nProvider } from '../lib/i18n';
import { listQueue } from '../lib/queue';
import { setTokens } from '../lib/session';
import { MyTasks } from '../office/ControlOffice';
import { CutPhotos, uploadUrl } from './CutPhotos';
import { pickBody, PickPanel } from './PickPanel';
import { inDays, MyNcs, openedByMe } from './NcPanel';

configure({ asyncUtilTimeout: 8000 });
vi.setConfig({ testTimeout: 30000 });

const ROLL = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
const ORDER = '0190a1b2-c3d4-7e5f-8a9b-00000000000a';

function signIn(role: string, badge = 'X1') {
  const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  setTokens({ access_token: `${b64({ alg: 'HS256' })}.${b64({ tenant: 't1', sub: `acc-${role}`, role, badge })}.sig`, expires_in: 300 });
}

type Answer = { status: number; body: unknown };
class Server {
  gets: Record<string, Answer> = {};
  answers: Record<string, Answer> = {};
  upload: Answer = { status: 201, body: { id: 'f1', sha256: 'ab'.repeat(32), size: 4, type: 'image/jpeg', kind: 'cut', target: ROLL } };
  sent: { type: string; key: string | null; body: Record<string, unknown> }[] = [];
  uploads: { url: string; type: string | null; body: unknown }[] = [];
  got: string[] = [];
  fetch = async (url: string, init: RequestInit = {}): Promise<Response> => {
    const reply = (a: Answer) => new Response(JSON.stringify(a.body), { status: a.status, headers: { 'Content-Type': 'application/json' } });
    if (init.method === 'POST' && url.startsWith('/api/v1/commands/')) {
      const type = url.slice('/api/v1/commands/'.length);
      this.sent.push({ type, key: new Headers(init.headers).get('Idempotency-Key'), body: JSON.parse(String(init.body)) });
      return reply(this.answers[type] ?? { status: 201, body: { events: [{ type: 'x', seq: 1 }], position: 'p1' } });
    }
    if (init.method === 'POST' && url.startsWith('/api/v1/files/upload')) {
      this.uploads.push({ url, type: new Headers(init.headers).get('Content-Type'), body: init.body });
      return reply(this.upload);
    }
    this.got.push(url);
    // A pick list just made on this phone: the server has it as created.
    const made = this.sent.find((c) => c.type === 'inventory.pick.create' && url === `/api/v1/inventory/picks/${String(c.body.pick_id)}`);
    if (made && !this.gets[url]) {
      const lines = (made.body.lines as { lot: string; weight_g: number }[]).map((l) => ({ ...l, picked_g: null, location: 'MP-A', item: 'YARN-20' }));
      return reply({ status: 200, body: { ...made.body, beam: null, status: 'open', weight_g: 0, lines } });
    }
    const a = this.gets[url] ?? this.gets[url.replace(/[&?]position=[^&]*$/, '')] ?? this.gets[url.split('?')[0]];
    return reply(a ?? { status: 404, body: { code: 'not_found', detail: 'no such resource' } });
  };
}

let server: Server;
beforeEach(() => {
  globalThis.indexedDB = new IDBFactory();
  resetDbForTests();
  localStorage.clear();
  server = new Server();
  vi.stubGlobal('fetch', server.fetch);
  vi.stubGlobal('navigator', { onLine: true });
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const wrap = (el: JSX.Element) => render(<I18nProvider lang="fr">{el}</I18nProvider>);
const type = (name: string, value: string) => fireEvent.change(document.querySelector(`[name="${name}"]`)!, { target: { value } });
const click = async (name: string | RegExp) => {
  await act(async () => {
    fireEvent.click(screen.getByRole('button', { name }));
  });
};

describe('pick lists', () => {
  it('builds the create body in grams, without empty lines', () => {
    const b = pickBody('p1', ` ${ORDER} `, '', [
      { lot: 'LOT-1', kg: '12,5' },
      { lot: '', kg: '' },
    ]);
    expect(b).toMatchObject({ pick_id: 'p1', order_id: ORDER, lines: [{ lot: 'LOT-1', weight_g: 12500 }] });
    expect(b).not.toHaveProperty('beam');
  });

  it('creates a list for an order, scans a line and issues it to the beam', async () => {
    signIn('storekeeper_mp', 'S1');
    server.gets['/api/v1/inventory/picks'] = { status: 200, body: { items: [], truncated: false } };
    wrap(<PickPanel />);
    await screen.findByText('Aucun');
    type('pick-order', ORDER);
    type('pick-lot-0', 'LOT-2604');
    type('pick-kg-0', '20');
    await click('Ajouter un lot');
    type('pick-lot-1', 'LOT-2601');
    type('pick-kg-1', '5,25');
    await click('Créer la liste');
    await waitFor(() => expect(server.sent).toHaveLength(1));
    const made = server.sent[0];
    expect(made.type).toBe('inventory.pick.create');
    expect(made.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(made.body).toMatchObject({ order_id: ORDER, lines: [{ lot: 'LOT-2604', weight_g: 20000 }, { lot: 'LOT-2601', weight_g: 5250 }] });
    const id = String(made.body.pick_id);
    await screen.findByTestId('pick-line-LOT-2604');
    type('pick-scan-lot', 'LOT-2604');
    type('pick-scan-kg', '19,5');
    await click('Lot préparé');
    await waitFor(() => expect(server.sent).toHaveLength(2));
    expect(server.sent[1]).toMatchObject({ type: 'inventory.pick.scan', body: { pick_id: id, lot: 'LOT-2604', weight_g: 19500 } });
    type('pick-issue-beam', 'B-77');
    await click('Sortir vers l’ensouple');
    await waitFor(() => expect(server.sent).toHaveLength(3));
    expect(server.sent[2]).toMatchObject({ type: 'inventory.pick.issue', body: { pick_id: id, beam: 'B-77' } });
  });

  it('shows a refusal, and keeps a scan made without network pending', async () => {
    signIn('storekeeper_mp', 'S1');
    const id = '0190a1b2-c3d4-7e5f-8a9b-0000000000b1';
    server.gets['/api/v1/inventory/picks'] = { status: 200, body: { items: [{ pick_id: id, order_id: ORDER, beam: null, status: 'open', weight_g: 1000 }] } };
    server.gets[`/api/v1/inventory/picks/${id}`] = { status: 200, body: { pick_id: id, order_id: ORDER, beam: null, status: 'open', weight_g: 1000, lines: [{ lot: 'LOT-1', weight_g: 1000, picked_g: null, location: 'MP-A', item: 'Y' }] } };
    server.answers['inventory.pick.scan'] = { status: 422, body: { code: 'over_pick', detail: 'lot LOT-1: 2000 g picked, the list asks 1000 g' } };
    wrap(<PickPanel />);
    await screen.findByRole('button', { name: /OF 0190a1b2/ });
    await click(/OF 0190a1b2/);
    await screen.findByTestId('pick-line-LOT-1');
    type('pick-scan-lot', 'LOT-1');
    type('pick-scan-kg', '2');
    await click('Lot préparé');
    expect((await screen.findByRole('alert')).textContent).toMatch(/over_pick/);
    vi.stubGlobal('navigator', { onLine: false });
    type('pick-scan-kg', '1');
    await click('Lot préparé');
    await waitFor(async () => expect((await listQueue()).filter((q) => q.state === 'pending')).toHaveLength(1));
    const q = (await listQueue()).find((x) => x.state === 'pending')!;
    expect(q).toMatchObject({ type: 'inventory.pick.scan', data: { pick_id: id, lot: 'LOT-1', weight_g: 1000 } });
  });
});

describe('cut photos', () => {
  it('names the cut by its roll and keeps only a safe display name', () => {
    expect(uploadUrl(ROLL, '../../etc/passwd')).toBe(`/api/v1/files/upload?kind=cut&id=${ROLL}&name=_.._etc_passwd`);
    expect(uploadUrl(ROLL)).toBe(`/api/v1/files/upload?kind=cut&id=${ROLL}`);
  });

  it('uploads the photo’s bytes with their type, and shows a refusal', async () => {
    signIn('cutter', 'C01');
    server.gets[`/api/v1/files/attachments/cut/${ROLL}`] = { status: 200, body: { kind: 'cut', id: ROLL, items: [] } };
    wrap(<CutPhotos roll={ROLL} />);
    const input = document.querySelector(`[name="photo-${ROLL}"]`) as HTMLInputElement;
    expect(input.getAttribute('capture')).toBe('environment');
    const photo = new File([new Uint8Array([0xff, 0xd8, 0xff, 0xe0])], 'defaut.jpg', { type: 'image/jpeg' });
    await act(async () => {
      fireEvent.change(input, { target: { files: [photo] } });
    });
    await waitFor(() => expect(server.uploads).toHaveLength(1));
    expect(server.uploads[0]).toMatchObject({ url: `/api/v1/files/upload?kind=cut&id=${ROLL}&name=defaut.jpg`, type: 'image/jpeg' });
    expect(server.uploads[0].body).toBe(photo);
    await waitFor(() => expect(server.got.filter((u) => u.startsWith('/api/v1/files/attachments/cut/')).length).toBe(2));
    server.upload = { status: 415, body: { code: 'type_mismatch', detail: 'the bytes are not image/jpeg' } };
    await act(async () => {
      fireEvent.change(input, { target: { files: [photo] } });
    });
    expect((await screen.findByRole('alert')).textContent).toMatch(/type_mismatch/);
  });

  it('keeps a file of another type on the phone', async () => {
    signIn('cutter', 'C01');
    wrap(<CutPhotos roll={ROLL} />);
    const input = document.querySelector(`[name="photo-${ROLL}"]`) as HTMLInputElement;
    await act(async () => {
      fireEvent.change(input, { target: { files: [new File(['<svg/>'], 'x.svg', { type: 'image/svg+xml' })] } });
    });
    expect((await screen.findByRole('alert')).textContent).toMatch(/JPEG, PNG ou PDF/);
    expect(server.uploads).toHaveLength(0);
  });
});

describe('my tasks', () => {
  it('asks the tasks of my badge and shows the overdue first', async () => {
    signIn('mechanic', 'M02');
    server.gets['/api/v1/projects/tasks'] = {
      status: 200,
      body: {
        items: [
          { project: 'P', task: 'A', title: 'Régler L25', owner: 'M02', due: '2099-01-01', state: 'todo', overdue: false },
          { project: 'P', task: 'B', title: 'Poser L26', owner: 'M02', due: '2026-01-01', state: 'doing', overdue: true },
          { project: 'P', task: 'C', title: 'Fini', owner: 'M02', due: '2026-01-01', state: 'done', overdue: false },
        ],
      },
    };
    wrap(<MyTasks />);
    await screen.findByTestId('my-tasks');
    expect(server.got).toContain('/api/v1/projects/tasks?owner=M02');
    const ids = [...document.querySelectorAll('[data-testid^="task-"]')].map((e) => e.getAttribute('data-testid'));
    expect(ids).toEqual(['task-P-B', 'task-P-A']);
  });
});

describe('my NCs', () => {
  const NC = '0190a1b2-c3d4-7e5f-8a9b-0000000000c1';
  const nc = (status: string, actions: object[] = []) => ({
    nc_id: NC, title: 'Trame cassée', status, opened_by: 'u:acc-quality/quality', opened_at: '2026-12-07T10:00:00Z',
    lots: [ROLL], cause: status === 'open' ? null : 'réglage', category: status === 'open' ? null : 'machine', actions,
  });

  it('knows whose NC it is, and an action’s default due date', () => {
    expect(openedByMe({ opened_by: 'u:acc-quality/quality' }, 'acc-quality')).toBe(true);
    expect(openedByMe({ opened_by: 'u:acc-quality2/quality' }, 'acc-quality')).toBe(false);
    expect(openedByMe({ opened_by: 's:machines/x' }, undefined)).toBe(false);
    expect(inDays(7, new Date('2026-12-30T12:00:00Z'))).toBe('2027-01-06');
  });

  it('lists mine only, analyses, adds an action, and offers the closing after a corrective one', async () => {
    signIn('quality', 'Q1');
    const other = { ...nc('open'), nc_id: '0190a1b2-c3d4-7e5f-8a9b-0000000000c2', title: 'Pas la mienne', opened_by: 'u:someone/quality' };
    server.gets['/api/v1/quality/ncs?status=open&limit=200'] = { status: 200, body: { items: [nc('open'), other] } };
    server.gets['/api/v1/quality/ncs'] = { status: 200, body: { items: [] } };
    server.gets[`/api/v1/quality/ncs/${NC}`] = { status: 200, body: nc('open') };
    server.gets[`/api/v1/files/attachments/nc/${NC}`] = { status: 200, body: { items: [] } };
    wrap(<MyNcs />);
    await screen.findByRole('button', { name: 'Trame cassée' });
    await click('Trame cassée');
    expect(screen.queryByText('Pas la mienne')).toBeNull();
    expect(document.querySelector(`[name="photo-${NC}"]`)).not.toBeNull();
    type('nc-cause', 'Casse-trame mal réglé');
    fireEvent.change(document.querySelector('[name="nc-category"]')!, { target: { value: 'machine' } });
    server.gets[`/api/v1/quality/ncs/${NC}`] = { status: 200, body: nc('analysed') };
    server.gets['/api/v1/quality/ncs?status=open&limit=200'] = { status: 200, body: { items: [other] } };
    server.gets['/api/v1/quality/ncs?status=analysed&limit=200'] = { status: 200, body: { items: [nc('analysed')] } };
    await click('Analyser la cause');
    await waitFor(() => expect(server.sent).toHaveLength(1));
    expect(server.sent[0]).toMatchObject({ type: 'quality.nc.analyse', body: { nc_id: NC, cause: 'Casse-trame mal réglé', category: 'machine' } });
    await screen.findByTestId('nc-act-send');
    expect(screen.queryByTestId('nc-close-send')).toBeNull();
    expect((document.querySelector('[name="nc-owner"]') as HTMLInputElement).value).toBe('Q1');
    type('nc-action', 'Régler');
    type('nc-owner', 'M1');
    type('nc-due', '2030-01-31');
    server.gets[`/api/v1/quality/ncs/${NC}`] = { status: 200, body: nc('analysed', [{ action_no: 1, kind: 'corrective', description: 'Régler', owner: 'M1', due: '2030-01-31' }]) };
    await click('Ajouter une action');
    await waitFor(() => expect(server.sent).toHaveLength(2));
    expect(server.sent[1]).toMatchObject({ type: 'quality.nc.act', body: { nc_id: NC, kind: 'corrective', description: 'Régler', owner: 'M1', due: '2030-01-31' } });
    await screen.findByTestId('nc-close-send');
    type('nc-verification', 'vérifié');
    server.answers['quality.nc.close'] = { status: 422, body: { code: 'action_required', detail: 'an NC is closed once a corrective action was taken' } };
    await click('Clôturer la NC');
    expect((await screen.findByRole('alert')).textContent).toMatch(/action_required/);
  });
});
