/*
 * handling.c — private to projections/inventory/: the apply functions of what issue 14
 * added to the storekeepers' commands (commands/inventory/stores.c): a carton or pallet
 * moved as a whole (its units' own unit_moved events move them, stores.c), pick lists
 * (tables of schemas/inventory/076_stores_handling.sql) and the alert of stock back at its
 * minimum. Deterministic functions of their event, like stores.c.
 */
#include "inventory.h"

#include <stdio.h>
#include <string.h>

static const char *at_or(const json_t *d, const char *k, const char *envelope_at) {
  const char *s = fofal_ev_str(d, k);
  return s ? s : envelope_at;
}

int fofal__inventory_container_moved(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  const char *kind = fofal_ev_str(d, "kind");
  const char *p[] = {ev->tenant, fofal_ev_str(d, "container_id"), fofal_ev_str(d, "to"), m.seq};
  int rc = fofal_apply_sql(ctx,
                           kind && !strcmp(kind, "pallet")
                               ? "UPDATE %s.pallets SET location = $3, version = $4 WHERE tenant = $1 AND pallet_id = $2::uuid"
                               : "UPDATE %s.cartons SET location = $3, version = $4 WHERE tenant = $1 AND carton_id = $2::uuid",
                           4, p);
  if (!rc) fofal_apply_push(ctx, ev, "inventory");
  return rc;
}

int fofal__inventory_stock_restored(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char q[40], min[40];
  const char *p[] = {ev->tenant, ev->id, fofal_ev_str(d, "location"), fofal_ev_str(d, "item"), fofal_ev_num(d, "on_hand", q),
                     fofal_ev_num(d, "minimum", min), at_or(d, "occurred_at", m.at), m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.alerts (tenant, event_id, location, item, on_hand, minimum, occurred_at, "
                           "recorded_at, kind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'restored')",
                           8, p);
  if (!rc) fofal_apply_push(ctx, ev, "inventory");
  return rc;
}

int fofal__inventory_pick_created(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  const json_t *lines = json_object_get(d, "lines");
  json_int_t total = 0;
  size_t i;
  json_t *l;
  json_array_foreach(lines, i, l) total += json_integer_value(json_object_get(l, "weight_g"));
  char n[24], g[24];
  snprintf(n, sizeof n, "%zu", json_array_size(lines));
  snprintf(g, sizeof g, "%lld", (long long)total);
  const char *p[] = {ev->tenant, fofal_ev_str(d, "pick_id"), fofal_ev_str(d, "order_id"), fofal_ev_str(d, "beam"), n, g,
                     ev->actor, at_or(d, "occurred_at", m.at), m.seq};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.picks (tenant, pick_id, order_id, beam, status, lines, weight_g, created_by, "
                           "created_at, version) VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, $9)",
                           9, p);
  json_array_foreach(lines, i, l) {
    if (rc) break;
    char w[40], r[40];
    const char *pl[] = {ev->tenant, fofal_ev_str(d, "pick_id"), fofal_ev_str(l, "lot"), fofal_ev_num(l, "weight_g", w),
                        fofal_ev_str(l, "location"), fofal_ev_num(l, "reserved_g", r)};
    rc = fofal_apply_sql(ctx,
                         "INSERT INTO %s.pick_lines (tenant, pick_id, lot, weight_g, location, reserved_g) VALUES ($1, $2, "
                         "$3, $4, $5, coalesce($6::bigint, 0))",
                         6, pl);
  }
  if (!rc) fofal_apply_push(ctx, ev, "inventory");
  return rc;
}

int fofal__inventory_pick_scanned(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char g[40];
  const char *p[] = {ev->tenant, fofal_ev_str(d, "pick_id"), fofal_ev_str(d, "lot"), fofal_ev_num(d, "weight_g", g), ev->actor,
                     at_or(d, "occurred_at", m.at), m.seq};
  int rc = fofal_apply_sql(ctx,
                           "WITH l AS (UPDATE %s.pick_lines SET picked_g = $4, picked_by = $5, picked_at = $6 WHERE tenant = "
                           "$1 AND pick_id = $2 AND lot = $3) UPDATE %s.picks SET version = $7 WHERE tenant = $1 AND "
                           "pick_id = $2",
                           7, p);
  if (!rc) fofal_apply_push(ctx, ev, "inventory");
  return rc;
}

int fofal__inventory_pick_issued(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char g[40];
  const char *p[] = {ev->tenant, fofal_ev_str(d, "pick_id"), fofal_ev_str(d, "beam"), fofal_ev_num(d, "weight_g", g),
                     at_or(d, "occurred_at", m.at), m.seq};
  int rc = fofal_apply_sql(ctx,
                           "UPDATE %s.picks SET status = 'issued', beam = $3, issued_g = $4, issued_at = $5, version = $6 "
                           "WHERE tenant = $1 AND pick_id = $2",
                           6, p);
  if (!rc) fofal_apply_push(ctx, ev, "inventory");
  return rc;
}

int fofal__inventory_pick_cancelled(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char g[40];
  const char *p[] = {ev->tenant, fofal_ev_str(d, "pick_id"), fofal_ev_str(d, "reason"), fofal_ev_num(d, "released_g", g),
                     at_or(d, "occurred_at", m.at), m.seq};
  int rc = fofal_apply_sql(ctx,
                           "UPDATE %s.picks SET status = 'cancelled', cancel_reason = $3, released_g = $4, cancelled_at = $5, "
                           "version = $6 WHERE tenant = $1 AND pick_id = $2",
                           6, p);
  if (!rc) fofal_apply_push(ctx, ev, "inventory");
  return rc;
}
