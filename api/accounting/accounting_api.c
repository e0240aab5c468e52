/*
 * accounting_api.c — the accounting module's reads: the ledger as statements that answer
 * "why".
 *
 *   GET /api/v1/accounting/trial-balance?as_of=          every account's debits, credits
 *                                                        and balance up to a date, and the
 *                                                        totals (debits = credits)
 *   GET /api/v1/accounting/accounts/{account}/entries?as_of=
 *                                                        the lines behind an account's
 *                                                        balance (latest 500), each with
 *                                                        its entry, author and source event
 *   GET /api/v1/accounting/entries/{entry_id}            one entry: lines, author, source
 *   GET /api/v1/accounting/company                       the company the statements name
 *
 * From a balance to its entries, from an entry to the business event it was posted from
 * (source: the event id, which the audit trail and `fofal replay` show with its actor and
 * command). Money in integer minor units. The rows are the accounting projection's
 * (schemas/accounting/085_accounting.sql). Read by accountants, managers, auditors and
 * admins. ?as_of= is a date (inclusive; absent: every entry).
 *
 * Threads: the handler runs on the loop thread, run() on a read worker with a copy of
 * params_t; the routes table and OpenAPI text are read-only.
 */
#include "api.h"
#include "pdf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define ROLES_LEDGER "accountant manager auditor admin"
#define MAX_LINES 500

enum { A_TRIAL, A_ACCOUNT, A_ENTRY, A_CHART, A_LEDGER, A_INCOME, A_BALANCE, A_COMPANY, A_N };
#define P_AS_OF 1   /* ?as_of= */
#define P_RANGE 2   /* ?from=&to= */
#define P_ACCOUNT 4 /* ?account= */
#define P_CSV 8     /* ?format=csv */
#define P_PDF 16    /* ?format=pdf or Accept: application/pdf */
#define MAX_LEDGER_LINES 5000 /* per account */

static const fofal_read_route_t routes[A_N] = {
    [A_TRIAL] = {"/api/v1/accounting/trial-balance", "accounting.trial_balance.get", "The trial balance.",
                 "Every account's debits, credits and balance (debits − credits) over the entries dated up to "
                 "?as_of= (inclusive; absent: all), and the totals, which are equal: every entry balances. "
                 "?format=pdf (or Accept: application/pdf): as an A4 PDF, totals included.",
                 ROLES_LEDGER, NULL, P_AS_OF | P_PDF, "TrialBalance"},
    [A_ACCOUNT] = {"/api/v1/accounting/accounts/{account}/entries", "accounting.account_entries.get",
                   "The lines behind an account's balance.",
                   "Its lines up to ?as_of= (latest 500), each with its entry's date, memo, author (posted_by) and "
                   "source event (the business event it was posted from), and the balance.",
                   ROLES_LEDGER, NULL, P_AS_OF, "AccountEntries"},
    [A_ENTRY] = {"/api/v1/accounting/entries/{entry_id}", "accounting.entries.get", "One journal entry.",
                 "Its date, memo, lines, author and source event.", ROLES_LEDGER, NULL, 0, "Entry"},
    [A_CHART] = {"/api/v1/accounting/accounts", "accounting.accounts.get", "The chart of accounts.",
                 "The tenant's chart (the default SCE chart with the tenant's own definitions, "
                 "accounting.account.define), each account with its name, class, debits, credits and balance over "
                 "the entries dated up to ?as_of=; accounts posted to but not named are listed with a null name.",
                 ROLES_LEDGER, NULL, P_AS_OF, "Chart"},
    [A_LEDGER] = {"/api/v1/accounting/ledger", "accounting.ledger.get", "The general ledger.",
                  "Per account (all, or those whose number starts with ?account=: 6 is class 6): its name, its opening "
                  "balance before ?from=, its lines dated ?from= to ?to= (inclusive; absent: unbounded; at most 5000 "
                  "per account, then truncated is true) each with its entry, memo and running balance, and its closing "
                  "balance. ?format=csv: one row per line (text/csv, amounts as decimals, 3 places). ?format=pdf (or "
                  "Accept: application/pdf): as an A4 PDF, per account its opening balance, lines, totals and closing "
                  "balance, and the totals of all.",
                  ROLES_LEDGER, NULL, P_RANGE | P_ACCOUNT | P_CSV | P_PDF, "GeneralLedger"},
    [A_INCOME] = {"/api/v1/accounting/income-statement", "accounting.income_statement.get", "The income statement.",
                  "Charges (class 6, debit balances) and products (class 7, credit balances) per account over the entries "
                  "dated ?from= to ?to= (default: ?to= is ?as_of= or today, ?from= the 1 January of its year), their "
                  "totals and the result (products − charges; a year's closing entry is left out, so a closed year "
                  "still shows its result). ?format=csv: section, account, name, amount. ?format=pdf (or Accept: "
                  "application/pdf): an A4 page of it, totals included.",
                  ROLES_LEDGER, NULL, P_AS_OF | P_RANGE | P_CSV | P_PDF, "IncomeStatement"},
    [A_BALANCE] = {"/api/v1/accounting/balance-sheet", "accounting.balance_sheet.get", "The balance sheet.",
                   "At ?as_of= (inclusive; default today): assets (accounts of classes 2 to 5 with a debit balance), "
                   "equity and liabilities (class 1, and classes 2 to 5 with a credit balance) and the result not yet "
                   "closed (classes 7 − 6 up to that date), so assets_minor = equity_and_liabilities_minor + "
                   "result_minor. ?format=csv: section, account, name, amount. ?format=pdf (or Accept: "
                   "application/pdf): an A4 page of it, totals included.",
                   ROLES_LEDGER, NULL, P_AS_OF | P_CSV | P_PDF, "BalanceSheet"},
    [A_COMPANY] = {"/api/v1/accounting/company", "accounting.company.get", "The company the statements name.",
                   "The tenant's company name and tax id (accounting.company.set), printed under the title of every "
                   "statement's PDF, who set them and when; 404 while none is set (the PDFs print the tenant's code).",
                   ROLES_LEDGER, NULL, 0, "AccountingCompany"},
};

typedef struct {
  int route;
  char key[80];   /* the account or entry id of the path */
  char as_of[11]; /* "" when not given */
  char from[11], to[11];
  char account[9]; /* ?account=: a number's prefix ("" all) */
  int csv;         /* ?format=csv */
  int pdf;         /* ?format=pdf, or Accept: application/pdf */
} params_t;

/* ------------------------------------------------------------------ run */

#define ENTRY_OBJ(e)                                                                                                 \
  "json_build_object('entry_id', " e ".entry_id, 'date', " e ".date, 'memo', " e ".memo, 'total_minor', " e          \
  ".total_minor, 'posted_by', " e ".posted_by, 'posted_at', " TS(e ".posted_at") ", 'source', CASE WHEN " e          \
  ".source_event IS NULL THEN NULL ELSE json_build_object('event_id', " e ".source_event, 'type', " e ".source_type) " \
  "END)"

/* The tenant ($1)'s chart: the default SCE chart (086_accounting_chart.sql) with the
 * tenant's own definitions over it. */
#define CHART_CTE                                                                                                   \
  "WITH chart AS (SELECT coalesce(t.account, d.account) AS account, coalesce(t.name, d.name) AS name, "             \
  "coalesce(t.class, d.class) AS class FROM accounting_chart.chart_default d FULL JOIN (SELECT account, name, class FROM " \
  "accounting.accounts WHERE tenant = $1) t ON t.account = d.account) "

static const char chart_sql[] = CHART_CTE
    "SELECT json_build_object('as_of', nullif($2, ''), 'accounts', coalesce(json_agg(json_build_object('account', "
    "coalesce(c.account, b.account), 'name', c.name, 'class', coalesce(c.class, left(b.account, 1)::int), "
    "'debit_minor', coalesce(b.dr, 0), 'credit_minor', coalesce(b.cr, 0), 'balance_minor', coalesce(b.dr - b.cr, 0)) "
    "ORDER BY coalesce(c.account, b.account)), '[]'::json)) FROM chart c FULL JOIN (SELECT l.account, "
    "sum(l.debit_minor) AS dr, sum(l.credit_minor) AS cr FROM accounting.entry_lines l WHERE l.tenant = $1 AND ($2 = "
    "'' OR l.date <= $2::date) GROUP BY l.account) b ON b.account = c.account";

static const char trial_sql[] = CHART_CTE
    "SELECT json_build_object('as_of', nullif($2, ''), 'accounts', coalesce(json_agg(json_build_object('account', "
    "a.account, 'name', (SELECT c.name FROM chart c WHERE c.account = a.account), 'debit_minor', a.dr, 'credit_minor', a.cr, 'balance_minor', a.dr - a.cr) ORDER BY a.account), "
    "'[]'::json), 'debit_minor', coalesce(sum(a.dr), 0), 'credit_minor', coalesce(sum(a.cr), 0)) FROM (SELECT "
    "l.account, sum(l.debit_minor) AS dr, sum(l.credit_minor) AS cr FROM accounting.entry_lines l WHERE l.tenant = $1 "
    "AND ($2 = '' OR l.date <= $2::date) GROUP BY l.account) a";

static const char account_sql[] =
    "SELECT json_build_object('account', $2::text, 'as_of', nullif($3, ''), 'debit_minor', coalesce(sum(l.debit_minor), "
    "0), 'credit_minor', coalesce(sum(l.credit_minor), 0), 'balance_minor', coalesce(sum(l.debit_minor - "
    "l.credit_minor), 0), 'lines', coalesce((SELECT json_agg(x.j ORDER BY x.date DESC, x.posted_at DESC) FROM (SELECT "
    "m.date, e.posted_at, json_build_object('debit_minor', m.debit_minor, 'credit_minor', m.credit_minor, 'label', "
    "m.label, 'entry', " ENTRY_OBJ("e") ") AS j FROM accounting.entry_lines m JOIN accounting.entries e ON e.tenant = "
    "m.tenant AND e.entry_id = m.entry_id WHERE m.tenant = $1 AND m.account = $2 AND ($3 = '' OR m.date <= $3::date) "
    "ORDER BY m.date DESC, e.posted_at DESC LIMIT $4::int) x), '[]'::json)) FROM accounting.entry_lines l WHERE "
    "l.tenant = $1 AND l.account = $2 AND ($3 = '' OR l.date <= $3::date)";

static const char company_sql[] =
    "SELECT json_build_object('name', name, 'tax_id', tax_id, 'set_by', set_by, 'set_at', " TS("set_at") ") FROM "
    "accounting.company WHERE tenant = $1";

static const char entry_sql[] =
    "SELECT " ENTRY_OBJ("e") "::jsonb || jsonb_build_object('lines', (SELECT jsonb_agg(jsonb_build_object('account', "
    "l.account, 'debit_minor', l.debit_minor, 'credit_minor', l.credit_minor, 'label', l.label) ORDER BY l.n) FROM "
    "accounting.entry_lines l WHERE l.tenant = e.tenant AND l.entry_id = e.entry_id)) FROM accounting.entries e WHERE "
    "e.tenant = $1 AND e.entry_id = $2::uuid";

/* $1 tenant, $2 from, $3 to, $4 account prefix, $5 lines per account. */
static const char ledger_sql[] = CHART_CTE
    ", ls AS (SELECT l.account, l.date, l.entry_id, l.n, l.debit_minor, l.credit_minor, l.label, e.memo, e.posted_at "
    "FROM accounting.entry_lines l JOIN accounting.entries e ON e.tenant = l.tenant AND e.entry_id = l.entry_id WHERE "
    "l.tenant = $1 AND l.account LIKE $4 || '%' AND ($3 = '' OR l.date <= $3::date)), "
    "op AS (SELECT account, sum(debit_minor - credit_minor) AS ob FROM ls WHERE $2 <> '' AND date < $2::date GROUP BY "
    "account), "
    "pe AS (SELECT ls.*, row_number() OVER w AS rn, sum(debit_minor - credit_minor) OVER (w ROWS UNBOUNDED PRECEDING) "
    "AS run FROM ls WHERE $2 = '' OR date >= $2::date WINDOW w AS (PARTITION BY account ORDER BY date, posted_at, "
    "entry_id, n)), "
    "ac AS (SELECT account FROM op UNION SELECT account FROM pe) "
    "SELECT json_build_object('from', nullif($2, ''), 'to', nullif($3, ''), 'account', nullif($4, ''), 'truncated', "
    "EXISTS (SELECT 1 FROM pe WHERE rn > $5::int), 'accounts', coalesce((SELECT json_agg(json_build_object('account', "
    "ac.account, 'name', (SELECT c.name FROM chart c WHERE c.account = ac.account), 'opening_minor', coalesce(op.ob, "
    "0), 'debit_minor', (SELECT coalesce(sum(debit_minor), 0) FROM pe WHERE pe.account = ac.account), 'credit_minor', "
    "(SELECT coalesce(sum(credit_minor), 0) FROM pe WHERE pe.account = ac.account), 'closing_minor', coalesce(op.ob, "
    "0) + (SELECT coalesce(sum(debit_minor - credit_minor), 0) FROM pe WHERE pe.account = ac.account), 'lines', "
    "(SELECT coalesce(json_agg(json_build_object('date', pe.date, 'entry_id', pe.entry_id, 'memo', pe.memo, 'label', "
    "pe.label, 'debit_minor', pe.debit_minor, 'credit_minor', pe.credit_minor, 'balance_minor', coalesce(op.ob, 0) + "
    "pe.run) ORDER BY pe.rn), '[]'::json) FROM pe WHERE pe.account = ac.account AND pe.rn <= $5::int)) ORDER BY "
    "ac.account) FROM ac LEFT JOIN op ON op.account = ac.account), '[]'::json))";

/* Entries a year's closing posted (accounting.year.close) are left out of the income
 * statement: it shows the year's result, closed or not. */
#define NOT_CLOSING "e.source_type IS DISTINCT FROM 'fofal.accounting.year_closed.v1'"

/* $1 tenant, $2 from, $3 to, $4 as_of. */
static const char income_sql[] = CHART_CTE
    ", r AS (SELECT t, coalesce(nullif($2, '')::date, date_trunc('year', t)::date) AS f FROM (SELECT "
    "coalesce(nullif($3, ''), nullif($4, ''), to_char(current_date, 'YYYY-MM-DD'))::date AS t) x), "
    "s AS (SELECT l.account, sum(l.debit_minor - l.credit_minor) AS bal FROM accounting.entry_lines l JOIN "
    "accounting.entries e ON e.tenant = l.tenant AND e.entry_id = l.entry_id, r WHERE l.tenant = $1 AND "
    "left(l.account, 1) IN ('6', '7') AND l.date BETWEEN r.f AND r.t AND " NOT_CLOSING " GROUP BY l.account) "
    "SELECT json_build_object('from', r.f, 'to', r.t, "
    "'charges', (SELECT coalesce(json_agg(json_build_object('account', s.account, 'name', (SELECT c.name FROM chart c "
    "WHERE c.account = s.account), 'amount_minor', s.bal) ORDER BY s.account), '[]'::json) FROM s WHERE s.account LIKE "
    "'6%'), 'products', (SELECT coalesce(json_agg(json_build_object('account', s.account, 'name', (SELECT c.name FROM "
    "chart c WHERE c.account = s.account), 'amount_minor', -s.bal) ORDER BY s.account), '[]'::json) FROM s WHERE "
    "s.account LIKE '7%'), 'charges_minor', (SELECT coalesce(sum(bal), 0) FROM s WHERE s.account LIKE '6%'), "
    "'products_minor', (SELECT coalesce(-sum(bal), 0) FROM s WHERE s.account LIKE '7%'), 'result_minor', (SELECT "
    "coalesce(-sum(bal), 0) FROM s)) FROM r";

/* $1 tenant, $2 as_of. */
static const char balance_sql[] = CHART_CTE
    ", r AS (SELECT coalesce(nullif($2, ''), to_char(current_date, 'YYYY-MM-DD'))::date AS t), "
    "s AS (SELECT l.account, sum(l.debit_minor - l.credit_minor) AS bal FROM accounting.entry_lines l, r WHERE "
    "l.tenant = $1 AND l.date <= r.t GROUP BY l.account HAVING sum(l.debit_minor - l.credit_minor) <> 0), "
    "a AS (SELECT account, bal FROM s WHERE left(account, 1) BETWEEN '2' AND '5' AND bal > 0), "
    "p AS (SELECT account, -bal AS amt FROM s WHERE left(account, 1) = '1' OR (left(account, 1) BETWEEN '2' AND '5' "
    "AND bal < 0)) "
    "SELECT json_build_object('as_of', r.t, 'assets', (SELECT coalesce(json_agg(json_build_object('account', "
    "a.account, 'name', (SELECT c.name FROM chart c WHERE c.account = a.account), 'amount_minor', a.bal) ORDER BY "
    "a.account), '[]'::json) FROM a), 'equity_and_liabilities', (SELECT coalesce(json_agg(json_build_object("
    "'account', p.account, 'name', (SELECT c.name FROM chart c WHERE c.account = p.account), 'amount_minor', p.amt) "
    "ORDER BY p.account), '[]'::json) FROM p), 'assets_minor', (SELECT coalesce(sum(bal), 0) FROM a), "
    "'equity_and_liabilities_minor', (SELECT coalesce(sum(amt), 0) FROM p), 'result_minor', (SELECT "
    "coalesce(-sum(bal), 0) FROM s WHERE left(account, 1) IN ('6', '7'))) FROM r";

/* ----------------------------------------------------------------- CSV */

/* A member of o as a CSV field: strings as they are, integers as they are. */
static void csv_member(fofal__csv_t *c, const json_t *o, const char *k, int first) {
  const json_t *v = json_object_get(o, k);
  char num[32];
  if (json_is_integer(v)) snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
  fofal__csv_field(c, json_is_string(v) ? json_string_value(v) : json_is_integer(v) ? num : NULL, first);
}

/* Minor units as a decimal of 3 places (TND: millimes): -1234 → "-1.234". */
static void csv_amount(fofal__csv_t *c, const json_t *o, const char *k) {
  json_int_t v = json_integer_value(json_object_get(o, k));
  unsigned long long a = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  char s[40];
  snprintf(s, sizeof s, "%s%llu.%03llu", v < 0 ? "-" : "", a / 1000, a % 1000);
  fofal__csv_field(c, s, 0);
}

static void csv_eol(fofal__csv_t *c) { fofal__csv_put(c, "\r\n", 2); }
static void csv_text(fofal__csv_t *c, const char *s) { fofal__csv_put(c, s, strlen(s)); }

/* The statement `r` (ledger_sql's, income_sql's or balance_sql's) as CSV text. */
static void to_csv(int route, const json_t *r, fofal__csv_t *c) {
  size_t i, j;
  json_t *a, *l;
  if (route == A_LEDGER) {
    csv_text(c, "account,name,date,entry_id,memo,label,debit,credit,balance\r\n");
    json_array_foreach(json_object_get(r, "accounts"), i, a) {
      json_array_foreach(json_object_get(a, "lines"), j, l) {
        csv_member(c, a, "account", 1);
        csv_member(c, a, "name", 0);
        csv_member(c, l, "date", 0);
        csv_member(c, l, "entry_id", 0);
        csv_member(c, l, "memo", 0);
        csv_member(c, l, "label", 0);
        csv_amount(c, l, "debit_minor");
        csv_amount(c, l, "credit_minor");
        csv_amount(c, l, "balance_minor");
        csv_eol(c);
      }
    }
    return;
  }
  static const char *const income[][2] = {{"charges", "charges"}, {"products", "products"}};
  static const char *const balance[][2] = {{"assets", "assets"}, {"equity_and_liabilities", "equity_and_liabilities"}};
  const char *const(*sec)[2] = route == A_INCOME ? income : balance;
  csv_text(c, "section,account,name,amount\r\n");
  for (int k = 0; k < 2; k++) {
    json_array_foreach(json_object_get(r, sec[k][0]), i, a) {
      fofal__csv_field(c, sec[k][1], 1);
      csv_member(c, a, "account", 0);
      csv_member(c, a, "name", 0);
      csv_amount(c, a, "amount_minor");
      csv_eol(c);
    }
  }
  static const char *const itot[] = {"charges_minor", "products_minor", "result_minor", NULL};
  static const char *const btot[] = {"assets_minor", "equity_and_liabilities_minor", "result_minor", NULL};
  for (const char *const *t = route == A_INCOME ? itot : btot; *t; t++) {
    char name[40];
    snprintf(name, sizeof name, "%.*s", (int)(strlen(*t) - 6), *t);
    fofal__csv_field(c, "total", 1);
    fofal__csv_field(c, NULL, 0);
    fofal__csv_field(c, name, 0);
    csv_amount(c, r, *t);
    csv_eol(c);
  }
}

static void run(fofal_worker_t *w, const char *tenant, void *opaque, fofal__read_result_t *res) {
  const params_t *p = opaque;
  char err[512], lim[16];
  json_t *rows = NULL;
  snprintf(lim, sizeof lim, "%d", p->route == A_LEDGER ? MAX_LEDGER_LINES : MAX_LINES);
  const char *trial[] = {tenant, p->as_of}, *account[] = {tenant, p->key, p->as_of, lim}, *entry[] = {tenant, p->key};
  const char *ledger[] = {tenant, p->from, p->to, p->account, lim}, *income[] = {tenant, p->from, p->to, p->as_of};
  int rc = p->route == A_TRIAL     ? fofal__worker_query(w, tenant, trial_sql, 2, trial, &rows, err, sizeof err)
           : p->route == A_LEDGER  ? fofal__worker_query(w, tenant, ledger_sql, 5, ledger, &rows, err, sizeof err)
           : p->route == A_INCOME  ? fofal__worker_query(w, tenant, income_sql, 4, income, &rows, err, sizeof err)
           : p->route == A_BALANCE ? fofal__worker_query(w, tenant, balance_sql, 2, trial, &rows, err, sizeof err)
           : p->route == A_CHART   ? fofal__worker_query(w, tenant, chart_sql, 2, trial, &rows, err, sizeof err)
           : p->route == A_ACCOUNT ? fofal__worker_query(w, tenant, account_sql, 4, account, &rows, err, sizeof err)
           : p->route == A_COMPANY ? fofal__worker_query(w, tenant, company_sql, 1, trial, &rows, err, sizeof err)
                                   : fofal__worker_query(w, tenant, entry_sql, 2, entry, &rows, err, sizeof err);
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  json_t *r = json_array_get(rows, 0);
  if (!json_is_object(r)) {
    fofal__read_not_found(res, p->route == A_COMPANY ? "no company is set: accounting.company.set" : "entry");
    json_decref(rows);
    return;
  }
  res->status = 200;
  if (p->pdf) {
    static const char *const titles[] = {[A_TRIAL] = "Balance générale", [A_INCOME] = "Compte de résultat",
                                         [A_BALANCE] = "Bilan", [A_LEDGER] = "Grand livre"};
    char date_line[96], printed[64], today[11];
    const char *as_of = json_string_value(json_object_get(r, "as_of"));
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(today, sizeof today, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    if (p->route == A_INCOME)
      snprintf(date_line, sizeof date_line, "du %s au %s", json_string_value(json_object_get(r, "from")) ?: "",
               json_string_value(json_object_get(r, "to")) ?: "");
    else if (p->route == A_LEDGER) {
      /* The accounts asked for (?account=: those whose number starts so), and the dates. */
      int n = *p->account ? snprintf(date_line, sizeof date_line, "comptes %s…, ", p->account) : 0;
      snprintf(date_line + n, sizeof date_line - (size_t)n, "%s%s%s%s", *p->from ? "du " : "", p->from,
               *p->from ? " au " : "au ", *p->to ? p->to : today);
    } else
      snprintf(date_line, sizeof date_line, "au %s", as_of ? as_of : today);
    fofal__pdf_printed(printed);
    /* The company the statements name (accounting.company.set), else the tenant's code. */
    char who[400];
    if ((rc = fofal__pdf_company_line(w, tenant, who, sizeof who, err, sizeof err))) {
      fofal__read_fail(res, rc, err, 0);
      json_decref(rows);
      return;
    }
    fofal__pdf_doc_t doc = {.kind = p->route == A_TRIAL    ? FOFAL_PDF_TRIAL
                                    : p->route == A_INCOME ? FOFAL_PDF_INCOME
                                    : p->route == A_LEDGER ? FOFAL_PDF_LEDGER
                                                           : FOFAL_PDF_BALANCE,
                            .title = titles[p->route],
                            .tenant = who,
                            .date_line = date_line,
                            .printed = printed,
                            .statement = r};
    if (fofal__pdf_statement(&doc, &res->raw, &res->raw_len)) {
      fofal__read_fail(res, -1, "the PDF could not be drawn", 0);
      json_decref(rows);
      return;
    }
    res->ctype = "application/pdf";
  } else if (p->csv) {
    fofal__csv_t c = {0};
    to_csv(p->route, r, &c);
    if (!c.buf) {
      fofal__read_fail(res, -1, "out of memory", 0);
      json_decref(rows);
      return;
    }
    res->raw = c.buf;
    res->raw_len = c.len;
    res->ctype = "text/csv; charset=utf-8; header=present";
  } else
    res->body = json_incref(r);
  json_decref(rows);
}

/* -------------------------------------------------------------- routing */

/* Query date `name` into out[11] ("" when absent). 0, or -1 with a 400 sent. */
static int query_date(h2o_req_t *req, const char *name, char *out) {
  const char *v = fofal__query_param(req, name);
  int y, m, d, n = 0;
  if (!v || !*v) return 0;
  struct tm tm = {0};
  if (strlen(v) != 10 || sscanf(v, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || y < 1970 || m < 1 || m > 12 ||
      d < 1 || d > 31 || (tm.tm_year = y - 1900, tm.tm_mon = m - 1, tm.tm_mday = d, timegm(&tm), tm.tm_mday != d)) {
    char detail[80];
    snprintf(detail, sizeof detail, "%s must be a date YYYY-MM-DD", name);
    fofal__send_problem(req, 400, "invalid_date", detail, NULL);
    return -1;
  }
  memcpy(out, v, 11);
  return 0;
}

/* The query parameters of route p->route into p. 0, or -1 with a 400 sent. */
static int query(h2o_req_t *req, params_t *p) {
  int f = routes[p->route].params;
  if ((f & P_AS_OF) && query_date(req, "as_of", p->as_of)) return -1;
  if ((f & P_RANGE) && (query_date(req, "from", p->from) || query_date(req, "to", p->to))) return -1;
  if ((f & P_RANGE) && *p->from && *p->to && strcmp(p->from, p->to) > 0) {
    fofal__send_problem(req, 400, "invalid_range", "from is after to", NULL);
    return -1;
  }
  if (f & P_ACCOUNT) {
    const char *a = fofal__query_param(req, "account");
    size_t n = a ? strlen(a) : 0;
    if (n && (n > 8 || a[0] < '1' || a[0] > '7' || strspn(a, "0123456789") != n)) {
      fofal__send_problem(req, 400, "invalid_account", "account is an account number or its first digits (6, 64, 640)",
                          NULL);
      return -1;
    }
    if (n) memcpy(p->account, a, n + 1);
  }
  if (f & (P_CSV | P_PDF)) {
    const char *fm = fofal__query_param(req, "format");
    int csv = fm && !strcmp(fm, "csv") && (f & P_CSV), pdf = fm && !strcmp(fm, "pdf") && (f & P_PDF);
    if (fm && *fm && strcmp(fm, "json") && !csv && !pdf) {
      fofal__send_problem(req, 400, "invalid_format",
                          (f & P_CSV) && (f & P_PDF) ? "format is json, csv or pdf"
                          : (f & P_PDF)              ? "format is json or pdf"
                                                     : "format is json or csv",
                          NULL);
      return -1;
    }
    /* Without ?format=, Accept: application/pdf asks for the PDF (a browser's link). */
    if (!fm && (f & P_PDF)) {
      ssize_t h = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT, -1);
      if (h >= 0) {
        h2o_iovec_t v = req->headers.entries[h].value;
        pdf = h2o_strstr(v.base, v.len, H2O_STRLIT("application/pdf")) != SIZE_MAX;
      }
    }
    p->csv = csv;
    p->pdf = pdf;
  }
  return 0;
}

/* An account of the SCE classes 1 to 7, 2 to 8 digits, as entry.post's schema and the
 * decider take them: anything else (another tenant's ids included) is no account. */
static int account_number(const char *s) {
  size_t n = strlen(s);
  if (n < 2 || n > 8 || s[0] < '1' || s[0] > '7') return 0;
  for (size_t i = 1; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  return 1;
}

static int on_read(h2o_handler_t *self, h2o_req_t *req) {
  fofal_api_t *api = API_OF(self);
  fofal_principal_t who;
  params_t p;
  const char *path = req->path_normalized.base;
  size_t len = req->path_normalized.len;
  static const char base[] = "/api/v1/accounting/";
  atomic_fetch_add(&fofal__metrics.requests, 1);
  atomic_fetch_add(&fofal__metrics.reads, 1);
  memset(&p, 0, sizeof p);
  char s1[32], s3[32] = "";
  size_t at = sizeof base - 1;
  p.route = -1;
  if (path[len - 1] != '/' && !fofal__path_segment(path, len, &at, s1, sizeof s1)) {
    if (at == len && !strcmp(s1, "trial-balance")) p.route = A_TRIAL;
    else if (at == len && !strcmp(s1, "accounts")) p.route = A_CHART;
    else if (at == len && !strcmp(s1, "ledger")) p.route = A_LEDGER;
    else if (at == len && !strcmp(s1, "income-statement")) p.route = A_INCOME;
    else if (at == len && !strcmp(s1, "balance-sheet")) p.route = A_BALANCE;
    else if (at == len && !strcmp(s1, "company")) p.route = A_COMPANY;
    else if (at < len && !fofal__path_segment(path, len, &at, p.key, sizeof p.key) &&
             (at == len || (!fofal__path_segment(path, len, &at, s3, sizeof s3) && at == len))) {
      if (!strcmp(s1, "entries") && !*s3) p.route = A_ENTRY;
      else if (!strcmp(s1, "accounts") && !strcmp(s3, "entries")) p.route = A_ACCOUNT;
    }
  }
  if (p.route < 0) {
    fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
    return 0;
  }
  if (!fofal__get_only(req) || fofal__authenticate(api, req, &who)) return 0;
  if (fofal__read_roles_check(req, &who, routes[p.route].roles, routes[p.route].path + sizeof "/api/v1" - 1)) return 0;
  if ((p.route == A_ENTRY && !fofal_uuid_valid(p.key)) || (p.route == A_ACCOUNT && !account_number(p.key))) {
    fofal__send_problem(req, 404, "not_found", "no such entry or account", NULL);
    return 0;
  }
  if (routes[p.route].params && query(req, &p)) return 0;
  return fofal__read_serve(api, req, &who, 0, run, &p, sizeof p);
}

/* -------------------------------------------------------------- OpenAPI */

#define MINOR "{\"type\":\"integer\",\"description\":\"Integer minor units (millimes for TND).\"}"
#define ENTRY_PROPS                                                                                                    \
  "\"entry_id\":{\"type\":\"string\",\"format\":\"uuid\"},\"date\":{\"type\":\"string\",\"format\":\"date\"},"         \
  "\"memo\":{\"type\":[\"string\",\"null\"]},\"total_minor\":" MINOR ",\"posted_by\":{\"type\":\"string\","            \
  "\"description\":\"Who posted it: the token's actor, or r:<reaction>.\"},\"posted_at\":{\"type\":\"string\"},"      \
  "\"source\":{\"type\":[\"object\",\"null\"],\"description\":\"The business event it was posted from: its id (see "  \
  "the audit trail and fofal replay) and type.\"}"

static const char trial_schema[] =
    "{\"type\":\"object\",\"properties\":{\"as_of\":{\"type\":[\"string\",\"null\"]},\"accounts\":{\"type\":\"array\","
    "\"items\":{\"type\":\"object\",\"properties\":{\"account\":{\"type\":\"string\"},\"name\":{\"type\":[\"string\","
    "\"null\"],\"description\":\"Its name in the chart (null: not named).\"},\"debit_minor\":" MINOR
    ",\"credit_minor\":" MINOR ",\"balance_minor\":" MINOR "}}},\"debit_minor\":" MINOR ",\"credit_minor\":" MINOR "}}";

static const char account_schema[] =
    "{\"type\":\"object\",\"properties\":{\"account\":{\"type\":\"string\"},\"as_of\":{\"type\":[\"string\",\"null\"]},"
    "\"debit_minor\":" MINOR ",\"credit_minor\":" MINOR ",\"balance_minor\":" MINOR ",\"lines\":{\"type\":\"array\","
    "\"items\":{\"type\":\"object\",\"properties\":{\"debit_minor\":" MINOR ",\"credit_minor\":" MINOR ",\"label\":{},"
    "\"entry\":{\"type\":\"object\",\"properties\":{" ENTRY_PROPS "}}}}}}}";

static const char entry_schema[] =
    "{\"type\":\"object\",\"properties\":{" ENTRY_PROPS ",\"lines\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"properties\":{\"account\":{\"type\":\"string\"},\"debit_minor\":" MINOR ",\"credit_minor\":" MINOR
    ",\"label\":{}}}}}}";

static const char chart_schema[] =
    "{\"type\":\"object\",\"properties\":{\"as_of\":{\"type\":[\"string\",\"null\"]},\"accounts\":{\"type\":\"array\","
    "\"items\":{\"type\":\"object\",\"properties\":{\"account\":{\"type\":\"string\"},\"name\":{\"type\":[\"string\","
    "\"null\"]},\"class\":{\"type\":\"integer\"},\"debit_minor\":" MINOR ",\"credit_minor\":" MINOR
    ",\"balance_minor\":" MINOR "}}}}}";

#define NAMED_AMOUNTS                                                                                           \
  "{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"account\":{\"type\":\"string\"},\"name\":{"  \
  "\"type\":[\"string\",\"null\"]},\"amount_minor\":" MINOR "}}}"

static const char ledger_schema[] =
    "{\"type\":\"object\",\"properties\":{\"from\":{\"type\":[\"string\",\"null\"]},\"to\":{\"type\":[\"string\","
    "\"null\"]},\"account\":{\"type\":[\"string\",\"null\"]},\"truncated\":{\"type\":\"boolean\"},\"accounts\":{"
    "\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"account\":{\"type\":\"string\"},\"name\":{"
    "\"type\":[\"string\",\"null\"]},\"opening_minor\":" MINOR ",\"debit_minor\":" MINOR ",\"credit_minor\":" MINOR
    ",\"closing_minor\":" MINOR ",\"lines\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
    "\"date\":{\"type\":\"string\",\"format\":\"date\"},\"entry_id\":{\"type\":\"string\",\"format\":\"uuid\"},"
    "\"memo\":{},\"label\":{},\"debit_minor\":" MINOR ",\"credit_minor\":" MINOR ",\"balance_minor\":" MINOR
    "}}}}}}}}";

static const char income_schema[] =
    "{\"type\":\"object\",\"properties\":{\"from\":{\"type\":\"string\",\"format\":\"date\"},\"to\":{\"type\":"
    "\"string\",\"format\":\"date\"},\"charges\":" NAMED_AMOUNTS ",\"products\":" NAMED_AMOUNTS
    ",\"charges_minor\":" MINOR ",\"products_minor\":" MINOR ",\"result_minor\":" MINOR "}}";

static const char balance_schema[] =
    "{\"type\":\"object\",\"properties\":{\"as_of\":{\"type\":\"string\",\"format\":\"date\"},\"assets\":" NAMED_AMOUNTS
    ",\"equity_and_liabilities\":" NAMED_AMOUNTS ",\"assets_minor\":" MINOR ",\"equity_and_liabilities_minor\":" MINOR
    ",\"result_minor\":" MINOR "}}";

static const char company_schema[] =
    "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"tax_id\":{\"type\":[\"string\",\"null\"],"
    "\"description\":\"Matricule fiscal.\"},\"set_by\":{\"type\":\"string\"},\"set_at\":{\"type\":\"string\"}}}";

static void openapi(json_t *paths, json_t *schemas) {
  static const char *const named[A_N][2] = {{"TrialBalance", trial_schema},   {"AccountEntries", account_schema},
                                            {"Entry", entry_schema},          {"Chart", chart_schema},
                                            {"GeneralLedger", ledger_schema}, {"IncomeStatement", income_schema},
                                            {"BalanceSheet", balance_schema}, {"AccountingCompany", company_schema}};
  for (int i = 0; i < A_N; i++) {
    json_t *s = json_loads(named[i][1], 0, NULL);
    if (s) json_object_set_new(schemas, named[i][0], s);
  }
  for (int r = 0; r < A_N; r++) {
    const fofal_read_route_t *rt = &routes[r];
    json_t *params = json_array();
    if (r == A_ACCOUNT)
      json_array_append_new(params, fofal__openapi_path_param("account", "Account number, SCE classes 1 to 7 (640)."));
    if (r == A_ENTRY) json_array_append_new(params, fofal__openapi_path_param("entry_id", "The entry's id (UUID)."));
    if (rt->params & P_AS_OF)
      json_array_append_new(params, fofal__openapi_query_param("as_of", "The last date included (inclusive).",
                                                               json_pack("{s:s,s:s}", "type", "string", "format", "date")));
    if (rt->params & P_RANGE) {
      json_array_append_new(params, fofal__openapi_query_param("from", "The first date included.",
                                                               json_pack("{s:s,s:s}", "type", "string", "format", "date")));
      json_array_append_new(params, fofal__openapi_query_param("to", "The last date included.",
                                                               json_pack("{s:s,s:s}", "type", "string", "format", "date")));
    }
    if (rt->params & P_ACCOUNT)
      json_array_append_new(params, fofal__openapi_query_param("account", "An account number or its first digits (6).",
                                                               json_pack("{s:s,s:s}", "type", "string", "pattern",
                                                                         "^[1-7][0-9]{0,7}$")));
    if ((rt->params & P_CSV) && (rt->params & P_PDF))
      json_array_append_new(params, fofal__openapi_query_param(
                                        "format", "json (default), csv (text/csv, RFC 4180) or pdf (application/pdf, A4).",
                                        json_pack("{s:s,s:[s,s,s]}", "type", "string", "enum", "json", "csv", "pdf")));
    else if (rt->params & P_CSV)
      json_array_append_new(params, fofal__openapi_query_param("format", "json (default) or csv (text/csv, RFC 4180).",
                                                               json_pack("{s:s,s:[s,s]}", "type", "string", "enum",
                                                                         "json", "csv")));
    else if (rt->params & P_PDF)
      json_array_append_new(params, fofal__openapi_query_param("format", "json (default) or pdf (application/pdf, A4).",
                                                               json_pack("{s:s,s:[s,s]}", "type", "string", "enum",
                                                                         "json", "pdf")));
    char desc[1024], ref[96];
    snprintf(desc, sizeof desc, "%s Roles: %s.", rt->desc, rt->roles);
    snprintf(ref, sizeof ref, "#/components/schemas/%s", rt->schema);
    json_t *op = fofal__openapi_read_op("accounting", rt->op_id, rt->summary, desc, params, ref, rt->roles);
    if (rt->params & (P_CSV | P_PDF)) {
      json_t *content = json_object_get(json_object_get(json_object_get(json_object_get(op, "get"), "responses"), "200"),
                                        "content");
      if (content && (rt->params & P_CSV))
        json_object_set_new(content, "text/csv", json_pack("{s:{s:s}}", "schema", "type", "string"));
      if (content && (rt->params & P_PDF))
        json_object_set_new(content, "application/pdf",
                            json_pack("{s:{s:s,s:s}}", "schema", "type", "string", "format", "binary"));
    }
    json_object_set_new(paths, rt->path, op);
  }
}

/* Which read route shows each accounting event's aggregate (stream_roles.c). */
static const fofal_push_route_t push_routes[] = {
    {"entry_", "/api/v1/accounting/entries/{entry_id}", 0},
    {"period_", "/api/v1/accounting/trial-balance", 0},
    {"account_", "/api/v1/accounting/accounts", 0},
    {"result_", "/api/v1/accounting/income-statement", 0},
    {"year_", "/api/v1/accounting/income-statement", 0},
    {"order_", "/api/v1/accounting/trial-balance", 0},
    {"item_", "/api/v1/accounting/trial-balance", 0},
    {"company_", "/api/v1/accounting/company", 0},
    {NULL, NULL, 0},
};

const fofal_api_module_t fofal_module_accounting_routes = {
    .name = "accounting",
    .on_read = on_read,
    .openapi = openapi,
    .push_routes = push_routes,
};
