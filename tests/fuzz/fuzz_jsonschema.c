/*
 * fuzz_jsonschema.c — the JSON Schema validator (commands/jsonschema.c) on any instance,
 * against the project's own schemas: every schema file under schemas/ (the source tree's,
 * FOFAL_SOURCE_DIR: schemas/<area>/, its commands/ and its events/ — commands, events,
 * telemetry), registered by their $id so that their $refs resolve as in production.
 *
 * Input: the first byte picks the schema (modulo their count) and the rest is the
 * instance, any JSON value. A first byte of 0xff instead makes the input
 * "<schema>\0<instance>": the schema itself is fuzzed too (compiled against the same
 * registry), which is where regexes, $ref resolution and cycles are.
 *
 * Properties: no crash, leak or undefined behaviour; validate answers 0, 1 or
 * FOFAL_SCHEMA_ETOODEEP; the errors array is empty exactly when the instance is valid, has
 * at most FOFAL_SCHEMA_MAX_ERRORS entries, each {"pointer","keyword","message"} strings
 * with a pointer that is "" or starts with '/'; validating twice gives the same answer.
 */
#include "fuzz.h"

#include "jsonschema.h"

#include <dirent.h>

#define MAX_SCHEMAS 256

static fofal_schema_registry_t *reg;
static fofal_schema_t *schemas[MAX_SCHEMAS];
static int nschemas;

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The .json files of dir, sorted, appended to names. */
static void list(const char *dir, char **names, int *n) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int first = *n;
  while (d && (e = readdir(d)) && *n < MAX_SCHEMAS) {
    size_t len = strlen(e->d_name);
    if (len < 6 || strcmp(e->d_name + len - 5, ".json")) continue;
    names[*n] = malloc(strlen(dir) + len + 2);
    if (!names[*n]) abort();
    sprintf(names[*n], "%s/%s", dir, e->d_name);
    (*n)++;
  }
  if (d) closedir(d);
  qsort(names + first, (size_t)(*n - first), sizeof *names, cmp);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  /* Every .json of schemas/<area>/, schemas/<area>/commands/ and schemas/<area>/events/. */
  char *names[MAX_SCHEMAS], *areas[64], dir[512], err[256];
  json_t *docs[MAX_SCHEMAS];
  int n = 0, nareas = 0;
  snprintf(dir, sizeof dir, "%s/schemas", FOFAL_SOURCE_DIR);
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d)) && nareas < 64)
    if (e->d_name[0] != '.') areas[nareas++] = strdup(e->d_name);
  if (d) closedir(d);
  qsort(areas, (size_t)nareas, sizeof *areas, cmp);
  for (int i = 0; i < nareas; i++) {
    static const char *const subs[] = {"", "/commands", "/events"};
    for (size_t k = 0; k < sizeof subs / sizeof subs[0]; k++) {
      snprintf(dir, sizeof dir, "%s/schemas/%s%s", FOFAL_SOURCE_DIR, areas[i], subs[k]);
      list(dir, names, &n);
    }
    free(areas[i]);
  }
  reg = fofal_schema_registry_new();
  for (int i = 0; i < n; i++) {
    json_error_t jerr;
    docs[i] = json_load_file(names[i], JSON_REJECT_DUPLICATES, &jerr);
    const char *id = json_string_value(json_object_get(docs[i], "$id"));
    if (!docs[i] || !id || fofal_schema_registry_add(reg, id, docs[i])) {
      fprintf(stderr, "fuzz_jsonschema: cannot register %s\n", names[i]);
      abort();
    }
  }
  for (int i = 0; i < n; i++) {
    const char *id = json_string_value(json_object_get(docs[i], "$id"));
    if (fofal_schema_compile_ex(&schemas[nschemas++], docs[i], id, reg, err, sizeof err)) {
      fprintf(stderr, "fuzz_jsonschema: cannot compile %s: %s\n", names[i], err);
      abort();
    }
    json_decref(docs[i]);
    free(names[i]);
  }
  if (nschemas < 10) {
    fprintf(stderr, "fuzz_jsonschema: only %d schemas under %s/schemas\n", nschemas, FOFAL_SOURCE_DIR);
    abort();
  }
  return 0;
}

static void check(const fofal_schema_t *s, const json_t *instance) {
  json_t *errors = NULL, *again = NULL;
  int rc = fofal_schema_validate(s, instance, &errors);
  FUZZ_CHECK(rc == 0 || rc == 1 || rc == FOFAL_SCHEMA_ETOODEEP, "validate answered %d", rc);
  FUZZ_CHECK(json_is_array(errors), "the errors are an array");
  FUZZ_CHECK((rc == 0) == (json_array_size(errors) == 0), "errors empty exactly when valid (rc %d, %zu errors)", rc,
             json_array_size(errors));
  FUZZ_CHECK(json_array_size(errors) <= FOFAL_SCHEMA_MAX_ERRORS, "at most %d errors", FOFAL_SCHEMA_MAX_ERRORS);
  size_t i;
  json_t *e;
  json_array_foreach(errors, i, e) {
    const char *ptr = json_string_value(json_object_get(e, "pointer"));
    FUZZ_CHECK(ptr && (!*ptr || *ptr == '/'), "an error's pointer");
    FUZZ_CHECK(json_is_string(json_object_get(e, "keyword")) && json_is_string(json_object_get(e, "message")),
               "an error's keyword and message");
  }
  FUZZ_CHECK(fofal_schema_validate(s, instance, &again) == rc && json_equal(errors, again),
             "validating twice answers the same");
  json_decref(errors);
  json_decref(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  json_error_t jerr;
  if (data[0] != 0xff) {
    json_t *instance = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, &jerr);
    if (instance) check(schemas[data[0] % nschemas], instance);
    json_decref(instance);
    return 0;
  }
  const uint8_t *nul = memchr(data + 1, '\0', size - 1);
  if (!nul) return 0;
  json_t *root = json_loadb((const char *)data + 1, (size_t)(nul - data - 1), JSON_DECODE_ANY, &jerr);
  json_t *instance = json_loadb((const char *)nul + 1, size - (size_t)(nul + 1 - data), JSON_DECODE_ANY, &jerr);
  fofal_schema_t *s = NULL;
  char err[256] = "";
  if (root && instance) {
    int rc = fofal_schema_compile_ex(&s, root, "https://fofal.example/schemas/fuzz.json", reg, err, sizeof err);
    FUZZ_CHECK((rc == 0) == (s != NULL), "compile sets *out exactly when it succeeds");
    if (rc) FUZZ_CHECK(rc < 0 && err[0], "a refused schema says why");
    else check(s, instance);
  }
  fofal_schema_free(s);
  json_decref(root);
  json_decref(instance);
  return 0;
}
