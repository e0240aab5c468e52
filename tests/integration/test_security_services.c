/*
 * test_security_services.c — the backing services trust no one who merely reaches them
 * (issue 22 item 2). PostgreSQL: SCRAM passwords for every user (a connection without the
 * password is refused, the superuser's too), one login role per process, none of them a
 * superuser, and fofal-api's role cannot write a read model, even through fofal_reader.
 * Redis: ACL users per process, `default` off (a client that does not AUTH can do
 * nothing), and fofal-api's user cannot flush, reconfigure, or undo a revocation (DEL,
 * XTRIM, XDEL, RENAME of the revocation stream). Kafka: SASL/SCRAM-SHA-512 for every client
 * (one without it, or with a wrong password, gets nothing), one user per process with ACLs
 * (the projector cannot produce a command, the API cannot write an event), the rest denied;
 * over the TLS listener too (SASL_SSL, the certificate checked). The generated secrets are
 * private files.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "projections.h"

/* PostgreSQL's error for a connection, or "" when it connected. */
static void try_connect(const char *user, const char *extra, char *err, size_t errlen) {
  char dsn[512];
  snprintf(dsn, sizeof dsn, "host=127.0.0.1 port=%s dbname=fofal user=%s connect_timeout=5 %s", h_env("FOFAL_PG_PORT"),
           user, extra);
  fofal_pg_t *pg = NULL;
  err[0] = '\0';
  if (!fofal_pg_connect(&pg, dsn, err, errlen)) err[0] = '\0';
  fofal_pg_close(pg);
}

Test(security_services, postgres_refuses_a_connection_without_the_password) {
  char err[512];
  const char *users[] = {"fofal", "fofal_owner", "fofal_api", "fofal_projector"};
  for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
    try_connect(users[i], "passfile=/nonexistent", err, sizeof err);
    cr_expect(*err, "%s connected without a password", users[i]);
    cr_expect(strstr(err, "password"), "%s: refused for want of a password: %s", users[i], err);
    try_connect(users[i], "passfile=/nonexistent password=not-the-password", err, sizeof err);
    cr_expect(strstr(err, "password authentication failed"), "%s: a wrong password is refused: %s", users[i], err);
  }
}

static fofal_pg_t *connect_env(const char *env) {
  fofal_pg_t *pg = NULL;
  char err[512];
  cr_assert_eq(fofal_pg_connect(&pg, h_env(env), err, sizeof err), 0, "%s: %s", env, err);
  return pg;
}

static char *value(fofal_pg_t *pg, const char *sql) {
  char *v = NULL, err[512];
  cr_assert_eq(fofal_pg_query_value(pg, sql, 0, NULL, &v, err, sizeof err), 0, "%s: %s", sql, err);
  return v;
}

/* sql fails for want of a privilege ("permission denied", "must be owner"). */
static void denied(fofal_pg_t *pg, const char *sql) {
  char err[512] = "";
  int rc = fofal_pg_exec(pg, sql, err, sizeof err);
  cr_expect_neq(rc, 0, "allowed: %s", sql);
  cr_expect(strstr(err, "permission denied") || strstr(err, "must be owner"), "%s: %s", sql, err);
}

Test(security_services, each_process_logs_in_as_its_own_role_and_none_is_a_superuser) {
  const char *envs[] = {"FOFAL_PG_DSN", "FOFAL_API_PG_DSN", "FOFAL_PROJECTOR_PG_DSN"};
  const char *roles[] = {"fofal_owner", "fofal_api", "fofal_projector"};
  for (size_t i = 0; i < 3; i++) {
    fofal_pg_t *pg = connect_env(envs[i]);
    char *who = value(pg, "SELECT current_user || ' ' || rolsuper || ' ' || rolcreaterole || ' ' || rolcreatedb"
                          " FROM pg_roles WHERE rolname = current_user");
    char want[128];
    snprintf(want, sizeof want, "%s false false false", roles[i]);
    cr_expect_str_eq(who, want, "%s", envs[i]);
    free(who);
    fofal_pg_close(pg);
  }
}

Test(security_services, the_api_role_cannot_write_a_read_model) {
  fofal_pg_t *pg = connect_env("FOFAL_API_PG_DSN");
  /* As it logs in (its write connection), and as its read workers run (fofal_reader). */
  for (int as_reader = 0; as_reader < 2; as_reader++) {
    if (as_reader) cr_assert_eq(fofal_pg_exec(pg, "SET ROLE fofal_reader", NULL, 0), 0);
    denied(pg, "INSERT INTO production.orders (tenant) VALUES ('t-evil')");
    denied(pg, "UPDATE machines.looms SET tenant = tenant");
    denied(pg, "DELETE FROM catalog.articles");
    denied(pg, "DELETE FROM fofal_meta.projector_offsets");
    denied(pg, "DELETE FROM identity_keys.person_keys");
    denied(pg, "DELETE FROM identity.accounts");
    denied(pg, "UPDATE identity.accounts SET role = 'admin'");
    denied(pg, "DELETE FROM identity_ops.sessions");
    denied(pg, "CREATE TABLE production.evil (x int)");
  }
  fofal_pg_close(pg);
  /* The projector writes read models but owns nothing: no DDL. */
  pg = connect_env("FOFAL_PROJECTOR_PG_DSN");
  denied(pg, "CREATE SCHEMA evil");
  denied(pg, "DROP TABLE production.orders");
  denied(pg, "SELECT * FROM identity_ops.sessions");
  denied(pg, "UPDATE identity_keys.person_keys SET wrapped_key = NULL");
  fofal_pg_close(pg);
}

/* Every table of every registered projection (identity's and catalog's too, and any module
 * added later) is the projector's to write and nobody else's but the owner's: the grant
 * comes from the default privileges of platform/002_login_roles.sql, not from a list. */
Test(security_services, every_projection_table_is_the_projectors_to_write) {
  fofal_pg_t *pg = connect_env("FOFAL_PG_DSN");
  int checked = 0;
  for (int i = 0; fofal_projections[i]; i++) {
    const fofal_projection_def_t *def = fofal_projections[i];
    for (int t = 0; def->tables && def->tables[t]; t++) {
      char sql[512];
      snprintf(sql, sizeof sql,
               "SELECT has_schema_privilege('fofal_projector', '%s', 'USAGE')"
               " AND has_table_privilege('fofal_projector', '%s.%s', 'SELECT,INSERT,UPDATE,DELETE')"
               " AND NOT has_table_privilege('fofal_api', '%s.%s', 'INSERT,UPDATE,DELETE')"
               " AND NOT has_table_privilege('fofal_reader', '%s.%s', 'INSERT,UPDATE,DELETE')",
               def->pg_schema, def->pg_schema, def->tables[t], def->pg_schema, def->tables[t], def->pg_schema,
               def->tables[t]);
      char *ok = value(pg, sql);
      cr_expect_str_eq(ok, "t", "%s.%s (projection %s)", def->pg_schema, def->tables[t], def->name);
      free(ok);
      checked++;
    }
  }
  cr_expect_gt(checked, 10, "only %d tables checked", checked);
  fofal_pg_close(pg);
}

Test(security_services, the_secrets_are_private_files) {
  const char *files[] = {"secrets.env", "pgpass", "redis/users.acl", "kafka/server.properties", "kafka/cli.properties"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char path[1024];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", h_env("FOFAL_STACK_DIR"), files[i]);
    cr_assert_eq(stat(path, &st), 0, "%s is missing", path);
    cr_expect_eq(st.st_mode & 0777, 0600, "%s has mode %o", path, st.st_mode & 0777);
  }
}

/* Runs a Redis command; its error ("" when it succeeded). */
static void redis_try(fofal_redis_t *r, int argc, const char *const *argv, char *err, size_t errlen) {
  err[0] = '\0';
  if (!fofal_redis_cmd(r, argc, argv, err, errlen)) err[0] = '\0';
}

#define REDIS(r, err, ...)                                                                   \
  do {                                                                                       \
    const char *argv_[] = {__VA_ARGS__};                                                     \
    redis_try(r, (int)(sizeof argv_ / sizeof argv_[0]), argv_, err, sizeof err);             \
  } while (0)

Test(security_services, redis_refuses_a_client_that_does_not_authenticate) {
  fofal_redis_t *r = NULL;
  char err[512];
  cr_assert_eq(fofal_redis_connect(&r, h_env("FOFAL_REDIS_ADDR"), NULL, NULL, err, sizeof err), 0, "%s", err);
  REDIS(r, err, "PING");
  cr_expect(strstr(err, "NOAUTH"), "PING without AUTH: %s", *err ? err : "answered");
  REDIS(r, err, "XADD", "fofal:revocations", "*", "m", "t-not-a-session");
  cr_expect(strstr(err, "NOAUTH"), "XADD without AUTH: %s", *err ? err : "answered");
  REDIS(r, err, "FLUSHALL");
  cr_expect(strstr(err, "NOAUTH"), "FLUSHALL without AUTH: %s", *err ? err : "answered");
  fofal_redis_close(r);
  /* Nor with a wrong password, nor as `default`. */
  const char *users[] = {"fofal-api", "fofal-projector", "fofal-cli", "fofal-admin", "default"};
  for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
    r = NULL;
    int rc = fofal_redis_connect(&r, h_env("FOFAL_REDIS_ADDR"), users[i], "not-the-password", err, sizeof err);
    cr_expect_neq(rc, 0, "%s signed in with a wrong password", users[i]);
    cr_expect(strstr(err, "WRONGPASS"), "%s: %s", users[i], err);
    cr_expect(!strstr(err, "not-the-password"), "the password is not in the error: %s", err);
    fofal_redis_close(r);
  }
}

Test(security_services, the_api_redis_user_cannot_flush_or_undo_a_revocation) {
  fofal_redis_t *r = NULL;
  char err[512];
  cr_assert_eq(fofal_redis_connect(&r, h_env("FOFAL_REDIS_ADDR"), "fofal-api", h_env("FOFAL_REDIS_API_PASSWORD"), err,
                                   sizeof err),
               0, "%s", err);
  /* What it needs: revoke a session, keep a counter, forget an MFA failure count. */
  REDIS(r, err, "XADD", "fofal:revocations", "*", "m", "t-not-a-session");
  cr_expect_str_eq(err, "", "XADD fofal:revocations: %s", err);
  REDIS(r, err, "SET", "fofal:rl:test:security-services", "1", "EX", "60");
  cr_expect_str_eq(err, "", "SET: %s", err);
  REDIS(r, err, "DEL", "fofal:mfa:failures:t-x:nobody");
  cr_expect_str_eq(err, "", "DEL of an MFA counter: %s", err);
  /* What it must not. */
  const char *const denied_cmds[][5] = {
      {"FLUSHALL"}, {"FLUSHDB"}, {"CONFIG", "SET", "appendonly", "no"}, {"KEYS", "*"}, {"SHUTDOWN", "NOSAVE"},
      {"DEL", "fofal:revocations"}, {"UNLINK", "fofal:revocations"}, {"XTRIM", "fofal:revocations", "MAXLEN", "0"},
      {"XDEL", "fofal:revocations", "0-1"}, {"RENAME", "fofal:revocations", "fofal:elsewhere"},
      {"ACL", "SETUSER", "fofal-api", "+@all"}};
  for (size_t i = 0; i < sizeof denied_cmds / sizeof denied_cmds[0]; i++) {
    int argc = 0;
    while (argc < 5 && denied_cmds[i][argc]) argc++;
    redis_try(r, argc, denied_cmds[i], err, sizeof err);
    cr_expect(strstr(err, "NOPERM"), "fofal-api may run %s %s: %s", denied_cmds[i][0],
              denied_cmds[i][1] ? denied_cmds[i][1] : "", *err ? err : "answered");
  }
  fofal_redis_close(r);
  /* The projector writes hot views, but cannot flush either. */
  r = NULL;
  cr_assert_eq(fofal_redis_connect(&r, h_env("FOFAL_REDIS_ADDR"), "fofal-projector",
                                   h_env("FOFAL_REDIS_PROJECTOR_PASSWORD"), err, sizeof err),
               0, "%s", err);
  REDIS(r, err, "FLUSHALL");
  cr_expect(strstr(err, "NOPERM"), "fofal-projector FLUSHALL: %s", *err ? err : "answered");
  REDIS(r, err, "CONFIG", "SET", "appendonly", "no");
  cr_expect(strstr(err, "NOPERM"), "fofal-projector CONFIG SET: %s", *err ? err : "answered");
  fofal_redis_close(r);
}

/* From now on this test's Kafka clients connect as `user` with `password`; user NULL:
 * without SASL at all. */
static void kafka_as(const char *user, const char *password) {
  fofal_kafka_security_t ks = {.protocol = user ? "sasl_plaintext" : "plaintext", .user = (char *)(user ? user : ""),
                               .password = (char *)(password ? password : ""), .ssl_ca = ""};
  char err[256];
  cr_assert_eq(fofal_kafka_security_set(&ks, err, sizeof err), 0, "%s", err);
}

/* kafka_as over TLS (sasl_ssl), the brokers' certificate checked against the CA file `ca`. */
static void kafka_tls_as(const char *user, const char *password, const char *ca) {
  fofal_kafka_security_t ks = {.protocol = "sasl_ssl", .user = (char *)user, .password = (char *)password,
                               .ssl_ca = (char *)ca};
  char err[256];
  cr_assert_eq(fofal_kafka_security_set(&ks, err, sizeof err), 0, "%s", err);
}

/* The number of partitions of topic as seen by the current user through `brokers`, or a
 * negative error. */
static int partitions_seen_at(const char *brokers, const char *topic, char *err, size_t errlen) {
  fofal_kafka_t *k = NULL;
  fofal_kafka_opts_t o = {.brokers = brokers, .client_id = "test-security-services", .metadata_only = 1};
  int rc = fofal_kafka_producer_new(&k, &o, err, errlen);
  if (!rc) rc = fofal_kafka_partition_count(k, topic, 8000, err, errlen);
  fofal_kafka_free(k);
  return rc;
}

/* The number of partitions of topic as seen by the current user, or a negative error. */
static int partitions_seen(const char *topic, char *err, size_t errlen) {
  return partitions_seen_at(h_env("FOFAL_KAFKA_BROKERS"), topic, err, errlen);
}

Test(security_services, kafka_refuses_a_client_that_does_not_authenticate) {
  char err[512] = "";
  kafka_as(NULL, NULL);
  cr_expect_lt(partitions_seen(FOFAL_TOPIC_COMMANDS, err, sizeof err), 0, "a client without SASL read the metadata");
  kafka_as("fofal-cli", "not-the-password");
  cr_expect_lt(partitions_seen(FOFAL_TOPIC_COMMANDS, err, sizeof err), 0, "a wrong password read the metadata");
  cr_expect(!strstr(err, "not-the-password"), "the password is not in the error: %s", err);
  /* The right password does (so the refusals above are the authentication's). */
  kafka_as("fofal-cli", h_env("FOFAL_KAFKA_PASSWORD"));
  cr_expect_gt(partitions_seen(FOFAL_TOPIC_COMMANDS, err, sizeof err), 0, "%s", err);
}

typedef struct {
  int done, err;
} delivery_t;

static void on_delivery(void *opaque, int err, int32_t partition, int64_t offset) {
  (void)partition;
  (void)offset;
  delivery_t *d = opaque;
  d->done = 1;
  d->err = err;
}

/* Messages in all partitions of topic (as the CLI user). */
static int64_t topic_end(const char *topic) {
  char err[512];
  fofal_kafka_t *k = NULL;
  kafka_as("fofal-cli", h_env("FOFAL_KAFKA_PASSWORD"));
  fofal_kafka_opts_t o = {.brokers = h_env("FOFAL_KAFKA_BROKERS"), .client_id = "test-security-services"};
  cr_assert_eq(fofal_kafka_producer_new(&k, &o, err, sizeof err), 0, "%s", err);
  int n = fofal_kafka_partition_count(k, topic, 10000, err, sizeof err);
  cr_assert_gt(n, 0, "%s: %s", topic, err);
  int64_t sum = 0;
  for (int p = 0; p < n; p++) {
    int64_t lo, hi;
    /* A broker that has just created the topic may not lead its partitions yet (Not
     * leader for partition) for some seconds on a loaded machine: asked again, 30 s at most. */
    int rc = -1;
    for (int i = 0; i < 60 && rc; i++)
      if ((rc = fofal_kafka_watermarks(k, topic, p, &lo, &hi, 10000, err, sizeof err))) usleep(500 * 1000);
    cr_assert_eq(rc, 0, "%s", err);
    sum += hi;
  }
  fofal_kafka_free(k);
  return sum;
}

/* Produces one message to topic as user; the delivery's error (0: written). */
static int produce_as(const char *user, const char *password_env, const char *topic) {
  char err[512];
  fofal_kafka_t *k = NULL;
  kafka_as(user, h_env(password_env));
  fofal_kafka_opts_t o = {.brokers = h_env("FOFAL_KAFKA_BROKERS"), .client_id = "test-security-services",
                          .message_timeout_ms = 10000};
  cr_assert_eq(fofal_kafka_producer_new(&k, &o, err, sizeof err), 0, "%s", err);
  delivery_t d = {0, 0};
  const char *v = "{\"forged\":true}";
  int rc = fofal_kafka_produce(k, topic, -1, "t-evil", 6, v, strlen(v), NULL, 0, on_delivery, &d, err, sizeof err);
  if (!rc) {
    fofal_kafka_flush(k, 15000);
    rc = d.done ? d.err : FOFAL_ETIMEDOUT;
  }
  fofal_kafka_free(k);
  return rc;
}

Test(security_services, each_kafka_user_writes_only_its_own_topics) {
  char events[128];
  cr_assert_eq(fofal_topic_events("production", events, sizeof events), 0);
  int64_t commands = topic_end(FOFAL_TOPIC_COMMANDS), produced = topic_end(events);
  cr_expect_neq(produce_as("fofal-projector", "FOFAL_KAFKA_PROJECTOR_PASSWORD", FOFAL_TOPIC_COMMANDS), 0,
                "the projector produced a command");
  cr_expect_neq(produce_as("fofal-api", "FOFAL_KAFKA_API_PASSWORD", events), 0, "fofal-api produced an event");
  cr_expect_neq(produce_as("fofal-ingest", "FOFAL_KAFKA_INGEST_PASSWORD", FOFAL_TOPIC_COMMANDS), 0,
                "fofal-ingest produced a command");
  cr_expect_eq(topic_end(FOFAL_TOPIC_COMMANDS), commands, "a forged command reached %s", FOFAL_TOPIC_COMMANDS);
  cr_expect_eq(topic_end(events), produced, "a forged event reached %s", events);
  /* Signed in, the projector sees the events it reads (so the refusal above is the ACLs');
   * that the users write what they must, the other integration tests show. */
  char err[512] = "";
  kafka_as("fofal-projector", h_env("FOFAL_KAFKA_PROJECTOR_PASSWORD"));
  cr_expect_gt(partitions_seen(events, err, sizeof err), 0, "the projector cannot see %s: %s", events, err);
}

/* Kafka's TLS listener (SASL_SSL, the stack's own CA: ops/stack): a client with
 * FOFAL_KAFKA_SECURITY_PROTOCOL=sasl_ssl and FOFAL_KAFKA_SSL_CA reads the metadata and
 * each partition's leader; one that does not trust the certificate, or that skips TLS on
 * that port, gets nothing. */
Test(security_services, kafka_over_tls_with_the_brokers_ca) {
  const char *tls = h_env("FOFAL_KAFKA_TLS_BROKERS"), *ca = h_env("FOFAL_KAFKA_TLS_CA");
  char err[512] = "";
  kafka_tls_as("fofal-api", h_env("FOFAL_KAFKA_API_PASSWORD"), ca);
  /* The topics may be new to the broker for some seconds on a loaded machine (topic_end). */
  int seen = -1;
  for (int i = 0; i < 60 && seen <= 0; i++)
    if ((seen = partitions_seen_at(tls, FOFAL_TOPIC_COMMANDS, err, sizeof err)) <= 0) usleep(500 * 1000);
  cr_assert_gt(seen, 0, "over TLS: %s", err);
  /* The partition leaders too (what the TLS listener advertises): each partition's end. */
  fofal_kafka_t *k = NULL;
  fofal_kafka_opts_t o = {.brokers = tls, .client_id = "test-security-services"};
  cr_assert_eq(fofal_kafka_producer_new(&k, &o, err, sizeof err), 0, "%s", err);
  int n = fofal_kafka_partition_count(k, FOFAL_TOPIC_COMMANDS, 10000, err, sizeof err);
  for (int p = 0; p < n; p++) {
    int64_t lo, hi;
    int rc = -1;
    for (int i = 0; i < 60 && rc; i++)
      if ((rc = fofal_kafka_watermarks(k, FOFAL_TOPIC_COMMANDS, p, &lo, &hi, 10000, err, sizeof err))) usleep(500 * 1000);
    cr_expect_eq(rc, 0, "partition %d over TLS: %s", p, err);
  }
  fofal_kafka_free(k);
  /* Trusting other CAs (the system's): the handshake fails. */
  kafka_tls_as("fofal-api", h_env("FOFAL_KAFKA_API_PASSWORD"), "/etc/ssl/certs/ca-certificates.crt");
  cr_expect_lt(partitions_seen_at(tls, FOFAL_TOPIC_COMMANDS, err, sizeof err), 0,
               "a client that does not trust the brokers' certificate read the metadata");
  /* SASL without TLS on the TLS port: nothing. */
  kafka_as("fofal-api", h_env("FOFAL_KAFKA_API_PASSWORD"));
  cr_expect_lt(partitions_seen_at(tls, FOFAL_TOPIC_COMMANDS, err, sizeof err), 0,
               "a client without TLS read the metadata on the TLS port");
}
