/*
 * control.c — the management-control module's projection: every amount a budget line
 * was given, with when (schema control, schemas/control/096_control.sql), the budgets'
 * status, and a WebSocket push per applied event. A line's amount as of an instant is its
 * latest row set by then, so nothing is ever updated but the budget's status.
 *
 * Each apply function is a deterministic function of its event (times from its envelope),
 * so a rebuild yields the same rows; it reads only its own topic.
 */
#include "projections.h"

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

static const fofal_apply_t applies[] = {
    {"fofal.control.budget_set.v1", budget_set},
    {"fofal.control.budget_closed.v1", budget_closed},
};

static const char *const tables[] = {"budget_lines", "budgets", NULL};

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
