/*
 * projects.c — the projects module's deciders and its registration in the command layer:
 * what a weaving mill runs as projects (a new collection, a loom installation, an
 * OEKO-TEX audit), with tasks, a budget, hours booked by employees and costs booked
 * from purchases and accounting.
 *
 *   projects.project.create          a project by its code: name, kind, owner, start and
 *                                    due dates, budget (minor units) and currency
 *   projects.project.add_task        a task: title, owner, start and due dates
 *   projects.project.set_task_state  todo → doing → done (or cancelled)
 *   projects.project.book_hours      minutes worked on the project (or one of its tasks)
 *                                    on a day, by the signed-in person
 *   projects.project.book_cost       an amount charged to the project, with its source
 *                                    (a purchase order, a supplier invoice, an entry)
 *   projects.project.close           nothing is booked or changed after
 *
 * Events go to fofal.projects.events. A project is named by its code
 * (fofal_aggregate_ref(tenant, "project", code)); its tasks live in its state (at most
 * MAX_TASKS), so a decision about a task sees the whole project. Hours and costs only add
 * up: the project's state keeps their totals, the rows are the projection's.
 *
 * Rules (each has a unit test in tests/unit/projects/):
 *   - a project is due on or after its start (invalid_dates), owned by a known employee
 *     of the tenant (unknown_employee: hr's aggregate, read with fofal_cmd_lookup as
 *     quality reads action owners);
 *   - a task has a code of its own in the project (task_exists), a known owner, a due date
 *     on or after its start; at most MAX_TASKS (too_many_tasks);
 *   - a task's state moves forward only: todo → doing → done, todo|doing → cancelled;
 *     done and cancelled are final (invalid_transition); someone who does not plan
 *     (not planner, manager, admin) changes only the tasks they own (not_task_owner);
 *   - hours are booked by the signed-in person (fofal_actor_person: a planner, manager or
 *     admin may book for a known employee, recorded as a delegation), 1..1,440 minutes on a day
 *     not before the project's start (before_start) nor after the day the command was
 *     issued (occurred_in_future), on a task of the project when one is named
 *     (unknown_task);
 *   - a cost given with a currency (a purchase receipt's, by the reaction
 *     projects.cost_on_receipt in reactions.c) is in the project's (currency_mismatch);
 *   - a closed project changes no more (project_closed).
 *
 * Money is integer minor units in the project's currency (millimes for TND). Pure
 * functions: the time a decision uses is the command's issued_us.
 */
#include "decide.h"

#include <stdio.h>
#include <string.h>

#define EV(name) "fofal.projects." name ".v1"
#define MAX_TASKS 200

/* The task `code` of a project's state, or NULL. */
static json_t *task_of(const json_t *state, const char *code) {
  return json_object_get(json_object_get(state, "tasks"), code);
}

static int closed(const json_t *state, const fofal_cmd_t *cmd, fofal_decision_t *out) {
  if (jeq(state, "status", "closed"))
    return REJECT(out, "project_closed", "project %s is closed: nothing changes after", jstr(cmd->data, "project"));
  return 0;
}

/* "YYYY-MM-DD" strings compare as dates (the schemas hold them to format date). */
static int before(const char *a, const char *b) { return *a && *b && strcmp(a, b) < 0; }

static int known_employee(const fofal_cmd_t *cmd, const char *badge, fofal_decision_t *out) {
  if (!lookup_ref(cmd, "employee", badge, NULL))
    return REJECT(out, "unknown_employee", "no employee of this tenant has badge %s", badge);
  return 0;
}

static void who(const fofal_cmd_t *cmd, json_t *ev, const char *by_key) {
  json_object_set_new(ev, by_key, json_string(cmd->actor && *cmd->actor ? cmd->actor : "unknown"));
}

static int project_create(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const json_t *d = cmd->data;
  if (before(jstr(d, "due"), jstr(d, "start")))
    return REJECT(out, "invalid_dates", "the project is due (%s) before it starts (%s)", jstr(d, "due"), jstr(d, "start"));
  int rc = known_employee(cmd, jstr(d, "owner"), out);
  if (rc) return rc;
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s}", "project", jstr(d, "project"), "name", jstr(d, "name"),
                         "kind", jstr(d, "kind"), "owner", jstr(d, "owner"), "start", jstr(d, "start"), "due",
                         jstr(d, "due"), "budget_minor", jint(d, "budget_minor", 0), "currency",
                         *jstr(d, "currency") ? jstr(d, "currency") : "TND");
  jcopy(ev, d, "description");
  who(cmd, ev, "created_by");
  out->state = json_pack("{s:s,s:s,s:s,s:I,s:{},s:I,s:I,s:s}", "status", "open", "start", jstr(d, "start"), "due",
                         jstr(d, "due"), "budget_minor", jint(d, "budget_minor", 0), "tasks", "minutes", (json_int_t)0,
                         "costs_minor", (json_int_t)0, "currency", *jstr(d, "currency") ? jstr(d, "currency") : "TND");
  fofal_decision_emit(out, EV("project_created"), ev);
  return 0;
}

static int add_task(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const json_t *d = cmd->data;
  const char *task = jstr(d, "task");
  int rc = closed(state, cmd, out);
  if (rc) return rc;
  if (task_of(state, task)) return REJECT(out, "task_exists", "project %s already has a task %s", jstr(d, "project"), task);
  if (json_object_size(json_object_get(state, "tasks")) >= MAX_TASKS)
    return REJECT(out, "too_many_tasks", "a project has at most %d tasks", MAX_TASKS);
  const char *start = *jstr(d, "start") ? jstr(d, "start") : jstr(state, "start");
  if (before(jstr(d, "due"), start))
    return REJECT(out, "invalid_dates", "task %s is due (%s) before it starts (%s)", task, jstr(d, "due"), start);
  if ((rc = known_employee(cmd, jstr(d, "owner"), out))) return rc;
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "project", jstr(d, "project"), "task", task, "title",
                         jstr(d, "title"), "owner", jstr(d, "owner"), "start", start, "due", jstr(d, "due"));
  who(cmd, ev, "added_by");
  out->state = json_deep_copy(state);
  json_object_set_new(json_object_get(out->state, "tasks"), task,
                      json_pack("{s:s,s:s}", "state", "todo", "owner", jstr(d, "owner")));
  fofal_decision_emit(out, EV("task_added"), ev);
  return 0;
}

/* The moves a task may make: to doing from todo, to done from doing (or todo: a task
 * done at once), to cancelled from either; done and cancelled are final. */
static int may_move(const char *from, const char *to) {
  if (!strcmp(from, "done") || !strcmp(from, "cancelled")) return 0;
  if (!strcmp(to, "doing")) return !strcmp(from, "todo");
  return !strcmp(to, "done") || !strcmp(to, "cancelled");
}

/* 1 when the command comes from someone who plans (planner, manager, admin: the actor
 * "u:<subject>/<role>") or from a service. */
static int plans(const fofal_cmd_t *cmd) {
  const char *a = cmd->actor ? cmd->actor : "";
  if (strncmp(a, "u:", 2)) return 1;
  const char *slash = strrchr(a, '/');
  return slash && fofal_actor_role_delegates(slash + 1);
}

static int set_task_state(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const json_t *d = cmd->data;
  const char *code = jstr(d, "task"), *to = jstr(d, "state");
  int rc = closed(state, cmd, out);
  if (rc) return rc;
  const json_t *task = task_of(state, code);
  if (!task) return REJECT(out, "unknown_task", "project %s has no task %s", jstr(d, "project"), code);
  if (!plans(cmd) && (!cmd->actor_badge || strcmp(cmd->actor_badge, jstr(task, "owner"))))
    return REJECT(out, "not_task_owner", "task %s is %s's: only its owner or a planner changes its state", code,
                  jstr(task, "owner"));
  if (!may_move(jstr(task, "state"), to))
    return REJECT(out, "invalid_transition", "task %s is %s: it cannot become %s", code, jstr(task, "state"), to);
  char at[32];
  fofal_time_format(cmd->issued_us, at);
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s}", "project", jstr(d, "project"), "task", code, "from",
                         jstr(task, "state"), "state", to, "at", at);
  jcopy(ev, d, "note");
  who(cmd, ev, "changed_by");
  out->state = json_deep_copy(state);
  json_object_set_new(task_of(out->state, code), "state", json_string(to));
  fofal_decision_emit(out, EV("task_state_changed"), ev);
  return 0;
}

static int book_hours(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const json_t *d = cmd->data;
  int rc = closed(state, cmd, out);
  if (rc) return rc;
  const char *task = jstr(d, "task"), *day = jstr(d, "date");
  if (*task && !task_of(state, task)) return REJECT(out, "unknown_task", "project %s has no task %s", jstr(d, "project"), task);
  if (before(day, jstr(state, "start")))
    return REJECT(out, "before_start", "the project starts on %s: no hours on %s", jstr(state, "start"), day);
  char today[32];
  fofal_time_format(cmd->issued_us, today);
  today[10] = '\0';
  if (before(today, day)) return REJECT(out, "occurred_in_future", "hours are booked for a day that has come (%s)", day);
  const char *badge = NULL;
  int delegated = 0;
  if ((rc = fofal_actor_person(cmd, "badge", jstr(d, "badge"), 1, &badge, &delegated, out))) return rc;
  if (delegated && (rc = known_employee(cmd, badge, out))) return rc;
  json_int_t minutes = jint(d, "minutes", 0);
  json_t *ev = json_pack("{s:s,s:s,s:s,s:I}", "project", jstr(d, "project"), "badge", badge, "date", day, "minutes",
                         minutes);
  if (*task) json_object_set_new(ev, "task", json_string(task));
  jcopy(ev, d, "note");
  who(cmd, ev, "booked_by");
  if (delegated) json_object_set_new(ev, "delegated_by", fofal_actor_delegation(cmd));
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "minutes", json_integer(jint(state, "minutes", 0) + minutes));
  fofal_decision_emit(out, EV("hours_booked"), ev);
  return 0;
}

static int book_cost(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const json_t *d = cmd->data;
  int rc = closed(state, cmd, out);
  if (rc) return rc;
  const char *task = jstr(d, "task");
  if (*task && !task_of(state, task)) return REJECT(out, "unknown_task", "project %s has no task %s", jstr(d, "project"), task);
  /* A project created before its state kept the currency is in TND, the default. */
  const char *currency = *jstr(state, "currency") ? jstr(state, "currency") : "TND";
  if (*jstr(d, "currency") && strcmp(jstr(d, "currency"), currency))
    return REJECT(out, "currency_mismatch", "project %s is in %s, not %s", jstr(d, "project"), currency,
                  jstr(d, "currency"));
  json_int_t amount = jint(d, "amount_minor", 0);
  json_t *ev = json_pack("{s:s,s:s,s:I,s:s,s:s}", "project", jstr(d, "project"), "date", jstr(d, "date"), "amount_minor",
                         amount, "source", jstr(d, "source"), "reference", jstr(d, "reference"));
  if (*task) json_object_set_new(ev, "task", json_string(task));
  jcopy(ev, d, "note");
  who(cmd, ev, "booked_by");
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "costs_minor", json_integer(jint(state, "costs_minor", 0) + amount));
  fofal_decision_emit(out, EV("cost_booked"), ev);
  return 0;
}

static int project_close(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  int rc = closed(state, cmd, out);
  if (rc) return rc;
  int open = 0;
  const char *k;
  json_t *t;
  json_object_foreach(json_object_get(state, "tasks"), k, t) open += !jeq(t, "state", "done") && !jeq(t, "state", "cancelled");
  char at[32];
  fofal_time_format(cmd->issued_us, at);
  json_t *ev = json_pack("{s:s,s:s,s:I,s:I,s:i}", "project", jstr(cmd->data, "project"), "closed_at", at, "minutes",
                         jint(state, "minutes", 0), "costs_minor", jint(state, "costs_minor", 0), "open_tasks", open);
  jcopy(ev, cmd->data, "note");
  who(cmd, ev, "closed_by");
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "status", json_string("closed"));
  fofal_decision_emit(out, EV("project_closed"), ev);
  return 0;
}

static const fofal_command_def_t commands[] = {
    {"projects.project.create", "project", 1,
     "Create a project: name, kind, owner, start and due dates, budget.", project_create, "project"},
    {"projects.project.add_task", "project", 0, "Add a task to a project: title, owner, dates.", add_task, "project"},
    {"projects.project.set_task_state", "project", 0, "Move a task: todo, doing, done or cancelled.", set_task_state,
     "project"},
    {"projects.project.book_hours", "project", 0, "Book minutes worked on a project (or one of its tasks) on a day.",
     book_hours, "project"},
    {"projects.project.book_cost", "project", 0, "Book a cost to a project, with its source.", book_cost, "project"},
    {"projects.project.close", "project", 0, "Close a project: nothing is booked or changed after.", project_close,
     "project"},
};
static const int ncommands = sizeof commands / sizeof commands[0];

static const fofal_command_table_t tables[] = {
    {commands, &ncommands},
    {NULL, NULL},
};

const fofal_command_module_t fofal_module_projects_commands = {.name = "projects", .tables = tables};
