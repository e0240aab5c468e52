/*
 * stream_request.c — the messages a stream client sends (stream.c's protocol), parsed and
 * checked: {"subscribe":{"modules":[...],"aggregates":[...]}}, {"unsubscribe":{...}} (or
 * {"unsubscribe":null}) and {"auth":"<access token>"} (the token itself is stream.c's to
 * check).
 *
 * Pure: no I/O, no state, any thread. It is apart from stream.c so that the fuzz target
 * tests/fuzz/fuzz_stream.c can run it without a server; stream.c applies what it returns.
 */
#include "api.h"

#include <string.h>

/* Reads a list of strings; FOFAL_EINVAL when it is not one, too long, or has a bad item. */
static int str_list(json_t *v, size_t max, size_t maxlen, int (*ok)(const char *)) {
  if (!v) return 0;
  if (!json_is_array(v) || json_array_size(v) > max) return FOFAL_EINVAL;
  size_t i;
  json_t *s;
  json_array_foreach(v, i, s) {
    if (!json_is_string(s) || strlen(json_string_value(s)) >= maxlen || !ok(json_string_value(s))) return FOFAL_EINVAL;
  }
  return 0;
}

static int known_module(const char *m) {
  for (int i = 0; fofal_modules[i]; i++)
    if (!strcmp(fofal_modules[i], m)) return 1;
  return 0;
}

static int aggregate_name(const char *s) {
  fofal_aggregate_name_t n[FOFAL_AGGREGATE_NAMES_MAX];
  return fofal_aggregate_resolve("", NULL, s, n, FOFAL_AGGREGATE_NAMES_MAX) > 0;
}

int fofal__stream_request(const char *msg, size_t len, json_t **req, int *kind, const char **why) {
  json_error_t jerr;
  *req = NULL;
  *kind = FOFAL_STREAM_UNSUBSCRIBE;
  json_t *r = json_loadb(msg, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!r) {
    *why = "invalid JSON";
    return FOFAL_EPARSE;
  }
  if (json_is_object(r) && json_object_get(r, "auth")) {
    if (json_object_size(r) != 1 || !json_is_string(json_object_get(r, "auth"))) {
      *why = "send {\"auth\":\"<access token>\"}";
      goto refused;
    }
    *kind = FOFAL_STREAM_AUTH;
    *req = r;
    return 0;
  }
  json_t *sub = json_object_get(r, "subscribe"), *unsub = json_object_get(r, "unsubscribe");
  json_t *body = sub ? sub : unsub;
  if (!json_is_object(r) || json_object_size(r) != 1 || !(json_is_object(body) || (unsub && json_is_null(body)))) {
    *why = "send {\"subscribe\":{...}} or {\"unsubscribe\":{...}}";
    goto refused;
  }
  json_t *mods = json_object_get(body, "modules"), *aggs = json_object_get(body, "aggregates");
  if (str_list(mods, FOFAL_STREAM_MAX_MODULES, FOFAL_STREAM_MODULE_MAX, known_module)) {
    *why = "modules must be a list of known modules";
    goto refused;
  }
  if (str_list(aggs, FOFAL_STREAM_MAX_AGGREGATES, FOFAL_STREAM_NAME_MAX, aggregate_name)) {
    *why = "aggregates must be a list of aggregate ids, codes or kind:code";
    goto refused;
  }
  *kind = sub ? FOFAL_STREAM_SUBSCRIBE : FOFAL_STREAM_UNSUBSCRIBE;
  *req = r;
  return 0;
refused:
  json_decref(r);
  return FOFAL_EINVAL;
}
