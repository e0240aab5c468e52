-- Management-control facts: what other modules' events said that the costs, yields and
-- losses are computed from (kinds of fofal.control.fact_recorded.v1, taken by the reaction
-- control.facts_from_events, commands/control/reactions.c). Written by
-- projections/control/control.c, one table per kind, keyed so that a fact applied twice
-- is one row; read by api/control/ (costing.c computes). Money in minor units (bigint),
-- lengths in millimetres, weights in grams. Row-level security as in 096_control.sql.
CREATE TABLE control.fact_receipt_lines (  -- purchasing goods_received: price of a receipt line
  tenant text NOT NULL, receipt_id text NOT NULL, line int NOT NULL, unit text NOT NULL,
  unit_price bigint NOT NULL, item text, PRIMARY KEY (tenant, receipt_id, line));
CREATE TABLE control.fact_lots (           -- inventory stock_received: the lot a receipt line made
  tenant text NOT NULL, lot text NOT NULL, receipt_id text NOT NULL, line int NOT NULL,
  weight_g bigint NOT NULL, PRIMARY KEY (tenant, lot));
CREATE TABLE control.fact_beam_lots (      -- inventory lot_issued: grams of a lot onto a beam
  tenant text NOT NULL, event_id uuid NOT NULL, beam text NOT NULL, lot text NOT NULL,
  weight_g bigint NOT NULL, PRIMARY KEY (tenant, event_id));
CREATE INDEX fact_beam_lots_beam ON control.fact_beam_lots (tenant, beam);
CREATE TABLE control.fact_beams (          -- production beam_warped (a beam code warped again adds up)
  tenant text NOT NULL, event_id uuid NOT NULL, beam text NOT NULL, length_mm bigint NOT NULL,
  article text, PRIMARY KEY (tenant, event_id));
CREATE INDEX fact_beams_beam ON control.fact_beams (tenant, beam);
CREATE TABLE control.fact_outputs (        -- production output_declared
  tenant text NOT NULL, label_id uuid NOT NULL, order_id uuid NOT NULL, article text, loom text,
  weaver text, month text NOT NULL, quantity bigint NOT NULL, length_mm bigint,
  PRIMARY KEY (tenant, label_id));
CREATE INDEX fact_outputs_order ON control.fact_outputs (tenant, order_id);
CREATE INDEX fact_outputs_article ON control.fact_outputs (tenant, article, month);
CREATE INDEX fact_outputs_month ON control.fact_outputs (tenant, month);
CREATE TABLE control.fact_output_beams (   -- the warp each declaration consumed
  tenant text NOT NULL, label_id uuid NOT NULL, beam text NOT NULL, meters_mm bigint NOT NULL,
  PRIMARY KEY (tenant, label_id, beam));
CREATE TABLE control.fact_labour (         -- hr pay_accrued
  tenant text NOT NULL, event_id uuid NOT NULL, order_id uuid NOT NULL, label_id uuid, article text,
  badge text, role text NOT NULL, month text NOT NULL, amount_minor bigint NOT NULL,
  PRIMARY KEY (tenant, event_id));
CREATE INDEX fact_labour_order ON control.fact_labour (tenant, order_id);
CREATE INDEX fact_labour_article ON control.fact_labour (tenant, article, month);
CREATE TABLE control.fact_cuts (           -- quality roll_cut
  tenant text NOT NULL, label_id uuid NOT NULL, order_id uuid, article text, loom text, weaver text,
  month text NOT NULL, first_choice bigint NOT NULL, second_choice bigint NOT NULL,
  waste_pieces bigint NOT NULL, waste_mm bigint NOT NULL, waste_g bigint NOT NULL,
  PRIMARY KEY (tenant, label_id));
CREATE INDEX fact_cuts_order ON control.fact_cuts (tenant, order_id);
CREATE TABLE control.fact_cut_lots (       -- the graded piece lots of a cut
  tenant text NOT NULL, label_id uuid NOT NULL, n int NOT NULL, grade text NOT NULL,
  pieces bigint NOT NULL, PRIMARY KEY (tenant, label_id, n));
CREATE TABLE control.fact_stops (          -- machines loom_running after a stop
  tenant text NOT NULL, event_id uuid NOT NULL, loom text NOT NULL, cause text NOT NULL,
  stopped_s bigint NOT NULL, after_breakdown boolean NOT NULL, at timestamptz NOT NULL,
  month text NOT NULL, PRIMARY KEY (tenant, event_id));
CREATE INDEX fact_stops_loom ON control.fact_stops (tenant, loom, month);
CREATE INDEX fact_stops_month ON control.fact_stops (tenant, month);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['fact_receipt_lines', 'fact_lots', 'fact_beam_lots', 'fact_beams', 'fact_outputs',
                           'fact_output_beams', 'fact_labour', 'fact_cuts', 'fact_cut_lots', 'fact_stops'] LOOP
    EXECUTE format('ALTER TABLE control.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_only ON control.%I USING (tenant = current_setting(''fofal.tenant'', true))', t);
  END LOOP;
END $$;
GRANT SELECT ON ALL TABLES IN SCHEMA control TO fofal_reader;
