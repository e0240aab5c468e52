/*
 * test_envelope.c — events/envelope.c: the CloudEvents 1.0 envelope.
 *
 * Round trip (every attribute, data, time to the microsecond), every reason decode
 * rejects an event, the size cap, upcasting through registered upcasters, and
 * fofal_event_type_module. Criterion runs each test in its own process, so the
 * upcasters a test registers do not leak into another test.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"

/* 2026-11-24T08:15:02.123457Z */
#define T_US (1795508102LL * 1000000 + 123457)
#define ID "018f3c4e-9a2b-7c3d-8e4f-5a6b7c8d9e0f"
#define SUBJECT "0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee"

static void fill(fofal_event_t *ev) {
  memset(ev, 0, sizeof *ev);
  ev->id = fofal_strdup(ID);
  ev->source = fofal_strdup("/fofal/production");
  ev->type = fofal_strdup("fofal.production.order_created.v1");
  ev->subject = fofal_strdup(SUBJECT);
  ev->time_us = T_US;
  ev->tenant = fofal_strdup("tenant-a");
  ev->seq = 42;
  ev->actor = fofal_strdup("planner-7");
  ev->command_id = fofal_strdup("cmd-1");
  ev->correlation_id = fofal_strdup("corr-1");
  ev->data = json_pack("{s:s,s:i,s:{s:[i,i,s]},s:n,s:b}", "article", "FT-200", "quantity", 250, "nested",
                       "list", 1, 2, "three", "none", "flag", 1);
  cr_assert_not_null(ev->data);
}

/* A valid encoded event as a JSON object (new reference). */
static json_t *valid_object(void) {
  fofal_event_t ev;
  fill(&ev);
  char *s = fofal_event_encode(&ev);
  json_error_t jerr;
  json_t *o = json_loads(s, 0, &jerr);
  cr_assert_not_null(o, "encode produced invalid JSON: %s", jerr.text);
  free(s);
  fofal_event_clear(&ev);
  return o;
}

/* Decodes `o` (stolen); returns decode's result, *ev is left for the caller to clear. */
static int decode_obj(json_t *o, fofal_event_t *ev, char *errbuf, size_t errlen) {
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  int rc = fofal_event_decode(ev, s, strlen(s), errbuf, errlen);
  free(s);
  return rc;
}

static void assert_cleared(const fofal_event_t *ev) {
  cr_assert_null(ev->id);
  cr_assert_null(ev->source);
  cr_assert_null(ev->type);
  cr_assert_null(ev->subject);
  cr_assert_null(ev->tenant);
  cr_assert_null(ev->actor);
  cr_assert_null(ev->command_id);
  cr_assert_null(ev->correlation_id);
  cr_assert_null(ev->data);
}

/* Decoding `o` (stolen) must fail with `want`, leave *ev cleared and explain why. */
static void expect_reject(json_t *o, int want, const char *what) {
  fofal_event_t ev;
  char err[256] = "";
  int rc = decode_obj(o, &ev, err, sizeof err);
  cr_assert_eq(rc, want, "%s: decode returned %s, want %s", what, fofal_err_name(rc), fofal_err_name(want));
  cr_assert_neq(err[0], '\0', "%s: errbuf left empty", what);
  assert_cleared(&ev);
  fofal_event_clear(&ev);
}

/* ------------------------------------------------------------- round trip */

Test(envelope, round_trip_every_attribute) {
  fofal_event_t in, out;
  char err[256] = "";
  fill(&in);
  char *s = fofal_event_encode(&in);
  cr_assert_not_null(s);
  int rc = fofal_event_decode(&out, s, strlen(s), err, sizeof err);
  cr_assert_eq(rc, 0, "decode: %s", err);
  cr_assert_str_eq(out.id, in.id);
  cr_assert_str_eq(out.source, in.source);
  cr_assert_str_eq(out.type, in.type);
  cr_assert_str_eq(out.subject, in.subject);
  cr_assert_eq(out.time_us, in.time_us, "time %lld != %lld", (long long)out.time_us, (long long)in.time_us);
  cr_assert_str_eq(out.tenant, in.tenant);
  cr_assert_eq(out.seq, 42);
  cr_assert_str_eq(out.actor, in.actor);
  cr_assert_str_eq(out.command_id, in.command_id);
  cr_assert_str_eq(out.correlation_id, in.correlation_id);
  cr_assert(json_equal(out.data, in.data), "data changed in the round trip");
  free(s);
  fofal_event_clear(&in);
  fofal_event_clear(&out);
}

Test(envelope, encoded_shape_is_cloudevents) {
  json_t *o = valid_object();
  cr_assert_str_eq(json_string_value(json_object_get(o, "specversion")), "1.0");
  cr_assert_str_eq(json_string_value(json_object_get(o, "datacontenttype")), "application/json");
  cr_assert_str_eq(json_string_value(json_object_get(o, "time")), "2026-11-24T08:15:02.123457Z");
  cr_assert_str_eq(json_string_value(json_object_get(o, "fofaltenant")), "tenant-a");
  cr_assert_eq(json_integer_value(json_object_get(o, "fofalseq")), 42);
  cr_assert_str_eq(json_string_value(json_object_get(o, "fofalactor")), "planner-7");
  cr_assert_str_eq(json_string_value(json_object_get(o, "fofalcommandid")), "cmd-1");
  cr_assert_str_eq(json_string_value(json_object_get(o, "fofalcorrelationid")), "corr-1");
  cr_assert(json_is_object(json_object_get(o, "data")));
  json_decref(o);
}

/* The Kafka binding's structured mode: the content-type header alone, no ce_* header (a
 * CloudEvents SDK that sees one reads the record as binary mode). */
Test(envelope, kafka_headers_are_structured_mode) {
  const fofal_kheader_t *h = NULL;
  int n = fofal_event_kafka_headers(&h);
  cr_assert_eq(n, 1, "one header (got %d)", n);
  cr_assert_str_eq(h[0].name, "content-type");
  cr_assert_str_eq(h[0].value, "application/cloudevents+json");
  for (int i = 0; i < n; i++) cr_expect(strncmp(h[i].name, "ce_", 3), "no ce_* header (%s)", h[i].name);
}

Test(envelope, optional_attributes_absent_stay_null) {
  fofal_event_t in, out;
  char err[256] = "";
  fill(&in);
  free(in.actor);
  free(in.command_id);
  free(in.correlation_id);
  in.actor = in.command_id = in.correlation_id = NULL;
  json_decref(in.data);
  in.data = NULL; /* encodes as {} */
  char *s = fofal_event_encode(&in);
  json_t *o = json_loads(s, 0, NULL);
  cr_assert_null(json_object_get(o, "fofalactor"));
  cr_assert_null(json_object_get(o, "fofalcommandid"));
  cr_assert_null(json_object_get(o, "fofalcorrelationid"));
  json_decref(o);
  cr_assert_eq(fofal_event_decode(&out, s, strlen(s), err, sizeof err), 0, "decode: %s", err);
  cr_assert_null(out.actor);
  cr_assert_null(out.command_id);
  cr_assert_null(out.correlation_id);
  cr_assert(json_is_object(out.data) && json_object_size(out.data) == 0);
  free(s);
  fofal_event_clear(&in);
  fofal_event_clear(&out);
}

Test(envelope, time_round_trips_to_the_microsecond) {
  static const int64_t times[] = {0, 1, 999999, 1000000, T_US, T_US + 1, 4102444799999999LL /* 2099-12-31 */,
                                  -1, -1000001};
  for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
    fofal_event_t in, out;
    char err[256] = "";
    fill(&in);
    in.time_us = times[i];
    char *s = fofal_event_encode(&in);
    cr_assert_eq(fofal_event_decode(&out, s, strlen(s), err, sizeof err), 0, "decode: %s", err);
    cr_assert_eq(out.time_us, times[i], "time %lld came back as %lld", (long long)times[i], (long long)out.time_us);
    free(s);
    fofal_event_clear(&in);
    fofal_event_clear(&out);
  }
}

Test(envelope, decode_accepts_an_offset_time) {
  json_t *o = valid_object();
  json_object_set_new(o, "time", json_string("2026-11-24T09:15:02.123457+01:00"));
  fofal_event_t ev;
  char err[256] = "";
  cr_assert_eq(decode_obj(o, &ev, err, sizeof err), 0, "%s", err);
  cr_assert_eq(ev.time_us, T_US);
  fofal_event_clear(&ev);
}

Test(envelope, clear_is_idempotent_and_null_safe) {
  fofal_event_t ev;
  fill(&ev);
  fofal_event_clear(&ev);
  assert_cleared(&ev);
  fofal_event_clear(&ev);
  fofal_event_clear(NULL);
}

/* ---------------------------------------------------------------- rejects */

Test(envelope, rejects_not_json) {
  static const char *bad[] = {"", "{", "not json", "{\"id\": }", "{\"a\":1} trailing"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    fofal_event_t ev;
    char err[256] = "";
    int rc = fofal_event_decode(&ev, bad[i], strlen(bad[i]), err, sizeof err);
    cr_assert_eq(rc, FOFAL_EPARSE, "\"%s\": got %s", bad[i], fofal_err_name(rc));
    cr_assert_neq(err[0], '\0');
    assert_cleared(&ev);
  }
}

Test(envelope, rejects_not_an_object) {
  static const char *bad[] = {"[]", "[1,2]", "\"event\"", "42", "null", "true"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    fofal_event_t ev;
    char err[256] = "";
    int rc = fofal_event_decode(&ev, bad[i], strlen(bad[i]), err, sizeof err);
    cr_assert_eq(rc, FOFAL_EPARSE, "%s: got %s", bad[i], fofal_err_name(rc));
    assert_cleared(&ev);
  }
}

Test(envelope, rejects_duplicate_keys) {
  json_t *o = valid_object();
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  /* s is "{...}": splice a second "id" in front. */
  char *dup = fofal_asprintf("{\"id\":\"x\",%s", s + 1);
  fofal_event_t ev;
  int rc = fofal_event_decode(&ev, dup, strlen(dup), NULL, 0);
  cr_assert_eq(rc, FOFAL_EPARSE, "got %s", fofal_err_name(rc));
  free(dup);
  free(s);
}

Test(envelope, rejects_bad_specversion) {
  json_t *o = valid_object();
  json_object_set_new(o, "specversion", json_string("0.3"));
  expect_reject(o, FOFAL_EINVAL, "specversion 0.3");
  o = valid_object();
  json_object_set_new(o, "specversion", json_real(1.0));
  expect_reject(o, FOFAL_EINVAL, "specversion as a number");
  o = valid_object();
  json_object_del(o, "specversion");
  expect_reject(o, FOFAL_EINVAL, "specversion missing");
}

Test(envelope, rejects_each_missing_required_attribute) {
  static const char *required[] = {"id", "source", "type", "subject", "fofaltenant", "fofalseq", "time", "data"};
  for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
    json_t *o = valid_object();
    cr_assert_eq(json_object_del(o, required[i]), 0, "%s not in the encoded event", required[i]);
    expect_reject(o, FOFAL_EINVAL, required[i]);
  }
}

Test(envelope, rejects_attributes_of_the_wrong_type) {
  static const char *strings[] = {"id", "source", "type", "subject", "fofaltenant", "time",
                                  "fofalactor", "fofalcommandid", "fofalcorrelationid"};
  for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
    json_t *o = valid_object();
    json_object_set_new(o, strings[i], json_integer(7));
    expect_reject(o, FOFAL_EINVAL, strings[i]);
  }
  json_t *o = valid_object();
  json_object_set_new(o, "fofalseq", json_string("42"));
  expect_reject(o, FOFAL_EINVAL, "fofalseq as a string");
  o = valid_object();
  json_object_set_new(o, "fofalseq", json_real(4.5));
  expect_reject(o, FOFAL_EINVAL, "fofalseq as a real");
}

Test(envelope, rejects_data_not_an_object) {
  json_t *bad[] = {json_pack("[i]", 1), json_string("x"), json_integer(1), json_null()};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    json_t *o = valid_object();
    json_object_set_new(o, "data", bad[i]);
    expect_reject(o, FOFAL_EINVAL, "data not an object");
  }
}

Test(envelope, rejects_bad_time) {
  static const char *bad[] = {"yesterday", "", "2026-11-24", "2026-11-24T08:15:02", "2026-02-30T00:00:00Z",
                              "2026-11-24T08:15:02Zjunk"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    json_t *o = valid_object();
    json_object_set_new(o, "time", json_string(bad[i]));
    expect_reject(o, FOFAL_EINVAL, bad[i]);
  }
}

Test(envelope, rejects_type_without_version) {
  static const char *bad[] = {"fofal.test.thing_done", "fofal.test.thing_done.v", "fofal.test.thing_done.v0",
                              "fofal.test.thing_done.vx", "fofal.test.thing_done.v1x", "fofal.test.thing_done.V1",
                              "fofal.test.thing_done.v-1", "novdot"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    json_t *o = valid_object();
    json_object_set_new(o, "type", json_string(bad[i]));
    expect_reject(o, FOFAL_EINVAL, bad[i]);
  }
}

Test(envelope, rejects_type_whose_version_is_not_plain_digits) {
  /* ".vN" is "v" and digits. strtol() also takes a sign and leading blanks, so these
   * would decode as (and be rewritten to) "….v1". */
  static const char *bad[] = {"fofal.test.thing_done.v+1", "fofal.test.thing_done.v 1"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    json_t *o = valid_object();
    json_object_set_new(o, "type", json_string(bad[i]));
    fofal_event_t ev;
    char err[256] = "";
    int rc = decode_obj(o, &ev, err, sizeof err);
    cr_expect_eq(rc, FOFAL_EINVAL, "\"%s\" accepted as type \"%s\"", bad[i], ev.type ? ev.type : "(null)");
    fofal_event_clear(&ev);
  }
}

static char *padded_event(size_t total) {
  json_t *o = valid_object();
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  size_t n = strlen(s);
  cr_assert(n < total);
  char *buf = fofal_malloc(total + 1);
  memcpy(buf, s, n);
  memset(buf + n, ' ', total - n); /* trailing whitespace is valid JSON */
  buf[total] = '\0';
  free(s);
  return buf;
}

Test(envelope, size_cap_is_exact) {
  fofal_event_t ev;
  char err[256] = "";
  char *buf = padded_event(FOFAL_EVENT_MAX_BYTES);
  cr_assert_eq(fofal_event_decode(&ev, buf, FOFAL_EVENT_MAX_BYTES, err, sizeof err), 0, "at the cap: %s", err);
  cr_assert_str_eq(ev.id, ID);
  fofal_event_clear(&ev);
  free(buf);

  buf = padded_event(FOFAL_EVENT_MAX_BYTES + 1);
  err[0] = '\0';
  int rc = fofal_event_decode(&ev, buf, FOFAL_EVENT_MAX_BYTES + 1, err, sizeof err);
  cr_assert_eq(rc, FOFAL_ETOOBIG, "one byte over the cap: %s", fofal_err_name(rc));
  cr_assert_neq(err[0], '\0');
  assert_cleared(&ev);
  free(buf);
}

Test(envelope, errbuf_may_be_null) {
  fofal_event_t ev;
  cr_assert_eq(fofal_event_decode(&ev, "[]", 2, NULL, 0), FOFAL_EPARSE);
  json_t *o = valid_object();
  json_object_del(o, "id");
  cr_assert_eq(decode_obj(o, &ev, NULL, 0), FOFAL_EINVAL);
}

/* -------------------------------------------------------------- upcasting */

/* fofal.test.thing_done v1 → v2: "qty" was renamed "quantity". */
static int thing_v1_to_v2(json_t **data) {
  json_t *q = json_object_get(*data, "qty");
  if (!q) return FOFAL_EINVAL;
  json_object_set(*data, "quantity", q);
  json_object_del(*data, "qty");
  return 0;
}

/* fofal.test.chain v1 → v2 replaces the object; v2 → v3 adds a field. */
static int chain_v1_to_v2(json_t **data) {
  json_t *n = json_pack("{s:O,s:i}", "wrapped", *data, "step", 2);
  json_decref(*data);
  *data = n;
  return 0;
}

static int chain_v2_to_v3(json_t **data) {
  json_object_set_new(*data, "step", json_integer(3));
  return 0;
}

static void register_upcasters(void) {
  fofal_upcaster_register("fofal.test.thing_done", 1, thing_v1_to_v2);
  fofal_upcaster_register("fofal.test.chain", 2, chain_v2_to_v3); /* order of registration must not matter */
  fofal_upcaster_register("fofal.test.chain", 1, chain_v1_to_v2);
}

static json_t *typed(const char *type, json_t *data /* stolen */) {
  json_t *o = valid_object();
  json_object_set_new(o, "type", json_string(type));
  json_object_set_new(o, "data", data);
  return o;
}

Test(upcast, v1_becomes_v2_with_the_renamed_field, .init = register_upcasters) {
  fofal_event_t ev;
  char err[256] = "";
  int rc = decode_obj(typed("fofal.test.thing_done.v1", json_pack("{s:i,s:s}", "qty", 12, "who", "w1")), &ev, err,
                      sizeof err);
  cr_assert_eq(rc, 0, "%s", err);
  cr_assert_str_eq(ev.type, "fofal.test.thing_done.v2");
  json_t *want = json_pack("{s:i,s:s}", "quantity", 12, "who", "w1");
  cr_assert(json_equal(ev.data, want), "upcast data is not {quantity:12, who:w1}");
  cr_assert_str_eq(ev.id, ID, "upcasting must not touch the other attributes");
  cr_assert_eq(ev.seq, 42);
  json_decref(want);
  fofal_event_clear(&ev);
}

Test(upcast, v2_passes_unchanged, .init = register_upcasters) {
  fofal_event_t ev;
  char err[256] = "";
  json_t *data = json_pack("{s:i,s:i}", "quantity", 12, "qty", 99);
  json_t *want = json_deep_copy(data);
  int rc = decode_obj(typed("fofal.test.thing_done.v2", data), &ev, err, sizeof err);
  cr_assert_eq(rc, 0, "%s", err);
  cr_assert_str_eq(ev.type, "fofal.test.thing_done.v2");
  cr_assert(json_equal(ev.data, want), "a current-version event was modified");
  json_decref(want);
  fofal_event_clear(&ev);
}

Test(upcast, steps_are_chained, .init = register_upcasters) {
  fofal_event_t ev;
  char err[256] = "";
  int rc = decode_obj(typed("fofal.test.chain.v1", json_pack("{s:s}", "a", "b")), &ev, err, sizeof err);
  cr_assert_eq(rc, 0, "%s", err);
  cr_assert_str_eq(ev.type, "fofal.test.chain.v3");
  json_t *want = json_pack("{s:{s:s},s:i}", "wrapped", "a", "b", "step", 3);
  cr_assert(json_equal(ev.data, want));
  json_decref(want);
  fofal_event_clear(&ev);

  rc = decode_obj(typed("fofal.test.chain.v2", json_pack("{s:i}", "step", 2)), &ev, err, sizeof err);
  cr_assert_eq(rc, 0, "%s", err);
  cr_assert_str_eq(ev.type, "fofal.test.chain.v3");
  cr_assert_eq(json_integer_value(json_object_get(ev.data, "step")), 3);
  cr_assert_null(json_object_get(ev.data, "wrapped"), "v2 must start at the v2→v3 step");
  fofal_event_clear(&ev);
}

Test(upcast, other_types_are_not_upcast, .init = register_upcasters) {
  static const char *types[] = {"fofal.test.thing_done_late.v1", "fofal.test.thing.v1", "fofal.other.thing_done.v1",
                                "xfofal.test.thing_done.v1"};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    fofal_event_t ev;
    char err[256] = "";
    int rc = decode_obj(typed(types[i], json_pack("{s:i}", "qty", 1)), &ev, err, sizeof err);
    cr_assert_eq(rc, 0, "%s: %s", types[i], err);
    cr_assert_str_eq(ev.type, types[i]);
    cr_assert_eq(json_integer_value(json_object_get(ev.data, "qty")), 1, "%s was upcast", types[i]);
    fofal_event_clear(&ev);
  }
}

Test(upcast, a_failing_upcaster_fails_the_decode, .init = register_upcasters) {
  fofal_event_t ev;
  char err[256] = "";
  /* thing_v1_to_v2 refuses a v1 without "qty". */
  int rc = decode_obj(typed("fofal.test.thing_done.v1", json_pack("{s:i}", "quantity", 1)), &ev, err, sizeof err);
  cr_assert_eq(rc, FOFAL_EINVAL, "got %s", fofal_err_name(rc));
  cr_assert_neq(err[0], '\0');
  assert_cleared(&ev);
}

/* ------------------------------------------------------------ type module */

Test(envelope, type_module) {
  char out[32];
  cr_assert_eq(fofal_event_type_module("fofal.production.order_created.v1", out, sizeof out), 0);
  cr_assert_str_eq(out, "production");
  cr_assert_eq(fofal_event_type_module("fofal.test.thing_done.v2", out, sizeof out), 0);
  cr_assert_str_eq(out, "test");
  /* The buffer must hold the module and its NUL: 10 letters need 11 bytes. */
  cr_assert_eq(fofal_event_type_module("fofal.production.order_created.v1", out, 11), 0);
  cr_assert_str_eq(out, "production");
  cr_assert_eq(fofal_event_type_module("fofal.production.order_created.v1", out, 10), FOFAL_EINVAL);
}

Test(envelope, type_module_rejects) {
  static const char *bad[] = {"production.order_created.v1", "fofal.", "fofal.production", "fofal..x.v1",
                              "Fofal.production.x.v1", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char out[32];
    cr_assert_eq(fofal_event_type_module(bad[i], out, sizeof out), FOFAL_EINVAL, "\"%s\" accepted", bad[i]);
  }
}

/* The envelope as it was encoded before fofal_event_encode wrote text: a jansson tree,
 * dumped. Both must give the same bytes. */
static char *tree_encode(const fofal_event_t *ev) {
  char ts[32];
  fofal_time_format(ev->time_us, ts);
  json_t *o = json_object();
  json_object_set_new(o, "specversion", json_string("1.0"));
  json_object_set_new(o, "id", json_string(ev->id));
  json_object_set_new(o, "source", json_string(ev->source));
  json_object_set_new(o, "type", json_string(ev->type));
  json_object_set_new(o, "subject", json_string(ev->subject));
  json_object_set_new(o, "time", json_string(ts));
  json_object_set_new(o, "datacontenttype", json_string("application/json"));
  json_object_set_new(o, "fofaltenant", json_string(ev->tenant));
  json_object_set_new(o, "fofalseq", json_integer(ev->seq));
  if (ev->actor) json_object_set_new(o, "fofalactor", json_string(ev->actor));
  if (ev->command_id) json_object_set_new(o, "fofalcommandid", json_string(ev->command_id));
  if (ev->correlation_id) json_object_set_new(o, "fofalcorrelationid", json_string(ev->correlation_id));
  json_object_set_new(o, "data", ev->data ? json_incref(ev->data) : json_object());
  char *s = fofal_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  return s;
}

Test(envelope, text_encoding_equals_the_tree_encoding_byte_for_byte) {
  /* Every control byte, quotes, backslashes, a slash, accents, a 4-byte character, DEL. */
  char odd[200];
  size_t n = 0;
  for (int c = 1; c < 0x20; c++) odd[n++] = (char)c;
  const char *rest = "\"\\/é€😀\x7f end";
  memcpy(odd + n, rest, strlen(rest) + 1);
  const char *strings[] = {"plain", odd, "", "W-12 \"l'équipe\" \\ nuit"};
  const int64_t seqs[] = {1, 0, -5, 9007199254740993LL, INT64_MAX};
  json_t *datas[] = {NULL, json_object(), json_pack("{s:s,s:f,s:I,s:[i,b,n],s:{s:s}}", "a", odd, "m", 31.88, "n",
                                                    (json_int_t)-7, "l", 1, 1, "o", "k", "é")};
  int cases = 0;
  for (size_t si = 0; si < sizeof strings / sizeof *strings; si++)
    for (size_t qi = 0; qi < sizeof seqs / sizeof *seqs; qi++)
      for (size_t di = 0; di < sizeof datas / sizeof *datas; di++)
        for (int opt = 0; opt < 2; opt++) {
          fofal_event_t ev = {.id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", .source = "/fofal/production",
                              .type = "fofal.production.order_created.v1", .subject = (char *)strings[si],
                              .time_us = 1765000000123456LL + (int64_t)qi, .tenant = (char *)strings[(si + 1) % 4],
                              .seq = seqs[qi], .data = datas[di]};
          if (opt) {
            ev.actor = (char *)strings[(si + 2) % 4];
            ev.command_id = "cmd-1";
            ev.correlation_id = (char *)strings[(si + 3) % 4];
          }
          char *want = tree_encode(&ev), *got = fofal_event_encode(&ev);
          cr_assert_str_eq(got, want, "case %d", cases);
          free(want);
          free(got);
          cases++;
        }
  cr_expect_eq(cases, 4 * 5 * 3 * 2);
  for (size_t di = 0; di < sizeof datas / sizeof *datas; di++) json_decref(datas[di]);
}

Test(envelope, an_attribute_that_is_not_utf8_is_left_out_as_before) {
  fofal_event_t ev = {.id = "i", .source = "/fofal/x", .type = "fofal.x.y.v1", .subject = "s", .time_us = 1,
                      .tenant = "t", .seq = 1, .actor = "bad \xc3\x28 byte"};
  char *want = tree_encode(&ev), *got = fofal_event_encode(&ev);
  cr_expect_str_eq(got, want);
  cr_expect_null(strstr(got, "fofalactor"));
  free(want);
  free(got);
}
