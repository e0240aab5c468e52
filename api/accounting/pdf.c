/*
 * pdf.c — the statements of the books as PDF (?format=pdf): the trial balance, the income
 * statement, the balance sheet and the general ledger (accounting's reads), the aged
 * receivables and payables (sales' reads), from the very JSON their reads answer, drawn
 * with cairo's PDF surface (Debian libcairo2; fonts through fontconfig).
 *
 * A4, 2 cm margins: portrait, but the aged balances in landscape (their six amount
 * columns). Each page: the statement's title, the tenant (its company's name and tax id
 * when set: accounting.company.set; else its code), the date (as of, or the period), the
 * column headings; then one row per account (number, name cut to its
 * column, amounts right-aligned on their column's edge) and the totals in bold. The
 * general ledger: per account a heading, its opening balance, its lines (date, the
 * entry's first 8 characters, memo and label cut to their column, debit, credit, running
 * balance) and its totals with the closing balance; then the totals of all. The aged
 * balances: per customer (supplier) and currency a heading, its open invoices (number,
 * date, due date, days past due, the open amount in its bucket's column and in the
 * total), its totals; then the totals per currency. A row
 * that would cross the bottom margin starts a new page, headings again; every page is
 * numbered "page n / N" (N known once drawn: the pages are drawn twice, the first time
 * to count them). Amounts are printed exactly from integer minor units, three decimals
 * (millimes; the aged balances: their currency's decimals), thousands grouped with a
 * comma: 1234567 → 1,234.567; never through a floating-point number.
 *
 * Pure but for cairo: memory in, memory out. Thread-safe (a read worker's own surface).
 */
#include "pdf.h"

#include "api.h"

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

#define LAND_W PAGE_H /* A4 landscape: the aged balances */

/* ------------------------------------------------------------- amounts */

/* The decimals of a currency's minor unit (ISO 4217): 3 for TND and the other dinars, 0
 * for the currencies without a minor unit, else 2. */
static int decimals_of(const char *currency) {
  static const char *const three[] = {"TND", "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", NULL};
  static const char *const none[] = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
                                     "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF", NULL};
  if (!currency || !*currency) return 3;
  for (int i = 0; three[i]; i++)
    if (!strcmp(currency, three[i])) return 3;
  for (int i = 0; none[i]; i++)
    if (!strcmp(currency, none[i])) return 0;
  return 2;
}

/* `minor` with `decimals` places, exactly (integer arithmetic only), grouped by
 * thousands when `grouped`. At most 27 bytes with its NUL. */
static void amount_text(json_int_t minor, int decimals, int grouped, char *out, size_t cap) {
  unsigned long long v = minor < 0 ? 0ULL - (unsigned long long)minor : (unsigned long long)minor, unit = 1;
  for (int i = 0; i < decimals; i++) unit *= 10;
  char digits[24];
  int n = snprintf(digits, sizeof digits, "%llu", v / unit), o = 0;
  if (minor < 0) out[o++] = '-';
  for (int i = 0; i < n; i++) {
    out[o++] = digits[i];
    if (grouped && (n - i - 1) % 3 == 0 && i < n - 1) out[o++] = ',';
  }
  if (decimals) snprintf(out + o, cap - (size_t)o, ".%0*llu", decimals, v % unit);
  else out[o] = 0;
}

void fofal__pdf_amount(json_int_t minor, char out[32]) { amount_text(minor, 3, 1, out, 32); }

void fofal__pdf_amount_in(json_int_t minor, const char *currency, int grouped, char out[40]) {
  amount_text(minor, decimals_of(currency), grouped, out, 40);
}

void fofal__pdf_tenant_line(const json_t *rows, const char *tenant, char *out, size_t cap) {
  const json_t *c = json_array_get(rows, 0);
  const char *name = json_string_value(json_object_get(c, "name")), *tax = json_string_value(json_object_get(c, "tax_id"));
  if (name && *name && tax && *tax) snprintf(out, cap, "%s — MF %s", name, tax);
  else snprintf(out, cap, "%s", name && *name ? name : tenant);
}

void fofal__pdf_printed(char out[64]) {
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  snprintf(out, 64, "édité le %04d-%02d-%02d %02d:%02d UTC", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
           tm.tm_min);
}

int fofal__pdf_company_line(fofal_worker_t *w, const char *tenant, char *out, size_t cap, char *err, size_t errlen) {
  json_t *company = NULL;
  const char *tp[] = {tenant};
  int rc = fofal__worker_query(w, tenant, FOFAL__PDF_COMPANY_SQL, 1, tp, &company, err, errlen);
  if (!rc) fofal__pdf_tenant_line(company, tenant, out, cap);
  json_decref(company);
  return rc;
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
  int amount;   /* right-aligned: an amount, or a text given for it (days past due) */
} col_t;

typedef struct page page_t;
struct page {
  cairo_t *cr;       /* NULL on the counting pass */
  const fofal__pdf_doc_t *doc;
  const char *title, *tenant, *date_line, *printed; /* each page's head and foot */
  const col_t *cols;
  int ncols;
  double w, h;       /* the page, points (portrait or landscape) */
  int decimals;      /* of the amounts of the rows drawn now */
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

static void rule(const page_t *p, double y) {
  if (!p->cr) return;
  cairo_set_line_width(p->cr, 0.5);
  cairo_move_to(p->cr, MARGIN, y);
  cairo_line_to(p->cr, p->w - MARGIN, y);
  cairo_stroke(p->cr);
}

/* A page's head: title, tenant, date, the column headings. */
static void page_head(page_t *p) {
  cairo_t *cr = p->cr;
  p->page++;
  double y = MARGIN + 16;
  font(cr, 1, 15);
  show(cr, MARGIN, y, p->title, 0);
  font(cr, 0, 10);
  char line[400];
  /* The tenant's line, cut short of the date on its right. */
  fit(cr, p->tenant, cr ? p->w - 2 * MARGIN - text_width(cr, p->date_line) - 12 : 0, line, sizeof line);
  show(cr, MARGIN, y + 18, line, 0);
  show(cr, p->w - MARGIN, y + 18, p->date_line, 1);
  y += 40;
  if (p->page == 1 && p->first) {
    p->first(p, y);
    y += p->first_h;
  }
  font(cr, 1, p->head_size > 0 ? p->head_size : SIZE);
  for (int i = 0; i < p->ncols; i++) show(cr, p->cols[i].right, y, p->cols[i].head, p->cols[i].amount);
  rule(p, y + 4);
  p->y = y + 4 + ROW;
  font(cr, 0, SIZE);
}

static void page_foot(page_t *p) {
  cairo_t *cr = p->cr;
  if (!cr) return;
  char line[64];
  font(cr, 0, 8);
  snprintf(line, sizeof line, "page %d / %d", p->page, p->pages);
  show(cr, p->w - MARGIN, p->h - MARGIN + 14, line, 1);
  show(cr, MARGIN, p->h - MARGIN + 14, p->printed, 0);
  cairo_show_page(cr);
}

/* Room for one more row, a new page when there is none. */
static void need_row(page_t *p) {
  if (p->y + ROW <= p->h - MARGIN) return;
  page_foot(p);
  page_head(p);
}

/* One row: `cells` text for text columns (and right-aligned text for an amount column
 * without an amount), amounts for amount columns where `has` says so, else a gap (NULL
 * cell, no amount). `bold` for totals and section titles. */
static void row(page_t *p, const char *const *cells, const json_int_t *amounts, const int *has, int bold) {
  need_row(p);
  font(p->cr, bold, SIZE);
  for (int i = 0; i < p->ncols; i++) {
    const col_t *c = &p->cols[i];
    char text[256];
    if (c->amount) {
      if (has[i]) {
        amount_text(amounts[i], p->decimals, 1, text, sizeof text);
        show(p->cr, c->right, p->y, text, 1);
      } else if (cells[i])
        show(p->cr, c->right, p->y, cells[i], 1);
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

/* A rule under the rows drawn, above the totals' row that follows. */
static void totals_rule(page_t *p) {
  need_row(p);
  rule(p, p->y - ROW + 4);
}

/* ------------------------------------------------------------- statements */

#define MAXCOLS 11

static const char *str_or(const json_t *o, const char *k, const char *dflt) {
  const char *s = json_string_value(json_object_get(o, k));
  return s && *s ? s : dflt;
}

static json_int_t int_of(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* A row of one bold label spanning the text columns (a heading, a note). */
static void label_row(page_t *p, int col, const char *label, int bold) {
  const char *cells[MAXCOLS] = {0};
  json_int_t none[MAXCOLS] = {0};
  int no[MAXCOLS] = {0};
  cells[col] = label;
  row(p, cells, none, no, bold);
}

static void draw_trial(page_t *p) {
  const json_t *r = p->doc->statement, *a;
  size_t i;
  json_array_foreach(json_object_get(r, "accounts"), i, a) {
    const char *cells[] = {str_or(a, "account", ""), str_or(a, "name", ""), NULL, NULL, NULL};
    json_int_t v[] = {0, 0, int_of(a, "debit_minor"), int_of(a, "credit_minor"), int_of(a, "balance_minor")};
    int has[] = {0, 0, 1, 1, 1};
    row(p, cells, v, has, 0);
  }
  totals_rule(p);
  const char *cells[] = {"Total", NULL, NULL, NULL, NULL};
  json_int_t v[] = {0, 0, int_of(r, "debit_minor"), int_of(r, "credit_minor"),
                    int_of(r, "debit_minor") - int_of(r, "credit_minor")};
  int has[] = {0, 0, 1, 1, 1};
  row(p, cells, v, has, 1);
}

static void draw_sections(page_t *p) {
  const fofal__pdf_doc_t *d = p->doc;
  const json_t *r = d->statement, *a;
  size_t i;
  int income = d->kind == FOFAL_PDF_INCOME;
  static const char *const isec[][3] = {{"charges", "Charges (classe 6)", "charges_minor"},
                                        {"products", "Produits (classe 7)", "products_minor"}};
  static const char *const bsec[][3] = {{"assets", "Actif", "assets_minor"},
                                        {"equity_and_liabilities", "Capitaux propres et passif",
                                         "equity_and_liabilities_minor"}};
  const char *const(*sec)[3] = income ? isec : bsec;
  int yes[] = {0, 0, 1};
  for (int k = 0; k < 2; k++) {
    label_row(p, 0, sec[k][1], 1);
    json_array_foreach(json_object_get(r, sec[k][0]), i, a) {
      const char *cells[] = {str_or(a, "account", ""), str_or(a, "name", ""), NULL};
      json_int_t v[] = {0, 0, int_of(a, "amount_minor")};
      row(p, cells, v, yes, 0);
    }
    totals_rule(p);
    char label[120];
    snprintf(label, sizeof label, "Total %s", sec[k][1]);
    const char *tot[] = {label, NULL, NULL};
    json_int_t v[] = {0, 0, int_of(r, sec[k][2])};
    row(p, tot, v, yes, 1);
    p->y += ROW / 2;
  }
  const char *res[] = {income ? "Résultat (produits − charges)" : "Résultat de l'exercice non clôturé", NULL, NULL};
  json_int_t v[] = {0, 0, int_of(r, "result_minor")};
  row(p, res, v, yes, 1);
}

/* The general ledger: per account its heading, opening balance, lines and totals. */
static void draw_ledger(page_t *p) {
  const json_t *r = p->doc->statement, *a, *l;
  size_t i, j;
  json_int_t dr = 0, cr = 0;
  int from = json_is_string(json_object_get(r, "from"));
  json_array_foreach(json_object_get(r, "accounts"), i, a) {
    char head[200], tot[64];
    snprintf(head, sizeof head, "%s %s", str_or(a, "account", ""), str_or(a, "name", ""));
    label_row(p, 0, head, 1);
    if (from || int_of(a, "opening_minor")) {
      const char *cells[] = {NULL, NULL, "Solde à nouveau", NULL, NULL, NULL};
      json_int_t v[] = {0, 0, 0, 0, 0, int_of(a, "opening_minor")};
      int has[] = {0, 0, 0, 0, 0, 1};
      row(p, cells, v, has, 0);
    }
    json_array_foreach(json_object_get(a, "lines"), j, l) {
      char piece[9], text[400];
      const char *memo = str_or(l, "memo", ""), *label = str_or(l, "label", "");
      snprintf(piece, sizeof piece, "%.8s", str_or(l, "entry_id", ""));
      if (*memo && *label && strcmp(memo, label)) snprintf(text, sizeof text, "%s — %s", memo, label);
      else snprintf(text, sizeof text, "%s", *memo ? memo : label);
      json_int_t d = int_of(l, "debit_minor"), c = int_of(l, "credit_minor");
      const char *cells[] = {str_or(l, "date", ""), piece, text, NULL, NULL, NULL};
      json_int_t v[] = {0, 0, 0, d, c, int_of(l, "balance_minor")};
      int has[] = {0, 0, 0, d != 0, c != 0, 1};
      row(p, cells, v, has, 0);
    }
    totals_rule(p);
    snprintf(tot, sizeof tot, "Total %s", str_or(a, "account", ""));
    const char *cells[] = {tot, NULL, NULL, NULL, NULL, NULL};
    json_int_t v[] = {0, 0, 0, int_of(a, "debit_minor"), int_of(a, "credit_minor"), int_of(a, "closing_minor")};
    int has[] = {0, 0, 0, 1, 1, 1};
    row(p, cells, v, has, 1);
    p->y += ROW / 2;
    dr += int_of(a, "debit_minor");
    cr += int_of(a, "credit_minor");
  }
  if (json_is_true(json_object_get(r, "truncated")))
    label_row(p, 0, "Lignes tronquées : au plus 5000 par compte (totaux complets) ; resserrer les dates.", 0);
  totals_rule(p);
  const char *cells[] = {"Total général", NULL, NULL, NULL, NULL, NULL};
  json_int_t v[] = {0, 0, 0, dr, cr, 0};
  int has[] = {0, 0, 0, 1, 1, 0};
  row(p, cells, v, has, 1);
}

/* The aged receivables (payables): per customer (supplier) and currency its open
 * invoices and totals, then the totals per currency. */
static void draw_aged(page_t *p) {
  const json_t *r = p->doc->statement, *inv = json_object_get(r, "invoices"), *g, *v;
  int pay = p->doc->kind == FOFAL_PDF_PAYABLES;
  const char *party = pay ? "supplier" : "customer", *number = pay ? "supplier_number" : "number";
  static const char *const buckets[] = {"not_due", "1_30", "31_60", "61_90", "over_90"};
  static const char *const sums[] = {"not_due_minor",    "days_1_30_minor", "days_31_60_minor",
                                     "days_61_90_minor", "over_90_minor",   "open_minor"};
  json_t *totals = json_object(); /* currency → the six sums */
  size_t i, j, run = 0, cursor = 0, n = json_array_size(inv);
  const char *prev = NULL;
  json_array_foreach(json_object_get(r, pay ? "suppliers" : "customers"), i, g) {
    const char *who = str_or(g, party, ""), *cur = str_or(g, "currency", "");
    char head[160], tot[120];
    p->decimals = decimals_of(cur);
    snprintf(head, sizeof head, "%s (%s)", who, cur);
    label_row(p, 0, head, 1);
    /* The invoices come ordered by party as the parties do: a party's run starts where
     * the previous party's ended (else, in another collation, search them all). */
    if (!prev || strcmp(prev, who)) run = cursor;
    prev = who;
    if (run >= n || strcmp(str_or(json_array_get(inv, run), party, ""), who)) run = 0;
    int seen = 0; /* a party's invoices are contiguous (ordered by party first) */
    for (j = run; j < n; j++) {
      v = json_array_get(inv, j);
      if (strcmp(str_or(v, party, ""), who)) {
        if (seen) break;
        continue;
      }
      seen = 1;
      cursor = j + 1;
      if (strcmp(str_or(v, "currency", ""), cur)) continue;
      char late[24] = "";
      json_int_t days = int_of(v, "days_overdue"), open = int_of(v, "open_minor");
      if (days > 0) snprintf(late, sizeof late, "%lld j", (long long)days);
      const char *cells[MAXCOLS] = {NULL, str_or(v, number, ""), str_or(v, "date", ""), str_or(v, "due_date", ""), late};
      json_int_t vals[MAXCOLS] = {0};
      int has[MAXCOLS] = {0};
      for (int b = 0; b < 5; b++)
        if (!strcmp(str_or(v, "bucket", ""), buckets[b])) {
          vals[5 + b] = open;
          has[5 + b] = 1;
        }
      vals[10] = open;
      has[10] = 1;
      row(p, cells, vals, has, 0);
    }
    totals_rule(p);
    snprintf(tot, sizeof tot, "Total %s", who);
    const char *cells[MAXCOLS] = {tot};
    json_int_t vals[MAXCOLS] = {0};
    int has[MAXCOLS] = {0};
    json_t *t = json_object_get(totals, cur);
    if (!t) json_object_set_new(totals, cur, t = json_pack("[IIIIII]", 0LL, 0LL, 0LL, 0LL, 0LL, 0LL));
    for (int k = 0; k < 6; k++) {
      vals[5 + k] = int_of(g, sums[k]);
      has[5 + k] = 1;
      json_array_set_new(t, (size_t)k, json_integer(json_integer_value(json_array_get(t, (size_t)k)) + vals[5 + k]));
    }
    row(p, cells, vals, has, 1);
    p->y += ROW / 2;
  }
  if (!json_object_size(totals)) label_row(p, 0, pay ? "Aucune dette fournisseur ouverte." : "Aucune créance ouverte.", 0);
  const char *cur;
  json_t *t;
  json_object_foreach(totals, cur, t) {
    char tot[64];
    snprintf(tot, sizeof tot, "Total %s", cur);
    const char *cells[MAXCOLS] = {tot};
    json_int_t vals[MAXCOLS] = {0};
    int has[MAXCOLS] = {0};
    for (int k = 0; k < 6; k++) {
      vals[5 + k] = json_integer_value(json_array_get(t, (size_t)k));
      has[5 + k] = 1;
    }
    p->decimals = decimals_of(cur);
    totals_rule(p);
    row(p, cells, vals, has, 1);
  }
  json_decref(totals);
}

static void draw(page_t *p) {
  p->decimals = 3;
  page_head(p);
  switch (p->doc->kind) {
  case FOFAL_PDF_TRIAL: draw_trial(p); break;
  case FOFAL_PDF_LEDGER: draw_ledger(p); break;
  case FOFAL_PDF_RECEIVABLES:
  case FOFAL_PDF_PAYABLES: draw_aged(p); break;
  default: draw_sections(p); break;
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
  static const col_t ledger[] = {{"Date", MARGIN, 54, 0},          {"Pièce", MARGIN + 56, 46, 0},
                                 {"Libellé", MARGIN + 104, 134, 0}, {"Débit", MARGIN + 318, 0, 1},
                                 {"Crédit", MARGIN + 400, 0, 1},     {"Solde", PAGE_W - MARGIN, 0, 1}};
  /* Landscape: the six amount columns 70 points apart from the right margin. */
  static const col_t aged[] = {{"Tiers", MARGIN, 70, 0},
                               {"Pièce", MARGIN + 72, 80, 0},
                               {"Date", MARGIN + 154, 58, 0},
                               {"Échéance", MARGIN + 216, 58, 0},
                               {"Retard", MARGIN + 306, 0, 1},
                               {"Non échu", LAND_W - MARGIN - 350, 0, 1},
                               {"1–30 j", LAND_W - MARGIN - 280, 0, 1},
                               {"31–60 j", LAND_W - MARGIN - 210, 0, 1},
                               {"61–90 j", LAND_W - MARGIN - 140, 0, 1},
                               {"> 90 j", LAND_W - MARGIN - 70, 0, 1},
                               {"Total", LAND_W - MARGIN, 0, 1}};
  page_t p = {.doc = doc, .title = doc->title, .tenant = doc->tenant, .date_line = doc->date_line,
              .printed = doc->printed, .w = PAGE_W, .h = PAGE_H};
  switch (doc->kind) {
  case FOFAL_PDF_TRIAL: p.cols = trial, p.ncols = 5; break;
  case FOFAL_PDF_LEDGER: p.cols = ledger, p.ncols = 6; break;
  case FOFAL_PDF_RECEIVABLES:
  case FOFAL_PDF_PAYABLES: p.cols = aged, p.ncols = 11, p.w = LAND_W, p.h = PAGE_W; break;
  default: p.cols = amounts, p.ncols = 3; break;
  }
  return render(&p, draw, out, len);
}

/* Draws p's document twice with `draw_fn`: a counting pass (for "page n / N"; rows do not
 * depend on text widths, cut to their columns, so the count holds), then on cairo's PDF
 * surface (p's page size) into *out (new, *len bytes). 0 or -1. */
static int render(page_t *pp, void (*draw_fn)(page_t *), char **out, size_t *len) {
  page_t p = *pp;
  *out = NULL;
  *len = 0;
  draw_fn(&p);
  p.pages = p.page;
  p.page = 0;
  sink_t s = {0};
  cairo_surface_t *surface = cairo_pdf_surface_create_for_stream(sink_write, &s, p.w, p.h);
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
    rule(p, p->y - ROW + 4);
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
              .w = PAGE_W, .h = PAGE_H, .cols = cols, .ncols = n, .first = bars ? chart : NULL,
              .first_h = bars ? 24 + (double)bars * CHART_ROW : 0, .opaque = r, .head_size = SIZE - 2};
  return render(&p, draw_report, out, len);
}
