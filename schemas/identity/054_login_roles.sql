-- What the login roles (platform/002_login_roles.sql, README "Security") may do with the
-- identity schemas; every table here has row-level security on and no tenant policy
-- (their queries filter by tenant themselves), so each role that reads one gets a policy of
-- its own, and fofal_reader (the API's queries) gets nothing.
--
--   identity       the projection: fofal-projector writes it (default privileges);
--                  fofal-api reads it to sign in.
--   identity_ops   fofal-api's operational state: fofal-api reads and writes it (no
--                  DELETE); the projector has nothing here.
--   identity_keys  the person keys: fofal-api creates them (sealing) and leaves tombstones
--                  (erasing); the projectors only read them to open sealed fields.
GRANT USAGE ON SCHEMA identity, identity_ops, identity_keys TO fofal_api;

GRANT SELECT ON identity.accounts, identity.devices TO fofal_api;
CREATE POLICY api_process ON identity.accounts FOR SELECT TO fofal_api USING (true);
CREATE POLICY api_process ON identity.devices FOR SELECT TO fofal_api USING (true);

REVOKE ALL ON ALL TABLES IN SCHEMA identity_ops FROM fofal_projector;
REVOKE ALL ON SCHEMA identity_ops FROM fofal_projector;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA identity_ops TO fofal_api;
CREATE POLICY api_process ON identity_ops.sessions TO fofal_api USING (true) WITH CHECK (true);
CREATE POLICY api_process ON identity_ops.refresh_tokens TO fofal_api USING (true) WITH CHECK (true);
CREATE POLICY api_process ON identity_ops.accounts TO fofal_api USING (true) WITH CHECK (true);

REVOKE INSERT, UPDATE, DELETE ON identity_keys.person_keys FROM fofal_projector;
GRANT SELECT, INSERT, UPDATE ON identity_keys.person_keys TO fofal_api;
CREATE POLICY api_process ON identity_keys.person_keys TO fofal_api USING (true) WITH CHECK (true);
