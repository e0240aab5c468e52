/*
 * machines.c — the machines module's projection: fofal.machines.events (written by
 * fofal-machines) into PostgreSQL (schema machines, schemas/machines/050_machines.sql) and
 * the live loom board in Redis:
 *
 *   <prefix><tenant>:loom:<loom>     hash: state, since, cause, breakdown, ppm, last_seen
 *   <prefix><tenant>:looms           set of the tenant's looms
 *   <prefix><tenant>:hall:<hall>     hash: temperature, humidity, at
 *   fofal:push                       stream: one entry per state change, breakdown, tally
 *                                    and hall reading (module "machines")
 *
 * Per loom and shift, loom_activity tallies are added up (run and stop time by cause,
 * stops by cause, picks, theoretical and nominal picks, samples); the ratios are computed
 * when read. The shift is the tenant's (fofal-machines tallies by its shift model), so a
 * row's shift id is the one production's shift assignments and declarations carry.
 * A loom's events share its partition, so they are applied in their order; every value
 * comes from the event, so a rebuild yields the same rows.
 */
#include "projections.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str(const json_t *data, const char *key) { return json_string_value(json_object_get(data, key)); }

static void num(const json_t *v, char out[32]) {
  if (json_is_integer(v)) snprintf(out, 32, "%lld", (long long)json_integer_value(v));
  else snprintf(out, 32, "%.3f", json_number_value(v));
}

static void push(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) { fofal_apply_push(ctx, ev, "machines"); }

static void board(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, int argc, const char **kv) {
  char key[256], set[256];
  snprintf(key, sizeof key, "%s%s:loom:%s", ctx->redis_prefix, ev->tenant, ev->subject);
  snprintf(set, sizeof set, "%s%s:looms", ctx->redis_prefix, ev->tenant);
  const char *argv[16] = {"HSET", key};
  for (int i = 0; i < argc && i < 14; i++) argv[2 + i] = kv[i];
  fofal_apply_redis(ctx, 2 + argc, argv);
  const char *sadd[] = {"SADD", set, ev->subject};
  fofal_apply_redis(ctx, 3, sadd);
}

static int state_change(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, const char *state) {
  char seq[24], at[32], ppm[32];
  snprintf(seq, sizeof seq, "%lld", (long long)ev->seq);
  fofal_time_format(ev->time_us, at);
  const char *cause = !strcmp(state, "stopped") ? str(ev->data, "cause") : NULL;
  json_t *p = json_object_get(ev->data, "ppm");
  num(p, ppm);
  const char *params[] = {ev->tenant, ev->subject, state, cause, str(ev->data, "since"), p ? ppm : NULL, at, seq};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.looms (tenant, loom, state, cause, since, breakdown, ppm, last_seen, version) "
                           "VALUES ($1, $2, $3, $4, $5, false, $6, $7, $8) ON CONFLICT (tenant, loom) DO UPDATE SET "
                           "state = $3, cause = $4, since = $5, breakdown = false, ppm = coalesce($6, %s.looms.ppm), "
                           "last_seen = $7, version = $8",
                           8, params);
  if (rc) return rc;
  if (!strcmp(state, "running")) {
    const char *p2[] = {ev->tenant, ev->subject, str(ev->data, "since")};
    rc = fofal_apply_sql(ctx, "UPDATE %s.breakdowns SET ended_at = $3 WHERE tenant = $1 AND loom = $2 AND ended_at IS NULL", 3, p2);
    if (rc) return rc;
  }
  const char *kv[] = {"state", state, "since", str(ev->data, "since"), "cause", cause ? cause : "", "breakdown", "0",
                      "last_seen", at, "ppm", p ? ppm : "0"};
  board(ctx, ev, 12, kv);
  push(ctx, ev);
  return 0;
}

static int loom_running(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) { return state_change(ctx, ev, "running"); }
static int loom_stopped(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) { return state_change(ctx, ev, "stopped"); }

static int breakdown_declared(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  char at[32], seq[24];
  fofal_time_format(ev->time_us, at);
  snprintf(seq, sizeof seq, "%lld", (long long)ev->seq);
  const char *params[] = {ev->tenant, str(ev->data, "command_id"), ev->subject, str(ev->data, "cause"),
                          str(ev->data, "reason"), str(ev->data, "since"), at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.breakdowns (tenant, command_id, loom, cause, reason, since, declared_at) "
                           "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                           7, params);
  if (rc) return rc;
  const char *p2[] = {ev->tenant, ev->subject, seq, at};
  rc = fofal_apply_sql(ctx, "UPDATE %s.looms SET breakdown = true, version = $3, last_seen = $4 WHERE tenant = $1 AND loom = $2",
                       4, p2);
  if (rc) return rc;
  const char *kv[] = {"breakdown", "1", "last_seen", at};
  board(ctx, ev, 4, kv);
  push(ctx, ev);
  return 0;
}

static int loom_activity(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  static const char *const causes[] = {"warp_break", "weft_break", "mechanical", "electrical", "other"};
  char v[20][32], seq[24], nominal[32];
  const json_t *d = ev->data, *ss = json_object_get(d, "stop_s_by_cause"), *sn = json_object_get(d, "stops_by_cause");
  snprintf(seq, sizeof seq, "%lld", (long long)ev->seq);
  num(json_object_get(d, "run_s"), v[0]);
  num(json_object_get(d, "stop_s"), v[1]);
  for (int i = 0; i < 5; i++) {
    num(json_object_get(ss, causes[i]), v[2 + i]);
    num(json_object_get(sn, causes[i]), v[7 + i]);
  }
  num(json_object_get(d, "picks"), v[12]);
  num(json_object_get(d, "theoretical_picks"), v[13]);
  num(json_object_get(d, "samples"), v[14]);
  num(json_object_get(d, "late"), v[15]);
  num(json_object_get(d, "duplicates"), v[16]);
  num(json_object_get(d, "ppm"), v[17]);
  num(json_object_get(d, "nominal_picks"), nominal); /* 0.000 in tallies older than it */
  const char *params[] = {ev->tenant, ev->subject, str(d, "shift"), v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7],
                          v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15], v[16], str(d, "from"), str(d, "to"),
                          nominal};
  int rc = fofal_apply_sql(
      ctx,
      "INSERT INTO %s.loom_shifts AS s (tenant, loom, shift, run_s, stop_s, stop_s_warp_break, stop_s_weft_break, "
      "stop_s_mechanical, stop_s_electrical, stop_s_other, stops_warp_break, stops_weft_break, stops_mechanical, "
      "stops_electrical, stops_other, picks, theoretical_picks, samples, late, duplicates, first_at, last_at, "
      "nominal_picks) VALUES "
      "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23) "
      "ON CONFLICT (tenant, loom, shift) DO UPDATE SET run_s = s.run_s + $4, stop_s = s.stop_s + $5, "
      "stop_s_warp_break = s.stop_s_warp_break + $6, stop_s_weft_break = s.stop_s_weft_break + $7, "
      "stop_s_mechanical = s.stop_s_mechanical + $8, stop_s_electrical = s.stop_s_electrical + $9, "
      "stop_s_other = s.stop_s_other + $10, stops_warp_break = s.stops_warp_break + $11, "
      "stops_weft_break = s.stops_weft_break + $12, stops_mechanical = s.stops_mechanical + $13, "
      "stops_electrical = s.stops_electrical + $14, stops_other = s.stops_other + $15, picks = s.picks + $16, "
      "theoretical_picks = s.theoretical_picks + $17, nominal_picks = s.nominal_picks + $23, "
      "samples = s.samples + $18, late = s.late + $19, "
      "duplicates = s.duplicates + $20, first_at = least(s.first_at, $21::timestamptz), "
      "last_at = greatest(s.last_at, $22::timestamptz)",
      23, params);
  if (rc) return rc;
  const char *p2[] = {ev->tenant, ev->subject, v[17], str(d, "to"), seq};
  rc = fofal_apply_sql(ctx, "UPDATE %s.looms SET ppm = $3, last_seen = $4, version = $5 WHERE tenant = $1 AND loom = $2", 5, p2);
  if (rc) return rc;
  const char *kv[] = {"ppm", v[17], "last_seen", str(d, "to")};
  board(ctx, ev, 4, kv);
  push(ctx, ev);
  return 0;
}

static int hall_reading(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  char at[32], t[32], h[32];
  fofal_time_format(ev->time_us, at);
  json_t *tj = json_object_get(ev->data, "temperature"), *hj = json_object_get(ev->data, "humidity");
  num(tj, t);
  num(hj, h);
  const char *msg_id = str(ev->data, "msg_id") ? str(ev->data, "msg_id") : "";
  const char *p1[] = {ev->tenant, ev->subject, at, msg_id, tj ? t : NULL, hj ? h : NULL};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.hall_readings (tenant, hall, at, msg_id, temperature, humidity) "
                           "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                           6, p1);
  if (rc) return rc;
  const char *p2[] = {ev->tenant, ev->subject, at, tj ? t : NULL, hj ? h : NULL};
  rc = fofal_apply_sql(ctx,
                       "INSERT INTO %s.halls AS h (tenant, hall, temperature, humidity, at) VALUES ($1, $2, $4, $5, $3) "
                       "ON CONFLICT (tenant, hall) DO UPDATE SET temperature = coalesce($4, h.temperature), "
                       "humidity = coalesce($5, h.humidity), at = $3 WHERE h.at <= $3::timestamptz",
                       5, p2);
  if (rc) return rc;
  char key[256];
  snprintf(key, sizeof key, "%s%s:hall:%s", ctx->redis_prefix, ev->tenant, ev->subject);
  const char *argv[] = {"HSET", key, "at", at, "temperature", tj ? t : "", "humidity", hj ? h : ""};
  fofal_apply_redis(ctx, 8, argv);
  push(ctx, ev);
  return 0;
}

static const fofal_apply_t applies[] = {
    {"fofal.machines.loom_running.v1", loom_running},
    {"fofal.machines.loom_stopped.v1", loom_stopped},
    {"fofal.machines.breakdown_declared.v1", breakdown_declared},
    {"fofal.machines.loom_activity.v1", loom_activity},
    {"fofal.machines.hall_reading.v1", hall_reading},
};

static const char *const tables[] = {"looms", "loom_shifts", "breakdowns", "halls", "hall_readings", NULL};

const fofal_projection_def_t fofal_machines_projection = {
    .name = "machines",
    .module = "machines",
    .pg_schema = "machines",
    .tables = tables,
    .applies = applies,
    .napplies = sizeof applies / sizeof applies[0],
};

/* The module's registration (projections.h, "modules"): the build lists it in the
 * generated fofal_projection_modules[]. Its events are not in the audit trail: derived
 * from telemetry, many per loom and shift, they would double the database's writes for a
 * history that the log itself keeps. */
static const fofal_projection_def_t *const projections[] = {&fofal_machines_projection, NULL};
const fofal_projection_module_t fofal_module_machines_projections = {
    .name = "machines",
    .projections = projections,
    .audit = FOFAL_AUDIT_OFF,
};
