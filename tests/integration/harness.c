/*
 * harness.c — see harness.h.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

pid_t h_spawn(const char *rel, const char *logname, const char *const *args, const char *const *env) {
  char path[1024], log[1024];
  snprintf(path, sizeof path, "%s/%s", h_env("FOFAL_BUILD_DIR"), rel);
  snprintf(log, sizeof log, "%s/logs/%s.log", h_env("FOFAL_STACK_DIR"), logname);
  pid_t pid = fork();
  cr_assert(pid >= 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    for (int i = 0; env && env[i]; i++) putenv((char *)env[i]);
    /* Processes under test keep ASan on but leak checks belong to the unit tests. */
    setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
    const char *argv[32] = {path};
    int n = 1;
    for (int i = 0; args && args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    execv(path, (char *const *)argv);
    _exit(127);
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

pid_t h_start_api(int port) {
  char p[64];
  snprintf(p, sizeof p, "FOFAL_HTTP_PORT=%d", port);
  const char *env[] = {p, NULL};
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
  out->body = fofal_strdup(sep + 4);
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
        json_array_append_new(out, json_pack("{s:i,s:I,s:s%,s:o}", "partition", p, "offset", (json_int_t)m.offset,
                                             "key", m.key ? m.key : "", m.key ? m.key_len : 0, "value",
                                             v ? v : json_stringn(m.value, m.len)));
      }
      fofal_kafka_msg_release(&m);
      if (done) break;
    }
  }
  fofal_kafka_free(k);
  return out;
}
