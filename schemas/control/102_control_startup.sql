-- Startup rejects (README, Management control, "Losses"): when a roll was woven (the
-- declaration's woven_at, taken by control.facts_from_events as the output_declared
-- fact's `at`; null for facts recorded before) and the tenant's loss settings
-- (control.losses.set, commands/control/costing_set.c): the minutes after a loom restarts
-- from a stop within which a roll's rejects are startup rejects (30 when never set).
-- Written by projections/control/control.c. Row-level security as in 096_control.sql.
ALTER TABLE control.fact_outputs ADD COLUMN woven_at timestamptz;
CREATE TABLE control.loss_settings (
  tenant text NOT NULL PRIMARY KEY, startup_window_min int NOT NULL, set_at timestamptz NOT NULL,
  set_by text NOT NULL, event_id uuid NOT NULL);
ALTER TABLE control.loss_settings ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON control.loss_settings USING (tenant = current_setting('fofal.tenant', true));
GRANT SELECT ON control.loss_settings TO fofal_reader;
