/*
 * audit.c — the audit projection: every event of a module, as it was written, in
 * audit.events (schemas/audit/020_events.sql), for an aggregate's full history and its
 * state at a past time. The data stored is the upcast (current) version. One projection
 * per audited module ("audit.<module>", modules.c: every module unless its registration
 * says FOFAL_AUDIT_OFF), all writing the same table, told apart by its module column.
 *
 * Why one table and not one per module: the audit trail stays one place to query (one
 * migration, one row-level security policy, a correlation id followed across modules),
 * and a module that registers needs no SQL of its own to be audited. The price is paid
 * by `fofal rebuild audit.<m>`: it cannot swap a schema, so it replaces the module's rows
 * (rebuild.c, module_column) — a copy of that module's rows in the swap transaction
 * rather than a rename. The module column is the topic's module (from the position),
 * never the type's: the rows of "audit.<m>" are exactly those of fofal.<m>.events, which
 * is what its rebuild replaces.
 *
 * Secrets. A value sealed under the master key (FOFAL_PD_SECRET_PREFIX: password and PIN
 * hashes, TOTP secrets, recovery codes of the identity events) is what sign-in opens, not
 * history, and the audit roles read this table over HTTP while the tables that keep such
 * values are readable by no query role: the row records "(sealed secret)" in its place.
 * Personal data sealed with a person's key stays as it is (erasure shreds it).
 */
#include "projections.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The event's data as recorded (new reference): top-level secrets replaced. */
static json_t *recorded(json_t *data) {
  const char *key;
  json_t *v, *out = NULL;
  json_object_foreach(data, key, v) {
    const char *s = json_string_value(v);
    if (!s || strncmp(s, FOFAL_PD_SECRET_PREFIX, sizeof FOFAL_PD_SECRET_PREFIX - 1)) continue;
    if (!out) out = json_deep_copy(data);
    json_object_set_new(out, key, json_string("(sealed secret)"));
  }
  return out ? out : json_incref(data);
}

static int record(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  char seq[24], at[32], module[64];
  snprintf(seq, sizeof seq, "%lld", (long long)ev->seq);
  fofal_time_format(ev->time_us, at);
  /* ctx->position is "<module>:<partition>:<offset>" (projections.h). */
  snprintf(module, sizeof module, "%.*s", (int)strcspn(ctx->position, ":"), ctx->position);
  json_t *kept = recorded(ev->data);
  char *data = fofal_json_dumps(kept, JSON_COMPACT);
  json_decref(kept);
  const char *params[] = {ev->tenant, module, ev->subject, seq, ev->id, ev->type, at, ev->actor, ev->command_id,
                          ev->correlation_id, data, ctx->position};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.events (tenant, module, aggregate, seq, event_id, type, time, actor, command_id, "
                           "correlation_id, data, position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                           12, params);
  free(data);
  return rc;
}

static const fofal_apply_t applies[] = {{"*", record}};
static const char *const tables[] = {"events", NULL};

void fofal__audit_projection(const char *module, fofal_projection_def_t *def, char name[FOFAL_PROJECTION_NAME_MAX]) {
  snprintf(name, FOFAL_PROJECTION_NAME_MAX, "audit.%s", module);
  *def = (fofal_projection_def_t){
      .name = name,
      .module = module,
      .pg_schema = "audit",
      .tables = tables,
      .applies = applies,
      .napplies = 1,
      .module_column = "module",
  };
}
