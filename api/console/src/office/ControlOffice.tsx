/*
 * ControlOffice.tsx — management control (/office/control): a year's budget
 * against the ledger's actuals (bar chart per account or per month, the lines with their
 * variance and share consumed, charges, products and result), the projects with their
 * progress and budget consumption, and the tasks past due; and a budget line set
 * (control.budget.set, OfficeCommands.tsx) for the roles that may.
 */
import { useState } from 'react';
import { ErrorBox, Loading, pct, Shell } from '../components';
import { getJson } from '../lib/api';
import { useLoad, useSession } from '../lib/hooks';
import { useI18n } from '../lib/i18n';
import { BarChart } from './BarChart';
import { money } from './OfficeScreens';
import { BudgetLineForm } from './OfficeCommands';
import { OutcomeBox, useCommand } from '../floor/kit';

interface BudgetLine {
  cost_centre: string | null;
  account: string;
  month: string;
  budget_minor: number;
  actual_minor: number;
  variance_minor: number;
  consumed: number | string | null;
}
interface Totals {
  budget_minor: number;
  actual_minor: number;
  variance_minor: number;
}
interface Budget {
  year: string;
  status: string;
  lines: BudgetLine[];
  charges: Totals;
  products: Totals;
  result: Totals;
}
interface Project {
  project: string;
  name: string;
  status: string;
  due: string;
  currency: string;
  budget_minor: number;
  costs_minor: number;
  consumed: number | string | null;
  progress: number | string | null;
  overdue_tasks: number;
  late: boolean;
}
export interface Task {
  project: string;
  task: string;
  title: string;
  owner: string;
  due: string;
  state: string;
  overdue: boolean;
}

/* Budget and actual summed by account or by month (in major units for the chart). */
export function budgetSeries(lines: BudgetLine[], by: 'account' | 'month') {
  const m = new Map<string, [number, number]>();
  for (const l of lines) {
    const k = l[by];
    const v = m.get(k) ?? [0, 0];
    m.set(k, [v[0] + l.budget_minor, v[1] + l.actual_minor]);
  }
  const keys = [...m.keys()].sort();
  return { labels: keys, budget: keys.map((k) => m.get(k)![0] / 1000), actual: keys.map((k) => m.get(k)![1] / 1000) };
}

export function ControlOffice() {
  const { t } = useI18n();
  const [year, setYear] = useState(String(new Date().getFullYear()));
  const [by, setBy] = useState<'account' | 'month'>('account');
  const [after, setAfter] = useState<string | undefined>();
  const budget = useLoad(() => getJson<Budget>(`/api/v1/control/budgets/${encodeURIComponent(year)}${after ? `?position=${encodeURIComponent(after)}` : ''}`), [year, after]);
  const projects = useLoad(() => getJson<{ items: Project[] }>('/api/v1/projects/projects?status=open'), []);
  const overdue = useLoad(() => getJson<{ items: Task[] }>('/api/v1/projects/tasks?overdue=true'), []);
  const s = budgetSeries(budget.data?.lines ?? [], by);
  return (
    <Shell title={t('office.control')} wide>
      <div className="grid">
        <section className="card span2" data-testid="budget">
          <h2>{t('ctl.budget', { y: year })}</h2>
          <div className="row">
            <label>
              {t('ctl.year')}
              <input name="year" inputMode="numeric" pattern="[0-9]{4}" value={year} onChange={(e) => /^\d{0,4}$/.test(e.target.value) && setYear(e.target.value)} />
            </label>
            <label>
              {t('ctl.by')}
              <select name="by" value={by} onChange={(e) => setBy(e.target.value as 'account' | 'month')}>
                <option value="account">{t('acc.account')}</option>
                <option value="month">{t('ctl.month')}</option>
              </select>
            </label>
          </div>
          <ErrorBox error={year.length === 4 ? budget.error : undefined} onRetry={budget.reload} />
          {!budget.data && !budget.error && <Loading />}
          {budget.data && (
            <>
              <BarChart labels={s.labels} values={s.budget} label={t('ctl.budgetS')} color="#94a3b8" second={{ label: t('ctl.actual'), values: s.actual, color: '#0f3d3e' }} testId="budget-chart" />
              <p data-testid="budget-result">
                {t('ctl.status')}: {t(`ctl.${budget.data.status}`)} · {t('ctl.charges')}: {money(budget.data.charges.actual_minor)} / {money(budget.data.charges.budget_minor)} · {t('ctl.products')}: {money(budget.data.products.actual_minor)} /{' '}
                {money(budget.data.products.budget_minor)} · {t('ctl.result')}: <strong>{money(budget.data.result.actual_minor)}</strong> ({t('ctl.variance')} {money(budget.data.result.variance_minor)})
              </p>
              <table>
                <thead>
                  <tr>
                    <th>{t('ctl.centre')}</th>
                    <th>{t('acc.account')}</th>
                    <th>{t('ctl.month')}</th>
                    <th>{t('ctl.budgetS')}</th>
                    <th>{t('ctl.actual')}</th>
                    <th>{t('ctl.variance')}</th>
                    <th>{t('ctl.consumed')}</th>
                  </tr>
                </thead>
                <tbody>
                  {budget.data.lines.map((l) => (
                    <tr key={`${l.cost_centre}-${l.account}-${l.month}`} className={l.account.startsWith('6') && l.variance_minor > 0 ? 'late' : undefined}>
                      <td>{l.cost_centre ?? '—'}</td>
                      <td>{l.account}</td>
                      <td>{l.month}</td>
                      <td>{money(l.budget_minor)}</td>
                      <td>{money(l.actual_minor)}</td>
                      <td>{money(l.variance_minor)}</td>
                      <td>{l.consumed === null ? '—' : pct(Number(l.consumed))}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </section>
        <BudgetLineForm key={year} year={year} onDone={setAfter} />
        <section className="card span2" data-testid="projects">
          <h2>{t('ctl.projects')}</h2>
          <ErrorBox error={projects.error} onRetry={projects.reload} />
          {projects.data && !projects.data.items.length && <p className="muted">{t('none')}</p>}
          {!!projects.data?.items.length && (
            <table>
              <thead>
                <tr>
                  <th>{t('ctl.project')}</th>
                  <th>{t('ctl.due')}</th>
                  <th>{t('ctl.progress')}</th>
                  <th>{t('ctl.costs')}</th>
                  <th>{t('ctl.consumed')}</th>
                  <th>{t('ctl.overdue')}</th>
                </tr>
              </thead>
              <tbody>
                {projects.data.items.map((p) => (
                  <tr key={p.project} className={p.late ? 'late' : undefined}>
                    <td>
                      <strong>{p.project}</strong> <span className="muted small">{p.name}</span>
                    </td>
                    <td>
                      {p.due} {p.late && <span className="pill bad">{t('kit.late')}</span>}
                    </td>
                    <td>
                      <progress max={1} value={Number(p.progress ?? 0)} /> {p.progress === null ? '—' : pct(Number(p.progress))}
                    </td>
                    <td>
                      {money(p.costs_minor, p.currency)} / {money(p.budget_minor, p.currency)}
                    </td>
                    <td>{p.consumed === null ? '—' : pct(Number(p.consumed))}</td>
                    <td>{p.overdue_tasks}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section className="card" data-testid="overdue-tasks">
          <h2>{t('ctl.overdueTasks')}</h2>
          <ErrorBox error={overdue.error} onRetry={overdue.reload} />
          {overdue.data && <TaskList items={overdue.data.items} />}
        </section>
      </div>
    </Shell>
  );
}

/* Tasks, overdue first then by due date; with `onDone`, a "done" button on each open one. */
export function TaskList({ items, onDone }: { items: Task[]; onDone?: (x: Task) => void }) {
  const { t } = useI18n();
  if (!items.length) return <p className="muted">{t('none')}</p>;
  const sorted = [...items].sort((a, b) => Number(b.overdue) - Number(a.overdue) || a.due.localeCompare(b.due));
  return (
    <ul className="list">
      {sorted.map((x) => (
        <li key={`${x.project}-${x.task}`} data-testid={`task-${x.project}-${x.task}`}>
          <span>
            <strong>{x.title}</strong>{' '}
            <span className="muted small">
              {x.project} · {x.owner} · {x.due}
            </span>
          </span>
          <span className={x.overdue ? 'pill bad' : 'pill'}>{x.overdue ? t('kit.late') : t(`task.${x.state}`)}</span>
          {onDone && x.state !== 'done' && x.state !== 'cancelled' && (
            <button type="button" onClick={() => onDone(x)} aria-label={`${t('cmd.taskDone')} — ${x.title}`}>
              {t('cmd.taskDone')}
            </button>
          )}
        </li>
      ))}
    </ul>
  );
}

/* "My tasks" on a floor phone: the projects' tasks of the signed-in badge (the server
 * answers a non-planner only their own), overdue first; each marked done from the phone
 * (projects.project.set_task_state: the owner may). */
export function MyTasks() {
  const { t } = useI18n();
  const cmd = useCommand();
  const badge = useSession()?.claims.badge ?? '';
  const [after, setAfter] = useState<string | undefined>();
  const q = after ? `&position=${encodeURIComponent(after)}` : '';
  const tasks = useLoad(() => (badge ? getJson<{ items: Task[] }>(`/api/v1/projects/tasks?owner=${encodeURIComponent(badge)}${q}`) : Promise.resolve({ items: [] as Task[] })), [badge, after]);
  const done = async (x: Task) => {
    const o = await cmd.send('projects.project.set_task_state', { project: x.project, task: x.task, state: 'done' });
    if (o.state === 'done') setAfter(o.item?.position);
  };
  const open = (tasks.data?.items ?? []).filter((x) => x.state !== 'done' && x.state !== 'cancelled');
  if (tasks.error || !open.length) return null;
  return (
    <section className="card" data-testid="my-tasks">
      <h2>{t('ctl.myTasks')}</h2>
      <TaskList items={open} onDone={(x) => void done(x)} />
      <OutcomeBox outcome={cmd.outcome} />
    </section>
  );
}
