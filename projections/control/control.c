/*
 * control.c — the management-control module's projection: every amount a budget line
 * was given, with when (schema control, schemas/control/096_control.sql), the budgets'
 * status, and a WebSocket push per applied event. A line's amount as of an instant is its
 * latest row set by then, so nothing is ever updated but the budget's status.
 *
 * The facts of other modules' events (fact_recorded, taken by the reaction
 * control.facts_from_events) go to one table per kind (schemas/control/097_control_facts.sql),
 * keyed so that applying one twice writes one row; they are not pushed (a loom's stops are
 * many). The reads compute costs, yields and losses from them (api/control/). What the
 * tenant sets for costing (machine rates, overheads, standard costs) is one row per key,
 * replaced when set again (schemas/control/098_control_costing.sql).
 *
 * Each apply function is a deterministic function of its event (times from its envelope),
 * so a rebuild yields the same rows; it reads only its own topic.
 */
#include "projections.h"

#include <string.h>

static int budget_row(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, const fofal_ev_meta_t *m, const char *status,
                      const char *closed_at) {
  const char *p[] = {ev->tenant, fofal_ev_str(ev->data, "year"), status, closed_at, m->seq};
  return fofal_apply_sql(ctx,
                         "INSERT INTO %s.budgets (tenant, year, status, closed_at, version) VALUES ($1, $2, $3, $4, $5) "
                         "ON CONFLICT (tenant, year) DO UPDATE SET status = excluded.status, closed_at = "
                         "excluded.closed_at, version = excluded.version",
                         5, p);
}

static int budget_set(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char amount[40];
  const char *p[] = {ev->tenant,
                     fofal_ev_str(d, "year"),
                     fofal_ev_str(d, "cost_centre"),
                     fofal_ev_str(d, "account"),
                     fofal_ev_str(d, "month"),
                     fofal_ev_num(d, "amount_minor", amount),
                     m.at,
                     fofal_ev_str(d, "set_by"),
                     ev->id};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.budget_lines (tenant, year, cost_centre, account, month, amount_minor, set_at, "
                           "set_by, event_id) VALUES ($1, $2, $3, $4, $5, $6::bigint, $7, $8, $9::uuid)",
                           9, p);
  if (!rc) rc = budget_row(ctx, ev, &m, "open", NULL);
  if (!rc) fofal_apply_push(ctx, ev, "control");
  return rc;
}

static int budget_closed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  int rc = budget_row(ctx, ev, &m, "closed", m.at);
  if (!rc) fofal_apply_push(ctx, ev, "control");
  return rc;
}

#define INS(table, cols, vals, key) \
  "INSERT INTO %s." table " (" cols ") VALUES (" vals ") ON CONFLICT (" key ") DO NOTHING"

static int fact_recorded(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  const json_t *d = ev->data;
  const char *kind = fofal_ev_str(d, "kind"), *t = ev->tenant;
  const char *src = fofal_ev_str(d, "source_event") ? fofal_ev_str(d, "source_event") : ev->id; /* the trigger's id */
  char a[40], b[40], c[40], e[40], f[40];
  int rc = 0;
  size_t i;
  const json_t *x;
  if (!kind) return 0;
  if (!strcmp(kind, "receipt_priced")) {
    json_array_foreach(json_object_get(d, "lines"), i, x) {
      const char *p[] = {t, fofal_ev_str(d, "receipt_id"), fofal_ev_num(x, "line", a), fofal_ev_str(x, "unit"),
                         fofal_ev_num(x, "unit_price", b), fofal_ev_str(x, "item")};
      if ((rc = fofal_apply_sql(ctx,
                                INS("fact_receipt_lines", "tenant, receipt_id, line, unit, unit_price, item",
                                    "$1, $2, $3::int, $4, $5::bigint, $6", "tenant, receipt_id, line"),
                                6, p)))
        break;
    }
  } else if (!strcmp(kind, "receipt_stocked")) {
    json_array_foreach(json_object_get(d, "lots"), i, x) {
      const char *p[] = {t, fofal_ev_str(x, "lot"), fofal_ev_str(d, "receipt_id"), fofal_ev_num(x, "line", a),
                         fofal_ev_num(x, "weight_g", b)};
      if ((rc = fofal_apply_sql(ctx,
                                INS("fact_lots", "tenant, lot, receipt_id, line, weight_g", "$1, $2, $3, $4::int, $5::bigint",
                                    "tenant, lot"),
                                5, p)))
        break;
    }
  } else if (!strcmp(kind, "lot_issued")) {
    const char *p[] = {t, src, fofal_ev_str(d, "beam"), fofal_ev_str(d, "lot"), fofal_ev_num(d, "weight_g", a)};
    rc = fofal_apply_sql(ctx,
                         INS("fact_beam_lots", "tenant, event_id, beam, lot, weight_g", "$1, $2::uuid, $3, $4, $5::bigint",
                             "tenant, event_id"),
                         5, p);
  } else if (!strcmp(kind, "beam_warped")) {
    const char *p[] = {t, src, fofal_ev_str(d, "beam"), fofal_ev_num(d, "length_mm", a), fofal_ev_str(d, "article")};
    rc = fofal_apply_sql(ctx,
                         INS("fact_beams", "tenant, event_id, beam, length_mm, article", "$1, $2::uuid, $3, $4::bigint, $5",
                             "tenant, event_id"),
                         5, p);
  } else if (!strcmp(kind, "output_declared")) {
    const char *label = fofal_ev_str(d, "label_id");
    const char *p[] = {t,
                       label,
                       fofal_ev_str(d, "order_id"),
                       fofal_ev_str(d, "article"),
                       fofal_ev_str(d, "loom"),
                       fofal_ev_str(d, "weaver"),
                       fofal_ev_str(d, "month"),
                       fofal_ev_num(d, "quantity", a),
                       fofal_ev_num(d, "length_mm", b),
                       fofal_ev_str(d, "shift"),
                       fofal_ev_str(d, "at")};
    rc = fofal_apply_sql(ctx,
                         INS("fact_outputs",
                             "tenant, label_id, order_id, article, loom, weaver, month, quantity, length_mm, shift, woven_at",
                             "$1, $2::uuid, $3::uuid, $4, $5, $6, $7, $8::bigint, $9::bigint, $10, $11::timestamptz",
                             "tenant, label_id"),
                         11, p);
    json_array_foreach(json_object_get(d, "beams"), i, x) {
      if (rc) break;
      const char *q[] = {t, label, fofal_ev_str(x, "beam"), fofal_ev_num(x, "meters_mm", c)};
      rc = fofal_apply_sql(ctx,
                           INS("fact_output_beams", "tenant, label_id, beam, meters_mm", "$1, $2::uuid, $3, $4::bigint",
                               "tenant, label_id, beam"),
                           4, q);
    }
  } else if (!strcmp(kind, "pay_accrued")) {
    const char *p[] = {t,
                       src,
                       fofal_ev_str(d, "order_id"),
                       fofal_ev_str(d, "label_id"),
                       fofal_ev_str(d, "article"),
                       fofal_ev_str(d, "badge"),
                       fofal_ev_str(d, "role"),
                       fofal_ev_str(d, "month"),
                       fofal_ev_num(d, "amount_minor", a)};
    rc = fofal_apply_sql(ctx,
                         INS("fact_labour", "tenant, event_id, order_id, label_id, article, badge, role, month, amount_minor",
                             "$1, $2::uuid, $3::uuid, $4::uuid, $5, $6, $7, $8, $9::bigint", "tenant, event_id"),
                         9, p);
  } else if (!strcmp(kind, "roll_cut")) {
    const char *label = fofal_ev_str(d, "label_id");
    const char *p[] = {t,
                       label,
                       fofal_ev_str(d, "order_id"),
                       fofal_ev_str(d, "article"),
                       fofal_ev_str(d, "loom"),
                       fofal_ev_str(d, "weaver"),
                       fofal_ev_str(d, "month"),
                       fofal_ev_num(d, "first_choice", a),
                       fofal_ev_num(d, "second_choice", b),
                       fofal_ev_num(d, "waste_pieces", c),
                       fofal_ev_num(d, "waste_mm", e),
                       fofal_ev_num(d, "waste_g", f)};
    rc = fofal_apply_sql(
        ctx,
        INS("fact_cuts",
            "tenant, label_id, order_id, article, loom, weaver, month, first_choice, second_choice, waste_pieces, "
            "waste_mm, waste_g",
            "$1, $2::uuid, $3::uuid, $4, $5, $6, $7, $8::bigint, $9::bigint, $10::bigint, coalesce($11::bigint, 0), "
            "coalesce($12::bigint, 0)",
            "tenant, label_id"),
        12, p);
    json_array_foreach(json_object_get(d, "lots"), i, x) {
      if (rc) break;
      char n[24];
      snprintf(n, sizeof n, "%zu", i);
      const char *q[] = {t, label, n, fofal_ev_str(x, "grade"), fofal_ev_num(x, "pieces", a)};
      rc = fofal_apply_sql(ctx,
                           INS("fact_cut_lots", "tenant, label_id, n, grade, pieces", "$1, $2::uuid, $3::int, $4, $5::bigint",
                               "tenant, label_id, n"),
                           5, q);
    }
  } else if (!strcmp(kind, "loom_stop")) {
    const char *p[] = {t,
                       src,
                       fofal_ev_str(d, "loom"),
                       fofal_ev_str(d, "cause"),
                       fofal_ev_num(d, "stopped_s", a),
                       json_is_true(json_object_get(d, "after_breakdown")) ? "true" : "false",
                       fofal_ev_str(d, "at"),
                       fofal_ev_str(d, "month")};
    rc = fofal_apply_sql(ctx,
                         INS("fact_stops", "tenant, event_id, loom, cause, stopped_s, after_breakdown, at, month",
                             "$1, $2::uuid, $3, $4, $5::bigint, $6::boolean, $7::timestamptz, $8", "tenant, event_id"),
                         8, p);
  } else if (!strcmp(kind, "subcontract_returned")) {
    json_array_foreach(json_object_get(d, "costs"), i, x) {
      const char *p[] = {t,
                         fofal_ev_str(d, "return_id"),
                         fofal_ev_str(x, "label_id"),
                         fofal_ev_str(d, "dispatch_id"),
                         fofal_ev_str(d, "subcontractor"),
                         fofal_ev_str(d, "operation"),
                         fofal_ev_str(d, "month"),
                         fofal_ev_num(x, "cost_minor", a)};
      if ((rc = fofal_apply_sql(ctx,
                                INS("fact_subcontracting",
                                    "tenant, return_id, label_id, dispatch_id, subcontractor, operation, month, cost_minor",
                                    "$1, $2::uuid, $3::uuid, $4::uuid, $5, $6, $7, $8::bigint", "tenant, return_id, label_id"),
                                8, p)))
        break;
    }
  }
  return rc;
}

/* What the tenant sets for costing (schemas/control/098_control_costing.sql): a row per
 * rate (code, day), overhead pool (month, pool) and article; set again, the row takes the
 * new values, so applying an event twice or in a rebuild gives the same row. Not pushed:
 * the cost reads they change are computed at read time. */
static int machine_rate_set(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char rate[40];
  const char *p[] = {ev->tenant, fofal_ev_str(d, "of"), fofal_ev_str(d, "code"), fofal_ev_str(d, "valid_from"),
                     fofal_ev_num(d, "rate_minor_per_hour", rate), m.at, fofal_ev_str(d, "set_by"), ev->id};
  return fofal_apply_sql(ctx,
                         "INSERT INTO %s.machine_rates (tenant, rate_of, code, valid_from, rate_minor_per_hour, set_at, set_by, "
                         "event_id) VALUES ($1, $2, $3, $4::date, $5::bigint, $6, $7, $8::uuid) ON CONFLICT (tenant, rate_of, "
                         "code, valid_from) DO UPDATE SET rate_minor_per_hour = excluded.rate_minor_per_hour, set_at = "
                         "excluded.set_at, set_by = excluded.set_by, event_id = excluded.event_id",
                         8, p);
}

static int overhead_set(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char amount[40];
  const char *p[] = {ev->tenant, fofal_ev_str(d, "month"), fofal_ev_str(d, "pool"), fofal_ev_str(d, "key"),
                     fofal_ev_num(d, "amount_minor", amount), m.at, fofal_ev_str(d, "set_by"), ev->id};
  return fofal_apply_sql(ctx,
                         "INSERT INTO %s.overheads (tenant, month, pool, key, amount_minor, set_at, set_by, event_id) "
                         "VALUES ($1, $2, $3, $4, $5::bigint, $6, $7, $8::uuid) ON CONFLICT (tenant, month, pool) DO "
                         "UPDATE SET key = excluded.key, amount_minor = excluded.amount_minor, set_at = excluded.set_at, "
                         "set_by = excluded.set_by, event_id = excluded.event_id",
                         8, p);
}

static int standard_cost_set(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char y[40], l[40], mc[40], o[40];
  const char *p[] = {ev->tenant,
                     fofal_ev_str(d, "article"),
                     fofal_ev_str(d, "per"),
                     fofal_ev_num(d, "yarn_minor", y),
                     fofal_ev_num(d, "labour_minor", l),
                     fofal_ev_num(d, "machine_minor", mc),
                     fofal_ev_num(d, "overhead_minor", o),
                     m.at,
                     fofal_ev_str(d, "set_by"),
                     ev->id};
  return fofal_apply_sql(ctx,
                         "INSERT INTO %s.standard_costs (tenant, article, per, yarn_minor, labour_minor, machine_minor, "
                         "overhead_minor, set_at, set_by, event_id) VALUES ($1, $2, $3, $4::bigint, $5::bigint, "
                         "$6::bigint, $7::bigint, $8, $9, $10::uuid) ON CONFLICT (tenant, article) DO UPDATE SET per = "
                         "excluded.per, yarn_minor = excluded.yarn_minor, labour_minor = excluded.labour_minor, "
                         "machine_minor = excluded.machine_minor, overhead_minor = excluded.overhead_minor, set_at = "
                         "excluded.set_at, set_by = excluded.set_by, event_id = excluded.event_id",
                         10, p);
}
/* The monthly reports (reports.c). */
int fofal__control_report_generated(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);

/* The tenant's loss settings (schemas/control/102_control_startup.sql): one row, replaced. */
static int loss_settings_set(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char w[40];
  const char *p[] = {ev->tenant, fofal_ev_num(d, "startup_window_min", w), m.at, fofal_ev_str(d, "set_by"), ev->id};
  return fofal_apply_sql(ctx,
                         "INSERT INTO %s.loss_settings (tenant, startup_window_min, set_at, set_by, event_id) VALUES ($1, "
                         "$2::int, $3, $4, $5::uuid) ON CONFLICT (tenant) DO UPDATE SET startup_window_min = "
                         "excluded.startup_window_min, set_at = excluded.set_at, set_by = excluded.set_by, event_id = "
                         "excluded.event_id",
                         5, p);
}

static const fofal_apply_t applies[] = {
    {"fofal.control.loss_settings_set.v1", loss_settings_set},
    {"fofal.control.machine_rate_set.v1", machine_rate_set},
    {"fofal.control.overhead_set.v1", overhead_set},
    {"fofal.control.standard_cost_set.v1", standard_cost_set},
    {"fofal.control.budget_set.v1", budget_set},
    {"fofal.control.budget_closed.v1", budget_closed},
    {"fofal.control.fact_recorded.v1", fact_recorded},
    {"fofal.control.report_generated.v1", fofal__control_report_generated},
};

static const char *const tables[] = {"budget_lines",     "budgets",    "fact_receipt_lines", "fact_lots",
                                     "fact_beam_lots",   "fact_beams", "fact_outputs",       "fact_output_beams",
                                     "fact_labour",      "fact_cuts",  "fact_cut_lots",      "fact_stops",
                                     "fact_subcontracting", "machine_rates", "overheads",    "standard_costs",
                                     "loss_settings",    "reports",    NULL};

static const fofal_projection_def_t projection = {
    .name = "control",
    .module = "control",
    .pg_schema = "control",
    .tables = tables,
    .applies = applies,
    .napplies = sizeof applies / sizeof applies[0],
};

/* The module's registration (projections.h, "modules"); audited by default
 * (projection "audit.control"). */
static const fofal_projection_def_t *const projections[] = {&projection, NULL};
const fofal_projection_module_t fofal_module_control_projections = {
    .name = "control",
    .projections = projections,
};
