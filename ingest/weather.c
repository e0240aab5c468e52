/*
 * weather.c — see weather.h. Pure: no I/O, no clock; the unit tests feed it recorded,
 * truncated, mistyped and huge responses (tests/unit/ingest/test_weather.c).
 */
#include "weather.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (err && errlen) vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return rc;
}

/* "YYYY-MM-DDTHH:MM" (Open-Meteo's iso8601 time) into seconds since the epoch, as UTC. */
static int parse_hour(const char *s, int64_t *out) {
  int y, mo, d, h, mi, n = 0;
  if (strlen(s) != 16 || sscanf(s, "%4d-%2d-%2dT%2d:%2d%n", &y, &mo, &d, &h, &mi, &n) != 5 || n != 16) return -1;
  if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':') return -1;
  if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || h < 0 || mi < 0) return -1;
  struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
  time_t t = timegm(&tm);
  if (t == (time_t)-1) return -1;
  struct tm back;
  gmtime_r(&t, &back);
  if (back.tm_mday != d || back.tm_mon != mo - 1) return -1; /* 31 February */
  *out = (int64_t)t;
  return 0;
}

/* The values array `name` of hourly: n numbers or nulls within [lo, hi]. */
static int values(const json_t *hourly, const json_t *units, const char *name, const char *unit, size_t n, double lo,
                  double hi, json_t **out, char *err, size_t errlen) {
  const json_t *a = json_object_get(hourly, name);
  if (!json_is_array(a)) return fail(err, errlen, FOFAL_EINVAL, "hourly.%s: missing or not an array", name);
  if (json_array_size(a) != n)
    return fail(err, errlen, FOFAL_EINVAL, "hourly.%s: %zu values for %zu times", name, json_array_size(a), n);
  const json_t *u = json_object_get(units, name);
  if (u && (!json_is_string(u) || strcmp(json_string_value(u), unit)))
    return fail(err, errlen, FOFAL_EINVAL, "hourly_units.%s: not %s", name, unit);
  size_t i;
  const json_t *v;
  json_array_foreach(a, i, v) {
    if (json_is_null(v)) continue;
    if (!json_is_number(v)) return fail(err, errlen, FOFAL_EINVAL, "hourly.%s[%zu]: not a number", name, i);
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi)) return fail(err, errlen, FOFAL_EINVAL, "hourly.%s[%zu]: %g out of range", name, i, x);
  }
  *out = (json_t *)a;
  return 0;
}

int fofal_weather_parse_open_meteo(const char *body, size_t len, json_t **hours, char *err, size_t errlen) {
  *hours = NULL;
  if (!body) return fail(err, errlen, FOFAL_EPARSE, "empty response");
  if (len > FOFAL_WEATHER_MAX_BODY) return fail(err, errlen, FOFAL_ETOOBIG, "response of %zu bytes", len);
  json_error_t je;
  json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
  if (!root) return fail(err, errlen, FOFAL_EPARSE, "not JSON (%s at %d)", je.text, je.position);
  int rc = FOFAL_EINVAL;
  json_t *out = NULL;
  if (!json_is_object(root)) {
    fail(err, errlen, rc, "not a JSON object");
    goto done;
  }
  if (json_is_true(json_object_get(root, "error"))) {
    const char *why = json_string_value(json_object_get(root, "reason"));
    fail(err, errlen, rc, "the service refused: %.160s", why ? why : "no reason");
    goto done;
  }
  const json_t *off = json_object_get(root, "utc_offset_seconds");
  if (off && (!json_is_integer(off) || json_integer_value(off) < -18 * 3600 || json_integer_value(off) > 18 * 3600)) {
    fail(err, errlen, rc, "utc_offset_seconds: not an offset");
    goto done;
  }
  int64_t offset = off ? json_integer_value(off) : 0;
  const json_t *hourly = json_object_get(root, "hourly"), *units = json_object_get(root, "hourly_units");
  if (!json_is_object(hourly)) {
    fail(err, errlen, rc, "hourly: missing or not an object");
    goto done;
  }
  if (units && !json_is_object(units)) {
    fail(err, errlen, rc, "hourly_units: not an object");
    goto done;
  }
  const json_t *times = json_object_get(hourly, "time");
  if (!json_is_array(times)) {
    fail(err, errlen, rc, "hourly.time: missing or not an array");
    goto done;
  }
  size_t n = json_array_size(times);
  if (n == 0 || n > FOFAL_WEATHER_MAX_HOURS) {
    fail(err, errlen, rc, "hourly.time: %zu hours (1 to %d)", n, FOFAL_WEATHER_MAX_HOURS);
    goto done;
  }
  json_t *temp = NULL, *rh = NULL;
  if (values(hourly, units, "temperature_2m", "°C", n, -90, 70, &temp, err, errlen) ||
      values(hourly, units, "relative_humidity_2m", "%", n, 0, 100, &rh, err, errlen))
    goto done;
  out = json_array();
  int64_t prev = INT64_MIN;
  for (size_t i = 0; i < n; i++) {
    const char *ts = json_string_value(json_array_get(times, i));
    int64_t t;
    if (!ts || parse_hour(ts, &t)) {
      fail(err, errlen, rc, "hourly.time[%zu]: not YYYY-MM-DDTHH:MM", i);
      goto done;
    }
    t -= offset;
    if (t <= prev) {
      fail(err, errlen, rc, "hourly.time[%zu]: not after the time before it", i);
      goto done;
    }
    prev = t;
    time_t tt = (time_t)t;
    struct tm tm;
    char at[32];
    gmtime_r(&tt, &tm);
    strftime(at, sizeof at, "%Y-%m-%dT%H:%M:00Z", &tm);
    json_array_append_new(out, json_pack("{s:s,s:O,s:O}", "at", at, "temperature_c", json_array_get(temp, i),
                                         "humidity_pct", json_array_get(rh, i)));
  }
  *hours = out;
  out = NULL;
  rc = 0;
done:
  json_decref(out);
  json_decref(root);
  return rc;
}

int fofal_weather_url(const char *base, double latitude, double longitude, int days, char *out, size_t outlen) {
  size_t bl = strlen(base);
  while (bl > 0 && base[bl - 1] == '/') bl--;
  int n = snprintf(out, outlen,
                   "%.*s/v1/forecast?latitude=%.4f&longitude=%.4f&hourly=temperature_2m,relative_humidity_2m"
                   "&timezone=UTC&forecast_days=%d",
                   (int)bl, base, latitude, longitude, days);
  return n < 0 || (size_t)n >= outlen ? FOFAL_EINVAL : 0;
}
