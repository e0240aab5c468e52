/*
 * main.c — fofal-ingest: loom and hall telemetry from MQTT into Kafka (paho.mqtt.c,
 * MQTTAsync).
 *
 * Subscribes with QoS 1 and a persistent session (clean session off, a stable client id)
 * to fofal/+/looms/+/telemetry and fofal/+/halls/+/env, reconnecting with backoff. Each
 * message is one sample or a batch of them (a JSON array, ingest.h); each sample is checked
 * (telemetry.c); a good one is produced to fofal.telemetry.raw keyed by loom (or hall) with
 * the idempotent producer, a bad one to fofal.telemetry.raw.dlq with the reason (a bad
 * batch goes there whole).
 *
 * Pipeline. paho runs every client's message callback on ONE receive thread per process.
 * The callback only copies the message into a bounded ring and returns; a worker thread
 * checks, encodes and produces it to librdkafka asynchronously (batched by linger.ms).
 * When the window of samples received but not yet acknowledged by Kafka
 * (FOFAL_INGEST_MAX_INFLIGHT), or the ring's 64 MiB, is full, the callback blocks: paho
 * stops reading the socket and the broker keeps the rest queued for our persistent
 * session (back-pressure). The producer never gives up on a message (message.timeout.ms
 * is effectively infinite), so with Kafka down nothing is dropped, the window just stays
 * full.
 *
 * What "acknowledged" means — read this before relying on it. paho.mqtt.c 1.3.x sends
 * the QoS 1 PUBACK to the broker when it RECEIVES a PUBLISH, before it runs the message
 * callback (MQTTProtocol_handlePublishes: "send puback before processing the
 * publications"); returning 0 from the callback only makes paho retry the same message
 * from its own queue, head of line. So no paho application can hold the MQTT
 * acknowledgement until Kafka has the message. What fofal-ingest does instead: the
 * callback's first act is to append the message to a local spool (spool.c,
 * FOFAL_INGEST_SPOOL_DIR), numbered; delivery reports tell which numbers are in Kafka, and
 * every second the highest number up to which all are is checkpointed. A new start
 * replays what the spool holds beyond its checkpoint before it reads MQTT. The guarantee:
 *   - Kafka down, broker restart, ingest stopped (SIGTERM), killed (kill -9, OOM) or
 *     crashed: no loss. The only gap is the few microseconds between paho's PUBACK and the
 *     spool's write; and a power cut can lose the last second (the spool is synced to disk
 *     every second).
 *   - Without a spool, a kill -9 loses up to FOFAL_INGEST_MAX_INFLIGHT samples (and a
 *     batch's worth more) that were received but not yet in Kafka.
 * Duplicates (publisher resends after a broker restart; what a restart replays that had
 * reached Kafka after the last checkpoint) are let through here, each with its msg_id and
 * the same CloudEvent id, and removed downstream by fofal-machines (machines.c).
 *
 * The broker. It refuses anonymous clients; fofal-ingest signs in with its own account
 * (FOFAL_MQTT_USERNAME/PASSWORD), which the broker's ACL lets read the telemetry topics
 * and nothing else, over TLS when the URI is ssl://. Gateways have accounts of their own
 * that may only write their tenant's topics (fofal-mqtt-auth, broker_auth.c).
 *
 * Threads: paho's receive thread (spool, copy into the ring), one worker (check, encode,
 * produce, delivery reports), the main thread (checkpoints; on a signal, drains).
 */
#include "ingest.h"

#include <MQTTAsync.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *brokers, *mqtt_uri, *mqtt_user, *mqtt_password, *mqtt_ca, *client_id, *share_group, *spool_dir, *log_level;
static long long max_inflight, linger_ms, sessions;

static fofal_kafka_security_t kafka_security; /* strings owned by the settings table */
static fofal_setting_t settings[] = {
    {"FOFAL_KAFKA_BROKERS", FOFAL_SET_STR, "127.0.0.1:19092", 0, 0, "Kafka bootstrap servers.", &brokers},
    FOFAL_KAFKA_SECURITY_SETTINGS(kafka_security),
    {"FOFAL_MQTT_URI", FOFAL_SET_STR, "tcp://127.0.0.1:11883", 0, 0,
     "MQTT broker URI: tcp://host:port, or ssl://host:port for TLS (then the broker's certificate is verified "
     "against FOFAL_MQTT_CA_FILE, its host name included).",
     &mqtt_uri},
    {"FOFAL_MQTT_USERNAME", FOFAL_SET_STR, "", 0, 0,
     "fofal-ingest's MQTT user name (the broker refuses anonymous clients; its ACL lets this account read the "
     "telemetry topics). Empty: connect without credentials.",
     &mqtt_user},
    {"FOFAL_MQTT_PASSWORD", FOFAL_SET_STR, "", 0, 0, "Its password (never logged).", &mqtt_password},
    {"FOFAL_MQTT_CA_FILE", FOFAL_SET_STR, "", 0, 0,
     "PEM file of the CA that signed the broker's certificate, for ssl:// URIs. Empty: the system's CAs.", &mqtt_ca},
    {"FOFAL_MQTT_CLIENT_ID", FOFAL_SET_STR, "fofal-ingest-1", 0, 0,
     "Stable MQTT client id: the broker keeps this session's queued messages across restarts (with several "
     "sessions, -<n> is appended). A listener with use_username_as_clientid (the gateways' TLS listener) uses the "
     "user name instead.",
     &client_id},
    {"FOFAL_MQTT_SHARE_GROUP", FOFAL_SET_STR, "", 0, 0,
     "If set, subscribe as $share/<group>/... so several instances (or sessions) split the load.", &share_group},
    {"FOFAL_INGEST_SESSIONS", FOFAL_SET_INT, "1", 1, 16,
     "MQTT sessions of this process (more than 1 needs FOFAL_MQTT_SHARE_GROUP). paho serves all of them on one "
     "thread, so more sessions rarely help; more processes do.",
     &sessions},
    {"FOFAL_INGEST_MAX_INFLIGHT", FOFAL_SET_INT, "50000", 1, 1000000,
     "Samples received from MQTT but not yet acknowledged by Kafka, at most (a batch counts its samples). Past "
     "it, MQTT reading pauses (back-pressure). It is also what a kill -9 can lose.",
     &max_inflight},
    {"FOFAL_INGEST_LINGER_MS", FOFAL_SET_INT, "10", 0, 1000,
     "Kafka batching delay. Bigger batches cost the broker less per message (a warm broker on the 2-core bench "
     "machine: about 8 us of CPU per message at 5 ms, 3-5 at 10 ms, no better at 20), but add up to this much to "
     "every breakdown's way to the mechanic.",
     &linger_ms},
    {"FOFAL_INGEST_SPOOL_DIR", FOFAL_SET_STR, "", 0, 0,
     "Directory of the local spool: every message received is appended there before anything else, and replayed "
     "at the next start if it had not reached Kafka, so a kill -9 or a crash loses nothing paho acknowledged. "
     "Empty: no spool (a kill -9 can then lose up to FOFAL_INGEST_MAX_INFLIGHT samples).",
     &spool_dir},
    {"FOFAL_LOG_LEVEL", FOFAL_SET_STR, "info", 0, 0, "debug, info, warn or error.", &log_level},
};
#define NSET (sizeof settings / sizeof settings[0])

/* One message copied out of paho: topic and payload in one allocation. */
typedef struct {
  uint64_t seq;             /* the spool's sequence number (also without a spool) */
  size_t tlen, plen, bytes; /* bytes: the allocation's size */
  char buf[]; /* topic, then payload */
} item_t;

typedef struct {
  MQTTAsync clients[16];
  int nclients;
  fofal_kafka_t *producer;
  char subs[2][256];
  /* The ring, guarded by mu. @locks mu */
  pthread_mutex_t mu;
  pthread_cond_t not_empty, not_full;
  item_t **ring;
  size_t cap, head, len, ring_bytes;
  /* Window accounting, in samples: received counts one per item put in the ring, and the
   * worker adds the rest of a batch's samples when it splits it; delivered is advanced by
   * delivery reports. The receiver waits while received - delivered >= max_inflight. */
  atomic_llong received, delivered, ok, rejected, failed;
  atomic_int draining, stopping;
} ingest_t;

static ingest_t in;

/* The spool (NULL without one) and the next sequence number (paho's thread, after start). */
static fofal_spool_t *spool;
static uint64_t next_seq = 1;
/* Which messages are in Kafka, by seq: pend[seq % pcap] is 0 (not handled yet), the
 * number of its records Kafka has not acknowledged, or -1 (all acknowledged, waiting for
 * an earlier one). done_through: every message up to it is in Kafka. Only the thread
 * serving delivery reports touches pend (the worker; the main thread once it is gone). */
static int32_t *pend;
static size_t pcap;
static _Atomic uint64_t done_through;

static void mark_done(uint64_t seq) {
  pend[seq % pcap] = -1;
  uint64_t d = atomic_load(&done_through);
  while (pend[(d + 1) % pcap] == -1) {
    pend[(d + 1) % pcap] = 0;
    d++;
  }
  atomic_store(&done_through, d);
}

/* The ring's payload bytes, at most (with one item always let in): batches are up to
 * FOFAL_TELEMETRY_BATCH_MAX_BYTES each, and the window counts samples, not bytes. */
#define RING_BYTES (64u << 20)

static long long inflight(void) { return atomic_load(&in.received) - atomic_load(&in.delivered); }

/* ---------------------------------------------------------- paho's thread */

/* Puts an item at the ring's tail, growing the ring if it is full. @requires in.mu (or
 * no other thread yet) */
static void ring_push(item_t *it) {
  if (in.len == in.cap) {
    item_t **bigger = fofal_calloc(in.cap * 2, sizeof *bigger);
    for (size_t i = 0; i < in.len; i++) bigger[i] = in.ring[(in.head + i) % in.cap];
    free(in.ring);
    in.ring = bigger;
    in.head = 0;
    in.cap *= 2;
  }
  in.ring[(in.head + in.len) % in.cap] = it;
  in.len++;
  in.ring_bytes += it->bytes;
  atomic_fetch_add(&in.received, 1);
}

/* A new item holding topic and payload (payload cut to what is kept of a hostile one). */
static item_t *item_new(uint64_t seq, const char *topic, size_t tlen, const char *payload, size_t plen) {
  if (tlen > 255) tlen = 255;
  size_t keep = plen > FOFAL_TELEMETRY_BATCH_MAX_BYTES + 1 ? FOFAL_TELEMETRY_BATCH_MAX_BYTES + 1 : plen;
  item_t *it = fofal_malloc(sizeof *it + tlen + keep + 1);
  it->seq = seq;
  it->tlen = tlen;
  it->plen = keep; /* the worker sees a cut payload exceeds the cap */
  it->bytes = sizeof *it + tlen + keep + 1;
  memcpy(it->buf, topic, tlen);
  memcpy(it->buf + tlen, payload, keep);
  it->buf[tlen + keep] = '\0';
  return it;
}

static int on_message(void *context, char *topic, int topic_len, MQTTAsync_message *msg) {
  (void)context;
  size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic);
  size_t plen = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
  /* Hostile payloads are refused by size in the worker; only keep enough to report them. */
  item_t *it = item_new(next_seq++, topic, tlen, msg->payload, plen);
  /* Into the spool first: from here on a crash of this process loses nothing. */
  if (spool && fofal_spool_append(spool, it->seq, it->buf, it->tlen, it->buf + it->tlen, it->plen)) {
    static int64_t last_warn;
    if (fofal_mono_us() - last_warn > 10 * 1000000LL) {
      last_warn = fofal_mono_us();
      LOG_ERROR("cannot append to the spool %s (disk full?): messages go on without it", spool_dir);
    }
  }
  pthread_mutex_lock(&in.mu);
  /* Back-pressure: wait while the window is full. The broker queues the rest. */
  while ((in.len == in.cap || inflight() >= max_inflight || (in.len && in.ring_bytes > RING_BYTES)) &&
         !atomic_load(&in.stopping))
    pthread_cond_wait(&in.not_full, &in.mu);
  /* Stopping with a full window: paho may still hand over what it had queued, already
   * acknowledged to the broker; keep it (the ring grows) for the drain to deliver. */
  ring_push(it);
  if (in.len == 1) pthread_cond_signal(&in.not_empty); /* the worker only sleeps on an empty ring */
  pthread_mutex_unlock(&in.mu);
  MQTTAsync_freeMessage(&msg);
  MQTTAsync_free(topic);
  return 1;
}

/* ---------------------------------------------------------------- worker */

static void on_delivery(void *opaque, int err, int32_t partition, int64_t offset) {
  (void)partition;
  (void)offset;
  uint64_t seq = (uint64_t)(uintptr_t)opaque;
  if (--pend[seq % pcap] == 0) mark_done(seq);
  /* With an infinite message timeout a report is only an error for a fatal producer
   * state; count it so that the log says so loudly. */
  if (err) atomic_fetch_add(&in.failed, 1);
  atomic_fetch_add(&in.delivered, 1);
}

static void wake_receiver(void) {
  pthread_mutex_lock(&in.mu);
  pthread_cond_broadcast(&in.not_full);
  pthread_mutex_unlock(&in.mu);
}

/* Produces, waiting while librdkafka's own queue is full. */
static void produce(uint64_t seq, const char *topic, const char *key, const char *value, size_t len,
                    const fofal_kheader_t *h, int nh) {
  char err[256];
  for (int attempt = 0;; attempt++) {
    int rc = fofal_kafka_produce(in.producer, topic, -1, key, strlen(key), value, len, h, nh, on_delivery,
                                 (void *)(uintptr_t)seq, err,
                                 sizeof err);
    if (!rc) return;
    if (attempt % 200 == 0) LOG_WARN("Kafka does not take telemetry yet (%s); holding the window", err);
    fofal_kafka_poll(in.producer, 10);
  }
}

/* The worker's encoding buffer: one worker thread, and librdkafka copies the value. */
static char event_buf[FOFAL_TELEMETRY_EVENT_MAX];

/* Sends a refused payload to the DLQ with its reason, keyed by the MQTT topic: one
 * sensor's refusals stay in order and are easy to find. */
static void refuse(const item_t *it, const char *payload, size_t len, const char *why) {
  char topic_copy[256];
  snprintf(topic_copy, sizeof topic_copy, "%.*s", (int)it->tlen, it->buf);
  fofal_kheader_t h[] = {{"fofal_dlq_reason", why}, {"mqtt_topic", topic_copy}};
  produce(it->seq, FOFAL_TOPIC_TELEMETRY_DLQ, topic_copy, payload, len, h, 2);
  atomic_fetch_add(&in.rejected, 1);
}

static void handle(item_t *it) {
  char tenant[64], name[64], why[256];
  int kind = 0;
  fofal_telemetry_span_t spans[FOFAL_TELEMETRY_BATCH_MAX];
  const char *payload = it->buf + it->tlen;
  /* What is kept of a refused payload: a sample's or a batch's cap. */
  size_t keep = it->plen > FOFAL_TELEMETRY_BATCH_MAX_BYTES ? FOFAL_TELEMETRY_BATCH_MAX_BYTES : it->plen;
  /* Each outcome is one record per sample, or one for the whole message: counted before
   * the first is produced (delivery reports are served while producing). */
  int n = fofal_telemetry_route(it->buf, it->tlen, tenant, name, &kind)
              ? fofal_err(why, sizeof why, FOFAL_EINVAL,
                          "topic is not fofal/<tenant>/looms/<loom>/telemetry nor fofal/<tenant>/halls/<hall>/env")
              : fofal_telemetry_split(payload, it->plen, spans, why, sizeof why);
  pend[it->seq % pcap] = n < 0 ? 1 : n;
  if (n < 0) {
    refuse(it, payload, keep, why);
    return;
  }
  /* The receiver counted this message as one sample. */
  if (n > 1) atomic_fetch_add(&in.received, n - 1);
  for (int i = 0; i < n; i++) {
    const char *p = payload + spans[i].off;
    size_t len = spans[i].len;
    fofal_telemetry_sample_t smp;
    int rc = fofal_telemetry_check(kind, p, len, &smp, why, sizeof why);
    if (rc) {
      /* A bad sample of a batch goes alone, with its place in the batch. */
      char reason[300];
      if (n > 1) snprintf(reason, sizeof reason, "sample %d of %d: %s", i + 1, n, why);
      else snprintf(reason, sizeof reason, "%s", why);
      refuse(it, p, len > FOFAL_TELEMETRY_MAX_BYTES ? FOFAL_TELEMETRY_MAX_BYTES : len, reason);
      continue;
    }
    size_t el = fofal_telemetry_encode(kind, tenant, name, &smp, p, len, event_buf, sizeof event_buf);
    const fofal_kheader_t *h;
    int nh = fofal_event_kafka_headers(&h);
    produce(it->seq, FOFAL_TOPIC_TELEMETRY, name, event_buf, el, h, nh);
    atomic_fetch_add(&in.ok, 1);
  }
}

static void *worker(void *arg) {
  (void)arg;
  item_t *batch[256];
  for (;;) {
    size_t n = 0;
    pthread_mutex_lock(&in.mu);
    while (in.len == 0 && !atomic_load(&in.draining)) {
      pthread_mutex_unlock(&in.mu);
      /* Serve delivery reports while idle; they may free the window. */
      if (fofal_kafka_poll(in.producer, 5) > 0) wake_receiver();
      pthread_mutex_lock(&in.mu);
      if (in.len == 0 && !atomic_load(&in.draining)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 5 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
          ts.tv_sec++;
          ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&in.not_empty, &in.mu, &ts);
      }
    }
    while (in.len > 0 && n < 256) {
      batch[n++] = in.ring[in.head];
      in.ring_bytes -= in.ring[in.head]->bytes;
      in.head = (in.head + 1) % in.cap;
      in.len--;
    }
    int done = in.len == 0 && atomic_load(&in.draining);
    pthread_mutex_unlock(&in.mu);
    for (size_t i = 0; i < n; i++) {
      handle(batch[i]);
      free(batch[i]);
    }
    fofal_kafka_poll(in.producer, 0);
    wake_receiver();
    if (done && n == 0) break;
  }
  return NULL;
}

/* ----------------------------------------------------------------- spool */

static void replay_one(void *arg, uint64_t seq, const char *topic, size_t tlen, const char *payload, size_t plen) {
  (void)arg;
  ring_push(item_new(seq, topic, tlen, payload, plen));
}

/* Before any other thread: puts what the spool holds beyond its checkpoint back into the
 * ring, sets up the delivery tracking and opens a new segment. Without a spool, only the
 * tracking. */
static int start_spool(char *errbuf, size_t errlen) {
  long long replayed = 0;
  int rc;
  if (*spool_dir && (rc = fofal_spool_open(&spool, spool_dir, replay_one, NULL, &replayed, &next_seq, errbuf, errlen)))
    return rc;
  /* Tracking starts before the first message not known to be in Kafka. Seqs between it
   * and next_seq that were not replayed (a record torn by a power cut) count as done. */
  uint64_t base = in.len ? in.ring[in.head]->seq - 1 : next_seq - 1, span = next_seq - 1 - base;
  if (span > (uint64_t)replayed * 2 + 100000)
    return fofal_err(errbuf, errlen, FOFAL_EIO,
                     "the spool %s skips %" PRIu64 " messages between its records; move it aside to start without it",
                     spool_dir, span - (uint64_t)replayed);
  pcap = 2 * (size_t)max_inflight + (size_t)span + 4096;
  pend = fofal_calloc(pcap, sizeof *pend);
  atomic_store(&done_through, base);
  uint64_t expect = base + 1;
  for (size_t i = 0; i <= in.len; i++) {
    uint64_t upto = i < in.len ? in.ring[(in.head + i) % in.cap]->seq : next_seq;
    for (; expect < upto; expect++) mark_done(expect);
    expect = upto + 1;
  }
  if (!spool) LOG_WARN("no spool (FOFAL_INGEST_SPOOL_DIR): a kill -9 can lose up to %lld samples paho acknowledged", max_inflight);
  else if (replayed) LOG_INFO("spool %s: %lld messages were not yet in Kafka; delivering them first", spool_dir, replayed);
  return 0;
}

/* -------------------------------------------------------------- sessions */

static void on_subscribed(void *context, MQTTAsync_successData *resp) {
  (void)resp;
  (void)context;
  LOG_INFO("subscribed to %s and %s (QoS 1)", in.subs[0], in.subs[1]);
}

static void on_subscribe_failed(void *context, MQTTAsync_failureData *resp) {
  (void)context;
  LOG_ERROR("MQTT subscribe failed (code %d)", resp ? resp->code : 0);
}

static void on_connected(void *context, char *cause) {
  MQTTAsync client = context;
  (void)cause;
  MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
  ro.onSuccess = on_subscribed;
  ro.onFailure = on_subscribe_failed;
  char *topics[] = {in.subs[0], in.subs[1]};
  int qos[] = {1, 1};
  int rc = MQTTAsync_subscribeMany(client, 2, topics, qos, &ro);
  if (rc != MQTTASYNC_SUCCESS) LOG_ERROR("MQTT subscribe: code %d", rc);
}

static void on_connection_lost(void *context, char *cause) {
  (void)context;
  LOG_WARN("MQTT connection lost (%s); reconnecting", cause ? cause : "no reason given");
}

static void on_connect_failed(void *context, MQTTAsync_failureData *resp) {
  (void)context;
  LOG_WARN("MQTT connect failed (code %d); retrying", resp ? resp->code : 0);
}

static int start_session(int i) {
  char id[160];
  if (sessions > 1) snprintf(id, sizeof id, "%s-%d", client_id, i + 1);
  else snprintf(id, sizeof id, "%s", client_id);
  MQTTAsync c;
  MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
  if (MQTTAsync_createWithOptions(&c, mqtt_uri, id, MQTTCLIENT_PERSISTENCE_NONE, NULL, &co) != MQTTASYNC_SUCCESS)
    return FOFAL_ECONFIG;
  in.clients[in.nclients++] = c;
  if (MQTTAsync_setCallbacks(c, c, on_connection_lost, on_message, NULL) != MQTTASYNC_SUCCESS ||
      MQTTAsync_setConnected(c, c, on_connected) != MQTTASYNC_SUCCESS)
    return FOFAL_ECONFIG;
  MQTTAsync_connectOptions conn = MQTTAsync_connectOptions_initializer;
  conn.keepAliveInterval = 20;
  conn.cleansession = 0;
  conn.automaticReconnect = 1;
  conn.minRetryInterval = 1;
  conn.maxRetryInterval = 30;
  conn.onFailure = on_connect_failed;
  conn.context = c;
  if (*mqtt_user) {
    conn.username = mqtt_user;
    conn.password = mqtt_password;
  }
  /* Borrowed by paho until the connect returns, which copies it. */
  MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
  if (!strncmp(mqtt_uri, "ssl://", 6) || !strncmp(mqtt_uri, "mqtts://", 8)) {
    ssl.trustStore = *mqtt_ca ? mqtt_ca : NULL;
    ssl.enableServerCertAuth = 1;
    ssl.verify = 1; /* the host name too */
    ssl.sslVersion = MQTT_SSL_VERSION_TLS_1_2;
    conn.ssl = &ssl;
  }
  return MQTTAsync_connect(c, &conn) == MQTTASYNC_SUCCESS ? 0 : FOFAL_EUNAVAIL;
}

/* Puts the spool on disk, and records in it what is in Kafka, if that moved. */
static void checkpoint(uint64_t *checkpointed) {
  if (spool && fofal_spool_sync(spool)) LOG_WARN("cannot sync the spool in %s", spool_dir);
  uint64_t d = atomic_load(&done_through);
  if (!spool || d == *checkpointed) return;
  if (fofal_spool_done(spool, d)) LOG_WARN("cannot write the spool's checkpoint in %s", spool_dir);
  else *checkpointed = d;
}

int main(int argc, char **argv) {
  char err[512];
  int rc = 1;
  pthread_t wth;
  int worker_started = 0;
  uint64_t checkpointed = 0;
  int early = fofal_process_start("fofal-ingest", settings, NSET, argc, argv,
                                  "Usage: fofal-ingest [--config FILE] [--option=value ...]\n\n"
                                  "Streams loom telemetry (" FOFAL_TELEMETRY_SUBSCRIPTION ") and hall sensors ("
                                  FOFAL_HALL_SUBSCRIPTION ") from MQTT (QoS 1) into Kafka (" FOFAL_TOPIC_TELEMETRY
                                  "), one record per sample (a message is one sample or a JSON array of up to 256); "
                                  "refused payloads go to " FOFAL_TOPIC_TELEMETRY_DLQ " with the reason.\n"
                                  "With FOFAL_INGEST_SPOOL_DIR, a kill -9 or a crash loses nothing paho acknowledged; "
                                  "without, up to FOFAL_INGEST_MAX_INFLIGHT samples (see the README).",
                                  &log_level);
  if (early >= 0) return early;
  pthread_mutex_init(&in.mu, NULL);
  pthread_cond_init(&in.not_empty, NULL);
  pthread_cond_init(&in.not_full, NULL);
  in.cap = (size_t)max_inflight;
  in.ring = fofal_calloc(in.cap, sizeof *in.ring);
  const char *subs[] = {FOFAL_TELEMETRY_SUBSCRIPTION, FOFAL_HALL_SUBSCRIPTION};
  for (int i = 0; i < 2; i++) {
    if (*share_group) snprintf(in.subs[i], sizeof in.subs[i], "$share/%s/%s", share_group, subs[i]);
    else snprintf(in.subs[i], sizeof in.subs[i], "%s", subs[i]);
  }
  if (sessions > 1 && !*share_group) {
    LOG_ERROR("refusing to start: FOFAL_INGEST_SESSIONS > 1 needs FOFAL_MQTT_SHARE_GROUP (else each session gets every message)");
    goto out;
  }
  if (fofal_topics_require(brokers, err, sizeof err)) {
    LOG_ERROR("refusing to start: %s", err);
    goto out;
  }
  /* message.timeout.ms at its maximum (24.8 days): a message given to librdkafka is never
   * dropped for want of a broker. */
  fofal_kafka_opts_t po = {.brokers = brokers, .client_id = client_id, .linger_ms = (int)linger_ms,
                           .message_timeout_ms = 2147483647};
  if (fofal_kafka_producer_new(&in.producer, &po, err, sizeof err)) {
    LOG_ERROR("cannot start: %s", err);
    goto out;
  }
  if (start_spool(err, sizeof err)) {
    LOG_ERROR("refusing to start: %s", err);
    goto out;
  }
  checkpointed = atomic_load(&done_through);
  pthread_create(&wth, NULL, worker, NULL);
  worker_started = 1;
  for (int i = 0; i < sessions; i++)
    if (start_session(i)) {
      LOG_ERROR("cannot start: MQTT session to %s failed (invalid URI?)", mqtt_uri);
      goto out;
    }
  LOG_INFO("ingesting %s and %s from %s into %s (%lld session(s), window %lld)", in.subs[0], in.subs[1], mqtt_uri,
           FOFAL_TOPIC_TELEMETRY, sessions, max_inflight);
  long long last_ok = 0;
  int64_t last = fofal_mono_us();
  while (!fofal_stopped(&fofal_stop)) {
    sleep(1);
    checkpoint(&checkpointed);
    if (fofal_mono_us() - last >= 10 * 1000000LL) {
      long long ok = atomic_load(&in.ok);
      LOG_INFO("stats: %lld samples/s, window %lld, %lld ingested, %lld refused, %lld failed deliveries",
               (ok - last_ok) * 1000000LL / (fofal_mono_us() - last), inflight(), ok, (long long)atomic_load(&in.rejected),
               (long long)atomic_load(&in.failed));
      last_ok = ok;
      last = fofal_mono_us();
    }
  }
  rc = 0;
out:
  /* Stop taking messages first, then deliver the window. */
  atomic_store(&in.stopping, 1);
  wake_receiver();
  for (int i = 0; i < in.nclients; i++) {
    MQTTAsync_disconnectOptions dopt = MQTTAsync_disconnectOptions_initializer;
    dopt.timeout = 1000;
    MQTTAsync_disconnect(in.clients[i], &dopt);
  }
  if (in.nclients) usleep(300 * 1000);
  if (worker_started) {
    atomic_store(&in.draining, 1);
    pthread_mutex_lock(&in.mu);
    pthread_cond_broadcast(&in.not_empty);
    pthread_mutex_unlock(&in.mu);
    pthread_join(wth, NULL);
    atomic_store_explicit(&fofal_stop, 0, memory_order_relaxed);
    if (inflight() > 0) LOG_INFO("delivering the %lld samples still in flight (a second signal gives up)", inflight());
    while (inflight() > 0 && !fofal_stopped(&fofal_stop)) fofal_kafka_poll(in.producer, 100);
    checkpoint(&checkpointed);
  }
  for (int i = 0; i < in.nclients; i++) MQTTAsync_destroy(&in.clients[i]);
  /* Items left in the ring only after a second signal (or a failed start). */
  for (size_t i = 0; i < in.len; i++) free(in.ring[(in.head + i) % in.cap]);
  free(in.ring);
  LOG_INFO("stopped: %lld samples ingested, %lld refused to the DLQ, %lld lost in flight", (long long)atomic_load(&in.ok),
           (long long)atomic_load(&in.rejected), inflight() > 0 ? inflight() : 0);
  if (in.producer) fofal_kafka_free(in.producer);
  fofal_spool_close(spool);
  free(pend);
  fofal_settings_free(settings, NSET);
  return rc;
}
