/*
 * fuzz_telemetry.c — loom and hall telemetry as a sensor sends it (ingest/telemetry.c): the
 * batch splitter, the hot-path scanner (fofal_telemetry_check), the jansson reference
 * (fofal_telemetry_parse_kind), the record writer and reader, and the topic parser.
 *
 * Input: the first byte picks the topic kind (bit 0: hall) and whether the rest, up to its
 * first '\n', is an MQTT topic to parse (bit 1); what follows is the payload.
 *
 * Properties: no crash, leak or undefined behaviour; the scanner and the reference accept
 * exactly the same samples with the same msg_id and time, and refuse with the same code
 * (telemetry.c's promise); a batch's spans lie inside the payload, in order; an accepted
 * sample's record (fofal_telemetry_encode) is a CloudEvent that fofal_event_decode reads
 * back with the same data, and that fofal_telemetry_read_event either reads with the
 * values jansson sees or leaves to the general decoder; a parsed topic gives names of
 * 1..63 characters of [A-Za-z0-9._-].
 */
#include "fuzz.h"

#include "ingest.h"

#include <math.h>

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return 0;
}

static int name_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 63) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr("._-", *s)))
      return 0;
  return 1;
}

static double num(const json_t *o, const char *key) { return json_number_value(json_object_get(o, key)); }

/* The record of an accepted sample, read back both ways. */
static void check_record(int kind, const fofal_telemetry_sample_t *s, const json_t *data, const char *p, size_t n) {
  static char out[FOFAL_TELEMETRY_EVENT_MAX];
  size_t len = fofal_telemetry_encode(kind, "t-1", "L.03", s, p, n, out, sizeof out);
  FUZZ_CHECK(len > 0 && len < sizeof out && strlen(out) == len, "an accepted sample encodes");
  fofal_event_t ev;
  char err[256];
  int rc = fofal_event_decode(&ev, out, len, err, sizeof err);
  FUZZ_CHECK(rc == 0, "the record of an accepted sample decodes: %s: %s", err, out);
  FUZZ_CHECK(json_equal(ev.data, data), "the record carries the sample as jansson reads it: %s", out);
  FUZZ_CHECK(!strcmp(ev.subject, "L.03") && !strcmp(ev.tenant, "t-1") && ev.time_us == s->time_us,
             "subject, tenant and time of the record");
  fofal_event_clear(&ev);

  int rkind;
  char tenant[64], subject[64];
  fofal_telemetry_values_t v;
  rc = fofal_telemetry_read_event(out, len, &rkind, tenant, subject, &v);
  FUZZ_CHECK(rc == 0 || rc == 1, "read_event answers 0 or 1");
  if (rc) return;
  FUZZ_CHECK(rkind == kind && !strcmp(tenant, "t-1") && !strcmp(subject, "L.03"), "read_event: kind and names");
  FUZZ_CHECK(!strcmp(v.msg_id, s->msg_id) && v.time_us == s->time_us, "read_event: msg_id and time");
  const json_t *t = json_object_get(data, "temperature"), *h = json_object_get(data, "humidity");
  FUZZ_CHECK(v.has_temperature == (t != NULL) && (!t || v.temperature == json_number_value(t)),
             "read_event: temperature %g vs %g", v.temperature, json_number_value(t));
  FUZZ_CHECK(v.has_humidity == (h != NULL) && (!h || v.humidity == json_number_value(h)), "read_event: humidity");
  if (kind == FOFAL_TELEMETRY_LOOM) {
    FUZZ_CHECK(v.picks == json_integer_value(json_object_get(data, "picks")), "read_event: picks %lld", v.picks);
    FUZZ_CHECK(v.ppm == num(data, "ppm"), "read_event: ppm %g vs %g", v.ppm, num(data, "ppm"));
    FUZZ_CHECK(v.running == !strcmp(json_string_value(json_object_get(data, "state")), "running"), "read_event: state");
    const char *cause = json_string_value(json_object_get(data, "stop_cause"));
    FUZZ_CHECK((!cause && !v.cause) || (cause && v.cause && !strcmp(cause, v.cause)), "read_event: stop_cause");
  }
}

static void check_sample(int kind, const char *p, size_t n) {
  fofal_telemetry_sample_t s;
  json_t *data = NULL;
  char err1[256] = "", err2[256] = "";
  memset(&s, 0, sizeof s);
  int rc_fast = fofal_telemetry_check(kind, p, n, &s, err1, sizeof err1);
  int rc_ref = fofal_telemetry_parse_kind(kind, p, n, &data, err2, sizeof err2);
  FUZZ_CHECK(rc_fast == rc_ref, "scanner %d vs jansson %d (%s) on %.*s", rc_fast, rc_ref, err2, (int)n, p);
  if (rc_ref) {
    FUZZ_CHECK(rc_ref < 0 && err2[0] && !data, "a refusal says why");
    return;
  }
  int64_t us;
  FUZZ_CHECK(!strcmp(s.msg_id, json_string_value(json_object_get(data, "msg_id"))), "same msg_id");
  FUZZ_CHECK(!fofal_time_parse(json_string_value(json_object_get(data, "ts")), &us) && us == s.time_us, "same time");
  check_record(kind, &s, data, p, n);
  json_decref(data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int kind = data[0] & 1 ? FOFAL_TELEMETRY_HALL : FOFAL_TELEMETRY_LOOM, with_topic = data[0] & 2;
  const uint8_t *p = data + 1;
  size_t n = size - 1;
  if (with_topic) {
    const uint8_t *nl = memchr(p, '\n', n);
    size_t tlen = nl ? (size_t)(nl - p) : n;
    char tenant[64], name[64];
    int tkind = 0;
    if (!fofal_telemetry_route((const char *)p, tlen, tenant, name, &tkind)) {
      FUZZ_CHECK(name_ok(tenant) && name_ok(name), "topic names: '%s' '%s'", tenant, name);
      FUZZ_CHECK(tkind == FOFAL_TELEMETRY_LOOM || tkind == FOFAL_TELEMETRY_HALL, "topic kind");
      kind = tkind;
    }
    p += nl ? tlen + 1 : tlen;
    n -= nl ? tlen + 1 : tlen;
  }
  /* An exact-size copy: the scanner must never read past the payload's end. */
  char *payload = malloc(n ? n : 1);
  if (!payload) abort();
  memcpy(payload, p, n);
  fofal_telemetry_span_t spans[FOFAL_TELEMETRY_BATCH_MAX];
  char err[256] = "";
  int count = fofal_telemetry_split(payload, n, spans, err, sizeof err);
  FUZZ_CHECK(count != 0 && count <= FOFAL_TELEMETRY_BATCH_MAX, "split: %d", count);
  if (count < 0) FUZZ_CHECK(err[0], "a refused batch says why");
  size_t prev_end = 0;
  for (int i = 0; i < count; i++) {
    FUZZ_CHECK(spans[i].off >= prev_end && spans[i].off + spans[i].len <= n, "span %d inside, in order", i);
    FUZZ_CHECK(count == 1 || spans[i].len > 0, "a batch element is never empty");
    prev_end = spans[i].off + spans[i].len;
    /* Each element in an exact-size copy too: checking it must not read its neighbours. */
    char *one = malloc(spans[i].len ? spans[i].len : 1);
    if (!one) abort();
    memcpy(one, payload + spans[i].off, spans[i].len);
    check_sample(kind, one, spans[i].len);
    free(one);
  }
  free(payload);
  return 0;
}
