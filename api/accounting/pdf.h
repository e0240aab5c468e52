/*
 * pdf.h — the header of api/accounting/ that other folders may include: the statements as
 * PDF (pdf.c) — the accounting reads draw the trial balance, the income statement, the
 * balance sheet and the general ledger, and the sales reads (api/sales/sales_api.c) the aged
 * receivables and payables, so that every statement of the books looks alike — and the same
 * page layout for any report of a table and a bar chart, which management control's monthly
 * reports use (api/control/reports.c). The one place that draws with cairo.
 */
#ifndef FOFAL_ACCOUNTING_PDF_H
#define FOFAL_ACCOUNTING_PDF_H

#include <jansson.h>
#include <stddef.h>

enum {
  FOFAL_PDF_TRIAL,       /* the trial balance read's JSON */
  FOFAL_PDF_INCOME,      /* the income statement's */
  FOFAL_PDF_BALANCE,     /* the balance sheet's */
  FOFAL_PDF_LEDGER,      /* the general ledger's (accounts with their lines) */
  FOFAL_PDF_RECEIVABLES, /* sales' aged receivables (customers, invoices): A4 landscape */
  FOFAL_PDF_PAYABLES     /* sales' aged payables (suppliers, invoices): A4 landscape */
};

typedef struct {
  int kind;                 /* FOFAL_PDF_* */
  const char *title;        /* "Balance générale" */
  const char *tenant;       /* the tenant, as printed under the title (fofal__pdf_tenant_line) */
  const char *date_line;    /* "au 2026-12-31", "du 2026-01-01 au 2026-12-31" */
  const char *printed;      /* "édité le 2026-12-07 18:40 UTC" */
  const json_t *statement;  /* the read's JSON answer (borrowed for the call) */
} fofal__pdf_doc_t;

/* The statement as an A4 PDF into *out (new, *len bytes). 0, or -1 (cairo failed, out of
 * memory) with *out NULL. */
int fofal__pdf_statement(const fofal__pdf_doc_t *doc, char **out, size_t *len);

/* An amount in minor units (millimes) printed exactly: 1234567 → "1,234.567", -5 →
 * "-0.005". */
void fofal__pdf_amount(json_int_t minor, char out[32]);

/* An amount in minor units of `currency` (ISO 4217: 3 decimals for TND and the other
 * dinars, 0 for JPY, KRW …, else 2), exactly, grouped by thousands with commas when
 * `grouped` (1,234.56) or not (1234.56, for CSV). */
void fofal__pdf_amount_in(json_int_t minor, const char *currency, int grouped, char out[40]);

/* The tenant's company as the statements name it (accounting.company, set by
 * accounting.company.set): SQL of one parameter, the tenant ($1), answering one row
 * {name, tax_id} or none. A read of another module may run it (the table is
 * accounting's to write). */
#define FOFAL__PDF_COMPANY_SQL                                                                                         \
  "SELECT json_build_object('name', name, 'tax_id', tax_id) FROM accounting.company WHERE tenant = $1"

/* The line naming the tenant under a statement's title into out: its company's name and
 * tax id ("Tissage du Sahel SARL — MF 1234567/A/M/000") from `rows` (the answer of
 * FOFAL__PDF_COMPANY_SQL; NULL or empty: none), else the tenant's code. */
void fofal__pdf_tenant_line(const json_t *rows, const char *tenant, char *out, size_t cap);

/* The line naming the tenant under a statement's title, read with worker w (api.h):
 * FOFAL__PDF_COMPANY_SQL, then fofal__pdf_tenant_line into out. 0, or an error with err. */
typedef struct fofal_worker fofal_worker_t;
int fofal__pdf_company_line(fofal_worker_t *w, const char *tenant, char *out, size_t cap, char *err, size_t errlen);

/* "édité le YYYY-MM-DD HH:MM UTC" (now) into out. */
void fofal__pdf_printed(char out[64]);

/* A report: a bar chart on the first page, then a table whose cells are already text (the
 * first column is a name, cut to its width; the others figures, right-aligned), a total
 * row in bold, a note under it. */
#define FOFAL_PDF_REPORT_MAX_COLS 10
typedef struct {
  const char *title, *tenant, *date_line, *printed; /* as for a statement */
  const char *chart_title;    /* "Pièces par article" */
  const json_t *bars;         /* [{label, value (integer)}], the first 15 drawn; NULL or []: no chart */
  int bar_amount;             /* the values are minor units: printed 1,234.567 */
  const char *const *heads;   /* ncols column headings */
  int ncols;                  /* 1..FOFAL_PDF_REPORT_MAX_COLS */
  const json_t *rows;         /* [[cell text, ...], ...] */
  const json_t *total;        /* [cell text, ...] or NULL */
  const char *note;           /* a line under the table, or NULL */
} fofal__pdf_report_t;

/* The report as an A4 PDF into *out (new, *len bytes). 0, or -1 with *out NULL. Borrows r. */
int fofal__pdf_report(const fofal__pdf_report_t *r, char **out, size_t *len);

#endif
