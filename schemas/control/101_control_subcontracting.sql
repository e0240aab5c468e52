-- Management-control facts of subcontracting (kind subcontract_returned of
-- fofal.control.fact_recorded.v1, taken by control.facts_from_events from a priced
-- subcontracting goods_returned): what each lot of a return cost, minor units. A lot is a
-- roll: its declaration (fact_outputs, by label id) names the order and article that bear
-- the cost. Keyed so that a fact applied twice is one row. Row-level security as in
-- 096_control.sql.
CREATE TABLE control.fact_subcontracting (
  tenant text NOT NULL, return_id uuid NOT NULL, label_id uuid NOT NULL, dispatch_id uuid NOT NULL,
  subcontractor text, operation text, month text NOT NULL, cost_minor bigint NOT NULL,
  PRIMARY KEY (tenant, return_id, label_id));
CREATE INDEX fact_subcontracting_label ON control.fact_subcontracting (tenant, label_id);
ALTER TABLE control.fact_subcontracting ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON control.fact_subcontracting USING (tenant = current_setting('fofal.tenant', true));
GRANT SELECT ON control.fact_subcontracting TO fofal_reader;
