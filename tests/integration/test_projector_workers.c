/*
 * test_projector_workers.c — projector workers side by side (projector.c, "Workers"):
 * two fofal-projector processes that split the partitions differently (one worker, then
 * three; one of them killed with SIGKILL and started again with two) project one backlog
 * of several tenants at the same time. Each batch holds the projector's lock shared and
 * its partitions' locks exclusive, so whoever owns a partition in common takes turns on it
 * and re-reads its positions: every event is applied exactly once (the audit trail holds
 * each event once, the declared totals are right, nothing lands in projection_errors),
 * and `fofal verify` finds the live read model equal to a fresh rebuild — whose shadow is
 * itself split across workers.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "harness.h"
#include "projections.h"

enum { TENANTS = 6, ORDERS = 60, Q1 = 40, Q2 = 50 };

static pid_t procs[4];

static void kill_all(void) {
  for (int i = 0; i < 4; i++)
    if (procs[i]) h_stop(procs[i], SIGKILL), procs[i] = 0;
}

TestSuite(projector_workers, .fini = kill_all);

static pid_t start_projector(const char *instance, const char *workers) {
  char w[64], log[96];
  snprintf(w, sizeof w, "FOFAL_PROJECTOR_WORKERS=%s", workers);
  snprintf(log, sizeof log, "test-projector-%s", instance);
  /* Small batches: many batch boundaries, so the two processes interleave. */
  const char *env[] = {"FOFAL_LOG_LEVEL=info", "FOFAL_PROJECTOR_MAX_BATCH=50", w, NULL};
  return h_spawn("projections/fofal-projector", log, NULL, env);
}

static long long pg_count(fofal_pg_t *pg, const char *sql, const char *param) {
  char err[512], *v = NULL;
  const char *params[] = {param};
  cr_assert_eq(fofal_pg_query_value(pg, sql, param ? 1 : 0, param ? params : NULL, &v, err, sizeof err), 0, "%s: %s", sql,
               err);
  long long n = v ? atoll(v) : 0;
  free(v);
  return n;
}

/* Events of the tenants in fofal.production.events, and the partitions they are in. */
static long long events_of(char tenants[TENANTS][32], int *partitions) {
  json_t *all = h_read_topic("fofal.production.events");
  long long n = 0;
  int seen[1024] = {0};
  *partitions = 0;
  size_t i;
  json_t *r;
  json_array_foreach(all, i, r) {
    const char *t = json_string_value(json_object_get(json_object_get(r, "value"), "fofaltenant"));
    for (int k = 0; t && k < TENANTS; k++)
      if (!strcmp(t, tenants[k])) {
        n++;
        int p = (int)json_integer_value(json_object_get(r, "partition"));
        if (p >= 0 && p < 1024 && !seen[p]++) (*partitions)++;
      }
  }
  json_decref(all);
  return n;
}

static void expect_verify_equal(const char *projection) {
  char *out = NULL;
  int redis = !strcmp(projection, "production");
  const char *args[] = {"verify", projection, redis ? "--redis" : NULL, NULL};
  int st = h_run_cli(900, &out, args), lines = 0;
  cr_log_info("fofal verify %s:\n%s", projection, out);
  for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"), lines++)
    cr_expect(strstr(line, " OK"), "verify %s: %s", projection, line);
  cr_expect(st == 0, "fofal verify %s exited %d", projection, st);
  cr_expect(lines >= 1, "verify %s printed nothing", projection);
  free(out);
}

Test(projector_workers, two_processes_split_differently_apply_each_event_once, .timeout = 900) {
  char tenants[TENANTS][32], decl_shift[32], decl_at[40];
  h_current_shift(decl_shift, decl_at);
  procs[0] = h_start_decider("it-workers");
  procs[1] = start_projector("it-workers-a", "1");
  procs[2] = start_projector("it-workers-b", "3");

  char err[256];
  fofal_kafka_t *k = NULL;
  fofal_kafka_opts_t o = {.brokers = h_env("FOFAL_KAFKA_BROKERS"), .client_id = "fofal-test-workers"};
  cr_assert_eq(fofal_kafka_producer_new(&k, &o, err, sizeof err), 0, "%s", err);
  for (int t = 0; t < TENANTS; t++) {
    h_tenant(tenants[t]);
    h_floor_produce(k, tenants[t], "L01", "W7", "FOUTA-RB");
  }
  /* Orders of every tenant interleaved, so every partition moves throughout. */
  for (int i = 0; i < ORDERS; i++) {
    for (int t = 0; t < TENANTS; t++) {
      char agg[FOFAL_UUID_LEN + 1], id[160];
      fofal_uuid7(agg);
      const char *steps[] = {"production.order.create", "production.order.release", "production.order.start",
                             "production.order.declare_output", "production.order.declare_output"};
      for (int s = 0; s < 5; s++) {
        json_t *data = s == 0   ? json_pack("{s:s,s:s,s:i}", "order_id", agg, "article", "FOUTA-RB", "quantity", 1000)
                       : s == 2 ? json_pack("{s:s,s:s}", "order_id", agg, "loom", "L01")
                       : s >= 3 ? json_pack("{s:s,s:i,s:s,s:s}", "order_id", agg, "quantity", s == 3 ? Q1 : Q2, "weaver",
                                            "W7", "woven_at", decl_at)
                                : json_pack("{s:s}", "order_id", agg);
        snprintf(id, sizeof id, "%s-%d-%s", tenants[t], s, agg);
        h_produce_command(k, tenants[t], id, steps[s], agg, data);
      }
    }
    if (i == ORDERS / 3) {
      /* Mid-way: one process dies (SIGKILL) and comes back split otherwise. */
      cr_assert_eq(fofal_kafka_flush(k, 60000), 0);
      usleep(1500 * 1000);
      h_stop(procs[1], SIGKILL);
      procs[1] = start_projector("it-workers-a2", "2");
    }
  }
  cr_assert_eq(fofal_kafka_flush(k, 60000), 0, "commands not delivered");
  fofal_kafka_free(k);

  /* Wait until the decider has written every order's last event, and both projections
   * hold all the tenants' events. */
  fofal_pg_t *pg = NULL;
  cr_assert_eq(fofal_pg_connect(&pg, h_env("FOFAL_PG_DSN"), err, sizeof err), 0, "%s", err);
  char list[TENANTS * 34 + 4] = "{";
  for (int t = 0; t < TENANTS; t++) snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", t ? "," : "", tenants[t]);
  strcat(list, "}");
  long long expected = 0, audit = -1, declared = -1;
  int partitions = 0;
  int64_t deadline = fofal_mono_us() + 600 * 1000000LL;
  /* Every order's last event is a declaration: once the totals are all there, the log
   * holds every event of the tenants; then the audit trail must reach exactly that. */
  while ((declared = pg_count(pg, "SELECT coalesce(sum(declared), 0) FROM production.orders WHERE tenant = ANY($1::text[])",
                              list)) < (long long)TENANTS * ORDERS * (Q1 + Q2)) {
    cr_assert(fofal_mono_us() < deadline, "not caught up within 600 s: %lld declared", declared);
    sleep(1);
  }
  cr_expect_eq(declared, (long long)TENANTS * ORDERS * (Q1 + Q2), "a declaration was applied twice");
  expected = events_of(tenants, &partitions);
  /* production's audit rows: the floor's article and weaver are other modules' (catalog, hr). */
  while ((audit = pg_count(pg, "SELECT count(*) FROM audit.events WHERE tenant = ANY($1::text[]) AND module = 'production'",
                           list)) < expected) {
    cr_assert(fofal_mono_us() < deadline, "not caught up within 600 s: %lld of %lld events in audit.events", audit,
              expected);
    sleep(1);
  }
  cr_expect_eq(audit, expected, "audit.events holds %lld production events of the tenants, the log %lld", audit, expected);
  cr_log_info("%lld events of %d tenants in %d partitions, projected by two processes", expected, TENANTS, partitions);
  cr_expect(partitions > 1, "the tenants' events are all in one partition: the split is not exercised");
  cr_expect_eq(pg_count(pg, "SELECT count(*) FROM fofal_meta.projection_errors", NULL), 0,
               "an event was skipped as bad (e.g. applied twice: a duplicate key)");
  cr_expect_eq(pg_count(pg, "SELECT count(*) FROM production.orders WHERE tenant = ANY($1::text[])", list),
               (long long)TENANTS * ORDERS);
  cr_expect_eq(pg_count(pg, "SELECT count(*) FROM production.declarations WHERE tenant = ANY($1::text[])", list),
               (long long)TENANTS * ORDERS * 2);
  fofal_pg_close(pg);
  sleep(2); /* the Redis step follows each PostgreSQL commit */
  expect_verify_equal("production");
  expect_verify_equal("audit.production");
  kill_all();
}
