/*
 * pdf.h — the header of api/accounting/ that other folders may include: its statements as
 * PDF (pdf.c), and the same page layout for any report of a table and a bar chart, which
 * management control's monthly reports use (api/control/reports.c). The one place that
 * draws with cairo.
 */
#ifndef FOFAL_ACCOUNTING_PDF_H
#define FOFAL_ACCOUNTING_PDF_H

#include <jansson.h>
#include <stddef.h>

enum { FOFAL_PDF_TRIAL, FOFAL_PDF_INCOME, FOFAL_PDF_BALANCE };

typedef struct {
  int kind;                 /* FOFAL_PDF_* */
  const char *title;        /* "Balance générale" */
  const char *tenant;       /* the tenant, as printed under the title */
  const char *date_line;    /* "au 2026-12-31", "du 2026-01-01 au 2026-12-31" */
  const char *printed;      /* "édité le 2026-12-07 18:40 UTC" */
  const json_t *statement;  /* the read's JSON answer (trial balance, income statement, balance sheet) */
} fofal__pdf_doc_t;

/* The statement as an A4 PDF into *out (new, *len bytes). 0, or -1 (cairo failed, out of
 * memory) with *out NULL. */
int fofal__pdf_statement(const fofal__pdf_doc_t *doc, char **out, size_t *len);

/* An amount in minor units (millimes) printed exactly: 1234567 → "1,234.567", -5 →
 * "-0.005". */
void fofal__pdf_amount(json_int_t minor, char out[32]);

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
