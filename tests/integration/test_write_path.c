/*
 * test_write_path.c — the write path against the real Kafka (DESIGN.md guarantees 1–4):
 * duplicates write once, concurrent conflicting commands have exactly one winner, a
 * decider killed with SIGKILL mid-batch neither loses nor repeats a decision, and a Kafka
 * restart during writes loses nothing and duplicates nothing.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "harness.h"

/* Events of `tenant` in every module's topic, counted per command id (a new object). */
static json_t *events_by_command(const char *tenant, json_t **all_out) {
  json_t *all = h_read_module_events(), *by = json_object(), *rec;
  size_t i;
  json_array_foreach(all, i, rec) {
    json_t *v = json_object_get(rec, "value");
    if (strcmp(json_string_value(json_object_get(v, "fofaltenant")) ?: "", tenant)) continue;
    const char *cid = json_string_value(json_object_get(v, "fofalcommandid"));
    if (!cid) continue;
    json_int_t n = json_integer_value(json_object_get(by, cid));
    json_object_set_new(by, cid, json_integer(n + 1));
  }
  if (all_out) *all_out = all;
  else json_decref(all);
  return by;
}

Test(write_path, duplicates_write_once, .timeout = 180) {
  char tenant[32];
  h_tenant(tenant);
  char *tok = h_token(tenant, "planner");
  int port = h_free_port();
  pid_t dec = h_start_decider("it-dup");
  pid_t api = h_start_api(port);
  const char *body = "{\"article\":\"FOUTA-DUP\",\"quantity\":10}";

  json_t *first = NULL;
  cr_assert_eq(h_command_ok(port, tok, "production.order.create", "dup-1", NULL, body, &first), 201);
  const char *ev_id = json_string_value(json_object_get(json_array_get(json_object_get(first, "events"), 0), "id"));
  cr_assert_not_null(ev_id);
  for (int i = 0; i < 3; i++) {
    json_t *again = NULL;
    cr_assert_eq(h_command_ok(port, tok, "production.order.create", "dup-1", NULL, body, &again), 201);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(again, "events"), 0), "id")), ev_id,
                     "a retry must return the first result");
    json_decref(again);
  }
  /* Restart both: the decider must remember from Kafka alone, not from the API's cache. */
  h_stop(api, SIGTERM);
  h_stop(dec, SIGKILL);
  dec = h_start_decider("it-dup");
  api = h_start_api(port);
  json_t *after = NULL;
  cr_assert_eq(h_command_ok(port, tok, "production.order.create", "dup-1", NULL, body, &after), 201);
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(after, "events"), 0), "id")), ev_id);
  json_decref(after);

  json_t *by = events_by_command(tenant, NULL);
  /* The command's id is its key scoped to the token's subject (h_token: "tester"). */
  cr_assert_eq(json_integer_value(json_object_get(by, "tester/dup-1")), 1, "expected exactly one event for the command");
  json_decref(by);
  json_decref(first);
  h_stop(api, SIGTERM);
  h_stop(dec, SIGTERM);
  free(tok);
}

typedef struct {
  int port;
  const char *tok, *order, *if_match;
  char key[64];
  int status;
  char code[64];
} racer_t;

static void *race(void *arg) {
  racer_t *r = arg;
  char body[128];
  json_t *res = NULL;
  snprintf(body, sizeof body, "{\"order_id\":\"%s\"}", r->order);
  r->status = h_command_ok(r->port, r->tok, "production.order.release", r->key, r->if_match, body, &res);
  snprintf(r->code, sizeof r->code, "%s", json_string_value(json_object_get(res, "code")) ?: "");
  json_decref(res);
  return NULL;
}

static void race_release(int port, const char *tok, const char *tenant, const char *if_match, int *won, int *lost,
                         const char *lost_code) {
  (void)tenant;
  char order[FOFAL_UUID_LEN + 1], key[64], body[160];
  fofal_uuid7(order);
  snprintf(key, sizeof key, "create-%s", order);
  snprintf(body, sizeof body, "{\"order_id\":\"%s\",\"article\":\"FOUTA-RACE\",\"quantity\":5}", order);
  cr_assert_eq(h_command_ok(port, tok, "production.order.create", key, NULL, body, NULL), 201);
  enum { N = 12 };
  racer_t rs[N];
  pthread_t th[N];
  for (int i = 0; i < N; i++) {
    rs[i] = (racer_t){.port = port, .tok = tok, .order = order, .if_match = if_match};
    snprintf(rs[i].key, sizeof rs[i].key, "rel-%d-%s", i, order);
    pthread_create(&th[i], NULL, race, &rs[i]);
  }
  *won = *lost = 0;
  for (int i = 0; i < N; i++) {
    pthread_join(th[i], NULL);
    if (rs[i].status == 201) (*won)++;
    else if (!strcmp(rs[i].code, lost_code)) (*lost)++;
    else cr_log_error("racer %d: status %d code %s", i, rs[i].status, rs[i].code);
  }
}

Test(write_path, concurrent_conflicts_have_one_winner, .timeout = 180) {
  char tenant[32];
  h_tenant(tenant);
  char *tok = h_token(tenant, "planner");
  int port = h_free_port(), won, lost;
  pid_t dec = h_start_decider("it-race");
  pid_t api = h_start_api(port);
  race_release(port, tok, tenant, "1", &won, &lost, "version_conflict");
  cr_expect_eq(won, 1, "with If-Match, exactly one release must win (won %d)", won);
  cr_expect_eq(lost, 11, "the others get 409 version_conflict (got %d)", lost);
  race_release(port, tok, tenant, NULL, &won, &lost, "invalid_transition");
  cr_expect_eq(won, 1, "without If-Match, the state machine still lets exactly one win (won %d)", won);
  cr_expect_eq(lost, 11, "the others are rejected as invalid_transition (got %d)", lost);
  h_stop(api, SIGTERM);
  h_stop(dec, SIGTERM);
  free(tok);
}

/* Produces commands straight to fofal.commands, as the API would. */
static void produce_command(fofal_kafka_t *k, const char *tenant, const char *id, const char *type, const char *agg,
                            json_t *data) {
  h_produce_command(k, tenant, id, type, agg, data);
}

static int64_t results_end(void) {
  char err[256];
  fofal_kafka_t *k = NULL;
  fofal_kafka_opts_t o = {.brokers = h_env("FOFAL_KAFKA_BROKERS"), .client_id = "fofal-test"};
  cr_assert_eq(fofal_kafka_producer_new(&k, &o, err, sizeof err), 0);
  int n = fofal_kafka_partition_count(k, FOFAL_TOPIC_RESULTS, 10000, err, sizeof err);
  int64_t sum = 0;
  for (int p = 0; p < n; p++) {
    int64_t lo, hi;
    cr_assert_eq(fofal_kafka_watermarks(k, FOFAL_TOPIC_RESULTS, p, &lo, &hi, 10000, err, sizeof err), 0, "%s", err);
    sum += hi;
  }
  fofal_kafka_free(k);
  return sum;
}

/* Results of `tenant`: command id → status string (a new object). */
static json_t *results_of(const char *tenant) {
  json_t *all = h_read_topic(FOFAL_TOPIC_RESULTS), *out = json_object(), *rec;
  size_t i;
  json_array_foreach(all, i, rec) {
    json_t *v = json_object_get(rec, "value");
    if (strcmp(json_string_value(json_object_get(v, "tenant")) ?: "", tenant)) continue;
    json_object_set(out, json_string_value(json_object_get(v, "command_id")), json_object_get(v, "status"));
  }
  json_decref(all);
  return out;
}

Test(write_path, kill9_mid_batch_decides_each_command_once, .timeout = 300) {
  enum { ORDERS = 1500 }; /* enough that a loaded machine still kills it mid-way */
  char tenant[32], err[256];
  h_tenant(tenant);
  int64_t base = results_end();
  pid_t dec = h_start_decider("it-kill");
  fofal_kafka_t *k = NULL;
  fofal_kafka_opts_t o = {.brokers = h_env("FOFAL_KAFKA_BROKERS"), .client_id = "fofal-test-producer"};
  cr_assert_eq(fofal_kafka_producer_new(&k, &o, err, sizeof err), 0, "%s", err);
  /* The loom, beam and weaver the orders run with (FLOOR commands, ids "floor-…"). */
  enum { FLOOR = 10 };
  h_floor_produce(k, tenant, "L01", "W1", "FOUTA-K9");
  /* Per order: create, release, start, declare 50 (accepted), declare 200 (rejected: over 110). */
  for (int i = 0; i < ORDERS; i++) {
    char agg[FOFAL_UUID_LEN + 1], id[96];
    fofal_uuid7(agg);
    snprintf(id, sizeof id, "c-%s", agg);
    produce_command(k, tenant, id, "production.order.create", agg,
                    json_pack("{s:s,s:s,s:i}", "order_id", agg, "article", "FOUTA-K9", "quantity", 100));
    snprintf(id, sizeof id, "r-%s", agg);
    produce_command(k, tenant, id, "production.order.release", agg, json_pack("{s:s}", "order_id", agg));
    snprintf(id, sizeof id, "s-%s", agg);
    produce_command(k, tenant, id, "production.order.start", agg, json_pack("{s:s,s:s}", "order_id", agg, "loom", "L01"));
    snprintf(id, sizeof id, "d-%s", agg);
    produce_command(k, tenant, id, "production.order.declare_output", agg,
                    json_pack("{s:s,s:i,s:s}", "order_id", agg, "quantity", 50, "weaver", "W1"));
    snprintf(id, sizeof id, "x-%s", agg);
    produce_command(k, tenant, id, "production.order.declare_output", agg,
                    json_pack("{s:s,s:i,s:s}", "order_id", agg, "quantity", 200, "weaver", "W1"));
  }
  cr_assert_eq(fofal_kafka_flush(k, 30000), 0);
  fofal_kafka_free(k);
  /* Kill it while it works: once some results are committed but not all. */
  int64_t deadline = fofal_mono_us() + 60 * 1000000LL;
  while (results_end() < base + 300 && fofal_mono_us() < deadline) usleep(20 * 1000);
  cr_assert(results_end() < base + ORDERS * 5 + FLOOR, "the decider finished before it could be killed: use more commands");
  h_stop(dec, SIGKILL);
  dec = h_start_decider("it-kill");
  json_t *res = NULL;
  deadline = fofal_mono_us() + 180 * 1000000LL;
  for (;;) {
    json_decref(res);
    res = results_of(tenant);
    if (json_object_size(res) >= ORDERS * 5 + FLOOR || fofal_mono_us() > deadline) break;
    sleep(1);
  }
  cr_assert_eq(json_object_size(res), ORDERS * 5 + FLOOR, "every command gets a result (got %zu)", json_object_size(res));
  json_t *all = NULL, *by = events_by_command(tenant, &all);
  const char *cid;
  json_t *st;
  int accepted = 0, rejected = 0;
  json_object_foreach(res, cid, st) {
    json_int_t n = json_integer_value(json_object_get(by, cid));
    if (!strncmp(cid, "floor-", 6)) {
      cr_expect_str_eq(json_string_value(st), "accepted", "floor command %s", cid);
      cr_expect_geq(n, 1, "floor command %s has no event", cid);
      continue;
    }
    if (!strcmp(json_string_value(st), "accepted")) {
      accepted++;
      /* A start also tells the loom; a declaration also consumes the beam (its label's unit is
       * the inventory module's, received by reaction). */
      json_int_t want = cid[0] == 's' ? 2 : cid[0] == 'd' ? 2 : 1;
      cr_expect_eq(n, want, "accepted command %s has %lld events, expected exactly %lld", cid, (long long)n, (long long)want);
    } else {
      rejected++;
      cr_expect_eq(n, 0, "%s command %s has %lld events, expected none", json_string_value(st), cid, (long long)n);
      cr_expect_eq(cid[0], 'x', "only the over-quantity declarations are rejected, not %s", cid);
    }
  }
  cr_expect_eq(accepted, ORDERS * 4);
  cr_expect_eq(rejected, ORDERS);
  /* Per aggregate, sequence numbers are 1..n with no gap or repeat. */
  json_t *seqs = json_object(), *rec;
  size_t i;
  json_array_foreach(all, i, rec) {
    json_t *v = json_object_get(rec, "value");
    if (strcmp(json_string_value(json_object_get(v, "fofaltenant")) ?: "", tenant)) continue;
    const char *agg = json_string_value(json_object_get(v, "subject"));
    json_int_t seq = json_integer_value(json_object_get(v, "fofalseq"));
    json_int_t last = json_integer_value(json_object_get(seqs, agg));
    cr_expect_eq(seq, last + 1, "aggregate %s: seq %lld after %lld", agg, (long long)seq, (long long)last);
    json_object_set_new(seqs, agg, json_integer(seq));
  }
  /* The orders, and the floor's aggregates (loom, beam, weaver …). */
  cr_expect_eq(json_object_size(seqs), ORDERS + 4);
  json_decref(seqs);
  json_decref(all);
  json_decref(by);
  json_decref(res);
  h_stop(dec, SIGTERM);
}

typedef struct {
  int port, n, done;
  const char *tok;
  int status[400];
  int64_t max_503_us;
} writer_t;

static void *writer(void *arg) {
  writer_t *w = arg;
  for (int i = 0; i < w->n; i++) {
    char key[32];
    snprintf(key, sizeof key, "kr-%d", i);
    int64_t t0 = fofal_mono_us();
    w->status[i] = h_command(w->port, w->tok, "production.order.create", key, NULL,
                             "{\"article\":\"FOUTA-KR\",\"quantity\":3}", NULL);
    int64_t dt = fofal_mono_us() - t0;
    if (w->status[i] == 503 && dt > w->max_503_us) w->max_503_us = dt;
    usleep(20 * 1000);
  }
  w->done = 1;
  return NULL;
}

Test(write_path, kafka_restart_during_writes_loses_nothing, .timeout = 400) {
  char tenant[32];
  h_tenant(tenant);
  char *tok = h_token(tenant, "planner");
  int port = h_free_port();
  pid_t dec = h_start_decider("it-restart");
  pid_t api = h_start_api(port);
  /* The decider owns its partitions (one command decided) before Kafka goes away. */
  cr_assert_eq(h_command_ok(port, tok, "production.order.create", "kr-warm", NULL, "{\"article\":\"FOUTA-KR\",\"quantity\":3}", NULL),
               201);
  writer_t w = {.port = port, .n = 300, .tok = tok};
  pthread_t th;
  pthread_create(&th, NULL, writer, &w);
  sleep(2);
  cr_assert_eq(h_stack("restart-service", "kafka"), 0, "ops/stack restart-service kafka failed");
  pthread_join(th, NULL);
  /* The decider may have exited on a fatal Kafka error; a supervisor restarts it. */
  if (waitpid(dec, NULL, WNOHANG) == dec) {
    fprintf(stderr, "the decider exited during the Kafka restart; restarting it\n");
    dec = h_start_decider("it-restart");
  }
  cr_assert_eq(h_wait_ready(port, 60000), 0);
  /* Retry every command that did not get its 201: the same key, as a phone would. */
  int64_t deadline = fofal_mono_us() + 180 * 1000000LL;
  int unavailable = 0;
  for (int i = 0; i < w.n; i++) {
    if (w.status[i] != 201) unavailable++;
    while (w.status[i] != 201 && fofal_mono_us() < deadline) {
      char key[32];
      snprintf(key, sizeof key, "kr-%d", i);
      w.status[i] = h_command(port, tok, "production.order.create", key, NULL, "{\"article\":\"FOUTA-KR\",\"quantity\":3}", NULL);
      if (w.status[i] != 201) usleep(200 * 1000);
    }
    cr_assert_eq(w.status[i], 201, "command kr-%d never accepted (last status %d)", i, w.status[i]);
  }
  cr_log_info("%d of %d commands needed a retry around the Kafka restart", unavailable, w.n);
  /* The API answers 503 within ~2 s (FOFAL_API_PRODUCE_TIMEOUT_MS=1500 plus a health check);
   * the bound here leaves room for a loaded CI machine but still catches a hang. */
  cr_expect(w.max_503_us < 5000000, "a 503 must come back within seconds, took %lld ms", (long long)(w.max_503_us / 1000));
  cr_log_info("slowest 503 during the Kafka restart: %lld ms", (long long)(w.max_503_us / 1000));
  json_t *by = events_by_command(tenant, NULL);
  for (int i = 0; i < w.n; i++) {
    char key[32];
    snprintf(key, sizeof key, "tester/kr-%d", i); /* the key scoped to the token's subject */
    cr_expect_eq(json_integer_value(json_object_get(by, key)), 1, "command %s has %lld events", key,
                 (long long)json_integer_value(json_object_get(by, key)));
  }
  json_decref(by);
  h_stop(api, SIGTERM);
  h_stop(dec, SIGTERM);
  free(tok);
}
