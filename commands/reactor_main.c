/*
 * reactor_main.c — fofal-reactor: the process around the reactions' stream processor.
 *
 * Reads its settings, refuses to start if an event topic could lose events or if the
 * reactions' table is malformed, loads the command schemas (a reaction's command is keyed
 * and checked like the API's), then runs the processor (reactor.c) until SIGINT/SIGTERM. It
 * exits non-zero on a fatal error (fenced, a consumer error) so that its supervisor
 * restarts it; a restart carries on from the offsets committed with the last batch.
 */
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *brokers, *instance, *schemas, *log_level;
static long long max_batch, stats_s;

static fofal_kafka_security_t kafka_security; /* strings owned by the settings table */
static fofal_setting_t settings[] = {
    {"FOFAL_KAFKA_BROKERS", FOFAL_SET_STR, "127.0.0.1:19092", 0, 0, "Kafka bootstrap servers.", &brokers},
    FOFAL_KAFKA_SECURITY_SETTINGS(kafka_security),
    {"FOFAL_REACTOR_INSTANCE", FOFAL_SET_STR, "1", 0, 0,
     "Stable id of this reactor instance; names its transactional.id (fofal-reactor-<id>), so a restarted instance "
     "fences its predecessor.",
     &instance},
    {"FOFAL_SCHEMAS_DIR", FOFAL_SET_STR, FOFAL_SOURCE_DIR "/schemas", 0, 0, "Folder of the JSON Schemas.", &schemas},
    {"FOFAL_REACTOR_MAX_BATCH", FOFAL_SET_INT, "2000", 1, 100000, "Event records handled per Kafka transaction, at most.",
     &max_batch},
    {"FOFAL_STATS_INTERVAL_S", FOFAL_SET_INT, "60", 0, 86400, "Log processing counters this often (0: never).",
     &stats_s},
    {"FOFAL_LOG_LEVEL", FOFAL_SET_STR, "info", 0, 0, "debug, info, warn or error.", &log_level},
};
#define NSET (sizeof settings / sizeof settings[0])

/* The --help text: the usage, then every registered reaction. New string. */
static char *usage(void) {
  char *s = fofal_strdup("Usage: fofal-reactor [--config FILE] [--option=value ...]\n\n"
                         "Runs the reactions between modules: reads the event topics they listen to and sends each "
                         "trigger's command to " FOFAL_TOPIC_COMMANDS ", exactly once; what cannot be carried out goes "
                         "to " FOFAL_TOPIC_REACTIONS_DLQ " with its reason (README, \"Reactions\").\n\nReactions:");
  for (int m = 0; fofal_reaction_modules[m]; m++)
    for (const fofal_reaction_t *r = fofal_reaction_modules[m]->reactions; r && r->name; r++)
      for (int i = 0; r->on[i]; i++) {
        char *t = fofal_asprintf("%s\n  %s\n      on %s: %s", s, i ? "" : r->name, r->on[i], r->summary);
        free(s);
        s = t;
      }
  return s;
}

int main(int argc, char **argv) {
  char err[512];
  int rc = 1;
  fofal_registry_t *reg = NULL;
  fofal_reactor_t *r = NULL;
  char *help = usage();
  int early = fofal_process_start("fofal-reactor", settings, NSET, argc, argv, help, &log_level);
  if (early >= 0) {
    free(help);
    return early;
  }
  if (fofal_reactions_check(err, sizeof err)) {
    LOG_ERROR("refusing to start: %s", err);
    goto out;
  }
  if (fofal_topics_require(brokers, err, sizeof err)) {
    LOG_ERROR("refusing to start: %s", err);
    goto out;
  }
  if (fofal_registry_load(&reg, schemas, err, sizeof err)) {
    LOG_ERROR("refusing to start: %s", err);
    goto out;
  }
  fofal_reactor_opts_t ro = {.brokers = brokers, .instance_id = instance, .registry = reg, .max_batch = (int)max_batch,
                             .stop = &fofal_stop, .stats_interval_s = (int)stats_s};
  if (fofal_reactor_new(&r, &ro, err, sizeof err)) {
    LOG_ERROR("cannot start: %s", err);
    goto out;
  }
  LOG_INFO("reacting (instance %s, batches of up to %lld)", instance, max_batch);
  if (fofal_reactor_run(r, err, sizeof err)) {
    LOG_ERROR("stopping: %s", err);
    goto out;
  }
  rc = 0;
out:
  if (r) fofal_reactor_log_stats(r);
  fofal_reactor_free(r);
  fofal_registry_free(reg);
  fofal_settings_free(settings, NSET);
  free(help);
  return rc;
}
