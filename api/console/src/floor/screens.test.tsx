/*
 * screens.test.tsx — the cutter's, the inspector's and the storekeepers' phones, and the
 * office's stock, purchasing and quality screens, rendered in jsdom against a fake server:
 * the command body each sends (with an Idempotency-Key), a refusal shown with the server's
 * reason, a command made without network kept in the outbox as pending, and what the
 * answers and reads show.
 */
import { act, cleanup, configure, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { homeOf } from '../App';
import { resetDbForTests } from '../lib/idb';
import { I18nProvider } from '../lib/i18n';
import { listQueue } from '../lib/queue';
import { setTokens } from '../lib/session';
import { PurchasingOffice, QualityOffice, StockOffice, money } from '../office/OfficeScreens';
import { CutterScreen, cutBody } from './CutterScreen';
import { scannedId } from './kit';
import { inspectionBody, QualityScreen } from './QualityScreen';
import { returnLines, ssccOf, StoreScreen } from './StoreScreen';

// A shared, busy machine: generous waits (a passing test does not wait for them).
configure({ asyncUtilTimeout: 8000 });
vi.setConfig({ testTimeout: 30000 });

vi.mock('../office/BarChart', () => ({ BarChart: ({ testId }: { testId?: string }) => <div data-testid={testId} /> }));

const ROLL = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
const LOT1 = '0190a1b2-c3d4-7e5f-8a9b-000000000001';
const LOT2 = '0190a1b2-c3d4-7e5f-8a9b-000000000002';

function signIn(role: string, badge = 'X1') {
  const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  setTokens({ access_token: `${b64({ alg: 'HS256' })}.${b64({ tenant: 't1', sub: `acc-${role}`, role, badge })}.sig`, expires_in: 300 });
}

type Answer = { status: number; body: unknown };
/* A fake fofal-api: reads answer from `gets` (by path without the query, or with it),
 * commands from `answers` by type (201 with no events by default); it keeps what was sent. */
class Server {
  gets: Record<string, Answer> = {};
  answers: Record<string, Answer> = {};
  sent: { type: string; key: string | null; body: Record<string, unknown> }[] = [];
  got: string[] = [];
  fetch = async (url: string, init: RequestInit = {}): Promise<Response> => {
    const reply = (a: Answer) => new Response(JSON.stringify(a.body), { status: a.status, headers: { 'Content-Type': 'application/json' } });
    if (init.method === 'POST' && url.startsWith('/api/v1/commands/')) {
      const type = url.slice('/api/v1/commands/'.length);
      this.sent.push({ type, key: new Headers(init.headers).get('Idempotency-Key'), body: JSON.parse(String(init.body)) });
      return reply(this.answers[type] ?? { status: 201, body: { events: [{ type: 'x', seq: 1 }], position: 'p1' } });
    }
    this.got.push(url);
    const a = this.gets[url] ?? this.gets[url.split('?')[0]];
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

describe('scans and bodies', () => {
  it('reads a label QR code, a label URL or a typed code', () => {
    expect(scannedId(`FOFAL:L:t1:${ROLL}`)).toBe(ROLL);
    expect(scannedId(`https://x.example/l/t1/${ROLL}`)).toBe(ROLL);
    expect(scannedId(' LOT-2601 ')).toBe('LOT-2601');
  });
  it('builds a cut with only the defects that count pieces, waste in mm and g', () => {
    expect(cutBody({ roll: ROLL, first: 8, second: 1, waste: 1, wasteMm: '350', wasteG: '', defects: { hole: 1, oil_stain: 1, other: 0 } })).toEqual({
      roll: ROLL,
      first_choice: 8,
      second_choice: 1,
      waste_pieces: 1,
      waste_mm: 350,
      defects: [
        { cause: 'hole', pieces: 1 },
        { cause: 'oil_stain', pieces: 1 },
      ],
    });
  });
  it('turns metres and centimetres into millimetres for an inspection', () => {
    expect(
      inspectionBody({
        id: 'i1',
        lot: ROLL,
        kind: 'roll',
        lengthM: '40',
        widthCm: '100',
        defects: [
          { at_m: '1,2', size_mm: '160', hole: false },
          { at_m: '9', size_mm: '', hole: true },
          { at_m: '', size_mm: '', hole: false },
        ],
      }),
    ).toEqual({
      inspection_id: 'i1',
      lot: ROLL,
      lot_kind: 'roll',
      length_mm: 40000,
      width_mm: 1000,
      defects: [
        { at_mm: 1200, size_mm: 160 },
        { at_mm: 9000, size_mm: 1, hole: true },
      ],
    });
  });
  it('computes the SSCC check digit (GS1) and the lines of a return', () => {
    expect(ssccOf('37612345000001234')).toBe('376123450000012347');
    expect(ssccOf('123')).toBeNull();
    expect(returnLines({ [ROLL]: { good: '10', rejected: '2', lost: '' }, [LOT1]: { good: '', rejected: '', lost: '' } })).toEqual([
      { label_id: ROLL, good_milli: 10000, rejected_milli: 2000, lost_milli: 0 },
    ]);
  });
  it('formats money in minor units by currency', () => {
    expect(money(15000, 'TND')).toMatch(/15[.,]000 TND/);
    expect(money(1999, 'EUR')).toMatch(/19[.,]99 EUR/);
  });
  it('lands each role on its screen', () => {
    expect(homeOf('cutter')).toBe('/floor/cutter');
    expect(homeOf('quality')).toBe('/floor/quality');
    expect(homeOf('storekeeper_mp')).toBe('/floor/store-mp');
    expect(homeOf('storekeeper_pf')).toBe('/floor/store-pf');
    expect(homeOf('storekeeper_st')).toBe('/floor/store-st');
    expect(homeOf('accountant')).toBe('/office/accounting');
    expect(homeOf('hr')).toBe('/office/payslip');
  });
});

describe('CutterScreen', () => {
  beforeEach(() => {
    signIn('cutter', 'C1');
    server.gets[`/api/v1/inventory/labels/${ROLL}`] = {
      status: 200,
      body: { label_id: ROLL, quantity: 10, article: { article: 'FT-100' }, loom: { loom: 'L1' }, weaver: { badge: 'W1' } },
    };
  });

  it('declares the cut of a scanned roll and shows the lots’ label ids', async () => {
    server.answers['quality.roll.cut'] = {
      status: 201,
      body: { events: [{ type: 'fofal.quality.roll_cut.v1', seq: 1, issued: { first_lot_id: LOT1, second_lot_id: LOT2 } }], position: 'p1' },
    };
    wrap(<CutterScreen />);
    type('roll', ROLL);
    expect(await screen.findByTestId('roll-info')).toHaveProperty('textContent', expect.stringContaining('FT-100'));
    expect((document.querySelector('[name=first]') as HTMLInputElement).value).toBe('10');
    type('first', '8');
    fireEvent.click(screen.getByRole('button', { name: '2e choix +' }));
    fireEvent.click(screen.getByRole('button', { name: 'Déchet (pièces) +' }));
    expect(screen.getByText('0 / 2 pièces')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Trou +' }));
    fireEvent.click(screen.getByRole('button', { name: 'Tache d’huile +' }));
    type('waste-g', '120');
    await click('Valider la coupe');
    await waitFor(() => expect(server.sent).toHaveLength(1));
    expect(server.sent[0].type).toBe('quality.roll.cut');
    expect(server.sent[0].key).toMatch(/^[0-9a-f-]{36}$/);
    expect(server.sent[0].body).toEqual({
      roll: ROLL,
      first_choice: 8,
      second_choice: 1,
      waste_pieces: 1,
      waste_g: 120,
      defects: [
        { cause: 'hole', pieces: 1 },
        { cause: 'oil_stain', pieces: 1 },
      ],
    });
    expect((await screen.findByTestId('lot-first')).textContent).toContain(LOT1);
    expect(screen.getByTestId('lot-second').textContent).toContain(LOT2);
  });

  it('shows a refusal with the server’s reason', async () => {
    server.answers['quality.roll.cut'] = { status: 422, body: { code: 'defects_mismatch', detail: 'the defects count 0 pieces, the 2nd choice and waste 1' } };
    wrap(<CutterScreen />);
    type('roll', ROLL);
    await screen.findByTestId('roll-info');
    await click('Valider la coupe');
    expect((await screen.findByRole('alert')).textContent).toMatch(/defects count 0 pieces.*defects_mismatch/);
  });

  it('keeps a cut made without network in the outbox, pending', async () => {
    wrap(<CutterScreen />);
    type('roll', ROLL);
    await screen.findByTestId('roll-info');
    vi.stubGlobal('navigator', { onLine: false });
    await click('Valider la coupe');
    expect((await screen.findByTestId('outcome')).textContent).toMatch(/Pas de réseau/);
    expect(server.sent).toHaveLength(0);
    const q = await listQueue();
    expect(q).toHaveLength(1);
    expect(q[0]).toMatchObject({ type: 'quality.roll.cut', state: 'pending', data: { roll: ROLL, first_choice: 10 } });
  });

  it('raises a purchase request in thousandths', async () => {
    wrap(<CutterScreen />);
    fireEvent.click(screen.getByTestId('da-open'));
    type('da-description', 'lames de coupe');
    type('da-quantity', '2,5');
    type('da-unit', 'box');
    type('da-reason', 'lames usées');
    type('da-price', '15');
    await click('Envoyer');
    await waitFor(() => expect(server.sent).toHaveLength(1));
    expect(server.sent[0].type).toBe('purchasing.request.submit');
    expect(server.sent[0].body).toMatchObject({ description: 'lames de coupe', quantity_milli: 2500, unit: 'box', reason: 'lames usées', estimated_unit_price: 15000 });
    expect(server.sent[0].body.need_by).toMatch(/^\d{4}-\d\d-\d\d$/);
  });
});

describe('QualityScreen', () => {
  beforeEach(() => {
    signIn('quality', 'Q1');
    server.gets['/api/v1/quality/actions/overdue'] = {
      status: 200,
      body: { items: [{ nc_id: 'n1', action_no: 1, description: 'régler le temple', owner: 'M1', due: '2026-11-30', nc_title: 'Trous L3', days_overdue: 7 }] },
    };
    server.gets['/api/v1/quality/ncs'] = { status: 200, body: { items: [] } };
  });

  it('records a 4-point inspection and shows the score and grade the server gave', async () => {
    server.gets[`/api/v1/quality/lots/${ROLL}`] = { status: 404, body: { code: 'not_found' } };
    wrap(<QualityScreen />);
    expect(await screen.findByText(/Trous L3/)).toBeTruthy();
    expect(screen.getByText('7 j de retard (2026-11-30)')).toBeTruthy();
    type('lot', ROLL);
    type('length-m', '40');
    type('width-cm', '100');
    fireEvent.click(screen.getByRole('button', { name: '+ Défaut' }));
    type('at-0', '1,2');
    type('size-0', '160');
    server.gets['/api/v1/quality/inspections'] = { status: 404, body: {} };
    const orig = server.fetch;
    server.fetch = async (url: string, init?: RequestInit) => {
      if (url.startsWith('/api/v1/quality/inspections/')) {
        const id = server.sent[0]?.body.inspection_id;
        expect(url).toBe(`/api/v1/quality/inspections/${id}?position=p1`);
        return new Response(JSON.stringify({ inspection_id: id, lot: ROLL, points: 3, score_per_100m2: '7.50', max_points_per_100m2: 40, grade: 'first' }), { status: 200 });
      }
      return orig(url, init);
    };
    vi.stubGlobal('fetch', server.fetch);
    await click('Enregistrer le contrôle');
    await waitFor(() => expect(server.sent).toHaveLength(1));
    expect(server.sent[0].type).toBe('quality.inspection.record');
    expect(server.sent[0].body).toMatchObject({ lot: ROLL, lot_kind: 'roll', length_mm: 40000, width_mm: 1000, defects: [{ at_mm: 1200, size_mm: 160 }] });
    expect((await screen.findByTestId('grade')).textContent).toBe('1er choix');
    expect(screen.getByTestId('score').textContent).toContain('7.50');
  });

  it('rejects a yarn lot and shows a refusal', async () => {
    server.gets['/api/v1/quality/lots/LOT-2601'] = { status: 200, body: { lot: 'LOT-2601', lot_kind: 'yarn', status: 'pending', grade: null } };
    server.answers['quality.lot.reject'] = { status: 409, body: { code: 'already_rejected', detail: 'lot LOT-2601 is already rejected' } };
    wrap(<QualityScreen />);
    type('lot', 'LOT-2601');
    expect((await screen.findByTestId('lot-status')).textContent).toContain('en attente');
    fireEvent.click(screen.getByTestId('reject-open'));
    type('reason', 'titrage hors tolérance');
    await act(async () => {
      fireEvent.click(screen.getAllByRole('button', { name: 'Rejeter le lot' }).at(-1)!);
    });
    await waitFor(() => expect(server.sent).toHaveLength(1));
    expect(server.sent[0]).toMatchObject({ type: 'quality.lot.reject', body: { lot: 'LOT-2601', lot_kind: 'yarn', reason: 'titrage hors tolérance' } });
    expect((await screen.findByRole('alert')).textContent).toMatch(/already rejected.*already_rejected/);
  });

  it('opens an NC about the lot', async () => {
    wrap(<QualityScreen />);
    type('lot', 'LOT-2601');
    fireEvent.click(screen.getByTestId('nc-open'));
    type('nc-title', 'Fil hors titre');
    await click('Envoyer');
    await waitFor(() => expect(server.sent).toHaveLength(1));
    expect(server.sent[0]).toMatchObject({ type: 'quality.nc.open', body: { title: 'Fil hors titre', source: 'manual', lots: ['LOT-2601'] } });
    expect(server.sent[0].body.nc_id).toMatch(/^[0-9a-f-]{36}$/);
  });
});

const LOCATIONS = { status: 200, body: { items: [{ location: 'MP-A', kind: 'raw', name: 'Fils' }, { location: 'PF-1', kind: 'finished', name: null }, { location: 'QUAR', kind: 'quarantine', name: null }], truncated: false } };

describe('StoreScreen', () => {
  beforeEach(() => {
    server.gets['/api/v1/inventory/locations'] = LOCATIONS;
  });

  it('MP: receives a yarn lot in grams with the phone’s time', async () => {
    signIn('storekeeper_mp', 'S1');
    wrap(<StoreScreen kind="mp" />);
    fireEvent.click(screen.getByRole('tab', { name: 'Réception' }));
    await screen.findByRole('option', { name: 'MP-A — Fils' });
    type('lot', 'LOT-2701');
    type('item', 'YARN-20');
    type('supplier-lot', 'SUP-9');
    type('kg', '12,5');
    type('cones', '6');
    type('location', 'MP-A');
    await act(async () => {
      fireEvent.click(screen.getAllByRole('button', { name: 'Réception' }).at(-1)!);
    });
    await waitFor(() => expect(server.sent).toHaveLength(1));
    expect(server.sent[0]).toMatchObject({
      type: 'inventory.lot.receive',
      body: { lot: 'LOT-2701', item: 'YARN-20', supplier_lot: 'SUP-9', weight_g: 12500, cones: 6, location: 'MP-A' },
    });
    expect(Date.now() - Date.parse(String(server.sent[0].body.occurred_at))).toBeLessThan(5000);
    expect((await screen.findByTestId('outcome')).textContent).toBe('Envoyé ✓');
  });

  it('MP: scans a lot to see where it is', async () => {
    signIn('storekeeper_mp', 'S1');
    server.gets['/api/v1/inventory/lots/LOT-2601'] = { status: 200, body: { lot: 'LOT-2601', item: { item: 'YARN-20' }, supplier_lot: 'SUP-1', weight_g: 41500, location: 'MP-A' } };
    wrap(<StoreScreen kind="mp" />);
    type('where-code', 'LOT-2601');
    expect((await screen.findByTestId('found-location')).textContent).toBe('MP-A');
    expect(screen.getByTestId('found').textContent).toMatch(/41[.,  ]?5 kg/);
  });

  it('PF: a move made without network waits in the outbox; a refused one says why', async () => {
    signIn('storekeeper_pf', 'S2');
    wrap(<StoreScreen kind="pf" />);
    fireEvent.click(screen.getByRole('tab', { name: 'Transfert' }));
    await screen.findByRole('option', { name: 'PF-1' });
    type('unit', ROLL);
    type('unit-to', 'PF-1');
    vi.stubGlobal('navigator', { onLine: false });
    await act(async () => {
      fireEvent.click(screen.getByTestId('unit-move-send'));
    });
    expect((await screen.findByTestId('outcome')).textContent).toMatch(/Pas de réseau/);
    const q = await listQueue();
    expect(q[0]).toMatchObject({ type: 'inventory.unit.move', state: 'pending', data: { label_id: ROLL, to: 'PF-1' } });
    expect(server.sent).toHaveLength(0);

    vi.stubGlobal('navigator', { onLine: true });
    server.answers['inventory.unit.move'] = { status: 409, body: { code: 'unit_in_carton', detail: 'the unit moves with its carton' } };
    await act(async () => {
      fireEvent.click(screen.getByTestId('unit-move-send'));
    });
    expect((await screen.findByRole('alert')).textContent).toMatch(/moves with its carton.*unit_in_carton/);
  });

  it('PF: packs scanned units into a new carton, then shows the stock of a location', async () => {
    signIn('storekeeper_pf', 'S2');
    server.gets['/api/v1/inventory/stock'] = {
      status: 200,
      body: { holdings: [{ location: 'PF-1', holding: ROLL, kind: 'unit', item: 'FT-100', quantity: 10, unit: 'pieces' }], totals: [{ location: 'PF-1', item: 'FT-100', kind: 'unit', quantity: 10, holdings: 1 }], truncated: false, as_of: null },
    };
    wrap(<StoreScreen kind="pf" />);
    fireEvent.click(screen.getByRole('tab', { name: 'Carton' }));
    type('scan-list', `FOFAL:L:t1:${ROLL}`); // a wedge scanner types the QR text
    type('scan-list', LOT1);
    expect(screen.getByTestId('scanned').querySelectorAll('li')).toHaveLength(2);
    await click('Mettre en carton (2)');
    await waitFor(() => expect(server.sent).toHaveLength(1));
    expect(server.sent[0]).toMatchObject({ type: 'inventory.carton.pack', body: { units: [ROLL, LOT1] } });
    expect((await screen.findByTestId('carton')).textContent).toContain(String(server.sent[0].body.carton_id));
    fireEvent.click(screen.getByRole('tab', { name: 'Stock' }));
    expect((await screen.findByTestId('stock-holdings')).textContent).toContain(ROLL);
  });

  it('ST: sends lots to a subcontractor and records a return', async () => {
    signIn('storekeeper_st', 'S3');
    server.gets['/api/v1/subcontracting/subcontractors'] = { status: 200, body: { items: [{ subcontractor: 'ST-BRODERIE', name: 'Brodeur', operations: ['embroidery'] }] } };
    const dispatch = {
      dispatch_id: LOT2, subcontractor: 'ST-BRODERIE', operation: 'embroidery', status: 'open', expected_return: '2026-12-01', overdue: true,
      lots: [{ label_id: ROLL, quantity_milli: 10000, good_milli: 0, rejected_milli: 0, lost_milli: 0, outstanding_milli: 10000 }],
    };
    server.gets['/api/v1/subcontracting/dispatches?status=open'] = { status: 200, body: { items: [dispatch] } };
    server.gets['/api/v1/subcontracting/dispatches?status=partly_returned'] = { status: 200, body: { items: [] } };
    server.gets['/api/v1/subcontracting/dispatches?overdue=true'] = { status: 200, body: { items: [dispatch] } };
    wrap(<StoreScreen kind="st" />);
    fireEvent.click(screen.getByRole('tab', { name: 'Envoi' }));
    await screen.findByRole('option', { name: 'ST-BRODERIE — Brodeur' });
    type('subcontractor', 'ST-BRODERIE');
    type('operation', 'embroidery');
    type('expected', '2026-12-20');
    type('scan-list', ROLL);
    type(`pieces-${ROLL}`, '10');
    await act(async () => {
      fireEvent.click(screen.getAllByRole('button', { name: 'Envoi' }).at(-1)!);
    });
    await waitFor(() => expect(server.sent).toHaveLength(1));
    expect(server.sent[0]).toMatchObject({
      type: 'subcontracting.dispatch.send',
      body: { subcontractor: 'ST-BRODERIE', operation: 'embroidery', expected_return: '2026-12-20', lots: [{ label_id: ROLL, quantity_milli: 10000 }] },
    });

    fireEvent.click(screen.getByRole('tab', { name: 'Retour' }));
    await screen.findByRole('option', { name: /ST-BRODERIE · Broderie/ });
    type('dispatch', LOT2);
    type(`good-${ROLL}`, '9');
    type(`lost-${ROLL}`, '1');
    await click('Enregistrer le retour');
    await waitFor(() => expect(server.sent).toHaveLength(2));
    expect(server.sent[1]).toMatchObject({
      type: 'subcontracting.dispatch.return',
      body: { dispatch_id: LOT2, lines: [{ label_id: ROLL, good_milli: 9000, rejected_milli: 0, lost_milli: 1000 }] },
    });

    fireEvent.click(screen.getByRole('tab', { name: 'En retard' }));
    expect((await screen.findByTestId('st-overdue')).textContent).toContain('2026-12-01');
  });

  it('ST: follows the subcontractors and registers a new one', async () => {
    signIn('storekeeper_st', 'S3');
    server.gets['/api/v1/subcontracting/subcontractors'] = {
      status: 200,
      body: { items: [{ subcontractor: 'ST-TEINT', name: 'Teinturier', operations: ['dyeing'], holds: { lots: 2, outstanding_milli: 5000, since: null }, open_dispatches: 1, overdue_dispatches: 1, lead_time_days: '6.5', reject_rate: '0.0400' }] },
    };
    wrap(<StoreScreen kind="st" />);
    fireEvent.click(screen.getByRole('tab', { name: 'Sous-traitants' }));
    expect((await screen.findByTestId('subs')).textContent).toMatch(/ST-TEINT.*Détient 2 lot\(s\).*Délai \(j\) 6.5.*Rebut 4 %.*En retard 1/);
    type('st-code', 'ST-OURLET');
    type('st-name', 'Atelier Ourlet');
    fireEvent.click(screen.getByRole('checkbox', { name: 'Ourlet' }));
    await click('Nouveau sous-traitant');
    await waitFor(() => expect(server.sent).toHaveLength(1));
    expect(server.sent[0]).toEqual(expect.objectContaining({ type: 'subcontracting.subcontractor.register', body: { subcontractor: 'ST-OURLET', name: 'Atelier Ourlet', operations: ['hemming'] } }));
  });

  it('counts: open a count of a location, record a scan, close it', async () => {
    signIn('storekeeper_mp', 'S1');
    wrap(<StoreScreen kind="mp" />);
    fireEvent.click(screen.getByRole('tab', { name: 'Inventaire' }));
    await screen.findByRole('option', { name: 'MP-A' });
    type('count-location', 'MP-A');
    await click('Ouvrir l’inventaire');
    await waitFor(() => expect(server.sent).toHaveLength(1));
    const id = server.sent[0].body.count_id;
    expect(server.sent[0]).toMatchObject({ type: 'inventory.count.open', body: { location: 'MP-A' } });
    await waitFor(() => expect(localStorage.getItem('fofal.count')).toBe(id));
    type('count-holding', 'LOT-2601');
    type('count-quantity', '41000');
    await click('Compter');
    await waitFor(() => expect(server.sent).toHaveLength(2));
    expect(server.sent[1]).toMatchObject({ type: 'inventory.count.record', body: { count_id: id, holding: 'LOT-2601', quantity: 41000 } });
    await waitFor(() => expect(screen.getByRole('button', { name: 'Clôturer' })).toHaveProperty('disabled', false));
    await click('Clôturer');
    await waitFor(() => expect(server.sent).toHaveLength(3));
    expect(server.sent[2]).toMatchObject({ type: 'inventory.count.close', body: { count_id: id } });
    await waitFor(() => expect(localStorage.getItem('fofal.count')).toBeNull());
  });
});

describe('office screens', () => {
  it('stock: by location as of an instant, and a genealogy up from a lot', async () => {
    signIn('planner');
    server.gets['/api/v1/inventory/locations'] = LOCATIONS;
    server.gets['/api/v1/inventory/stock'] = {
      status: 200,
      body: { holdings: [{ location: 'MP-A', holding: 'LOT-2601', kind: 'lot', item: 'YARN-20', quantity: 41500, unit: 'g' }], totals: [{ location: 'MP-A', item: 'YARN-20', kind: 'lot', quantity: 41500, holdings: 1 }], truncated: false, as_of: null },
    };
    server.gets['/api/v1/inventory/genealogy/LOT-2601'] = {
      status: 200,
      body: { direction: 'up', of: { lot: 'LOT-2601', supplier_lot: 'SUP-1', item: 'YARN-20' }, beams: ['B-1'], units: [{ label_id: ROLL, article: 'FT-100', quantity: 10, loom: 'L1', location: 'PF-1', carton_id: null }], cartons: [], pallets: [] },
    };
    wrap(<StockOffice />);
    expect((await screen.findByTestId('stock-totals')).textContent).toMatch(/YARN-20.*41[.,  ]?5.*kg/);
    await screen.findByRole('option', { name: 'MP-A' });
    type('location', 'MP-A');
    type('as-of', '2026-12-01T08:00');
    await waitFor(() => expect(server.got.some((u) => u.startsWith('/api/v1/inventory/stock?location=MP-A&as_of=2026-12-0'))).toBe(true));
    type('genealogy', 'LOT-2601');
    await click('Tracer');
    const g = await screen.findByText(/LOT-2601 · SUP-1 · YARN-20/);
    expect(g.textContent).toContain('B-1');
    expect(screen.getByTestId('genealogy').textContent).toContain('PF-1');
  });

  it('purchasing: approves an open request and shows a refusal of another', async () => {
    signIn('planner');
    const req = (id: string) => ({ request_id: id, status: 'submitted', item: null, description: 'ciseaux', quantity_milli: 2000, unit: 'piece', need_by: '2026-12-20', reason: 'usés', amount: 30000, station: 'cutter', requester_badge: 'C1' });
    server.gets['/api/v1/purchasing/requests'] = { status: 200, body: { items: [req(LOT1), req(LOT2)], next_cursor: null } };
    server.gets['/api/v1/purchasing/orders'] = { status: 200, body: { items: [{ order_id: ROLL, supplier: 'SUP-A', currency: 'TND', status: 'partly_received', total: 1250000, late: true, issued_at: '2026-11-01T00:00:00Z' }], next_cursor: null } };
    wrap(<PurchasingOffice />);
    const row1 = await screen.findByTestId(`request-${LOT1}`);
    expect(row1.textContent).toMatch(/ciseaux.*2.*piece.*coupe C1.*30[.,]000 TND.*soumise/);
    expect((await screen.findByTestId('late-orders')).textContent).toMatch(/SUP-A.*reçue en partie.*en retard/);
    await act(async () => {
      fireEvent.click(row1.querySelector('button.primary')!);
    });
    await waitFor(() => expect(server.sent).toHaveLength(1));
    expect(server.sent[0]).toMatchObject({ type: 'purchasing.request.approve', body: { request_id: LOT1 } });
    server.answers['purchasing.request.approve'] = { status: 403, body: { code: 'same_approver', detail: 'a second person approves' } };
    await act(async () => {
      fireEvent.click(screen.getByTestId(`request-${LOT2}`).querySelector('button.primary')!);
    });
    expect((await screen.findByRole('alert')).textContent).toMatch(/second person approves.*same_approver/);
  });

  it('quality: a manager releases a rejected lot with a derogation', async () => {
    signIn('manager');
    server.gets['/api/v1/quality/lots?limit=200'] = { status: 200, body: { items: [{ lot: ROLL, lot_kind: 'roll', status: 'rejected', grade: 'second', location: 'QUAR' }], next_cursor: null } };
    wrap(<QualityOffice />);
    const row = await screen.findByTestId(`qlot-${ROLL}`);
    fireEvent.change(row.querySelector('input')!, { target: { value: 'client accepte le 2e choix' } });
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Libérer par dérogation' }));
    });
    await waitFor(() => expect(server.sent).toHaveLength(1));
    expect(server.sent[0]).toMatchObject({ type: 'quality.lot.approve', body: { lot: ROLL, lot_kind: 'roll', derogation: 'client accepte le 2e choix' } });
  });

  it('quality: lots by status, NCs and overdue actions', async () => {
    signIn('quality');
    server.gets['/api/v1/quality/lots?limit=200'] = { status: 200, body: { items: [{ lot: ROLL, lot_kind: 'roll', status: 'rejected', grade: 'second', location: 'QUAR' }], next_cursor: null } };
    server.gets['/api/v1/quality/lots?status=approved&limit=200'] = { status: 200, body: { items: [], next_cursor: null } };
    server.gets['/api/v1/quality/ncs'] = { status: 200, body: { items: [{ nc_id: 'n1', title: 'Trous L3', source: 'inspection', status: 'open', lots: [ROLL], opened_at: '2026-12-01T08:00:00Z' }], next_cursor: null } };
    server.gets['/api/v1/quality/actions/overdue'] = { status: 200, body: { items: [] } };
    server.gets['/api/v1/quality/yields'] = { status: 200, body: { by: 'loom', items: [{ key: 'L1', rolls: 2, first_choice: 18, second_choice: 2, waste_pieces: 0, first_share: '0.9000' }] } };
    wrap(<QualityOffice />);
    expect((await screen.findByTestId('quality-lots')).textContent).toMatch(/rejeté \(quarantaine\).*2e choix.*QUAR/);
    expect(screen.queryByRole('button', { name: /Libérer|Accepter/ })).toBeNull(); // an inspector does not sign
    expect((await screen.findByTestId('ncs')).textContent).toMatch(/Trous L3.*ouverte/);
    expect(await screen.findByText(/L1: 90 %/)).toBeTruthy();
    type('lot-status', 'approved');
    await waitFor(() => expect(screen.getByTestId('quality-lots').textContent).toContain('Aucun'));
  });
});
