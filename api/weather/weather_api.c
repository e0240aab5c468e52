/*
 * weather_api.c — the weather module's reads: the sites and their outdoor forecast beside
 * the halls' climate (issue 19, "Weather").
 *
 *   GET /api/v1/weather/sites                      every site: coordinates, time zone, last fetch
 *   GET /api/v1/weather/forecast?site=&hall=       a site's newest forecast (the tenant's first
 *                                                  site by code without ?site=): the hourly
 *                                                  outdoor temperature and humidity, tomorrow's
 *                                                  (in the site's time zone) min, max and mean,
 *                                                  and the halls' latest climate from telemetry
 *                                                  (module machines' machines.halls; one hall
 *                                                  with ?hall=)
 *
 * The rows are the weather projection's (schemas/weather/095_weather.sql); reading
 * machines.halls, another module's table, is allowed (writing is not). A time zone
 * PostgreSQL does not know reads as UTC (the schema only bounds its spelling).
 *
 * Threads: the handler runs on the loop thread, run() on a read worker with a copy of
 * params_t; the routes table and OpenAPI text are read-only.
 */
#include "api.h"

#include <stdio.h>
#include <string.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* Who reads the weather: who plans, keeps the looms, runs the mill, and whoever reads the
 * halls' climate today (machines' READERS). */
#define ROLES_WEATHER "mechanic weaver planner manager quality admin auditor"

enum { W_SITES, W_FORECAST, W_N };
#define P_SITE_HALL 1

static const fofal_read_route_t routes[W_N] = {
    [W_SITES] = {"/api/v1/weather/sites", "weather.sites.list", "Sites and their coordinates.",
                 "Every site of the tenant (weather.site.set) by code: coordinates, time zone and when its last "
                 "forecast was fetched.",
                 ROLES_WEATHER, NULL, 0, "WeatherSites"},
    [W_FORECAST] = {"/api/v1/weather/forecast", "weather.forecast.get", "Outdoor forecast beside the halls' climate.",
                    "The newest forecast fofal-weather fetched for the site (?site=, else the tenant's first site by "
                    "code): hourly outdoor temperature (°C) and relative humidity (%) from the source's format "
                    "(Open-Meteo), tomorrow's min, max and mean in the site's time zone, and the latest temperature and "
                    "humidity of each hall (or of ?hall=) as telemetry gives them (GET /api/v1/machines/halls). "
                    "forecast and tomorrow are null until a forecast was fetched. 404 when the tenant has no such site.",
                    ROLES_WEATHER, NULL, P_SITE_HALL, "WeatherForecast"},
};

typedef struct {
  int route;
  int has_site, has_hall;
  char site[72], hall[72];
} params_t;

static void run(fofal_worker_t *w, const char *tenant, void *opaque, fofal__read_result_t *res) {
  const params_t *p = opaque;
  char err[512];
  json_t *rows = NULL;
  int rc;
  if (p->route == W_SITES) {
    const char *params[] = {tenant};
    rc = fofal__worker_query(w, tenant,
                             "SELECT json_build_object('site', s.site, 'name', s.name, 'latitude', s.latitude, 'longitude', "
                             "s.longitude, 'timezone', s.timezone, 'version', s.version, 'updated_at', " TS("s.updated_at")
                             ", 'last_fetched_at', (SELECT " TS("max(f.fetched_at)") " FROM weather.forecasts f WHERE "
                             "f.tenant = s.tenant AND f.site = s.site)) FROM weather.sites s WHERE s.tenant = $1 ORDER BY "
                             "s.site LIMIT 1000",
                             1, params, &rows, err, sizeof err);
    if (rc) {
      fofal__read_fail(res, rc, err, 0);
      return;
    }
    res->status = 200;
    res->body = json_pack("{s:o}", "items", rows);
    return;
  }
  const char *params[] = {tenant, p->has_site ? p->site : NULL, p->has_hall ? p->hall : NULL};
  rc = fofal__worker_query(
      w, tenant,
      "WITH s AS (SELECT site, name, latitude, longitude, timezone, CASE WHEN EXISTS (SELECT 1 FROM pg_timezone_names "
      "WHERE name = timezone) THEN timezone ELSE 'UTC' END AS z FROM weather.sites WHERE tenant = $1 AND ($2::text IS "
      "NULL OR site = $2) ORDER BY site LIMIT 1), "
      "f AS (SELECT fc.source, fc.fetched_at, fc.hours FROM weather.forecasts fc, s WHERE fc.tenant = $1 AND fc.site = "
      "s.site ORDER BY fc.fetched_at DESC LIMIT 1), "
      "h AS (SELECT (x->>'at')::timestamptz AS at, (x->>'temperature_c')::float8 AS t, (x->>'humidity_pct')::float8 AS "
      "rh FROM f, jsonb_array_elements(f.hours) x), "
      "d AS (SELECT ((now() AT TIME ZONE s.z)::date + 1) AS day, s.z FROM s) "
      "SELECT json_build_object('site', s.site, 'name', s.name, 'latitude', s.latitude, 'longitude', s.longitude, "
      "'timezone', s.timezone, "
      "'forecast', (SELECT json_build_object('source', f.source, 'fetched_at', " TS("f.fetched_at") ", 'hours', f.hours) "
      "FROM f), "
      "'tomorrow', (SELECT CASE WHEN count(h.at) = 0 THEN NULL ELSE json_build_object('date', to_char(d.day, "
      "'YYYY-MM-DD'), 'hours', count(h.at), 'temperature_min', min(h.t), 'temperature_max', max(h.t), "
      "'temperature_mean', round(avg(h.t)::numeric, 1), 'humidity_min', min(h.rh), 'humidity_max', max(h.rh), "
      "'humidity_mean', round(avg(h.rh)::numeric, 1)) END FROM d LEFT JOIN h ON (h.at AT TIME ZONE d.z)::date = d.day "
      "GROUP BY d.day), "
      "'halls', (SELECT coalesce(json_agg(json_build_object('hall', hall, 'temperature', temperature, 'humidity', "
      "humidity, 'at', " TS("at") ") ORDER BY hall), '[]') FROM machines.halls WHERE tenant = $1 AND ($3::text IS NULL "
      "OR hall = $3))) FROM s",
      3, params, &rows, err, sizeof err);
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  json_t *r = json_array_get(rows, 0);
  if (!json_is_object(r)) {
    fofal__read_not_found(res, p->has_site ? "the tenant has no site of this code" : "the tenant has no site yet (weather.site.set)");
  } else {
    res->status = 200;
    res->body = json_incref(r);
  }
  json_decref(rows);
}

static int on_read(h2o_handler_t *self, h2o_req_t *req) {
  fofal_api_t *api = API_OF(self);
  fofal_principal_t who;
  params_t p;
  const char *path = req->path_normalized.base;
  size_t len = req->path_normalized.len;
  static const char base[] = "/api/v1/weather/";
  atomic_fetch_add(&fofal__metrics.requests, 1);
  atomic_fetch_add(&fofal__metrics.reads, 1);
  memset(&p, 0, sizeof p);
  char s1[32] = "";
  size_t at = sizeof base - 1;
  p.route = -1;
  if (path[len - 1] != '/' && !fofal__path_segment(path, len, &at, s1, sizeof s1) && at == len) {
    if (!strcmp(s1, "sites")) p.route = W_SITES;
    else if (!strcmp(s1, "forecast")) p.route = W_FORECAST;
  }
  if (p.route < 0) {
    fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
    return 0;
  }
  if (!fofal__get_only(req) || fofal__authenticate(api, req, &who) ||
      fofal__read_roles_check(req, &who, routes[p.route].roles, routes[p.route].path + sizeof "/api/v1" - 1))
    return 0;
  if (p.route == W_FORECAST) {
    const char *site = fofal__param(req, "site"), *hall = fofal__param(req, "hall");
    if ((site && !fofal_code_valid(site)) || (hall && !fofal__valid_name(hall, 63))) {
      fofal__send_problem(req, 400, "invalid_parameter",
                          site && !fofal_code_valid(site) ? "site: a site code (1 to 64 of A-Z a-z 0-9 . _ -)"
                                                          : "hall: a hall code (1 to 63 of A-Z a-z 0-9 . _ / -)",
                          NULL);
      return 0;
    }
    if (site) p.has_site = 1, snprintf(p.site, sizeof p.site, "%s", site);
    if (hall) p.has_hall = 1, snprintf(p.hall, sizeof p.hall, "%s", hall);
  }
  return fofal__read_serve(api, req, &who, 0, run, &p, sizeof p);
}

/* -------------------------------------------------------------- OpenAPI */

static const char sites_schema[] =
    "{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
    "\"site\":{\"type\":\"string\"},\"name\":{\"type\":[\"string\",\"null\"]},\"latitude\":{\"type\":\"number\"},"
    "\"longitude\":{\"type\":\"number\"},\"timezone\":{\"type\":\"string\"},\"version\":{\"type\":\"integer\"},"
    "\"updated_at\":{\"type\":\"string\"},\"last_fetched_at\":{\"type\":[\"string\",\"null\"]}}}}}}";

static const char forecast_schema[] =
    "{\"type\":\"object\",\"properties\":{\"site\":{\"type\":\"string\"},\"name\":{\"type\":[\"string\",\"null\"]},"
    "\"latitude\":{\"type\":\"number\"},\"longitude\":{\"type\":\"number\"},\"timezone\":{\"type\":\"string\"},"
    "\"forecast\":{\"type\":[\"object\",\"null\"],\"properties\":{\"source\":{\"type\":\"string\"},\"fetched_at\":"
    "{\"type\":\"string\"},\"hours\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"at\":{\"type\":"
    "\"string\"},\"temperature_c\":{\"type\":[\"number\",\"null\"]},\"humidity_pct\":{\"type\":[\"number\",\"null\"]}}}}}},"
    "\"tomorrow\":{\"type\":[\"object\",\"null\"],\"description\":\"Tomorrow in the site's time zone: min, max and mean "
    "of the forecast's hours that fall in it.\",\"properties\":{\"date\":{\"type\":\"string\"},\"hours\":{\"type\":"
    "\"integer\"},\"temperature_min\":{\"type\":[\"number\",\"null\"]},\"temperature_max\":{\"type\":[\"number\",\"null\"]},"
    "\"temperature_mean\":{\"type\":[\"number\",\"null\"]},\"humidity_min\":{\"type\":[\"number\",\"null\"]},"
    "\"humidity_max\":{\"type\":[\"number\",\"null\"]},\"humidity_mean\":{\"type\":[\"number\",\"null\"]}}},"
    "\"halls\":{\"type\":\"array\",\"description\":\"The halls' latest climate from telemetry (module machines).\","
    "\"items\":{\"type\":\"object\",\"properties\":{\"hall\":{\"type\":\"string\"},\"temperature\":{\"type\":[\"number\","
    "\"null\"]},\"humidity\":{\"type\":[\"number\",\"null\"]},\"at\":{\"type\":\"string\"}}}}}}";

static void openapi(json_t *paths, json_t *schemas) {
  json_t *s = json_loads(sites_schema, 0, NULL);
  if (s) json_object_set_new(schemas, "WeatherSites", s);
  s = json_loads(forecast_schema, 0, NULL);
  if (s) json_object_set_new(schemas, "WeatherForecast", s);
  for (int r = 0; r < W_N; r++) {
    const fofal_read_route_t *rt = &routes[r];
    json_t *params = json_array();
    if (rt->params & P_SITE_HALL) {
      json_array_append_new(params, fofal__openapi_query_param("site", "Site code (default: the tenant's first site).",
                                                               json_pack("{s:s,s:s}", "type", "string", "pattern",
                                                                         "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")));
      json_array_append_new(params, fofal__openapi_query_param("hall", "Only this hall's climate.",
                                                               json_pack("{s:s,s:s}", "type", "string", "pattern",
                                                                         "^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$")));
    }
    char desc[1400], ref[96];
    snprintf(desc, sizeof desc, "%s Roles: %s. With ?position= (from a command's 201) the read waits (bounded) until "
             "the projection has applied it.", rt->desc, rt->roles);
    snprintf(ref, sizeof ref, "#/components/schemas/%s", rt->schema);
    json_t *op = fofal__openapi_read_op("weather", rt->op_id, rt->summary, desc, params, ref, rt->roles);
    json_t *resp = json_object_get(json_object_get(op, "get"), "responses");
    if (r == W_FORECAST && resp && !json_object_get(resp, "404"))
      json_object_set_new(resp, "404", json_pack("{s:s}", "description", "The tenant has no such site (code not_found)."));
    json_object_set_new(paths, rt->path, op);
  }
}

/* Which read route shows the aggregate of each weather event (stream_roles.c). */
static const fofal_push_route_t push_routes[] = {
    {"", "/api/v1/weather/forecast", 0},
    {NULL, NULL, 0},
};

const fofal_api_module_t fofal_module_weather_routes = {
    .name = "weather",
    .on_read = on_read,
    .openapi = openapi,
    .push_routes = push_routes,
};
