/*
 * test_maintenance_projection.c — projections/maintenance/maintenance.c's registration:
 * every event type of schemas/maintenance/events has an apply function, the projection
 * reads its own module's topic only, and its tables are those verify compares.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "projections.h"

static int applied(const fofal_projection_def_t *def, const char *type) {
  for (int i = 0; i < def->napplies; i++)
    if (!strcmp(def->applies[i].type, type)) return 1;
  return 0;
}

Test(maintenance_projection, every_event_schema_has_an_apply_function) {
  const fofal_projection_def_t *def = fofal_projection_find("maintenance");
  cr_assert_not_null(def, "the maintenance projection is registered");
  cr_expect_str_eq(def->module, "maintenance", "it reads fofal.maintenance.events");
  cr_expect_str_eq(def->pg_schema, "maintenance");
  DIR *d = opendir(FOFAL_SOURCE_DIR "/schemas/maintenance/events");
  cr_assert_not_null(d, "schemas/maintenance/events is readable");
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len < 9 || strcmp(e->d_name + len - 8, ".v1.json")) continue;
    char type[160];
    snprintf(type, sizeof type, "fofal.maintenance.%.*s.v1", (int)(len - 8), e->d_name);
    cr_expect(applied(def, type), "%s has no apply function in the maintenance projection", type);
    n++;
  }
  closedir(d);
  cr_expect_eq(n, 5, "requested, accepted, started, finished, cancelled (found %d)", n);
  for (int i = 0; i < def->napplies; i++)
    cr_expect(!strncmp(def->applies[i].type, "fofal.maintenance.", 18), "%s is not the module's", def->applies[i].type);
  cr_expect_str_eq(def->tables[0], "interventions");
  cr_expect_str_eq(def->tables[1], "intervention_history");
  cr_expect_null(def->tables[2]);
}

Test(maintenance_projection, production_no_longer_applies_interventions) {
  const fofal_projection_def_t *def = fofal_projection_find("production");
  cr_assert_not_null(def);
  for (int i = 0; def->tables[i]; i++) cr_expect_str_neq(def->tables[i], "interventions");
}
