/*
 * purchasing.c — the purchasing module's projection: suppliers, settings, purchase
 * requests, orders with their lines, and receipts into PostgreSQL (schema purchasing,
 * schemas/purchasing/080_purchasing.sql), and a WebSocket push per applied event.
 *
 * A request's row keeps its whole story: who asked (station, actor, badge), each approval
 * (approvals, a JSON array of the request_approved events' data with their time), the
 * rejection, and the order it went into; an order's lines keep what was received and
 * refused so far (the goods_received event carries each line's new total). This
 * projection reads only its own topic: the supplier's code and currency are in the
 * order's events.
 *
 * Each apply function is a deterministic function of its event (times from its envelope
 * or its data), so a rebuild yields the same rows.
 */
#include "projections.h"

#include <stdlib.h>

static int pushed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, int rc) {
  if (!rc) fofal_apply_push(ctx, ev, "purchasing");
  return rc;
}

/* ------------------------------------------------------------- suppliers */

static int supplier_changed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char b1[40];
  const char *params[] = {ev->tenant, fofal_ev_str(d, "supplier"), fofal_ev_str(d, "name"), fofal_ev_str(d, "currency"),
                          fofal_ev_num(d, "payment_terms_days", b1), fofal_ev_str(d, "payment_terms"),
                          fofal_ev_str(d, "vat_id"), fofal_ev_str(d, "contact"), m.seq, m.at};
  /* registered: every member; updated: only those that changed (the others keep theirs). */
  return pushed(ctx, ev,
                fofal_apply_sql(ctx,
                                "INSERT INTO %s.suppliers AS s (tenant, supplier, name, currency, payment_terms_days, "
                                "payment_terms, vat_id, contact, version, registered_at, updated_at) VALUES ($1, $2, "
                                "coalesce($3, ''), coalesce($4, 'TND'), $5::int, $6, $7, $8, $9, $10, $10) ON CONFLICT "
                                "(tenant, supplier) DO UPDATE SET name = coalesce($3, s.name), currency = coalesce($4, "
                                "s.currency), payment_terms_days = coalesce($5::int, s.payment_terms_days), payment_terms "
                                "= coalesce($6, s.payment_terms), vat_id = coalesce($7, s.vat_id), contact = coalesce($8, "
                                "s.contact), version = $9, updated_at = $10",
                                10, params));
}

static int settings_set(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  char b1[40];
  char *limits = fofal_ev_jtext(ev->data, "approval_limits");
  const char *params[] = {ev->tenant, limits, fofal_ev_num(ev->data, "over_receipt_tolerance_pct", b1),
                          fofal_ev_str(ev->data, "currency"), m.seq, m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.settings AS s (tenant, approval_limits, over_receipt_tolerance_pct, currency, "
                           "version, updated_at) VALUES ($1, coalesce($2::jsonb, '{}'), $3::int, $4, $5, $6) ON CONFLICT "
                           "(tenant) DO UPDATE SET approval_limits = s.approval_limits || coalesce($2::jsonb, '{}'), "
                           "over_receipt_tolerance_pct = coalesce($3::int, s.over_receipt_tolerance_pct), currency = "
                           "coalesce($4, s.currency), version = $5, updated_at = $6",
                           6, params);
  free(limits);
  return pushed(ctx, ev, rc);
}

/* -------------------------------------------------------------- requests */

static int request_submitted(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char b1[40], b2[40];
  const char *at = fofal_ev_str(d, "requested_at") ? fofal_ev_str(d, "requested_at") : m.at;
  const char *params[] = {ev->tenant, fofal_ev_str(d, "request_id"), fofal_ev_str(d, "item"),
                          fofal_ev_str(d, "description"), fofal_ev_num(d, "quantity_milli", b1), fofal_ev_str(d, "unit"),
                          fofal_ev_str(d, "need_by"), fofal_ev_str(d, "reason"),
                          fofal_ev_num(d, "estimated_unit_price", b2), fofal_ev_str(d, "intervention_id"),
                          fofal_ev_str(d, "station"), fofal_ev_str(d, "requested_by"),
                          fofal_ev_str(d, "requester_badge"), at, m.seq, m.at};
  return pushed(ctx, ev,
                fofal_apply_sql(ctx,
                                "INSERT INTO %s.requests (tenant, request_id, status, item, description, quantity_milli, "
                                "unit, need_by, reason, estimated_unit_price, intervention_id, station, requested_by, "
                                "requester_badge, requested_at, version, updated_at) VALUES ($1, $2, 'submitted', $3, $4, "
                                "$5::bigint, $6, $7::date, $8, $9::bigint, $10::uuid, $11, $12, $13, $14, $15, $16)",
                                16, params));
}

static int request_approved(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char b1[40], b2[40];
  char *detail = fofal_json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
  const char *params[] = {ev->tenant, fofal_ev_str(d, "request_id"), fofal_ev_str(d, "status"),
                          fofal_ev_num(d, "estimated_unit_price", b1), fofal_ev_num(d, "amount", b2), detail, m.seq, m.at};
  int rc = fofal_apply_sql(ctx,
                           "UPDATE %s.requests SET status = $3, estimated_unit_price = $4::bigint, amount = $5::bigint, "
                           "approvals = approvals || jsonb_build_array($6::jsonb || jsonb_build_object('at', $8::text)), "
                           "version = $7, updated_at = $8::timestamptz WHERE tenant = $1 AND request_id = $2",
                           8, params);
  free(detail);
  return pushed(ctx, ev, rc);
}

static int request_rejected(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  const char *params[] = {ev->tenant, fofal_ev_str(d, "request_id"), fofal_ev_str(d, "rejected_by"),
                          fofal_ev_str(d, "reason"), m.seq, m.at};
  return pushed(ctx, ev,
                fofal_apply_sql(ctx,
                                "UPDATE %s.requests SET status = 'rejected', rejected_by = $3, reject_reason = $4, "
                                "rejected_at = $6, version = $5, updated_at = $6 WHERE tenant = $1 AND request_id = $2",
                                6, params));
}

static int request_ordered(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const char *params[] = {ev->tenant, fofal_ev_str(ev->data, "request_id"), fofal_ev_str(ev->data, "order_id"), m.seq, m.at};
  return pushed(ctx, ev,
                fofal_apply_sql(ctx,
                                "UPDATE %s.requests SET status = 'ordered', order_id = $3::uuid, ordered_at = $5, version = "
                                "$4, updated_at = $5 WHERE tenant = $1 AND request_id = $2",
                                5, params));
}

/* ---------------------------------------------------------------- orders */

static int order_issued(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char b1[40];
  char *lines = fofal_ev_jtext(d, "lines"), *requests = fofal_ev_jtext(d, "requests");
  const char *params[] = {ev->tenant, fofal_ev_str(d, "order_id"), fofal_ev_str(d, "supplier"),
                          fofal_ev_str(d, "currency"), fofal_ev_num(d, "total", b1), requests, fofal_ev_str(d, "note"),
                          fofal_ev_str(d, "issued_by"), m.seq, m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.orders (tenant, order_id, supplier, currency, status, total, requests, note, "
                           "issued_by, issued_at, version, updated_at) VALUES ($1, $2, $3, $4, 'open', $5::bigint, "
                           "coalesce($6::jsonb, '[]'), $7, $8, $10, $9, $10)",
                           10, params);
  if (!rc) {
    const char *lp[] = {ev->tenant, fofal_ev_str(d, "order_id"), lines};
    rc = fofal_apply_sql(ctx,
                         "INSERT INTO %s.order_lines (tenant, order_id, line, item, description, quantity_milli, unit, "
                         "unit_price, expected_date, received_milli, refused_milli) SELECT $1, $2::uuid, x.line, x.item, "
                         "x.description, x.quantity_milli, x.unit, x.unit_price, x.expected_date, 0, 0 FROM "
                         "jsonb_to_recordset($3::jsonb) AS x(line int, item text, description text, quantity_milli bigint, "
                         "unit text, unit_price bigint, expected_date date)",
                         3, lp);
  }
  free(lines);
  free(requests);
  return pushed(ctx, ev, rc);
}

static int goods_received(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char *lines = fofal_ev_jtext(d, "lines");
  const char *at = fofal_ev_str(d, "received_at") ? fofal_ev_str(d, "received_at") : m.at;
  const char *rp[] = {ev->tenant, fofal_ev_str(d, "receipt_id"), fofal_ev_str(d, "order_id"), fofal_ev_str(d, "supplier"),
                      fofal_ev_str(d, "delivery_note"), fofal_ev_str(d, "received_by"),
                      fofal_ev_str(d, "receiver_badge"), at, lines};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.receipts (tenant, receipt_id, order_id, supplier, delivery_note, received_by, "
                           "receiver_badge, received_at, lines) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)",
                           9, rp);
  if (!rc) {
    const char *lp[] = {ev->tenant, fofal_ev_str(d, "order_id"), lines};
    rc = fofal_apply_sql(ctx,
                         "UPDATE %s.order_lines l SET received_milli = x.received_total_milli, refused_milli = "
                         "l.refused_milli + x.refused_milli FROM jsonb_to_recordset($3::jsonb) AS x(line int, "
                         "received_total_milli bigint, refused_milli bigint) WHERE l.tenant = $1 AND l.order_id = "
                         "$2::uuid AND l.line = x.line",
                         3, lp);
  }
  if (!rc) {
    const char *op[] = {ev->tenant, fofal_ev_str(d, "order_id"), fofal_ev_str(d, "status"), m.seq, m.at};
    rc = fofal_apply_sql(ctx,
                         "UPDATE %s.orders SET status = $3, version = $4, updated_at = $5 WHERE tenant = $1 AND "
                         "order_id = $2",
                         5, op);
  }
  free(lines);
  return pushed(ctx, ev, rc);
}

/* The whole set of lines again, with what each received and refused so far. */
static int order_amended(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char b1[40];
  char *lines = fofal_ev_jtext(d, "lines");
  const char *lp[] = {ev->tenant, fofal_ev_str(d, "order_id"), lines};
  int rc = fofal_apply_sql(ctx, "DELETE FROM %s.order_lines WHERE tenant = $1 AND order_id = $2::uuid", 2, lp);
  if (!rc)
    rc = fofal_apply_sql(ctx,
                         "INSERT INTO %s.order_lines (tenant, order_id, line, item, description, quantity_milli, unit, "
                         "unit_price, expected_date, received_milli, refused_milli) SELECT $1, $2::uuid, x.line, x.item, "
                         "x.description, x.quantity_milli, x.unit, x.unit_price, x.expected_date, x.received_milli, "
                         "x.refused_milli FROM jsonb_to_recordset($3::jsonb) AS x(line int, item text, description text, "
                         "quantity_milli bigint, unit text, unit_price bigint, expected_date date, received_milli bigint, "
                         "refused_milli bigint)",
                         3, lp);
  if (!rc) {
    const char *op[] = {ev->tenant, fofal_ev_str(d, "order_id"), fofal_ev_num(d, "total", b1), fofal_ev_str(d, "status"),
                        m.seq, m.at};
    rc = fofal_apply_sql(ctx,
                         "UPDATE %s.orders SET total = $3::bigint, status = $4, version = $5, updated_at = $6 WHERE "
                         "tenant = $1 AND order_id = $2",
                         6, op);
  }
  free(lines);
  return pushed(ctx, ev, rc);
}

static int order_ended(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, const char *sql) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const char *params[] = {ev->tenant, fofal_ev_str(ev->data, "order_id"), fofal_ev_str(ev->data, "reason"), m.seq, m.at};
  return pushed(ctx, ev, fofal_apply_sql(ctx, sql, 5, params));
}

static int order_cancelled(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  return order_ended(ctx, ev,
                     "UPDATE %s.orders SET status = 'cancelled', cancelled_at = $5, reason = $3, version = $4, "
                     "updated_at = $5 WHERE tenant = $1 AND order_id = $2");
}

static int order_closed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  return order_ended(ctx, ev,
                     "UPDATE %s.orders SET status = 'closed', closed_at = $5, reason = $3, version = $4, updated_at = "
                     "$5 WHERE tenant = $1 AND order_id = $2");
}

static const fofal_apply_t applies[] = {
    {"fofal.purchasing.supplier_registered.v1", supplier_changed},
    {"fofal.purchasing.supplier_updated.v1", supplier_changed},
    {"fofal.purchasing.settings_set.v1", settings_set},
    {"fofal.purchasing.request_submitted.v1", request_submitted},
    {"fofal.purchasing.request_approved.v1", request_approved},
    {"fofal.purchasing.request_rejected.v1", request_rejected},
    {"fofal.purchasing.request_ordered.v1", request_ordered},
    {"fofal.purchasing.order_issued.v1", order_issued},
    {"fofal.purchasing.goods_received.v1", goods_received},
    {"fofal.purchasing.order_amended.v1", order_amended},
    {"fofal.purchasing.order_cancelled.v1", order_cancelled},
    {"fofal.purchasing.order_closed.v1", order_closed},
};

static const char *const tables[] = {"suppliers", "settings", "requests", "orders", "order_lines", "receipts", NULL};

static const fofal_projection_def_t projection = {
    .name = "purchasing",
    .module = "purchasing",
    .pg_schema = "purchasing",
    .tables = tables,
    .applies = applies,
    .napplies = sizeof applies / sizeof applies[0],
};

/* The module's registration (projections.h, "modules"); audited, as every module is by
 * default (projection "audit.purchasing"). */
static const fofal_projection_def_t *const projections[] = {&projection, NULL};
const fofal_projection_module_t fofal_module_purchasing_projections = {
    .name = "purchasing",
    .projections = projections,
};
