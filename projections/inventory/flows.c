/*
 * flows.c — private to projections/inventory/: the read model of what inventory does by
 * reaction (commands/inventory/flows.c). The ledger of these moves is stock_changed
 * (stores.c), as for every move; here are the units' own rows: a cut roll holds nothing
 * more (location "cut"), a derived unit (a piece lot from its roll, pieces split off a
 * returned lot) is a unit of its own that keeps where it came from (from_label) and, for
 * a piece lot, its grade; a unit reduced (lost pieces, or split off) holds what is left.
 * The settings, a receipt's stocking and a dispatch's moves are their own aggregates'
 * events: their rows are the lots' and units' (and the audit trail keeps them).
 */
#include "flows.h"
#include "inventory.h"

#include <stdio.h>
#include <stdlib.h>

static const char *at_or(const json_t *d, const char *k, const char *envelope_at) {
  const char *s = fofal_ev_str(d, k);
  return s ? s : envelope_at;
}

int fofal__inventory_pushed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_apply_push(ctx, ev, "inventory");
  return 0;
}

int fofal__inventory_unit_cut(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const char *p[] = {ev->tenant, fofal_ev_str(ev->data, "label_id"), m.seq};
  int rc = fofal_apply_sql(ctx,
                           "UPDATE %s.units SET quantity = 0, location = 'cut', version = $3 WHERE tenant = $1 AND "
                           "label_id = $2::uuid",
                           3, p);
  if (!rc) fofal_apply_push(ctx, ev, "inventory");
  return rc;
}

int fofal__inventory_unit_derived(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char q[40];
  char *beams = fofal_ev_jtext(d, "beams");
  const char *id = fofal_ev_str(d, "label_id");
  const char *p[] = {ev->tenant, id, fofal_ev_str(d, "order_id"), fofal_ev_str(d, "article"), fofal_ev_str(d, "loom"),
                     fofal_ev_str(d, "weaver"), fofal_ev_str(d, "shift"), fofal_ev_num(d, "quantity", q),
                     at_or(d, "woven_at", m.at), fofal_ev_str(d, "location"), m.seq, at_or(d, "occurred_at", m.at), beams,
                     fofal_ev_str(d, "from_label"), fofal_ev_str(d, "grade")};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.units (tenant, label_id, order_id, article, loom, weaver, shift, quantity, "
                           "woven_at, location, prints, version, received_at, last_printed_at, beams, from_label, grade) "
                           "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12, $12, $13::jsonb, $14, $15)",
                           15, p);
  free(beams);
  if (rc) return rc;
  const char *p2[] = {ev->tenant, id, ev->actor, at_or(d, "occurred_at", m.at)};
  rc = fofal_apply_sql(ctx,
                       "INSERT INTO %s.label_prints (tenant, label_id, print_no, reason, actor, printed_at) "
                       "VALUES ($1, $2, 1, 'issued', $3, $4)",
                       4, p2);
  if (!rc) fofal_apply_push(ctx, ev, "inventory");
  return rc;
}

int fofal__inventory_unit_reduced(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  char q[40];
  const char *p[] = {ev->tenant, fofal_ev_str(ev->data, "label_id"), fofal_ev_num(ev->data, "remaining", q), m.seq};
  int rc = fofal_apply_sql(ctx,
                           "UPDATE %s.units SET quantity = $3, version = $4 WHERE tenant = $1 AND label_id = $2::uuid", 4,
                           p);
  if (!rc) fofal_apply_push(ctx, ev, "inventory");
  return rc;
}
