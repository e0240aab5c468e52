/*
 * asyncapi.c — the AsyncAPI 3.0 document of every Kafka topic, for the analysts who read
 * the topics: GET /api/v1/asyncapi.json, beside the OpenAPI document (openapi.c).
 *
 * Built once at start, like the OpenAPI document, and from the sources the processes
 * themselves use, so that it cannot drift from what they write:
 *   - the channels are the topics of fofal_topics_all() (events/kafka.c: the table
 *     `fofal topics create` creates from), so one fofal.<module>.events per module of
 *     fofal_modules[]; a channel's Kafka binding has the partitions the topic has (asked
 *     from Kafka at start) and the configs of fofal_topic_configs();
 *   - an event topic's messages are the files schemas/<module>/events/<event>.v<N>.json,
 *     each the `data` of CloudEvent type fofal.<module>.<event>.v<N>; fofal.telemetry.raw's
 *     are the files of schemas/telemetry/ that name their CloudEvent type
 *     ("x-fofal-event-type"; the others are shapes of MQTT payloads only); fofal.commands'
 *     are the command registry's (schemas/<module>/commands/), with the personal properties
 *     sealed as they are in the log;
 *   - the payload of an event is the structured CloudEvent of DESIGN.md (CloudEvent below)
 *     with `type` and `source` constant and `data` the event's schema; its Kafka headers
 *     are fofal_event_kafka_headers()'s.
 * The records of the other topics (command results, dead letters, and the two internal
 * state topics) are described here, where their shape is known from the code that writes
 * them (commands/processor.c, ingest/).
 *
 * Each channel has a `receive` operation, what an analyst's consumer does, and a `send`
 * operation, what FOFAL itself does; the internal state topics have only the latter.
 *
 * Public like openapi.json (no token): it says what the topics hold, never what is in
 * them. A schema that cannot be read, or an event schema whose file name is not
 * <event>.v<N>.json, refuses the start (main.c), as a missing command schema does.
 *
 * fofal__asyncapi_load and fofal__asyncapi_free run before and after the loop; requests
 * on the loop thread.
 */
#include "api.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KAFKA_BINDING "0.5.0"

static char *document;      /* the document, built by fofal__asyncapi_load */
static char etag[FOFAL__ETAG_LEN];

typedef struct {
  const fofal_registry_t *reg;
  const char *schemas_dir;
  json_t *channels, *operations, *messages, *schemas;
  char *errbuf;
  size_t errlen;
  int rc;
} build_t;

/* A JSON pointer token (RFC 6901: '~' and '/' escaped) of `s` into out. */
static void ptr_token(const char *s, char *out, size_t outlen) {
  size_t o = 0;
  for (; *s && o + 3 < outlen; s++) {
    if (*s == '~' || *s == '/') {
      out[o++] = '~';
      out[o++] = *s == '~' ? '0' : '1';
    } else {
      out[o++] = *s;
    }
  }
  out[o] = '\0';
}

/* {"$ref": "<prefix><token of name>"} (new). */
static json_t *ref_to(const char *prefix, const char *name) {
  char tok[256], r[400];
  ptr_token(name, tok, sizeof tok);
  snprintf(r, sizeof r, "%s%s", prefix, tok);
  return json_pack("{s:s}", "$ref", r);
}

/* The message binding: the Kafka key of the message, a string described by `key`. */
static json_t *key_binding(const char *key) {
  return json_pack("{s:{s:{s:s,s:s},s:s}}", "kafka", "key", "type", "string", "description", key, "bindingVersion",
                   KAFKA_BINDING);
}

/* Reads a JSON Schema file (new object, without $schema and $id: inside this document its
 * references are this document's). NULL with b's error set. */
static json_t *load_schema(build_t *b, const char *path) {
  json_error_t jerr;
  json_t *s = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  if (!json_is_object(s)) {
    b->rc = fofal_err(b->errbuf, b->errlen, FOFAL_ECONFIG, "schema %s: %s", path, s ? "not a JSON object" : jerr.text);
    json_decref(s);
    return NULL;
  }
  json_object_del(s, "$schema");
  json_object_del(s, "$id");
  return s;
}

static int is_json_file(const struct dirent *d) {
  size_t n = strlen(d->d_name);
  return d->d_name[0] != '.' && n > 5 && !strcmp(d->d_name + n - 5, ".json");
}

/* The *.json files of dir, sorted (the document, and so its ETag, is the same for the
 * same files). *names is new (free each and the array); returns the count, 0 for a folder
 * that does not exist, or FOFAL_EIO with b's error set. */
static int list_json(build_t *b, const char *dir, struct dirent ***names) {
  int n = scandir(dir, names, is_json_file, alphasort);
  if (n >= 0) return n;
  *names = NULL;
  if (errno == ENOENT) return 0;
  return b->rc = fofal_err(b->errbuf, b->errlen, FOFAL_EIO, "cannot list %s: %s", dir, strerror(errno));
}

static void free_names(struct dirent **names, int n) {
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
}

/* Adds message `id` (msg stolen) to the components and to channel's messages. */
static void add_message(build_t *b, json_t *channel, const char *id, json_t *msg) {
  json_object_set_new(b->messages, id, msg);
  json_object_set_new(json_object_get(channel, "messages"), id, ref_to("#/components/messages/", id));
}

/* A CloudEvent message of `type` whose data is schema (stolen, kept as a component schema
 * named after the type). */
static void add_cloudevent(build_t *b, json_t *channel, const char *type, const char *source, json_t *schema,
                           const char *key, const char *tag) {
  json_t *title = json_object_get(schema, "title"), *desc = json_object_get(schema, "description");
  json_t *msg = json_pack(
      "{s:s,s:s,s:s,s:o,s:o,s:{s:[o,{s:s,s:[s,s,s],s:{s:{s:s},s:{s:s},s:o}}]},s:o,s:[{s:s}]}", "name", type, "title",
      json_is_string(title) ? json_string_value(title) : type, "contentType", FOFAL_EVENT_CONTENT_TYPE, "headers",
      json_pack("{s:s}", "$ref", "#/components/schemas/CloudEventHeaders"), "correlationId",
      json_pack("{s:s}", "$ref", "#/components/correlationIds/Correlation"), "payload", "allOf",
      json_pack("{s:s}", "$ref", "#/components/schemas/CloudEvent"), "type", "object", "required", "type", "source",
      "data", "properties", "type", "const", type, "source", "const", source, "data",
      ref_to("#/components/schemas/", type), "bindings", key_binding(key), "tags", "name", tag);
  if (json_is_string(desc)) json_object_set(msg, "description", desc);
  json_object_set_new(b->schemas, type, schema);
  add_message(b, channel, type, msg);
}

/* ------------------------------------------------------------ channels */

/* The messages of fofal.<module>.events: one per schemas/<module>/events/<event>.v<N>.json. */
static void fill_events(build_t *b, json_t *channel, const char *module) {
  char dir[1024], path[1400], type[256], source[96];
  struct dirent **names;
  snprintf(dir, sizeof dir, "%s/%s/events", b->schemas_dir, module);
  snprintf(source, sizeof source, "/fofal/%s", module);
  int n = list_json(b, dir, &names);
  for (int i = 0; i < n && !b->rc; i++) {
    const char *f = names[i]->d_name;
    size_t len = strlen(f) - 5; /* without .json */
    const char *v = memchr(f, '.', len);
    size_t digits = v ? strspn(v + 2, "0123456789") : 0;
    if (!v || v == f || v[1] != 'v' || !digits || v + 2 + digits != f + len ||
        strspn(f, "abcdefghijklmnopqrstuvwxyz0123456789_") != (size_t)(v - f)) {
      b->rc = fofal_err(b->errbuf, b->errlen, FOFAL_ECONFIG, "event schema %s/%s: the name is not <event>.v<N>.json", dir, f);
      break;
    }
    snprintf(type, sizeof type, "fofal.%s.%.*s", module, (int)len, f);
    snprintf(path, sizeof path, "%s/%s", dir, f);
    json_t *schema = load_schema(b, path);
    if (schema) add_cloudevent(b, channel, type, source, schema, "The aggregate id (the event's subject).", module);
  }
  free_names(names, n);
}

/* The messages of fofal.telemetry.raw: the schemas/telemetry files with x-fofal-event-type. */
static void fill_telemetry(build_t *b, json_t *channel, const char *topic) {
  (void)topic;
  char dir[1024], path[1400];
  struct dirent **names;
  snprintf(dir, sizeof dir, "%s/telemetry", b->schemas_dir);
  int n = list_json(b, dir, &names);
  for (int i = 0; i < n && !b->rc; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
    json_t *schema = load_schema(b, path), *type = json_object_get(schema, "x-fofal-event-type");
    if (!json_is_string(type)) {
      json_decref(schema); /* an MQTT payload only (a batch is written sample by sample) */
      continue;
    }
    char t[256];
    snprintf(t, sizeof t, "%s", json_string_value(type));
    add_cloudevent(b, channel, t, "/fofal/telemetry", schema, "The loom or hall code (the sample's subject).",
                   "telemetry");
  }
  free_names(names, n);
}

typedef struct {
  build_t *b;
  json_t *channel;
} each_t;

/* fofal.commands: one message per command type of the registry. */
static void add_command(void *opaque, const fofal_command_def_t *def) {
  build_t *b = ((each_t *)opaque)->b;
  json_t *channel = ((each_t *)opaque)->channel;
  json_t *schema = json_deep_copy(fofal_registry_schema(b->reg, def->type));
  json_object_del(schema, "$schema");
  json_object_del(schema, "$id");
  /* In the log a personal property is sealed (the API seals it before producing). */
  const json_t *personal = fofal_registry_personal(b->reg, def->type);
  size_t i;
  json_t *name;
  json_array_foreach(personal, i, name) json_object_set_new(json_object_get(schema, "properties"), json_string_value(name),
                                                          json_pack("{s:s}", "$ref", "#/components/schemas/SealedValue"));
  char module[32], desc[512];
  fofal_command_module(def->type, module, sizeof module);
  snprintf(desc, sizeof desc,
           "%s The data is as sent to POST /api/v1/commands/%s%s. Its outcome is on " FOFAL_TOPIC_RESULTS ".",
           def->summary, def->type, json_array_size(personal) ? ", its personal properties sealed" : "");
  json_t *msg = json_pack("{s:s,s:s,s:s,s:s,s:{s:[o,{s:s,s:[s,s],s:{s:{s:s},s:o}}]},s:o,s:[{s:s}]}", "name", def->type,
                          "title", def->summary, "description", desc, "contentType", "application/json", "payload",
                          "allOf", json_pack("{s:s}", "$ref", "#/components/schemas/CommandMessage"), "type", "object",
                          "required", "type", "data", "properties", "type", "const", def->type, "data",
                          ref_to("#/components/schemas/", def->type), "bindings",
                          key_binding("The aggregate id (UUID). The partition is the tenant's (fofal_tenant_partition): a "
                                      "tenant's commands are decided in order."),
                          "tags", "name", module);
  json_object_set_new(b->schemas, def->type, schema);
  add_message(b, channel, def->type, msg);
}

static void fill_commands(build_t *b, json_t *channel, const char *topic) {
  (void)topic;
  each_t each = {b, channel};
  fofal_registry_each(b->reg, add_command, &each);
}

static void fill_results(build_t *b, json_t *channel, const char *topic) {
  (void)topic;
  add_message(b, channel, "CommandResult",
              json_pack("{s:s,s:s,s:s,s:s,s:{s:s},s:o}", "name", "CommandResult", "title", "The outcome of a command",
                        "description",
                        "Written by fofal-decider in the transaction that writes the command's events; written again "
                        "for a retried command (the first outcome). Compacted: the latest outcome per key stays.",
                        "contentType", "application/json", "payload", "$ref", "#/components/schemas/CommandResult",
                        "bindings",
                        key_binding("<tenant>/<command id>, each part with '%' and '/' written %25 and %2F.")));
}

static void fill_dead_letters(build_t *b, json_t *channel, const char *topic) {
  int telemetry = !strcmp(topic, FOFAL_TOPIC_TELEMETRY_DLQ);
  json_t *headers = json_pack("{s:s,s:[s],s:{s:{s:s,s:s}}}", "type", "object", "required", "fofal_dlq_reason",
                              "properties", "fofal_dlq_reason", "type", "string", "description",
                              "Why the record was refused.");
  if (telemetry)
    json_object_set_new(json_object_get(headers, "properties"), "mqtt_topic",
                        json_pack("{s:s,s:s}", "type", "string", "description", "The MQTT topic it came on."));
  const char *id = telemetry ? "RefusedTelemetry" : "RefusedCommand";
  add_message(b, channel, id,
              json_pack("{s:s,s:s,s:s,s:s,s:o,s:{s:s},s:o}", "name", id, "title",
                        telemetry ? "A refused MQTT payload" : "A command record that could not be read",
                        "description",
                        telemetry ? "fofal-ingest's: the MQTT payload as it came (a sample that broke its schema or "
                                    "a batch that is not a well-formed array within the caps), with the reason."
                                  : "fofal-decider's: the fofal.commands record as it came, when it is not a command "
                                    "message; nothing was decided.",
                        "contentType", "application/octet-stream", "headers", headers, "payload", "description",
                        "The refused bytes, unchanged (usually JSON, not always).", "bindings",
                        key_binding(telemetry ? "The MQTT topic." : "The refused record's own key.")));
}

static void fill_internal_state(build_t *b, json_t *channel, const char *topic) {
  int decider = !strcmp(topic, FOFAL_TOPIC_STATE);
  const char *id = decider ? "DeciderState" : "MachinesState";
  add_message(b, channel, id,
              json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:s},s:o}", "name", id, "title",
                        decider ? "An aggregate's state after its last event" : "A loom's, hall's or setting's state",
                        "description",
                        "Internal: written in the same transactions as the offsets it goes with, read back after a "
                        "restart or a rebalance. Its shape may change without a new version; read the events instead.",
                        "contentType", "application/json", "payload", "type", "object", "description",
                        decider ? "{tenant, v: the aggregate's version, s: its state}."
                                : "A loom's or hall's state (recent msg_ids, current stop, shift tallies), or a "
                                  "setting (a tenant's shift model, a loom's nominal speed) with the instance that "
                                  "wrote it.",
                        "bindings",
                        key_binding(decider ? "The aggregate id."
                                            : "<tenant>/<loom>, <tenant>/hall:<hall>, <tenant>/~shift_model or "
                                              "<tenant>/~ppm:<loom>.")));
}

/* What is written where, for the topics of the platform; the event topics of the modules
 * are found by their kind. A topic that is in neither gets a channel without messages. */
static const struct {
  const char *topic, *title, *description, *writer;
  void (*fill)(build_t *b, json_t *channel, const char *topic);
  int internal;
} platform[] = {
    {FOFAL_TOPIC_COMMANDS, "Commands",
     "Every accepted command request, as fofal-api (and fofal-machines, for its breakdown reports) produced it; "
     "fofal-decider decides them. Not CloudEvents: a command message whose data is the command's JSON Schema.",
     "fofal-api and fofal-machines produce the commands (idempotent producer, acks=all).", fill_commands, 0},
    {FOFAL_TOPIC_RESULTS, "Command results",
     "The outcome of each command (accepted with its events and version, rejected with a code, or a version "
     "conflict). fofal-api answers the client from it.",
     "fofal-decider writes each result in the transaction of the command's events.", fill_results, 0},
    {FOFAL_TOPIC_STATE, "Decider state (internal)",
     "Each aggregate's state after its last event, so that fofal-decider need not read the whole log at start.",
     "fofal-decider, in its transactions.", fill_internal_state, 1},
    {FOFAL_TOPIC_COMMANDS_DLQ, "Refused command records",
     "Records of fofal.commands that are not command messages (produced past the API).",
     "fofal-decider, in the transaction that consumes the record.", fill_dead_letters, 0},
    {FOFAL_TOPIC_TELEMETRY, "Loom and hall telemetry",
     "Every checked sensor sample, one record per sample (a batch's in its order), as structured CloudEvents. "
     "A sample may come twice (the same id) after a crash of fofal-ingest: deduplicate by id.",
     "fofal-ingest (idempotent producer).", fill_telemetry, 0},
    {FOFAL_TOPIC_TELEMETRY_DLQ, "Refused telemetry",
     "MQTT payloads that failed their schema or the caps, with the reason.", "fofal-ingest.", fill_dead_letters, 0},
    {FOFAL_TOPIC_MACHINES_STATE, "Machine states (internal)",
     "fofal-machines' per-loom and per-hall state and the settings it read from other modules' events.",
     "fofal-machines, in its transactions.", fill_internal_state, 1},
};
#define NPLATFORM (sizeof platform / sizeof platform[0])

/* The channel of topic t (new): its Kafka binding from t and fofal_topic_configs. */
static json_t *channel_new(const fofal_topic_spec_t *t, const char *title, const char *desc) {
  fofal_topic_config_t cf[FOFAL_TOPIC_CONFIGS_MAX];
  int ncf = fofal_topic_configs(t, cf);
  json_t *conf = json_object();
  char text[1024], *at = text;
  at += snprintf(text, sizeof text, "%s Created by `fofal topics create` with", desc);
  for (int i = 0; i < ncf; i++) {
    at += snprintf(at, (size_t)(text + sizeof text - at), "%s %s=%s", i ? "," : "", cf[i].name, cf[i].value);
    /* The binding knows these; the others (min.compaction.lag.ms) are in the text only. */
    if (!strcmp(cf[i].name, "cleanup.policy")) {
      json_t *pol = json_array();
      for (const char *c = cf[i].value; *c;) {
        size_t n = strcspn(c, ",");
        json_array_append_new(pol, json_stringn(c, n));
        c += n + (c[n] == ',');
      }
      json_object_set_new(conf, cf[i].name, pol);
    } else if (!strcmp(cf[i].name, "retention.ms") || !strcmp(cf[i].name, "retention.bytes")) {
      json_object_set_new(conf, cf[i].name, json_integer(strtoll(cf[i].value, NULL, 10)));
    }
  }
  snprintf(at, (size_t)(text + sizeof text - at), ".");
  json_t *kafka = json_pack("{s:s,s:o,s:s}", "topic", t->name, "topicConfiguration", conf, "bindingVersion", KAFKA_BINDING);
  if (t->partitions > 0) json_object_set_new(kafka, "partitions", json_integer(t->partitions));
  return json_pack("{s:s,s:s,s:s,s:{},s:{s:o}}", "address", t->name, "title", title, "description", text, "messages",
                   "bindings", "kafka", kafka);
}

/* The receive (analysts) and send (FOFAL) operations of a filled channel. */
static void add_operations(build_t *b, const char *topic, json_t *channel, const char *writer, int internal) {
  char tok[256], prefix[400], id[200];
  ptr_token(topic, tok, sizeof tok);
  snprintf(prefix, sizeof prefix, "#/channels/%s/messages/", tok);
  for (int send = internal; send <= 1; send++) {
    json_t *msgs = json_array();
    const char *name;
    json_t *m;
    json_object_foreach(json_object_get(channel, "messages"), name, m) json_array_append_new(msgs, ref_to(prefix, name));
    json_t *op = json_pack("{s:s,s:o,s:s,s:o}", "action", send ? "send" : "receive", "channel",
                           ref_to("#/channels/", topic), "summary",
                           send ? writer : "Read the topic (as a consumer of your own group).", "messages", msgs);
    if (!send) {
      json_object_set_new(op, "description",
                          json_string("Read with isolation.level=read_committed: FOFAL writes in Kafka transactions, "
                                      "and a read_uncommitted consumer sees records of aborted ones. The records of "
                                      "one key are in one partition, in order."));
      json_object_set_new(op, "bindings",
                          json_pack("{s:{s:{s:s,s:s},s:s}}", "kafka", "groupId", "type", "string", "description",
                                    "A consumer group of your own: never one of FOFAL's (fofal-*).", "bindingVersion",
                                    KAFKA_BINDING));
    }
    snprintf(id, sizeof id, "%s.%s", topic, send ? "send" : "receive");
    json_object_set_new(b->operations, id, op);
  }
}

static void add_topic(build_t *b, const fofal_topic_spec_t *t) {
  for (size_t i = 0; i < NPLATFORM; i++)
    if (!strcmp(platform[i].topic, t->name)) {
      json_t *channel = channel_new(t, platform[i].title, platform[i].description);
      platform[i].fill(b, channel, t->name);
      add_operations(b, t->name, channel, platform[i].writer, platform[i].internal);
      json_object_set_new(b->channels, t->name, channel);
      return;
    }
  char title[160], desc[512], topic[128];
  for (int m = 0; t->kind == FOFAL_TOPIC_EVENTS && fofal_modules[m]; m++) {
    if (fofal_topic_events(fofal_modules[m], topic, sizeof topic) || strcmp(topic, t->name)) continue;
    snprintf(title, sizeof title, "Events of %s", fofal_modules[m]);
    snprintf(desc, sizeof desc,
             "The events of module %s: the log itself, kept for ever. Each record is a structured CloudEvent whose "
             "data is the schema of its type; fofalseq numbers an aggregate's events from 1 (0 where the events are "
             "not an aggregate's history). A type's older versions stay as written (readers through the API get "
             "them upcast).",
             fofal_modules[m]);
    json_t *channel = channel_new(t, title, desc);
    fill_events(b, channel, fofal_modules[m]);
    add_operations(b, t->name, channel, "The module's writer (fofal-decider, or the module's own process) in Kafka "
                                        "transactions: an accepted command's events are committed before the client "
                                        "hears of them.", 0);
    json_object_set_new(b->channels, t->name, channel);
    return;
  }
  snprintf(desc, sizeof desc, "Not described yet (%s).", t->name);
  json_t *channel = channel_new(t, t->name, desc);
  json_object_set_new(b->channels, t->name, channel);
}

/* ------------------------------------------------------------ components */

static void add_components(build_t *b) {
  json_t *headers = json_pack("{s:s,s:s,s:[],s:{},s:b}", "type", "object", "description",
                              "Structured mode of the CloudEvents Kafka binding: the only header; no ce_* header.",
                              "required", "properties", "additionalProperties", 0);
  const fofal_kheader_t *h;
  int nh = fofal_event_kafka_headers(&h);
  for (int i = 0; i < nh; i++) {
    json_array_append_new(json_object_get(headers, "required"), json_string(h[i].name));
    json_object_set_new(json_object_get(headers, "properties"), h[i].name, json_pack("{s:s}", "const", h[i].value));
  }
  json_object_set_new(b->schemas, "CloudEventHeaders", headers);
  json_t *str = json_pack("{s:s}", "type", "string");
  json_object_set_new(
      b->schemas, "CloudEvent",
      json_pack("{s:s,s:s,s:[s,s,s,s,s,s,s,s,s,s],s:{s:{s:s},s:{s:s,s:s},s:{s:s,s:s},s:{s:s,s:s,s:s},s:{s:s,s:s},"
                "s:{s:s,s:s,s:s},s:{s:s},s:{s:s,s:s},s:{s:s,s:i,s:s},s:{s:s,s:s},s:{s:s,s:s},s:{s:s,s:s},s:{s:s}}}",
                "type", "object", "description",
                "CloudEvents 1.0 in the Kafka binding's structured mode: the record's value is this JSON event "
                "(DESIGN.md, Event envelope). Every attribute is in the value; the extensions fofal* carry the "
                "tenant, the aggregate's sequence, who acted and why.",
                "required", "specversion", "id", "source", "type", "subject", "time", "datacontenttype", "fofaltenant",
                "fofalseq", "data", "properties", "specversion", "const", "1.0", "id", "type", "string", "description",
                "The event's unique id (a UUID; a telemetry sample's is derived from tenant, sensor and msg_id, so a "
                "redelivered sample has the same id).",
                "source", "type", "string", "description", "/fofal/<module>.", "type", "type", "string", "pattern",
                "^fofal\\.[a-z0-9_]+\\.[a-z0-9_]+\\.v[0-9]+$", "description",
                "fofal.<module>.<event>.v<N>: a new version of an event is a new type.", "subject", "type", "string",
                "description", "The aggregate id (also the record's key).", "time", "type", "string", "format",
                "date-time", "description", "When it happened (RFC 3339, UTC, microseconds).", "datacontenttype",
                "const", "application/json", "fofaltenant", "type", "string", "description",
                "The tenant (mill) it belongs to: filter or group by it.", "fofalseq", "type", "integer", "minimum", 0,
                "description", "The aggregate's version after this event (1, 2, …); 0 where there is no aggregate "
                               "history (telemetry).",
                "fofalactor", "type", "string", "description",
                "Who acted, from the signed-in user's token (never from a request body).", "fofalcommandid", "type",
                "string", "description",
                "The command that caused it: <token subject>/<Idempotency-Key>, '/' and '%' of each part written %2F "
                "and %25.",
                "fofalcorrelationid", "type", "string", "description", "Correlates a chain of commands and events.",
                "data", "type", "object"));
  json_object_set_new(
      b->schemas, "CommandMessage",
      json_pack("{s:s,s:s,s:[s,s,s,s,s,s,s],s:{s:{s:s,s:s},s:O,s:O,s:{s:s,s:s},s:{s:s,s:s},s:{s:s,s:s},s:{s:s},"
                "s:{s:s,s:i,s:s},s:O,s:{s:s,s:s}}}",
                "type", "object", "description", "A command as fofal-decider reads it.", "required", "id", "type",
                "tenant", "actor", "aggregate", "issued_at", "data", "properties", "id", "type", "string", "description",
                "The command id: <token subject>/<Idempotency-Key>, each part with '/' and '%' written %2F and %25.",
                "type", str, "tenant", str, "actor", "type", "string", "description", "Who sent it, from the token.",
                "aggregate", "type", "string", "description", "The aggregate id (UUID); also the record's key.",
                "issued_at", "type", "string", "format", "date-time", "data", "type", "object", "expected_version",
                "type", "integer", "minimum", 0, "description", "From If-Match: the command fails on another version.",
                "correlation_id", str, "fingerprint", "type", "string", "description",
                "A keyed hash of the request, so that a reused key is recognised; opaque."));
  json_object_set_new(
      b->schemas, "CommandResult",
      json_pack("{s:s,s:[s,s,s,s,s],s:{s:O,s:O,s:O,s:O,s:{s:[s,s,s]},s:{s:s,s:s},s:{s:s,s:{s:s,s:{s:O,s:O,s:{s:s},"
                "s:O}}},s:{s:s,s:s},s:{s:s,s:s},s:O,s:{s:s},s:{s:s},s:{s:s},s:O}}",
                "type", "object", "required", "command_id", "type", "tenant", "aggregate", "status", "properties",
                "command_id", str, "type", str, "tenant", str, "aggregate", str, "status", "enum", "accepted",
                "rejected", "conflict", "version", "type", "integer", "description",
                "accepted: the aggregate's version after the events.", "events", "type", "array", "items", "type",
                "object", "properties", "id", str, "type", str, "seq", "type", "integer", "aggregate", str, "position",
                "type", "string", "description",
                "accepted: <module>:<partition>:<offset> of the last event (the API's read-your-writes token).", "code",
                "type", "string", "description", "rejected or conflict: the stable code of the answer.", "detail",
                str, "errors", "type", "array", "current_version", "type", "integer", "expected_version", "type",
                "integer", "fingerprint", str));
  json_t *sealed = json_loads(fofal_sealed_value_schema, 0, NULL);
  json_object_set_new(sealed, "description",
                      json_string("Personal data sealed with the person's own key (events/crypto.c); \"erased\" once "
                                  "the person is erased. `fofal replay` opens it for those who hold the master key."));
  json_object_set_new(b->schemas, "SealedValue", sealed);
  json_decref(str);
}

int fofal__asyncapi_build(const fofal_registry_t *reg, const char *schemas_dir, const fofal_topic_spec_t *topics, int n,
                          char **out, char *errbuf, size_t errlen) {
  build_t b = {.reg = reg, .schemas_dir = schemas_dir, .channels = json_object(), .operations = json_object(),
               .messages = json_object(), .schemas = json_object(), .errbuf = errbuf, .errlen = errlen};
  *out = NULL;
  add_components(&b);
  for (int i = 0; i < n && !b.rc; i++) add_topic(&b, &topics[i]);
  /* The brokers take SASL/SCRAM-SHA-512 only (README, Security; ops/stack): a reader needs
   * a Kafka user of its own with read ACLs on the topics it reads. */
  json_t *security = json_pack(
      "{s:{s:s,s:s}}", "scram", "type", "scramSha512", "description",
      "SASL/SCRAM-SHA-512 (security.protocol SASL_PLAINTEXT, or SASL_SSL where the installation sets "
      "FOFAL_KAFKA_SECURITY_PROTOCOL=sasl_ssl) as a Kafka user of your own, which the operator creates with read ACLs "
      "(topic Read, Describe; group Read on your consumer group) on the topics you read. Brokers refuse clients "
      "without SASL, and the authorizer denies what no ACL allows.");
  json_t *doc = json_pack(
      "{s:s,s:{s:s,s:s,s:s},s:s,s:{s:{s:s,s:s,s:s,s:{s:{s:s,s:s}},s:[{s:s}]}},s:o,s:o,s:{s:o,s:o,s:o,s:{s:{s:s,s:s}}}}",
      "asyncapi",
      "3.0.0", "info", "title", "FOFAL Kafka topics", "version", "1.0.0", "description",
      "The topics of FOFAL and what their records hold, for the analysts who read them (kcat, Kafka Connect, a "
      "CloudEvents SDK's Kafka reader). Events are CloudEvents 1.0 in the Kafka binding's structured mode, keyed by "
      "aggregate id, with the tenant in fofaltenant. Built by fofal-api from the JSON Schemas of schemas/ and the "
      "table the topics are created from; the HTTP API is in /api/v1/openapi.json.",
      "defaultContentType", FOFAL_EVENT_CONTENT_TYPE, "servers", "kafka", "host", "{bootstrap}", "protocol", "kafka",
      "description", "The Kafka cluster of the installation.", "variables", "bootstrap", "description",
      "Its bootstrap servers (FOFAL_KAFKA_BROKERS of the stack: var/<stack>/stack.env).", "default", "127.0.0.1:19092",
      "security", "$ref", "#/components/securitySchemes/scram", "channels", b.channels, "operations", b.operations,
      "components", "schemas", b.schemas, "messages", b.messages, "securitySchemes", security,
      "correlationIds", "Correlation", "description", "Correlates the events of a chain of commands.", "location",
      "$message.payload#/fofalcorrelationid");
  if (!b.rc) *out = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
  json_decref(doc);
  return b.rc;
}

/* ------------------------------------------------------------ serving */

int fofal__asyncapi_load(const fofal_registry_t *reg, const char *schemas_dir, const char *brokers, char *errbuf,
                         size_t errlen) {
  fofal_topic_spec_t topics[64];
  fofal_kafka_t *k = NULL;
  int n = fofal_topics_all(topics, 64, 0), rc;
  if (n > 64) return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "%d topics: more than 64", n);
  fofal_kafka_opts_t o = {.brokers = brokers, .client_id = "fofal-api-asyncapi", .metadata_only = 1};
  if ((rc = fofal_kafka_producer_new(&k, &o, errbuf, errlen))) goto out;
  for (int i = 0; i < n; i++) {
    int p = fofal_kafka_partition_count_wait(k, topics[i].name, 10000, errbuf, errlen);
    if (p < 0) {
      rc = p;
      goto out;
    }
    topics[i].partitions = p;
  }
  free(document);
  if ((rc = fofal__asyncapi_build(reg, schemas_dir, topics, n, &document, errbuf, errlen))) goto out;
  fofal__document_etag(document, etag);
out:
  fofal_kafka_free(k);
  return rc;
}

void fofal__asyncapi_free(void) {
  free(document);
  document = NULL;
}

int fofal__on_asyncapi(h2o_handler_t *self, h2o_req_t *req) {
  (void)self;
  if (!document) {
    fofal__send_problem(req, 503, "unavailable", "the AsyncAPI document was not built", NULL);
    return 0;
  }
  fofal__send_document(req, "application/json", document, strlen(document), etag);
  return 0;
}
