/*
 * weather.c — the weather module's deciders: the sites (mills) whose outdoor forecast
 * fofal-weather fetches, and the forecasts it records (issue 19, "Weather").
 *
 *   weather.site.set          a site's coordinates and time zone (manager, admin): sets
 *                             them or changes them; the same values again are no_change
 *   weather.forecast.record   a forecast fetched for a site (fofal-weather only: x-fofal-via,
 *                             actor "s:fofal-weather"); refused when the site's coordinates
 *                             changed since (site_moved), when it is not newer than the last
 *                             one recorded (stale_forecast) or its hours are not in time
 *                             order (hours_out_of_order)
 *
 * A site is named by its code: its aggregate id is fofal_aggregate_ref(tenant, "site",
 * code). Events go to fofal.weather.events, which fofal-weather reads back for the
 * coordinates (ingest/weather_main.c). Pure functions: no I/O, no clock.
 */
#include "decide.h"

#include <math.h>
#include <stdio.h>

#define EV(name) "fofal.weather." name ".v1"

static int same_number(const json_t *a, const json_t *b) {
  return json_is_number(a) && json_is_number(b) && fabs(json_number_value(a) - json_number_value(b)) < 1e-9;
}

static int site_set(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const json_t *d = cmd->data;
  json_t *ev = json_pack("{s:s,s:O,s:O,s:s}", "site", jstr(d, "site"), "latitude", json_object_get(d, "latitude"),
                         "longitude", json_object_get(d, "longitude"), "timezone",
                         json_object_get(d, "timezone") ? jstr(d, "timezone") : "UTC");
  jcopy(ev, d, "name");
  if (state && same_number(json_object_get(state, "latitude"), json_object_get(ev, "latitude")) &&
      same_number(json_object_get(state, "longitude"), json_object_get(ev, "longitude")) &&
      jeq(state, "timezone", jstr(ev, "timezone")) &&
      (!json_object_get(ev, "name") || jeq(state, "name", jstr(ev, "name")))) {
    json_decref(ev);
    return REJECT(out, "no_change", "the site already has these coordinates");
  }
  if (state && !json_object_get(ev, "name") && json_object_get(state, "name")) jcopy(ev, state, "name");
  out->state = json_deep_copy(ev);
  if (state) jcopy(out->state, state, "last_fetched_at");
  fofal_decision_emit(out, EV("site_set"), ev);
  return 0;
}

static int forecast_record(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const json_t *d = cmd->data;
  if (!cmd->actor || strncmp(cmd->actor, "s:fofal-weather", 15))
    return REJECT(out, "service_only", "forecasts are recorded by fofal-weather only");
  if (!same_number(json_object_get(state, "latitude"), json_object_get(d, "latitude")) ||
      !same_number(json_object_get(state, "longitude"), json_object_get(d, "longitude")))
    return REJECT(out, "site_moved", "the forecast was fetched for other coordinates than the site's");
  int64_t at = 0, last = 0, prev = INT64_MIN;
  if (fofal_time_parse(jstr(d, "fetched_at"), &at)) return REJECT(out, "invalid_time", "fetched_at: not a time");
  if (!fofal_time_parse(jstr(state, "last_fetched_at"), &last) && at <= last)
    return REJECT(out, "stale_forecast", "a forecast fetched at %s or later is already recorded",
                  jstr(state, "last_fetched_at"));
  size_t i;
  json_t *h;
  json_array_foreach(json_object_get(d, "hours"), i, h) {
    int64_t t = 0;
    if (fofal_time_parse(jstr(h, "at"), &t) || t <= prev)
      return REJECT(out, "hours_out_of_order", "hours[%zu]: not after the hour before it", i);
    prev = t;
  }
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "last_fetched_at", json_string(jstr(d, "fetched_at")));
  fofal_decision_emit(out, EV("forecast_received"), json_deep_copy(d));
  return 0;
}

static const fofal_command_def_t commands[] = {
    {"weather.site.set", "site", FOFAL_CREATES_OR_UPDATES,
     "Set a site's coordinates and time zone: fofal-weather fetches its forecast.", site_set, "site"},
    {"weather.forecast.record", "site", 0, "Record a forecast fetched for a site (fofal-weather).", forecast_record,
     "site"},
};
static const int ncommands = sizeof commands / sizeof commands[0];

static const fofal_command_table_t tables[] = {
    {commands, &ncommands},
    {NULL, NULL},
};

const fofal_command_module_t fofal_module_weather_commands = {.name = "weather", .tables = tables};
