/*
 * stores.c — private to projections/inventory/: the apply functions of the storekeepers'
 * events (commands/inventory/stores.c) into the tables of
 * schemas/inventory/071_stores.sql (declared in inventory.h, listed by inventory.c in the
 * module's projection).
 *
 * The ledger. Each fofal__inventory_stock_changed (an event of a location) is one row of movements, dated
 * by occurred_at (when it happened) and by the envelope (when it was recorded), and sets
 * the holding's row of stock to its on_hand there (removed at zero): the stock now is a
 * row read, the stock at a past instant the sum of movements up to it.
 *
 * Each apply function is a deterministic function of its event, so a rebuild yields the
 * same rows; like inventory.c it reads only fofal.inventory.events.
 */
#include "inventory.h"

#include <stdio.h>
#include <string.h>

/* The event's data member `k`, or the envelope's time when absent. */
static const char *at_or(const json_t *d, const char *k, const char *envelope_at) {
  const char *s = fofal_ev_str(d, k);
  return s ? s : envelope_at;
}

int fofal__inventory_location_defined(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  const char *p[] = {ev->tenant, fofal_ev_str(d, "location"), fofal_ev_str(d, "kind"), fofal_ev_str(d, "name"), m.seq, m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.locations (tenant, location, kind, name, version, defined_at) VALUES ($1, $2, "
                           "$3, $4, $5, $6)",
                           6, p);
  if (!rc) fofal_apply_push(ctx, ev, "inventory");
  return rc;
}

int fofal__inventory_lot_received(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char g[40], cones[40];
  const char *p[] = {ev->tenant, fofal_ev_str(d, "lot"), fofal_ev_str(d, "item"), fofal_ev_str(d, "supplier_lot"),
                     fofal_ev_num(d, "weight_g", g), fofal_ev_num(d, "cones", cones), fofal_ev_str(d, "location"),
                     fofal_ev_str(d, "purchase_order"), at_or(d, "occurred_at", m.at), m.at, m.seq};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.lots (tenant, lot, item, supplier_lot, received_g, weight_g, cones, location, "
                           "purchase_order, received_at, recorded_at, version) VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, "
                           "$9, $10, $11)",
                           11, p);
  if (!rc) fofal_apply_push(ctx, ev, "inventory");
  return rc;
}

int fofal__inventory_lot_issued(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char g[40], left[40];
  const char *p[] = {ev->tenant, ev->id, fofal_ev_str(d, "lot"), fofal_ev_str(d, "beam"), fofal_ev_str(d, "order_id"),
                     fofal_ev_num(d, "weight_g", g), fofal_ev_str(d, "location"), at_or(d, "occurred_at", m.at), m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.lot_issues (tenant, event_id, lot, beam, order_id, weight_g, location, "
                           "occurred_at, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                           9, p);
  if (rc) return rc;
  char r[40];
  const char *p2[] = {ev->tenant, fofal_ev_str(d, "lot"), fofal_ev_num(d, "remaining_g", left), m.seq,
                      fofal_ev_num(d, "reserved_g", r)};
  rc = fofal_apply_sql(ctx,
                       "UPDATE %s.lots SET weight_g = $3, version = $4, reserved_g = coalesce($5::bigint, reserved_g) "
                       "WHERE tenant = $1 AND lot = $2",
                       5, p2);
  if (!rc) fofal_apply_push(ctx, ev, "inventory");
  return rc;
}

int fofal__inventory_lot_reserved(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  char r[40];
  const char *p[] = {ev->tenant, fofal_ev_str(ev->data, "lot"), fofal_ev_num(ev->data, "reserved_g", r), m.seq};
  int rc = fofal_apply_sql(ctx, "UPDATE %s.lots SET reserved_g = $3, version = $4 WHERE tenant = $1 AND lot = $2", 4, p);
  if (!rc) fofal_apply_push(ctx, ev, "inventory");
  return rc;
}

int fofal__inventory_lot_moved(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const char *p[] = {ev->tenant, fofal_ev_str(ev->data, "lot"), fofal_ev_str(ev->data, "to"), m.seq};
  int rc = fofal_apply_sql(ctx, "UPDATE %s.lots SET location = $3, version = $4 WHERE tenant = $1 AND lot = $2", 4, p);
  if (!rc) fofal_apply_push(ctx, ev, "inventory");
  return rc;
}

int fofal__inventory_lot_returned(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  char g[40], left[40];
  const char *p[] = {ev->tenant, fofal_ev_str(ev->data, "lot"), fofal_ev_num(ev->data, "remaining_g", left),
                     fofal_ev_num(ev->data, "weight_g", g), m.seq};
  int rc = fofal_apply_sql(ctx,
                           "UPDATE %s.lots SET weight_g = $3, returned_g = returned_g + $4, version = $5 WHERE tenant = $1 "
                           "AND lot = $2",
                           5, p);
  if (!rc) fofal_apply_push(ctx, ev, "inventory");
  return rc;
}

int fofal__inventory_unit_moved(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const char *p[] = {ev->tenant, fofal_ev_str(ev->data, "label_id"), fofal_ev_str(ev->data, "to"), m.seq};
  int rc = fofal_apply_sql(ctx, "UPDATE %s.units SET location = $3, version = $4 WHERE tenant = $1 AND label_id = $2", 4, p);
  if (!rc) fofal_apply_push(ctx, ev, "inventory");
  return rc;
}

int fofal__inventory_carton_packed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char pieces[40], n[24];
  snprintf(n, sizeof n, "%zu", json_array_size(json_object_get(d, "units")));
  const char *p[] = {ev->tenant, fofal_ev_str(d, "carton_id"), fofal_ev_str(d, "location"), fofal_ev_num(d, "pieces", pieces),
                     n, ev->actor, at_or(d, "occurred_at", m.at), m.seq};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.cartons (tenant, carton_id, location, pieces, units, packed_by, packed_at, "
                           "version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                           8, p);
  if (!rc) fofal_apply_push(ctx, ev, "inventory");
  return rc;
}

int fofal__inventory_unit_packed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const char *p[] = {ev->tenant, fofal_ev_str(ev->data, "label_id"), fofal_ev_str(ev->data, "carton_id"), m.seq};
  return fofal_apply_sql(ctx, "UPDATE %s.units SET carton_id = $3, version = $4 WHERE tenant = $1 AND label_id = $2", 4, p);
}

int fofal__inventory_pallet_built(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char pieces[40], n[24];
  snprintf(n, sizeof n, "%zu", json_array_size(json_object_get(d, "cartons")));
  const char *p[] = {ev->tenant, fofal_ev_str(d, "pallet_id"), fofal_ev_str(d, "sscc"), fofal_ev_str(d, "location"),
                     fofal_ev_num(d, "pieces", pieces), n, ev->actor, at_or(d, "occurred_at", m.at), m.seq};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.pallets (tenant, pallet_id, sscc, location, pieces, cartons, built_by, built_at, "
                           "version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                           9, p);
  if (!rc) fofal_apply_push(ctx, ev, "inventory");
  return rc;
}

int fofal__inventory_carton_palletised(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const char *p[] = {ev->tenant, fofal_ev_str(ev->data, "carton_id"), fofal_ev_str(ev->data, "pallet_id"), m.seq};
  return fofal_apply_sql(ctx, "UPDATE %s.cartons SET pallet_id = $3, version = $4 WHERE tenant = $1 AND carton_id = $2", 4,
                         p);
}

int fofal__inventory_count_opened(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  const char *p[] = {ev->tenant, fofal_ev_str(d, "count_id"), fofal_ev_str(d, "location"), ev->actor,
                     at_or(d, "occurred_at", m.at), m.seq};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.counts (tenant, count_id, location, status, opened_by, opened_at, version) "
                           "VALUES ($1, $2, $3, 'open', $4, $5, $6)",
                           6, p);
  if (!rc) fofal_apply_push(ctx, ev, "inventory");
  return rc;
}

int fofal__inventory_count_recorded(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char q[40];
  const char *p[] = {ev->tenant, fofal_ev_str(d, "count_id"), fofal_ev_str(d, "holding_id"), fofal_ev_str(d, "holding"),
                     fofal_ev_str(d, "kind"), fofal_ev_num(d, "quantity", q), ev->actor, at_or(d, "occurred_at", m.at)};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.count_lines (tenant, count_id, holding_id, holding, kind, counted, recorded_by, "
                           "recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant, count_id, "
                           "holding_id) DO UPDATE SET counted = EXCLUDED.counted, recorded_by = EXCLUDED.recorded_by, "
                           "recorded_at = EXCLUDED.recorded_at",
                           8, p);
  if (rc) return rc;
  const char *p2[] = {ev->tenant, fofal_ev_str(d, "count_id"), m.seq};
  rc = fofal_apply_sql(ctx, "UPDATE %s.counts SET version = $3 WHERE tenant = $1 AND count_id = $2", 3, p2);
  if (!rc) fofal_apply_push(ctx, ev, "inventory");
  return rc;
}

int fofal__inventory_count_closed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char n[40];
  const char *p[] = {ev->tenant, fofal_ev_str(d, "count_id"), fofal_ev_str(d, "reason"), fofal_ev_num(d, "adjustments", n),
                     at_or(d, "occurred_at", m.at), m.seq};
  int rc = fofal_apply_sql(ctx,
                           "UPDATE %s.counts SET status = 'closed', reason = $3, adjustments = $4, closed_at = $5, "
                           "version = $6 WHERE tenant = $1 AND count_id = $2",
                           6, p);
  if (!rc) fofal_apply_push(ctx, ev, "inventory");
  return rc;
}

/* The count's line of the holding (its book and delta; counted 0 for one nobody scanned)
 * and the holding's own row. */
int fofal__inventory_stock_adjusted(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char book[40], counted[40], delta[40];
  const char *p[] = {ev->tenant, fofal_ev_str(d, "count_id"), fofal_ev_str(d, "holding_id"), fofal_ev_str(d, "holding"),
                     fofal_ev_str(d, "kind"), fofal_ev_num(d, "counted", counted), fofal_ev_num(d, "book", book),
                     fofal_ev_num(d, "delta", delta), at_or(d, "occurred_at", m.at)};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.count_lines (tenant, count_id, holding_id, holding, kind, counted, book, delta, "
                           "recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (tenant, count_id, "
                           "holding_id) DO UPDATE SET book = EXCLUDED.book, delta = EXCLUDED.delta",
                           9, p);
  if (rc) return rc;
  const char *p2[] = {ev->tenant, fofal_ev_str(d, "holding"), fofal_ev_num(d, "counted", counted), fofal_ev_str(d, "location"),
                      m.seq};
  if (!strcmp(fofal_ev_str(d, "kind") ? fofal_ev_str(d, "kind") : "", "lot"))
    rc = fofal_apply_sql(ctx,
                         "UPDATE %s.lots SET weight_g = $3, location = $4, version = $5 WHERE tenant = $1 AND lot = $2", 5,
                         p2);
  else
    rc = fofal_apply_sql(ctx,
                         "UPDATE %s.units SET quantity = $3, location = $4, version = $5 WHERE tenant = $1 AND "
                         "label_id = $2::uuid",
                         5, p2);
  if (!rc) fofal_apply_push(ctx, ev, "inventory");
  return rc;
}

int fofal__inventory_stock_changed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char delta[40], on_hand[40];
  const char *p[] = {ev->tenant, ev->id, fofal_ev_str(d, "location"), fofal_ev_str(d, "holding_id"), fofal_ev_str(d, "holding"),
                     fofal_ev_str(d, "kind"), fofal_ev_str(d, "item"), fofal_ev_num(d, "delta", delta),
                     fofal_ev_str(d, "cause"), ev->actor, at_or(d, "occurred_at", m.at), m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.movements (tenant, event_id, location, holding_id, holding, kind, item, delta, "
                           "cause, actor, occurred_at, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
                           "$12)",
                           12, p);
  if (rc) return rc;
  const char *q = fofal_ev_num(d, "on_hand", on_hand);
  if (q && strcmp(q, "0")) {
    const char *p2[] = {ev->tenant, fofal_ev_str(d, "location"), fofal_ev_str(d, "holding_id"), fofal_ev_str(d, "holding"),
                        fofal_ev_str(d, "kind"), fofal_ev_str(d, "item"), q, m.at};
    rc = fofal_apply_sql(ctx,
                         "INSERT INTO %s.stock (tenant, location, holding_id, holding, kind, item, quantity, updated_at) "
                         "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant, location, holding_id) DO UPDATE SET "
                         "quantity = EXCLUDED.quantity, updated_at = EXCLUDED.updated_at",
                         8, p2);
  } else {
    const char *p2[] = {ev->tenant, fofal_ev_str(d, "location"), fofal_ev_str(d, "holding_id")};
    rc = fofal_apply_sql(ctx, "DELETE FROM %s.stock WHERE tenant = $1 AND location = $2 AND holding_id = $3", 3, p2);
  }
  if (!rc) fofal_apply_push(ctx, ev, "inventory");
  return rc;
}

int fofal__inventory_minimum_set(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char buf[40];
  const char *min = fofal_ev_num(d, "minimum", buf);
  const char *p[] = {ev->tenant, fofal_ev_str(d, "location"), fofal_ev_str(d, "item"), min, m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.minimums (tenant, location, item, minimum, set_at) SELECT $1, $2, $3, $4, $5 "
                           "WHERE $4::bigint > 0 ON CONFLICT (tenant, location, item) DO UPDATE SET minimum = "
                           "EXCLUDED.minimum, set_at = EXCLUDED.set_at",
                           5, p);
  if (!rc && min && !strcmp(min, "0"))
    rc = fofal_apply_sql(ctx, "DELETE FROM %s.minimums WHERE tenant = $1 AND location = $2 AND item = $3", 3, p);
  if (!rc) fofal_apply_push(ctx, ev, "inventory");
  return rc;
}

int fofal__inventory_stock_below_minimum(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char q[40], min[40];
  const char *p[] = {ev->tenant, ev->id, fofal_ev_str(d, "location"), fofal_ev_str(d, "item"), fofal_ev_num(d, "on_hand", q),
                     fofal_ev_num(d, "minimum", min), at_or(d, "occurred_at", m.at), m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.alerts (tenant, event_id, location, item, on_hand, minimum, occurred_at, "
                           "recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                           8, p);
  if (!rc) fofal_apply_push(ctx, ev, "inventory");
  return rc;
}
