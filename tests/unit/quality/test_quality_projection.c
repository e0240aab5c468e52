/*
 * test_quality_projection.c — projections/quality/quality.c's registration: every event
 * type of schemas/quality/events has an apply function, the projection reads its own
 * module's topic only, and its tables are those `fofal verify quality` compares.
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

Test(quality_projection, every_event_schema_has_an_apply_function) {
  const fofal_projection_def_t *def = fofal_projection_find("quality");
  cr_assert_not_null(def, "the quality projection is registered");
  cr_expect_str_eq(def->module, "quality", "it reads fofal.quality.events");
  cr_expect_str_eq(def->pg_schema, "quality");
  DIR *d = opendir(FOFAL_SOURCE_DIR "/schemas/quality/events");
  cr_assert_not_null(d, "schemas/quality/events is readable");
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len < 9 || strcmp(e->d_name + len - 8, ".v1.json")) continue;
    char type[160];
    snprintf(type, sizeof type, "fofal.quality.%.*s.v1", (int)(len - 8), e->d_name);
    cr_expect(applied(def, type), "%s has no apply function in the quality projection", type);
    n++;
  }
  closedir(d);
  cr_expect_eq(n, def->napplies, "one apply per event type (found %d schemas, %d applies)", n, def->napplies);
  for (int i = 0; i < def->napplies; i++)
    cr_expect(!strncmp(def->applies[i].type, "fofal.quality.", 14), "%s is not the module's", def->applies[i].type);
  static const char *const want[] = {"cuts", "thresholds", "inspections", "lots", "ncs", "nc_actions", NULL};
  for (int i = 0; want[i]; i++) cr_expect_str_eq(def->tables[i] ? def->tables[i] : "(none)", want[i]);
  cr_expect_null(def->tables[6]);
}
