/*
 * stream_roles.c — who may receive a push of the WebSocket stream (issue 22 item 3).
 *
 * A push is an applied event. It reaches a connection only when the connection's role may
 * read the aggregate it changes through the read routes: the same people who read an
 * intervention at /api/v1/production/interventions/{id} get its pushes, and nobody else.
 * So the roles are not written here a second time: each event type is mapped to the read
 * route that shows its aggregate (the table below), and the roles of that route are taken
 * from the OpenAPI document fofal-api serves (its `x-fofal-roles`, which the route tables of
 * the modules produce, and which test_security holds to the routes' own checks). A route
 * that names the caller's own record (employees/{badge}) also admits the employee
 * themself: the push of an employee aggregate reaches the token whose badge it is. The
 * roles of the audit trail (/api/v1/audit/{module}/{id}/events: every event of any
 * aggregate, as the push carries it) receive every push a route shows.
 *
 * An event type the table does not map reaches nobody (fail closed); the unit test
 * test_stream_roles maps every event schema of schemas/, so a new event type without a
 * line here fails the build's tests, not a deployment. When the modules move into
 * api/<m>/ this table moves with them (a module's lines in its folder).
 *
 * Pure, no I/O; built once at start from the document, then read only (any thread).
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Which read route shows the aggregate of an event type: `prefix` matches the start of
 * the type's name (fofal.<module>.<name>.v<n>), the first match wins. */
static const struct {
  const char *module, *prefix, *path;
  int self; /* the aggregate is an employee: their own badge reads it too */
} routes[] = {
    {"production", "order_", "/api/v1/production/orders/{id}", 0},
    {"production", "output_declared", "/api/v1/production/orders/{id}/declarations", 0},
    {"production", "shift_model_", "/api/v1/production/shifts/{shift}/output", 0},
    {"production", "article_", "/api/v1/production/articles/{code}", 0},
    {"production", "loom_", "/api/v1/production/looms/{code}", 0},
    {"production", "first_piece_checked", "/api/v1/production/looms/{code}", 0},
    {"production", "beam_", "/api/v1/production/beams/{code}", 0},
    {"production", "employee_", "/api/v1/production/employees/{badge}", 1},
    {"production", "shift_assigned", "/api/v1/production/employees/{badge}", 1},
    {"production", "intervention_", "/api/v1/production/interventions/{id}", 0},
    {"production", "label_", "/api/v1/production/labels/{id}", 0},
    {"machines", "hall_", "/api/v1/machines/halls", 0},
    {"machines", "", "/api/v1/machines/looms/{loom}", 0},
};
#define NROUTES (sizeof routes / sizeof routes[0])
#define AUDIT_PATH "/api/v1/audit/{module}/{id}/events"

struct fofal__push_roles {
  uint32_t mask[NROUTES]; /* bit i: fofal_api_roles[i] reads the route */
};

static int role_index(const char *role) {
  for (int i = 0; fofal_api_roles[i]; i++)
    if (!strcmp(fofal_api_roles[i], role)) return i;
  return -1;
}

int fofal__push_roles_new(const char *openapi, fofal__push_roles_t **out, char *errbuf, size_t errlen) {
  json_error_t jerr;
  json_t *doc = json_loads(openapi ? openapi : "", 0, &jerr);
  fofal__push_roles_t *pr = fofal_calloc(1, sizeof *pr);
  int rc = 0;
  *out = NULL;
  if (!doc) {
    rc = fofal_err(errbuf, errlen, FOFAL_ECONFIG, "the OpenAPI document does not parse: %s", jerr.text);
    goto out;
  }
  uint32_t audit = 0;
  for (size_t i = 0; i <= NROUTES; i++) {
    const char *path = i < NROUTES ? routes[i].path : AUDIT_PATH;
    uint32_t *mask = i < NROUTES ? &pr->mask[i] : &audit;
    json_t *roles = json_object_get(json_object_get(json_object_get(json_object_get(doc, "paths"), path), "get"),
                                    "x-fofal-roles");
    size_t k;
    json_t *r;
    if (!json_is_array(roles)) {
      rc = fofal_err(errbuf, errlen, FOFAL_ECONFIG, "stream: no x-fofal-roles on GET %s in the OpenAPI document", path);
      goto out;
    }
    json_array_foreach(roles, k, r) {
      int ri = role_index(json_string_value(r) ? json_string_value(r) : "");
      if (ri >= 0 && ri < 32) *mask |= 1u << ri;
    }
  }
  for (size_t i = 0; i < NROUTES; i++) pr->mask[i] |= audit;
  *out = pr;
  pr = NULL;
out:
  free(pr);
  json_decref(doc);
  return rc;
}

void fofal__push_roles_free(fofal__push_roles_t *pr) { free(pr); }

int fofal__push_roles_route(const char *module, const char *type, const char **path, int *self) {
  /* fofal.<module>.<name>.v<n> */
  size_t ml = strlen(module);
  if (strncmp(type, "fofal.", 6) || strncmp(type + 6, module, ml) || type[6 + ml] != '.') return -1;
  const char *name = type + 6 + ml + 1;
  for (size_t i = 0; i < NROUTES; i++) {
    if (strcmp(routes[i].module, module) || strncmp(name, routes[i].prefix, strlen(routes[i].prefix))) continue;
    if (path) *path = routes[i].path;
    if (self) *self = routes[i].self;
    return (int)i;
  }
  return -1;
}

uint32_t fofal__push_roles_mask(const fofal__push_roles_t *pr, const char *module, const char *type, int *self) {
  int i = fofal__push_roles_route(module, type, NULL, self);
  return i < 0 ? 0 : pr->mask[i];
}

uint32_t fofal__push_role_bit(const char *role) {
  int i = role_index(role ? role : "");
  return i < 0 || i >= 32 ? 0 : 1u << i;
}
