/*
 * subcontracting.c — the subcontracting module's projection: subcontractors, dispatches
 * with their lots (sent, back good, back rejected, lost) and returns into PostgreSQL
 * (schema subcontracting, schemas/subcontracting/080_subcontracting.sql), and a WebSocket
 * push per applied event. lot_held and lot_released (the decider's record that keeps a lot
 * from going out twice) change no row: dispatch_lots says the same.
 *
 * Each apply function is a deterministic function of its event (times from its envelope
 * or its data), so a rebuild yields the same rows; it reads only its own topic.
 */
#include "projections.h"

#include <stdlib.h>

static int pushed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, int rc) {
  if (!rc) fofal_apply_push(ctx, ev, "subcontracting");
  return rc;
}

static int subcontractor_registered(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char *ops = fofal_ev_jtext(d, "operations");
  const char *params[] = {ev->tenant, fofal_ev_str(d, "subcontractor"), fofal_ev_str(d, "name"), ops,
                          fofal_ev_str(d, "site"), fofal_ev_str(d, "contact"), m.seq, m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.subcontractors (tenant, subcontractor, name, operations, site, contact, version, "
                           "registered_at) VALUES ($1, $2, $3, coalesce($4::jsonb, '[]'), $5, $6, $7, $8)",
                           8, params);
  free(ops);
  return pushed(ctx, ev, rc);
}

static int dispatch_sent(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  const char *at = fofal_ev_str(d, "sent_at") ? fofal_ev_str(d, "sent_at") : m.at;
  char price[40];
  const char *params[] = {ev->tenant, fofal_ev_str(d, "dispatch_id"), fofal_ev_str(d, "subcontractor"),
                          fofal_ev_str(d, "operation"), fofal_ev_str(d, "expected_return"), fofal_ev_str(d, "note"),
                          fofal_ev_str(d, "sent_by"), fofal_ev_str(d, "sender_badge"), at, m.seq, m.at,
                          fofal_ev_num(d, "unit_price", price)};
  /* With a price, what came back costs 0 so far; without one, the cost is null. */
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.dispatches (tenant, dispatch_id, subcontractor, operation, status, "
                           "expected_return, note, sent_by, sender_badge, sent_at, version, updated_at, unit_price, "
                           "cost_minor) VALUES ($1, $2, $3, $4, 'open', $5::date, $6, $7, $8, $9, $10, $11, $12::bigint, "
                           "CASE WHEN $12::bigint IS NOT NULL THEN 0 END)",
                           12, params);
  if (!rc) {
    char *lots = fofal_ev_jtext(d, "lots");
    const char *lp[] = {ev->tenant, fofal_ev_str(d, "dispatch_id"), lots, fofal_ev_num(d, "unit_price", price)};
    rc = fofal_apply_sql(ctx,
                         "INSERT INTO %s.dispatch_lots (tenant, dispatch_id, label_id, quantity_milli, good_milli, "
                         "rejected_milli, lost_milli, cost_minor) SELECT $1, $2::uuid, x.label_id, x.quantity_milli, 0, "
                         "0, 0, CASE WHEN $4::bigint IS NOT NULL THEN 0 END FROM jsonb_to_recordset($3::jsonb) AS "
                         "x(label_id uuid, quantity_milli bigint)",
                         4, lp);
    free(lots);
  }
  return pushed(ctx, ev, rc);
}

static int goods_returned(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char *lines = fofal_ev_jtext(d, "lines");
  const char *at = fofal_ev_str(d, "returned_at") ? fofal_ev_str(d, "returned_at") : m.at;
  const char *rp[] = {ev->tenant, fofal_ev_str(d, "return_id"), fofal_ev_str(d, "dispatch_id"),
                      fofal_ev_str(d, "returned_by"), fofal_ev_str(d, "returner_badge"), at, fofal_ev_str(d, "note"), lines};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.returns (tenant, return_id, dispatch_id, returned_by, returner_badge, "
                           "returned_at, note, lines) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)",
                           8, rp);
  if (!rc) {
    const char *lp[] = {ev->tenant, fofal_ev_str(d, "dispatch_id"), lines};
    rc = fofal_apply_sql(ctx,
                         "UPDATE %s.dispatch_lots l SET good_milli = l.good_milli + x.good_milli, rejected_milli = "
                         "l.rejected_milli + x.rejected_milli, lost_milli = l.lost_milli + x.lost_milli, cost_minor = "
                         "l.cost_minor + x.cost_minor FROM jsonb_to_recordset($3::jsonb) AS x(label_id uuid, good_milli "
                         "bigint, rejected_milli bigint, lost_milli bigint, cost_minor bigint) WHERE l.tenant = $1 AND "
                         "l.dispatch_id = $2::uuid AND l.label_id = x.label_id",
                         3, lp);
  }
  if (!rc) {
    char cost[40];
    const char *op[] = {ev->tenant, fofal_ev_str(d, "dispatch_id"), fofal_ev_str(d, "status"), m.seq, m.at,
                        fofal_ev_num(d, "cost_minor", cost)};
    rc = fofal_apply_sql(ctx,
                         "UPDATE %s.dispatches SET status = $3, closed_at = CASE WHEN $3 = 'closed' THEN $5::timestamptz "
                         "END, version = $4, updated_at = $5, cost_minor = cost_minor + $6::bigint WHERE tenant = $1 AND "
                         "dispatch_id = $2",
                         6, op);
  }
  free(lines);
  return pushed(ctx, ev, rc);
}

static const fofal_apply_t applies[] = {
    {"fofal.subcontracting.subcontractor_registered.v1", subcontractor_registered},
    {"fofal.subcontracting.dispatch_sent.v1", dispatch_sent},
    {"fofal.subcontracting.goods_returned.v1", goods_returned},
};

static const char *const tables[] = {"subcontractors", "dispatches", "dispatch_lots", "returns", NULL};

static const fofal_projection_def_t projection = {
    .name = "subcontracting",
    .module = "subcontracting",
    .pg_schema = "subcontracting",
    .tables = tables,
    .applies = applies,
    .napplies = sizeof applies / sizeof applies[0],
};

/* The module's registration (projections.h, "modules"); audited by default
 * (projection "audit.subcontracting"). */
static const fofal_projection_def_t *const projections[] = {&projection, NULL};
const fofal_projection_module_t fofal_module_subcontracting_projections = {
    .name = "subcontracting",
    .projections = projections,
};
