/*
 * test_cloudevents.c — the event topics read as an analyst would read them (DESIGN.md
 * "Event envelope", issue 23 item 11): commands through the real API and decider, a
 * failed sign-in for an identity event, then the CloudEvents Python SDK's own Kafka
 * reader (tests/integration/cloudevents_reader.py, from the venv ops/setup makes,
 * $FOFAL_PYTOOLS) reads fofal.production.events and fofal.identity.events. Every record
 * of the test's tenant must be read in structured mode: the content-type header alone,
 * the attributes with the fofal extensions intact, and the event's data as data (in
 * binary mode the SDK would take the whole envelope for the data).
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static int port;
static pid_t dec, api;
static char tenant[32];

static void setup(void) {
  h_tenant(tenant);
  port = h_free_port();
  dec = h_start_decider("it-ce");
  api = h_start_api(port);
}

static void teardown(void) {
  h_stop(api, SIGTERM);
  h_stop(dec, SIGTERM);
}

TestSuite(cloudevents, .init = setup, .fini = teardown, .timeout = 300);

/* The SDK reader's lines for the tenant's records of `topics` (a new array). */
static json_t *sdk_read(const char *topics) {
  char *cmd = fofal_asprintf("'%s/bin/python' '%s/tests/integration/cloudevents_reader.py' --brokers '%s' "
                             "--tenant '%s' --timeout 60 %s",
                             h_env("FOFAL_PYTOOLS"), FOFAL_SOURCE_DIR, h_env("FOFAL_KAFKA_BROKERS"), tenant, topics);
  FILE *f = popen(cmd, "r");
  cr_assert_not_null(f, "cannot run %s", cmd);
  json_t *out = json_array();
  char line[1 << 16];
  while (fgets(line, sizeof line, f)) {
    json_error_t jerr;
    json_t *j = json_loads(line, 0, &jerr);
    cr_assert_not_null(j, "the reader printed a line that is not JSON: %.200s", line);
    json_array_append_new(out, j);
  }
  int st = pclose(f);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s failed (status %d): is the venv there (ops/setup)?", cmd, st);
  free(cmd);
  return out;
}

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* One record as the SDK read it: structured mode, every attribute intact. */
static void expect_structured(const json_t *rec, const char *want_actor_prefix) {
  const char *where = str(rec, "topic");
  json_int_t off = json_integer_value(json_object_get(rec, "offset"));
  cr_assert_null(json_object_get(rec, "error"), "%s@%lld: the SDK refused it: %s", where, (long long)off,
                 str(rec, "error"));
  /* The headers: content-type alone, no ce_* (DESIGN.md: structured mode). */
  json_t *h = json_object_get(rec, "headers");
  const char *name;
  json_t *v;
  json_object_foreach(h, name, v) cr_expect(strncmp(name, "ce_", 3), "%s@%lld has the header %s", where, (long long)off, name);
  cr_expect_str_eq(str(h, "content-type") ?: "(none)", "application/cloudevents+json", "%s@%lld content-type", where,
                   (long long)off);
  cr_expect_eq(json_object_size(h), 1, "%s@%lld: one header (got %zu)", where, (long long)off, json_object_size(h));
  /* The attributes the SDK found: the extensions only the value holds are there. */
  json_t *a = json_object_get(rec, "attributes");
  cr_expect_str_eq(str(a, "specversion") ?: "", "1.0");
  cr_expect(str(a, "id") && fofal_uuid_valid(str(a, "id")), "%s@%lld id", where, (long long)off);
  cr_expect(str(a, "type") && !strncmp(str(a, "type"), "fofal.", 6), "%s@%lld type", where, (long long)off);
  cr_expect(str(a, "source") && !strncmp(str(a, "source"), "/fofal/", 7), "%s@%lld source", where, (long long)off);
  cr_expect_str_eq(str(a, "subject") ?: "", str(rec, "key") ?: "(no key)", "%s@%lld subject is the key", where,
                   (long long)off);
  cr_expect_str_eq(str(a, "datacontenttype") ?: "", "application/json", "%s@%lld datacontenttype", where, (long long)off);
  cr_expect_str_eq(str(a, "fofaltenant") ?: "(missing)", tenant, "%s@%lld fofaltenant", where, (long long)off);
  cr_expect(json_is_integer(json_object_get(a, "fofalseq")), "%s@%lld fofalseq is an integer", where, (long long)off);
  cr_expect(str(a, "fofalactor") && !strncmp(str(a, "fofalactor"), want_actor_prefix, strlen(want_actor_prefix)),
            "%s@%lld fofalactor %s (want %s…)", where, (long long)off, str(a, "fofalactor") ?: "(missing)",
            want_actor_prefix);
  cr_expect(str(a, "fofalcommandid") && *str(a, "fofalcommandid"), "%s@%lld fofalcommandid", where, (long long)off);
  cr_expect(str(a, "fofalcorrelationid") && *str(a, "fofalcorrelationid"), "%s@%lld fofalcorrelationid", where,
            (long long)off);
  /* The data is the event's data, not the envelope. */
  json_t *d = json_object_get(rec, "data");
  cr_expect(json_is_object(d), "%s@%lld data is an object", where, (long long)off);
  cr_expect_null(json_object_get(d, "specversion"), "%s@%lld: the SDK took the envelope for the data", where,
                 (long long)off);
}

Test(cloudevents, every_event_reads_as_structured_mode_with_the_sdk) {
  char *tok = h_token(tenant, "planner"), id[FOFAL_UUID_LEN + 1], body[256];
  fofal_uuid7(id);
  snprintf(body, sizeof body, "{\"order_id\":\"%s\",\"article\":\"FOUTA-CE\",\"quantity\":12}", id);
  cr_assert_eq(h_command_ok(port, tok, "production.order.create", "ce-create", NULL, body, NULL), 201);
  snprintf(body, sizeof body, "{\"order_id\":\"%s\"}", id);
  cr_assert_eq(h_command_ok(port, tok, "production.order.release", "ce-release", NULL, body, NULL), 201);
  snprintf(body, sizeof body, "{\"order_id\":\"%s\",\"reason\":\"test\"}", id);
  cr_assert_eq(h_command_ok(port, tok, "production.order.cancel", "ce-cancel", NULL, body, NULL), 201);
  /* An identity event (fofal-api's own producer): a sign-in that fails. */
  h_resp_t r;
  snprintf(body, sizeof body, "{\"tenant\":\"%s\",\"username\":\"nobody\",\"password\":\"not-the-password\"}", tenant);
  cr_assert_eq(h_http(port, "POST", "/api/v1/auth/login", "Content-Type: application/json\r\n", body, &r, 10000), 0);
  cr_expect_eq(r.status, 401, "an unknown account cannot sign in");
  h_resp_free(&r);

  /* The identity event is produced after the answer: read until it is there. */
  json_t *recs = NULL;
  size_t prod = 0, ident = 0;
  for (int attempt = 0; attempt < 40; attempt++) {
    json_decref(recs);
    recs = sdk_read("fofal.production.events fofal.identity.events");
    size_t i;
    json_t *rec;
    prod = ident = 0;
    json_array_foreach(recs, i, rec) {
      if (!strcmp(str(rec, "topic") ?: "", "fofal.production.events")) prod++;
      else ident++;
    }
    if (prod >= 3 && ident >= 1) break;
    usleep(500 * 1000);
  }
  cr_assert_eq(prod, 3, "three production events of the tenant (got %zu)", prod);
  cr_assert_geq(ident, 1, "the failed sign-in's identity event (got %zu)", ident);
  size_t i;
  json_t *rec;
  const char *types[] = {"fofal.production.order_created.v1", "fofal.production.order_released.v1",
                         "fofal.production.order_cancelled.v1"},
             *keys[] = {"tester/ce-create", "tester/ce-release", "tester/ce-cancel"};
  size_t k = 0;
  json_array_foreach(recs, i, rec) {
    json_t *a = json_object_get(rec, "attributes");
    if (!strcmp(str(rec, "topic") ?: "", "fofal.production.events")) {
      expect_structured(rec, "u:tester/planner");
      cr_expect_str_eq(str(a, "type") ?: "", types[k]);
      cr_expect_str_eq(str(a, "subject") ?: "", id);
      cr_expect_eq(json_integer_value(json_object_get(a, "fofalseq")), (json_int_t)k + 1, "seq %zu", k + 1);
      cr_expect_str_eq(str(a, "fofalcommandid") ?: "", keys[k], "the command id is <sub>/<Idempotency-Key>");
      if (k == 0) {
        cr_expect_str_eq(str(json_object_get(rec, "data"), "article") ?: "", "FOUTA-CE", "order_created's data");
        cr_expect_eq(json_integer_value(json_object_get(json_object_get(rec, "data"), "quantity")), 12);
      }
      k++;
    } else {
      expect_structured(rec, "anonymous");
      cr_expect_str_eq(str(a, "type") ?: "", "fofal.identity.login_failed.v1");
    }
  }
  json_decref(recs);
  free(tok);
}
