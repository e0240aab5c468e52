/*
 * telemetry_bench.c — fofal-bench-telemetry: the measuring ends of `ops/bench telemetry`.
 *
 *   mqtt-sub      subscribes (QoS 1) and counts messages: mosquitto's own pub→sub rate,
 *                 the ceiling fofal-ingest is compared with. The callback does nothing else.
 *   kafka-count   watches the high watermarks of a topic until N more records are there:
 *                 the MQTT→Kafka rate through fofal-ingest, from the first new record to
 *                 the Nth.
 *   breakdown     drives looms into a mechanical stop over MQTT and times each until its
 *                 breakdown push appears on the Redis stream fofal:push (what fofal-api
 *                 forwards to WebSocket clients: the API hop itself is not included).
 *   machines      in-process, no broker: the records fofal-ingest writes for N samples of
 *                 100 looms (4 a second each, a stop now and then), fed to
 *                 fofal_machines_record, fofal-machines' work per record: its CPU cost
 *                 per sample, apart from Kafka.
 * Each prints one JSON line on stdout.
 */
#include <MQTTAsync.h>
#include <getopt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"
#include "ingest.h"
#include "projections.h"

static atomic_llong got, connected, subscribed;
static double first_at, last_at;
static long long want;

static double now_s(void) { return (double)fofal_mono_us() / 1e6; }

static int on_msg(void *ctx, char *t, int tl, MQTTAsync_message *m) {
  (void)ctx;
  (void)tl;
  long long n = atomic_fetch_add(&got, 1) + 1;
  if (n == 1) first_at = now_s();
  if (n == want) last_at = now_s();
  MQTTAsync_freeMessage(&m);
  MQTTAsync_free(t);
  return 1;
}
static void on_connected(void *ctx, char *cause) {
  (void)ctx;
  (void)cause;
  atomic_store(&connected, 1);
}
static void on_sub(void *ctx, MQTTAsync_successData *r) {
  (void)ctx;
  (void)r;
  atomic_store(&subscribed, 1);
}

static MQTTAsync mqtt_open(const char *uri, const char *id) {
  MQTTAsync c;
  MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
  if (MQTTAsync_createWithOptions(&c, uri, id, MQTTCLIENT_PERSISTENCE_NONE, NULL, &co) != MQTTASYNC_SUCCESS) return NULL;
  MQTTAsync_setCallbacks(c, NULL, NULL, on_msg, NULL);
  MQTTAsync_setConnected(c, NULL, on_connected);
  MQTTAsync_connectOptions conn = MQTTAsync_connectOptions_initializer;
  conn.cleansession = 1;
  conn.keepAliveInterval = 20;
  conn.automaticReconnect = 1;
  /* The broker refuses anonymous clients: the ingest account reads, the simulator's writes. */
  conn.username = getenv(strstr(id, "sub") ? "FOFAL_MQTT_USERNAME" : "FOFAL_MQTT_SIM_USERNAME");
  conn.password = getenv(strstr(id, "sub") ? "FOFAL_MQTT_PASSWORD" : "FOFAL_MQTT_SIM_PASSWORD");
  if (MQTTAsync_connect(c, &conn) != MQTTASYNC_SUCCESS) return NULL;
  for (int i = 0; i < 100 && !atomic_load(&connected); i++) usleep(100 * 1000);
  return c;
}

static int mqtt_sub(const char *uri, const char *topic, long long count, double timeout, const char *ready_file) {
  want = count;
  MQTTAsync c = mqtt_open(uri, "fofal-bench-sub");
  if (!c || !atomic_load(&connected)) {
    fprintf(stderr, "bench-telemetry: no MQTT connection\n");
    return 1;
  }
  MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
  ro.onSuccess = on_sub;
  MQTTAsync_subscribe(c, topic, 1, &ro);
  for (int i = 0; i < 100 && !atomic_load(&subscribed); i++) usleep(50 * 1000);
  if (ready_file) {
    FILE *f = fopen(ready_file, "w");
    if (f) fclose(f);
  }
  double start = now_s();
  while (atomic_load(&got) < count && now_s() - start < timeout) usleep(2000);
  long long n = atomic_load(&got);
  double secs = (n >= count ? last_at : now_s()) - first_at;
  printf("{\"mode\":\"mqtt-sub\",\"received\":%lld,\"seconds\":%.3f,\"msgs_per_s\":%.0f}\n", n, secs,
         n > 1 && secs > 0 ? (double)n / secs : 0.0);
  MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
  MQTTAsync_disconnect(c, &d);
  usleep(100 * 1000);
  MQTTAsync_destroy(&c);
  return n >= count ? 0 : 1;
}

static long long sum_hw(fofal_kafka_t *k, const char *topic, int nparts) {
  long long s = 0;
  for (int p = 0; p < nparts; p++) {
    int64_t lo, hi;
    char err[256];
    if (!fofal_kafka_watermarks(k, topic, p, &lo, &hi, 5000, err, sizeof err)) s += hi;
  }
  return s;
}

static int kafka_count(const char *brokers, const char *topic, long long count, double timeout, const char *ready_file) {
  char err[512];
  fofal_kafka_t *k = NULL;
  fofal_kafka_opts_t o = {.brokers = brokers, .client_id = "fofal-bench-telemetry"};
  if (fofal_kafka_producer_new(&k, &o, err, sizeof err)) {
    fprintf(stderr, "bench-telemetry: %s\n", err);
    return 1;
  }
  int nparts = fofal_kafka_partition_count(k, topic, 10000, err, sizeof err);
  if (nparts <= 0) {
    fprintf(stderr, "bench-telemetry: %s\n", err);
    fofal_kafka_free(k);
    return 1;
  }
  long long base = sum_hw(k, topic, nparts), n = 0;
  if (ready_file) {
    FILE *f = fopen(ready_file, "w");
    if (f) fclose(f);
  }
  double start = now_s(), first = 0, last = 0;
  while (now_s() - start < timeout) {
    n = sum_hw(k, topic, nparts) - base;
    if (n > 0 && !first) first = now_s();
    if (n >= count) {
      last = now_s();
      break;
    }
    usleep(20 * 1000);
  }
  double secs = (last ? last : now_s()) - first;
  printf("{\"mode\":\"kafka-count\",\"records\":%lld,\"seconds\":%.3f,\"msgs_per_s\":%.0f}\n", n, secs,
         first && secs > 0 ? (double)n / secs : 0.0);
  fofal_kafka_free(k);
  return n >= count ? 0 : 1;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void pub(MQTTAsync c, const char *topic, const char *payload) {
  MQTTAsync_message m = MQTTAsync_message_initializer;
  m.payload = (void *)payload;
  m.payloadlen = (int)strlen(payload);
  m.qos = 1;
  while (MQTTAsync_sendMessage(c, topic, &m, NULL) != MQTTASYNC_SUCCESS) usleep(1000);
}

/* For each of n looms: running samples, then mechanical-stop samples; the clock runs from
 * the publish of the stop sample that confirms the stop (hysteresis: the third one, 2 s of
 * sample time after the first) to its breakdown push. */
static int breakdown(const char *uri, const char *redis_addr, const char *tenant, int n) {
  char err[512], topic[256], payload[512], ts[32], last_id[64] = "$";
  fofal_redis_t *r = NULL;
  if (fofal_redis_connect(&r, redis_addr, getenv("FOFAL_REDIS_USER"), getenv("FOFAL_REDIS_PASSWORD"), err, sizeof err)) {
    fprintf(stderr, "bench-telemetry: %s\n", err);
    return 1;
  }
  MQTTAsync c = mqtt_open(uri, "fofal-bench-breakdown");
  if (!c || !atomic_load(&connected)) return 1;
  /* Start at the stream's current end. */
  {
    const char *a[] = {"XREVRANGE", FOFAL_PUSH_STREAM, "+", "-", "COUNT", "1"};
    char **v = NULL;
    size_t nv = 0;
    if (!fofal_redis_query(r, 6, a, &v, &nv, err, sizeof err) && nv > 0) snprintf(last_id, sizeof last_id, "%s", v[0]);
    fofal_redis_strings_free(v);
  }
  double *lat = calloc((size_t)n, sizeof *lat);
  int ok = 0;
  int64_t base = fofal_now_us() - 3600LL * 1000000;
  for (int i = 0; i < n; i++) {
    char loom[32];
    snprintf(loom, sizeof loom, "BD%03d", i);
    snprintf(topic, sizeof topic, "fofal/%s/looms/%s/telemetry", tenant, loom);
    /* 4 running, then 3 stopped: the third stopped one (2 s after the first) confirms the stop. */
    for (int s = 0; s < 7; s++) {
      fofal_time_format(base + (int64_t)s * 1000000, ts);
      int stopped = s >= 4;
      snprintf(payload, sizeof payload,
               stopped ? "{\"msg_id\":\"%s-%d\",\"ts\":\"%s\",\"picks\":%d,\"ppm\":0,\"state\":\"stopped\",\"stop_cause\":\"mechanical\"}"
                       : "{\"msg_id\":\"%s-%d\",\"ts\":\"%s\",\"picks\":%d,\"ppm\":600,\"state\":\"running\"}",
               loom, s, ts, 1000 + (stopped ? 4 : s) * 10);
      if (s == 6) usleep(300 * 1000); /* let the earlier ones settle: time only the confirming one */
      pub(c, topic, payload);
    }
    double t0 = now_s();
    int seen = 0;
    while (!seen && now_s() - t0 < 10) {
      const char *a[] = {"XREAD", "COUNT", "100", "BLOCK", "200", "STREAMS", FOFAL_PUSH_STREAM, last_id};
      char **v = NULL;
      size_t nv = 0;
      if (fofal_redis_query(r, 8, a, &v, &nv, err, sizeof err)) break;
      /* Flattened: stream name, then per entry: id, "m", json. */
      for (size_t j = 1; j + 2 < nv; j += 3) {
        snprintf(last_id, sizeof last_id, "%s", v[j]);
        if (strstr(v[j + 2], "breakdown") && strstr(v[j + 2], loom)) seen = 1;
      }
      fofal_redis_strings_free(v);
    }
    if (seen) lat[ok++] = (now_s() - t0) * 1000;
  }
  qsort(lat, (size_t)ok, sizeof *lat, cmp_d);
  printf("{\"mode\":\"breakdown\",\"looms\":%d,\"seen\":%d,\"p50_ms\":%.1f,\"p99_ms\":%.1f,\"max_ms\":%.1f}\n", n, ok,
         ok ? lat[ok / 2] : -1.0, ok ? lat[(ok * 99) / 100 < ok ? (ok * 99) / 100 : ok - 1] : -1.0, ok ? lat[ok - 1] : -1.0);
  free(lat);
  MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
  MQTTAsync_disconnect(c, &d);
  usleep(100 * 1000);
  MQTTAsync_destroy(&c);
  fofal_redis_close(r);
  return ok == n ? 0 : 1;
}

static int machines(long long n) {
  fofal_machines_cfg_t cfg = {.hysteresis_ms = 2000, .confirm_samples = 3, .breakdown_after_s = 600, .tally_s = 10,
                              .gap_s = 300};
  fofal_machines_t *m = fofal_machines_new(&cfg);
  enum { LOOMS = 100 };
  for (int loom = 0; loom < LOOMS; loom++) { /* registered speeds, as fofal-machines learns them */
    char name[16];
    snprintf(name, sizeof name, "L%03d", loom + 1);
    fofal_machines_set_nominal_ppm(m, "bench", name, 600);
  }
  char **recs = calloc((size_t)n, sizeof *recs);
  size_t *lens = calloc((size_t)n, sizeof *lens);
  char payload[512], ev[FOFAL_TELEMETRY_EVENT_MAX], ts[40];
  int64_t t0 = 1795852800LL * 1000000; /* 2026-11-28T08:00:00Z */
  for (long long i = 0; i < n; i++) {
    int loom = (int)(i % LOOMS);
    long long k = i / LOOMS;
    char name[16];
    snprintf(name, sizeof name, "L%03d", loom + 1);
    int64_t us = t0 + k * 250000 + loom * 1000;
    fofal_time_format(us, ts);
    int stopped = (k + loom * 37) % 400 < 12; /* 3 s of every 100 s */
    int len = stopped ? snprintf(payload, sizeof payload,
                                 "{\"msg_id\":\"%s-%lld\",\"ts\":\"%s\",\"picks\":%lld,\"ppm\":0,\"state\":\"stopped\","
                                 "\"stop_cause\":\"weft_break\"}",
                                 name, k, ts, k * 2)
                      : snprintf(payload, sizeof payload,
                                 "{\"msg_id\":\"%s-%lld\",\"ts\":\"%s\",\"picks\":%lld,\"ppm\":%d.5,\"state\":\"running\"}",
                                 name, k, ts, k * 2, 600 + loom);
    fofal_telemetry_sample_t s;
    char why[256];
    if (fofal_telemetry_check(FOFAL_TELEMETRY_LOOM, payload, (size_t)len, &s, why, sizeof why)) {
      fprintf(stderr, "bench-telemetry: generated a bad sample: %s\n", why);
      return 1;
    }
    lens[i] = fofal_telemetry_encode(FOFAL_TELEMETRY_LOOM, "bench", name, &s, payload, (size_t)len, ev, sizeof ev);
    recs[i] = malloc(lens[i] + 1);
    memcpy(recs[i], ev, lens[i] + 1);
  }
  json_t *out = json_array();
  long long events = 0, bad = 0;
  double start = now_s();
  for (long long i = 0; i < n; i++) {
    char tenant[64], name[64];
    int hall;
    if (fofal_machines_record(m, recs[i], lens[i], out, tenant, name, &hall)) bad++;
    if (json_array_size(out) >= 256) {
      events += (long long)json_array_size(out);
      json_array_clear(out);
    }
  }
  double secs = now_s() - start;
  events += (long long)json_array_size(out);
  printf("{\"mode\":\"machines\",\"samples\":%lld,\"refused\":%lld,\"events\":%lld,\"seconds\":%.3f,\"samples_per_s\":%.0f,"
         "\"us_per_sample\":%.2f}\n",
         n, bad, events, secs, secs > 0 ? (double)n / secs : 0.0, secs > 0 ? secs * 1e6 / (double)n : 0.0);
  json_decref(out);
  for (long long i = 0; i < n; i++) free(recs[i]);
  free(recs);
  free(lens);
  fofal_machines_free(m);
  return bad ? 1 : 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  const char *uri = "tcp://127.0.0.1:11883", *topic = NULL, *brokers = "127.0.0.1:19092", *ready = NULL;
  const char *redis = "127.0.0.1:16379", *tenant = "bench";
  long long count = 100000;
  double timeout = 120;
  static struct option opts[] = {{"uri", 1, 0, 'u'},   {"topic", 1, 0, 't'},   {"brokers", 1, 0, 'b'},
                                 {"count", 1, 0, 'n'}, {"timeout", 1, 0, 'T'}, {"ready-file", 1, 0, 'r'},
                                 {"redis", 1, 0, 'R'}, {"tenant", 1, 0, 'e'},  {0, 0, 0, 0}};
  int o;
  optind = 2;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (o) {
    case 'u': uri = optarg; break;
    case 't': topic = optarg; break;
    case 'b': brokers = optarg; break;
    case 'n': count = atoll(optarg); break;
    case 'T': timeout = atof(optarg); break;
    case 'r': ready = optarg; break;
    case 'R': redis = optarg; break;
    case 'e': tenant = optarg; break;
    default: return 2;
    }
  }
  fofal_log_init("fofal-bench-telemetry", "warn");
  if (!strcmp(mode, "mqtt-sub")) return mqtt_sub(uri, topic ? topic : "fofal/+/looms/+/telemetry", count, timeout, ready);
  if (!strcmp(mode, "kafka-count")) return kafka_count(brokers, topic ? topic : FOFAL_TOPIC_TELEMETRY, count, timeout, ready);
  if (!strcmp(mode, "breakdown")) return breakdown(uri, redis, tenant, (int)count);
  if (!strcmp(mode, "machines")) return machines(count);
  fprintf(stderr,
          "usage: fofal-bench-telemetry mqtt-sub|kafka-count|breakdown|machines [--uri U] [--topic T] [--brokers B] [--redis A]\n"
          "                             [--count N] [--timeout S] [--ready-file F] [--tenant T]\n");
  return 2;
}
