-- HR piece-rate pay (issue 17): the rates per article and the pay accrued per declaration,
-- written by projections/hr/pay.c from fofal.hr.events. Money in integer minor units
-- (millimes for TND), lengths in mm: exact. A pay line is one declaration (its label id)
-- with the rate it used and the pay period (month) it is paid in; a closed month is a row
-- of pay_periods. Row-level
-- security as in 070_hr.sql.
CREATE TABLE hr.piece_rates (
  tenant      text   NOT NULL,
  article     text   NOT NULL,
  valid_from  date   NOT NULL,
  unit        text   NOT NULL,
  rate_minor  bigint NOT NULL,
  set_by      text   NOT NULL,
  set_at      timestamptz NOT NULL,
  PRIMARY KEY (tenant, article, valid_from)
);

CREATE TABLE hr.pay_lines (
  tenant        text   NOT NULL,
  badge         text   NOT NULL,
  label_id      uuid   NOT NULL,
  order_id      uuid   NOT NULL,
  article       text   NOT NULL,
  shift         text   NOT NULL,
  shift_day     date   NOT NULL,
  woven_at      timestamptz,
  quantity      integer NOT NULL,
  length_mm     bigint NOT NULL,
  unit          text   NOT NULL,
  rate_minor    bigint NOT NULL,
  amount_minor  bigint NOT NULL,
  pay_period    text   NOT NULL,
  accrued_at    timestamptz NOT NULL,
  PRIMARY KEY (tenant, label_id)
);
CREATE INDEX pay_lines_badge_day ON hr.pay_lines (tenant, badge, shift_day);
CREATE INDEX pay_lines_badge_period ON hr.pay_lines (tenant, badge, pay_period);

CREATE TABLE hr.pay_periods (
  tenant     text NOT NULL,
  period     text NOT NULL,
  closed_by  text NOT NULL,
  closed_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, period)
);

ALTER TABLE hr.piece_rates ENABLE ROW LEVEL SECURITY;
ALTER TABLE hr.pay_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE hr.pay_periods ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON hr.piece_rates USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON hr.pay_lines USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON hr.pay_periods USING (tenant = current_setting('fofal.tenant', true));
GRANT SELECT ON ALL TABLES IN SCHEMA hr TO fofal_reader;
