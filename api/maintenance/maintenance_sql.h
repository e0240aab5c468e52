/*
 * maintenance_sql.h — what other modules' reads may use of the maintenance read model
 * (schemas/maintenance/070_maintenance.sql): an intervention request as JSON, the same in
 * every answer that shows one. production's loom detail lists a loom's open requests with
 * it; maintenance_api.c answers its own routes with it. The rows are maintenance's alone
 * to write.
 */
#ifndef FOFAL_API_MAINTENANCE_SQL_H
#define FOFAL_API_MAINTENANCE_SQL_H

/* "2026-11-24T08:15:02.123456Z" from a timestamptz column. */
#define FOFAL__MAINTENANCE_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* One row of maintenance.interventions i as a JSON object. */
#define INTERVENTION_COLS                                                                                              \
  "json_build_object('intervention_id', i.intervention_id, 'loom', i.loom, 'status', i.status, 'cause', i.cause, "     \
  "'note', i.note, 'source', i.source, 'requested_by', i.requested_by, 'requested_at', "                               \
  FOFAL__MAINTENANCE_TS("i.requested_at") ", 'mechanic', i.mechanic, 'accepted_at', "                                  \
  FOFAL__MAINTENANCE_TS("i.accepted_at") ", 'started_at', " FOFAL__MAINTENANCE_TS("i.started_at") ", 'finished_at', " \
  FOFAL__MAINTENANCE_TS("i.finished_at") ", 'cancelled_at', " FOFAL__MAINTENANCE_TS("i.cancelled_at") ", "             \
  "'cancel_reason', i.cancel_reason, 'finish_cause', i.finish_cause, 'parts', i.parts, 'duration_min', "              \
  "i.duration_min, 'notes', i.notes, 'version', i.version)"

#endif
