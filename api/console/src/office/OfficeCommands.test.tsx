/*
 * OfficeCommands.test.tsx — the office's command forms against a fake server: each shown
 * only to the roles its command allows, the body it sends with its Idempotency-Key (amounts
 * typed in TND sent in millimes), the server's refusal shown with its reason.
 */
import { act, cleanup, configure, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resetDbForTests } from '../lib/idb';
import { I18nProvider } from '../lib/i18n';
import { setTokens } from '../lib/session';
import { BudgetLineForm, budgetBody, ClosePayPeriod, entryBody, ManualEntry, ProjectsOffice, RecordPayment } from './OfficeCommands';

configure({ asyncUtilTimeout: 8000 });
vi.setConfig({ testTimeout: 30000 });

function signIn(role: string, badge = '') {
  const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  setTokens({ access_token: `${b64({ alg: 'HS256' })}.${b64({ tenant: 't1', sub: `acc-${role}`, role, ...(badge ? { badge } : {}) })}.sig`, expires_in: 300 });
}

type Answer = { status: number; body: unknown };
let gets: Record<string, Answer>;
let answers: Record<string, Answer>;
let sent: { type: string; key: string | null; body: Record<string, unknown> }[];
beforeEach(() => {
  globalThis.indexedDB = new IDBFactory();
  resetDbForTests();
  gets = {};
  answers = {};
  sent = [];
  vi.stubGlobal('fetch', async (url: string, init: RequestInit = {}) => {
    const reply = (a: Answer) => new Response(JSON.stringify(a.body), { status: a.status, headers: { 'Content-Type': 'application/json' } });
    if (init.method === 'POST' && url.startsWith('/api/v1/commands/')) {
      const type = url.slice('/api/v1/commands/'.length);
      sent.push({ type, key: new Headers(init.headers).get('Idempotency-Key'), body: JSON.parse(String(init.body)) });
      return reply(answers[type] ?? { status: 201, body: { events: [{ type: 'x', seq: 1 }], position: `p${sent.length}` } });
    }
    return reply(gets[url] ?? gets[url.replace(/[&?]position=[^&]*$/, '')] ?? { status: 404, body: { code: 'not_found', detail: 'no such resource' } });
  });
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

describe('pay period', () => {
  it('is hidden from a role that may not close it, and sends the month and site', async () => {
    signIn('manager');
    const { unmount } = wrap(<ClosePayPeriod />);
    expect(screen.queryByTestId('pay-close')).toBeNull();
    unmount();
    signIn('hr');
    wrap(<ClosePayPeriod />);
    type('close-period', '2026-11');
    type('close-site', 'SFAX');
    await click('Clôturer la période de paie');
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]).toMatchObject({ type: 'hr.pay_period.close', body: { period: '2026-11', site: 'SFAX' } });
    expect(sent[0].key).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('budget line', () => {
  it('sends millimes in the month’s year, and shows a refusal', async () => {
    expect(budgetBody({ centre: ' tissage ', account: '641', month: '2027-03', amount: '1 500,250'.replace(' ', ''), note: '' })).toEqual({
      year: '2027', cost_centre: 'TISSAGE', account: '641', month: '2027-03', amount_minor: 1500250,
    });
    signIn('auditor');
    const { unmount } = wrap(<BudgetLineForm year="2027" onDone={() => {}} />);
    expect(screen.queryByTestId('budget-set')).toBeNull();
    unmount();
    signIn('accountant');
    const done = vi.fn();
    wrap(<BudgetLineForm year="2027" onDone={done} />);
    type('budget-centre', 'COUPE');
    type('budget-account', '641');
    type('budget-month', '2027-02');
    type('budget-amount', '10');
    answers['control.budget.set'] = { status: 422, body: { code: 'account_in_other_centre', detail: 'account 641 is budgeted in cost centre TISSAGE this year' } };
    await click('Enregistrer');
    expect((await screen.findByRole('alert')).textContent).toMatch(/TISSAGE.*account_in_other_centre/);
    expect(done).not.toHaveBeenCalled();
    expect(sent[0].body).toMatchObject({ year: '2027', cost_centre: 'COUPE', amount_minor: 10000 });
  });
});

describe('projects', () => {
  it('adds a task to a project and marks it done', async () => {
    signIn('planner');
    gets['/api/v1/projects/projects?status=open'] = { status: 200, body: { items: [{ project: 'AUDIT-27', name: 'OEKO-TEX', status: 'open', due: '2027-06-30', currency: 'TND', budget_minor: 0, costs_minor: 0, progress: null, late: false }] } };
    gets['/api/v1/projects/projects/AUDIT-27'] = { status: 200, body: { project: 'AUDIT-27', name: 'OEKO-TEX', tasks: 1, task_list: [{ project: 'AUDIT-27', task: 'T1', title: 'Dossier', owner: 'M1', due: '2027-01-31', state: 'todo', overdue: false }] } };
    wrap(<ProjectsOffice />);
    expect(screen.queryByTestId('project-create')).toBeNull(); // project.create: manager and admin
    await screen.findByRole('button', { name: 'AUDIT-27' });
    await click('AUDIT-27');
    await screen.findByTestId('task-actions-T1');
    type('task-code', 'T2');
    type('task-title', 'Audit blanc');
    type('task-owner', 'Q1');
    type('task-due', '2027-03-31');
    await click('Ajouter la tâche');
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]).toMatchObject({ type: 'projects.project.add_task', body: { project: 'AUDIT-27', task: 'T2', title: 'Audit blanc', owner: 'Q1', due: '2027-03-31' } });
    await click('Fait');
    await waitFor(() => expect(sent).toHaveLength(2));
    expect(sent[1]).toMatchObject({ type: 'projects.project.set_task_state', body: { project: 'AUDIT-27', task: 'T1', state: 'done' } });
  });
});

describe('accounting and sales', () => {
  it('builds an entry in millimes without empty lines', () => {
    expect(entryBody('e1', '2026-12-07', ' ', [
      { account: '6061', debit: '125,5', credit: '', label: '' },
      { account: '532', debit: '', credit: '125.5', label: 'banque' },
      { account: '', debit: '', credit: '', label: '' },
    ])).toEqual({ entry_id: 'e1', date: '2026-12-07', lines: [{ account: '6061', debit_minor: 125500, credit_minor: 0 }, { account: '532', debit_minor: 0, credit_minor: 125500, label: 'banque' }] });
  });

  it('posts an entry (accountant only) and shows the unbalanced refusal', async () => {
    signIn('manager');
    const { unmount } = wrap(<ManualEntry onDone={() => {}} />);
    expect(screen.queryByTestId('entry-post')).toBeNull();
    unmount();
    signIn('accountant');
    wrap(<ManualEntry onDone={() => {}} />);
    type('entry-account-0', '6061');
    type('entry-debit-0', '10');
    type('entry-account-1', '532');
    type('entry-credit-1', '9');
    expect(screen.getByText('Débit ≠ crédit')).toBeTruthy();
    answers['accounting.entry.post'] = { status: 422, body: { code: 'unbalanced', detail: 'the debits (10000) and credits (9000) differ by 1000 minor units' } };
    await click('Passer l’écriture');
    expect((await screen.findByRole('alert')).textContent).toMatch(/unbalanced/);
    expect(sent[0].body.entry_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('records a payment received of what is due', async () => {
    signIn('accountant');
    const done = vi.fn();
    wrap(<RecordPayment invoice="inv-1" due={2070600} currency="TND" onDone={done} />);
    await click('Encaisser');
    expect((document.querySelector('[name="pay-amount"]') as HTMLInputElement).value).toBe('2070.6');
    type('pay-account', 'cash');
    await click('Enregistrer');
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]).toMatchObject({ type: 'sales.payment.record', body: { invoice_id: 'inv-1', direction: 'received', account: 'cash', amount_minor: 2070600 } });
    await waitFor(() => expect(done).toHaveBeenCalledWith('p1'));
  });
});
