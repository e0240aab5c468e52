/*
 * test_production_projection.c — projections/production.c and weaving.c: every event
 * type the production module writes (one schema per type under schemas/production/events)
 * has an apply function in the "production" projection, so nothing the write side says is
 * silently left out of the read model.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "projections.h"
#include "weaving.h"

static int applied(const char *type) {
  const fofal_projection_def_t *def = &fofal_production_projection;
  for (int i = 0; i < def->napplies; i++)
    if (!strcmp(def->applies[i].type, type)) return 1;
  for (int i = 0; i < fofal__weaving_napplies; i++)
    if (!strcmp(fofal__weaving_applies[i].type, type)) return 1;
  return 0;
}

Test(production_projection, every_event_schema_has_an_apply_function) {
  DIR *d = opendir(FOFAL_SOURCE_DIR "/schemas/production/events");
  cr_assert_not_null(d, "schemas/production/events is readable");
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len < 9 || strcmp(e->d_name + len - 8, ".v1.json")) continue;
    char type[160];
    snprintf(type, sizeof type, "fofal.production.%.*s.v1", (int)(len - 8), e->d_name);
    cr_expect(applied(type), "%s has no apply function in the production projection", type);
    n++;
  }
  closedir(d);
  cr_expect_geq(n, 30, "the event schemas were found (%d)", n);
}

Test(production_projection, the_catch_all_comes_last) {
  const fofal_projection_def_t *def = &fofal_production_projection;
  for (int i = 0; i < def->napplies - 1; i++) cr_expect_neq(strcmp(def->applies[i].type, "*"), 0, "entry %d is \"*\"", i);
  cr_expect_str_eq(def->applies[def->napplies - 1].type, "*");
}
