/*
 * api.h — private to api/: what the files of fofal-api share.
 *
 * Threads: one h2o event loop thread (the main thread) runs every handler and owns every
 * h2o object. Two helper threads talk to Kafka (delivery reports; the results consumer)
 * and one checks the health of the dependencies; they reach the loop only through
 * fofal__api_post(), a multithread queue. Nothing else is shared between threads except
 * the atomic counters of metrics.
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
  char *brokers, *pg_dsn, *redis_addr, *schemas, *log_level, *listen, *tls_cert, *tls_key, *jwt_secret,
      *jwt_issuer, *jwt_audience, *swagger_dir, *cors_origins;
  long long http_port, https_port, wait_ms, produce_timeout_ms;
} fofal_api_conf_t;

/* The authenticated caller of a request (auth.c). */
typedef struct {
  char tenant[64];
  char subject[128];
  char role[32];
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
  volatile int stopping;
};

/* A message from another thread to the loop: `fn(api, arg)` runs on the loop thread. */
void fofal__api_post(fofal_api_t *api, void (*fn)(fofal_api_t *api, void *arg), void *arg);

/* ------------------------------------------------------------- http.c */
/* Sends `body` (stolen) with `status` and content type `ctype`. */
void fofal__send_body(h2o_req_t *req, int status, const char *ctype, json_t *body);
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
/* Parses the request body as a JSON object (new reference) or sends 400/413/415 and returns
 * NULL. */
json_t *fofal__read_json(h2o_req_t *req, size_t cap);

/* ------------------------------------------------------------- auth.c */
/* Verifies the bearer token. 0, or sends 401 and returns FOFAL_EAUTH. */
int fofal__authenticate(fofal_api_t *api, h2o_req_t *req, fofal_principal_t *who);

/* ------------------------------------------------------ commands_api.c */
int fofal__commands_api_start(fofal_api_t *api, char *errbuf, size_t errlen);
void fofal__commands_api_stop(fofal_api_t *api);
int fofal__on_command(h2o_handler_t *self, h2o_req_t *req);          /* POST /api/v1/commands/{type} */
int fofal__on_command_batch(h2o_handler_t *self, h2o_req_t *req);    /* POST /api/v1/commands */
int fofal__on_command_status(h2o_handler_t *self, h2o_req_t *req);   /* GET /api/v1/commands/{id} */

/* ------------------------------------------------------------ health.c */
int fofal__health_start(fofal_api_t *api, char *errbuf, size_t errlen);
void fofal__health_stop(fofal_api_t *api);
int fofal__on_healthz(h2o_handler_t *self, h2o_req_t *req);
int fofal__on_readyz(h2o_handler_t *self, h2o_req_t *req);
int fofal__on_metrics(h2o_handler_t *self, h2o_req_t *req);
/* 1 when Kafka answered the last health check. */
int fofal__kafka_up(fofal_api_t *api);

/* Metrics counters (atomic; incremented from the loop and helper threads). */
typedef struct {
  atomic_llong requests, responses_2xx, responses_4xx, responses_5xx, commands_accepted, commands_rejected,
      commands_conflict, commands_timeout, commands_unavailable, commands_duplicate;
  atomic_llong latency_bucket[12]; /* command latency histogram, see health.c */
  atomic_llong latency_sum_us, latency_count;
} fofal_api_metrics_t;
extern fofal_api_metrics_t fofal__metrics;
void fofal__observe_latency(int64_t us);

/* ----------------------------------------------------------- openapi.c */
char *fofal__openapi_build(const fofal_registry_t *reg);
int fofal__on_openapi(h2o_handler_t *self, h2o_req_t *req);
int fofal__on_docs(h2o_handler_t *self, h2o_req_t *req);

/* The api of a handler (handlers are allocated with this as their first member). */
typedef struct {
  h2o_handler_t super;
  fofal_api_t *api;
} fofal_handler_t;
#define API_OF(self) (((fofal_handler_t *)(self))->api)

#endif
