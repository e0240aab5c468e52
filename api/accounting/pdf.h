/*
 * pdf.h — private to api/accounting/: the statements as PDF (pdf.c).
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

#endif
