/*
 * envelope.c — the CloudEvents 1.0 envelope in structured JSON mode (DESIGN.md).
 *
 * Encoding always writes the current shape. Decoding checks every required attribute,
 * caps the input size, and upcasts an older version of a known event type step by step
 * (v1 → v2 → …) through registered upcasters, so that consumers only ever see current
 * versions while the log keeps what was written. Upcasters are registered at start-up,
 * before any thread decodes; the table is read-only afterwards. The Kafka headers that go
 * with an encoded event (structured mode: content-type only) are made here too, once.
 */
#include "events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_UPCASTERS 64

static struct {
  char base[96];
  int from;
  fofal_upcaster_fn fn;
} upcasters[MAX_UPCASTERS];
static int n_upcasters;

void fofal_upcaster_register(const char *type_base, int from, fofal_upcaster_fn fn) {
  if (n_upcasters >= MAX_UPCASTERS) abort(); /* a programming error, caught by any test */
  snprintf(upcasters[n_upcasters].base, sizeof upcasters[0].base, "%s", type_base);
  upcasters[n_upcasters].from = from;
  upcasters[n_upcasters].fn = fn;
  n_upcasters++;
}

int fofal_event_kafka_headers(const fofal_kheader_t **headers) {
  static const fofal_kheader_t structured[] = {{"content-type", FOFAL_EVENT_CONTENT_TYPE}};
  *headers = structured;
  return (int)(sizeof structured / sizeof structured[0]);
}

void fofal_event_clear(fofal_event_t *ev) {
  if (!ev) return;
  free(ev->id);
  free(ev->source);
  free(ev->type);
  free(ev->subject);
  free(ev->tenant);
  free(ev->actor);
  free(ev->command_id);
  free(ev->correlation_id);
  json_decref(ev->data);
  memset(ev, 0, sizeof *ev);
}

/* One ,"key":"string" member. An attribute that is not valid UTF-8 is left out, as
 * jansson's json_string refused it when the envelope was a tree. */
static void put_str(char **b, size_t *len, size_t *cap, const char *key, const char *v) {
  size_t was = *len;
  fofal_text_append(b, len, cap, ",\"");
  fofal_text_append(b, len, cap, key);
  fofal_text_append(b, len, cap, "\":");
  if (fofal_json_quote(b, len, cap, v)) {
    *len = was;
    (*b)[was] = '\0';
  }
}

/* The envelope is written as text, not built as a jansson tree and dumped: the decider
 * encodes every event of every command, and the tree was half of it. The text is the one
 * jansson wrote (compact, members in this order; tests/unit/events/test_envelope.c holds the
 * two side by side); only data goes through fofal_json_dumps. */
char *fofal_event_encode(const fofal_event_t *ev) {
  char ts[32], seq[40];
  fofal_time_format(ev->time_us, ts);
  size_t len = 0, cap = 0;
  char *b = NULL;
  fofal_text_append(&b, &len, &cap, "{\"specversion\":\"1.0\"");
  put_str(&b, &len, &cap, "id", ev->id);
  put_str(&b, &len, &cap, "source", ev->source);
  put_str(&b, &len, &cap, "type", ev->type);
  put_str(&b, &len, &cap, "subject", ev->subject);
  put_str(&b, &len, &cap, "time", ts);
  put_str(&b, &len, &cap, "datacontenttype", "application/json");
  put_str(&b, &len, &cap, "fofaltenant", ev->tenant);
  snprintf(seq, sizeof seq, ",\"fofalseq\":%lld", (long long)ev->seq);
  fofal_text_append(&b, &len, &cap, seq);
  if (ev->actor) put_str(&b, &len, &cap, "fofalactor", ev->actor);
  if (ev->command_id) put_str(&b, &len, &cap, "fofalcommandid", ev->command_id);
  if (ev->correlation_id) put_str(&b, &len, &cap, "fofalcorrelationid", ev->correlation_id);
  char *data = ev->data ? fofal_json_dumps(ev->data, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  if (ev->data && !data) abort(); /* only on out-of-memory or invalid UTF-8 we produced ourselves */
  fofal_text_append(&b, &len, &cap, ",\"data\":");
  fofal_text_append(&b, &len, &cap, data ? data : "{}");
  fofal_text_append(&b, &len, &cap, "}");
  free(data);
  return b;
}

static int split_type(const char *type, char *base, size_t baselen, int *version) {
  const char *v = strrchr(type, '.');
  if (!v || v[1] != 'v' || v[2] < '0' || v[2] > '9') return FOFAL_EINVAL;
  char *end;
  long n = strtol(v + 2, &end, 10);
  if (*end || n < 1 || n > 1000) return FOFAL_EINVAL;
  size_t len = (size_t)(v - type);
  if (len >= baselen) return FOFAL_EINVAL;
  memcpy(base, type, len);
  base[len] = '\0';
  *version = (int)n;
  return 0;
}

int fofal_event_type_module(const char *type, char *out, size_t outlen) {
  if (strncmp(type, "fofal.", 6)) return FOFAL_EINVAL;
  const char *m = type + 6, *dot = strchr(m, '.');
  if (!dot || dot == m || (size_t)(dot - m) >= outlen) return FOFAL_EINVAL;
  memcpy(out, m, (size_t)(dot - m));
  out[dot - m] = '\0';
  return 0;
}

static char *take_str(json_t *o, const char *key, int required, int *bad) {
  json_t *v = json_object_get(o, key);
  if (!v) {
    if (required) *bad = 1;
    return NULL;
  }
  if (!json_is_string(v)) {
    *bad = 1;
    return NULL;
  }
  return fofal_strdup(json_string_value(v));
}

int fofal_event_decode(fofal_event_t *ev, const char *buf, size_t len, char *errbuf, size_t errlen) {
  int rc = 0, bad = 0;
  json_error_t jerr;
  json_t *o = NULL;
  memset(ev, 0, sizeof *ev);
  if (len > FOFAL_EVENT_MAX_BYTES)
    return fofal_err(errbuf, errlen, FOFAL_ETOOBIG, "event of %zu bytes exceeds %d", len, FOFAL_EVENT_MAX_BYTES);
  o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!o || !json_is_object(o)) {
    rc = fofal_err(errbuf, errlen, FOFAL_EPARSE, "not a JSON object: %s", o ? "wrong type" : jerr.text);
    goto out;
  }
  json_t *sv = json_object_get(o, "specversion");
  if (!json_is_string(sv) || strcmp(json_string_value(sv), "1.0")) {
    rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "specversion must be \"1.0\"");
    goto out;
  }
  ev->id = take_str(o, "id", 1, &bad);
  ev->source = take_str(o, "source", 1, &bad);
  ev->type = take_str(o, "type", 1, &bad);
  ev->subject = take_str(o, "subject", 1, &bad);
  ev->tenant = take_str(o, "fofaltenant", 1, &bad);
  ev->actor = take_str(o, "fofalactor", 0, &bad);
  ev->command_id = take_str(o, "fofalcommandid", 0, &bad);
  ev->correlation_id = take_str(o, "fofalcorrelationid", 0, &bad);
  json_t *t = json_object_get(o, "time"), *seq = json_object_get(o, "fofalseq");
  json_t *data = json_object_get(o, "data");
  if (bad || !json_is_string(t) || !json_is_integer(seq) || !json_is_object(data)) {
    rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "a required attribute is missing or of the wrong type");
    goto out;
  }
  if (fofal_time_parse(json_string_value(t), &ev->time_us)) {
    rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "time is not RFC 3339");
    goto out;
  }
  ev->seq = json_integer_value(seq);
  ev->data = json_incref(data);

  char base[96];
  int version;
  if (split_type(ev->type, base, sizeof base, &version)) {
    rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "type \"%s\" has no .vN version suffix", ev->type);
    goto out;
  }
  for (int changed = 1; changed;) {
    changed = 0;
    for (int i = 0; i < n_upcasters; i++) {
      if (upcasters[i].from != version || strcmp(upcasters[i].base, base)) continue;
      if ((rc = upcasters[i].fn(&ev->data))) {
        fofal_err(errbuf, errlen, rc, "upcasting %s from v%d failed", base, version);
        goto out;
      }
      version++;
      changed = 1;
    }
  }
  free(ev->type);
  ev->type = fofal_asprintf("%s.v%d", base, version);
out:
  json_decref(o);
  if (rc) fofal_event_clear(ev);
  return rc;
}

/* ------------------------------------------------------------- topics */

int fofal_topic_events(const char *module, char *out, size_t outlen) {
  for (int i = 0; fofal_modules[i]; i++)
    if (!strcmp(fofal_modules[i], module)) {
      snprintf(out, outlen, "fofal.%s.events", module);
      return 0;
    }
  return FOFAL_EINVAL;
}
