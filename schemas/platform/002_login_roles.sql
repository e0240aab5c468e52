-- The privileges of the processes' login roles (issue 22 item 2): no process but the
-- migrations' owner logs in with more than it needs, and none as a superuser.
--
-- The roles themselves exist before the migrations run (creating a BYPASSRLS role takes a
-- superuser): ops/stack creates them on the local stack, a deployment's DBA creates them
-- (README, Security). This migration runs as the owner of the tables (`fofal migrate`),
-- before any module's: numbered 002, it comes before every schema a module creates.
--
--   fofal_projector  writes the read models (BYPASSRLS: it writes every tenant's rows) and
--                    the projector offsets and errors. Every schema and table the owner
--                    creates from here on is the projector's to read and write (default
--                    privileges): a module added later, and a rebuild's shadow schema, need
--                    no grant of their own. A module whose schema holds what the projector
--                    must not write revokes it in its own folder (identity: 054_login_roles.sql).
--   fofal_reader     SELECT on the read models, granted by the migration that creates each
--                    (with its row-level security policy): a table is readable by a query
--                    only when its module says so.
--   fofal_api        a member of fofal_reader (its read workers SET ROLE to it); what its
--                    write connection touches is granted by the module that owns it
--                    (identity: 054_login_roles.sql).
DO $$
BEGIN
  IF (SELECT count(*) FROM pg_roles WHERE rolname IN ('fofal_api', 'fofal_projector', 'fofal_reader')) <> 3 THEN
    RAISE EXCEPTION 'the login roles fofal_api and fofal_projector (and fofal_reader) must exist before the migrations: README, Security';
  END IF;
END
$$;

GRANT USAGE ON SCHEMA fofal_meta TO fofal_api, fofal_projector;
GRANT SELECT ON fofal_meta.migrations TO fofal_api, fofal_projector;
GRANT SELECT, INSERT, UPDATE, DELETE ON fofal_meta.projector_offsets, fofal_meta.projection_errors TO fofal_projector;

ALTER DEFAULT PRIVILEGES GRANT USAGE ON SCHEMAS TO fofal_projector;
ALTER DEFAULT PRIVILEGES GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO fofal_projector;
ALTER DEFAULT PRIVILEGES GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO fofal_projector;
