/*
 * foo.c — the foo module's projection: things into foo.things (schemas/foo/090_things.sql),
 * and the module's registration (fofal_module_foo_projections), audited.
 */
#include "projections.h"

#include <stdio.h>

static int thing_created(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  char seq[24];
  snprintf(seq, sizeof seq, "%lld", (long long)ev->seq);
  const char *params[] = {ev->tenant, json_string_value(json_object_get(ev->data, "thing")),
                          json_string_value(json_object_get(ev->data, "name")), seq};
  int rc = fofal_apply_sql(ctx, "INSERT INTO %s.things (tenant, thing, name, version) VALUES ($1, $2, $3, $4)", 4, params);
  if (!rc) fofal_apply_push(ctx, ev, "foo");
  return rc;
}

static const fofal_apply_t applies[] = {{"fofal.foo.thing_created.v1", thing_created}};
static const char *const tables[] = {"things", NULL};
static const fofal_projection_def_t projection = {
    .name = "foo", .module = "foo", .pg_schema = "foo", .tables = tables, .applies = applies, .napplies = 1};
static const fofal_projection_def_t *const projections[] = {&projection, NULL};

const fofal_projection_module_t fofal_module_foo_projections = {.name = "foo", .projections = projections, .audit = 1};
