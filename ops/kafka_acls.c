/*
 * kafka_acls.c — what each process's Kafka user may do with topics and consumer groups
 * (README, Security), granted by `fofal topics create` with the topics. The broker's
 * authorizer denies whatever is not here; ops/stack adds the transactional ids (decider,
 * reactor, machines) and makes fofal-cli (this CLI) and the broker super users.
 *
 * The events topics come from the registry (fofal_modules[]): a module added later is
 * written by the decider and read by the projector and the reactor with no edit here.
 * A consumer that assigns its partitions itself still names a group, "fofal-unused",
 * which it never joins or commits to: its user may read that group, nothing more. Every
 * process checks every topic's retention and cleanup policy before it starts (DESIGN.md
 * guarantee 1: fofal_topics_require), so each user may describe every fofal topic and
 * its configs: names and settings, no message.
 */
#include "kafka_acls.h"

#include <stdio.h>
#include <string.h>

typedef struct {
  fofal_kafka_acl_t *out;
  int cap, n;
} acls_t;

static void add(acls_t *a, const char *user, fofal_kafka_acl_resource_t resource, const char *name, int prefixed,
                fofal_kafka_acl_op_t op) {
  if (a->n == a->cap) {
    a->n++; /* counted, not stored: the caller sees the list was too long */
    return;
  }
  fofal_kafka_acl_t *acl = &a->out[a->n++];
  acl->user = user;
  acl->resource = resource;
  snprintf(acl->name, sizeof acl->name, "%s", name);
  acl->prefixed = prefixed;
  acl->op = op;
}

static void topic(acls_t *a, const char *user, const char *name, fofal_kafka_acl_op_t op) {
  add(a, user, FOFAL_ACL_TOPIC, name, 0, op);
}

static void group(acls_t *a, const char *user, const char *name) { add(a, user, FOFAL_ACL_GROUP, name, 0, FOFAL_ACL_READ); }

/* op on every module's events topic. */
static void events(acls_t *a, const char *user, fofal_kafka_acl_op_t op) {
  char name[128];
  for (int i = 0; fofal_modules[i]; i++)
    if (!fofal_topic_events(fofal_modules[i], name, sizeof name)) topic(a, user, name, op);
}

int fofal__kafka_acls(fofal_kafka_acl_t *out, int cap) {
  acls_t a = {out, cap, 0};
  char production[128], hr[128], machines[128];
  fofal_topic_events("production", production, sizeof production);
  fofal_topic_events("hr", hr, sizeof hr);
  fofal_topic_events("machines", machines, sizeof machines);
  static const char *const users[] = {"fofal-api",    "fofal-decider",  "fofal-projector", "fofal-reactor",
                                      "fofal-ingest", "fofal-machines", "fofal-mqtt-auth", "fofal-weather",
                                      "fofal-notifier"};
  for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
    add(&a, users[i], FOFAL_ACL_TOPIC, "fofal.", 1, FOFAL_ACL_DESCRIBE);
    add(&a, users[i], FOFAL_ACL_TOPIC, "fofal.", 1, FOFAL_ACL_DESCRIBE_CONFIGS);
  }

  /* fofal-api: produces commands, reads their results (and describes every topic, as
   * everyone: readiness, the AsyncAPI document's partitions). */
  topic(&a, "fofal-api", FOFAL_TOPIC_COMMANDS, FOFAL_ACL_WRITE);
  topic(&a, "fofal-api", FOFAL_TOPIC_RESULTS, FOFAL_ACL_READ);
  group(&a, "fofal-api", "fofal-unused");

  /* fofal-decider: commands in; events, results, state and dead letters out, in its
   * transactions; reads its state and recent results back when it takes a partition. */
  topic(&a, "fofal-decider", FOFAL_TOPIC_COMMANDS, FOFAL_ACL_READ);
  group(&a, "fofal-decider", "fofal-decider");
  group(&a, "fofal-decider", "fofal-unused");
  events(&a, "fofal-decider", FOFAL_ACL_WRITE);
  topic(&a, "fofal-decider", FOFAL_TOPIC_RESULTS, FOFAL_ACL_WRITE);
  topic(&a, "fofal-decider", FOFAL_TOPIC_RESULTS, FOFAL_ACL_READ);
  topic(&a, "fofal-decider", FOFAL_TOPIC_STATE, FOFAL_ACL_WRITE);
  topic(&a, "fofal-decider", FOFAL_TOPIC_STATE, FOFAL_ACL_READ);
  topic(&a, "fofal-decider", FOFAL_TOPIC_COMMANDS_DLQ, FOFAL_ACL_WRITE);
  topic(&a, "fofal-decider", FOFAL_TOPIC_REACTIONS_DLQ, FOFAL_ACL_WRITE);

  /* fofal-projector: reads the events; its offsets are in PostgreSQL. With
   * FOFAL_PROJECTOR_GROUP=1 each projection's partitions come from its group
   * "fofal-projector.<name>" (joined, never committed to). */
  events(&a, "fofal-projector", FOFAL_ACL_READ);
  group(&a, "fofal-projector", "fofal-unused");
  add(&a, "fofal-projector", FOFAL_ACL_GROUP, "fofal-projector.", 1, FOFAL_ACL_READ);

  /* fofal-reactor: reads the events, produces the reacting modules' commands. */
  events(&a, "fofal-reactor", FOFAL_ACL_READ);
  group(&a, "fofal-reactor", "fofal-reactor");
  topic(&a, "fofal-reactor", FOFAL_TOPIC_COMMANDS, FOFAL_ACL_WRITE);
  topic(&a, "fofal-reactor", FOFAL_TOPIC_REACTIONS_DLQ, FOFAL_ACL_WRITE);

  /* fofal-ingest: MQTT in, raw telemetry and its dead letters out. */
  topic(&a, "fofal-ingest", FOFAL_TOPIC_TELEMETRY, FOFAL_ACL_WRITE);
  topic(&a, "fofal-ingest", FOFAL_TOPIC_TELEMETRY_DLQ, FOFAL_ACL_WRITE);

  /* fofal-machines: raw telemetry and production's and hr's events (loom speeds, the shift
   * model) in; machine events and its per-loom state out, in its transactions. */
  topic(&a, "fofal-machines", FOFAL_TOPIC_TELEMETRY, FOFAL_ACL_READ);
  topic(&a, "fofal-machines", production, FOFAL_ACL_READ);
  topic(&a, "fofal-machines", hr, FOFAL_ACL_READ);
  group(&a, "fofal-machines", "fofal-machines");
  group(&a, "fofal-machines", "fofal-unused");
  topic(&a, "fofal-machines", machines, FOFAL_ACL_WRITE);
  topic(&a, "fofal-machines", FOFAL_TOPIC_MACHINES_STATE, FOFAL_ACL_WRITE);
  topic(&a, "fofal-machines", FOFAL_TOPIC_MACHINES_STATE, FOFAL_ACL_READ);
  topic(&a, "fofal-machines", FOFAL_TOPIC_TELEMETRY_DLQ, FOFAL_ACL_WRITE);

  /* fofal-mqtt-auth: reads identity's events (the gateways' accounts), writes nothing. */
  char identity[128];
  fofal_topic_events("identity", identity, sizeof identity);
  topic(&a, "fofal-mqtt-auth", identity, FOFAL_ACL_READ);
  group(&a, "fofal-mqtt-auth", "fofal-unused");

  /* fofal-weather: reads weather's events (the sites' coordinates), sends its forecasts as
   * commands (weather.forecast.record). */
  char weather[128];
  fofal_topic_events("weather", weather, sizeof weather);
  topic(&a, "fofal-weather", weather, FOFAL_ACL_READ);
  group(&a, "fofal-weather", "fofal-unused");
  topic(&a, "fofal-weather", FOFAL_TOPIC_COMMANDS, FOFAL_ACL_WRITE);
  /* fofal-notifier: reads the events (its positions are in PostgreSQL), sends
   * notify.message.fail for a message whose retries are spent. */
  events(&a, "fofal-notifier", FOFAL_ACL_READ);
  group(&a, "fofal-notifier", "fofal-unused");
  topic(&a, "fofal-notifier", FOFAL_TOPIC_COMMANDS, FOFAL_ACL_WRITE);
  return a.n;
}
