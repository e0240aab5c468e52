-- What the reactions into inventory add to its read model (commands/inventory/flows.c): a
-- unit made from another — a piece lot from its cut roll, pieces split off a lot returned
-- by a subcontractor — keeps the unit it came from (from_label: the genealogy's link up to
-- the roll, whose beams and yarn lots it shares) and a piece lot its grade.
ALTER TABLE inventory.units ADD COLUMN from_label uuid;
ALTER TABLE inventory.units ADD COLUMN grade text;
CREATE INDEX units_from_label ON inventory.units (tenant, from_label);
