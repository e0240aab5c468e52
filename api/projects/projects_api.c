/*
 * projects_api.c — the projects module's reads: projects with their progress and budget
 * consumption, one project whole, and tasks by owner (the overdue ones listed for their
 * owner).
 *
 *   GET /api/v1/projects/projects?status=&limit=&cursor=
 *                                       by code, each with its progress (tasks done of
 *                                       those not cancelled), hours, costs, budget
 *                                       consumption and overdue tasks
 *   GET /api/v1/projects/projects/{code}
 *                                       one project: the same figures, its tasks, hours
 *                                       per person, its costs (ETag)
 *   GET /api/v1/projects/tasks?owner=&overdue=&limit=&cursor=
 *                                       tasks by due date; someone who does not plan
 *                                       (not planner, manager, admin, auditor) sees only
 *                                       the tasks they own (their token's badge)
 *
 * A task is overdue when it is neither done nor cancelled and its due date has passed;
 * that is a read, not an event. The rows are the projects projection's
 * (schemas/projects/095_projects.sql); the engine (api/reads.c) runs the queries on a
 * read worker and waits for ?position=. One table (routes[]) gives every route its path,
 * roles, parameters and answer; the handler's role check and the OpenAPI document read it.
 *
 * Threads: the handler runs on the loop thread, run() on a read worker with a copy of
 * params_t; the routes table and the OpenAPI text are read-only.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LIMIT 50
#define MAX_LIMIT 200
#define MAX_CURSOR 256

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

#define ROLES_PROJECTS "planner manager accountant auditor admin"
#define ROLES_TASKS                                                                                                    \
  "weaver cutter mechanic storekeeper_mp storekeeper_pf storekeeper_st quality planner manager accountant hr auditor " \
  "admin"
/* Who sees every task; anyone else only their own. */
static const char *const all_tasks_roles[] = {"planner", "manager", "auditor", "admin", NULL};

#define OPEN_TASK "t.state NOT IN ('done', 'cancelled')"

/* A project p with its figures. */
#define PROJECT_COLS                                                                                                   \
  "json_build_object('project', p.project, 'name', p.name, 'kind', p.kind, 'owner', p.owner, 'start', p.start_date, " \
  "'due', p.due_date, 'status', p.status, 'currency', p.currency, 'description', p.description, 'created_by', "        \
  "p.created_by, 'created_at', " TS("p.created_at") ", 'closed_at', " TS("p.closed_at") ", 'version', p.version, "     \
  "'budget_minor', p.budget_minor, 'costs_minor', c.costs, 'remaining_minor', p.budget_minor - c.costs, "              \
  "'consumed', CASE WHEN p.budget_minor > 0 THEN round(c.costs::numeric / p.budget_minor, 4) END, 'minutes', "        \
  "h.minutes, 'tasks', t.total, 'tasks_done', t.done, 'progress', CASE WHEN t.total - t.cancelled > 0 THEN "          \
  "round(t.done::numeric / (t.total - t.cancelled), 4) END, 'overdue_tasks', t.overdue, 'late', (p.status = 'open' "  \
  "AND p.due_date < current_date))"

#define PROJECT_FROM                                                                                                   \
  " FROM projects.projects p CROSS JOIN LATERAL (SELECT coalesce(sum(x.amount_minor), 0)::bigint AS costs FROM "       \
  "projects.costs x WHERE x.tenant = p.tenant AND x.project = p.project) c CROSS JOIN LATERAL (SELECT "                \
  "coalesce(sum(x.minutes), 0)::bigint AS minutes FROM projects.hours x WHERE x.tenant = p.tenant AND x.project = "    \
  "p.project) h CROSS JOIN LATERAL (SELECT count(*) AS total, count(*) FILTER (WHERE t.state = 'done') AS done, "      \
  "count(*) FILTER (WHERE t.state = 'cancelled') AS cancelled, count(*) FILTER (WHERE " OPEN_TASK " AND t.due_date < " \
  "current_date) AS overdue FROM projects.tasks t WHERE t.tenant = p.tenant AND t.project = p.project) t"

#define TASK_COLS                                                                                                      \
  "json_build_object('project', t.project, 'task', t.task, 'title', t.title, 'owner', t.owner, 'start', t.start_date, " \
  "'due', t.due_date, 'state', t.state, 'overdue', (" OPEN_TASK " AND t.due_date < current_date), 'updated_at', "      \
  TS("t.updated_at") ")"

enum { R_PROJECTS, R_PROJECT, R_TASKS, R_N };
#define F_PAGE 1     /* limit and cursor */
#define F_STATUS 2   /* status */
#define F_TASKS 4    /* owner, overdue */

static const fofal_read_route_t routes[R_N] = {
    [R_PROJECTS] = {"/api/v1/projects/projects", "projects.projects.list", "Projects with their progress and budget.",
                    "By code, keyset-paginated; each with its progress (tasks done of those not cancelled), minutes "
                    "booked, costs and what remains of the budget (minor units), the share consumed, its overdue tasks "
                    "and whether it is late (open past its due date).",
                    ROLES_PROJECTS, NULL, F_PAGE | F_STATUS, "ProjectPage"},
    [R_PROJECT] = {"/api/v1/projects/projects/{code}", "projects.projects.get", "One project.",
                   "Its figures as in the list, its tasks (by due date), the minutes booked per person and its costs "
                   "(newest first, at most 500); ETag is its version.",
                   ROLES_PROJECTS, NULL, 0, "Project"},
    [R_TASKS] = {"/api/v1/projects/tasks", "projects.tasks.list", "Tasks by owner and due date.",
                 "By due date, keyset-paginated; overdue=true only those neither done nor cancelled past their due date. "
                 "Planners, managers, auditors and admins see every task (owner= narrows); anyone else sees the tasks "
                 "they own (their token's badge; none without one) and gets 403 for another owner's.",
                 ROLES_TASKS, NULL, F_PAGE | F_TASKS, "TaskPage"},
};

typedef struct {
  int route;
  char key[72];
  char status[16], owner[72];
  int limit, has_after, overdue, none;
  char after[72], after2[72], after3[72];
} params_t;

/* ------------------------------------------------------------------ run */

static void run(fofal_worker_t *w, const char *tenant, void *opaque, fofal__read_result_t *res) {
  const params_t *p = opaque;
  char lim[16], err[512];
  json_t *rows = NULL;
  int rc;
  snprintf(lim, sizeof lim, "%d", p->limit + 1);
  const char *after = p->has_after ? p->after : NULL;
  if (p->route == R_PROJECTS) {
    const char *params[] = {tenant, p->status[0] ? p->status : NULL, after, lim};
    rc = fofal__worker_query(w, tenant,
                             "SELECT " PROJECT_COLS PROJECT_FROM " WHERE p.tenant = $1 AND ($2::text IS NULL OR p.status = "
                             "$2) AND ($3::text IS NULL OR p.project > $3) ORDER BY p.project LIMIT $4::int",
                             4, params, &rows, err, sizeof err);
  } else if (p->route == R_PROJECT) {
    const char *params[] = {tenant, p->key};
    rc = fofal__worker_query(
        w, tenant,
        "SELECT " PROJECT_COLS "::jsonb || jsonb_build_object('task_list', coalesce((SELECT json_agg(" TASK_COLS
        " ORDER BY t.due_date, t.task) FROM projects.tasks t WHERE t.tenant = p.tenant AND t.project = p.project), "
        "'[]'::json), 'hours', coalesce((SELECT json_agg(json_build_object('badge', x.badge, 'minutes', x.minutes) ORDER "
        "BY x.badge) FROM (SELECT badge, sum(minutes)::bigint AS minutes FROM projects.hours WHERE tenant = p.tenant AND "
        "project = p.project GROUP BY badge) x), '[]'::json), 'costs', coalesce((SELECT json_agg(json_build_object('date', "
        "x.day, 'amount_minor', x.amount_minor, 'source', x.source, 'reference', x.reference, 'task', x.task, 'note', "
        "x.note, 'booked_by', x.booked_by) ORDER BY x.day DESC, x.event_id DESC) FROM (SELECT * FROM projects.costs WHERE "
        "tenant = p.tenant AND project = p.project ORDER BY day DESC, event_id DESC LIMIT 500) x), '[]'::json))" PROJECT_FROM
        " WHERE p.tenant = $1 AND p.project = $2",
        2, params, &rows, err, sizeof err);
  } else if (p->none) {
    rc = 0;
    rows = json_array();
  } else {
    const char *params[] = {tenant,   p->owner[0] ? p->owner : NULL, p->overdue ? "t" : NULL, after,
                            p->has_after ? p->after2 : NULL, p->has_after ? p->after3 : NULL, lim};
    rc = fofal__worker_query(w, tenant,
                             "SELECT " TASK_COLS " FROM projects.tasks t WHERE t.tenant = $1 AND ($2::text IS NULL OR "
                             "t.owner = $2) AND ($3::text IS NULL OR (" OPEN_TASK " AND t.due_date < current_date)) AND "
                             "($4::date IS NULL OR (t.due_date, t.project, t.task) > ($4::date, $5, $6)) ORDER BY "
                             "t.due_date, t.project, t.task LIMIT $7::int",
                             7, params, &rows, err, sizeof err);
  }
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  static const char *const project_keys[] = {"project", NULL}, *const task_keys[] = {"due", "project", "task", NULL};
  if (p->route == R_PROJECT) fofal__read_one(res, rows, "project", 1);
  else fofal__read_page(res, rows, p->limit, p->route == R_PROJECTS ? project_keys : task_keys);
}

/* -------------------------------------------------------------- routing */

static int match(const char *path, size_t len, params_t *p) {
  static const char base[] = "/api/v1/projects/";
  char s1[32];
  size_t at = sizeof base - 1;
  if (path[len - 1] == '/' || fofal__path_segment(path, len, &at, s1, sizeof s1)) return -1;
  if (!strcmp(s1, "tasks") && at == len) return R_TASKS;
  if (strcmp(s1, "projects")) return -1;
  if (at == len) return R_PROJECTS;
  if (!fofal__path_segment(path, len, &at, p->key, sizeof p->key) && at == len) return R_PROJECT;
  return -1;
}

static int in(const char *const *set, const char *s) {
  for (int i = 0; set[i]; i++)
    if (!strcmp(set[i], s)) return 1;
  return 0;
}

/* The cursor's '|'-separated parts into out[n] (each fits 72 bytes); 0 when it has n. */
static int split_cursor(char *raw, char out[][72], int n) {
  for (int i = 0; i < n; i++) {
    char *bar = i < n - 1 ? strchr(raw, '|') : NULL;
    if (i < n - 1 && !bar) return -1;
    if (bar) *bar = '\0';
    if (strlen(raw) >= 72) return -1;
    snprintf(out[i], 72, "%s", raw);
    raw = bar ? bar + 1 : raw + strlen(raw);
  }
  return strchr(out[n - 1], '|') ? -1 : 0;
}

static int parse(h2o_req_t *req, params_t *p, fofal__perr_t *e) {
  const char *s;
  int fl = routes[p->route].params;
  if ((fl & F_STATUS) && (s = fofal__param(req, "status"))) {
    static const char *const statuses[] = {"open", "closed", NULL};
    if (!in(statuses, s))
      return fofal__perr(e, 400, "invalid_parameter", "status must be open or closed (got \"%.40s\")", s);
    snprintf(p->status, sizeof p->status, "%s", s);
  }
  if (fl & F_TASKS) {
    if ((s = fofal__param(req, "owner"))) {
      if (!fofal_code_valid(s)) return fofal__perr(e, 400, "invalid_parameter", "owner is not a badge (got \"%.40s\")", s);
      snprintf(p->owner, sizeof p->owner, "%s", s);
    }
    if ((s = fofal__param(req, "overdue"))) {
      if (strcmp(s, "true") && strcmp(s, "false"))
        return fofal__perr(e, 400, "invalid_parameter", "overdue is true or false (got \"%.40s\")", s);
      p->overdue = !strcmp(s, "true");
    }
  }
  if (fl & F_PAGE) {
    int rc = fofal__parse_limit(req, DEFAULT_LIMIT, MAX_LIMIT, &p->limit, e);
    if (rc) return rc;
    if ((s = fofal__param(req, "cursor"))) {
      char raw[240], parts[3][72];
      int bad = fofal__decode_cursor(req, s, MAX_CURSOR, raw, sizeof raw);
      if (!bad && p->route == R_PROJECTS) {
        bad = !fofal_code_valid(raw);
        if (!bad) snprintf(p->after, sizeof p->after, "%s", raw);
      } else if (!bad) {
        int64_t us;
        char day[40];
        bad = split_cursor(raw, parts, 3) || strlen(parts[0]) != 10 ||
              (snprintf(day, sizeof day, "%sT00:00:00Z", parts[0]), fofal_time_parse(day, &us)) ||
              !fofal_code_valid(parts[1]) || !fofal_code_valid(parts[2]);
        if (!bad) {
          snprintf(p->after, sizeof p->after, "%s", parts[0]);
          snprintf(p->after2, sizeof p->after2, "%s", parts[1]);
          snprintf(p->after3, sizeof p->after3, "%s", parts[2]);
        }
      }
      if (bad) return fofal__perr(e, 400, "malformed_cursor", "cursor must be a next_cursor returned by this endpoint%s", "");
      p->has_after = 1;
    }
  }
  return 0;
}

static int on_read(h2o_handler_t *self, h2o_req_t *req) {
  fofal_api_t *api = API_OF(self);
  fofal_principal_t who;
  fofal__perr_t e = {0};
  params_t p;
  atomic_fetch_add(&fofal__metrics.requests, 1);
  atomic_fetch_add(&fofal__metrics.reads, 1);
  memset(&p, 0, sizeof p);
  p.route = match(req->path_normalized.base, req->path_normalized.len, &p);
  if (p.route < 0) {
    fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
    return 0;
  }
  if (!fofal__get_only(req) || fofal__authenticate(api, req, &who) ||
      fofal__read_roles_check(req, &who, routes[p.route].roles, routes[p.route].path + sizeof "/api/v1" - 1))
    return 0;
  if (p.route == R_PROJECT && !fofal_code_valid(p.key)) {
    fofal__send_problem(req, 404, "not_found", "no project of this tenant has this code", NULL);
    return 0;
  }
  if (parse(req, &p, &e)) {
    fofal__send_problem(req, e.status, e.code, e.detail, NULL);
    return 0;
  }
  if (p.route == R_TASKS && !in(all_tasks_roles, who.role)) {
    if (p.owner[0] && strcmp(p.owner, who.badge)) {
      fofal__send_problem(req, 403, "forbidden", "you see only the tasks you own", NULL);
      return 0;
    }
    snprintf(p.owner, sizeof p.owner, "%s", who.badge);
    p.none = !who.badge[0]; /* a sign-in without a badge owns no task: an empty page */
  }
  return fofal__read_serve(api, req, &who, 0, run, &p, sizeof p);
}

/* -------------------------------------------------------------- OpenAPI */

#define ANY "{}"
#define INT "{\"type\":\"integer\"}"
#define STR "{\"type\":\"string\"}"
static const struct {
  const char *name, *json;
} schemas_json[] = {
    {"Task", "{\"type\":\"object\",\"properties\":{\"project\":" STR ",\"task\":" STR ",\"title\":" STR ",\"owner\":" STR
             ",\"start\":" STR ",\"due\":" STR ",\"state\":{\"enum\":[\"todo\",\"doing\",\"done\",\"cancelled\"]},"
             "\"overdue\":{\"type\":\"boolean\"},\"updated_at\":" STR "}}"},
    {"Project",
     "{\"type\":\"object\",\"properties\":{\"project\":" STR ",\"name\":" STR ",\"kind\":{\"enum\":[\"collection\","
     "\"installation\",\"audit\",\"other\"]},\"owner\":" STR ",\"start\":" STR ",\"due\":" STR ",\"status\":{\"enum\":["
     "\"open\",\"closed\"]},\"currency\":" STR ",\"description\":" ANY ",\"created_by\":" STR ",\"created_at\":" STR
     ",\"closed_at\":" ANY ",\"version\":" INT ",\"budget_minor\":" INT ",\"costs_minor\":" INT ",\"remaining_minor\":" INT
     ",\"consumed\":" ANY ",\"minutes\":" INT ",\"tasks\":" INT ",\"tasks_done\":" INT ",\"progress\":" ANY
     ",\"overdue_tasks\":" INT ",\"late\":{\"type\":\"boolean\"},\"task_list\":{\"type\":\"array\",\"items\":{\"$ref\":"
     "\"#/components/schemas/Task\"},\"description\":\"Only in GET /projects/{code}.\"},\"hours\":{\"type\":\"array\","
     "\"description\":\"Minutes per person; only in GET /projects/{code}.\"},\"costs\":{\"type\":\"array\","
     "\"description\":\"Only in GET /projects/{code}.\"}}}"},
};

static void openapi(json_t *paths, json_t *schemas) {
  for (size_t i = 0; i < sizeof schemas_json / sizeof schemas_json[0]; i++) {
    json_t *s = json_loads(schemas_json[i].json, 0, NULL);
    if (s) json_object_set_new(schemas, schemas_json[i].name, s);
  }
  json_object_set_new(schemas, "ProjectPage", fofal__openapi_page("#/components/schemas/Project"));
  json_object_set_new(schemas, "TaskPage", fofal__openapi_page("#/components/schemas/Task"));
  for (int r = 0; r < R_N; r++) {
    const fofal_read_route_t *rt = &routes[r];
    json_t *params = json_array();
    if (r == R_PROJECT) json_array_append_new(params, fofal__openapi_path_param("code", "The project's code."));
    if (rt->params & F_STATUS)
      json_array_append_new(params, fofal__openapi_query_param("status", "Only open or only closed projects.",
                                                               json_pack("{s:[s,s]}", "enum", "open", "closed")));
    if (rt->params & F_TASKS) {
      json_array_append_new(params, fofal__openapi_query_param("owner", "Only the tasks of this badge.",
                                                               json_pack("{s:s}", "type", "string")));
      json_array_append_new(params, fofal__openapi_query_param("overdue", "true: only open tasks past their due date.",
                                                               json_pack("{s:s}", "type", "boolean")));
    }
    if (rt->params & F_PAGE) {
      json_array_append_new(params, json_pack("{s:s}", "$ref", "#/components/parameters/Limit"));
      json_array_append_new(params, json_pack("{s:s}", "$ref", "#/components/parameters/Cursor"));
    }
    char desc[1024], ref[96];
    snprintf(desc, sizeof desc,
             "%s Roles: %s. With ?position= (from a command's 201) the read waits (bounded) until the projection has "
             "applied it.",
             rt->desc, rt->roles);
    snprintf(ref, sizeof ref, "#/components/schemas/%s", rt->schema);
    json_t *op = fofal__openapi_read_op("projects", rt->op_id, rt->summary, desc, params, ref, rt->roles);
    if (r == R_PROJECT) fofal__openapi_etag(op);
    json_object_set_new(paths, rt->path, op);
  }
}

/* Which read route shows the aggregate of each projects event (stream_roles.c). */
static const fofal_push_route_t push_routes[] = {
    {"", "/api/v1/projects/projects/{code}", 0},
    {NULL, NULL, 0},
};

const fofal_api_module_t fofal_module_projects_routes = {
    .name = "projects",
    .on_read = on_read,
    .openapi = openapi,
    .push_routes = push_routes,
};
