-- Files module read model: the stored files of each tenant (their content address, never
-- their bytes: those are in the file store, README "Files") and what each belongs to.
-- Written by projections/files/files.c from fofal.files.events; other modules' reads may
-- join files.attachments (kind, target) to list their photos. Row-level security as in
-- schemas/production/010_orders.sql.
CREATE SCHEMA files;

CREATE TABLE files.files (
  tenant     text        NOT NULL,
  file_id    uuid        NOT NULL,
  sha256     text        NOT NULL,
  size       bigint      NOT NULL,
  type       text        NOT NULL,
  name       text,
  stored_by  text,
  stored_at  timestamptz NOT NULL,
  version    bigint      NOT NULL,
  -- a personal file (a photo of a person): the badge of the employee it shows; its bytes
  -- are sealed with their key (sha256: the sealed bytes', content_sha256: the clear ones')
  person          text,
  content_sha256  text,
  PRIMARY KEY (tenant, file_id)
);
CREATE UNIQUE INDEX files_sha ON files.files (tenant, sha256);

CREATE TABLE files.attachments (
  tenant       text        NOT NULL,
  file_id      uuid        NOT NULL,
  kind         text        NOT NULL,
  target       uuid        NOT NULL,
  name         text,
  attached_by  text,
  attached_at  timestamptz NOT NULL,
  seq          bigint      NOT NULL,
  PRIMARY KEY (tenant, kind, target, file_id)
);
CREATE INDEX attachments_file ON files.attachments (tenant, file_id);

ALTER TABLE files.files ENABLE ROW LEVEL SECURITY;
ALTER TABLE files.attachments ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON files.files USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON files.attachments USING (tenant = current_setting('fofal.tenant', true));
GRANT USAGE ON SCHEMA files TO fofal_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA files TO fofal_reader;
