/*
 * test_open_meteo.c — ingest/weather.c: fofal-weather's reading of Open-Meteo's forecast
 * response (the recorded ops/weather/ksar_hellal.json, then truncated, mistyped, huge and
 * otherwise wrong ones: each refused with its reason, never a crash) and the request URL.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weather.h"

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "%s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  b[n] = '\0';
  *len = (size_t)n;
  return b;
}

static int parse(const char *text, json_t **hours, char *err) {
  return fofal_weather_parse_open_meteo(text, strlen(text), hours, err, 256);
}

Test(open_meteo, the_recorded_response_gives_48_hours_in_utc) {
  size_t len;
  char *b = slurp(FOFAL_SOURCE_DIR "/ops/weather/ksar_hellal.json", &len), err[256] = "";
  json_t *hours = NULL;
  cr_assert_eq(fofal_weather_parse_open_meteo(b, len, &hours, err, sizeof err), 0, "%s", err);
  cr_assert_eq(json_array_size(hours), 48);
  json_t *h0 = json_array_get(hours, 0), *h47 = json_array_get(hours, 47);
  cr_expect_str_eq(json_string_value(json_object_get(h0, "at")), "2026-12-07T00:00:00Z");
  cr_expect_str_eq(json_string_value(json_object_get(h47, "at")), "2026-12-08T23:00:00Z");
  cr_expect(json_is_number(json_object_get(h0, "temperature_c")));
  double rh = json_number_value(json_object_get(h0, "humidity_pct"));
  cr_expect(rh >= 0 && rh <= 100);
  json_decref(hours);
  free(b);
}

static const char good[] =
    "{\"utc_offset_seconds\":%d,\"hourly_units\":{\"time\":\"iso8601\",\"temperature_2m\":\"%s\","
    "\"relative_humidity_2m\":\"%%\"},\"hourly\":{\"time\":[\"2026-12-07T00:00\",\"%s\"],"
    "\"temperature_2m\":[11.5,%s],\"relative_humidity_2m\":[80,%s]}}";

static int parse_fmt(int offset, const char *unit, const char *t1, const char *temp1, const char *rh1, json_t **hours,
                     char *err) {
  char b[1024];
  snprintf(b, sizeof b, good, offset, unit, t1, temp1, rh1);
  return parse(b, hours, err);
}

Test(open_meteo, nulls_are_kept_and_local_times_moved_to_utc) {
  json_t *hours = NULL;
  char err[256] = "";
  cr_assert_eq(parse_fmt(3600, "°C", "2026-12-07T01:00", "null", "null", &hours, err), 0, "%s", err);
  cr_expect_str_eq(json_string_value(json_object_get(json_array_get(hours, 0), "at")), "2026-12-06T23:00:00Z");
  cr_expect(json_is_null(json_object_get(json_array_get(hours, 1), "temperature_c")));
  json_decref(hours);
}

Test(open_meteo, truncated_or_not_json_is_a_parse_error) {
  size_t len;
  char *b = slurp(FOFAL_SOURCE_DIR "/ops/weather/ksar_hellal.json", &len), err[256] = "";
  json_t *hours = NULL;
  for (size_t cut = 0; cut < len - 2; cut += 97) {
    cr_expect_eq(fofal_weather_parse_open_meteo(b, cut, &hours, err, sizeof err), FOFAL_EPARSE, "cut at %zu", cut);
    cr_expect_null(hours);
  }
  cr_expect_eq(parse("<html>502 Bad Gateway</html>", &hours, err), FOFAL_EPARSE);
  cr_expect_eq(fofal_weather_parse_open_meteo(NULL, 0, &hours, err, sizeof err), FOFAL_EPARSE);
  free(b);
}

Test(open_meteo, wrong_types_and_shapes_are_refused_with_a_reason) {
  json_t *hours = NULL;
  char err[256] = "";
  static const struct {
    const char *body, *why;
  } bad[] = {
      {"[]", "not a JSON object"},
      {"{}", "hourly: missing"},
      {"{\"hourly\":[]}", "hourly: missing or not an object"},
      {"{\"hourly\":{\"time\":\"2026-12-07T00:00\"}}", "hourly.time"},
      {"{\"hourly\":{\"time\":[\"2026-12-07T00:00\"],\"temperature_2m\":[\"11.5\"],\"relative_humidity_2m\":[80]}}",
       "temperature_2m[0]: not a number"},
      {"{\"hourly\":{\"time\":[\"2026-12-07T00:00\"],\"temperature_2m\":[11.5],\"relative_humidity_2m\":[true]}}",
       "relative_humidity_2m[0]: not a number"},
      {"{\"hourly\":{\"time\":[\"2026-12-07T00:00\",\"2026-12-07T01:00\"],\"temperature_2m\":[11.5],"
       "\"relative_humidity_2m\":[80,81]}}",
       "1 values for 2 times"},
      {"{\"hourly\":{\"time\":[1765065600],\"temperature_2m\":[11.5],\"relative_humidity_2m\":[80]}}", "time[0]"},
      {"{\"hourly\":{\"time\":[],\"temperature_2m\":[],\"relative_humidity_2m\":[]}}", "0 hours"},
      {"{\"hourly\":{\"time\":[\"2026-02-31T00:00\"],\"temperature_2m\":[1],\"relative_humidity_2m\":[1]}}", "time[0]"},
      {"{\"utc_offset_seconds\":\"0\",\"hourly\":{}}", "utc_offset_seconds"},
      {"{\"error\":true,\"reason\":\"Latitude must be in range of -90 to 90\"}", "the service refused: Latitude"},
      {"{\"hourly_units\":{\"temperature_2m\":\"°C\",\"relative_humidity_2m\":\"%\"},\"hourly\":{\"time\":"
       "[\"2026-12-07T00:00\",\"2026-12-07T00:00\"],\"temperature_2m\":[1,2],\"relative_humidity_2m\":[1,2]}}",
       "time[1]: not after"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = '\0';
    cr_expect_eq(parse(bad[i].body, &hours, err), FOFAL_EINVAL, "case %zu", i);
    cr_expect(strstr(err, bad[i].why) != NULL, "case %zu: '%s' does not say '%s'", i, err, bad[i].why);
    cr_expect_null(hours);
  }
}

Test(open_meteo, values_and_units_out_of_bounds_are_refused) {
  json_t *hours = NULL;
  char err[256] = "";
  cr_expect_eq(parse_fmt(0, "°F", "2026-12-07T01:00", "12", "80", &hours, err), FOFAL_EINVAL);
  cr_expect(strstr(err, "hourly_units.temperature_2m") != NULL, "%s", err);
  cr_expect_eq(parse_fmt(0, "°C", "2026-12-07T01:00", "71", "80", &hours, err), FOFAL_EINVAL);
  cr_expect_eq(parse_fmt(0, "°C", "2026-12-07T01:00", "12", "100.5", &hours, err), FOFAL_EINVAL);
  cr_expect_eq(parse_fmt(0, "°C", "2026-12-07T01:00", "12", "-1", &hours, err), FOFAL_EINVAL);
  cr_expect_eq(parse_fmt(0, "°C", "2026-12-07T00:59", "12", "80", &hours, err), 0, "%s", err);
  json_decref(hours);
  hours = NULL;
  cr_expect_eq(parse_fmt(0, "°C", "2026-12-07 01:00", "12", "80", &hours, err), FOFAL_EINVAL);
  cr_expect_null(hours);
}

Test(open_meteo, huge_responses_are_refused) {
  json_t *hours = NULL;
  char err[256] = "";
  /* More than the body cap: refused before parsing. */
  size_t n = FOFAL_WEATHER_MAX_BODY + 1;
  char *big = malloc(n + 1);
  memset(big, ' ', n);
  big[n] = '\0';
  cr_expect_eq(fofal_weather_parse_open_meteo(big, n, &hours, err, sizeof err), FOFAL_ETOOBIG);
  free(big);
  /* Within the cap but more hours than any forecast has: refused. */
  size_t k = FOFAL_WEATHER_MAX_HOURS + 1, cap = k * 40 + 200, at = 0;
  char *b = malloc(cap);
  at += (size_t)snprintf(b + at, cap - at, "{\"hourly\":{\"time\":[");
  for (size_t i = 0; i < k; i++)
    at += (size_t)snprintf(b + at, cap - at, "%s\"2026-%02zu-%02zuT%02zu:00\"", i ? "," : "", 1 + i / 24 / 28,
                           1 + i / 24 % 28, i % 24);
  at += (size_t)snprintf(b + at, cap - at, "],\"temperature_2m\":[],\"relative_humidity_2m\":[]}}");
  cr_expect_eq(fofal_weather_parse_open_meteo(b, at, &hours, err, sizeof err), FOFAL_EINVAL);
  cr_expect(strstr(err, "385 hours") != NULL, "%s", err);
  free(b);
}

Test(open_meteo, the_request_url_is_open_meteos) {
  char url[512];
  cr_assert_eq(fofal_weather_url("https://api.open-meteo.com/", 35.6431, 10.8908, 2, url, sizeof url), 0);
  cr_expect_str_eq(url, "https://api.open-meteo.com/v1/forecast?latitude=35.6431&longitude=10.8908&hourly="
                        "temperature_2m,relative_humidity_2m&timezone=UTC&forecast_days=2");
  char tiny[32];
  cr_expect_eq(fofal_weather_url("http://x", 0, 0, 2, tiny, sizeof tiny), FOFAL_EINVAL);
}
