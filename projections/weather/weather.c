/*
 * weather.c — the weather module's projection: sites and their forecasts into PostgreSQL
 * (schema weather, schemas/weather/095_weather.sql), and a WebSocket push per event.
 *
 * Every forecast is kept (one row per fetch: about 5 KB, one an hour per site); the reads
 * show the newest. Each apply function is a deterministic function of its event (times
 * from the envelope or the event's data), so a rebuild yields the same rows.
 */
#include "projections.h"

#include <stdio.h>
#include <stdlib.h>

static int site_set(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  char b1[40], b2[40];
  const json_t *d = ev->data;
  const char *params[] = {ev->tenant,
                          fofal_ev_str(d, "site"),
                          fofal_ev_str(d, "name"),
                          fofal_ev_num(d, "latitude", b1),
                          fofal_ev_num(d, "longitude", b2),
                          fofal_ev_str(d, "timezone"),
                          m.seq,
                          m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.sites (tenant, site, name, latitude, longitude, timezone, version, updated_at) "
                           "VALUES ($1, $2, $3, $4, $5, coalesce($6, 'UTC'), $7, $8) ON CONFLICT (tenant, site) DO UPDATE "
                           "SET name = coalesce(EXCLUDED.name, %s.sites.name), latitude = EXCLUDED.latitude, longitude = "
                           "EXCLUDED.longitude, timezone = EXCLUDED.timezone, version = EXCLUDED.version, updated_at = "
                           "EXCLUDED.updated_at",
                           8, params);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "weather");
  return 0;
}

static int forecast_received(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  char b1[40], b2[40];
  const json_t *d = ev->data;
  char *hours = json_dumps(json_object_get(d, "hours"), JSON_COMPACT);
  const char *params[] = {ev->tenant,
                          fofal_ev_str(d, "site"),
                          fofal_ev_str(d, "fetched_at"),
                          fofal_ev_str(d, "source"),
                          fofal_ev_num(d, "latitude", b1),
                          fofal_ev_num(d, "longitude", b2),
                          hours ? hours : "[]",
                          m.seq};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.forecasts (tenant, site, fetched_at, source, latitude, longitude, hours, "
                           "version) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)",
                           8, params);
  free(hours);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "weather");
  return 0;
}

static const fofal_apply_t applies[] = {
    {"fofal.weather.site_set.v1", site_set},
    {"fofal.weather.forecast_received.v1", forecast_received},
};

static const char *const tables[] = {"sites", "forecasts", NULL};

static const fofal_projection_def_t projection = {
    .name = "weather",
    .module = "weather",
    .pg_schema = "weather",
    .tables = tables,
    .applies = applies,
    .napplies = sizeof applies / sizeof applies[0],
};

static const fofal_projection_def_t *const projections[] = {&projection, NULL};
const fofal_projection_module_t fofal_module_weather_projections = {
    .name = "weather",
    .projections = projections,
};
