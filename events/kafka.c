/*
 * kafka.c — the Kafka adapter: every librdkafka call of the project is here.
 *
 * Producers are idempotent with acks=all; with a transactional.id they are transactional
 * (the decider). Consumers never auto-commit: the decider commits offsets inside its
 * transactions, projectors keep theirs in PostgreSQL. Partitioning is murmur2, as in the
 * Java clients, so analysts' tools and our processes agree on where a key lives.
 *
 * Security. Every client of a process authenticates alike (SASL/SCRAM-SHA-512 as the
 * process's own Kafka user, TLS when the protocol says so): process configuration, set once
 * by main (fofal_kafka_security_set) or read once from the environment, read-only after.
 * The password never reaches an error or a log.
 *
 * Threads: librdkafka runs its own; callbacks registered here run on the thread that
 * calls fofal_kafka_poll/flush/consume. Errors are translated to FOFAL_E* here.
 */
#include "events.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct fofal_kafka {
  rd_kafka_t *rk;
  int is_consumer;
  int transactional;
  fofal_kafka_rebalance_fn rebalance;
  void *opaque;
  rd_kafka_topic_partition_list_t *pending; /* during an assign callback */
};

typedef struct {
  fofal_kafka_dr_fn fn;
  void *opaque;
} dr_t;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *conf_opaque) {
  (void)rk;
  (void)conf_opaque;
  dr_t *d = m->_private;
  if (!d) return;
  if (d->fn) d->fn(d->opaque, m->err ? FOFAL_EKAFKA : 0, m->partition, m->offset);
  free(d);
}

static int conf_set(rd_kafka_conf_t *c, const char *k, const char *v, char *errbuf, size_t errlen) {
  char e[256];
  if (rd_kafka_conf_set(c, k, v, e, sizeof e) != RD_KAFKA_CONF_OK)
    return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "kafka setting %s=%s: %s", k, v, e);
  return 0;
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  (void)rk;
  if (level <= 3) LOG_WARN("kafka %s: %s", fac, buf);
  else LOG_DEBUG("kafka %s: %s", fac, buf);
}

/* ------------------------------------------------------------ security */

static fofal_kafka_security_t security; /* strings new, kept for the process's life */
static int security_given;              /* fofal_kafka_security_set ran */
static pthread_once_t security_env_once = PTHREAD_ONCE_INIT;

static int security_copy(const fofal_kafka_security_t *s, char *errbuf, size_t errlen) {
  /* First, so that refused security settings still leave the wait its default. */
  security.fetch_wait_ms = s->fetch_wait_ms > 0 && s->fetch_wait_ms <= 5000 ? s->fetch_wait_ms : 200;
  const char *user = s->user ? s->user : "", *protocol = s->protocol ? s->protocol : "";
  if (*protocol && strcasecmp(protocol, "plaintext") && strcasecmp(protocol, "sasl_plaintext") &&
      strcasecmp(protocol, "sasl_ssl") && strcasecmp(protocol, "ssl"))
    return fofal_err(errbuf, errlen, FOFAL_ECONFIG,
                     "FOFAL_KAFKA_SECURITY_PROTOCOL=%s: not plaintext, sasl_plaintext, sasl_ssl or ssl", protocol);
  if (*user && !(s->password && *s->password))
    return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "FOFAL_KAFKA_USER=%s has no FOFAL_KAFKA_PASSWORD", user);
  free(security.protocol);
  free(security.user);
  free(security.password);
  free(security.ssl_ca);
  security.protocol = fofal_strdup(*protocol ? protocol : *user ? "sasl_plaintext" : "plaintext");
  security.user = fofal_strdup(user);
  security.password = fofal_strdup(s->password ? s->password : "");
  security.ssl_ca = fofal_strdup(s->ssl_ca ? s->ssl_ca : "");
  return 0;
}

int fofal_kafka_security_set(const fofal_kafka_security_t *s, char *errbuf, size_t errlen) {
  security_given = 1;
  return security_copy(s, errbuf, errlen);
}

static void security_from_env(void) {
  if (security_given) return;
  const char *fw = getenv("FOFAL_KAFKA_FETCH_WAIT_MS");
  fofal_kafka_security_t s = {getenv("FOFAL_KAFKA_SECURITY_PROTOCOL"), getenv("FOFAL_KAFKA_USER"),
                              getenv("FOFAL_KAFKA_PASSWORD"), getenv("FOFAL_KAFKA_SSL_CA"), fw ? atoll(fw) : 0};
  char err[256];
  if (security_copy(&s, err, sizeof err)) LOG_WARN("kafka: %s (the environment's settings are ignored)", err);
}

/* The security settings onto a client's conf. The password's value is in no error. */
static int conf_security(rd_kafka_conf_t *c, char *errbuf, size_t errlen) {
  if (!security_given) pthread_once(&security_env_once, security_from_env);
  if (!security.protocol) return 0; /* the environment's were refused: plaintext */
  int rc = conf_set(c, "security.protocol", security.protocol, errbuf, errlen);
  if (!rc && *security.user) {
    char e[256];
    rc = conf_set(c, "sasl.mechanisms", "SCRAM-SHA-512", errbuf, errlen) ||
         conf_set(c, "sasl.username", security.user, errbuf, errlen);
    if (!rc && rd_kafka_conf_set(c, "sasl.password", security.password, e, sizeof e) != RD_KAFKA_CONF_OK)
      rc = fofal_err(errbuf, errlen, FOFAL_ECONFIG, "kafka setting sasl.password: %s", e);
  }
  if (!rc && *security.ssl_ca) rc = conf_set(c, "ssl.ca.location", security.ssl_ca, errbuf, errlen);
  return rc ? FOFAL_ECONFIG : 0;
}

static rd_kafka_conf_t *base_conf(const fofal_kafka_opts_t *o, char *errbuf, size_t errlen) {
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  if (conf_security(c, errbuf, errlen) || conf_set(c, "bootstrap.servers", o->brokers, errbuf, errlen) ||
      conf_set(c, "client.id", o->client_id ? o->client_id : "fofal", errbuf, errlen) ||
      conf_set(c, "socket.keepalive.enable", "true", errbuf, errlen) ||
      /* Small requests back to back (a transaction is a chain of them) would otherwise wait
       * for delayed ACKs under Nagle's algorithm: tens of milliseconds each. */
      conf_set(c, "socket.nagle.disable", "true", errbuf, errlen) ||
      conf_set(c, "reconnect.backoff.max.ms", "2000", errbuf, errlen)) {
    rd_kafka_conf_destroy(c);
    return NULL;
  }
  rd_kafka_conf_set_log_cb(c, on_log);
  return c;
}

int fofal_kafka_producer_new(fofal_kafka_t **out, const fofal_kafka_opts_t *o, char *errbuf, size_t errlen) {
  char linger[16], mto[16], e[512];
  rd_kafka_conf_t *c = base_conf(o, errbuf, errlen);
  if (!c) return FOFAL_ECONFIG;
  snprintf(linger, sizeof linger, "%d", o->linger_ms > 0 ? o->linger_ms : 2);
  snprintf(mto, sizeof mto, "%d", o->message_timeout_ms > 0 ? o->message_timeout_ms : 30000);
  if ((!o->metadata_only && conf_set(c, "enable.idempotence", "true", errbuf, errlen)) ||
      conf_set(c, "acks", "all", errbuf, errlen) ||
      conf_set(c, "linger.ms", linger, errbuf, errlen) ||
      conf_set(c, "partitioner", "murmur2_random", errbuf, errlen) ||
      conf_set(c, "compression.type", "lz4", errbuf, errlen) ||
      conf_set(c, "message.timeout.ms", mto, errbuf, errlen) ||
      (o->transactional_id && conf_set(c, "transactional.id", o->transactional_id, errbuf, errlen)) ||
      (o->transactional_id && conf_set(c, "transaction.timeout.ms", "30000", errbuf, errlen)) ||
      /* Back-to-back transactions meet CONCURRENT_TRANSACTIONS while the broker still writes
       * the previous markers; librdkafka retries after retry.backoff.ms (100 ms by default),
       * which capped the decider at about ten transactions a second. */
      (o->transactional_id && conf_set(c, "retry.backoff.ms", "5", errbuf, errlen))) {
    rd_kafka_conf_destroy(c);
    return FOFAL_ECONFIG;
  }
  rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof e);
  if (!rk) {
    rd_kafka_conf_destroy(c);
    return fofal_err(errbuf, errlen, FOFAL_EKAFKA, "cannot create Kafka producer: %s", e);
  }
  fofal_kafka_t *k = fofal_calloc(1, sizeof *k);
  k->rk = rk;
  k->transactional = o->transactional_id != NULL;
  *out = k;
  return 0;
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque) {
  fofal_kafka_t *k = opaque;
  int assign = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
  if (k->rebalance && parts->cnt > 0) {
    int32_t *ps = fofal_calloc((size_t)parts->cnt, sizeof *ps);
    for (int i = 0; i < parts->cnt; i++) ps[i] = parts->elems[i].partition;
    k->pending = parts;
    k->rebalance(k->opaque, assign, parts->elems[0].topic, ps, parts->cnt);
    k->pending = NULL;
    free(ps);
  }
  if (assign) rd_kafka_assign(rk, parts);
  else rd_kafka_assign(rk, NULL);
}

void fofal_kafka_consumer_set_offset(fofal_kafka_t *k, int32_t partition, int64_t offset) {
  if (!k->pending) return;
  for (int i = 0; i < k->pending->cnt; i++)
    if (k->pending->elems[i].partition == partition) k->pending->elems[i].offset = offset;
}

int fofal_kafka_conf_get(fofal_kafka_t *k, const char *name, char *out, size_t outlen) {
  size_t n = outlen;
  if (!k || !k->rk || rd_kafka_conf_get(rd_kafka_conf(k->rk), name, out, &n) != RD_KAFKA_CONF_OK) return FOFAL_EINVAL;
  return 0;
}

int fofal_kafka_consumer_new(fofal_kafka_t **out, const fofal_kafka_opts_t *o, char *errbuf, size_t errlen) {
  char e[512];
  rd_kafka_conf_t *c = base_conf(o, errbuf, errlen); /* also reads the security settings */
  if (!c) return FOFAL_ECONFIG;
  /* FOFAL_KAFKA_FETCH_WAIT_MS for a tailing consumer (events.h); a reader to a topic's end
   * learns of the end only from an empty answer, so it keeps 10 ms. */
  char fetch_wait[24];
  snprintf(fetch_wait, sizeof fetch_wait, "%lld", o->partition_eof ? 10LL : security.fetch_wait_ms);
  if (conf_set(c, "group.id", o->group_id ? o->group_id : "fofal-unused", errbuf, errlen) ||
      conf_set(c, "enable.auto.commit", "false", errbuf, errlen) ||
      conf_set(c, "enable.auto.offset.store", "false", errbuf, errlen) ||
      conf_set(c, "auto.offset.reset", "earliest", errbuf, errlen) ||
      conf_set(c, "isolation.level", o->read_committed ? "read_committed" : "read_uncommitted", errbuf, errlen) ||
      conf_set(c, "enable.partition.eof", o->partition_eof ? "true" : "false", errbuf, errlen) ||
      conf_set(c, "fetch.wait.max.ms", fetch_wait, errbuf, errlen) ||
      conf_set(c, "session.timeout.ms", "10000", errbuf, errlen) ||
      conf_set(c, "heartbeat.interval.ms", "1000", errbuf, errlen) ||
      conf_set(c, "partition.assignment.strategy", "range", errbuf, errlen)) {
    rd_kafka_conf_destroy(c);
    return FOFAL_ECONFIG;
  }
  fofal_kafka_t *k = fofal_calloc(1, sizeof *k);
  k->is_consumer = 1;
  k->rebalance = o->rebalance;
  k->opaque = o->opaque;
  if (o->group_id) {
    rd_kafka_conf_set_rebalance_cb(c, on_rebalance);
    rd_kafka_conf_set_opaque(c, k);
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, e, sizeof e);
  if (!rk) {
    rd_kafka_conf_destroy(c);
    free(k);
    return fofal_err(errbuf, errlen, FOFAL_EKAFKA, "cannot create Kafka consumer: %s", e);
  }
  rd_kafka_poll_set_consumer(rk);
  k->rk = rk;
  *out = k;
  return 0;
}

void fofal_kafka_free(fofal_kafka_t *k) {
  if (!k) return;
  if (k->is_consumer) rd_kafka_consumer_close(k->rk);
  else rd_kafka_flush(k->rk, 5000);
  rd_kafka_destroy(k->rk);
  free(k);
}

int fofal_kafka_produce(fofal_kafka_t *k, const char *topic, int32_t partition, const char *key,
                        size_t key_len, const void *value, size_t len, const fofal_kheader_t *headers,
                        int n_headers, fofal_kafka_dr_fn dr, void *opaque, char *errbuf, size_t errlen) {
  rd_kafka_headers_t *hdrs = NULL;
  dr_t *d = NULL;
  if (n_headers > 0) {
    hdrs = rd_kafka_headers_new((size_t)n_headers);
    for (int i = 0; i < n_headers; i++)
      if (headers[i].value) rd_kafka_header_add(hdrs, headers[i].name, -1, headers[i].value, -1);
  }
  if (dr) {
    d = fofal_malloc(sizeof *d);
    d->fn = dr;
    d->opaque = opaque;
  }
  rd_kafka_resp_err_t err = rd_kafka_producev(
      k->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
      RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(d), RD_KAFKA_V_END);
  if (err) {
    if (hdrs) rd_kafka_headers_destroy(hdrs);
    free(d);
    return fofal_err(errbuf, errlen, err == RD_KAFKA_RESP_ERR__QUEUE_FULL ? FOFAL_EUNAVAIL : FOFAL_EKAFKA,
                     "produce to %s: %s", topic, rd_kafka_err2str(err));
  }
  return 0;
}

int fofal_kafka_poll(fofal_kafka_t *k, int timeout_ms) { return rd_kafka_poll(k->rk, timeout_ms); }

int fofal_kafka_flush(fofal_kafka_t *k, int timeout_ms) {
  return rd_kafka_flush(k->rk, timeout_ms) ? FOFAL_ETIMEDOUT : 0;
}

int fofal_kafka_outq_len(fofal_kafka_t *k) { return rd_kafka_outq_len(k->rk); }

/* Translates a transactional error and frees it. */
static int txn_err(rd_kafka_error_t *e, const char *what, char *errbuf, size_t errlen) {
  if (!e) return 0;
  int rc = FOFAL_EKAFKA;
  if (rd_kafka_error_is_fatal(e)) rc = FOFAL_EFENCED;
  else if (rd_kafka_error_txn_requires_abort(e)) rc = FOFAL_EABORT;
  else if (rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR__TIMED_OUT) rc = FOFAL_ETIMEDOUT;
  fofal_err(errbuf, errlen, rc, "%s: %s", what, rd_kafka_error_string(e));
  rd_kafka_error_destroy(e);
  return rc;
}

/* Init and abort wait for the transaction coordinator, which a broker just started (or one
 * still loading __transaction_state, or one restarting) may not offer within the timeout:
 * librdkafka calls that retriable, and the same call continues where the last one
 * stopped (until an abort has ended, no transaction can begin). So a retriable error is
 * logged and tried again after a pause (1 s, doubling to 30 s) until it succeeds, fails
 * for good, or `stop` is set: a process never exits, nor wedges its producer, on Kafka
 * being slow. */
#define TXN_RETRY_PAUSE_MS 1000
#define TXN_RETRY_PAUSE_MAX_MS 30000

static int txn_retried(fofal_kafka_t *k, int abort, int timeout_ms, const atomic_int *stop, char *errbuf,
                       size_t errlen) {
  const char *what = abort ? "abort transaction" : "init transactions";
  int pause_ms = TXN_RETRY_PAUSE_MS;
  for (int attempt = 1;; attempt++) {
    rd_kafka_error_t *e =
        abort ? rd_kafka_abort_transaction(k->rk, timeout_ms) : rd_kafka_init_transactions(k->rk, timeout_ms);
    int transient = e && !rd_kafka_error_is_fatal(e) &&
                    (rd_kafka_error_is_retriable(e) || rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR__TIMED_OUT);
    if (!transient || fofal_stopped(stop)) return txn_err(e, what, errbuf, errlen);
    LOG_WARN("%s (try %d): %s; trying again in %d ms", what, attempt, rd_kafka_error_string(e), pause_ms);
    for (int slept = 0; slept < pause_ms && !fofal_stopped(stop); slept += 100) usleep(100 * 1000);
    if (fofal_stopped(stop)) return txn_err(e, what, errbuf, errlen);
    rd_kafka_error_destroy(e);
    pause_ms = pause_ms * 2 < TXN_RETRY_PAUSE_MAX_MS ? pause_ms * 2 : TXN_RETRY_PAUSE_MAX_MS;
  }
}

int fofal_kafka_txn_init(fofal_kafka_t *k, int timeout_ms, const atomic_int *stop, char *errbuf, size_t errlen) {
  return txn_retried(k, 0, timeout_ms, stop, errbuf, errlen);
}

int fofal_kafka_txn_begin(fofal_kafka_t *k, char *errbuf, size_t errlen) {
  return txn_err(rd_kafka_begin_transaction(k->rk), "begin transaction", errbuf, errlen);
}

int fofal_kafka_txn_commit(fofal_kafka_t *k, fofal_kafka_t *consumer, int timeout_ms, char *errbuf, size_t errlen) {
  int rc = 0;
  if (consumer) {
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_resp_err_t err = rd_kafka_assignment(consumer->rk, &parts);
    if (!err) err = rd_kafka_position(consumer->rk, parts);
    if (err) {
      rd_kafka_topic_partition_list_destroy(parts);
      return fofal_err(errbuf, errlen, FOFAL_EABORT, "consumer positions: %s", rd_kafka_err2str(err));
    }
    /* Partitions with no position yet (nothing consumed) are left out. */
    rd_kafka_topic_partition_list_t *valid = rd_kafka_topic_partition_list_new(parts->cnt);
    for (int i = 0; i < parts->cnt; i++)
      if (parts->elems[i].offset >= 0)
        rd_kafka_topic_partition_list_add(valid, parts->elems[i].topic, parts->elems[i].partition)->offset =
            parts->elems[i].offset;
    rd_kafka_topic_partition_list_destroy(parts);
    if (valid->cnt > 0) {
      rd_kafka_consumer_group_metadata_t *md = rd_kafka_consumer_group_metadata(consumer->rk);
      rc = txn_err(rd_kafka_send_offsets_to_transaction(k->rk, valid, md, timeout_ms), "send offsets", errbuf, errlen);
      rd_kafka_consumer_group_metadata_destroy(md);
    }
    rd_kafka_topic_partition_list_destroy(valid);
    if (rc) return rc;
  }
  return txn_err(rd_kafka_commit_transaction(k->rk, timeout_ms), "commit transaction", errbuf, errlen);
}

int fofal_kafka_txn_abort(fofal_kafka_t *k, int timeout_ms, const atomic_int *stop, char *errbuf, size_t errlen) {
  return txn_retried(k, 1, timeout_ms, stop, errbuf, errlen);
}

int fofal_kafka_subscribe(fofal_kafka_t *k, const char *const *topics, int n, char *errbuf, size_t errlen) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
  for (int i = 0; i < n; i++) rd_kafka_topic_partition_list_add(l, topics[i], RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(k->rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  if (err) return fofal_err(errbuf, errlen, FOFAL_EKAFKA, "subscribe: %s", rd_kafka_err2str(err));
  return 0;
}

int fofal_kafka_assign(fofal_kafka_t *k, const char *topic, const int32_t *partitions, const int64_t *offsets,
                       int n, char *errbuf, size_t errlen) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n > 0 ? n : 1);
  for (int i = 0; i < n; i++) {
    int64_t off = offsets[i];
    if (off == FOFAL_OFFSET_BEGINNING) off = RD_KAFKA_OFFSET_BEGINNING;
    else if (off == FOFAL_OFFSET_END) off = RD_KAFKA_OFFSET_END;
    else if (off == FOFAL_OFFSET_STORED) off = RD_KAFKA_OFFSET_STORED;
    rd_kafka_topic_partition_list_add(l, topic, partitions[i])->offset = off;
  }
  rd_kafka_resp_err_t err = rd_kafka_assign(k->rk, n > 0 ? l : NULL);
  rd_kafka_topic_partition_list_destroy(l);
  if (err) return fofal_err(errbuf, errlen, FOFAL_EKAFKA, "assign: %s", rd_kafka_err2str(err));
  return 0;
}

int fofal_kafka_consume(fofal_kafka_t *k, int timeout_ms, fofal_kmsg_t *msg) {
  memset(msg, 0, sizeof *msg);
  rd_kafka_message_t *m = rd_kafka_consumer_poll(k->rk, timeout_ms);
  if (!m) return 0;
  if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    msg->eof = 1;
    msg->topic = rd_kafka_topic_name(m->rkt);
    msg->partition = m->partition;
    msg->offset = m->offset;
    msg->priv = m;
    return 1;
  }
  if (m->err) {
    int rc = m->err == RD_KAFKA_RESP_ERR__FATAL ? FOFAL_EFENCED : FOFAL_EKAFKA;
    if (m->err != RD_KAFKA_RESP_ERR__TRANSPORT && m->err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
      LOG_WARN("kafka consume: %s", rd_kafka_message_errstr(m));
    rd_kafka_message_destroy(m);
    return rc == FOFAL_EFENCED ? rc : 0;
  }
  msg->topic = rd_kafka_topic_name(m->rkt);
  msg->partition = m->partition;
  msg->offset = m->offset;
  msg->timestamp_ms = rd_kafka_message_timestamp(m, NULL);
  msg->key = m->key;
  msg->key_len = m->key_len;
  msg->value = m->payload;
  msg->len = m->len;
  msg->priv = m;
  return 1;
}

void fofal_kafka_msg_release(fofal_kmsg_t *msg) {
  if (msg && msg->priv) rd_kafka_message_destroy(msg->priv);
  if (msg) msg->priv = NULL;
}

const char *fofal_kafka_msg_header(const fofal_kmsg_t *msg, const char *name, char *buf, size_t buflen) {
  rd_kafka_headers_t *h = NULL;
  const void *v;
  size_t len;
  if (!msg->priv || rd_kafka_message_headers(msg->priv, &h) || !h) return NULL;
  if (rd_kafka_header_get_last(h, name, &v, &len) || !v || len >= buflen) return NULL;
  memcpy(buf, v, len);
  buf[len] = '\0';
  return buf;
}

int fofal_kafka_rewind_to_committed(fofal_kafka_t *k, int timeout_ms, char *errbuf, size_t errlen) {
  rd_kafka_topic_partition_list_t *parts = NULL;
  rd_kafka_resp_err_t err = rd_kafka_assignment(k->rk, &parts);
  if (!err) err = rd_kafka_committed(k->rk, parts, timeout_ms);
  if (!err) {
    for (int i = 0; i < parts->cnt; i++)
      if (parts->elems[i].offset < 0) parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_error_t *e = rd_kafka_seek_partitions(k->rk, parts, timeout_ms);
    if (e) {
      err = rd_kafka_error_code(e);
      rd_kafka_error_destroy(e);
    }
  }
  rd_kafka_topic_partition_list_destroy(parts);
  if (err) return fofal_err(errbuf, errlen, FOFAL_EKAFKA, "rewind to committed offsets: %s", rd_kafka_err2str(err));
  return 0;
}

int fofal_kafka_watermarks(fofal_kafka_t *k, const char *topic, int32_t partition, int64_t *lo, int64_t *hi,
                           int timeout_ms, char *errbuf, size_t errlen) {
  rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(k->rk, topic, partition, lo, hi, timeout_ms);
  if (err)
    return fofal_err(errbuf, errlen, err == RD_KAFKA_RESP_ERR__TIMED_OUT ? FOFAL_ETIMEDOUT : FOFAL_EKAFKA,
                     "watermarks of %s[%d]: %s", topic, partition, rd_kafka_err2str(err));
  return 0;
}

int fofal_kafka_offset_for_time(fofal_kafka_t *k, const char *topic, int32_t partition, int64_t ts_ms,
                                int64_t *offset, int timeout_ms, char *errbuf, size_t errlen) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, topic, partition)->offset = ts_ms;
  rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(k->rk, l, timeout_ms);
  if (!err) err = l->elems[0].err;
  *offset = l->elems[0].offset;
  rd_kafka_topic_partition_list_destroy(l);
  if (err) return fofal_err(errbuf, errlen, FOFAL_EKAFKA, "offset for time in %s[%d]: %s", topic, partition, rd_kafka_err2str(err));
  if (*offset < 0) {
    int64_t lo;
    return fofal_kafka_watermarks(k, topic, partition, &lo, offset, timeout_ms, errbuf, errlen);
  }
  return 0;
}

/* One metadata request: the partition count, FOFAL_ENOENT when the broker does not know
 * the topic, FOFAL_EFORBIDDEN when this client may not describe it. */
static int partition_count_once(fofal_kafka_t *k, const char *topic, int timeout_ms, char *errbuf, size_t errlen) {
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(k->rk, topic, NULL);
  rd_kafka_resp_err_t err = rd_kafka_metadata(k->rk, 0, rkt, &md, timeout_ms);
  int rc;
  if (err) {
    rc = fofal_err(errbuf, errlen, err == RD_KAFKA_RESP_ERR__TIMED_OUT ? FOFAL_EUNAVAIL : FOFAL_EKAFKA,
                   "metadata of %s: %s", topic, rd_kafka_err2str(err));
  } else if (md->topic_cnt >= 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
    rc = fofal_err(errbuf, errlen, FOFAL_EFORBIDDEN, "not authorized to describe topic %s (Kafka ACLs: ops/kafka_acls.c)",
                   topic);
  } else if (md->topic_cnt < 1 || md->topics[0].err) {
    rc = fofal_err(errbuf, errlen, FOFAL_ENOENT, "topic %s does not exist", topic);
  } else {
    rc = md->topics[0].partition_cnt;
  }
  if (md) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  return rc;
}

int fofal_kafka_partition_count(fofal_kafka_t *k, const char *topic, int timeout_ms, char *errbuf, size_t errlen) {
  return partition_count_once(k, topic, timeout_ms, errbuf, errlen);
}

/* A broker's metadata cache (topics, ACLs) follows the controller's: right after `fofal
 * topics create` and ops/stack's grants, a loaded broker can answer "unknown topic" or
 * "not authorized" for seconds (a decider refused to start 7 s after its topic was made). */
int fofal_kafka_partition_count_wait(fofal_kafka_t *k, const char *topic, int wait_ms, char *errbuf, size_t errlen) {
  int64_t deadline = fofal_mono_us() + (int64_t)wait_ms * 1000;
  for (;;) {
    int rc = partition_count_once(k, topic, wait_ms, errbuf, errlen);
    if ((rc != FOFAL_ENOENT && rc != FOFAL_EFORBIDDEN) || fofal_mono_us() + 250 * 1000 > deadline) return rc;
    usleep(250 * 1000);
  }
}

int32_t fofal_tenant_partition(const char *tenant, int nparts) {
  uint32_t h = 2166136261u;
  for (const unsigned char *c = (const unsigned char *)tenant; *c; c++) h = (h ^ *c) * 16777619u;
  return nparts > 0 ? (int32_t)(h % (uint32_t)nparts) : 0;
}

/* ----------------------------------------------------------- topic admin */

int fofal_topics_all(fofal_topic_spec_t *out, int cap, int partitions) {
  int n = 0;
#define ADD(nm, kd, ret)                                                        \
  do {                                                                          \
    if (n < cap) {                                                              \
      snprintf(out[n].name, sizeof out[n].name, "%s", nm);                      \
      out[n].kind = kd;                                                         \
      out[n].partitions = partitions;                                           \
      out[n].retention_ms = ret;                                                \
    }                                                                           \
    n++;                                                                        \
  } while (0)
  const long long week = 7LL * 24 * 3600 * 1000, month = 30LL * 24 * 3600 * 1000;
  ADD(FOFAL_TOPIC_COMMANDS, FOFAL_TOPIC_BOUNDED, week);
  ADD(FOFAL_TOPIC_RESULTS, FOFAL_TOPIC_COMPACTED, 0);
  ADD(FOFAL_TOPIC_STATE, FOFAL_TOPIC_COMPACTED, 0);
  ADD(FOFAL_TOPIC_COMMANDS_DLQ, FOFAL_TOPIC_BOUNDED, month);
  ADD(FOFAL_TOPIC_TELEMETRY, FOFAL_TOPIC_BOUNDED, month);
  ADD(FOFAL_TOPIC_TELEMETRY_DLQ, FOFAL_TOPIC_BOUNDED, month);
  ADD(FOFAL_TOPIC_MACHINES_STATE, FOFAL_TOPIC_COMPACTED, 0);
  ADD(FOFAL_TOPIC_REACTIONS_DLQ, FOFAL_TOPIC_EVENTS, -1);
  for (int i = 0; fofal_modules[i]; i++) {
    char t[128];
    fofal_topic_events(fofal_modules[i], t, sizeof t);
    ADD(t, FOFAL_TOPIC_EVENTS, -1);
  }
#undef ADD
  return n;
}

int fofal_topic_configs(const fofal_topic_spec_t *spec, fofal_topic_config_t out[FOFAL_TOPIC_CONFIGS_MAX]) {
  int n = 0;
#define SET(nm, ...) (out[n].name = nm, snprintf(out[n].value, sizeof out[n].value, __VA_ARGS__), n++)
  switch (spec->kind) {
  case FOFAL_TOPIC_EVENTS:
    SET("cleanup.policy", "delete");
    SET("retention.ms", "-1");
    SET("retention.bytes", "-1");
    break;
  case FOFAL_TOPIC_COMPACTED:
    SET("cleanup.policy", "compact");
    SET("min.compaction.lag.ms", "60000");
    break;
  case FOFAL_TOPIC_BOUNDED:
    SET("cleanup.policy", "delete");
    SET("retention.ms", "%lld", spec->retention_ms);
    break;
  }
#undef SET
  return n;
}

static rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q, rd_kafka_event_type_t type, int timeout_ms) {
  int64_t deadline = fofal_mono_us() + (int64_t)timeout_ms * 1000;
  while (fofal_mono_us() < deadline) {
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);
    if (!ev) continue;
    if (rd_kafka_event_type(ev) == type) return ev;
    rd_kafka_event_destroy(ev);
  }
  return NULL;
}

/* Reads retention.ms and cleanup.policy of each topic; fills the two arrays (new strings). */
static int describe(fofal_kafka_t *k, const fofal_topic_spec_t *specs, int n, char **retention, char **cleanup,
                    char *errbuf, size_t errlen) {
  int rc = 0;
  rd_kafka_queue_t *q = rd_kafka_queue_new(k->rk);
  rd_kafka_ConfigResource_t **res = fofal_calloc((size_t)n, sizeof *res);
  for (int i = 0; i < n; i++) res[i] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, specs[i].name);
  rd_kafka_DescribeConfigs(k->rk, res, (size_t)n, NULL, q);
  rd_kafka_event_t *ev = admin_wait(q, RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT, 15000);
  if (!ev) {
    rc = fofal_err(errbuf, errlen, FOFAL_EUNAVAIL, "describe topic configs: no answer from Kafka within 15 s");
    goto out;
  }
  if (rd_kafka_event_error(ev)) {
    rc = fofal_err(errbuf, errlen, FOFAL_EKAFKA, "describe topic configs: %s", rd_kafka_event_error_string(ev));
    goto out;
  }
  size_t cnt;
  const rd_kafka_ConfigResource_t **rs =
      rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &cnt);
  for (size_t r = 0; r < cnt; r++) {
    int i;
    for (i = 0; i < n && strcmp(specs[i].name, rd_kafka_ConfigResource_name(rs[r])); i++) {}
    if (i == n || rd_kafka_ConfigResource_error(rs[r])) continue;
    size_t ce;
    const rd_kafka_ConfigEntry_t **ents = rd_kafka_ConfigResource_configs(rs[r], &ce);
    for (size_t e = 0; e < ce; e++) {
      const char *nm = rd_kafka_ConfigEntry_name(ents[e]), *v = rd_kafka_ConfigEntry_value(ents[e]);
      if (!strcmp(nm, "retention.ms")) retention[i] = fofal_strdup(v ? v : "");
      else if (!strcmp(nm, "cleanup.policy")) cleanup[i] = fofal_strdup(v ? v : "");
    }
  }
out:
  if (ev) rd_kafka_event_destroy(ev);
  for (int i = 0; i < n; i++) rd_kafka_ConfigResource_destroy(res[i]);
  free(res);
  rd_kafka_queue_destroy(q);
  return rc;
}

static int create_missing(fofal_kafka_t *k, const fofal_topic_spec_t *specs, const int *missing, int n,
                          char *errbuf, size_t errlen) {
  int rc = 0, cnt = 0;
  rd_kafka_NewTopic_t **nts = fofal_calloc((size_t)n, sizeof *nts);
  rd_kafka_queue_t *q = rd_kafka_queue_new(k->rk);
  rd_kafka_event_t *ev = NULL;
  char e[256];
  for (int i = 0; i < n; i++) {
    if (!missing[i]) continue;
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(specs[i].name, specs[i].partitions, 1, e, sizeof e);
    if (!nt) {
      rc = fofal_err(errbuf, errlen, FOFAL_EKAFKA, "topic %s: %s", specs[i].name, e);
      goto out;
    }
    nts[cnt++] = nt;
    fofal_topic_config_t cf[FOFAL_TOPIC_CONFIGS_MAX];
    int ncf = fofal_topic_configs(&specs[i], cf);
    for (int c = 0; c < ncf; c++) rd_kafka_NewTopic_set_config(nt, cf[c].name, cf[c].value);
  }
  if (!cnt) goto out;
  rd_kafka_CreateTopics(k->rk, nts, (size_t)cnt, NULL, q);
  ev = admin_wait(q, RD_KAFKA_EVENT_CREATETOPICS_RESULT, 30000);
  if (!ev) {
    rc = fofal_err(errbuf, errlen, FOFAL_EUNAVAIL, "create topics: no answer from Kafka within 30 s");
    goto out;
  }
  size_t rn;
  const rd_kafka_topic_result_t **trs = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &rn);
  for (size_t i = 0; i < rn; i++) {
    rd_kafka_resp_err_t te = rd_kafka_topic_result_error(trs[i]);
    if (te && te != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      rc = fofal_err(errbuf, errlen, FOFAL_EKAFKA, "create topic %s: %s", rd_kafka_topic_result_name(trs[i]),
                     rd_kafka_topic_result_error_string(trs[i]));
      goto out;
    }
  }
out:
  if (ev) rd_kafka_event_destroy(ev);
  for (int i = 0; i < cnt; i++) rd_kafka_NewTopic_destroy(nts[i]);
  free(nts);
  rd_kafka_queue_destroy(q);
  return rc;
}

int fofal_topics_ensure(fofal_kafka_t *k, const fofal_topic_spec_t *specs, int n, int create,
                        void (*report)(void *opaque, const char *line), void *opaque, char *errbuf, size_t errlen) {
  int rc = 0;
  int *missing = fofal_calloc((size_t)n, sizeof *missing);
  char **retention = fofal_calloc((size_t)n, sizeof *retention), **cleanup = fofal_calloc((size_t)n, sizeof *cleanup);
  char line[512];
  int any_missing = 0;
  for (int i = 0; i < n && !(any_missing && !create); i++) {
    /* A process's start-up check (create 0) waits for a topic or an ACL that set-up has
     * just made and the broker does not show yet (ops/run starts the processes right after
     * `fofal topics create`); it stops at the first topic still missing. */
    int pc = create ? partition_count_once(k, specs[i].name, 10000, errbuf, errlen)
                    : fofal_kafka_partition_count_wait(k, specs[i].name, 10000, errbuf, errlen);
    if (pc == FOFAL_ENOENT) {
      missing[i] = 1;
      any_missing = 1;
    } else if (pc < 0) {
      rc = pc;
      goto out;
    }
  }
  if (any_missing) {
    if (!create) {
      for (int i = 0; i < n; i++)
        if (missing[i]) {
          rc = fofal_err(errbuf, errlen, FOFAL_ENOENT, "topic %s does not exist (run `fofal topics create`)", specs[i].name);
          goto out;
        }
    }
    if ((rc = create_missing(k, specs, missing, n, errbuf, errlen))) goto out;
  }
  /* A topic just created may not show its configs for a moment: describe until every
   * topic has both values, a bounded number of times. */
  for (int attempt = 0; attempt < 50; attempt++) {
    int complete = 1;
    for (int i = 0; i < n; i++) {
      free(retention[i]);
      free(cleanup[i]);
      retention[i] = cleanup[i] = NULL;
    }
    if ((rc = describe(k, specs, n, retention, cleanup, errbuf, errlen))) goto out;
    for (int i = 0; i < n; i++) complete &= retention[i] != NULL && cleanup[i] != NULL;
    if (complete) break;
    usleep(200 * 1000);
  }
  for (int i = 0; i < n; i++) {
    const char *ret = retention[i] ? retention[i] : "?", *cl = cleanup[i] ? cleanup[i] : "?";
    if (specs[i].kind == FOFAL_TOPIC_EVENTS && (strcmp(ret, "-1") || strcmp(cl, "delete"))) {
      rc = fofal_err(errbuf, errlen, FOFAL_ECONFIG,
                     "event topic %s has retention.ms=%s cleanup.policy=%s; an event topic must keep every event "
                     "(retention.ms=-1, cleanup.policy=delete)",
                     specs[i].name, ret, cl);
      goto out;
    }
    if (specs[i].kind == FOFAL_TOPIC_COMPACTED && !strstr(cl, "compact")) {
      rc = fofal_err(errbuf, errlen, FOFAL_ECONFIG, "state topic %s must be compacted (cleanup.policy=%s)",
                     specs[i].name, cl);
      goto out;
    }
    if (report) {
      snprintf(line, sizeof line, "%-28s %s retention.ms=%s cleanup.policy=%s", specs[i].name,
               missing[i] ? "created" : "ok     ", ret, cl);
      report(opaque, line);
    }
  }
out:
  for (int i = 0; i < n; i++) {
    free(retention[i]);
    free(cleanup[i]);
  }
  free(retention);
  free(cleanup);
  free(missing);
  return rc;
}

int fofal_kafka_committed(fofal_kafka_t *k, const char *topic, const int32_t *partitions, int n, int64_t *offsets,
                          int timeout_ms, char *errbuf, size_t errlen) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n > 0 ? n : 1);
  for (int i = 0; i < n; i++) rd_kafka_topic_partition_list_add(l, topic, partitions[i]);
  rd_kafka_resp_err_t err = rd_kafka_committed(k->rk, l, timeout_ms);
  for (int i = 0; i < n && !err; i++) {
    rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(l, topic, partitions[i]);
    offsets[i] = p && p->offset >= 0 ? p->offset : FOFAL_OFFSET_BEGINNING;
  }
  rd_kafka_topic_partition_list_destroy(l);
  if (err) return fofal_err(errbuf, errlen, FOFAL_EKAFKA, "committed offsets of %s: %s", topic, rd_kafka_err2str(err));
  return 0;
}

int64_t fofal_kafka_position(fofal_kafka_t *k, const char *topic, int32_t partition) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, topic, partition);
  int64_t off = -1;
  if (!rd_kafka_position(k->rk, l) && l->elems[0].offset >= 0) off = l->elems[0].offset;
  rd_kafka_topic_partition_list_destroy(l);
  return off;
}

int fofal_topics_require(const char *brokers, char *errbuf, size_t errlen) {
  fofal_topic_spec_t specs[64];
  fofal_kafka_t *k = NULL;
  int n = fofal_topics_all(specs, 64, 1);
  fofal_kafka_opts_t o = {.brokers = brokers, .client_id = "fofal-topic-check", .metadata_only = 1};
  int rc = fofal_kafka_producer_new(&k, &o, errbuf, errlen);
  if (!rc) rc = fofal_topics_ensure(k, specs, n, 0, NULL, NULL, errbuf, errlen);
  fofal_kafka_free(k);
  return rc;
}

int fofal_kafka_topic_set_config(fofal_kafka_t *k, const char *topic, const char *name, const char *value,
                                 char *errbuf, size_t errlen) {
  int rc = 0;
  rd_kafka_queue_t *q = rd_kafka_queue_new(k->rk);
  rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
  /* AlterConfigs replaces the whole set: read the current one first and keep it. */
  rd_kafka_ConfigResource_t *cur[] = {rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic)};
  rd_kafka_DescribeConfigs(k->rk, cur, 1, NULL, q);
  rd_kafka_event_t *ev = admin_wait(q, RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT, 15000);
  if (ev && !rd_kafka_event_error(ev)) {
    size_t cnt, ce;
    const rd_kafka_ConfigResource_t **rs =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &cnt);
    const rd_kafka_ConfigEntry_t **ents = cnt ? rd_kafka_ConfigResource_configs(rs[0], &ce) : NULL;
    for (size_t i = 0; ents && i < ce; i++)
      if (rd_kafka_ConfigEntry_source(ents[i]) == RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG &&
          strcmp(rd_kafka_ConfigEntry_name(ents[i]), name))
        rd_kafka_ConfigResource_set_config(res, rd_kafka_ConfigEntry_name(ents[i]), rd_kafka_ConfigEntry_value(ents[i]));
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_ConfigResource_set_config(res, name, value);
  rd_kafka_AlterConfigs(k->rk, &res, 1, NULL, q);
  ev = admin_wait(q, RD_KAFKA_EVENT_ALTERCONFIGS_RESULT, 15000);
  if (!ev || rd_kafka_event_error(ev))
    rc = fofal_err(errbuf, errlen, FOFAL_EKAFKA, "alter %s of %s: %s", name, topic, ev ? rd_kafka_event_error_string(ev) : "no answer");
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_ConfigResource_destroy(res);
  rd_kafka_ConfigResource_destroy(cur[0]);
  rd_kafka_queue_destroy(q);
  return rc;
}

/* ------------------------------------------------------------ ACLs */

static rd_kafka_AclOperation_t acl_operation(fofal_kafka_acl_op_t op) {
  switch (op) {
  case FOFAL_ACL_READ: return RD_KAFKA_ACL_OPERATION_READ;
  case FOFAL_ACL_WRITE: return RD_KAFKA_ACL_OPERATION_WRITE;
  case FOFAL_ACL_DESCRIBE: return RD_KAFKA_ACL_OPERATION_DESCRIBE;
  case FOFAL_ACL_DESCRIBE_CONFIGS: return RD_KAFKA_ACL_OPERATION_DESCRIBE_CONFIGS;
  }
  return RD_KAFKA_ACL_OPERATION_UNKNOWN;
}

int fofal_kafka_acls_create(fofal_kafka_t *k, const fofal_kafka_acl_t *acls, int n, char *errbuf, size_t errlen) {
  int rc = 0, cnt = 0;
  rd_kafka_AclBinding_t **bs = fofal_calloc((size_t)(n ? n : 1), sizeof *bs);
  rd_kafka_queue_t *q = rd_kafka_queue_new(k->rk);
  rd_kafka_event_t *ev = NULL;
  char e[256], principal[160];
  for (int i = 0; i < n; i++) {
    snprintf(principal, sizeof principal, "User:%s", acls[i].user);
    bs[cnt] = rd_kafka_AclBinding_new(acls[i].resource == FOFAL_ACL_GROUP ? RD_KAFKA_RESOURCE_GROUP : RD_KAFKA_RESOURCE_TOPIC,
                                      acls[i].name,
                                      acls[i].prefixed ? RD_KAFKA_RESOURCE_PATTERN_PREFIXED
                                                       : RD_KAFKA_RESOURCE_PATTERN_LITERAL,
                                      principal, "*", acl_operation(acls[i].op), RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW, e,
                                      sizeof e);
    if (!bs[cnt]) {
      rc = fofal_err(errbuf, errlen, FOFAL_EKAFKA, "ACL for %s on %s: %s", principal, acls[i].name, e);
      goto out;
    }
    cnt++;
  }
  if (!cnt) goto out;
  rd_kafka_CreateAcls(k->rk, bs, (size_t)cnt, NULL, q);
  ev = admin_wait(q, RD_KAFKA_EVENT_CREATEACLS_RESULT, 30000);
  if (!ev) {
    rc = fofal_err(errbuf, errlen, FOFAL_EUNAVAIL, "create ACLs: no answer from Kafka within 30 s");
    goto out;
  }
  if (rd_kafka_event_error(ev)) {
    rc = fofal_err(errbuf, errlen, FOFAL_EKAFKA, "create ACLs: %s", rd_kafka_event_error_string(ev));
    goto out;
  }
  size_t rn;
  const rd_kafka_acl_result_t **rs = rd_kafka_CreateAcls_result_acls(rd_kafka_event_CreateAcls_result(ev), &rn);
  for (size_t i = 0; i < rn; i++) {
    const rd_kafka_error_t *re = rd_kafka_acl_result_error(rs[i]);
    if (re) {
      rc = fofal_err(errbuf, errlen, FOFAL_EKAFKA, "create ACL for %s on %s: %s", acls[i].user, acls[i].name,
                     rd_kafka_error_string(re));
      goto out;
    }
  }
out:
  if (ev) rd_kafka_event_destroy(ev);
  for (int i = 0; i < cnt; i++) rd_kafka_AclBinding_destroy(bs[i]);
  free(bs);
  rd_kafka_queue_destroy(q);
  return rc;
}

/* ------------------------------------------------- records as they are (fofal backup) */

int fofal_kafka_msg_header_at(const fofal_kmsg_t *msg, size_t idx, const char **name, const void **value,
                              size_t *len) {
  rd_kafka_headers_t *h = NULL;
  if (!msg->priv || rd_kafka_message_headers(msg->priv, &h) || !h) return -1;
  return rd_kafka_header_get_all(h, idx, name, value, len) ? -1 : 0;
}

int fofal_kafka_produce_record(fofal_kafka_t *k, const char *topic, int32_t partition, const fofal_krecord_t *r,
                               fofal_kafka_dr_fn dr, void *opaque, char *errbuf, size_t errlen) {
  rd_kafka_headers_t *hdrs = NULL;
  dr_t *d = NULL;
  if (r->n_headers > 0) {
    hdrs = rd_kafka_headers_new(r->n_headers);
    for (size_t i = 0; i < r->n_headers; i++)
      rd_kafka_header_add(hdrs, r->headers[i].name, (ssize_t)r->headers[i].name_len, r->headers[i].value,
                          r->headers[i].value ? (ssize_t)r->headers[i].len : 0);
  }
  if (dr) {
    d = fofal_malloc(sizeof *d);
    d->fn = dr;
    d->opaque = opaque;
  }
  rd_kafka_resp_err_t err = rd_kafka_producev(
      k->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_KEY(r->key, r->key_len),
      RD_KAFKA_V_VALUE((void *)r->value, r->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_TIMESTAMP(r->timestamp_ms), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(d), RD_KAFKA_V_END);
  if (err) {
    if (hdrs) rd_kafka_headers_destroy(hdrs);
    free(d);
    return fofal_err(errbuf, errlen, err == RD_KAFKA_RESP_ERR__QUEUE_FULL ? FOFAL_EUNAVAIL : FOFAL_EKAFKA,
                     "produce to %s[%d]: %s", topic, (int)partition, rd_kafka_err2str(err));
  }
  return 0;
}

int fofal_kafka_commit_offsets(fofal_kafka_t *k, const char *topic, const int32_t *partitions, const int64_t *offsets,
                               int n, char *errbuf, size_t errlen) {
  if (n <= 0) return 0;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
  for (int i = 0; i < n; i++) rd_kafka_topic_partition_list_add(l, topic, partitions[i])->offset = offsets[i];
  rd_kafka_resp_err_t err = rd_kafka_commit(k->rk, l, 0);
  rd_kafka_topic_partition_list_destroy(l);
  if (err) return fofal_err(errbuf, errlen, FOFAL_EKAFKA, "commit offsets of %s: %s", topic, rd_kafka_err2str(err));
  return 0;
}
