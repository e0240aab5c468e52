/*
 * test_asyncapi.c — api/asyncapi.c: the AsyncAPI 3.0 document of the Kafka topics, built
 * from the repository's schemas/ and the command registry, with the topics of
 * fofal_topics_all().
 *
 * The expectations are found independently of the builder: the event schema files are
 * listed here with opendir, the modules read from fofal_modules[], the telemetry types
 * from ingest.h, the header from the CloudEvents binding. Every $ref of the document must
 * point at something in it.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "ingest.h"

#define SCHEMAS FOFAL_SOURCE_DIR "/schemas"
#define PARTITIONS 5

static fofal_registry_t *reg;
static json_t *doc;

static json_t *build(const char *schemas_dir, int *rc, char *err, size_t errlen) {
  fofal_topic_spec_t topics[64];
  int n = fofal_topics_all(topics, 64, PARTITIONS);
  char *s = NULL;
  *rc = fofal__asyncapi_build(reg, schemas_dir, topics, n, &s, err, errlen);
  if (*rc) return NULL;
  json_error_t jerr;
  json_t *d = json_loads(s, JSON_REJECT_DUPLICATES, &jerr);
  cr_assert_not_null(d, "the document is not valid JSON: %s (line %d)", jerr.text, jerr.line);
  free(s);
  return d;
}

static void setup(void) {
  char err[512];
  int rc = fofal_registry_load(&reg, SCHEMAS, err, sizeof err);
  cr_assert_eq(rc, 0, "registry: %s", err);
  doc = build(SCHEMAS, &rc, err, sizeof err);
  cr_assert_eq(rc, 0, "build: %s", err);
}

static void teardown(void) {
  json_decref(doc);
  fofal_registry_free(reg);
}

TestSuite(asyncapi, .init = setup, .fini = teardown);

#include <stdarg.h>

/* o["a"]["b"]… for the keys up to NULL (borrowed), or NULL. */
static json_t *g(json_t *o, ...) {
  va_list ap;
  va_start(ap, o);
  for (const char *k; o && (k = va_arg(ap, const char *));) o = json_object_get(o, k);
  va_end(ap);
  return o;
}
#define at(o, ...) g(o, __VA_ARGS__, NULL)
static const char *str(json_t *v) { return json_string_value(v); }

/* The object a local "#/a/b~1c" reference names, or NULL. */
static json_t *resolve(const char *ref) {
  if (strncmp(ref, "#/", 2)) return NULL;
  json_t *cur = doc;
  char tok[512];
  for (const char *p = ref + 2; cur && *p;) {
    size_t n = strcspn(p, "/"), o = 0;
    for (size_t i = 0; i < n && o + 1 < sizeof tok; i++) {
      if (p[i] == '~' && i + 1 < n) tok[o++] = p[++i] == '1' ? '/' : '~';
      else tok[o++] = p[i];
    }
    tok[o] = '\0';
    cur = json_is_array(cur) ? json_array_get(cur, strtoul(tok, NULL, 10)) : json_object_get(cur, tok);
    p += n + (p[n] == '/');
  }
  return cur;
}

static void walk_refs(json_t *v, const char *where, int *refs) {
  const char *k;
  json_t *c;
  size_t i;
  if (json_is_object(v)) {
    json_t *r = json_object_get(v, "$ref");
    if (json_is_string(r)) {
      (*refs)++;
      cr_expect_not_null(resolve(json_string_value(r)), "%s: $ref %s points at nothing", where, json_string_value(r));
    }
    json_object_foreach(v, k, c) walk_refs(c, k, refs);
  } else if (json_is_array(v)) {
    json_array_foreach(v, i, c) walk_refs(c, where, refs);
  }
}

Test(asyncapi, is_asyncapi_3_with_every_ref_resolved) {
  cr_assert_str_eq(json_string_value(json_object_get(doc, "asyncapi")), "3.0.0");
  cr_expect(json_is_string(at(doc, "info", "title")) && json_is_string(at(doc, "info", "version")));
  int refs = 0;
  walk_refs(doc, "document", &refs);
  cr_expect_gt(refs, 200, "the messages are referenced, not copied (%d refs)", refs);
  char *text = json_dumps(doc, JSON_COMPACT);
  cr_expect(!strstr(text, "\"$id\""), "no $id: it would change the base of the references inside a schema");
  free(text);
}

/* The servers say how a reader authenticates (issue 22): the brokers take SASL/SCRAM-SHA-512
 * only. */
Test(asyncapi, the_kafka_server_requires_scram_sha_512) {
  json_t *sec = at(doc, "servers", "kafka", "security");
  cr_assert(json_is_array(sec) && json_array_size(sec) == 1, "servers.kafka.security is one scheme");
  const char *ref = json_string_value(json_object_get(json_array_get(sec, 0), "$ref"));
  cr_assert_str_eq(ref ?: "", "#/components/securitySchemes/scram");
  json_t *scheme = at(doc, "components", "securitySchemes", "scram");
  cr_assert_str_eq(json_string_value(json_object_get(scheme, "type")) ?: "", "scramSha512");
  cr_expect(strstr(json_string_value(json_object_get(scheme, "description")) ?: "", "SASL"));
}

/* A channel per topic of fofal topics create's table, with its configuration. */
Test(asyncapi, a_channel_per_topic_with_its_kafka_configuration) {
  fofal_topic_spec_t topics[64];
  int n = fofal_topics_all(topics, 64, PARTITIONS);
  cr_assert_eq(json_object_size(json_object_get(doc, "channels")), (size_t)n);
  for (int i = 0; i < n; i++) {
    json_t *ch = at(doc, "channels", topics[i].name), *k = at(json_object_get(ch, "bindings"), "kafka", "topic");
    cr_assert_not_null(ch, "channel %s", topics[i].name);
    cr_expect_str_eq(json_string_value(json_object_get(ch, "address")), topics[i].name);
    cr_expect_str_eq(json_string_value(k), topics[i].name);
    json_t *kafka = at(ch, "bindings", "kafka"), *conf = json_object_get(kafka, "topicConfiguration");
    cr_expect_eq(json_integer_value(json_object_get(kafka, "partitions")), PARTITIONS, "%s", topics[i].name);
    const char *policy = json_string_value(json_array_get(json_object_get(conf, "cleanup.policy"), 0));
    cr_expect_str_eq(policy, topics[i].kind == FOFAL_TOPIC_COMPACTED ? "compact" : "delete", "%s", topics[i].name);
    if (topics[i].kind == FOFAL_TOPIC_EVENTS)
      cr_expect_eq(json_integer_value(json_object_get(conf, "retention.ms")), -1, "%s keeps every event", topics[i].name);
  }
  /* Values, not the table again: what `fofal topics create` sets. */
  json_t *cmd = at(at(doc, "channels", FOFAL_TOPIC_COMMANDS), "bindings", "kafka");
  cr_expect_eq(json_integer_value(at(cmd, "topicConfiguration", "retention.ms")), 7LL * 24 * 3600 * 1000);
  json_t *res = at(at(doc, "channels", FOFAL_TOPIC_RESULTS), "bindings", "kafka");
  cr_expect_null(at(res, "topicConfiguration", "retention.ms"), "a compacted topic keeps the latest per key");
  const char *desc = str(at(doc, "channels", FOFAL_TOPIC_RESULTS, "description"));
  cr_expect(desc && strstr(desc, "min.compaction.lag.ms=60000"), "configs the binding has no field for are in the text");
}

/* Every schemas/<m>/events/<e>.v<N>.json of every module is a message of fofal.<m>.events,
 * its type constant, its data that schema, and the receive operation lists it. */
Test(asyncapi, every_event_schema_is_a_message_of_its_module_topic) {
  int modules = 0, events = 0;
  for (int m = 0; fofal_modules[m]; m++, modules++) {
    char topic[128], dir[1024], tok[160];
    cr_assert_eq(fofal_topic_events(fofal_modules[m], topic, sizeof topic), 0);
    json_t *ch = at(doc, "channels", topic);
    cr_assert_not_null(ch, "a channel for module %s", fofal_modules[m]);
    snprintf(tok, sizeof tok, "%s.receive", topic);
    json_t *recv = at(doc, "operations", tok);
    cr_assert_not_null(recv, "a receive operation on %s", topic);
    cr_expect_str_eq(json_string_value(json_object_get(recv, "action")), "receive");
    cr_expect_eq(resolve(json_string_value(at(recv, "channel", "$ref"))), ch);
    snprintf(dir, sizeof dir, SCHEMAS "/%s/events", fofal_modules[m]);
    DIR *d = opendir(dir);
    if (!d) continue; /* a module without events yet */
    struct dirent *f;
    while ((f = readdir(d))) {
      size_t n = strlen(f->d_name);
      if (n < 6 || strcmp(f->d_name + n - 5, ".json")) continue;
      char type[300], path[1400];
      snprintf(type, sizeof type, "fofal.%s.%.*s", fofal_modules[m], (int)(n - 5), f->d_name);
      snprintf(path, sizeof path, "%s/%s", dir, f->d_name);
      json_t *chm = at(ch, "messages", type);
      cr_assert_not_null(chm, "%s is a message of %s", path, topic);
      json_t *msg = resolve(json_string_value(json_object_get(chm, "$ref")));
      cr_assert_not_null(msg, "%s resolves", type);
      json_t *own = json_array_get(at(msg, "payload", "allOf"), 1);
      cr_expect_str_eq(str(at(own, "properties", "type", "const")), type);
      char source[96];
      snprintf(source, sizeof source, "/fofal/%s", fofal_modules[m]);
      cr_expect_str_eq(str(at(own, "properties", "source", "const")), source);
      /* The data is the file's schema (without $schema and $id). */
      json_t *file = json_load_file(path, 0, NULL), *data = resolve(str(at(own, "properties", "data", "$ref")));
      cr_assert_not_null(file);
      json_object_del(file, "$schema");
      json_object_del(file, "$id");
      cr_expect(json_equal(file, data), "the data of %s is %s", type, path);
      json_decref(file);
      /* The envelope, its header and its key. */
      json_t *envelope = resolve(str(at(json_array_get(at(msg, "payload", "allOf"), 0), "$ref")));
      cr_expect_str_eq(str(at(envelope, "properties", "specversion", "const")), "1.0");
      cr_expect(json_is_object(at(envelope, "properties", "fofaltenant")) && json_is_object(at(envelope, "properties", "fofalseq")));
      json_t *hdr = resolve(str(at(msg, "headers", "$ref")));
      cr_expect_str_eq(str(at(hdr, "properties", "content-type", "const")), "application/cloudevents+json");
      cr_expect_str_eq(str(at(msg, "contentType")), "application/cloudevents+json");
      cr_expect_str_eq(str(at(msg, "bindings", "kafka", "key", "type")), "string");
      /* The analysts' operation lists it, by the channel's message. */
      char want[400];
      snprintf(want, sizeof want, "#/channels/%s/messages/%s", topic, type);
      int listed = 0;
      size_t i;
      json_t *r;
      json_array_foreach(json_object_get(recv, "messages"), i, r) listed |= !strcmp(json_string_value(json_object_get(r, "$ref")), want);
      cr_expect(listed, "%s.receive lists %s", topic, type);
      events++;
    }
    closedir(d);
  }
  cr_expect_geq(modules, 3);
  cr_expect_gt(events, 40, "%d event schemas", events);
}

static void count(void *o, const fofal_command_def_t *def) {
  (void)def;
  (*(int *)o)++;
}

Test(asyncapi, every_command_type_on_fofal_commands_with_personal_data_sealed) {
  json_t *ch = at(doc, "channels", FOFAL_TOPIC_COMMANDS);
  cr_assert_not_null(ch);
  int types = 0;
  const char *name;
  json_t *chm;
  json_object_foreach(json_object_get(ch, "messages"), name, chm) {
    cr_expect_not_null(fofal_registry_find(reg, name), "%s is a command type", name);
    json_t *msg = resolve(json_string_value(json_object_get(chm, "$ref")));
    json_t *own = json_array_get(at(msg, "payload", "allOf"), 1);
    cr_expect_str_eq(json_string_value(at(json_object_get(own, "properties"), "type", "const")), name);
    types++;
  }
  int registered = 0;
  fofal_registry_each(reg, count, &registered);
  cr_expect_eq(types, registered, "one message per command type");
  /* A personal property is sealed on the topic (the API seals it), not its plain schema. */
  int sealed = 0;
  json_object_foreach(json_object_get(ch, "messages"), name, chm) {
    const json_t *personal = fofal_registry_personal(reg, name);
    json_t *props = at(doc, "components", "schemas", name, "properties");
    for (size_t i = 0; i < json_array_size(personal); i++, sealed++)
      cr_expect_str_eq(str(at(props, json_string_value(json_array_get(personal, i)), "$ref")),
                       "#/components/schemas/SealedValue", "%s: %s", name, json_string_value(json_array_get(personal, i)));
  }
  cr_expect_gt(sealed, 0, "some command has personal data");
  cr_expect(json_is_object(resolve("#/components/schemas/SealedValue/properties/ct")));
}

Test(asyncapi, telemetry_samples_with_the_types_ingest_writes) {
  json_t *ch = at(doc, "channels", FOFAL_TOPIC_TELEMETRY);
  cr_assert_not_null(ch);
  const char *types[] = {FOFAL_TELEMETRY_LOOM_TYPE, FOFAL_TELEMETRY_HALL_TYPE};
  for (size_t i = 0; i < 2; i++) {
    json_t *msg = resolve(str(at(ch, "messages", types[i], "$ref")));
    cr_assert_not_null(msg, "%s is a message of %s", types[i], FOFAL_TOPIC_TELEMETRY);
    json_t *own = json_object_get(json_array_get(at(msg, "payload", "allOf"), 1), "properties");
    cr_expect_str_eq(json_string_value(at(own, "type", "const")), types[i]);
    cr_expect_str_eq(json_string_value(at(own, "source", "const")), "/fofal/telemetry");
  }
  cr_expect_eq(json_object_size(json_object_get(ch, "messages")), 2, "the MQTT batch shape is not a Kafka record");
}

Test(asyncapi, internal_topics_have_no_receive_operation) {
  char id[160];
  snprintf(id, sizeof id, "%s.receive", FOFAL_TOPIC_STATE);
  cr_expect_null(at(doc, "operations", id));
  snprintf(id, sizeof id, "%s.send", FOFAL_TOPIC_STATE);
  cr_expect_not_null(at(doc, "operations", id));
  snprintf(id, sizeof id, "%s.receive", FOFAL_TOPIC_COMMANDS_DLQ);
  cr_expect_not_null(at(doc, "operations", id), "dead letters are for people to read");
}

/* An event schema whose name says no version is refused, not published under a made-up type. */
Test(asyncapi, an_event_schema_without_a_version_refuses_the_build) {
  char tmp[] = "/tmp/fofal-asyncapi-XXXXXX", dir[256], file[320], err[512];
  cr_assert_not_null(mkdtemp(tmp));
  snprintf(dir, sizeof dir, "%s/%s", tmp, fofal_modules[0]);
  mkdir(dir, 0700);
  snprintf(dir, sizeof dir, "%s/%s/events", tmp, fofal_modules[0]);
  mkdir(dir, 0700);
  snprintf(file, sizeof file, "%s/order_created.json", dir);
  FILE *f = fopen(file, "w");
  cr_assert_not_null(f);
  fputs("{\"type\": \"object\"}", f);
  fclose(f);
  int rc;
  json_t *d = build(tmp, &rc, err, sizeof err);
  cr_expect_eq(rc, FOFAL_ECONFIG);
  cr_expect_null(d);
  cr_expect(strstr(err, "order_created.json"), "the error names the file: %s", err);
  /* A well-named one is published. */
  char good[340];
  snprintf(good, sizeof good, "%s/order_made.v2.json", dir);
  rename(file, good);
  d = build(tmp, &rc, err, sizeof err);
  cr_expect_eq(rc, 0, "%s", err);
  char type[128], topic[128];
  snprintf(type, sizeof type, "fofal.%s.order_made.v2", fofal_modules[0]);
  fofal_topic_events(fofal_modules[0], topic, sizeof topic);
  cr_expect_not_null(json_object_get(json_object_get(json_object_get(json_object_get(d, "channels"), topic), "messages"), type));
  json_decref(d);
  unlink(good);
  rmdir(dir);
  snprintf(dir, sizeof dir, "%s/%s", tmp, fofal_modules[0]);
  rmdir(dir);
  rmdir(tmp);
}

Test(asyncapi, etag_names_the_document) {
  char a[FOFAL__ETAG_LEN], b[FOFAL__ETAG_LEN], c[FOFAL__ETAG_LEN];
  fofal__document_etag("{\"a\":1}", a);
  fofal__document_etag("{\"a\":1}", b);
  fofal__document_etag("{\"a\":2}", c);
  cr_expect_str_eq(a, b);
  cr_expect_str_neq(a, c);
  cr_expect_eq(strlen(a), 34);
  cr_expect(a[0] == '"' && a[33] == '"');
}
