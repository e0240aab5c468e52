/*
 * test_statements.c — the chart of accounts and the statements against the real stack,
 * through the API: an accountant names an account (accounting.account.define), posts a
 * handful of entries over two years, and reads the chart with its balances, the general
 * ledger, the income statement and the balance sheet as JSON and as CSV (parsed back),
 * the trial balance, income statement, balance sheet and general ledger as PDF (read back
 * by pdftotext; headed by the tenant's code, then by the company it sets):
 * every figure is the sum of the entries posted. A tenant of its own; lean.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "harness.h"

static int port;
static pid_t dec, proj, api;
static char tenant[32];

static void setup(void) {
  h_tenant(tenant);
  port = h_free_port();
  dec = h_start_decider("it-statements");
  proj = h_start_projector("it-statements");
  api = h_start_api(port);
}

static void teardown(void) {
  h_stop(api, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
}

TestSuite(statements, .init = setup, .fini = teardown, .timeout = 300);

static const char *s_of(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)) ?: ""; }
static json_int_t i_of(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* Posts `lines` (a JSON array text) on `date`; the answer's position into pos. */
static void post(const char *token, const char *key, const char *date, const char *lines, char pos[128]) {
  char id[FOFAL_UUID_LEN + 1], b[1024];
  fofal_uuid7(id);
  snprintf(b, sizeof b, "{\"entry_id\":\"%s\",\"date\":\"%s\",\"memo\":\"%s\",\"lines\":%s}", id, date, key, lines);
  json_t *r = NULL;
  int st = h_command_ok(port, token, "accounting.entry.post", key, NULL, b, &r);
  cr_assert_eq(st, 201, "%s: %d %s %s", key, st, s_of(r, "code"), s_of(r, "detail"));
  snprintf(pos, 128, "%s", s_of(r, "position"));
  json_decref(r);
}

/* The element of array `a` whose member k is v, or NULL. */
static const json_t *find(const json_t *a, const char *k, const char *v) {
  size_t i;
  json_t *e;
  json_array_foreach(a, i, e) if (!strcmp(s_of(e, k), v)) return e;
  return NULL;
}

/* RFC 4180: the CSV text as rows of fields (a JSON array of arrays of strings). */
static json_t *csv_parse(const char *s) {
  json_t *rows = json_array(), *row = json_array();
  char field[1024];
  size_t n = 0;
  int quoted = 0, any = 0;
  for (const char *p = s;; p++) {
    if (quoted) {
      if (*p == '"' && p[1] == '"') field[n++] = '"', p++;
      else if (*p == '"') quoted = 0;
      else if (*p) field[n++] = *p;
      else break;
      continue;
    }
    if (*p == '"') {
      quoted = any = 1;
    } else if (*p == ',' || *p == '\r' || *p == '\n' || !*p) {
      if (*p == '\r' && p[1] == '\n') p++;
      if (*p || any || n) {
        field[n] = 0;
        json_array_append_new(row, json_string(field));
      }
      n = 0;
      any = 0;
      if (*p != ',') {
        if (json_array_size(row)) json_array_append(rows, row);
        json_decref(row);
        row = json_array();
      }
      if (!*p) break;
    } else {
      field[n++] = *p;
      any = 1;
    }
    cr_assert_lt(n, sizeof field - 2);
  }
  json_decref(row);
  return rows;
}

/* GET `path` as CSV: its rows (new); checks the Content-Type. */
static json_t *get_csv(const char *token, const char *path) {
  char hdr[2048];
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", token);
  h_resp_t r = {0};
  cr_assert_eq(h_http(port, "GET", path, hdr, NULL, &r, 30000), 0, "no answer to GET %s", path);
  cr_assert_eq(r.status, 200, "GET %s: %d %s", path, r.status, r.body ? r.body : "");
  char *ct = h_resp_header(&r, "content-type");
  cr_expect(ct && !strncmp(ct, "text/csv", 8), "Content-Type %s", ct ? ct : "(none)");
  free(ct);
  json_t *rows = csv_parse(r.body);
  h_resp_free(&r);
  return rows;
}

/* GET `path` as PDF (with `accept` as the Accept header, or NULL): checks the
 * Content-Type and the %PDF header; its text by poppler's pdftotext (new). */
static char *get_pdf_text(const char *token, const char *path, const char *accept) {
  char hdr[2048];
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n%s%s%s", token, accept ? "Accept: " : "", accept ? accept : "",
           accept ? "\r\n" : "");
  h_resp_t r = {0};
  cr_assert_eq(h_http(port, "GET", path, hdr, NULL, &r, 30000), 0, "no answer to GET %s", path);
  cr_assert_eq(r.status, 200, "GET %s: %d %s", path, r.status, r.body ? r.body : "");
  char *ct = h_resp_header(&r, "content-type");
  cr_expect(ct && !strncmp(ct, "application/pdf", 15), "Content-Type %s", ct ? ct : "(none)");
  free(ct);
  cr_assert(r.body_len > 5 && !memcmp(r.body, "%PDF-", 5), "GET %s is no PDF", path);
  char in[] = "/tmp/fofal-it-pdf-XXXXXX", cmd[128];
  int fd = mkstemp(in);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, r.body, r.body_len), (ssize_t)r.body_len);
  close(fd);
  h_resp_free(&r);
  snprintf(cmd, sizeof cmd, "pdftotext -layout %s -", in);
  FILE *f = popen(cmd, "r");
  cr_assert_not_null(f);
  char *text = calloc(1, 1 << 16);
  size_t n = fread(text, 1, (1 << 16) - 1, f);
  text[n] = 0;
  cr_expect_eq(pclose(f), 0, "pdftotext (poppler-utils, ops/setup)");
  unlink(in);
  return text;
}

static const char *cell(const json_t *rows, size_t r, size_t c) {
  return json_string_value(json_array_get(json_array_get(rows, r), c)) ?: "";
}

Test(statements, the_chart_the_ledger_and_the_statements_are_the_sums_of_the_entries) {
  char *acc = h_token(tenant, "accountant"), *wv = h_token(tenant, "weaver"), pos[128] = "", path[512];
  json_t *r = NULL, *j = NULL;
  int st = h_command_ok(port, acc, "accounting.account.define", "st-def", NULL,
                        "{\"account\":\"6411\",\"name\":\"Salaires, \\\"tisserands\\\"\"}", &j);
  cr_assert_eq(st, 201, "define: %d %s", st, s_of(j, "detail"));
  json_decref(j);
  post(acc, "st-0", "2025-12-20", "[{\"account\":\"601\",\"debit_minor\":100000},{\"account\":\"401\",\"credit_minor\":100000}]",
       pos);
  post(acc, "st-1", "2026-03-01", "[{\"account\":\"532\",\"debit_minor\":5000000},{\"account\":\"101\",\"credit_minor\":5000000}]",
       pos);
  post(acc, "st-2", "2026-03-10", "[{\"account\":\"601\",\"debit_minor\":1234567},{\"account\":\"401\",\"credit_minor\":1234567}]",
       pos);
  post(acc, "st-3", "2026-04-02",
       "[{\"account\":\"411\",\"debit_minor\":2380000},{\"account\":\"701\",\"credit_minor\":2000000},"
       "{\"account\":\"4366\",\"credit_minor\":380000}]",
       pos);
  post(acc, "st-4", "2026-04-15", "[{\"account\":\"6411\",\"debit_minor\":450500},{\"account\":\"425\",\"credit_minor\":450500}]",
       pos);

  /* The chart: the default SCE names, the tenant's own, each with its balance. */
  snprintf(path, sizeof path, "/api/v1/accounting/accounts?position=%s", pos);
  cr_assert_eq(h_get(port, acc, path, &r, NULL), 200, "%s", s_of(r, "detail"));
  const json_t *accounts = json_object_get(r, "accounts");
  cr_expect_str_eq(s_of(find(accounts, "account", "701"), "name"), "Ventes de produits finis");
  cr_expect_str_eq(s_of(find(accounts, "account", "6411"), "name"), "Salaires, \"tisserands\"");
  cr_expect_eq(i_of(find(accounts, "account", "6411"), "class"), 6);
  cr_expect_eq(i_of(find(accounts, "account", "601"), "balance_minor"), 1334567);
  cr_expect_eq(i_of(find(accounts, "account", "120"), "balance_minor"), 0, "named, never posted to");
  json_decref(r);
  cr_assert_eq(h_get(port, acc, "/api/v1/accounting/trial-balance", &r, NULL), 200);
  cr_expect_str_eq(s_of(find(json_object_get(r, "accounts"), "account", "425"), "name"), "Personnel, rémunérations dues");
  json_decref(r);

  /* The general ledger of 601 over 2026: its 2025 line is the opening balance. */
  cr_assert_eq(h_get(port, acc, "/api/v1/accounting/ledger?from=2026-01-01&to=2026-12-31&account=601", &r, NULL), 200);
  cr_assert_eq(json_array_size(json_object_get(r, "accounts")), 1);
  const json_t *a601 = json_array_get(json_object_get(r, "accounts"), 0);
  cr_expect_eq(i_of(a601, "opening_minor"), 100000);
  cr_expect_eq(i_of(a601, "debit_minor"), 1234567);
  cr_expect_eq(i_of(a601, "closing_minor"), 1334567);
  cr_expect_eq(i_of(json_array_get(json_object_get(a601, "lines"), 0), "balance_minor"), 1334567, "running balance");
  json_decref(r);

  /* The income statement of 2026: classes 6 and 7, the result. */
  cr_assert_eq(h_get(port, acc, "/api/v1/accounting/income-statement?as_of=2026-12-31", &r, NULL), 200);
  cr_expect_str_eq(s_of(r, "from"), "2026-01-01");
  cr_expect_eq(i_of(r, "charges_minor"), 1234567 + 450500);
  cr_expect_eq(i_of(r, "products_minor"), 2000000);
  cr_expect_eq(i_of(r, "result_minor"), 2000000 - 1234567 - 450500);
  json_decref(r);

  /* The balance sheet: assets = equity and liabilities + the result not yet closed. */
  cr_assert_eq(h_get(port, acc, "/api/v1/accounting/balance-sheet?as_of=2026-12-31", &r, NULL), 200);
  cr_expect_eq(i_of(r, "assets_minor"), 5000000 + 2380000);
  cr_expect_eq(i_of(r, "equity_and_liabilities_minor"), 5000000 + 1334567 + 450500 + 380000);
  cr_expect_eq(i_of(r, "result_minor"), 2000000 - 1334567 - 450500, "every year not closed");
  cr_expect_eq(i_of(r, "assets_minor"), i_of(r, "equity_and_liabilities_minor") + i_of(r, "result_minor"));
  cr_expect_eq(i_of(find(json_object_get(r, "assets"), "account", "411"), "amount_minor"), 2380000);
  json_decref(r);

  /* As CSV, parsed back: a header row, quoted names, amounts with 3 decimals. */
  json_t *rows = get_csv(acc, "/api/v1/accounting/ledger?account=64&format=csv");
  cr_expect_str_eq(cell(rows, 0, 0), "account");
  cr_expect_str_eq(cell(rows, 0, 8), "balance");
  cr_assert_eq(json_array_size(rows), 2, "a header and one line");
  cr_expect_str_eq(cell(rows, 1, 0), "6411");
  cr_expect_str_eq(cell(rows, 1, 1), "Salaires, \"tisserands\"");
  cr_expect_str_eq(cell(rows, 1, 6), "450.500");
  cr_expect_str_eq(cell(rows, 1, 7), "0.000");
  json_decref(rows);
  rows = get_csv(acc, "/api/v1/accounting/income-statement?from=2026-01-01&to=2026-12-31&format=csv");
  cr_expect_str_eq(cell(rows, 0, 0), "section");
  size_t n = json_array_size(rows);
  cr_assert_geq(n, 4);
  cr_expect_str_eq(cell(rows, n - 1, 2), "result");
  cr_expect_str_eq(cell(rows, n - 1, 3), "314.933");
  json_decref(rows);
  rows = get_csv(acc, "/api/v1/accounting/balance-sheet?as_of=2026-12-31&format=csv");
  n = json_array_size(rows);
  cr_expect_str_eq(cell(rows, n - 3, 3), "7380.000", "assets");
  json_decref(rows);

  /* As PDF (A4, read back with pdftotext): the totals printed exactly. */
  char *text = get_pdf_text(acc, "/api/v1/accounting/trial-balance?format=pdf", NULL);
  cr_expect(strstr(text, "Balance générale") && strstr(text, tenant), "title and tenant: %s", text);
  cr_expect(strstr(text, "9,165.067"), "the debits' and credits' total: %s", text);
  free(text);
  /* The company the statements name from now on, with its tax id (accounting.company.set). */
  cr_expect_eq(h_get(port, acc, "/api/v1/accounting/company", &r, NULL), 404, "no company set yet");
  json_decref(r);
  r = NULL;
  st = h_command_ok(port, acc, "accounting.company.set", "st-co", NULL,
                    "{\"company\":\"default\",\"name\":\"Tissage du Sahel SARL\",\"tax_id\":\"1234567/A/M/000\"}", &j);
  cr_assert_eq(st, 201, "company.set: %d %s", st, s_of(j, "detail"));
  snprintf(path, sizeof path, "/api/v1/accounting/income-statement?from=2026-01-01&to=2026-12-31&format=pdf&position=%s",
           s_of(j, "position"));
  json_decref(j);
  text = get_pdf_text(acc, path, NULL);
  cr_assert_eq(h_get(port, acc, "/api/v1/accounting/company", &r, NULL), 200);
  cr_expect_str_eq(s_of(r, "name"), "Tissage du Sahel SARL");
  cr_expect_str_eq(s_of(r, "tax_id"), "1234567/A/M/000");
  cr_expect(strstr(s_of(r, "set_by"), "accountant"), "who set it: %s", s_of(r, "set_by"));
  json_decref(r);
  r = NULL;
  cr_expect(strstr(text, "du 2026-01-01 au 2026-12-31") && strstr(text, "1,685.067") && strstr(text, "2,000.000") &&
                strstr(text, "314.933"),
            "charges, products, result: %s", text);
  cr_expect(strstr(text, "Tissage du Sahel SARL — MF 1234567/A/M/000") && !strstr(text, tenant),
            "the company, not the tenant's code: %s", text);
  free(text);
  text = get_pdf_text(acc, "/api/v1/accounting/balance-sheet?as_of=2026-12-31", "application/pdf");
  cr_expect(strstr(text, "au 2026-12-31") && strstr(text, "7,380.000") && strstr(text, "7,165.067") &&
                strstr(text, "214.933"),
            "assets, equity and liabilities, result (Accept: application/pdf): %s", text);
  free(text);
  /* The general ledger of 2026 as PDF: per account its opening balance (2025's entry),
   * lines, totals and closing balance; the totals of all (the year's entries balance). */
  text = get_pdf_text(acc, "/api/v1/accounting/ledger?from=2026-01-01&to=2026-12-31&format=pdf", NULL);
  cr_expect(strstr(text, "Grand livre") && strstr(text, "Tissage du Sahel SARL") &&
                strstr(text, "du 2026-01-01 au 2026-12-31"),
            "title, company, dates: %s", text);
  cr_expect(strstr(text, "601 Achats") && strstr(text, "Solde à nouveau") && strstr(text, "100.000") &&
                strstr(text, "1,234.567") && strstr(text, "1,334.567") && strstr(text, "-1,334.567"),
            "601 and 401: opening, line, closing: %s", text);
  cr_expect(strstr(text, "Salaires, \"tisserands\"") && strstr(text, "Total 6411") && strstr(text, "450.500"),
            "the tenant's own account: %s", text);
  cr_expect(strstr(text, "Total général") && strstr(text, "9,065.067"), "the debits and credits of 2026: %s", text);
  free(text);
  text = get_pdf_text(acc, "/api/v1/accounting/ledger?account=64", "application/pdf");
  cr_expect(strstr(text, "Grand livre") && strstr(text, "comptes 64…") && strstr(text, "Total 6411") &&
                !strstr(text, "Total 601"),
            "the ledger of 64… (Accept: application/pdf): %s", text);
  free(text);

  /* The year 2025 closed: refused while a month is open, then its charges go to 129. */
  st = h_command_ok(port, acc, "accounting.year.close", "st-y-early", NULL, "{\"year\":\"2025\"}", &j);
  cr_expect_eq(st, 422, "a year with open months: %d", st);
  cr_expect_str_eq(s_of(j, "code"), "period_open");
  json_decref(j);
  for (int m = 1; m <= 12; m++) {
    char key[32], body[64];
    snprintf(key, sizeof key, "st-close-%d", m);
    snprintf(body, sizeof body, "{\"period\":\"2025-%02d\"}", m);
    st = h_command_ok(port, acc, "accounting.period.close", key, NULL, body, &j);
    cr_assert_eq(st, 201, "close 2025-%02d: %d %s", m, st, s_of(j, "detail"));
    json_decref(j);
  }
  st = h_command_ok(port, acc, "accounting.year.close", "st-y", NULL, "{\"year\":\"2025\"}", &j);
  cr_assert_eq(st, 201, "close 2025: %d %s", st, s_of(j, "detail"));
  snprintf(pos, sizeof pos, "%s", s_of(j, "position"));
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/accounting/balance-sheet?as_of=2026-12-31&position=%s", pos);
  cr_assert_eq(h_get(port, acc, path, &r, NULL), 200);
  cr_expect_eq(i_of(r, "result_minor"), 2000000 - 1234567 - 450500, "2025's loss is in 129 now");
  cr_expect_eq(i_of(find(json_object_get(r, "equity_and_liabilities"), "account", "129"), "amount_minor"), -100000);
  cr_expect_eq(i_of(r, "assets_minor"), i_of(r, "equity_and_liabilities_minor") + i_of(r, "result_minor"));
  json_decref(r);
  cr_assert_eq(h_get(port, acc, "/api/v1/accounting/income-statement?as_of=2025-12-31", &r, NULL), 200);
  cr_expect_eq(i_of(r, "result_minor"), -100000, "a closed year still shows its result");
  json_decref(r);

  cr_expect_eq(h_get(port, acc, "/api/v1/accounting/ledger?format=xlsx", &r, NULL), 400);
  cr_expect_str_eq(s_of(r, "code"), "invalid_format");
  json_decref(r);
  cr_expect_eq(h_get(port, acc, "/api/v1/accounting/ledger?account=8", &r, NULL), 400);
  cr_expect_str_eq(s_of(r, "code"), "invalid_account");
  json_decref(r);
  cr_expect_eq(h_get(port, acc, "/api/v1/accounting/ledger?from=2026-02-01&to=2026-01-01", &r, NULL), 400);
  json_decref(r);
  cr_expect_eq(h_get(port, wv, "/api/v1/accounting/balance-sheet", &r, NULL), 403);
  json_decref(r);
  free(acc);
  free(wv);
}
