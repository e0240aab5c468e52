-- The privileges of the processes' login roles (issue 22 item 2): no process but the
-- migrations' owner logs in with more than it needs, and none as a superuser.
--
-- The roles themselves exist before the migrations run (creating a BYPASSRLS role takes a
-- superuser): ops/stack creates them on the local stack, a deployment's DBA creates them
-- (README, Security). This migration runs as the owner of the tables (`fofal migrate`).
--
--   fofal_api        the read workers SET ROLE fofal_reader (a member of it), so the read
--                    models stay read-only and under row-level security; the write
--                    connection reads and writes the identity tables accounts.c uses and
--                    the person keys (commands_api.c seals and erases), nothing else (no
--                    DELETE, no DDL). Identity's tables have RLS
--                    on and no tenant policy (their queries filter by tenant themselves):
--                    a policy lets fofal_api through, and only it.
--   fofal_projector  writes the read models, the projector offsets and errors, and the
--                    person keys (BYPASSRLS: it writes every tenant's rows).
--   fofal_reader     SELECT on the read models (granted by the migrations that create them).
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

GRANT USAGE ON SCHEMA identity TO fofal_api, fofal_projector;
GRANT SELECT, INSERT, UPDATE ON identity.accounts, identity.sessions, identity.refresh_tokens,
  identity.recovery_codes, identity.devices, identity.person_keys TO fofal_api;
CREATE POLICY api_process ON identity.accounts TO fofal_api USING (true) WITH CHECK (true);
CREATE POLICY api_process ON identity.sessions TO fofal_api USING (true) WITH CHECK (true);
CREATE POLICY api_process ON identity.refresh_tokens TO fofal_api USING (true) WITH CHECK (true);
CREATE POLICY api_process ON identity.recovery_codes TO fofal_api USING (true) WITH CHECK (true);
CREATE POLICY api_process ON identity.devices TO fofal_api USING (true) WITH CHECK (true);
CREATE POLICY api_process ON identity.person_keys TO fofal_api USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE ON identity.person_keys TO fofal_projector;

GRANT USAGE ON SCHEMA production, machines, audit TO fofal_projector;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA production, machines, audit TO fofal_projector;
-- Tables later migrations add to these schemas: the projector writes them, the API reads them.
ALTER DEFAULT PRIVILEGES IN SCHEMA production, machines, audit
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO fofal_projector;
ALTER DEFAULT PRIVILEGES IN SCHEMA production, machines, audit GRANT SELECT ON TABLES TO fofal_reader;
