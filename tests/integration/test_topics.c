/*
 * test_topics.c — guarantee 1's second half: every process refuses to start against an
 * event topic that could lose events (finite retention, or compaction), and says why;
 * `fofal topics check` reports it too.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static void set_config(const char *name, const char *value) {
  char err[256];
  fofal_kafka_t *k = NULL;
  fofal_kafka_opts_t o = {.brokers = h_env("FOFAL_KAFKA_BROKERS"), .client_id = "fofal-test-admin"};
  cr_assert_eq(fofal_kafka_producer_new(&k, &o, err, sizeof err), 0, "%s", err);
  cr_assert_eq(fofal_kafka_topic_set_config(k, "fofal.production.events", name, value, err, sizeof err), 0, "%s", err);
  fofal_kafka_free(k);
}

static void restore(void) {
  set_config("cleanup.policy", "delete");
  set_config("retention.ms", "-1");
}

/* Starts `rel` and expects it to exit non-zero within 30 s, its log naming the reason. */
static void expect_refusal(const char *rel, const char *logname, const char *reason) {
  char path[1024];
  snprintf(path, sizeof path, "%s/logs/%s.log", h_env("FOFAL_STACK_DIR"), logname);
  unlink(path);
  int port = h_free_port();
  char p[64];
  snprintf(p, sizeof p, "FOFAL_HTTP_PORT=%d", port);
  const char *env[] = {p, NULL};
  pid_t pid = h_spawn(rel, logname, NULL, env);
  int status = 0, exited = 0;
  for (int i = 0; i < 300 && !exited; i++) {
    if (waitpid(pid, &status, WNOHANG) == pid) exited = 1;
    else usleep(100 * 1000);
  }
  if (!exited) {
    h_stop(pid, SIGKILL);
    cr_assert_fail("%s started against an unsafe event topic", rel);
  }
  cr_expect(WIFEXITED(status) && WEXITSTATUS(status) != 0, "%s must exit non-zero", rel);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "no log at %s", path);
  char buf[8192] = "";
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  cr_expect(strstr(buf, "refusing to start") && strstr(buf, reason), "%s's log must say why:\n%s", rel, buf);
}

static const char *const procs[][2] = {{"commands/fofal-decider", "test-refuse-decider"},
                                       {"projections/fofal-projector", "test-refuse-projector"},
                                       {"api/fofal-api", "test-refuse-api"},
                                       {"ingest/fofal-ingest", "test-refuse-ingest"},
                                       {"commands/fofal-reactor", "test-refuse-reactor"}};

Test(topics, processes_refuse_finite_retention, .fini = restore, .timeout = 240) {
  set_config("retention.ms", "86400000");
  for (size_t i = 0; i < sizeof procs / sizeof procs[0]; i++) expect_refusal(procs[i][0], procs[i][1], "retention.ms=86400000");
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s/ops/fofal topics check > /dev/null 2>&1", h_env("FOFAL_BUILD_DIR"));
  int st = system(cmd);
  cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 1, "fofal topics check must fail");
}

Test(topics, processes_refuse_compaction, .fini = restore, .timeout = 240) {
  set_config("cleanup.policy", "compact");
  for (size_t i = 0; i < sizeof procs / sizeof procs[0]; i++) expect_refusal(procs[i][0], procs[i][1], "cleanup.policy=compact");
}

Test(topics, a_safe_topic_passes_the_check, .timeout = 60) {
  char err[256];
  cr_expect_eq(fofal_topics_require(h_env("FOFAL_KAFKA_BROKERS"), err, sizeof err), 0, "%s", err);
}

/* ------------------------------------------------ a topic that arrives late */

static fofal_kafka_t *admin(void) {
  char err[256];
  fofal_kafka_t *k = NULL;
  fofal_kafka_opts_t o = {.brokers = h_env("FOFAL_KAFKA_BROKERS"), .client_id = "fofal-test-admin"};
  cr_assert_eq(fofal_kafka_producer_new(&k, &o, err, sizeof err), 0, "%s", err);
  return k;
}

static void *create_late(void *arg) {
  const char *name = arg;
  char err[256];
  usleep(1500 * 1000);
  fofal_kafka_t *k = admin();
  fofal_topic_spec_t spec = {.kind = FOFAL_TOPIC_BOUNDED, .partitions = 2, .retention_ms = 3600 * 1000};
  snprintf(spec.name, sizeof spec.name, "%s", name);
  int rc = fofal_topics_ensure(k, &spec, 1, 1, NULL, NULL, err, sizeof err);
  fofal_kafka_free(k);
  if (rc) fprintf(stderr, "creating %s: %s\n", name, err);
  return NULL;
}

/* A process that starts while its topic is being created (or before the broker's metadata
 * has it, on a loaded machine) finds it within its wait instead of refusing to start on
 * "does not exist"; a topic that never comes is still refused. */
Test(topics, a_topic_that_arrives_within_the_wait_is_found, .timeout = 90) {
  char name[128], err[256];
  snprintf(name, sizeof name, "fofal-test.late-%d-%ld", (int)getpid(), (long)time(NULL));
  fofal_kafka_t *k = admin();
  pthread_t th;
  pthread_create(&th, NULL, create_late, name);
  int n = fofal_kafka_partition_count_wait(k, name, 20000, err, sizeof err);
  pthread_join(th, NULL);
  cr_expect_eq(n, 2, "the late topic's partitions: %d (%s)", n, n < 0 ? err : "");
  int64_t t0 = fofal_mono_us();
  n = fofal_kafka_partition_count_wait(k, "fofal-test.never-there", 2000, err, sizeof err);
  cr_expect_eq(n, FOFAL_ENOENT, "a missing topic: %d", n);
  cr_expect(fofal_mono_us() - t0 < 10 * 1000000LL, "the wait is bounded by its timeout");
  fofal_kafka_free(k);
}
