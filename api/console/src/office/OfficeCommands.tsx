/*
 * OfficeCommands.tsx — the office's command forms, each sending one existing command
 * through the outbox (useCommand: the server's refusal shown with its reason):
 *
 *   ClosePayPeriod   hr.pay_period.close (a month, a site)            hr, admin
 *   BudgetLineForm   control.budget.set (a year's line: cost centre,   accountant, manager,
 *                    account, month, amount)                            admin
 *   ProjectsOffice   /office/projects: open projects, a project's tasks, a new project
 *                    (project.create: manager, admin), a new task (project.add_task:
 *                    planner, manager, admin), a task's state (project.set_task_state)
 *   ManualEntry      accounting.entry.post by hand (dated lines, debit and   accountant, admin
 *                    credit; the totals shown, the server checks balance and period)
 *   IssueInvoice     sales.invoice.issue from a delivery's id                manager, accountant,
 *   RecordPayment    sales.payment.record against an invoice still due       admin
 *
 * A form is shown only to the roles its command's schema names (x-fofal-roles); the
 * server still decides, and its refusal is shown.
 */
import { useState, type FormEvent } from 'react';
import { ErrorBox, Loading, pct, Shell } from '../components';
import { getJson, newKey } from '../lib/api';
import { useLoad, useSession } from '../lib/hooks';
import { useI18n } from '../lib/i18n';
import { OutcomeBox, scaled, useCommand } from '../floor/kit';
import { money } from './OfficeScreens';
import { TaskList, type Task } from './ControlOffice';

/* Whether the signed-in role is one of `roles` (what the command's schema allows). */
export function useRole(roles: string[]): boolean {
  const role = useSession()?.claims.role ?? '';
  return roles.includes(role);
}

export const ROLES_PAY_CLOSE = ['hr', 'admin'];
export const ROLES_BUDGET_SET = ['accountant', 'manager', 'admin'];
export const ROLES_PROJECT_CREATE = ['manager', 'admin'];
export const ROLES_TASK_ADD = ['planner', 'manager', 'admin'];

/* An amount typed in major units (12,5 TND) as minor units (millimes). */
export const minor = (text: string) => scaled(text, 1000);

/* ------------------------------------------------------------------ pay period */

export function ClosePayPeriod() {
  const { t } = useI18n();
  const cmd = useCommand();
  const allowed = useRole(ROLES_PAY_CLOSE);
  const [period, setPeriod] = useState(() => new Date(Date.now() - 28 * 86400000).toISOString().slice(0, 7));
  const [site, setSite] = useState('');
  if (!allowed) return null;
  const send = (e: FormEvent) => {
    e.preventDefault();
    void cmd.send('hr.pay_period.close', { period, ...(site.trim() ? { site: site.trim() } : {}) });
  };
  return (
    <section className="card" data-testid="pay-close">
      <h2>{t('cmd.payClose')}</h2>
      <form className="row" onSubmit={send}>
        <label>
          {t('pay.period')}
          <input name="close-period" type="month" value={period} onChange={(e) => setPeriod(e.target.value)} required />
        </label>
        <label>
          {t('cmd.site')}
          <input name="close-site" value={site} onChange={(e) => setSite(e.target.value)} maxLength={32} placeholder="main" />
        </label>
        <button type="submit" className="danger" disabled={cmd.busy} data-testid="pay-close-send">
          {t('cmd.payClose')}
        </button>
      </form>
      <OutcomeBox outcome={cmd.outcome} />
    </section>
  );
}

/* ------------------------------------------------------------------ budget line */

export function budgetBody(f: { centre: string; account: string; month: string; amount: string; note: string }) {
  return {
    year: f.month.slice(0, 4),
    cost_centre: f.centre.trim().toUpperCase(),
    account: f.account.trim(),
    month: f.month,
    amount_minor: minor(f.amount) ?? 0,
    ...(f.note.trim() ? { note: f.note.trim() } : {}),
  };
}

export function BudgetLineForm({ year, onDone }: { year: string; onDone: (position?: string) => void }) {
  const { t } = useI18n();
  const cmd = useCommand();
  const allowed = useRole(ROLES_BUDGET_SET);
  const [centre, setCentre] = useState('');
  const [account, setAccount] = useState('');
  const [month, setMonth] = useState(`${year}-01`);
  const [amount, setAmount] = useState('');
  const [note, setNote] = useState('');
  if (!allowed) return null;
  const send = async (e: FormEvent) => {
    e.preventDefault();
    const o = await cmd.send('control.budget.set', budgetBody({ centre, account, month, amount, note }));
    if (o.state === 'done') onDone(o.item?.position);
  };
  return (
    <form className="card span2" onSubmit={send} data-testid="budget-set">
      <h2>{t('cmd.budgetSet')}</h2>
      <div className="row">
        <label>
          {t('ctl.centre')}
          <input name="budget-centre" value={centre} onChange={(e) => setCentre(e.target.value)} required maxLength={64} placeholder="TISSAGE" />
        </label>
        <label>
          {t('acc.account')}
          <input name="budget-account" inputMode="numeric" pattern="[67][0-9]{1,7}" value={account} onChange={(e) => setAccount(e.target.value)} required placeholder="641" />
        </label>
        <label>
          {t('ctl.month')}
          <input name="budget-month" type="month" value={month} onChange={(e) => setMonth(e.target.value)} required />
        </label>
        <label>
          {t('cmd.amount')}
          <input name="budget-amount" inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} required />
        </label>
        <label>
          {t('cmd.note')}
          <input name="budget-note" value={note} onChange={(e) => setNote(e.target.value)} maxLength={500} />
        </label>
        <button type="submit" className="primary" disabled={cmd.busy} data-testid="budget-set-send">
          {t('save')}
        </button>
      </div>
      <OutcomeBox outcome={cmd.outcome} />
    </form>
  );
}

/* ------------------------------------------------------------------ projects */

interface ProjectRow {
  project: string;
  name: string;
  status: string;
  due: string;
  currency: string;
  budget_minor: number;
  costs_minor: number;
  progress: number | string | null;
  late: boolean;
}
interface ProjectView extends ProjectRow {
  task_list: Task[]; /* (tasks is their count) */
}

const pos = (p?: string) => (p ? `?position=${encodeURIComponent(p)}` : '');

export function ProjectsOffice() {
  const { t } = useI18n();
  const [after, setAfter] = useState<string | undefined>();
  const [code, setCode] = useState<string | null>(null);
  const list = useLoad(() => getJson<{ items: ProjectRow[] }>(`/api/v1/projects/projects?status=open${after ? `&position=${encodeURIComponent(after)}` : ''}`), [after]);
  return (
    <Shell title={t('office.projects')} wide>
      <div className="grid">
        <section className="card span2" data-testid="project-list">
          <h2>{t('ctl.projects')}</h2>
          <ErrorBox error={list.error} onRetry={list.reload} />
          {!list.data && !list.error && <Loading />}
          {list.data && !list.data.items.length && <p className="muted">{t('none')}</p>}
          {!!list.data?.items.length && (
            <table>
              <thead>
                <tr>
                  <th>{t('ctl.project')}</th>
                  <th>{t('ctl.due')}</th>
                  <th>{t('ctl.progress')}</th>
                  <th>{t('ctl.costs')}</th>
                </tr>
              </thead>
              <tbody>
                {list.data.items.map((p) => (
                  <tr key={p.project} className={p.late ? 'late' : undefined}>
                    <td>
                      <button type="button" className="link" onClick={() => setCode(p.project)} aria-pressed={code === p.project}>
                        <strong>{p.project}</strong>
                      </button>{' '}
                      <span className="muted small">{p.name}</span>
                    </td>
                    <td>{p.due}</td>
                    <td>{p.progress === null ? '—' : pct(Number(p.progress))}</td>
                    <td>
                      {money(p.costs_minor, p.currency)} / {money(p.budget_minor, p.currency)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <NewProject onDone={(p, c) => (setAfter(p), setCode(c))} />
        {code && <ProjectTasks key={code} code={code} since={after} onChanged={setAfter} />}
      </div>
    </Shell>
  );
}

function NewProject({ onDone }: { onDone: (position: string | undefined, code: string) => void }) {
  const { t } = useI18n();
  const cmd = useCommand();
  const allowed = useRole(ROLES_PROJECT_CREATE);
  const [f, setF] = useState({ project: '', name: '', kind: 'other', owner: '', start: new Date().toISOString().slice(0, 10), due: '', budget: '' });
  if (!allowed) return null;
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const send = async (e: FormEvent) => {
    e.preventDefault();
    const code = f.project.trim();
    const o = await cmd.send('projects.project.create', {
      project: code,
      name: f.name.trim(),
      kind: f.kind,
      owner: f.owner.trim(),
      start: f.start,
      due: f.due,
      budget_minor: minor(f.budget) ?? 0,
    });
    if (o.state === 'done') onDone(o.item?.position, code);
  };
  return (
    <form className="card" onSubmit={send} data-testid="project-create">
      <h2>{t('cmd.projectNew')}</h2>
      <label>
        {t('ctl.project')}
        <input name="project-code" value={f.project} onChange={set('project')} required maxLength={64} pattern="[A-Za-z0-9][A-Za-z0-9._\-]*" />
      </label>
      <label>
        {t('cmd.name')}
        <input name="project-name" value={f.name} onChange={set('name')} required maxLength={120} />
      </label>
      <label>
        {t('cmd.kind')}
        <select name="project-kind" value={f.kind} onChange={set('kind')}>
          {['collection', 'installation', 'audit', 'other'].map((k) => (
            <option key={k} value={k}>
              {t(`pkind.${k}`)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t('nc.owner')}
        <input name="project-owner" value={f.owner} onChange={set('owner')} required maxLength={64} />
      </label>
      <div className="row">
        <label>
          {t('cmd.start')}
          <input name="project-start" type="date" value={f.start} onChange={set('start')} required />
        </label>
        <label>
          {t('ctl.due')}
          <input name="project-due" type="date" value={f.due} onChange={set('due')} required />
        </label>
      </div>
      <label>
        {t('cmd.budget')}
        <input name="project-budget" inputMode="decimal" value={f.budget} onChange={set('budget')} required />
      </label>
      <button type="submit" className="primary" disabled={cmd.busy} data-testid="project-create-send">
        {t('cmd.create')}
      </button>
      <OutcomeBox outcome={cmd.outcome} />
    </form>
  );
}

/* A project's tasks, read as of `since` first (a project just created is there). */
function ProjectTasks({ code, since, onChanged }: { code: string; since?: string; onChanged: (position?: string) => void }) {
  const { t } = useI18n();
  const cmd = useCommand();
  const canAdd = useRole(ROLES_TASK_ADD);
  const [after, setAfter] = useState<string | undefined>(since);
  const view = useLoad(() => getJson<ProjectView>(`/api/v1/projects/projects/${encodeURIComponent(code)}${pos(after)}`), [code, after]);
  const [task, setTask] = useState({ task: '', title: '', owner: '', due: '' });
  const done = (o: { state: string; item?: { position?: string } }) => {
    if (o.state !== 'done') return false;
    setAfter(o.item?.position);
    onChanged(o.item?.position);
    return true;
  };
  const add = async (e: FormEvent) => {
    e.preventDefault();
    const o = await cmd.send('projects.project.add_task', { project: code, task: task.task.trim(), title: task.title.trim(), owner: task.owner.trim(), due: task.due });
    if (done(o)) setTask({ task: '', title: '', owner: '', due: '' });
  };
  const state = async (x: Task, s: string) => done(await cmd.send('projects.project.set_task_state', { project: code, task: x.task, state: s }));
  const setT = (k: keyof typeof task) => (e: { target: { value: string } }) => setTask({ ...task, [k]: e.target.value });
  return (
    <section className="card span2" data-testid="project-tasks">
      <h2>
        {code} {view.data && <span className="muted small">{view.data.name}</span>}
      </h2>
      <ErrorBox error={view.error} onRetry={view.reload} />
      {!view.data && !view.error && <Loading />}
      {view.data && (
        <>
          <TaskList items={view.data.task_list ?? []} />
          <ul className="list">
            {(view.data.task_list ?? [])
              .filter((x) => x.state !== 'done' && x.state !== 'cancelled')
              .map((x) => (
                <li key={x.task} data-testid={`task-actions-${x.task}`}>
                  <span>{x.title}</span>
                  <span className="row">
                    {x.state !== 'doing' && (
                      <button type="button" disabled={cmd.busy} onClick={() => void state(x, 'doing')}>
                        {t('cmd.taskDoing')}
                      </button>
                    )}
                    <button type="button" className="primary" disabled={cmd.busy} onClick={() => void state(x, 'done')}>
                      {t('cmd.taskDone')}
                    </button>
                  </span>
                </li>
              ))}
          </ul>
        </>
      )}
      {canAdd && (
        <form className="row" onSubmit={add} data-testid="task-add">
          <label>
            {t('cmd.task')}
            <input name="task-code" value={task.task} onChange={setT('task')} required maxLength={64} pattern="[A-Za-z0-9][A-Za-z0-9._\-]*" />
          </label>
          <label>
            {t('cmd.title')}
            <input name="task-title" value={task.title} onChange={setT('title')} required maxLength={200} />
          </label>
          <label>
            {t('nc.owner')}
            <input name="task-owner" value={task.owner} onChange={setT('owner')} required maxLength={64} />
          </label>
          <label>
            {t('ctl.due')}
            <input name="task-due" type="date" value={task.due} onChange={setT('due')} required />
          </label>
          <button type="submit" className="primary" disabled={cmd.busy} data-testid="task-add-send">
            {t('cmd.taskAdd')}
          </button>
        </form>
      )}
      <OutcomeBox outcome={cmd.outcome} />
    </section>
  );
}

/* ------------------------------------------------------------------ accounting and sales */

export const ROLES_ENTRY_POST = ['accountant', 'admin'];
export const ROLES_SALES = ['manager', 'accountant', 'admin'];

export interface EntryLine {
  account: string;
  debit: string;
  credit: string;
  label: string;
}

/* The body of accounting.entry.post from the lines typed (amounts in major units; an empty
 * line left out). The server checks the balance (unbalanced) and the period. */
export function entryBody(id: string, date: string, memo: string, lines: EntryLine[]) {
  return {
    entry_id: id,
    date,
    ...(memo.trim() ? { memo: memo.trim() } : {}),
    lines: lines
      .filter((l) => l.account.trim())
      .map((l) => ({
        account: l.account.trim(),
        debit_minor: minor(l.debit) ?? 0,
        credit_minor: minor(l.credit) ?? 0,
        ...(l.label.trim() ? { label: l.label.trim() } : {}),
      })),
  };
}

const today = () => new Date().toISOString().slice(0, 10);
const blankLine = (): EntryLine => ({ account: '', debit: '', credit: '', label: '' });

export function ManualEntry({ onDone }: { onDone: (position?: string) => void }) {
  const { t } = useI18n();
  const cmd = useCommand();
  const allowed = useRole(ROLES_ENTRY_POST);
  const [date, setDate] = useState(today);
  const [memo, setMemo] = useState('');
  const [lines, setLines] = useState<EntryLine[]>(() => [blankLine(), blankLine()]);
  if (!allowed) return null;
  const set = (i: number, l: Partial<EntryLine>) => setLines((all) => all.map((x, j) => (j === i ? { ...x, ...l } : x)));
  const debit = lines.reduce((a, l) => a + (minor(l.debit) ?? 0), 0);
  const credit = lines.reduce((a, l) => a + (minor(l.credit) ?? 0), 0);
  const send = async (e: FormEvent) => {
    e.preventDefault();
    const o = await cmd.send('accounting.entry.post', entryBody(newKey(), date, memo, lines));
    if (o.state !== 'done') return;
    setMemo('');
    setLines([blankLine(), blankLine()]);
    onDone(o.item?.position);
  };
  return (
    <form className="card span2" onSubmit={send} data-testid="entry-post">
      <h2>{t('cmd.entry')}</h2>
      <div className="row">
        <label>
          {t('acc.date')}
          <input name="entry-date" type="date" value={date} onChange={(e) => setDate(e.target.value)} required />
        </label>
        <label>
          {t('cmd.memo')}
          <input name="entry-memo" value={memo} onChange={(e) => setMemo(e.target.value)} maxLength={200} />
        </label>
      </div>
      <table>
        <thead>
          <tr>
            <th>{t('acc.account')}</th>
            <th>{t('acc.debit')}</th>
            <th>{t('acc.credit')}</th>
            <th>{t('cmd.label')}</th>
          </tr>
        </thead>
        <tbody>
          {lines.map((l, i) => (
            <tr key={i}>
              <td>
                <input name={`entry-account-${i}`} aria-label={`${t('acc.account')} ${i + 1}`} inputMode="numeric" value={l.account} onChange={(e) => set(i, { account: e.target.value })} />
              </td>
              <td>
                <input name={`entry-debit-${i}`} aria-label={`${t('acc.debit')} ${i + 1}`} inputMode="decimal" value={l.debit} onChange={(e) => set(i, { debit: e.target.value })} />
              </td>
              <td>
                <input name={`entry-credit-${i}`} aria-label={`${t('acc.credit')} ${i + 1}`} inputMode="decimal" value={l.credit} onChange={(e) => set(i, { credit: e.target.value })} />
              </td>
              <td>
                <input name={`entry-label-${i}`} aria-label={`${t('cmd.label')} ${i + 1}`} value={l.label} onChange={(e) => set(i, { label: e.target.value })} maxLength={200} />
              </td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th>{t('acc.total')}</th>
            <th>{money(debit)}</th>
            <th>{money(credit)}</th>
            <th>{debit !== credit && <span className="pill warn">{t('cmd.unbalanced')}</span>}</th>
          </tr>
        </tfoot>
      </table>
      <div className="row">
        <button type="button" onClick={() => setLines((all) => (all.length < 50 ? [...all, blankLine()] : all))}>
          {t('cmd.addLine')}
        </button>
        <button type="submit" className="primary" disabled={cmd.busy} data-testid="entry-post-send">
          {t('cmd.post')}
        </button>
      </div>
      <OutcomeBox outcome={cmd.outcome} />
    </form>
  );
}

/* An invoice from a delivery (sales.invoice.issue: the server numbers it, FA-YYYY-…). */
export function IssueInvoice({ onDone }: { onDone: (position?: string) => void }) {
  const { t } = useI18n();
  const cmd = useCommand();
  const allowed = useRole(ROLES_SALES);
  const [delivery, setDelivery] = useState('');
  const [date, setDate] = useState(today);
  if (!allowed) return null;
  const send = async (e: FormEvent) => {
    e.preventDefault();
    const o = await cmd.send('sales.invoice.issue', { invoice_id: newKey(), delivery_id: delivery.trim().toLowerCase(), date });
    if (o.state !== 'done') return;
    setDelivery('');
    onDone(o.item?.position);
  };
  return (
    <form className="card" onSubmit={send} data-testid="invoice-issue">
      <h2>{t('cmd.invoice')}</h2>
      <label>
        {t('cmd.delivery')}
        <input name="invoice-delivery" value={delivery} onChange={(e) => setDelivery(e.target.value)} required pattern="[0-9a-fA-F\-]{36}" />
      </label>
      <label>
        {t('acc.date')}
        <input name="invoice-date" type="date" value={date} onChange={(e) => setDate(e.target.value)} required />
      </label>
      <button type="submit" className="primary" disabled={cmd.busy} data-testid="invoice-issue-send">
        {t('cmd.issue')}
      </button>
      <OutcomeBox outcome={cmd.outcome} />
    </form>
  );
}

/* A payment received against an invoice (sales.payment.record), what is due offered. */
export function RecordPayment({ invoice, due, currency, onDone }: { invoice: string; due: number; currency: string; onDone: (position?: string) => void }) {
  const { t } = useI18n();
  const cmd = useCommand();
  const allowed = useRole(ROLES_SALES);
  const [open, setOpen] = useState(false);
  const [amount, setAmount] = useState(() => String(due / 1000));
  const [account, setAccount] = useState('bank');
  const [date, setDate] = useState(today);
  const [reference, setReference] = useState('');
  if (!allowed || due <= 0) return null;
  if (!open)
    return (
      <button type="button" onClick={() => setOpen(true)} data-testid={`pay-${invoice}`}>
        {t('cmd.pay')}
      </button>
    );
  const send = async (e: FormEvent) => {
    e.preventDefault();
    const o = await cmd.send('sales.payment.record', {
      invoice_id: invoice,
      payment_id: newKey(),
      direction: 'received',
      account,
      amount_minor: minor(amount) ?? 0,
      date,
      ...(reference.trim() ? { reference: reference.trim() } : {}),
    });
    if (o.state === 'done') onDone(o.item?.position);
  };
  return (
    <form onSubmit={send} data-testid={`payment-${invoice}`}>
      <div className="row">
        <label>
          {t('cmd.amount')} ({currency})
          <input name="pay-amount" inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} required />
        </label>
        <label>
          {t('cmd.account')}
          <select name="pay-account" value={account} onChange={(e) => setAccount(e.target.value)}>
            <option value="bank">{t('cmd.bank')}</option>
            <option value="cash">{t('cmd.cash')}</option>
          </select>
        </label>
        <label>
          {t('acc.date')}
          <input name="pay-date" type="date" value={date} onChange={(e) => setDate(e.target.value)} required />
        </label>
        <label>
          {t('cmd.reference')}
          <input name="pay-reference" value={reference} onChange={(e) => setReference(e.target.value)} maxLength={80} />
        </label>
        <button type="submit" className="primary" disabled={cmd.busy}>
          {t('cmd.record')}
        </button>
      </div>
      <OutcomeBox outcome={cmd.outcome} />
    </form>
  );
}
