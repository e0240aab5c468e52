/*
 * test_ids.c — events/ids.c: UUID v7, name-based UUIDs, UUID validation and RFC 3339
 * time stamps (format, parse, offsets, fractions, calendar checks), and how long a
 * batch-gathering consume may wait (fofal_batch_wait_ms).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events.h"

#define N_IDS 10000

static int is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

static void assert_uuid_shape(const char *u, char version) {
  cr_assert_eq(strlen(u), FOFAL_UUID_LEN, "\"%s\" is not 36 characters", u);
  cr_assert(fofal_uuid_valid(u), "\"%s\" not valid per fofal_uuid_valid", u);
  for (int i = 0; i < FOFAL_UUID_LEN; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23)
      cr_assert_eq(u[i], '-', "\"%s\": no dash at %d", u, i);
    else
      cr_assert(is_lower_hex(u[i]), "\"%s\": '%c' at %d is not lower-case hex", u, u[i], i);
  }
  cr_assert_eq(u[14], version, "\"%s\": version nibble '%c', want '%c'", u, u[14], version);
  cr_assert(strchr("89ab", u[19]) != NULL, "\"%s\": variant nibble '%c' is not 10xx", u, u[19]);
}

/* The 48-bit millisecond time stamp of a v7 id. */
static int64_t uuid7_ms(const char *u) {
  char hex[13];
  memcpy(hex, u, 8);
  memcpy(hex + 8, u + 9, 4);
  hex[12] = '\0';
  return (int64_t)strtoll(hex, NULL, 16);
}

/* ---------------------------------------------------------------- uuid7 */

Test(uuid7, format_version_and_variant) {
  for (int i = 0; i < 200; i++) {
    char u[FOFAL_UUID_LEN + 1];
    fofal_uuid7(u);
    assert_uuid_shape(u, '7');
  }
}

Test(uuid7, carries_the_current_millisecond) {
  int64_t before = fofal_now_us() / 1000;
  char u[FOFAL_UUID_LEN + 1];
  fofal_uuid7(u);
  int64_t after = fofal_now_us() / 1000, ms = uuid7_ms(u);
  cr_assert(ms >= before && ms <= after + 1, "id time %lld outside [%lld, %lld]", (long long)ms, (long long)before,
            (long long)after);
}

Test(uuid7, ten_thousand_strictly_increasing_and_unique) {
  char(*ids)[FOFAL_UUID_LEN + 1] = fofal_malloc(N_IDS * sizeof *ids);
  for (int i = 0; i < N_IDS; i++) fofal_uuid7(ids[i]);
  for (int i = 1; i < N_IDS; i++)
    cr_assert(strcmp(ids[i - 1], ids[i]) < 0, "id %d \"%s\" does not sort after id %d \"%s\"", i, ids[i], i - 1,
              ids[i - 1]);
  /* Strictly increasing implies unique; check uniqueness independently all the same. */
  fofal_map_t *seen = fofal_map_new(NULL);
  for (int i = 0; i < N_IDS; i++) {
    cr_assert_null(fofal_map_get(seen, ids[i]), "duplicate id \"%s\"", ids[i]);
    fofal_map_put(seen, ids[i], ids[i]);
  }
  cr_assert_eq(fofal_map_size(seen), N_IDS);
  for (int i = 0; i < N_IDS; i++) assert_uuid_shape(ids[i], '7');
  fofal_map_free(seen);
  free(ids);
}

/* ----------------------------------------------------------- uuid_named */

Test(uuid_named, deterministic) {
  char a[FOFAL_UUID_LEN + 1], b[FOFAL_UUID_LEN + 1];
  fofal_uuid_named("tenant-a", "cmd-1", a);
  fofal_uuid_named("tenant-a", "cmd-1", b);
  cr_assert_str_eq(a, b);
  assert_uuid_shape(a, '8');
}

Test(uuid_named, differs_for_different_names_and_namespaces) {
  static const char *pairs[][2] = {{"tenant-a", "cmd-1"}, {"tenant-a", "cmd-2"}, {"tenant-b", "cmd-1"},
                                   {"tenant-a", ""},      {"", "tenant-a"},      {"ab", "c"},
                                   {"a", "bc"},           {"tenant-a", "cmd-10"}};
  enum { N = sizeof pairs / sizeof pairs[0] };
  char out[N][FOFAL_UUID_LEN + 1];
  for (int i = 0; i < N; i++) {
    fofal_uuid_named(pairs[i][0], pairs[i][1], out[i]);
    assert_uuid_shape(out[i], '8');
  }
  for (int i = 0; i < N; i++)
    for (int j = i + 1; j < N; j++)
      cr_assert_str_neq(out[i], out[j], "(%s,%s) and (%s,%s) give the same id", pairs[i][0], pairs[i][1], pairs[j][0],
                        pairs[j][1]);
}

Test(uuid_named, many_names_no_collision) {
  fofal_map_t *seen = fofal_map_new(free);
  for (int i = 0; i < 20000; i++) {
    char name[32], u[FOFAL_UUID_LEN + 1];
    snprintf(name, sizeof name, "cmd-%d", i);
    fofal_uuid_named("0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee", name, u);
    cr_assert_null(fofal_map_get(seen, u), "collision at %s", name);
    fofal_map_put(seen, u, fofal_strdup(name));
  }
  fofal_map_free(seen);
}

/* ----------------------------------------------------------- uuid_valid */

Test(uuid_valid, accepts_canonical_text) {
  cr_assert(fofal_uuid_valid("018f3c4e-9a2b-7c3d-8e4f-5a6b7c8d9e0f"));
  cr_assert(fofal_uuid_valid("00000000-0000-0000-0000-000000000000"));
  cr_assert(fofal_uuid_valid("123e4567-e89b-12d3-a456-426614174000"));
}

Test(uuid_valid, rejects_bad_strings) {
  static const char *bad[] = {
      "",
      "018f3c4e9a2b7c3d8e4f5a6b7c8d9e0f",          /* no dashes */
      "018f3c4e-9a2b-7c3d-8e4f-5a6b7c8d9e0",       /* 35 */
      "018f3c4e-9a2b-7c3d-8e4f-5a6b7c8d9e0f0",     /* 37 */
      "018f3c4e-9a2b-7c3d-8e4f-5a6b7c8d9e0g",      /* not hex */
      "018f3c4e9-a2b-7c3d-8e4f-5a6b7c8d9e0f",      /* dash misplaced */
      "018f3c4e-9a2b-7c3d-8e4f_5a6b7c8d9e0f",      /* underscore */
      "{18f3c4e-9a2b-7c3d-8e4f-5a6b7c8d9e0}",      /* braces */
      " 18f3c4e-9a2b-7c3d-8e4f-5a6b7c8d9e0f",      /* space */
      "018f3c4e-9a2b-7c3d-8e4f-5a6b7c8d9e0f\n",    /* newline */
      "------------------------------------",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_assert_not(fofal_uuid_valid(bad[i]), "\"%s\" accepted", bad[i]);
  cr_assert_not(fofal_uuid_valid(NULL));
}

/* ----------------------------------------------------------------- time */

/* 2026-11-24T08:15:02Z */
#define T0 1795508102LL

static int64_t parse_ok(const char *s) {
  int64_t us = -42;
  int rc = fofal_time_parse(s, &us);
  cr_assert_eq(rc, 0, "\"%s\" rejected (%s)", s, fofal_err_name(rc));
  return us;
}

Test(time, format_known_values) {
  char out[32];
  fofal_time_format(0, out);
  cr_assert_str_eq(out, "1970-01-01T00:00:00.000000Z");
  fofal_time_format(T0 * 1000000 + 123456, out);
  cr_assert_str_eq(out, "2026-11-24T08:15:02.123456Z");
  fofal_time_format(T0 * 1000000 + 7, out);
  cr_assert_str_eq(out, "2026-11-24T08:15:02.000007Z");
  fofal_time_format(-1, out);
  cr_assert_str_eq(out, "1969-12-31T23:59:59.999999Z");
  fofal_time_format(951782400LL * 1000000, out); /* leap day 2000 */
  cr_assert_str_eq(out, "2000-02-29T00:00:00.000000Z");
}

Test(time, parse_known_values) {
  cr_assert_eq(parse_ok("1970-01-01T00:00:00Z"), 0);
  cr_assert_eq(parse_ok("2026-11-24T08:15:02Z"), T0 * 1000000);
  cr_assert_eq(parse_ok("2026-11-24T08:15:02.123456Z"), T0 * 1000000 + 123456);
  cr_assert_eq(parse_ok("2026-11-24t08:15:02z"), T0 * 1000000);
  cr_assert_eq(parse_ok("2026-11-24 08:15:02Z"), T0 * 1000000);
  cr_assert_eq(parse_ok("2000-02-29T00:00:00Z"), 951782400LL * 1000000);
  cr_assert_eq(parse_ok("2024-02-29T12:00:00Z"), 1709208000LL * 1000000);
}

Test(time, round_trip) {
  static const int64_t values[] = {0, 1, 999999, T0 * 1000000, T0 * 1000000 + 123456, T0 * 1000000 + 999999,
                                   951782400LL * 1000000 + 500000, 4102444799999999LL, -1, -86400000001LL};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    char s[32];
    fofal_time_format(values[i], s);
    cr_assert_eq(parse_ok(s), values[i], "%lld → \"%s\" → something else", (long long)values[i], s);
  }
  /* And the current time, whatever it is. */
  int64_t now = fofal_now_us();
  char s[32];
  fofal_time_format(now, s);
  cr_assert_eq(parse_ok(s), now);
}

Test(time, offsets_normalise_to_utc) {
  int64_t utc = T0 * 1000000;
  cr_assert_eq(parse_ok("2026-11-24T09:15:02+01:00"), utc);
  cr_assert_eq(parse_ok("2026-11-24T08:15:02+00:00"), utc);
  cr_assert_eq(parse_ok("2026-11-24T08:15:02-00:00"), utc);
  cr_assert_eq(parse_ok("2026-11-24T02:45:02-05:30"), utc);
  cr_assert_eq(parse_ok("2026-11-25T07:15:02+23:00"), utc);
  /* Across a day and a year boundary. */
  cr_assert_eq(parse_ok("2027-01-01T00:30:00+01:00"), parse_ok("2026-12-31T23:30:00Z"));
  cr_assert_eq(parse_ok("2026-11-24T09:15:02.250+01:00"), utc + 250000);
}

Test(time, fractions) {
  int64_t base = T0 * 1000000;
  cr_assert_eq(parse_ok("2026-11-24T08:15:02.5Z"), base + 500000);
  cr_assert_eq(parse_ok("2026-11-24T08:15:02.05Z"), base + 50000);
  cr_assert_eq(parse_ok("2026-11-24T08:15:02.000001Z"), base + 1);
  /* Longer than microseconds: truncated, never rounded into the next second. */
  cr_assert_eq(parse_ok("2026-11-24T08:15:02.1234567Z"), base + 123456);
  cr_assert_eq(parse_ok("2026-11-24T08:15:02.123456789Z"), base + 123456);
  cr_assert_eq(parse_ok("2026-11-24T08:15:02.9999999999Z"), base + 999999);
  cr_assert_eq(parse_ok("2026-11-24T08:15:02.000000999+01:00"), base - 3600LL * 1000000);
}

Test(time, rejects) {
  static const char *bad[] = {
      "2026-02-30T00:00:00Z", /* Feb 30 */
      "2026-02-29T00:00:00Z", /* not a leap year */
      "2100-02-29T00:00:00Z", /* century, not a leap year */
      "2026-04-31T00:00:00Z", /* April has 30 days */
      "2026-13-01T00:00:00Z", /* month 13 */
      "2026-00-01T00:00:00Z", /* month 0 */
      "2026-01-00T00:00:00Z", /* day 0 */
      "2026-01-32T00:00:00Z",
      "2026-11-24T24:00:00Z",
      "2026-11-24T08:60:00Z",
      "2026-11-24T08:15:02",       /* missing zone */
      "2026-11-24T08:15:02.123",   /* missing zone after a fraction */
      "2026-11-24T08:15:02Zjunk",  /* trailing junk */
      "2026-11-24T08:15:02Z ",
      "2026-11-24T08:15:02+01:00x",
      "2026-11-24T08:15:02+0100",  /* offset without colon */
      "2026-11-24T08:15:02+1:00",
      "2026-11-24T08:15:02+24:00",
      "2026-11-24T08:15:02.Z",     /* empty fraction */
      "2026-11-24T8:15:02Z",
      "2026-1-24T08:15:02Z",
      "26-11-24T08:15:02Z",
      "2026-11-24",
      "2026-11-24X08:15:02Z",
      "2026/11/24T08:15:02Z",
      "",
      "now",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t us = -42;
    int rc = fofal_time_parse(bad[i], &us);
    cr_assert_eq(rc, FOFAL_EPARSE, "\"%s\" accepted (as %lld)", bad[i], (long long)us);
  }
  int64_t us;
  cr_assert_eq(fofal_time_parse(NULL, &us), FOFAL_EPARSE);
}

Test(time, clocks_move) {
  int64_t w = fofal_now_us(), m = fofal_mono_us();
  cr_assert_gt(w, T0 * 1000000 - 366LL * 86400 * 1000000 * 10, "wall clock far in the past");
  int64_t m2 = fofal_mono_us();
  cr_assert_geq(m2, m);
}

/* The calendar arithmetic against the C library's gmtime_r, across four centuries either
 * side of the epoch (leap years, 1900 and 2100 not leap, 2000 leap), every few hours. */
Test(time, format_agrees_with_gmtime) {
  uint64_t x = 88172645463325252ULL;
  for (int i = 0; i < 200000; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    /* From 1601 to 2338, to the microsecond. */
    int64_t us = -11644473600LL * 1000000 + (int64_t)(x % (23300000000ULL * 1000000));
    char got[32], want[64];
    fofal_time_format(us, got);
    time_t secs = (time_t)(us / 1000000);
    int64_t frac = us % 1000000;
    if (frac < 0) {
      frac += 1000000;
      secs -= 1;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
    cr_assert_str_eq(got, want, "%lld", (long long)us);
    cr_assert_eq(parse_ok(got), us, "%s", got);
  }
}

/* ------------------------------------------------------- batch gathering */

Test(batch_wait, an_empty_batch_waits_the_idle_time) {
  cr_assert_eq(fofal_batch_wait_ms(0, FOFAL_BATCH_GAP_MS), FOFAL_BATCH_IDLE_MS);
  cr_assert_eq(fofal_batch_wait_ms(0, 0), FOFAL_BATCH_IDLE_MS);
}

Test(batch_wait, a_started_batch_waits_at_most_the_gap) {
  int64_t deadline = fofal_mono_us() + 10 * 1000000LL;
  cr_assert_eq(fofal_batch_wait_ms(deadline, FOFAL_BATCH_GAP_MS), FOFAL_BATCH_GAP_MS);
  cr_assert_eq(fofal_batch_wait_ms(deadline, 250), 250);
}

Test(batch_wait, without_a_gap_it_waits_what_is_left_until_the_deadline) {
  int64_t deadline = fofal_mono_us() + 10 * 1000000LL;
  int w = fofal_batch_wait_ms(deadline, 0);
  cr_assert(w > 9000 && w <= 10000, "%d ms", w);
}

Test(batch_wait, less_left_than_the_gap_is_what_is_left) {
  int64_t deadline = fofal_mono_us() + 50 * 1000;
  int w = fofal_batch_wait_ms(deadline, 1000);
  cr_assert(w > 0 && w <= 50, "%d ms", w);
}

Test(batch_wait, a_passed_deadline_closes_the_batch) {
  int64_t now = fofal_mono_us();
  cr_assert_eq(fofal_batch_wait_ms(now - 1, FOFAL_BATCH_GAP_MS), 0);
  cr_assert_eq(fofal_batch_wait_ms(now - 5 * 1000000LL, 0), 0);
  cr_assert_eq(fofal_batch_wait_ms(now + 500, FOFAL_BATCH_GAP_MS), 0, "under a millisecond left: close");
}
