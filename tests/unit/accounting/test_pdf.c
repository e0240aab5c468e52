/*
 * test_pdf.c — api/accounting/pdf.c: amounts printed exactly from minor units (and in
 * their currency's decimals), and the statements drawn as A4 PDF (a %PDF header, one page
 * per 50-odd rows, numbered), read back with poppler's pdftotext (poppler-utils,
 * ops/setup): the title, the tenant, the date, the names and the totals are in the text;
 * the general ledger's opening balances, lines, running and closing balances; the aged
 * balances' invoices in their bucket's column, per party and per currency.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "accounting/pdf.h"

/* The read routes are linked (the API library); nothing posts to a loop here. */
void fofal__api_post(fofal_api_t *api, void (*fn)(fofal_api_t *api, void *arg), void *arg) {
  (void)api;
  (void)fn;
  (void)arg;
  cr_assert_fail("nothing posts to a loop in a unit test");
}

/* fontconfig (cairo's fonts) keeps its configuration for the life of the process, which
 * LeakSanitizer reports at exit: not this code's memory. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig.so\n"; }

Test(pdf, amounts_are_printed_exactly_from_minor_units) {
  static const struct {
    json_int_t v;
    const char *want;
  } cases[] = {{0, "0.000"},           {5, "0.005"},         {-5, "-0.005"},           {1000, "1.000"},
               {999999, "999.999"},    {1000000, "1,000.000"}, {1234567, "1,234.567"}, {-7380000, "-7,380.000"},
               {100000000000001LL, "100,000,000,000.001"},
               {-9223372036854775807LL - 1, "-9,223,372,036,854,775.808"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char out[32];
    fofal__pdf_amount(cases[i].v, out);
    cr_expect_str_eq(out, cases[i].want, "%lld", (long long)cases[i].v);
  }
}

/* The text of a PDF (pdftotext -layout), new. */
static char *text_of(const char *pdf, size_t len) {
  char in[] = "/tmp/fofal-test-pdf-XXXXXX";
  int fd = mkstemp(in);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, pdf, len), (ssize_t)len);
  close(fd);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "pdftotext -layout %s -", in);
  FILE *f = popen(cmd, "r");
  cr_assert_not_null(f, "pdftotext (poppler-utils) must be installed: ops/setup");
  size_t cap = 1 << 16, n = 0;
  char *text = malloc(cap);
  size_t got;
  while ((got = fread(text + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (cap - n < 1024) text = realloc(text, cap *= 2);
  }
  text[n] = 0;
  cr_assert_eq(pclose(f), 0, "pdftotext failed on the PDF");
  /* FOFAL_PDF_KEEP=dir keeps each PDF drawn there, to look at it. */
  const char *keep = getenv("FOFAL_PDF_KEEP");
  char kept[512];
  snprintf(kept, sizeof kept, "%s/%s.pdf", keep ? keep : "", in + 5);
  if (!keep || rename(in, kept)) unlink(in);
  return text;
}

Test(pdf, a_trial_balance_on_two_pages_with_its_totals) {
  json_t *accounts = json_array();
  json_int_t dr = 0, cr = 0;
  for (int i = 0; i < 70; i++) { /* more rows than one page holds */
    char account[16], name[160];
    snprintf(account, sizeof account, "6%03d", i);
    snprintf(name, sizeof name, "Compte de charges n° %d, au nom bien trop long pour tenir dans sa colonne à lui", i);
    json_int_t d = 1000 * i + 7, c = i % 3 ? 0 : 500;
    json_array_append_new(accounts, json_pack("{s:s,s:s,s:I,s:I,s:I}", "account", account, "name", name, "debit_minor",
                                              d, "credit_minor", c, "balance_minor", d - c));
    dr += d;
    cr += c;
  }
  json_array_append_new(accounts, json_pack("{s:s,s:n,s:I,s:I,s:I}", "account", "401", "name", "debit_minor",
                                            (json_int_t)0, "credit_minor", dr - cr, "balance_minor", cr - dr));
  json_t *tb = json_pack("{s:s,s:o,s:I,s:I}", "as_of", "2026-12-31", "accounts", accounts, "debit_minor", dr,
                         "credit_minor", dr);
  fofal__pdf_doc_t doc = {FOFAL_PDF_TRIAL, "Balance générale", "demo", "au 2026-12-31", "édité le 2026-12-07", tb};
  char *pdf;
  size_t len;
  cr_assert_eq(fofal__pdf_statement(&doc, &pdf, &len), 0);
  cr_assert_gt(len, 5);
  cr_expect_eq(memcmp(pdf, "%PDF-", 5), 0, "a PDF starts with %%PDF-");
  char *text = text_of(pdf, len);
  char total[32];
  fofal__pdf_amount(dr, total);
  cr_expect(strstr(text, "Balance générale"), "the title: %s", text);
  cr_expect(strstr(text, "demo") && strstr(text, "au 2026-12-31"), "the tenant and the date");
  cr_expect(strstr(text, "page 2 / 2"), "two pages, numbered");
  cr_expect(strstr(text, "Total"), "the totals' row");
  cr_expect(strstr(text, total), "the total of the debits, %s", total);
  cr_expect(strstr(text, "\xE2\x80\xA6"), "a name too long is cut with an ellipsis");
  free(text);
  free(pdf);
  json_decref(tb);
}

Test(pdf, an_income_statement_and_a_balance_sheet_show_their_totals_and_result) {
  json_t *is = json_pack("{s:s,s:s,s:[{s:s,s:s,s:I}],s:[{s:s,s:s,s:I}],s:I,s:I,s:I}", "from", "2026-01-01", "to",
                         "2026-12-31", "charges", "account", "601", "name", "Achats de matières premières",
                         "amount_minor", (json_int_t)1334567, "products", "account", "701", "name",
                         "Ventes de produits finis", "amount_minor", (json_int_t)2000000, "charges_minor",
                         (json_int_t)1334567, "products_minor", (json_int_t)2000000, "result_minor", (json_int_t)665433);
  fofal__pdf_doc_t doc = {FOFAL_PDF_INCOME, "Compte de résultat", "demo", "du 2026-01-01 au 2026-12-31", "", is};
  char *pdf;
  size_t len;
  cr_assert_eq(fofal__pdf_statement(&doc, &pdf, &len), 0);
  char *text = text_of(pdf, len);
  cr_expect(strstr(text, "1,334.567") && strstr(text, "2,000.000") && strstr(text, "665.433"), "%s", text);
  cr_expect(strstr(text, "Achats de matières premières"), "the names, accents kept");
  free(text);
  free(pdf);
  json_decref(is);
  json_t *bs = json_pack("{s:s,s:[{s:s,s:s,s:I}],s:[{s:s,s:n,s:I}],s:I,s:I,s:I}", "as_of", "2026-12-31", "assets",
                         "account", "532", "name", "Banques", "amount_minor", (json_int_t)7380000,
                         "equity_and_liabilities", "account", "101", "name", "amount_minor", (json_int_t)7000000,
                         "assets_minor", (json_int_t)7380000, "equity_and_liabilities_minor", (json_int_t)7000000,
                         "result_minor", (json_int_t)380000);
  doc = (fofal__pdf_doc_t){FOFAL_PDF_BALANCE, "Bilan", "demo", "au 2026-12-31", "", bs};
  cr_assert_eq(fofal__pdf_statement(&doc, &pdf, &len), 0);
  text = text_of(pdf, len);
  cr_expect(strstr(text, "7,380.000") && strstr(text, "7,000.000") && strstr(text, "380.000"), "%s", text);
  cr_expect(strstr(text, "page 1 / 1"));
  free(text);
  free(pdf);
  json_decref(bs);
}

Test(pdf, amounts_in_their_currency_decimals) {
  char out[40];
  fofal__pdf_amount_in(1234567, "TND", 1, out);
  cr_expect_str_eq(out, "1,234.567");
  fofal__pdf_amount_in(1234567, "EUR", 1, out);
  cr_expect_str_eq(out, "12,345.67");
  fofal__pdf_amount_in(-1234567, "EUR", 0, out);
  cr_expect_str_eq(out, "-12345.67", "ungrouped, for CSV");
  fofal__pdf_amount_in(1234567, "JPY", 1, out);
  cr_expect_str_eq(out, "1,234,567");
  fofal__pdf_amount_in(5, "USD", 1, out);
  cr_expect_str_eq(out, "0.05");
}

/* A general ledger of two accounts, one with more lines than a page holds: each account's
 * heading, opening balance, lines with their running balance, totals and closing
 * balance, and the totals of all. */
Test(pdf, a_general_ledger_with_opening_running_and_closing_balances) {
  json_t *lines = json_array();
  json_int_t run = 100000, dr = 0;
  for (int i = 0; i < 80; i++) {
    char date[11], id[40];
    snprintf(date, sizeof date, "2026-%02d-%02d", i % 12 + 1, i % 28 + 1);
    snprintf(id, sizeof id, "%08x-0000-7000-8000-000000000000", 0xa0000000u + (unsigned)i);
    json_int_t d = 1000 * i + 1;
    run += d;
    dr += d;
    json_array_append_new(lines, json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "date", date, "entry_id", id, "memo",
                                           "piece-rate pay of W-12", "label", "FT-200", "debit_minor", d,
                                           "credit_minor", (json_int_t)0, "balance_minor", run));
  }
  json_t *gl = json_pack(
      "{s:s,s:s,s:n,s:b,s:[{s:s,s:s,s:I,s:I,s:I,s:I,s:o},{s:s,s:s,s:I,s:I,s:I,s:I,s:[{s:s,s:s,s:s,s:n,s:I,s:I,s:I}]}]}",
      "from", "2026-01-01", "to", "2026-12-31", "account", "truncated", 0, "accounts", "account", "640", "name", "Charges de personnel",
      "opening_minor", (json_int_t)100000, "debit_minor", dr, "credit_minor", (json_int_t)0, "closing_minor", run,
      "lines", lines, "account", "428", "name", "Personnel, charges à payer", "opening_minor", (json_int_t)0, "debit_minor", (json_int_t)0,
      "credit_minor", (json_int_t)7380, "closing_minor", (json_int_t)-7380, "lines", "date", "2026-12-31", "entry_id",
      "0192f0a0-1234-7000-8000-000000000001", "memo", "close", "label", "debit_minor", (json_int_t)0, "credit_minor",
      (json_int_t)7380, "balance_minor", (json_int_t)-7380);
  cr_assert_not_null(gl);
  fofal__pdf_doc_t doc = {FOFAL_PDF_LEDGER, "Grand livre", "demo", "du 2026-01-01 au 2026-12-31", "", gl};
  char *pdf;
  size_t len;
  cr_assert_eq(fofal__pdf_statement(&doc, &pdf, &len), 0);
  char *text = text_of(pdf, len);
  char want[32];
  cr_expect(strstr(text, "Grand livre") && strstr(text, "du 2026-01-01 au 2026-12-31"), "%s", text);
  cr_expect(strstr(text, "640 Charges de personnel") && strstr(text, "428 Personnel, charges à payer"), "headings");
  cr_expect(strstr(text, "Solde à nouveau"), "the opening balance's row");
  cr_expect(strstr(text, "100.000"), "the opening balance");
  cr_expect(strstr(text, "a000004f"), "a line's entry, its first 8 characters");
  cr_expect(strstr(text, "piece-rate pay of W-12"), "a line's memo");
  fofal__pdf_amount(run, want);
  cr_expect(strstr(text, want), "640's closing balance, %s", want);
  cr_expect(strstr(text, "Total 640") && strstr(text, "Total 428") && strstr(text, "Total général"), "the totals");
  fofal__pdf_amount(dr, want);
  cr_expect(strstr(text, want), "640's debits, %s", want);
  cr_expect(strstr(text, "-7.380"), "428's closing balance");
  cr_expect(strstr(text, "page 2 / 2"), "two pages");
  free(text);
  free(pdf);
  json_decref(gl);
}

/* The aged receivables: each open invoice's amount in its bucket's column and the total
 * column, the customer's totals, the totals per currency (EUR in cents). The payables
 * name the supplier's own number. */
Test(pdf, aged_balances_per_party_bucket_and_currency) {
  json_t *ar = json_pack(
      "{s:s,s:[{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:s},{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:s},"
      "{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:s}],"
      "s:[{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I},{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I}]}",
      "as_of", "2026-05-01", "invoices",
      /* CLI-A, TND: one 26 days late, one not due */
      "number", "FA-2026-00001", "customer", "CLI-A", "currency", "TND", "date", "2026-03-06", "due_date", "2026-04-05",
      "total_minor", (json_int_t)119000, "open_minor", (json_int_t)30663, "days_overdue", (json_int_t)26, "bucket", "1_30",
      "number", "FA-2026-00007", "customer", "CLI-A", "currency", "TND", "date", "2026-04-20", "due_date", "2026-05-20",
      "total_minor", (json_int_t)2380000, "open_minor", (json_int_t)2380000, "days_overdue", (json_int_t)0, "bucket",
      "not_due",
      /* CLI-B, EUR: 120 days late */
      "number", "FA-2025-00031", "customer", "CLI-B", "currency", "EUR", "date", "2024-12-02", "due_date", "2025-01-01",
      "total_minor", (json_int_t)123456, "open_minor", (json_int_t)123456, "days_overdue", (json_int_t)485, "bucket",
      "over_90",
      "customers", "customer", "CLI-A", "currency", "TND", "not_due_minor", (json_int_t)2380000, "days_1_30_minor",
      (json_int_t)30663, "days_31_60_minor", (json_int_t)0, "days_61_90_minor", (json_int_t)0, "over_90_minor",
      (json_int_t)0, "open_minor", (json_int_t)2410663, "customer", "CLI-B", "currency", "EUR", "not_due_minor",
      (json_int_t)0, "days_1_30_minor", (json_int_t)0, "days_31_60_minor", (json_int_t)0, "days_61_90_minor",
      (json_int_t)0, "over_90_minor", (json_int_t)123456, "open_minor", (json_int_t)123456);
  cr_assert_not_null(ar);
  fofal__pdf_doc_t doc = {FOFAL_PDF_RECEIVABLES, "Balance âgée des clients", "demo", "au 2026-05-01", "", ar};
  char *pdf;
  size_t len;
  cr_assert_eq(fofal__pdf_statement(&doc, &pdf, &len), 0);
  char *text = text_of(pdf, len);
  cr_expect(strstr(text, "Balance âgée des clients") && strstr(text, "au 2026-05-01"), "%s", text);
  cr_expect(strstr(text, "CLI-A (TND)") && strstr(text, "CLI-B (EUR)"), "a heading per customer and currency");
  cr_expect(strstr(text, "FA-2026-00001") && strstr(text, "26 j") && strstr(text, "2026-04-05"), "an invoice's row");
  cr_expect(strstr(text, "30.663") && strstr(text, "2,380.000") && strstr(text, "2,410.663"), "TND, 3 decimals");
  cr_expect(strstr(text, "1,234.56") && !strstr(text, "123.456"), "EUR in cents");
  cr_expect(strstr(text, "Total CLI-A") && strstr(text, "Total TND") && strstr(text, "Total EUR"), "the totals");
  /* Columns: in a row of the 1–30 bucket, 30.663 stands before the total (twice). */
  const char *row1 = strstr(text, "FA-2026-00001");
  cr_assert_not_null(row1);
  const char *eol = strchr(row1, '\n'), *a = strstr(row1, "30.663"), *b = a ? strstr(a + 1, "30.663") : NULL;
  cr_expect(a && b && b < eol, "the open amount in its bucket and in the total: %.*s", (int)(eol - row1), row1);
  cr_expect(strstr(text, "page 1 / 1"));
  free(text);
  free(pdf);
  json_decref(ar);

  json_t *ap = json_pack("{s:s,s:[{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:s}],s:[{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I}]}",
                         "as_of", "2026-03-31", "invoices", "supplier_number", "F-88-0042", "supplier", "FIL-SOUSSE",
                         "currency", "TND", "date", "2026-03-02", "due_date", "2026-04-01", "total_minor",
                         (json_int_t)952000, "open_minor", (json_int_t)452000, "days_overdue", (json_int_t)0, "bucket",
                         "not_due", "suppliers", "supplier", "FIL-SOUSSE", "currency", "TND", "not_due_minor",
                         (json_int_t)452000, "days_1_30_minor", (json_int_t)0, "days_31_60_minor", (json_int_t)0,
                         "days_61_90_minor", (json_int_t)0, "over_90_minor", (json_int_t)0, "open_minor",
                         (json_int_t)452000);
  cr_assert_not_null(ap);
  doc = (fofal__pdf_doc_t){FOFAL_PDF_PAYABLES, "Balance âgée des fournisseurs", "demo", "au 2026-03-31", "", ap};
  cr_assert_eq(fofal__pdf_statement(&doc, &pdf, &len), 0);
  text = text_of(pdf, len);
  cr_expect(strstr(text, "Balance âgée des fournisseurs") && strstr(text, "FIL-SOUSSE (TND)") &&
                strstr(text, "F-88-0042") && strstr(text, "452.000") && strstr(text, "Total TND"),
            "%s", text);
  free(text);
  free(pdf);
  json_decref(ap);
}

/* The line under the title names the company (accounting.company.set) with its tax id,
 * else the tenant's code; a name too long for the room left of the date is cut. */
Test(pdf, the_company_names_the_tenant_on_the_statements) {
  char line[400];
  json_t *rows = json_pack("[{s:s,s:s}]", "name", "Tissage du Sahel SARL", "tax_id", "1234567/A/M/000");
  fofal__pdf_tenant_line(rows, "demo", line, sizeof line);
  cr_expect_str_eq(line, "Tissage du Sahel SARL — MF 1234567/A/M/000");
  json_decref(rows);
  rows = json_pack("[{s:s,s:n}]", "name", "Tissage du Sahel SARL", "tax_id");
  fofal__pdf_tenant_line(rows, "demo", line, sizeof line);
  cr_expect_str_eq(line, "Tissage du Sahel SARL");
  json_decref(rows);
  rows = json_array();
  fofal__pdf_tenant_line(rows, "demo", line, sizeof line);
  cr_expect_str_eq(line, "demo", "no company set: the tenant's code");
  fofal__pdf_tenant_line(NULL, "demo", line, sizeof line);
  cr_expect_str_eq(line, "demo");
  json_decref(rows);

  json_t *tb = json_pack("{s:s,s:[],s:I,s:I}", "as_of", "2026-12-31", "accounts", "debit_minor", (json_int_t)0,
                         "credit_minor", (json_int_t)0);
  fofal__pdf_doc_t doc = {FOFAL_PDF_TRIAL, "Balance générale", "Tissage du Sahel SARL — MF 1234567/A/M/000",
                          "au 2026-12-31", "", tb};
  char *pdf;
  size_t len;
  cr_assert_eq(fofal__pdf_statement(&doc, &pdf, &len), 0);
  char *text = text_of(pdf, len);
  cr_expect(strstr(text, "Tissage du Sahel SARL — MF 1234567/A/M/000"), "%s", text);
  free(text);
  free(pdf);
  char longname[600] = "";
  for (int i = 0; i < 12; i++) strcat(longname, "Société Tunisienne de Tissage ");
  doc.tenant = longname;
  cr_assert_eq(fofal__pdf_statement(&doc, &pdf, &len), 0);
  text = text_of(pdf, len);
  cr_expect(strstr(text, "\xE2\x80\xA6") && strstr(text, "au 2026-12-31"), "cut before the date: %s", text);
  free(text);
  free(pdf);
  json_decref(tb);
}
