/*
 * quality.c — the quality module's projection: cuts, thresholds, inspections, lots and
 * non-conformities into PostgreSQL (schema quality, schemas/quality/080_quality.sql), and
 * a WebSocket push per applied event.
 *
 * quality.lots has a row per lot that was inspected (status pending until decided) or
 * decided (approved, approved_with_derogation, rejected: location quarantine): the first
 * of either inserts it, the others update it. Its version is that of the lot's own events
 * (approve, reject); an inspection's event belongs to the inspection's aggregate and only
 * refreshes the lot's last grade.
 *
 * This projection reads only its own topic and never another module's rows: a cut's loom,
 * weaver, order and article (its genealogy) are in its event. Each apply function is a
 * deterministic function of its event (times from its data or envelope), so a rebuild
 * yields the same rows and `fofal verify quality` compares them.
 */
#include "projections.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int roll_cut(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char b1[40], b2[40], b3[40], b4[40], b5[40];
  char *defects = fofal_ev_jtext(d, "defects"), *lots = fofal_ev_jtext(d, "lots");
  const char *params[] = {ev->tenant, fofal_ev_str(d, "roll"), fofal_ev_str(d, "order_id"), fofal_ev_str(d, "article"),
                          fofal_ev_str(d, "loom"), fofal_ev_str(d, "weaver"), fofal_ev_str(d, "shift"),
                          fofal_ev_str(d, "cutter"), fofal_ev_num(d, "first_choice", b1),
                          fofal_ev_num(d, "second_choice", b2), fofal_ev_num(d, "waste_pieces", b3),
                          fofal_ev_num(d, "waste_mm", b4), fofal_ev_num(d, "waste_g", b5), defects, lots ? lots : "[]",
                          fofal_ev_str(d, "note"), fofal_ev_str(d, "cut_at") ? fofal_ev_str(d, "cut_at") : m.at, m.seq};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.cuts (tenant, roll, order_id, article, loom, weaver, shift, cutter, "
                           "first_choice, second_choice, waste_pieces, waste_mm, waste_g, defects, lots, note, cut_at, "
                           "version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::int, $10::int, $11::int, $12::bigint, "
                           "$13::bigint, $14::jsonb, $15::jsonb, $16, $17, $18)",
                           18, params);
  free(defects);
  free(lots);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "quality");
  return 0;
}

static int threshold_set(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  char b1[40];
  const char *params[] = {ev->tenant, fofal_ev_str(ev->data, "article"),
                          fofal_ev_num(ev->data, "max_points_per_100m2", b1), m.seq, m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.thresholds (tenant, article, max_points_per_100m2, version, updated_at) VALUES "
                           "($1, $2, $3::int, $4, $5) ON CONFLICT (tenant, article) DO UPDATE SET max_points_per_100m2 = "
                           "excluded.max_points_per_100m2, version = excluded.version, updated_at = excluded.updated_at",
                           5, params);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "quality");
  return 0;
}

static int inspection_recorded(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char b1[40], b2[40], b3[40], b4[40], b5[40];
  char *defects = fofal_ev_jtext(d, "defects");
  const char *at = fofal_ev_str(d, "inspected_at") ? fofal_ev_str(d, "inspected_at") : m.at;
  const char *params[] = {ev->tenant, fofal_ev_str(d, "inspection_id") ? fofal_ev_str(d, "inspection_id") : ev->subject,
                          fofal_ev_str(d, "lot"), fofal_ev_str(d, "lot_kind"), fofal_ev_str(d, "article"),
                          fofal_ev_str(d, "inspector"), fofal_ev_num(d, "length_mm", b1), fofal_ev_num(d, "width_mm", b2),
                          defects, fofal_ev_num(d, "points", b3), fofal_ev_num(d, "score_x100", b4),
                          fofal_ev_num(d, "max_points_per_100m2", b5), fofal_ev_str(d, "grade"), fofal_ev_str(d, "note"), at,
                          m.seq};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.inspections (tenant, inspection_id, lot, lot_kind, article, inspector, "
                           "length_mm, width_mm, defects, points, score_per_100m2, max_points_per_100m2, grade, note, "
                           "inspected_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7::bigint, $8::bigint, $9::jsonb, "
                           "$10::int, round($11::numeric / 100, 2), $12::int, $13, $14, $15, $16)",
                           16, params);
  /* The lot: pending until decided; its last grade either way. */
  const char *lot[] = {ev->tenant, params[1], params[2], params[3], params[12], at};
  if (!rc)
    rc = fofal_apply_sql(ctx,
                         "INSERT INTO %s.lots (tenant, lot, lot_kind, status, grade, inspection_id, created_at, version, "
                         "updated_at) VALUES ($1, $3, $4, 'pending', $5, $2, $6, 0, $6) ON CONFLICT (tenant, lot) DO "
                         "UPDATE SET grade = excluded.grade, inspection_id = excluded.inspection_id, updated_at = "
                         "excluded.updated_at",
                         6, lot);
  free(defects);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "quality");
  return 0;
}

/* approved / approved_with_derogation / rejected: the lot's row, made by its first
 * decision when no inspection made it. */
static int lot_decided(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, const char *status, const char *location) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char *signed_by = fofal_ev_jtext(d, "signed_by");
  const char *at = fofal_ev_str(d, "decided_at") ? fofal_ev_str(d, "decided_at") : m.at;
  const char *params[] = {ev->tenant, fofal_ev_str(d, "lot"), fofal_ev_str(d, "lot_kind"), status,
                          fofal_ev_str(d, "derogation"), fofal_ev_str(d, "reason"), location, signed_by, at, m.seq};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.lots (tenant, lot, lot_kind, status, derogation, reason, location, signed_by, "
                           "decided_at, created_at, version, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, "
                           "$9, $9, $10, $9) ON CONFLICT (tenant, lot) DO UPDATE SET status = excluded.status, derogation "
                           "= excluded.derogation, reason = excluded.reason, location = excluded.location, signed_by = "
                           "excluded.signed_by, decided_at = excluded.decided_at, version = excluded.version, updated_at "
                           "= excluded.updated_at",
                           10, params);
  free(signed_by);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "quality");
  return 0;
}

static int lot_approved(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  const char *status = fofal_ev_str(ev->data, "status");
  return lot_decided(ctx, ev, status ? status : "approved", NULL);
}

static int lot_rejected(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  const char *loc = fofal_ev_str(ev->data, "location");
  return lot_decided(ctx, ev, "rejected", loc ? loc : "quarantine");
}

static const char *nc_id(const fofal_event_t *ev) {
  return fofal_ev_str(ev->data, "nc_id") ? fofal_ev_str(ev->data, "nc_id") : ev->subject;
}

static int nc_opened(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char *lots = fofal_ev_jtext(d, "lots"), *looms = fofal_ev_jtext(d, "looms"), *orders = fofal_ev_jtext(d, "orders"),
       *people = fofal_ev_jtext(d, "people");
  const char *at = fofal_ev_str(d, "opened_at") ? fofal_ev_str(d, "opened_at") : m.at;
  const char *params[] = {ev->tenant, nc_id(ev), fofal_ev_str(d, "title"), fofal_ev_str(d, "description"),
                          fofal_ev_str(d, "source"), fofal_ev_str(d, "inspection_id"), lots, looms, orders, people,
                          fofal_ev_str(d, "opened_by") ? fofal_ev_str(d, "opened_by") : "", at, m.seq};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.ncs (tenant, nc_id, title, description, source, inspection_id, lots, looms, "
                           "orders, people, status, opened_by, opened_at, version, updated_at) VALUES ($1, $2, $3, $4, $5, "
                           "$6, $7::jsonb, $8::jsonb, $9::jsonb, $10::jsonb, 'open', $11, $12, $13, $12)",
                           13, params);
  free(lots);
  free(looms);
  free(orders);
  free(people);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "quality");
  return 0;
}

static int nc_analysed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  const char *at = fofal_ev_str(d, "analysed_at") ? fofal_ev_str(d, "analysed_at") : m.at;
  const char *params[] = {ev->tenant, nc_id(ev), fofal_ev_str(d, "cause"), fofal_ev_str(d, "category"), at, m.seq};
  int rc = fofal_apply_sql(ctx,
                           "UPDATE %s.ncs SET status = 'analysed', cause = $3, category = $4, analysed_at = $5, version = "
                           "$6, updated_at = $5 WHERE tenant = $1 AND nc_id = $2",
                           6, params);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "quality");
  return 0;
}

static int nc_action_added(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char b1[40];
  const char *params[] = {ev->tenant, nc_id(ev), fofal_ev_num(d, "action_no", b1), fofal_ev_str(d, "kind"),
                          fofal_ev_str(d, "description"), fofal_ev_str(d, "owner"), fofal_ev_str(d, "due"), m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.nc_actions (tenant, nc_id, action_no, kind, description, owner, due, added_at) "
                           "VALUES ($1, $2, $3::int, $4, $5, $6, $7::date, $8)",
                           8, params);
  const char *nc[] = {ev->tenant, params[1], m.seq, m.at};
  if (!rc)
    rc = fofal_apply_sql(ctx, "UPDATE %s.ncs SET version = $3, updated_at = $4 WHERE tenant = $1 AND nc_id = $2", 4, nc);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "quality");
  return 0;
}

static int nc_closed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  const char *at = fofal_ev_str(d, "closed_at") ? fofal_ev_str(d, "closed_at") : m.at;
  const char *params[] = {ev->tenant, nc_id(ev), fofal_ev_str(d, "verification"), at, m.seq};
  int rc = fofal_apply_sql(ctx,
                           "UPDATE %s.ncs SET status = 'closed', verification = $3, closed_at = $4, version = $5, "
                           "updated_at = $4 WHERE tenant = $1 AND nc_id = $2",
                           5, params);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "quality");
  return 0;
}

static const fofal_apply_t applies[] = {
    {"fofal.quality.roll_cut.v1", roll_cut},
    {"fofal.quality.threshold_set.v1", threshold_set},
    {"fofal.quality.inspection_recorded.v1", inspection_recorded},
    {"fofal.quality.lot_approved.v1", lot_approved},
    {"fofal.quality.lot_rejected.v1", lot_rejected},
    {"fofal.quality.nc_opened.v1", nc_opened},
    {"fofal.quality.nc_analysed.v1", nc_analysed},
    {"fofal.quality.nc_action_added.v1", nc_action_added},
    {"fofal.quality.nc_closed.v1", nc_closed},
};

static const char *const tables[] = {"cuts", "thresholds", "inspections", "lots", "ncs", "nc_actions", NULL};

static const fofal_projection_def_t projection = {
    .name = "quality",
    .module = "quality",
    .pg_schema = "quality",
    .tables = tables,
    .applies = applies,
    .napplies = sizeof applies / sizeof applies[0],
};

/* The module's registration (projections.h, "modules"); audited (audit.quality), as every
 * module is by default. */
static const fofal_projection_def_t *const projections[] = {&projection, NULL};
const fofal_projection_module_t fofal_module_quality_projections = {
    .name = "quality",
    .projections = projections,
};
