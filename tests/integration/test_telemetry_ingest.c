/*
 * test_telemetry_ingest.c — loom telemetry end to end on the real Mosquitto, Kafka,
 * PostgreSQL and Redis of the test stack:
 *   - hostile and malformed payloads end in fofal.telemetry.raw.dlq, nothing crashes, and
 *     the next good sample still gets through;
 *   - a Mosquitto restart and a Kafka restart while samples flow (plus a stretch the
 *     publisher sends twice): every published msg_id reaches fofal.telemetry.raw, and after
 *     fofal-machines' dedup every sample is counted exactly once;
 *   - a mechanical stop becomes a breakdown: the event, a push on a mechanic's WebSocket
 *     subscribed to module machines, and — through the maintenance module's reaction, run
 *     by fofal-reactor — one intervention request on fofal.commands, accepted, and pushed
 *     to the mechanic subscribed to module maintenance.
 * Each test uses a tenant of its own and its own MQTT client ids.
 */
#include <MQTTAsync.h>
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "harness.h"
#include "ingest.h"

/* ------------------------------------------------------------ publisher */

typedef struct {
  MQTTAsync c;
  atomic_long delivered, connected;
} pub_t;

static void pub_connected(void *ctx, char *cause) {
  (void)cause;
  atomic_store(&((pub_t *)ctx)->connected, 1);
}
static void pub_lost(void *ctx, char *cause) {
  (void)cause;
  atomic_store(&((pub_t *)ctx)->connected, 0);
}
static int pub_msg(void *ctx, char *t, int tl, MQTTAsync_message *m) {
  (void)ctx;
  (void)tl;
  MQTTAsync_freeMessage(&m);
  MQTTAsync_free(t);
  return 1;
}
static void pub_delivered(void *ctx, MQTTAsync_token tok) {
  (void)tok;
  atomic_fetch_add(&((pub_t *)ctx)->delivered, 1);
}

/* Connects (again), retrying while the broker is not back yet; waits for the connection. */
static void pub_reconnect(pub_t *p) {
  for (int attempt = 0; attempt < 60 && !atomic_load(&p->connected); attempt++) {
    MQTTAsync_connectOptions conn = MQTTAsync_connectOptions_initializer;
    conn.cleansession = 0;
    conn.keepAliveInterval = 5;
    conn.automaticReconnect = 1;
    conn.minRetryInterval = 1;
    conn.maxRetryInterval = 2;
    /* The local stack's simulator account: the broker refuses anonymous clients. */
    conn.username = getenv("FOFAL_MQTT_SIM_USERNAME");
    conn.password = getenv("FOFAL_MQTT_SIM_PASSWORD");
    if (MQTTAsync_connect(p->c, &conn) != MQTTASYNC_SUCCESS) {
      usleep(500 * 1000);
      continue;
    }
    for (int i = 0; i < 50 && !atomic_load(&p->connected); i++) usleep(100 * 1000);
  }
  cr_assert(atomic_load(&p->connected), "no MQTT connection to %s", h_env("FOFAL_MQTT_URI"));
}

/* A QoS 1 publisher with a persistent session: what is in flight when the broker goes away
 * is sent again after the reconnect (duplicates for fofal-machines to drop). New messages
 * wait for the connection: paho 1.3.12's buffering while disconnected (sendWhileDisconnected)
 * showed a use-after-free between its threads under ASan during a broker restart. */
static pub_t *pub_open(const char *id) {
  pub_t *p = calloc(1, sizeof *p);
  MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
  cr_assert_eq(MQTTAsync_createWithOptions(&p->c, h_env("FOFAL_MQTT_URI"), id, MQTTCLIENT_PERSISTENCE_NONE, NULL, &co),
               MQTTASYNC_SUCCESS);
  MQTTAsync_setCallbacks(p->c, p, pub_lost, pub_msg, pub_delivered);
  MQTTAsync_setConnected(p->c, p, pub_connected);
  pub_reconnect(p);
  return p;
}

static void pub_send(pub_t *p, const char *topic, const void *payload, size_t len) {
  MQTTAsync_message m = MQTTAsync_message_initializer;
  m.payload = (void *)payload;
  m.payloadlen = (int)len;
  m.qos = 1;
  for (int i = 0; i < 6000; i++) {
    if (atomic_load(&p->connected) && MQTTAsync_sendMessage(p->c, topic, &m, NULL) == MQTTASYNC_SUCCESS) return;
    usleep(10 * 1000);
  }
  cr_assert_fail("could not publish to %s for 60 s", topic);
}

static void pub_wait(pub_t *p, long n, int timeout_s) {
  for (int i = 0; i < timeout_s * 10 && atomic_load(&p->delivered) < n; i++) usleep(100 * 1000);
  cr_assert_geq(atomic_load(&p->delivered), n, "the broker acknowledged %ld of %ld messages", atomic_load(&p->delivered), n);
}

static void pub_close(pub_t *p) {
  MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
  d.timeout = 1000;
  MQTTAsync_disconnect(p->c, &d);
  usleep(200 * 1000);
  MQTTAsync_destroy(&p->c);
  free(p);
}

/* ------------------------------------------------------------ helpers */

static int log_has(const char *logname, const char *needle) {
  char path[1024];
  snprintf(path, sizeof path, "%s/logs/%s.log", h_env("FOFAL_STACK_DIR"), logname);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char line[4096];
  int found = 0;
  while (!found && fgets(line, sizeof line, f)) found = strstr(line, needle) != NULL;
  fclose(f);
  return found;
}

static void wait_log(const char *logname, const char *needle, int timeout_s) {
  for (int i = 0; i < timeout_s * 10; i++) {
    if (log_has(logname, needle)) return;
    usleep(100 * 1000);
  }
  cr_assert_fail("%s.log never said \"%s\"", logname, needle);
}

/* fofal-ingest with its own MQTT session and spool (the tests run side by side). */
static pid_t start_ingest(const char *tenant) { return h_start_ingest(tenant); }

static pid_t start_machines(const char *tenant) { return h_start_machines(tenant); }

/* After a Kafka restart: waits until every partition of `topic` answers (h_read_topic
 * treats "not leader" as a failure). */
static void wait_leaders(const char *topic) {
  char err[256];
  fofal_kafka_t *k = NULL;
  fofal_kafka_opts_t o = {.brokers = h_env("FOFAL_KAFKA_BROKERS"), .client_id = "fofal-test-leaders"};
  cr_assert_eq(fofal_kafka_producer_new(&k, &o, err, sizeof err), 0, "%s", err);
  int ok = 0;
  for (int attempt = 0; attempt < 120 && !ok; attempt++) {
    int n = fofal_kafka_partition_count(k, topic, 5000, err, sizeof err);
    ok = n > 0;
    for (int32_t p = 0; ok && p < n; p++) {
      int64_t lo, hi;
      ok = fofal_kafka_watermarks(k, topic, p, &lo, &hi, 5000, err, sizeof err) == 0;
    }
    if (!ok) usleep(500 * 1000);
  }
  fofal_kafka_free(k);
  cr_assert(ok, "%s has no leaders 60 s after the restart: %s", topic, err);
}

/* Records of `topic` whose CloudEvent tenant is `tenant` (new array of values). */
static json_t *events_of(const char *topic, const char *tenant) {
  json_t *all = h_read_topic(topic), *out = json_array(), *r;
  size_t i;
  json_array_foreach(all, i, r) {
    json_t *v = json_object_get(r, "value");
    const char *t = json_string_value(json_object_get(v, "fofaltenant"));
    if (!t) t = json_string_value(json_object_get(v, "tenant")); /* a command */
    if (t && !strcmp(t, tenant)) json_array_append(out, v);
  }
  json_decref(all);
  return out;
}

/* The distinct msg_ids of the tenant's records on fofal.telemetry.raw; *raw: all records. */
static long distinct_samples(const char *tenant, long *raw) {
  json_t *evs = events_of(FOFAL_TOPIC_TELEMETRY, tenant), *e;
  fofal_map_t *seen = fofal_map_new(NULL);
  size_t i;
  json_array_foreach(evs, i, e) {
    const char *mid = json_string_value(json_object_get(json_object_get(e, "data"), "msg_id"));
    if (mid && !fofal_map_get(seen, mid)) fofal_map_put(seen, mid, (void *)1);
  }
  *raw = (long)json_array_size(evs);
  long n = (long)fofal_map_size(seen);
  fofal_map_free(seen);
  json_decref(evs);
  return n;
}

static void sample_json(char *buf, size_t cap, const char *id, int64_t us, long long picks, const char *state,
                        const char *cause) {
  char ts[32];
  fofal_time_format(us, ts);
  if (cause)
    snprintf(buf, cap, "{\"msg_id\":\"%s\",\"ts\":\"%s\",\"picks\":%lld,\"ppm\":0,\"state\":\"%s\",\"stop_cause\":\"%s\"}", id,
             ts, picks, state, cause);
  else
    snprintf(buf, cap, "{\"msg_id\":\"%s\",\"ts\":\"%s\",\"picks\":%lld,\"ppm\":600,\"state\":\"%s\"}", id, ts, picks, state);
}

/* ------------------------------------------------------------ tests */

Test(telemetry_ingest, hostile_payloads_go_to_the_dlq) {
  char tenant[32], topic[128], hall_topic[128], odd_topic[128], buf[512];
  h_tenant(tenant);
  pid_t ing = start_ingest(tenant);
  pub_t *p = pub_open(tenant);
  snprintf(topic, sizeof topic, "fofal/%s/looms/L1/telemetry", tenant);
  snprintf(hall_topic, sizeof hall_topic, "fofal/%s/halls/H1/env", tenant);
  snprintf(odd_topic, sizeof odd_topic, "fofal/%s/looms/L 1/telemetry", tenant);
  const char *bad[] = {"", "not json", "{", "[]", "null", "{\"msg_id\":\"x\"}",
                       "{\"msg_id\":\"x\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":-1,\"ppm\":1,\"state\":\"running\"}",
                       "{\"msg_id\":\"x\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1,\"ppm\":1e999,\"state\":\"running\"}",
                       "{\"msg_id\":\"x\",\"ts\":\"yesterday\",\"picks\":1,\"ppm\":1,\"state\":\"running\"}",
                       "{\"msg_id\":\"x\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1,\"ppm\":1,\"state\":\"exploded\"}",
                       "{\"msg_id\":\"x\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1,\"ppm\":1,\"state\":\"running\",\"x\":1}",
                       "{\"msg_id\":\"x\",\"msg_id\":\"y\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1,\"ppm\":1,\"state\":\"running\"}",
                       "{\"msg_id\":\"a/b\\u0000\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1,\"ppm\":1,\"state\":\"running\"}",
                       "\xff\xfe\xfd not UTF-8"};
  size_t nbad = sizeof bad / sizeof bad[0];
  for (size_t i = 0; i < nbad; i++) pub_send(p, topic, bad[i], strlen(bad[i]));
  /* Deeply nested, and too big: refused by ingest, to the DLQ. (Both under the broker's
   * message_size_limit of 128 KiB, which drops bigger messages before ingest sees them and
   * closes the publisher's connection, issue 22.) */
  char *deep = malloc(100001);
  memset(deep, '[', 50000);
  memset(deep + 50000, ']', 50000);
  deep[100000] = '\0';
  pub_send(p, topic, deep, 100000);
  char *big = malloc(120000);
  memset(big, 'x', 120000);
  pub_send(p, topic, big, 120000);
  free(deep);
  free(big);
  const char *hall_bad = "{\"msg_id\":\"h\",\"ts\":\"2026-11-28T06:00:00Z\"}";
  pub_send(p, hall_topic, hall_bad, strlen(hall_bad));
  sample_json(buf, sizeof buf, "ok-odd", fofal_now_us(), 1, "running", NULL);
  pub_send(p, odd_topic, buf, strlen(buf)); /* a loom name with a space: refused by topic */
  long expect_dlq = (long)nbad + 4;
  /* The good one after all of them. */
  sample_json(buf, sizeof buf, "good-1", fofal_now_us(), 10, "running", NULL);
  pub_send(p, topic, buf, strlen(buf));
  pub_wait(p, expect_dlq + 1, 60);

  long dlq = 0, good = 0;
  for (int attempt = 0; attempt < 120 && (dlq < expect_dlq || good < 1); attempt++) {
    json_t *all = h_read_topic(FOFAL_TOPIC_TELEMETRY_DLQ), *r;
    size_t i;
    dlq = 0;
    json_array_foreach(all, i, r) if (strstr(json_string_value(json_object_get(r, "key")), tenant)) dlq++;
    json_decref(all);
    json_t *ok = events_of(FOFAL_TOPIC_TELEMETRY, tenant);
    good = (long)json_array_size(ok);
    json_decref(ok);
    if (dlq < expect_dlq || good < 1) usleep(500 * 1000);
  }
  cr_expect_eq(dlq, expect_dlq, "every refused payload is in the DLQ once (got %ld of %ld)", dlq, expect_dlq);
  cr_expect_eq(good, 1, "the good sample got through (got %ld)", good);
  cr_expect_eq(kill(ing, 0), 0, "fofal-ingest is still alive");
  pub_close(p);
  int st = h_stop(ing, SIGTERM);
  cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fofal-ingest exits cleanly (status %d)", st);
}

/* A loom controller's batch: each good sample becomes its own record, in order, a bad one
 * goes to the DLQ alone with its place in the batch, and a batch over the caps goes whole. */
Test(telemetry_ingest, a_batch_becomes_one_record_per_sample) {
  char tenant[32], topic[128], batch[2048], s1[256], s2[256], s3[256], bad[256];
  h_tenant(tenant);
  pid_t ing = start_ingest(tenant);
  pub_t *p = pub_open(tenant);
  snprintf(topic, sizeof topic, "fofal/%s/looms/L2/telemetry", tenant);
  int64_t t0 = fofal_now_us();
  sample_json(s1, sizeof s1, "b-1", t0, 100, "running", NULL);
  sample_json(s2, sizeof s2, "b-2", t0 + 250000, 102, "running", NULL);
  sample_json(s3, sizeof s3, "b-3", t0 + 500000, 104, "stopped", "weft_break");
  snprintf(bad, sizeof bad, "{\"msg_id\":\"b-bad\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1,\"ppm\":99999,\"state\":\"running\"}");
  snprintf(batch, sizeof batch, "[%s,\n %s, %s ,%s]", s1, bad, s2, s3);
  pub_send(p, topic, batch, strlen(batch));
  /* One element too many: refused whole. */
  size_t cap = (size_t)(FOFAL_TELEMETRY_BATCH_MAX + 1) * (strlen(s1) + 1) + 2, n = 0;
  char *over = malloc(cap + 1);
  over[n++] = '[';
  for (int i = 0; i <= FOFAL_TELEMETRY_BATCH_MAX; i++) n += (size_t)snprintf(over + n, cap + 1 - n, "%s%s", i ? "," : "", s1);
  over[n++] = ']';
  pub_send(p, topic, over, n);
  free(over);
  pub_wait(p, 2, 60);

  json_t *ok = NULL, *dlq = NULL;
  for (int attempt = 0; attempt < 120; attempt++) {
    json_decref(ok);
    json_decref(dlq);
    ok = events_of(FOFAL_TOPIC_TELEMETRY, tenant);
    dlq = json_array();
    json_t *all = h_read_topic(FOFAL_TOPIC_TELEMETRY_DLQ), *r;
    size_t i;
    json_array_foreach(all, i, r) if (strstr(json_string_value(json_object_get(r, "key")), tenant)) json_array_append(dlq, r);
    json_decref(all);
    if (json_array_size(ok) >= 3 && json_array_size(dlq) >= 2) break;
    usleep(500 * 1000);
  }
  cr_assert_eq(json_array_size(ok), 3, "three good samples, one record each (got %zu)", json_array_size(ok));
  const char *want[] = {"b-1", "b-2", "b-3"};
  for (size_t i = 0; i < 3; i++) {
    json_t *e = json_array_get(ok, i);
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(e, "data"), "msg_id")), want[i],
                     "record %zu is the batch's sample %s, in order", i, want[i]);
    cr_expect_str_eq(json_string_value(json_object_get(e, "subject")), "L2");
  }
  cr_assert_eq(json_array_size(dlq), 2, "the bad sample and the oversized batch (got %zu)", json_array_size(dlq));
  const char *r0 = json_string_value(json_object_get(json_array_get(dlq, 0), "dlq_reason"));
  const char *r1 = json_string_value(json_object_get(json_array_get(dlq, 1), "dlq_reason"));
  cr_expect(r0 && strstr(r0, "sample 2 of 4: ppm"), "the bad sample says where it was: %s", r0 ? r0 : "(none)");
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(json_array_get(dlq, 0), "value"), "msg_id")), "b-bad",
                   "the DLQ keeps the bad sample alone");
  cr_expect(r1 && strstr(r1, "more than"), "the oversized batch is refused whole: %s", r1 ? r1 : "(none)");
  json_decref(ok);
  json_decref(dlq);
  pub_close(p);
  int st = h_stop(ing, SIGTERM);
  cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fofal-ingest exits cleanly (status %d)", st);
}

typedef struct {
  pub_t *p;
  const char *tenant;
  int n, looms;
  int64_t base;
  atomic_int sent;
  atomic_int pause, paused; /* the test asks the flow to hold; the flow says it holds */
} flow_t;

static void *publish_flow(void *arg) {
  flow_t *f = arg;
  char topic[128], buf[256], id[64];
  for (int i = 0; i < f->n; i++) {
    int loom = i % f->looms, k = i / f->looms;
    snprintf(topic, sizeof topic, "fofal/%s/looms/L%d/telemetry", f->tenant, loom);
    snprintf(id, sizeof id, "L%d-%d", loom, k);
    sample_json(buf, sizeof buf, id, f->base + (int64_t)k * 1000000, 1000 + k * 10, "running", NULL);
    pub_send(f->p, topic, buf, strlen(buf));
    atomic_store(&f->sent, i + 1);
    usleep(2000);
    while (atomic_load(&f->pause)) {
      atomic_store(&f->paused, 1);
      usleep(10 * 1000);
    }
    atomic_store(&f->paused, 0);
  }
  return NULL;
}

Test(telemetry_ingest, broker_and_kafka_restarts_count_each_sample_once, .timeout = 600) {
  char tenant[32];
  h_tenant(tenant);
  pid_t ing = start_ingest(tenant);
  /* Its looms L0..L4 are not registered (no decider runs here): fofal-machines takes them
   * anyway (this test process's environment; the default sends them to the DLQ). */
  setenv("FOFAL_MACHINES_REGISTERED_ONLY", "0", 1);
  pid_t mach = start_machines(tenant);
  pub_t *p = pub_open(tenant);
  flow_t f = {.p = p, .tenant = tenant, .n = 3000, .looms = 5, .base = fofal_now_us() - 3600LL * 1000000};
  pthread_t th;
  pthread_create(&th, NULL, publish_flow, &f);
  while (atomic_load(&f.sent) < 800) usleep(50 * 1000);
  /* The broker restarts under fofal-ingest, which must lose nothing. The test's own
   * publisher steps aside meanwhile (all it sent acknowledged, then a clean disconnect and
   * a reconnect): paho 1.3.12's automatic reconnect showed a use-after-free between its
   * own threads under ASan, in this process, when the broker vanished under it. */
  atomic_store(&f.pause, 1);
  while (!atomic_load(&f.paused)) usleep(10 * 1000);
  pub_wait(p, atomic_load(&f.sent), 60);
  MQTTAsync_disconnectOptions dis = MQTTAsync_disconnectOptions_initializer;
  dis.timeout = 1000;
  MQTTAsync_disconnect(p->c, &dis);
  for (int i = 0; i < 50 && MQTTAsync_isConnected(p->c); i++) usleep(100 * 1000);
  atomic_store(&p->connected, 0);
  cr_assert_eq(h_stack("restart-service", "mosquitto"), 0, "mosquitto restart");
  pub_reconnect(p);
  atomic_store(&f.pause, 0);
  while (atomic_load(&f.sent) < 1800) usleep(50 * 1000);
  cr_assert_eq(h_stack("restart-service", "kafka"), 0, "kafka restart");
  pthread_join(th, NULL);
  /* What a publisher does when it lost PUBACKs: it sends a stretch again. */
  char topic[128], buf[256], id[64];
  for (int i = 0; i < 200; i++) {
    int loom = i % f.looms, k = i / f.looms;
    snprintf(topic, sizeof topic, "fofal/%s/looms/L%d/telemetry", tenant, loom);
    snprintf(id, sizeof id, "L%d-%d", loom, k);
    sample_json(buf, sizeof buf, id, f.base + (int64_t)k * 1000000, 1000 + k * 10, "running", NULL);
    pub_send(p, topic, buf, strlen(buf));
  }
  /* One last sample per loom, later, so that every loom's last tally is emitted. */
  for (int loom = 0; loom < f.looms; loom++) {
    snprintf(topic, sizeof topic, "fofal/%s/looms/L%d/telemetry", tenant, loom);
    snprintf(id, sizeof id, "L%d-last", loom);
    sample_json(buf, sizeof buf, id, f.base + 3000LL * 1000000, 100000, "running", NULL);
    pub_send(p, topic, buf, strlen(buf));
  }
  long total = f.n + f.looms;
  pub_wait(p, total + 200, 120);
  wait_leaders(FOFAL_TOPIC_TELEMETRY);
  wait_leaders("fofal.machines.events");

  /* 1. Nothing lost on the way into Kafka. */
  long distinct = 0, raw = 0;
  for (int attempt = 0; attempt < 240; attempt++) {
    distinct = distinct_samples(tenant, &raw);
    if (distinct >= total && raw >= total + 200) break;
    usleep(500 * 1000);
  }
  cr_expect_eq(distinct, total, "every published msg_id is in %s (%ld of %ld)", FOFAL_TOPIC_TELEMETRY, distinct, total);
  cr_expect_geq(raw, total + 200, "the stretch sent again is in Kafka twice (%ld records)", raw);

  /* 2. After dedup, each sample counted once. */
  long samples = 0, dups = 0;
  for (int attempt = 0; attempt < 240; attempt++) {
    json_t *evs = events_of("fofal.machines.events", tenant), *e;
    size_t i;
    samples = dups = 0;
    json_array_foreach(evs, i, e) {
      if (!strstr(json_string_value(json_object_get(e, "type")), "loom_activity")) continue;
      samples += (long)json_integer_value(json_object_get(json_object_get(e, "data"), "samples"));
      dups += (long)json_integer_value(json_object_get(json_object_get(e, "data"), "duplicates"));
    }
    json_decref(evs);
    if (samples >= total && samples + dups >= raw) break;
    usleep(500 * 1000);
  }
  cr_expect_eq(samples, total, "each sample counted exactly once after dedup (%ld, expected %ld)", samples, total);
  cr_expect_eq(samples + dups, raw, "every raw record is either a sample or a duplicate (%ld + %ld vs %ld)", samples, dups, raw);
  cr_expect_geq(dups, 200);
  pub_close(p);
  cr_expect_eq(kill(ing, 0), 0, "fofal-ingest survived both restarts");
  cr_expect_eq(kill(mach, 0), 0, "fofal-machines survived both restarts");
  h_stop(ing, SIGTERM);
  h_stop(mach, SIGTERM);
}

/* paho acknowledges a message to the broker before fofal-ingest sees it, so what ingest
 * holds when it dies is lost to MQTT. With Kafka down, ingest holds everything it received;
 * a kill -9 then, and a restart once Kafka is back: the spool delivers every sample. */
Test(telemetry_ingest, a_kill_9_of_ingest_loses_nothing_thanks_to_its_spool, .timeout = 300) {
  char tenant[32], topic[128], buf[256], id[32], log[96], want[64];
  h_tenant(tenant);
  snprintf(log, sizeof log, "test-ingest-%s", tenant);
  pid_t ing = start_ingest(tenant);
  pub_t *p = pub_open(tenant);
  cr_assert_eq(h_stack("stop-service", "kafka"), 0, "kafka stop");
  enum { N = 400 };
  int64_t base = fofal_now_us() - 600LL * 1000000;
  for (int i = 0; i < N; i++) {
    snprintf(topic, sizeof topic, "fofal/%s/looms/L%d/telemetry", tenant, i % 4);
    snprintf(id, sizeof id, "k9-%d", i);
    sample_json(buf, sizeof buf, id, base + (int64_t)i * 1000000, 100 + i, "running", NULL);
    pub_send(p, topic, buf, strlen(buf));
  }
  pub_wait(p, N, 60);
  /* ingest has them all (acknowledged to the broker), none in Kafka: its window says so. */
  snprintf(want, sizeof want, "window %d,", N);
  wait_log(log, want, 60);
  kill(ing, SIGKILL);
  waitpid(ing, NULL, 0);
  cr_assert_eq(h_stack("start-service", "kafka"), 0, "kafka start");
  wait_leaders(FOFAL_TOPIC_TELEMETRY);
  ing = start_ingest(tenant);
  wait_log(log, "400 messages were not yet in Kafka", 60); /* the restarted ingest replays its spool */
  long distinct = 0, raw;
  for (int attempt = 0; attempt < 120 && distinct < N; attempt++) {
    distinct = distinct_samples(tenant, &raw);
    if (distinct < N) usleep(500 * 1000);
  }
  cr_expect_eq(distinct, N, "every sample acknowledged before the kill -9 is in Kafka (%ld of %d)", distinct, N);
  pub_close(p);
  int st = h_stop(ing, SIGTERM);
  cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fofal-ingest exits cleanly (status %d)", st);
}

Test(telemetry_ingest, breakdown_reaches_a_mechanic, .timeout = 300) {
  char tenant[32], topic[128], buf[256], id[32], path[1024];
  h_tenant(tenant);
  pid_t ing = start_ingest(tenant);
  pid_t mach = start_machines(tenant);
  pid_t proj = h_start_projector(tenant);
  pid_t dec = h_start_decider(tenant);
  pid_t rea = h_start_reactor(tenant);
  int port = h_free_port();
  pid_t api = h_start_api(port);
  /* The weaving floor knows loom L7: the intervention request is accepted. */
  h_floor_http(port, tenant, "L7", "W7", "ART-7");
  char *tok = h_token(tenant, "mechanic");
  snprintf(path, sizeof path, "/api/v1/stream?access_token=%s", tok);
  int st = 0;
  h_ws_t *ws = h_ws_open(port, path, NULL, 0, &st);
  cr_assert_not_null(ws, "WebSocket handshake answered %d", st);
  cr_assert_eq(h_ws_send(ws, "{\"subscribe\":{\"modules\":[\"machines\",\"maintenance\"]}}"), 0);
  json_t *ack = h_ws_recv_json(ws, 10000, NULL); /* the subscription's acknowledgement */
  json_decref(ack);

  pub_t *p = pub_open(tenant);
  snprintf(topic, sizeof topic, "fofal/%s/looms/L7/telemetry", tenant);
  int64_t t = fofal_now_us() - 60LL * 1000000;
  for (int i = 0; i < 8; i++) {
    snprintf(id, sizeof id, "bd-%d", i);
    sample_json(buf, sizeof buf, id, t + (int64_t)i * 1000000, 5000 + (i < 4 ? i : 4) * 10, i < 4 ? "running" : "stopped",
                i < 4 ? NULL : "mechanical");
    pub_send(p, topic, buf, strlen(buf));
  }
  json_t *push = NULL;
  /* The intervention request's push may come first: the maintenance projection can be
   * ahead of the machines one, which the reaction does not wait for. */
  int req_pushed = 0;
  int64_t deadline = fofal_mono_us() + 90 * 1000000LL;
  while (!push && fofal_mono_us() < deadline) {
    json_t *m = h_ws_recv_json(ws, 1000, NULL);
    if (!m) continue;
    /* A push is {"id": <stream id>, "event": {"tenant","module","aggregate","type","data",...}}. */
    json_t *ev = json_object_get(m, "event");
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (type && strstr(type, "breakdown_declared")) {
      push = json_incref(ev);
      cr_expect_str_eq(json_string_value(json_object_get(ev, "module")), "machines");
    } else if (type && !strcmp(type, "fofal.maintenance.intervention_requested.v1")) {
      req_pushed = 1;
      cr_expect_str_eq(json_string_value(json_object_get(json_object_get(ev, "data"), "loom")), "L7");
    }
    json_decref(m);
  }
  cr_assert_not_null(push, "no breakdown push reached the mechanic within 90 s");
  cr_expect_str_eq(json_string_value(json_object_get(push, "aggregate")), "L7");
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(push, "data"), "cause")), "mechanical");
  /* The reaction's command id derives from the breakdown event's id (fofal_reaction_command_id). */
  char cmd_id[FOFAL_UUID_LEN + 1] = "";
  json_t *mevs = events_of("fofal.machines.events", tenant), *me;
  size_t mi;
  json_array_foreach(mevs, mi, me) if (strstr(json_string_value(json_object_get(me, "type")), "breakdown_declared"))
      fofal_reaction_command_id("maintenance.intervention_on_breakdown", json_string_value(json_object_get(me, "id")),
                                cmd_id);
  json_decref(mevs);
  cr_assert(cmd_id[0], "the breakdown event is on fofal.machines.events");

  /* The intervention request is on fofal.commands, once. */
  int found = 0;
  for (int attempt = 0; attempt < 60 && !found; attempt++) {
    json_t *cmds = events_of(FOFAL_TOPIC_COMMANDS, tenant), *c;
    size_t i;
    json_array_foreach(cmds, i, c) {
      if (strcmp(json_string_value(json_object_get(c, "type")) ? json_string_value(json_object_get(c, "type")) : "",
                 "maintenance.intervention.request"))
        continue;
      json_t *d = json_object_get(c, "data");
      cr_expect_str_eq(json_string_value(json_object_get(c, "id")), cmd_id);
      cr_expect_str_eq(json_string_value(json_object_get(c, "actor")), "r:maintenance.intervention_on_breakdown");
      cr_expect_str_eq(json_string_value(json_object_get(d, "loom")), "L7");
      cr_expect_str_eq(json_string_value(json_object_get(d, "cause")), "mechanical");
      cr_expect_str_eq(json_string_value(json_object_get(d, "source")), "telemetry");
      found++;
    }
    json_decref(cmds);
    if (!found) usleep(500 * 1000);
  }
  cr_expect_eq(found, 1, "one intervention request on fofal.commands (found %d)", found);

  /* The maintenance module's decider accepted it: an intervention_requested event from
   * telemetry, which its projection pushes to the mechanic's socket above. */
  int requested = 0;
  for (int attempt = 0; attempt < 120 && !requested; attempt++) {
    json_t *evs = events_of("fofal.maintenance.events", tenant), *e;
    size_t i;
    json_array_foreach(evs, i, e) {
      if (!strstr(json_string_value(json_object_get(e, "type")), "intervention_requested")) continue;
      json_t *d = json_object_get(e, "data");
      cr_expect_str_eq(json_string_value(json_object_get(d, "loom")), "L7");
      cr_expect_str_eq(json_string_value(json_object_get(d, "source")), "telemetry");
      cr_expect_str_eq(json_string_value(json_object_get(e, "fofalcommandid")), cmd_id);
      requested++;
    }
    json_decref(evs);
    if (!requested) usleep(500 * 1000);
  }
  cr_expect_eq(requested, 1, "the decider recorded one intervention request (found %d)", requested);
  deadline = fofal_mono_us() + 60 * 1000000LL;
  while (!req_pushed && fofal_mono_us() < deadline) {
    json_t *m = h_ws_recv_json(ws, 1000, NULL);
    json_t *ev = json_object_get(m, "event");
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (type && !strcmp(type, "fofal.maintenance.intervention_requested.v1")) {
      req_pushed = 1;
      cr_expect_str_eq(json_string_value(json_object_get(ev, "module")), "maintenance");
      cr_expect_str_eq(json_string_value(json_object_get(json_object_get(ev, "data"), "loom")), "L7");
    }
    json_decref(m);
  }
  cr_expect(req_pushed, "the intervention request is pushed to the mechanic subscribed to maintenance");

  /* And the board says so. */
  h_resp_t r;
  char hdr[2048], url[256];
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", tok);
  snprintf(url, sizeof url, "/api/v1/machines/looms/L7");
  h_http(port, "GET", url, hdr, NULL, &r, 10000);
  cr_expect_eq(r.status, 200, "%s", r.body ? r.body : "");
  json_t *b = json_loads(r.body ? r.body : "", 0, NULL);
  cr_expect_str_eq(json_string_value(json_object_get(b, "state")), "stopped");
  cr_expect(json_is_true(json_object_get(b, "breakdown")));
  json_decref(b);
  h_resp_free(&r);
  /* Read your writes: the push's position, passed back, is already reached (200 at once);
   * a malformed one is refused; one past the end of the log is refused at once (400: no
   * command answered it, waiting cannot help). */
  const char *pos = json_string_value(json_object_get(push, "position"));
  cr_assert_not_null(pos, "a push carries its position");
  snprintf(url, sizeof url, "/api/v1/machines/looms/L7?position=%s", pos);
  h_http(port, "GET", url, hdr, NULL, &r, 10000);
  cr_expect_eq(r.status, 200, "%s", r.body ? r.body : "");
  h_resp_free(&r);
  h_http(port, "GET", "/api/v1/machines/looms?position=machines:0", hdr, NULL, &r, 10000);
  cr_expect_eq(r.status, 400, "%s", r.body ? r.body : "");
  cr_expect(r.body && strstr(r.body, "malformed_position"), "%s", r.body ? r.body : "");
  h_resp_free(&r);
  h_http(port, "GET", "/api/v1/machines/halls?position=machines:0:999999999", hdr, NULL, &r, 10000);
  cr_expect_eq(r.status, 400, "%s", r.body ? r.body : "");
  cr_expect(r.body && strstr(r.body, "position_beyond_log"), "%s", r.body ? r.body : "");
  h_resp_free(&r);
  /* Another tenant sees nothing of it. */
  char other[32];
  h_tenant(other);
  char *tok2 = h_token(other, "manager");
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", tok2);
  h_http(port, "GET", url, hdr, NULL, &r, 10000);
  cr_expect_eq(r.status, 404);
  h_resp_free(&r);
  free(tok2);

  json_decref(push);
  h_ws_close(ws);
  free(tok);
  pub_close(p);
  h_stop(api, SIGTERM);
  int rst = h_stop(rea, SIGTERM);
  cr_expect(WIFEXITED(rst) && WEXITSTATUS(rst) == 0, "fofal-reactor exits cleanly (status %d)", rst);
  h_stop(dec, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(mach, SIGTERM);
  h_stop(ing, SIGTERM);
}

/* Issue 23, through the API: one sample a minute on a loom registered at 500 ppm, 30 min
 * running, a 10 min warp break, 20 min running, all at 450 ppm. The shift's efficiency is
 * 22,500 picks ÷ (60 min × 500) = 0.75 (run ÷ (run + stop) would say 0.8333), its
 * performance 22,500 ÷ (50 min × 500) = 0.90 (the top speed seen would say 1), OEE 0.75;
 * the production module's loom shows the same measured efficiency, and a loom without
 * telemetry shows none (not 0.85). */
Test(telemetry_ingest, efficiency_and_performance_from_the_registered_speed, .timeout = 300) {
  char tenant[32], topic[128], buf[256], id[32], hdr[2048], key[160];
  h_tenant(tenant);
  pid_t ing = start_ingest(tenant);
  pid_t mach = start_machines(tenant);
  pid_t proj = h_start_projector(tenant);
  pid_t dec = h_start_decider(tenant);
  int port = h_free_port();
  pid_t api = h_start_api(port);
  char *admin = h_token(tenant, "admin"), *tok = h_token(tenant, "manager");
  cr_assert_eq(h_command_ok(port, admin, "production.loom.register", "reg-L500", NULL,
                            "{\"loom\":\"L500\",\"hall\":\"H1\",\"nominal_ppm\":500,\"weave\":\"flat\"}", NULL),
               201);
  cr_assert_eq(h_command_ok(port, admin, "production.loom.register", "reg-L501", NULL,
                            "{\"loom\":\"L501\",\"hall\":\"H1\",\"nominal_ppm\":500,\"weave\":\"flat\"}", NULL),
               201);
  /* fofal-machines took the registered speed (a setting on its state topic). */
  snprintf(key, sizeof key, "%s/~ppm:L500", tenant);
  int known = 0;
  for (int attempt = 0; attempt < 120 && !known; attempt++) {
    json_t *recs = h_read_topic(FOFAL_TOPIC_MACHINES_STATE), *r;
    size_t i;
    json_array_foreach(recs, i, r) known |= !strcmp(json_string_value(json_object_get(r, "key")) ?: "", key);
    json_decref(recs);
    if (!known) usleep(500 * 1000);
  }
  cr_assert(known, "fofal-machines never recorded L500's nominal speed");

  /* An hour that lies within one shift of the built-in 3×8 (08:00, 16:00 or 00:00 local),
   * the latest that ended more than a minute ago. */
  const int64_t min = 60LL * 1000000, hour = 60 * min;
  int64_t now = fofal_now_us(), base = (now / hour) * hour;
  while (((base / hour) % 8 + 8) % 8 != 7 || base + 62 * min > now) base -= hour;
  pub_t *p = pub_open(tenant);
  snprintf(topic, sizeof topic, "fofal/%s/looms/L500/telemetry", tenant);
  long long picks = 0;
  for (int i = 0; i <= 60; i++) {
    int running = i < 30 || i >= 40;
    if (i > 0 && (i <= 30 || i > 40)) picks += 450;
    char ts[32];
    fofal_time_format(base + i * min, ts);
    snprintf(id, sizeof id, "eff-%d", i);
    if (running)
      snprintf(buf, sizeof buf, "{\"msg_id\":\"%s\",\"ts\":\"%s\",\"picks\":%lld,\"ppm\":450,\"state\":\"running\"}", id, ts,
               picks);
    else
      snprintf(buf, sizeof buf,
               "{\"msg_id\":\"%s\",\"ts\":\"%s\",\"picks\":%lld,\"ppm\":0,\"state\":\"stopped\",\"stop_cause\":\"warp_break\"}",
               id, ts, picks);
    pub_send(p, topic, buf, strlen(buf));
  }
  pub_wait(p, 61, 30);

  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", tok);
  json_t *row = NULL;
  for (int attempt = 0; attempt < 180 && !row; attempt++) {
    h_resp_t r;
    h_http(port, "GET", "/api/v1/machines/looms/L500/shifts", hdr, NULL, &r, 10000);
    json_t *b = r.status == 200 ? json_loads(r.body ? r.body : "", 0, NULL) : NULL;
    json_t *first = json_array_get(json_object_get(b, "items"), 0);
    if (json_integer_value(json_object_get(first, "samples")) == 61) row = json_incref(first);
    json_decref(b);
    h_resp_free(&r);
    if (!row) usleep(500 * 1000);
  }
  cr_assert_not_null(row, "the shift never counted the 61 samples");
  char *s = json_dumps(row, JSON_COMPACT);
  cr_expect_eq(json_integer_value(json_object_get(row, "picks")), 22500, "%s", s);
  cr_expect_float_eq(json_number_value(json_object_get(row, "nominal_picks")), 30000, 1e-9, "%s", s);
  cr_expect_float_eq(json_number_value(json_object_get(row, "theoretical_picks")), 25000, 1e-9, "%s", s);
  cr_expect_float_eq(json_number_value(json_object_get(row, "efficiency")), 0.75, 1e-9, "%s", s);
  cr_expect_float_eq(json_number_value(json_object_get(row, "availability")), 0.8333, 1e-9, "%s", s);
  cr_expect_float_eq(json_number_value(json_object_get(row, "performance")), 0.9, 1e-9, "%s", s);
  cr_expect_float_eq(json_number_value(json_object_get(row, "oee")), 0.75, 1e-9, "%s", s);
  free(s);
  json_decref(row);

  /* The production module's loom reads the measured efficiency; one without telemetry none. */
  h_resp_t r;
  h_http(port, "GET", "/api/v1/production/looms/L500", hdr, NULL, &r, 10000);
  cr_expect_eq(r.status, 200, "%s", r.body ? r.body : "");
  json_t *b = json_loads(r.body ? r.body : "", 0, NULL);
  cr_expect_float_eq(json_number_value(json_object_get(b, "efficiency")), 0.75, 1e-9, "%s", r.body ? r.body : "");
  json_decref(b);
  h_resp_free(&r);
  h_http(port, "GET", "/api/v1/production/looms/L501", hdr, NULL, &r, 10000);
  cr_expect_eq(r.status, 200, "%s", r.body ? r.body : "");
  b = json_loads(r.body ? r.body : "", 0, NULL);
  cr_expect(json_is_null(json_object_get(b, "efficiency")), "no telemetry, no efficiency: %s", r.body ? r.body : "");
  cr_expect(json_is_null(json_object_get(b, "production_m_per_h")));
  json_decref(b);
  h_resp_free(&r);

  pub_close(p);
  free(admin);
  free(tok);
  h_stop(api, SIGTERM);
  h_stop(dec, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(mach, SIGTERM);
  h_stop(ing, SIGTERM);
}
