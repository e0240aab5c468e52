-- Catalog module read model: articles (fouta models; later yarns and other items with
-- their units). Written by projections/catalog/catalog.c, one row per article, in the order
-- of the tenant's partition. Other modules' reads may join these rows (production's loom
-- and beam reads do); only the catalog projection writes them. Every row carries its
-- tenant; row-level security as in schemas/production/010_orders.sql.
CREATE SCHEMA catalog;

CREATE TABLE catalog.articles (
  tenant            text    NOT NULL,
  article           text    NOT NULL,
  name              text,
  weave             text,
  width_cm          numeric,
  length_cm         numeric,
  gsm               numeric,
  picks_per_cm      numeric,
  warp_yarn         text,
  weft_yarn         text,
  pile_yarn         text,
  warp_g_per_piece  numeric,
  weft_g_per_piece  numeric,
  pile_g_per_piece  numeric,
  version           bigint  NOT NULL,
  defined_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL,
  PRIMARY KEY (tenant, article)
);

ALTER TABLE catalog.articles ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON catalog.articles USING (tenant = current_setting('fofal.tenant', true));
GRANT USAGE ON SCHEMA catalog TO fofal_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA catalog TO fofal_reader;
