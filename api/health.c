/*
 * health.c — /healthz, /readyz and /metrics.
 *
 * A health thread checks Kafka (metadata of fofal.commands), PostgreSQL (SELECT 1) and
 * Redis (PING) every second, each bounded by a short timeout, and publishes the outcome
 * in atomics; the handlers only read them, so a dead dependency never blocks a request.
 * /readyz is 503 with Retry-After while any dependency is down.
 *
 * The same thread measures projection lag: for every projector and partition in
 * fofal_meta.projector_offsets, the events between its next offset and the topic's high
 * watermark, and the seconds since the last event it applied when it is behind. /metrics
 * prints the last measurement (a mutex guards the table between the two threads).
 */
#include "api.h"
#include "projections.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int fofal__redis_ping(const char *addr, const char *user, const char *password, int timeout_ms);

fofal_api_metrics_t fofal__metrics;

/* Upper bounds (ms) of the latency histogram buckets; the last is +Inf. */
static const double bucket_ms[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000};
#define NBUCKET (sizeof bucket_ms / sizeof bucket_ms[0])

void fofal__observe_latency(int64_t us) {
  size_t i = 0;
  while (i < NBUCKET && (double)us / 1000.0 > bucket_ms[i]) i++;
  atomic_fetch_add(&fofal__metrics.latency_bucket[i], 1);
  atomic_fetch_add(&fofal__metrics.latency_sum_us, us);
  atomic_fetch_add(&fofal__metrics.latency_count, 1);
}

#define MAX_LAG_ROWS 256

typedef struct {
  char projector[64], topic[96];
  int partition;
  long long events;
  double seconds;
} lag_row_t;

typedef struct fofal_health {
  pthread_t thread;
  pthread_mutex_t lag_mu;
  lag_row_t lag[MAX_LAG_ROWS];
  int nlag;
  int started;
  atomic_int stop;           /* set by the loop thread at shutdown; the health thread watches it */
  atomic_int kafka, pg, redis;
  int kafka_failures; /* consecutive failed Kafka checks (health thread) */
  fofal_kafka_t *admin;
  /* fofal__log_end's: a consumer that reads uncommitted, so that a watermark query
   * answers the log's end, not its last stable offset (the first offset of a transaction
   * still open, which a killed producer leaves open for its timeout). */
  fofal_kafka_t *ends;
  fofal_pg_t *pg_conn;
  fofal_api_t *api;
} health_t;

static void check_once(health_t *h) {
  char err[256];
  int n = fofal_kafka_partition_count(h->admin, FOFAL_TOPIC_COMMANDS, 1000, err, sizeof err);
  /* Down after two failed checks in a row: one slow metadata answer from a busy broker is
   * not an outage (a command whose produce times out still gets its 503 within 2 s). */
  h->kafka_failures = n > 0 ? 0 : h->kafka_failures + 1;
  atomic_store(&h->kafka, n > 0 || h->kafka_failures < 2);
  if (!h->pg_conn) fofal_pg_connect(&h->pg_conn, h->api->conf.pg_dsn, err, sizeof err);
  int pg_ok = h->pg_conn && fofal_pg_ping(h->pg_conn);
  if (!pg_ok && h->pg_conn) {
    fofal_pg_close(h->pg_conn);
    h->pg_conn = NULL;
  }
  atomic_store(&h->pg, pg_ok);
  atomic_store(&h->redis, fofal__redis_ping(h->api->conf.redis_addr, h->api->conf.redis_user, h->api->conf.redis_password, 500));
}

typedef struct {
  health_t *h;
  lag_row_t rows[MAX_LAG_ROWS];
  int n;
} lag_scan_t;

static void on_lag_row(void *opaque, int ncols, const char *const *v) {
  lag_scan_t *sc = opaque;
  (void)ncols;
  if (sc->n >= MAX_LAG_ROWS || !v[0] || !v[1] || !v[2] || !v[3]) return;
  char err[128];
  int64_t lo, hi, next = atoll(v[3]);
  lag_row_t *r = &sc->rows[sc->n];
  snprintf(r->projector, sizeof r->projector, "%s", v[0]);
  snprintf(r->topic, sizeof r->topic, "%s", v[1]);
  r->partition = atoi(v[2]);
  if (fofal_kafka_watermarks(sc->h->admin, r->topic, r->partition, &lo, &hi, 1000, err, sizeof err)) return;
  /* The high watermark counts transaction markers too; one marker behind is caught up. */
  r->events = hi - next > 1 ? hi - next : 0;
  r->seconds = r->events > 0 && v[4] ? atof(v[4]) : 0;
  sc->n++;
}

static void measure_lag(health_t *h) {
  char err[256];
  lag_scan_t *sc = fofal_calloc(1, sizeof *sc);
  sc->h = h;
  if (h->pg_conn &&
      !fofal_pg_query(h->pg_conn,
                      "SELECT projector, topic, partition, next_offset, "
                      "extract(epoch FROM now() - last_event_at) FROM fofal_meta.projector_offsets "
                      "WHERE projector NOT LIKE '%@%' ORDER BY 1, 2, 3",
                      0, NULL, on_lag_row, sc, err, sizeof err)) {
    pthread_mutex_lock(&h->lag_mu);
    memcpy(h->lag, sc->rows, sizeof sc->rows);
    h->nlag = sc->n;
    pthread_mutex_unlock(&h->lag_mu);
  }
  free(sc);
}

static void *health_main(void *arg) {
  health_t *h = arg;
  while (!fofal_stopped(&h->stop)) {
    check_once(h);
    measure_lag(h);
    for (int i = 0; i < 10 && !fofal_stopped(&h->stop); i++) usleep(100 * 1000);
  }
  return NULL;
}

int fofal__health_start(fofal_api_t *api, char *errbuf, size_t errlen) {
  health_t *h = fofal_calloc(1, sizeof *h);
  pthread_mutex_init(&h->lag_mu, NULL);
  api->health = h;
  h->api = api;
  fofal_kafka_opts_t o = {.brokers = api->conf.brokers, .client_id = "fofal-api-health", .metadata_only = 1};
  int rc = fofal_kafka_producer_new(&h->admin, &o, errbuf, errlen);
  if (rc) return rc;
  fofal_kafka_opts_t e = {.brokers = api->conf.brokers, .client_id = "fofal-api-ends", .read_committed = 0};
  if ((rc = fofal_kafka_consumer_new(&h->ends, &e, errbuf, errlen))) return rc;
  check_once(h);
  if (pthread_create(&h->thread, NULL, health_main, h)) return fofal_err(errbuf, errlen, FOFAL_EIO, "cannot start the health thread");
  h->started = 1;
  return 0;
}

void fofal__health_stop(fofal_api_t *api) {
  health_t *h = api->health;
  if (!h) return;
  fofal_stop_set(&h->stop);
  if (h->started) pthread_join(h->thread, NULL);
  fofal_kafka_free(h->admin);
  fofal_kafka_free(h->ends);
  fofal_pg_close(h->pg_conn);
  pthread_mutex_destroy(&h->lag_mu);
  free(h);
  api->health = NULL;
}

int fofal__kafka_up(fofal_api_t *api) { return api->health && atomic_load(&api->health->kafka); }

int fofal__log_end(fofal_api_t *api, const char *topic, int partition, int64_t *end, char *errbuf, size_t errlen) {
  health_t *h = api->health;
  int64_t lo;
  if (!h || !h->ends) return fofal_err(errbuf, errlen, FOFAL_EUNAVAIL, "no Kafka handle");
  /* librdkafka handles may be used from any thread. The high watermark, not the last
   * stable offset: a position behind another producer's open transaction is not beyond
   * the end, it is waited for. */
  int rc = fofal_kafka_watermarks(h->ends, topic, partition, &lo, end, 1000, errbuf, errlen);
  if (rc) {
    int n = fofal_kafka_partition_count(h->admin, topic, 1000, errbuf, errlen);
    if (n > 0 && partition >= n) return fofal_err(errbuf, errlen, FOFAL_ENOENT, "%s has %d partitions", topic, n);
  }
  return rc;
}

int fofal__on_healthz(h2o_handler_t *self, h2o_req_t *req) {
  (void)self;
  fofal__send_json(req, 200, json_pack("{s:s}", "status", "alive"));
  return 0;
}

int fofal__on_readyz(h2o_handler_t *self, h2o_req_t *req) {
  health_t *h = API_OF(self)->health;
  int k = atomic_load(&h->kafka), p = atomic_load(&h->pg), r = atomic_load(&h->redis);
  json_t *body = json_pack("{s:s,s:{s:s,s:s,s:s}}", "status", k && p && r ? "ready" : "unavailable", "checks", "kafka",
                           k ? "up" : "down", "postgresql", p ? "up" : "down", "redis", r ? "up" : "down");
  if (!(k && p && r)) fofal__add_header(req, "Retry-After", "1");
  fofal__send_json(req, k && p && r ? 200 : 503, body);
  return 0;
}

int fofal__on_metrics(h2o_handler_t *self, h2o_req_t *req) {
  health_t *h = API_OF(self)->health;
  fofal_api_metrics_t *m = &fofal__metrics;
  size_t cap = 65536, len = 0;
  char *buf = h2o_mem_alloc_pool(&req->pool, cap);
#define OUT(...) len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, __VA_ARGS__)
  OUT("# HELP fofal_api_requests_total HTTP requests handled by the command API.\n# TYPE fofal_api_requests_total counter\n");
  OUT("fofal_api_requests_total %lld\n", atomic_load(&m->requests));
  OUT("# HELP fofal_api_responses_total Responses by status class.\n# TYPE fofal_api_responses_total counter\n");
  OUT("fofal_api_responses_total{class=\"2xx\"} %lld\n", atomic_load(&m->responses_2xx));
  OUT("fofal_api_responses_total{class=\"4xx\"} %lld\n", atomic_load(&m->responses_4xx));
  OUT("fofal_api_responses_total{class=\"5xx\"} %lld\n", atomic_load(&m->responses_5xx));
  OUT("# HELP fofal_api_commands_total Commands by outcome.\n# TYPE fofal_api_commands_total counter\n");
  OUT("fofal_api_commands_total{outcome=\"accepted\"} %lld\n", atomic_load(&m->commands_accepted));
  OUT("fofal_api_commands_total{outcome=\"rejected\"} %lld\n", atomic_load(&m->commands_rejected));
  OUT("fofal_api_commands_total{outcome=\"conflict\"} %lld\n", atomic_load(&m->commands_conflict));
  OUT("fofal_api_commands_total{outcome=\"pending_202\"} %lld\n", atomic_load(&m->commands_timeout));
  OUT("fofal_api_commands_total{outcome=\"unavailable\"} %lld\n", atomic_load(&m->commands_unavailable));
  OUT("fofal_api_commands_total{outcome=\"duplicate\"} %lld\n", atomic_load(&m->commands_duplicate));
  OUT("# HELP fofal_api_command_seconds Time from a command's arrival to its decided result.\n"
      "# TYPE fofal_api_command_seconds histogram\n");
  long long cum = 0;
  for (size_t i = 0; i < NBUCKET; i++) {
    cum += atomic_load(&m->latency_bucket[i]);
    OUT("fofal_api_command_seconds_bucket{le=\"%g\"} %lld\n", bucket_ms[i] / 1000.0, cum);
  }
  cum += atomic_load(&m->latency_bucket[NBUCKET]);
  OUT("fofal_api_command_seconds_bucket{le=\"+Inf\"} %lld\n", cum);
  OUT("fofal_api_command_seconds_sum %.6f\n", (double)atomic_load(&m->latency_sum_us) / 1e6);
  OUT("fofal_api_command_seconds_count %lld\n", atomic_load(&m->latency_count));
  OUT("# HELP fofal_api_reads_total Read requests (the modules' reads and the audit trail).\n"
      "# TYPE fofal_api_reads_total counter\n");
  OUT("fofal_api_reads_total %lld\n", atomic_load(&m->reads));
  OUT("# HELP fofal_api_read_jobs_rejected_total Read jobs refused because the worker queue was full.\n"
      "# TYPE fofal_api_read_jobs_rejected_total counter\n");
  OUT("fofal_api_read_jobs_rejected_total %lld\n", atomic_load(&m->read_jobs_rejected));
  OUT("# HELP fofal_api_position_waits_total Reads that waited for a ?position=, and those that timed out.\n"
      "# TYPE fofal_api_position_waits_total counter\n");
  OUT("fofal_api_position_waits_total{outcome=\"all\"} %lld\n", atomic_load(&m->position_waits));
  OUT("fofal_api_position_waits_total{outcome=\"timeout\"} %lld\n", atomic_load(&m->position_timeouts));
  OUT("# HELP fofal_ws_connections Open WebSocket stream connections.\n# TYPE fofal_ws_connections gauge\n");
  OUT("fofal_ws_connections %lld\n", atomic_load(&m->ws_connections));
  OUT("# HELP fofal_ws_connections_total WebSocket stream connections accepted.\n"
      "# TYPE fofal_ws_connections_total counter\n");
  OUT("fofal_ws_connections_total %lld\n", atomic_load(&m->ws_connections_total));
  OUT("# HELP fofal_ws_slow_consumers_total WebSocket connections closed with 1013 for not reading fast enough.\n"
      "# TYPE fofal_ws_slow_consumers_total counter\n");
  OUT("fofal_ws_slow_consumers_total %lld\n", atomic_load(&m->ws_slow_dropped));
  OUT("# HELP fofal_ws_protocol_closes_total WebSocket connections closed for a bad client frame.\n"
      "# TYPE fofal_ws_protocol_closes_total counter\n");
  OUT("fofal_ws_protocol_closes_total %lld\n", atomic_load(&m->ws_protocol_closed));
  OUT("# HELP fofal_ws_messages_sent_total Messages handed to WebSocket connections.\n"
      "# TYPE fofal_ws_messages_sent_total counter\n");
  OUT("fofal_ws_messages_sent_total %lld\n", atomic_load(&m->ws_pushes_sent));
  OUT("# HELP fofal_dependency_up 1 when the dependency answered the last health check.\n# TYPE fofal_dependency_up gauge\n");
  OUT("fofal_dependency_up{dependency=\"kafka\"} %d\n", atomic_load(&h->kafka));
  OUT("fofal_dependency_up{dependency=\"postgresql\"} %d\n", atomic_load(&h->pg));
  OUT("fofal_dependency_up{dependency=\"redis\"} %d\n", atomic_load(&h->redis));
  OUT("# HELP fofal_projection_lag_events Events in the topic not yet applied by the projector.\n"
      "# TYPE fofal_projection_lag_events gauge\n");
  pthread_mutex_lock(&h->lag_mu);
  for (int i = 0; i < h->nlag; i++)
    OUT("fofal_projection_lag_events{projector=\"%s\",topic=\"%s\",partition=\"%d\"} %lld\n", h->lag[i].projector,
        h->lag[i].topic, h->lag[i].partition, h->lag[i].events);
  OUT("# HELP fofal_projection_lag_seconds Age of the last applied event while the projector is behind.\n"
      "# TYPE fofal_projection_lag_seconds gauge\n");
  for (int i = 0; i < h->nlag; i++)
    OUT("fofal_projection_lag_seconds{projector=\"%s\",topic=\"%s\",partition=\"%d\"} %.3f\n", h->lag[i].projector,
        h->lag[i].topic, h->lag[i].partition, h->lag[i].seconds);
  pthread_mutex_unlock(&h->lag_mu);
#undef OUT
  if (len >= cap) len = cap - 1;
  req->res.status = 200;
  req->res.reason = "OK";
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                 H2O_STRLIT("text/plain; version=0.0.4; charset=utf-8"));
  req->res.content_length = len;
  h2o_send_inline(req, buf, len);
  return 0;
}
