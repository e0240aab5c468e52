/*
 * weaving.c — the weaving floor half of the "production" projection (production.c hands
 * us every event type it does not name): looms, warp beams, first-piece
 * checks and each loom's machine history, into the tables of
 * schemas/production/011_weaving.sql, and these Redis hot views:
 *
 *   <prefix><tenant>:loomstate:<loom>        hash: weave, hall, article, first_piece, ground_beam, pile_beam
 *   <prefix><tenant>:beam:<beam>             hash: kind, status, loom, position, length_m, meters_left
 *   fofal:push                               one entry per applied event (mechanics' phones)
 *
 * Determinism. Every value comes from the event (times from its envelope or its data),
 * never from the clock. Rows that read other aggregates' rows (a beam's run-out forecast
 * needs its loom's speed and the density of its set-up article, which loom_set_up carries) are consistent between a live run and a
 * rebuild because all events of a tenant are in one partition, applied in log order by
 * both; the forecast is recomputed by every event that changes one of its inputs.
 *
 * Run-out forecast (GLOSSARY.md): production m/h = nominal ppm × 60 × efficiency ÷
 * (picks/cm × 100); warp use per hour = production m/h × (1 + take-up); hours to run out =
 * meters left ÷ warp use per hour, counted from the last consumption (or the mount). The
 * API computes what it answers from the loom's MEASURED efficiency (telemetry, at read
 * time: api/weaving_api.c); the columns kept here at looms.efficiency (a 0.85 default
 * nothing measures) are no longer read, and are to be dropped with a migration.
 *
 * Redis commands depend on the event alone: when PostgreSQL already has an event and
 * Redis does not, the same commands are queued (see fofal_apply_ctx_t).
 */
#include "weaving.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void view_key(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, const char *kind, const char *id, char *key,
                     size_t keylen) {
  snprintf(key, keylen, "%s%s:%s:%s", ctx->redis_prefix, ev->tenant, kind, id);
}

/* HSET <kind>:<id> with n field/value pairs (a NULL value is written as ""). */
static void hset(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, const char *kind, const char *id, int npairs,
                 const char *const *pairs) {
  char key[320];
  const char *argv[2 + 2 * 8];
  view_key(ctx, ev, kind, id, key, sizeof key);
  argv[0] = "HSET";
  argv[1] = key;
  for (int i = 0; i < 2 * npairs && i < 16; i++) argv[2 + i] = pairs[i] ? pairs[i] : "";
  fofal_apply_redis(ctx, 2 + 2 * npairs, argv);
}

/* One row of the loom's machine history: the event's data as it was written. */
static int history(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, const char *loom, const char *kind, const char *ref) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  char *detail = fofal_json_dumps(ev->data, JSON_COMPACT | JSON_SORT_KEYS);
  const char *params[] = {ev->tenant, ev->id, loom, m.at, kind, ref, detail};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.loom_history (tenant, event_id, loom, at, kind, ref, detail) "
                           "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
                           7, params);
  free(detail);
  return rc;
}

/* Recomputes the run-out forecast of the mounted beams selected by beam or loom (NULL: not
 * that criterion), at the density the loom was set up with (looms.picks_per_cm, from
 * loom_set_up: the article itself is the catalog module's, on another topic). */
static int forecast(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, const char *beam, const char *loom) {
  const char *params[] = {ev->tenant, beam, loom};
  return fofal_apply_sql(
      ctx,
      "UPDATE %s.beams b SET warp_m_per_h = f.w, "
      "hours_to_runout = CASE WHEN f.w > 0 THEN round(b.meters_left / f.w, 3) END, "
      "runout_at = CASE WHEN f.w > 0 THEN b.runout_from + interval '1 second' * round(b.meters_left / f.w * 3600)::float8 END "
      "FROM (SELECT bb.tenant, bb.beam, (SELECT round(l.nominal_ppm * 60 * l.efficiency / (l.picks_per_cm * 100) * "
      "(1 + bb.take_up_pct / 100), 4) FROM %s.looms l "
      "WHERE l.tenant = bb.tenant AND l.loom = bb.loom AND l.picks_per_cm > 0 AND l.nominal_ppm > 0) AS w "
      "FROM %s.beams bb WHERE bb.tenant = $1 AND bb.status = 'mounted' AND ($2::text IS NULL OR bb.beam = $2) "
      "AND ($3::text IS NULL OR bb.loom = $3)) f "
      "WHERE b.tenant = f.tenant AND b.beam = f.beam",
      3, params);
}

/* ----------------------------------------------------------------- looms */

static int loom_registered(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char b1[40], b2[40];
  const char *params[] = {ev->tenant, fofal_ev_str(d, "loom"), fofal_ev_str(d, "hall"), fofal_ev_str(d, "type"), fofal_ev_num(d, "width_cm", b1),
                          fofal_ev_num(d, "nominal_ppm", b2), fofal_ev_str(d, "weave") ? fofal_ev_str(d, "weave") : "flat", m.seq, m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.looms (tenant, loom, hall, type, width_cm, nominal_ppm, weave, version, "
                           "registered_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
                           9, params);
  if (rc) return rc;
  const char *f[] = {"weave", params[6], "hall", fofal_ev_str(d, "hall"), "first_piece", "not_required"};
  hset(ctx, ev, "loomstate", fofal_ev_str(d, "loom"), 3, f);
  fofal__production_push(ctx, ev);
  return 0;
}

static int loom_set_up(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const char *loom = fofal_ev_str(ev->data, "loom"), *article = fofal_ev_str(ev->data, "article");
  char b1[40];
  const char *params[] = {ev->tenant, loom, article, m.seq, m.at, fofal_ev_num(ev->data, "picks_per_cm", b1)};
  int rc = fofal_apply_sql(ctx,
                           "UPDATE %s.looms SET article = $3, set_up_at = $5, first_piece = 'due', first_piece_at = NULL, "
                           "picks_per_cm = $6::numeric, version = $4, updated_at = $5 WHERE tenant = $1 AND loom = $2",
                           6, params);
  if (!rc) rc = history(ctx, ev, loom, "set_up", article);
  if (!rc) rc = forecast(ctx, ev, NULL, loom);
  if (rc) return rc;
  const char *f[] = {"article", article, "first_piece", "due"};
  hset(ctx, ev, "loomstate", loom, 2, f);
  fofal__production_push(ctx, ev);
  return 0;
}

static int loom_beam_mounted(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const char *loom = fofal_ev_str(ev->data, "loom"), *beam = fofal_ev_str(ev->data, "beam");
  int pile = fofal_ev_str(ev->data, "position") && !strcmp(fofal_ev_str(ev->data, "position"), "pile");
  const char *params[] = {ev->tenant, loom, beam, m.seq, m.at};
  int rc = fofal_apply_sql(ctx,
                           pile ? "UPDATE %s.looms SET pile_beam = $3, first_piece = 'due', first_piece_at = NULL, "
                                  "version = $4, updated_at = $5 WHERE tenant = $1 AND loom = $2"
                                : "UPDATE %s.looms SET ground_beam = $3, first_piece = 'due', first_piece_at = NULL, "
                                  "version = $4, updated_at = $5 WHERE tenant = $1 AND loom = $2",
                           5, params);
  if (!rc) rc = history(ctx, ev, loom, "beam_mounted", beam);
  if (rc) return rc;
  const char *f[] = {pile ? "pile_beam" : "ground_beam", beam, "first_piece", "due"};
  hset(ctx, ev, "loomstate", loom, 2, f);
  fofal__production_push(ctx, ev);
  return 0;
}

static int loom_beam_doffed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const char *loom = fofal_ev_str(ev->data, "loom"), *beam = fofal_ev_str(ev->data, "beam");
  int pile = fofal_ev_str(ev->data, "position") && !strcmp(fofal_ev_str(ev->data, "position"), "pile");
  const char *params[] = {ev->tenant, loom, m.seq, m.at};
  int rc = fofal_apply_sql(ctx,
                           pile ? "UPDATE %s.looms SET pile_beam = NULL, version = $3, updated_at = $4 "
                                  "WHERE tenant = $1 AND loom = $2"
                                : "UPDATE %s.looms SET ground_beam = NULL, version = $3, updated_at = $4 "
                                  "WHERE tenant = $1 AND loom = $2",
                           4, params);
  if (!rc) rc = history(ctx, ev, loom, "beam_doffed", beam);
  if (rc) return rc;
  char key[320];
  view_key(ctx, ev, "loomstate", loom, key, sizeof key);
  const char *argv[] = {"HDEL", key, pile ? "pile_beam" : "ground_beam"};
  fofal_apply_redis(ctx, 3, argv);
  fofal__production_push(ctx, ev);
  return 0;
}

static int loom_order_started(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const char *loom = fofal_ev_str(ev->data, "loom"), *order = fofal_ev_str(ev->data, "order_id");
  const char *params[] = {ev->tenant, loom, order, m.seq, m.at};
  int rc = fofal_apply_sql(ctx,
                           "UPDATE %s.looms SET current_order = $3::uuid, order_since = $5, version = $4, updated_at = $5 "
                           "WHERE tenant = $1 AND loom = $2",
                           5, params);
  if (!rc) rc = history(ctx, ev, loom, "order_started", order);
  if (rc) return rc;
  fofal__production_push(ctx, ev);
  return 0;
}

static int first_piece_checked(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  const char *loom = fofal_ev_str(d, "loom"), *result = fofal_ev_str(d, "result");
  const char *status = result && !strcmp(result, "pass") ? "passed" : "failed";
  const char *p1[] = {ev->tenant, loom, status, m.seq, m.at};
  int rc = fofal_apply_sql(ctx,
                           "UPDATE %s.looms SET first_piece = $3, first_piece_at = $5, version = $4, updated_at = $5 "
                           "WHERE tenant = $1 AND loom = $2",
                           5, p1);
  if (rc) return rc;
  const char *p2[] = {ev->tenant, ev->id, loom, result, fofal_ev_str(d, "article"), fofal_ev_str(d, "inspector"), fofal_ev_str(d, "checked_by"),
                      fofal_ev_str(d, "notes"), m.at};
  rc = fofal_apply_sql(ctx,
                       "INSERT INTO %s.first_piece_checks (tenant, event_id, loom, result, article, inspector, checked_by, "
                       "notes, checked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                       9, p2);
  if (!rc) rc = history(ctx, ev, loom, "first_piece_checked", result);
  if (rc) return rc;
  const char *f[] = {"first_piece", status};
  hset(ctx, ev, "loomstate", loom, 1, f);
  fofal__production_push(ctx, ev);
  return 0;
}

/* ----------------------------------------------------------------- beams */

static int beam_warped(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char b1[40], b2[40], b3[40];
  char *lots = fofal_ev_jtext(d, "yarn_lots");
  const char *length = fofal_ev_num(d, "length_m", b2) ? b2 : "0";
  const char *params[] = {ev->tenant, fofal_ev_str(d, "beam"), fofal_ev_str(d, "kind") ? fofal_ev_str(d, "kind") : "ground", fofal_ev_str(d, "article"), lots,
                          fofal_ev_num(d, "ends", b1), length, fofal_ev_num(d, "take_up_pct", b3) ? b3 : "0", m.seq, m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.beams (tenant, beam, kind, article, yarn_lots, ends, length_m, take_up_pct, "
                           "status, meters_left, version, warped_at, updated_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6, "
                           "$7, $8, 'warped', $7, $9, $10, $10)",
                           10, params);
  free(lots);
  if (rc) return rc;
  const char *f[] = {"kind", params[2], "status", "warped", "length_m", length, "meters_left", length};
  hset(ctx, ev, "beam", fofal_ev_str(d, "beam"), 4, f);
  fofal__production_push(ctx, ev);
  return 0;
}

/* sized and drawn in (or knotted): a status, and what the step says. */
static int beam_step(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, const char *status, const char *sql) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const char *extra = !strcmp(status, "sized") ? fofal_ev_str(ev->data, "recipe") : fofal_ev_str(ev->data, "method");
  const char *params[] = {ev->tenant, fofal_ev_str(ev->data, "beam"), status, extra, m.seq, m.at};
  int rc = fofal_apply_sql(ctx, sql, 6, params);
  if (rc) return rc;
  const char *f[] = {"status", status};
  hset(ctx, ev, "beam", fofal_ev_str(ev->data, "beam"), 1, f);
  fofal__production_push(ctx, ev);
  return 0;
}

static int beam_sized(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  return beam_step(ctx, ev, "sized",
                   "UPDATE %s.beams SET status = $3, recipe = $4, version = $5, updated_at = $6 "
                   "WHERE tenant = $1 AND beam = $2");
}

static int beam_drawn_in(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  return beam_step(ctx, ev, "ready",
                   "UPDATE %s.beams SET status = $3, method = $4, version = $5, updated_at = $6 "
                   "WHERE tenant = $1 AND beam = $2");
}

static int beam_mounted(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const char *beam = fofal_ev_str(ev->data, "beam"), *loom = fofal_ev_str(ev->data, "loom"), *pos = fofal_ev_str(ev->data, "position");
  const char *params[] = {ev->tenant, beam, loom, pos, m.seq, m.at};
  int rc = fofal_apply_sql(ctx,
                           "UPDATE %s.beams SET status = 'mounted', loom = $3, position = $4, mounted_at = $6, "
                           "doffed_at = NULL, doff_reason = NULL, runout_from = $6, version = $5, updated_at = $6 "
                           "WHERE tenant = $1 AND beam = $2",
                           6, params);
  if (!rc) rc = forecast(ctx, ev, beam, NULL);
  if (rc) return rc;
  const char *f[] = {"status", "mounted", "loom", loom, "position", pos};
  hset(ctx, ev, "beam", beam, 3, f);
  fofal__production_push(ctx, ev);
  return 0;
}

static int beam_consumed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  char b1[40], b2[40];
  const char *beam = fofal_ev_str(ev->data, "beam");
  const char *left = fofal_ev_num(ev->data, "meters_left", b2);
  const char *params[] = {ev->tenant, beam, fofal_ev_num(ev->data, "meters", b1), left, m.seq, m.at};
  /* The warp use per hour is the one the mount or set-up computed (forecast()); only the
   * meters left and the moment they count from change here: one statement per beam. */
  int rc = fofal_apply_sql(ctx,
                           "UPDATE %s.beams SET meters_left = $4, consumed_m = consumed_m + $3, runout_from = $6, "
                           "hours_to_runout = CASE WHEN warp_m_per_h > 0 THEN round($4::numeric / warp_m_per_h, 3) END, "
                           "runout_at = CASE WHEN warp_m_per_h > 0 THEN $6::timestamptz + interval '1 second' * "
                           "round($4::numeric / warp_m_per_h * 3600)::float8 END, version = $5, updated_at = $6 "
                           "WHERE tenant = $1 AND beam = $2",
                           6, params);
  if (rc) return rc;
  const char *f[] = {"meters_left", left};
  hset(ctx, ev, "beam", beam, 1, f);
  fofal__production_push(ctx, ev);
  return 0;
}

static int beam_doffed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  char b1[40];
  const char *beam = fofal_ev_str(ev->data, "beam"), *status = fofal_ev_str(ev->data, "status");
  const char *left = fofal_ev_num(ev->data, "meters_left", b1);
  const char *params[] = {ev->tenant, beam, status, left, fofal_ev_str(ev->data, "reason"), m.seq, m.at};
  int rc = fofal_apply_sql(ctx,
                           "UPDATE %s.beams SET status = $3, meters_left = coalesce($4::numeric, meters_left), loom = NULL, "
                           "position = NULL, doffed_at = $7, doff_reason = $5, warp_m_per_h = NULL, hours_to_runout = NULL, "
                           "runout_from = NULL, runout_at = NULL, version = $6, updated_at = $7 "
                           "WHERE tenant = $1 AND beam = $2",
                           7, params);
  if (rc) return rc;
  const char *f[] = {"status", status, "loom", "", "position", "", "meters_left", left};
  hset(ctx, ev, "beam", beam, left ? 4 : 3, f);
  fofal__production_push(ctx, ev);
  return 0;
}

/* Every event type of schemas/production/events that production.c does not name. */
const fofal_apply_t fofal__weaving_applies[] = {
    {"fofal.production.loom_registered.v1", loom_registered},
    {"fofal.production.loom_set_up.v1", loom_set_up},
    {"fofal.production.loom_beam_mounted.v1", loom_beam_mounted},
    {"fofal.production.loom_beam_doffed.v1", loom_beam_doffed},
    {"fofal.production.loom_order_started.v1", loom_order_started},
    {"fofal.production.first_piece_checked.v1", first_piece_checked},
    {"fofal.production.beam_warped.v1", beam_warped},
    {"fofal.production.beam_sized.v1", beam_sized},
    {"fofal.production.beam_drawn_in.v1", beam_drawn_in},
    {"fofal.production.beam_mounted.v1", beam_mounted},
    {"fofal.production.beam_consumed.v1", beam_consumed},
    {"fofal.production.beam_doffed.v1", beam_doffed},
};
const int fofal__weaving_napplies = sizeof fofal__weaving_applies / sizeof fofal__weaving_applies[0];
