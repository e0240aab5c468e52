/*
 * test_spool.c — ingest/spool.c: fofal-ingest's local spool. Records come back in order
 * after a restart unless the checkpoint covers them; segments go once covered; a torn
 * tail is ignored, not fatal; one process per spool.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest.h"

typedef struct {
  int n;
  uint64_t seqs[64];
  char payloads[64][64];
} got_t;

static void collect(void *arg, uint64_t seq, const char *topic, size_t tlen, const char *payload, size_t plen) {
  got_t *g = arg;
  cr_assert_lt(g->n, 64);
  cr_expect(tlen == 5 && !memcmp(topic, "t/L01", 5), "the topic comes back");
  g->seqs[g->n] = seq;
  snprintf(g->payloads[g->n], sizeof g->payloads[g->n], "%.*s", (int)plen, payload);
  g->n++;
}

static void tmpdir(char *out, size_t len) {
  snprintf(out, len, "/tmp/fofal-spool-test-XXXXXX");
  cr_assert_not_null(mkdtemp(out));
  strncat(out, "/spool", len - strlen(out) - 1); /* the spool creates its own directory */
}

static int files(const char *dir, const char *prefix) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;
  while (d && (e = readdir(d)))
    if (!strncmp(e->d_name, prefix, strlen(prefix))) n++;
  if (d) closedir(d);
  return n;
}

static fofal_spool_t *open_spool(const char *dir, got_t *g, uint64_t *next) {
  fofal_spool_t *s = NULL;
  long long replayed = -1;
  char err[256];
  memset(g, 0, sizeof *g);
  cr_assert_eq(fofal_spool_open(&s, dir, collect, g, &replayed, next, err, sizeof err), 0, "%s", err);
  cr_assert_eq(replayed, g->n);
  return s;
}

Test(spool, what_is_not_checkpointed_comes_back_in_order) {
  char dir[256], p[32];
  got_t g;
  uint64_t next;
  tmpdir(dir, sizeof dir);
  fofal_spool_t *s = open_spool(dir, &g, &next);
  cr_expect_eq(g.n, 0);
  cr_expect_eq(next, 1);
  for (uint64_t i = 1; i <= 10; i++) {
    snprintf(p, sizeof p, "{\"n\":%d}", (int)i);
    cr_assert_eq(fofal_spool_append(s, i, "t/L01", 5, p, strlen(p)), 0);
  }
  cr_assert_eq(fofal_spool_sync(s), 0);
  cr_assert_eq(fofal_spool_done(s, 6), 0);
  /* A second process cannot take it meanwhile. */
  fofal_spool_t *other = NULL;
  long long r;
  uint64_t n2;
  char err[256];
  cr_expect_neq(fofal_spool_open(&other, dir, collect, &g, &r, &n2, err, sizeof err), 0);
  cr_expect(strstr(err, "in use"), "%s", err);
  fofal_spool_close(s); /* as a kill -9 would leave it: no final checkpoint */

  s = open_spool(dir, &g, &next);
  cr_assert_eq(g.n, 4, "7..10 come back (got %d)", g.n);
  for (int i = 0; i < 4; i++) {
    snprintf(p, sizeof p, "{\"n\":%d}", 7 + i);
    cr_expect_eq(g.seqs[i], (uint64_t)(7 + i));
    cr_expect_str_eq(g.payloads[i], p);
  }
  cr_expect_eq(next, 11, "numbering goes on after the highest seq");
  cr_assert_eq(fofal_spool_append(s, 11, "t/L01", 5, "{}", 2), 0);
  /* Everything in Kafka: the older segment goes, the open one stays. */
  cr_assert_eq(fofal_spool_done(s, 11), 0);
  cr_expect_eq(files(dir, "seg-"), 1, "one segment left");
  fofal_spool_close(s);
  s = open_spool(dir, &g, &next);
  cr_expect_eq(g.n, 0, "nothing to replay");
  cr_expect_eq(next, 12);
  fofal_spool_close(s);
}

Test(spool, a_torn_tail_is_ignored_and_the_rest_replays) {
  char dir[256], seg[600];
  got_t g;
  uint64_t next;
  tmpdir(dir, sizeof dir);
  fofal_spool_t *s = open_spool(dir, &g, &next);
  for (uint64_t i = 1; i <= 3; i++) cr_assert_eq(fofal_spool_append(s, i, "t/L01", 5, "{\"ok\":1}", 8), 0);
  fofal_spool_close(s);
  /* A power cut in the middle of the fourth record: a header and half a body. */
  snprintf(seg, sizeof seg, "%s/seg-0000000000000001.log", dir);
  int fd = open(seg, O_WRONLY | O_APPEND);
  cr_assert_geq(fd, 0);
  unsigned char junk[30] = {40, 0, 0, 0, 4};
  cr_assert_eq(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
  close(fd);
  s = open_spool(dir, &g, &next);
  cr_expect_eq(g.n, 3, "the three whole records (got %d)", g.n);
  cr_expect_eq(next, 4);
  /* A damaged byte inside a record stops that segment there. */
  cr_assert_eq(fofal_spool_append(s, 4, "t/L01", 5, "{\"ok\":4}", 8), 0);
  fofal_spool_close(s);
  snprintf(seg, sizeof seg, "%s/seg-0000000000000004.log", dir);
  fd = open(seg, O_RDWR);
  cr_assert_geq(fd, 0);
  cr_assert_eq(pwrite(fd, "X", 1, 22), 1);
  close(fd);
  s = open_spool(dir, &g, &next);
  cr_expect_eq(g.n, 3, "the damaged record is not replayed");
  fofal_spool_close(s);
}

/* Found by tests/fuzz/fuzz_spool.c (corpus/spool/regress-first-record-damaged): when a
 * segment's very first record is damaged, replay reads nothing from it, so the next start's
 * segment had the same name and was appended to, behind the damaged record, where no
 * replay would ever read: what was received after that restart was lost at the next. */
Test(spool, what_comes_after_a_segment_damaged_at_its_first_record_is_not_lost) {
  char dir[256], seg[600];
  got_t g;
  uint64_t next;
  tmpdir(dir, sizeof dir);
  fofal_spool_t *s = open_spool(dir, &g, &next);
  cr_assert_eq(fofal_spool_append(s, 1, "t/L01", 5, "{\"ok\":1}", 8), 0);
  fofal_spool_close(s);
  snprintf(seg, sizeof seg, "%s/seg-0000000000000001.log", dir);
  int fd = open(seg, O_RDWR);
  cr_assert_geq(fd, 0);
  cr_assert_eq(pwrite(fd, "X", 1, 22), 1); /* inside the first record's topic */
  close(fd);

  s = open_spool(dir, &g, &next);
  cr_expect_eq(g.n, 0, "the damaged record is not replayed");
  cr_assert_eq(next, 1);
  cr_assert_eq(fofal_spool_append(s, 1, "t/L01", 5, "{\"ok\":2}", 8), 0);
  fofal_spool_close(s); /* kill -9 */

  s = open_spool(dir, &g, &next);
  cr_expect_eq(g.n, 1, "the record received after the restart comes back (got %d)", g.n);
  cr_expect_str_eq(g.payloads[0], "{\"ok\":2}");
  cr_expect_eq(next, 2);
  fofal_spool_close(s);
  /* The damaged segment is kept aside for inspection, not in the replay. */
  cr_expect_eq(files(dir, "seg-0000000000000001.log.damaged"), 1);
}

Test(spool, refuses_what_it_cannot_hold) {
  char dir[256];
  got_t g;
  uint64_t next;
  tmpdir(dir, sizeof dir);
  fofal_spool_t *s = open_spool(dir, &g, &next);
  char *big = calloc(1, FOFAL_TELEMETRY_BATCH_MAX_BYTES + 1024);
  cr_expect_eq(fofal_spool_append(s, 1, "t/L01", 5, big, FOFAL_TELEMETRY_BATCH_MAX_BYTES + 1024), FOFAL_ETOOBIG);
  free(big);
  fofal_spool_close(s);
  char err[256];
  fofal_spool_t *t = NULL;
  long long r;
  cr_expect_neq(fofal_spool_open(&t, "/proc/no-such-dir/spool", collect, &g, &r, &next, err, sizeof err), 0);
  cr_expect(strstr(err, "cannot create"), "%s", err);
}
