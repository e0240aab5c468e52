/*
 * AccountingControl.test.tsx — the office's accounting, payslip and management control
 * screens against a fake server: the reads each sends, from the trial balance to an
 * account's entries and their source event, a refusal shown with the server's reason, the
 * budget's series for the chart, overdue tasks first.
 */
import { act, cleanup, configure, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { I18nProvider } from '../lib/i18n';
import { setTokens } from '../lib/session';
import { AccountingOffice, PayslipOffice } from './AccountingOffice';
import { budgetSeries, ControlOffice, TaskList } from './ControlOffice';

configure({ asyncUtilTimeout: 8000 });
vi.setConfig({ testTimeout: 30000 });
vi.mock('./BarChart', () => ({ BarChart: ({ testId }: { testId?: string }) => <div data-testid={testId} /> }));

function signIn(role: string, badge = 'X1') {
  const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  setTokens({ access_token: `${b64({ alg: 'HS256' })}.${b64({ tenant: 't1', sub: `acc-${role}`, role, badge })}.sig`, expires_in: 300 });
}

type Answer = { status: number; body: unknown };
let gets: Record<string, Answer>;
let got: string[];
beforeEach(() => {
  gets = {};
  got = [];
  vi.stubGlobal('fetch', async (url: string) => {
    got.push(url);
    const a = gets[url] ?? gets[url.split('?')[0]] ?? { status: 404, body: { code: 'not_found', detail: 'no such resource' } };
    return new Response(JSON.stringify(a.body), { status: a.status, headers: { 'Content-Type': 'application/json' } });
  });
  vi.stubGlobal('navigator', { onLine: true });
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});
const wrap = (el: JSX.Element) => render(<I18nProvider lang="fr">{el}</I18nProvider>);
const ok = (body: unknown): Answer => ({ status: 200, body });

describe('accounting', () => {
  it('goes from the trial balance to an account’s entries and their source event', async () => {
    signIn('accountant');
    gets['/api/v1/accounting/trial-balance'] = ok({ as_of: null, accounts: [{ account: '428', debit_minor: 0, credit_minor: 12500, balance_minor: -12500 }, { account: '640', debit_minor: 12500, credit_minor: 0, balance_minor: 12500 }], debit_minor: 12500, credit_minor: 12500 });
    gets['/api/v1/sales/invoices'] = ok({ invoices: [{ invoice_id: 'i1', number: 'FA-2026-00001', customer: 'HOTEL', currency: 'TND', date: '2026-12-01', due_date: '2026-12-31', total_minor: 2070600, due_minor: 1070600 }] });
    gets['/api/v1/sales/receivables'] = ok({ as_of: '2026-12-07', invoices: [], customers: [{ customer: 'HOTEL', currency: 'TND', not_due_minor: 1070600, days_1_30_minor: 0, days_31_60_minor: 0, days_61_90_minor: 0, over_90_minor: 0, open_minor: 1070600 }] });
    gets['/api/v1/sales/treasury'] = ok({ as_of: null, accounts: [{ account: 'bank', ledger_account: '532', currency: 'TND', received_minor: 1000000, made_minor: 0, balance_minor: 1000000 }] });
    gets['/api/v1/accounting/accounts/428/entries'] = ok({ account: '428', balance_minor: -12500, debit_minor: 0, credit_minor: 12500, lines: [{ debit_minor: 0, credit_minor: 12500, label: 'Paie W101', entry: { entry_id: 'e1', date: '2026-12-02', memo: null, total_minor: 12500, posted_by: 'fofal-reactor', source: { event_id: 'abcdef0123456789', type: 'pay_accrued' } } }] });
    wrap(<AccountingOffice />);
    await screen.findByText('FA-2026-00001');
    expect(screen.getByTestId('treasury').textContent).toContain('Banque (532)');
    expect(screen.getByTestId('receivables').textContent).toContain('HOTEL');
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Écritures du compte 428' }));
    });
    await screen.findByText('pay_accrued · abcdef01');
    expect(screen.getByText('Paie W101')).toBeTruthy();
    // A date asks every read as of it.
    fireEvent.change(document.querySelector('[name="as-of"]')!, { target: { value: '2026-11-30' } });
    await waitFor(() => expect(got).toContain('/api/v1/accounting/trial-balance?as_of=2026-11-30'));
    expect(got).toContain('/api/v1/accounting/accounts/428/entries?as_of=2026-11-30');
    expect(got).toContain('/api/v1/sales/treasury?as_of=2026-11-30');
  });

  it('shows a refusal with the server’s reason', async () => {
    signIn('auditor');
    gets['/api/v1/accounting/trial-balance'] = { status: 403, body: { code: 'forbidden', detail: 'role auditor may not read this' } };
    wrap(<AccountingOffice />);
    await screen.findByText(/Accès refusé \(forbidden\)/);
  });

  it('payslip: asks the badge’s month and shows the gross', async () => {
    signIn('hr');
    gets['/api/v1/hr/employees/C01/payslip'] = ok({ badge: 'C01', period: '2026-11', hours: { clockings: 20, worked_min: 9600, overtime_min: 60, late_min: 5, absence_days: 1 }, pieces: [{ role: 'cutter', article: 'SERV-50', grade: 'first', unit: 'piece', rate_minor: 150, lines: 3, quantity: 40, amount_minor: 6000 }], gross_minor: 6000, sites: [{ site: 'S1', closed: true, period_gross_minor: 6000 }] });
    wrap(<PayslipOffice />);
    fireEvent.change(document.querySelector('[name="badge"]')!, { target: { value: 'c01' } });
    fireEvent.change(document.querySelector('[name="period"]')!, { target: { value: '2026-11' } });
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Afficher' }));
    });
    await screen.findByTestId('payslip-gross');
    expect(got).toContain('/api/v1/hr/employees/C01/payslip?period=2026-11');
    expect(screen.getByTestId('payslip-gross').textContent).toContain('6');
    expect(screen.getByText(/période clôturée/)).toBeTruthy();
  });

  it('payslip: an unknown badge says so', async () => {
    signIn('accountant');
    wrap(<PayslipOffice />);
    fireEvent.change(document.querySelector('[name="badge"]')!, { target: { value: 'Z9' } });
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Afficher' }));
    });
    await screen.findByText(/no such resource/);
  });
});

describe('management control', () => {
  it('sums budget and actual by account or month for the chart', () => {
    const lines = [
      { cost_centre: 'TIS', account: '601', month: '2026-01', budget_minor: 1000, actual_minor: 1500, variance_minor: 500, consumed: 1.5 },
      { cost_centre: 'TIS', account: '601', month: '2026-02', budget_minor: 2000, actual_minor: 0, variance_minor: -2000, consumed: 0 },
      { cost_centre: 'TIS', account: '640', month: '2026-01', budget_minor: 3000, actual_minor: 1000, variance_minor: -2000, consumed: 0.33 },
    ];
    expect(budgetSeries(lines, 'account')).toEqual({ labels: ['601', '640'], budget: [3, 3], actual: [1.5, 1] });
    expect(budgetSeries(lines, 'month')).toEqual({ labels: ['2026-01', '2026-02'], budget: [4, 2], actual: [2.5, 0] });
  });

  it('reads the year’s budget, the open projects and the overdue tasks', async () => {
    signIn('manager');
    const y = String(new Date().getFullYear());
    gets[`/api/v1/control/budgets/${y}`] = ok({ year: y, status: 'open', lines: [{ cost_centre: 'TIS', account: '640', month: `${y}-01`, budget_minor: 5000, actual_minor: 6000, variance_minor: 1000, consumed: 1.2 }], charges: { budget_minor: 5000, actual_minor: 6000, variance_minor: 1000 }, products: { budget_minor: 0, actual_minor: 0, variance_minor: 0 }, result: { budget_minor: -5000, actual_minor: -6000, variance_minor: -1000 } });
    gets['/api/v1/projects/projects'] = ok({ items: [{ project: 'INSTALL-L25-L26', name: 'Installation', status: 'open', due: '2026-12-01', currency: 'TND', budget_minor: 100000, costs_minor: 25000, consumed: 0.25, progress: 0.5, overdue_tasks: 1, late: true }], next_cursor: null });
    gets['/api/v1/projects/tasks'] = ok({ items: [{ project: 'INSTALL-L25-L26', task: 'T1', title: 'Poser les métiers', owner: 'M02', due: '2026-11-20', state: 'doing', overdue: true }] });
    wrap(<ControlOffice />);
    await screen.findByText('Poser les métiers');
    await screen.findByTestId('budget-chart');
    expect(screen.getByTestId('projects').textContent).toContain('25 %');
    expect(got).toContain('/api/v1/projects/projects?status=open');
    expect(got).toContain('/api/v1/projects/tasks?overdue=true');
    expect(screen.getByTestId('budget-result').textContent).toContain('ouvert');
  });

  it('lists overdue tasks first', () => {
    wrap(
      <TaskList
        items={[
          { project: 'P', task: 'A', title: 'a', owner: 'M1', due: '2026-01-01', state: 'todo', overdue: false },
          { project: 'P', task: 'B', title: 'b', owner: 'M1', due: '2026-02-01', state: 'doing', overdue: true },
        ]}
      />,
    );
    const ids = [...document.querySelectorAll('[data-testid^="task-"]')].map((e) => e.getAttribute('data-testid'));
    expect(ids).toEqual(['task-P-B', 'task-P-A']);
  });
});
