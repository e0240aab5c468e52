/*
 * backup.c — `fofal backup --to DIR` and `fofal restore --from DIR`.
 *
 * What is archived. Everything in Kafka that is not derived and that a restored stack needs:
 * every topic of fofal_topics_all of kind FOFAL_TOPIC_EVENTS (fofal.<module>.events of every
 * registered module, fofal.reactions.dlq) and of kind FOFAL_TOPIC_COMPACTED
 * (fofal.decider.state — fofal-decider never replays history, it starts from these states —,
 * fofal.commands.results — its idempotency window —, fofal.machines.state). Bounded topics
 * (commands already decided, raw telemetry, their dead letters) are not. Every committed
 * record (read_committed: aborted transactions and their markers are not records) with its
 * partition, offset, key, value, headers and timestamp, byte for byte. Also the committed
 * positions of the consumer groups that read these topics (fofal-reactor, fofal-machines),
 * so that a restored fofal-reactor does not react to old triggers again. And the one table
 * of PostgreSQL that is no read model: identity_keys.person_keys, the person data keys
 * wrapped under FOFAL_PD_MASTER_KEY (without them every sealed personal field of the log
 * reads as unreadable), written whole at each run. The rest of PostgreSQL and Redis are
 * read models, rebuilt from the log. The master key itself is never in the archive.
 *
 * The archive (a folder):
 *   manifest.json  {"format":"fofal-backup/1","topics":{T:{"kind","partitions","next":[…],
 *                  "groups":{G:[offset or -1 per partition]}}},"files":[{"path","topic",
 *                  "partition","from","next","records","bytes","sha256"}],"runs":[…]}
 *                  `next` is where the following backup goes on reading each partition.
 *                  "keys":{"path","rows","bytes","sha256"} names the latest key file.
 *   SHA256SUMS     `sha256sum -c` format: the manifest's SHA-256 and every file's.
 *   keys/person_keys-<run>.jsonl  one JSON object per person key: tenant, person_id,
 *                  wrapped_key (null once erased), created_at, erased_at.
 *   blobs/<tenant>/<ab>/<sha256>  the stored files (photos, PDFs: FOFAL_FILES_DIR, the
 *                  file store of api/filestore.h), each named by its content address, which
 *                  is its checksum; manifest "blobs": [{"path","tenant","sha256","bytes"}].
 *                  Incremental: a file already in the archive is not copied again.
 *   T/P/<from>-<next>.rec  one segment per partition and backup run: "FOFALREC1\n", then per
 *                  record, big-endian: i64 offset, i64 timestamp (ms), i32 key length (-1: no
 *                  key) and the key, i32 value length (-1: null) and the value, u32 header
 *                  count and per header u32 name length, the name, i32 value length (-1:
 *                  none) and the value.
 *
 * Consistent. A backup reads each partition up to the high watermark it noted at its start;
 * the watermarks of all the topics are noted twice in a row until nothing moved between
 * (a transaction of fofal-decider writes events, states and results together: a cut in the
 * middle of one would leave a state without its event). When the log never stands still
 * for the few milliseconds that takes, the backup says so and goes on (README, Backups).
 * Incremental: a second backup into the same folder starts each partition at the
 * manifest's `next` and adds segments; segments are written to a temporary name, synced
 * and renamed, and the manifest is replaced last, so an interrupted backup leaves the
 * archive as it was.
 *
 * Restore checks every checksum (and reads every record) before it connects to Kafka: a
 * damaged archive is refused and nothing is written. A partition that already holds
 * records is refused too (restore goes into an empty stack). Records are produced with
 * the idempotent producer, one partition's in order; their offsets start again from 0
 * without the transaction markers, which is why the groups' positions are translated (the
 * number of restored records before the position). The projectors' positions live in
 * PostgreSQL: an empty PostgreSQL projects the restored log from its start.
 *
 * Progress: a line on stderr about once a second, with a rate and an ETA.
 */
#include "backup.h"
#include "events.h"
#include "projections.h"
#include "filestore.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FORMAT "fofal-backup/1"
#define REC_MAGIC "FOFALREC1\n"
#define REC_MAGIC_LEN 10
#define MAX_TOPICS 128
#define MAX_FIELD (64u << 20)  /* a key, value or header longer than this is damage */
#define MAX_HEADERS 4096
#define RETRIES 20
#define RETRY_US (500 * 1000)
#define WAIT_MS 30000 /* a Kafka request (metadata, watermarks, group offsets) on a loaded broker */

/* The consumer groups that keep their positions in Kafka on archived topics. */
static const char *const groups[] = {"fofal-reactor", "fofal-machines", NULL};
#define NGROUPS ((int)(sizeof groups / sizeof groups[0]) - 1)

/* ----------------------------------------------------------------- helpers */

static void hex(const unsigned char *d, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

typedef struct {
  const char *what, *unit;
  int64_t t0, last;
  long long total, done, records;
} progress_t;

static void progress(progress_t *p, int final) {
  int64_t now = fofal_mono_us();
  if (!final && now - p->last < 1000000) return;
  p->last = now;
  double s = (double)(now - p->t0) / 1e6, rate = s > 0 ? (double)p->records / s : 0;
  double unit_rate = s > 0 ? (double)p->done / s : 0;
  char eta[32] = "-";
  if (final) snprintf(eta, sizeof eta, "0 s");
  else if (unit_rate > 0) snprintf(eta, sizeof eta, "%.0f s", (double)(p->total - p->done) / unit_rate);
  fprintf(stderr, "%s: %lld/%lld %s (%d%%), %lld records, %.0f records/s, ETA %s\n", p->what, p->done, p->total,
          p->unit, p->total > 0 ? (int)(100 * p->done / p->total) : 100, p->records, rate, eta);
}

static int mkdirs(const char *path, char *errbuf, size_t errlen) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *s = tmp + 1;; s++) {
    if (*s == '/' || !*s) {
      char c = *s;
      *s = '\0';
      if (mkdir(tmp, 0700) && errno != EEXIST) return fofal_err(errbuf, errlen, FOFAL_EIO, "mkdir %s: %s", tmp, strerror(errno));
      *s = c;
      if (!c) break;
    }
  }
  return 0;
}

/* Writes `text` to dir/name through a synced temporary file and a rename. */
static int write_file(const char *dir, const char *name, const char *text, char *errbuf, size_t errlen) {
  char *path = fofal_asprintf("%s/%s", dir, name), *tmp = fofal_asprintf("%s/%s.tmp", dir, name);
  int rc = 0;
  FILE *f = fopen(tmp, "w");
  if (!f || fputs(text, f) < 0 || fflush(f) || fsync(fileno(f))) rc = FOFAL_EIO;
  if (f && fclose(f)) rc = FOFAL_EIO;
  if (!rc && rename(tmp, path)) rc = FOFAL_EIO;
  if (rc) fofal_err(errbuf, errlen, rc, "cannot write %s: %s", path, strerror(errno));
  free(path);
  free(tmp);
  return rc;
}

static char *read_text(const char *path, size_t *len) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *buf = fofal_malloc(cap);
  for (size_t got; (got = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
    n += got;
    if (cap - n < 2) buf = fofal_realloc(buf, cap *= 2);
  }
  buf[n] = '\0';
  fclose(f);
  *len = n;
  return buf;
}

/* The SHA-256 that SHA256SUMS gives `name`, into out[65]; 0 or -1. */
static int sums_lookup(const char *sums, const char *name, char out[65]) {
  size_t nl = strlen(name);
  for (const char *l = sums; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
    if (strlen(l) > 66 && l[64] == ' ' && l[65] == ' ' && !strncmp(l + 66, name, nl) && (l[66 + nl] == '\n' || !l[66 + nl])) {
      memcpy(out, l, 64);
      out[64] = '\0';
      return 0;
    }
  return -1;
}

/* The archive's manifest, checked against SHA256SUMS (new), NULL with *missing when the
 * folder holds no archive, or NULL with the reason. */
static json_t *manifest_load(const char *dir, int *missing, char *errbuf, size_t errlen) {
  char *mpath = fofal_asprintf("%s/manifest.json", dir), *spath = fofal_asprintf("%s/SHA256SUMS", dir);
  size_t mlen = 0, slen = 0;
  char *mtext = read_text(mpath, &mlen), *stext = read_text(spath, &slen), want[65], got[65];
  json_t *m = NULL;
  *missing = 0;
  if (!mtext && !stext && errno == ENOENT) {
    *missing = 1;
    goto out;
  }
  if (!mtext || !stext) {
    fofal_err(errbuf, errlen, FOFAL_EPARSE, "the archive in %s is damaged: %s is missing", dir,
              !mtext ? "manifest.json" : "SHA256SUMS");
    goto out;
  }
  unsigned char d[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(d, (const unsigned char *)mtext, mlen);
  hex(d, sizeof d, got);
  if (sums_lookup(stext, "manifest.json", want) || strcmp(want, got)) {
    fofal_err(errbuf, errlen, FOFAL_EPARSE, "the archive in %s is damaged: manifest.json does not match its SHA-256 in SHA256SUMS", dir);
    goto out;
  }
  json_error_t je;
  m = json_loadb(mtext, mlen, 0, &je);
  if (!m || strcmp(json_string_value(json_object_get(m, "format")) ?: "", FORMAT) ||
      !json_is_object(json_object_get(m, "topics")) || !json_is_array(json_object_get(m, "files"))) {
    fofal_err(errbuf, errlen, FOFAL_EPARSE, "%s/manifest.json is not a " FORMAT " manifest", dir);
    json_decref(m);
    m = NULL;
  }
out:
  free(mpath);
  free(spath);
  free(mtext);
  free(stext);
  return m;
}

/* Writes SHA256SUMS and then manifest.json (each synced and renamed into place). */
static int manifest_save(const char *dir, json_t *m, char *errbuf, size_t errlen) {
  char *text = fofal_json_dumps(m, JSON_INDENT(1) | JSON_SORT_KEYS), sum[65];
  size_t cap = 128, n;
  unsigned char d[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(d, (const unsigned char *)text, strlen(text));
  hex(d, sizeof d, sum);
  char *sums = fofal_asprintf("%s  manifest.json\n", sum);
  size_t i;
  json_t *f;
  json_array_foreach(json_object_get(m, "files"), i, f) {
    char *line = fofal_asprintf("%s  %s\n", json_string_value(json_object_get(f, "sha256")),
                                json_string_value(json_object_get(f, "path")));
    n = strlen(sums);
    cap = n + strlen(line) + 1;
    sums = fofal_realloc(sums, cap);
    memcpy(sums + n, line, strlen(line) + 1);
    free(line);
  }
  json_array_foreach(json_object_get(m, "blobs"), i, f) {
    char *line = fofal_asprintf("%s  %s\n", json_string_value(json_object_get(f, "sha256")),
                                json_string_value(json_object_get(f, "path")));
    n = strlen(sums);
    sums = fofal_realloc(sums, n + strlen(line) + 1);
    memcpy(sums + n, line, strlen(line) + 1);
    free(line);
  }
  json_t *keys = json_object_get(m, "keys");
  if (keys) {
    char *line = fofal_asprintf("%s  %s\n", json_string_value(json_object_get(keys, "sha256")),
                                json_string_value(json_object_get(keys, "path")));
    n = strlen(sums);
    sums = fofal_realloc(sums, n + strlen(line) + 1);
    memcpy(sums + n, line, strlen(line) + 1);
    free(line);
  }
  int rc = write_file(dir, "SHA256SUMS", sums, errbuf, errlen);
  if (!rc) rc = write_file(dir, "manifest.json", text, errbuf, errlen);
  free(sums);
  free(text);
  return rc;
}

/* The topics an archive holds: events and compacted ones, in fofal_topics_all's order. */
static int archived_topics(fofal_topic_spec_t *out, int cap) {
  fofal_topic_spec_t all[MAX_TOPICS];
  int n = fofal_topics_all(all, MAX_TOPICS, 1), k = 0;
  for (int i = 0; i < n && i < MAX_TOPICS; i++)
    if ((all[i].kind == FOFAL_TOPIC_EVENTS || all[i].kind == FOFAL_TOPIC_COMPACTED) && k < cap) out[k++] = all[i];
  return k;
}

static const char *kind_name(fofal_topic_kind_t k) { return k == FOFAL_TOPIC_EVENTS ? "events" : "compacted"; }

/* ------------------------------------------------------------------ backup */

typedef struct {
  unsigned char *v;
  size_t n, cap;
} buf_t;

static void put(buf_t *b, const void *p, size_t n) {
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2;
    b->v = fofal_realloc(b->v, b->cap);
  }
  if (n) memcpy(b->v + b->n, p, n);
  b->n += n;
}

static void put_u64(buf_t *b, uint64_t v) {
  unsigned char x[8];
  for (int i = 0; i < 8; i++) x[i] = (unsigned char)(v >> (56 - 8 * i));
  put(b, x, 8);
}

static void put_u32(buf_t *b, uint32_t v) {
  unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
  put(b, x, 4);
}

static void put_field(buf_t *b, const void *p, size_t n) {
  put_u32(b, p ? (uint32_t)n : UINT32_MAX);
  if (p) put(b, p, n);
}

/* One partition's segment while it is written. */
typedef struct {
  FILE *f;
  char *tmp, *path, *rel;
  crypto_hash_sha256_state sha;
  long long records, bytes;
  int64_t from, hi;
  int done;
} seg_t;

static int seg_write(seg_t *s, const void *p, size_t n) {
  crypto_hash_sha256_update(&s->sha, p, n);
  s->bytes += (long long)n;
  return fwrite(p, 1, n, s->f) == n ? 0 : -1;
}

/* Encodes one consumed record into its segment. */
static int seg_record(seg_t *s, const fofal_kmsg_t *m, buf_t *b) {
  b->n = 0;
  put_u64(b, (uint64_t)m->offset);
  put_u64(b, (uint64_t)m->timestamp_ms);
  put_field(b, m->key, m->key_len);
  put_field(b, m->value, m->len);
  size_t nh = 0;
  const char *name;
  const void *val;
  size_t vlen;
  while (!fofal_kafka_msg_header_at(m, nh, &name, &val, &vlen)) nh++;
  put_u32(b, (uint32_t)nh);
  for (size_t i = 0; i < nh; i++) {
    fofal_kafka_msg_header_at(m, i, &name, &val, &vlen);
    put_field(b, name, strlen(name));
    put_field(b, val, vlen);
  }
  s->records++;
  return seg_write(s, b->v, b->n);
}

/* Backs up the partitions [start, hi) of one topic into new segments; adds them to files. */
static int backup_topic(const fofal_backup_opts_t *o, fofal_kafka_t *k, const char *topic, int nparts,
                        const int64_t *start, const int64_t *hi, json_t *files, progress_t *pr, char *errbuf,
                        size_t errlen) {
  int rc = 0, left = 0, n = 0;
  seg_t *segs = fofal_calloc((size_t)nparts, sizeof *segs);
  int32_t *parts = fofal_calloc((size_t)nparts, sizeof *parts);
  int64_t *offs = fofal_calloc((size_t)nparts, sizeof *offs), *seen = fofal_calloc((size_t)nparts, sizeof *seen);
  buf_t b = {0};
  for (int p = 0; p < nparts; p++) {
    seg_t *s = &segs[p];
    s->done = 1;
    if (start[p] >= hi[p]) continue;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s/%d", o->dir, topic, p);
    if ((rc = mkdirs(dir, errbuf, errlen))) goto out;
    s->rel = fofal_asprintf("%s/%d/%020lld-%020lld.rec", topic, p, (long long)start[p], (long long)hi[p]);
    s->path = fofal_asprintf("%s/%s", o->dir, s->rel);
    s->tmp = fofal_asprintf("%s.part", s->path);
    s->from = start[p];
    s->hi = hi[p];
    s->done = 0;
    crypto_hash_sha256_init(&s->sha);
    if (!(s->f = fopen(s->tmp, "w")) || seg_write(s, REC_MAGIC, REC_MAGIC_LEN)) {
      rc = fofal_err(errbuf, errlen, FOFAL_EIO, "cannot write %s: %s", s->tmp, strerror(errno));
      goto out;
    }
    parts[left] = p;
    offs[left++] = start[p];
    seen[p] = start[p];
  }
  n = left;
  if (n && (rc = fofal_kafka_assign(k, topic, parts, offs, n, errbuf, errlen))) goto out;
  int64_t idle_since = fofal_mono_us();
  while (left > 0) {
    if (fofal_stopped(o->stop)) {
      rc = fofal_err(errbuf, errlen, FOFAL_EIO, "interrupted: the archive is left as it was");
      goto out;
    }
    fofal_kmsg_t m;
    int got = fofal_kafka_consume(k, 200, &m);
    if (got < 0) {
      rc = fofal_err(errbuf, errlen, FOFAL_EKAFKA, "fatal Kafka consumer error reading %s", topic);
      goto out;
    }
    if (got == 0) {
      /* A partition that ends with a transaction marker: the position passes it. */
      for (int i = 0; i < n; i++) {
        seg_t *s = &segs[parts[i]];
        int64_t pos = fofal_kafka_position(k, topic, parts[i]);
        if (!s->done && pos >= s->hi) {
          pr->done += s->hi - seen[parts[i]];
          seen[parts[i]] = s->hi;
          s->done = 1, left--;
        }
      }
      if (fofal_mono_us() - idle_since > 60 * 1000000LL) {
        rc = fofal_err(errbuf, errlen, FOFAL_ETIMEDOUT, "reading %s: no progress for 60 s; is Kafka up?", topic);
        goto out;
      }
      continue;
    }
    idle_since = fofal_mono_us();
    int p = m.partition;
    seg_t *s = p >= 0 && p < nparts ? &segs[p] : NULL;
    if (s && !s->done && !m.eof && m.offset < s->hi) {
      if (seg_record(s, &m, &b)) {
        rc = fofal_err(errbuf, errlen, FOFAL_EIO, "cannot write %s: %s", s->tmp, strerror(errno));
        fofal_kafka_msg_release(&m);
        goto out;
      }
      pr->records++;
      pr->done += m.offset + 1 - seen[p];
      seen[p] = m.offset + 1;
    }
    if (s && !s->done && (m.eof || m.offset >= s->hi - 1)) {
      pr->done += s->hi - seen[p];
      seen[p] = s->hi;
      s->done = 1, left--;
    }
    fofal_kafka_msg_release(&m);
    progress(pr, 0);
  }
  /* Every segment is complete: sync, rename, list. */
  for (int p = 0; p < nparts; p++) {
    seg_t *s = &segs[p];
    if (!s->f) continue;
    int bad = fflush(s->f) || fsync(fileno(s->f));
    bad |= fclose(s->f);
    s->f = NULL;
    if (bad || rename(s->tmp, s->path)) {
      rc = fofal_err(errbuf, errlen, FOFAL_EIO, "cannot write %s: %s", s->path, strerror(errno));
      goto out;
    }
    unsigned char d[crypto_hash_sha256_BYTES];
    char sum[65];
    crypto_hash_sha256_final(&s->sha, d);
    hex(d, sizeof d, sum);
    json_array_append_new(files, json_pack("{s:s,s:s,s:i,s:I,s:I,s:I,s:I,s:s}", "path", s->rel, "topic", topic,
                                           "partition", p, "from", (json_int_t)s->from, "next", (json_int_t)s->hi,
                                           "records", (json_int_t)s->records, "bytes", (json_int_t)s->bytes,
                                           "sha256", sum));
  }
out:
  {
    char e[256];
    fofal_kafka_assign(k, topic, NULL, NULL, 0, e, sizeof e);
  }
  for (int p = 0; p < nparts; p++) {
    if (segs[p].f) {
      fclose(segs[p].f);
      unlink(segs[p].tmp);
    }
    free(segs[p].tmp);
    free(segs[p].path);
    free(segs[p].rel);
  }
  free(segs);
  free(parts);
  free(offs);
  free(seen);
  free(b.v);
  return rc;
}

static int backup_keys(const fofal_backup_opts_t *o, size_t run, json_t **entry, char *errbuf, size_t errlen);

/* High watermarks (and low ones) of every archived partition. */
static int snapshot(fofal_kafka_t *k, const fofal_topic_spec_t *t, int nt, const int *nparts, int64_t **lo,
                    int64_t **hi, char *errbuf, size_t errlen) {
  for (int i = 0; i < nt; i++)
    for (int p = 0; p < nparts[i]; p++) {
      int rc = fofal_kafka_watermarks(k, t[i].name, p, &lo[i][p], &hi[i][p], WAIT_MS, errbuf, errlen);
      if (rc) return rc;
    }
  return 0;
}

/* ------------------------------------------------------------ stored files */

#define BLOB_MAX ((size_t)1 << 30)

typedef struct {
  fofal_filestore_t *from, *to;
  json_t *have, *list; /* "tenant/sha" already archived; the manifest's "blobs" */
  long long added, bytes;
  int rc;
  char *errbuf;
  size_t errlen;
} blobs_t;

static void on_blob(void *opaque, const char *tenant, const char *sha, size_t len) {
  (void)len;
  blobs_t *b = opaque;
  char key[160], path[200], *buf = NULL;
  size_t n = 0;
  if (b->rc) return;
  snprintf(key, sizeof key, "%s/%s", tenant, sha);
  if (json_object_get(b->have, key)) return; /* incremental: archived by an earlier run */
  int rc = b->from->ops->get(b->from, tenant, sha, BLOB_MAX, &buf, &n, b->errbuf, b->errlen);
  if (rc == FOFAL_ENOENT) return; /* removed meanwhile */
  if (!rc) rc = b->to->ops->put(b->to, tenant, sha, buf, n, NULL, b->errbuf, b->errlen);
  free(buf);
  if (rc) {
    b->rc = rc;
    return;
  }
  json_object_set_new(b->have, key, json_true());
  snprintf(path, sizeof path, "blobs/%s/%.2s/%s", tenant, sha, sha);
  json_array_append_new(b->list, json_pack("{s:s,s:s,s:s,s:I}", "path", path, "tenant", tenant, "sha256", sha, "bytes",
                                           (json_int_t)n));
  b->added++;
  b->bytes += (long long)n;
}

/* Copies the stored files not yet in the archive into blobs/ and lists them in the
 * manifest's "blobs". */
static int backup_blobs(const fofal_backup_opts_t *o, json_t *m, long long *added, long long *bytes, char *errbuf,
                        size_t errlen) {
  if (!o->files_dir || !*o->files_dir) return 0;
  json_t *list = json_object_get(m, "blobs"), *e;
  if (!list) json_object_set_new(m, "blobs", list = json_array());
  blobs_t b = {.have = json_object(), .list = list, .errbuf = errbuf, .errlen = errlen};
  size_t i;
  json_array_foreach(list, i, e) {
    char key[160];
    snprintf(key, sizeof key, "%s/%s", json_string_value(json_object_get(e, "tenant")) ?: "",
             json_string_value(json_object_get(e, "sha256")) ?: "");
    json_object_set_new(b.have, key, json_true());
  }
  char *to = fofal_asprintf("%s/blobs", o->dir);
  int rc = fofal_filestore_disk(o->files_dir, &b.from, errbuf, errlen);
  if (!rc) rc = fofal_filestore_disk(to, &b.to, errbuf, errlen);
  if (!rc) rc = b.from->ops->each(b.from, on_blob, &b, errbuf, errlen);
  if (!rc) rc = b.rc;
  if (rc) {
    char why[512];
    snprintf(why, sizeof why, "%s", errbuf);
    fofal_err(errbuf, errlen, rc, "the stored files (FOFAL_FILES_DIR %s): %s", o->files_dir, why);
  }
  *added = b.added;
  *bytes = b.bytes;
  fofal_filestore_close(b.from);
  fofal_filestore_close(b.to);
  json_decref(b.have);
  free(to);
  return rc;
}

/* Restore: every archived file read and checked against its address and size (put = 0),
 * then (put = 1) copied into the file store where missing. */
static int restore_blobs(const fofal_backup_opts_t *o, json_t *m, int put, long long *count, char *errbuf,
                         size_t errlen) {
  json_t *list = json_object_get(m, "blobs"), *e;
  if (!json_array_size(list) || (put && (!o->files_dir || !*o->files_dir))) return 0;
  fofal_filestore_t *from = NULL, *to = NULL;
  char *dir = fofal_asprintf("%s/blobs", o->dir);
  int rc = fofal_filestore_disk(dir, &from, errbuf, errlen);
  if (!rc && put) rc = fofal_filestore_disk(o->files_dir, &to, errbuf, errlen);
  size_t i;
  json_array_foreach(list, i, e) {
    if (rc) break;
    const char *tenant = json_string_value(json_object_get(e, "tenant")), *sha = json_string_value(json_object_get(e, "sha256"));
    char *buf = NULL;
    size_t n = 0;
    if (!fofal_file_tenant_ok(tenant) || !fofal_file_address_ok(sha) ||
        from->ops->get(from, tenant, sha, BLOB_MAX, &buf, &n, errbuf, errlen) ||
        (json_int_t)n != json_integer_value(json_object_get(e, "bytes"))) {
      rc = fofal_err(errbuf, errlen, FOFAL_EPARSE, "the archive in %s is damaged: stored file %zu (%s) does not match its "
                     "SHA-256 or size", o->dir, i, json_string_value(json_object_get(e, "path")) ?: "?");
    } else if (put && !to->ops->has(to, tenant, sha, NULL)) {
      rc = to->ops->put(to, tenant, sha, buf, n, NULL, errbuf, errlen);
      if (!rc) (*count)++;
    }
    free(buf);
  }
  fofal_filestore_close(from);
  fofal_filestore_close(to);
  free(dir);
  return rc;
}

int fofal_backup_run(const fofal_backup_opts_t *o, json_t **summary, char *errbuf, size_t errlen) {
  fofal_topic_spec_t t[MAX_TOPICS];
  int nt = archived_topics(t, MAX_TOPICS), rc = 0, missing = 0;
  int nparts[MAX_TOPICS] = {0};
  int64_t *lo[MAX_TOPICS] = {0}, *hi[MAX_TOPICS] = {0}, *hi2[MAX_TOPICS] = {0}, *start[MAX_TOPICS] = {0};
  json_t *m = NULL, *gpos = json_object();
  fofal_kafka_t *k = NULL;
  *summary = NULL;
  if (sodium_init() < 0) return fofal_err(errbuf, errlen, FOFAL_EIO, "libsodium does not initialise");
  if ((rc = mkdirs(o->dir, errbuf, errlen))) goto out;
  if (!(m = manifest_load(o->dir, &missing, errbuf, errlen))) {
    if (!missing) {
      rc = FOFAL_EPARSE;
      goto out;
    }
    m = json_pack("{s:s,s:{},s:[],s:[]}", "format", FORMAT, "topics", "files", "runs");
  }
  json_t *mtopics = json_object_get(m, "topics"), *files = json_object_get(m, "files");
  fofal_kafka_opts_t ko = {.brokers = o->brokers, .client_id = "fofal-cli-backup", .read_committed = 1,
                           .partition_eof = 1};
  if ((rc = fofal_kafka_consumer_new(&k, &ko, errbuf, errlen))) goto out;
  for (int i = 0; i < nt; i++) {
    nparts[i] = fofal_kafka_partition_count(k, t[i].name, WAIT_MS, errbuf, errlen);
    if (nparts[i] < 0) {
      rc = nparts[i];
      nparts[i] = 0;
      goto out;
    }
    json_t *mt = json_object_get(mtopics, t[i].name);
    if (mt && json_integer_value(json_object_get(mt, "partitions")) != nparts[i]) {
      rc = fofal_err(errbuf, errlen, FOFAL_ECONFIG, "%s has %d partitions, the archive %lld: back up into a new folder",
                     t[i].name, nparts[i], (long long)json_integer_value(json_object_get(mt, "partitions")));
      goto out;
    }
    lo[i] = fofal_calloc((size_t)nparts[i] + 1, sizeof **lo);
    hi[i] = fofal_calloc((size_t)nparts[i] + 1, sizeof **hi);
    hi2[i] = fofal_calloc((size_t)nparts[i] + 1, sizeof **hi2);
    start[i] = fofal_calloc((size_t)nparts[i] + 1, sizeof **start);
  }
  /* The groups' positions first: they are then never past the records archived. */
  for (int g = 0; groups[g]; g++) {
    fofal_kafka_t *gk = NULL;
    fofal_kafka_opts_t go = {.brokers = o->brokers, .client_id = "fofal-cli-backup", .group_id = groups[g]};
    if ((rc = fofal_kafka_consumer_new(&gk, &go, errbuf, errlen))) goto out;
    for (int i = 0; i < nt && !rc; i++) {
      int32_t ps[1024];
      int64_t offs[1024];
      int n = nparts[i] < 1024 ? nparts[i] : 1024, any = 0;
      for (int p = 0; p < n; p++) ps[p] = p;
      /* A fresh cluster answers "not coordinator" until its offsets topic exists: retried. */
      for (int tries = 0; (rc = fofal_kafka_committed(gk, t[i].name, ps, n, offs, WAIT_MS, errbuf, errlen)) && tries < RETRIES;
           tries++)
        usleep(RETRY_US);
      if (rc) break;
      json_t *arr = json_array();
      for (int p = 0; p < n; p++) {
        json_array_append_new(arr, json_integer(offs[p] >= 0 ? offs[p] : -1));
        any |= offs[p] >= 0;
      }
      if (!any) {
        json_decref(arr);
        continue;
      }
      json_t *tg = json_object_get(gpos, t[i].name);
      if (!tg) json_object_set_new(gpos, t[i].name, tg = json_object());
      json_object_set_new(tg, groups[g], arr);
    }
    fofal_kafka_free(gk);
    if (rc) goto out;
  }
  /* A cut between two transactions: the same watermarks twice in a row. */
  int stable = 0;
  if ((rc = snapshot(k, t, nt, nparts, lo, hi, errbuf, errlen))) goto out;
  for (int tries = 0; tries < 20 && !stable; tries++) {
    if ((rc = snapshot(k, t, nt, nparts, lo, hi2, errbuf, errlen))) goto out;
    stable = 1;
    for (int i = 0; i < nt; i++)
      for (int p = 0; p < nparts[i]; p++) {
        stable &= hi[i][p] == hi2[i][p];
        hi[i][p] = hi2[i][p];
      }
  }
  if (!stable)
    fprintf(stderr, "backup: warning: the log kept moving while the backup took its cut; a decider transaction may "
                    "be only partly in it (README, Backups: back up while the writers are stopped)\n");
  progress_t pr = {.what = "backup", .unit = "offsets", .t0 = fofal_mono_us()};
  for (int i = 0; i < nt; i++) {
    json_t *next = json_object_get(json_object_get(mtopics, t[i].name), "next");
    for (int p = 0; p < nparts[i]; p++) {
      int64_t from = json_integer_value(json_array_get(next, (size_t)p));
      if (from > hi[i][p]) {
        rc = fofal_err(errbuf, errlen, FOFAL_ECONFIG,
                       "the archive has %s[%d] up to offset %lld, Kafka only to %lld: is this the cluster it was made "
                       "from? back up into a new folder",
                       t[i].name, p, (long long)from, (long long)hi[i][p]);
        goto out;
      }
      start[i][p] = from > lo[i][p] ? from : lo[i][p];
      pr.total += hi[i][p] - start[i][p];
    }
  }
  size_t files_before = json_array_size(files);
  for (int i = 0; i < nt; i++) {
    if ((rc = backup_topic(o, k, t[i].name, nparts[i], start[i], hi[i], files, &pr, errbuf, errlen))) goto out;
    json_t *next = json_array(), *mt = json_pack("{s:s,s:i}", "kind", kind_name(t[i].kind), "partitions", nparts[i]);
    for (int p = 0; p < nparts[i]; p++) json_array_append_new(next, json_integer(hi[i][p]));
    json_object_set_new(mt, "next", next);
    json_t *tg = json_object_get(gpos, t[i].name);
    json_object_set_new(mt, "groups", tg ? json_incref(tg) : json_object());
    json_object_set_new(mtopics, t[i].name, mt);
  }
  progress(&pr, 1);
  long long blobs_added = 0, blobs_bytes = 0;
  if ((rc = backup_blobs(o, m, &blobs_added, &blobs_bytes, errbuf, errlen))) goto out;
  json_t *keys = NULL;
  char *old_keys = fofal_strdup(json_string_value(json_object_get(json_object_get(m, "keys"), "path")));
  if ((rc = backup_keys(o, json_array_size(json_object_get(m, "runs")) + 1, &keys, errbuf, errlen))) {
    free(old_keys);
    goto out;
  }
  json_object_set_new(m, "keys", keys);
  char at[32];
  fofal_time_format(fofal_now_us(), at);
  double secs = (double)(fofal_mono_us() - pr.t0) / 1e6;
  json_t *run = json_pack("{s:s,s:I,s:I,s:I,s:b}", "at", at, "records", (json_int_t)pr.records, "files",
                          (json_int_t)(json_array_size(files) - files_before), "stored_files", (json_int_t)blobs_added,
                          "consistent_cut", stable);
  json_array_append_new(json_object_get(m, "runs"), run);
  rc = manifest_save(o->dir, m, errbuf, errlen);
  if (!rc && old_keys && strcmp(old_keys, json_string_value(json_object_get(keys, "path")))) {
    char *old = fofal_asprintf("%s/%s", o->dir, old_keys); /* the manifest names the new one now */
    unlink(old);
    free(old);
  }
  free(old_keys);
  if (rc) goto out;
  *summary = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:b}", "backup", o->dir, "records", (json_int_t)pr.records,
                       "files", (json_int_t)(json_array_size(files) - files_before), "stored_files", (json_int_t)blobs_added,
                       "stored_bytes", (json_int_t)blobs_bytes, "offsets", (json_int_t)pr.total,
                       "person_keys", json_integer_value(json_object_get(keys, "rows")), "seconds", secs,
                       "consistent_cut", stable);
out:
  fofal_kafka_free(k);
  for (int i = 0; i < nt; i++) {
    free(lo[i]);
    free(hi[i]);
    free(hi2[i]);
    free(start[i]);
  }
  json_decref(m);
  json_decref(gpos);
  return rc;
}


/* ------------------------------------------------------------ person keys */

#define KEYS_SQL_TIME(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

static void on_key_row(void *opaque, int ncols, const char *const *v) {
  (void)ncols;
  json_array_append_new(opaque, json_pack("{s:s,s:s,s:s?,s:s?,s:s?}", "tenant", v[0], "person_id", v[1], "wrapped_key",
                                          v[2], "created_at", v[3], "erased_at", v[4]));
}

/* identity_keys.person_keys, whole, into keys/person_keys-<run>.jsonl: *entry (new) the
 * manifest's "keys". */
static int backup_keys(const fofal_backup_opts_t *o, size_t run, json_t **entry, char *errbuf, size_t errlen) {
  fofal_pg_t *pg = NULL;
  json_t *rows = json_array(), *row;
  char *text = fofal_strdup(""), *rel = fofal_asprintf("keys/person_keys-%06zu.jsonl", run), *dir = NULL, sum[65];
  int rc = fofal_pg_connect(&pg, o->pg_dsn, errbuf, errlen);
  if (!rc)
    rc = fofal_pg_query(pg,
                        "SELECT tenant, person_id::text, wrapped_key, " KEYS_SQL_TIME("created_at") ", " KEYS_SQL_TIME(
                            "erased_at") " FROM identity_keys.person_keys ORDER BY tenant, person_id",
                        0, NULL, on_key_row, rows, errbuf, errlen);
  if (rc) goto out;
  size_t i, n = 0;
  json_array_foreach(rows, i, row) {
    char *line = fofal_json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS);
    size_t l = strlen(line);
    text = fofal_realloc(text, n + l + 2);
    memcpy(text + n, line, l);
    text[n + l] = '\n';
    text[n += l + 1] = '\0';
    free(line);
  }
  dir = fofal_asprintf("%s/keys", o->dir);
  if ((rc = mkdirs(dir, errbuf, errlen)) || (rc = write_file(o->dir, rel, text, errbuf, errlen))) goto out;
  unsigned char d[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(d, (const unsigned char *)text, n);
  hex(d, sizeof d, sum);
  *entry = json_pack("{s:s,s:I,s:I,s:s}", "path", rel, "rows", (json_int_t)json_array_size(rows), "bytes", (json_int_t)n,
                     "sha256", sum);
out:
  if (rc == FOFAL_EPG || rc == FOFAL_EUNAVAIL) {
    char why[512];
    snprintf(why, sizeof why, "%s", errbuf);
    fofal_err(errbuf, errlen, rc, "the person keys (identity_keys.person_keys, FOFAL_PG_DSN): %s", why);
  }
  fofal_pg_close(pg);
  json_decref(rows);
  free(text);
  free(rel);
  free(dir);
  return rc;
}

/* The archived person keys (new array, checked against the manifest), an empty array when
 * the archive has none, or NULL (damaged, said in errbuf). */
static json_t *keys_load(const char *dir, json_t *m, char *errbuf, size_t errlen) {
  json_t *e = json_object_get(m, "keys"), *rows = json_array();
  if (!e) return rows;
  const char *rel = json_string_value(json_object_get(e, "path")), *want = json_string_value(json_object_get(e, "sha256"));
  if (!rel || !want || strstr(rel, "..") || rel[0] == '/') {
    fofal_err(errbuf, errlen, FOFAL_EPARSE, "the archive in %s is damaged: \"keys\" in manifest.json", dir);
    json_decref(rows);
    return NULL;
  }
  char *path = fofal_asprintf("%s/%s", dir, rel), sum[65];
  size_t len = 0;
  char *text = read_text(path, &len);
  int ok = text != NULL;
  if (ok) {
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(d, (const unsigned char *)text, len);
    hex(d, sizeof d, sum);
    ok = !strcmp(sum, want) && (json_int_t)len == json_integer_value(json_object_get(e, "bytes"));
  }
  for (char *l = text, *nl; ok && l && *l; l = nl + 1) {
    if (!(nl = strchr(l, '\n'))) {
      ok = 0;
      break;
    }
    json_t *row = json_loadb(l, (size_t)(nl - l), 0, NULL);
    ok = json_is_string(json_object_get(row, "tenant")) && json_is_string(json_object_get(row, "person_id")) &&
         json_is_string(json_object_get(row, "created_at"));
    if (ok) json_array_append(rows, row);
    json_decref(row);
  }
  if (ok && (json_int_t)json_array_size(rows) != json_integer_value(json_object_get(e, "rows"))) ok = 0;
  if (!ok) {
    fofal_err(errbuf, errlen, FOFAL_EPARSE, "the archive in %s is damaged: %s does not match its SHA-256 or row count", dir,
              rel);
    json_decref(rows);
    rows = NULL;
  }
  free(text);
  free(path);
  return rows;
}

/* Each archived key against the stack's: FOFAL_EEXIST when a person has another key (or a
 * tombstone) there. With insert, the missing ones are inserted (one transaction); *added
 * counts them. */
static int keys_restore(fofal_pg_t *pg, json_t *rows, int insert, long long *added, char *errbuf, size_t errlen) {
  size_t i;
  json_t *row;
  int rc = insert ? fofal_pg_exec(pg, "BEGIN", errbuf, errlen) : 0;
  json_array_foreach(rows, i, row) {
    if (rc) break;
    const char *p[] = {json_string_value(json_object_get(row, "tenant")), json_string_value(json_object_get(row, "person_id")),
                       json_string_value(json_object_get(row, "wrapped_key")),
                       json_string_value(json_object_get(row, "created_at")),
                       json_string_value(json_object_get(row, "erased_at"))};
    char *v = NULL;
    if (!insert) {
      rc = fofal_pg_query_value(pg,
                                "SELECT (wrapped_key IS NOT DISTINCT FROM $3 AND (erased_at IS NULL) = ($4::text IS NULL))::text "
                                "FROM identity_keys.person_keys WHERE tenant = $1 AND person_id = $2::uuid",
                                4, (const char *const[]){p[0], p[1], p[2], p[4]}, &v, errbuf, errlen);
      if (!rc && v && strcmp(v, "true"))
        rc = fofal_err(errbuf, errlen, FOFAL_EEXIST,
                       "restore goes into an empty stack: identity_keys.person_keys holds another key for person %s of "
                       "tenant %s; nothing written",
                       p[1], p[0]);
    } else {
      rc = fofal_pg_query_value(pg,
                                "INSERT INTO identity_keys.person_keys (tenant, person_id, wrapped_key, created_at, erased_at) "
                                "VALUES ($1, $2::uuid, $3, $4::timestamptz, $5::timestamptz) ON CONFLICT DO NOTHING RETURNING 1",
                                5, p, &v, errbuf, errlen);
      if (!rc && v) (*added)++;
    }
    free(v);
  }
  if (insert) {
    char e[256];
    if (rc) fofal_pg_exec(pg, "ROLLBACK", e, sizeof e);
    else rc = fofal_pg_exec(pg, "COMMIT", errbuf, errlen);
  }
  return rc;
}

/* ----------------------------------------------------------------- restore */

/* Reads one segment's records, hashing every byte it reads. */
typedef struct {
  FILE *f;
  crypto_hash_sha256_state sha;
  long long bytes;
  buf_t arena;
  size_t *hoff; /* per header: name offset, name length, value offset (SIZE_MAX: none), value length */
  fofal_kheader_raw_t *hdrs;
  size_t hcap;
  int64_t offset;
  fofal_krecord_t rec;
} reader_t;

static int rd(reader_t *r, void *p, size_t n) {
  if (n && fread(p, 1, n, r->f) != n) return -1;
  crypto_hash_sha256_update(&r->sha, p, n);
  r->bytes += (long long)n;
  return 0;
}

static uint64_t be(const unsigned char *x, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = v << 8 | x[i];
  return v;
}

/* A field into the arena: its offset (SIZE_MAX: null) and length. 0 or -1. */
static int rd_field(reader_t *r, size_t *off, size_t *len) {
  unsigned char x[4];
  if (rd(r, x, 4)) return -1;
  uint32_t n = (uint32_t)be(x, 4);
  *len = 0;
  *off = SIZE_MAX;
  if (n == UINT32_MAX) return 0;
  if (n > MAX_FIELD) return -1;
  *off = r->arena.n;
  put(&r->arena, NULL, 0);
  if (r->arena.n + n > r->arena.cap) {
    r->arena.cap = (r->arena.n + n) * 2;
    r->arena.v = fofal_realloc(r->arena.v, r->arena.cap);
  }
  if (rd(r, r->arena.v + r->arena.n, n)) return -1;
  r->arena.n += n;
  *len = n;
  return 0;
}

/* The next record into r->rec and r->offset: 1, 0 at the end of the segment, -1 damaged. */
static int rd_record(reader_t *r) {
  unsigned char x[16];
  size_t got = fread(x, 1, 16, r->f);
  if (got == 0 && feof(r->f)) return 0;
  if (got != 16) return -1;
  crypto_hash_sha256_update(&r->sha, x, 16);
  r->bytes += 16;
  r->offset = (int64_t)be(x, 8);
  int64_t ts = (int64_t)be(x + 8, 8);
  r->arena.n = 0;
  size_t koff, klen, voff, vlen;
  if (rd_field(r, &koff, &klen) || rd_field(r, &voff, &vlen) || rd(r, x, 4)) return -1;
  size_t nh = (size_t)be(x, 4);
  if (nh > MAX_HEADERS) return -1;
  if (nh > r->hcap) {
    r->hcap = nh;
    r->hoff = fofal_realloc(r->hoff, nh * 4 * sizeof *r->hoff);
    r->hdrs = fofal_realloc(r->hdrs, nh * sizeof *r->hdrs);
  }
  for (size_t i = 0; i < nh; i++)
    if (rd_field(r, &r->hoff[4 * i], &r->hoff[4 * i + 1]) || r->hoff[4 * i] == SIZE_MAX ||
        rd_field(r, &r->hoff[4 * i + 2], &r->hoff[4 * i + 3]))
      return -1;
  /* The arena has stopped moving: point into it. */
  const char *base = (const char *)r->arena.v;
  for (size_t i = 0; i < nh; i++)
    r->hdrs[i] = (fofal_kheader_raw_t){.name = base + r->hoff[4 * i], .name_len = r->hoff[4 * i + 1],
                                       .value = r->hoff[4 * i + 2] == SIZE_MAX ? NULL : base + r->hoff[4 * i + 2],
                                       .len = r->hoff[4 * i + 3]};
  r->rec = (fofal_krecord_t){.key = koff == SIZE_MAX ? NULL : base + koff, .key_len = klen,
                             .value = voff == SIZE_MAX ? NULL : base + voff, .len = vlen,
                             .timestamp_ms = ts, .headers = r->hdrs,
                             .n_headers = nh};
  return 1;
}

static void reader_free(reader_t *r) {
  if (r->f) fclose(r->f);
  free(r->arena.v);
  free(r->hoff);
  free(r->hdrs);
  memset(r, 0, sizeof *r);
}

/* A file entry of the manifest, checked for shape: its topic's index in `names`, or -1. */
static int file_entry(json_t *f, const char *const *names, const int *nparts, int nt, int *part) {
  const char *path = json_string_value(json_object_get(f, "path")), *topic = json_string_value(json_object_get(f, "topic"));
  json_t *sum = json_object_get(f, "sha256");
  if (!path || !topic || strstr(path, "..") || path[0] == '/' || !json_is_string(sum) || strlen(json_string_value(sum)) != 64)
    return -1;
  *part = (int)json_integer_value(json_object_get(f, "partition"));
  for (int i = 0; i < nt; i++)
    if (!strcmp(names[i], topic)) return *part >= 0 && *part < nparts[i] ? i : -1;
  return -1;
}

/* Delivery reports of a restore. */
typedef struct {
  long long delivered, failed;
} dr_count_t;

static void on_dr(void *opaque, int err, int32_t partition, int64_t offset) {
  dr_count_t *c = opaque;
  (void)partition;
  (void)offset;
  c->delivered++;
  if (err) c->failed++;
}

typedef struct {
  fofal_kafka_t *k;
  const char *target;
  const int64_t *committed; /* per group g: committed[g * nparts + p], -1 none */
  int64_t *before;          /* per group and partition: records restored below the position */
  int nparts;
  dr_count_t *dr;
} produce_t;

/* Reads one whole segment, checking its records' order, count, size and SHA-256. With
 * out (a restore's second pass), each record also goes to out->target. 0 or FOFAL_EPARSE
 * (or the produce error). */
static int segment(const char *dir, json_t *f, int part, progress_t *pr, produce_t *out, atomic_int *stop,
                   char *errbuf, size_t errlen) {
  const char *rel = json_string_value(json_object_get(f, "path"));
  char *path = fofal_asprintf("%s/%s", dir, rel), magic[REC_MAGIC_LEN], sum[65];
  reader_t r = {0};
  int rc = 0, got;
  long long n = 0, bytes_before = 0;
  int64_t from = json_integer_value(json_object_get(f, "from")), next = json_integer_value(json_object_get(f, "next")),
          last = from - 1;
  crypto_hash_sha256_init(&r.sha);
  if (!(r.f = fopen(path, "r"))) {
    rc = fofal_err(errbuf, errlen, FOFAL_EPARSE, "the archive in %s is damaged: %s: %s", dir, rel, strerror(errno));
    goto out;
  }
  if (rd(&r, magic, REC_MAGIC_LEN) || memcmp(magic, REC_MAGIC, REC_MAGIC_LEN)) {
    rc = fofal_err(errbuf, errlen, FOFAL_EPARSE, "the archive in %s is damaged: %s is not a segment", dir, rel);
    goto out;
  }
  while ((got = rd_record(&r)) == 1) {
    if (r.offset <= last || r.offset >= next) {
      got = -1;
      break;
    }
    last = r.offset;
    n++;
    if (out) {
      for (;;) {
        rc = fofal_kafka_produce_record(out->k, out->target, part, &r.rec, on_dr, out->dr, errbuf, errlen);
        if (rc != FOFAL_EUNAVAIL) break;
        fofal_kafka_poll(out->k, 100);
      }
      if (rc) goto out;
      for (int g = 0; groups[g]; g++) {
        int64_t c = out->committed[g * out->nparts + part];
        if (c >= 0 && r.offset < c) out->before[g * out->nparts + part]++;
      }
      fofal_kafka_poll(out->k, 0);
      if (fofal_stopped(stop)) {
        rc = fofal_err(errbuf, errlen, FOFAL_EIO, "interrupted: the restore is incomplete (start again on an empty stack)");
        goto out;
      }
    }
    pr->records++;
    pr->done += r.bytes - bytes_before;
    bytes_before = r.bytes;
    progress(pr, 0);
  }
  unsigned char d[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&r.sha, d);
  hex(d, sizeof d, sum);
  if (got < 0)
    rc = fofal_err(errbuf, errlen, FOFAL_EPARSE, "the archive in %s is damaged: %s: a malformed record after %lld", dir,
                   rel, n);
  else if (strcmp(sum, json_string_value(json_object_get(f, "sha256"))))
    rc = fofal_err(errbuf, errlen, FOFAL_EPARSE,
                   "the archive in %s is damaged: %s does not match its SHA-256 (manifest %.12s…, file %.12s…)", dir, rel,
                   json_string_value(json_object_get(f, "sha256")), sum);
  else if (n != json_integer_value(json_object_get(f, "records")) || r.bytes != json_integer_value(json_object_get(f, "bytes")))
    rc = fofal_err(errbuf, errlen, FOFAL_EPARSE, "the archive in %s is damaged: %s holds %lld records, the manifest says %lld",
                   dir, rel, n, (long long)json_integer_value(json_object_get(f, "records")));
  pr->done += r.bytes - bytes_before;
out:
  reader_free(&r);
  free(path);
  return rc;
}

int fofal_restore_run(const fofal_backup_opts_t *o, json_t **summary, char *errbuf, size_t errlen) {
  int rc = 0, missing = 0, nt = 0;
  const char *names[MAX_TOPICS];
  int nparts[MAX_TOPICS] = {0};
  char *targets[MAX_TOPICS] = {0};
  int64_t *base[MAX_TOPICS] = {0}, *committed[MAX_TOPICS] = {0}, *before[MAX_TOPICS] = {0};
  fofal_kafka_t *k = NULL;
  fofal_pg_t *pg = NULL;
  json_t *keys = NULL;
  long long keys_added = 0;
  dr_count_t dr = {0};
  const char *prefix = o->topic_prefix ? o->topic_prefix : "";
  *summary = NULL;
  if (sodium_init() < 0) return fofal_err(errbuf, errlen, FOFAL_EIO, "libsodium does not initialise");
  json_t *m = manifest_load(o->dir, &missing, errbuf, errlen);
  if (!m) return missing ? fofal_err(errbuf, errlen, FOFAL_ENOENT, "no archive in %s (no manifest.json)", o->dir) : FOFAL_EPARSE;
  json_t *files = json_object_get(m, "files"), *mt, *f;
  const char *name;
  size_t i;
  long long total_bytes = 0, total_records = 0;
  json_object_foreach(json_object_get(m, "topics"), name, mt) {
    int np = (int)json_integer_value(json_object_get(mt, "partitions"));
    if (nt == MAX_TOPICS || np < 1 || np > 1024 || json_array_size(json_object_get(mt, "next")) != (size_t)np) {
      rc = fofal_err(errbuf, errlen, FOFAL_EPARSE, "the archive in %s is damaged: topic %s in manifest.json", o->dir, name);
      goto out;
    }
    names[nt] = name;
    nparts[nt] = np;
    targets[nt] = fofal_asprintf("%s%s", prefix, name);
    base[nt] = fofal_calloc((size_t)np, sizeof **base);
    committed[nt] = fofal_calloc((size_t)np * NGROUPS, sizeof **committed);
    before[nt] = fofal_calloc((size_t)np * NGROUPS, sizeof **before);
    for (int g = 0; groups[g]; g++) {
      json_t *arr = json_object_get(json_object_get(mt, "groups"), groups[g]);
      for (int p = 0; p < np; p++)
        committed[nt][g * np + p] = json_array_size(arr) == (size_t)np ? json_integer_value(json_array_get(arr, (size_t)p)) : -1;
    }
    nt++;
  }
  json_array_foreach(files, i, f) {
    int part;
    if (file_entry(f, names, nparts, nt, &part) < 0) {
      rc = fofal_err(errbuf, errlen, FOFAL_EPARSE, "the archive in %s is damaged: file %zu of manifest.json", o->dir, i);
      goto out;
    }
    total_bytes += json_integer_value(json_object_get(f, "bytes"));
  }
  /* 1. Every checksum, before anything is written. */
  progress_t pv = {.what = "restore: verify", .unit = "bytes", .t0 = fofal_mono_us(), .total = total_bytes};
  json_array_foreach(files, i, f) {
    int part;
    file_entry(f, names, nparts, nt, &part);
    if ((rc = segment(o->dir, f, part, &pv, NULL, o->stop, errbuf, errlen))) goto out;
  }
  progress(&pv, 1);
  total_records = pv.records;
  if (!(keys = keys_load(o->dir, m, errbuf, errlen))) {
    rc = FOFAL_EPARSE;
    goto out;
  }
  if (!o->keys_only && (rc = restore_blobs(o, m, 0, NULL, errbuf, errlen))) goto out;
  if (o->keys_only) {
    if ((rc = fofal_pg_connect(&pg, o->pg_dsn, errbuf, errlen)) || (rc = keys_restore(pg, keys, 0, NULL, errbuf, errlen)) ||
        (rc = keys_restore(pg, keys, 1, &keys_added, errbuf, errlen)))
      goto out;
    *summary = json_pack("{s:s,s:I}", "restore", o->dir, "person_keys_added", (json_int_t)keys_added);
    goto out;
  }
  /* 2. Empty targets, created where missing. */
  fofal_kafka_opts_t po = {.brokers = o->brokers, .client_id = "fofal-cli-restore", .linger_ms = 5,
                           .message_timeout_ms = 120000};
  if ((rc = fofal_kafka_producer_new(&k, &po, errbuf, errlen))) goto out;
  fofal_topic_spec_t specs[MAX_TOPICS];
  int ncreate = 0;
  for (int t = 0; t < nt; t++) {
    int pc = fofal_kafka_partition_count(k, targets[t], WAIT_MS, errbuf, errlen);
    if (pc == FOFAL_ENOENT) {
      memset(&specs[ncreate], 0, sizeof specs[ncreate]);
      snprintf(specs[ncreate].name, sizeof specs[ncreate].name, "%s", targets[t]);
      specs[ncreate].kind = strcmp(json_string_value(json_object_get(json_object_get(json_object_get(m, "topics"), names[t]), "kind")) ?: "", "compacted")
                                ? FOFAL_TOPIC_EVENTS
                                : FOFAL_TOPIC_COMPACTED;
      specs[ncreate++].partitions = nparts[t];
      continue;
    }
    if (pc < 0) {
      rc = pc;
      goto out;
    }
    if (pc != nparts[t]) {
      rc = fofal_err(errbuf, errlen, FOFAL_ECONFIG, "%s has %d partitions, the archive's %s %d: create it with %d",
                     targets[t], pc, names[t], nparts[t], nparts[t]);
      goto out;
    }
    for (int p = 0; p < pc; p++) {
      int64_t lo, hi;
      if ((rc = fofal_kafka_watermarks(k, targets[t], p, &lo, &hi, WAIT_MS, errbuf, errlen))) goto out;
      if (hi > lo) {
        rc = fofal_err(errbuf, errlen, FOFAL_EEXIST,
                       "restore goes into an empty stack: %s[%d] holds records (offsets %lld to %lld); nothing written",
                       targets[t], p, (long long)lo, (long long)hi);
        goto out;
      }
      base[t][p] = hi;
    }
  }
  if (json_array_size(keys) &&
      ((rc = fofal_pg_connect(&pg, o->pg_dsn, errbuf, errlen)) || (rc = keys_restore(pg, keys, 0, NULL, errbuf, errlen))))
    goto out;
  if (ncreate && (rc = fofal_topics_ensure(k, specs, ncreate, 1, NULL, NULL, errbuf, errlen))) goto out;
  /* 3. The records, one partition's in order (idempotent producer). */
  progress_t pp = {.what = "restore", .unit = "bytes", .t0 = fofal_mono_us(), .total = total_bytes};
  json_array_foreach(files, i, f) {
    int part, t = file_entry(f, names, nparts, nt, &part);
    produce_t out = {.k = k, .target = targets[t], .committed = committed[t], .before = before[t], .nparts = nparts[t],
                     .dr = &dr};
    if ((rc = segment(o->dir, f, part, &pp, &out, o->stop, errbuf, errlen))) goto out;
  }
  for (int64_t deadline = fofal_mono_us() + 120 * 1000000LL; fofal_kafka_outq_len(k) > 0 && fofal_mono_us() < deadline;) {
    fofal_kafka_poll(k, 100);
    progress(&pp, 0);
  }
  if (fofal_kafka_flush(k, 1000) || dr.failed || dr.delivered != total_records) {
    rc = fofal_err(errbuf, errlen, FOFAL_EKAFKA, "%lld of %lld records were not written (see the log); the restore is incomplete",
                   total_records - (dr.delivered - dr.failed), total_records);
    goto out;
  }
  progress(&pp, 1);
  /* 4. The groups' positions, as numbers of restored records. */
  int ngroups = 0;
  for (int g = 0; groups[g]; g++) {
    fofal_kafka_t *gk = NULL;
    fofal_kafka_opts_t go = {.brokers = o->brokers, .client_id = "fofal-cli-restore", .group_id = groups[g]};
    for (int t = 0; t < nt && !rc; t++) {
      int32_t ps[1024];
      int64_t offs[1024];
      int n = 0;
      for (int p = 0; p < nparts[t]; p++)
        if (committed[t][g * nparts[t] + p] >= 0) {
          ps[n] = p;
          offs[n++] = base[t][p] + before[t][g * nparts[t] + p];
        }
      if (!n) continue;
      if (!gk && (rc = fofal_kafka_consumer_new(&gk, &go, errbuf, errlen))) break;
      for (int tries = 0; (rc = fofal_kafka_commit_offsets(gk, targets[t], ps, offs, n, errbuf, errlen)) && tries < RETRIES;
           tries++)
        usleep(RETRY_US); /* "not coordinator" on an empty cluster, as above */
      ngroups++;
    }
    fofal_kafka_free(gk);
    if (rc) goto out;
  }
  /* 5. The person keys that are missing. */
  if (pg && (rc = keys_restore(pg, keys, 1, &keys_added, errbuf, errlen))) goto out;
  /* 6. The stored files that are missing. */
  long long blobs_put = 0;
  if ((rc = restore_blobs(o, m, 1, &blobs_put, errbuf, errlen))) goto out;
  *summary = json_pack("{s:s,s:s,s:I,s:i,s:I,s:I,s:i,s:I,s:f}", "restore", o->dir, "topic_prefix", prefix, "records",
                       (json_int_t)total_records, "topics", nt, "files", (json_int_t)json_array_size(files),
                       "stored_files", (json_int_t)blobs_put,
                       "group_positions", ngroups, "person_keys_added", (json_int_t)keys_added, "seconds",
                       (double)(fofal_mono_us() - pv.t0) / 1e6);
out:
  fofal_kafka_free(k);
  fofal_pg_close(pg);
  json_decref(keys);
  for (int t = 0; t < nt; t++) {
    free(targets[t]);
    free(base[t]);
    free(committed[t]);
    free(before[t]);
  }
  json_decref(m);
  return rc;
}
