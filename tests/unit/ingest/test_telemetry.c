/*
 * test_telemetry.c — ingest/telemetry.c: MQTT topic parsing, payload checks (hostile
 * input refused with a reason, never a crash), and the CloudEvent wrapping.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"

static int topic(const char *t, char *tenant, char *loom) { return fofal_telemetry_topic(t, strlen(t), tenant, loom); }

Test(telemetry, topic_parsing) {
  char tenant[64], loom[64];
  cr_assert_eq(topic("fofal/t1/looms/L-07/telemetry", tenant, loom), 0);
  cr_expect_str_eq(tenant, "t1");
  cr_expect_str_eq(loom, "L-07");
  const char *bad[] = {"fofal/t1/looms/L1/telemetryX", "fofal//looms/L1/telemetry", "fofal/t1/looms//telemetry",
                       "fofal/t1/loom/L1/telemetry", "other/t1/looms/L1/telemetry", "fofal/t 1/looms/L1/telemetry",
                       "fofal/t1/looms/L1/telemetry/extra", "fofal", "",
                       "fofal/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/looms/L1/telemetry"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_expect_eq(topic(bad[i], tenant, loom), FOFAL_EINVAL, "topic \"%s\" must be refused", bad[i]);
}

static int parse(const char *p, char *why) {
  json_t *d = NULL;
  int rc = fofal_telemetry_parse(p, strlen(p), &d, why, 256);
  if (!rc) cr_assert_not_null(d);
  else cr_assert_null(d);
  json_decref(d);
  return rc;
}

Test(telemetry, good_samples) {
  char why[256];
  cr_expect_eq(parse("{\"msg_id\":\"a1\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":0,\"ppm\":550,\"state\":\"running\"}", why), 0);
  cr_expect_eq(parse("{\"msg_id\":\"a2\",\"ts\":\"2026-11-28T06:00:00.5+01:00\",\"picks\":12,\"ppm\":0,\"state\":\"stopped\","
                     "\"stop_cause\":\"warp_break\",\"temperature\":-3.5,\"humidity\":61}", why), 0);
}

Test(telemetry, hostile_samples_are_refused_with_a_reason) {
  char why[256];
  struct {
    const char *payload, *reason;
  } bad[] = {
      {"garbage", "not a JSON object"},
      {"[1,2,3]", "not a JSON object"},
      {"{\"msg_id\":\"a\",\"msg_id\":\"b\"}", "not a JSON object"},
      {"{\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1,\"ppm\":1,\"state\":\"running\"}", "msg_id"},
      {"{\"msg_id\":\"a b\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1,\"ppm\":1,\"state\":\"running\"}", "msg_id"},
      {"{\"msg_id\":\"a\",\"ts\":\"yesterday\",\"picks\":1,\"ppm\":1,\"state\":\"running\"}", "ts"},
      {"{\"msg_id\":\"a\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":-1,\"ppm\":1,\"state\":\"running\"}", "picks"},
      {"{\"msg_id\":\"a\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1.5,\"ppm\":1,\"state\":\"running\"}", "picks"},
      {"{\"msg_id\":\"a\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1,\"ppm\":99999,\"state\":\"running\"}", "ppm"},
      {"{\"msg_id\":\"a\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1,\"ppm\":1,\"state\":\"flying\"}", "state"},
      {"{\"msg_id\":\"a\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1,\"ppm\":1,\"state\":\"stopped\",\"stop_cause\":\"aliens\"}", "stop_cause"},
      {"{\"msg_id\":\"a\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1,\"ppm\":1,\"state\":\"running\",\"humidity\":101}", "humidity"},
      {"{\"msg_id\":\"a\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1,\"ppm\":1,\"state\":\"running\",\"x\":1}", "unknown field"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cr_expect_neq(parse(bad[i].payload, why), 0, "payload %zu must be refused", i);
    cr_expect(strstr(why, bad[i].reason) != NULL, "payload %zu: reason \"%s\" should mention %s", i, why, bad[i].reason);
  }
  char big[FOFAL_TELEMETRY_MAX_BYTES + 10];
  memset(big, ' ', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  json_t *d = NULL;
  cr_expect_eq(fofal_telemetry_parse(big, strlen(big), &d, why, sizeof why), FOFAL_ETOOBIG);
  /* Deep nesting must not blow the stack: jansson caps depth; we just refuse it. */
  char deep[4000];
  memset(deep, '[', sizeof deep - 1);
  deep[sizeof deep - 1] = '\0';
  cr_expect_neq(fofal_telemetry_parse(deep, strlen(deep), &d, why, sizeof why), 0);
}

Test(telemetry, event_wraps_the_sample) {
  char why[256];
  json_t *d = NULL;
  const char *p = "{\"msg_id\":\"a1\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":7,\"ppm\":550,\"state\":\"running\"}";
  cr_assert_eq(fofal_telemetry_parse(p, strlen(p), &d, why, sizeof why), 0);
  char *s = fofal_telemetry_event("t1", "L01", d);
  fofal_event_t ev;
  cr_assert_eq(fofal_event_decode(&ev, s, strlen(s), why, sizeof why), 0, "%s", why);
  cr_expect_str_eq(ev.type, "fofal.telemetry.loom_sample.v1");
  cr_expect_str_eq(ev.subject, "L01");
  cr_expect_str_eq(ev.tenant, "t1");
  cr_expect(json_equal(ev.data, d));
  char ts[32];
  fofal_time_format(ev.time_us, ts);
  cr_expect_str_eq(ts, "2026-11-28T06:00:00.000000Z", "the event time is the sensor's");
  fofal_event_clear(&ev);
  free(s);
  json_decref(d);
}

Test(telemetry, encoded_event_is_the_same_event) {
  const char *p = "{\"msg_id\":\"m-1\",\"ts\":\"2026-11-28T06:00:00+01:00\",\"picks\":5,\"ppm\":600,\"state\":\"running\"}";
  json_t *d = NULL;
  char why[256], raw[FOFAL_TELEMETRY_EVENT_MAX], raw2[FOFAL_TELEMETRY_EVENT_MAX];
  fofal_telemetry_sample_t smp;
  cr_assert_eq(fofal_telemetry_parse_kind(FOFAL_TELEMETRY_LOOM, p, strlen(p), &d, why, sizeof why), 0, "%s", why);
  cr_assert_eq(fofal_telemetry_check(FOFAL_TELEMETRY_LOOM, p, strlen(p), &smp, why, sizeof why), 0, "%s", why);
  cr_expect_str_eq(smp.msg_id, "m-1");
  size_t n = fofal_telemetry_encode(FOFAL_TELEMETRY_LOOM, "t1", "L1", &smp, p, strlen(p), raw, sizeof raw);
  cr_assert_gt(n, 0);
  cr_expect_eq(n, strlen(raw));
  cr_assert_eq(fofal_telemetry_encode(FOFAL_TELEMETRY_LOOM, "t1", "L1", &smp, p, strlen(p), raw2, sizeof raw2), n);
  fofal_event_t ev;
  cr_assert_eq(fofal_event_decode(&ev, raw, strlen(raw), why, sizeof why), 0, "%s", why);
  cr_expect_str_eq(ev.type, FOFAL_TELEMETRY_LOOM_TYPE);
  cr_expect_str_eq(ev.subject, "L1");
  cr_expect_str_eq(ev.tenant, "t1");
  cr_expect_eq(ev.time_us, 1795842000000000LL);
  cr_expect(json_equal(ev.data, d));
  cr_expect_str_eq(raw, raw2, "a redelivered sample must get the same CloudEvent id");
  cr_expect_eq(fofal_telemetry_encode(FOFAL_TELEMETRY_LOOM, "t1", "L1", &smp, p, strlen(p), raw, 100), 0,
               "a short buffer is refused");
  fofal_event_clear(&ev);
  json_decref(d);
}

/* fofal_telemetry_check must accept exactly what the jansson check accepts, with the same
 * msg_id and time: on hand-picked edge cases, then on many mutations of good samples. */
static int same_verdict(int kind, const char *p, size_t len, const char *what) {
  json_t *d = NULL;
  char why1[256] = "", why2[256] = "";
  fofal_telemetry_sample_t smp;
  int slow = fofal_telemetry_parse_kind(kind, p, len, &d, why1, sizeof why1);
  int fast = fofal_telemetry_check(kind, p, len, &smp, why2, sizeof why2);
  cr_assert_eq(fast, slow, "%s: check %d, parse %d for [%.*s]", what, fast, slow, (int)len, p);
  if (slow) {
    cr_assert_str_eq(why2, why1, "%s: the same reason for [%.*s]", what, (int)len, p);
  } else {
    int64_t us = 0;
    fofal_time_parse(json_string_value(json_object_get(d, "ts")), &us);
    cr_assert_str_eq(smp.msg_id, json_string_value(json_object_get(d, "msg_id")), "%s", what);
    cr_assert_eq(smp.time_us, us, "%s", what);
  }
  json_decref(d);
  return slow;
}

Test(telemetry, check_agrees_with_the_jansson_path) {
  static const char *loom[] = {
      "{\"msg_id\":\"L01-1\",\"ts\":\"2026-11-28T06:00:00.123Z\",\"picks\":1000,\"ppm\":600,\"state\":\"running\"}",
      " {\n\"msg_id\" : \"a\" ,\t\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":0,\"ppm\":0.5,\"state\":\"stopped\",\r\n"
      "\"stop_cause\":\"mechanical\",\"temperature\":-20,\"humidity\":100.0} ",
      "{\"msg_id\":\"a\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":-0,\"ppm\":2000,\"state\":\"running\"}",
      "{\"msg_id\":\"a\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":01,\"ppm\":2,\"state\":\"running\"}",
      "{\"msg_id\":\"a\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1,\"ppm\":2e2,\"state\":\"running\"}",
      "{\"msg_id\":\"a\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1,\"ppm\":2000.0000000001,\"state\":\"running\"}",
      "{\"msg_id\":\"a\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1.0,\"ppm\":2,\"state\":\"running\"}",
      "{\"msg_id\":\"a\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":99999999999999999999,\"ppm\":2,\"state\":\"running\"}",
      "{\"msg_id\":\"a\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":999999999999999999,\"ppm\":2,\"state\":\"running\"}",
      "{\"msg_id\":\"a\\u0062\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1,\"ppm\":2,\"state\":\"running\"}",
      "{\"msg_id\":\"a\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1,\"ppm\":2,\"state\":\"running\",\"state\":\"stopped\"}",
      "{\"msg_id\":\"a\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1,\"ppm\":2,\"state\":\"running\",\"stop_cause\":null}",
      "{\"msg_id\":\"a\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1,\"ppm\":2,\"state\":\"running\"}x",
      "{\"msg_id\":\"a\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1,\"ppm\":2,\"state\":\"running\",}",
      "{\"msg_id\":\"a\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1,\"ppm\":2}",
      "{\"msg_id\":\"\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1,\"ppm\":2,\"state\":\"running\"}",
      "{\"msg_id\":\"a\",\"ts\":\"2026-02-30T06:00:00Z\",\"picks\":1,\"ppm\":2,\"state\":\"running\"}",
      "{\"msg_id\":\"a\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1,\"ppm\":\"2\",\"state\":\"running\"}",
      "{\"msg_id\":\"a\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":1,\"ppm\":-0.0,\"state\":\"running\",\"humidity\":-1}",
      "{}", "", "{", "{\"msg_id\"}", "null",
  };
  static const char *hall[] = {
      "{\"msg_id\":\"h1\",\"ts\":\"2026-11-28T06:00:00Z\",\"temperature\":27.5,\"humidity\":60}",
      "{\"msg_id\":\"h1\",\"ts\":\"2026-11-28T06:00:00Z\",\"humidity\":60}",
      "{\"msg_id\":\"h1\",\"ts\":\"2026-11-28T06:00:00Z\"}",
      "{\"msg_id\":\"h1\",\"ts\":\"2026-11-28T06:00:00Z\",\"temperature\":80.5}",
      "{\"msg_id\":\"h1\",\"ts\":\"2026-11-28T06:00:00Z\",\"humidity\":50,\"picks\":1}",
  };
  for (size_t i = 0; i < sizeof loom / sizeof loom[0]; i++) {
    same_verdict(FOFAL_TELEMETRY_LOOM, loom[i], strlen(loom[i]), "loom case");
    same_verdict(FOFAL_TELEMETRY_HALL, loom[i], strlen(loom[i]), "loom case as a hall");
  }
  for (size_t i = 0; i < sizeof hall / sizeof hall[0]; i++) {
    same_verdict(FOFAL_TELEMETRY_HALL, hall[i], strlen(hall[i]), "hall case");
    same_verdict(FOFAL_TELEMETRY_LOOM, hall[i], strlen(hall[i]), "hall case as a loom");
  }
  /* Mutations: each round changes, inserts or deletes one to three bytes, from a set
   * that reaches every branch of the scanner (digits, signs, quotes, separators...). */
  static const char alphabet[] = "0123456789-+.eE\"\\:,{}[] \tnulltruex_aZ\x01\xc3\xa9";
  unsigned seed = 12345;
  char buf[512];
  int accepted = 0;
  for (int round = 0; round < 20000; round++) {
    int kind = round % 3 == 2 ? FOFAL_TELEMETRY_HALL : FOFAL_TELEMETRY_LOOM;
    const char *base = kind == FOFAL_TELEMETRY_HALL ? hall[round % 2] : loom[round % 3];
    size_t len = strlen(base);
    memcpy(buf, base, len);
    int edits = 1 + (int)(round % 3);
    for (int e = 0; e < edits; e++) {
      seed = seed * 1103515245u + 12345u;
      size_t at = (seed >> 8) % (len + 1);
      /* Mostly a digit, which often keeps the sample valid. */
      char c = (seed >> 30) ? (char)('0' + (seed >> 16) % 10) : alphabet[(seed >> 20) % (sizeof alphabet - 1)];
      switch ((seed >> 4) % 3) {
      case 0: if (at < len) buf[at] = c; break;
      case 1: memmove(buf + at + 1, buf + at, len - at); buf[at] = c; len++; break;
      default: if (at < len) { memmove(buf + at, buf + at + 1, len - at - 1); len--; } break;
      }
    }
    accepted += same_verdict(kind, buf, len, "mutation") == 0;
  }
  /* Both verdicts must be well represented, or the mutations test nothing. */
  cr_expect(accepted > 500 && accepted < 19500, "%d of 20000 mutations accepted", accepted);
}

/* Found by tests/fuzz/fuzz_telemetry.c (corpus/telemetry/regress-nul-in-topic): a NUL byte
 * passed for a name character (strchr finds the terminator), so "fofal/t1/halls/<NUL>1/env"
 * gave hall "" and "fofal/t1<NUL>x/looms/L1/telemetry" tenant "t1". */
Test(telemetry, a_nul_byte_in_a_topic_is_no_name_character) {
  char tenant[64], name[64];
  int kind = 0;
  static const char hall[] = "fofal/t1/halls/\0\0001/env", loom[] = "fofal/t1\0x/looms/L1/telemetry";
  cr_expect_eq(fofal_telemetry_route(hall, sizeof hall - 1, tenant, name, &kind), FOFAL_EINVAL);
  cr_expect_eq(fofal_telemetry_route(loom, sizeof loom - 1, tenant, name, &kind), FOFAL_EINVAL);
  cr_expect_eq(fofal_telemetry_topic(loom, sizeof loom - 1, tenant, name), FOFAL_EINVAL);
}

/* Found by tests/fuzz/fuzz_telemetry.c (corpus/telemetry/regress-nul-in-payload): jansson
 * skips a NUL byte that follows a number ("picks":0<NUL>,...), so such a sample was accepted
 * and its bytes, NUL included, embedded in the record on fofal.telemetry.raw: JSON that an
 * analyst's tool cannot read. */
Test(telemetry, a_nul_byte_in_a_payload_is_refused) {
  static const char p[] = "{\"msg_id\":\"m1\",\"ts\":\"2026-11-24T08:15:03Z\",\"picks\":0\0,\"ppm\":0,"
                          "\"state\":\"running\"}";
  fofal_telemetry_sample_t s;
  json_t *d = NULL;
  char why[256] = "";
  cr_expect_eq(fofal_telemetry_check(FOFAL_TELEMETRY_LOOM, p, sizeof p - 1, &s, why, sizeof why), FOFAL_EPARSE);
  cr_expect_eq(fofal_telemetry_parse_kind(FOFAL_TELEMETRY_LOOM, p, sizeof p - 1, &d, why, sizeof why), FOFAL_EPARSE);
  cr_expect_null(d);
}

Test(telemetry, hall_topics_and_payloads) {
  char tenant[64], name[64], why[256];
  int kind = 0;
  const char *t = "fofal/t1/halls/H1/env";
  cr_assert_eq(fofal_telemetry_route(t, strlen(t), tenant, name, &kind), 0);
  cr_expect_eq(kind, FOFAL_TELEMETRY_HALL);
  cr_expect_str_eq(name, "H1");
  const char *bad_topics[] = {"fofal/t1/halls/H1/envx", "fofal/t1/halls//env", "fofal/t1/hall/H1/env"};
  for (size_t i = 0; i < 3; i++)
    cr_expect_eq(fofal_telemetry_route(bad_topics[i], strlen(bad_topics[i]), tenant, name, &kind), FOFAL_EINVAL);
  const char *good = "{\"msg_id\":\"h1\",\"ts\":\"2026-11-28T06:00:00Z\",\"temperature\":27.5}";
  const char *bad[] = {"{\"msg_id\":\"h1\",\"ts\":\"2026-11-28T06:00:00Z\"}",
                       "{\"msg_id\":\"h1\",\"ts\":\"2026-11-28T06:00:00Z\",\"humidity\":101}",
                       "{\"msg_id\":\"h1\",\"ts\":\"x\",\"humidity\":50}",
                       "{\"msg_id\":\"h1\",\"ts\":\"2026-11-28T06:00:00Z\",\"humidity\":50,\"picks\":1}", "[]", ""};
  json_t *d = NULL;
  cr_expect_eq(fofal_telemetry_parse_kind(FOFAL_TELEMETRY_HALL, good, strlen(good), &d, why, sizeof why), 0);
  json_decref(d);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    d = NULL;
    cr_expect_neq(fofal_telemetry_parse_kind(FOFAL_TELEMETRY_HALL, bad[i], strlen(bad[i]), &d, why, sizeof why), 0,
                  "hall payload %zu must be refused", i);
    cr_expect_null(d);
  }
}

/* ------------------------------------------------------------ batches */

static int split(const char *p, fofal_telemetry_span_t *spans, char *why) {
  return fofal_telemetry_split(p, strlen(p), spans, why, 256);
}

static void expect_span(const char *p, const fofal_telemetry_span_t *s, const char *want) {
  cr_expect_eq(s->len, strlen(want), "span \"%.*s\" is \"%s\"", (int)s->len, p + s->off, want);
  cr_expect(s->len == strlen(want) && !memcmp(p + s->off, want, s->len), "span \"%.*s\" is \"%s\"", (int)s->len,
            p + s->off, want);
}

Test(telemetry, a_payload_that_is_not_an_array_is_one_sample) {
  fofal_telemetry_span_t s[FOFAL_TELEMETRY_BATCH_MAX];
  char why[256];
  const char *one[] = {"{\"msg_id\":\"a\"}", "  {}", "garbage", ""};
  for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
    cr_expect_eq(split(one[i], s, why), 1, "\"%s\" is one sample", one[i]);
    cr_expect(s[0].off == 0 && s[0].len == strlen(one[i]), "the whole payload, as is");
  }
}

Test(telemetry, a_batch_splits_into_its_samples_in_order) {
  fofal_telemetry_span_t s[FOFAL_TELEMETRY_BATCH_MAX];
  char why[256];
  /* Strings holding brackets, braces, commas and escaped quotes do not end an element. */
  const char *p = " [ {\"msg_id\":\"a\",\"x\":\"],{\"} ,\n{\"msg_id\":\"b\",\"y\":[1,{\"z\":\"\\\"]\"}]},{\"msg_id\":\"c\\\\\"} ]\t";
  cr_assert_eq(split(p, s, why), 3, "three samples (%s)", why);
  expect_span(p, &s[0], "{\"msg_id\":\"a\",\"x\":\"],{\"}");
  expect_span(p, &s[1], "{\"msg_id\":\"b\",\"y\":[1,{\"z\":\"\\\"]\"}]}");
  expect_span(p, &s[2], "{\"msg_id\":\"c\\\\\"}");
  /* Elements are not checked here: a number is a sample, refused later by the check. */
  cr_expect_eq(split("[1,2,3]", s, why), 3);
}

Test(telemetry, bad_batches_are_refused_whole_with_a_reason) {
  fofal_telemetry_span_t s[FOFAL_TELEMETRY_BATCH_MAX];
  char why[256];
  struct {
    const char *payload, *reason;
    int rc;
  } bad[] = {
      {"[]", "empty array", FOFAL_EPARSE},
      {"[ ]", "empty array", FOFAL_EPARSE},
      {"[{},]", "element 2 is empty", FOFAL_EPARSE},
      {"[,{}]", "element 1 is empty", FOFAL_EPARSE},
      {"[{}", "not closed", FOFAL_EPARSE},
      {"[{\"a\":\"]}", "not closed", FOFAL_EPARSE},
      {"[{}]]", "text after the array", FOFAL_EPARSE},
      {"[{}] x", "text after the array", FOFAL_EPARSE},
      {"[{}}]", "unbalanced", FOFAL_EPARSE},
      {"[\"\\", "not closed", FOFAL_EPARSE},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    why[0] = '\0';
    cr_expect_eq(split(bad[i].payload, s, why), bad[i].rc, "\"%s\" is refused", bad[i].payload);
    cr_expect(strstr(why, bad[i].reason), "\"%s\": reason \"%s\" names \"%s\"", bad[i].payload, why, bad[i].reason);
  }
}

Test(telemetry, batches_have_caps) {
  fofal_telemetry_span_t s[FOFAL_TELEMETRY_BATCH_MAX];
  char why[256];
  /* FOFAL_TELEMETRY_BATCH_MAX samples pass, one more does not. */
  char *p = malloc(4 * (FOFAL_TELEMETRY_BATCH_MAX + 1) + 8);
  size_t n = 0;
  p[n++] = '[';
  for (int i = 0; i < FOFAL_TELEMETRY_BATCH_MAX; i++) n += (size_t)sprintf(p + n, "%s{}", i ? "," : "");
  p[n++] = ']';
  p[n] = '\0';
  cr_expect_eq(split(p, s, why), FOFAL_TELEMETRY_BATCH_MAX, "%d samples pass (%s)", FOFAL_TELEMETRY_BATCH_MAX, why);
  strcpy(p + n - 1, ",{}]");
  cr_expect_eq(split(p, s, why), FOFAL_ETOOBIG);
  cr_expect(strstr(why, "more than"), "reason: %s", why);
  free(p);
  /* Bytes: an array over FOFAL_TELEMETRY_BATCH_MAX_BYTES is refused before it is read. */
  size_t big = FOFAL_TELEMETRY_BATCH_MAX_BYTES + 1;
  char *b = malloc(big + 1);
  memset(b, ' ', big);
  b[0] = '[';
  b[1] = '{';
  b[2] = '}';
  b[big - 1] = ']';
  b[big] = '\0';
  cr_expect_eq(fofal_telemetry_split(b, big, s, why, sizeof why), FOFAL_ETOOBIG);
  cr_expect(strstr(why, "exceeds"), "reason: %s", why);
  b[big - 2] = ']';
  cr_expect_eq(fofal_telemetry_split(b, big - 1, s, why, sizeof why), 1, "at the cap it passes (%s)", why);
  free(b);
}

/* Every sample of a batch the simulator would send checks like the sample sent alone, and
 * mutated batches never make the splitter read past the payload (ASan watches). */
Test(telemetry, batches_of_good_samples_check_and_mutations_stay_in_bounds) {
  fofal_telemetry_span_t s[FOFAL_TELEMETRY_BATCH_MAX];
  char why[256], batch[4096];
  size_t n = 0;
  batch[n++] = '[';
  for (int i = 0; i < 10; i++)
    n += (size_t)snprintf(batch + n, sizeof batch - n,
                          "%s{\"msg_id\":\"L01-%d\",\"ts\":\"2026-11-28T06:00:0%dZ\",\"picks\":%d,\"ppm\":600,\"state\":\"running\"}",
                          i ? "," : "", i, i, 100 + i);
  batch[n++] = ']';
  cr_assert_eq(fofal_telemetry_split(batch, n, s, why, sizeof why), 10, "%s", why);
  for (int i = 0; i < 10; i++) {
    fofal_telemetry_sample_t smp;
    char want[16];
    cr_expect_eq(fofal_telemetry_check(FOFAL_TELEMETRY_LOOM, batch + s[i].off, s[i].len, &smp, why, sizeof why), 0,
                 "sample %d checks (%s)", i, why);
    snprintf(want, sizeof want, "L01-%d", i);
    cr_expect_str_eq(smp.msg_id, want);
  }
  srand(7);
  for (int round = 0; round < 20000; round++) {
    char *m = malloc(n);
    memcpy(m, batch, n);
    for (int k = 0; k < 1 + rand() % 4; k++) m[rand() % n] = "[]{},\"\\: x"[rand() % 10];
    size_t len = (size_t)rand() % (n + 1);
    int got = fofal_telemetry_split(m, len, s, why, sizeof why);
    cr_assert(got == FOFAL_EPARSE || got == FOFAL_ETOOBIG || (got >= 1 && got <= FOFAL_TELEMETRY_BATCH_MAX));
    for (int i = 0; i < got; i++) cr_assert(s[i].off + s[i].len <= len, "span %d inside the payload", i);
    free(m);
  }
}

/* ------------------------------------------------------------ reading records */

/* For records fofal_telemetry_encode wrote from mutated samples, the scanner either
 * declines (1) or reads exactly what the general decoder and jansson read. */
Test(telemetry, reading_a_record_agrees_with_the_general_decoder) {
  const char *base = "{\"msg_id\":\"L7-1\",\"ts\":\"2026-11-28T06:00:00.250Z\",\"picks\":123456,\"ppm\":601.5,"
                     "\"state\":\"stopped\",\"stop_cause\":\"warp_break\",\"temperature\":-3.5,\"humidity\":61}";
  size_t n = strlen(base);
  int fast = 0, compared = 0;
  srand(11);
  for (int round = 0; round < 20000; round++) {
    char p[512];
    memcpy(p, base, n + 1);
    if (round) /* the first round is the sample as is */
      for (int k = 0; k < 1 + rand() % 3; k++) p[rand() % n] = "0123456789.-\"e ,:x{}"[rand() % 20];
    fofal_telemetry_sample_t s;
    char why[256], ev[FOFAL_TELEMETRY_EVENT_MAX], tenant[64], subject[64];
    if (fofal_telemetry_check(FOFAL_TELEMETRY_LOOM, p, n, &s, why, sizeof why)) continue;
    size_t len = fofal_telemetry_encode(FOFAL_TELEMETRY_LOOM, "t1", "L7", &s, p, n, ev, sizeof ev);
    fofal_telemetry_values_t v;
    int kind = 0;
    int rc = fofal_telemetry_read_event(ev, len, &kind, tenant, subject, &v);
    if (round == 0) cr_assert_eq(rc, 0, "the usual record takes the scanner");
    if (rc) continue;
    fast++;
    fofal_event_t e;
    cr_assert_eq(fofal_event_decode(&e, ev, len, why, sizeof why), 0, "%s", why);
    cr_expect_eq(kind, FOFAL_TELEMETRY_LOOM);
    cr_expect_str_eq(tenant, e.tenant);
    cr_expect_str_eq(subject, e.subject);
    json_t *d = e.data;
    int64_t us;
    cr_assert_eq(fofal_time_parse(json_string_value(json_object_get(d, "ts")), &us), 0);
    cr_expect_str_eq(v.msg_id, json_string_value(json_object_get(d, "msg_id")));
    cr_expect_eq(v.time_us, us);
    cr_expect_eq(v.picks, (long long)json_integer_value(json_object_get(d, "picks")), "%s", p);
    cr_expect_eq(v.ppm, json_number_value(json_object_get(d, "ppm")), "%s", p);
    cr_expect_eq(v.running, !strcmp(json_string_value(json_object_get(d, "state")), "running"));
    const char *cause = json_string_value(json_object_get(d, "stop_cause"));
    cr_expect((!cause && !v.cause) || (cause && v.cause && !strcmp(cause, v.cause)), "cause %s", p);
    cr_expect_eq(v.has_temperature, json_object_get(d, "temperature") != NULL);
    if (v.has_temperature) cr_expect_eq(v.temperature, json_number_value(json_object_get(d, "temperature")));
    cr_expect_eq(v.has_humidity, json_object_get(d, "humidity") != NULL);
    if (v.has_humidity) cr_expect_eq(v.humidity, json_number_value(json_object_get(d, "humidity")));
    fofal_event_clear(&e);
    compared++;
  }
  cr_expect_gt(fast, 100, "many mutated samples stay valid and take the scanner (%d)", fast);
  cr_expect_eq(fast, compared);
  /* A hall reading, and records the scanner declines. */
  const char *hall = "{\"msg_id\":\"h1\",\"ts\":\"2026-11-28T06:00:00Z\",\"temperature\":27}";
  fofal_telemetry_sample_t s;
  char why[256], ev[FOFAL_TELEMETRY_EVENT_MAX], tenant[64], subject[64];
  cr_assert_eq(fofal_telemetry_check(FOFAL_TELEMETRY_HALL, hall, strlen(hall), &s, why, sizeof why), 0);
  size_t len = fofal_telemetry_encode(FOFAL_TELEMETRY_HALL, "t1", "H2", &s, hall, strlen(hall), ev, sizeof ev);
  fofal_telemetry_values_t v;
  int kind = 0;
  cr_assert_eq(fofal_telemetry_read_event(ev, len, &kind, tenant, subject, &v), 0);
  cr_expect(kind == FOFAL_TELEMETRY_HALL && !strcmp(subject, "H2") && v.has_temperature && v.temperature == 27 &&
            !v.has_humidity);
  const char *declined[] = {"", "{", "[]", "{\"specversion\":\"1.0\"}", "{\"data\":{}}"};
  for (size_t i = 0; i < sizeof declined / sizeof declined[0]; i++)
    cr_expect_eq(fofal_telemetry_read_event(declined[i], strlen(declined[i]), &kind, tenant, subject, &v), 1, "%s",
                 declined[i]);
  /* Truncations of a good record never read past it (ASan watches) and are declined. */
  for (size_t cut = 0; cut < len; cut++) {
    char *c = malloc(cut ? cut : 1);
    memcpy(c, ev, cut);
    cr_expect_eq(fofal_telemetry_read_event(c, cut, &kind, tenant, subject, &v), 1, "cut at %zu", cut);
    free(c);
  }
}
