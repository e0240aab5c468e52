/*
 * telemetry.c — checking loom telemetry and wrapping it as a CloudEvent.
 *
 * Sensors are untrusted: a payload is capped in size, must be a JSON object with exactly
 * the documented fields, each typed and bounded. Anything else is refused with a reason
 * (the ingest process sends it to the DLQ topic). Pure functions, thread-safe.
 *
 * Two paths check a payload. The reference is jansson (fofal_telemetry_parse_kind): it
 * builds a JSON tree and writes the refusal reasons. fofal-ingest's hot path
 * (fofal_telemetry_check) first tries a scanner for the shape every sensor sends — one flat
 * object, strings of printable ASCII without escapes, numbers without exponent — that
 * builds no tree and allocates nothing; whatever it is not sure of (any other shape, any
 * error) goes to the jansson path. The scanner only ever says "accepted", so the two paths
 * accept exactly the same payloads (tests/unit/ingest/test_telemetry.c compares them on mutated
 * samples).
 */
#include "ingest.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int name_ok(const char *s, size_t n) {
  if (n == 0 || n > 63) return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && !memchr("._-", s[i], 3)) return 0; /* strchr would take a NUL */
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

/* *o: the payload as a JSON object (new) of at most FOFAL_TELEMETRY_MAX_BYTES, with no
 * field but those of `allowed` (n of them). 0, or the refusal (then *o is NULL). */
static int load_object(const char *payload, size_t len, const char *const *allowed, size_t n, json_t **o, char *errbuf,
                       size_t errlen) {
  json_error_t jerr;
  *o = NULL;
  if (len > FOFAL_TELEMETRY_MAX_BYTES)
    return fofal_err(errbuf, errlen, FOFAL_ETOOBIG, "payload of %zu bytes exceeds %d", len, FOFAL_TELEMETRY_MAX_BYTES);
  /* A NUL byte is no JSON, but jansson skips one after a number: refused here, as the
   * payload's own bytes are what the record on fofal.telemetry.raw embeds. */
  json_t *j = memchr(payload, '\0', len) ? NULL : json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!json_is_object(j)) {
    json_decref(j);
    return fofal_err(errbuf, errlen, FOFAL_EPARSE, "payload is not a JSON object");
  }
  const char *key;
  json_t *v;
  json_object_foreach(j, key, v) {
    size_t i;
    for (i = 0; i < n && strcmp(allowed[i], key); i++) {}
    if (i == n) {
      int rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "unknown field \"%.40s\"", key); /* key dies with j */
      json_decref(j);
      return rc;
    }
  }
  *o = j;
  return 0;
}

int fofal_telemetry_parse(const char *payload, size_t len, json_t **data, char *errbuf, size_t errlen) {
  static const char *const allowed[] = {"msg_id", "ts", "picks", "ppm", "state", "stop_cause", "temperature", "humidity"};
  json_t *o;
  *data = NULL;
  int rc = load_object(payload, len, allowed, sizeof allowed / sizeof allowed[0], &o, errbuf, errlen);
  if (rc) return rc;
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
  static const char *const allowed[] = {"msg_id", "ts", "temperature", "humidity"};
  json_t *o;
  *data = NULL;
  int rc = load_object(payload, len, allowed, sizeof allowed / sizeof allowed[0], &o, errbuf, errlen);
  if (rc) return rc;
  const char *msg_id = json_string_value(json_object_get(o, "msg_id"));
  const char *ts = json_string_value(json_object_get(o, "ts"));
  int64_t us;
  json_t *t = json_object_get(o, "temperature"), *h = json_object_get(o, "humidity");
  if (!msg_id || !name_ok(msg_id, strlen(msg_id))) rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "msg_id: 1..63 chars of [A-Za-z0-9._-]");
  else if (!ts || fofal_time_parse(ts, &us)) rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "ts: an RFC 3339 time");
  else if (!t && !h) rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "temperature or humidity: at least one");
  else if (t && !number_in(t, -20, 80)) rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "temperature: -20..80");
  else if (h && !number_in(h, 0, 100)) rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "humidity: 0..100");
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

/* ------------------------------------------------------------ the fast path */

const char *const fofal_stop_causes[FOFAL_STOP_CAUSES] = {"warp_break", "weft_break", "mechanical", "electrical", "other"};

enum { F_MSG_ID, F_TS, F_PICKS, F_PPM, F_STATE, F_CAUSE, F_TEMP, F_HUM, F_N };
typedef struct {
  const char *name;
  size_t len;
} field_t;

static const field_t fields[F_N] = {{"msg_id", 6}, {"ts", 2},          {"picks", 5},        {"ppm", 3},
                 {"state", 5},  {"stop_cause", 10}, {"temperature", 11}, {"humidity", 8}};
#define LOOM_FIELDS ((1u << F_N) - 1)
#define HALL_FIELDS ((1u << F_MSG_ID) | (1u << F_TS) | (1u << F_TEMP) | (1u << F_HUM))

/* One scanned value: a string's bytes (without quotes) or a number's text. */
typedef struct {
  const char *p;
  size_t n;
  int is_str, is_int;
} tok_t;

static const char *skip_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  return p;
}

/* A string of printable ASCII without escapes, p at its opening quote: the byte after the
 * closing quote, or NULL for anything else. */
static const char *plain_string(const char *p, const char *end, tok_t *t) {
  if (p >= end || *p != '"') return NULL;
  const char *s = ++p;
  for (; p < end && *p != '"'; p++)
    if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e || *p == '\\') return NULL;
  if (p >= end) return NULL;
  t->p = s;
  t->n = (size_t)(p - s);
  t->is_str = 1;
  return p + 1;
}

/* A JSON number without exponent, -?(0|[1-9][0-9]*)(.[0-9]+)?, of at most 20 characters
 * (an integer of at most 18 digits: no overflow anywhere): the byte after it, or NULL. */
static const char *plain_number(const char *p, const char *end, tok_t *t) {
  const char *s = p;
  if (p < end && *p == '-') p++;
  const char *digits = p;
  if (p >= end || !isdigit((unsigned char)*p)) return NULL;
  if (*p == '0') p++;
  else
    while (p < end && isdigit((unsigned char)*p)) p++;
  t->is_int = 1;
  if (p - digits > 18) return NULL;
  if (p < end && *p == '.') {
    p++;
    t->is_int = 0;
    if (p >= end || !isdigit((unsigned char)*p)) return NULL;
    while (p < end && isdigit((unsigned char)*p)) p++;
  }
  if ((p < end && (*p == 'e' || *p == 'E')) || p - s > 20) return NULL;
  t->p = s;
  t->n = (size_t)(p - s);
  t->is_str = 0;
  return p;
}

static int tok_is(const tok_t *t, const char *s) { return t->is_str && t->n == strlen(s) && !memcmp(t->p, s, t->n); }

static double tok_number(const tok_t *t) {
  char b[24];
  memcpy(b, t->p, t->n);
  b[t->n] = '\0';
  return strtod(b, NULL);
}

static int tok_number_in(const tok_t *t, double lo, double hi) {
  if (t->is_str) return 0;
  double d = tok_number(t);
  return d >= lo && d <= hi;
}

/* The JSON value at p (an object or array, strings minding escapes): the byte after it,
 * or NULL if it does not close before end. */
static const char *skip_composite(const char *p, const char *end) {
  int depth = 0, in_string = 0;
  for (; p < end; p++) {
    char c = *p;
    if (in_string) {
      if (c == '\\' && p + 1 < end) p++;
      else if (c == '"') in_string = 0;
    } else if (c == '"') {
      in_string = 1;
    } else if (c == '{' || c == '[') {
      depth++;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return p + 1;
      if (depth < 0) return NULL;
    }
  }
  return NULL;
}

/* Scans one flat JSON object of the fields `names` (n of them, only those of the bit mask
 * `allowed`, each at most once): plain strings and numbers into v[field], their bits into
 * *seen. Field `object_field` (or none, -1) holds an object instead, whose bytes go to
 * [*obj, *obj_end). 0, or 1 for anything else (the caller is unsure). */
static int scan_flat(const char *p, const char *end, const field_t *names, int n, unsigned allowed, tok_t *v,
                     unsigned *seen, int object_field, const char **obj, const char **obj_end) {
  *seen = 0;
  p = skip_ws(p, end);
  if (p >= end || *p++ != '{') return 1;
  for (;;) {
    tok_t key;
    p = skip_ws(p, end);
    if (!(p = plain_string(p, end, &key))) return 1;
    int f = 0;
    while (f < n && (key.n != names[f].len || memcmp(key.p, names[f].name, key.n))) f++;
    if (f == n || !(allowed & (1u << f)) || (*seen & (1u << f))) return 1;
    *seen |= 1u << f;
    p = skip_ws(p, end);
    if (p >= end || *p++ != ':') return 1;
    p = skip_ws(p, end);
    if (f == object_field) {
      if (p >= end || *p != '{') return 1;
      *obj = p;
      p = *obj_end = skip_composite(p, end);
    } else {
      p = p < end && *p == '"' ? plain_string(p, end, &v[f]) : plain_number(p, end, &v[f]);
    }
    if (!p) return 1;
    p = skip_ws(p, end);
    if (p >= end) return 1;
    if (*p == '}') break;
    if (*p++ != ',') return 1;
  }
  return skip_ws(p + 1, end) != end;
}

/* 0 when the payload is certainly accepted (msg_id and time in *s, and, if v is not
 * NULL, every value in *v), 1 when unsure. */
static int fast_check(int kind, const char *payload, size_t len, fofal_telemetry_sample_t *s,
                      fofal_telemetry_values_t *v_out) {
  tok_t v[F_N];
  unsigned seen, allowed = kind == FOFAL_TELEMETRY_HALL ? HALL_FIELDS : LOOM_FIELDS;
  if (scan_flat(payload, payload + len, fields, F_N, allowed, v, &seen, -1, NULL, NULL)) return 1;
#define HAS(f) (seen & (1u << (f)))
  if (!HAS(F_MSG_ID) || !v[F_MSG_ID].is_str || !name_ok(v[F_MSG_ID].p, v[F_MSG_ID].n)) return 1;
  if (!HAS(F_TS) || !v[F_TS].is_str || v[F_TS].n >= 40) return 1;
  char ts[40];
  memcpy(ts, v[F_TS].p, v[F_TS].n);
  ts[v[F_TS].n] = '\0';
  if (fofal_time_parse(ts, &s->time_us)) return 1;
  if (HAS(F_TEMP) && !tok_number_in(&v[F_TEMP], -20, 80)) return 1;
  if (HAS(F_HUM) && !tok_number_in(&v[F_HUM], 0, 100)) return 1;
  if (kind == FOFAL_TELEMETRY_HALL) {
    if (!HAS(F_TEMP) && !HAS(F_HUM)) return 1;
  } else {
    if (!HAS(F_PICKS) || v[F_PICKS].is_str || !v[F_PICKS].is_int || tok_number(&v[F_PICKS]) < 0) return 1;
    if (!HAS(F_PPM) || !tok_number_in(&v[F_PPM], 0, 2000)) return 1;
    if (!HAS(F_STATE) || (!tok_is(&v[F_STATE], "running") && !tok_is(&v[F_STATE], "stopped"))) return 1;
    if (HAS(F_CAUSE) && !tok_is(&v[F_CAUSE], "warp_break") && !tok_is(&v[F_CAUSE], "weft_break") &&
        !tok_is(&v[F_CAUSE], "mechanical") && !tok_is(&v[F_CAUSE], "electrical") && !tok_is(&v[F_CAUSE], "other"))
      return 1;
  }
  memcpy(s->msg_id, v[F_MSG_ID].p, v[F_MSG_ID].n);
  s->msg_id[v[F_MSG_ID].n] = '\0';
  if (v_out) {
    memset(v_out, 0, sizeof *v_out);
    memcpy(v_out->msg_id, s->msg_id, sizeof v_out->msg_id);
    v_out->time_us = s->time_us;
    if ((v_out->has_temperature = HAS(F_TEMP) != 0)) v_out->temperature = tok_number(&v[F_TEMP]);
    if ((v_out->has_humidity = HAS(F_HUM) != 0)) v_out->humidity = tok_number(&v[F_HUM]);
    if (kind != FOFAL_TELEMETRY_HALL) {
      v_out->picks = strtoll(v[F_PICKS].p, NULL, 10); /* at most 18 digits, then a delimiter */
      v_out->ppm = tok_number(&v[F_PPM]);
      v_out->running = tok_is(&v[F_STATE], "running");
      for (int c = 0; HAS(F_CAUSE) && c < 5; c++)
        if (tok_is(&v[F_CAUSE], fofal_stop_causes[c])) v_out->cause = fofal_stop_causes[c];
    }
  }
#undef HAS
  return 0;
}

int fofal_telemetry_check(int kind, const char *payload, size_t len, fofal_telemetry_sample_t *s, char *errbuf,
                          size_t errlen) {
  if (len <= FOFAL_TELEMETRY_MAX_BYTES && !fast_check(kind, payload, len, s, NULL)) return 0;
  json_t *data = NULL;
  int rc = fofal_telemetry_parse_kind(kind, payload, len, &data, errbuf, errlen);
  if (rc) return rc;
  /* Checked: msg_id is 1..63 chars, ts parses. */
  snprintf(s->msg_id, sizeof s->msg_id, "%s", json_string_value(json_object_get(data, "msg_id")));
  fofal_time_parse(json_string_value(json_object_get(data, "ts")), &s->time_us);
  json_decref(data);
  return 0;
}

/* Appends n bytes at *p (the caller sized the buffer). */
static void put(char **p, const char *s, size_t n) {
  memcpy(*p, s, n);
  *p += n;
}
#define PUT_LIT(p, lit) put(p, lit, sizeof lit - 1)

size_t fofal_telemetry_encode(int kind, const char *tenant, const char *name, const fofal_telemetry_sample_t *s,
                              const char *payload, size_t len, char *out, size_t outlen) {
  /* tenant, name and msg_id are [A-Za-z0-9._-] (checked), so they need no escaping; the
   * checked payload is a JSON object with nothing but the documented fields, embedded as
   * is. The id is a name-based UUID of tenant, name and msg_id: a redelivered sample gets
   * the same CloudEvent id. */
  char id[FOFAL_UUID_LEN + 1], key[200], ts[32];
  size_t tl = strlen(tenant), nl = strlen(name);
  const char *type = kind == FOFAL_TELEMETRY_HALL ? FOFAL_TELEMETRY_HALL_TYPE : FOFAL_TELEMETRY_LOOM_TYPE;
  if (tl > 63 || nl > 63 || len > FOFAL_TELEMETRY_MAX_BYTES || outlen < FOFAL_TELEMETRY_EVENT_MAX) return 0;
  size_t ml = strnlen(s->msg_id, sizeof s->msg_id - 1);
  char *k = key;
  put(&k, tenant, tl);
  *k++ = '/';
  put(&k, name, nl);
  *k++ = '/';
  put(&k, s->msg_id, ml);
  *k = '\0';
  fofal_uuid_named("fofal.telemetry", key, id);
  fofal_time_format(s->time_us, ts);
  char *p = out;
  PUT_LIT(&p, "{\"specversion\":\"1.0\",\"id\":\"");
  put(&p, id, FOFAL_UUID_LEN);
  PUT_LIT(&p, "\",\"source\":\"/fofal/telemetry\",\"type\":\"");
  put(&p, type, strlen(type));
  PUT_LIT(&p, "\",\"subject\":\"");
  put(&p, name, nl);
  PUT_LIT(&p, "\",\"time\":\"");
  put(&p, ts, strlen(ts));
  PUT_LIT(&p, "\",\"datacontenttype\":\"application/json\",\"fofaltenant\":\"");
  put(&p, tenant, tl);
  PUT_LIT(&p, "\",\"fofalseq\":0,\"data\":");
  put(&p, payload, len);
  PUT_LIT(&p, "}");
  *p = '\0';
  return (size_t)(p - out);
}

/* ------------------------------------------------------------ reading records */

static int tok_copy_name(const tok_t *t, char out[64]) {
  if (!t->is_str || !name_ok(t->p, t->n)) return 1;
  memcpy(out, t->p, t->n);
  out[t->n] = '\0';
  return 0;
}

int fofal_telemetry_read_event(const char *buf, size_t len, int *kind, char tenant[64], char subject[64],
                               fofal_telemetry_values_t *v) {
  enum { A_SPEC, A_ID, A_SOURCE, A_TYPE, A_SUBJECT, A_TIME, A_DCT, A_TENANT, A_SEQ, A_DATA, A_N };
  static const field_t names[A_N] = {{"specversion", 11}, {"id", 2},       {"source", 6},      {"type", 4},
                                     {"subject", 7},      {"time", 4},     {"datacontenttype", 15},
                                     {"fofaltenant", 11}, {"fofalseq", 8}, {"data", 4}};
  const char *data = NULL, *data_end = NULL;
  tok_t a[A_N];
  unsigned seen, all = (1u << A_N) - 1;
  if (scan_flat(buf, buf + len, names, A_N, all, a, &seen, A_DATA, &data, &data_end) || seen != all) return 1;
  if (!tok_is(&a[A_SPEC], "1.0") || a[A_SEQ].is_str || tok_copy_name(&a[A_TENANT], tenant) ||
      tok_copy_name(&a[A_SUBJECT], subject))
    return 1;
  /* v1 of both types: no upcaster applies to them (a v2 would change the writer too). */
  if (tok_is(&a[A_TYPE], FOFAL_TELEMETRY_LOOM_TYPE)) *kind = FOFAL_TELEMETRY_LOOM;
  else if (tok_is(&a[A_TYPE], FOFAL_TELEMETRY_HALL_TYPE)) *kind = FOFAL_TELEMETRY_HALL;
  else return 1;
  fofal_telemetry_sample_t s;
  size_t dlen = (size_t)(data_end - data);
  if (dlen > FOFAL_TELEMETRY_MAX_BYTES) return 1;
  return fast_check(*kind, data, dlen, &s, v);
}

/* ---------------------------------------------------------------- batches */

int fofal_telemetry_split(const char *payload, size_t len, fofal_telemetry_span_t *spans, char *errbuf, size_t errlen) {
  const char *p = skip_ws(payload, payload + len), *end = payload + len;
  if (p >= end || *p != '[') {
    spans[0] = (fofal_telemetry_span_t){0, len};
    return 1;
  }
  if (len > FOFAL_TELEMETRY_BATCH_MAX_BYTES)
    return fofal_err(errbuf, errlen, FOFAL_ETOOBIG, "batch of %zu bytes exceeds %d", len, FOFAL_TELEMETRY_BATCH_MAX_BYTES);
  /* Only the array's structure is read here: depth over brackets and braces outside
   * strings, and the commas between elements. What an element holds is for
   * fofal_telemetry_check. */
  int n = 0, depth = 0, in_string = 0;
  const char *start = ++p;
  for (; p < end; p++) {
    char c = *p;
    if (in_string) {
      if (c == '\\' && p + 1 < end) p++;
      else if (c == '"') in_string = 0;
      continue;
    }
    if (c == '"') in_string = 1;
    else if (c == '{' || c == '[') depth++;
    else if ((c == '}' || c == ']') && depth > 0) depth--;
    else if ((c == ',' || c == ']') && depth == 0) {
      const char *b = skip_ws(start, p), *e = p;
      while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r')) e--;
      if (b == e) {
        if (c == ']' && n == 0) return fofal_err(errbuf, errlen, FOFAL_EPARSE, "batch is an empty array");
        return fofal_err(errbuf, errlen, FOFAL_EPARSE, "batch: element %d is empty", n + 1);
      }
      if (n == FOFAL_TELEMETRY_BATCH_MAX)
        return fofal_err(errbuf, errlen, FOFAL_ETOOBIG, "batch has more than %d samples", FOFAL_TELEMETRY_BATCH_MAX);
      spans[n++] = (fofal_telemetry_span_t){(size_t)(b - payload), (size_t)(e - b)};
      start = p + 1;
      if (c == ']') {
        if (skip_ws(p + 1, end) != end) return fofal_err(errbuf, errlen, FOFAL_EPARSE, "batch: text after the array");
        return n;
      }
    } else if (c == '}' || c == ']') {
      return fofal_err(errbuf, errlen, FOFAL_EPARSE, "batch: unbalanced brackets");
    }
  }
  return fofal_err(errbuf, errlen, FOFAL_EPARSE, "batch: the array is not closed");
}
