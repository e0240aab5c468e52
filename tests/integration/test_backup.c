/*
 * test_backup.c — `fofal backup` and `fofal restore` (issue 19, Backups) against the real
 * Kafka of the test stack, with fofal-decider, fofal-api and fofal-reactor:
 *
 *   - commands of the test's own tenant go through the API and the decider (a weaving
 *     floor); fofal-reactor reads the event topics, so its group has positions there;
 *   - a first backup; more commands; a second backup into the same folder writes only what
 *     is new: per partition the segments of the archive follow each other, each starting
 *     where the one before ended, and the second run holds fewer records than the first;
 *   - the person data keys (identity_keys.person_keys, wrapped under the master key) are in
 *     the archive: the tenant's, deleted from PostgreSQL, come back with the restore, and
 *     again with `restore --keys-only` (PostgreSQL lost, Kafka intact);
 *   - a copy of the archive with one byte of a segment changed is refused as damaged, and
 *     nothing is written (not even a topic created);
 *   - the archive restored into fresh topics holds, for every archived topic and partition,
 *     the same committed records in the same order: SHA-256 of every key, value, header and
 *     timestamp, compared with the original topic's up to where the backup read it; and
 *     fofal-reactor's positions point at the same records in the restored topics;
 *   - a stored file (photo) of the tenant is archived once (blobs/, by its SHA-256; the
 *     second backup does not copy it again), and after it is wiped from the file store
 *     the restore puts it back byte for byte.
 *
 * Isolation: the test stack is shared by every test, so the restore goes to topics named
 * with a prefix of the test's own (`--topic-prefix bk<random>.`), created by the restore
 * with the partitions and configs of their originals. "restore into an empty stack" is
 * thereby exercised on empty topics without wiping what other tests wrote; a prefix that
 * does not begin with "fofal." keeps the copies out of everything that looks at fofal.*.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "filestore.h"
#include "harness.h"
#include "projections.h"

static int port;
static pid_t api, dec, reactor;
static char tenant[32];

static void setup(void) {
  h_tenant(tenant);
  /* On a fresh stack of a loaded machine a process may still find its topics missing (its
   * Kafka user's view lags `fofal topics create`) and refuse to start: start it again. */
  dec = h_start_decider("it-backup");
  for (int i = 0;; i++) {
    port = h_free_port();
    char p[64];
    snprintf(p, sizeof p, "FOFAL_HTTP_PORT=%d", port);
    const char *env[] = {p, "FOFAL_API_COMMAND_WAIT_MS=30000", NULL};
    api = h_spawn("api/fofal-api", "test-api-backup", NULL, env);
    if (!h_wait_ready(port, 20000)) break;
    h_stop(api, SIGTERM);
    cr_assert_lt(i, 3, "fofal-api did not become ready on port %d", port);
  }
  int st;
  if (waitpid(dec, &st, WNOHANG) == dec) dec = h_start_decider("it-backup");
  reactor = h_start_reactor("it-backup");
}

static void teardown(void) {
  if (reactor > 0) h_stop(reactor, SIGTERM);
  h_stop(api, SIGTERM);
  h_stop(dec, SIGTERM);
}

/* Lean on its own (under a minute), but it archives and compares the whole shared stack:
 * after the full suite that is every test's events, hence the generous bounds. */
TestSuite(backup, .init = setup, .fini = teardown, .timeout = 600);

static fofal_kafka_t *consumer(const char *group) {
  char err[256];
  fofal_kafka_t *k = NULL;
  fofal_kafka_opts_t o = {.brokers = h_env("FOFAL_KAFKA_BROKERS"), .client_id = "fofal-test-backup",
                          .group_id = group, .read_committed = 1, .partition_eof = 1};
  cr_assert_eq(fofal_kafka_consumer_new(&k, &o, err, sizeof err), 0, "%s", err);
  return k;
}

/* The committed records of topic[p] below offset `upto`: how many, how many below `mark`,
 * and the SHA-256 of their keys, values, headers and timestamps in order. */
typedef struct {
  long long n, below;
  char sha[65];
} digest_t;

static void put_field(crypto_hash_sha256_state *s, const void *p, size_t n) {
  unsigned char len[9] = {p ? 1 : 0};
  for (int i = 0; i < 8; i++) len[1 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
  crypto_hash_sha256_update(s, len, sizeof len);
  if (p) crypto_hash_sha256_update(s, p, n);
}

static digest_t digest(fofal_kafka_t *k, const char *topic, int32_t p, int64_t upto, int64_t mark) {
  char err[256];
  digest_t d = {0};
  crypto_hash_sha256_state s;
  crypto_hash_sha256_init(&s);
  int64_t from = FOFAL_OFFSET_BEGINNING;
  if (upto > 0) {
    cr_assert_eq(fofal_kafka_assign(k, topic, &p, &from, 1, err, sizeof err), 0, "%s", err);
    int64_t deadline = fofal_mono_us() + 120 * 1000000LL;
    for (int done = 0; !done;) {
      cr_assert(fofal_mono_us() < deadline, "%s[%d] not read to %lld within 120 s", topic, p, (long long)upto);
      fofal_kmsg_t m;
      if (fofal_kafka_consume(k, 100, &m) <= 0) {
        done = fofal_kafka_position(k, topic, p) >= upto;
        continue;
      }
      if (!m.eof && m.offset < upto) {
        d.n++;
        d.below += m.offset < mark;
        put_field(&s, m.key, m.key_len);
        put_field(&s, m.value, m.len);
        const char *name;
        const void *val;
        size_t vlen;
        for (size_t i = 0; !fofal_kafka_msg_header_at(&m, i, &name, &val, &vlen); i++) {
          put_field(&s, name, strlen(name));
          put_field(&s, val, vlen);
        }
        put_field(&s, &(int64_t){m.timestamp_ms}, 8);
      }
      done = m.eof || m.offset >= upto - 1;
      fofal_kafka_msg_release(&m);
    }
    fofal_kafka_assign(k, topic, NULL, NULL, 0, err, sizeof err);
  }
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&s, out);
  for (size_t i = 0; i < sizeof out; i++) snprintf(d.sha + 2 * i, 3, "%02x", out[i]);
  return d;
}

/* Runs `fofal <verb> <dirflag> dir [--topic-prefix prefix]`: its exit status, *summary the JSON it printed. */
static int run(const char *verb, const char *dir, const char *prefix, json_t **summary) {
  char *out = NULL;
  const char *args[] = {verb, !strcmp(verb, "backup") ? "--to" : "--from", dir, prefix ? "--topic-prefix" : NULL, prefix,
                        NULL};
  int rc = h_run_cli(300, &out, args);
  *summary = json_loads(out ? out : "", 0, NULL);
  free(out);
  return rc;
}

static json_t *manifest(const char *dir) {
  char path[1024];
  snprintf(path, sizeof path, "%s/manifest.json", dir);
  json_t *m = json_load_file(path, 0, NULL);
  cr_assert(m, "%s is no JSON", path);
  return m;
}

static long long count_in_log(const char *needle) {
  char path[1024], line[4096];
  snprintf(path, sizeof path, "%s/logs/test-cli.log", h_env("FOFAL_STACK_DIR"));
  FILE *f = fopen(path, "r");
  long long n = 0;
  while (f && fgets(line, sizeof line, f)) n += strstr(line, needle) != NULL;
  if (f) fclose(f);
  return n;
}

/* Waits until fofal-reactor has committed its way to the end of the tenant's partition of
 * fofal.production.events (it reads that topic). */
static void wait_reactor(void) {
  char err[256];
  fofal_kafka_t *g = consumer("fofal-reactor");
  const char *topic = "fofal.production.events";
  int n = fofal_kafka_partition_count(g, topic, 10000, err, sizeof err);
  cr_assert(n > 0, "%s", err);
  int32_t p = fofal_tenant_partition(tenant, n);
  int64_t lo, hi, c = -1;
  cr_assert_eq(fofal_kafka_watermarks(g, topic, p, &lo, &hi, 10000, err, sizeof err), 0, "%s", err);
  for (int64_t deadline = fofal_mono_us() + 30 * 1000000LL; c < hi && fofal_mono_us() < deadline; usleep(200 * 1000))
    cr_assert_eq(fofal_kafka_committed(g, topic, &p, 1, &c, 10000, err, sizeof err), 0, "%s", err);
  cr_assert_geq(c, hi, "fofal-reactor's position %lld on %s[%d] did not reach %lld", (long long)c, topic, p, (long long)hi);
  fofal_kafka_free(g);
}

/* The tenant's person keys, "person:wrapped_key,..." (new, "" when none). */
static char *person_keys(fofal_pg_t *pg, const char *sql) {
  char err[256], *out = NULL;
  const char *p[] = {tenant};
  cr_assert_eq(fofal_pg_query_value(pg, sql, 1, p, &out, err, sizeof err), 0, "%s", err);
  return out ? out : fofal_strdup("");
}

Test(backup, incremental_checksummed_restored_record_for_record) {
  char dir[1024], bad[1024], prefix[64], bad_prefix[64], cmd[4096], err[256];
  cr_assert_geq(sodium_init(), 0);
  snprintf(dir, sizeof dir, "%s/backup-%s", h_env("FOFAL_STACK_DIR"), tenant);
  snprintf(bad, sizeof bad, "%s-damaged", dir);
  snprintf(prefix, sizeof prefix, "bk%s.", tenant + 2);
  snprintf(bad_prefix, sizeof bad_prefix, "bad%s.", tenant + 2);

  /* Commands through the decider; the reactor's positions; then stop it (a restore sets the
   * positions of a group that has no live member). */
  h_floor_http(port, tenant, "L1", "W1", "A1");
  wait_reactor();
  h_stop(reactor, SIGTERM);
  reactor = 0;

  /* A stored file of the tenant (as fofal-api stores an upload). */
  fofal_filestore_t *fs = NULL;
  char photo[200], photo_sha[FOFAL_FILE_SHA_LEN + 1];
  int photo_len = snprintf(photo, sizeof photo, "\x89PNG\r\n\x1a\n a photo of tenant %s", tenant);
  fofal_file_address(photo, (size_t)photo_len, photo_sha);
  cr_assert_eq(fofal_filestore_disk(h_env("FOFAL_FILES_DIR"), &fs, err, sizeof err), 0, "%s", err);
  cr_assert_eq(fs->ops->put(fs, tenant, photo_sha, photo, (size_t)photo_len, NULL, err, sizeof err), 0, "%s", err);

  json_t *s1 = NULL, *s2 = NULL, *sr = NULL, *sb = NULL;
  cr_assert_eq(run("backup", dir, NULL, &s1), 0, "the first backup failed");
  long long r1 = json_integer_value(json_object_get(s1, "records"));
  cr_assert_gt(r1, 0, "the first backup archived no record");
  json_t *m1 = manifest(dir);
  size_t files1 = json_array_size(json_object_get(m1, "files"));

  /* More commands: the second backup archives only those. */
  h_floor_http(port, tenant, "L1", "W2", "A1");
  cr_assert_eq(run("backup", dir, NULL, &s2), 0, "the second backup failed");
  long long r2 = json_integer_value(json_object_get(s2, "records"));
  cr_assert(r2 > 0 && r2 < r1, "the second backup archived %lld records (the first %lld): not only the new ones", r2, r1);
  json_t *m = manifest(dir), *f, *topics = json_object_get(m, "topics"), *t;
  cr_assert_gt(json_array_size(json_object_get(m, "files")), files1, "the second backup added no segment");
  /* Per partition the segments follow each other without a gap or an overlap, and the
   * second run's start where the first run's `next` was. */
  size_t i;
  long long archived = 0;
  json_t *ends = json_object();
  json_array_foreach(json_object_get(m, "files"), i, f) {
    char key[256];
    snprintf(key, sizeof key, "%s/%lld", json_string_value(json_object_get(f, "topic")),
             (long long)json_integer_value(json_object_get(f, "partition")));
    json_int_t from = json_integer_value(json_object_get(f, "from"));
    json_t *end = json_object_get(ends, key);
    if (end) cr_expect_eq(from, json_integer_value(end), "segment %s starts at %lld, not where the last ended",
                          json_string_value(json_object_get(f, "path")), (long long)from);
    if (i >= files1) {
      json_t *next1 = json_object_get(json_object_get(json_object_get(m1, "topics"), json_string_value(json_object_get(f, "topic"))), "next");
      cr_expect_eq(from, json_integer_value(json_array_get(next1, (size_t)json_integer_value(json_object_get(f, "partition")))),
                   "the second run's segment %s does not start where the first run ended",
                   json_string_value(json_object_get(f, "path")));
    }
    json_object_set_new(ends, key, json_integer(json_integer_value(json_object_get(f, "next"))));
    archived += json_integer_value(json_object_get(f, "records"));
  }
  cr_assert_eq(archived, r1 + r2);
  cr_assert(json_object_get(topics, "fofal.production.events") && json_object_get(topics, "fofal.decider.state"),
            "the archive holds the event topics and the decider's state");
  int photos = 0;
  json_array_foreach(json_object_get(m, "blobs"), i, f) if (!strcmp(json_string_value(json_object_get(f, "tenant")), tenant)) {
    cr_expect_str_eq(json_string_value(json_object_get(f, "sha256")), photo_sha);
    photos++;
  }
  cr_expect_eq(photos, 1, "the stored file is in the archive once (the second backup did not copy it again)");
  char blob[2048];
  snprintf(blob, sizeof blob, "grep -q '^%s  blobs/%s/' '%s/SHA256SUMS'", photo_sha, tenant, dir);
  cr_expect_eq(system(blob), 0, "SHA256SUMS lists the stored file");
  /* the file store lost the file */
  cr_assert_eq(fs->ops->remove(fs, tenant, photo_sha, err, sizeof err), 0);
  cr_assert_not(fs->ops->has(fs, tenant, photo_sha, NULL));

  /* The person keys: archived; the tenant's lost from PostgreSQL. */
  fofal_pg_t *pg = NULL;
  cr_assert_eq(fofal_pg_connect(&pg, h_env("FOFAL_PG_DSN"), err, sizeof err), 0, "%s", err);
  const char *keys_sql = "SELECT coalesce(string_agg(person_id::text || ':' || coalesce(wrapped_key, '-'), ',' ORDER BY "
                         "person_id), '') FROM identity_keys.person_keys WHERE tenant = $1";
  char *keys_before = person_keys(pg, keys_sql);
  cr_assert(*keys_before, "registering the weavers through the API made person keys");
  cr_assert_geq(json_integer_value(json_object_get(json_object_get(m, "keys"), "rows")), 2, "the archive holds the person keys");
  const char *tp[] = {tenant};
  cr_assert_eq(fofal_pg_execp(pg, "DELETE FROM identity_keys.person_keys WHERE tenant = $1", 1, tp, err, sizeof err), 0,
               "%s", err);

  /* A damaged copy is refused before anything is written. */
  snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s'", bad, dir, bad);
  cr_assert_eq(system(cmd), 0);
  const char *victim = NULL;
  long long biggest = 0;
  json_array_foreach(json_object_get(m, "files"), i, f)
    if (json_integer_value(json_object_get(f, "bytes")) > biggest) {
      biggest = json_integer_value(json_object_get(f, "bytes"));
      victim = json_string_value(json_object_get(f, "path"));
    }
  char vpath[2048];
  snprintf(vpath, sizeof vpath, "%s/%s", bad, victim);
  FILE *vf = fopen(vpath, "r+");
  cr_assert(vf, "%s", vpath);
  fseek(vf, biggest / 2, SEEK_SET);
  int c = fgetc(vf);
  fseek(vf, biggest / 2, SEEK_SET);
  fputc(c ^ 0x20, vf);
  fclose(vf);
  long long damaged_before = count_in_log("is damaged");
  cr_assert_eq(run("restore", bad, bad_prefix, &sb), 1, "a damaged archive was not refused");
  cr_assert_gt(count_in_log("is damaged"), damaged_before, "the refusal does not say the archive is damaged");
  fofal_kafka_t *k = consumer(NULL);
  char target[256];
  snprintf(target, sizeof target, "%sfofal.decider.state", bad_prefix);
  cr_assert_eq(fofal_kafka_partition_count(k, target, 10000, err, sizeof err), FOFAL_ENOENT,
               "the refused restore created %s", target);

  /* Restore into fresh topics; then the same records, partition by partition. */
  cr_assert_eq(run("restore", dir, prefix, &sr), 0, "the restore failed");
  cr_assert_eq(json_integer_value(json_object_get(sr, "records")), archived);
  char *keys_after = person_keys(pg, keys_sql);
  cr_expect_str_eq(keys_after, keys_before, "the restore gave the tenant's person keys back");
  free(keys_after);
  char *back = NULL;
  size_t back_len = 0;
  cr_expect_eq(fs->ops->get(fs, tenant, photo_sha, 1 << 20, &back, &back_len, err, sizeof err), 0,
               "the restore did not put the stored file back: %s", err);
  cr_expect(back && back_len == (size_t)photo_len && !memcmp(back, photo, back_len), "the restored file differs");
  free(back);
  fofal_filestore_close(fs);
  /* PostgreSQL lost, Kafka intact: --keys-only puts back only the keys. */
  cr_assert_eq(fofal_pg_execp(pg, "DELETE FROM identity_keys.person_keys WHERE tenant = $1", 1, tp, err, sizeof err), 0,
               "%s", err);
  const char *keys_only[] = {"restore", "--from", dir, "--keys-only", NULL};
  cr_assert_eq(h_run_cli(300, NULL, keys_only), 0, "restore --keys-only failed");
  keys_after = person_keys(pg, keys_sql);
  cr_expect_str_eq(keys_after, keys_before, "restore --keys-only gave the tenant's person keys back");
  free(keys_before);
  free(keys_after);
  fofal_pg_close(pg);
  fofal_kafka_t *g = consumer("fofal-reactor");
  const char *name;
  long long compared = 0, positions = 0;
  json_object_foreach(topics, name, t) {
    snprintf(target, sizeof target, "%s%s", prefix, name);
    int np = (int)json_integer_value(json_object_get(t, "partitions"));
    cr_assert_eq(fofal_kafka_partition_count(k, target, 10000, err, sizeof err), np, "%s: %s", target, err);
    json_t *rpos = json_object_get(json_object_get(t, "groups"), "fofal-reactor");
    for (int32_t p = 0; p < np; p++) {
      int64_t lo, hi, mark = rpos ? json_integer_value(json_array_get(rpos, (size_t)p)) : -1;
      /* A topic the restore just created: its leader may still be settling in. */
      int wrc = -1;
      for (int64_t until = fofal_mono_us() + 20 * 1000000LL; wrc && fofal_mono_us() < until;)
        if ((wrc = fofal_kafka_watermarks(k, target, p, &lo, &hi, 10000, err, sizeof err))) usleep(300 * 1000);
      cr_assert_eq(wrc, 0, "%s", err);
      digest_t a = digest(k, name, p, json_integer_value(json_array_get(json_object_get(t, "next"), (size_t)p)), mark);
      digest_t b = digest(k, target, p, hi, -1);
      cr_expect_eq(a.n, b.n, "%s[%d]: %lld records, restored %lld", name, p, a.n, b.n);
      cr_expect_str_eq(a.sha, b.sha, "%s[%d]: the restored records differ", name, p);
      compared += b.n;
      if (mark >= 0) {
        int64_t got = -1;
        cr_assert_eq(fofal_kafka_committed(g, target, &p, 1, &got, 10000, err, sizeof err), 0, "%s", err);
        cr_expect_eq(got, a.below, "fofal-reactor's position on %s[%d] is %lld, the restored records before it %lld",
                     target, p, (long long)got, a.below);
        positions++;
      }
    }
  }
  cr_expect_eq(compared, archived, "every archived record was compared");
  cr_expect_gt(positions, 0, "fofal-reactor's positions were archived and restored");
  fofal_kafka_free(g);
  fofal_kafka_free(k);
  json_decref(ends);
  json_decref(m);
  json_decref(m1);
  json_decref(s1);
  json_decref(s2);
  json_decref(sr);
  json_decref(sb);
  snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir, bad);
  cr_expect_eq(system(cmd), 0);
}
