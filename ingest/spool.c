/*
 * spool.c — fofal-ingest's local spool: every MQTT message is appended to a file before
 * it enters the pipeline, so that a crash or a kill -9 of fofal-ingest loses nothing that
 * paho already acknowledged to the broker (paho sends the QoS 1 PUBACK before our
 * callback runs; main.c says more).
 *
 * Layout. A directory of segments "seg-<first seq, 16 hex digits>.log" and a file
 * "checkpoint" holding the highest seq such that every message up to it is in Kafka.
 * A record is a 20-byte header — body length (u32), seq (u64), topic length (u16),
 * 2 bytes zero, checksum (u32, FNV-1a over seq, topic length and body) — then the topic
 * and the payload. Native byte order: a spool stays on its machine. Each start writes a
 * new segment, so a record torn by a power cut is only ever at the end of a segment;
 * replay stops reading a segment at the first record that does not check out. (A segment
 * whose first record is damaged would have the next start's name: it is renamed
 * "<name>.damaged" first, out of the replay.)
 *
 * What it guarantees: a record is in the page cache once fofal_spool_append returns, so
 * it survives the death of the process (kill -9, OOM, a crash). fofal_spool_sync (the
 * main thread, every second) puts it on disk: a power cut loses at most what came since
 * the last sync.
 *
 * Threads: append (paho's thread) and done and sync (the main thread) may run at once; the
 * segment state is guarded by a mutex. Replay runs before either.
 */
#include "ingest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define SEGMENT_BYTES (64u << 20)
#define HEADER_BYTES 20
#define BODY_MAX (FOFAL_TELEMETRY_BATCH_MAX_BYTES + 1 + 256)

struct fofal_spool {
  char dir[512];
  pthread_mutex_t mu; /* @locks fd, size, first */
  int fd, lock_fd;
  uint64_t size, first; /* the open segment's bytes and first seq */
};

static uint32_t checksum(uint64_t seq, uint16_t tlen, const char *a, size_t an, const char *b, size_t bn) {
  uint32_t h = 2166136261u;
  const unsigned char *parts[4] = {(const unsigned char *)&seq, (const unsigned char *)&tlen, (const unsigned char *)a,
                                   (const unsigned char *)b};
  size_t lens[4] = {sizeof seq, sizeof tlen, an, bn};
  for (int i = 0; i < 4; i++)
    for (size_t j = 0; j < lens[i]; j++) h = (h ^ parts[i][j]) * 16777619u;
  return h;
}

/* The segments of dir, sorted by first seq (new array, *n of them). */
static uint64_t *segments(const char *dir, size_t *n) {
  DIR *d = opendir(dir);
  size_t cap = 16;
  uint64_t *out = fofal_calloc(cap, sizeof *out);
  *n = 0;
  if (!d) return out;
  struct dirent *e;
  while ((e = readdir(d))) {
    uint64_t first;
    char tail[8];
    if (strlen(e->d_name) != 24 || sscanf(e->d_name, "seg-%16" SCNx64 "%4s", &first, tail) != 2 || strcmp(tail, ".log"))
      continue;
    if (*n == cap) {
      cap *= 2;
      uint64_t *bigger = fofal_calloc(cap, sizeof *bigger);
      memcpy(bigger, out, *n * sizeof *out);
      free(out);
      out = bigger;
    }
    out[(*n)++] = first;
  }
  closedir(d);
  for (size_t i = 1; i < *n; i++)
    for (size_t j = i; j > 0 && out[j - 1] > out[j]; j--) {
      uint64_t t = out[j];
      out[j] = out[j - 1];
      out[j - 1] = t;
    }
  return out;
}

static void segment_path(const char *dir, uint64_t first, char *out, size_t outlen) {
  snprintf(out, outlen, "%s/seg-%016" PRIx64 ".log", dir, first);
}

/* The highest seq recorded as in Kafka (0 if none). */
static uint64_t checkpoint_of(const char *dir) {
  char path[600], buf[32] = "";
  snprintf(path, sizeof path, "%s/checkpoint", dir);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  if (!fgets(buf, sizeof buf, f)) buf[0] = '\0';
  fclose(f);
  return strtoull(buf, NULL, 10);
}

/* Calls fn for every record of dir with a seq above `after`, in order; *last_seq is the
 * highest seq found (any). Returns how many, or FOFAL_EIO. */
static long long replay(const char *dir, uint64_t after, fofal_spool_fn fn, void *arg, uint64_t *last_seq,
                        char *errbuf, size_t errlen) {
  size_t n;
  uint64_t *segs = segments(dir, &n);
  long long count = 0;
  char *body = fofal_malloc(BODY_MAX);
  *last_seq = 0;
  for (size_t i = 0; i < n; i++) {
    char path[600];
    segment_path(dir, segs[i], path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f) {
      free(body);
      free(segs);
      return fofal_err(errbuf, errlen, FOFAL_EIO, "cannot read %s: %s", path, strerror(errno));
    }
    for (;;) {
      unsigned char h[HEADER_BYTES];
      uint32_t blen, sum;
      uint64_t seq;
      uint16_t tlen;
      if (fread(h, 1, sizeof h, f) != sizeof h) break;
      memcpy(&blen, h, 4);
      memcpy(&seq, h + 4, 8);
      memcpy(&tlen, h + 12, 2);
      memcpy(&sum, h + 16, 4);
      if (blen > BODY_MAX || tlen > blen || fread(body, 1, blen, f) != blen ||
          checksum(seq, tlen, body, tlen, body + tlen, blen - tlen) != sum) {
        LOG_WARN("spool %s: a torn or damaged record at its end, ignored (what follows it in this segment is not read)",
                 path);
        break;
      }
      if (seq > *last_seq) *last_seq = seq;
      if (seq <= after) continue;
      fn(arg, seq, body, tlen, body + tlen, blen - tlen);
      count++;
    }
    fclose(f);
  }
  free(body);
  free(segs);
  return count;
}

/* Opens a new segment starting at seq. @requires s->mu */
static int open_segment(fofal_spool_t *s, uint64_t seq, char *errbuf, size_t errlen) {
  char path[600];
  segment_path(s->dir, seq, path, sizeof path);
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return fofal_err(errbuf, errlen, FOFAL_EIO, "cannot create %s: %s", path, strerror(errno));
  if (s->fd >= 0) {
    fdatasync(s->fd); /* the segment being left is complete: on disk before the next one */
    close(s->fd);
  }
  s->fd = fd;
  s->size = 0;
  s->first = seq;
  return 0;
}

int fofal_spool_open(fofal_spool_t **out, const char *dir, fofal_spool_fn fn, void *arg, long long *replayed,
                     uint64_t *next_seq, char *errbuf, size_t errlen) {
  char path[600];
  int rc;
  *out = NULL;
  if (mkdir(dir, 0700) && errno != EEXIST)
    return fofal_err(errbuf, errlen, FOFAL_EIO, "cannot create the spool %s: %s", dir, strerror(errno));
  fofal_spool_t *s = fofal_calloc(1, sizeof *s);
  snprintf(s->dir, sizeof s->dir, "%s", dir);
  pthread_mutex_init(&s->mu, NULL);
  s->fd = s->lock_fd = -1;
  /* One process per spool: a second one would replay the same records and mix segments. */
  snprintf(path, sizeof path, "%s/lock", dir);
  s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_EX | LOCK_NB)) {
    rc = fofal_err(errbuf, errlen, FOFAL_EIO, "the spool %s is in use by another process (%s)", dir,
                   s->lock_fd < 0 ? strerror(errno) : "locked");
    goto fail;
  }
  uint64_t ckpt = checkpoint_of(dir), last = 0;
  *replayed = replay(dir, ckpt, fn, arg, &last, errbuf, errlen);
  if (*replayed < 0) {
    rc = (int)*replayed;
    goto fail;
  }
  *next_seq = (ckpt > last ? ckpt : last) + 1;
  /* The new segment's name may be taken only by a segment replay could read nothing of at
   * or above its first seq (else next_seq would be higher): one damaged at its first record,
   * or left empty. Appending behind a damaged record would hide everything appended from the
   * next replay, which stops there; so a non-empty one is moved aside, kept for inspection. */
  struct stat st;
  segment_path(dir, *next_seq, path, sizeof path);
  if (!stat(path, &st) && st.st_size > 0) {
    char aside[620];
    snprintf(aside, sizeof aside, "%s.damaged", path);
    if (rename(path, aside)) {
      rc = fofal_err(errbuf, errlen, FOFAL_EIO, "cannot move the damaged segment %s aside: %s", path, strerror(errno));
      goto fail;
    }
    LOG_WARN("spool %s: nothing readable, moved aside to %s", path, aside);
  }
  if ((rc = open_segment(s, *next_seq, errbuf, errlen))) goto fail;
  *out = s;
  return 0;
fail:
  fofal_spool_close(s);
  return rc;
}

int fofal_spool_append(fofal_spool_t *s, uint64_t seq, const char *topic, size_t tlen, const char *payload,
                       size_t plen) {
  if (tlen > 0xffff || tlen + plen > BODY_MAX) return FOFAL_ETOOBIG;
  unsigned char h[HEADER_BYTES] = {0};
  uint32_t blen = (uint32_t)(tlen + plen), sum = checksum(seq, (uint16_t)tlen, topic, tlen, payload, plen);
  uint16_t t16 = (uint16_t)tlen;
  memcpy(h, &blen, 4);
  memcpy(h + 4, &seq, 8);
  memcpy(h + 12, &t16, 2);
  memcpy(h + 16, &sum, 4);
  struct iovec iov[3] = {{h, sizeof h}, {(void *)topic, tlen}, {(void *)payload, plen}};
  size_t total = sizeof h + tlen + plen;
  int rc = 0;
  pthread_mutex_lock(&s->mu);
  if (s->size + total > SEGMENT_BYTES) {
    char err[256];
    if (open_segment(s, seq, err, sizeof err)) LOG_ERROR("spool: %s; appending to the previous segment", err);
  }
  ssize_t w = writev(s->fd, iov, 3);
  if (w == (ssize_t)total) s->size += total;
  else rc = FOFAL_EIO;
  pthread_mutex_unlock(&s->mu);
  return rc;
}

int fofal_spool_sync(fofal_spool_t *s) {
  /* On a copy of the descriptor, so that appends go on meanwhile. */
  pthread_mutex_lock(&s->mu);
  int fd = dup(s->fd);
  pthread_mutex_unlock(&s->mu);
  if (fd < 0) return FOFAL_EIO;
  int rc = fdatasync(fd) ? FOFAL_EIO : 0;
  close(fd);
  return rc;
}

int fofal_spool_done(fofal_spool_t *s, uint64_t seq) {
  char path[600], tmp[620], buf[32];
  snprintf(path, sizeof path, "%s/checkpoint", s->dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return FOFAL_EIO;
  int n = snprintf(buf, sizeof buf, "%" PRIu64 "\n", seq);
  int ok = write(fd, buf, (size_t)n) == n;
  close(fd);
  if (!ok || rename(tmp, path)) return FOFAL_EIO;
  /* A segment goes once the next one starts at or below seq + 1: all of it is in Kafka. */
  size_t nseg;
  uint64_t *segs = segments(s->dir, &nseg);
  pthread_mutex_lock(&s->mu);
  uint64_t open_first = s->first;
  pthread_mutex_unlock(&s->mu);
  for (size_t i = 0; i + 1 < nseg; i++) {
    if (segs[i + 1] > seq + 1 || segs[i] == open_first) break;
    segment_path(s->dir, segs[i], path, sizeof path);
    if (unlink(path) && errno != ENOENT) LOG_WARN("spool: cannot remove %s: %s", path, strerror(errno));
  }
  free(segs);
  return 0;
}

void fofal_spool_close(fofal_spool_t *s) {
  if (!s) return;
  if (s->fd >= 0) close(s->fd);
  if (s->lock_fd >= 0) close(s->lock_fd);
  pthread_mutex_destroy(&s->mu);
  free(s);
}
