/*
 * AccountingOffice.tsx — the office's pay and accounting screens (the ledger is posted by
 * reactions and by accountants' commands; the forms are OfficeCommands.tsx's: an entry by
 * hand, an invoice from a delivery, a payment received, a pay period closed):
 *   accounting (/office/accounting): the trial balance as of a date; a click on an account
 *     shows its entries, each with its author and the event it was posted from (a pay
 *     accrual, an invoice, a payment: `fofal replay` and the audit trail go on from there);
 *     sales invoices with what is due, aged receivables, treasury (bank and cash);
 *   payslip (/office/payslip): an employee's payslip of a month (hours, pieces by grade and
 *     rate, gross, whether the site's period is closed), from
 *     /api/v1/hr/employees/{badge}/payslip.
 */
import { useState } from 'react';
import { ErrorBox, Loading, num, Shell } from '../components';
import { getJson } from '../lib/api';
import { useLoad } from '../lib/hooks';
import { useI18n } from '../lib/i18n';
import { money } from './OfficeScreens';
import { ClosePayPeriod, IssueInvoice, ManualEntry, RecordPayment } from './OfficeCommands';

const q = (params: Record<string, string>) => {
  const s = new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString();
  return s ? `?${s}` : '';
};

interface TrialLine {
  account: string;
  debit_minor: number;
  credit_minor: number;
  balance_minor: number;
}
interface Trial {
  as_of: string | null;
  accounts: TrialLine[];
  debit_minor: number;
  credit_minor: number;
}
interface EntryHead {
  entry_id: string;
  date: string;
  memo: string | null;
  total_minor: number;
  posted_by: string;
  source: { event_id: string; type: string } | null;
}
interface AccountEntries {
  account: string;
  balance_minor: number;
  debit_minor: number;
  credit_minor: number;
  lines: { debit_minor: number; credit_minor: number; label: string | null; entry: EntryHead }[];
}
interface Invoice {
  invoice_id: string;
  number: string;
  customer: string;
  currency: string;
  date: string;
  due_date: string;
  total_minor: number;
  due_minor: number;
}
interface Receivables {
  as_of: string;
  customers: { customer: string; currency: string; not_due_minor: number; days_1_30_minor: number; days_31_60_minor: number; days_61_90_minor: number; over_90_minor: number; open_minor: number }[];
}
interface Treasury {
  accounts: { account: string; ledger_account: string; currency: string; received_minor: number; made_minor: number; balance_minor: number }[];
}

export function AccountingOffice() {
  const { t } = useI18n();
  const [asOf, setAsOf] = useState('');
  const [account, setAccount] = useState('');
  const [after, setAfter] = useState(''); // a command's position: the reads wait until they have it
  const trial = useLoad(() => getJson<Trial>(`/api/v1/accounting/trial-balance${q({ as_of: asOf, position: after })}`), [asOf, after]);
  const invoices = useLoad(() => getJson<{ invoices: Invoice[] }>(`/api/v1/sales/invoices${q({ position: after })}`), [after]);
  const done = (p?: string) => setAfter(p ?? '');
  const receivables = useLoad(() => getJson<Receivables>(`/api/v1/sales/receivables${q({ as_of: asOf, position: after })}`), [asOf, after]);
  const treasury = useLoad(() => getJson<Treasury>(`/api/v1/sales/treasury${q({ as_of: asOf, position: after })}`), [asOf, after]);
  return (
    <Shell title={t('office.accounting')} wide>
      <div className="grid">
        <section className="card" data-testid="trial-balance">
          <h2>{t('acc.trial')}</h2>
          <label>
            {t('acc.asOf')}
            <input name="as-of" type="date" value={asOf} onChange={(e) => setAsOf(e.target.value)} />
          </label>
          <ErrorBox error={trial.error} onRetry={trial.reload} />
          {!trial.data && !trial.error && <Loading />}
          {trial.data && (
            <table>
              <thead>
                <tr>
                  <th>{t('acc.account')}</th>
                  <th>{t('acc.debit')}</th>
                  <th>{t('acc.credit')}</th>
                  <th>{t('acc.balance')}</th>
                </tr>
              </thead>
              <tbody>
                {trial.data.accounts.map((a) => (
                  <tr key={a.account} className={a.account === account ? 'selected' : undefined}>
                    <td>
                      <button type="button" className="link" onClick={() => setAccount(a.account)} aria-label={t('acc.entriesOf', { a: a.account })}>
                        {a.account}
                      </button>
                    </td>
                    <td>{money(a.debit_minor)}</td>
                    <td>{money(a.credit_minor)}</td>
                    <td>{money(a.balance_minor)}</td>
                  </tr>
                ))}
              </tbody>
              <tfoot>
                <tr>
                  <th>{t('acc.total')}</th>
                  <th>{money(trial.data.debit_minor)}</th>
                  <th>{money(trial.data.credit_minor)}</th>
                  <th />
                </tr>
              </tfoot>
            </table>
          )}
        </section>
        <section className="card span2" data-testid="account-entries">
          <h2>{account ? t('acc.entriesOf', { a: account }) : t('acc.pick')}</h2>
          {account && <Entries account={account} asOf={asOf} />}
        </section>
        <section className="card span2" data-testid="invoices">
          <h2>{t('acc.invoices')}</h2>
          <ErrorBox error={invoices.error} onRetry={invoices.reload} />
          {invoices.data && !invoices.data.invoices.length && <p className="muted">{t('none')}</p>}
          {!!invoices.data?.invoices.length && (
            <table>
              <thead>
                <tr>
                  <th>{t('acc.number')}</th>
                  <th>{t('acc.customer')}</th>
                  <th>{t('acc.date')}</th>
                  <th>{t('acc.dueDate')}</th>
                  <th>{t('acc.totalInv')}</th>
                  <th>{t('acc.due')}</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {invoices.data.invoices.map((i) => (
                  <tr key={i.invoice_id}>
                    <td className="mono">{i.number}</td>
                    <td>{i.customer}</td>
                    <td>{i.date}</td>
                    <td>{i.due_date}</td>
                    <td>{money(i.total_minor, i.currency)}</td>
                    <td>{money(i.due_minor, i.currency)}</td>
                    <td>
                      <RecordPayment key={`${i.invoice_id}-${i.due_minor}`} invoice={i.invoice_id} due={i.due_minor} currency={i.currency} onDone={done} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <IssueInvoice onDone={done} />
        <ManualEntry onDone={done} />
        <section className="card" data-testid="treasury">
          <h2>{t('acc.treasury')}</h2>
          <ErrorBox error={treasury.error} onRetry={treasury.reload} />
          {treasury.data && !treasury.data.accounts.length && <p className="muted">{t('none')}</p>}
          <ul className="list">
            {treasury.data?.accounts.map((a) => (
              <li key={`${a.account}-${a.currency}`}>
                <span>
                  {t(`acc.${a.account}`)} ({a.ledger_account})
                  <span className="muted small">
                    {' '}
                    +{money(a.received_minor, a.currency)} −{money(a.made_minor, a.currency)}
                  </span>
                </span>
                <strong>{money(a.balance_minor, a.currency)}</strong>
              </li>
            ))}
          </ul>
        </section>
        <section className="card span2" data-testid="receivables">
          <h2>{t('acc.receivables')}</h2>
          <ErrorBox error={receivables.error} onRetry={receivables.reload} />
          {receivables.data && !receivables.data.customers.length && <p className="muted">{t('none')}</p>}
          {!!receivables.data?.customers.length && (
            <table>
              <thead>
                <tr>
                  <th>{t('acc.customer')}</th>
                  <th>{t('acc.notDue')}</th>
                  <th>1–30</th>
                  <th>31–60</th>
                  <th>61–90</th>
                  <th>&gt; 90</th>
                  <th>{t('acc.open')}</th>
                </tr>
              </thead>
              <tbody>
                {receivables.data.customers.map((c) => (
                  <tr key={`${c.customer}-${c.currency}`} className={c.over_90_minor || c.days_61_90_minor ? 'late' : undefined}>
                    <td>{c.customer}</td>
                    <td>{money(c.not_due_minor, c.currency)}</td>
                    <td>{money(c.days_1_30_minor, c.currency)}</td>
                    <td>{money(c.days_31_60_minor, c.currency)}</td>
                    <td>{money(c.days_61_90_minor, c.currency)}</td>
                    <td>{money(c.over_90_minor, c.currency)}</td>
                    <td>
                      <strong>{money(c.open_minor, c.currency)}</strong>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
    </Shell>
  );
}

/* An account's lines, newest first, each with its entry and the event it came from. */
function Entries({ account, asOf }: { account: string; asOf: string }) {
  const { t } = useI18n();
  const e = useLoad(() => getJson<AccountEntries>(`/api/v1/accounting/accounts/${encodeURIComponent(account)}/entries${q({ as_of: asOf })}`), [account, asOf]);
  if (e.error) return <ErrorBox error={e.error} onRetry={e.reload} />;
  if (!e.data) return <Loading />;
  return (
    <>
      <p>
        {t('acc.balance')}: <strong>{money(e.data.balance_minor)}</strong>
      </p>
      <table>
        <thead>
          <tr>
            <th>{t('acc.date')}</th>
            <th>{t('acc.memo')}</th>
            <th>{t('acc.debit')}</th>
            <th>{t('acc.credit')}</th>
            <th>{t('acc.by')}</th>
            <th>{t('acc.source')}</th>
          </tr>
        </thead>
        <tbody>
          {e.data.lines.map((l, i) => (
            <tr key={`${l.entry.entry_id}-${i}`}>
              <td>{l.entry.date}</td>
              <td>{l.label ?? l.entry.memo ?? '—'}</td>
              <td>{l.debit_minor ? money(l.debit_minor) : ''}</td>
              <td>{l.credit_minor ? money(l.credit_minor) : ''}</td>
              <td>{l.entry.posted_by}</td>
              <td className="mono small" title={l.entry.source?.event_id}>
                {l.entry.source ? `${l.entry.source.type} · ${l.entry.source.event_id.slice(0, 8)}` : t('acc.manual')}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/* ------------------------------------------------------------ payslip */

interface Payslip {
  badge: string;
  period: string;
  hours: { clockings: number; worked_min: number; overtime_min: number; late_min: number; absence_days: number };
  pieces: { role: string; article: string; grade: string | null; unit: string; rate_minor: number; lines: number; quantity: number; amount_minor: number }[];
  gross_minor: number;
  sites: { site: string; closed: boolean; period_gross_minor: number | null }[];
}

export function PayslipOffice() {
  const { t } = useI18n();
  const [badge, setBadge] = useState('');
  const [period, setPeriod] = useState(new Date().toISOString().slice(0, 7));
  const [shown, setShown] = useState<{ badge: string; period: string } | null>(null);
  return (
    <Shell title={t('office.payslip')} wide>
      <section className="card" data-testid="payslip">
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            setShown({ badge: badge.trim().toUpperCase(), period });
          }}
        >
          <label>
            {t('pay.badge')}
            <input name="badge" value={badge} onChange={(e) => setBadge(e.target.value)} required maxLength={32} />
          </label>
          <label>
            {t('pay.period')}
            <input name="period" type="month" value={period} onChange={(e) => setPeriod(e.target.value)} required />
          </label>
          <button type="submit" className="primary">
            {t('pay.show')}
          </button>
        </form>
        {shown && <Slip key={`${shown.badge}-${shown.period}`} badge={shown.badge} period={shown.period} />}
      </section>
      <ClosePayPeriod />
    </Shell>
  );
}

function Slip({ badge, period }: { badge: string; period: string }) {
  const { t } = useI18n();
  const s = useLoad(() => getJson<Payslip>(`/api/v1/hr/employees/${encodeURIComponent(badge)}/payslip${q({ period })}`), [badge, period]);
  if (s.error) return <ErrorBox error={s.error} onRetry={s.reload} />;
  if (!s.data) return <Loading />;
  const h = s.data.hours;
  return (
    <>
      <h2>
        {s.data.badge} · {s.data.period}
      </h2>
      <p data-testid="payslip-hours">
        {t('pay.worked')}: {num(h.worked_min / 60, 1)} h · {t('pay.overtime')}: {num(h.overtime_min / 60, 1)} h · {t('pay.late')}: {h.late_min} min · {t('pay.absences')}: {h.absence_days}
      </p>
      <table>
        <thead>
          <tr>
            <th>{t('pay.role')}</th>
            <th>{t('pay.article')}</th>
            <th>{t('pay.grade')}</th>
            <th>{t('pay.quantity')}</th>
            <th>{t('pay.rate')}</th>
            <th>{t('pay.amount')}</th>
          </tr>
        </thead>
        <tbody>
          {s.data.pieces.map((p, i) => (
            <tr key={i}>
              <td>{t(`role.${p.role}`)}</td>
              <td>{p.article}</td>
              <td>{p.grade ?? '—'}</td>
              <td>
                {p.quantity} {p.unit}
              </td>
              <td>{money(p.rate_minor)}</td>
              <td>{money(p.amount_minor)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        {t('pay.gross')}: <strong data-testid="payslip-gross">{money(s.data.gross_minor)}</strong>
      </p>
      <ul className="list small">
        {s.data.sites.map((x) => (
          <li key={x.site}>
            {x.site}: {x.closed ? t('pay.closed') : t('pay.open')}
          </li>
        ))}
      </ul>
    </>
  );
}
