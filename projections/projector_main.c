/*
 * projector_main.c — fofal-projector: runs the live projector of every module.
 *
 * FOFAL_PROJECTOR_WORKERS threads per module's projection, each with its share of the
 * topic's partitions (projector.c: its own consumer, connections and advisory locks): on a
 * machine with several cores PostgreSQL then applies a projection's batches side by side.
 * Each reads its partitions with read_committed and applies them exactly once to
 * PostgreSQL and Redis (projector.c). On SIGINT/SIGTERM each
 * finishes its batch and stops. Outages of PostgreSQL or Redis pause it; a fatal error
 * exits non-zero so that a supervisor restarts it, which is always safe.
 */
#include "projections.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *brokers, *pg_dsn, *redis_addr, *redis_user, *redis_password, *schemas, *names, *log_level, *pd_master;
static long long max_batch, nworkers, group;

static fofal_kafka_security_t kafka_security; /* strings owned by the settings table */
static fofal_setting_t settings[] = {
    {"FOFAL_KAFKA_BROKERS", FOFAL_SET_STR, "127.0.0.1:19092", 0, 0, "Kafka bootstrap servers.", &brokers},
    FOFAL_KAFKA_SECURITY_SETTINGS(kafka_security),
    {"FOFAL_PG_DSN", FOFAL_SET_STR, "host=127.0.0.1 port=15432 user=fofal_projector dbname=fofal", 0, 0,
     "libpq connection string of the read models, as the projector's own login role (README, Security).", &pg_dsn},
    {"FOFAL_REDIS_ADDR", FOFAL_SET_STR, "127.0.0.1:16379", 0, 0, "Redis host:port.", &redis_addr},
    {"FOFAL_REDIS_USER", FOFAL_SET_STR, "", 0, 0, "Redis ACL user (AUTH); empty: the default user.", &redis_user},
    {"FOFAL_REDIS_PASSWORD", FOFAL_SET_STR, "", 0, 0, "Redis password of FOFAL_REDIS_USER; empty: no AUTH. Never logged.",
     &redis_password},
    {"FOFAL_SCHEMAS_DIR", FOFAL_SET_STR, FOFAL_SOURCE_DIR "/schemas", 0, 0, "Folder of the SQL migrations.", &schemas},
    {"FOFAL_PROJECTOR_NAMES", FOFAL_SET_STR, "", 0, 0,
     "Comma-separated projections to run; empty: every projection of the registered modules (fofal rebuild lists them).",
     &names},
    {"FOFAL_PROJECTOR_MAX_BATCH", FOFAL_SET_INT, "5000", 1, 100000, "Events applied per PostgreSQL transaction, at most.",
     &max_batch},
    {"FOFAL_PROJECTOR_WORKERS", FOFAL_SET_INT, "1", 0, 16,
     "Threads per projection, each applying its share of the partitions; 0: one per core, at most 4.", &nworkers},
    {"FOFAL_PROJECTOR_GROUP", FOFAL_SET_INT, "0", 0, 1,
     "1: each projection takes its partitions from the consumer group fofal-projector.<name>, so that several "
     "fofal-projector processes share the work (a dead one's partitions move to the others within about 10 s); 0: "
     "every process applies every partition, taking turns by lock. With FOFAL_PROJECTOR_WORKERS above 1 the workers "
     "split the partitions among themselves and no group is used.",
     &group},
    {"FOFAL_PD_MASTER_KEY", FOFAL_SET_STR, "", 0, 0,
     "Master key of personal data (64 hex characters, as fofal-api's): opens the names the read models show. Without "
     "it, an event with a personal field stops the projector.",
     &pd_master},
    {"FOFAL_LOG_LEVEL", FOFAL_SET_STR, "info", 0, 0, "debug, info, warn or error.", &log_level},
};
#define NSET (sizeof settings / sizeof settings[0])
#define MAX_WORKERS 256 /* threads one process runs: projections times workers */
#define START_TRIES 6   /* a projection's start, tried again after 1, 2, 4, 8 and 16 s */

typedef struct {
  const fofal_projection_def_t *def;
  int worker, workers;
  pthread_t th;
  int rc;
} worker_t;

static void *run_one(void *arg) {
  worker_t *w = arg;
  char err[512];
  fofal_projector_t *p = NULL;
  fofal_projector_opts_t o = {.brokers = brokers, .pg_dsn = pg_dsn, .redis_addr = redis_addr, .redis_user = redis_user,
                              .redis_password = redis_password, .schemas_dir = schemas, .def = w->def, .name = w->def->name,
                              .max_batch = (int)max_batch, .stop = &fofal_stop, .worker = w->worker, .workers = w->workers,
                              .group = (int)group};
  /* Every projection starts its Kafka clients at once (two per module, the audit's with
   * it): a broker or a SASL login that is slow to answer then fails one start. It is
   * tried again, pausing 1 s doubling to 16 s (START_TRIES in all, about 30 s), before the
   * whole process stops. */
  for (int attempt = 1, pause_s = 1;; attempt++, pause_s *= 2) {
    w->rc = fofal_projector_new(&p, &o, err, sizeof err);
    if (!w->rc || fofal_stopped(&fofal_stop)) break;
    if (attempt == START_TRIES) {
      LOG_ERROR("projector %s cannot start: %s", w->def->name, err);
      fofal_stop_set(&fofal_stop);
      return NULL;
    }
    LOG_WARN("projector %s could not start (try %d of %d, again in %d s): %s", w->def->name, attempt, START_TRIES,
             pause_s, err);
    for (int slept = 0; slept < pause_s * 10 && !fofal_stopped(&fofal_stop); slept++) usleep(100 * 1000);
  }
  if (w->rc) return NULL; /* stopped while starting */
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
  int per = (int)nworkers;
  if (per <= 0) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    per = cores < 1 ? 1 : cores > 4 ? 4 : (int)cores;
  }
  const fofal_projection_def_t *defs[MAX_WORKERS];
  int ndefs = 0;
  if (!*names) /* every registered projection */
    for (int i = 0; fofal_projections[i]; i++) {
      if (ndefs == MAX_WORKERS) goto too_many;
      defs[ndefs++] = fofal_projections[i];
    }
  char *list = fofal_strdup(names), *save = NULL;
  for (char *m = strtok_r(list, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
    if (ndefs == MAX_WORKERS) {
      free(list);
      goto too_many;
    }
    const fofal_projection_def_t *def = fofal_projection_find(m);
    if (!def) {
      LOG_ERROR("refusing to start: no projection named \"%s\"", m);
      free(list);
      fofal_settings_free(settings, NSET);
      return 2;
    }
    defs[ndefs++] = def;
  }
  free(list);
  for (int d = 0; d < ndefs; d++)
    for (int k = 0; k < per; k++) {
      if (n == MAX_WORKERS) goto too_many;
      workers[n++] = (worker_t){.def = defs[d], .worker = k, .workers = per};
    }
  for (int i = 0; i < n; i++) pthread_create(&workers[i].th, NULL, run_one, &workers[i]);
  for (int i = 0; i < n; i++) {
    pthread_join(workers[i].th, NULL);
    if (workers[i].rc) rc = 1;
  }
  fofal_settings_free(settings, NSET);
  return rc;
too_many: /* never a projection silently left out */
  LOG_ERROR("refusing to start: more than %d projections to run: raise MAX_WORKERS in projections/projector_main.c",
            MAX_WORKERS);
  fofal_settings_free(settings, NSET);
  return 1;
}
