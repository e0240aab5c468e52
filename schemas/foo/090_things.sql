-- The foo module's read model (projections/foo/foo.c).
CREATE SCHEMA foo;
CREATE TABLE foo.things (
  tenant  text NOT NULL,
  thing   text NOT NULL,
  name    text NOT NULL,
  version bigint NOT NULL,
  PRIMARY KEY (tenant, thing)
);
ALTER TABLE foo.things ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON foo.things USING (tenant = current_setting('fofal.tenant', true));
GRANT USAGE ON SCHEMA foo TO fofal_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA foo TO fofal_reader;
