-- Interventions moved to the maintenance module (schemas/maintenance/070_maintenance.sql):
-- production no longer keeps them, nor their steps in a loom's machine history (the loom
-- history read joins maintenance.intervention_history). Their old events, of type
-- fofal.production.intervention_*, are no longer read: stacks made before this change are
-- recreated (README).
DROP TABLE production.interventions;
DELETE FROM production.loom_history WHERE kind LIKE 'intervention\_%';
