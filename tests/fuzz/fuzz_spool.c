/*
 * fuzz_spool.c — fofal-ingest's spool (ingest/spool.c) replaying damaged segments.
 *
 * Input, first byte: bit 0 set — "raw": the rest of the input is written as the spool's
 * one segment, whatever it holds. Bit 0 clear — "written": bytes 1..5 are a checkpoint
 * (byte 1), a damage (bytes 2–3: offset, byte 4: 0 none, 1 flip a byte with byte 5, 2 cut
 * the file there); the rest is a list of records, each [topic length][payload length, 2
 * bytes][seq step] then its bytes, appended with fofal_spool_append; the segment is then
 * damaged as said, as a crash or a bad disk would.
 *
 * Each input then goes through two restarts: open (replay), append one more record, close
 * (as kill -9 would: no checkpoint), open again.
 *
 * Properties: no crash, leak or undefined behaviour, whatever the segment holds; replayed
 * records are in order and above the checkpoint; a written segment replays as a prefix of
 * what was appended (checkpointed ones left out), at least every record that lies wholly
 * before the damage; the next seq is above every seq replayed and the checkpoint; and the
 * record appended after the first restart always comes back at the second, damage or not
 * (the spool's promise: nothing appended is lost to a crash).
 */
#include "fuzz.h"

#include "ingest.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_RECORDS 512

typedef struct {
  uint64_t seq;
  size_t tlen, plen;
  const uint8_t *topic, *payload; /* into the input */
  size_t end;                     /* the record's end offset in the segment */
} rec_t;

typedef struct {
  int n;
  uint64_t seqs[MAX_RECORDS + 2];
  size_t tlens[MAX_RECORDS + 2], plens[MAX_RECORDS + 2];
  uint8_t *bodies[MAX_RECORDS + 2];
  uint64_t after; /* the checkpoint */
} got_t;

static char base[256];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fofal_log_min = FOFAL_LOG_ERROR; /* replay warns of every damaged segment */
  const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(base, sizeof base, "%s/fofal-fuzz-spool-XXXXXX", tmp);
  if (!mkdtemp(base)) abort();
  return 0;
}

/* Empties the spool directory (the target's own files only). */
static void wipe(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char path[600];
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    unlink(path);
  }
  if (d) closedir(d);
}

static void collect(void *arg, uint64_t seq, const char *topic, size_t tlen, const char *payload, size_t plen) {
  got_t *g = arg;
  FUZZ_CHECK(g->n < MAX_RECORDS + 2, "more records replayed than could be written");
  FUZZ_CHECK(seq > g->after, "a replayed seq %" PRIu64 " is above the checkpoint %" PRIu64, seq, g->after);
  FUZZ_CHECK(payload == topic + tlen && tlen <= 0xffff && tlen + plen <= FOFAL_TELEMETRY_BATCH_MAX_BYTES + 1 + 256,
             "a replayed record's lengths are within the caps");
  g->seqs[g->n] = seq;
  g->tlens[g->n] = tlen;
  g->plens[g->n] = plen;
  g->bodies[g->n] = malloc(tlen + plen + 1);
  if (!g->bodies[g->n]) abort();
  memcpy(g->bodies[g->n], topic, tlen + plen);
  g->n++;
}

static void got_clear(got_t *g) {
  for (int i = 0; i < g->n; i++) free(g->bodies[i]);
  g->n = 0;
}

static fofal_spool_t *open_spool(const char *dir, got_t *g, uint64_t *next) {
  fofal_spool_t *s = NULL;
  long long replayed = -1;
  char err[256] = "";
  int rc = fofal_spool_open(&s, dir, collect, g, &replayed, next, err, sizeof err);
  FUZZ_CHECK(rc == 0, "the spool opens whatever its segments hold: %s", err);
  FUZZ_CHECK(replayed == g->n, "replayed %lld, called back %d", replayed, g->n);
  for (int i = 0; i < g->n; i++) FUZZ_CHECK(*next > g->seqs[i], "next seq above every replayed seq");
  FUZZ_CHECK(*next > g->after, "next seq above the checkpoint");
  return s;
}

static void write_file(const char *path, const void *p, size_t n) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || write(fd, p, n) != (ssize_t)n) abort();
  close(fd);
}

/* Appends the records of the input to a fresh spool; the segment's path into seg. */
static int write_records(const char *dir, const uint8_t *p, size_t n, rec_t *recs, char *seg, size_t seglen) {
  got_t g = {0};
  uint64_t next, seq = 0;
  size_t off = 0;
  int nrec = 0;
  fofal_spool_t *s = open_spool(dir, &g, &next);
  snprintf(seg, seglen, "%s/seg-%016" PRIx64 ".log", dir, next);
  seq = next - 1;
  while (n >= 4 && nrec < MAX_RECORDS) {
    rec_t *r = &recs[nrec];
    r->tlen = p[0];
    r->plen = (size_t)p[1] | (size_t)p[2] << 8;
    seq += p[3] % 4; /* a step of 0 repeats a seq: the spool does not care */
    if (seq == 0) seq = 1;
    r->seq = seq;
    p += 4;
    n -= 4;
    if (r->tlen > n) r->tlen = n;
    r->topic = p;
    p += r->tlen;
    n -= r->tlen;
    if (r->plen > n) r->plen = n;
    r->payload = p;
    p += r->plen;
    n -= r->plen;
    FUZZ_CHECK(fofal_spool_append(s, r->seq, (const char *)r->topic, r->tlen, (const char *)r->payload, r->plen) == 0,
               "append");
    off += 20 + r->tlen + r->plen;
    r->end = off;
    nrec++;
  }
  fofal_spool_close(s);
  return nrec;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char dir[300], seg[400], path[400];
  rec_t *recs = NULL;
  int nrec = -1;
  size_t damage_at = SIZE_MAX;
  got_t g = {0};
  uint64_t next;
  if (size < 6) return 0;
  snprintf(dir, sizeof dir, "%s/spool", base);
  mkdir(dir, 0700);
  wipe(dir);
  g.after = data[1];
  if (data[0] & 1) {
    snprintf(seg, sizeof seg, "%s/seg-%016" PRIx64 ".log", dir, (uint64_t)1);
    write_file(seg, data + 2, size - 2);
  } else {
    recs = calloc(MAX_RECORDS, sizeof *recs);
    if (!recs) abort();
    nrec = write_records(dir, data + 6, size - 6, recs, seg, sizeof seg);
    struct stat st;
    if (stat(seg, &st)) abort();
    size_t at = (size_t)data[2] | (size_t)data[3] << 8;
    if (data[4] % 3 == 1 && st.st_size > 0) {
      damage_at = at % (size_t)st.st_size;
      int fd = open(seg, O_RDWR);
      uint8_t b;
      if (fd < 0 || pread(fd, &b, 1, (off_t)damage_at) != 1) abort();
      b ^= data[5];
      if (pwrite(fd, &b, 1, (off_t)damage_at) != 1) abort();
      close(fd);
      if (data[5] == 0) damage_at = SIZE_MAX;
    } else if (data[4] % 3 == 2) {
      damage_at = at % ((size_t)st.st_size + 1);
      if (truncate(seg, (off_t)damage_at)) abort();
    }
  }
  if (g.after) {
    char ck[32];
    snprintf(path, sizeof path, "%s/checkpoint", dir);
    snprintf(ck, sizeof ck, "%" PRIu64 "\n", g.after);
    write_file(path, ck, strlen(ck));
  }

  /* First restart. */
  fofal_spool_t *s = open_spool(dir, &g, &next);
  if (nrec >= 0) {
    /* What was written comes back as a prefix of the records above the checkpoint. */
    int k = 0, intact = 0;
    for (int i = 0; i < nrec; i++) {
      if (recs[i].seq <= g.after) continue;
      if (recs[i].end <= damage_at) intact++;
      if (k < g.n) {
        FUZZ_CHECK(g.seqs[k] == recs[i].seq && g.tlens[k] == recs[i].tlen && g.plens[k] == recs[i].plen &&
                       !memcmp(g.bodies[k], recs[i].topic, recs[i].tlen) &&
                       !memcmp(g.bodies[k] + recs[i].tlen, recs[i].payload, recs[i].plen),
                   "replayed record %d is appended record %d", k, i);
        k++;
      }
    }
    FUZZ_CHECK(k == g.n, "no record replayed that was not appended (%d of %d)", k, g.n);
    FUZZ_CHECK(g.n >= intact, "every record before the damage comes back (%d of %d)", g.n, intact);
  }
  /* A record received after the restart, then a kill -9. */
  uint64_t seq = next;
  FUZZ_CHECK(fofal_spool_append(s, seq, "fofal/t/looms/L1/telemetry", 26, "{\"after\":\"restart\"}", 19) == 0,
             "append after a restart");
  fofal_spool_close(s);
  got_clear(&g);

  /* Second restart: that record comes back, last. */
  s = open_spool(dir, &g, &next);
  FUZZ_CHECK(g.n >= 1 && g.seqs[g.n - 1] == seq && g.plens[g.n - 1] == 19 &&
                 !memcmp(g.bodies[g.n - 1] + g.tlens[g.n - 1], "{\"after\":\"restart\"}", 19),
             "the record appended after a restart (seq %" PRIu64 ") is replayed at the next (%d replayed)", seq, g.n);
  fofal_spool_close(s);
  got_clear(&g);
  free(recs);
  wipe(dir);
  return 0;
}
