/*
 * projects.c — the projects module's projection: projects, their tasks, the hours and
 * costs booked to them into PostgreSQL (schema projects,
 * schemas/projects/095_projects.sql), and a WebSocket push per applied event.
 *
 * Each apply function is a deterministic function of its event (times from its envelope
 * or its data), so a rebuild yields the same rows; it reads only its own topic. A
 * booking's row is keyed by its event's id: hours and costs only add up.
 */
#include "projections.h"

static int pushed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, int rc) {
  if (!rc) fofal_apply_push(ctx, ev, "projects");
  return rc;
}

/* The project's version and time follow every event of it. */
static int touch(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, const fofal_ev_meta_t *m) {
  const char *p[] = {ev->tenant, fofal_ev_str(ev->data, "project"), m->seq};
  return fofal_apply_sql(ctx, "UPDATE %s.projects SET version = $3 WHERE tenant = $1 AND project = $2", 3, p);
}

static int project_created(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char budget_buf[40];
  const char *p[] = {ev->tenant,
                     fofal_ev_str(d, "project"),
                     fofal_ev_str(d, "name"),
                     fofal_ev_str(d, "kind"),
                     fofal_ev_str(d, "owner"),
                     fofal_ev_str(d, "start"),
                     fofal_ev_str(d, "due"),
                     fofal_ev_num(d, "budget_minor", budget_buf),
                     fofal_ev_str(d, "currency"),
                     fofal_ev_str(d, "description"),
                     fofal_ev_str(d, "created_by"),
                     m.at,
                     m.seq};
  return pushed(ctx, ev,
                fofal_apply_sql(ctx,
                                "INSERT INTO %s.projects (tenant, project, name, kind, owner, start_date, due_date, "
                                "budget_minor, currency, description, status, created_by, created_at, version) VALUES ($1, "
                                "$2, $3, $4, $5, $6::date, $7::date, $8::bigint, $9, $10, 'open', $11, $12, $13)",
                                13, p));
}

static int task_added(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  const char *p[] = {ev->tenant,          fofal_ev_str(d, "project"), fofal_ev_str(d, "task"), fofal_ev_str(d, "title"),
                     fofal_ev_str(d, "owner"), fofal_ev_str(d, "start"), fofal_ev_str(d, "due"), m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.tasks (tenant, project, task, title, owner, start_date, due_date, state, "
                           "added_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6::date, $7::date, 'todo', $8, $8)",
                           8, p);
  if (!rc) rc = touch(ctx, ev, &m);
  return pushed(ctx, ev, rc);
}

static int task_state_changed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  const char *at = fofal_ev_str(d, "at") ? fofal_ev_str(d, "at") : m.at;
  const char *p[] = {ev->tenant, fofal_ev_str(d, "project"), fofal_ev_str(d, "task"), fofal_ev_str(d, "state"), at};
  int rc = fofal_apply_sql(ctx,
                           "UPDATE %s.tasks SET state = $4, updated_at = $5 WHERE tenant = $1 AND project = $2 AND task = $3",
                           5, p);
  if (!rc) rc = touch(ctx, ev, &m);
  return pushed(ctx, ev, rc);
}

static int hours_booked(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char minutes_buf[40];
  const char *p[] = {ev->tenant,
                     ev->id,
                     fofal_ev_str(d, "project"),
                     fofal_ev_str(d, "task"),
                     fofal_ev_str(d, "badge"),
                     fofal_ev_str(d, "date"),
                     fofal_ev_num(d, "minutes", minutes_buf),
                     fofal_ev_str(d, "note"),
                     fofal_ev_str(d, "booked_by"),
                     m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.hours (tenant, event_id, project, task, badge, day, minutes, note, booked_by, "
                           "booked_at) VALUES ($1, $2::uuid, $3, $4, $5, $6::date, $7::integer, $8, $9, $10)",
                           10, p);
  if (!rc) rc = touch(ctx, ev, &m);
  return pushed(ctx, ev, rc);
}

static int cost_booked(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char amount_buf[40];
  const char *p[] = {ev->tenant,
                     ev->id,
                     fofal_ev_str(d, "project"),
                     fofal_ev_str(d, "task"),
                     fofal_ev_str(d, "date"),
                     fofal_ev_num(d, "amount_minor", amount_buf),
                     fofal_ev_str(d, "source"),
                     fofal_ev_str(d, "reference"),
                     fofal_ev_str(d, "note"),
                     fofal_ev_str(d, "booked_by"),
                     m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.costs (tenant, event_id, project, task, day, amount_minor, source, reference, "
                           "note, booked_by, booked_at) VALUES ($1, $2::uuid, $3, $4, $5::date, $6::bigint, $7, $8, $9, "
                           "$10, $11)",
                           11, p);
  if (!rc) rc = touch(ctx, ev, &m);
  return pushed(ctx, ev, rc);
}

static int project_closed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  const char *at = fofal_ev_str(d, "closed_at") ? fofal_ev_str(d, "closed_at") : m.at;
  const char *p[] = {ev->tenant, fofal_ev_str(d, "project"), at, m.seq};
  return pushed(ctx, ev,
                fofal_apply_sql(ctx,
                                "UPDATE %s.projects SET status = 'closed', closed_at = $3, version = $4 WHERE tenant = $1 "
                                "AND project = $2",
                                4, p));
}

static const fofal_apply_t applies[] = {
    {"fofal.projects.project_created.v1", project_created},
    {"fofal.projects.task_added.v1", task_added},
    {"fofal.projects.task_state_changed.v1", task_state_changed},
    {"fofal.projects.hours_booked.v1", hours_booked},
    {"fofal.projects.cost_booked.v1", cost_booked},
    {"fofal.projects.project_closed.v1", project_closed},
};

static const char *const tables[] = {"projects", "tasks", "hours", "costs", NULL};

static const fofal_projection_def_t projection = {
    .name = "projects",
    .module = "projects",
    .pg_schema = "projects",
    .tables = tables,
    .applies = applies,
    .napplies = sizeof applies / sizeof applies[0],
};

/* The module's registration (projections.h, "modules"); audited by default
 * (projection "audit.projects"). */
static const fofal_projection_def_t *const projections[] = {&projection, NULL};
const fofal_projection_module_t fofal_module_projects_projections = {
    .name = "projects",
    .projections = projections,
};
