/*
 * sales.c — the sales module's projection: customers, orders, deliveries and the
 * containers they shipped, invoices, credit notes and payments into PostgreSQL (schema
 * sales, schemas/sales/086_sales.sql), and a WebSocket push per applied event.
 *
 * A document keeps its whole event as `doc` and its keys and amounts as columns, so that
 * the aged receivables and the treasury at a date are indexed sums over the rows dated up
 * to it. Deterministic functions of their events (times from their envelopes): a rebuild
 * yields the same rows and `fofal verify sales` finds them equal. Run by the projector's
 * thread, inside its batch's transaction.
 */
#include "projections.h"

#include <stdio.h>
#include <stdlib.h>

/* The event's data as JSON text (new). */
static char *doc_of(const fofal_event_t *ev) { return json_dumps(ev->data, JSON_COMPACT | JSON_SORT_KEYS); }

static int settings_set(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  char *rates = fofal_ev_jtext(ev->data, "vat_rates_bp");
  const char *p[] = {ev->tenant, rates ? rates : "[]", fofal_ev_str(ev->data, "set_by"), m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.settings (tenant, vat_rates_bp, set_by, set_at) VALUES ($1, $2::jsonb, $3, $4) "
                           "ON CONFLICT (tenant) DO UPDATE SET vat_rates_bp = EXCLUDED.vat_rates_bp, set_by = "
                           "EXCLUDED.set_by, set_at = EXCLUDED.set_at",
                           4, p);
  free(rates);
  if (!rc) fofal_apply_push(ctx, ev, "sales");
  return rc;
}

static int customer_registered(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char terms[40];
  const char *p[] = {ev->tenant, fofal_ev_str(d, "customer"), fofal_ev_str(d, "name"), fofal_ev_str(d, "vat_id"),
                     fofal_ev_num(d, "payment_terms_days", terms), fofal_ev_str(d, "currency"),
                     fofal_ev_str(d, "address"), m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.customers (tenant, customer, name, vat_id, payment_terms_days, currency, "
                           "address, registered_at, updated_at) VALUES ($1, $2, $3, $4, coalesce($5::int, 0), "
                           "coalesce($6, 'TND'), $7, $8, $8) ON CONFLICT DO NOTHING",
                           8, p);
  if (!rc) fofal_apply_push(ctx, ev, "sales");
  return rc;
}

static int customer_updated(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char terms[40];
  const char *p[] = {ev->tenant, fofal_ev_str(d, "customer"), fofal_ev_str(d, "name"), fofal_ev_str(d, "vat_id"),
                     fofal_ev_num(d, "payment_terms_days", terms), fofal_ev_str(d, "currency"),
                     fofal_ev_str(d, "address"), m.at};
  int rc = fofal_apply_sql(ctx,
                           "UPDATE %s.customers SET name = coalesce($3, name), vat_id = coalesce($4, vat_id), "
                           "payment_terms_days = coalesce($5::int, payment_terms_days), currency = coalesce($6, "
                           "currency), address = coalesce($7, address), updated_at = $8 WHERE tenant = $1 AND "
                           "customer = $2",
                           8, p);
  if (!rc) fofal_apply_push(ctx, ev, "sales");
  return rc;
}

static int order_placed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  char *doc = doc_of(ev);
  const char *p[] = {ev->tenant, fofal_ev_str(ev->data, "order_id"), fofal_ev_str(ev->data, "customer"),
                     fofal_ev_str(ev->data, "date"), doc, m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.orders (tenant, order_id, customer, date, doc, placed_at) VALUES ($1, $2, $3, "
                           "$4, $5::jsonb, $6) ON CONFLICT DO NOTHING",
                           6, p);
  free(doc);
  if (!rc) fofal_apply_push(ctx, ev, "sales");
  return rc;
}

static int order_delivered(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  char *lines = fofal_ev_jtext(ev->data, "lines");
  const char *p[] = {ev->tenant, fofal_ev_str(ev->data, "order_id"), lines ? lines : "[]"};
  int rc = fofal_apply_sql(ctx, "UPDATE %s.orders SET delivered = $3::jsonb WHERE tenant = $1 AND order_id = $2", 3, p);
  free(lines);
  if (!rc) fofal_apply_push(ctx, ev, "sales");
  return rc;
}

static int delivery_shipped(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char *doc = doc_of(ev);
  const char *p[] = {ev->tenant, fofal_ev_str(d, "delivery_id"), fofal_ev_str(d, "order_id"), fofal_ev_str(d, "customer"),
                     fofal_ev_str(d, "date"), doc, m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.deliveries (tenant, delivery_id, order_id, customer, date, doc, shipped_at) "
                           "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7) ON CONFLICT DO NOTHING",
                           7, p);
  free(doc);
  if (!rc) fofal_apply_push(ctx, ev, "sales");
  return rc;
}

static int container_shipped(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  const json_t *d = ev->data;
  const char *p[] = {ev->tenant, fofal_ev_str(d, "container_id"), fofal_ev_str(d, "delivery_id"),
                     fofal_ev_str(d, "pallet_id")};
  return fofal_apply_sql(ctx,
                         "INSERT INTO %s.shipped_containers (tenant, container_id, delivery_id, pallet_id) VALUES ($1, "
                         "$2, $3, $4) ON CONFLICT DO NOTHING",
                         4, p);
}

static int delivery_invoiced(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  const json_t *d = ev->data;
  const char *p[] = {ev->tenant, fofal_ev_str(d, "delivery_id"), fofal_ev_str(d, "invoice_id"), fofal_ev_str(d, "number")};
  return fofal_apply_sql(ctx,
                         "UPDATE %s.deliveries SET invoice_id = $3, invoice_number = $4 WHERE tenant = $1 AND "
                         "delivery_id = $2",
                         4, p);
}

static int invoice_issued(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char net[40], vat[40], total[40], *doc = doc_of(ev);
  const char *p[] = {ev->tenant, fofal_ev_str(d, "invoice_id"), fofal_ev_str(d, "number"), fofal_ev_str(d, "customer"),
                     fofal_ev_str(d, "currency"), fofal_ev_str(d, "date"), fofal_ev_str(d, "due_date"),
                     fofal_ev_num(d, "net_minor", net), fofal_ev_num(d, "vat_minor", vat),
                     fofal_ev_num(d, "total_minor", total), doc, m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.invoices (tenant, invoice_id, number, customer, currency, date, due_date, "
                           "net_minor, vat_minor, total_minor, doc, issued_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
                           "$9, $10, $11::jsonb, $12) ON CONFLICT DO NOTHING",
                           12, p);
  free(doc);
  if (!rc) fofal_apply_push(ctx, ev, "sales");
  return rc;
}

static int credit_note_issued(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char total[40], *doc = doc_of(ev);
  const char *p[] = {ev->tenant, fofal_ev_str(d, "credit_note_id"), fofal_ev_str(d, "number"),
                     fofal_ev_str(d, "invoice_id"), fofal_ev_str(d, "customer"), fofal_ev_str(d, "date"),
                     fofal_ev_num(d, "total_minor", total), doc, m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.credit_notes (tenant, credit_note_id, number, invoice_id, customer, date, "
                           "total_minor, doc, issued_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9) ON CONFLICT "
                           "DO NOTHING",
                           9, p);
  free(doc);
  if (!rc) fofal_apply_push(ctx, ev, "sales");
  return rc;
}

static int payment_recorded(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char amount[40], over[40];
  const char *p[] = {ev->tenant, fofal_ev_str(d, "invoice_id"), fofal_ev_str(d, "payment_id"),
                     fofal_ev_str(d, "customer"), fofal_ev_str(d, "currency"), fofal_ev_str(d, "direction"),
                     fofal_ev_str(d, "account"), fofal_ev_num(d, "amount_minor", amount),
                     fofal_ev_num(d, "overpaid_minor", over), fofal_ev_str(d, "date"), fofal_ev_str(d, "reference"),
                     fofal_ev_str(d, "recorded_by"), m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.payments (tenant, invoice_id, payment_id, customer, currency, direction, "
                           "account, amount_minor, overpaid_minor, date, reference, recorded_by, recorded_at) VALUES ($1, "
                           "$2, $3, $4, $5, $6, $7, $8, coalesce($9::bigint, 0), $10, $11, $12, $13) ON CONFLICT DO "
                           "NOTHING",
                           13, p);
  if (!rc) fofal_apply_push(ctx, ev, "sales");
  return rc;
}

static int supplier_invoice_recorded(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char net[40], vat[40], total[40], *doc = doc_of(ev);
  const char *p[] = {ev->tenant, fofal_ev_str(d, "supplier_invoice_id"), fofal_ev_str(d, "supplier"),
                     fofal_ev_str(d, "supplier_number"), fofal_ev_str(d, "order_id"), fofal_ev_str(d, "currency"),
                     fofal_ev_str(d, "date"), fofal_ev_str(d, "due_date"), fofal_ev_str(d, "status"),
                     fofal_ev_num(d, "net_minor", net), fofal_ev_num(d, "vat_minor", vat),
                     fofal_ev_num(d, "total_minor", total), doc, m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.supplier_invoices (tenant, supplier_invoice_id, supplier, supplier_number, "
                           "order_id, currency, date, due_date, status, net_minor, vat_minor, total_minor, doc, "
                           "recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14) ON "
                           "CONFLICT DO NOTHING",
                           14, p);
  free(doc);
  if (!rc) fofal_apply_push(ctx, ev, "sales");
  return rc;
}

static int supplier_invoice_approved(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  const json_t *d = ev->data;
  const char *p[] = {ev->tenant, fofal_ev_str(d, "supplier_invoice_id"), fofal_ev_str(d, "approved_by"),
                     fofal_ev_str(d, "reason")};
  int rc = fofal_apply_sql(ctx,
                           "UPDATE %s.supplier_invoices SET status = 'approved', approved_by = $3, approval_reason = $4 "
                           "WHERE tenant = $1 AND supplier_invoice_id = $2",
                           4, p);
  if (!rc) fofal_apply_push(ctx, ev, "sales");
  return rc;
}

static int supplier_payment_recorded(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char amount[40];
  const char *p[] = {ev->tenant, fofal_ev_str(d, "supplier_invoice_id"), fofal_ev_str(d, "payment_id"),
                     fofal_ev_str(d, "supplier"), fofal_ev_str(d, "currency"), fofal_ev_str(d, "account"),
                     fofal_ev_num(d, "amount_minor", amount), fofal_ev_str(d, "date"), fofal_ev_str(d, "reference"),
                     fofal_ev_str(d, "recorded_by"), m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.supplier_payments (tenant, supplier_invoice_id, payment_id, supplier, currency, "
                           "account, amount_minor, date, reference, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, "
                           "$6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING",
                           11, p);
  if (!rc) fofal_apply_push(ctx, ev, "sales");
  return rc;
}

/* A number handed out (an invoice's, a credit note's, a supplier's) and what of a purchase
 * order is invoiced are the documents' own rows; nothing else to keep. */
static int number_assigned(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  (void)ctx;
  (void)ev;
  return 0;
}

static const fofal_apply_t applies[] = {
    {"fofal.sales.settings_set.v1", settings_set},
    {"fofal.sales.customer_registered.v1", customer_registered},
    {"fofal.sales.customer_updated.v1", customer_updated},
    {"fofal.sales.order_placed.v1", order_placed},
    {"fofal.sales.order_delivered.v1", order_delivered},
    {"fofal.sales.delivery_shipped.v1", delivery_shipped},
    {"fofal.sales.container_shipped.v1", container_shipped},
    {"fofal.sales.delivery_invoiced.v1", delivery_invoiced},
    {"fofal.sales.invoice_issued.v1", invoice_issued},
    {"fofal.sales.number_assigned.v1", number_assigned},
    {"fofal.sales.credit_note_issued.v1", credit_note_issued},
    {"fofal.sales.payment_recorded.v1", payment_recorded},
    {"fofal.sales.supplier_invoice_recorded.v1", supplier_invoice_recorded},
    {"fofal.sales.supplier_invoice_approved.v1", supplier_invoice_approved},
    {"fofal.sales.supplier_payment_recorded.v1", supplier_payment_recorded},
    {"fofal.sales.supplier_number_recorded.v1", number_assigned},
    {"fofal.sales.purchase_order_invoiced.v1", number_assigned},
};

static const char *const tables[] = {"settings",   "customers", "orders",       "deliveries", "shipped_containers",
                                     "invoices", "credit_notes", "payments", "supplier_invoices", "supplier_payments", NULL};

static const fofal_projection_def_t projection = {
    .name = "sales",
    .module = "sales",
    .pg_schema = "sales",
    .tables = tables,
    .applies = applies,
    .napplies = sizeof applies / sizeof applies[0],
};

/* The module's registration (projections.h, "modules"); audited by default ("audit.sales"). */
static const fofal_projection_def_t *const projections[] = {&projection, NULL};
const fofal_projection_module_t fofal_module_sales_projections = {
    .name = "sales",
    .projections = projections,
};
