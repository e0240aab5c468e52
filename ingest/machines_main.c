/*
 * machines_main.c — fofal-machines: the stream processor fofal.telemetry.raw →
 * fofal.machines.events (machine states, breakdowns, activity tallies, hall readings).
 * It writes only its own module's events: what other modules do about them is theirs (a
 * breakdown becomes an intervention request through the maintenance module's reaction,
 * run by fofal-reactor, commands/reactor.c).
 *
 * Exactly once. A member of the consumer group "fofal-machines". For each batch of
 * samples it writes, in ONE Kafka transaction: the events, the new state of every loom
 * the batch touched (compacted fofal.machines.state, key "tenant/loom", which includes
 * the loom's recent msg_ids for dedup) and the consumed offsets. A crash or an abort
 * replays the batch from the committed offsets against the state committed with them, so
 * every sample is counted once and every event written once.
 *
 * Shift models and loom speeds. The tallies need each tenant's shift model and each
 * loom's registered nominal speed (machines.c). They are facts of the hr module (the
 * model) and of the production module (the speed), so fofal-machines reads them where
 * they are decided: the same group also consumes fofal.hr.events and
 * fofal.production.events, and a batch's shift_model_defined/_redefined and
 * loom_registered records (found by a look at the bytes; the other events of those
 * topics are skipped undecoded) are applied before its samples and written to
 * fofal.machines.state as settings ("tenant/~shift_model", "tenant/~ppm:<loom>") in the
 * batch's transaction, with the hr and production offsets: exactly once, like the loom
 * states. No second store (the read model
 * would make fofal-machines depend on PostgreSQL and on the projector's lag), and a
 * replay meets the settings that were committed with its offsets. A tenant's events of a
 * module share one partition, so each setting has one writer; but that partition and a
 * loom's telemetry partition may belong to different instances. Every instance therefore
 * tails fofal.machines.state (read_committed) between batches and applies the settings
 * other instances wrote (each record names its writer); the loom states in that topic are
 * skipped by key, undecoded. Settings reach the other instances within a batch or two; a
 * sample tallied before that counts under the settings that were known (the built-in 3×8,
 * an unknown speed), as it would on a replay.
 *
 * Recovery. After any rebalance (and at start) the in-memory states are dropped and the
 * whole state topic is read again up to its end (read_committed), then the consumer
 * rewinds to the committed offsets. State records are small (one per loom, hall, tenant
 * model and loom speed). On a first start the group reads the hr and production events
 * from the beginning, which gives it every shift model and loom there already is.
 *
 * Unregistered looms (FOFAL_MACHINES_REGISTERED_ONLY, on by default). A loom sample is
 * applied only when the production module registered its loom (loom_registered, a
 * setting like the speeds above); any other goes to fofal.telemetry.raw.dlq in the
 * batch's transaction, reason unregistered_loom, and creates no state: whoever can
 * publish telemetry cannot grow this process's memory with made-up loom names. Halls are
 * not registered anywhere and stay as they were.
 *
 * Failures. Kafka unavailable: the transaction aborts or times out; the batch is retried
 * after a rewind. Fenced (another instance with the same FOFAL_MACHINES_INSTANCE): exits
 * non-zero. A record that is not a telemetry CloudEvent is counted and skipped (ingest
 * already checked it).
 *
 * Threads: one, the caller's; librdkafka has its own.
 */
#include "ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GROUP_ID "fofal-machines"
#define TXN_TIMEOUT_MS 30000

static char *brokers, *instance, *log_level;
static long long breakdown_after_s, hysteresis_ms, confirm_samples, tally_s, gap_s, max_batch, registered_only;

static fofal_kafka_security_t kafka_security; /* strings owned by the settings table */
static fofal_setting_t settings[] = {
    {"FOFAL_KAFKA_BROKERS", FOFAL_SET_STR, "127.0.0.1:19092", 0, 0, "Kafka bootstrap servers.", &brokers},
    FOFAL_KAFKA_SECURITY_SETTINGS(kafka_security),
    {"FOFAL_MACHINES_INSTANCE", FOFAL_SET_STR, "1", 0, 0,
     "Instance id, unique per running fofal-machines: its transactional id is fofal-machines-<id>.", &instance},
    {"FOFAL_BREAKDOWN_AFTER_S", FOFAL_SET_INT, "600", 10, 86400,
     "A stop longer than this is a breakdown (mechanical and electrical stops are at once).", &breakdown_after_s},
    {"FOFAL_MACHINES_HYSTERESIS_MS", FOFAL_SET_INT, "2000", 0, 600000,
     "A new state is confirmed after this much sample time in it ...", &hysteresis_ms},
    {"FOFAL_MACHINES_CONFIRM_SAMPLES", FOFAL_SET_INT, "3", 1, 100, "... or after this many consecutive samples.", &confirm_samples},
    {"FOFAL_MACHINES_TALLY_S", FOFAL_SET_INT, "10", 1, 3600, "A loom_activity event at least this often per loom.", &tally_s},
    {"FOFAL_MACHINES_GAP_S", FOFAL_SET_INT, "300", 1, 86400,
     "A silence between two samples longer than this is not credited to run or stop time.", &gap_s},
    {"FOFAL_MACHINES_REGISTERED_ONLY", FOFAL_SET_INT, "1", 0, 1,
     "1: a sample of a loom that production.loom.register never registered goes to " FOFAL_TOPIC_TELEMETRY_DLQ
     " (reason unregistered_loom) and creates no state, so made-up loom names cannot grow this process's memory. "
     "0: every loom name is taken.",
     &registered_only},
    {"FOFAL_MACHINES_MAX_BATCH", FOFAL_SET_INT, "5000", 1, 100000, "Samples per transaction, at most.", &max_batch},
    {"FOFAL_LOG_LEVEL", FOFAL_SET_STR, "info", 0, 0, "debug, info, warn or error.", &log_level},
};
#define NSET (sizeof settings / sizeof settings[0])

typedef struct {
  fofal_kafka_t *consumer, *producer;
  fofal_kafka_t *tail; /* fofal.machines.state from where load_state ended: other instances' settings */
  fofal_machines_t *m;
  int rebalanced;
  char production_topic[96], hr_topic[96]; /* where the settings come from */
  fofal_map_t *touched;  /* "tenant\x1fname\x1fhall?" → (void *)1, this batch */
  fofal_map_t *settings; /* state key of a setting → (void *)1, this batch */
  long long samples, events, skipped, unregistered, batches, settings_applied;
  char errbuf[512];
} proc_t;

static void on_rebalance(void *opaque, int assign, const char *topic, const int32_t *parts, int n) {
  proc_t *p = opaque;
  (void)assign;
  (void)topic;
  (void)parts;
  (void)n;
  p->rebalanced = 1;
}

/* The key of a setting record ("tenant/~..."): the tail reads only those. */
static int is_setting_key(const char *key, size_t len) {
  const char *slash = key ? memchr(key, '/', len) : NULL;
  return slash && (size_t)(slash - key) + 1 < len && slash[1] == '~';
}

static void restore_record(proc_t *p, const fofal_kmsg_t *msg, int settings_only, long long *n) {
  if (!msg->value || (settings_only && !is_setting_key(msg->key, msg->key_len))) return;
  json_error_t je;
  json_t *s = json_loadb(msg->value, msg->len, 0, &je);
  /* The tail skips what this instance wrote: it applied it already, and an older record
   * read back late must not undo a newer setting. */
  const char *by = json_string_value(json_object_get(s, "by"));
  if (s && !(settings_only && by && !strcmp(by, instance)) && !fofal_machines_restore(p->m, s)) (*n)++;
  json_decref(s);
}

/* Reads every committed state record into a fresh map, then keeps the reader as the tail
 * (assigned to every partition, where the reading ended). */
static int load_state(proc_t *p) {
  int rc = 0;
  fofal_kafka_t *k = NULL;
  fofal_kafka_opts_t o = {.brokers = brokers, .client_id = "fofal-machines-state", .read_committed = 1, .partition_eof = 1};
  int32_t *parts = NULL;
  int64_t *starts = NULL, *his = NULL;
  int *done = NULL;
  fofal_kafka_free(p->tail);
  p->tail = NULL;
  fofal_machines_clear(p->m);
  if ((rc = fofal_kafka_consumer_new(&k, &o, p->errbuf, sizeof p->errbuf))) return rc;
  int n = fofal_kafka_partition_count_wait(k, FOFAL_TOPIC_MACHINES_STATE, 10000, p->errbuf, sizeof p->errbuf);
  if (n <= 0) {
    rc = n < 0 ? n : FOFAL_ENOENT;
    goto out;
  }
  parts = fofal_calloc((size_t)n, sizeof *parts);
  starts = fofal_calloc((size_t)n, sizeof *starts);
  his = fofal_calloc((size_t)n, sizeof *his);
  done = fofal_calloc((size_t)n, sizeof *done);
  int pending = 0;
  for (int32_t part = 0; part < n; part++) {
    int64_t lo;
    parts[part] = part;
    starts[part] = FOFAL_OFFSET_BEGINNING;
    if ((rc = fofal_kafka_watermarks(k, FOFAL_TOPIC_MACHINES_STATE, part, &lo, &his[part], 10000, p->errbuf, sizeof p->errbuf)))
      goto out;
    done[part] = his[part] <= lo;
    pending += !done[part];
  }
  if ((rc = fofal_kafka_assign(k, FOFAL_TOPIC_MACHINES_STATE, parts, starts, n, p->errbuf, sizeof p->errbuf))) goto out;
  long long loaded = 0;
  int64_t deadline = fofal_mono_us() + 60 * 1000000LL;
  while (pending > 0) {
    fofal_kmsg_t msg;
    int got = fofal_kafka_consume(k, 200, &msg);
    if (got < 0) {
      rc = got;
      goto out;
    }
    if (got == 1) {
      if (!msg.eof) restore_record(p, &msg, 0, &loaded);
      if (msg.partition >= 0 && msg.partition < n && (msg.eof || msg.offset + 1 >= his[msg.partition])) done[msg.partition] = 1;
      fofal_kafka_msg_release(&msg);
    }
    /* The end may be a transaction marker: a partition is also done once our position
     * reached its high watermark. */
    pending = 0;
    for (int32_t part = 0; part < n; part++) {
      if (!done[part] && fofal_kafka_position(k, FOFAL_TOPIC_MACHINES_STATE, part) >= his[part]) done[part] = 1;
      pending += !done[part];
    }
    if (pending && fofal_mono_us() > deadline) {
      rc = fofal_err(p->errbuf, sizeof p->errbuf, FOFAL_ETIMEDOUT, "reading %s took over 60 s", FOFAL_TOPIC_MACHINES_STATE);
      goto out;
    }
  }
  LOG_INFO("restored the state of %lld looms, halls and settings", loaded);
  p->tail = k;
  k = NULL;
out:
  free(parts);
  free(starts);
  free(his);
  free(done);
  fofal_kafka_free(k);
  return rc;
}

/* Applies the settings other instances committed since the last look (never waits). */
static void tail_settings(proc_t *p) {
  fofal_kmsg_t msg;
  long long n = 0;
  for (int i = 0; p->tail && i < 10000 && fofal_kafka_consume(p->tail, 0, &msg) == 1; i++) {
    if (!msg.eof) restore_record(p, &msg, 1, &n);
    fofal_kafka_msg_release(&msg);
  }
  if (n) LOG_INFO("applied %lld shift model or loom speed settings of other instances", n);
}

/* `h` (may be NULL) and nh: the record's headers. */
static void produce_wait(proc_t *p, const char *topic, int32_t part, const char *key, const char *value, size_t len,
                         const fofal_kheader_t *h, int nh) {
  char err[256];
  int rc;
  while ((rc = fofal_kafka_produce(p->producer, topic, part, key, strlen(key), value, len, h, nh, NULL, NULL, err,
                                   sizeof err)) == FOFAL_EUNAVAIL)
    fofal_kafka_poll(p->producer, 10);
  if (rc) LOG_WARN("produce to %s: %s", topic, err); /* the commit then fails and the batch is retried */
}

static void send_event(proc_t *p, const json_t *e) {
  char id[FOFAL_UUID_LEN + 1], topic[96];
  int64_t us = 0;
  fofal_uuid7(id);
  fofal_time_parse(json_string_value(json_object_get(e, "time")), &us);
  fofal_event_t ev = {.id = id, .source = "/fofal/machines", .type = (char *)json_string_value(json_object_get(e, "type")),
                      .subject = (char *)json_string_value(json_object_get(e, "subject")), .time_us = us,
                      .tenant = (char *)json_string_value(json_object_get(e, "tenant")),
                      .seq = (int64_t)json_integer_value(json_object_get(e, "seq")), .actor = "s:fofal-machines",
                      .data = json_object_get(e, "data")};
  char *buf = fofal_event_encode(&ev);
  fofal_topic_events("machines", topic, sizeof topic);
  const fofal_kheader_t *h;
  int nh = fofal_event_kafka_headers(&h);
  produce_wait(p, topic, -1, ev.subject, buf, strlen(buf), h, nh);
  free(buf);
  p->events++;
}

static void note_touched(proc_t *p, const char *tenant, const char *name, int hall) {
  char key[160];
  snprintf(key, sizeof key, "%s\x1f%s\x1f%d", tenant, name, hall);
  if (!fofal_map_get(p->touched, key)) fofal_map_put(p->touched, key, (void *)1);
}

static void write_state(void *opaque, const char *key, void *value) {
  proc_t *p = opaque;
  (void)value;
  char tenant[64], name[64];
  int hall = 0;
  const char *a = strchr(key, '\x1f'), *b = a ? strchr(a + 1, '\x1f') : NULL;
  if (!a || !b) return;
  snprintf(tenant, sizeof tenant, "%.*s", (int)(a - key), key);
  snprintf(name, sizeof name, "%.*s", (int)(b - a - 1), a + 1);
  hall = b[1] == '1';
  json_t *s = fofal_machines_snapshot(p->m, tenant, name, hall);
  if (!s) return;
  char *buf = fofal_json_dumps(s, JSON_COMPACT);
  char k[160];
  snprintf(k, sizeof k, "%s/%s%s", tenant, hall ? "hall:" : "", name);
  produce_wait(p, FOFAL_TOPIC_MACHINES_STATE, -1, k, buf, strlen(buf), NULL, 0);
  free(buf);
  json_decref(s);
}

static void write_setting(void *opaque, const char *key, void *value) {
  proc_t *p = opaque;
  (void)value;
  json_t *s = fofal_machines_setting_snapshot(p->m, key, instance);
  if (!s) return;
  char *buf = json_dumps(s, JSON_COMPACT);
  produce_wait(p, FOFAL_TOPIC_MACHINES_STATE, -1, key, buf, strlen(buf), NULL, 0);
  free(buf);
  json_decref(s);
}

static int is_setting(const proc_t *p, const fofal_kmsg_t *msg) {
  return msg->topic && (!strcmp(msg->topic, p->production_topic) || !strcmp(msg->topic, p->hr_topic));
}

/* An hr or production event: a shift model or a loom's speed, else nothing. */
static void process_setting(proc_t *p, const fofal_kmsg_t *msg) {
  char key[160];
  if (!msg->value || !fofal_machines_setting_record(p->m, msg->value, msg->len, key)) return;
  if (!fofal_map_get(p->settings, key)) fofal_map_put(p->settings, key, (void *)1);
  p->settings_applied++;
}

static void process(proc_t *p, const fofal_kmsg_t *msg, json_t *out) {
  char tenant[64], name[64], key[160];
  int hall = 0, rc = msg->value ? fofal_machines_record(p->m, msg->value, msg->len, out, tenant, name, &hall) : FOFAL_EINVAL;
  if (rc == FOFAL_ENOENT) {
    /* In the batch's transaction, like the events: a replay sends it once. */
    fofal_kheader_t h[] = {{"fofal_dlq_reason", "unregistered_loom: production.loom.register never named this loom"}};
    snprintf(key, sizeof key, "%s/%s", tenant, name);
    produce_wait(p, FOFAL_TOPIC_TELEMETRY_DLQ, -1, key, msg->value, msg->len, h, 1);
    p->unregistered++;
    return;
  }
  if (rc) {
    p->skipped++;
    return;
  }
  note_touched(p, tenant, name, hall);
  p->samples++;
}

static int recover(proc_t *p) {
  char e2[256];
  int rc;
  if ((rc = load_state(p))) return rc;
  if ((rc = fofal_kafka_rewind_to_committed(p->consumer, 30000, e2, sizeof e2))) LOG_WARN("%s", e2);
  return 0;
}

/* One batch in one transaction. 0, FOFAL_EABORT (retry after recover), FOFAL_EFENCED. */
static int run_batch(proc_t *p, fofal_kmsg_t *batch, int n) {
  int rc;
  json_t *out = json_array();
  fofal_map_free(p->touched);
  fofal_map_free(p->settings);
  p->touched = fofal_map_new(NULL);
  p->settings = fofal_map_new(NULL);
  if ((rc = fofal_kafka_txn_begin(p->producer, p->errbuf, sizeof p->errbuf))) goto out;
  /* The batch's settings first: its samples are tallied under them. */
  for (int i = 0; i < n; i++)
    if (is_setting(p, &batch[i])) process_setting(p, &batch[i]);
  for (int i = 0; i < n; i++)
    if (!is_setting(p, &batch[i])) process(p, &batch[i], out);
  size_t j;
  json_t *o;
  json_array_foreach(out, j, o) send_event(p, o);
  fofal_map_each(p->touched, write_state, p);
  fofal_map_each(p->settings, write_setting, p);
  rc = fofal_kafka_txn_commit(p->producer, p->consumer, TXN_TIMEOUT_MS, p->errbuf, sizeof p->errbuf);
out:
  json_decref(out);
  if (rc && rc != FOFAL_EFENCED) {
    char e2[256];
    LOG_WARN("batch of %d aborted (%s); replaying it from the committed offsets", n, p->errbuf);
    if (fofal_kafka_txn_abort(p->producer, TXN_TIMEOUT_MS, &fofal_stop, e2, sizeof e2)) LOG_WARN("%s", e2);
    return FOFAL_EABORT;
  }
  if (!rc) p->batches++;
  return rc;
}

int main(int argc, char **argv) {
  char err[512], txid[128], client[128];
  int rc = 1;
  proc_t p = {0};
  fofal_kmsg_t *batch = NULL;
  int nb = 0;
  int early = fofal_process_start("fofal-machines", settings, NSET, argc, argv,
                                  "Usage: fofal-machines [--config FILE] [--option=value ...]\n\n"
                                  "Turns loom telemetry (" FOFAL_TOPIC_TELEMETRY ") into machine-state events "
                                  "(fofal.machines.events), breakdowns included, exactly once. "
                                  "Shift tallies follow each tenant's shift model and loom speeds, read from "
                                  "fofal.hr.events and fofal.production.events.",
                                  &log_level);
  if (early >= 0) return early;
  fofal_machines_cfg_t cfg = {.hysteresis_ms = (int)hysteresis_ms, .confirm_samples = (int)confirm_samples,
                              .breakdown_after_s = (int)breakdown_after_s, .tally_s = (int)tally_s, .gap_s = (int)gap_s,
                              .registered_only = (int)registered_only};
  p.m = fofal_machines_new(&cfg);
  p.touched = fofal_map_new(NULL);
  p.settings = fofal_map_new(NULL);
  fofal_topic_events("production", p.production_topic, sizeof p.production_topic);
  fofal_topic_events("hr", p.hr_topic, sizeof p.hr_topic);
  if (fofal_topics_require(brokers, err, sizeof err)) {
    LOG_ERROR("refusing to start: %s", err);
    goto out;
  }
  snprintf(txid, sizeof txid, "fofal-machines-%s", instance);
  snprintf(client, sizeof client, "fofal-machines-%s", instance);
  fofal_kafka_opts_t po = {.brokers = brokers, .client_id = client, .transactional_id = txid, .linger_ms = 5};
  fofal_kafka_opts_t co = {.brokers = brokers, .client_id = client, .group_id = GROUP_ID, .read_committed = 1,
                           .rebalance = on_rebalance, .opaque = &p};
  const char *topics[] = {FOFAL_TOPIC_TELEMETRY, p.production_topic, p.hr_topic};
  if (fofal_kafka_producer_new(&p.producer, &po, err, sizeof err) ||
      fofal_kafka_consumer_new(&p.consumer, &co, err, sizeof err) ||
      fofal_kafka_txn_init(p.producer, TXN_TIMEOUT_MS, &fofal_stop, err, sizeof err) ||
      fofal_kafka_subscribe(p.consumer, topics, 3, err, sizeof err)) {
    LOG_ERROR("cannot start: %s", err);
    goto out;
  }
  batch = fofal_calloc((size_t)max_batch, sizeof *batch);
  LOG_INFO("machine states from %s (breakdown after %lld s, hysteresis %lld ms / %lld samples)", FOFAL_TOPIC_TELEMETRY,
           breakdown_after_s, hysteresis_ms, confirm_samples);
  int64_t last_stats = fofal_mono_us();
  rc = 0;
  while (!fofal_stopped(&fofal_stop)) {
    int64_t deadline = 0;
    while (nb < max_batch) {
      /* A batch is what is at hand (events.h, FOFAL_BATCH_GAP_MS): a breakdown's sample is
       * not held back waiting for company; under load batches stay large. */
      int timeout = fofal_batch_wait_ms(deadline, FOFAL_BATCH_GAP_MS);
      if (!timeout) break;
      fofal_kmsg_t m;
      int got = fofal_kafka_consume(p.consumer, timeout, &m);
      if (got < 0) {
        LOG_ERROR("fatal Kafka consumer error; exiting");
        rc = 1;
        goto out;
      }
      if (p.rebalanced) break;
      if (got == 0) break;
      if (m.eof || !m.value) {
        fofal_kafka_msg_release(&m);
        continue;
      }
      batch[nb++] = m;
      if (!deadline) deadline = fofal_mono_us() + FOFAL_BATCH_MAX_WAIT_MS * 1000;
    }
    if (p.rebalanced) {
      /* Drop what was gathered: the new owner set decides from the committed offsets. */
      for (int i = 0; i < nb; i++) fofal_kafka_msg_release(&batch[i]);
      nb = 0;
      p.rebalanced = 0;
      while (!fofal_stopped(&fofal_stop) && recover(&p)) {
        LOG_WARN("cannot restore machine states yet: %s", p.errbuf);
        sleep(1);
      }
      continue;
    }
    if (fofal_mono_us() - last_stats > 10 * 1000000LL) {
      LOG_INFO("stats: %lld samples, %lld events, %lld skipped, %lld unregistered, %lld settings, %lld transactions",
               p.samples, p.events, p.skipped, p.unregistered, p.settings_applied, p.batches);
      last_stats = fofal_mono_us();
    }
    tail_settings(&p);
    if (nb == 0) continue;
    int brc = run_batch(&p, batch, nb);
    for (int i = 0; i < nb; i++) fofal_kafka_msg_release(&batch[i]);
    nb = 0;
    if (brc == FOFAL_EFENCED) {
      LOG_ERROR("fenced: another fofal-machines runs as instance %s (%s); exiting", instance, p.errbuf);
      rc = 1;
      break;
    }
    if (brc) {
      while (!fofal_stopped(&fofal_stop) && recover(&p)) {
        LOG_WARN("cannot restore machine states yet: %s", p.errbuf);
        sleep(1);
      }
    }
  }
out:
  for (int i = 0; i < nb; i++) fofal_kafka_msg_release(&batch[i]);
  free(batch);
  LOG_INFO("stopped: %lld samples, %lld events", p.samples, p.events);
  fofal_kafka_free(p.tail);
  fofal_kafka_free(p.consumer);
  fofal_kafka_free(p.producer);
  fofal_map_free(p.touched);
  fofal_map_free(p.settings);
  fofal_machines_free(p.m);
  fofal_settings_free(settings, NSET);
  return rc;
}
