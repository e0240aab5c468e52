-- A loom's latest restart before a roll was woven (the startup rejects of the losses read,
-- api/control/control_sql.c): max(at) of the loom's stops up to a time is one step down
-- this index, where (tenant, loom, month) made it scan the loom's whole year for every cut
-- (4 s a month's losses on a year of a 24-loom mill, ops/bench control).
CREATE INDEX fact_stops_loom_at ON control.fact_stops (tenant, loom, at);
