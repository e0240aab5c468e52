/*
 * api.h — private to api/: what the files of fofal-api share.
 *
 * Threads: one h2o event loop thread (the main thread) runs every handler and owns every
 * h2o object. Two helper threads talk to Kafka (delivery reports; the results consumer),
 * one checks the health of the dependencies, a pool of read workers runs PostgreSQL and
 * Redis queries (pgpool.c; also the identity writes of accounts.c), one thread tails the
 * Redis push stream (stream.c) and one the stream of revoked sessions (accounts.c); they
 * reach the loop only through fofal__api_post(), a multithread queue. Nothing else is
 * shared between threads except the atomic counters of metrics and the job queue.
 */
#ifndef FOFAL_API_H
#define FOFAL_API_H

#define H2O_USE_LIBUV 0
#include <h2o.h>
#include <jansson.h>
#include <stdatomic.h>

#include "commands.h"
#include "events.h"
#include "fofal_api.h"

#define FOFAL_API_MAX_BODY (1024 * 1024)      /* any request body */
#define FOFAL_API_MAX_BATCH 100               /* commands in one batch */

typedef struct {
  char *brokers, *pg_dsn, *redis_addr, *redis_user, *redis_password, *schemas, *log_level, *listen, *tls_cert, *tls_key, *jwt_secret,
      *jwt_issuer, *jwt_audience, *swagger_dir, *cors_origins, *label_url, *console_dir;
  /* issue 22: auth.c (keys, development tokens), stream.c (limits) */
  char *jwt_previous_secrets, *trusted_proxies;
  int dev_tokens, http_insecure;
  long long revocation_stale_s;
  long long ws_max_per_tenant, ws_max_per_account, ws_idle_s, pg_tenant_queue;
  long long http_port, https_port, wait_ms, produce_timeout_ms;
  long long pg_pool, pg_queue, position_wait_ms, ws_max_queue, ws_max_connections;
  /* security (issue 6): accounts.c, ratelimit.c, transport.c */
  long long access_ttl, refresh_ttl, argon2_t, argon2_m_kib, rate_ip_per_s, rate_login_ip, rate_login_account,
      rate_pin_device, rate_pin_badge, pin_max_failures, pin_failure_decay_s, mfa_max_failures;
  int http_redirect, access_log;
  char *pd_master_key;
  char *files_dir;          /* stored files (api/files/) */
  long long files_max_bytes;
  long long reports_check_s; /* how often month-end reports are looked for (a module's start) */
} fofal_api_conf_t;

/* The authenticated caller of a request (auth.c). */
typedef struct {
  char tenant[64];
  char subject[128];
  char role[32];
  char sid[40]; /* session id of a signed-in token; "" for tokens of `fofal token` */
  char badge[72]; /* the person's badge (claim `badge`, from the account at sign-in); "" if none */
  long exp;       /* the token's expiry (unix time, claim `exp`) */
} fofal_principal_t;

typedef struct fofal_api fofal_api_t;

struct fofal_api {
  fofal_api_conf_t conf;
  h2o_globalconf_t config;
  h2o_context_t ctx;
  h2o_accept_ctx_t accept_plain, accept_tls;
  h2o_multithread_queue_t *queue;
  h2o_multithread_receiver_t receiver;
  fofal_registry_t *registry;
  char *openapi;             /* the OpenAPI document, built at start */
  struct fofal_commands_api *cmds;
  struct fofal_health *health;
  struct fofal_pool *pool;   /* pgpool.c */
  struct fofal_reads *reads; /* reads.c */
  struct fofal_stream *stream; /* stream.c */
  struct fofal_accounts *accounts; /* accounts.c */
  /* Monotonic time (us) of the last successful read of the revoked sessions (accounts.c's
   * tail): auth.c refuses session tokens while it is older than FOFAL_API_REVOCATION_STALE_S. */
  atomic_llong revocations_read_us;
};

/* A message from another thread to the loop: `fn(api, arg)` runs on the loop thread. */
void fofal__api_post(fofal_api_t *api, void (*fn)(fofal_api_t *api, void *arg), void *arg);

/* ------------------------------------------------------------- http.c */
/* Sends `body` (stolen) with `status` and content type `ctype`. */
void fofal__send_body(h2o_req_t *req, int status, const char *ctype, json_t *body);
/* Sends `len` bytes of `buf` (copied) as they are, with `status` and content type `ctype`. */
void fofal__send_bytes(h2o_req_t *req, int status, const char *ctype, const void *buf, size_t len);
/* Sends a JSON body (stolen) with `status`. */
void fofal__send_json(h2o_req_t *req, int status, json_t *body);
/* Sends an RFC 9457 problem: type and code are the same stable word. `extra` (stolen, may
 * be NULL) is merged in (e.g. "errors"). */
void fofal__send_problem(h2o_req_t *req, int status, const char *code, const char *detail, json_t *extra);
/* Adds a response header (value copied into the request's pool). */
void fofal__add_header(h2o_req_t *req, const char *name, const char *value);
/* A request header's value as a NUL-terminated copy in the request's pool, or NULL. */
const char *fofal__req_header(h2o_req_t *req, const char *name);
/* The value of query parameter `name` (pool copy, URL-decoded) or NULL. */
const char *fofal__query_param(h2o_req_t *req, const char *name);
/* A whole document served as it is (openapi.json, asyncapi.json): 200 with `body`
 * (borrowed for the life of the process), its strong ETag and Cache-Control: no-cache (a
 * client keeps it and revalidates: a new release changes it), or 304 when If-None-Match
 * names the ETag. HEAD gets the headers only. */
#define FOFAL__ETAG_LEN 36 /* a quoted 32-hex-digit tag and its NUL */
void fofal__document_etag(const char *body, char out[FOFAL__ETAG_LEN]);
void fofal__send_document(h2o_req_t *req, const char *ctype, const char *body, size_t len, const char *etag);
/* Decodes a base64url list cursor of at most `max` characters into out (NUL-terminated,
 * from the request's pool); 0, FOFAL_ETOOBIG or FOFAL_EPARSE. */
int fofal__decode_cursor(h2o_req_t *req, const char *s, size_t max, char *out, size_t outlen);
/* Parses the request body as a JSON object (new reference) or sends 400/413/415 and returns
 * NULL. */
json_t *fofal__read_json(h2o_req_t *req, size_t cap);

/* Registers, on h2o's fallback path of a host, the filter that turns the text/plain
 * errors h2o answers by itself (413 body over the cap, 400, 417) into problem+json. */
void fofal__problem_filter_register(h2o_pathconf_t *pathconf);

/* ------------------------------------------------------------- auth.c */
/* Verifies the bearer token (verified tokens are cached until they expire). 0, or sends
 * 401 and returns FOFAL_EAUTH. Loop thread. */
int fofal__authenticate(fofal_api_t *api, h2o_req_t *req, fofal_principal_t *who);
/* Frees the cache of verified tokens and the revocation set (at exit). */
void fofal__auth_cache_free(void);
/* Loop thread: tokens of session `sid` are refused from now on; the entry may be dropped
 * after `until` (unix time: when every such token has expired anyway). */
void fofal__auth_revoke(const char *sid, long until);
int fofal__auth_revoked(const char *sid);
/* At start, before threads: the signing key and the previous keys that still verify
 * (FOFAL_JWT_SECRET, FOFAL_JWT_PREVIOUS_SECRETS). 0 or FOFAL_ECONFIG with errbuf. */
int fofal__auth_configure(const fofal_api_conf_t *c, char *errbuf, size_t errlen);
/* Clock difference allowed between the issuer and fofal-api on exp and nbf, seconds. */
#define FOFAL__TOKEN_LEEWAY_S 30
/* Checks an access token as fofal__authenticate does (cache, signature, claims, session
 * policy, revocation) without a request: 0 and *who, or FOFAL_EAUTH (401) or
 * FOFAL_EUNAVAIL (503: the revocations cannot be read) with the problem's code and detail
 * (static). Loop thread. */
int fofal__access_check(fofal_api_t *api, const char *tok, fofal_principal_t *who, const char **code,
                        const char **detail);
/* Verifies a token for audience `aud` without answering (e.g. an MFA step token). 0 or FOFAL_EAUTH. */
int fofal__token_verify(fofal_api_t *api, const char *tok, const char *aud, fofal_principal_t *who);
/* Like fofal_api_token_issue_badge, with a `sid` claim unless sid is NULL. */
char *fofal__token_issue(const char *secret, const char *issuer, const char *audience, const char *tenant,
                         const char *subject, const char *role, const char *badge, const char *sid, long ttl_s);

/* ---------------------------------------------------------- accounts.c
 * /api/v1/auth/...: sign-in, refresh, logout, password, TOTP, devices and PINs. */
int fofal__accounts_start(fofal_api_t *api, char *errbuf, size_t errlen);
void fofal__accounts_stop(fofal_api_t *api);
int fofal__on_auth(h2o_handler_t *self, h2o_req_t *req);

/* ------------------------------------------------------- mfa_lockout.c
 * Wrong second-factor codes counted per account in Redis (any thread, the caller's Redis
 * connection). */
struct fofal__redis;
/* Seconds the account's MFA step stays locked (0: not locked), or a negative error. */
long long fofal__mfa_lock_left(struct fofal__redis *r, const char *tenant, const char *account, char *errbuf, size_t errlen);
/* Counts a wrong code: *failures the count since the last success; returns the seconds of
 * the lock that starts now (0: none), or a negative error. */
long long fofal__mfa_failure(struct fofal__redis *r, const char *tenant, const char *account, long long max_failures,
                             long long *failures, char *errbuf, size_t errlen);
/* A success: the count starts again. */
void fofal__mfa_success(struct fofal__redis *r, const char *tenant, const char *account);

/* --------------------------------------------------------- transport.c
 * What every request passes first: the access log record, security headers, CORS, the
 * plain-HTTP redirect and the general per-IP rate limit. Returns 1 when it answered the
 * request itself (preflight, redirect, 429), else 0. */
int fofal__transport_pre(fofal_api_t *api, h2o_req_t *req);
/* The authenticated caller of the current request, for its access log line. */
void fofal__access_note(h2o_req_t *req, const fofal_principal_t *who);
/* The client's IP address as text into out[64]: the TCP peer, or what a trusted proxy says
 * the client is (FOFAL_API_TRUSTED_PROXIES; see transport.c). */
void fofal__peer_ip(h2o_req_t *req, char out[64]);
/* At start: parses FOFAL_API_TRUSTED_PROXIES. 0 or FOFAL_ECONFIG with errbuf. */
int fofal__transport_configure(const fofal_api_conf_t *c, char *errbuf, size_t errlen);
void fofal__transport_free(void);

/* ------------------------------------------------------ commands_api.c */
int fofal__commands_api_start(fofal_api_t *api, char *errbuf, size_t errlen);
void fofal__commands_api_stop(fofal_api_t *api);
int fofal__on_command(h2o_handler_t *self, h2o_req_t *req);          /* POST /api/v1/commands/{type} */
int fofal__on_command_batch(h2o_handler_t *self, h2o_req_t *req);    /* POST /api/v1/commands */
int fofal__on_command_status(h2o_handler_t *self, h2o_req_t *req);   /* GET /api/v1/commands/{id} */
/* A command of fofal-api itself (the identity routes of accounts.c), sent through the same
 * path as POST /api/v1/commands/{type}: checked against its sealed schema (personal fields
 * and secrets already sealed by the caller), produced to fofal.commands, its decision
 * awaited on fofal.commands.results (bounded by FOFAL_API_COMMAND_WAIT_MS). No role or
 * Idempotency-Key applies: the caller checked who may, and names the command id (a
 * command decided before under the same id answers its first result). Strings and data
 * are borrowed for the call. */
typedef struct {
  const char *type, *tenant, *id, *actor, *actor_badge, *correlation_id;
  json_t *data;
} fofal__command_t;
/* Loop thread, exactly once: status 201 (accepted: `result` the decided result, borrowed
 * for the call, with its "position" and "events"), 404/409/403/422 (rejected: result's
 * "code" and "detail"), 503 (Kafka did not take it, or the server stops; result NULL) or
 * 202 (not decided within the wait; result NULL). */
typedef void (*fofal__command_cb)(fofal_api_t *api, void *opaque, int status, const json_t *result);
/* Loop thread. 0: cb will run once, later. FOFAL_EUNAVAIL (Kafka unreachable, its queue
 * full, the server stopping) or FOFAL_EINVAL (the data does not match the schema: the
 * caller's bug), detail in errbuf: cb never runs. */
int fofal__command_send(fofal_api_t *api, const fofal__command_t *c, fofal__command_cb cb, void *opaque, char *errbuf,
                        size_t errlen);

/* ------------------------------------------------------------ health.c */
int fofal__health_start(fofal_api_t *api, char *errbuf, size_t errlen);
void fofal__health_stop(fofal_api_t *api);
int fofal__on_healthz(h2o_handler_t *self, h2o_req_t *req);
int fofal__on_readyz(h2o_handler_t *self, h2o_req_t *req);
int fofal__on_metrics(h2o_handler_t *self, h2o_req_t *req);
/* 1 when Kafka answered the last health check. */
int fofal__kafka_up(fofal_api_t *api);
/* Any thread, blocks up to ~2 s: the end of a partition's log (its high watermark: the
 * offset the next record will get) into *end. 0, FOFAL_ENOENT when the topic has no such
 * partition, or another error (Kafka unreachable), detail in errbuf. */
int fofal__log_end(fofal_api_t *api, const char *topic, int partition, int64_t *end, char *errbuf, size_t errlen);

/* Metrics counters (atomic; incremented from the loop and helper threads). */
typedef struct {
  atomic_llong requests, responses_2xx, responses_4xx, responses_5xx, commands_accepted, commands_rejected,
      commands_conflict, commands_timeout, commands_unavailable, commands_duplicate;
  atomic_llong reads, read_jobs_rejected, position_waits, position_timeouts; /* production_api.c, pgpool.c */
  atomic_llong ws_connections, ws_connections_total, ws_slow_dropped, ws_pushes_sent, ws_protocol_closed; /* stream.c */
  atomic_llong latency_bucket[12]; /* command latency histogram, see health.c */
  atomic_llong latency_sum_us, latency_count;
} fofal_api_metrics_t;
extern fofal_api_metrics_t fofal__metrics;
void fofal__observe_latency(int64_t us);

/* ------------------------------------------------------------ pgpool.c
 * Read workers: FOFAL_API_PG_POOL threads, each with its own PostgreSQL connection (as
 * role fofal_reader, so row-level security applies) and its own Redis connection. The loop
 * submits jobs; a worker runs `run`, then `done` runs on the loop thread. */
typedef struct fofal_worker fofal_worker_t;
typedef struct fofal_job fofal_job_t;
struct fofal_job {
  /* Worker thread. Must not touch h2o objects or anything the loop may free meanwhile:
   * a job carries copies of its inputs. */
  void (*run)(fofal_worker_t *w, fofal_job_t *job);
  /* Loop thread, exactly once per accepted job (also when the pool stops before running
   * it: then `stopped` is 1 and `run` never ran). Frees the job. */
  void (*done)(fofal_api_t *api, fofal_job_t *job);
  int stopped;
  /* Whose job it is: jobs wait per tenant and are served a tenant after the other, each
   * tenant with at most FOFAL_API_PG_TENANT_QUEUE waiting ("": shared by jobs of no tenant). */
  char tenant[64];
  fofal_job_t *next; /* private to pgpool.c */
};
int fofal__pool_start(fofal_api_t *api, char *errbuf, size_t errlen);
/* Joins the workers, then calls `done` (stopped = 1) for every job still queued. Loop
 * thread; no-op when the pool never started. */
void fofal__pool_stop(fofal_api_t *api);
/* Queues `job` (embedded as the first member of the caller's struct). 0, or FOFAL_EUNAVAIL
 * when the queue is full or the pool stops: then the job was not taken (the caller still
 * owns it and `done` will not run). Loop thread. */
int fofal__pool_submit(fofal_api_t *api, fofal_job_t *job);
/* Worker thread: runs `sql` (which must return one column holding JSON, e.g. built with
 * json_build_object) in a read-only transaction as fofal_reader with fofal.tenant set to
 * `tenant`. *rows is a new JSON array, one parsed value per row. Reconnects as needed and
 * retries once when the connection broke. 0, FOFAL_EUNAVAIL (PostgreSQL unreachable) or
 * FOFAL_EPG, detail in errbuf. */
int fofal__worker_query(fofal_worker_t *w, const char *tenant, const char *sql, int nparams,
                        const char *const *params, json_t **rows, char *errbuf, size_t errlen);
/* Worker thread: the worker's Redis connection (borrowed; connects lazily). */
struct fofal__redis *fofal__worker_redis(fofal_worker_t *w);
/* Worker thread: the worker's write connection (as the tables' owner, for the identity
 * schema that fofal-api itself writes), borrowed, connected lazily. 0 or FOFAL_EUNAVAIL. A
 * caller that saw FOFAL_EUNAVAIL on it calls fofal__worker_pg_drop. */
struct fofal_pg;
int fofal__worker_pg(fofal_worker_t *w, struct fofal_pg **pg, char *errbuf, size_t errlen);

/* The API a worker serves. */
fofal_api_t *fofal__worker_api(fofal_worker_t *w);

/* The master key of personal data (accounts.c parsed FOFAL_PD_MASTER_KEY at start); the
 * person keys themselves: projections.h (fofal_person_key …), on a worker's write
 * connection. */
const unsigned char *fofal__pd_master(fofal_api_t *api);

void fofal__worker_pg_drop(fofal_worker_t *w);

/* ------------------------------------------------------------- redis.c
 * The hiredis adapter of fofal-api. A connection is used by one thread at a time; it
 * (re)connects lazily, at most every 250 ms while Redis is down. Errors: FOFAL_EUNAVAIL
 * (unreachable; the connection is dropped) or FOFAL_EREDIS (an error reply). */
typedef struct fofal__redis fofal__redis_t;
/* A new handle for "host:port" (nothing is connected yet); `timeout_ms` bounds every call
 * (a blocking XREAD adds its own block time). NULL on a malformed address. */
fofal__redis_t *fofal__redis_new(const char *addr, const char *user, const char *password, int timeout_ms);
void fofal__redis_free(fofal__redis_t *r);
/* GET: *out new string, or NULL when the key is missing. */
int fofal__redis_get(fofal__redis_t *r, const char *key, char **out, char *errbuf, size_t errlen);
/* HGETALL: *out a new JSON object of strings (empty when the key is missing). */
int fofal__redis_hgetall(fofal__redis_t *r, const char *key, json_t **out, char *errbuf, size_t errlen);
/* MGET of n keys: out[i] new string or NULL. */
int fofal__redis_mget(fofal__redis_t *r, int n, const char *const *keys, char **out, char *errbuf, size_t errlen);
/* One stream entry: its id and the value of its field "m" (both borrowed during the call). */
typedef void (*fofal__redis_entry_fn)(void *opaque, const char *id, const char *m, size_t mlen);
/* XREAD [BLOCK block_ms] COUNT count STREAMS stream after_id (block_ms < 0: no BLOCK), or
 * with `range` set XRANGE stream (after_id + COUNT count. Returns the number of entries
 * (fn called for each, in order) or a negative error. */
int fofal__redis_xread(fofal__redis_t *r, const char *stream, const char *after_id, int block_ms, int count, int range,
                       fofal__redis_entry_fn fn, void *opaque, char *errbuf, size_t errlen);
/* The id of the last entry of a stream into last[48] ("0-0" when empty or missing) and its
 * max-deleted-entry-id into deleted[48] ("0-0" when none was trimmed). */
int fofal__redis_stream_ids(fofal__redis_t *r, const char *stream, char last[48], char deleted[48], char *errbuf,
                            size_t errlen);

/* Runs one command (argv of argc strings) and returns its reply as JSON (new): integer,
 * string, array, or null. 0, FOFAL_EUNAVAIL or FOFAL_EREDIS. */
int fofal__redis_argv(fofal__redis_t *r, int argc, const char *const *argv, json_t **reply, char *errbuf,
                      size_t errlen);

/* ------------------------------------------------------- module reads
 * A module's reads live in its folder api/<m>/ and register themselves: the folder defines
 * `const fofal_api_module_t fofal_module_<m>_routes`, and the build, which finds the folder,
 * lists it in the generated table fofal__api_modules[] (<build>/modules/api.gen.c). The
 * router (main.c) hands every request below /api/v1/<m>/ to the module, the OpenAPI
 * document (openapi.c) takes the module's paths, and the audit trail folds the module's
 * aggregates with its fold; nothing outside the folder names the module.
 *
 * Each read route is a row of a routes table of the module (fofal_read_route_t): its path,
 * who may read it, its parameters and its OpenAPI text, which the module's matching, role
 * check and OpenAPI paths all read, so that they cannot disagree. */
typedef struct {
  const char *path;          /* OpenAPI path template: "/api/v1/<module>/things/{code}" */
  const char *op_id, *summary, *desc;
  const char *roles;         /* space-separated roles that may read it; NULL: every role */
  const char *self_note;     /* non-NULL: a caller may also read what is their own, as it says */
  int params;                /* which parameters it takes: flags of the module's own */
  const char *schema;        /* component schema of the 200 body; NULL: not JSON (an image) */
} fofal_read_route_t;

/* Which read route shows the aggregate of an event of the module: the roles of that route
 * receive the event's WebSocket push (stream_roles.c). */
typedef struct {
  const char *prefix;        /* the start of the event's name (fofal.<module>.<name>.v<n>); ""
                                matches every name; the first match wins */
  const char *path;          /* the route's OpenAPI path (its x-fofal-roles) */
  int self;                  /* the aggregate is a person: their own badge reads it too */
} fofal_push_route_t;

typedef struct {
  const char *name;          /* "<module>": its reads are below /api/v1/<module>/ */
  /* Loop thread: answers a request below /api/v1/<name>/ (404 for none of its routes). */
  int (*on_read)(h2o_handler_t *self, h2o_req_t *req);
  /* At start: adds the module's paths and component schemas to the OpenAPI document. */
  void (*openapi)(json_t *paths, json_t *schemas);
  /* Worker thread: the state of an aggregate of the module after `events` (its rows of the
   * audit trail {seq, type, time, data}, by seq), new; GET /api/v1/audit/<name>/{id}
   * answers it for the aggregates whose first event's short type is audit_fold_first
   * ("order_created"). NULL: the audit trail lists the module's events only. */
  json_t *(*audit_fold)(const char *id, json_t *events);
  const char *audit_fold_first;
  /* At start, before the server listens: checks the module's settings. 0 or FOFAL_ECONFIG
   * with errbuf. NULL: none. */
  int (*configure)(const fofal_api_conf_t *conf, char *errbuf, size_t errlen);
  /* Loop thread: start once the read workers run, stop before they are stopped (and also
   * when start never ran): a module's own periodic work on the loop, e.g. control's
   * month-end reports. NULL: none. */
  void (*start)(fofal_api_t *api);
  void (*stop)(fofal_api_t *api);
  /* Where each of its event types is read, ended by {NULL}: an event type it does not
   * match is pushed to nobody (fail closed). NULL: none. */
  const fofal_push_route_t *push_routes;
} fofal_api_module_t;

/* Every registered module, sorted by name, NULL-terminated (generated). */
extern const fofal_api_module_t *const fofal__api_modules[];
/* modules.c: the registered module `name` (borrowed), or NULL. */
const fofal_api_module_t *fofal__api_module(const char *name);
/* The registered module whose reads hold req's path (below /api/v1/<name>/, something after
 * the slash), or NULL. */
const fofal_api_module_t *fofal__api_module_of(h2o_req_t *req);
/* Runs every module's configure. 0 or the first error (errbuf). */
int fofal__api_modules_configure(const fofal_api_conf_t *conf, char *errbuf, size_t errlen);
/* Loop thread: every module's start, or stop. */
void fofal__api_modules_start(fofal_api_t *api);
void fofal__api_modules_stop(fofal_api_t *api);

/* ------------------------------------------------------------- reads.c
 * The machinery every module's reads share: read jobs on the workers, read your writes
 * (?position=), the audit trail, and its life cycle. A module's folder holds only its
 * routes and what they run. */
int fofal__reads_start(fofal_api_t *api, char *errbuf, size_t errlen);
void fofal__reads_stop(fofal_api_t *api);
/* GET /api/v1/audit/<module>/...; answers 404 for other paths below it. */
int fofal__on_audit_read(h2o_handler_t *self, h2o_req_t *req);
/* The answer of a read job: status (200, or a problem's status with code, detail and
 * extra members), the body (new) and an ETag version (-1: none). */
typedef struct {
  int status;
  const char *code;
  char detail[256];
  json_t *body;
  json_t *extra;             /* members added to an error's problem (new, or NULL) */
  int64_t etag;
  char *raw;                 /* instead of body: bytes to send as they are (a label image), new */
  size_t raw_len;
  const char *ctype;         /* of raw (static) */
} fofal__read_result_t;
/* Worker thread: runs a module's read for `tenant` with its parameters (the job's own
 * copy) into *res. */
typedef void (*fofal__read_run_t)(fofal_worker_t *w, const char *tenant, void *params, fofal__read_result_t *res);
/* Loop thread, after authentication and the route's own checks: runs `run` on a worker
 * with a copy of params (size bytes), after ?position= is reached (its Redis views too
 * when `redis`), and answers with its result (ETag and 304 on If-None-Match when it has
 * an etag). Always 0: the request is answered. */
int fofal__read_serve(fofal_api_t *api, h2o_req_t *req, const fofal_principal_t *who, int redis, fofal__read_run_t run,
                      const void *params, size_t size);
/* Worker thread: res becomes the problem for a failed query (503 when the store, Redis if
 * `redis` else PostgreSQL, is unreachable or the query timed out; else a logged 500). */
void fofal__read_fail(fofal__read_result_t *res, int rc, const char *err, int redis);
/* res becomes a 404 not_found with `what` as detail. */
void fofal__read_not_found(fofal__read_result_t *res, const char *what);
/* The answer of a read of one row (rows: stolen): 200 with it, its "version" as ETag when
 * `etag`, or 404 naming `what`. */
void fofal__read_one(fofal__read_result_t *res, json_t *rows, const char *what, int etag);
/* The answer of a keyset page (rows: stolen, the query asked limit + 1): {items,
 * next_cursor}, the cursor the base64url of the last row's `keys` (NULL-terminated) joined
 * by '|', null when there is no further row. */
void fofal__read_page(fofal__read_result_t *res, json_t *rows, int limit, const char *const *keys);
/* A read's CSV answer (RFC 4180), grown as it is written: buf NUL-terminated, len bytes;
 * oom once an allocation failed (the text then stays short). */
typedef struct {
  char *buf;
  size_t len, cap;
  int oom;
} fofal__csv_t;
void fofal__csv_put(fofal__csv_t *c, const char *s, size_t n);
/* One field, preceded by a comma unless it starts the row; quoted when it holds a comma, a
 * quote, CR or LF (quotes doubled); NULL: an empty field. */
void fofal__csv_field(fofal__csv_t *c, const char *s, int first);
/* A JSON value as one field: strings as they are, integers exactly, reals with 4 places;
 * anything else empty. */
void fofal__csv_json(fofal__csv_t *c, const json_t *v, int first);
/* The live generation prefix of a module's Redis keys, e.g. "fofal:<m>:g3:". 0 or the
 * failure of fofal__redis_get. */
int fofal__redis_prefix(fofal__redis_t *r, const char *module, char *out, size_t outlen, char *err, size_t errlen);
/* A parameter's problem: status, code and detail. */
typedef struct {
  int status;
  const char *code;
  char detail[256];
} fofal__perr_t;
/* Fills *e (detail: fmt with arg) and returns FOFAL_EINVAL. */
int fofal__perr(fofal__perr_t *e, int status, const char *code, const char *fmt, const char *arg);
/* ?limit= (dflt when absent) into *out: 0, or FOFAL_EINVAL with *e for anything but 1..max. */
int fofal__parse_limit(h2o_req_t *req, int dflt, int max, int *out, fofal__perr_t *e);
/* A query parameter; an empty value counts as absent (forms send "status="). */
const char *fofal__param(h2o_req_t *req, const char *name);
/* 1 when s is a code: 1..max characters, alphanumeric first, then alphanumerics and ._/- */
int fofal__valid_name(const char *s, size_t max);
/* The path segment at *pos (up to the next '/') into out, *pos past it: 0, or FOFAL_EINVAL
 * when it is empty or too long. */
int fofal__path_segment(const char *path, size_t len, size_t *pos, char *out, size_t outlen);
/* The short name of an event type: "fofal.<m>.order_created.v1" → "order_created" ("" for
 * none). */
void fofal__event_short_type(const char *type, char *out, size_t outlen);
/* Who may read a read route, said one way everywhere: a string of space-separated roles
 * (fofal_read_route_t.roles; the audit trail's FOFAL__AUDIT_ROLES). The same string gives
 * the check below and, through fofal__openapi_roles, the route's x-fofal-roles and 403 in
 * the OpenAPI document, from which stream_roles.c takes who receives a push.
 * fofal__role_in: 1 when `role` is one of `roles` (exactly: case and all). */
#define FOFAL__AUDIT_ROLES "auditor manager admin"
int fofal__role_in(const char *roles, const char *role);
/* The role check of a read (loop thread, after authentication): 0 when who's role is one
 * of `roles` (NULL: every role); else it answers 403 forbidden ("role <r> may not read
 * <what>") and returns FOFAL_EFORBIDDEN. */
int fofal__read_roles_check(h2o_req_t *req, const fofal_principal_t *who, const char *roles, const char *what);
/* 1 for GET and HEAD; otherwise it answers 405 and returns 0. */
int fofal__get_only(h2o_req_t *req);
/* Read your writes for any module's reads (loop thread, after authentication). Without
 * ?position= it calls go(opaque) at once. With one, it waits (bounded, with one shared
 * poller) until the projection of the position's module has applied it (and its
 * Redis views too when `redis`), then calls go(opaque) once. It answers the request itself
 * with 400 (malformed_position, position_beyond_log: past the end of the log) or 503
 * (position_not_reached after the wait, shutting down),
 * and go never runs then, nor for a request that went away meanwhile. 0, or FOFAL_EINVAL (400) or
 * FOFAL_EUNAVAIL (503) when it answered at once. `opaque` must live as long as the request (its pool). */
int fofal__after_position(fofal_api_t *api, h2o_req_t *req, int redis, void (*go)(void *opaque), void *opaque);
/* The same for the position `position` (NULL: none) rather than ?position=: the identity
 * routes wait so for their own command's position (an account answered as created signs
 * in). */
int fofal__after_position_at(fofal_api_t *api, h2o_req_t *req, const char *position, int redis,
                             void (*go)(void *opaque), void *opaque);

/* ------------------------------------------------------------- stream.c */
int fofal__stream_start(fofal_api_t *api, char *errbuf, size_t errlen);
void fofal__stream_stop(fofal_api_t *api);
int fofal__on_stream(h2o_handler_t *self, h2o_req_t *req); /* GET /api/v1/stream (WebSocket) */
/* Closes (1008) the streams opened with a token of session `sid`. Loop thread. */
void fofal__stream_revoke(fofal_api_t *api, const char *sid);
/* stream_request.c: a client's text frame (msg, len bytes) parsed and checked. 0 with *req
 * the request (new) and *kind what it is: FOFAL_STREAM_SUBSCRIBE or _UNSUBSCRIBE (its member
 * holds lists of at most the caps below, of known modules and of names
 * fofal_aggregate_resolve accepts) or FOFAL_STREAM_AUTH ({"auth":"<a string>"} alone); or
 * FOFAL_EPARSE (not JSON: close with 1007) or FOFAL_EINVAL (another shape: 1008), with
 * *req NULL and the reason in *why (static). Pure, any thread. */
enum { FOFAL_STREAM_UNSUBSCRIBE, FOFAL_STREAM_SUBSCRIBE, FOFAL_STREAM_AUTH };
#define FOFAL_STREAM_MAX_MODULES 16
#define FOFAL_STREAM_MAX_AGGREGATES 1000
#define FOFAL_STREAM_MODULE_MAX 32 /* bytes of a module name with its NUL */
#define FOFAL_STREAM_NAME_MAX 80   /* bytes of an aggregate name with its NUL */
int fofal__stream_request(const char *msg, size_t len, json_t **req, int *kind, const char **why);

/* stream_roles.c: which roles receive a push (the read route of its aggregate). */
typedef struct fofal__push_roles fofal__push_roles_t;
/* Reads the roles of each route from the OpenAPI document (x-fofal-roles). 0 and *out
 * (new), or FOFAL_ECONFIG with errbuf (a route is missing). */
int fofal__push_roles_new(const char *openapi, fofal__push_roles_t **out, char *errbuf, size_t errlen);
void fofal__push_roles_free(fofal__push_roles_t *pr);
/* The read route (OpenAPI path, static) that shows events of `type` of `module` (the
 * module's push_routes), and whether it is a person's own record (*self). Its index among
 * every module's push routes, or FOFAL_ENOENT when none does. */
int fofal__push_roles_route(const char *module, const char *type, const char **path, int *self);
/* The roles (bits of fofal__push_role_bit) that receive a push of `type`: 0 for a type
 * no route shows. *self as above. */
uint32_t fofal__push_roles_mask(const fofal__push_roles_t *pr, const char *module, const char *type, int *self);
uint32_t fofal__push_role_bit(const char *role);

/* ----------------------------------------------------------- openapi.c */
char *fofal__openapi_build(const fofal_registry_t *reg);
/* The OpenAPI operation of a read (GET) under `tag`: `params` stolen (the position
 * parameter is added), 200 with the schema at `ok_ref`, and the problems every read may
 * answer; `roles` (may be NULL: any authenticated caller) adds the 403 and says who reads. */
json_t *fofal__openapi_read_op(const char *tag, const char *op_id, const char *summary, const char *desc, json_t *params,
                               const char *ok_ref, const char *roles);
/* Says on a read op (from fofal__openapi_read_op or a module's own) who may read it:
 * `roles` as fofal__read_roles_check takes them become its x-fofal-roles and its 403.
 * Returns op (borrowed). */
json_t *fofal__openapi_roles(json_t *op, const char *roles);
/* Pieces of the document for the modules' paths: a query parameter (schema stolen), a
 * path parameter (a string), an object schema (props stolen), a page of items
 * {items, next_cursor}; all new. fofal__openapi_etag adds to a read op (from
 * fofal__openapi_read_op) the ETag header of its 200 and the 304 of If-None-Match. */
json_t *fofal__openapi_query_param(const char *name, const char *desc, json_t *schema);
json_t *fofal__openapi_path_param(const char *name, const char *desc);
json_t *fofal__openapi_object(const char *desc, json_t *props);
json_t *fofal__openapi_page(const char *item_ref);
void fofal__openapi_etag(json_t *op);
/* openapi_auth.c: merges the /api/v1/auth/... paths and their schemas in. */
void fofal__openapi_auth(json_t *paths, json_t *schemas);
int fofal__on_openapi(h2o_handler_t *self, h2o_req_t *req);

/* ---------------------------------------------------------- asyncapi.c */
/* The AsyncAPI 3.0 document of `topics[0..n)` (fofal_topics_all's, with the partitions
 * they have; 0: left out): messages from the schemas under schemas_dir and the command
 * registry. *out is new. 0, or FOFAL_ECONFIG / FOFAL_EIO with errbuf (a schema that
 * cannot be read) and *out NULL. */
int fofal__asyncapi_build(const fofal_registry_t *reg, const char *schemas_dir, const fofal_topic_spec_t *topics, int n,
                          char **out, char *errbuf, size_t errlen);
/* At start, before the loop: asks Kafka for every topic's partitions, builds the document
 * and keeps it for GET /api/v1/asyncapi.json. 0, or a FOFAL_E* with errbuf. */
int fofal__asyncapi_load(const fofal_registry_t *reg, const char *schemas_dir, const char *brokers, char *errbuf,
                         size_t errlen);
void fofal__asyncapi_free(void);
int fofal__on_asyncapi(h2o_handler_t *self, h2o_req_t *req); /* GET /api/v1/asyncapi.json (public) */

/* -------------------------------------------------------------- docs.c */
/* Reads Swagger UI's files from `dir` (FOFAL_SWAGGER_UI_DIR) into memory. 0, or a FOFAL_E*
 * with errbuf; then /api/docs/ answers 503 until a load succeeds. Before the loop runs. */
int fofal__docs_load(const char *dir, char *errbuf, size_t errlen);
void fofal__docs_free(void);
/* GET /api/docs, /api/docs/ and what lies under it. */
int fofal__on_docs(h2o_handler_t *self, h2o_req_t *req);
/* Reads the file at path whole into *body (new, NUL-terminated past *len). A file over max
 * bytes is FOFAL_EIO. 0, or a FOFAL_E* with errbuf. */
int fofal__file_read(const char *path, size_t max, char **body, size_t *len, char *errbuf, size_t errlen);
/* 200 with `body` (borrowed: it must outlive the response, e.g. loaded at start) and the
 * given Content-Type and Cache-Control; HEAD gets the headers only. */
void fofal__send_static(h2o_req_t *req, const char *type, const char *body, size_t len, const char *cache);

/* ------------------------------------------------------------ console.c */
/* Loads the built console (FOFAL_CONSOLE_DIR: index.html, assets/, sw.js …) into memory.
 * 0, or a FOFAL_E* with errbuf; then /console/ answers 503 until a load succeeds. Before
 * the loop runs. */
int fofal__console_load(const char *dir, char *errbuf, size_t errlen);
void fofal__console_free(void);
/* GET /console, /console/ and what lies under it (client routes get index.html). */
int fofal__on_console(h2o_handler_t *self, h2o_req_t *req);

/* The api of a handler (handlers are allocated with this as their first member). */
typedef struct {
  h2o_handler_t super;
  fofal_api_t *api;
} fofal_handler_t;
#define API_OF(self) (((fofal_handler_t *)(self))->api)

#endif
