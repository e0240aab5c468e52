/*
 * test_pdf.c — api/accounting/pdf.c: amounts printed exactly from minor units, and the
 * statements drawn as A4 PDF (a %PDF header, one page per 50-odd rows, numbered), read
 * back with poppler's pdftotext (poppler-utils, ops/setup): the title, the tenant, the
 * date, the names and the totals are in the text.
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
