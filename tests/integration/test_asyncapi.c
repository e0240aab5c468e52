/*
 * test_asyncapi.c — GET /api/v1/asyncapi.json from a real fofal-api (issue 13): the
 * AsyncAPI 3.0 document of every Kafka topic, public like the OpenAPI document, cached
 * with an ETag, its partitions those the topics of the test stack have, and valid for the
 * official parser (@asyncapi/parser, installed by ops/setup; ops/test gives its folder in
 * FOFAL_ASYNCAPI_PARSER) — the AsyncAPI 3 JSON Schema, the Kafka bindings' schemas, every
 * $ref and the rule that an operation's messages are its channel's.
 *
 * What the document holds message by message is tests/unit/api/test_asyncapi.c's; here only
 * fofal-api runs (no decider, no projector).
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static int port;
static pid_t api;

static void setup(void) {
  port = h_free_port();
  char p[64];
  snprintf(p, sizeof p, "FOFAL_HTTP_PORT=%d", port);
  const char *env[] = {p, NULL};
  api = h_spawn("api/fofal-api", "test-asyncapi-api", NULL, env);
  cr_assert_eq(h_wait_ready(port, 30000), 0, "fofal-api did not become ready on port %d", port);
}

static void teardown(void) { h_stop(api, SIGTERM); }

TestSuite(asyncapi, .init = setup, .fini = teardown, .timeout = 300);

/* GET path without a token: 200 with an ETag and Cache-Control: no-cache, then 304 for
 * If-None-Match with that ETag. Returns the document (new). */
static json_t *get_document(const char *path, char **body_out) {
  h_resp_t r;
  cr_assert_eq(h_http(port, "GET", path, NULL, NULL, &r, 10000), 0, "no answer to GET %s", path);
  cr_assert_eq(r.status, 200, "GET %s without a token: %d (public like openapi.json)", path, r.status);
  char *ctype = h_resp_header(&r, "content-type"), *cache = h_resp_header(&r, "cache-control"),
       *etag = h_resp_header(&r, "etag");
  cr_expect(ctype && !strncmp(ctype, "application/json", 16), "%s content-type %s", path, ctype);
  cr_expect(cache && !strcmp(cache, "no-cache"), "%s Cache-Control %s", path, cache);
  cr_assert(etag && etag[0] == '"' && strlen(etag) == 34, "%s has a strong ETag (%s)", path, etag);
  json_error_t jerr;
  json_t *doc = json_loads(r.body, JSON_REJECT_DUPLICATES, &jerr);
  cr_assert_not_null(doc, "%s is not JSON: %s", path, jerr.text);
  if (body_out) *body_out = strdup(r.body);
  h_resp_free(&r);

  char hdr[128];
  snprintf(hdr, sizeof hdr, "If-None-Match: W/\"x\", %s\r\n", etag);
  cr_assert_eq(h_http(port, "GET", path, hdr, NULL, &r, 10000), 0);
  cr_expect_eq(r.status, 304, "%s with If-None-Match of its ETag: %d", path, r.status);
  cr_expect_eq(r.body_len, 0, "a 304 has no body");
  char *etag2 = h_resp_header(&r, "etag");
  cr_expect(etag2 && !strcmp(etag2, etag), "the 304 names the same ETag");
  h_resp_free(&r);
  cr_assert_eq(h_http(port, "GET", path, "If-None-Match: \"0123\"\r\n", NULL, &r, 10000), 0);
  cr_expect_eq(r.status, 200, "another ETag gets the document");
  h_resp_free(&r);
  free(etag2);
  free(ctype);
  free(cache);
  free(etag);
  return doc;
}

/* o["a"]["b"]… for the keys up to NULL (borrowed), or NULL. */
static json_t *g(json_t *o, ...) {
  va_list ap;
  va_start(ap, o);
  for (const char *k; o && (k = va_arg(ap, const char *));) o = json_object_get(o, k);
  va_end(ap);
  return o;
}
#define at(o, ...) g(o, __VA_ARGS__, NULL)

Test(asyncapi, served_public_cached_with_the_stacks_partitions) {
  json_t *doc = get_document("/api/v1/asyncapi.json", NULL);
  cr_expect_str_eq(json_string_value(json_object_get(doc, "asyncapi")), "3.0.0");
  fofal_kafka_t *k = NULL;
  char err[256];
  fofal_kafka_opts_t o = {.brokers = h_env("FOFAL_KAFKA_BROKERS"), .client_id = "test-asyncapi"};
  cr_assert_eq(fofal_kafka_producer_new(&k, &o, err, sizeof err), 0, "%s", err);
  fofal_topic_spec_t topics[64];
  int n = fofal_topics_all(topics, 64, 1), modules = 0;
  for (int i = 0; i < n; i++) {
    json_t *kafka = at(doc, "channels", topics[i].name, "bindings", "kafka");
    cr_assert_not_null(kafka, "a channel for %s", topics[i].name);
    int want = fofal_kafka_partition_count(k, topics[i].name, 10000, err, sizeof err);
    cr_expect_eq(json_integer_value(json_object_get(kafka, "partitions")), want, "%s has %d partitions", topics[i].name,
                 want);
  }
  for (int m = 0; fofal_modules[m]; m++, modules++) {
    char topic[128];
    fofal_topic_events(fofal_modules[m], topic, sizeof topic);
    cr_expect_not_null(at(doc, "channels", topic, "messages"), "a channel for %s", topic);
  }
  cr_expect_geq(modules, 1);
  fofal_kafka_free(k);
  json_decref(doc);
  /* The OpenAPI document is served the same way, and names the route. */
  doc = get_document("/api/v1/openapi.json", NULL);
  json_t *op = at(doc, "paths", "/api/v1/asyncapi.json", "get");
  cr_assert_not_null(op, "OpenAPI documents GET /api/v1/asyncapi.json");
  cr_expect_eq(json_array_size(json_object_get(op, "security")), 0, "as public as openapi.json");
  json_decref(doc);
}

Test(asyncapi, valid_for_the_asyncapi_parser) {
  char *body = NULL;
  json_t *doc = get_document("/api/v1/asyncapi.json", &body);
  json_decref(doc);
  char file[] = "/tmp/fofal-asyncapi-XXXXXX";
  int fd = mkstemp(file);
  cr_assert_geq(fd, 0);
  size_t len = strlen(body);
  cr_assert_eq(write(fd, body, len), (ssize_t)len);
  close(fd);
  free(body);
  char *cmd = fofal_asprintf("node '%s/tests/integration/asyncapi_check.js' '%s' '%s' 2>&1", FOFAL_SOURCE_DIR,
                             h_env("FOFAL_ASYNCAPI_PARSER"), file);
  FILE *f = popen(cmd, "r");
  cr_assert_not_null(f, "cannot run %s", cmd);
  char line[4096], last[4096] = "";
  while (fgets(line, sizeof line, f)) {
    fprintf(stderr, "asyncapi: %s", line);
    snprintf(last, sizeof last, "%s", line);
  }
  int st = pclose(f);
  unlink(file);
  cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0,
            "the parser refuses the document (status %d; exit 2: is @asyncapi/parser in $FOFAL_ASYNCAPI_PARSER? run "
            "ops/setup): %s",
            st, last);
  cr_expect(!strncmp(last, "valid: ", 7), "the parser's verdict: %s", last);
  free(cmd);
}
