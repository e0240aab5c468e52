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
/* Starts fofal-projector (every projection; log test-projector-<instance>). It has no
 * readiness endpoint: wait for its positions (e.g. `fofal status --json`). */
pid_t h_start_projector(const char *instance);
/* Starts fofal-reactor (the reactions between modules; instance id, log
 * test-reactor-<instance>) and waits (bounded) until it has joined its group and been
 * given the reactions' topics. */
pid_t h_start_reactor(const char *instance);
/* How many lines of $FOFAL_STACK_DIR/logs/<logname>.log (a process's from h_spawn) hold
 * needle; h_wait_log waits until one does, at most timeout_s, or fails the test. */
int h_log_count(const char *logname, const char *needle);
void h_wait_log(const char *logname, const char *needle, int timeout_s);
/* Starts fofal-ingest with its own MQTT client id and spool for `tenant` (log
 * test-ingest-<tenant>) and waits (bounded, 60 s) until it has subscribed. */
pid_t h_start_ingest(const char *tenant);
/* Starts fofal-machines (tallies every second; log test-machines-<tenant>) and waits
 * (bounded, 90 s) until it has restored its state. */
pid_t h_start_machines(const char *tenant);
/* Runs $FOFAL_BUILD_DIR/ops/fofal with args (NULL-terminated), at most timeout_s (then
 * SIGKILL). Its stdout into *out (new string, may be NULL to discard), its stderr appended
 * to $FOFAL_STACK_DIR/logs/test-cli.log. Returns the exit status, or -1 if it was killed. */
int h_run_cli(int timeout_s, char **out, const char *const *args);
/* Runs `ops/stack <verb> <service>` on the test stack; returns its exit status. */
int h_stack(const char *verb, const char *service);
/* A free TCP port on 127.0.0.1. */
int h_free_port(void);

typedef struct {
  int status;        /* 0 on connection failure */
  char *body;        /* new, NUL-terminated */
  char *headers;     /* new, raw header block */
  size_t body_len;   /* bytes of body (it may hold NULs), without the added NUL */
} h_resp_t;
/* One request, Connection: close. `headers` is "Name: value\r\n..." or NULL. */
int h_http(int port, const char *method, const char *path, const char *headers, const char *body, h_resp_t *out,
           int timeout_ms);
void h_resp_free(h_resp_t *r);
/* The value of a response header (new string) or NULL. */
char *h_resp_header(const h_resp_t *r, const char *name);
/* GET `path` with `token` as Bearer (NULL: none); asserts an answer came. Returns the
 * status; if body, the parsed body (new, NULL when it is no JSON); if etag, the ETag header
 * (new or NULL). An answer of 400 or more must be application/problem+json (cr_expect). */
int h_get(int port, const char *token, const char *path, json_t **body, char **etag);
/* RFC 4648 base32 (up to the end or a '&', as in an otpauth URI's secret) into lowercase hex;
 * asserts it is base32 and fits `cap`. */
void h_b32_hex(const char *b32, char *hex, size_t cap);
/* Waits until GET /readyz answers 200, at most timeout_ms. 0 or -1. */
int h_wait_ready(int port, int timeout_ms);
/* POSTs one command; returns the HTTP status and, if body_out, the parsed body (new). */
int h_command(int port, const char *token, const char *type, const char *idem_key, const char *if_match,
              const char *json_body, json_t **body_out);

/* Like h_command, but retries with the same Idempotency-Key while the answer is 503, 202
 * or no answer, for up to 60 s — as a phone does; for commands a test needs, not the ones
 * it examines. Returns the final status. */
int h_command_ok(int port, const char *token, const char *type, const char *idem_key, const char *if_match,
                 const char *json_body, json_t **body_out);

/* Produces a command straight to fofal.commands as the API would (actor u:tester/planner,
 * any version); `data` is stolen. Waits while the producer's queue is full. */
void h_produce_command(fofal_kafka_t *k, const char *tenant, const char *id, const char *type, const char *agg,
                       json_t *data);

/* The weaving floor an order needs before it can start and take declarations: article
 * `article` (50 cm pieces), flat loom `loom` carrying a ready 100,000 m ground beam with
 * its first piece passed, and weaver `weaver` on the current and the next shift of the
 * built-in 3×8 model. Idempotent (command ids derive from the names), so tests may call
 * it for every order. Either through the command API as an admin of `tenant` (waits for
 * each command) or
 * straight to fofal.commands (a tenant's commands are decided in order, so what is
 * produced after it sees it). */
void h_floor_http(int port, const char *tenant, const char *loom, const char *weaver, const char *article);
void h_floor_produce(fofal_kafka_t *k, const char *tenant, const char *loom, const char *weaver, const char *article);

/* The current shift of the built-in 3×8 model (id "YYYY-MM-DD/A") and a moment inside it
 * that is already past (its start plus a minute, or now), as RFC 3339, for declarations
 * that must all fall in one known shift (woven_at). */
void h_current_shift(char id[32], char woven_at[40]);
/* The shift of the built-in 3×8 model at `at_us` (µs since the epoch), as "YYYY-MM-DD/A". */
void h_shift_at(int64_t at_us, char id[32]);
/* The label id a declaration's answer (production.order.declare_output's 201 body) shows
 * for its roll (the output_declared event's "issued"), into out; "" when it shows none. */
void h_declared_label(const json_t *answer, char out[FOFAL_UUID_LEN + 1]);

/* Every committed record of `topic` (all partitions, from the start to the current end):
 * a new JSON array of {"partition","offset","key","value"} with value parsed if JSON, and
 * "dlq_reason" when the record has a fofal_dlq_reason header. */
json_t *h_read_topic(const char *topic);

/* h_read_topic over the event topic of every registered module (fofal.<m>.events), one
 * array: a command's events whichever module they belong to. */
json_t *h_read_module_events(void);

/* ------------------------------------------------------ WebSocket client
 * A tiny blocking RFC 6455 client for the stream tests: a handshake with a
 * Sec-WebSocket-Key, masked client frames, unmasked server frames (capped at 16 MiB). */
typedef struct h_ws h_ws_t;
/* Opens ws://127.0.0.1:port<path> with extra request headers ("Name: value\r\n...", may be
 * NULL). rcvbuf > 0 sets SO_RCVBUF before connecting (a client that stops reading then
 * fills up fast). *status gets the handshake's HTTP status (0: no answer). Returns the
 * client when it is 101, else NULL. */
h_ws_t *h_ws_open(int port, const char *path, const char *headers, int rcvbuf, int *status);
/* Sends a masked text frame. 0 or -1. */
int h_ws_send(h_ws_t *ws, const char *text);
/* Reads one frame within timeout_ms; pings are answered and skipped. Returns its opcode
 * (1 text, 2 binary, 8 close) with *payload new and NUL-terminated, or -1 on timeout or
 * end of stream. For a close frame, *close_code (may be NULL) gets its status code. */
int h_ws_recv(h_ws_t *ws, char **payload, size_t *len, int *close_code, int timeout_ms);
/* The next text frame parsed as JSON (new), or NULL on timeout, end of stream or a close
 * frame (then *close_code, which may be NULL, gets its code; else 0). */
json_t *h_ws_recv_json(h_ws_t *ws, int timeout_ms, int *close_code);
/* Sends a close frame (code 1000) unless closing is done, and frees the client. NULL no-op. */
void h_ws_close(h_ws_t *ws);

#endif
