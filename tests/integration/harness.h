/*
 * harness.h — what integration tests share: the stack they run against (from the
 * environment ops/test exports), starting and killing fofal processes, a small blocking
 * HTTP/1.1 client, and reading Kafka topics back.
 *
 * Integration tests talk to the real Kafka, PostgreSQL, Redis and Mosquitto of the
 * isolated test stack; they fail (never skip) when it is not there.
 */
#ifndef FOFAL_TEST_HARNESS_H
#define FOFAL_TEST_HARNESS_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#include "events.h"

/* Environment: aborts the test with a clear message if the stack is missing. */
const char *h_env(const char *name);
/* A fresh tenant id for one test ("t-<random>"), so tests never see each other's data. */
void h_tenant(char out[32]);
/* A signed access token for tenant/role (new string). */
char *h_token(const char *tenant, const char *role);

/* Starts $FOFAL_BUILD_DIR/<rel> with `args` (NULL-terminated, may be NULL) and extra
 * environment "K=V" strings (NULL-terminated, may be NULL); output to
 * $FOFAL_STACK_DIR/logs/<logname>.log. Returns the pid. */
pid_t h_spawn(const char *rel, const char *logname, const char *const *args, const char *const *env);
/* Sends sig and waits for the process (bounded 30 s, then SIGKILL). Returns its status. */
int h_stop(pid_t pid, int sig);
/* Starts fofal-decider (instance id) and fofal-api on `port`; waits for /readyz. */
pid_t h_start_decider(const char *instance);
pid_t h_start_api(int port);
/* Runs `ops/stack <verb> <service>` on the test stack; returns its exit status. */
int h_stack(const char *verb, const char *service);
/* A free TCP port on 127.0.0.1. */
int h_free_port(void);

typedef struct {
  int status;        /* 0 on connection failure */
  char *body;        /* new, NUL-terminated */
  char *headers;     /* new, raw header block */
} h_resp_t;
/* One request, Connection: close. `headers` is "Name: value\r\n..." or NULL. */
int h_http(int port, const char *method, const char *path, const char *headers, const char *body, h_resp_t *out,
           int timeout_ms);
void h_resp_free(h_resp_t *r);
/* The value of a response header (new string) or NULL. */
char *h_resp_header(const h_resp_t *r, const char *name);
/* Waits until GET /readyz answers 200, at most timeout_ms. 0 or -1. */
int h_wait_ready(int port, int timeout_ms);
/* POSTs one command; returns the HTTP status and, if body_out, the parsed body (new). */
int h_command(int port, const char *token, const char *type, const char *idem_key, const char *if_match,
              const char *json_body, json_t **body_out);

/* Every committed record of `topic` (all partitions, from the start to the current end):
 * a new JSON array of {"partition","offset","key","value"} with value parsed if JSON. */
json_t *h_read_topic(const char *topic);

#endif
