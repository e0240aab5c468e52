-- Articles moved to the catalog module (schemas/catalog/060_catalog.sql): production no
-- longer keeps them. A loom keeps the density (picks/cm) of the article it was set up for,
-- which loom_set_up now carries, for the run-out forecast of its beams (weaving.c).
ALTER TABLE production.looms ADD COLUMN picks_per_cm numeric;
DROP TABLE production.articles;
