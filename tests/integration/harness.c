/*
 * harness.c — see harness.h.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "fofal_api.h"

const char *h_env(const char *name) {
  const char *v = getenv(name);
  if (!v || !*v) cr_assert_fail("%s is not set: run integration tests through ./ops/test", name);
  return v;
}

void h_tenant(char out[32]) {
  char id[FOFAL_UUID_LEN + 1];
  fofal_uuid7(id);
  snprintf(out, 32, "t-%.8s%.4s", id + 24, id + 9);
}

char *h_token(const char *tenant, const char *role) {
  char *t = fofal_api_token_issue(h_env("FOFAL_JWT_SECRET"), "fofal", "fofal-api", tenant, "tester", role, 3600);
  cr_assert_not_null(t, "cannot sign a test token");
  return t;
}

/* In a forked child: dies with the test (a failed assertion ends the test's process),
 * sends stderr — and stdout too unless `keep_stdout` — to `log`, then execs path with args
 * (NULL-terminated, may be NULL). Never returns. */
static void exec_child(const char *path, const char *log, int keep_stdout, const char *const *args) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    if (!keep_stdout) dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
  }
  const char *argv[32] = {path};
  int n = 1;
  for (int i = 0; args && args[i] && n < 31; i++) argv[n++] = args[i];
  argv[n] = NULL;
  execv(path, (char *const *)argv);
  _exit(127);
}

/* In a forked child: FOFAL_PG_DSN, FOFAL_REDIS_USER/_PASSWORD and FOFAL_KAFKA_USER/_PASSWORD
 * become the process's own users' from the stack's env (FOFAL_API_PG_DSN, fofal-api and
 * FOFAL_REDIS_API_PASSWORD, fofal-api and FOFAL_KAFKA_API_PASSWORD for api/fofal-api, ...),
 * as ops/run starts them; what a process has no user of its own for stays the stack's. */
static void login_as(const char *rel) {
  static const struct {
    const char *bin, *pg_dsn, *redis_user, *redis_password, *kafka_user, *kafka_password;
  } who[] = {
      {"/fofal-api", "FOFAL_API_PG_DSN", "fofal-api", "FOFAL_REDIS_API_PASSWORD", "fofal-api", "FOFAL_KAFKA_API_PASSWORD"},
      {"/fofal-projector", "FOFAL_PROJECTOR_PG_DSN", "fofal-projector", "FOFAL_REDIS_PROJECTOR_PASSWORD", "fofal-projector",
       "FOFAL_KAFKA_PROJECTOR_PASSWORD"},
      {"/fofal-decider", NULL, NULL, NULL, "fofal-decider", "FOFAL_KAFKA_DECIDER_PASSWORD"},
      {"/fofal-reactor", NULL, NULL, NULL, "fofal-reactor", "FOFAL_KAFKA_REACTOR_PASSWORD"},
      {"/fofal-ingest", NULL, NULL, NULL, "fofal-ingest", "FOFAL_KAFKA_INGEST_PASSWORD"},
      {"/fofal-machines", NULL, NULL, NULL, "fofal-machines", "FOFAL_KAFKA_MACHINES_PASSWORD"},
      {"/fofal-mqtt-auth", NULL, NULL, NULL, "fofal-mqtt-auth", "FOFAL_KAFKA_MQTT_AUTH_PASSWORD"},
      {"/fofal-weather", NULL, NULL, NULL, "fofal-weather", "FOFAL_KAFKA_WEATHER_PASSWORD"}};
  size_t n = strlen(rel);
  for (size_t i = 0; i < sizeof who / sizeof who[0]; i++) {
    size_t k = strlen(who[i].bin);
    if (n < k || strcmp(rel + n - k, who[i].bin)) continue;
    const char *dsn = who[i].pg_dsn ? getenv(who[i].pg_dsn) : NULL;
    const char *password = who[i].redis_password ? getenv(who[i].redis_password) : NULL;
    const char *kafka_password = getenv(who[i].kafka_password);
    if (dsn) setenv("FOFAL_PG_DSN", dsn, 1);
    if (password) {
      setenv("FOFAL_REDIS_USER", who[i].redis_user, 1);
      setenv("FOFAL_REDIS_PASSWORD", password, 1);
    }
    if (kafka_password && getenv("FOFAL_KAFKA_USER")) { /* the stack authenticates Kafka's clients */
      setenv("FOFAL_KAFKA_USER", who[i].kafka_user, 1);
      setenv("FOFAL_KAFKA_PASSWORD", kafka_password, 1);
    }
  }
}

pid_t h_spawn(const char *rel, const char *logname, const char *const *args, const char *const *env) {
  char path[1024], log[1024];
  snprintf(path, sizeof path, "%s/%s", h_env("FOFAL_BUILD_DIR"), rel);
  snprintf(log, sizeof log, "%s/logs/%s.log", h_env("FOFAL_STACK_DIR"), logname);
  pid_t pid = fork();
  cr_assert(pid >= 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    /* Each process logs in as its own role, as ops/run starts it (README, Security); a
     * test's env may still override. */
    login_as(rel);
    for (int i = 0; env && env[i]; i++) putenv((char *)env[i]);
    /* Processes under test keep ASan on but leak checks belong to the unit tests. */
    setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
    exec_child(path, log, 0, args);
  }
  return pid;
}

int h_stop(pid_t pid, int sig) {
  int status = 0;
  kill(pid, sig);
  for (int i = 0; i < 300; i++) {
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    usleep(100 * 1000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return status;
}

pid_t h_start_decider(const char *instance) {
  char inst[96];
  snprintf(inst, sizeof inst, "FOFAL_DECIDER_INSTANCE=%s", instance);
  const char *env[] = {inst, "FOFAL_LOG_LEVEL=info", NULL};
  char log[64];
  snprintf(log, sizeof log, "test-decider-%s", instance);
  return h_spawn("commands/fofal-decider", log, NULL, env);
}

pid_t h_start_projector(const char *instance) {
  const char *env[] = {"FOFAL_LOG_LEVEL=info", NULL};
  char log[96];
  snprintf(log, sizeof log, "test-projector-%s", instance);
  return h_spawn("projections/fofal-projector", log, NULL, env);
}

/* How many lines of $FOFAL_STACK_DIR/logs/<logname>.log hold needle. */
static int log_count(const char *logname, const char *needle) {
  char path[1024], line[4096];
  snprintf(path, sizeof path, "%s/logs/%s.log", h_env("FOFAL_STACK_DIR"), logname);
  FILE *f = fopen(path, "r");
  int n = 0;
  while (f && fgets(line, sizeof line, f)) n += strstr(line, needle) != NULL;
  if (f) fclose(f);
  return n;
}

pid_t h_start_reactor(const char *instance) {
  char inst[96], log[96];
  snprintf(inst, sizeof inst, "FOFAL_REACTOR_INSTANCE=%s", instance);
  snprintf(log, sizeof log, "test-reactor-%s", instance);
  const char *env[] = {inst, "FOFAL_LOG_LEVEL=info", NULL};
  /* The log is appended to: a restart is ready once it logs an assignment of its own. */
  int before = log_count(log, "\"msg\":\"assigned ");
  pid_t pid = h_spawn("commands/fofal-reactor", log, NULL, env);
  int starts = 1;
  for (int i = 0; i < 900; i++) {
    if (log_count(log, "\"msg\":\"assigned ") > before) return pid;
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      /* Its Kafka transactions could not start in time (a loaded machine): it exits, and
       * is started again, as its supervisor would. */
      cr_assert_lt(starts, 3, "fofal-reactor exited at start %d times (see %s.log)", starts, log);
      pid = h_spawn("commands/fofal-reactor", log, NULL, env);
      starts++;
    }
    usleep(100 * 1000);
  }
  cr_assert_fail("fofal-reactor was given no partition within 90 s (see %s.log)", log);
  return pid;
}

/* Waits until logs/<logname>.log has a line with needle, at most timeout_s. */
static void wait_log(const char *logname, const char *needle, int timeout_s) {
  for (int i = 0; i < timeout_s * 10; i++) {
    if (log_count(logname, needle)) return;
    usleep(100 * 1000);
  }
  cr_assert_fail("%s.log never said \"%s\"", logname, needle);
}

int h_log_count(const char *logname, const char *needle) { return log_count(logname, needle); }
void h_wait_log(const char *logname, const char *needle, int timeout_s) { wait_log(logname, needle, timeout_s); }

pid_t h_start_ingest(const char *tenant) {
  char id[96], log[96], spool[600];
  snprintf(id, sizeof id, "FOFAL_MQTT_CLIENT_ID=test-ingest-%s", tenant);
  snprintf(log, sizeof log, "test-ingest-%s", tenant);
  snprintf(spool, sizeof spool, "FOFAL_INGEST_SPOOL_DIR=%s/spool-%s", h_env("FOFAL_STACK_DIR"), tenant);
  const char *env[] = {id, spool, "FOFAL_LOG_LEVEL=info", NULL};
  pid_t pid = h_spawn("ingest/fofal-ingest", log, NULL, env);
  wait_log(log, "subscribed to", 60);
  return pid;
}

pid_t h_start_machines(const char *tenant) {
  char log[96];
  snprintf(log, sizeof log, "test-machines-%s", tenant);
  const char *env[] = {"FOFAL_LOG_LEVEL=info", "FOFAL_MACHINES_TALLY_S=1", NULL};
  pid_t pid = h_spawn("ingest/fofal-machines", log, NULL, env);
  wait_log(log, "restored the state", 90);
  return pid;
}

/* A failed `fofal` shows why in the test's own output: the end of what it wrote to stderr
 * (test-cli.log from log_start; other tests' runs may be interleaved), since CI keeps the
 * test output and not the stack's logs. */
static void log_cli_stderr(const char *log, off_t log_start, const char *const *args, int rc) {
  char cmd[256] = "", tail[3072];
  for (int i = 0; args && args[i]; i++)
    snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %s", args[i]);
  FILE *f = fopen(log, "r");
  size_t n = 0;
  if (f) {
    fseeko(f, 0, SEEK_END);
    off_t end = ftello(f), from = end - (off_t)(sizeof tail - 1);
    if (from < log_start) from = log_start;
    if (from < end && !fseeko(f, from, SEEK_SET)) n = fread(tail, 1, sizeof tail - 1, f);
    fclose(f);
  }
  tail[n] = '\0';
  /* stderr, not cr_log_warn: a Criterion warning makes the whole run exit 1. */
  fprintf(stderr, "fofal%s exited %d; its stderr ends with:\n%s\n", cmd, rc, n ? tail : "(nothing)");
}

int h_run_cli(int timeout_s, char **out, const char *const *args) {
  char path[1024], log[1024];
  snprintf(path, sizeof path, "%s/ops/fofal", h_env("FOFAL_BUILD_DIR"));
  snprintf(log, sizeof log, "%s/logs/test-cli.log", h_env("FOFAL_STACK_DIR"));
  struct stat before;
  off_t log_start = stat(log, &before) ? 0 : before.st_size;
  int fds[2];
  cr_assert_eq(pipe(fds), 0, "pipe: %s", strerror(errno));
  pid_t pid = fork();
  cr_assert(pid >= 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    exec_child(path, log, 1, args);
  }
  close(fds[1]);
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  size_t cap = 4096, got = 0;
  char *buf = fofal_malloc(cap);
  int64_t deadline = fofal_mono_us() + (int64_t)timeout_s * 1000000;
  int status = 0, exited = 0;
  for (;;) {
    ssize_t n;
    while ((n = read(fds[0], buf + got, cap - got - 1)) > 0) {
      got += (size_t)n;
      if (got + 1 >= cap) buf = fofal_realloc(buf, cap *= 2);
    }
    if (exited && n <= 0) break;
    if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
      exited = 1;
      continue; /* drain what is left */
    }
    if (!exited && fofal_mono_us() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      exited = 1;
    }
    usleep(20 * 1000);
  }
  close(fds[0]);
  buf[got] = '\0';
  if (out) *out = buf;
  else free(buf);
  int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (rc) log_cli_stderr(log, log_start, args, rc);
  return rc;
}

pid_t h_start_api(int port) {
  char p[64];
  snprintf(p, sizeof p, "FOFAL_HTTP_PORT=%d", port);
  /* A loaded CI machine may take seconds to decide: wait long rather than answer 202. */
  const char *env[] = {p, "FOFAL_API_COMMAND_WAIT_MS=30000", NULL};
  pid_t pid = h_spawn("api/fofal-api", "test-api", NULL, env);
  cr_assert_eq(h_wait_ready(port, 30000), 0, "fofal-api did not become ready on port %d", port);
  return pid;
}

int h_stack(const char *verb, const char *service) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s/ops/stack %s %s >> %s/logs/test-stack.log 2>&1", FOFAL_SOURCE_DIR, verb, service,
           h_env("FOFAL_STACK_DIR"));
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int h_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sa;
  bind(fd, (struct sockaddr *)&sa, sizeof sa);
  getsockname(fd, (struct sockaddr *)&sa, &len);
  close(fd);
  return ntohs(sa.sin_port);
}

int h_http(int port, const char *method, const char *path, const char *headers, const char *body, h_resp_t *out,
           int timeout_ms) {
  memset(out, 0, sizeof *out);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
    close(fd);
    return -1;
  }
  size_t blen = body ? strlen(body) : 0;
  char *req = fofal_asprintf("%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%sContent-Length: %zu\r\n\r\n%s",
                             method, path, headers ? headers : "",
                             body ? "Content-Type: application/json\r\n" : "", blen, body ? body : "");
  size_t len = strlen(req), off = 0;
  while (off < len) {
    ssize_t n = write(fd, req + off, len - off);
    if (n <= 0) break;
    off += (size_t)n;
  }
  free(req);
  size_t cap = 8192, got = 0;
  char *buf = fofal_malloc(cap);
  for (;;) {
    if (got + 4096 > cap) buf = fofal_realloc(buf, cap *= 2);
    ssize_t n = read(fd, buf + got, cap - got - 1);
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  buf[got] = '\0';
  char *sep = strstr(buf, "\r\n\r\n");
  if (strncmp(buf, "HTTP/1.", 7) || !sep) {
    free(buf);
    return -1;
  }
  out->status = atoi(buf + 9);
  *sep = '\0';
  out->headers = fofal_strdup(buf);
  out->body_len = got - (size_t)(sep + 4 - buf);
  out->body = fofal_malloc(out->body_len + 1);
  memcpy(out->body, sep + 4, out->body_len + 1); /* binary bodies too (a PNG) */
  free(buf);
  return 0;
}

void h_resp_free(h_resp_t *r) {
  free(r->body);
  free(r->headers);
  memset(r, 0, sizeof *r);
}

char *h_resp_header(const h_resp_t *r, const char *name) {
  size_t n = strlen(name);
  for (const char *p = r->headers; p && (p = strstr(p, "\r\n")); p += 2) {
    if (!strncasecmp(p + 2, name, n) && p[2 + n] == ':') {
      const char *v = p + 3 + n;
      while (*v == ' ') v++;
      const char *e = strstr(v, "\r\n");
      return fofal_strndup(v, e ? (size_t)(e - v) : strlen(v));
    }
  }
  return NULL;
}

int h_get(int port, const char *token, const char *path, json_t **body, char **etag) {
  char hdr[4300] = "";
  if (token) snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", token);
  h_resp_t r;
  cr_assert_eq(h_http(port, "GET", path, hdr, NULL, &r, 30000), 0, "no answer to GET %s", path);
  if (body) *body = json_loads(r.body, 0, NULL);
  if (etag) *etag = h_resp_header(&r, "ETag");
  if (r.status >= 400) {
    char *ct = h_resp_header(&r, "content-type");
    cr_expect(ct && strstr(ct, "application/problem+json"), "GET %s: an error is problem+json", path);
    free(ct);
  }
  int st = r.status;
  h_resp_free(&r);
  return st;
}

void h_b32_hex(const char *b32, char *hex, size_t cap) {
  static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  unsigned buf = 0;
  int bits = 0;
  size_t o = 0;
  for (const char *p = b32; *p && *p != '&'; p++) {
    const char *c = strchr(alpha, *p);
    cr_assert(c, "not base32: %c", *p);
    buf = buf << 5 | (unsigned)(c - alpha);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      cr_assert(o + 3 < cap);
      o += (size_t)snprintf(hex + o, cap - o, "%02x", (buf >> bits) & 0xff);
    }
  }
  hex[o] = '\0';
}

int h_wait_ready(int port, int timeout_ms) {
  int64_t deadline = fofal_mono_us() + (int64_t)timeout_ms * 1000;
  while (fofal_mono_us() < deadline) {
    h_resp_t r;
    if (!h_http(port, "GET", "/readyz", NULL, NULL, &r, 1000)) {
      int ok = r.status == 200;
      h_resp_free(&r);
      if (ok) return 0;
    }
    usleep(100 * 1000);
  }
  return -1;
}

int h_command(int port, const char *token, const char *type, const char *idem_key, const char *if_match,
              const char *json_body, json_t **body_out) {
  char path[256], hdr[4096];
  snprintf(path, sizeof path, "/api/v1/commands/%s", type);
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\nIdempotency-Key: %s\r\n%s%s%s", token, idem_key,
           if_match ? "If-Match: \"" : "", if_match ? if_match : "", if_match ? "\"\r\n" : "");
  h_resp_t r;
  if (body_out) *body_out = NULL;
  if (h_http(port, "POST", path, hdr, json_body, &r, 30000)) return 0;
  if (body_out) *body_out = json_loads(r.body, 0, NULL);
  int st = r.status;
  h_resp_free(&r);
  return st;
}

int h_command_ok(int port, const char *token, const char *type, const char *idem_key, const char *if_match,
                 const char *json_body, json_t **body_out) {
  int64_t deadline = fofal_mono_us() + 60 * 1000000LL;
  for (;;) {
    int st = h_command(port, token, type, idem_key, if_match, json_body, body_out);
    if ((st != 503 && st != 202 && st != 0) || fofal_mono_us() > deadline) return st;
    if (body_out) {
      json_decref(*body_out);
      *body_out = NULL;
    }
    usleep(200 * 1000);
  }
}

void h_produce_command(fofal_kafka_t *k, const char *tenant, const char *id, const char *type, const char *agg,
                       json_t *data) {
  char err[256];
  fofal_cmd_t cmd = {.id = id, .type = type, .tenant = tenant, .actor = "u:tester/planner", .aggregate = agg,
                     .expected_version = -1, .issued_us = fofal_now_us(), .data = data};
  static int nparts; /* asked once per test process: a metadata request per command is slow */
  if (nparts <= 0) nparts = fofal_kafka_partition_count(k, FOFAL_TOPIC_COMMANDS, 10000, err, sizeof err);
  cr_assert_gt(nparts, 0, "%s", err);
  int rc;
  while ((rc = fofal_command_produce(k, &cmd, nparts, NULL, NULL, err, sizeof err)) == FOFAL_EUNAVAIL)
    fofal_kafka_poll(k, 10);
  cr_assert_eq(rc, 0, "%s", err);
  json_decref(data);
}

json_t *h_read_topic(const char *topic) {
  char err[256];
  fofal_kafka_t *k = NULL;
  fofal_kafka_opts_t o = {.brokers = h_env("FOFAL_KAFKA_BROKERS"), .client_id = "fofal-test-reader", .read_committed = 1,
                          .partition_eof = 1};
  cr_assert_eq(fofal_kafka_consumer_new(&k, &o, err, sizeof err), 0, "%s", err);
  int n = fofal_kafka_partition_count(k, topic, 10000, err, sizeof err);
  cr_assert(n > 0, "topic %s: %s", topic, err);
  json_t *out = json_array();
  for (int32_t p = 0; p < n; p++) {
    int64_t lo, hi, start = FOFAL_OFFSET_BEGINNING;
    cr_assert_eq(fofal_kafka_watermarks(k, topic, p, &lo, &hi, 10000, err, sizeof err), 0, "%s", err);
    if (hi <= lo) continue;
    cr_assert_eq(fofal_kafka_assign(k, topic, &p, &start, 1, err, sizeof err), 0, "%s", err);
    int64_t deadline = fofal_mono_us() + 60 * 1000000LL;
    for (;;) {
      fofal_kmsg_t m;
      int rc = fofal_kafka_consume(k, 500, &m);
      cr_assert(fofal_mono_us() < deadline, "reading %s[%d] took over 60 s", topic, p);
      if (rc <= 0) continue;
      int done = m.eof || m.offset >= hi - 1;
      if (!m.eof && m.value) {
        json_t *v = json_loadb(m.value, m.len, 0, NULL);
        /* A value that is neither JSON nor UTF-8 (a DLQ's hostile payload) as a marker. */
        if (!v) v = json_stringn(m.value, m.len);
        if (!v) v = json_string("<not UTF-8>");
        json_t *rec = json_pack("{s:i,s:I,s:s%,s:o}", "partition", p, "offset", (json_int_t)m.offset, "key",
                                m.key ? m.key : "", m.key ? m.key_len : 0, "value", v);
        char why[512];
        if (fofal_kafka_msg_header(&m, "fofal_dlq_reason", why, sizeof why))
          json_object_set_new(rec, "dlq_reason", json_string(why));
        json_array_append_new(out, rec);
      }
      fofal_kafka_msg_release(&m);
      if (done) break;
    }
  }
  fofal_kafka_free(k);
  return out;
}

json_t *h_read_module_events(void) {
  json_t *out = json_array();
  for (int m = 0; fofal_command_modules[m]; m++) {
    char topic[96];
    snprintf(topic, sizeof topic, "fofal.%s.events", fofal_command_modules[m]->name);
    json_t *part = h_read_topic(topic);
    json_array_extend(out, part);
    json_decref(part);
  }
  return out;
}

/* ------------------------------------------------------ WebSocket client */

#define WS_MAX_FRAME (16u << 20)

struct h_ws {
  int fd;
  unsigned char buf[65536];
  size_t off, len;
  int closed;
};

/* Reads exactly n bytes before the deadline (mono µs). 0 or -1. */
static int ws_read(h_ws_t *ws, void *out, size_t n, int64_t deadline) {
  unsigned char *o = out;
  while (n) {
    if (ws->off < ws->len) {
      size_t k = ws->len - ws->off < n ? ws->len - ws->off : n;
      memcpy(o, ws->buf + ws->off, k);
      ws->off += k;
      o += k;
      n -= k;
      continue;
    }
    int64_t left = (deadline - fofal_mono_us()) / 1000;
    if (left <= 0) return -1;
    struct pollfd p = {.fd = ws->fd, .events = POLLIN};
    if (poll(&p, 1, (int)left) <= 0) return -1;
    ssize_t got = read(ws->fd, ws->buf, sizeof ws->buf);
    if (got <= 0) return -1;
    ws->off = 0;
    ws->len = (size_t)got;
  }
  return 0;
}

static int ws_write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t k = write(fd, c, n);
    if (k <= 0) return -1;
    c += k;
    n -= (size_t)k;
  }
  return 0;
}

static int ws_send_frame(h_ws_t *ws, int opcode, const void *data, size_t n) {
  unsigned char hdr[14], mask[4];
  size_t h = 0;
  hdr[h++] = (unsigned char)(0x80 | opcode);
  if (n < 126) {
    hdr[h++] = (unsigned char)(0x80 | n);
  } else if (n < 65536) {
    hdr[h++] = 0x80 | 126;
    hdr[h++] = (unsigned char)(n >> 8);
    hdr[h++] = (unsigned char)n;
  } else {
    hdr[h++] = 0x80 | 127;
    for (int i = 7; i >= 0; i--) hdr[h++] = (unsigned char)((uint64_t)n >> (8 * i));
  }
  for (int i = 0; i < 4; i++) mask[i] = (unsigned char)(rand() & 0xff);
  memcpy(hdr + h, mask, 4);
  h += 4;
  unsigned char *body = fofal_malloc(n + 1);
  for (size_t i = 0; i < n; i++) body[i] = ((const unsigned char *)data)[i] ^ mask[i % 4];
  int rc = ws_write_all(ws->fd, hdr, h) || ws_write_all(ws->fd, body, n) ? -1 : 0;
  free(body);
  return rc;
}

h_ws_t *h_ws_open(int port, const char *path, const char *headers, int rcvbuf, int *status) {
  *status = 0;
  h_ws_t *ws = fofal_calloc(1, sizeof *ws);
  ws->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (rcvbuf > 0) setsockopt(ws->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  char *req = NULL;
  if (connect(ws->fd, (struct sockaddr *)&sa, sizeof sa)) goto fail;
  req = fofal_asprintf("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
                       path, port, headers ? headers : "");
  if (ws_write_all(ws->fd, req, strlen(req))) goto fail;
  /* The response head, byte by byte: what follows it is frames. */
  char head[8192];
  size_t n = 0;
  int64_t deadline = fofal_mono_us() + 10 * 1000000LL;
  while (n + 1 < sizeof head) {
    if (ws_read(ws, head + n, 1, deadline)) goto fail;
    n++;
    if (n >= 4 && !memcmp(head + n - 4, "\r\n\r\n", 4)) break;
  }
  head[n] = '\0';
  if (strncmp(head, "HTTP/1.1 ", 9)) goto fail;
  *status = atoi(head + 9);
  if (*status != 101 || !strcasestr(head, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")) goto fail;
  free(req);
  return ws;
fail:
  free(req);
  close(ws->fd);
  free(ws);
  return NULL;
}

int h_ws_send(h_ws_t *ws, const char *text) { return ws_send_frame(ws, 1, text, strlen(text)); }

int h_ws_recv(h_ws_t *ws, char **payload, size_t *len, int *close_code, int timeout_ms) {
  int64_t deadline = fofal_mono_us() + (int64_t)timeout_ms * 1000;
  *payload = NULL;
  *len = 0;
  for (;;) {
    unsigned char h[2];
    if (ws->closed || ws_read(ws, h, 2, deadline)) return -1;
    int opcode = h[0] & 0x0f, masked = h[1] & 0x80;
    uint64_t n = h[1] & 0x7f;
    if (n == 126 || n == 127) {
      unsigned char ext[8];
      size_t k = n == 126 ? 2 : 8;
      if (ws_read(ws, ext, k, deadline)) return -1;
      n = 0;
      for (size_t i = 0; i < k; i++) n = n << 8 | ext[i];
    }
    unsigned char mask[4] = {0};
    if (n > WS_MAX_FRAME || (masked && ws_read(ws, mask, 4, deadline))) return -1;
    char *p = fofal_malloc((size_t)n + 1);
    if (ws_read(ws, p, (size_t)n, deadline)) {
      free(p);
      return -1;
    }
    for (size_t i = 0; masked && i < n; i++) p[i] ^= (char)mask[i % 4];
    p[n] = '\0';
    if (opcode == 9) { /* ping */
      ws_send_frame(ws, 10, p, (size_t)n);
      free(p);
      continue;
    }
    if (opcode == 10) {
      free(p);
      continue;
    }
    if (opcode == 8) {
      if (close_code) *close_code = n >= 2 ? ((unsigned char)p[0] << 8 | (unsigned char)p[1]) : 1005;
      ws->closed = 1;
      if (n >= 2) { /* the payload returned is the reason */
        memmove(p, p + 2, (size_t)n - 1);
        n -= 2;
      }
    }
    *payload = p;
    *len = (size_t)n;
    return opcode;
  }
}

json_t *h_ws_recv_json(h_ws_t *ws, int timeout_ms, int *close_code) {
  int64_t deadline = fofal_mono_us() + (int64_t)timeout_ms * 1000;
  if (close_code) *close_code = 0;
  for (;;) {
    int left = (int)((deadline - fofal_mono_us()) / 1000);
    char *p;
    size_t n;
    int op = left > 0 ? h_ws_recv(ws, &p, &n, close_code, left) : -1;
    if (op < 0) return NULL;
    json_t *j = op == 1 ? json_loadb(p, n, 0, NULL) : NULL;
    free(p);
    if (op == 8) return NULL;
    if (j) return j;
  }
}

void h_ws_close(h_ws_t *ws) {
  if (!ws) return;
  if (!ws->closed) {
    unsigned char code[2] = {0x03, 0xe8};
    ws_send_frame(ws, 8, code, 2);
  }
  close(ws->fd);
  free(ws);
}

/* ------------------------------------------------------------- the floor */

typedef struct {
  const char *type, *ns; /* ns: the aggregate is named by a code in that namespace */
  char code[80];
  char id[96];
  json_t *data;
} floor_cmd_t;

/* The shift id of `at_us` under the built-in 3×8 model (06:00, 14:00, 22:00 at UTC+1). */
static void builtin_shift(int64_t at_us, char out[32]) {
  int64_t local_s = at_us / 1000000 + 3600;
  int64_t sod = ((local_s % 86400) + 86400) % 86400;
  int64_t day_start = local_s - sod;
  const char *code = sod >= 22 * 3600 ? "C" : sod >= 14 * 3600 ? "B" : sod >= 6 * 3600 ? "A" : "C";
  if (sod < 6 * 3600) day_start -= 86400; /* before 06:00: the C of the day before */
  time_t t = (time_t)day_start;
  struct tm tm;
  gmtime_r(&t, &tm);
  snprintf(out, 32, "%04d-%02d-%02d/%s", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, code);
}

void h_shift_at(int64_t at_us, char id[32]) { builtin_shift(at_us, id); }

void h_declared_label(const json_t *answer, char out[FOFAL_UUID_LEN + 1]) {
  size_t i;
  json_t *e;
  out[0] = '\0';
  json_array_foreach(json_object_get(answer, "events"), i, e) {
    const char *type = json_string_value(json_object_get(e, "type"));
    const char *id = json_string_value(json_object_get(json_object_get(e, "issued"), "label_id"));
    if (type && strstr(type, ".output_declared.") && id) snprintf(out, FOFAL_UUID_LEN + 1, "%s", id);
  }
}

void h_current_shift(char id[32], char woven_at[40]) {
  int64_t now = fofal_now_us();
  builtin_shift(now, id);
  /* The start of that shift: step back a minute at a time while still in it. */
  int64_t t = now;
  char probe[32];
  while (builtin_shift(t - 60 * 1000000LL, probe), !strcmp(probe, id)) t -= 60 * 1000000LL;
  t += 60 * 1000000LL;
  if (t > now) t = now;
  fofal_time_format(t, woven_at);
}

static int floor_cmds(floor_cmd_t *c, const char *loom, const char *weaver, const char *article) {
  char beam[80], now_shift[32], next_shift[32];
  snprintf(beam, sizeof beam, "BM-%s", loom);
  builtin_shift(fofal_now_us(), now_shift);
  builtin_shift(fofal_now_us() + 8 * 3600 * 1000000LL, next_shift);
  int n = 0;
#define FC(t, nsp, cd, ...)                                                         \
  do {                                                                             \
    c[n] = (floor_cmd_t){.type = t, .ns = nsp, .data = json_pack(__VA_ARGS__)};   \
    snprintf(c[n].code, sizeof c[n].code, "%s", cd);                              \
    snprintf(c[n].id, sizeof c[n].id, "floor-%s-%s-%d", loom, weaver, n);         \
    n++;                                                                           \
  } while (0)
  if (article)
    FC("catalog.article.define", "article", article, "{s:s,s:s,s:s,s:i,s:i,s:i}", "article", article, "name", article,
       "weave", "flat", "width_cm", 100, "length_cm", 50, "picks_per_cm", 18);
  FC("production.loom.register", "loom", loom, "{s:s,s:s,s:i,s:s}", "loom", loom, "hall", "H1", "nominal_ppm", 450, "weave",
     "flat");
  FC("production.beam.warp", "beam", beam, "{s:s,s:s,s:[s],s:i,s:i}", "beam", beam, "kind", "ground", "yarn_lots", "LOT-T",
     "ends", 4000, "length_m", 100000);
  FC("production.beam.size", "beam", beam, "{s:s}", "beam", beam);
  FC("production.beam.draw_in", "beam", beam, "{s:s}", "beam", beam);
  FC("production.loom.mount_beam", "loom", loom, "{s:s,s:s}", "loom", loom, "beam", beam);
  FC("production.loom.check_first_piece", "loom", loom, "{s:s,s:s}", "loom", loom, "result", "pass");
  FC("hr.employee.register", "employee", weaver, "{s:s,s:s,s:s}", "badge", weaver, "name", weaver, "job", "weaver");
  FC("hr.employee.assign_shift", "employee", weaver, "{s:s,s:s}", "badge", weaver, "shift", now_shift);
  FC("hr.employee.assign_shift", "employee", weaver, "{s:s,s:s}", "badge", weaver, "shift", next_shift);
#undef FC
  return n;
}

void h_floor_http(int port, const char *tenant, const char *loom, const char *weaver, const char *article) {
  char *token = h_token(tenant, "admin");
  floor_cmd_t c[16];
  int n = floor_cmds(c, loom, weaver, article);
  for (int i = 0; i < n; i++) {
    char *body = json_dumps(c[i].data, JSON_COMPACT);
    json_t *res = NULL;
    int st = h_command_ok(port, token, c[i].type, c[i].id, NULL, body, &res);
    const char *code = json_string_value(json_object_get(res, "code"));
    /* A floor built by an earlier call of the same test is fine as it is. */
    cr_assert(st == 201 || (st == 409 && code && !strcmp(code, "already_exists")) ||
                  (st == 422 && code &&
                   (!strcmp(code, "invalid_transition") || !strcmp(code, "position_taken") ||
                    !strcmp(code, "first_piece_not_due") || !strcmp(code, "already_assigned"))),
              "floor: %s answered %d %s", c[i].type, st, code ? code : "");
    json_decref(res);
    free(body);
    json_decref(c[i].data);
  }
  free(token);
}

void h_floor_produce(fofal_kafka_t *k, const char *tenant, const char *loom, const char *weaver, const char *article) {
  floor_cmd_t c[16];
  int n = floor_cmds(c, loom, weaver, article);
  for (int i = 0; i < n; i++) {
    char agg[FOFAL_UUID_LEN + 1];
    fofal_aggregate_ref(tenant, c[i].ns, c[i].code, agg);
    if (!strcmp(c[i].type, "hr.employee.register")) {
      /* In the log a name is only ever sealed (the decider refuses it plain). Produced
       * straight to Kafka, past the API that keeps person keys, it is sealed with a key
       * nobody keeps: the read model shows the weaver as "erased". */
      unsigned char key[FOFAL_PD_KEY_BYTES];
      memset(key, 0x5a, sizeof key);
      cr_assert_eq(fofal_pd_init(), 0);
      json_object_set_new(c[i].data, "name", fofal_pd_seal(key, tenant, agg, "name", json_object_get(c[i].data, "name")));
    }
    h_produce_command(k, tenant, c[i].id, c[i].type, agg, c[i].data);
  }
}
