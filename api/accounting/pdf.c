/*
 * pdf.c — the accounting statements as PDF (?format=pdf): the trial balance, the income
 * statement and the balance sheet, from the very JSON their reads answer, drawn with
 * cairo's PDF surface (Debian libcairo2; fonts through fontconfig).
 *
 * A4 portrait, 2 cm margins. Each page: the statement's title, the tenant, the date (as
 * of, or the period), the column headings; then one row per account (number, name cut to
 * its column, amounts right-aligned on their column's edge) and the totals in bold. A row
 * that would cross the bottom margin starts a new page, headings again; every page is
 * numbered "page n / N" (N known once drawn: the pages are drawn twice, the first time
 * to count them). Amounts are printed exactly from integer minor units, three decimals
 * (millimes), thousands grouped with a comma: 1234567 → 1,234.567; never through a
 * floating-point number.
 *
 * Pure but for cairo: memory in, memory out. Thread-safe (a read worker's own surface).
 */
#include "pdf.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE_W 595.276 /* A4, points */
#define PAGE_H 841.890
#define MARGIN 56.693 /* 2 cm */
#define ROW 14.0
#define FONT "DejaVu Sans"
#define SIZE 9.0

/* ------------------------------------------------------------- amounts */

void fofal__pdf_amount(json_int_t minor, char out[32]) {
  unsigned long long v = minor < 0 ? 0ULL - (unsigned long long)minor : (unsigned long long)minor;
  char digits[24];
  int n = snprintf(digits, sizeof digits, "%llu", v / 1000), o = 0;
  if (minor < 0) out[o++] = '-';
  for (int i = 0; i < n; i++) {
    out[o++] = digits[i];
    if ((n - i - 1) % 3 == 0 && i < n - 1) out[o++] = ',';
  }
  snprintf(out + o, 32 - (size_t)o, ".%03llu", v % 1000);
}

/* ------------------------------------------------------------- output */

typedef struct {
  char *buf;
  size_t len, cap;
  int oom;
} sink_t;

static cairo_status_t sink_write(void *closure, const unsigned char *data, unsigned int length) {
  sink_t *s = closure;
  if (s->oom) return CAIRO_STATUS_WRITE_ERROR;
  if (s->len + length > s->cap) {
    size_t cap = s->cap ? s->cap : 16384;
    while (cap < s->len + length) cap *= 2;
    char *b = realloc(s->buf, cap);
    if (!b) {
      s->oom = 1;
      return CAIRO_STATUS_WRITE_ERROR;
    }
    s->buf = b;
    s->cap = cap;
  }
  memcpy(s->buf + s->len, data, length);
  s->len += length;
  return CAIRO_STATUS_SUCCESS;
}

/* ------------------------------------------------------------- layout */

typedef struct {
  const char *head;
  double right; /* the column's right edge (amounts), or its left edge (text) */
  double width; /* text: the width a value is cut to */
  int amount;
} col_t;

typedef struct page page_t;
struct page {
  cairo_t *cr;       /* NULL on the counting pass */
  const fofal__pdf_doc_t *doc;
  const char *title, *tenant, *date_line, *printed; /* each page's head and foot */
  const col_t *cols;
  int ncols;
  double y;
  int page, pages;
  /* Drawn on the first page between the head and the column headings (a report's chart),
   * `first_h` points high; NULL: none. */
  void (*first)(page_t *p, double y);
  double first_h;
  const void *opaque;
  double head_size; /* of the column headings; 0: SIZE */
};

static double text_width(cairo_t *cr, const char *s) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, s, &e);
  return e.x_advance;
}

/* `s` cut (at a UTF-8 character boundary, with "…") to `width` points, into out. */
static void fit(cairo_t *cr, const char *s, double width, char *out, size_t cap) {
  snprintf(out, cap, "%s", s);
  if (!cr || text_width(cr, out) <= width) return;
  size_t n = strlen(out);
  while (n > 0) {
    do n--;
    while (n > 0 && ((unsigned char)out[n] & 0xC0) == 0x80);
    if (n + 4 > cap) continue;
    memcpy(out + n, "\xE2\x80\xA6", 4); /* … */
    if (text_width(cr, out) <= width) return;
  }
}

static void show(cairo_t *cr, double x, double y, const char *s, int right) {
  if (!cr) return;
  cairo_move_to(cr, right ? x - text_width(cr, s) : x, y);
  cairo_show_text(cr, s);
}

static void font(cairo_t *cr, int bold, double size) {
  if (!cr) return;
  cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

static void rule(cairo_t *cr, double y) {
  if (!cr) return;
  cairo_set_line_width(cr, 0.5);
  cairo_move_to(cr, MARGIN, y);
  cairo_line_to(cr, PAGE_W - MARGIN, y);
  cairo_stroke(cr);
}

/* A page's head: title, tenant, date, the column headings. */
static void page_head(page_t *p) {
  cairo_t *cr = p->cr;
  p->page++;
  double y = MARGIN + 16;
  font(cr, 1, 15);
  show(cr, MARGIN, y, p->title, 0);
  font(cr, 0, 10);
  char line[300];
  snprintf(line, sizeof line, "%s", p->tenant);
  show(cr, MARGIN, y + 18, line, 0);
  show(cr, PAGE_W - MARGIN, y + 18, p->date_line, 1);
  y += 40;
  if (p->page == 1 && p->first) {
    p->first(p, y);
    y += p->first_h;
  }
  font(cr, 1, p->head_size > 0 ? p->head_size : SIZE);
  for (int i = 0; i < p->ncols; i++) show(cr, p->cols[i].right, y, p->cols[i].head, p->cols[i].amount);
  rule(cr, y + 4);
  p->y = y + 4 + ROW;
  font(cr, 0, SIZE);
}

static void page_foot(page_t *p) {
  cairo_t *cr = p->cr;
  if (!cr) return;
  char line[64];
  font(cr, 0, 8);
  snprintf(line, sizeof line, "page %d / %d", p->page, p->pages);
  show(cr, PAGE_W - MARGIN, PAGE_H - MARGIN + 14, line, 1);
  show(cr, MARGIN, PAGE_H - MARGIN + 14, p->printed, 0);
  cairo_show_page(cr);
}

/* Room for one more row, a new page when there is none. */
static void need_row(page_t *p) {
  if (p->y + ROW <= PAGE_H - MARGIN) return;
  page_foot(p);
  page_head(p);
}

/* One row: `cells` text for text columns, amounts (int) for amount columns, or a gap
 * (NULL cell, no amount). `bold` for totals and section titles. */
static void row(page_t *p, const char *const *cells, const json_int_t *amounts, const int *has, int bold) {
  need_row(p);
  font(p->cr, bold, SIZE);
  for (int i = 0; i < p->ncols; i++) {
    const col_t *c = &p->cols[i];
    char text[256];
    if (c->amount) {
      if (!has[i]) continue;
      fofal__pdf_amount(amounts[i], text);
      show(p->cr, c->right, p->y, text, 1);
    } else if (cells[i]) {
      /* A label alone (a section, a total) spans the text columns after it. */
      double width = c->width;
      for (int k = i + 1; k < p->ncols && !p->cols[k].amount && !cells[k]; k++)
        width = p->cols[k].right + p->cols[k].width - c->right;
      fit(p->cr, cells[i], width, text, sizeof text);
      show(p->cr, c->right, p->y, text, 0);
    }
  }
  p->y += ROW;
}

/* ------------------------------------------------------------- statements */

static const char *str_or(const json_t *o, const char *k, const char *dflt) {
  const char *s = json_string_value(json_object_get(o, k));
  return s && *s ? s : dflt;
}

static json_int_t int_of(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static void draw(page_t *p) {
  const fofal__pdf_doc_t *d = p->doc;
  const json_t *r = d->statement;
  size_t i;
  json_t *a;
  page_head(p);
  if (d->kind == FOFAL_PDF_TRIAL) {
    json_array_foreach(json_object_get(r, "accounts"), i, a) {
      const char *cells[] = {str_or(a, "account", ""), str_or(a, "name", ""), NULL, NULL, NULL};
      json_int_t v[] = {0, 0, int_of(a, "debit_minor"), int_of(a, "credit_minor"), int_of(a, "balance_minor")};
      int has[] = {0, 0, 1, 1, 1};
      row(p, cells, v, has, 0);
    }
    need_row(p);
    rule(p->cr, p->y - ROW + 4);
    const char *cells[] = {"Total", NULL, NULL, NULL, NULL};
    json_int_t v[] = {0, 0, int_of(r, "debit_minor"), int_of(r, "credit_minor"),
                      int_of(r, "debit_minor") - int_of(r, "credit_minor")};
    int has[] = {0, 0, 1, 1, 1};
    row(p, cells, v, has, 1);
  } else {
    int income = d->kind == FOFAL_PDF_INCOME;
    static const char *const isec[][3] = {{"charges", "Charges (classe 6)", "charges_minor"},
                                          {"products", "Produits (classe 7)", "products_minor"}};
    static const char *const bsec[][3] = {{"assets", "Actif", "assets_minor"},
                                          {"equity_and_liabilities", "Capitaux propres et passif",
                                           "equity_and_liabilities_minor"}};
    const char *const(*sec)[3] = income ? isec : bsec;
    for (int k = 0; k < 2; k++) {
      const char *title[] = {sec[k][1], NULL, NULL};
      json_int_t none[] = {0, 0, 0};
      int no[] = {0, 0, 0}, yes[] = {0, 0, 1};
      row(p, title, none, no, 1);
      json_array_foreach(json_object_get(r, sec[k][0]), i, a) {
        const char *cells[] = {str_or(a, "account", ""), str_or(a, "name", ""), NULL};
        json_int_t v[] = {0, 0, int_of(a, "amount_minor")};
        row(p, cells, v, yes, 0);
      }
      need_row(p);
      rule(p->cr, p->y - ROW + 4);
      char label[120];
      snprintf(label, sizeof label, "Total %s", sec[k][1]);
      const char *tot[] = {label, NULL, NULL};
      json_int_t v[] = {0, 0, int_of(r, sec[k][2])};
      row(p, tot, v, yes, 1);
      p->y += ROW / 2;
    }
    const char *res[] = {income ? "Résultat (produits − charges)" : "Résultat de l'exercice non clôturé", NULL, NULL};
    json_int_t v[] = {0, 0, int_of(r, "result_minor")};
    int yes[] = {0, 0, 1};
    row(p, res, v, yes, 1);
  }
  page_foot(p);
}

static int render(page_t *pp, void (*draw_fn)(page_t *), char **out, size_t *len);

int fofal__pdf_statement(const fofal__pdf_doc_t *doc, char **out, size_t *len) {
  static const col_t trial[] = {{"Compte", MARGIN, 52, 0},
                                {"Intitulé", MARGIN + 56, 170, 0},
                                {"Débit", MARGIN + 318, 0, 1},
                                {"Crédit", MARGIN + 400, 0, 1},
                                {"Solde", PAGE_W - MARGIN, 0, 1}};
  static const col_t amounts[] = {
      {"Compte", MARGIN, 52, 0}, {"Intitulé", MARGIN + 56, 300, 0}, {"Montant", PAGE_W - MARGIN, 0, 1}};
  page_t p = {.doc = doc, .title = doc->title, .tenant = doc->tenant, .date_line = doc->date_line,
              .printed = doc->printed, .cols = doc->kind == FOFAL_PDF_TRIAL ? trial : amounts,
              .ncols = doc->kind == FOFAL_PDF_TRIAL ? 5 : 3};
  return render(&p, draw, out, len);
}

/* Draws p's document twice with `draw_fn`: a counting pass (for "page n / N"; rows do not
 * depend on text widths, cut to their columns, so the count holds), then on cairo's PDF
 * surface into *out (new, *len bytes). 0 or -1. */
static int render(page_t *pp, void (*draw_fn)(page_t *), char **out, size_t *len) {
  page_t p = *pp;
  *out = NULL;
  *len = 0;
  draw_fn(&p);
  p.pages = p.page;
  p.page = 0;
  sink_t s = {0};
  cairo_surface_t *surface = cairo_pdf_surface_create_for_stream(sink_write, &s, PAGE_W, PAGE_H);
  cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, p.title);
  cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "FOFAL");
  p.cr = cairo_create(surface);
  cairo_set_source_rgb(p.cr, 0, 0, 0);
  draw_fn(&p);
  int bad = cairo_status(p.cr) != CAIRO_STATUS_SUCCESS;
  cairo_destroy(p.cr);
  cairo_surface_finish(surface);
  bad |= cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS || s.oom;
  cairo_surface_destroy(surface);
  if (bad || s.len < 5) {
    free(s.buf);
    return -1;
  }
  *out = s.buf;
  *len = s.len;
  return 0;
}

/* ------------------------------------------------------------- reports */

#define CHART_BARS 15   /* the largest bars shown; the table lists every row */
#define CHART_ROW 13.0
#define CHART_LABEL 120.0
#define NOTE_LINE 130   /* bytes of a note's line */

static size_t chart_bars(const fofal__pdf_report_t *r) {
  size_t n = json_array_size(r->bars);
  return n > CHART_BARS ? CHART_BARS : n;
}

/* The chart: its title, then one horizontal bar per label, scaled to the largest value
 * (geometry only: the printed values are the exact integers), its value at its end. */
static void chart(page_t *p, double y) {
  const fofal__pdf_report_t *r = p->opaque;
  cairo_t *cr = p->cr;
  if (!cr) return;
  size_t n = chart_bars(r);
  json_int_t max = 0;
  for (size_t i = 0; i < n; i++) {
    json_int_t v = json_integer_value(json_object_get(json_array_get(r->bars, i), "value"));
    if (v > max) max = v;
  }
  font(cr, 1, 10);
  show(cr, MARGIN, y + 4, r->chart_title ? r->chart_title : "", 0);
  double x0 = MARGIN + CHART_LABEL, width = PAGE_W - MARGIN - x0 - 70, top = y + 12;
  font(cr, 0, 8);
  for (size_t i = 0; i < n; i++) {
    const json_t *b = json_array_get(r->bars, i);
    json_int_t v = json_integer_value(json_object_get(b, "value"));
    double by = top + (double)i * CHART_ROW;
    char label[128], value[40];
    fit(cr, json_string_value(json_object_get(b, "label")) ? json_string_value(json_object_get(b, "label")) : "",
        CHART_LABEL - 6, label, sizeof label);
    cairo_set_source_rgb(cr, 0, 0, 0);
    show(cr, MARGIN, by + 9, label, 0);
    double w = max > 0 && v > 0 ? width * (double)v / (double)max : 0;
    cairo_set_source_rgb(cr, 0.18, 0.38, 0.62);
    cairo_rectangle(cr, x0, by + 1, w < 1 && v > 0 ? 1 : w, CHART_ROW - 3);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    if (r->bar_amount) fofal__pdf_amount(v, value);
    else snprintf(value, sizeof value, "%lld", (long long)v);
    show(cr, x0 + w + 4, by + 9, value, 0);
  }
  /* the axis */
  cairo_set_line_width(cr, 0.5);
  cairo_move_to(cr, x0, top);
  cairo_line_to(cr, x0, top + (double)n * CHART_ROW);
  cairo_stroke(cr);
}

static void report_row(page_t *p, const json_t *cells, int bold) {
  need_row(p);
  font(p->cr, bold, SIZE - 1);
  for (int i = 0; i < p->ncols; i++) {
    const col_t *c = &p->cols[i];
    const char *s = json_string_value(json_array_get(cells, (size_t)i));
    char text[256];
    if (!s) continue;
    if (c->amount) show(p->cr, c->right, p->y, s, 1);
    else {
      fit(p->cr, s, c->width, text, sizeof text);
      show(p->cr, c->right, p->y, text, 0);
    }
  }
  p->y += ROW;
}

static void draw_report(page_t *p) {
  const fofal__pdf_report_t *r = p->opaque;
  size_t i;
  json_t *row_cells;
  page_head(p);
  json_array_foreach(r->rows, i, row_cells) report_row(p, row_cells, 0);
  if (r->total) {
    need_row(p);
    rule(p->cr, p->y - ROW + 4);
    report_row(p, r->total, 1);
  }
  /* The note, wrapped at spaces every NOTE_LINE bytes or so (by count, not width: both
   * passes must lay it out alike, and the counting pass has no fonts). */
  for (const char *n = r->note; n && *n;) {
    size_t len = strlen(n), cut = len;
    if (len > NOTE_LINE) {
      cut = NOTE_LINE;
      while (cut > 0 && n[cut] != ' ') cut--;
      if (cut == 0) /* no space: cut at a character's start */
        for (cut = NOTE_LINE; cut > 1 && ((unsigned char)n[cut] & 0xC0) == 0x80; cut--) {
        }
    }
    char text[NOTE_LINE * 2 + 8], line[NOTE_LINE + 1];
    snprintf(line, sizeof line, "%.*s", (int)cut, n);
    need_row(p);
    font(p->cr, 0, 7.5);
    fit(p->cr, line, PAGE_W - 2 * MARGIN, text, sizeof text);
    show(p->cr, MARGIN, p->y + 4, text, 0);
    p->y += ROW - 3;
    n += cut;
    while (*n == ' ') n++;
  }
  page_foot(p);
}

int fofal__pdf_report(const fofal__pdf_report_t *r, char **out, size_t *len) {
  col_t cols[FOFAL_PDF_REPORT_MAX_COLS];
  int n = r->ncols < 1 ? 1 : r->ncols > FOFAL_PDF_REPORT_MAX_COLS ? FOFAL_PDF_REPORT_MAX_COLS : r->ncols;
  /* The first column (a name) takes what the figures leave: each figure column is the
   * same width, right-aligned on its edge. */
  double figures = n > 1 ? (PAGE_W - 2 * MARGIN - 110) / (n - 1) : 0;
  cols[0] = (col_t){r->heads[0], MARGIN, 104, 0};
  for (int i = 1; i < n; i++) cols[i] = (col_t){r->heads[i], MARGIN + 110 + figures * i, 0, 1};
  size_t bars = chart_bars(r);
  page_t p = {.title = r->title, .tenant = r->tenant, .date_line = r->date_line, .printed = r->printed,
              .cols = cols, .ncols = n, .first = bars ? chart : NULL,
              .first_h = bars ? 24 + (double)bars * CHART_ROW : 0, .opaque = r, .head_size = SIZE - 2};
  return render(&p, draw_report, out, len);
}
