/*
 * modules.c — the registered modules' reads (api.h, "module reads"): the modules come from
 * the build's generated table fofal__api_modules[]; this file finds one by name or by a
 * request's path, and configures them all at start. It names no module.
 *
 * Threads: fofal__api_module and fofal__api_module_of run on any thread (the table is
 * read-only); fofal__api_modules_configure once at start, fofal__api_modules_start and _stop
 * on the loop thread.
 */
#include "api.h"

#include <string.h>

#define PREFIX "/api/v1/"

const fofal_api_module_t *fofal__api_module(const char *name) {
  for (int i = 0; name && fofal__api_modules[i]; i++)
    if (!strcmp(fofal__api_modules[i]->name, name)) return fofal__api_modules[i];
  return NULL;
}

const fofal_api_module_t *fofal__api_module_of(h2o_req_t *req) {
  const char *p = req->path_normalized.base;
  size_t len = req->path_normalized.len, pl = sizeof PREFIX - 1;
  if (len <= pl || memcmp(p, PREFIX, pl)) return NULL;
  for (int i = 0; fofal__api_modules[i]; i++) {
    size_t n = strlen(fofal__api_modules[i]->name);
    if (len > pl + n + 1 && !memcmp(p + pl, fofal__api_modules[i]->name, n) && p[pl + n] == '/')
      return fofal__api_modules[i];
  }
  return NULL;
}

int fofal__api_modules_configure(const fofal_api_conf_t *conf, char *errbuf, size_t errlen) {
  for (int i = 0; fofal__api_modules[i]; i++) {
    int rc = fofal__api_modules[i]->configure ? fofal__api_modules[i]->configure(conf, errbuf, errlen) : 0;
    if (rc) return rc;
  }
  return 0;
}

void fofal__api_modules_start(fofal_api_t *api) {
  for (int i = 0; fofal__api_modules[i]; i++)
    if (fofal__api_modules[i]->start) fofal__api_modules[i]->start(api);
}

void fofal__api_modules_stop(fofal_api_t *api) {
  for (int i = 0; fofal__api_modules[i]; i++)
    if (fofal__api_modules[i]->stop) fofal__api_modules[i]->stop(api);
}
