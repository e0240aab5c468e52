/*
 * attendance.c — the hr projection's clockings and absences (schemas/hr/071_attendance.sql).
 *
 * A clock-in opens a row, its clock-out closes it; the minutes late (after the shift's
 * start), worked, beyond the shift's end (overtime) and short of it (early leave) are
 * derived here from the shift span the events carry (the decider found the shift by the
 * person's assignment or the mill's shift model, commands/hr/attendance.c). A clocking with
 * no shift (a day the mill does not work) is late by nothing and all overtime. An absence
 * of several days is one row per day.
 *
 * Deterministic functions of their events (times from the events), so a rebuild yields the
 * same rows. Run by the projector's thread, inside its batch's transaction.
 */
#include "hr_apply.h"

#include <stdlib.h>

static const char *delegation(const fofal_event_t *ev, char **text) {
  *text = fofal_ev_jtext(ev->data, "delegated_by");
  return *text;
}

int fofal__hr_clocked_in(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  char *deleg;
  const json_t *d = ev->data;
  const char *params[] = {ev->tenant, fofal_ev_str(d, "badge"), fofal_ev_str(d, "at"), fofal_ev_str(d, "device"),
                          fofal_ev_str(d, "shift"), fofal_ev_str(d, "shift_starts_at"), fofal_ev_str(d, "shift_ends_at"),
                          delegation(ev, &deleg)};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.clockings (tenant, badge, clock_in, device_in, shift, shift_day, "
                           "shift_starts_at, shift_ends_at, late_min, delegated_by) VALUES ($1, $2, $3, $4, $5, "
                           "left($5, 10)::date, $6, $7, coalesce(greatest(0, floor(extract(epoch FROM ($3::timestamptz "
                           "- $6::timestamptz)) / 60))::int, 0), $8) ON CONFLICT DO NOTHING",
                           8, params);
  free(deleg);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "hr");
  return 0;
}

int fofal__hr_clocked_out(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  const json_t *d = ev->data;
  const char *params[] = {ev->tenant, fofal_ev_str(d, "badge"), fofal_ev_str(d, "clocked_in_at"), fofal_ev_str(d, "at"),
                          fofal_ev_str(d, "device")};
  int rc = fofal_apply_sql(ctx,
                           "UPDATE %s.clockings SET clock_out = $4, device_out = $5, "
                           "worked_min = floor(extract(epoch FROM ($4::timestamptz - clock_in)) / 60)::int, "
                           "overtime_min = CASE WHEN shift_ends_at IS NULL THEN floor(extract(epoch FROM ($4::timestamptz "
                           "- clock_in)) / 60)::int ELSE greatest(0, floor(extract(epoch FROM ($4::timestamptz - "
                           "greatest(shift_ends_at, clock_in))) / 60))::int END, "
                           "early_leave_min = CASE WHEN shift_ends_at IS NULL THEN 0 ELSE greatest(0, floor(extract(epoch "
                           "FROM (shift_ends_at - $4::timestamptz)) / 60))::int END "
                           "WHERE tenant = $1 AND badge = $2 AND clock_in = $3",
                           5, params);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "hr");
  return 0;
}

int fofal__hr_absence_recorded(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  const char *params[] = {ev->tenant, fofal_ev_str(d, "badge"), fofal_ev_str(d, "from"), fofal_ev_str(d, "to"),
                          fofal_ev_str(d, "reason"), fofal_ev_str(d, "note"), fofal_ev_str(d, "recorded_by"), m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.absences (tenant, badge, day, reason, note, recorded_by, recorded_at) "
                           "SELECT $1, $2, g::date, $5, $6, $7, $8 FROM generate_series($3::date, $4::date, "
                           "interval '1 day') g ON CONFLICT DO NOTHING",
                           8, params);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "hr");
  return 0;
}
