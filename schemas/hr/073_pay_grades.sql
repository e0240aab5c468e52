-- Piece rates by role and grade, pay for cuts, pay periods per site (issue 17): a rate is
-- one of a series (role weaver|cutter, grade '' for the base rate, first, second), per
-- piece, metre or kg; a pay line is a declaration's (its label id, role weaver) or a
-- graded lot's at a cut (the lot's label id, role cutter or weaver); a closed pay period
-- is per site, with the gross it handed to accounting.
ALTER TABLE hr.piece_rates ADD COLUMN role text NOT NULL DEFAULT 'weaver',
                           ADD COLUMN grade text NOT NULL DEFAULT '';
ALTER TABLE hr.piece_rates DROP CONSTRAINT piece_rates_pkey,
                           ADD PRIMARY KEY (tenant, article, role, grade, valid_from);

ALTER TABLE hr.pay_lines ADD COLUMN role text NOT NULL DEFAULT 'weaver',
                         ADD COLUMN grade text,
                         ADD COLUMN roll uuid,
                         ADD COLUMN weight_g bigint,
                         ADD COLUMN site text NOT NULL DEFAULT 'main';
ALTER TABLE hr.pay_lines DROP CONSTRAINT pay_lines_pkey, ADD PRIMARY KEY (tenant, label_id, role);
CREATE INDEX pay_lines_site_period ON hr.pay_lines (tenant, site, pay_period);

ALTER TABLE hr.pay_periods ADD COLUMN site text NOT NULL DEFAULT 'main',
                           ADD COLUMN gross_minor bigint NOT NULL DEFAULT 0,
                           ADD COLUMN lines integer NOT NULL DEFAULT 0;
ALTER TABLE hr.pay_periods DROP CONSTRAINT pay_periods_pkey, ADD PRIMARY KEY (tenant, period, site);
