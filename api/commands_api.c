/*
 * commands_api.c — the write side of the HTTP API.
 *
 *   POST /api/v1/commands/{type}   one command
 *   POST /api/v1/commands          an ordered batch (phones that queued commands offline)
 *   GET  /api/v1/commands/{id}     the result of a command, once decided
 *
 * A command is checked here (auth, role, schema, Idempotency-Key, If-Match), produced to
 * fofal.commands keyed by its aggregate id in its tenant's partition (so a batch is decided
 * in its order), and the request waits — bounded — for the
 * decider's result on fofal.commands.results. The result is read with read_committed, so
 * "accepted" is only ever said of events already committed in Kafka (guarantee 1). After
 * the wait the answer is 202 with a Location to poll. A produce that Kafka does not
 * acknowledge within FOFAL_API_PRODUCE_TIMEOUT_MS is 503 with Retry-After: the client
 * retries with the same Idempotency-Key, which is safe whether or not the first attempt
 * reached the log (guarantee 3).
 *
 * Idempotency-Key. Mandatory, 1 to 200 of A-Z a-z 0-9 - _ . : (400 otherwise). A key is the
 * client's own: the command's id is the key scoped to the token's subject within its
 * tenant (fofal_command_scoped_id), so two users or devices never share one. With the
 * command goes a fingerprint of the request as received — type, data, If-Match — keyed
 * with the master key (the data may hold personal fields, sealed only afterwards). The
 * decided result carries the first request's fingerprint: a retry of the same request
 * gets the first result; the key sent again with another request gets 422
 * idempotency_key_reused (fofal_command_replay), and in neither case is anything written.
 * A retry while the first is still undecided waits for the same result, as the first does
 * (then 202 with its Location): no 409 that a phone would have to retry anyway.
 *
 * Threads: handlers and all waiter bookkeeping run on the loop thread. A poller thread
 * serves producer delivery reports and a consumer thread reads results; both hand over to
 * the loop with fofal__api_post(). A waiter lives in its request's memory pool, so a
 * client that goes away takes its waiter with it (the pool's dispose callback unlinks it).
 */
#include "api.h"
#include "projections.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_KEY FOFAL_IDEMPOTENCY_KEY_MAX
#define RESULT_CACHE_MAX 200000   /* results kept for GET and fast retries */
#define RESULT_LOOKBACK_MS (10 * 60 * 1000)

typedef struct batch batch_t;

typedef struct waiter {
  struct fofal_commands_api *ca;
  h2o_req_t *req;            /* the request answered (single), or NULL for a batch item */
  batch_t *batch;
  int batch_idx;
  struct waiter *next;       /* other waiters on the same key */
  h2o_timeout_entry_t timeout;
  int64_t start_us;
  int linked, done;
  char *key;                 /* result key of the command (fofal_result_key), in the request's pool */
  const char *client_key;    /* the Idempotency-Key as sent, in the request's pool */
  const char *type;          /* the command type, in the request's pool */
  char fp[FOFAL_PD_FINGERPRINT_LEN + 1]; /* the request's fingerprint */
  fofal__command_cb cb;      /* a command of fofal-api itself (fofal__command_send): heap-allocated */
  void *cb_opaque;
} waiter_t;

struct batch {
  h2o_req_t *req;
  int n, remaining, done;
  json_t *results;           /* array, slot per command */
  waiter_t **items;
  h2o_timeout_entry_t timeout;
  struct fofal_commands_api *ca;
};

typedef struct fofal_commands_api {
  fofal_api_t *api;
  fofal_kafka_t *producer, *results;
  int command_parts;         /* partitions of fofal.commands (a tenant's partition) */
  pthread_t poller, reader;
  int poller_started, reader_started;
  atomic_int stop;           /* set by the loop thread at shutdown; poller and reader watch it */
  fofal_map_t *waiters;      /* result key → waiter_t * (list head); loop thread */
  fofal_map_t *cache;        /* result key → result JSON (char *), "" while pending; loop thread */
  char **ring;               /* FIFO of cache keys, to bound the cache */
  size_t ring_head, ring_len;
  h2o_timeout_t wait_timeout;
} commands_api_t;

/* ----------------------------------------------------------- result cache */

static void cache_put(commands_api_t *ca, const char *key, const char *value) {
  if (!fofal_map_get(ca->cache, key)) {
    if (ca->ring_len == RESULT_CACHE_MAX) {
      char *old = ca->ring[ca->ring_head];
      free(fofal_map_take(ca->cache, old));
      free(old);
      ca->ring[ca->ring_head] = fofal_strdup(key);
      ca->ring_head = (ca->ring_head + 1) % RESULT_CACHE_MAX;
    } else {
      ca->ring[(ca->ring_head + ca->ring_len++) % RESULT_CACHE_MAX] = fofal_strdup(key);
    }
  }
  fofal_map_put(ca->cache, key, fofal_strdup(value));
}

/* ----------------------------------------------------------------- answers */

static int http_status_of(json_t *res, const char **code) {
  const char *st = json_string_value(json_object_get(res, "status"));
  *code = json_string_value(json_object_get(res, "code"));
  if (!st) return 500;
  if (!strcmp(st, "accepted")) return 201;
  if (!strcmp(st, "conflict")) return 409;
  if (*code && !strcmp(*code, "not_found")) return 404;
  if (*code && (!strcmp(*code, "already_exists"))) return 409;
  if (*code && !strcmp(*code, "unknown_command_type")) return 404;
  /* A floor role names someone else, or has no badge to act as (commands/actors.c). */
  if (*code && (!strcmp(*code, "actor_mismatch") || !strcmp(*code, "badge_required"))) return 403;
  return 422;
}

static void count_result(int status) {
  if (status == 201) atomic_fetch_add(&fofal__metrics.commands_accepted, 1);
  else if (status == 409) atomic_fetch_add(&fofal__metrics.commands_conflict, 1);
  else atomic_fetch_add(&fofal__metrics.commands_rejected, 1);
}

/* The body of an answer for a decided command, and its HTTP status. command_id: the
 * client's Idempotency-Key (the result holds the scoped id). */
static json_t *answer_body(json_t *res, const char *command_id, int *status) {
  const char *code;
  *status = http_status_of(res, &code);
  if (*status == 201) {
    return json_pack("{s:s,s:O,s:O,s:O,s:O}", "command_id", command_id, "aggregate",
                     json_object_get(res, "aggregate"), "version", json_object_get(res, "version"), "events",
                     json_object_get(res, "events"), "position", json_object_get(res, "position"));
  }
  char type[160];
  snprintf(type, sizeof type, "https://fofal.example/problems/%s", code ? code : "rejected");
  json_t *p = json_pack("{s:s,s:i,s:s,s:s,s:s,s:O?}", "type", type, "status", *status, "code", code ? code : "rejected",
                        "detail", json_string_value(json_object_get(res, "detail")) ?: "rejected", "command_id",
                        command_id, "aggregate", json_object_get(res, "aggregate"));
  const char *keys[] = {"errors", "current_version", "expected_version"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    if (json_object_get(res, keys[i])) json_object_set(p, keys[i], json_object_get(res, keys[i]));
  return p;
}

/* What waiter w's request gets from the decided result of its command id (JSON text): that
 * result, or idempotency_key_reused when w's request is not the one first sent with the
 * key (its fingerprint differs). New reference. */
static json_t *result_for(const waiter_t *w, const char *result_json) {
  json_t *first = json_loads(result_json, 0, NULL);
  json_t *res = fofal_command_replay(first, w->type, w->fp);
  json_decref(first);
  return res;
}

static void send_result(h2o_req_t *req, const waiter_t *w, const char *result_json) {
  json_t *res = result_for(w, result_json);
  int status;
  json_t *body = answer_body(res, w->client_key, &status);
  const char *version_key = status == 201 ? "version" : "current_version";
  count_result(status);
  if (json_is_integer(json_object_get(res, version_key))) {
    char etag[40];
    snprintf(etag, sizeof etag, "\"%lld\"", (long long)json_integer_value(json_object_get(res, version_key)));
    fofal__add_header(req, "ETag", etag);
  }
  if (status == 201 && json_is_string(json_object_get(res, "position")))
    fofal__add_header(req, "Fofal-Position", json_string_value(json_object_get(res, "position")));
  fofal__send_body(req, status, status == 201 ? "application/json" : "application/problem+json", body);
  json_decref(res);
}

static void unlink_waiter(commands_api_t *ca, waiter_t *w) {
  if (!w->linked) return;
  waiter_t *head = fofal_map_take(ca->waiters, w->key), **pp = &head;
  while (*pp && *pp != w) pp = &(*pp)->next;
  if (*pp) *pp = w->next;
  if (head) fofal_map_put(ca->waiters, w->key, head);
  w->linked = 0;
  if (h2o_timeout_is_linked(&w->timeout)) h2o_timeout_unlink(&w->timeout);
}

static void batch_finish(batch_t *b) {
  if (b->done) return;
  b->done = 1;
  if (h2o_timeout_is_linked(&b->timeout)) h2o_timeout_unlink(&b->timeout);
  for (int i = 0; i < b->n; i++)
    if (b->items[i]) unlink_waiter(b->ca, b->items[i]);
  for (int i = 0; i < b->n; i++) {
    json_t *slot = json_array_get(b->results, (size_t)i);
    if (!json_object_get(slot, "status") && b->items[i]) {
      char loc[MAX_KEY + 40];
      const char *cmd_id = b->items[i]->client_key;
      snprintf(loc, sizeof loc, "/api/v1/commands/%s", cmd_id);
      json_object_set_new(slot, "status", json_integer(202));
      json_object_set_new(slot, "body", json_pack("{s:s,s:s,s:s}", "command_id", cmd_id, "state", "pending", "location", loc));
    }
  }
  fofal__send_json(b->req, 200, json_pack("{s:O}", "results", b->results));
  json_decref(b->results);
  b->results = NULL;
}

/* Answers the sender of a command of fofal-api itself and frees its waiter. */
static void call_back(waiter_t *w, int status, const char *result) {
  json_t *res = result ? json_loads(result, 0, NULL) : NULL;
  if (res) {
    const char *code;
    status = http_status_of(res, &code);
    count_result(status);
  }
  w->cb(w->ca->api, w->cb_opaque, status, res);
  json_decref(res);
  free(w->key);
  free(w);
}

/* Answers one waiter with a decided result (JSON text). */
static void resolve(waiter_t *w, const char *result) {
  commands_api_t *ca = w->ca;
  unlink_waiter(ca, w);
  w->done = 1;
  fofal__observe_latency(fofal_mono_us() - w->start_us);
  if (w->cb) {
    call_back(w, 0, result);
    return;
  }
  if (w->batch) {
    batch_t *b = w->batch;
    if (b->done) return;
    json_t *res = result_for(w, result);
    int status;
    json_t *body = answer_body(res, w->client_key, &status);
    count_result(status);
    json_t *slot = json_array_get(b->results, (size_t)w->batch_idx);
    json_object_set_new(slot, "status", json_integer(status));
    json_object_set_new(slot, "body", body);
    json_decref(res);
    if (--b->remaining == 0) batch_finish(b);
  } else {
    send_result(w->req, w, result);
  }
}

static void fail_unavailable(waiter_t *w, const char *detail) {
  commands_api_t *ca = w->ca;
  unlink_waiter(ca, w);
  w->done = 1;
  atomic_fetch_add(&fofal__metrics.commands_unavailable, 1);
  if (w->cb) {
    call_back(w, 503, NULL);
    return;
  }
  if (w->batch) {
    batch_t *b = w->batch;
    if (b->done) return;
    json_t *slot = json_array_get(b->results, (size_t)w->batch_idx);
    json_object_set_new(slot, "status", json_integer(503));
    json_object_set_new(slot, "body", json_pack("{s:s,s:s,s:i}", "code", "kafka_unavailable", "detail", detail, "status", 503));
    if (--b->remaining == 0) batch_finish(b);
    return;
  }
  fofal__add_header(w->req, "Retry-After", "1");
  fofal__send_problem(w->req, 503, "kafka_unavailable", detail, NULL);
}

static void on_wait_timeout(h2o_timeout_entry_t *entry) {
  waiter_t *w = H2O_STRUCT_FROM_MEMBER(waiter_t, timeout, entry);
  unlink_waiter(w->ca, w);
  w->done = 1;
  atomic_fetch_add(&fofal__metrics.commands_timeout, 1);
  if (w->cb) {
    call_back(w, 202, NULL);
    return;
  }
  const char *cmd_id = w->client_key;
  char loc[MAX_KEY + 40];
  snprintf(loc, sizeof loc, "/api/v1/commands/%s", cmd_id);
  fofal__add_header(w->req, "Location", loc);
  fofal__add_header(w->req, "Retry-After", "1");
  fofal__send_json(w->req, 202, json_pack("{s:s,s:s,s:s}", "command_id", cmd_id, "state", "pending", "location", loc));
}

static void on_batch_timeout(h2o_timeout_entry_t *entry) {
  batch_t *b = H2O_STRUCT_FROM_MEMBER(batch_t, timeout, entry);
  batch_finish(b);
}

static void on_waiter_dispose(void *p) {
  waiter_t *w = p;
  if (!w->done) unlink_waiter(w->ca, w);
}

static void on_batch_dispose(void *p) {
  batch_t *b = p;
  if (h2o_timeout_is_linked(&b->timeout)) h2o_timeout_unlink(&b->timeout);
  for (int i = 0; i < b->n; i++)
    if (b->items[i] && !b->items[i]->done) unlink_waiter(b->ca, b->items[i]);
  json_decref(b->results);
  b->results = NULL;
  b->done = 1;
}

/* ------------------------------------------------ from the Kafka threads */

typedef struct {
  char *key, *value;
} result_msg_t;

static void on_result_in_loop(fofal_api_t *api, void *arg) {
  result_msg_t *m = arg;
  commands_api_t *ca = api->cmds;
  if (!ca) goto out; /* shutting down */
  cache_put(ca, m->key, m->value);
  waiter_t *w;
  while ((w = fofal_map_get(ca->waiters, m->key))) resolve(w, m->value);
out:
  free(m->key);
  free(m->value);
  free(m);
}

typedef struct {
  fofal_api_t *api;
  char *key;
  int err;
} dr_msg_t;

static void on_delivery_in_loop(fofal_api_t *api, void *arg) {
  dr_msg_t *m = arg;
  commands_api_t *ca = api->cmds;
  if (ca && m->err) {
    waiter_t *w;
    while ((w = fofal_map_get(ca->waiters, m->key)))
      fail_unavailable(w, "Kafka did not acknowledge the command in time; retry with the same Idempotency-Key");
    char *pending = fofal_map_get(ca->cache, m->key);
    if (pending && !*pending) free(fofal_map_take(ca->cache, m->key));
  }
  free(m->key);
  free(m);
}

static void on_delivery(void *opaque, int err, int32_t partition, int64_t offset) {
  (void)partition;
  (void)offset;
  dr_msg_t *m = opaque;
  m->err = err;
  fofal__api_post(m->api, on_delivery_in_loop, m);
}

static void *poller_main(void *arg) {
  commands_api_t *ca = arg;
  while (!fofal_stopped(&ca->stop)) fofal_kafka_poll(ca->producer, 100);
  return NULL;
}

static void *reader_main(void *arg) {
  commands_api_t *ca = arg;
  while (!fofal_stopped(&ca->stop)) {
    fofal_kmsg_t m;
    int rc = fofal_kafka_consume(ca->results, 100, &m);
    if (rc <= 0) continue;
    if (!m.eof && m.key && m.value) {
      result_msg_t *r = fofal_malloc(sizeof *r);
      r->key = fofal_strndup(m.key, m.key_len);
      r->value = fofal_strndup(m.value, m.len);
      fofal__api_post(ca->api, on_result_in_loop, r);
    }
    fofal_kafka_msg_release(&m);
  }
  return NULL;
}

/* ----------------------------------------------------------- the handlers */

static int role_allowed(const json_t *schema, const char *role) {
  const json_t *roles = json_object_get(schema, "x-fofal-roles");
  size_t i;
  json_t *r;
  if (!json_is_array(roles)) return 0;
  json_array_foreach(roles, i, r) if (json_is_string(r) && !strcmp(json_string_value(r), role)) return 1;
  return 0;
}

/* The Idempotency-Key header of req (in its pool): NULL when absent, "" — malformed — when
 * sent twice or holding a NUL (it would otherwise be cut short into another key). */
static const char *idem_header(h2o_req_t *req) {
  ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("idempotency-key"), -1);
  if (i < 0) return NULL;
  h2o_iovec_t v = req->headers.entries[i].value;
  if (h2o_find_header_by_str(&req->headers, H2O_STRLIT("idempotency-key"), i) >= 0 || memchr(v.base, '\0', v.len))
    return "";
  return h2o_strdup(&req->pool, v.base, v.len).base;
}

/* Parses If-Match: "7" (or W/"7"), at most 18 digits (19 could overflow int64_t). 0 and
 * *v, FOFAL_ENOENT when absent, FOFAL_EPARSE when malformed. */
static int parse_if_match(const char *h, int64_t *v) {
  if (!h) return FOFAL_ENOENT;
  if (!strncmp(h, "W/", 2)) h += 2;
  size_t n = strlen(h);
  if (n < 3 || h[0] != '"' || h[n - 1] != '"' || n > 20) return FOFAL_EPARSE;
  int64_t x = 0;
  for (size_t i = 1; i < n - 1; i++) {
    if (h[i] < '0' || h[i] > '9') return FOFAL_EPARSE;
    x = x * 10 + (h[i] - '0');
  }
  *v = x;
  return 0;
}

typedef struct {
  int status;
  const char *code;
  char detail[256];
  json_t *extra;
} problem_t;

/* ------------------------------------------------------------ personal data
 * A command with personal fields (schema: "x-fofal-personal") is sealed with the key of its
 * person — its aggregate — before it is produced, and a command that erases a person
 * ("x-fofal-erases-person") deletes that key first (issue 6 item 8; projections/personal.c). Keys
 * live in PostgreSQL, so a request that needs any takes a detour through a worker job: the
 * job gets or creates (or deletes) every key the request needs, then the loop handles the
 * request again, now with its keys at hand (a keyring, wiped once used). Only commands the
 * caller may send and whose data is valid get a key: refused ones never create one. */
typedef struct {
  char person[FOFAL_UUID_LEN + 1];
  int seal, erase;
  int erased;                /* the person was erased before: nothing is sealed for them */
  unsigned char key[FOFAL_PD_KEY_BYTES];
} pkey_t;

typedef struct {
  int n;
  pkey_t k[FOFAL_API_MAX_BATCH];
} keyring_t;

static int role_allowed(const json_t *schema, const char *role);

static int has_personal(const fofal_registry_t *reg, const char *type, const json_t *data) {
  size_t i;
  json_t *f;
  json_array_foreach(fofal_registry_personal(reg, type), i, f) if (json_object_get(data, json_string_value(f))) return 1;
  return 0;
}

static pkey_t *ring_find(const keyring_t *kr, const char *person) {
  for (int i = 0; kr && i < kr->n; i++)
    if (!strcmp(kr->k[i].person, person)) return (pkey_t *)&kr->k[i];
  return NULL;
}

/* Adds to *kr the key that command (type, data) of `who` will need, if any. */
static void need_key(const fofal_registry_t *reg, const fofal_principal_t *who, const char *type, const char *idem_key,
                     const json_t *data, keyring_t *kr) {
  const fofal_command_def_t *def = fofal_registry_find(reg, type);
  if (!def || !role_allowed(fofal_registry_schema(reg, type), who->role) ||
      json_object_get(fofal_registry_schema(reg, type), "x-fofal-via"))
    return;
  int seal = has_personal(reg, type, data), erase = fofal_registry_erases(reg, type);
  if (!seal && !erase) return;
  json_t *errors = NULL;
  int bad = fofal_registry_validate(reg, type, data, &errors);
  json_decref(errors);
  char agg[FOFAL_UUID_LEN + 1], *id = fofal_command_scoped_id(who->subject, idem_key ? idem_key : "");
  int noagg = bad || fofal_command_aggregate_id(def, who->tenant, id, data, agg);
  free(id);
  if (noagg) return;
  pkey_t *k = ring_find(kr, agg);
  if (!k && kr->n < FOFAL_API_MAX_BATCH) {
    k = &kr->k[kr->n++];
    snprintf(k->person, sizeof k->person, "%s", agg);
  }
  if (k) {
    k->seal |= seal;
    k->erase |= erase;
  }
}

/* Seals the personal fields of a command about `person` in place. 0; FOFAL_EUNAVAIL without
 * its key (503); FOFAL_ENOENT when the person was erased (422), as fofal_pd_key_get says. */
static int seal_command(const fofal_registry_t *reg, const char *tenant, const char *type, const char *person,
                        json_t *data, const keyring_t *kr) {
  if (fofal_registry_erases(reg, type) && !ring_find(kr, person)) return FOFAL_EUNAVAIL; /* its key was not deleted */
  if (!has_personal(reg, type, data)) return 0;
  const pkey_t *k = ring_find(kr, person);
  if (!k || !k->seal) return FOFAL_EUNAVAIL;
  if (k->erased) return FOFAL_ENOENT;
  size_t i;
  json_t *f;
  json_array_foreach(fofal_registry_personal(reg, type), i, f) {
    const char *name = json_string_value(f);
    json_t *v = json_object_get(data, name);
    if (v) json_object_set_new(data, name, fofal_pd_seal(k->key, tenant, person, name, v));
  }
  return 0;
}

typedef struct key_guard key_guard_t;
typedef struct {
  fofal_job_t job;           /* first: the pool's handle */
  fofal_api_t *api;
  h2o_req_t *req;            /* NULL once the request went away */
  key_guard_t *guard;
  fofal_principal_t who;
  int batch, failed;
  char err[256];
  keyring_t ring;
} key_job_t;
struct key_guard {
  key_job_t *job;
};

static void on_guard_dispose(void *p) {
  key_guard_t *g = p;
  if (g->job) g->job->req = NULL;
}

static void run_key_job(fofal_worker_t *w, fofal_job_t *job) {
  key_job_t *j = (key_job_t *)job;
  struct fofal_pg *pg;
  const unsigned char *master = fofal__pd_master(j->api);
  int rc = fofal__worker_pg(w, &pg, j->err, sizeof j->err);
  for (int i = 0; !rc && i < j->ring.n; i++) {
    pkey_t *k = &j->ring.k[i];
    if (k->seal) rc = fofal_person_key(pg, master, j->who.tenant, k->person, 1, k->key, j->err, sizeof j->err);
    if (rc == FOFAL_ENOENT) {
      k->erased = 1;
      rc = 0;
    }
    if (!rc && k->erase) rc = fofal_person_erase(pg, j->who.tenant, k->person, j->err, sizeof j->err);
  }
  if (rc == FOFAL_EUNAVAIL) fofal__worker_pg_drop(w);
  j->failed = rc != 0;
}

static int command_single(fofal_api_t *api, h2o_req_t *req, const fofal_principal_t *who, const keyring_t *kr);
static int command_batch(fofal_api_t *api, h2o_req_t *req, const fofal_principal_t *who, const keyring_t *kr);

static void done_key_job(fofal_api_t *api, fofal_job_t *job) {
  key_job_t *j = (key_job_t *)job;
  if (j->req) {
    j->guard->job = NULL;
    if (j->failed || job->stopped) {
      if (j->failed) LOG_WARN("commands: person keys unavailable: %s", j->err);
      fofal__add_header(j->req, "Retry-After", "1");
      fofal__send_problem(j->req, 503, "personal_data_unavailable",
                          "the keys of personal data cannot be reached; retry with the same Idempotency-Key", NULL);
    } else if (j->batch) {
      command_batch(api, j->req, &j->who, &j->ring);
    } else {
      command_single(api, j->req, &j->who, &j->ring);
    }
  }
  sodium_memzero(&j->ring, sizeof j->ring);
  free(j);
}

/* Sends the request through a key job when it needs keys (then returns 1: the job answers
 * or handles it again); 0 when it needs none. `ring` is taken. */
static int detour_for_keys(fofal_api_t *api, h2o_req_t *req, const fofal_principal_t *who, int batch, keyring_t *ring) {
  if (!ring->n) {
    free(ring);
    return 0;
  }
  key_job_t *j = fofal_calloc(1, sizeof *j);
  j->job.run = run_key_job;
  j->job.done = done_key_job;
  j->api = api;
  j->req = req;
  j->who = *who;
  j->batch = batch;
  j->ring = *ring;
  sodium_memzero(ring, sizeof *ring);
  free(ring);
  j->guard = h2o_mem_alloc_shared(&req->pool, sizeof *j->guard, on_guard_dispose);
  j->guard->job = j;
  if (fofal__pool_submit(api, &j->job)) {
    j->guard->job = NULL;
    free(j);
    fofal__add_header(req, "Retry-After", "1");
    fofal__send_problem(req, 503, "overloaded", "too many requests in progress; retry with the same Idempotency-Key", NULL);
  }
  return 1;
}

/* Checks and submits one command for `who`. 0 with the waiter registered and the command
 * produced, or — when the result is already known — with *known set to the result text; or a
 * negative FOFAL_E* code with the answer to send in *pb (its detail, the errbuf). */
static int submit(commands_api_t *ca, h2o_req_t *req, const fofal_principal_t *who, const char *type,
                  const char *idem_key, int64_t expected, json_t *data, const keyring_t *kr, waiter_t *w,
                  const char **known, problem_t *pb) {
  fofal_api_t *api = ca->api;
  *known = NULL;
  const fofal_command_def_t *def = fofal_registry_find(api->registry, type);
  if (!def) {
    *pb = (problem_t){404, "unknown_command_type", "", NULL};
    snprintf(pb->detail, sizeof pb->detail, "there is no command type \"%.100s\"", type);
    return FOFAL_ENOENT;
  }
  if (!role_allowed(fofal_registry_schema(api->registry, type), who->role)) {
    *pb = (problem_t){403, "forbidden", "", NULL};
    snprintf(pb->detail, sizeof pb->detail, "role %s may not send %s", who->role, type);
    return FOFAL_EFORBIDDEN;
  }
  const char *via = json_string_value(json_object_get(fofal_registry_schema(api->registry, type), "x-fofal-via"));
  if (via) { /* its secrets are made by the route that sends it (the identity module's) */
    *pb = (problem_t){422, "auth_route_only", "", NULL};
    snprintf(pb->detail, sizeof pb->detail, "%s is sent through %s, not as a command", type, via);
    return FOFAL_EINVAL;
  }
  if (!idem_key || !fofal_idempotency_key_valid(idem_key, strlen(idem_key))) {
    *pb = (problem_t){400, idem_key ? "malformed_idempotency_key" : "idempotency_key_required",
                      "send one Idempotency-Key of 1 to 200 characters from A-Z a-z 0-9 - _ . :", NULL};
    return FOFAL_EINVAL;
  }
  json_t *errors = NULL;
  int vrc = fofal_registry_validate(api->registry, type, data, &errors);
  if (!vrc) json_decref(errors);
  if (vrc) {
    *pb = (problem_t){422, "invalid_command", "the command does not match its schema", NULL};
    pb->extra = json_pack("{s:o}", "errors", errors ? errors : json_array());
    return FOFAL_ESCHEMA;
  }
  /* The command's id, its result key, its fingerprint, and what the answer echoes: in the
   * request's pool, which the waiter lives in too. */
  h2o_mem_pool_t *pool = w->batch ? &w->batch->req->pool : &w->req->pool;
  char *tmp = fofal_command_scoped_id(who->subject, idem_key);
  const char *id = h2o_strdup(pool, tmp, SIZE_MAX).base;
  free(tmp);
  char agg[FOFAL_UUID_LEN + 1];
  if (fofal_command_aggregate_id(def, who->tenant, id, data, agg)) {
    *pb = (problem_t){422, "invalid_command", "", NULL};
    snprintf(pb->detail, sizeof pb->detail, def->ns ? "\"%s\" must name the aggregate (a code of 1 to 64 A-Z a-z 0-9 . _ -)" : "\"%s\" must name the aggregate (a UUID)", def->aggregate_key);
    return FOFAL_EINVAL;
  }
  /* The request as received, before its personal fields are sealed (sealing is random). */
  tmp = fofal_command_canonical(type, data, expected);
  fofal_pd_fingerprint(fofal__pd_master(api), tmp, w->fp);
  free(tmp);
  tmp = fofal_result_key(who->tenant, id);
  w->key = h2o_strdup(pool, tmp, SIZE_MAX).base;
  free(tmp);
  w->client_key = h2o_strdup(pool, idem_key, SIZE_MAX).base;
  w->type = h2o_strdup(pool, type, SIZE_MAX).base;
  const char *cached = fofal_map_get(ca->cache, w->key);
  if (cached && *cached) {
    atomic_fetch_add(&fofal__metrics.commands_duplicate, 1);
    *known = cached;
    return 0;
  }
  if (!fofal__kafka_up(api)) {
    *pb = (problem_t){503, "kafka_unavailable", "Kafka is not reachable; retry with the same Idempotency-Key", NULL};
    return FOFAL_EUNAVAIL;
  }
  int sealed = seal_command(api->registry, who->tenant, type, agg, data, kr);
  if (sealed == FOFAL_ENOENT) {
    *pb = (problem_t){422, "person_erased", "this person's personal data was erased: none can be recorded again", NULL};
    return FOFAL_ENOENT;
  }
  if (sealed) {
    *pb = (problem_t){503, "personal_data_unavailable",
                      "the keys of personal data cannot be reached; retry with the same Idempotency-Key", NULL};
    return FOFAL_EUNAVAIL;
  }
  char actor[200];
  snprintf(actor, sizeof actor, "u:%s/%s", who->subject, who->role);
  char corr[FOFAL_UUID_LEN + 1];
  const char *corr_h = req ? fofal__req_header(req, "X-Correlation-Id") : NULL;
  if (!corr_h || !fofal_uuid_valid(corr_h)) {
    fofal_uuid7(corr);
    corr_h = corr;
  }
  fofal_cmd_t cmd = {.id = id, .type = type, .tenant = who->tenant, .actor = actor,
                     .actor_badge = who->badge[0] ? who->badge : NULL, .aggregate = agg,
                     .expected_version = expected, .issued_us = fofal_now_us(), .correlation_id = corr_h, .data = data,
                     .fingerprint = w->fp};
  dr_msg_t *dm = fofal_malloc(sizeof *dm);
  dm->api = api;
  dm->key = fofal_strdup(w->key);
  dm->err = 0;
  char err[256];
  int rc = fofal_command_produce(ca->producer, &cmd, ca->command_parts, on_delivery, dm, err, sizeof err);
  if (rc) {
    free(dm->key);
    free(dm);
    *pb = (problem_t){503, "kafka_unavailable", "the command queue is full; retry with the same Idempotency-Key", NULL};
    return FOFAL_EUNAVAIL;
  }
  if (!cached) cache_put(ca, w->key, "");
  w->ca = ca;
  w->start_us = fofal_mono_us();
  waiter_t *head = fofal_map_take(ca->waiters, w->key);
  w->next = head;
  fofal_map_put(ca->waiters, w->key, w);
  w->linked = 1;
  return 0;
}

/* ------------------------------------------------ commands of fofal-api itself
 * The /auth routes (accounts.c) send the identity module's commands through the same path
 * as POST /api/v1/commands/{type}: produced to fofal.commands in the tenant's partition,
 * decided by fofal-decider, answered from fofal.commands.results (read_committed, so an
 * accepted command's events are in the log). Their data comes prepared (secrets sealed by
 * the route), so no role, Idempotency-Key or personal-data detour applies; the sealed
 * schema is checked here as the decider checks it. The waiter is the sender's, on the heap,
 * and its callback runs exactly once. */

typedef struct {
  fofal__command_cb cb;
  void *opaque;
  char *result;
} known_msg_t;

static void on_known_in_loop(fofal_api_t *api, void *arg) {
  known_msg_t *m = arg;
  json_t *res = json_loads(m->result, 0, NULL);
  const char *code;
  m->cb(api, m->opaque, res ? http_status_of(res, &code) : 500, res);
  json_decref(res);
  free(m->result);
  free(m);
}

int fofal__command_send(fofal_api_t *api, const fofal__command_t *c, fofal__command_cb cb, void *opaque, char *errbuf,
                        size_t errlen) {
  commands_api_t *ca = api->cmds;
  if (!ca) return fofal_err(errbuf, errlen, FOFAL_EUNAVAIL, "the server is stopping");
  const fofal_command_def_t *def = fofal_registry_find(api->registry, c->type);
  if (!def) return fofal_err(errbuf, errlen, FOFAL_EINVAL, "no command type %s", c->type);
  json_t *errors = NULL;
  if (fofal_registry_validate_sealed(api->registry, c->type, c->data, &errors)) {
    char *es = errors ? fofal_json_dumps(errors, JSON_COMPACT) : NULL;
    fofal_err(errbuf, errlen, FOFAL_EINVAL, "%s does not match its schema: %s", c->type, es ? es : "");
    free(es);
    json_decref(errors);
    return FOFAL_EINVAL;
  }
  char agg[FOFAL_UUID_LEN + 1];
  if (fofal_command_aggregate_id(def, c->tenant, c->id, c->data, agg))
    return fofal_err(errbuf, errlen, FOFAL_EINVAL, "%s names no aggregate", c->type);
  char *key = fofal_result_key(c->tenant, c->id);
  const char *cached = fofal_map_get(ca->cache, key);
  if (cached && *cached) { /* decided before (a retry with the same id): that result */
    known_msg_t *m = fofal_calloc(1, sizeof *m);
    *m = (known_msg_t){cb, opaque, fofal_strdup(cached)};
    free(key);
    atomic_fetch_add(&fofal__metrics.commands_duplicate, 1);
    fofal__api_post(api, on_known_in_loop, m);
    return 0;
  }
  if (!fofal__kafka_up(api)) {
    free(key);
    return fofal_err(errbuf, errlen, FOFAL_EUNAVAIL, "Kafka is not reachable");
  }
  fofal_cmd_t cmd = {.id = c->id, .type = c->type, .tenant = c->tenant, .actor = c->actor,
                     .actor_badge = c->actor_badge, .aggregate = agg, .expected_version = -1,
                     .issued_us = fofal_now_us(), .correlation_id = c->correlation_id, .data = c->data};
  dr_msg_t *dm = fofal_malloc(sizeof *dm);
  *dm = (dr_msg_t){api, fofal_strdup(key), 0};
  int rc = fofal_command_produce(ca->producer, &cmd, ca->command_parts, on_delivery, dm, errbuf, errlen);
  if (rc) {
    free(dm->key);
    free(dm);
    free(key);
    return fofal_err(errbuf, errlen, FOFAL_EUNAVAIL, "the command queue is full");
  }
  if (!cached) cache_put(ca, key, "");
  waiter_t *w = fofal_calloc(1, sizeof *w);
  w->ca = ca;
  w->key = key;
  w->type = def->type;
  w->cb = cb;
  w->cb_opaque = opaque;
  w->start_us = fofal_mono_us();
  w->next = fofal_map_take(ca->waiters, key);
  fofal_map_put(ca->waiters, key, w);
  w->linked = 1;
  w->timeout.cb = on_wait_timeout;
  h2o_timeout_link(api->ctx.loop, &ca->wait_timeout, &w->timeout);
  return 0;
}

/* At stop: every waiting command of fofal-api itself hears "unavailable" (then its waiter
 * is freed); the other waiters die with their requests. */
typedef struct {
  waiter_t **v;
  size_t n, cap;
} waiters_t;

static void collect_cb_waiters(void *opaque, const char *key, void *value) {
  waiters_t *all = opaque;
  (void)key;
  for (waiter_t *w = value; w; w = w->next) {
    if (!w->cb) continue;
    if (all->n == all->cap) {
      all->cap = all->cap ? all->cap * 2 : 16;
      all->v = fofal_realloc(all->v, all->cap * sizeof *all->v);
    }
    all->v[all->n++] = w;
  }
}

static void send_pb(h2o_req_t *req, problem_t *pb) {
  if (pb->status == 503) fofal__add_header(req, "Retry-After", "1");
  fofal__send_problem(req, pb->status, pb->code, pb->detail, pb->extra);
}

int fofal__on_command(h2o_handler_t *self, h2o_req_t *req) {
  fofal_api_t *api = API_OF(self);
  fofal_principal_t who;
  atomic_fetch_add(&fofal__metrics.requests, 1);
  if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
    fofal__add_header(req, "Allow", "GET, HEAD, POST"); /* GET: a command's status */
    fofal__send_problem(req, 405, "method_not_allowed", "use POST to send a command", NULL);
    return 0;
  }
  if (fofal__authenticate(api, req, &who)) return 0;
  return command_single(api, req, &who, NULL);
}

/* One command of `who`; kr: the keys its personal data needs (NULL: not fetched yet). */
static int command_single(fofal_api_t *api, h2o_req_t *req, const fofal_principal_t *who, const keyring_t *kr) {
  commands_api_t *ca = api->cmds;
  static const char prefix[] = "/api/v1/commands/";
  size_t plen = req->path_normalized.len;
  if (plen <= sizeof prefix - 1 || plen - (sizeof prefix - 1) > 100) {
    fofal__send_problem(req, 404, "unknown_command_type", "no such command type", NULL);
    return 0;
  }
  char type[128];
  memcpy(type, req->path_normalized.base + sizeof prefix - 1, plen - (sizeof prefix - 1));
  type[plen - (sizeof prefix - 1)] = '\0';
  json_t *data = fofal__read_json(req, FOFAL_COMMAND_MAX_BYTES);
  if (!data) return 0;
  int64_t expected = -1;
  int im = parse_if_match(fofal__req_header(req, "If-Match"), &expected);
  if (im == FOFAL_EPARSE) {
    json_decref(data);
    fofal__send_problem(req, 400, "malformed_if_match", "If-Match must be a quoted aggregate version, e.g. \"7\"", NULL);
    return 0;
  }
  const char *idem = idem_header(req);
  if (!kr) {
    keyring_t *ring = fofal_calloc(1, sizeof *ring);
    need_key(api->registry, who, type, idem, data, ring);
    if (detour_for_keys(api, req, who, 0, ring)) {
      json_decref(data);
      return 0;
    }
  }
  waiter_t *w = h2o_mem_alloc_shared(&req->pool, sizeof *w, on_waiter_dispose);
  memset(w, 0, sizeof *w);
  w->req = req;
  w->ca = ca;
  const char *known;
  problem_t pb = {0};
  if (submit(ca, req, who, type, idem, im ? -1 : expected, data, kr, w, &known, &pb)) {
    w->done = 1;
    send_pb(req, &pb);
  } else if (known) {
    w->done = 1;
    send_result(req, w, known);
  } else {
    w->timeout.cb = on_wait_timeout;
    h2o_timeout_link(api->ctx.loop, &ca->wait_timeout, &w->timeout);
  }
  json_decref(data);
  return 0;
}

int fofal__on_command_batch(h2o_handler_t *self, h2o_req_t *req) {
  fofal_api_t *api = API_OF(self);
  fofal_principal_t who;
  atomic_fetch_add(&fofal__metrics.requests, 1);
  if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
    fofal__add_header(req, "Allow", "POST");
    fofal__send_problem(req, 405, "method_not_allowed", "use POST to send a batch of commands", NULL);
    return 0;
  }
  if (fofal__authenticate(api, req, &who)) return 0;
  return command_batch(api, req, &who, NULL);
}

/* A batch of `who`; kr: the keys its personal data needs (NULL: not fetched yet). */
static int command_batch(fofal_api_t *api, h2o_req_t *req, const fofal_principal_t *who, const keyring_t *kr) {
  commands_api_t *ca = api->cmds;
  json_t *body = fofal__read_json(req, FOFAL_API_MAX_BODY);
  if (!body) return 0;
  json_t *list = json_object_get(body, "commands");
  size_t n = json_array_size(list);
  if (!json_is_array(list) || n == 0 || n > FOFAL_API_MAX_BATCH) {
    json_decref(body);
    fofal__send_problem(req, 422, "invalid_batch", "send {\"commands\": [...]} with 1 to 100 commands", NULL);
    return 0;
  }
  if (!kr) {
    keyring_t *ring = fofal_calloc(1, sizeof *ring);
    for (size_t i = 0; i < n; i++) {
      json_t *c = json_array_get(list, i);
      const char *type = json_string_value(json_object_get(c, "type"));
      json_t *data = json_object_get(c, "data");
      if (type && json_is_object(data))
        need_key(api->registry, who, type, json_string_value(json_object_get(c, "idempotency_key")), data, ring);
    }
    if (detour_for_keys(api, req, who, 1, ring)) {
      json_decref(body);
      return 0;
    }
  }
  batch_t *b = h2o_mem_alloc_shared(&req->pool, sizeof *b, on_batch_dispose);
  memset(b, 0, sizeof *b);
  b->req = req;
  b->ca = ca;
  b->n = (int)n;
  b->results = json_array();
  b->items = h2o_mem_alloc_pool(&req->pool, n * sizeof *b->items);
  for (size_t i = 0; i < n; i++) {
    json_t *c = json_array_get(list, i), *slot = json_object();
    json_array_append_new(b->results, slot);
    b->items[i] = NULL;
    const char *type = json_string_value(json_object_get(c, "type"));
    const char *key = json_string_value(json_object_get(c, "idempotency_key")); /* no NUL: bodies refuse \u0000 */
    json_t *data = json_object_get(c, "data");
    json_t *ifm = json_object_get(c, "if_match");
    if (key) json_object_set_new(slot, "idempotency_key", json_string(key)); /* a string, or absent (OpenAPI) */
    problem_t pb = {0};
    const char *known = NULL;
    if (!json_is_object(c) || !type || !json_is_object(data) || (ifm && !json_is_integer(ifm))) {
      pb = (problem_t){422, "invalid_batch_item", "each command is {type, idempotency_key, data, if_match?}", NULL};
    } else {
      waiter_t *w = h2o_mem_alloc_pool(&req->pool, sizeof *w);
      memset(w, 0, sizeof *w);
      w->batch = b;
      w->batch_idx = (int)i;
      w->ca = ca;
      if (!submit(ca, NULL, who, type, key, ifm ? json_integer_value(ifm) : -1, data, kr, w, &known, &pb)) {
        if (known) {
          json_t *res = result_for(w, known);
          int st;
          json_object_set_new(slot, "body", answer_body(res, w->client_key, &st));
          json_object_set_new(slot, "status", json_integer(st));
          json_decref(res);
        } else {
          b->items[i] = w;
          b->remaining++;
        }
        continue;
      }
    }
    json_t *p = json_pack("{s:s,s:s,s:i}", "code", pb.code, "detail", pb.detail, "status", pb.status);
    if (pb.extra) {
      json_object_update(p, pb.extra);
      json_decref(pb.extra);
    }
    json_object_set_new(slot, "status", json_integer(pb.status));
    json_object_set_new(slot, "body", p);
  }
  json_decref(body);
  if (b->remaining == 0) {
    batch_finish(b);
  } else {
    b->timeout.cb = on_batch_timeout;
    h2o_timeout_link(api->ctx.loop, &ca->wait_timeout, &b->timeout);
  }
  return 0;
}

int fofal__on_command_status(h2o_handler_t *self, h2o_req_t *req) {
  fofal_api_t *api = API_OF(self);
  fofal_principal_t who;
  atomic_fetch_add(&fofal__metrics.requests, 1);
  if (fofal__authenticate(api, req, &who)) return 0;
  static const char prefix[] = "/api/v1/commands/";
  size_t plen = req->path_normalized.len - (sizeof prefix - 1);
  char id[MAX_KEY + 1];
  if (plen == 0 || plen > MAX_KEY) {
    fofal__send_problem(req, 404, "unknown_command", "no such command", NULL);
    return 0;
  }
  memcpy(id, req->path_normalized.base + sizeof prefix - 1, plen);
  id[plen] = '\0';
  if (!fofal_idempotency_key_valid(id, plen)) {
    fofal__send_problem(req, 404, "unknown_command", "no such command", NULL);
    return 0;
  }
  /* The caller's own commands only: the key is scoped to its subject as when it was sent. */
  char *scoped = fofal_command_scoped_id(who.subject, id), *key = fofal_result_key(who.tenant, scoped);
  const char *r = fofal_map_get(api->cmds->cache, key);
  free(key);
  free(scoped);
  if (!r) {
    fofal__send_problem(req, 404, "unknown_command", "this API instance has not seen that command recently", NULL);
  } else if (!*r) {
    fofal__add_header(req, "Retry-After", "1");
    fofal__send_json(req, 202, json_pack("{s:s,s:s}", "command_id", id, "state", "pending"));
  } else {
    json_t *res = json_loads(r, 0, NULL);
    int st;
    json_t *body = answer_body(res, id, &st);
    fofal__send_json(req, 200, json_pack("{s:s,s:i,s:o}", "state", "decided", "status", st, "result", body));
    json_decref(res);
  }
  return 0;
}

/* ------------------------------------------------------------- life cycle */

int fofal__commands_api_start(fofal_api_t *api, char *errbuf, size_t errlen) {
  int rc;
  commands_api_t *ca = fofal_calloc(1, sizeof *ca);
  api->cmds = ca;
  ca->api = api;
  ca->waiters = fofal_map_new(NULL);
  ca->cache = fofal_map_new(free);
  ca->ring = fofal_calloc(RESULT_CACHE_MAX, sizeof *ca->ring);
  h2o_timeout_init(api->ctx.loop, &ca->wait_timeout, (uint64_t)api->conf.wait_ms);
  fofal_kafka_opts_t po = {.brokers = api->conf.brokers, .client_id = "fofal-api", .linger_ms = 1,
                           .message_timeout_ms = (int)api->conf.produce_timeout_ms};
  fofal_kafka_opts_t co = {.brokers = api->conf.brokers, .client_id = "fofal-api-results", .read_committed = 1};
  if ((rc = fofal_kafka_producer_new(&ca->producer, &po, errbuf, errlen)) ||
      (rc = fofal_kafka_consumer_new(&ca->results, &co, errbuf, errlen)))
    return rc;
  int n = fofal_kafka_partition_count_wait(ca->producer, FOFAL_TOPIC_RESULTS, 10000, errbuf, errlen);
  if (n < 0) return n;
  ca->command_parts = fofal_kafka_partition_count_wait(ca->producer, FOFAL_TOPIC_COMMANDS, 10000, errbuf, errlen);
  if (ca->command_parts < 0) return ca->command_parts;
  int32_t *parts = fofal_calloc((size_t)n, sizeof *parts);
  int64_t *offs = fofal_calloc((size_t)n, sizeof *offs);
  int64_t since = fofal_now_us() / 1000 - RESULT_LOOKBACK_MS;
  for (int i = 0; i < n && !rc; i++) {
    parts[i] = i;
    /* Right after topics are created, leadership may still be moving: retry a while. */
    for (int attempt = 0; attempt < 40; attempt++) {
      rc = fofal_kafka_offset_for_time(ca->producer, FOFAL_TOPIC_RESULTS, i, since, &offs[i], 10000, errbuf, errlen);
      if (!rc) break;
      usleep(250 * 1000);
    }
  }
  if (!rc) rc = fofal_kafka_assign(ca->results, FOFAL_TOPIC_RESULTS, parts, offs, n, errbuf, errlen);
  free(parts);
  free(offs);
  if (rc) return rc;
  if (pthread_create(&ca->poller, NULL, poller_main, ca) || pthread_create(&ca->reader, NULL, reader_main, ca))
    return fofal_err(errbuf, errlen, FOFAL_EIO, "cannot start the Kafka threads");
  ca->poller_started = ca->reader_started = 1;
  return 0;
}

void fofal__commands_api_stop(fofal_api_t *api) {
  commands_api_t *ca = api->cmds;
  if (!ca) return;
  fofal_stop_set(&ca->stop);
  if (ca->poller_started) pthread_join(ca->poller, NULL);
  if (ca->reader_started) pthread_join(ca->reader, NULL);
  waiters_t own = {0};
  fofal_map_each(ca->waiters, collect_cb_waiters, &own);
  for (size_t k = 0; k < own.n; k++) {
    unlink_waiter(ca, own.v[k]);
    call_back(own.v[k], 503, NULL);
  }
  free(own.v);
  /* Requests still waiting keep their memory (the process is ending) but leave the timer,
   * which must be empty before it is disposed; later loop messages see api->cmds NULL. */
  while (!h2o_linklist_is_empty(&ca->wait_timeout._entries)) {
    h2o_timeout_entry_t *e = H2O_STRUCT_FROM_MEMBER(h2o_timeout_entry_t, _link, ca->wait_timeout._entries.next);
    h2o_timeout_unlink(e);
  }
  h2o_timeout_dispose(api->ctx.loop, &ca->wait_timeout);
  fofal_kafka_free(ca->results);
  fofal_kafka_free(ca->producer);
  fofal_map_free(ca->waiters);
  fofal_map_free(ca->cache);
  for (size_t i = 0; i < ca->ring_len; i++) free(ca->ring[(ca->ring_head + i) % RESULT_CACHE_MAX]);
  free(ca->ring);
  free(ca);
  api->cmds = NULL;
}
