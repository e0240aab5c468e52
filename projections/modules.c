/*
 * modules.c — every projection of the registered modules, for the engines that run,
 * rebuild, verify and list them (projector_main.c, rebuild.c, fofal-api, the fofal CLI).
 *
 * The modules come from the build's generated table fofal_projection_modules[]
 * (projections.h); each brings its own projections and its audit projection
 * "audit.<module>" (audit.c) — every module is audited unless its registration says
 * FOFAL_AUDIT_OFF, so a new module is audited by registering. The flat list is built once, before main() runs
 * (a constructor, so that it needs no call and no lock), into static storage, and is
 * read-only afterwards. Modules beyond FOFAL_MAX_MODULES stop the process at start with
 * a message: raise the bound.
 */
#include "projections.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FOFAL_MAX_MODULES 64
#define MAX_PROJECTIONS (4 * FOFAL_MAX_MODULES)

const fofal_projection_def_t *fofal_projections[MAX_PROJECTIONS + 1];

static fofal_projection_def_t audits[FOFAL_MAX_MODULES];
static char audit_names[FOFAL_MAX_MODULES][FOFAL_PROJECTION_NAME_MAX];

__attribute__((constructor)) static void list_projections(void) {
  int n = 0, na = 0;
  for (int m = 0; fofal_projection_modules[m]; m++) {
    const fofal_projection_module_t *mod = fofal_projection_modules[m];
    for (int i = 0; mod->projections[i]; i++) {
      if (n == MAX_PROJECTIONS) goto full;
      fofal_projections[n++] = mod->projections[i];
    }
    if (mod->audit == FOFAL_AUDIT_OFF) continue;
    if (n == MAX_PROJECTIONS || na == FOFAL_MAX_MODULES) goto full;
    fofal__audit_projection(mod->name, &audits[na], audit_names[na]);
    fofal_projections[n++] = &audits[na++];
  }
  fofal_projections[n] = NULL;
  return;
full:
  fprintf(stderr, "fofal: more than %d projections are registered: raise FOFAL_MAX_MODULES in projections/modules.c\n",
          MAX_PROJECTIONS);
  abort();
}

const fofal_projection_def_t *fofal_projection_find(const char *name) {
  for (int i = 0; fofal_projections[i]; i++)
    if (!strcmp(fofal_projections[i]->name, name)) return fofal_projections[i];
  return NULL;
}
