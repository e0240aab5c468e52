/*
 * test_rapid_reset.c — HTTP/2 rapid reset (CVE-2023-44487, issue 22 item 9) against a real
 * fofal-api: fofal-bench-rapid-reset opens and cancels h2c streams in a loop on two
 * connections from 127.0.0.1 while its prober, from 127.0.0.2, measures GET /healthz.
 *
 * What it shows (README "What a deployment must set"): Debian's libh2o 2.2.5 drops a
 * stream cancelled in the same read before it is dispatched, so none of the flood reaches
 * fofal-api's handlers (the access log has no line of it): the cost is h2o's frame and
 * HPACK work on the loop thread, where fofal-api has no hook to count or refuse it, and
 * the mitigation is a proxy in front. What it asserts: the flood ran, reached no handler,
 * and the prober was still served, never refused. The figures (streams/s, the prober's
 * p50/p99 before and during) go to the test's output. The second case runs that
 * mitigation as shipped (ops/haproxy/fofal.cfg in front) and asserts that the flood stops
 * at the proxy and that clients behind it are still served.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* The bench's JSON report (new), run for `seconds` per phase; the flood's streams GET
 * flood_path, the prober GETs /healthz. */
static json_t *run_bench(int port, int seconds, const char *flood_path) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "%s/tests/bench/fofal-bench-rapid-reset --port %d --connections 2 --seconds %d --probe-source 127.0.0.2 "
           "--path %s",
           h_env("FOFAL_BUILD_DIR"), port, seconds, flood_path);
  FILE *p = popen(cmd, "r");
  cr_assert_not_null(p);
  char buf[8192];
  size_t n = fread(buf, 1, sizeof buf - 1, p);
  buf[n] = '\0';
  cr_assert_eq(pclose(p), 0, "the bench ran: %s", buf);
  json_error_t err;
  json_t *j = json_loads(buf, 0, &err);
  cr_assert_not_null(j, "bench output is JSON: %s (%s)", err.text, buf);
  return j;
}

/* Lines of the API's log (logs/<logname>.log) that hold both needles. */
static long log_lines(const char *logname, const char *a, const char *b) {
  char path[1024], line[8192];
  snprintf(path, sizeof path, "%s/logs/%s.log", h_env("FOFAL_STACK_DIR"), logname);
  FILE *f = fopen(path, "r");
  long n = 0;
  while (f && fgets(line, sizeof line, f)) n += strstr(line, a) && strstr(line, b);
  if (f) fclose(f);
  return n;
}

Test(rapid_reset, a_flood_of_cancelled_streams_reaches_no_handler_and_others_are_served, .timeout = 300) {
  int port = h_free_port();
  char p[64];
  snprintf(p, sizeof p, "FOFAL_HTTP_PORT=%d", port);
  const char *env[] = {p, "FOFAL_API_ACCESS_LOG=1", NULL};
  pid_t api = h_spawn("api/fofal-api", "test-api-rapid-reset", NULL, env);
  cr_assert_eq(h_wait_ready(port, 60000), 0);
  long before = log_lines("test-api-rapid-reset", "/healthz", "\\\"ip\\\":\\\"127.0.0.1\\\"");
  json_t *j = run_bench(port, 4, "/healthz");
  /* The figures: on stderr (ctest shows them with --output-on-failure or -V) and in
   * $FOFAL_STACK_DIR/rapid-reset.json. (A cr_log_warn would make the run exit 1.) */
  char path[1024];
  snprintf(path, sizeof path, "%s/rapid-reset.json", h_env("FOFAL_STACK_DIR"));
  json_dump_file(j, path, JSON_INDENT(2));
  char *s = json_dumps(j, JSON_INDENT(2));
  fprintf(stderr, "rapid reset against fofal-api:\n%s\n", s);
  free(s);
  long handled = log_lines("test-api-rapid-reset", "/healthz", "\\\"ip\\\":\\\"127.0.0.1\\\"") - before;
  json_t *base = json_object_get(j, "baseline"), *att = json_object_get(j, "under_attack");
  json_int_t streams = json_integer_value(json_object_get(j, "reset_streams"));
  cr_expect_gt(streams, 10000, "the flood ran");
  fprintf(stderr, "flood streams that reached a handler: %ld of %lld\n", handled, (long long)streams);
  cr_expect_lt(handled, streams / 100, "cancelled streams are dropped inside h2o, before any handler");
  cr_expect_gt(json_integer_value(json_object_get(base, "probes")), 0);
  cr_expect_gt(json_integer_value(json_object_get(att, "probes")), 0, "the prober was served during the flood");
  cr_expect_eq(json_integer_value(json_object_get(att, "failures")), 0, "and never refused");
  cr_expect_eq(h_stop(api, SIGTERM), 0, "fofal-api survived the flood and stopped cleanly");
  json_decref(j);
}

/* The mitigation README gives, tested as it is shipped: ops/haproxy/fofal.cfg in front of
 * fofal-api. The flood (streams of /readyz, so that its requests are told from the
 * prober's /healthz in the API's access log) goes to the proxy; what reaches fofal-api is
 * HTTP/1.1 from the proxy, and at most a trickle of the cancelled streams. The prober,
 * through the same proxy, is served throughout. */
Test(rapid_reset, behind_the_shipped_haproxy_the_flood_stops_at_the_proxy, .timeout = 300) {
  int port = h_free_port(), pport = h_free_port();
  char p[64], bind[64], api_addr[64], cfg[1024], log[1024];
  snprintf(p, sizeof p, "FOFAL_HTTP_PORT=%d", port);
  const char *env[] = {p, "FOFAL_API_ACCESS_LOG=1", "FOFAL_API_TRUSTED_PROXIES=127.0.0.1", NULL};
  pid_t api = h_spawn("api/fofal-api", "test-api-rapid-reset-proxy", NULL, env);
  cr_assert_eq(h_wait_ready(port, 60000), 0);
  snprintf(bind, sizeof bind, "127.0.0.1:%d", pport);
  snprintf(api_addr, sizeof api_addr, "127.0.0.1:%d", port);
  snprintf(cfg, sizeof cfg, "%s/ops/haproxy/fofal.cfg", FOFAL_SOURCE_DIR);
  snprintf(log, sizeof log, "%s/logs/test-haproxy.log", h_env("FOFAL_STACK_DIR"));
  pid_t proxy = fork();
  cr_assert(proxy >= 0);
  if (proxy == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    setenv("FOFAL_PROXY_BIND", bind, 1);
    setenv("FOFAL_API_ADDR", api_addr, 1);
    execlp("haproxy", "haproxy", "-db", "-f", cfg, (char *)NULL);
    fprintf(stderr, "cannot run haproxy: %s (Debian package haproxy; ops/setup installs it)\n", strerror(errno));
    _exit(127);
  }
  cr_assert_eq(h_wait_ready(pport, 30000), 0, "fofal-api through haproxy (log: %s)", log);
  long before = log_lines("test-api-rapid-reset-proxy", "/readyz", "GET");
  json_t *j = run_bench(pport, 4, "/readyz");
  char *s = json_dumps(j, JSON_INDENT(2));
  fprintf(stderr, "rapid reset through ops/haproxy/fofal.cfg:\n%s\n", s);
  free(s);
  long reached = log_lines("test-api-rapid-reset-proxy", "/readyz", "GET") - before;
  json_t *att = json_object_get(j, "under_attack");
  json_int_t streams = json_integer_value(json_object_get(j, "reset_streams"));
  fprintf(stderr, "flood streams that reached fofal-api through the proxy: %ld of %lld\n", reached, (long long)streams);
  cr_expect_gt(streams, 1000, "the flood ran against the proxy");
  cr_expect_lt(reached, streams / 100, "the proxy drops cancelled streams: they do not reach fofal-api");
  cr_expect_gt(json_integer_value(json_object_get(att, "probes")), 0, "the prober was served through the proxy during the flood");
  cr_expect_eq(json_integer_value(json_object_get(att, "failures")), 0, "and never refused");
  int st = 0;
  cr_expect_eq(waitpid(proxy, &st, WNOHANG), 0, "haproxy is still running");
  kill(proxy, SIGTERM);
  waitpid(proxy, &st, 0);
  cr_expect_eq(h_stop(api, SIGTERM), 0, "fofal-api stopped cleanly");
  json_decref(j);
}
