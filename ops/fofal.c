/*
 * fofal.c — the admin CLI: `fofal <command> [options]`.
 *
 *   fofal topics create|check   create the topics of DESIGN.md (with FOFAL_KAFKA_USER, and the
 *                               processes' Kafka ACLs: kafka_acls.c) / check their configs
 *   fofal migrate               apply the SQL migrations under schemas/
 *   fofal token                 a signed access token (development and tests)
 *   fofal account create        an account (e.g. the first admin); password from stdin/TTY
 *   fofal rebuild <projection>  rebuild a read model beside the live one, swap it in
 *   fofal verify <projection>   compare the live read model with a fresh rebuild
 *   fofal replay [m] [filters]  the events of the log as JSON lines, for auditors
 *   fofal status                projector positions and lag, and the services' health
 *   fofal backup --to DIR       the log that is not derived, into a checksummed, incremental archive
 *   fofal restore --from DIR    that archive back into an empty stack (backup.c does both)
 *
 * Results go to stdout, progress and errors to stderr. The work of rebuild and verify is
 * in projections/rebuild.c; replay and status are read-only and live here.
 *
 * Exit status: 0 success, 1 failure (the reason on stderr), 2 usage error.
 */
#include "commands.h"
#include "events.h"
#include "backup.h"
#include "kafka_acls.h"
#include "fofal_api.h"
#include "projections.h"

#include <signal.h>
#include <stdio.h>
#include <termios.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *files_dir, *brokers, *pg_dsn, *redis_addr, *redis_user, *redis_password, *schemas, *log_level, *jwt_secret, *jwt_issuer, *jwt_audience, *tenant,
    *subject, *role, *badge, *pd_master;
static long long partitions, ttl, rebuild_batch, rebuild_wait;

/* The roles of fofal_api_roles (api/identity_admin.c), for the help texts. */
#define ROLES_A "weaver, cutter, mechanic, storekeeper_mp, storekeeper_pf, storekeeper_st, quality,"
#define ROLES_B "planner, manager, salesperson, accountant, hr, auditor, admin"
#define ROLES_TEXT ROLES_A " " ROLES_B

static fofal_kafka_security_t kafka_security; /* strings owned by the settings table */
static fofal_setting_t settings[] = {
    {"FOFAL_KAFKA_BROKERS", FOFAL_SET_STR, "127.0.0.1:19092", 0, 0, "Kafka bootstrap servers.", &brokers},
    FOFAL_KAFKA_SECURITY_SETTINGS(kafka_security),
    {"FOFAL_PG_DSN", FOFAL_SET_STR, "host=127.0.0.1 port=15432 user=fofal_owner dbname=fofal", 0, 0,
     "libpq connection string of the read-model database, as the owner of its schemas (README, Security).", &pg_dsn},
    {"FOFAL_REDIS_ADDR", FOFAL_SET_STR, "127.0.0.1:16379", 0, 0, "Redis host:port of the hot views.", &redis_addr},
    {"FOFAL_REDIS_USER", FOFAL_SET_STR, "", 0, 0, "Redis ACL user (AUTH); empty: the default user.", &redis_user},
    {"FOFAL_REDIS_PASSWORD", FOFAL_SET_STR, "", 0, 0, "Redis password of FOFAL_REDIS_USER; empty: no AUTH. Never logged.",
     &redis_password},
    {"FOFAL_REBUILD_MAX_BATCH", FOFAL_SET_INT, "1000", 1, 100000,
     "rebuild/verify: events per PostgreSQL transaction of the shadow projector.", &rebuild_batch},
    {"FOFAL_REBUILD_WAIT", FOFAL_SET_INT, "60", 1, 3600,
     "rebuild/verify: seconds to wait for the live projector to reach the rebuilt positions.", &rebuild_wait},
    {"FOFAL_FILES_DIR", FOFAL_SET_STR, FOFAL_SOURCE_DIR "/var/dev/filestore", 0, 0,
     "backup/restore: folder of the stored files (photos, PDFs) fofal-api writes; ops/stack's stack.env sets it.",
     &files_dir},
    {"FOFAL_SCHEMAS_DIR", FOFAL_SET_STR, FOFAL_SOURCE_DIR "/schemas", 0, 0, "Folder of the JSON Schemas and SQL migrations.",
     &schemas},
    {"FOFAL_KAFKA_PARTITIONS", FOFAL_SET_INT, "6", 1, 1024, "Partitions of each topic `fofal topics create` creates.",
     &partitions},
    {"FOFAL_LOG_LEVEL", FOFAL_SET_STR, "warn", 0, 0, "debug, info, warn or error.", &log_level},
    {"FOFAL_JWT_SECRET", FOFAL_SET_STR, "", 0, 0, "token: HMAC key of access tokens (as fofal-api's).", &jwt_secret},
    {"FOFAL_JWT_ISSUER", FOFAL_SET_STR, "fofal", 0, 0, "token: `iss` claim.", &jwt_issuer},
    {"FOFAL_JWT_AUDIENCE", FOFAL_SET_STR, "fofal-api", 0, 0, "token: `aud` claim.", &jwt_audience},
    {"TENANT", FOFAL_SET_STR, "demo", 0, 0, "token: tenant claim.", &tenant},
    {"SUBJECT", FOFAL_SET_STR, "", 0, 0, "token: subject (user id) claim; default the badge, else admin.", &subject},
    {"ROLE", FOFAL_SET_STR, "admin", 0, 0, "token: role claim, one of " ROLES_TEXT ".", &role},
    {"BADGE", FOFAL_SET_STR, "", 0, 0,
     "token: badge claim, the person's badge (W121): what they read as their own (views/weaver, employees/{badge}) "
     "and who they are in commands (a weaver declares as this badge). Sign-ins put the account's badge there.",
     &badge},
    {"TTL", FOFAL_SET_INT, "3600", 10, 86400,
     "token: lifetime in seconds, at most a day (fofal-api refuses a development token that lives longer).", &ttl},
    {"FOFAL_PD_MASTER_KEY", FOFAL_SET_STR, "", 0, 0,
     "The master key of personal data (as fofal-api's). replay: sealed fields are printed opened, or \"erased\"; "
     "rebuild, verify: the names the read models show are opened with it.",
     &pd_master},
};
#define NSET (sizeof settings / sizeof settings[0])

#define REBUILD_HELP                                                                                       \
  "  rebuild <projection>\n"                                                                               \
  "                  rebuild a read model without downtime. A projection is a registered module's\n"      \
  "                  read model, named like the module (production, catalog, identity ...), or its\n"     \
  "                  audit trail audit.<module>; without a name, the list. Projects the whole topic\n"    \
  "                  fofal.<module>.events into the shadow schema <schema>__rebuild (and, for the\n"      \
  "                  projection that owns the module's Redis views, the next Redis generation), then\n" \
  "                  swaps it in atomically while holding the live projector between two batches;\n"    \
  "                  queries are served throughout. audit.<module> shares the table audit.events with\n" \
  "                  the other modules: its shadow is audit__<module>__rebuild, and the swap replaces\n"  \
  "                  only the module's rows. Progress on stderr (about once a second while projecting);\n" \
  "                  a JSON summary on stdout. Safe to interrupt or kill: a re-run cleans up first.\n"
#define VERIFY_HELP                                                                                        \
  "  verify <projection> [--redis]\n"                                                                      \
  "                  rebuild the read model into <schema>__verify, bring it to exactly the live\n"         \
  "                  projector's positions and compare every table: row count and md5 of the rows in\n"  \
  "                  primary-key order (of audit.<module>, the module's rows only). With --redis (the projection that owns the module's Redis\n"      \
  "                  views), also the views, per kind (redis:order, redis:shift, ...): key count and a\n" \
  "                  digest of every key's content. One line per table or kind on stdout, OK or\n"       \
  "                  DIFFERENT; exit 0 only if all are equal. The shadow is removed afterwards.\n"
#define ACCOUNT_HELP                                                                                       \
  "  account erase --tenant T --account ID\n"                                                              \
  "                  erase a person (crypto-shredding): delete the account's data key, so that every\n"     \
  "                  personal field of theirs in the (immutable) events reads \"erased\" from now on,\n"    \
  "                  then send identity.account.erase through the log (no sign-in any more, in every\n"  \
  "                  rebuild too; its badge is free again) and end its sessions on every fofal-api.\n"   \
  "  account create --tenant T --username U --role R\n"                                                   \
  "                  create an account through the log, as POST /api/v1/auth/accounts does: sends\n"     \
  "                  identity.account.create to fofal.commands and waits for fofal-decider's decision\n" \
  "                  and for the identity projection (fofal-projector) to apply it. The password (12+\n" \
  "                  characters) is read from the terminal without echo, twice, or as the first line\n"  \
  "                  of stdin when stdin is not a terminal; never from the command line. It travels\n"   \
  "                  only as an argon2id hash sealed under FOFAL_PD_MASTER_KEY. Roles: " ROLES_A "\n"     \
  "                  " ROLES_B ". Prints the account id.\n"
#define REPLAY_HELP                                                                                        \
  "  replay [M] [--tenant T] [--module M] [--aggregate NAME] [--type TYPE] [--since TIME] [--until TIME]\n" \
  "                  print the committed events of fofal.<M>.events (every module without M; M as\n"    \
  "                  the first word or --module) up to the end of the log at start, one\n"              \
  "                  CloudEvents JSON envelope a line, upcast to the current event versions.\n"          \
  "                  --aggregate names an aggregate as people\n"   \
  "                  do: its id (a UUID), its code (L13, W121: every aggregate with that code, of any\n"  \
  "                  kind, in each tenant, and machine events named by the code) or kind:code\n"        \
  "                  (loom:L13, beam:B-0042, employee:W121, article:…, shiftmodel:default) for one\n"    \
  "                  kind. --type matches the full type or the type without its version\n"              \
  "                  (fofal.production.order_created); --since (inclusive) and\n"                        \
  "                  --until (exclusive) are RFC 3339 times compared with the event's `time`. Events are\n" \
  "                  in log order per partition, NOT sorted by time across partitions or modules.\n"      \
  "                  Exit 1 if an event could not be decoded (reported on stderr, the rest printed).\n"
#define STATUS_HELP                                                                                        \
  "  status [--json]\n"                                                                                    \
  "                  whether Kafka, PostgreSQL and Redis answer; then per projector and partition its\n"   \
  "                  next offset, the topic's high watermark, the lag in events (counted exactly up to\n" \
  "                  10,000; beyond, the offset difference, marked ~) and in seconds (age of the oldest\n" \
  "                  event not applied yet; 0 when caught up). At lag 0 the next offset may stand one\n"  \
  "                  below the high watermark: a transaction's last offset is its commit marker, which\n" \
  "                  holds no event. Then, per tenant, the notifications that failed after their retries\n" \
  "                  and those waiting for a retry (README, Notifications). A table, or JSON lines with\n"  \
  "                  --json.\n"                                                                             \
  "                  Exit 1 if a service does not answer.\n"

#define BACKUP_HELP                                                                                        \
  "  backup --to DIR\n"                                                                                     \
  "                  archive every committed record of the event topics (fofal.<module>.events,\n"        \
  "                  fofal.reactions.dlq) and of the compacted ones (decider state, command results,\n"   \
  "                  machine state) with partition, key, value, headers and timestamp, and the Kafka\n"   \
  "                  positions of fofal-reactor and fofal-machines, into DIR: one segment per partition\n" \
  "                  and run, a manifest.json and SHA256SUMS (sha256sum -c). Incremental: a second\n"     \
  "                  backup into DIR adds only what was written since. Also the person data keys of\n"    \
  "                  identity_keys.person_keys (wrapped under the master key; FOFAL_PG_DSN), whole.\n"  \
  "                  And the stored files (photos, PDFs; FOFAL_FILES_DIR) not archived yet, each under\n" \
  "                  its SHA-256 (blobs/), listed in SHA256SUMS.\n"                                       \
  "                  Not in it: the read models of PostgreSQL and Redis (rebuilt from the log) and the\n" \
  "                  master key (README, Backups). Progress (rate, ETA) on stderr; a JSON summary on\n"   \
  "                  stdout.\n"
#define RESTORE_HELP                                                                                       \
  "  restore --from DIR [--topic-prefix P | --keys-only]\n"                                                  \
  "                  check every SHA-256 of the archive (a damaged archive is refused, nothing written),\n" \
  "                  refuse a target partition that holds records, then produce every record back to its\n" \
  "                  topic (created when missing) and partition, in order, with its key, headers and\n"    \
  "                  timestamp, set the groups' positions and insert the person keys (FOFAL_PG_DSN,\n"    \
  "                  after `fofal migrate`; a person with another key there is refused first).\n"        \
  "                  fofal-reactor and fofal-machines must not run. --topic-prefix P writes topic T to P+T\n" \
  "                  (a drill beside a live stack). Then start the processes: the projectors rebuild\n"   \
  "                  the read models from the log. --keys-only: only the person keys, after losing\n"    \
  "                  PostgreSQL (Kafka intact). A JSON summary on stdout.\n"

static const char usage[] =
    "Usage: fofal <command> [--option=value ...]\n\n"
    "Commands:\n"
    "  topics create   create the missing topics of DESIGN.md and check every existing one; with\n"
    "                  FOFAL_KAFKA_USER set, grant the processes' Kafka users their ACLs\n"
    "                  (an event topic with finite retention or compaction is an error)\n"
    "  topics check    check the topics without creating any\n"
    "  migrate         apply the SQL migrations of schemas/ that are not applied yet\n"
    "  token           print a signed access token for --tenant, --role, --badge and --subject\n"
    "                  (development and tests; needs FOFAL_JWT_SECRET). Such a token has no\n"
    "                  session: fofal-api accepts it only with FOFAL_API_DEV_TOKENS=1 (the local\n"
    "                  and test stacks set it), and for at most a day (--ttl, default 3600 s).\n"
    "                  --role is one of\n"
    "                  " ROLES_A "\n"
    "                  " ROLES_B ";\n"
    "                  --badge (W121) is the person on the floor, as a sign-in with that badge gives.\n" REBUILD_HELP VERIFY_HELP REPLAY_HELP
        STATUS_HELP BACKUP_HELP RESTORE_HELP "\nExit status: 0 success, 1 failure, 2 usage error.";
static const char usage_account[] = "Usage: fofal account create|erase [--option=value ...]\n\n" ACCOUNT_HELP;
static const char usage_rebuild[] = "Usage: fofal rebuild <projection> [--option=value ...]\n\n" REBUILD_HELP;
static const char usage_verify[] = "Usage: fofal verify <projection> [--redis] [--option=value ...]\n\n" VERIFY_HELP;
static const char usage_replay[] = "Usage: fofal replay [module] [filters] [--option=value ...]\n\n" REPLAY_HELP;
static const char usage_backup[] = "Usage: fofal backup --to DIR [--option=value ...]\n\n" BACKUP_HELP;
static const char usage_restore[] = "Usage: fofal restore --from DIR [--topic-prefix P | --keys-only] [--option=value ...]\n\n" RESTORE_HELP;
static const char usage_status[] = "Usage: fofal status [--json] [--option=value ...]\n\n" STATUS_HELP;

static atomic_int stop;
/* Async-signal-safe: a store to a lock-free atomic (events.h asserts it is lock-free). */
static void on_signal(int sig) {
  (void)sig;
  fofal_stop_set(&stop);
}

static void print_line(void *opaque, const char *line) {
  printf("%s%s\n", (const char *)opaque, line);
  fflush(stdout);
}

static int cmd_topics(int create) {
  char err[512];
  fofal_kafka_t *k = NULL;
  fofal_topic_spec_t specs[256];
  int n = fofal_topics_all(specs, 256, (int)partitions);
  if (n > 256) {
    fprintf(stderr, "fofal: topics: %d topics, more than the 256 this command handles\n", n);
    return 1;
  }
  fofal_kafka_opts_t o = {.brokers = brokers, .client_id = "fofal-cli"};
  int rc = fofal_kafka_producer_new(&k, &o, err, sizeof err);
  if (!rc) rc = fofal_topics_ensure(k, specs, n, create, print_line, "topic ", err, sizeof err);
  /* The processes' rights on the topics (README, Security): only where the broker
   * authenticates its clients, as this CLI (a super user there) then does. */
  if (!rc && create && *kafka_security.user) {
    /* Four ACLs per module (every events topic: the decider writes it, the projector, the
     * reactor and the notifier read it) and the fixed ones: room for about 45 modules. */
    static fofal_kafka_acl_t acls[256];
    int nacl = fofal__kafka_acls(acls, 256);
    if (nacl > 256) rc = fofal_err(err, sizeof err, FOFAL_ECONFIG, "%d Kafka ACLs, more than 256", nacl);
    else rc = fofal_kafka_acls_create(k, acls, nacl, err, sizeof err);
    if (!rc) printf("acls: %d granted to the processes' Kafka users\n", nacl);
  }
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
  if (!fofal_api_role_valid(role)) {
    fprintf(stderr, "fofal: token: --role %s is not a role; one of:", role);
    for (int i = 0; fofal_api_roles[i]; i++) fprintf(stderr, " %s", fofal_api_roles[i]);
    fprintf(stderr, "\n");
    return 2;
  }
  if (*badge && !fofal_code_valid(badge)) {
    fprintf(stderr, "fofal: token: --badge must be 1 to 64 of A-Z a-z 0-9 . _ - (as W121)\n");
    return 2;
  }
  const char *sub = *subject ? subject : *badge ? badge : "admin";
  char *tok = fofal_api_token_issue_badge(jwt_secret, jwt_issuer, jwt_audience, tenant, sub, role, badge, (long)ttl);
  if (!tok) {
    fprintf(stderr, "fofal: token: cannot sign a token\n");
    return 1;
  }
  printf("%s\n", tok);
  free(tok);
  /* Said every time: whoever holds FOFAL_JWT_SECRET signs any tenant and role this way. */
  fprintf(stderr,
          "fofal: token: development token (no session) for tenant %s, role %s, valid %lld s; fofal-api accepts it "
          "only with FOFAL_API_DEV_TOKENS=1\n",
          tenant, role, (long long)ttl);
  return 0;
}

/* ------------------------------------------------------------- account */

/* Reads one line of at most cap-1 characters (without its newline) from stdin; with echo
 * off when stdin is a terminal. 0 or -1. */
static int read_secret(const char *prompt, char *out, size_t cap) {
  struct termios old, quiet;
  int tty = isatty(0) && !tcgetattr(0, &old);
  if (tty) {
    fprintf(stderr, "%s", prompt);
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(0, TCSAFLUSH, &quiet);
  }
  char *got = fgets(out, (int)cap, stdin);
  if (tty) {
    tcsetattr(0, TCSAFLUSH, &old);
    fprintf(stderr, "\n");
  }
  if (!got) return -1;
  out[strcspn(out, "\r\n")] = '\0';
  return 0;
}

/* The master key, for the commands that seal secrets (account create). 0 or -1 (said). */
static int master_key(unsigned char out[FOFAL_PD_KEY_BYTES], const char *what) {
  if (fofal_pd_init() || fofal_pd_master_parse(pd_master, out)) {
    fprintf(stderr, "fofal: %s: FOFAL_PD_MASTER_KEY (64 hex characters, as fofal-api's) is needed\n", what);
    return -1;
  }
  return 0;
}

/* Sends one command of the identity module through the log as fofal-api sends it (actor
 * "s:fofal-cli/admin", the tenant's partition of fofal.commands), waits (30 s at most) for
 * its decision on fofal.commands.results, and when accepted for the identity projection to
 * apply it (30 s; a warning when it does not: fofal-projector may not run). The aggregate
 * is data[key]. *result: the decided result (new). 0, or 1 (said on stderr). */
static int identity_command(const char *what, const char *a_tenant, const char *type, const char *key, json_t *data,
                            json_t **result) {
  char err[512] = "", id[FOFAL_UUID_LEN + 1], *rkey = NULL, *rec = NULL;
  fofal_kafka_t *prod = NULL, *res = NULL;
  fofal_pg_t *pg = NULL;
  int rc = 1;
  *result = NULL;
  fofal_uuid7(id);
  fofal_kafka_opts_t po = {.brokers = brokers, .client_id = "fofal-cli", .linger_ms = 1};
  fofal_kafka_opts_t co = {.brokers = brokers, .client_id = "fofal-cli-results", .read_committed = 1};
  int nparts = 0;
  int64_t lo = 0, hi = 0;
  if (fofal_kafka_producer_new(&prod, &po, err, sizeof err) || fofal_kafka_consumer_new(&res, &co, err, sizeof err) ||
      (nparts = fofal_kafka_partition_count(prod, FOFAL_TOPIC_COMMANDS, 10000, err, sizeof err)) <= 0) {
    fprintf(stderr, "fofal: %s: %s\n", what, nparts < 0 || !*err ? "Kafka is not reachable" : err);
    goto out;
  }
  int32_t part = fofal_tenant_partition(a_tenant, nparts);
  /* Read the results from their end now: ours comes after. */
  if (fofal_kafka_watermarks(prod, FOFAL_TOPIC_RESULTS, part, &lo, &hi, 10000, err, sizeof err) ||
      fofal_kafka_assign(res, FOFAL_TOPIC_RESULTS, &part, &hi, 1, err, sizeof err)) {
    fprintf(stderr, "fofal: %s: %s\n", what, err);
    goto out;
  }
  fofal_cmd_t cmd = {.id = id, .type = type, .tenant = a_tenant, .actor = "s:fofal-cli/admin",
                     .aggregate = json_string_value(json_object_get(data, key)), .expected_version = -1,
                     .issued_us = fofal_now_us(), .correlation_id = id, .data = data};
  if (fofal_command_produce(prod, &cmd, nparts, NULL, NULL, err, sizeof err) || fofal_kafka_flush(prod, 10000)) {
    fprintf(stderr, "fofal: %s: the command did not reach Kafka: %s\n", what, err);
    goto out;
  }
  rkey = fofal_result_key(a_tenant, id);
  for (int64_t deadline = fofal_mono_us() + 30 * 1000000LL; !*result && fofal_mono_us() < deadline && !stop;) {
    fofal_kmsg_t m;
    if (fofal_kafka_consume(res, 200, &m) <= 0) continue;
    if (!m.eof && m.key && m.key_len == strlen(rkey) && !memcmp(m.key, rkey, m.key_len))
      *result = json_loadb(m.value, m.len, 0, NULL);
    fofal_kafka_msg_release(&m);
  }
  if (!*result) {
    fprintf(stderr, "fofal: %s: no decision within 30 s: is fofal-decider running?\n", what);
    goto out;
  }
  rc = 0;
  const char *pos = json_string_value(json_object_get(*result, "position"));
  if (!pos) goto out; /* refused: the caller says why */
  /* "identity:<partition>:<offset>": wait until the projection has applied it. */
  const char *c2 = strrchr(pos, ':');
  char epart[16], etopic[64];
  snprintf(epart, sizeof epart, "%.*s", (int)(c2 - strchr(pos, ':') - 1), strchr(pos, ':') + 1);
  fofal_topic_events("identity", etopic, sizeof etopic);
  const char *pq[] = {etopic, epart};
  int applied = 0;
  if (fofal_pg_connect(&pg, pg_dsn, err, sizeof err)) fprintf(stderr, "fofal: %s: %s\n", what, err);
  for (int64_t deadline = fofal_mono_us() + 30 * 1000000LL; pg && !applied && fofal_mono_us() < deadline && !stop;) {
    free(rec);
    rec = NULL;
    if (fofal_pg_query_value(pg,
                             "SELECT next_offset FROM fofal_meta.projector_offsets WHERE projector = 'identity' AND"
                             " topic = $1 AND partition = $2::int",
                             2, pq, &rec, err, sizeof err))
      break;
    applied = rec && atoll(rec) > atoll(c2 + 1);
    if (!applied) usleep(50 * 1000);
  }
  if (!applied)
    fprintf(stderr, "fofal: %s: recorded in the log (%s), but the identity projection has not applied it yet: is "
                    "fofal-projector running?\n", what, pos);
out:
  free(rec);
  free(rkey);
  fofal_pg_close(pg);
  fofal_kafka_free(res);
  fofal_kafka_free(prod);
  return rc;
}

static int cmd_account_erase(const char *a_tenant, const char *account) {
  char err[512];
  fofal_pg_t *pg = NULL;
  fofal_redis_t *r = NULL;
  char *sids = NULL;
  json_t *result = NULL, *data = NULL, *res = NULL;
  int rc = 1;
  if (!a_tenant || !account || !fofal_uuid_valid(account)) {
    fprintf(stderr, "%s", usage_account);
    return 2;
  }
  const char *p[] = {a_tenant, account};
  /* First the key (crypto-shredding: every sealed field of theirs reads "erased" at once),
   * then the erasure through the log (no sign-in, badge released, in every rebuild), then
   * the sessions (operational state) end. Run again after a failure: each step is safe to
   * repeat. */
  if (fofal_pg_connect(&pg, pg_dsn, err, sizeof err) || fofal_person_erase(pg, a_tenant, account, err, sizeof err)) {
    fprintf(stderr, "fofal: account erase: %s\n", err);
    goto out;
  }
  data = json_pack("{s:s}", "account_id", account);
  if (identity_command("account erase", a_tenant, "identity.account.erase", "account_id", data, &result)) goto out;
  const char *code = json_string_value(json_object_get(result, "code"));
  if (code && strcmp(code, "account_erased")) {
    fprintf(stderr, "fofal: account erase: %s\n",
            !strcmp(code, "not_found") ? "the tenant has no such account" : json_string_value(json_object_get(result, "detail")));
    goto out;
  }
  if (fofal_pg_query_value(pg,
                           "WITH s AS (UPDATE identity_ops.sessions SET revoked_at = now(), revoked_reason = 'erased'"
                           " WHERE tenant = $1 AND account_id = $2::uuid AND revoked_at IS NULL RETURNING sid)"
                           " SELECT json_build_object('sids', (SELECT COALESCE(json_agg(sid), '[]') FROM s))",
                           2, p, &sids, err, sizeof err)) {
    fprintf(stderr, "fofal: account erase: %s\n", err);
    goto out;
  }
  res = json_loads(sids ? sids : "{}", 0, NULL);
  /* The sessions' access tokens: refused by every fofal-api (accounts.c tails this). */
  size_t i;
  json_t *sid;
  if (json_array_size(json_object_get(res, "sids")) && fofal_redis_connect(&r, redis_addr, redis_user, redis_password, err, sizeof err)) {
    fprintf(stderr, "fofal: account erase: erased, but Redis is unreachable to end the sessions at once: %s\n", err);
  } else {
    json_array_foreach(json_object_get(res, "sids"), i, sid) {
      const char *argv[] = {"XADD", "fofal:revocations", "*", "m", json_string_value(sid)};
      if (fofal_redis_cmd(r, 5, argv, err, sizeof err)) fprintf(stderr, "fofal: account erase: %s\n", err);
    }
  }
  printf("erased account %s of tenant %s (%zu session(s) ended)\n", account, a_tenant,
         json_array_size(json_object_get(res, "sids")));
  rc = 0;
out:
  json_decref(res);
  json_decref(data);
  json_decref(result);
  free(sids);
  fofal_redis_close(r);
  fofal_pg_close(pg);
  return rc;
}

static int cmd_account(const char *sub, const char *a_tenant, const char *a_user, const char *a_role) {
  char pw[1100], again[1100], id[37], err[512];
  unsigned char master[FOFAL_PD_KEY_BYTES];
  fofal_pg_t *pg = NULL;
  json_t *data = NULL, *result = NULL;
  int rc = 1;
  if (sub && !strcmp(sub, "erase")) return cmd_account_erase(a_tenant, a_user);
  if (!sub || strcmp(sub, "create") || !a_tenant || !a_user || !a_role) {
    fprintf(stderr, "%s", usage_account);
    return 2;
  }
  if (master_key(master, "account")) return 1;
  if (read_secret("Password: ", pw, sizeof pw)) {
    fprintf(stderr, "fofal: account: no password given\n");
    return 1;
  }
  if (isatty(0) && (read_secret("Again: ", again, sizeof again) || strcmp(pw, again))) {
    fprintf(stderr, "fofal: account: the passwords differ\n");
    goto out;
  }
  /* The same command as POST /api/v1/auth/accounts: through the log. */
  if (fofal_pg_connect(&pg, pg_dsn, err, sizeof err) || fofal_cred_init() ||
      fofal_api_account_data(pg, master, a_tenant, a_user, a_role, pw, NULL, NULL, 2, 19456, NULL, &data, id, err,
                             sizeof err)) {
    fprintf(stderr, "fofal: account: %s\n", err);
    goto out;
  }
  if (identity_command("account", a_tenant, "identity.account.create", "account_id", data, &result)) goto out;
  const char *code = json_string_value(json_object_get(result, "code"));
  if (code) {
    fprintf(stderr, "fofal: account: %s\n",
            !strcmp(code, "already_exists") ? "the tenant already has an account of that name"
                                            : json_string_value(json_object_get(result, "detail")));
    goto out;
  }
  printf("%s\n", id);
  rc = 0;
out:
  json_decref(data);
  json_decref(result);
  fofal_pg_close(pg);
  memset(master, 0, sizeof master);
  memset(pw, 0, sizeof pw);
  memset(again, 0, sizeof again);
  return rc;
}

/* ------------------------------------------------------- personal data
 * replay opens the sealed personal fields of the events it prints (events/crypto.c) with
 * the person keys of identity_keys.person_keys, unwrapped with FOFAL_PD_MASTER_KEY: a person
 * whose key was deleted (`fofal account erase`) reads "erased". Keys are cached for the
 * run (an erased one as such). */
static fofal_map_t *pd_keys;
static fofal_pg_t *pd_pg;
static unsigned char pd_master_key[FOFAL_PD_KEY_BYTES];

typedef struct {
  const char *tenant;
} pd_ctx_t;

static int pd_key_of(void *opaque, const char *person, unsigned char key[FOFAL_PD_KEY_BYTES]) {
  pd_ctx_t *c = opaque;
  char err[256], ck[256];
  snprintf(ck, sizeof ck, "%s\n%s", c->tenant, person);
  if (!pd_keys) pd_keys = fofal_map_new(free);
  unsigned char *hit = fofal_map_get(pd_keys, ck);
  if (!hit) {
    hit = fofal_calloc(1, FOFAL_PD_KEY_BYTES + 1);
    if ((pd_pg || !fofal_pg_connect(&pd_pg, pg_dsn, err, sizeof err)) && fofal_uuid_valid(person) &&
        !fofal_person_key(pd_pg, pd_master_key, c->tenant, person, 0, hit, err, sizeof err))
      hit[FOFAL_PD_KEY_BYTES] = 1; /* present */
    fofal_map_put(pd_keys, ck, hit);
  }
  if (!hit[FOFAL_PD_KEY_BYTES]) return FOFAL_ENOENT;
  memcpy(key, hit, FOFAL_PD_KEY_BYTES);
  return 0;
}

static void open_personal(fofal_event_t *ev) {
  static int ready = -1;
  if (ready < 0) {
    ready = !fofal_pd_init() && !fofal_pd_master_parse(pd_master, pd_master_key);
    if (!ready) fprintf(stderr, "fofal: replay: FOFAL_PD_MASTER_KEY is not 64 hex characters: personal fields stay sealed\n");
  }
  pd_ctx_t c = {ev->tenant};
  if (ready && json_is_object(ev->data) && fofal_pd_open_all(ev->data, ev->tenant, pd_key_of, &c) < 0)
    fprintf(stderr, "fofal: replay: event %s has a personal field that does not open\n", ev->id);
}

/* ------------------------------------------------------- rebuild, verify */

static void print_progress(void *opaque, const char *line) {
  (void)opaque;
  fprintf(stderr, "%s\n", line);
}

static const fofal_projection_def_t *find_projection(const char *cmd, const char *name) {
  const fofal_projection_def_t *def = name ? fofal_projection_find(name) : NULL;
  if (!def) {
    fprintf(stderr, "fofal: %s: %s; projections:", cmd, name ? "no such projection" : "which projection?");
    for (int i = 0; fofal_projections[i]; i++) fprintf(stderr, " %s", fofal_projections[i]->name);
    fprintf(stderr, "\n");
  }
  return def;
}

static fofal_rebuild_opts_t rebuild_opts(const fofal_projection_def_t *def, int compare_redis) {
  return (fofal_rebuild_opts_t){.brokers = brokers, .pg_dsn = pg_dsn, .redis_addr = redis_addr, .redis_user = redis_user, .redis_password = redis_password, .def = def,
                                .max_batch = (int)rebuild_batch, .wait_s = (int)rebuild_wait, .stop = &stop,
                                .compare_redis = compare_redis, .report = print_progress};
}

/* Rebuild and verify open the personal fields their projection shows, as the live
 * projector does (projections/personal.c). */
static int pd_for_projections(const char *verb) {
  if (!fofal_projections_pd_master(pd_master)) return 0;
  fprintf(stderr, "fofal: %s: FOFAL_PD_MASTER_KEY is not 64 hex characters\n", verb);
  return 2;
}

static int cmd_rebuild(const char *name) {
  char err[1024];
  const fofal_projection_def_t *def = find_projection("rebuild", name);
  if (!def) return 2;
  if (pd_for_projections("rebuild")) return 2;
  fofal_rebuild_opts_t o = rebuild_opts(def, 0);
  fofal_rebuild_result_t res;
  int rc = fofal_rebuild_run(&o, &res, err, sizeof err);
  if (rc) {
    fprintf(stderr, "fofal: rebuild %s failed: %s\n", name, err);
    return 1;
  }
  json_t *out = json_pack("{s:s,s:I,s:f,s:f,s:I,s:I,s:I}", "rebuild", name, "events", (json_int_t)res.events, "seconds",
                          res.seconds, "events_per_s", res.events_per_s, "redis_generation", (json_int_t)res.gen,
                          "batches", (json_int_t)res.batches, "replayed_batches", (json_int_t)res.replayed);
  char *txt = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(6));
  printf("%s\n", txt);
  free(txt);
  json_decref(out);
  return 0;
}

static int cmd_verify(const char *name, int compare_redis) {
  char err[1024];
  const fofal_projection_def_t *def = find_projection("verify", name);
  if (!def) return 2;
  if (pd_for_projections("verify")) return 2;
  if (compare_redis && strcmp(def->name, def->module))
    fprintf(stderr, "fofal: verify %s: --redis ignored: the Redis views belong to projection %s\n", name, def->module);
  fofal_rebuild_opts_t o = rebuild_opts(def, compare_redis);
  fofal_verify_item_t *items = NULL;
  int n = 0, rc = fofal_verify_run(&o, &items, &n, err, sizeof err), same = 1;
  if (rc) {
    fprintf(stderr, "fofal: verify %s failed: %s\n", name, err);
    return 1;
  }
  for (int i = 0; i < n; i++) {
    const char *unit = strncmp(items[i].name, "redis:", 6) ? "rows" : "keys";
    printf("%s live=%s (%lld %s) rebuilt=%s (%lld %s) %s\n", items[i].name, items[i].live, items[i].live_rows, unit,
           items[i].rebuilt, items[i].rebuilt_rows, unit, items[i].equal ? "OK" : "DIFFERENT");
    same &= items[i].equal;
  }
  free(items);
  return same ? 0 : 1;
}

/* ----------------------------------------------------------------- replay */

typedef struct {
  const char *tenant, *module, *aggregate, *type, *since, *until;
  const char *dir, *topic_prefix; /* backup, restore */
  int json;  /* status */
  int redis; /* verify */
} filters_t;

/* The margin by which an event's Kafka timestamp may precede its `time` (clock steps on
 * the decider's host): where --since starts reading. */
#define SINCE_MARGIN_MS (5 * 60 * 1000LL)

static int type_matches(const char *type, const char *want) {
  size_t n = strlen(want);
  if (!strcmp(type, want)) return 1;
  if (strncmp(type, want, n) || type[n] != '.' || type[n + 1] != 'v') return 0;
  for (const char *d = type + n + 2; *d; d++)
    if (*d < '0' || *d > '9') return 0;
  return type[n + 2] != '\0';
}

typedef struct {
  long long printed, undecodable;
  /* --aggregate resolved for the tenant of the last event (commands.h): events come in
   * runs of one tenant (a tenant is one partition), so it is rarely resolved again. */
  char tenant[128];
  int nnames;
  fofal_aggregate_name_t names[FOFAL_AGGREGATE_NAMES_MAX];
} replay_count_t;

/* 1 if the event is of an aggregate that --aggregate names in the event's tenant. */
static int aggregate_matches(const char *name, const fofal_event_t *ev, replay_count_t *cnt) {
  if (strcmp(cnt->tenant, ev->tenant) || !cnt->tenant[0]) {
    snprintf(cnt->tenant, sizeof cnt->tenant, "%s", ev->tenant);
    cnt->nnames = fofal_aggregate_resolve(ev->tenant, NULL, name, cnt->names, FOFAL_AGGREGATE_NAMES_MAX);
  }
  for (int i = 0; i < cnt->nnames; i++)
    if (!strcmp(cnt->names[i].id, ev->subject)) return 1;
  return 0;
}

static int replay_topic(fofal_kafka_t *k, const char *topic, const filters_t *f, int64_t since_us, int64_t until_us,
                        replay_count_t *cnt) {
  char err[512];
  int nparts = fofal_kafka_partition_count(k, topic, 10000, err, sizeof err), rc = 0;
  if (nparts < 0) {
    fprintf(stderr, "fofal: replay: %s\n", err);
    return 1;
  }
  int32_t *parts = fofal_calloc((size_t)nparts, sizeof *parts);
  int64_t *start = fofal_calloc((size_t)nparts, sizeof *start), *hi = fofal_calloc((size_t)nparts, sizeof *hi);
  int *done = fofal_calloc((size_t)nparts, sizeof *done), n = 0, left = 0;
  for (int p = 0; p < nparts && !rc; p++) {
    int64_t lo, h, from;
    if ((rc = fofal_kafka_watermarks(k, topic, p, &lo, &h, 10000, err, sizeof err))) break;
    from = lo;
    if (since_us && (rc = fofal_kafka_offset_for_time(k, topic, p, since_us / 1000 - SINCE_MARGIN_MS, &from, 10000, err,
                                                      sizeof err)))
      break;
    if (from < lo) from = lo;
    if (from >= h) continue;
    parts[n] = p;
    start[n] = from;
    hi[p] = h;
    n++;
    left++;
  }
  for (int p = 0; p < nparts; p++) done[p] = 1;
  for (int i = 0; i < n; i++) done[parts[i]] = 0;
  if (!rc && n) rc = fofal_kafka_assign(k, topic, parts, start, n, err, sizeof err);
  if (rc) {
    fprintf(stderr, "fofal: replay %s: %s\n", topic, err);
    goto out;
  }
  int64_t idle_since = fofal_mono_us();
  while (left > 0 && !fofal_stopped(&stop)) {
    fofal_kmsg_t m;
    int got = fofal_kafka_consume(k, 200, &m);
    if (got < 0) {
      fprintf(stderr, "fofal: replay %s: fatal Kafka consumer error\n", topic);
      rc = 1;
      break;
    }
    if (got == 0) {
      /* A partition that ends with a transaction marker: the position passes it. */
      for (int i = 0; i < n; i++)
        if (!done[parts[i]] && fofal_kafka_position(k, topic, parts[i]) >= hi[parts[i]]) done[parts[i]] = 1, left--;
      if (fofal_mono_us() - idle_since > 60 * 1000000LL) {
        fprintf(stderr, "fofal: replay %s: no progress for 60 s; is Kafka up?\n", topic);
        rc = 1;
        break;
      }
      continue;
    }
    idle_since = fofal_mono_us();
    int p = m.partition;
    if (p < 0 || p >= nparts || done[p]) {
      fofal_kafka_msg_release(&m);
      continue;
    }
    if (!m.eof && m.value && m.offset < hi[p]) {
      fofal_event_t ev = {0};
      char why[256];
      if (fofal_event_decode(&ev, m.value, m.len, why, sizeof why)) {
        fprintf(stderr, "fofal: replay: %s[%d]@%lld is not a valid event: %s\n", topic, p, (long long)m.offset, why);
        cnt->undecodable++;
      } else if ((!f->tenant || !strcmp(ev.tenant, f->tenant)) && (!f->aggregate || aggregate_matches(f->aggregate, &ev, cnt)) &&
                 (!f->type || type_matches(ev.type, f->type)) && (!since_us || ev.time_us >= since_us) &&
                 (!until_us || ev.time_us < until_us)) {
        if (pd_master && *pd_master) open_personal(&ev);
        char *txt = fofal_event_encode(&ev);
        fputs(txt, stdout);
        fputc('\n', stdout);
        free(txt);
        cnt->printed++;
        if (ferror(stdout)) fofal_stop_set(&stop); /* the reader went away (e.g. | head) */
      }
      fofal_event_clear(&ev);
    }
    if ((m.eof || m.offset >= hi[p] - 1) && !done[p]) done[p] = 1, left--;
    fofal_kafka_msg_release(&m);
  }
  if (fofal_stopped(&stop)) rc = 1;
out:
  free(parts);
  free(start);
  free(hi);
  free(done);
  return rc ? 1 : 0;
}

static int cmd_replay(const filters_t *f) {
  char err[512];
  int64_t since_us = 0, until_us = 0;
  if (f->since && fofal_time_parse(f->since, &since_us)) {
    fprintf(stderr, "fofal: replay: --since \"%s\" is not an RFC 3339 time\n", f->since);
    return 2;
  }
  if (f->until && fofal_time_parse(f->until, &until_us)) {
    fprintf(stderr, "fofal: replay: --until \"%s\" is not an RFC 3339 time\n", f->until);
    return 2;
  }
  fofal_aggregate_name_t probe[FOFAL_AGGREGATE_NAMES_MAX];
  if (f->aggregate && fofal_aggregate_resolve("", NULL, f->aggregate, probe, FOFAL_AGGREGATE_NAMES_MAX) < 1) {
    char kinds[1024];
    fofal_aggregate_kinds_text(NULL, 0, kinds, sizeof kinds);
    fprintf(stderr, "fofal: replay: --aggregate \"%s\" is not a UUID, a code (L13) or kind:code with kind one of: %s\n",
            f->aggregate, kinds);
    return 2;
  }
  char topic[128];
  if (f->module && fofal_topic_events(f->module, topic, sizeof topic)) {
    fprintf(stderr, "fofal: replay: no module \"%s\"\n", f->module);
    return 2;
  }
  fofal_kafka_t *k = NULL;
  fofal_kafka_opts_t o = {.brokers = brokers, .client_id = "fofal-cli-replay", .read_committed = 1, .partition_eof = 1};
  if (fofal_kafka_consumer_new(&k, &o, err, sizeof err)) {
    fprintf(stderr, "fofal: replay: %s\n", err);
    return 1;
  }
  static char outbuf[1 << 16];
  setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
  replay_count_t cnt = {0};
  int rc = 0;
  for (int i = 0; fofal_modules[i] && !rc; i++) {
    if (f->module && strcmp(f->module, fofal_modules[i])) continue;
    fofal_topic_events(fofal_modules[i], topic, sizeof topic);
    rc = replay_topic(k, topic, f, since_us, until_us, &cnt);
  }
  fflush(stdout);
  setvbuf(stdout, NULL, _IOLBF, 0);
  fofal_kafka_free(k);
  fofal_map_free(pd_keys);
  fofal_pg_close(pd_pg);
  fprintf(stderr, "replay: %lld events printed%s\n", cnt.printed, cnt.undecodable ? ", some undecodable (above)" : "");
  return rc || cnt.undecodable ? 1 : 0;
}

/* ----------------------------------------------------------------- status */

typedef struct {
  char projector[128], topic[128];
  int partition;
  long long next;
  char last_event_at[40];
} offset_row_t;

typedef struct {
  offset_row_t *v;
  int n;
} offset_rows_t;

static void on_offset(void *opaque, int ncols, const char *const *v) {
  offset_rows_t *r = opaque;
  (void)ncols;
  r->v = fofal_realloc(r->v, (size_t)(r->n + 1) * sizeof *r->v);
  offset_row_t *o = &r->v[r->n++];
  snprintf(o->projector, sizeof o->projector, "%s", v[0]);
  snprintf(o->topic, sizeof o->topic, "%s", v[1]);
  o->partition = atoi(v[2]);
  o->next = atoll(v[3]);
  snprintf(o->last_event_at, sizeof o->last_event_at, "%s", v[4] ? v[4] : "");
}

#define EXACT_LAG_MAX 10000

typedef struct {
  long long next, hi, lag;
  int exact;
  double lag_s;
  char last_event_at[40];
} part_status_t;

/* Counts the committed events in [next, hi) of each lagging partition (up to
 * EXACT_LAG_MAX) and the age of the first one: offsets alone also count transaction
 * markers, so a caught-up partition would show a lag of 1. */
static void measure_lag(fofal_kafka_t *k, const char *topic, part_status_t *ps, int nparts) {
  char err[256];
  int32_t *parts = fofal_calloc((size_t)nparts, sizeof *parts);
  int64_t *start = fofal_calloc((size_t)nparts, sizeof *start);
  int *done = fofal_calloc((size_t)nparts, sizeof *done), n = 0, left;
  for (int p = 0; p < nparts; p++) {
    done[p] = 1;
    if (ps[p].hi <= ps[p].next) continue;
    parts[n] = p;
    start[n++] = ps[p].next;
    done[p] = 0;
    ps[p].lag = 0;
  }
  left = n;
  if (n && fofal_kafka_assign(k, topic, parts, start, n, err, sizeof err)) left = 0;
  int64_t deadline = fofal_mono_us() + 10 * 1000000LL, now_ms = fofal_now_us() / 1000;
  while (left > 0 && fofal_mono_us() < deadline) {
    fofal_kmsg_t m;
    int got = fofal_kafka_consume(k, 100, &m);
    if (got < 0) break;
    if (got == 0) {
      for (int i = 0; i < n; i++)
        if (!done[parts[i]] && fofal_kafka_position(k, topic, parts[i]) >= ps[parts[i]].hi) done[parts[i]] = 1, left--;
      continue;
    }
    int p = m.partition;
    if (p >= 0 && p < nparts && !done[p]) {
      if (!m.eof && m.value && m.offset < ps[p].hi) {
        if (ps[p].lag == 0) ps[p].lag_s = (double)(now_ms - m.timestamp_ms) / 1000.0;
        if (++ps[p].lag >= EXACT_LAG_MAX) {
          ps[p].lag = ps[p].hi - ps[p].next;
          ps[p].exact = 0;
          done[p] = 1, left--;
        }
      }
      if (!done[p] && (m.eof || m.offset >= ps[p].hi - 1)) done[p] = 1, left--;
    }
    fofal_kafka_msg_release(&m);
  }
  for (int i = 0; i < n; i++)
    if (!done[parts[i]]) { /* ran out of time: fall back to offsets */
      ps[parts[i]].lag = ps[parts[i]].hi - ps[parts[i]].next;
      ps[parts[i]].exact = 0;
    }
  for (int p = 0; p < nparts; p++)
    if (ps[p].lag_s < 0) ps[p].lag_s = 0;
  fofal_kafka_assign(k, topic, NULL, NULL, 0, err, sizeof err);
  free(parts);
  free(start);
  free(done);
}

static void print_service(int json, const char *name, int ok, const char *detail) {
  if (json) {
    json_t *o = json_pack("{s:s,s:b}", "service", name, "ok", ok);
    if (!ok) json_object_set_new(o, "error", json_string(detail));
    char *t = json_dumps(o, JSON_COMPACT);
    printf("%s\n", t);
    free(t);
    json_decref(o);
  } else {
    printf("%-12s %s%s%s\n", name, ok ? "ok" : "DOWN", ok ? "" : ": ", ok ? "" : detail);
  }
}

/* Notifications (README, Notifications): the messages fofal-notifier gave up on (events
 * fofal.notify.message_failed, projected into notify.failures) and those waiting for a
 * retry, per tenant. Nothing when the module's tables are not there. */
static void on_notify_row(void *opaque, int ncols, const char *const *v) {
  int json = *(int *)opaque;
  (void)ncols;
  if (json) {
    json_t *o = json_pack("{s:s,s:s,s:I,s:I}", "notifications", "messages", "tenant", v[0], "failed",
                          (json_int_t)atoll(v[1]), "pending", (json_int_t)atoll(v[2]));
    char *t = json_dumps(o, JSON_COMPACT);
    printf("%s\n", t);
    free(t);
    json_decref(o);
  } else {
    printf("%-24s %-26s %8s %8s\n", v[0], "", v[1], v[2]);
  }
}

static void status_notifications(fofal_pg_t *pg, int json) {
  char *have = NULL, err[256];
  if (fofal_pg_query_value(pg, "SELECT (to_regclass('notify.failures') IS NOT NULL AND to_regclass('notify_ops.messages') IS "
                               "NOT NULL)::text", 0, NULL, &have, err, sizeof err) || !have || strcmp(have, "true")) {
    free(have);
    return;
  }
  free(have);
  if (!json) printf("\n%-24s %-26s %8s %8s\n", "NOTIFICATIONS (TENANT)", "", "FAILED", "PENDING");
  if (fofal_pg_query(pg,
                     "SELECT t.tenant, (SELECT count(*) FROM notify.failures f WHERE f.tenant = t.tenant)::text, (SELECT "
                     "count(*) FROM notify_ops.messages m WHERE m.tenant = t.tenant AND m.status = 'pending')::text FROM "
                     "(SELECT tenant FROM notify.failures UNION SELECT tenant FROM notify_ops.messages WHERE status = "
                     "'pending') t ORDER BY 1",
                     0, NULL, on_notify_row, &json, err, sizeof err))
    fprintf(stderr, "fofal: status: notifications: %s\n", err);
}

static int cmd_status(const filters_t *f) {
  char kerr[512] = "", perr[512] = "", rerr[512] = "";
  fofal_kafka_t *k = NULL;
  fofal_pg_t *pg = NULL;
  fofal_redis_t *r = NULL;
  fofal_kafka_opts_t ko = {.brokers = brokers, .client_id = "fofal-cli-status", .read_committed = 1, .partition_eof = 1};
  int kafka_ok = !fofal_kafka_consumer_new(&k, &ko, kerr, sizeof kerr) &&
                 fofal_kafka_partition_count(k, FOFAL_TOPIC_COMMANDS, 5000, kerr, sizeof kerr) > 0;
  int pg_ok = !fofal_pg_connect(&pg, pg_dsn, perr, sizeof perr) && fofal_pg_ping(pg);
  if (pg && !pg_ok && !*perr) snprintf(perr, sizeof perr, "does not answer SELECT 1");
  const char *ping[] = {"PING"};
  int redis_ok = !fofal_redis_connect(&r, redis_addr, redis_user, redis_password, rerr, sizeof rerr) && !fofal_redis_cmd(r, 1, ping, rerr, sizeof rerr);
  if (!f->json) printf("%-12s %s\n", "SERVICE", "STATUS");
  print_service(f->json, "kafka", kafka_ok, kerr);
  print_service(f->json, "postgresql", pg_ok, perr);
  print_service(f->json, "redis", redis_ok, rerr);

  /* Projectors: every registered projection, and whatever else has positions (a rebuild's
   * shadow in progress, a projection since removed). */
  offset_rows_t rows = {0};
  if (pg_ok &&
      fofal_pg_query(pg, "SELECT projector, topic, partition, next_offset, to_char(last_event_at AT TIME ZONE 'UTC', "
                         "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM fofal_meta.projector_offsets ORDER BY 1, 2, 3",
                     0, NULL, on_offset, &rows, perr, sizeof perr))
    fprintf(stderr, "fofal: status: %s\n", perr);
  typedef struct {
    char projector[128], topic[128];
  } pair_t;
  int npairs = 0, nproj = 0;
  while (fofal_projections[nproj]) nproj++;
  pair_t *pairs = fofal_calloc((size_t)(rows.n + nproj), sizeof *pairs);
  for (int i = 0; fofal_projections[i]; i++) {
    snprintf(pairs[npairs].projector, sizeof pairs[npairs].projector, "%s", fofal_projections[i]->name);
    fofal_topic_events(fofal_projections[i]->module, pairs[npairs].topic, sizeof pairs[npairs].topic);
    npairs++;
  }
  for (int i = 0; i < rows.n; i++) {
    int seen = 0;
    for (int j = 0; j < npairs && !seen; j++)
      seen = !strcmp(pairs[j].projector, rows.v[i].projector) && !strcmp(pairs[j].topic, rows.v[i].topic);
    if (!seen) {
      snprintf(pairs[npairs].projector, sizeof pairs[npairs].projector, "%s", rows.v[i].projector);
      snprintf(pairs[npairs].topic, sizeof pairs[npairs].topic, "%s", rows.v[i].topic);
      npairs++;
    }
  }
  if (!f->json)
    printf("\n%-24s %-26s %4s %12s %14s %11s %9s\n", "PROJECTOR", "TOPIC", "PART", "NEXT_OFFSET", "HIGH_WATERMARK",
           "LAG_EVENTS", "LAG_S");
  for (int pi = 0; pi < npairs; pi++) {
    char err[256];
    int nparts = kafka_ok ? fofal_kafka_partition_count(k, pairs[pi].topic, 5000, err, sizeof err) : -1;
    int known = nparts > 0;
    if (!known) {
      nparts = 0; /* without Kafka: the partitions we have positions for */
      for (int i = 0; i < rows.n; i++)
        if (!strcmp(rows.v[i].projector, pairs[pi].projector) && !strcmp(rows.v[i].topic, pairs[pi].topic) &&
            rows.v[i].partition + 1 > nparts)
          nparts = rows.v[i].partition + 1;
    }
    part_status_t *ps = fofal_calloc((size_t)nparts + 1, sizeof *ps);
    for (int p = 0; p < nparts; p++) {
      ps[p].hi = -1;
      ps[p].exact = 1;
    }
    for (int i = 0; i < rows.n; i++)
      if (!strcmp(rows.v[i].projector, pairs[pi].projector) && !strcmp(rows.v[i].topic, pairs[pi].topic) &&
          rows.v[i].partition < nparts) {
        ps[rows.v[i].partition].next = rows.v[i].next;
        snprintf(ps[rows.v[i].partition].last_event_at, sizeof ps->last_event_at, "%s", rows.v[i].last_event_at);
      }
    for (int p = 0; known && p < nparts; p++) {
      int64_t lo, hi;
      if (!fofal_kafka_watermarks(k, pairs[pi].topic, p, &lo, &hi, 5000, err, sizeof err)) ps[p].hi = hi;
    }
    if (known) measure_lag(k, pairs[pi].topic, ps, nparts);
    for (int p = 0; p < nparts; p++) {
      if (f->json) {
        json_t *o = json_pack("{s:s,s:s,s:i,s:I}", "projector", pairs[pi].projector, "topic", pairs[pi].topic,
                              "partition", p, "next_offset", (json_int_t)ps[p].next);
        if (ps[p].hi >= 0) {
          json_object_set_new(o, "high_watermark", json_integer(ps[p].hi));
          json_object_set_new(o, "lag_events", json_integer(ps[p].lag));
          json_object_set_new(o, "lag_exact", json_boolean(ps[p].exact));
          json_object_set_new(o, "lag_seconds", json_real(ps[p].lag ? ps[p].lag_s : 0));
        }
        json_object_set_new(o, "last_event_at", *ps[p].last_event_at ? json_string(ps[p].last_event_at) : json_null());
        char *t = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
        printf("%s\n", t);
        free(t);
        json_decref(o);
      } else if (ps[p].hi >= 0) {
        char lag[32];
        snprintf(lag, sizeof lag, "%s%lld", ps[p].exact ? "" : "~", ps[p].lag);
        printf("%-24s %-26s %4d %12lld %14lld %11s %9.1f\n", pairs[pi].projector, pairs[pi].topic, p, ps[p].next,
               ps[p].hi, lag, ps[p].lag ? ps[p].lag_s : 0.0);
      } else {
        printf("%-24s %-26s %4d %12lld %14s %11s %9s\n", pairs[pi].projector, pairs[pi].topic, p, ps[p].next, "?", "?",
               "?");
      }
    }
    free(ps);
  }
  free(pairs);
  free(rows.v);
  if (pg_ok) status_notifications(pg, f->json);
  fofal_kafka_free(k);
  fofal_pg_close(pg);
  fofal_redis_close(r);
  return kafka_ok && pg_ok && redis_ok ? 0 : 1;
}

/* ----------------------------------------------------------------- backup */

static int cmd_backup(int restore, const filters_t *f) {
  const char *what = restore ? "restore" : "backup";
  if (!f->dir || !*f->dir) {
    fprintf(stderr, "fofal: %s: %s DIR is required (see fofal %s --help)\n", what, restore ? "--from" : "--to", what);
    return 2;
  }
  char err[1024];
  json_t *summary = NULL;
  fofal_backup_opts_t o = {.brokers = brokers, .dir = f->dir, .topic_prefix = f->topic_prefix, .pg_dsn = pg_dsn,
                         .files_dir = files_dir,
                         .keys_only = restore && f->json, .stop = &stop};
  int rc = restore ? fofal_restore_run(&o, &summary, err, sizeof err) : fofal_backup_run(&o, &summary, err, sizeof err);
  if (rc) {
    fprintf(stderr, "fofal: %s: %s\n", what, err);
    return 1;
  }
  char *t = fofal_json_dumps(summary, JSON_COMPACT);
  printf("%s\n", t);
  free(t);
  json_decref(summary);
  return 0;
}

/* Takes `--name VALUE` / `--name=VALUE` out of argv (for options that are not settings). */
static const char *take_opt(int *argc, char **argv, const char *name, int flag) {
  size_t n = strlen(name);
  for (int i = 1; i < *argc; i++) {
    const char *val = NULL;
    int used = 0;
    if (!strcmp(argv[i], name)) {
      if (flag) val = "1", used = 1;
      else if (i + 1 < *argc) val = argv[i + 1], used = 2;
      else return NULL;
    } else if (!flag && !strncmp(argv[i], name, n) && argv[i][n] == '=') {
      val = argv[i] + n + 1, used = 1;
    }
    if (used) {
      memmove(&argv[i], &argv[i + used], (size_t)(*argc - i - used + 1) * sizeof *argv);
      *argc -= used;
      return val;
    }
  }
  return NULL;
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
  /* Options of one command that are not settings (--tenant of replay is a filter, not the
   * token's claim): taken out before the settings see the rest. */
  filters_t f = {0};
  int nargs = argc - skip;
  char **args = argv + skip;
  const char *cmd_usage = usage;
  if (!strcmp(cmd, "replay")) {
    f.tenant = take_opt(&nargs, args, "--tenant", 0);
    f.module = take_opt(&nargs, args, "--module", 0);
    f.aggregate = take_opt(&nargs, args, "--aggregate", 0);
    f.type = take_opt(&nargs, args, "--type", 0);
    f.since = take_opt(&nargs, args, "--since", 0);
    f.until = take_opt(&nargs, args, "--until", 0);
    cmd_usage = usage_replay;
  } else if (!strcmp(cmd, "status")) {
    f.json = take_opt(&nargs, args, "--json", 1) != NULL;
    cmd_usage = usage_status;
  } else if (!strcmp(cmd, "rebuild")) {
    cmd_usage = usage_rebuild;
  } else if (!strcmp(cmd, "account")) {
    f.tenant = take_opt(&nargs, args, "--tenant", 0);
    f.aggregate = take_opt(&nargs, args, "--username", 0); /* reused slots: account's own options */
    if (!f.aggregate) f.aggregate = take_opt(&nargs, args, "--account", 0);
    f.type = take_opt(&nargs, args, "--role", 0);
    cmd_usage = usage_account;
  } else if (!strcmp(cmd, "backup")) {
    f.dir = take_opt(&nargs, args, "--to", 0);
    cmd_usage = usage_backup;
  } else if (!strcmp(cmd, "restore")) {
    f.dir = take_opt(&nargs, args, "--from", 0);
    f.topic_prefix = take_opt(&nargs, args, "--topic-prefix", 0);
    f.json = take_opt(&nargs, args, "--keys-only", 1) != NULL; /* reused slot: restore's own flag */
    cmd_usage = usage_restore;
  } else if (!strcmp(cmd, "verify")) {
    f.redis = take_opt(&nargs, args, "--redis", 1) != NULL;
    cmd_usage = usage_verify;
  }
  int lrc = fofal_settings_load(settings, NSET, nargs, args, cmd_usage, err, sizeof err);
  if (lrc == 1) return 0;
  if (lrc || (lrc = fofal_kafka_security_set(&kafka_security, err, sizeof err))) {
    fprintf(stderr, "fofal: %s\n", err);
    fofal_settings_free(settings, NSET);
    return 2;
  }
  fofal_log_init("fofal", log_level);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGPIPE, SIG_IGN);
  int rc = 2;
  if (!strcmp(cmd, "topics") && sub && !strcmp(sub, "create")) rc = cmd_topics(1);
  else if (!strcmp(cmd, "topics") && sub && !strcmp(sub, "check")) rc = cmd_topics(0);
  else if (!strcmp(cmd, "migrate") && !sub) rc = cmd_migrate();
  else if (!strcmp(cmd, "token") && !sub) rc = cmd_token();
  else if (!strcmp(cmd, "account")) rc = cmd_account(sub, f.tenant, f.aggregate, f.type);
  else if (!strcmp(cmd, "rebuild")) rc = cmd_rebuild(sub);
  else if (!strcmp(cmd, "verify")) rc = cmd_verify(sub, f.redis);
  else if (!strcmp(cmd, "replay") && (!sub || !f.module || !strcmp(sub, f.module))) {
    if (sub) f.module = sub; /* `fofal replay <module>` */
    rc = cmd_replay(&f);
  }
  else if (!strcmp(cmd, "status") && !sub) rc = cmd_status(&f);
  else if ((!strcmp(cmd, "backup") || !strcmp(cmd, "restore")) && !sub) rc = cmd_backup(!strcmp(cmd, "restore"), &f);
  else fprintf(stderr, "fofal: unknown command \"%s%s%s\" (see fofal --help)\n", cmd, sub ? " " : "", sub ? sub : "");
  fofal_settings_free(settings, NSET);
  return rc;
}
