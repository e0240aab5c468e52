/*
 * fofal.c — the admin CLI: `fofal <command> [options]`.
 *
 *   fofal topics create|check   create the topics of DESIGN.md / check their configs
 *   fofal migrate               apply the SQL migrations under schemas/
 *
 * Exit status: 0 success, 1 failure (the reason on stderr), 2 usage error.
 */
#include "events.h"
#include "fofal_api.h"
#include "projections.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *brokers, *pg_dsn, *schemas, *log_level, *jwt_secret, *jwt_issuer, *jwt_audience, *tenant, *subject, *role;
static long long partitions, ttl;

static fofal_setting_t settings[] = {
    {"FOFAL_KAFKA_BROKERS", FOFAL_SET_STR, "127.0.0.1:19092", 0, 0, "Kafka bootstrap servers.", &brokers},
    {"FOFAL_PG_DSN", FOFAL_SET_STR, "host=127.0.0.1 port=15432 user=fofal dbname=fofal", 0, 0,
     "libpq connection string of the read-model database.", &pg_dsn},
    {"FOFAL_SCHEMAS_DIR", FOFAL_SET_STR, FOFAL_SOURCE_DIR "/schemas", 0, 0, "Folder of the JSON Schemas and SQL migrations.",
     &schemas},
    {"FOFAL_KAFKA_PARTITIONS", FOFAL_SET_INT, "6", 1, 1024, "Partitions of each topic `fofal topics create` creates.",
     &partitions},
    {"FOFAL_LOG_LEVEL", FOFAL_SET_STR, "warn", 0, 0, "debug, info, warn or error.", &log_level},
    {"FOFAL_JWT_SECRET", FOFAL_SET_STR, "", 0, 0, "token: HMAC key of access tokens (as fofal-api's).", &jwt_secret},
    {"FOFAL_JWT_ISSUER", FOFAL_SET_STR, "fofal", 0, 0, "token: `iss` claim.", &jwt_issuer},
    {"FOFAL_JWT_AUDIENCE", FOFAL_SET_STR, "fofal-api", 0, 0, "token: `aud` claim.", &jwt_audience},
    {"TENANT", FOFAL_SET_STR, "demo", 0, 0, "token: tenant claim.", &tenant},
    {"SUBJECT", FOFAL_SET_STR, "admin", 0, 0, "token: subject (user id) claim.", &subject},
    {"ROLE", FOFAL_SET_STR, "admin", 0, 0, "token: role claim (weaver, mechanic, planner, manager, admin, ...).", &role},
    {"TTL", FOFAL_SET_INT, "3600", 10, 30 * 86400, "token: lifetime in seconds.", &ttl},
};
#define NSET (sizeof settings / sizeof settings[0])

static const char usage[] =
    "Usage: fofal <command> [--option=value ...]\n\n"
    "Commands:\n"
    "  topics create   create the missing topics of DESIGN.md and check every existing one\n"
    "                  (an event topic with finite retention or compaction is an error)\n"
    "  topics check    check the topics without creating any\n"
    "  migrate         apply the SQL migrations of schemas/ that are not applied yet\n"
    "  token           print a signed access token for --tenant, --subject and --role\n"
    "                  (development and tests; needs FOFAL_JWT_SECRET)";

static void print_line(void *opaque, const char *line) {
  printf("%s%s\n", (const char *)opaque, line);
  fflush(stdout);
}

static int cmd_topics(int create) {
  char err[512];
  fofal_kafka_t *k = NULL;
  fofal_topic_spec_t specs[64];
  int n = fofal_topics_all(specs, 64, (int)partitions);
  fofal_kafka_opts_t o = {.brokers = brokers, .client_id = "fofal-cli"};
  int rc = fofal_kafka_producer_new(&k, &o, err, sizeof err);
  if (!rc) rc = fofal_topics_ensure(k, specs, n, create, print_line, "topic ", err, sizeof err);
  fofal_kafka_free(k);
  if (rc) fprintf(stderr, "fofal: topics: %s\n", err);
  return rc ? 1 : 0;
}

static int cmd_migrate(void) {
  char err[512];
  fofal_pg_t *pg = NULL;
  int rc = fofal_pg_connect(&pg, pg_dsn, err, sizeof err);
  if (!rc) rc = fofal_pg_migrate(pg, schemas, print_line, "migrate: ", err, sizeof err);
  fofal_pg_close(pg);
  if (rc < 0) {
    fprintf(stderr, "fofal: migrate: %s\n", err);
    return 1;
  }
  printf("migrate: %d migration(s) applied, database up to date\n", rc);
  return 0;
}

static int cmd_token(void) {
  if (strlen(jwt_secret) < 32) {
    fprintf(stderr, "fofal: token: FOFAL_JWT_SECRET must be set (at least 32 characters)\n");
    return 1;
  }
  char *tok = fofal_api_token_issue(jwt_secret, jwt_issuer, jwt_audience, tenant, subject, role, (long)ttl);
  if (!tok) {
    fprintf(stderr, "fofal: token: cannot sign a token\n");
    return 1;
  }
  printf("%s\n", tok);
  free(tok);
  return 0;
}

int main(int argc, char **argv) {
  char err[512];
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    fofal_settings_load(settings, NSET, 2, (char *[]){argv[0], "--help", NULL}, usage, err, sizeof err);
    fofal_settings_free(settings, NSET);
    return argc < 2 ? 2 : 0;
  }
  const char *cmd = argv[1], *sub = argc > 2 && argv[2][0] != '-' ? argv[2] : NULL;
  int skip = sub ? 2 : 1;
  int lrc = fofal_settings_load(settings, NSET, argc - skip, argv + skip, usage, err, sizeof err);
  if (lrc == 1) return 0;
  if (lrc) {
    fprintf(stderr, "fofal: %s\n", err);
    return 2;
  }
  fofal_log_init("fofal", log_level);
  int rc = 2;
  if (!strcmp(cmd, "topics") && sub && !strcmp(sub, "create")) rc = cmd_topics(1);
  else if (!strcmp(cmd, "topics") && sub && !strcmp(sub, "check")) rc = cmd_topics(0);
  else if (!strcmp(cmd, "migrate") && !sub) rc = cmd_migrate();
  else if (!strcmp(cmd, "token") && !sub) rc = cmd_token();
  else fprintf(stderr, "fofal: unknown command \"%s%s%s\" (see fofal --help)\n", cmd, sub ? " " : "", sub ? sub : "");
  fofal_settings_free(settings, NSET);
  return rc;
}
