/*
 * test_scale_out.c — two of each process on one stack (issue 20, "Scale-out, tested"): two
 * fofal-api, two fofal-decider (one consumer group: they split fofal.commands' partitions)
 * and two fofal-projector share the load of several tenants' phones. Mid-way one of each
 * is killed with SIGKILL and not started again: the phones of the dead API go to the other
 * one with the same Idempotency-Key, the surviving decider takes the dead one's partitions
 * once the group notices (session timeout) and the dead one's open transaction has timed
 * out, and the surviving projector (the two split each projection's partitions through a
 * consumer group, FOFAL_PROJECTOR_GROUP=1) gets the dead one's partitions.
 *
 * Nothing is lost: every command gets its 201. Nothing is duplicated: each command's
 * events are in the log exactly once, every aggregate's sequence numbers run 1..n, and the
 * read model's totals are exact and equal to a rebuild (fofal verify). The log shows both
 * deciders decided, and the test logs the throughput and the longest wait a phone saw
 * after the kills (the rebalance).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "harness.h"
#include "projections.h"

enum { TENANTS = 6, ORDERS = 40, STEPS = 4, Q = 7 };

static pid_t procs[6]; /* decider a, b; projector a, b; api a, b */

static void kill_all(void) {
  for (int i = 0; i < 6; i++)
    if (procs[i]) h_stop(procs[i], SIGKILL), procs[i] = 0;
}

TestSuite(scale_out, .fini = kill_all);

/* A projector that shares the partitions with the other through the consumer groups. */
static pid_t start_projector(const char *instance) {
  char log[96];
  snprintf(log, sizeof log, "test-projector-%s", instance);
  const char *env[] = {"FOFAL_LOG_LEVEL=info", "FOFAL_PROJECTOR_GROUP=1", NULL};
  return h_spawn("projections/fofal-projector", log, NULL, env);
}

typedef struct {
  char tenant[32];
  char *token;
  const int *ports; /* [0] this phone's API, [1] the other one */
  const char *decl_at;
  volatile int *done_total;
  volatile int *killed; /* set once the B processes are dead */
  int failed, switched;
  int64_t max_after_kill_us; /* the longest command after the kills */
  char why[256];
} phone_t;

/* One command as a phone sends it: the same key until it is decided, to the other API
 * when this one does not answer. The final HTTP status. */
static int send(phone_t *ph, int *api, const char *type, const char *key, const char *body) {
  int64_t t0 = fofal_mono_us(), deadline = t0 + 180 * 1000000LL;
  int st;
  for (;;) {
    st = h_command(ph->ports[*api], ph->token, type, key, NULL, body, NULL);
    if (st == 0) { /* no answer: this API is gone */
      *api = !*api;
      ph->switched++;
    }
    if ((st != 0 && st != 202 && st != 503) || fofal_mono_us() > deadline) break;
    usleep(100 * 1000);
  }
  if (*ph->killed) {
    int64_t dt = fofal_mono_us() - t0;
    if (dt > ph->max_after_kill_us) ph->max_after_kill_us = dt;
  }
  return st;
}

static void *phone(void *arg) {
  phone_t *ph = arg;
  int api = 0;
  char body[512], key[96];
  for (int i = 0; i < ORDERS && !ph->failed; i++) {
    char order[FOFAL_UUID_LEN + 1];
    fofal_uuid7(order);
    for (int s = 0; s < STEPS; s++) {
      static const char *const types[] = {"production.order.create", "production.order.release",
                                          "production.order.start", "production.order.declare_output"};
      if (s == 0) snprintf(body, sizeof body, "{\"order_id\":\"%s\",\"article\":\"FOUTA-SO\",\"quantity\":1000}", order);
      else if (s == 2) snprintf(body, sizeof body, "{\"order_id\":\"%s\",\"loom\":\"L01\"}", order);
      else if (s == 3)
        snprintf(body, sizeof body, "{\"order_id\":\"%s\",\"quantity\":%d,\"weaver\":\"W1\",\"woven_at\":\"%s\"}", order, Q,
                 ph->decl_at);
      else snprintf(body, sizeof body, "{\"order_id\":\"%s\"}", order);
      snprintf(key, sizeof key, "so-%d-%d", i, s);
      int st = send(ph, &api, types[s], key, body);
      if (st != 201) {
        ph->failed = 1;
        snprintf(ph->why, sizeof ph->why, "%s %s answered %d", types[s], key, st);
        break;
      }
      __atomic_add_fetch(ph->done_total, 1, __ATOMIC_RELAXED);
    }
  }
  return NULL;
}

static long long pg_count(fofal_pg_t *pg, const char *sql, const char *param) {
  char err[512], *v = NULL;
  const char *params[] = {param};
  cr_assert_eq(fofal_pg_query_value(pg, sql, 1, params, &v, err, sizeof err), 0, "%s: %s", sql, err);
  long long n = v ? atoll(v) : 0;
  free(v);
  return n;
}

static void expect_verify_equal(const char *projection) {
  char *out = NULL;
  const char *args[] = {"verify", projection, NULL};
  int st = h_run_cli(600, &out, args), lines = 0;
  cr_log_info("fofal verify %s:\n%s", projection, out);
  for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"), lines++)
    cr_expect(strstr(line, " OK"), "verify %s: %s", projection, line);
  cr_expect(st == 0, "fofal verify %s exited %d", projection, st);
  cr_expect(lines >= 1, "verify %s printed nothing", projection);
  free(out);
}

Test(scale_out, two_of_each_then_one_of_each_killed_loses_and_duplicates_nothing, .timeout = 600) {
  char shift[32], decl_at[40], list[TENANTS * 34 + 4] = "{";
  int ports[2] = {h_free_port(), 0};
  h_current_shift(shift, decl_at);
  procs[0] = h_start_decider("it-scale-a");
  procs[1] = h_start_decider("it-scale-b");
  procs[2] = start_projector("it-scale-a");
  procs[3] = start_projector("it-scale-b");
  procs[4] = h_start_api(ports[0]);
  ports[1] = h_free_port();
  procs[5] = h_start_api(ports[1]);

  static volatile int done_total, killed;
  phone_t ph[TENANTS];
  int other[TENANTS][2];
  for (int t = 0; t < TENANTS; t++) {
    memset(&ph[t], 0, sizeof ph[t]);
    h_tenant(ph[t].tenant);
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", t ? "," : "", ph[t].tenant);
    /* Half the phones talk to API a, half to API b (the one that will die). */
    other[t][0] = ports[t % 2];
    other[t][1] = ports[!(t % 2)];
    ph[t].ports = other[t];
    ph[t].token = h_token(ph[t].tenant, "admin");
    ph[t].decl_at = decl_at;
    ph[t].done_total = &done_total;
    ph[t].killed = &killed;
    h_floor_http(other[t][0], ph[t].tenant, "L01", "W1", "FOUTA-SO");
  }
  strcat(list, "}");

  int64_t t0 = fofal_mono_us();
  pthread_t th[TENANTS];
  for (int t = 0; t < TENANTS; t++) pthread_create(&th[t], NULL, phone, &ph[t]);
  /* A third of the way: decider b, projector b and API b die, and stay dead. */
  const int total = TENANTS * ORDERS * STEPS;
  int64_t deadline = fofal_mono_us() + 240 * 1000000LL;
  while (__atomic_load_n(&done_total, __ATOMIC_RELAXED) < total / 3 && fofal_mono_us() < deadline) usleep(20 * 1000);
  int at_kill = __atomic_load_n(&done_total, __ATOMIC_RELAXED);
  cr_assert_lt(at_kill, total, "the phones finished before the kills: use more orders");
  int a_assigned = h_log_count("test-projector-it-scale-a", "projector production: assigned");
  h_stop(procs[1], SIGKILL), procs[1] = 0;
  h_stop(procs[3], SIGKILL), procs[3] = 0;
  h_stop(procs[5], SIGKILL), procs[5] = 0;
  killed = 1;
  int64_t t_kill = fofal_mono_us();
  for (int t = 0; t < TENANTS; t++) pthread_join(th[t], NULL);
  double secs = (double)(fofal_mono_us() - t0) / 1e6;
  int64_t max_wait = 0;
  int switched = 0;
  for (int t = 0; t < TENANTS; t++) {
    cr_expect(!ph[t].failed, "tenant %s: %s", ph[t].tenant, ph[t].why);
    if (ph[t].max_after_kill_us > max_wait) max_wait = ph[t].max_after_kill_us;
    switched += ph[t].switched;
  }
  cr_assert_eq(done_total, total, "every command is decided (%d of %d)", done_total, total);
  cr_log_info("%d commands by %d phones through 2 APIs and 2 deciders, one of each killed after %d: %.1f s, %.0f commands/s; "
              "the longest command after the kills took %.1f s; %d phone(s) moved to the other API",
              total, TENANTS, at_kill, secs, total / secs, max_wait / 1e6, switched);
  cr_expect(switched >= TENANTS / 2, "the phones of the dead API moved to the other (%d moves)", switched);
  cr_expect_lt(max_wait, 60 * 1000000LL, "the survivors took over within seconds (longest command %.1f s)", max_wait / 1e6);

  /* The read model: every order and declaration once, from the surviving projector. Its
   * totals are complete only once the dead decider's open transaction has ended (aborted
   * at its timeout): until then, read-committed readers stop at it, and so does the log
   * read below. */
  char err[512];
  fofal_pg_t *pg = NULL;
  cr_assert_eq(fofal_pg_connect(&pg, h_env("FOFAL_PG_DSN"), err, sizeof err), 0, "%s", err);
  long long declared;
  deadline = fofal_mono_us() + 180 * 1000000LL;
  while ((declared = pg_count(pg, "SELECT coalesce(sum(declared), 0) FROM production.orders WHERE tenant = ANY($1::text[])",
                              list)) < (long long)TENANTS * ORDERS * Q &&
         fofal_mono_us() < deadline)
    sleep(1);
  cr_expect_eq(declared, (long long)TENANTS * ORDERS * Q, "declared pieces in the read model");
  cr_log_info("the read model held every declaration %.1f s after the kills", (fofal_mono_us() - t_kill) / 1e6);
  cr_expect_eq(pg_count(pg, "SELECT count(*) FROM production.orders WHERE tenant = ANY($1::text[])", list),
               (long long)TENANTS * ORDERS);
  cr_expect_eq(pg_count(pg, "SELECT count(*) FROM production.declarations WHERE tenant = ANY($1::text[])", list),
               (long long)TENANTS * ORDERS);
  /* The log: each command's events once; every aggregate's seq 1..n; both deciders wrote. */
  json_t *all = h_read_module_events(), *count = json_object(), *seqs = json_object(), *rec;
  size_t i;
  json_array_foreach(all, i, rec) {
    json_t *v = json_object_get(rec, "value");
    const char *tn = json_string_value(json_object_get(v, "fofaltenant")) ?: "";
    if (!strstr(list, tn) || !*tn) continue;
    const char *cid = json_string_value(json_object_get(v, "fofalcommandid"));
    const char *key = cid ? strrchr(cid, '/') : NULL;
    if (key && !strncmp(key, "/so-", 4)) {
      char k[160];
      snprintf(k, sizeof k, "%s%s", tn, key);
      json_object_set_new(count, k, json_integer(json_integer_value(json_object_get(count, k)) + 1));
    }
    char agg[160];
    snprintf(agg, sizeof agg, "%s/%s", tn, json_string_value(json_object_get(v, "subject")) ?: "");
    json_int_t seq = json_integer_value(json_object_get(v, "fofalseq"));
    json_int_t last = json_integer_value(json_object_get(seqs, agg));
    cr_expect_eq(seq, last + 1, "aggregate %s: seq %lld after %lld", agg, (long long)seq, (long long)last);
    json_object_set_new(seqs, agg, json_integer(seq));
  }
  cr_expect_eq(json_object_size(count), (size_t)total, "every command has its events (%zu of %d)", json_object_size(count),
               total);
  const char *k;
  json_t *n;
  json_object_foreach(count, k, n) {
    /* A start also tells the loom; a declaration also consumes the beam. */
    int step = atoi(strrchr(k, '-') + 1);
    json_int_t want = step >= 2 ? 2 : 1;
    cr_expect_eq(json_integer_value(n), want, "command %s has %lld events, expected exactly %lld", k,
                 (long long)json_integer_value(n), (long long)want);
  }
  json_decref(count);
  json_decref(seqs);
  json_decref(all);
  cr_expect_gt(h_log_count("test-decider-it-scale-b", "assigned "),
               h_log_count("test-decider-it-scale-b", "assigned 0 partition"), "decider b never had a partition");
  /* The projectors split the partitions (each had some of production's, not all), and the
   * survivor took the dead one's. */
  cr_expect_geq(h_log_count("test-projector-it-scale-b", "projector production: assigned"), 1,
                "projector b never had a partition of production");
  cr_expect_gt(h_log_count("test-projector-it-scale-a", "projector production: assigned"), a_assigned,
               "projector a was not given the dead one's partitions");

  fofal_pg_close(pg);
  sleep(2); /* the Redis step follows each PostgreSQL commit */
  expect_verify_equal("production");
  for (int t = 0; t < TENANTS; t++) free(ph[t].token);
  kill_all();
}
