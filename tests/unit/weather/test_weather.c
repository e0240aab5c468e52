/*
 * test_weather.c — commands/weather/weather.c through the registry: a site's coordinates
 * set and changed (the same again is no_change, the schema bounds them), and the rules of a
 * recorded forecast (fofal-weather only, the site's current coordinates, newer than the
 * last, hours in time order). Every emitted event is checked against its schema.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "jsonschema.h"

#define TENANT "tenant-a"

static fofal_registry_t *reg;

static void setup(void) {
  char err[512] = "";
  cr_assert_eq(fofal_registry_load(&reg, FOFAL_SOURCE_DIR "/schemas", err, sizeof err), 0, "registry: %s", err);
}

static void teardown(void) {
  fofal_registry_free(reg);
  reg = NULL;
}

TestSuite(weather, .init = setup, .fini = teardown);

static void check_event(const json_t *ev) {
  const char *type = json_string_value(json_object_get(ev, "type"));
  const char prefix[] = "fofal.weather.";
  cr_assert(type && !strncmp(type, prefix, sizeof prefix - 1), "event type %s", type ? type : "(null)");
  char path[512], err[256];
  snprintf(path, sizeof path, "%s/schemas/weather/events/%s.json", FOFAL_SOURCE_DIR, type + sizeof prefix - 1);
  json_t *sj = json_load_file(path, 0, NULL);
  cr_assert_not_null(sj, "%s has no schema (%s)", type, path);
  fofal_schema_t *s = NULL;
  cr_assert_eq(fofal_schema_compile(&s, sj, path, err, sizeof err), 0, "%s: %s", path, err);
  json_t *errors = NULL;
  cr_expect_eq(fofal_schema_validate(s, json_object_get(ev, "data"), &errors), 0, "%s does not match its schema", type);
  json_decref(errors);
  fofal_schema_free(s);
  json_decref(sj);
}

/* 1 when data (JSON text) matches the command's schema. */
static int valid(const char *type, const char *data) {
  json_t *j = json_loads(data, 0, NULL), *errors = NULL;
  cr_assert_not_null(j, "test bug: %s", data);
  int rc = fofal_registry_validate(reg, type, j, &errors);
  json_decref(errors);
  json_decref(j);
  return rc == 0;
}

/* Decides `type` with `data` against `state` (NULL: none) as `actor`; *d is the caller's. */
static int decide_as(const char *actor, const char *type, const char *data, const json_t *state, fofal_decision_t *d) {
  const fofal_command_def_t *def = fofal_registry_find(reg, type);
  cr_assert_not_null(def, "%s not in the registry", type);
  cr_assert(valid(type, data), "test bug: %s does not match its schema", data);
  json_t *j = json_loads(data, 0, NULL);
  char agg[FOFAL_UUID_LEN + 1];
  cr_assert_eq(fofal_command_aggregate_id(def, TENANT, "cmd-1", j, agg), 0);
  fofal_cmd_t cmd = {.id = "cmd-1", .type = type, .tenant = TENANT, .actor = actor, .aggregate = agg,
                     .expected_version = -1, .issued_us = 1, .data = j};
  memset(d, 0, sizeof *d);
  int rc = def->decide(&cmd, state, d);
  size_t i;
  json_t *ev;
  json_array_foreach(d->events, i, ev) check_event(ev);
  json_decref(j);
  return rc;
}

static int decide(const char *type, const char *data, const json_t *state, fofal_decision_t *d) {
  return decide_as(!strcmp(type, "weather.forecast.record") ? "s:fofal-weather" : "u:boss/manager", type, data, state,
                   d);
}

static void release(fofal_decision_t *d) {
  json_decref(d->events);
  json_decref(d->state);
  json_decref(d->others);
}

static const char *ev_type(const fofal_decision_t *d, size_t i) {
  return json_string_value(json_object_get(json_array_get(d->events, i), "type"));
}

#define SITE "{\"site\":\"KH1\",\"name\":\"Ksar Hellal\",\"latitude\":35.6431,\"longitude\":10.8908,\"timezone\":\"Africa/Tunis\"}"

/* The state after setting SITE (new). */
static json_t *site_state(void) {
  fofal_decision_t d;
  cr_assert_eq(decide("weather.site.set", SITE, NULL, &d), 0);
  json_t *s = json_incref(d.state);
  release(&d);
  return s;
}

static void forecast(char *out, size_t cap, const char *fetched_at, double lat, const char *h0, const char *h1) {
  snprintf(out, cap,
           "{\"site\":\"KH1\",\"latitude\":%.4f,\"longitude\":10.8908,\"source\":\"open-meteo\",\"fetched_at\":\"%s\","
           "\"hours\":[{\"at\":\"%s\",\"temperature_c\":12.5,\"humidity_pct\":81},{\"at\":\"%s\",\"temperature_c\":null,"
           "\"humidity_pct\":null}]}",
           lat, fetched_at, h0, h1);
}

Test(weather, a_site_is_set_then_changed_and_the_same_again_is_no_change) {
  fofal_decision_t d;
  cr_assert_eq(decide("weather.site.set", SITE, NULL, &d), 0);
  cr_expect_str_eq(ev_type(&d, 0), "fofal.weather.site_set.v1");
  json_t *s = json_incref(d.state);
  release(&d);
  cr_expect_eq(decide("weather.site.set", SITE, s, &d), FOFAL_EREJECTED);
  cr_expect_str_eq(d.code, "no_change");
  release(&d);
  /* Without the optional name and time zone: the zone becomes UTC (a change), the name stays. */
  cr_assert_eq(decide("weather.site.set", "{\"site\":\"KH1\",\"latitude\":35.6431,\"longitude\":10.8908}", s, &d), 0);
  json_t *data = json_object_get(json_array_get(d.events, 0), "data");
  cr_expect_str_eq(json_string_value(json_object_get(data, "timezone")), "UTC");
  cr_expect_str_eq(json_string_value(json_object_get(data, "name")), "Ksar Hellal");
  release(&d);
  cr_assert_eq(decide("weather.site.set", "{\"site\":\"KH1\",\"latitude\":35.7,\"longitude\":10.8908,\"timezone\":"
                      "\"Africa/Tunis\"}", s, &d), 0);
  release(&d);
  json_decref(s);
}

Test(weather, coordinates_and_zone_are_bounded_by_the_schema) {
  cr_expect(!valid("weather.site.set", "{\"site\":\"KH1\",\"latitude\":90.5,\"longitude\":10}"));
  cr_expect(!valid("weather.site.set", "{\"site\":\"KH1\",\"latitude\":35,\"longitude\":-180.1}"));
  cr_expect(!valid("weather.site.set", "{\"site\":\"KH1\",\"latitude\":\"35\",\"longitude\":10}"));
  cr_expect(!valid("weather.site.set", "{\"site\":\"KH1\",\"latitude\":35}"));
  cr_expect(!valid("weather.site.set", "{\"site\":\"KH1\",\"latitude\":35,\"longitude\":10,\"timezone\":\"../../etc\"}"));
  cr_expect(!valid("weather.site.set", "{\"site\":\"KH1\",\"latitude\":35,\"longitude\":10,\"extra\":1}"));
  cr_expect(valid("weather.site.set", "{\"site\":\"KH1\",\"latitude\":-90,\"longitude\":180,\"timezone\":\"UTC\"}"));
  cr_expect(valid("weather.site.set", "{\"site\":\"KH1\",\"latitude\":35,\"longitude\":10,\"timezone\":"
                                      "\"America/Argentina/Buenos_Aires\"}"));
}

Test(weather, only_managers_and_admins_set_a_site_and_only_fofal_weather_records) {
  json_t *roles = json_object_get(fofal_registry_schema(reg, "weather.site.set"), "x-fofal-roles");
  cr_expect_eq(json_array_size(roles), 2);
  cr_expect_str_eq(json_string_value(json_array_get(roles, 0)), "manager");
  cr_expect_str_eq(json_string_value(json_array_get(roles, 1)), "admin");
  cr_expect_str_eq(json_string_value(json_object_get(fofal_registry_schema(reg, "weather.forecast.record"),
                                                     "x-fofal-via")), "fofal-weather");
  json_t *s = site_state();
  char b[1024];
  fofal_decision_t d;
  forecast(b, sizeof b, "2026-12-07T10:00:01.000000Z", 35.6431, "2026-12-07T00:00:00Z", "2026-12-07T01:00:00Z");
  cr_expect_eq(decide_as("u:boss/admin", "weather.forecast.record", b, s, &d), FOFAL_EREJECTED);
  cr_expect_str_eq(d.code, "service_only");
  release(&d);
  json_decref(s);
}

Test(weather, a_forecast_is_recorded_for_the_sites_coordinates_newer_than_the_last) {
  json_t *s = site_state();
  char b[1024];
  fofal_decision_t d;
  forecast(b, sizeof b, "2026-12-07T10:00:01.000000Z", 35.6431, "2026-12-07T00:00:00Z", "2026-12-07T01:00:00Z");
  cr_assert_eq(decide("weather.forecast.record", b, s, &d), 0, "%s", d.detail);
  cr_expect_str_eq(ev_type(&d, 0), "fofal.weather.forecast_received.v1");
  json_t *s2 = json_incref(d.state);
  cr_expect_str_eq(json_string_value(json_object_get(s2, "last_fetched_at")), "2026-12-07T10:00:01.000000Z");
  release(&d);
  /* The same fetch again, or an older one: stale. */
  cr_expect_eq(decide("weather.forecast.record", b, s2, &d), FOFAL_EREJECTED);
  cr_expect_str_eq(d.code, "stale_forecast");
  release(&d);
  forecast(b, sizeof b, "2026-12-07T09:00:00Z", 35.6431, "2026-12-07T00:00:00Z", "2026-12-07T01:00:00Z");
  cr_expect_eq(decide("weather.forecast.record", b, s2, &d), FOFAL_EREJECTED);
  cr_expect_str_eq(d.code, "stale_forecast");
  release(&d);
  /* The next hour's: recorded. */
  forecast(b, sizeof b, "2026-12-07T11:00:00Z", 35.6431, "2026-12-07T00:00:00Z", "2026-12-07T01:00:00Z");
  cr_expect_eq(decide("weather.forecast.record", b, s2, &d), 0, "%s", d.detail);
  release(&d);
  /* Fetched for other coordinates (the site moved since): refused. */
  forecast(b, sizeof b, "2026-12-07T12:00:00Z", 36.8, "2026-12-07T00:00:00Z", "2026-12-07T01:00:00Z");
  cr_expect_eq(decide("weather.forecast.record", b, s2, &d), FOFAL_EREJECTED);
  cr_expect_str_eq(d.code, "site_moved");
  release(&d);
  /* Hours out of order or repeated: refused. */
  forecast(b, sizeof b, "2026-12-07T12:00:00Z", 35.6431, "2026-12-07T01:00:00Z", "2026-12-07T01:00:00Z");
  cr_expect_eq(decide("weather.forecast.record", b, s2, &d), FOFAL_EREJECTED);
  cr_expect_str_eq(d.code, "hours_out_of_order");
  release(&d);
  json_decref(s2);
  json_decref(s);
}

Test(weather, a_forecast_is_bounded_by_its_schema) {
  char b[1024];
  forecast(b, sizeof b, "2026-12-07T10:00:00Z", 35.6431, "2026-12-07T00:00:00Z", "2026-12-07T01:00:00Z");
  cr_expect(valid("weather.forecast.record", b));
  cr_expect(!valid("weather.forecast.record", "{\"site\":\"KH1\",\"latitude\":35,\"longitude\":10,\"source\":"
                                              "\"open-meteo\",\"fetched_at\":\"2026-12-07T10:00:00Z\",\"hours\":[]}"));
  cr_expect(!valid("weather.forecast.record", "{\"site\":\"KH1\",\"latitude\":35,\"longitude\":10,\"source\":"
                                              "\"open-meteo\",\"fetched_at\":\"2026-12-07T10:00:00Z\",\"hours\":[{\"at\":"
                                              "\"2026-12-07T00:00:00Z\",\"temperature_c\":12,\"humidity_pct\":101}]}"));
  cr_expect(!valid("weather.forecast.record", "{\"site\":\"KH1\",\"latitude\":35,\"longitude\":10,\"source\":"
                                              "\"other\",\"fetched_at\":\"2026-12-07T10:00:00Z\",\"hours\":[{\"at\":"
                                              "\"2026-12-07T00:00:00Z\",\"temperature_c\":12,\"humidity_pct\":50}]}"));
}
