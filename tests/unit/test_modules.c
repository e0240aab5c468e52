/*
 * test_modules.c — the tables the build generates from the module folders
 * (<build>/modules/<layer>.gen.c, CMakeLists.txt "modules") and what the engines read from them.
 *
 * Each layer's table lists exactly the module folders of that layer in the source tree
 * (read again here, at run time), by name, sorted, and each registration carries its
 * folder's name (the reactions' table: the command folders with a reactions.c); fofal_modules[] (the topics) is every module of any layer plus those with
 * schemas/<m>/events/. Then what follows from them: the topics, the command types and their
 * module, the projections with their audit projections, the router's module lookup and
 * the OpenAPI document's paths.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api.h"
#include "commands.h"
#include "projections.h"

#define SRC FOFAL_SOURCE_DIR

/* fofal-api's main.c (not in the library) posts to its event loop; no loop runs here. */
void fofal__api_post(fofal_api_t *api, void (*fn)(fofal_api_t *api, void *arg), void *arg) {
  (void)api;
  (void)fn;
  (void)arg;
  cr_assert_fail("a unit test has no event loop");
}

static int is_dir(const char *path) {
  struct stat st;
  return !stat(path, &st) && S_ISDIR(st.st_mode);
}

static int cmp(const void *a, const void *b) { return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b)); }

/* Sorts an array of strings in place. */
static void sort_names(json_t *names) {
  size_t n = json_array_size(names);
  json_t **v = fofal_calloc(n + 1, sizeof *v);
  for (size_t i = 0; i < n; i++) v[i] = json_incref(json_array_get(names, i));
  qsort(v, n, sizeof *v, cmp);
  json_array_clear(names);
  for (size_t i = 0; i < n; i++) json_array_append_new(names, v[i]);
  free(v);
}

/* 1 if the folder holds a C source. */
static int has_c(const char *path) {
  DIR *d = opendir(path);
  int found = 0;
  for (struct dirent *e; d && !found && (e = readdir(d));) {
    size_t n = strlen(e->d_name);
    found = n > 2 && !strcmp(e->d_name + n - 2, ".c");
  }
  if (d) closedir(d);
  return found;
}

/* The module folders of a layer, those with C sources (sorted names), or with `sub` those
 * that hold <m>/<sub>. New. */
static json_t *folders(const char *layer, const char *sub) {
  char dir[512], path[1024];
  snprintf(dir, sizeof dir, "%s/%s", SRC, layer);
  DIR *d = opendir(dir);
  cr_assert_not_null(d, "%s", dir);
  json_t *names = json_array();
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "%s/%s%s%s", dir, e->d_name, sub ? "/" : "", sub ? sub : "");
    if (is_dir(path) && (sub || has_c(path))) json_array_append_new(names, json_string(e->d_name));
  }
  closedir(d);
  sort_names(names);
  return names;
}

static void expect_names(json_t *want /* stolen */, json_t *got /* stolen */, const char *what) {
  char *w = json_dumps(want, JSON_COMPACT), *g = json_dumps(got, JSON_COMPACT);
  cr_expect(json_equal(want, got), "%s: the folders say %s, the table %s", what, w, g);
  free(w);
  free(g);
  json_decref(want);
  json_decref(got);
}

static int in(const char *const *list, const char *name) {
  for (int i = 0; list[i]; i++)
    if (!strcmp(list[i], name)) return 1;
  return 0;
}

Test(modules, each_layer_table_lists_the_module_folders_of_its_layer) {
  json_t *got = json_array();
  for (int i = 0; fofal_command_modules[i]; i++) json_array_append_new(got, json_string(fofal_command_modules[i]->name));
  expect_names(folders("commands", NULL), got, "commands/");
  got = json_array();
  for (int i = 0; fofal_projection_modules[i]; i++)
    json_array_append_new(got, json_string(fofal_projection_modules[i]->name));
  expect_names(folders("projections", NULL), got, "projections/");
  got = json_array();
  for (int i = 0; fofal__api_modules[i]; i++) json_array_append_new(got, json_string(fofal__api_modules[i]->name));
  expect_names(folders("api", NULL), got, "api/");
}

Test(modules, the_reaction_table_lists_the_command_folders_with_reactions) {
  json_t *want = folders("commands", NULL), *got = json_array(), *v;
  size_t i;
  json_array_foreach(want, i, v) {
    char path[1024];
    struct stat st;
    snprintf(path, sizeof path, "%s/commands/%s/reactions.c", SRC, json_string_value(v));
    if (stat(path, &st)) {
      json_array_remove(want, i);
      i--;
    }
  }
  for (int m = 0; fofal_reaction_modules[m]; m++) json_array_append_new(got, json_string(fofal_reaction_modules[m]->module));
  expect_names(want, got, "commands/<m>/reactions.c");
}

Test(modules, the_topic_modules_are_every_layers_modules_and_those_with_event_schemas) {
  json_t *set = json_object(), *want = json_array(), *got = json_array(), *v;
  const char *layers[][2] = {{"commands", NULL}, {"projections", NULL}, {"api", NULL}, {"schemas", "events"}};
  for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++) {
    json_t *names = folders(layers[l][0], layers[l][1]);
    size_t i;
    json_array_foreach(names, i, v) json_object_set(set, json_string_value(v), json_true());
    json_decref(names);
  }
  const char *k;
  json_object_foreach(set, k, v) json_array_append_new(want, json_string(k));
  json_decref(set);
  sort_names(want);
  for (int i = 0; fofal_modules[i]; i++) json_array_append_new(got, json_string(fofal_modules[i]));
  expect_names(want, got, "fofal_modules");
}

Test(modules, the_modules_present_today) {
  /* production in every layer; machines without commands (fofal-machines writes its events);
   * identity only with event schemas (fofal-api writes its events). */
  cr_expect(in(fofal_modules, "production") && in(fofal_modules, "machines") && in(fofal_modules, "identity"));
  cr_expect_not_null(fofal__api_module("production"));
  cr_expect_not_null(fofal__api_module("machines"));
  cr_expect_null(fofal__api_module("identity"));
  cr_expect_not_null(fofal__api_module("production")->audit_fold);
  cr_expect_null(fofal__api_module("machines")->audit_fold);
  int commands = 0;
  for (int i = 0; fofal_command_modules[i]; i++) commands |= !strcmp(fofal_command_modules[i]->name, "production") ? 1 : 2;
  cr_expect_eq(commands & 1, 1, "production registers its commands");
}

Test(modules, topics_follow_from_the_modules) {
  fofal_topic_spec_t specs[64];
  int n = fofal_topics_all(specs, 64, 3);
  for (int i = 0; fofal_modules[i]; i++) {
    char topic[128], want[128];
    cr_assert_eq(fofal_topic_events(fofal_modules[i], topic, sizeof topic), 0);
    snprintf(want, sizeof want, "fofal.%s.events", fofal_modules[i]);
    cr_expect_str_eq(topic, want);
    int found = 0;
    for (int s = 0; s < n; s++) found |= !strcmp(specs[s].name, want) && specs[s].kind == FOFAL_TOPIC_EVENTS;
    cr_expect(found, "%s is an event topic of `fofal topics create`", want);
  }
  char topic[128];
  cr_expect_eq(fofal_topic_events("nosuchmodule", topic, sizeof topic), FOFAL_EINVAL);
}

Test(modules, every_command_type_belongs_to_its_module_and_loads) {
  int total = 0;
  for (int m = 0; fofal_command_modules[m]; m++) {
    const fofal_command_module_t *mod = fofal_command_modules[m];
    cr_expect(in(fofal_modules, mod->name), "%s has a topic", mod->name);
    for (const fofal_command_table_t *t = mod->tables; t->defs; t++)
      for (int i = 0; i < *t->n; i++, total++) {
        char module[32];
        cr_assert_eq(fofal_command_module(t->defs[i].type, module, sizeof module), 0);
        cr_expect_str_eq(module, mod->name, "%s", t->defs[i].type);
      }
  }
  cr_expect_gt(total, 0);
  fofal_registry_t *reg = NULL;
  char err[512];
  cr_assert_eq(fofal_registry_load(&reg, SRC "/schemas", err, sizeof err), 0, "%s", err);
  int seen = 0;
  for (int m = 0; fofal_command_modules[m]; m++)
    for (const fofal_command_table_t *t = fofal_command_modules[m]->tables; t->defs; t++)
      for (int i = 0; i < *t->n; i++) seen += fofal_registry_find(reg, t->defs[i].type) == &t->defs[i];
  cr_expect_eq(seen, total, "the registry holds every command of every module");
  fofal_registry_free(reg);
}

Test(modules, projections_and_audit_projections_follow_from_the_modules) {
  int n = 0;
  for (int m = 0; fofal_projection_modules[m]; m++) {
    const fofal_projection_module_t *mod = fofal_projection_modules[m];
    cr_expect(in(fofal_modules, mod->name), "%s has a topic", mod->name);
    for (int i = 0; mod->projections[i]; i++, n++) {
      cr_expect_str_eq(mod->projections[i]->module, mod->name);
      cr_expect_eq(fofal_projection_find(mod->projections[i]->name), mod->projections[i]);
    }
    char audit[64];
    snprintf(audit, sizeof audit, "audit.%s", mod->name);
    const fofal_projection_def_t *a = fofal_projection_find(audit);
    if (mod->audit != FOFAL_AUDIT_OFF) { /* audited unless it opts out */
      n++;
      cr_assert_not_null(a, "%s", audit);
      cr_expect_str_eq(a->module, mod->name);
      cr_expect_str_eq(a->pg_schema, "audit");
      cr_expect_str_eq(a->module_column, "module", "%s shares audit.events: rebuild and verify keep to its rows", audit);
    } else {
      cr_expect_null(a, "%s", audit);
    }
  }
  int listed = 0;
  while (fofal_projections[listed]) listed++;
  cr_expect_eq(listed, n, "fofal_projections lists each module's projections and audit projection, nothing else");
  cr_expect_not_null(fofal_projection_find("audit.production"));
  cr_expect_not_null(fofal_projection_find("audit.catalog"));
  cr_expect_not_null(fofal_projection_find("audit.identity"));
  cr_expect_null(fofal_projection_find("audit.machines"));
}

static const fofal_api_module_t *module_of(const char *path) {
  h2o_req_t req;
  memset(&req, 0, sizeof req);
  req.path_normalized = h2o_iovec_init(path, strlen(path));
  return fofal__api_module_of(&req);
}

Test(modules, the_router_finds_a_module_by_its_path) {
  for (int i = 0; fofal__api_modules[i]; i++) {
    char path[128];
    snprintf(path, sizeof path, "/api/v1/%s/anything", fofal__api_modules[i]->name);
    cr_expect_eq(module_of(path), fofal__api_modules[i], "%s", path);
    cr_expect_not_null(fofal__api_modules[i]->on_read);
    cr_expect(in(fofal_modules, fofal__api_modules[i]->name));
  }
  cr_expect_eq(module_of("/api/v1/production/orders"), fofal__api_module("production"));
  cr_expect_null(module_of("/api/v1/production/"));
  cr_expect_null(module_of("/api/v1/production"));
  cr_expect_null(module_of("/api/v1/productionx/orders"));
  cr_expect_null(module_of("/api/v1/audit/production/x/events"));
  cr_expect_null(module_of("/v1/production/orders"));
}

Test(modules, the_openapi_document_has_every_modules_paths) {
  fofal_registry_t *reg = NULL;
  char err[512];
  cr_assert_eq(fofal_registry_load(&reg, SRC "/schemas", err, sizeof err), 0, "%s", err);
  char *s = fofal__openapi_build(reg);
  json_t *doc = json_loads(s, 0, NULL), *paths = json_object_get(doc, "paths");
  cr_assert_not_null(paths);
  for (int i = 0; fofal__api_modules[i]; i++) {
    char prefix[64];
    int n = snprintf(prefix, sizeof prefix, "/api/v1/%s/", fofal__api_modules[i]->name), found = 0;
    const char *k;
    json_t *v;
    json_object_foreach(paths, k, v) found += !strncmp(k, prefix, (size_t)n);
    cr_expect_gt(found, 0, "no path below %s", prefix);
  }
  cr_expect_not_null(json_object_get(paths, "/api/v1/production/orders/{id}"));
  cr_expect_not_null(json_object_get(paths, "/api/v1/machines/looms"));
  json_t *params = json_object_get(json_object_get(json_object_get(paths, "/api/v1/audit/{module}/{id}/events"), "get"),
                                   "parameters");
  json_t *modules = json_object_get(json_object_get(json_array_get(params, 0), "schema"), "enum");
  size_t n = 0;
  for (; fofal_modules[n]; n++) cr_expect_str_eq(json_string_value(json_array_get(modules, n)), fofal_modules[n]);
  cr_expect_eq(json_array_size(modules), n, "the audit routes' {module} is one of fofal_modules");
  json_decref(doc);
  free(s);
  fofal_registry_free(reg);
}
