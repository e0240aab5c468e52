/*
 * telemetry.c — checking loom telemetry and wrapping it as a CloudEvent.
 *
 * Sensors are untrusted: a payload is capped in size, must be a JSON object with exactly
 * the documented fields, each typed and bounded. Anything else is refused with a reason
 * (the ingest process sends it to the DLQ topic). Pure functions, thread-safe.
 */
#include "ingest.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int name_ok(const char *s, size_t n) {
  if (n == 0 || n > 63) return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i])) return 0;
  return 1;
}

/* Parses "fofal/<tenant>/<kind>/<name>/<leaf>" for the given kind and leaf ("looms",
 * "telemetry"): tenant and name each 1..63 of [A-Za-z0-9._-]. 0 or FOFAL_EINVAL. */
static int parse_topic(const char *topic, size_t len, const char *kind, const char *leaf, char tenant[64],
                       char name[64]) {
  const char *p = topic, *end = topic + len;
  size_t kl = strlen(kind), ll = strlen(leaf);
  if (len < 6 || memcmp(p, "fofal/", 6)) return FOFAL_EINVAL;
  p += 6;
  const char *slash = memchr(p, '/', (size_t)(end - p));
  if (!slash || !name_ok(p, (size_t)(slash - p))) return FOFAL_EINVAL;
  memcpy(tenant, p, (size_t)(slash - p));
  tenant[slash - p] = '\0';
  p = slash + 1;
  if ((size_t)(end - p) < kl + 1 || memcmp(p, kind, kl) || p[kl] != '/') return FOFAL_EINVAL;
  p += kl + 1;
  slash = memchr(p, '/', (size_t)(end - p));
  if (!slash || !name_ok(p, (size_t)(slash - p))) return FOFAL_EINVAL;
  memcpy(name, p, (size_t)(slash - p));
  name[slash - p] = '\0';
  p = slash + 1;
  if ((size_t)(end - p) != ll || memcmp(p, leaf, ll)) return FOFAL_EINVAL;
  return 0;
}

int fofal_telemetry_topic(const char *topic, size_t len, char tenant[64], char loom[64]) {
  return parse_topic(topic, len, "looms", "telemetry", tenant, loom);
}

static int number_in(const json_t *v, double lo, double hi) {
  if (!json_is_number(v)) return 0;
  double d = json_number_value(v);
  return isfinite(d) && d >= lo && d <= hi;
}

int fofal_telemetry_parse(const char *payload, size_t len, json_t **data, char *errbuf, size_t errlen) {
  json_error_t jerr;
  *data = NULL;
  if (len > FOFAL_TELEMETRY_MAX_BYTES)
    return fofal_err(errbuf, errlen, FOFAL_ETOOBIG, "payload of %zu bytes exceeds %d", len, FOFAL_TELEMETRY_MAX_BYTES);
  json_t *o = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!json_is_object(o)) {
    json_decref(o);
    return fofal_err(errbuf, errlen, FOFAL_EPARSE, "payload is not a JSON object");
  }
  static const char *const allowed[] = {"msg_id", "ts", "picks", "ppm", "state", "stop_cause", "temperature", "humidity"};
  const char *key;
  json_t *v;
  int rc = 0;
  json_object_foreach(o, key, v) {
    size_t i;
    for (i = 0; i < sizeof allowed / sizeof allowed[0] && strcmp(allowed[i], key); i++) {}
    if (i == sizeof allowed / sizeof allowed[0]) {
      rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "unknown field \"%.40s\"", key);
      goto out;
    }
  }
  const char *msg_id = json_string_value(json_object_get(o, "msg_id"));
  const char *ts = json_string_value(json_object_get(o, "ts"));
  const char *state = json_string_value(json_object_get(o, "state"));
  const char *cause = json_string_value(json_object_get(o, "stop_cause"));
  int64_t us;
  if (!msg_id || !name_ok(msg_id, strlen(msg_id))) rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "msg_id: 1..63 chars of [A-Za-z0-9._-]");
  else if (!ts || fofal_time_parse(ts, &us)) rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "ts: an RFC 3339 time");
  else if (!json_is_integer(json_object_get(o, "picks")) || json_integer_value(json_object_get(o, "picks")) < 0)
    rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "picks: an integer >= 0");
  else if (!number_in(json_object_get(o, "ppm"), 0, 2000)) rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "ppm: 0..2000");
  else if (!state || (strcmp(state, "running") && strcmp(state, "stopped")))
    rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "state: running or stopped");
  else if (json_object_get(o, "stop_cause") &&
           (!cause || (strcmp(cause, "warp_break") && strcmp(cause, "weft_break") && strcmp(cause, "mechanical") &&
                       strcmp(cause, "electrical") && strcmp(cause, "other"))))
    rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "stop_cause: warp_break, weft_break, mechanical, electrical or other");
  else if (json_object_get(o, "temperature") && !number_in(json_object_get(o, "temperature"), -20, 80))
    rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "temperature: -20..80");
  else if (json_object_get(o, "humidity") && !number_in(json_object_get(o, "humidity"), 0, 100))
    rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "humidity: 0..100");
out:
  if (rc) json_decref(o);
  else *data = o;
  return rc;
}

char *fofal_telemetry_event(const char *tenant, const char *loom, const json_t *data) {
  char id[FOFAL_UUID_LEN + 1];
  int64_t us = 0;
  fofal_uuid7(id);
  fofal_time_parse(json_string_value(json_object_get(data, "ts")), &us);
  fofal_event_t ev = {.id = id, .source = "/fofal/telemetry", .type = "fofal.telemetry.loom_sample.v1",
                      .subject = (char *)loom, .time_us = us, .tenant = (char *)tenant, .seq = 0,
                      .data = (json_t *)data};
  return fofal_event_encode(&ev);
}

int fofal_telemetry_route(const char *topic, size_t len, char tenant[64], char name[64], int *kind) {
  if (!fofal_telemetry_topic(topic, len, tenant, name)) {
    *kind = FOFAL_TELEMETRY_LOOM;
    return 0;
  }
  /* fofal/<tenant>/halls/<hall>/env */
  if (parse_topic(topic, len, "halls", "env", tenant, name)) return FOFAL_EINVAL;
  *kind = FOFAL_TELEMETRY_HALL;
  return 0;
}

static int parse_hall(const char *payload, size_t len, json_t **data, char *errbuf, size_t errlen) {
  json_error_t jerr;
  *data = NULL;
  if (len > FOFAL_TELEMETRY_MAX_BYTES)
    return fofal_err(errbuf, errlen, FOFAL_ETOOBIG, "payload of %zu bytes exceeds %d", len, FOFAL_TELEMETRY_MAX_BYTES);
  json_t *o = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!json_is_object(o)) {
    json_decref(o);
    return fofal_err(errbuf, errlen, FOFAL_EPARSE, "payload is not a JSON object");
  }
  static const char *const allowed[] = {"msg_id", "ts", "temperature", "humidity"};
  const char *key;
  json_t *v;
  int rc = 0;
  json_object_foreach(o, key, v) {
    size_t i;
    for (i = 0; i < sizeof allowed / sizeof allowed[0] && strcmp(allowed[i], key); i++) {}
    if (i == sizeof allowed / sizeof allowed[0]) {
      rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "unknown field \"%.40s\"", key);
      goto out;
    }
  }
  const char *msg_id = json_string_value(json_object_get(o, "msg_id"));
  const char *ts = json_string_value(json_object_get(o, "ts"));
  int64_t us;
  json_t *t = json_object_get(o, "temperature"), *h = json_object_get(o, "humidity");
  if (!msg_id || !name_ok(msg_id, strlen(msg_id))) rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "msg_id: 1..63 chars of [A-Za-z0-9._-]");
  else if (!ts || fofal_time_parse(ts, &us)) rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "ts: an RFC 3339 time");
  else if (!t && !h) rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "temperature or humidity: at least one");
  else if (t && !number_in(t, -20, 80)) rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "temperature: -20..80");
  else if (h && !number_in(h, 0, 100)) rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "humidity: 0..100");
out:
  if (rc) json_decref(o);
  else *data = o;
  return rc;
}

int fofal_telemetry_parse_kind(int kind, const char *payload, size_t len, json_t **data, char *errbuf, size_t errlen) {
  if (kind == FOFAL_TELEMETRY_HALL) return parse_hall(payload, len, data, errbuf, errlen);
  return fofal_telemetry_parse(payload, len, data, errbuf, errlen);
}

char *fofal_telemetry_event_kind(int kind, const char *tenant, const char *name, const json_t *data) {
  if (kind != FOFAL_TELEMETRY_HALL) return fofal_telemetry_event(tenant, name, data);
  char id[FOFAL_UUID_LEN + 1];
  int64_t us = 0;
  fofal_uuid7(id);
  fofal_time_parse(json_string_value(json_object_get(data, "ts")), &us);
  fofal_event_t ev = {.id = id, .source = "/fofal/telemetry", .type = FOFAL_TELEMETRY_HALL_TYPE, .subject = (char *)name,
                      .time_us = us, .tenant = (char *)tenant, .seq = 0, .data = (json_t *)data};
  return fofal_event_encode(&ev);
}

char *fofal_telemetry_event_raw(int kind, const char *tenant, const char *name, const json_t *data, const char *payload,
                                size_t len) {
  /* The hot path of fofal-ingest: no second JSON tree. `payload` parsed as a JSON object
   * with nothing but the documented fields (fofal_telemetry_parse_kind), so it is embedded
   * as is; tenant and name are [A-Za-z0-9._-] and need no escaping. The id is a name-based
   * UUID of tenant, name and msg_id: a redelivered sample gets the same CloudEvent id. */
  char id[FOFAL_UUID_LEN + 1], key[200], ts[32];
  int64_t us = 0;
  snprintf(key, sizeof key, "%s/%s/%s", tenant, name, json_string_value(json_object_get(data, "msg_id")));
  fofal_uuid_named("fofal.telemetry", key, id);
  fofal_time_parse(json_string_value(json_object_get(data, "ts")), &us);
  fofal_time_format(us, ts);
  const char *type = kind == FOFAL_TELEMETRY_HALL ? FOFAL_TELEMETRY_HALL_TYPE : FOFAL_TELEMETRY_LOOM_TYPE;
  char *head = fofal_asprintf("{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"/fofal/telemetry\",\"type\":\"%s\","
                              "\"subject\":\"%s\",\"time\":\"%s\",\"datacontenttype\":\"application/json\","
                              "\"fofaltenant\":\"%s\",\"fofalseq\":0,\"data\":",
                              id, type, name, ts, tenant);
  size_t hl = strlen(head);
  char *out = fofal_realloc(head, hl + len + 2);
  memcpy(out + hl, payload, len);
  out[hl + len] = '}';
  out[hl + len + 1] = '\0';
  return out;
}
