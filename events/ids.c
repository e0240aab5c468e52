/*
 * ids.c — UUID v7 and RFC 3339 time stamps.
 *
 * UUID v7 (RFC 9562 §5.7): 48 bits of Unix milliseconds, then random bits, so ids sort by
 * creation time. Randomness comes from getrandom(2); within one millisecond a process
 * keeps ids increasing by bumping a 12-bit counter in rand_a (method 1 of §6.2), under
 * a mutex. Time parsing accepts any RFC 3339 offset and normalises to UTC microseconds.
 */
#include "events.h"

#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static pthread_mutex_t uuid_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t uuid_last_ms;
static uint16_t uuid_counter;

static void uuid_text(const uint8_t b[16], char out[FOFAL_UUID_LEN + 1]) {
  static const char hex[] = "0123456789abcdef";
  int o = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = hex[b[i] >> 4];
    out[o++] = hex[b[i] & 15];
  }
  out[o] = '\0';
}

void fofal_uuid_named(const char *ns, const char *name, char out[FOFAL_UUID_LEN + 1]) {
  /* Two differently seeded FNV-1a passes with extra mixing: 128 bits, not cryptographic;
   * names come from our own ids, so collisions need not resist an adversary. */
  uint64_t h[2] = {0xcbf29ce484222325ULL, 0x9e3779b97f4a7c15ULL};
  const char *parts[3] = {ns, "\x1f", name};
  for (int k = 0; k < 2; k++)
    for (int p = 0; p < 3; p++)
      for (const unsigned char *c = (const unsigned char *)parts[p]; *c; c++)
        h[k] = ((h[k] ^ *c) * 0x100000001b3ULL) ^ (h[k] >> (k ? 31 : 27));
  uint8_t b[16];
  for (int i = 0; i < 8; i++) {
    b[i] = (uint8_t)(h[0] >> (i * 8));
    b[8 + i] = (uint8_t)(h[1] >> (i * 8));
  }
  b[6] = (uint8_t)(0x80 | (b[6] & 0x0f));
  b[8] = (uint8_t)(0x80 | (b[8] & 0x3f));
  uuid_text(b, out);
}

void fofal_uuid7(char out[FOFAL_UUID_LEN + 1]) {
  uint8_t b[16];
  if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
    /* getrandom on Linux ≥ 3.17 does not fail for 16 bytes once seeded; fall back anyway. */
    uint64_t x = (uint64_t)fofal_mono_us() * 6364136223846793005ULL + 1442695040888963407ULL;
    for (int i = 0; i < 16; i++) b[i] = (uint8_t)(x >> ((i % 8) * 8)) ^ (uint8_t)i;
  }
  uint64_t ms = (uint64_t)(fofal_now_us() / 1000);
  pthread_mutex_lock(&uuid_mu);
  if (ms <= uuid_last_ms) {
    ms = uuid_last_ms;
    uuid_counter = (uint16_t)((uuid_counter + 1) & 0x0fff);
    if (uuid_counter == 0) uuid_last_ms = ++ms;
  } else {
    uuid_last_ms = ms;
    uuid_counter = (uint16_t)(((b[6] << 8) | b[7]) & 0x07ff); /* leave room to count up */
  }
  uint16_t ctr = uuid_counter;
  pthread_mutex_unlock(&uuid_mu);
  for (int i = 0; i < 6; i++) b[i] = (uint8_t)(ms >> (40 - 8 * i));
  b[6] = (uint8_t)(0x70 | ((ctr >> 8) & 0x0f));
  b[7] = (uint8_t)(ctr & 0xff);
  b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
  uuid_text(b, out);
}

int fofal_uuid_valid(const char *s) {
  if (!s || strlen(s) != FOFAL_UUID_LEN) return 0;
  for (int i = 0; i < FOFAL_UUID_LEN; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return 0;
    } else if (!isxdigit((unsigned char)s[i])) {
      return 0;
    }
  }
  return 1;
}

int64_t fofal_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t fofal_mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int fofal_batch_wait_ms(int64_t deadline_us, int gap_ms) {
  if (!deadline_us) return FOFAL_BATCH_IDLE_MS;
  int64_t left = (deadline_us - fofal_mono_us()) / 1000;
  if (left <= 0) return 0;
  if (gap_ms > 0 && left > gap_ms) return gap_ms;
  return left > INT_MAX ? INT_MAX : (int)left;
}

/* Days since 1970-01-01 of a proleptic Gregorian date, and back: the usual 400-year era
 * arithmetic. Used instead of timegm/gmtime_r, which take the C library's time-zone lock
 * on every call (fofal-ingest formats and parses a time per telemetry sample). */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

static char *put_digits(char *p, int64_t v, int n) {
  for (int i = n - 1; i >= 0; i--) {
    p[i] = (char)('0' + v % 10);
    v /= 10;
  }
  return p + n;
}

void fofal_time_format(int64_t us, char out[32]) {
  int64_t secs = us / 1000000, frac = us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    secs -= 1;
  }
  int64_t days = secs / 86400, sod = secs % 86400, y;
  if (sod < 0) {
    sod += 86400;
    days -= 1;
  }
  int m, d;
  civil_from_days(days, &y, &m, &d);
  if (y < 0 || y > 9999) {
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", (int)(y % 10000), m, d, (int)(sod / 3600),
             (int)(sod / 60 % 60), (int)(sod % 60), (int)frac);
    memcpy(out, tmp, 31);
    out[31] = '\0';
    return;
  }
  char *p = put_digits(out, y, 4);
  *p++ = '-';
  p = put_digits(p, m, 2);
  *p++ = '-';
  p = put_digits(p, d, 2);
  *p++ = 'T';
  p = put_digits(p, sod / 3600, 2);
  *p++ = ':';
  p = put_digits(p, sod / 60 % 60, 2);
  *p++ = ':';
  p = put_digits(p, sod % 60, 2);
  *p++ = '.';
  p = put_digits(p, frac, 6);
  *p++ = 'Z';
  *p = '\0';
}

static int digits(const char **p, int n, int *v) {
  *v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)**p)) return -1;
    *v = *v * 10 + (**p - '0');
    (*p)++;
  }
  return 0;
}

int fofal_time_parse(const char *s, int64_t *us) {
  const char *p = s;
  int Y, M, D, h, m, sec;
  if (!s || digits(&p, 4, &Y) || *p++ != '-' || digits(&p, 2, &M) || *p++ != '-' ||
      digits(&p, 2, &D) || (*p != 'T' && *p != 't' && *p != ' '))
    return FOFAL_EPARSE;
  p++;
  if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &m) || *p++ != ':' || digits(&p, 2, &sec))
    return FOFAL_EPARSE;
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || m > 59 || sec > 60)
    return FOFAL_EPARSE;
  int leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
  if (M == 2 && D == 29 && !leap) return FOFAL_EPARSE;
  int64_t frac = 0;
  if (*p == '.') {
    p++;
    int n = 0;
    if (!isdigit((unsigned char)*p)) return FOFAL_EPARSE;
    while (isdigit((unsigned char)*p)) {
      if (n < 6) {
        frac = frac * 10 + (*p - '0');
        n++;
      }
      p++;
    }
    while (n++ < 6) frac *= 10;
  }
  int off = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int sign = *p++ == '-' ? -1 : 1, oh, om;
    if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
      return FOFAL_EPARSE;
    off = sign * (oh * 60 + om);
  } else {
    return FOFAL_EPARSE;
  }
  if (*p) return FOFAL_EPARSE;
  /* A leap second (:60) counts as :59, as timegm would have it. */
  int64_t t = days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + (sec > 59 ? 59 : sec);
  *us = (t - (int64_t)off * 60) * 1000000 + frac;
  return 0;
}
