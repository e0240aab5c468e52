/*
 * test_stream_roles.c — api/stream_roles.c: which roles receive a push of the WebSocket
 * stream (issue 22 item 3).
 *
 * Every event type of schemas/<module>/events/ that the projectors push (every module but
 * identity, whose events are audit records and never pushed) must be shown by a read
 * route, and the roles of that route come from the OpenAPI document that fofal-api builds
 * (x-fofal-roles): the mask of a type is exactly the route's roles and the audit trail's. The event files are
 * listed here with opendir, independently of the table.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

#define SCHEMAS FOFAL_SOURCE_DIR "/schemas"

/* The OpenAPI builder links the read routes, whose workers post to the loop of main.c;
 * nothing runs here, so nothing is ever posted. */
void fofal__api_post(fofal_api_t *api, void (*fn)(fofal_api_t *api, void *arg), void *arg) {
  (void)api;
  (void)fn;
  (void)arg;
  cr_assert_fail("nothing posts to a loop in a unit test");
}

static fofal_registry_t *reg;
static char *openapi;
static json_t *parsed; /* openapi parsed once: it is large, and every event type asks it twice */
static fofal__push_roles_t *pr;

static void setup(void) {
  char err[512];
  cr_assert_eq(fofal_registry_load(&reg, SCHEMAS, err, sizeof err), 0, "%s", err);
  openapi = fofal__openapi_build(reg);
  cr_assert_not_null(openapi);
  parsed = json_loads(openapi, 0, NULL);
  cr_assert_not_null(parsed);
  cr_assert_eq(fofal__push_roles_new(openapi, &pr, err, sizeof err), 0, "%s", err);
}

static void teardown(void) {
  fofal__push_roles_free(pr);
  json_decref(parsed);
  free(openapi);
  fofal_registry_free(reg);
}

TestSuite(stream_roles, .init = setup, .fini = teardown);

/* The roles of GET `path` in the document as a mask. */
static uint32_t doc_mask(const char *path) {
  json_t *roles = json_object_get(json_object_get(json_object_get(json_object_get(parsed, "paths"), path), "get"),
                                  "x-fofal-roles");
  cr_assert(json_is_array(roles), "x-fofal-roles of %s", path);
  uint32_t m = 0;
  size_t i;
  json_t *r;
  json_array_foreach(roles, i, r) m |= fofal__push_role_bit(json_string_value(r));
  return m;
}

Test(stream_roles, every_pushed_event_type_is_shown_by_a_read_route) {
  int checked = 0;
  for (int i = 0; fofal_modules[i]; i++) {
    const char *module = fofal_modules[i];
    if (!strcmp(module, "identity")) continue;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s/events", SCHEMAS, module);
    DIR *d = opendir(dir);
    if (!d) continue;
    struct dirent *e;
    while ((e = readdir(d))) {
      char name[256], type[320];
      size_t n = strlen(e->d_name);
      if (n < 6 || strcmp(e->d_name + n - 5, ".json")) continue;
      snprintf(name, sizeof name, "%.*s", (int)(n - 5), e->d_name); /* employee_registered.v1 */
      snprintf(type, sizeof type, "fofal.%s.%s", module, name);
      const char *path = NULL;
      int self = 0;
      cr_expect_geq(fofal__push_roles_route(module, type, &path, &self), 0, "%s: no read route shows it", type);
      if (path) {
        /* The route's readers and the audit trail's. */
        cr_expect_eq(fofal__push_roles_mask(pr, module, type, NULL), doc_mask(path) | doc_mask("/api/v1/audit/{module}/{id}/events"),
                     "%s: the roles of %s and of the audit trail", type, path);
        checked++;
      }
    }
    closedir(d);
  }
  cr_expect_gt(checked, 30, "the event schemas were found (%d)", checked);
}

Test(stream_roles, personal_records_reach_hr_and_their_owner_only) {
  int self = 0;
  uint32_t m = fofal__push_roles_mask(pr, "hr", "fofal.hr.employee_registered.v1", &self);
  cr_expect(m & fofal__push_role_bit("hr"));
  cr_expect(!(m & fofal__push_role_bit("cutter")));
  cr_expect(!(m & fofal__push_role_bit("weaver")));
  cr_expect(m & fofal__push_role_bit("auditor"), "the audit trail shows every event");
  cr_expect_eq(self, 1, "the employee themself reads it");
  m = fofal__push_roles_mask(pr, "hr", "fofal.hr.shift_assigned.v1", &self);
  cr_expect(!(m & fofal__push_role_bit("storekeeper_pf")));
  cr_expect_eq(self, 1);
  cr_expect_eq(fofal__push_roles_mask(pr, "production", "fofal.production" ".employee_registered.v1", NULL), 0,
               "employees are hr's: production shows none");
  m = fofal__push_roles_mask(pr, "hr", "fofal.hr.shift_model_defined.v1", &self);
  cr_expect(m & fofal__push_role_bit("weaver"), "every role of the mill reads the shift model");
  cr_expect_eq(self, 0);
  m = fofal__push_roles_mask(pr, "maintenance", "fofal.maintenance.intervention_requested.v1", &self);
  cr_expect(m & fofal__push_role_bit("mechanic"));
  cr_expect(m & fofal__push_role_bit("weaver"), "the weaver who called the mechanic follows the request");
  cr_expect(!(m & fofal__push_role_bit("storekeeper_mp")));
  cr_expect_eq(self, 0);
  /* Interventions are maintenance's: production shows none. */
  cr_expect_eq(fofal__push_roles_mask(pr, "production", "fofal.production." "intervention_requested.v1", NULL), 0);
  /* Unknown: nobody (fail closed); another module's name does not match. */
  cr_expect_eq(fofal__push_roles_mask(pr, "production", "fofal.production.salary_paid.v1", NULL), 0);
  cr_expect_eq(fofal__push_roles_mask(pr, "production", "fofal.machines.loom_running.v1", NULL), 0);
  cr_expect_eq(fofal__push_role_bit("nobody"), 0);
}

/* A unit's label (module inventory) is pushed to who scans labels. */
Test(stream_roles, a_units_events_reach_who_scans_its_label) {
  const char *const types[] = {"fofal.inventory.unit_received.v1", "fofal.inventory.label_reprinted.v1"};
  for (int i = 0; i < 2; i++) {
    const char *path = NULL;
    int self = 1;
    cr_assert_geq(fofal__push_roles_route("inventory", types[i], &path, &self), 0, "%s", types[i]);
    cr_expect_str_eq(path, "/api/v1/inventory/labels/{id}");
    uint32_t m = fofal__push_roles_mask(pr, "inventory", types[i], &self);
    cr_expect(m & fofal__push_role_bit("weaver"));
    cr_expect(m & fofal__push_role_bit("cutter"));
    cr_expect(m & fofal__push_role_bit("storekeeper_pf"));
    cr_expect(!(m & fofal__push_role_bit("storekeeper_mp")), "raw materials carry no woven label");
    cr_expect(!(m & fofal__push_role_bit("hr")));
    cr_expect_eq(self, 0);
  }
  cr_expect_eq(fofal__push_roles_mask(pr, "production", "fofal.inventory.unit_received.v1", NULL), 0);
}

Test(stream_roles, a_document_without_the_routes_is_refused) {
  fofal__push_roles_t *x = NULL;
  char err[256] = "";
  cr_expect_eq(fofal__push_roles_new("{\"paths\":{}}", &x, err, sizeof err), FOFAL_ECONFIG);
  cr_expect(strstr(err, "x-fofal-roles"), "%s", err);
  cr_expect_null(x);
  cr_expect_eq(fofal__push_roles_new("not json", &x, err, sizeof err), FOFAL_ECONFIG);
}

/* The audit trail's {kind} lists every kind named by code (their text once passed 160
 * bytes and the enum lost its last kinds, the last one cut in the middle). */
Test(stream_roles, the_audit_kind_enum_lists_every_kind) {
  char kinds[4096];
  fofal_aggregate_kinds_text(NULL, 1, kinds, sizeof kinds);
  size_t want = 1;
  for (const char *k = kinds; *k; k++) want += *k == ',';
  json_t *doc = json_loads(openapi, 0, NULL);
  json_t *params = json_object_get(
      json_object_get(json_object_get(json_object_get(doc, "paths"), "/api/v1/audit/{module}/{kind}/{code}/events"), "get"),
      "parameters");
  size_t i;
  json_t *p, *kind_enum = NULL;
  json_array_foreach(params, i, p) {
    if (json_is_string(json_object_get(p, "name")) && !strcmp(json_string_value(json_object_get(p, "name")), "kind"))
      kind_enum = json_object_get(json_object_get(p, "schema"), "enum");
  }
  cr_assert(json_is_array(kind_enum), "the {kind} parameter has an enum");
  cr_expect_eq(json_array_size(kind_enum), want, "%zu kinds in the enum, %zu kinds registered (%s)",
               json_array_size(kind_enum), want, kinds);
  json_t *last = json_array_get(kind_enum, json_array_size(kind_enum) - 1);
  const char *tail = strrchr(kinds, ' ');
  cr_expect_str_eq(json_string_value(last), tail ? tail + 1 : kinds, "the last kind whole");
  json_decref(doc);
}
