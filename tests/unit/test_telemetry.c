/*
 * test_telemetry.c — ingest/telemetry.c: MQTT topic parsing, payload checks (hostile
 * input refused with a reason, never a crash), and the CloudEvent wrapping.
 */
#include <criterion/criterion.h>
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

Test(telemetry, raw_event_is_the_same_event) {
  const char *p = "{\"msg_id\":\"m-1\",\"ts\":\"2026-11-28T06:00:00+01:00\",\"picks\":5,\"ppm\":600,\"state\":\"running\"}";
  json_t *d = NULL;
  char why[256];
  cr_assert_eq(fofal_telemetry_parse_kind(FOFAL_TELEMETRY_LOOM, p, strlen(p), &d, why, sizeof why), 0, "%s", why);
  char *raw = fofal_telemetry_event_raw(FOFAL_TELEMETRY_LOOM, "t1", "L1", d, p, strlen(p));
  char *raw2 = fofal_telemetry_event_raw(FOFAL_TELEMETRY_LOOM, "t1", "L1", d, p, strlen(p));
  fofal_event_t ev;
  cr_assert_eq(fofal_event_decode(&ev, raw, strlen(raw), why, sizeof why), 0, "%s", why);
  cr_expect_str_eq(ev.type, FOFAL_TELEMETRY_LOOM_TYPE);
  cr_expect_str_eq(ev.subject, "L1");
  cr_expect_str_eq(ev.tenant, "t1");
  cr_expect_eq(ev.time_us, 1795842000000000LL);
  cr_expect(json_equal(ev.data, d));
  cr_expect_str_eq(raw, raw2, "a redelivered sample must get the same CloudEvent id");
  fofal_event_clear(&ev);
  free(raw);
  free(raw2);
  json_decref(d);
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
