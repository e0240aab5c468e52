/*
 * maintenance.c — the maintenance module's projection: intervention requests into
 * PostgreSQL (schema maintenance, schemas/maintenance/070_maintenance.sql) and these
 * Redis hot views, and a WebSocket push per applied event:
 *
 *   <prefix><tenant>:intervention:<id>       hash: status, loom, cause, mechanic
 *   <prefix><tenant>:interventions:open      sorted set: open requests by request time (ms)
 *
 * maintenance.interventions has a row per request; maintenance.intervention_history a row
 * per step (requested, accepted, started, finished, cancelled) with the event's data, by
 * loom: production's read of a loom's machine history (GET
 * /api/v1/production/looms/{code}/history) joins it to its own rows. This projection reads
 * only its own topic and never another module's rows: the loom a step concerns is in
 * each event's data.
 *
 * Each apply function is a deterministic function of its event (times from its envelope
 * or its data), so a rebuild yields the same rows; Redis commands depend on the event
 * alone (fofal_apply_ctx_t).
 */
#include "projections.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* HSET <kind>:<id> with n field/value pairs (a NULL value is written as ""). */
static void hset(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, const char *kind, const char *id, int npairs,
                 const char *const *pairs) {
  char key[320];
  const char *argv[2 + 2 * 4];
  snprintf(key, sizeof key, "%s%s:%s:%s", ctx->redis_prefix, ev->tenant, kind, id);
  argv[0] = "HSET";
  argv[1] = key;
  for (int i = 0; i < 2 * npairs && i < 8; i++) argv[2 + i] = pairs[i] ? pairs[i] : "";
  fofal_apply_redis(ctx, 2 + 2 * npairs, argv);
}

/* One row of the loom's intervention history: the event's data as it was written. */
static int history(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, const char *loom, const char *kind, const char *ref) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  char *detail = fofal_json_dumps(ev->data, JSON_COMPACT | JSON_SORT_KEYS);
  const char *params[] = {ev->tenant, ev->id, loom, m.at, kind, ref, detail};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.intervention_history (tenant, event_id, loom, at, kind, ref, detail) "
                           "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
                           7, params);
  free(detail);
  return rc;
}

static void open_set(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, const char *op, const char *id, const char *score) {
  char key[320];
  snprintf(key, sizeof key, "%s%s:interventions:open", ctx->redis_prefix, ev->tenant);
  if (score) {
    const char *argv[] = {op, key, score, id};
    fofal_apply_redis(ctx, 4, argv);
  } else {
    const char *argv[] = {op, key, id};
    fofal_apply_redis(ctx, 3, argv);
  }
}

static int intervention_requested(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  const char *id = fofal_ev_str(d, "intervention_id") ? fofal_ev_str(d, "intervention_id") : ev->subject;
  const char *requested = fofal_ev_str(d, "requested_at") ? fofal_ev_str(d, "requested_at") : m.at;
  const char *params[] = {ev->tenant, id, fofal_ev_str(d, "loom"), fofal_ev_str(d, "cause"), fofal_ev_str(d, "note"), fofal_ev_str(d, "source"),
                          fofal_ev_str(d, "requested_by"), requested, m.seq, m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.interventions (tenant, intervention_id, loom, status, cause, note, source, "
                           "requested_by, requested_at, version, updated_at) VALUES ($1, $2, $3, 'requested', $4, $5, $6, "
                           "$7, $8, $9, $10)",
                           10, params);
  if (!rc) rc = history(ctx, ev, fofal_ev_str(d, "loom"), "intervention_requested", id);
  if (rc) return rc;
  int64_t us = ev->time_us;
  if (fofal_ev_str(d, "requested_at")) fofal_time_parse(fofal_ev_str(d, "requested_at"), &us);
  char score[24];
  snprintf(score, sizeof score, "%lld", (long long)(us / 1000));
  open_set(ctx, ev, "ZADD", id, score);
  const char *f[] = {"status", "requested", "loom", fofal_ev_str(d, "loom"), "cause", fofal_ev_str(d, "cause"), "requested_at", requested};
  hset(ctx, ev, "intervention", id, 4, f);
  fofal_apply_push(ctx, ev, "maintenance");
  return 0;
}

/* accepted, started, finished, cancelled: the row (sql with the step's parameters, which
 * start with tenant, id, version, time), the machine history, the views, the push. */
static int intervention_step(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, const char *status, const char *sql,
                             int nparams, const char *const *params) {
  const json_t *d = ev->data;
  const char *id = params[1];
  int rc = fofal_apply_sql(ctx, sql, nparams, params);
  if (!rc) {
    char kind[48];
    snprintf(kind, sizeof kind, "intervention_%s", status);
    rc = history(ctx, ev, fofal_ev_str(d, "loom"), kind, id);
  }
  if (rc) return rc;
  if (!strcmp(status, "finished") || !strcmp(status, "cancelled")) open_set(ctx, ev, "ZREM", id, NULL);
  const char *f[] = {"status", status, "mechanic", fofal_ev_str(d, "mechanic")};
  hset(ctx, ev, "intervention", id, fofal_ev_str(d, "mechanic") ? 2 : 1, f);
  fofal_apply_push(ctx, ev, "maintenance");
  return 0;
}

static const char *intervention_id(const fofal_event_t *ev) {
  return fofal_ev_str(ev->data, "intervention_id") ? fofal_ev_str(ev->data, "intervention_id") : ev->subject;
}

static int intervention_accepted(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const char *params[] = {ev->tenant, intervention_id(ev), m.seq, m.at, fofal_ev_str(ev->data, "mechanic")};
  return intervention_step(ctx, ev, "accepted",
                           "UPDATE %s.interventions SET status = 'accepted', mechanic = $5, accepted_at = $4, version = $3, "
                           "updated_at = $4 WHERE tenant = $1 AND intervention_id = $2",
                           5, params);
}

static int intervention_started(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const char *params[] = {ev->tenant, intervention_id(ev), m.seq, m.at, fofal_ev_str(ev->data, "mechanic")};
  return intervention_step(ctx, ev, "started",
                           "UPDATE %s.interventions SET status = 'started', mechanic = coalesce($5, mechanic), started_at = "
                           "$4, version = $3, updated_at = $4 WHERE tenant = $1 AND intervention_id = $2",
                           5, params);
}

static int intervention_finished(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  char b1[40];
  char *parts = fofal_ev_jtext(ev->data, "parts");
  const char *params[] = {ev->tenant, intervention_id(ev), m.seq, m.at, fofal_ev_str(ev->data, "mechanic"), fofal_ev_str(ev->data, "cause"),
                          parts, fofal_ev_num(ev->data, "duration_min", b1), fofal_ev_str(ev->data, "notes")};
  int rc = intervention_step(ctx, ev, "finished",
                             "UPDATE %s.interventions SET status = 'finished', mechanic = coalesce($5, mechanic), "
                             "finished_at = $4, finish_cause = $6, parts = $7::jsonb, duration_min = $8::int, notes = $9, "
                             "version = $3, updated_at = $4 WHERE tenant = $1 AND intervention_id = $2",
                             9, params);
  free(parts);
  return rc;
}

static int intervention_cancelled(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const char *params[] = {ev->tenant, intervention_id(ev), m.seq, m.at, fofal_ev_str(ev->data, "reason")};
  return intervention_step(ctx, ev, "cancelled",
                           "UPDATE %s.interventions SET status = 'cancelled', cancelled_at = $4, cancel_reason = $5, "
                           "version = $3, updated_at = $4 WHERE tenant = $1 AND intervention_id = $2",
                           5, params);
}

static const fofal_apply_t applies[] = {
    {"fofal.maintenance.intervention_requested.v1", intervention_requested},
    {"fofal.maintenance.intervention_accepted.v1", intervention_accepted},
    {"fofal.maintenance.intervention_started.v1", intervention_started},
    {"fofal.maintenance.intervention_finished.v1", intervention_finished},
    {"fofal.maintenance.intervention_cancelled.v1", intervention_cancelled},
};

static const char *const tables[] = {"interventions", "intervention_history", NULL};

static const fofal_projection_def_t projection = {
    .name = "maintenance",
    .module = "maintenance",
    .pg_schema = "maintenance",
    .tables = tables,
    .applies = applies,
    .napplies = sizeof applies / sizeof applies[0],
};

/* The module's registration (projections.h, "modules"). Not in the audit trail yet, as
 * catalog: the audit projections of all modules share audit.events, and `fofal
 * verify|rebuild audit.<m>` compare and swap that whole table, so a second audited module
 * breaks them (rebuild.c); until they keep to their module's rows, only production is
 * audited. */
static const fofal_projection_def_t *const projections[] = {&projection, NULL};
const fofal_projection_module_t fofal_module_maintenance_projections = {
    .name = "maintenance",
    .projections = projections,
    .audit = 0,
};
