/*
 * fuzz_stream.c — the messages a WebSocket stream client sends (api/stream_request.c,
 * fofal__stream_request), as one text frame.
 *
 * Properties: no crash, leak or undefined behaviour; the answer is 0 with a request, or
 * FOFAL_EPARSE (close 1007) / FOFAL_EINVAL (1008) with a reason and no request; an
 * accepted request is an object with one member: "auth" (a string), or "subscribe" (an
 * object) or "unsubscribe" (an object or null) whose "modules" and "aggregates", when
 * present, are lists within the caps of known modules and of names
 * fofal_aggregate_resolve accepts — what stream.c relies on when it applies them.
 */
#include "fuzz.h"

#include "api.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_t *req = (json_t *)1;
  int kind = -1;
  const char *why = NULL;
  int rc = fofal__stream_request((const char *)data, size, &req, &kind, &why);
  if (rc) {
    FUZZ_CHECK((rc == FOFAL_EPARSE || rc == FOFAL_EINVAL) && why && *why && !req, "a refusal: %d", rc);
    return 0;
  }
  FUZZ_CHECK(json_is_object(req) && json_object_size(req) == 1, "one member");
  if (kind == FOFAL_STREAM_AUTH) {
    FUZZ_CHECK(json_is_string(json_object_get(req, "auth")), "auth: a string");
    json_decref(req);
    return 0;
  }
  FUZZ_CHECK(kind == FOFAL_STREAM_SUBSCRIBE || kind == FOFAL_STREAM_UNSUBSCRIBE, "a kind: %d", kind);
  int sub = kind == FOFAL_STREAM_SUBSCRIBE;
  json_t *body = json_object_get(req, sub ? "subscribe" : "unsubscribe");
  FUZZ_CHECK(json_is_object(body) || (!sub && json_is_null(body)), "the member's value");
  json_t *mods = json_object_get(body, "modules"), *aggs = json_object_get(body, "aggregates");
  FUZZ_CHECK(!mods || (json_is_array(mods) && json_array_size(mods) <= FOFAL_STREAM_MAX_MODULES), "modules");
  FUZZ_CHECK(!aggs || (json_is_array(aggs) && json_array_size(aggs) <= FOFAL_STREAM_MAX_AGGREGATES), "aggregates");
  size_t i;
  json_t *s;
  json_array_foreach(mods, i, s) {
    const char *m = json_string_value(s);
    int known = 0;
    for (int k = 0; m && fofal_modules[k]; k++) known |= !strcmp(fofal_modules[k], m);
    FUZZ_CHECK(known && strlen(m) < FOFAL_STREAM_MODULE_MAX, "a known module");
  }
  json_array_foreach(aggs, i, s) {
    const char *name = json_string_value(s);
    FUZZ_CHECK(name && strlen(name) < FOFAL_STREAM_NAME_MAX, "an aggregate name within its cap");
    fofal_aggregate_name_t names[FOFAL_AGGREGATE_NAMES_MAX];
    int k = fofal_aggregate_resolve("t1", NULL, name, names, FOFAL_AGGREGATE_NAMES_MAX);
    FUZZ_CHECK(k >= 1 && k <= FOFAL_AGGREGATE_NAMES_MAX, "a name resolves in a tenant too (%d)", k);
    for (int j = 0; j < k; j++) FUZZ_CHECK(strlen(names[j].id) <= FOFAL_CODE_MAX, "a resolved id");
  }
  json_decref(req);
  return 0;
}
