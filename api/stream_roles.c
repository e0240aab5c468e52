/*
 * stream_roles.c — who may receive a push of the WebSocket stream (issue 22 item 3).
 *
 * A push is an applied event. It reaches a connection only when the connection's role may
 * read the aggregate it changes through the read routes: the same people who read an
 * intervention at /api/v1/maintenance/interventions/{id} get its pushes, and nobody else.
 * So the roles are not written here a second time: each event type is mapped to the read
 * route that shows its aggregate (the table below), and the roles of that route are taken
 * from the OpenAPI document fofal-api serves (its `x-fofal-roles`, which the route tables of
 * the modules produce, and which test_security holds to the routes' own checks). A route
 * that names the caller's own record (employees/{badge}) also admits the employee
 * themself: the push of an employee aggregate reaches the token whose badge it is. The
 * roles of the audit trail (/api/v1/audit/{module}/{id}/events: every event of any
 * aggregate, as the push carries it) receive every push a route shows.
 *
 * The table is each module's own (fofal_api_module_t.push_routes, api/<m>/): nothing here
 * names a module. An event type no line maps reaches nobody (fail closed); the unit test
 * test_stream_roles maps every event schema of schemas/, so a new event type without a
 * line fails the build's tests, not a deployment.
 *
 * Pure, no I/O; built once at start from the document, then read only (any thread).
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_PATH "/api/v1/audit/{module}/{id}/events"

struct fofal__push_roles {
  int n;
  uint32_t mask[]; /* per push route of every module, in table order: bit i: fofal_api_roles[i] reads it */
};

/* Calls fn for every push route of every registered module, with its index; stops when
 * fn returns non-zero and returns that. */
static int each_route(int (*fn)(void *opaque, int i, const char *module, const fofal_push_route_t *r), void *opaque) {
  int i = 0;
  for (int m = 0; fofal__api_modules[m]; m++)
    for (const fofal_push_route_t *r = fofal__api_modules[m]->push_routes; r && r->path; r++, i++) {
      int rc = fn(opaque, i, fofal__api_modules[m]->name, r);
      if (rc) return rc;
    }
  return 0;
}

static int count(void *opaque, int i, const char *module, const fofal_push_route_t *r) {
  (void)module;
  (void)r;
  *(int *)opaque = i + 1;
  return 0;
}

typedef struct {
  const char *module, *name; /* name: of the event type, or NULL to find route `want` */
  int want, found;
  const fofal_push_route_t *route;
} find_t;

static int find(void *opaque, int i, const char *module, const fofal_push_route_t *r) {
  find_t *f = opaque;
  if (f->name ? strcmp(module, f->module) || strncmp(f->name, r->prefix, strlen(r->prefix)) : i != f->want) return 0;
  f->found = i;
  f->route = r;
  return 1;
}

/* The path of push route i. */
static const char *route_path(int i) {
  find_t f = {NULL, NULL, i, -1, NULL};
  each_route(find, &f);
  return f.route ? f.route->path : "";
}

static int role_index(const char *role) {
  for (int i = 0; fofal_api_roles[i]; i++)
    if (!strcmp(fofal_api_roles[i], role)) return i;
  return -1;
}

int fofal__push_roles_new(const char *openapi, fofal__push_roles_t **out, char *errbuf, size_t errlen) {
  json_error_t jerr;
  json_t *doc = json_loads(openapi ? openapi : "", 0, &jerr);
  int n = 0;
  each_route(count, &n);
  fofal__push_roles_t *pr = fofal_calloc(1, sizeof *pr + (size_t)n * sizeof pr->mask[0]);
  pr->n = n;
  int rc = 0;
  *out = NULL;
  if (!doc) {
    rc = fofal_err(errbuf, errlen, FOFAL_ECONFIG, "the OpenAPI document does not parse: %s", jerr.text);
    goto out;
  }
  uint32_t audit = 0;
  for (int i = 0; i <= n; i++) {
    const char *path = i < n ? route_path(i) : AUDIT_PATH;
    uint32_t *mask = i < n ? &pr->mask[i] : &audit;
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
  for (int i = 0; i < n; i++) pr->mask[i] |= audit;
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
  if (strncmp(type, "fofal.", 6) || strncmp(type + 6, module, ml) || type[6 + ml] != '.') return FOFAL_ENOENT;
  find_t f = {module, type + 6 + ml + 1, -1, -1, NULL};
  if (!each_route(find, &f)) return FOFAL_ENOENT;
  if (path) *path = f.route->path;
  if (self) *self = f.route->self;
  return f.found;
}

uint32_t fofal__push_roles_mask(const fofal__push_roles_t *pr, const char *module, const char *type, int *self) {
  int i = fofal__push_roles_route(module, type, NULL, self);
  return i < 0 ? 0 : pr->mask[i];
}

uint32_t fofal__push_role_bit(const char *role) {
  int i = role_index(role ? role : "");
  return i < 0 || i >= 32 ? 0 : 1u << i;
}
