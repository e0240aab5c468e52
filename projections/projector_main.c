/*
 * projector_main.c — fofal-projector: runs the live projector of every module.
 *
 * One thread per module's projection. Each reads its event topic with read_committed and
 * applies it exactly once to PostgreSQL and Redis (projector.c). On SIGINT/SIGTERM each
 * finishes its batch and stops. Outages of PostgreSQL or Redis pause it; a fatal error
 * exits non-zero so that a supervisor restarts it, which is always safe.
 */
#include "projections.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *brokers, *pg_dsn, *redis_addr, *schemas, *names, *log_level, *pd_master;
static long long max_batch;

static fofal_setting_t settings[] = {
    {"FOFAL_KAFKA_BROKERS", FOFAL_SET_STR, "127.0.0.1:19092", 0, 0, "Kafka bootstrap servers.", &brokers},
    {"FOFAL_PG_DSN", FOFAL_SET_STR, "host=127.0.0.1 port=15432 user=fofal dbname=fofal", 0, 0,
     "libpq connection string of the read models.", &pg_dsn},
    {"FOFAL_REDIS_ADDR", FOFAL_SET_STR, "127.0.0.1:16379", 0, 0, "Redis host:port.", &redis_addr},
    {"FOFAL_SCHEMAS_DIR", FOFAL_SET_STR, FOFAL_SOURCE_DIR "/schemas", 0, 0, "Folder of the SQL migrations.", &schemas},
    {"FOFAL_PROJECTOR_NAMES", FOFAL_SET_STR, "", 0, 0,
     "Comma-separated projections to run; empty: every projection of the registered modules (fofal rebuild lists them).",
     &names},
    {"FOFAL_PROJECTOR_MAX_BATCH", FOFAL_SET_INT, "5000", 1, 100000, "Events applied per PostgreSQL transaction, at most.",
     &max_batch},
    {"FOFAL_PD_MASTER_KEY", FOFAL_SET_STR, "", 0, 0,
     "Master key of personal data (64 hex characters, as fofal-api's): opens the names the read models show. Without "
     "it, an event with a personal field stops the projector.",
     &pd_master},
    {"FOFAL_LOG_LEVEL", FOFAL_SET_STR, "info", 0, 0, "debug, info, warn or error.", &log_level},
};
#define NSET (sizeof settings / sizeof settings[0])
#define MAX_WORKERS 64 /* projections one process runs */

typedef struct {
  const fofal_projection_def_t *def;
  pthread_t th;
  int rc;
} worker_t;

static void *run_one(void *arg) {
  worker_t *w = arg;
  char err[512];
  fofal_projector_t *p = NULL;
  fofal_projector_opts_t o = {.brokers = brokers, .pg_dsn = pg_dsn, .redis_addr = redis_addr, .schemas_dir = schemas,
                              .def = w->def, .name = w->def->name, .max_batch = (int)max_batch, .stop = &fofal_stop};
  w->rc = fofal_projector_new(&p, &o, err, sizeof err);
  if (w->rc) {
    LOG_ERROR("projector %s cannot start: %s", w->def->name, err);
    fofal_stop_set(&fofal_stop);
    return NULL;
  }
  LOG_INFO("projector %s: projecting fofal.%s.events", w->def->name, w->def->module);
  w->rc = fofal_projector_run(p, err, sizeof err);
  if (w->rc) {
    LOG_ERROR("projector %s stopped: %s", w->def->name, err);
    fofal_stop_set(&fofal_stop);
  }
  fofal_projector_stats_t st;
  fofal_projector_stats(p, &st);
  LOG_INFO("projector %s stopped: %lld events applied in %lld batches, %lld replayed event by event; %lld pipeline "
           "round trips for reads",
           w->def->name, st.events, st.batches, st.replayed, st.pipeline_flushes);
  fofal_projector_free(p);
  return NULL;
}

int main(int argc, char **argv) {
  char err[512];
  int rc = 0, n = 0;
  worker_t workers[MAX_WORKERS];
  int early = fofal_process_start("fofal-projector", settings, NSET, argc, argv,
                                "Usage: fofal-projector [--config FILE] [--option=value ...]\n\n"
                                "Projects the modules' events into PostgreSQL and Redis, exactly once.",
                                  &log_level);
  if (early >= 0) return early;
  if (fofal_projections_pd_master(pd_master)) {
    LOG_ERROR("refusing to start: FOFAL_PD_MASTER_KEY is not 64 hex characters");
    fofal_settings_free(settings, NSET);
    return 1;
  }
  if (fofal_topics_require(brokers, err, sizeof err)) {
    LOG_ERROR("refusing to start: %s", err);
    fofal_settings_free(settings, NSET);
    return 1;
  }
  if (!*names) /* every registered projection */
    for (int i = 0; fofal_projections[i] && n < MAX_WORKERS; i++) workers[n++] = (worker_t){.def = fofal_projections[i]};
  char *list = fofal_strdup(names), *save = NULL;
  for (char *m = strtok_r(list, ",", &save); m && n < MAX_WORKERS; m = strtok_r(NULL, ",", &save)) {
    const fofal_projection_def_t *def = fofal_projection_find(m);
    if (!def) {
      LOG_ERROR("refusing to start: no projection named \"%s\"", m);
      free(list);
      fofal_settings_free(settings, NSET);
      return 2;
    }
    workers[n++] = (worker_t){.def = def};
  }
  free(list);
  for (int i = 0; i < n; i++) pthread_create(&workers[i].th, NULL, run_one, &workers[i]);
  for (int i = 0; i < n; i++) {
    pthread_join(workers[i].th, NULL);
    if (workers[i].rc) rc = 1;
  }
  fofal_settings_free(settings, NSET);
  return rc;
}
