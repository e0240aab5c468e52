-- Catalog items: the materials the mill buys and stocks (yarns, accessories, packaging),
-- each with the unit it is counted in. Written by projections/catalog/catalog.c
-- (item_defined); inventory's reads join it for a lot's yarn. Row-level security as in
-- 060_catalog.sql.
CREATE TABLE catalog.items (
  tenant        text    NOT NULL,
  item          text    NOT NULL,
  kind          text    NOT NULL,
  name          text    NOT NULL,
  unit          text    NOT NULL,
  yarn_count    text,
  material      text,
  colour        text,
  supplier_ref  text,
  version       bigint  NOT NULL,
  defined_at    timestamptz NOT NULL,
  PRIMARY KEY (tenant, item)
);

ALTER TABLE catalog.items ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON catalog.items USING (tenant = current_setting('fofal.tenant', true));
GRANT SELECT ON catalog.items TO fofal_reader;
