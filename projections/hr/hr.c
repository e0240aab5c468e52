/*
 * hr.c — the hr module's projection: employees, their shift assignments and the shift
 * model into PostgreSQL (schema hr, schemas/hr/070_hr.sql), and a WebSocket push per
 * applied event; attendance (attendance.c) and pay (pay.c) are applied by the functions
 * of those files, listed here in the one projection "hr".
 *
 * Personal data. An employee's name is opened with the person's key (personal.c,
 * fofal_apply_open) because the floor shows it; the other personal fields are kept sealed
 * as they came, for fofal-api to open for the roles that see them. Once the person is
 * erased (their key deleted before employee_erased reached the log) the name reads
 * "erased", in the live projection and in every rebuild from then on.
 *
 * Other modules' reads join these tables (production's weaver view and labels show a
 * weaver's name and shift; reading is allowed, only this projection writes them). Other
 * projections do not: they run at their own pace on their own topics, and what they need
 * of an employee at a moment comes in their own events (a declaration carries its weaver
 * and shift).
 *
 * Each apply function is a deterministic function of its event (times from its envelope),
 * so a rebuild yields the same rows.
 */
#include "hr_apply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void push(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) { fofal_apply_push(ctx, ev, "hr"); }


/* The sealed personal fields the read model keeps sealed (personal.c), as a JSON object
 * text (new). */
static char *sealed_fields(const json_t *data) {
  static const char *const keep[] = {"phone", "national_id", "bank_account", "salary"};
  json_t *o = json_object();
  for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
    json_t *v = json_object_get(data, keep[i]);
    if (fofal_pd_is_sealed(v)) json_object_set(o, keep[i], v);
  }
  char *s = fofal_json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(o);
  return s;
}

/* Registered or updated: the name opened (the floor shows it), the other personal fields
 * as they came, sealed. sql's parameters: tenant, badge, name, job, version, sealed fields
 * (JSON), then — when nparams is 8 — the time and the person id. */
static int employee_write(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, const char *sql, int nparams) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  json_t *open;
  int rc = fofal_apply_open(ctx, ev, &open);
  if (rc) return rc;
  char *sealed = sealed_fields(ev->data);
  const char *params[] = {ev->tenant, fofal_ev_str(ev->data, "badge"), fofal_ev_str(open, "name"), fofal_ev_str(ev->data, "job"), m.seq, sealed,
                          m.at, ev->subject};
  rc = fofal_apply_sql(ctx, sql, nparams, params);
  free(sealed);
  json_decref(open);
  if (rc) return rc;
  push(ctx, ev);
  return 0;
}

static int employee_registered(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  return employee_write(ctx, ev,
                        "INSERT INTO %s.employees (tenant, badge, name, job, version, personal, registered_at, person_id) "
                        "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8::uuid)",
                        8);
}

static int employee_updated(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  return employee_write(ctx, ev,
                        "UPDATE %s.employees SET name = coalesce($3, name), job = coalesce($4, job), version = $5, "
                        "personal = personal || $6::jsonb WHERE tenant = $1 AND badge = $2",
                        6);
}

/* The key is already gone; the read model forgets what it had opened. */
static int employee_erased(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const char *params[] = {ev->tenant, fofal_ev_str(ev->data, "badge"), m.seq, m.at};
  int rc = fofal_apply_sql(ctx,
                           "UPDATE %s.employees SET name = '" FOFAL_PD_ERASED "', personal = '{}'::jsonb, version = $3, "
                           "erased_at = $4 WHERE tenant = $1 AND badge = $2",
                           4, params);
  if (rc) return rc;
  push(ctx, ev);
  return 0;
}

static int shift_assigned(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  char *looms = fofal_ev_jtext(ev->data, "looms");
  const char *params[] = {ev->tenant, fofal_ev_str(ev->data, "badge"), fofal_ev_str(ev->data, "shift"), fofal_ev_str(ev->data, "starts_at"),
                          fofal_ev_str(ev->data, "ends_at"), looms ? looms : "[]", m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.shift_assignments (tenant, badge, shift, starts_at, ends_at, looms, assigned_at) "
                           "VALUES ($1, $2, $3, $4, $5, ARRAY(SELECT jsonb_array_elements_text($6::jsonb)), $7)",
                           7, params);
  free(looms);
  if (rc) return rc;
  push(ctx, ev);
  return 0;
}

/* The model may be defined again (shift_model_redefined): the row holds the latest
 * definition, also while it waits for its effective_from; the decider keeps the versions. */
static int shift_model_defined(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  char b1[40];
  char *shifts = fofal_ev_jtext(ev->data, "shifts"), *days = fofal_ev_jtext(ev->data, "working_days");
  const char *params[] = {ev->tenant, fofal_ev_str(ev->data, "model") ? fofal_ev_str(ev->data, "model") : "default",
                          fofal_ev_num(ev->data, "utc_offset_min", b1) ? b1 : "0", shifts ? shifts : "[]", days, m.seq, m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.shift_models (tenant, model, utc_offset_min, shifts, working_days, version, "
                           "defined_at) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7) ON CONFLICT (tenant, model) DO "
                           "UPDATE SET utc_offset_min = EXCLUDED.utc_offset_min, shifts = EXCLUDED.shifts, working_days = "
                           "EXCLUDED.working_days, version = EXCLUDED.version, defined_at = EXCLUDED.defined_at",
                           7, params);
  free(shifts);
  free(days);
  if (rc) return rc;
  push(ctx, ev);
  return 0;
}

static const fofal_apply_t applies[] = {
    {"fofal.hr.employee_registered.v1", employee_registered},
    {"fofal.hr.employee_updated.v1", employee_updated},
    {"fofal.hr.employee_erased.v1", employee_erased},
    {"fofal.hr.shift_assigned.v1", shift_assigned},
    {"fofal.hr.shift_model_defined.v1", shift_model_defined},
    {"fofal.hr.shift_model_redefined.v1", shift_model_defined},
    {"fofal.hr.clocked_in.v1", fofal__hr_clocked_in},
    {"fofal.hr.clocked_out.v1", fofal__hr_clocked_out},
    {"fofal.hr.absence_recorded.v1", fofal__hr_absence_recorded},
    {"fofal.hr.piece_rate_set.v1", fofal__hr_piece_rate_set},
    {"fofal.hr.pay_accrued.v1", fofal__hr_pay_accrued},
    {"fofal.hr.pay_period_closed.v1", fofal__hr_pay_period_closed},
    {"fofal.hr.pay_period_accrued.v1", fofal__hr_pay_period_accrued},
};

static const char *const tables[] = {"employees", "shift_assignments", "shift_models", "clockings",
                                     "absences",  "piece_rates",       "pay_lines",    "pay_periods", NULL};

static const fofal_projection_def_t projection = {
    .name = "hr",
    .module = "hr",
    .pg_schema = "hr",
    .tables = tables,
    .applies = applies,
    .napplies = sizeof applies / sizeof applies[0],
};

/* The module's registration (projections.h, "modules"); audited, as every module is by
 * default (projection "audit.hr"; personal fields stay sealed there as in the events). */
static const fofal_projection_def_t *const projections[] = {&projection, NULL};
const fofal_projection_module_t fofal_module_hr_projections = {
    .name = "hr",
    .projections = projections,
};
