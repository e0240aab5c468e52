-- Weather module read model: the sites' coordinates and the forecasts fofal-weather fetched
-- for them (weather.forecast_received). Written by projections/weather/weather.c only;
-- every row carries its tenant; row-level security as in schemas/production/010_orders.sql.
-- A forecast is kept per fetch (the history is small: one row an hour per site, ~5 KB).
CREATE SCHEMA weather;

CREATE TABLE weather.sites (
  tenant      text NOT NULL,
  site        text NOT NULL,
  name        text,
  latitude    double precision NOT NULL,
  longitude   double precision NOT NULL,
  timezone    text NOT NULL,
  version     bigint NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, site)
);

CREATE TABLE weather.forecasts (
  tenant      text NOT NULL,
  site        text NOT NULL,
  fetched_at  timestamptz NOT NULL,
  source      text NOT NULL,
  latitude    double precision NOT NULL,
  longitude   double precision NOT NULL,
  hours       jsonb NOT NULL,
  version     bigint NOT NULL,
  PRIMARY KEY (tenant, site, fetched_at)
);

ALTER TABLE weather.sites ENABLE ROW LEVEL SECURITY;
ALTER TABLE weather.forecasts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON weather.sites USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON weather.forecasts USING (tenant = current_setting('fofal.tenant', true));
GRANT USAGE ON SCHEMA weather TO fofal_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA weather TO fofal_reader;
