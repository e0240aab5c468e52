/*
 * sales_api.c — the sales module's reads.
 *
 *   GET /api/v1/sales/customers                       every customer
 *   GET /api/v1/sales/customers/{customer}            one customer
 *   GET /api/v1/sales/orders/{order_id}               an order: lines, what is delivered,
 *                                                     its deliveries
 *   GET /api/v1/sales/deliveries/{delivery_id}        a delivery: lines, the pallets and
 *                                                     cartons that left, its invoice
 *   GET /api/v1/sales/invoices?customer=              invoices, newest first (latest
 *                                                     500), with what is due now
 *   GET /api/v1/sales/invoices/{invoice_id}           an invoice: lines, VAT per rate,
 *                                                     credit notes, payments, due
 *   GET /api/v1/sales/receivables?as_of=              aged receivables at a date: each
 *                                                     open invoice and per customer the
 *                                                     amounts not due, 1–30, 31–60, 61–90
 *                                                     and over 90 days past due
 *   GET /api/v1/sales/treasury?as_of=                 the bank (532) and cash (54)
 *                                                     position: received − paid (to
 *                                                     customers and suppliers), up to a
 *                                                     date (absent: every payment)
 *   GET /api/v1/sales/supplier-invoices?supplier=&status=
 *   GET /api/v1/sales/supplier-invoices/{id}          with the three-way match's outcome
 *   GET /api/v1/sales/payables?as_of=                 aged payables, as receivables
 *
 * The aged balances are also CSV (?format=csv: one row per open invoice) and PDF
 * (?format=pdf, or Accept: application/pdf: drawn by the accounting statements' pdf.c,
 * whose header api/accounting/pdf.h is that module's for other reads).
 *
 * Money in integer minor units of the document's currency. The rows are the sales
 * projection's (schemas/sales/086_sales.sql); "as of" a date sums the documents dated up
 * to it, so a payment recorded late for an earlier day changes every answer after that
 * day. Read by accountants, managers, auditors and admins.
 *
 * Threads: the handler runs on the loop thread, run() on a read worker with a copy of
 * params_t; the routes table and OpenAPI text are read-only.
 */
#include "api.h"
#include "accounting/pdf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define ROLES_SALES "accountant manager auditor admin"
/* Customers, orders and deliveries: the salesperson's too (they make them); invoices,
 * payments, the treasury and suppliers' invoices are not theirs. */
#define ROLES_SELLING "salesperson accountant manager auditor admin"
#define MAX_ROWS 500

enum {
  S_CUSTOMERS,
  S_CUSTOMER,
  S_ORDER,
  S_DELIVERY,
  S_INVOICES,
  S_INVOICE,
  S_RECEIVABLES,
  S_TREASURY,
  S_SUP_INVOICES,
  S_SUP_INVOICE,
  S_PAYABLES,
  S_N
};
#define P_AS_OF 1
#define P_CUSTOMER 2
#define P_SUPPLIER 4 /* ?supplier= and ?status= */
#define P_FORMAT 8   /* ?format=json|csv|pdf, or Accept: application/pdf */

static const fofal_read_route_t routes[S_N] = {
    [S_CUSTOMERS] = {"/api/v1/sales/customers", "sales.customers.list", "The customers.",
                     "Every customer: name, VAT id, payment terms, currency.", ROLES_SELLING, NULL, 0, "SalesCustomers"},
    [S_CUSTOMER] = {"/api/v1/sales/customers/{customer}", "sales.customers.get", "One customer.",
                    "Its name, VAT id, payment terms (days) and currency.", ROLES_SELLING, NULL, 0, "SalesCustomer"},
    [S_ORDER] = {"/api/v1/sales/orders/{order_id}", "sales.orders.get", "One sales order.",
                 "Its lines (article, quantity, unit price, VAT rate), what of each is delivered, and its deliveries.",
                 ROLES_SELLING, NULL, 0, "SalesOrder"},
    [S_DELIVERY] = {"/api/v1/sales/deliveries/{delivery_id}", "sales.deliveries.get", "One delivery.",
                    "Its lines, the pallets and cartons that left with it (a pallet's cartons too: the stores' "
                    "genealogy of each reaches the customer), and its invoice.",
                    ROLES_SELLING, NULL, 0, "SalesDelivery"},
    [S_INVOICES] = {"/api/v1/sales/invoices", "sales.invoices.list", "Invoices.",
                    "Newest first (latest 500), of one ?customer= or all, each with its total, what was credited, "
                    "received and paid back, and what is due now.",
                    ROLES_SALES, NULL, P_CUSTOMER, "SalesInvoices"},
    [S_INVOICE] = {"/api/v1/sales/invoices/{invoice_id}", "sales.invoices.get", "One invoice.",
                   "Its number, lines with their VAT (per line, rounded half up), VAT per rate, totals, credit notes, "
                   "payments and what is due now.",
                   ROLES_SALES, NULL, 0, "SalesInvoice"},
    [S_RECEIVABLES] = {"/api/v1/sales/receivables", "sales.receivables.get", "Aged receivables.",
                       "What customers owe as of ?as_of= (a date, inclusive; absent: today): every invoice dated up "
                       "to it that is not settled by the credit notes and payments dated up to it, with its days "
                       "past due, and per customer the amounts not yet due, 1–30, 31–60, 61–90 and over 90 days "
                       "past due. A negative amount is a customer's credit (paid beyond what is due). ?format=csv: one "
                       "row per open invoice (text/csv; amounts as decimals of their currency). ?format=pdf (or "
                       "Accept: application/pdf): an A4 landscape PDF, per customer its open invoices in their "
                       "columns and its totals, then the totals per currency.",
                       ROLES_SALES, NULL, P_AS_OF | P_FORMAT, "SalesReceivables"},
    [S_TREASURY] = {"/api/v1/sales/treasury", "sales.treasury.get", "The treasury position.",
                    "Per account (bank: ledger 532, cash: 54) and currency, the payments received and made dated up "
                    "to ?as_of= (inclusive; absent: all) and the balance.",
                    ROLES_SALES, NULL, P_AS_OF, "SalesTreasury"},
    [S_SUP_INVOICES] = {"/api/v1/sales/supplier-invoices", "sales.supplier_invoices.list", "Supplier invoices.",
                        "Newest first (latest 500), of one ?supplier= or all, in one ?status= (matched, held, "
                        "approved) or all, each with its three-way match's mismatches, what was paid and is due.",
                        ROLES_SALES, NULL, P_SUPPLIER, "SalesSupplierInvoices"},
    [S_SUP_INVOICE] = {"/api/v1/sales/supplier-invoices/{supplier_invoice_id}", "sales.supplier_invoices.get",
                       "One supplier invoice.",
                       "Its lines, VAT per rate, status (matched, held, approved: who and why), mismatches against "
                       "its purchase order and receipts, and payments.",
                       ROLES_SALES, NULL, 0, "SalesSupplierInvoice"},
    [S_PAYABLES] = {"/api/v1/sales/payables", "sales.payables.get", "Aged payables.",
                    "What is owed to suppliers as of ?as_of= (a date, inclusive; absent: today): every supplier "
                    "invoice dated up to it not settled by the payments dated up to it, with its days past due, and "
                    "per supplier the amounts not yet due, 1–30, 31–60, 61–90 and over 90 days past due. "
                    "?format=csv and ?format=pdf (or Accept: application/pdf) as the receivables'.",
                    ROLES_SALES, NULL, P_AS_OF | P_FORMAT, "SalesPayables"},
};

typedef struct {
  int route;
  char key[80];      /* the code or id of the path */
  char as_of[11];    /* "" when not given */
  char customer[65]; /* "" when not given (also ?supplier=) */
  char status[16];   /* "" when not given */
  int csv, pdf;      /* ?format=csv, ?format=pdf (or Accept: application/pdf) */
} params_t;

/* ------------------------------------------------------------------ run */

#define CUSTOMER_OBJ(c)                                                                                               \
  "json_build_object('customer', " c ".customer, 'name', " c ".name, 'vat_id', " c ".vat_id, 'payment_terms_days', " c \
  ".payment_terms_days, 'currency', " c ".currency, 'address', " c ".address, 'registered_at', " TS(                   \
      c ".registered_at") ", 'updated_at', " TS(c ".updated_at") ")"

/* What an invoice's credit notes and payments took off it, as of $AS (a date or NULL). */
#define SETTLED(i, AS)                                                                                                \
  "coalesce((SELECT sum(c.total_minor) FROM sales.credit_notes c WHERE c.tenant = " i ".tenant AND c.invoice_id = " i \
  ".invoice_id AND (" AS " IS NULL OR c.date <= " AS ")), 0)", "coalesce((SELECT sum(p.amount_minor) FROM "           \
  "sales.payments p WHERE p.tenant = " i ".tenant AND p.invoice_id = " i ".invoice_id AND p.direction = 'received' "  \
  "AND (" AS " IS NULL OR p.date <= " AS ")), 0)", "coalesce((SELECT sum(p.amount_minor) FROM sales.payments p WHERE " \
  "p.tenant = " i ".tenant AND p.invoice_id = " i ".invoice_id AND p.direction = 'made' AND (" AS " IS NULL OR "       \
  "p.date <= " AS ")), 0)"

static const char customers_sql[] =
    "SELECT json_build_object('customers', coalesce(json_agg(" CUSTOMER_OBJ("c") " ORDER BY c.customer), '[]'::json)) "
    "FROM sales.customers c WHERE c.tenant = $1";
static const char customer_sql[] = "SELECT " CUSTOMER_OBJ("c") " FROM sales.customers c WHERE c.tenant = $1 AND "
                                                               "c.customer = $2";

static const char order_sql[] =
    "SELECT o.doc || jsonb_build_object('delivered', o.delivered, 'placed_at', " TS("o.placed_at") ", 'deliveries', "
    "coalesce((SELECT jsonb_agg(jsonb_build_object('delivery_id', d.delivery_id, 'date', d.date, 'invoice_id', "
    "d.invoice_id, 'invoice_number', d.invoice_number) ORDER BY d.date, d.shipped_at) FROM sales.deliveries d WHERE "
    "d.tenant = o.tenant AND d.order_id = o.order_id), '[]'::jsonb)) FROM sales.orders o WHERE o.tenant = $1 AND "
    "o.order_id = $2::uuid";

static const char delivery_sql[] =
    "SELECT d.doc || jsonb_build_object('invoice_id', d.invoice_id, 'invoice_number', d.invoice_number, 'shipped_at', "
    "" TS("d.shipped_at") ", 'shipped', coalesce((SELECT jsonb_agg(jsonb_build_object('container_id', s.container_id, "
    "'pallet_id', s.pallet_id) ORDER BY s.pallet_id NULLS FIRST, s.container_id) FROM sales.shipped_containers s WHERE "
    "s.tenant = d.tenant AND s.delivery_id = d.delivery_id), '[]'::jsonb)) FROM sales.deliveries d WHERE d.tenant = $1 "
    "AND d.delivery_id = $2::uuid";

static const char invoices_sql[] =
    "SELECT json_build_object('invoices', coalesce(json_agg(json_build_object('invoice_id', x.invoice_id, 'number', "
    "x.number, 'customer', x.customer, 'currency', x.currency, 'date', x.date, 'due_date', x.due_date, 'net_minor', "
    "x.net_minor, 'vat_minor', x.vat_minor, 'total_minor', x.total_minor, 'credited_minor', x.cr, 'received_minor', "
    "x.rc, 'paid_back_minor', x.pb, 'due_minor', x.total_minor - x.cr - x.rc + x.pb) ORDER BY x.date DESC, x.number "
    "DESC), '[]'::json)) FROM (SELECT i.*, %s AS cr, %s AS rc, %s AS pb FROM sales.invoices i WHERE i.tenant = $1 AND "
    "($2 = '' OR i.customer = $2) ORDER BY i.date DESC, i.number DESC LIMIT $3::int) x";

static const char invoice_sql[] =
    "SELECT i.doc || jsonb_build_object('issued_at', " TS("i.issued_at") ", 'credit_notes', coalesce((SELECT "
    "jsonb_agg(c.doc ORDER BY c.date, c.number) FROM sales.credit_notes c WHERE c.tenant = i.tenant AND c.invoice_id = "
    "i.invoice_id), '[]'::jsonb), 'payments', coalesce((SELECT jsonb_agg(jsonb_build_object('payment_id', p.payment_id, "
    "'direction', p.direction, 'account', p.account, 'amount_minor', p.amount_minor, 'overpaid_minor', "
    "p.overpaid_minor, 'date', p.date, 'reference', p.reference, 'recorded_by', p.recorded_by) ORDER BY p.date, "
    "p.recorded_at) FROM sales.payments p WHERE p.tenant = i.tenant AND p.invoice_id = i.invoice_id), '[]'::jsonb), "
    "'credited_minor', %s, 'received_minor', %s, 'paid_back_minor', %s) FROM sales.invoices i WHERE i.tenant = $1 AND "
    "i.invoice_id = $2::uuid";

static const char receivables_sql[] =
    "WITH d AS (SELECT coalesce(nullif($2, '')::date, current_date) AS as_of), o AS (SELECT i.invoice_id, i.number, "
    "i.customer, i.currency, i.date, i.due_date, i.total_minor, i.total_minor - %s - %s + %s AS open_minor, d.as_of - "
    "i.due_date AS overdue FROM sales.invoices i, d WHERE i.tenant = $1 AND i.date <= d.as_of), b AS (SELECT o.*, CASE "
    "WHEN overdue <= 0 THEN 'not_due' WHEN overdue <= 30 THEN '1_30' WHEN overdue <= 60 THEN '31_60' WHEN overdue <= 90 "
    "THEN '61_90' ELSE 'over_90' END AS bucket FROM o WHERE open_minor <> 0) SELECT json_build_object('as_of', (SELECT "
    "as_of FROM d), 'invoices', coalesce((SELECT json_agg(json_build_object('invoice_id', invoice_id, 'number', number, "
    "'customer', customer, 'currency', currency, 'date', date, 'due_date', due_date, 'total_minor', total_minor, "
    "'open_minor', open_minor, 'days_overdue', greatest(overdue, 0), 'bucket', bucket) ORDER BY customer, date, number) "
    "FROM b), '[]'::json), 'customers', coalesce((SELECT json_agg(json_build_object('customer', customer, 'currency', "
    "currency, 'not_due_minor', s0, 'days_1_30_minor', s1, 'days_31_60_minor', s2, 'days_61_90_minor', s3, "
    "'over_90_minor', s4, 'open_minor', st) ORDER BY customer, currency) FROM (SELECT customer, currency, "
    "coalesce(sum(open_minor) FILTER (WHERE bucket = 'not_due'), 0) AS s0, coalesce(sum(open_minor) FILTER (WHERE "
    "bucket = '1_30'), 0) AS s1, coalesce(sum(open_minor) FILTER (WHERE bucket = '31_60'), 0) AS s2, "
    "coalesce(sum(open_minor) FILTER (WHERE bucket = '61_90'), 0) AS s3, coalesce(sum(open_minor) FILTER (WHERE bucket "
    "= 'over_90'), 0) AS s4, sum(open_minor) AS st FROM b GROUP BY customer, currency) g), '[]'::json))";

static const char treasury_sql[] =
    "SELECT json_build_object('as_of', nullif($2, ''), 'accounts', coalesce(json_agg(json_build_object('account', "
    "t.account, 'ledger_account', CASE t.account WHEN 'bank' THEN '532' ELSE '54' END, 'currency', t.currency, "
    "'received_minor', t.rc, 'made_minor', t.md, 'balance_minor', t.rc - t.md) ORDER BY t.account, t.currency), "
    "'[]'::json)) FROM (SELECT p.account, p.currency, coalesce(sum(p.amount_minor) FILTER (WHERE p.direction = "
    "'received'), 0) AS rc, coalesce(sum(p.amount_minor) FILTER (WHERE p.direction = 'made'), 0) AS md FROM (SELECT "
    "account, currency, direction, amount_minor FROM sales.payments WHERE tenant = $1 AND ($2 = '' OR date <= "
    "$2::date) UNION ALL SELECT account, currency, 'made', amount_minor FROM sales.supplier_payments WHERE tenant = $1 "
    "AND ($2 = '' OR date <= $2::date)) p GROUP BY p.account, p.currency) t";

static const char sup_invoices_sql[] =
    "SELECT json_build_object('supplier_invoices', coalesce(json_agg(json_build_object('supplier_invoice_id', "
    "x.supplier_invoice_id, 'supplier', x.supplier, 'supplier_number', x.supplier_number, 'order_id', x.order_id, "
    "'currency', x.currency, 'date', x.date, 'due_date', x.due_date, 'status', x.status, 'mismatches', "
    "x.doc->'mismatches', 'total_minor', x.total_minor, 'paid_minor', x.paid, 'due_minor', x.total_minor - x.paid) "
    "ORDER BY x.date DESC, x.recorded_at DESC), '[]'::json)) FROM (SELECT s.*, coalesce((SELECT sum(p.amount_minor) "
    "FROM sales.supplier_payments p WHERE p.tenant = s.tenant AND p.supplier_invoice_id = s.supplier_invoice_id), 0) "
    "AS paid FROM sales.supplier_invoices s WHERE s.tenant = $1 AND ($2 = '' OR s.supplier = $2) AND ($3 = '' OR "
    "s.status = $3) ORDER BY s.date DESC, s.recorded_at DESC LIMIT $4::int) x";

static const char sup_invoice_sql[] =
    "SELECT s.doc || jsonb_build_object('status', s.status, 'approved_by', s.approved_by, 'approval_reason', "
    "s.approval_reason, 'recorded_at', " TS("s.recorded_at") ", 'payments', coalesce((SELECT "
    "jsonb_agg(jsonb_build_object('payment_id', p.payment_id, 'account', p.account, 'amount_minor', p.amount_minor, "
    "'date', p.date, 'reference', p.reference, 'recorded_by', p.recorded_by) ORDER BY p.date, p.recorded_at) FROM "
    "sales.supplier_payments p WHERE p.tenant = s.tenant AND p.supplier_invoice_id = s.supplier_invoice_id), "
    "'[]'::jsonb), 'paid_minor', coalesce((SELECT sum(p.amount_minor) FROM sales.supplier_payments p WHERE p.tenant = "
    "s.tenant AND p.supplier_invoice_id = s.supplier_invoice_id), 0)) FROM sales.supplier_invoices s WHERE s.tenant = "
    "$1 AND s.supplier_invoice_id = $2::uuid";

static const char payables_sql[] =
    "WITH d AS (SELECT coalesce(nullif($2, '')::date, current_date) AS as_of), o AS (SELECT s.supplier_invoice_id, "
    "s.supplier, s.supplier_number, s.currency, s.date, s.due_date, s.status, s.total_minor, s.total_minor - "
    "coalesce((SELECT sum(p.amount_minor) FROM sales.supplier_payments p WHERE p.tenant = s.tenant AND "
    "p.supplier_invoice_id = s.supplier_invoice_id AND p.date <= d.as_of), 0) AS open_minor, d.as_of - s.due_date AS "
    "overdue FROM sales.supplier_invoices s, d WHERE s.tenant = $1 AND s.date <= d.as_of), b AS (SELECT o.*, CASE WHEN "
    "overdue <= 0 THEN 'not_due' WHEN overdue <= 30 THEN '1_30' WHEN overdue <= 60 THEN '31_60' WHEN overdue <= 90 THEN "
    "'61_90' ELSE 'over_90' END AS bucket FROM o WHERE open_minor <> 0) SELECT json_build_object('as_of', (SELECT as_of "
    "FROM d), 'invoices', coalesce((SELECT json_agg(json_build_object('supplier_invoice_id', supplier_invoice_id, "
    "'supplier', supplier, 'supplier_number', supplier_number, 'currency', currency, 'date', date, 'due_date', "
    "due_date, 'status', status, 'total_minor', total_minor, 'open_minor', open_minor, 'days_overdue', "
    "greatest(overdue, 0), 'bucket', bucket) ORDER BY supplier, date, supplier_number) FROM b), '[]'::json), "
    "'suppliers', coalesce((SELECT json_agg(json_build_object('supplier', supplier, 'currency', currency, "
    "'not_due_minor', s0, 'days_1_30_minor', s1, 'days_31_60_minor', s2, 'days_61_90_minor', s3, 'over_90_minor', s4, "
    "'open_minor', st) ORDER BY supplier, currency) FROM (SELECT supplier, currency, coalesce(sum(open_minor) FILTER "
    "(WHERE bucket = 'not_due'), 0) AS s0, coalesce(sum(open_minor) FILTER (WHERE bucket = '1_30'), 0) AS s1, "
    "coalesce(sum(open_minor) FILTER (WHERE bucket = '31_60'), 0) AS s2, coalesce(sum(open_minor) FILTER (WHERE "
    "bucket = '61_90'), 0) AS s3, coalesce(sum(open_minor) FILTER (WHERE bucket = 'over_90'), 0) AS s4, "
    "sum(open_minor) AS st FROM b GROUP BY supplier, currency) g), '[]'::json))";

/* The statements with their settled sums filled in, built once (the loop thread's
 * first read; read-only afterwards). */
static char invoices_q[8192], invoice_q[8192], receivables_q[8192];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static void build_queries(void) {
  snprintf(invoices_q, sizeof invoices_q, invoices_sql, SETTLED("i", "NULL::date"));
  snprintf(invoice_q, sizeof invoice_q, invoice_sql, SETTLED("i", "NULL::date"));
  snprintf(receivables_q, sizeof receivables_q, receivables_sql, SETTLED("i", "d.as_of"));
}

/* ------------------------------------------------------- CSV and PDF */

/* The aged balance `r` (receivables_sql's or payables_sql's) as CSV: one row per open
 * invoice, amounts as decimals of its currency. */
static void aged_csv(int pay, const json_t *r, fofal__csv_t *c) {
  size_t i;
  json_t *v;
  char num[40];
  const char *head = pay ? "supplier,currency,supplier_number,date,due_date,days_overdue,bucket,total,open\r\n"
                         : "customer,currency,number,date,due_date,days_overdue,bucket,total,open\r\n";
  fofal__csv_put(c, head, strlen(head));
  json_array_foreach(json_object_get(r, "invoices"), i, v) {
    const char *cur = json_string_value(json_object_get(v, "currency"));
    fofal__csv_field(c, json_string_value(json_object_get(v, pay ? "supplier" : "customer")), 1);
    fofal__csv_field(c, cur, 0);
    fofal__csv_field(c, json_string_value(json_object_get(v, pay ? "supplier_number" : "number")), 0);
    fofal__csv_field(c, json_string_value(json_object_get(v, "date")), 0);
    fofal__csv_field(c, json_string_value(json_object_get(v, "due_date")), 0);
    snprintf(num, sizeof num, "%lld", (long long)json_integer_value(json_object_get(v, "days_overdue")));
    fofal__csv_field(c, num, 0);
    fofal__csv_field(c, json_string_value(json_object_get(v, "bucket")), 0);
    fofal__pdf_amount_in(json_integer_value(json_object_get(v, "total_minor")), cur, 0, num);
    fofal__csv_field(c, num, 0);
    fofal__pdf_amount_in(json_integer_value(json_object_get(v, "open_minor")), cur, 0, num);
    fofal__csv_field(c, num, 0);
    fofal__csv_put(c, "\r\n", 2);
  }
}

/* The aged balance `r` as CSV or PDF into res (200 set). */
static void aged_out(fofal_worker_t *w, const params_t *p, const char *tenant, const json_t *r,
                     fofal__read_result_t *res) {
  int pay = p->route == S_PAYABLES;
  if (p->csv) {
    fofal__csv_t c = {0};
    aged_csv(pay, r, &c);
    if (!c.buf || c.oom) {
      free(c.buf);
      fofal__read_fail(res, -1, "out of memory", 0);
      return;
    }
    res->raw = c.buf;
    res->raw_len = c.len;
    res->ctype = "text/csv; charset=utf-8; header=present";
    return;
  }
  char date_line[32], printed[64], who[400], err[512];
  snprintf(date_line, sizeof date_line, "au %s", json_string_value(json_object_get(r, "as_of")) ?: "");
  fofal__pdf_printed(printed);
  /* The company the statements name (accounting's, accounting.company.set), else the
   * tenant's code. */
  int rc = fofal__pdf_company_line(w, tenant, who, sizeof who, err, sizeof err);
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  fofal__pdf_doc_t doc = {.kind = pay ? FOFAL_PDF_PAYABLES : FOFAL_PDF_RECEIVABLES,
                          .title = pay ? "Balance âgée des fournisseurs" : "Balance âgée des clients",
                          .tenant = who,
                          .date_line = date_line,
                          .printed = printed,
                          .statement = r};
  if (fofal__pdf_statement(&doc, &res->raw, &res->raw_len)) {
    fofal__read_fail(res, -1, "the PDF could not be drawn", 0);
    return;
  }
  res->ctype = "application/pdf";
}

static void run(fofal_worker_t *w, const char *tenant, void *opaque, fofal__read_result_t *res) {
  const params_t *p = opaque;
  char err[512], lim[16];
  json_t *rows = NULL;
  snprintf(lim, sizeof lim, "%d", MAX_ROWS);
  const char *key[] = {tenant, p->key}, *list[] = {tenant, p->customer, lim}, *dated[] = {tenant, p->as_of},
             *sup[] = {tenant, p->customer, p->status, lim};
  int rc;
  switch (p->route) {
  case S_CUSTOMERS: rc = fofal__worker_query(w, tenant, customers_sql, 1, key, &rows, err, sizeof err); break;
  case S_CUSTOMER: rc = fofal__worker_query(w, tenant, customer_sql, 2, key, &rows, err, sizeof err); break;
  case S_ORDER: rc = fofal__worker_query(w, tenant, order_sql, 2, key, &rows, err, sizeof err); break;
  case S_DELIVERY: rc = fofal__worker_query(w, tenant, delivery_sql, 2, key, &rows, err, sizeof err); break;
  case S_INVOICES: rc = fofal__worker_query(w, tenant, invoices_q, 3, list, &rows, err, sizeof err); break;
  case S_INVOICE: rc = fofal__worker_query(w, tenant, invoice_q, 2, key, &rows, err, sizeof err); break;
  case S_RECEIVABLES: rc = fofal__worker_query(w, tenant, receivables_q, 2, dated, &rows, err, sizeof err); break;
  case S_SUP_INVOICES: rc = fofal__worker_query(w, tenant, sup_invoices_sql, 4, sup, &rows, err, sizeof err); break;
  case S_SUP_INVOICE: rc = fofal__worker_query(w, tenant, sup_invoice_sql, 2, key, &rows, err, sizeof err); break;
  case S_PAYABLES: rc = fofal__worker_query(w, tenant, payables_sql, 2, dated, &rows, err, sizeof err); break;
  default: rc = fofal__worker_query(w, tenant, treasury_sql, 2, dated, &rows, err, sizeof err); break;
  }
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  json_t *r = json_array_get(rows, 0);
  if (!json_is_object(r)) {
    fofal__read_not_found(res, p->route == S_CUSTOMER ? "customer" : p->route == S_ORDER ? "order"
                                                                  : p->route == S_DELIVERY ? "delivery"
                                                                  : p->route == S_SUP_INVOICE ? "supplier invoice"
                                                                                           : "invoice");
    json_decref(rows);
    return;
  }
  res->status = 200;
  if (p->csv || p->pdf) aged_out(w, p, tenant, r, res);
  else res->body = json_incref(r);
  json_decref(rows);
}

/* -------------------------------------------------------------- routing */

/* ?as_of= into p ("" when absent). 0, or -1 with a 400 sent. */
static int as_of(h2o_req_t *req, params_t *p) {
  const char *v = fofal__query_param(req, "as_of");
  int y, m, d, n = 0;
  if (!v || !*v) return 0;
  struct tm tm = {0};
  if (strlen(v) != 10 || sscanf(v, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || y < 1970 || y > 9999 || m < 1 ||
      m > 12 || d < 1 || d > 31 ||
      (tm.tm_year = y - 1900, tm.tm_mon = m - 1, tm.tm_mday = d, timegm(&tm), tm.tm_mday != d)) {
    fofal__send_problem(req, 400, "invalid_date", "as_of must be a date YYYY-MM-DD", NULL);
    return -1;
  }
  memcpy(p->as_of, v, 11);
  return 0;
}

static int on_read(h2o_handler_t *self, h2o_req_t *req) {
  fofal_api_t *api = API_OF(self);
  fofal_principal_t who;
  params_t p;
  const char *path = req->path_normalized.base;
  size_t len = req->path_normalized.len;
  static const char base[] = "/api/v1/sales/";
  atomic_fetch_add(&fofal__metrics.requests, 1);
  atomic_fetch_add(&fofal__metrics.reads, 1);
  pthread_once(&once, build_queries);
  memset(&p, 0, sizeof p);
  char s1[32];
  size_t at = sizeof base - 1;
  p.route = -1;
  if (len > at && path[len - 1] != '/' && !fofal__path_segment(path, len, &at, s1, sizeof s1)) {
    if (at == len) {
      if (!strcmp(s1, "customers")) p.route = S_CUSTOMERS;
      else if (!strcmp(s1, "invoices")) p.route = S_INVOICES;
      else if (!strcmp(s1, "receivables")) p.route = S_RECEIVABLES;
      else if (!strcmp(s1, "treasury")) p.route = S_TREASURY;
      else if (!strcmp(s1, "supplier-invoices")) p.route = S_SUP_INVOICES;
      else if (!strcmp(s1, "payables")) p.route = S_PAYABLES;
    } else if (!fofal__path_segment(path, len, &at, p.key, sizeof p.key) && at == len) {
      if (!strcmp(s1, "customers")) p.route = S_CUSTOMER;
      else if (!strcmp(s1, "orders")) p.route = S_ORDER;
      else if (!strcmp(s1, "deliveries")) p.route = S_DELIVERY;
      else if (!strcmp(s1, "invoices")) p.route = S_INVOICE;
      else if (!strcmp(s1, "supplier-invoices")) p.route = S_SUP_INVOICE;
    }
  }
  if (p.route < 0) {
    fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
    return 0;
  }
  if (!fofal__get_only(req) || fofal__authenticate(api, req, &who)) return 0;
  if (fofal__read_roles_check(req, &who, routes[p.route].roles, routes[p.route].path + sizeof "/api/v1" - 1)) return 0;
  if ((p.route == S_CUSTOMER && !fofal__valid_name(p.key, 64)) ||
      ((p.route == S_ORDER || p.route == S_DELIVERY || p.route == S_INVOICE || p.route == S_SUP_INVOICE) &&
       !fofal_uuid_valid(p.key))) {
    fofal__send_problem(req, 404, "not_found", "no such customer, order, delivery or invoice", NULL);
    return 0;
  }
  if ((routes[p.route].params & P_AS_OF) && as_of(req, &p)) return 0;
  if (routes[p.route].params & P_FORMAT) {
    const char *fm = fofal__query_param(req, "format");
    p.csv = fm && !strcmp(fm, "csv");
    p.pdf = fm && !strcmp(fm, "pdf");
    if (fm && *fm && strcmp(fm, "json") && !p.csv && !p.pdf) {
      fofal__send_problem(req, 400, "invalid_format", "format is json, csv or pdf", NULL);
      return 0;
    }
    /* Without ?format=, Accept: application/pdf asks for the PDF (a browser's link). */
    ssize_t h = fm ? -1 : h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT, -1);
    if (h >= 0)
      p.pdf = h2o_strstr(req->headers.entries[h].value.base, req->headers.entries[h].value.len,
                         H2O_STRLIT("application/pdf")) != SIZE_MAX;
  }
  if (routes[p.route].params & P_CUSTOMER) {
    const char *c = fofal__param(req, "customer");
    if (c && !fofal__valid_name(c, 64)) {
      fofal__send_problem(req, 400, "invalid_customer", "customer is a customer code", NULL);
      return 0;
    }
    if (c) snprintf(p.customer, sizeof p.customer, "%s", c);
  }
  if (routes[p.route].params & P_SUPPLIER) {
    const char *c = fofal__param(req, "supplier"), *st = fofal__param(req, "status");
    if (c && !fofal__valid_name(c, 64)) {
      fofal__send_problem(req, 400, "invalid_supplier", "supplier is a supplier code", NULL);
      return 0;
    }
    if (st && strcmp(st, "matched") && strcmp(st, "held") && strcmp(st, "approved")) {
      fofal__send_problem(req, 400, "invalid_status", "status is matched, held or approved", NULL);
      return 0;
    }
    if (c) snprintf(p.customer, sizeof p.customer, "%s", c);
    if (st) snprintf(p.status, sizeof p.status, "%s", st);
  }
  return fofal__read_serve(api, req, &who, 0, run, &p, sizeof p);
}

/* -------------------------------------------------------------- OpenAPI */

#define MINOR "{\"type\":\"integer\",\"description\":\"Integer minor units of the currency (millimes for TND).\"}"
#define STR "{\"type\":\"string\"}"
#define NSTR "{\"type\":[\"string\",\"null\"]}"
#define CUSTOMER_PROPS                                                                                                \
  "\"customer\":" STR ",\"name\":" STR ",\"vat_id\":" NSTR ",\"payment_terms_days\":{\"type\":\"integer\"},"           \
  "\"currency\":" STR ",\"address\":" NSTR ",\"registered_at\":" STR ",\"updated_at\":" STR
#define LINES "{\"type\":\"array\",\"items\":{\"type\":\"object\"}}"
#define DOC_PROPS                                                                                                     \
  "\"number\":" STR ",\"customer\":" STR ",\"currency\":" STR ",\"date\":{\"type\":\"string\",\"format\":\"date\"},"  \
  "\"lines\":" LINES ",\"vat\":{\"type\":\"array\",\"description\":\"Per rate (basis points): base and VAT.\","       \
  "\"items\":{\"type\":\"object\",\"properties\":{\"vat_bp\":{\"type\":\"integer\"},\"base_minor\":" MINOR            \
  ",\"vat_minor\":" MINOR "}}},\"net_minor\":" MINOR ",\"vat_minor\":" MINOR ",\"total_minor\":" MINOR

static const char customers_schema[] = "{\"type\":\"object\",\"properties\":{\"customers\":{\"type\":\"array\",\"items\":"
                                       "{\"type\":\"object\",\"properties\":{" CUSTOMER_PROPS "}}}}}";
static const char customer_schema[] = "{\"type\":\"object\",\"properties\":{" CUSTOMER_PROPS "}}";
static const char order_schema[] =
    "{\"type\":\"object\",\"properties\":{\"order_id\":" STR ",\"customer\":" STR ",\"currency\":" STR ",\"date\":" STR
    ",\"reference\":" STR ",\"lines\":" LINES ",\"delivered\":" LINES ",\"deliveries\":" LINES ",\"placed_by\":" STR
    ",\"placed_at\":" STR "}}";
static const char delivery_schema[] =
    "{\"type\":\"object\",\"properties\":{\"delivery_id\":" STR ",\"order_id\":" STR ",\"customer\":" STR
    ",\"date\":" STR ",\"lines\":" LINES ",\"containers\":{\"type\":\"array\",\"items\":" STR "},\"shipped\":" LINES
    ",\"invoice_id\":" NSTR ",\"invoice_number\":" NSTR ",\"shipped_by\":" STR ",\"shipped_at\":" STR "}}";
static const char invoices_schema[] =
    "{\"type\":\"object\",\"properties\":{\"invoices\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"properties\":{\"invoice_id\":" STR ",\"number\":" STR ",\"customer\":" STR ",\"currency\":" STR ",\"date\":" STR
    ",\"due_date\":" STR ",\"net_minor\":" MINOR ",\"vat_minor\":" MINOR ",\"total_minor\":" MINOR
    ",\"credited_minor\":" MINOR ",\"received_minor\":" MINOR ",\"paid_back_minor\":" MINOR ",\"due_minor\":" MINOR
    "}}}}}";
static const char invoice_schema[] =
    "{\"type\":\"object\",\"properties\":{\"invoice_id\":" STR "," DOC_PROPS ",\"due_date\":" STR
    ",\"delivery_id\":" STR ",\"order_id\":" STR ",\"credit_notes\":" LINES ",\"payments\":" LINES
    ",\"credited_minor\":" MINOR ",\"received_minor\":" MINOR ",\"paid_back_minor\":" MINOR ",\"issued_by\":" STR
    ",\"issued_at\":" STR "}}";
static const char receivables_schema[] =
    "{\"type\":\"object\",\"properties\":{\"as_of\":" STR ",\"invoices\":{\"type\":\"array\",\"items\":{\"type\":"
    "\"object\",\"properties\":{\"invoice_id\":" STR ",\"number\":" STR ",\"customer\":" STR ",\"currency\":" STR
    ",\"date\":" STR ",\"due_date\":" STR ",\"total_minor\":" MINOR ",\"open_minor\":" MINOR
    ",\"days_overdue\":{\"type\":\"integer\"},\"bucket\":{\"type\":\"string\",\"enum\":[\"not_due\",\"1_30\","
    "\"31_60\",\"61_90\",\"over_90\"]}}}},\"customers\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"properties\":{\"customer\":" STR ",\"currency\":" STR ",\"not_due_minor\":" MINOR ",\"days_1_30_minor\":" MINOR
    ",\"days_31_60_minor\":" MINOR ",\"days_61_90_minor\":" MINOR ",\"over_90_minor\":" MINOR ",\"open_minor\":" MINOR
    "}}}}}";
static const char treasury_schema[] =
    "{\"type\":\"object\",\"properties\":{\"as_of\":" NSTR ",\"accounts\":{\"type\":\"array\",\"items\":{\"type\":"
    "\"object\",\"properties\":{\"account\":{\"type\":\"string\",\"enum\":[\"bank\",\"cash\"]},\"ledger_account\":" STR
    ",\"currency\":" STR ",\"received_minor\":" MINOR ",\"made_minor\":" MINOR ",\"balance_minor\":" MINOR "}}}}}";

static const char sup_invoices_schema[] =
    "{\"type\":\"object\",\"properties\":{\"supplier_invoices\":{\"type\":\"array\",\"items\":{\"type\":"
    "\"object\",\"properties\":{\"supplier_invoice_id\":" STR ",\"supplier\":" STR ",\"supplier_number\":" STR
    ",\"order_id\":" STR ",\"currency\":" STR ",\"date\":" STR ",\"due_date\":" STR ",\"status\":{\"type\":"
    "\"string\",\"enum\":[\"matched\",\"held\",\"approved\"]},\"mismatches\":" LINES ",\"total_minor\":" MINOR
    ",\"paid_minor\":" MINOR ",\"due_minor\":" MINOR "}}}}}";
static const char sup_invoice_schema[] =
    "{\"type\":\"object\",\"properties\":{\"supplier_invoice_id\":" STR ",\"supplier\":" STR
    ",\"supplier_number\":" STR ",\"order_id\":" STR ",\"currency\":" STR ",\"date\":" STR ",\"due_date\":" STR
    ",\"status\":" STR ",\"mismatches\":" LINES ",\"tolerance_pct\":{\"type\":\"integer\"},\"lines\":" LINES
    ",\"vat\":" LINES ",\"net_minor\":" MINOR ",\"vat_minor\":" MINOR ",\"total_minor\":" MINOR
    ",\"paid_minor\":" MINOR ",\"payments\":" LINES ",\"recorded_by\":" STR ",\"approved_by\":" NSTR
    ",\"approval_reason\":" NSTR "}}";
static const char payables_schema[] =
    "{\"type\":\"object\",\"properties\":{\"as_of\":" STR ",\"invoices\":" LINES ",\"suppliers\":{\"type\":"
    "\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"supplier\":" STR ",\"currency\":" STR
    ",\"not_due_minor\":" MINOR ",\"days_1_30_minor\":" MINOR ",\"days_31_60_minor\":" MINOR
    ",\"days_61_90_minor\":" MINOR ",\"over_90_minor\":" MINOR ",\"open_minor\":" MINOR "}}}}}";

static void openapi(json_t *paths, json_t *schemas) {
  static const char *const named[S_N][2] = {
      {"SalesCustomers", customers_schema}, {"SalesCustomer", customer_schema},     {"SalesOrder", order_schema},
      {"SalesDelivery", delivery_schema},   {"SalesInvoices", invoices_schema},     {"SalesInvoice", invoice_schema},
      {"SalesReceivables", receivables_schema}, {"SalesTreasury", treasury_schema},
      {"SalesSupplierInvoices", sup_invoices_schema}, {"SalesSupplierInvoice", sup_invoice_schema},
      {"SalesPayables", payables_schema}};
  for (int i = 0; i < S_N; i++) {
    json_t *s = json_loads(named[i][1], 0, NULL);
    if (s) json_object_set_new(schemas, named[i][0], s);
  }
  for (int r = 0; r < S_N; r++) {
    const fofal_read_route_t *rt = &routes[r];
    json_t *params = json_array();
    if (r == S_CUSTOMER) json_array_append_new(params, fofal__openapi_path_param("customer", "The customer's code."));
    if (r == S_ORDER) json_array_append_new(params, fofal__openapi_path_param("order_id", "The order's id (UUID)."));
    if (r == S_DELIVERY)
      json_array_append_new(params, fofal__openapi_path_param("delivery_id", "The delivery's id (UUID)."));
    if (r == S_INVOICE) json_array_append_new(params, fofal__openapi_path_param("invoice_id", "The invoice's id (UUID)."));
    if (rt->params & P_AS_OF)
      json_array_append_new(params, fofal__openapi_query_param("as_of", "The last date included (inclusive).",
                                                               json_pack("{s:s,s:s}", "type", "string", "format", "date")));
    if (r == S_SUP_INVOICE)
      json_array_append_new(params,
                            fofal__openapi_path_param("supplier_invoice_id", "The supplier invoice's id (UUID)."));
    if (rt->params & P_SUPPLIER) {
      json_array_append_new(params, fofal__openapi_query_param("supplier", "Only this supplier's (its code).",
                                                               json_pack("{s:s,s:i}", "type", "string", "maxLength", 64)));
      json_array_append_new(params,
                            fofal__openapi_query_param("status", "Only in this status.",
                                                       json_pack("{s:s,s:[s,s,s]}", "type", "string", "enum", "matched",
                                                                 "held", "approved")));
    }
    if (rt->params & P_CUSTOMER)
      json_array_append_new(params, fofal__openapi_query_param("customer", "Only this customer's (its code).",
                                                               json_pack("{s:s,s:i}", "type", "string", "maxLength", 64)));
    if (rt->params & P_FORMAT)
      json_array_append_new(params, fofal__openapi_query_param(
                                        "format", "json (default), csv (text/csv, RFC 4180) or pdf (application/pdf, A4).",
                                        json_pack("{s:s,s:[s,s,s]}", "type", "string", "enum", "json", "csv", "pdf")));
    char desc[1024], ref[96];
    snprintf(desc, sizeof desc, "%s Roles: %s.", rt->desc, rt->roles);
    snprintf(ref, sizeof ref, "#/components/schemas/%s", rt->schema);
    json_t *op = fofal__openapi_read_op("sales", rt->op_id, rt->summary, desc, params, ref, rt->roles);
    json_t *content =
        json_object_get(json_object_get(json_object_get(json_object_get(op, "get"), "responses"), "200"), "content");
    if (content && (rt->params & P_FORMAT)) {
      json_object_set_new(content, "text/csv", json_pack("{s:{s:s}}", "schema", "type", "string"));
      json_object_set_new(content, "application/pdf",
                          json_pack("{s:{s:s,s:s}}", "schema", "type", "string", "format", "binary"));
    }
    json_object_set_new(paths, rt->path, op);
  }
}

/* Which read route shows each sales event's aggregate (stream_roles.c). */
static const fofal_push_route_t push_routes[] = {
    {"customer_", "/api/v1/sales/customers/{customer}", 0},
    {"order_", "/api/v1/sales/orders/{order_id}", 0},
    {"delivery_", "/api/v1/sales/deliveries/{delivery_id}", 0},
    {"container_", "/api/v1/sales/deliveries/{delivery_id}", 0},
    {"supplier_", "/api/v1/sales/supplier-invoices/{supplier_invoice_id}", 0},
    {"purchase_order_", "/api/v1/sales/supplier-invoices", 0},
    {"", "/api/v1/sales/invoices/{invoice_id}", 0},
    {NULL, NULL, 0},
};

const fofal_api_module_t fofal_module_sales_routes = {
    .name = "sales",
    .on_read = on_read,
    .openapi = openapi,
    .push_routes = push_routes,
};
