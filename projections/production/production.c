/*
 * production.c — the production module's projection: production orders and their
 * output declarations into PostgreSQL (schema production, see
 * schemas/production/010_orders.sql and 011_weaving.sql) and Redis hot views; the weaving
 * floor's aggregates (looms, beams …) are in weaving.c, whose
 * apply table the last entry of ours hands every other event to:
 *
 *   <prefix><tenant>:loom:<loom>              hash: the order running on the loom ("" when idle)
 *   <prefix><tenant>:shift:<shift>:output     hash: quantity per loom, and _total
 *   <prefix><tenant>:order:<order id>         hash: status, declared, quantity, version
 *   fofal:push                                stream: one entry per applied event (all tenants)
 *
 * Each apply function is a deterministic function of its event; times come from the
 * event, never from the clock, so a rebuild yields the same rows.
 */
#include "projections.h"
#include "weaving.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str(const json_t *data, const char *key) { return json_string_value(json_object_get(data, key)); }

static void fmt_int(const json_t *data, const char *key, char out[24]) {
  snprintf(out, 24, "%lld", (long long)json_integer_value(json_object_get(data, key)));
}

/* The production module's push (fofal_apply_push); weaving.c pushes through it too. */
void fofal__production_push(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) { fofal_apply_push(ctx, ev, "production"); }

static void order_hash(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, const char *field, const char *value) {
  char key[256], seq[24];
  snprintf(key, sizeof key, "%s%s:order:%s", ctx->redis_prefix, ev->tenant, ev->subject);
  snprintf(seq, sizeof seq, "%lld", (long long)ev->seq);
  const char *argv[] = {"HSET", key, field, value, "version", seq};
  fofal_apply_redis(ctx, 6, argv);
}

static int order_created(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  char qty[24], seq[24], at[32];
  fmt_int(ev->data, "quantity", qty);
  snprintf(seq, sizeof seq, "%lld", (long long)ev->seq);
  fofal_time_format(ev->time_us, at);
  const char *params[] = {ev->tenant, ev->subject, str(ev->data, "article"), qty, str(ev->data, "unit"),
                          str(ev->data, "due_date"), str(ev->data, "loom"), seq, at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.orders (tenant, order_id, article, quantity, unit, due_date, loom, status, "
                           "declared, version, created_at, updated_at) "
                           "VALUES ($1, $2, $3, $4, $5, $6, $7, 'created', 0, $8, $9, $9)",
                           9, params);
  if (rc) return rc;
  char key[256];
  snprintf(key, sizeof key, "%s%s:order:%s", ctx->redis_prefix, ev->tenant, ev->subject);
  const char *argv[] = {"HSET", key, "status", "created", "quantity", qty, "declared", "0", "article",
                        str(ev->data, "article"), "version", seq};
  fofal_apply_redis(ctx, 12, argv);
  fofal__production_push(ctx, ev);
  return 0;
}

/* A status change, maybe with a loom: released, started, paused, resumed (started again),
 * completed, closed, cancelled. `stamp` names the column that gets the event's time
 * (NULL: none). An order that ends frees its loom in the looms table (weaving.c) when
 * it is still the loom's current order. */
static int status_change(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, const char *status, const char *stamp) {
  char seq[24], at[32], sql[512];
  snprintf(seq, sizeof seq, "%lld", (long long)ev->seq);
  fofal_time_format(ev->time_us, at);
  const char *loom = str(ev->data, "loom");
  const char *reason = !strcmp(status, "paused") ? str(ev->data, "reason") : NULL;
  snprintf(sql, sizeof sql,
           "UPDATE %%s.orders SET status = $3, loom = coalesce($4, loom), version = $5, updated_at = $6, "
           "pause_reason = $7%s%s%s WHERE tenant = $1 AND order_id = $2",
           stamp ? ", " : "", stamp ? stamp : "", stamp ? " = $6" : "");
  const char *params[] = {ev->tenant, ev->subject, status, loom, seq, at, reason};
  int rc = fofal_apply_sql(ctx, sql, 7, params);
  if (rc) return rc;
  int ends = !strcmp(status, "completed") || !strcmp(status, "cancelled") || !strcmp(status, "closed");
  if (ends) {
    const char *p2[] = {ev->tenant, ev->subject, at};
    rc = fofal_apply_sql(ctx,
                         "UPDATE %s.looms SET current_order = NULL, order_since = NULL, updated_at = $3 "
                         "WHERE tenant = $1 AND current_order = $2::uuid",
                         3, p2);
    if (rc) return rc;
  }
  order_hash(ctx, ev, "status", status);
  if (loom) {
    char key[256];
    snprintf(key, sizeof key, "%s%s:loom:%s", ctx->redis_prefix, ev->tenant, loom);
    /* A tenant's events share one partition, so live runs and rebuilds apply them in the
     * same order; event times still decide, as they did when orders had partitions of
     * their own. */
    if (!strcmp(status, "started")) {
      const char *argv[] = {"HOLDIFNEWER", key, ev->subject, at};
      fofal_apply_redis(ctx, 4, argv);
    } else if (ends) {
      const char *argv[] = {"RELEASEIFEQ", key, ev->subject, at};
      fofal_apply_redis(ctx, 4, argv);
    }
  }
  fofal__production_push(ctx, ev);
  return 0;
}

static int order_released(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) { return status_change(ctx, ev, "released", NULL); }
static int order_started(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  return status_change(ctx, ev, "started", "started_at");
}
static int order_paused(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) { return status_change(ctx, ev, "paused", NULL); }
static int order_resumed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) { return status_change(ctx, ev, "started", NULL); }
static int order_completed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  return status_change(ctx, ev, "completed", "completed_at");
}
static int order_closed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) { return status_change(ctx, ev, "closed", "closed_at"); }
static int order_cancelled(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  return status_change(ctx, ev, "cancelled", NULL);
}

/* Planned on a loom: the status stays (created or released); the loom and the planned start
 * are what the planner sees. */
static int order_planned(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  char seq[24], at[32];
  snprintf(seq, sizeof seq, "%lld", (long long)ev->seq);
  fofal_time_format(ev->time_us, at);
  const char *params[] = {ev->tenant, ev->subject, str(ev->data, "loom"), str(ev->data, "planned_start"), seq, at};
  int rc = fofal_apply_sql(ctx,
                           "UPDATE %s.orders SET loom = $3, planned_start = $4::timestamptz, version = $5, updated_at = $6 "
                           "WHERE tenant = $1 AND order_id = $2",
                           6, params);
  if (rc) return rc;
  order_hash(ctx, ev, "loom", str(ev->data, "loom"));
  fofal__production_push(ctx, ev);
  return 0;
}

static int output_declared(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  char qty[24], total[24], seq[24], at[32], len[40];
  fmt_int(ev->data, "quantity", qty);
  fmt_int(ev->data, "declared_total", total);
  snprintf(seq, sizeof seq, "%lld", (long long)ev->seq);
  fofal_time_format(ev->time_us, at);
  const json_t *lj = json_object_get(ev->data, "length_m");
  if (json_is_number(lj)) snprintf(len, sizeof len, "%.10g", json_number_value(lj));
  const char *length = json_is_number(lj) ? len : NULL;
  const char *shift = str(ev->data, "shift") ? str(ev->data, "shift") : "unassigned";
  const char *loom = str(ev->data, "loom") ? str(ev->data, "loom") : "unknown";
  const char *p1[] = {ev->tenant, str(ev->data, "label_id"), ev->subject, qty, str(ev->data, "weaver"), str(ev->data, "loom"),
                      str(ev->data, "shift"), at, length, str(ev->data, "woven_at"), str(ev->data, "article")};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.declarations (tenant, label_id, order_id, quantity, weaver, loom, shift, "
                           "declared_at, length_m, woven_at, article) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                           "coalesce($10::timestamptz, $8), $11)",
                           11, p1);
  if (rc) return rc;
  const char *p2[] = {ev->tenant, ev->subject, total, seq, at, length};
  rc = fofal_apply_sql(ctx,
                       "UPDATE %s.orders SET declared = $3, length_m = length_m + coalesce($6::numeric, 0), version = $4, "
                       "updated_at = $5 WHERE tenant = $1 AND order_id = $2",
                       6, p2);
  if (rc) return rc;
  order_hash(ctx, ev, "declared", total);
  char key[256];
  snprintf(key, sizeof key, "%s%s:shift:%s:output", ctx->redis_prefix, ev->tenant, shift);
  const char *a1[] = {"HINCRBY", key, loom, qty};
  const char *a2[] = {"HINCRBY", key, "_total", qty};
  fofal_apply_redis(ctx, 4, a1);
  fofal_apply_redis(ctx, 4, a2);
  fofal__production_push(ctx, ev);
  return 0;
}

/* Every event type this projection does not name above: weaving.c's, or none (an unknown
 * type changes nothing here, for forward compatibility). */
static int weaving_event(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  for (int i = 0; i < fofal__weaving_napplies; i++)
    if (!strcmp(fofal__weaving_applies[i].type, ev->type)) return fofal__weaving_applies[i].apply(ctx, ev);
  return 0;
}

static const fofal_apply_t applies[] = {
    {"fofal.production.order_created.v1", order_created},
    {"fofal.production.order_planned.v1", order_planned},
    {"fofal.production.order_released.v1", order_released},
    {"fofal.production.order_started.v1", order_started},
    {"fofal.production.order_paused.v1", order_paused},
    {"fofal.production.order_resumed.v1", order_resumed},
    {"fofal.production.output_declared.v1", output_declared},
    {"fofal.production.order_completed.v1", order_completed},
    {"fofal.production.order_closed.v1", order_closed},
    {"fofal.production.order_cancelled.v1", order_cancelled},
    {"*", weaving_event},
};

static const char *const tables[] = {"orders", "declarations", "looms", "beams",
                                     "first_piece_checks", "loom_history", NULL};

const fofal_projection_def_t fofal_production_projection = {
    .name = "production",
    .module = "production",
    .pg_schema = "production",
    .tables = tables,
    .applies = applies,
    .napplies = sizeof applies / sizeof applies[0],
};

/* The module's registration (projections.h, "modules"): the build lists it in the
 * generated fofal_projection_modules[]; the audit trail records every production event. */
static const fofal_projection_def_t *const projections[] = {&fofal_production_projection, NULL};
const fofal_projection_module_t fofal_module_production_projections = {
    .name = "production",
    .projections = projections,
    .audit = 1,
};
