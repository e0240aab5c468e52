/*
 * stream.c — GET /api/v1/stream: WebSocket pushes of applied events (h2o + wslay).
 *
 * Source. The projector appends one entry to the Redis stream fofal:push per applied
 * event, in the same Lua script as the views it reports (projections/production/production.c): a
 * push never precedes its projection. A reader thread tails the stream (XREAD BLOCK,
 * starting after the last id that existed when the API started) and posts batches to the
 * loop thread, which sends each entry to the connections of the entry's tenant whose
 * subscription matches, as {"id":"<stream id>","event":{...}}.
 *
 * Protocol. Authentication is the bearer token, in the Authorization header or, since
 * browsers cannot set headers on a WebSocket, in ?access_token=. The client sends text
 * frames {"subscribe":{"modules":[...],"aggregates":[...]}} and {"unsubscribe":{...}}; an
 * absent or empty list means "all" of that kind. A connection receives nothing until its
 * first subscribe; subscribing only widens, unsubscribing with {} stops everything. Each
 * request is acknowledged ({"ack":"subscribe",...}). An aggregate is named as people name it
 * (commands.h, fofal_aggregate_resolve): its id, its code ("L13": every aggregate of the
 * tenant with that code, of any kind, and the machine events named by it) or kind:code
 * ("loom:L13"); the acknowledgement lists the names as given, and pushes match the ids they
 * resolve to in the connection's tenant. Incoming frames are capped at 64 KiB
 * (wslay closes with 1009); a frame that is not JSON closes with 1007, JSON of another
 * shape with 1008, a binary frame with 1003.
 *
 * Who receives what (issue 22 item 3). A push reaches a connection only when the role of
 * its token may read the aggregate through the read routes (stream_roles.c: the roles of
 * the route that shows it, from the OpenAPI document; an employee's own record also
 * reaches the token with that badge), live and replayed alike. The connection lives as
 * long as its token: at `exp` (plus the clock leeway of auth.c) it is closed with 1008
 * "token expired", unless the client sent {"auth":"<access token>"} with a newer token of
 * the same tenant and subject (acknowledged {"ack":"auth","expires_at":…}); a minute
 * before, the server sends {"expiring":{"closes_at":…}}. A session that ends closes its
 * streams (fofal__stream_revoke). A client that sends nothing for FOFAL_WS_IDLE_S — the
 * server pings it halfway, so a live client's pong is enough — is closed with 1001. Each
 * instance admits FOFAL_WS_MAX_PER_ACCOUNT connections per token subject,
 * FOFAL_WS_MAX_PER_TENANT per tenant (429 too_many_connections) and
 * FOFAL_WS_MAX_CONNECTIONS in all (503).
 *
 * Resuming. ?since=<stream id> (the last id the client saw) replays what it missed: at
 * its first subscribe the connection starts holding live entries, and a worker pages
 * through XRANGE (since + — filtered by tenant there, by subscription here; pages are
 * fetched as the client drains, so a long absence does not flood memory). When the range
 * is exhausted, the held live entries with a larger id follow, then the connection is
 * live: in order, no gap, no duplicate. If entries after `since` were trimmed from the
 * stream, the client first gets {"resync":true,...} and should reload its views.
 *
 * Back-pressure. A stream socket's kernel send buffer is fixed at WS_SNDBUF (autotuning
 * would let one stalled client pin megabytes of kernel memory and hide it from the
 * accounting below). Each connection has its own queue in front of wslay's (which holds at
 * most INFLIGHT_MSGS / INFLIGHT_BYTES): a connection with more than FOFAL_WS_MAX_QUEUE
 * messages or 1 MiB unsent is a slow consumer — its queues are freed at once and it is
 * closed with 1013 "slow consumer"; if it does not complete the close within
 * CLOSE_GRACE_MS the socket is closed anyway.
 *
 * Threads: everything here runs on the loop thread except reader_main (its own Redis
 * connection) and replay jobs (on a read worker, pgpool.c). Messages are reference
 * counted by the loop thread only. Redis down: the reader retries every 250 ms and goes
 * on from its last id; a replay that fails closes the connection with 1011.
 */
#include "api.h"
#include "projections.h"

#include <h2o/websocket.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_IN_FRAME (64 * 1024)
#define MAX_QUEUE_BYTES (1024 * 1024)
#define MAX_PUSH_BYTES (256 * 1024)   /* larger stream entries are skipped */
#define WS_SNDBUF (64 * 1024)      /* kernel send buffer of a stream socket (Linux doubles it) */
#define INFLIGHT_MSGS 1024
#define INFLIGHT_BYTES (512 * 1024)
#define MAX_MODULES FOFAL_STREAM_MAX_MODULES
#define MAX_AGGREGATES FOFAL_STREAM_MAX_AGGREGATES
#define CLOSE_GRACE_MS 10000
#define TICK_MS 20
#define READ_COUNT 1000
#define REPLAY_PAGE 500               /* XRANGE COUNT */
#define REPLAY_MATCHES 200            /* a replay job returns after this many entries of the tenant */
#define REPLAY_SCAN 5000              /* … or after scanning this many */
#define SWEEP_MS 1000                 /* expiry and idle checks */
#define EXPIRY_NOTICE_S 60            /* {"expiring":…} this long before the close */

/* ---------------------------------------------------------------- messages */

typedef struct {
  int refs;                 /* the owner's (batch or job) and the queues'; loop thread */
  uint64_t ms, seq;         /* the stream id */
  char tenant[64], module[32], aggregate[72], type[96];
  int roles_ready, self;    /* roles: who may receive it (stream_roles.c), computed once */
  uint32_t roles;
  size_t len;
  char text[];              /* {"id":"<id>","event":<m>} */
} msg_t;

/* A Redis stream id "<ms>-<seq>". 0 or FOFAL_EPARSE. */
static int parse_id(const char *s, uint64_t *ms, uint64_t *seq) {
  char *end;
  if (!s || strlen(s) > 41 || *s < '0' || *s > '9') return FOFAL_EPARSE;
  *ms = strtoull(s, &end, 10);
  if (*end != '-' || end[1] < '0' || end[1] > '9') return FOFAL_EPARSE;
  *seq = strtoull(end + 1, &end, 10);
  return *end ? FOFAL_EPARSE : 0;
}

static int id_cmp(uint64_t ams, uint64_t aseq, uint64_t bms, uint64_t bseq) {
  if (ams != bms) return ams < bms ? -1 : 1;
  return aseq < bseq ? -1 : aseq > bseq;
}

/* A message for one stream entry (one reference, the caller's), or NULL when the entry is
 * not a push we can route. */
static msg_t *msg_new(const char *id, const char *m, size_t mlen) {
  uint64_t ms, seq;
  if (!m || mlen > MAX_PUSH_BYTES || parse_id(id, &ms, &seq)) return NULL;
  json_t *ev = json_loadb(m, mlen, 0, NULL);
  const char *tenant = json_string_value(json_object_get(ev, "tenant"));
  const char *module = json_string_value(json_object_get(ev, "module"));
  const char *agg = json_string_value(json_object_get(ev, "aggregate"));
  const char *type = json_string_value(json_object_get(ev, "type"));
  msg_t *msg = NULL;
  if (json_is_object(ev) && tenant && module && agg && type && strlen(tenant) < sizeof msg->tenant &&
      strlen(module) < sizeof msg->module && strlen(agg) < sizeof msg->aggregate && strlen(type) < sizeof msg->type) {
    size_t cap = mlen + strlen(id) + 32;
    msg = fofal_calloc(1, sizeof *msg + cap);
    msg->refs = 1;
    msg->ms = ms;
    msg->seq = seq;
    snprintf(msg->tenant, sizeof msg->tenant, "%s", tenant);
    snprintf(msg->module, sizeof msg->module, "%s", module);
    snprintf(msg->aggregate, sizeof msg->aggregate, "%s", agg);
    snprintf(msg->type, sizeof msg->type, "%s", type);
    /* The entry is a JSON object: it is embedded as it was written. */
    int n = snprintf(msg->text, cap, "{\"id\":\"%s\",\"event\":", id);
    memcpy(msg->text + n, m, mlen);
    msg->text[n + mlen] = '}';
    msg->text[n + mlen + 1] = '\0';
    msg->len = (size_t)n + mlen + 1;
  }
  json_decref(ev);
  return msg;
}

static void msg_unref(msg_t *m) {
  if (m && --m->refs == 0) free(m);
}

/* A FIFO of message references with its byte count. */
typedef struct {
  msg_t **v;
  size_t head, len, cap, bytes;
} mq_t;

static void mq_push(mq_t *q, msg_t *m) {
  if (q->head + q->len == q->cap) {
    if (q->head > q->cap / 2) {
      memmove(q->v, q->v + q->head, q->len * sizeof *q->v);
      q->head = 0;
    } else {
      q->cap = q->cap ? q->cap * 2 : 16;
      q->v = fofal_realloc(q->v, q->cap * sizeof *q->v);
    }
  }
  q->v[q->head + q->len++] = m;
  q->bytes += m->len;
  m->refs++;
}

/* The oldest message (the reference passes to the caller), or NULL. */
static msg_t *mq_pop(mq_t *q) {
  if (!q->len) return NULL;
  msg_t *m = q->v[q->head++];
  q->len--;
  q->bytes -= m->len;
  if (!q->len) q->head = 0;
  return m;
}

static void mq_clear(mq_t *q) {
  msg_t *m;
  while ((m = mq_pop(q))) msg_unref(m);
  free(q->v);
  memset(q, 0, sizeof *q);
}

/* ----------------------------------------------------------------- clients */

enum { S_NEW, S_REPLAYING, S_LIVE };

typedef struct replay_job replay_job_t;

typedef struct client {
  struct fofal_stream *st;
  h2o_websocket_conn_t *conn;
  char tenant[64];
  char sid[40];              /* session of its token ("" for development tokens) */
  char subject[128];         /* its token's subject: the per-account cap, re-authentication */
  uint32_t role_bit;         /* its token's role (fofal__push_role_bit) */
  char self_id[FOFAL_CODE_MAX + 1]; /* the aggregate id of its badge's employee record, or "" */
  long exp;                  /* its token's expiry (unix time) */
  int warned;                /* {"expiring":…} sent for this exp */
  int64_t last_rx_us, last_ping_us; /* monotonic: last frame received, last ping sent */
  h2o_linklist_t link;       /* in its tenant's list */
  h2o_linklist_t busy_link;  /* in st->busy while it has a backlog or a replay page to fetch */
  int *alive;                /* set to 0 when destroyed (see kick) */
  /* subscription */
  int subscribed, all_modules, all_aggregates, nmodules;
  char modules[MAX_MODULES][32];
  fofal_map_t *aggregates;   /* the names subscribed, as given → &sentinel */
  fofal_map_t *ids;          /* the aggregate ids they resolve to → int * (how many names) */
  /* delivery */
  mq_t q, held;
  int state;                 /* S_NEW until the first subscribe */
  int has_since;
  uint64_t since_ms, since_seq; /* replay: last id covered */
  long long replayed;
  replay_job_t *job;
  int want_page;
  int closing;
  int sndbuf_set;
  h2o_timeout_entry_t grace;
} client_t;

typedef struct {
  h2o_linklist_t clients;
  long long n;
} tenant_t;

typedef struct fofal_stream {
  fofal_api_t *api;
  fofal_map_t *tenants;      /* tenant → tenant_t *; loop thread */
  fofal_map_t *accounts;     /* "<tenant>/<subject>" → long long * (connections); loop thread */
  fofal__push_roles_t *roles;
  h2o_linklist_t busy;
  h2o_timeout_t tick_timeout, grace_timeout, sweep_timeout;
  h2o_timeout_entry_t tick, sweep;
  long long nclients;
  pthread_t reader;
  int reader_started;
  atomic_int stop;           /* set by the loop thread at shutdown; the reader watches it */
} stream_t;

struct replay_job {
  fofal_job_t super;
  client_t *c;               /* NULL once the client is gone */
  char tenant[64], after[48];
  int first;
  int rc;
  char err[256];
  msg_t **msgs;
  size_t n, cap;
  char last[48];             /* last id scanned */
  int done, gap, scanned;
};

static const char sentinel = 1;

static void feed(client_t *c);
static void close_with(client_t *c, uint16_t code, const char *reason);

static void busy_update(client_t *c) {
  stream_t *st = c->st;
  int busy = !c->closing && (c->q.len > 0 || c->want_page);
  if (busy && !h2o_linklist_is_linked(&c->busy_link)) h2o_linklist_insert(&st->busy, &c->busy_link);
  else if (!busy && h2o_linklist_is_linked(&c->busy_link)) h2o_linklist_unlink(&c->busy_link);
  if (!h2o_linklist_is_empty(&st->busy) && !h2o_timeout_is_linked(&st->tick))
    h2o_timeout_link(st->api->ctx.loop, &st->tick_timeout, &st->tick);
}

static void account_key(const client_t *c, char *out, size_t n) { snprintf(out, n, "%s/%s", c->tenant, c->subject); }

static void client_destroy(client_t *c) {
  stream_t *st = c->st;
  if (c->alive) *c->alive = 0;
  if (c->conn) h2o_websocket_close(c->conn);
  c->conn = NULL;
  if (h2o_linklist_is_linked(&c->link)) {
    h2o_linklist_unlink(&c->link);
    tenant_t *t = fofal_map_get(st->tenants, c->tenant);
    if (t) t->n--;
    if (t && h2o_linklist_is_empty(&t->clients)) free(fofal_map_take(st->tenants, c->tenant));
    char key[200];
    account_key(c, key, sizeof key);
    long long *na = fofal_map_get(st->accounts, key);
    if (na && --*na <= 0) free(fofal_map_take(st->accounts, key));
  }
  if (h2o_linklist_is_linked(&c->busy_link)) h2o_linklist_unlink(&c->busy_link);
  if (h2o_timeout_is_linked(&c->grace)) h2o_timeout_unlink(&c->grace);
  if (c->job) c->job->c = NULL;
  mq_clear(&c->q);
  mq_clear(&c->held);
  fofal_map_free(c->aggregates);
  fofal_map_free(c->ids);
  st->nclients--;
  atomic_fetch_sub(&fofal__metrics.ws_connections, 1);
  free(c);
}

/* Lets h2o and wslay make progress. Not from inside a wslay callback. 0, or FOFAL_EIO when
 * the connection closed meanwhile (the client is freed). */
static int kick(client_t *c) {
  if (!c->conn || !c->conn->sock) return 0;
  int alive = 1;
  c->alive = &alive;
  h2o_websocket_proceed(c->conn);
  if (!alive) return FOFAL_EIO;
  c->alive = NULL;
  return 0;
}

/* Queues a reply (`j` stolen) behind what is already queued, so that e.g. the end of a
 * replay is announced after the replayed entries. Replies are small and not counted
 * against the slow-consumer limits. */
static void send_json(client_t *c, json_t *j) {
  char *s = fofal_json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(j);
  if (s && !c->closing) {
    size_t n = strlen(s);
    msg_t *m = fofal_calloc(1, sizeof *m + n + 1);
    m->refs = 1;
    memcpy(m->text, s, n + 1);
    m->len = n;
    mq_push(&c->q, m);
    msg_unref(m);
    feed(c);
  }
  free(s);
}

static size_t unsent_msgs(client_t *c) {
  size_t n = c->q.len + c->held.len;
  if (c->conn) n += wslay_event_get_queued_msg_count(c->conn->ws_ctx);
  return n;
}

static size_t unsent_bytes(client_t *c) {
  size_t n = c->q.bytes + c->held.bytes;
  if (c->conn) n += wslay_event_get_queued_msg_length(c->conn->ws_ctx);
  return n;
}

/* Frees the backlog and closes with 1013. */
static void slow_consumer(client_t *c) {
  atomic_fetch_add(&fofal__metrics.ws_slow_dropped, 1);
  LOG_INFO("stream: closing a slow consumer of tenant %s (%zu messages, %zu bytes unsent)", c->tenant, unsent_msgs(c),
           unsent_bytes(c));
  mq_clear(&c->q);
  mq_clear(&c->held);
  close_with(c, 1013, "slow consumer");
}

/* Adds m to a queue of c, or closes c as a slow consumer. */
static void enqueue(client_t *c, mq_t *q, msg_t *m) {
  if (c->closing) return;
  if (unsent_msgs(c) + 1 > (size_t)c->st->api->conf.ws_max_queue || unsent_bytes(c) + m->len > MAX_QUEUE_BYTES) {
    slow_consumer(c);
    return;
  }
  mq_push(q, m);
}

/* Moves backlog into wslay, keeping what wslay holds small. */
static void feed(client_t *c) {
  if (c->conn && c->conn->sock && !c->closing) {
    wslay_event_context_ptr ws = c->conn->ws_ctx;
    while (c->q.len && wslay_event_get_queued_msg_count(ws) < INFLIGHT_MSGS &&
           wslay_event_get_queued_msg_length(ws) < INFLIGHT_BYTES) {
      msg_t *m = mq_pop(&c->q);
      struct wslay_event_msg wm = {WSLAY_TEXT_FRAME, (const uint8_t *)m->text, m->len};
      if (!wslay_event_queue_msg(ws, &wm)) atomic_fetch_add(&fofal__metrics.ws_pushes_sent, 1);
      msg_unref(m);
    }
  }
  busy_update(c);
}

/* The role of c's token reads the aggregate of m (or it is c's own employee record). */
static int may_see(const client_t *c, msg_t *m) {
  if (!m->roles_ready) {
    m->roles = fofal__push_roles_mask(c->st->roles, m->module, m->type, &m->self);
    m->roles_ready = 1;
  }
  if (m->roles & c->role_bit) return 1;
  return m->self && c->self_id[0] && !strcmp(c->self_id, m->aggregate);
}

static int matches(const client_t *c, msg_t *m) {
  if (!c->subscribed || strcmp(c->tenant, m->tenant) || !may_see(c, m)) return 0;
  if (!c->all_modules) {
    int found = 0;
    for (int i = 0; i < c->nmodules && !found; i++) found = !strcmp(c->modules[i], m->module);
    if (!found) return 0;
  }
  return c->all_aggregates || fofal_map_get(c->ids, m->aggregate) != NULL;
}

static void on_grace(h2o_timeout_entry_t *entry) {
  client_t *c = H2O_STRUCT_FROM_MEMBER(client_t, grace, entry);
  client_destroy(c);
}

/* Queues a close frame; the socket is closed when the peer answers, or after the grace. */
static void close_with(client_t *c, uint16_t code, const char *reason) {
  if (c->closing) return;
  c->closing = 1;
  c->want_page = 0;
  if (c->conn) wslay_event_queue_close(c->conn->ws_ctx, code, (const uint8_t *)reason, strlen(reason));
  c->grace.cb = on_grace;
  h2o_timeout_link(c->st->api->ctx.loop, &c->st->grace_timeout, &c->grace);
  busy_update(c);
}

/* ----------------------------------------------------------------- replay */

static void replay_entry(void *opaque, const char *id, const char *m, size_t mlen) {
  replay_job_t *job = opaque;
  job->scanned++;
  snprintf(job->last, sizeof job->last, "%s", id);
  msg_t *msg = msg_new(id, m, mlen);
  if (!msg) return;
  if (strcmp(msg->tenant, job->tenant)) {
    msg_unref(msg);
    return;
  }
  if (job->n == job->cap) job->msgs = fofal_realloc(job->msgs, (job->cap = job->cap ? job->cap * 2 : 64) * sizeof *job->msgs);
  job->msgs[job->n++] = msg;
}

static void run_replay(fofal_worker_t *w, fofal_job_t *super) {
  replay_job_t *job = (replay_job_t *)super;
  fofal__redis_t *r = fofal__worker_redis(w);
  snprintf(job->last, sizeof job->last, "%s", job->after);
  if (job->first) {
    char last[48], deleted[48];
    uint64_t ams, aseq, dms, dseq;
    job->rc = fofal__redis_stream_ids(r, FOFAL_PUSH_STREAM, last, deleted, job->err, sizeof job->err);
    if (job->rc) return;
    if (!parse_id(job->after, &ams, &aseq) && !parse_id(deleted, &dms, &dseq) && (dms || dseq))
      job->gap = id_cmp(ams, aseq, dms, dseq) < 0;
  }
  while (!job->done && job->n < REPLAY_MATCHES && job->scanned < REPLAY_SCAN) {
    int n = fofal__redis_xread(r, FOFAL_PUSH_STREAM, job->last, -1, REPLAY_PAGE, 1, replay_entry, job, job->err,
                               sizeof job->err);
    if (n < 0) {
      job->rc = n;
      return;
    }
    if (n < REPLAY_PAGE) job->done = 1;
  }
}

static void replay_done(fofal_api_t *api, fofal_job_t *super);

static void submit_page(client_t *c, int first) {
  stream_t *st = c->st;
  replay_job_t *job = fofal_calloc(1, sizeof *job);
  job->super.run = run_replay;
  job->super.done = replay_done;
  job->c = c;
  job->first = first;
  snprintf(job->tenant, sizeof job->tenant, "%s", c->tenant);
  snprintf(job->super.tenant, sizeof job->super.tenant, "%s", c->tenant);
  snprintf(job->after, sizeof job->after, "%llu-%llu", (unsigned long long)c->since_ms, (unsigned long long)c->since_seq);
  c->want_page = 0;
  if (fofal__pool_submit(st->api, &job->super)) {
    free(job);
    c->want_page = 1; /* the queue is full: the tick tries again */
  } else {
    c->job = job;
  }
  busy_update(c);
}

/* Replay exhausted: the held live entries past it, then live. */
static void go_live(client_t *c) {
  msg_t *m;
  mq_t held = c->held;
  memset(&c->held, 0, sizeof c->held);
  while ((m = mq_pop(&held))) {
    if (id_cmp(m->ms, m->seq, c->since_ms, c->since_seq) > 0 && matches(c, m)) enqueue(c, &c->q, m);
    msg_unref(m);
  }
  mq_clear(&held);
  if (c->closing) return;
  c->state = S_LIVE;
  send_json(c, json_pack("{s:s,s:I}", "ack", "replayed", "count", (json_int_t)c->replayed));
}

static void replay_done(fofal_api_t *api, fofal_job_t *super) {
  (void)api;
  replay_job_t *job = (replay_job_t *)super;
  client_t *c = job->c;
  size_t i;
  if (!c) goto out;
  c->job = NULL;
  if (c->closing) goto out;
  if (super->stopped || job->rc) {
    if (job->rc) LOG_WARN("stream: replay failed: %s", job->err);
    close_with(c, 1011, "replay failed; reconnect with since");
    goto kick;
  }
  if (job->gap)
    send_json(c, json_pack("{s:b,s:s}", "resync", 1, "detail",
                           "events after `since` were trimmed from the push stream; reload your views"));
  for (i = 0; i < job->n && !c->closing; i++) {
    if (matches(c, job->msgs[i])) {
      enqueue(c, &c->q, job->msgs[i]);
      c->replayed++;
    }
  }
  uint64_t ms, seq;
  if (!parse_id(job->last, &ms, &seq)) {
    c->since_ms = ms;
    c->since_seq = seq;
  }
  if (c->closing) goto kick;
  if (job->done) go_live(c);
  else if (c->q.len < (size_t)c->st->api->conf.ws_max_queue / 2) submit_page(c, 0);
  else c->want_page = 1;
  feed(c);
kick:
  kick(c);
out:
  for (i = 0; i < job->n; i++) msg_unref(job->msgs[i]);
  free(job->msgs);
  free(job);
}

/* ------------------------------------------------------------ subscriptions */

/* Adds (delta 1) or drops (-1) the ids a subscribed name stands for in c's tenant. */
static void name_ids(client_t *c, const char *name, int delta) {
  fofal_aggregate_name_t n[FOFAL_AGGREGATE_NAMES_MAX];
  int k = fofal_aggregate_resolve(c->tenant, NULL, name, n, FOFAL_AGGREGATE_NAMES_MAX);
  for (int i = 0; i < k; i++) {
    int *refs = fofal_map_get(c->ids, n[i].id);
    if (delta > 0 && !refs) {
      refs = fofal_calloc(1, sizeof *refs);
      fofal_map_put(c->ids, n[i].id, refs);
    }
    if (refs && (*refs += delta) <= 0) free(fofal_map_take(c->ids, n[i].id));
  }
}

/* Subscribes or unsubscribes one name. */
static void name_put(client_t *c, const char *name) {
  if (fofal_map_get(c->aggregates, name)) return;
  fofal_map_put(c->aggregates, name, (void *)&sentinel);
  name_ids(c, name, 1);
}

static void name_take(client_t *c, const char *name) {
  if (fofal_map_take(c->aggregates, name)) name_ids(c, name, -1);
}

static void add_agg(void *opaque, const char *key, void *value) {
  (void)value;
  json_array_append_new(opaque, json_string(key));
}

/* The acknowledgement of a (un)subscribe: the resulting subscription ("*" = all). New. */
static json_t *ack_json(client_t *c, const char *what) {
  json_t *mods = json_array(), *aggs = json_array();
  for (int i = 0; i < c->nmodules; i++) json_array_append_new(mods, json_string(c->modules[i]));
  fofal_map_each(c->aggregates, add_agg, aggs);
  if (c->all_modules) {
    json_decref(mods);
    mods = json_string("*");
  }
  if (c->all_aggregates) {
    json_decref(aggs);
    aggs = json_string("*");
  }
  return json_pack("{s:s,s:b,s:o,s:o}", "ack", what, "subscribed", c->subscribed, "modules", mods, "aggregates", aggs);
}

/* Applies a checked {"subscribe":…} or {"unsubscribe":…} (fofal__stream_request). 0, or
 * FOFAL_EINVAL with a 1008 reason. */
static int apply_request(client_t *c, json_t *req, int sub, const char **why) {
  json_t *body = json_object_get(req, sub ? "subscribe" : "unsubscribe");
  json_t *mods = json_object_get(body, "modules"), *aggs = json_object_get(body, "aggregates");
  size_t i;
  json_t *s;
  if (sub) {
    if (!c->subscribed) {
      c->subscribed = 1;
      c->all_modules = c->all_aggregates = 0;
      c->nmodules = 0;
      fofal_map_free(c->aggregates);
      c->aggregates = fofal_map_new(NULL);
      fofal_map_free(c->ids);
      c->ids = fofal_map_new(free);
    }
    if (json_array_size(mods) == 0) c->all_modules = 1;
    if (json_array_size(aggs) == 0) c->all_aggregates = 1;
    json_array_foreach(mods, i, s) {
      int dup = 0;
      for (int k = 0; k < c->nmodules && !dup; k++) dup = !strcmp(c->modules[k], json_string_value(s));
      if (!dup && c->nmodules < MAX_MODULES) snprintf(c->modules[c->nmodules++], 32, "%s", json_string_value(s));
    }
    json_array_foreach(aggs, i, s) name_put(c, json_string_value(s));
    if (fofal_map_size(c->aggregates) > MAX_AGGREGATES) {
      *why = "too many aggregates on one connection";
      return FOFAL_EINVAL;
    }
    /* The replay, once per connection, starts when there is a subscription to filter by. */
    if (c->state == S_NEW && c->has_since) {
      c->state = S_REPLAYING;
      submit_page(c, 1);
    } else if (c->state == S_NEW) {
      c->state = S_LIVE;
    }
  } else {
    if (json_array_size(mods) == 0 && json_array_size(aggs) == 0) {
      c->subscribed = 0;
    } else {
      json_array_foreach(mods, i, s) {
        for (int k = 0; k < c->nmodules; k++)
          if (!strcmp(c->modules[k], json_string_value(s))) memmove(c->modules[k], c->modules[--c->nmodules], 32);
      }
      json_array_foreach(aggs, i, s) name_take(c, json_string_value(s));
      if ((!c->all_modules && c->nmodules == 0) || (!c->all_aggregates && fofal_map_size(c->aggregates) == 0))
        c->subscribed = 0;
    }
  }
  return 0;
}

/* Sets what c's token says: role, badge's record, session, expiry. */
static void take_principal(client_t *c, const fofal_principal_t *who) {
  c->role_bit = fofal__push_role_bit(who->role);
  c->self_id[0] = '\0';
  if (who->badge[0]) {
    char name[96];
    fofal_aggregate_name_t n[FOFAL_AGGREGATE_NAMES_MAX];
    snprintf(name, sizeof name, "employee:%s", who->badge);
    if (fofal_aggregate_resolve(c->tenant, NULL, name, n, FOFAL_AGGREGATE_NAMES_MAX) == 1) /* any module's */
      snprintf(c->self_id, sizeof c->self_id, "%s", n[0].id);
  }
  snprintf(c->sid, sizeof c->sid, "%s", who->sid);
  c->exp = who->exp;
  c->warned = 0;
}

/* {"auth":"<access token>"}: a newer token of the same tenant and subject extends the
 * connection to its expiry (and its role and session from then on); anything else closes
 * with 1008. Inside wslay's callback: queues only. */
static void reauthenticate(client_t *c, json_t *req) {
  const char *tok = json_string_value(json_object_get(req, "auth"));
  const char *code = "send {\"auth\":\"<access token>\"}", *detail;
  fofal_principal_t who;
  int rc;
  atomic_fetch_add(&fofal__metrics.ws_protocol_closed, 1);
  if (json_object_size(req) != 1 || !tok) {
    close_with(c, 1008, code);
  } else if ((rc = fofal__access_check(c->st->api, tok, &who, &code, &detail))) {
    close_with(c, rc == FOFAL_EUNAVAIL ? 1013 : 1008, code);
  } else if (strcmp(who.tenant, c->tenant) || strcmp(who.subject, c->subject)) {
    close_with(c, 1008, "the token is another account's");
  } else {
    atomic_fetch_sub(&fofal__metrics.ws_protocol_closed, 1);
    take_principal(c, &who);
    send_json(c, json_pack("{s:s,s:I}", "ack", "auth", "expires_at", (json_int_t)c->exp));
  }
}

/* wslay's message callback (inside h2o_websocket_proceed): never proceed or close here. */
static void on_ws_msg(h2o_websocket_conn_t *conn, const struct wslay_event_on_msg_recv_arg *arg) {
  client_t *c = conn->data;
  if (!arg) {
    c->conn = conn; /* also when the upgrade failed before h2o_upgrade_to_websocket returned */
    client_destroy(c);
    return;
  }
  c->last_rx_us = fofal_mono_us(); /* any frame, a pong too: the client is there */
  if (!c->sndbuf_set && conn->sock) {
    /* The upgrade is complete once frames arrive; no push is sent before a subscribe. */
    int sz = WS_SNDBUF;
    setsockopt(h2o_socket_get_fd(conn->sock), SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    c->sndbuf_set = 1;
  }
  if (c->closing || wslay_is_ctrl_frame(arg->opcode)) return;
  if (arg->opcode != WSLAY_TEXT_FRAME) {
    atomic_fetch_add(&fofal__metrics.ws_protocol_closed, 1);
    close_with(c, 1003, "send JSON text frames");
    return;
  }
  json_t *req;
  const char *why = NULL;
  int kind, rc = fofal__stream_request((const char *)arg->msg, arg->msg_length, &req, &kind, &why);
  if (!rc && kind == FOFAL_STREAM_AUTH) {
    reauthenticate(c, req);
  } else if (rc || apply_request(c, req, kind == FOFAL_STREAM_SUBSCRIBE, &why)) {
    atomic_fetch_add(&fofal__metrics.ws_protocol_closed, 1);
    close_with(c, rc == FOFAL_EPARSE ? 1007 : 1008, why);
  } else {
    send_json(c, ack_json(c, kind == FOFAL_STREAM_SUBSCRIBE ? "subscribe" : "unsubscribe"));
  }
  json_decref(req);
}

/* -------------------------------------------------------- live delivery */

static void dispatch(stream_t *st, msg_t *m) {
  tenant_t *t = fofal_map_get(st->tenants, m->tenant);
  if (!t) return;
  h2o_linklist_t *node = t->clients.next;
  while (node != &t->clients) {
    client_t *c = H2O_STRUCT_FROM_MEMBER(client_t, link, node);
    node = node->next;
    if (c->closing || !matches(c, m)) continue;
    if (c->state == S_REPLAYING) {
      enqueue(c, &c->held, m);
      if (c->closing) kick(c);
      continue;
    }
    enqueue(c, &c->q, m);
    feed(c);
    kick(c); /* may free c, never another client */
  }
}

typedef struct {
  msg_t **msgs;
  size_t n, cap;
} batch_t;

static void on_batch(fofal_api_t *api, void *arg) {
  batch_t *b = arg;
  stream_t *st = api->stream;
  for (size_t i = 0; i < b->n; i++) {
    if (st) dispatch(st, b->msgs[i]);
    msg_unref(b->msgs[i]);
  }
  free(b->msgs);
  free(b);
}

static void on_tick(h2o_timeout_entry_t *entry) {
  stream_t *st = H2O_STRUCT_FROM_MEMBER(stream_t, tick, entry);
  /* Detach the list first: feeding may re-add a client, which must wait for the next tick. */
  h2o_linklist_t todo;
  h2o_linklist_init_anchor(&todo);
  h2o_linklist_insert_list(&todo, &st->busy);
  while (!h2o_linklist_is_empty(&todo)) {
    client_t *c = H2O_STRUCT_FROM_MEMBER(client_t, busy_link, todo.next);
    h2o_linklist_unlink(&c->busy_link);
    if (c->want_page && !c->job && c->q.len < (size_t)st->api->conf.ws_max_queue / 2) submit_page(c, 0);
    feed(c);
    kick(c);
  }
}

static void reader_entry(void *opaque, const char *id, const char *m, size_t mlen) {
  batch_t *b = opaque;
  msg_t *msg = msg_new(id, m, mlen);
  if (!msg) return;
  if (b->n == b->cap) b->msgs = fofal_realloc(b->msgs, (b->cap = b->cap ? b->cap * 2 : 64) * sizeof *b->msgs);
  b->msgs[b->n++] = msg;
}

typedef struct {
  batch_t *b;
  char *last;
} last_t;

static void reader_last(void *opaque, const char *id, const char *m, size_t mlen) {
  last_t *l = opaque;
  snprintf(l->last, 48, "%s", id);
  reader_entry(l->b, id, m, mlen);
}

static void *reader_main(void *arg) {
  stream_t *st = arg;
  char last[48] = "", deleted[48], err[256];
  int failures = 0;
  fofal__redis_t *r = fofal__redis_new(st->api->conf.redis_addr, 2000);
  while (!fofal_stopped(&st->stop) && r) {
    int rc = 0;
    if (!last[0]) rc = fofal__redis_stream_ids(r, FOFAL_PUSH_STREAM, last, deleted, err, sizeof err);
    batch_t *b = fofal_calloc(1, sizeof *b);
    last_t l = {b, last};
    if (!rc) rc = fofal__redis_xread(r, FOFAL_PUSH_STREAM, last, 1000, READ_COUNT, 0, reader_last, &l, err, sizeof err);
    if (b->n) {
      fofal__api_post(st->api, on_batch, b);
    } else {
      free(b->msgs);
      free(b);
    }
    if (rc < 0) {
      if (failures++ % 40 == 0) LOG_WARN("stream: cannot read %s: %s", FOFAL_PUSH_STREAM, err);
      usleep(250 * 1000);
    } else {
      if (failures) LOG_INFO("stream: reading %s again", FOFAL_PUSH_STREAM);
      failures = 0;
    }
  }
  fofal__redis_free(r);
  return NULL;
}

/* ----------------------------------------------------------------- handshake */

int fofal__on_stream(h2o_handler_t *self, h2o_req_t *req) {
  fofal_api_t *api = API_OF(self);
  stream_t *st = api->stream;
  fofal_principal_t who;
  const char *key = NULL;
  uint64_t sms = 0, sseq = 0;
  atomic_fetch_add(&fofal__metrics.requests, 1);
  if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"))) {
    fofal__add_header(req, "Allow", "GET");
    fofal__send_problem(req, 405, "method_not_allowed", "open the stream with a WebSocket GET", NULL);
    return 0;
  }
  /* Browsers cannot set headers on a WebSocket: the token may come in the query. */
  const char *tok = fofal__query_param(req, "access_token");
  if (tok && h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1) < 0 && strlen(tok) <= 4096) {
    size_t n = strlen(tok) + 8;
    char *v = h2o_mem_alloc_pool(&req->pool, n);
    snprintf(v, n, "Bearer %s", tok);
    h2o_add_header(&req->pool, &req->headers, H2O_TOKEN_AUTHORIZATION, NULL, v, strlen(v));
  }
  if (fofal__authenticate(api, req, &who)) return 0;
  const char *since = fofal__query_param(req, "since");
  if (since && parse_id(since, &sms, &sseq)) {
    fofal__send_problem(req, 400, "malformed_since", "since must be a stream id as received, e.g. 1732436102123-0", NULL);
    return 0;
  }
  if (req->version >= 0x200 || h2o_is_websocket_handshake(req, &key) != 0 || !key) {
    fofal__send_problem(req, 400, "websocket_required",
                        "open /api/v1/stream with an HTTP/1.1 WebSocket handshake (Upgrade: websocket)", NULL);
    return 0;
  }
  if (!st || st->nclients >= api->conf.ws_max_connections) {
    fofal__add_header(req, "Retry-After", "5");
    fofal__send_problem(req, 503, "too_many_connections", "the stream has reached its connection limit", NULL);
    return 0;
  }
  char akey[200];
  snprintf(akey, sizeof akey, "%s/%s", who.tenant, who.subject);
  tenant_t *t = fofal_map_get(st->tenants, who.tenant);
  long long *na = fofal_map_get(st->accounts, akey);
  if ((na && *na >= api->conf.ws_max_per_account) || (t && t->n >= api->conf.ws_max_per_tenant)) {
    fofal__add_header(req, "Retry-After", "5");
    fofal__send_problem(req, 429, "too_many_connections",
                        na && *na >= api->conf.ws_max_per_account ? "this account has as many streams open as it may"
                                                                  : "this tenant has as many streams open as it may",
                        NULL);
    return 0;
  }
  client_t *c = fofal_calloc(1, sizeof *c);
  c->st = st;
  snprintf(c->tenant, sizeof c->tenant, "%s", who.tenant);
  snprintf(c->subject, sizeof c->subject, "%s", who.subject);
  take_principal(c, &who);
  c->last_rx_us = c->last_ping_us = fofal_mono_us();
  c->aggregates = fofal_map_new(NULL);
  c->ids = fofal_map_new(free);
  c->has_since = since != NULL;
  c->since_ms = sms;
  c->since_seq = sseq;
  if (!t) {
    t = fofal_calloc(1, sizeof *t);
    h2o_linklist_init_anchor(&t->clients);
    fofal_map_put(st->tenants, c->tenant, t);
  }
  if (!na) {
    na = fofal_calloc(1, sizeof *na);
    fofal_map_put(st->accounts, akey, na);
  }
  t->n++;
  ++*na;
  h2o_linklist_insert(&t->clients, &c->link);
  st->nclients++;
  atomic_fetch_add(&fofal__metrics.ws_connections, 1);
  atomic_fetch_add(&fofal__metrics.ws_connections_total, 1);
  atomic_fetch_add(&fofal__metrics.responses_2xx, 1);
  int alive = 1;
  c->alive = &alive;
  h2o_websocket_conn_t *conn = h2o_upgrade_to_websocket(req, key, c, on_ws_msg);
  if (!alive) return 0;
  c->alive = NULL;
  c->conn = conn;
  wslay_event_config_set_max_recv_msg_length(conn->ws_ctx, MAX_IN_FRAME);
  return 0;
}

/* A session ended (logout, password change, refresh reuse, erasure): its streams close
 * with 1008, as its access tokens are refused. Loop thread; rare, so a walk of all. */
typedef struct {
  client_t **hit;
  size_t n, cap;
  const char *sid;
} revoke_walk_t;

static void revoke_collect(void *opaque, const char *key, void *value) {
  revoke_walk_t *wk = opaque;
  tenant_t *t = value;
  (void)key;
  for (h2o_linklist_t *l = t->clients.next; l != &t->clients; l = l->next) {
    client_t *c = H2O_STRUCT_FROM_MEMBER(client_t, link, l);
    if (c->closing || strcmp(c->sid, wk->sid)) continue;
    if (wk->n == wk->cap) wk->hit = fofal_realloc(wk->hit, (wk->cap = wk->cap ? wk->cap * 2 : 8) * sizeof *wk->hit);
    wk->hit[wk->n++] = c;
  }
}

void fofal__stream_revoke(fofal_api_t *api, const char *sid) {
  stream_t *st = api->stream;
  if (!st || !sid || !*sid) return;
  revoke_walk_t wk = {NULL, 0, 0, sid};
  /* Collect first: kick() may free a client (never another one). */
  fofal_map_each(st->tenants, revoke_collect, &wk);
  for (size_t i = 0; i < wk.n; i++) {
    close_with(wk.hit[i], 1008, "session ended");
    kick(wk.hit[i]);
  }
  free(wk.hit);
}

/* ---------------------------------------------------------------- life cycle */

typedef struct {
  client_t **v;
  size_t n, cap;
} clients_t;

static void collect(void *opaque, const char *key, void *value) {
  (void)key;
  clients_t *cs = opaque;
  tenant_t *t = value;
  for (h2o_linklist_t *n = t->clients.next; n != &t->clients; n = n->next) {
    if (cs->n == cs->cap) cs->v = fofal_realloc(cs->v, (cs->cap = cs->cap ? cs->cap * 2 : 16) * sizeof *cs->v);
    cs->v[cs->n++] = H2O_STRUCT_FROM_MEMBER(client_t, link, n);
  }
}

/* Once a second: tokens that expired, clients that went silent, pings. */
static void on_sweep(h2o_timeout_entry_t *entry) {
  stream_t *st = H2O_STRUCT_FROM_MEMBER(stream_t, sweep, entry);
  long now = (long)time(NULL);
  int64_t mono = fofal_mono_us(), idle_us = st->api->conf.ws_idle_s * 1000000;
  clients_t cs = {0};
  fofal_map_each(st->tenants, collect, &cs);
  for (size_t i = 0; i < cs.n; i++) {
    client_t *c = cs.v[i];
    if (c->closing || !c->conn) continue;
    long closes_at = c->exp + FOFAL__TOKEN_LEEWAY_S;
    if (now >= closes_at) {
      close_with(c, 1008, "token expired");
    } else if (mono - c->last_rx_us >= idle_us) {
      close_with(c, 1001, "idle timeout");
    } else {
      if (!c->warned && now >= closes_at - EXPIRY_NOTICE_S) {
        c->warned = 1;
        send_json(c, json_pack("{s:{s:I,s:s}}", "expiring", "closes_at", (json_int_t)closes_at, "detail",
                               "send {\"auth\":\"<access token>\"} with a newer token to stay connected"));
      }
      if (mono - c->last_rx_us >= idle_us / 2 && mono - c->last_ping_us >= idle_us / 2 && c->conn->sock) {
        struct wslay_event_msg ping = {WSLAY_PING, (const uint8_t *)"", 0};
        wslay_event_queue_msg(c->conn->ws_ctx, &ping);
        c->last_ping_us = mono;
      }
    }
    kick(c); /* may free c, never another client */
  }
  free(cs.v);
  h2o_timeout_link(st->api->ctx.loop, &st->sweep_timeout, &st->sweep);
}

int fofal__stream_start(fofal_api_t *api, char *errbuf, size_t errlen) {
  stream_t *st = fofal_calloc(1, sizeof *st);
  api->stream = st;
  st->api = api;
  st->tenants = fofal_map_new(NULL);
  st->accounts = fofal_map_new(free);
  int rc = fofal__push_roles_new(api->openapi, &st->roles, errbuf, errlen);
  if (rc) return rc;
  h2o_linklist_init_anchor(&st->busy);
  h2o_timeout_init(api->ctx.loop, &st->tick_timeout, TICK_MS);
  h2o_timeout_init(api->ctx.loop, &st->grace_timeout, CLOSE_GRACE_MS);
  h2o_timeout_init(api->ctx.loop, &st->sweep_timeout, SWEEP_MS);
  st->tick.cb = on_tick;
  st->sweep.cb = on_sweep;
  h2o_timeout_link(api->ctx.loop, &st->sweep_timeout, &st->sweep);
  if (pthread_create(&st->reader, NULL, reader_main, st))
    return fofal_err(errbuf, errlen, FOFAL_EIO, "cannot start the push-stream reader");
  st->reader_started = 1;
  return 0;
}

void fofal__stream_stop(fofal_api_t *api) {
  stream_t *st = api->stream;
  if (!st) return;
  fofal_stop_set(&st->stop);
  if (st->reader_started) pthread_join(st->reader, NULL);
  clients_t cs = {0};
  fofal_map_each(st->tenants, collect, &cs);
  for (size_t i = 0; i < cs.n; i++) client_destroy(cs.v[i]);
  free(cs.v);
  if (h2o_timeout_is_linked(&st->tick)) h2o_timeout_unlink(&st->tick);
  if (h2o_timeout_is_linked(&st->sweep)) h2o_timeout_unlink(&st->sweep);
  fofal_map_free(st->tenants);
  fofal_map_free(st->accounts);
  fofal__push_roles_free(st->roles);
  free(st);
  api->stream = NULL;
}
