/*
 * inventory.c — the inventory module's projection: stock units and the prints of their
 * labels (here), the storekeepers' locations, lots, cartons, pallets, counts and stock
 * ledger (stores.c) into PostgreSQL (schema inventory, schemas/inventory/070_inventory.sql), and a
 * WebSocket push per applied event.
 *
 * It reads only fofal.inventory.events: what a unit needs of its declaration (order, loom,
 * weaver, shift, quantity, when woven) comes in unit_received, which the reaction copied
 * from output_declared. The label reads (api/inventory/) join production's and catalog's
 * rows for the names and states they show; this projection never does, so it runs at its
 * own pace and a rebuild yields the same rows.
 *
 * Each apply function is a deterministic function of its event (times from its envelope
 * or its data).
 */
#include "flows.h"
#include "inventory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The unit, and its label's first print (the one the weaver's phone shows). */
static int unit_received(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  const json_t *d = ev->data;
  char seq[24], at[32], b1[40], b2[40];
  snprintf(seq, sizeof seq, "%lld", (long long)ev->seq);
  fofal_time_format(ev->time_us, at);
  const char *id = fofal_ev_str(d, "label_id") ? fofal_ev_str(d, "label_id") : ev->subject;
  char *beams = fofal_ev_jtext(d, "beams"); /* the beams it was woven from, for the genealogy */
  const char *params[] = {ev->tenant, id, fofal_ev_str(d, "order_id"), fofal_ev_str(d, "article"), fofal_ev_str(d, "loom"), fofal_ev_str(d, "weaver"),
                          fofal_ev_str(d, "shift"), fofal_ev_num(d, "quantity", b1), fofal_ev_num(d, "length_m", b2), fofal_ev_str(d, "woven_at"),
                          fofal_ev_str(d, "location") ? fofal_ev_str(d, "location") : "loom", seq, at, beams};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.units (tenant, label_id, order_id, article, loom, weaver, shift, quantity, "
                           "length_m, woven_at, location, prints, version, received_at, last_printed_at, beams) VALUES ($1, "
                           "$2, $3, $4, $5, $6, $7, $8, $9, coalesce($10::timestamptz, $13::timestamptz), $11, 1, $12, $13, "
                           "$13, $14::jsonb)",
                           14, params);
  free(beams);
  if (rc) return rc;
  const char *p2[] = {ev->tenant, id, ev->actor, at};
  rc = fofal_apply_sql(ctx,
                       "INSERT INTO %s.label_prints (tenant, label_id, print_no, reason, actor, printed_at) "
                       "VALUES ($1, $2, 1, 'issued', $3, $4)",
                       4, p2);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "inventory");
  return 0;
}

static int label_reprinted(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  char seq[24], at[32], b1[40];
  snprintf(seq, sizeof seq, "%lld", (long long)ev->seq);
  fofal_time_format(ev->time_us, at);
  const char *id = fofal_ev_str(ev->data, "label_id") ? fofal_ev_str(ev->data, "label_id") : ev->subject;
  const char *no = fofal_ev_num(ev->data, "print_no", b1);
  const char *p1[] = {ev->tenant, id, no, fofal_ev_str(ev->data, "reason"), fofal_ev_str(ev->data, "printer"), ev->actor, at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.label_prints (tenant, label_id, print_no, reason, printer, actor, printed_at) "
                           "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                           7, p1);
  if (rc) return rc;
  const char *p2[] = {ev->tenant, id, no, seq, at};
  rc = fofal_apply_sql(ctx,
                       "UPDATE %s.units SET prints = greatest(prints, $3::int), last_printed_at = $5, version = $4 "
                       "WHERE tenant = $1 AND label_id = $2",
                       5, p2);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "inventory");
  return 0;
}

static const fofal_apply_t applies[] = {
    {"fofal.inventory.unit_received.v1", unit_received},
    {"fofal.inventory.label_reprinted.v1", label_reprinted},
    FOFAL__INVENTORY_STORES_APPLIES
    FOFAL__INVENTORY_FLOWS_APPLIES
    FOFAL__INVENTORY_HANDLING_APPLIES
};

static const char *const tables[] = {"units", "label_prints", "locations", "lots", "lot_issues", "cartons", "pallets",
                                     "counts", "count_lines", "stock", "movements", "minimums", "alerts", "picks", "pick_lines", NULL};

static const fofal_projection_def_t projection = {
    .name = "inventory",
    .module = "inventory",
    .pg_schema = "inventory",
    .tables = tables,
    .applies = applies,
    .napplies = sizeof applies / sizeof applies[0],
};

/* The module's registration (projections.h, "modules"); audited, as every module is by
 * default (projection "audit.inventory"). */
static const fofal_projection_def_t *const projections[] = {&projection, NULL};
const fofal_projection_module_t fofal_module_inventory_projections = {
    .name = "inventory",
    .projections = projections,
};
