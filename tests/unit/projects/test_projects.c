/*
 * test_projects.c — commands/projects/projects.c through the registry and an in-memory
 * tenant (tests/unit/production/world.h) whose employees are hr's aggregates.
 *
 * One test per rule: dates in order, known owners, a task code once per project and at
 * most 200 tasks, tasks that move forward only and only by their owner or a planner,
 * hours booked by the signed-in person (or recorded for them by a planner) on a day
 * between the project's start and today, costs that add up, a closed project that changes
 * no more. Every emitted event is checked against its schema under schemas/projects/events/.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "decide.h"
#include "jsonschema.h"
#include "../production/world.h"

static fofal_registry_t *reg;

static void setup(void) {
  char err[512] = "";
  cr_assert_eq(fofal_registry_load(&reg, FOFAL_SOURCE_DIR "/schemas", err, sizeof err), 0, "registry: %s", err);
  world_init(reg);
  world_ok("hr.employee.register", json_pack("{s:s,s:s,s:s}", "badge", "M01", "name", "Karim", "job", "mechanic"), "e1");
  world_ok("hr.employee.register", json_pack("{s:s,s:s,s:s}", "badge", "Q01", "name", "Salma", "job", "quality"), "e2");
  world_as("u:boss/manager", NULL);
}

static void teardown(void) {
  world_free();
  fofal_registry_free(reg);
  reg = NULL;
}

TestSuite(projects, .init = setup, .fini = teardown);

static void check_event(const json_t *ev) {
  const char *type = json_string_value(json_object_get(ev, "type"));
  const char prefix[] = "fofal.projects.";
  cr_assert(type && !strncmp(type, prefix, sizeof prefix - 1), "event type %s", type ? type : "(null)");
  char path[512], err[256];
  snprintf(path, sizeof path, "%s/schemas/projects/events/%s.json", FOFAL_SOURCE_DIR, type + sizeof prefix - 1);
  json_t *sj = json_load_file(path, 0, NULL);
  cr_assert_not_null(sj, "%s has no schema (%s)", type, path);
  fofal_schema_t *s = NULL;
  cr_assert_eq(fofal_schema_compile(&s, sj, path, err, sizeof err), 0, "%s: %s", path, err);
  json_t *errors = NULL;
  int rc = fofal_schema_validate(s, json_object_get(ev, "data"), &errors);
  char *es = errors ? json_dumps(errors, JSON_COMPACT) : NULL;
  cr_assert_eq(rc, 0, "%s does not match its schema: %s", type, es ? es : "");
  free(es);
  json_decref(errors);
  fofal_schema_free(s);
  json_decref(sj);
}

/* Decides and expects acceptance; the first event's data (new). */
static json_t *ok(const char *type, json_t *data, const char *cmd_id) {
  fofal_decision_t d;
  int rc = world_decide_at(type, data, W_ISSUED, cmd_id, &d);
  cr_assert_eq(rc, 0, "%s (%s) rejected: %s: %s", type, cmd_id, d.code, d.detail);
  size_t i;
  json_t *ev;
  json_array_foreach(d.events, i, ev) check_event(ev);
  json_t *first = json_incref(json_object_get(json_array_get(d.events, 0), "data"));
  world_release(&d);
  return first;
}

static void no(const char *type, json_t *data, const char *code) { world_no(type, data, code); }

/* Project P1 (budget 10,000.000 TND from 2026-11-01 to 2027-03-31, owner Q01) with task
 * T1 owned by M01. */
static void project(void) {
  json_decref(ok("projects.project.create",
                 json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "project", "P1", "name", "OEKO-TEX 2027", "kind", "audit", "owner",
                           "Q01", "start", "2026-11-01", "due", "2027-03-31", "budget_minor", (json_int_t)10000000),
                 "p1"));
  json_decref(ok("projects.project.add_task",
                 json_pack("{s:s,s:s,s:s,s:s,s:s}", "project", "P1", "task", "T1", "title", "Dossier chimique", "owner", "M01",
                           "due", "2026-12-15"),
                 "t1"));
}

Test(projects, a_project_is_due_after_it_starts_and_owned_by_an_employee) {
  no("projects.project.create",
     json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i}", "project", "P2", "name", "x", "kind", "other", "owner", "Q01", "start",
               "2027-01-02", "due", "2027-01-01", "budget_minor", 0),
     "invalid_dates");
  no("projects.project.create",
     json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i}", "project", "P2", "name", "x", "kind", "other", "owner", "NOBODY", "start",
               "2027-01-01", "due", "2027-01-01", "budget_minor", 0),
     "unknown_employee");
  project();
  json_t *st = (json_t *)world_ref("project", "P1");
  cr_assert_not_null(st);
  cr_expect_str_eq(jstr(st, "status"), "open");
  cr_expect_eq(jint(st, "budget_minor", -1), 10000000);
}

Test(projects, the_created_event_says_the_currency) {
  json_t *ev = ok("projects.project.create",
                  json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s}", "project", "P3", "name", "Collection été", "kind",
                            "collection", "owner", "Q01", "start", "2027-01-01", "due", "2027-06-30", "budget_minor", 5000,
                            "currency", "EUR"),
                  "p3");
  cr_expect_str_eq(jstr(ev, "currency"), "EUR");
  cr_expect_str_eq(jstr(ev, "created_by"), "u:boss/manager");
  json_decref(ev);
}

Test(projects, a_task_code_is_used_once_with_a_known_owner_and_dates_in_order) {
  project();
  no("projects.project.add_task",
     json_pack("{s:s,s:s,s:s,s:s,s:s}", "project", "P1", "task", "T1", "title", "again", "owner", "M01", "due", "2026-12-20"),
     "task_exists");
  no("projects.project.add_task",
     json_pack("{s:s,s:s,s:s,s:s,s:s}", "project", "P1", "task", "T2", "title", "x", "owner", "X99", "due", "2026-12-20"),
     "unknown_employee");
  /* Without a start the task starts with the project (2026-11-01). */
  no("projects.project.add_task",
     json_pack("{s:s,s:s,s:s,s:s,s:s}", "project", "P1", "task", "T2", "title", "x", "owner", "M01", "due", "2026-10-31"),
     "invalid_dates");
}

Test(projects, a_project_has_at_most_200_tasks) {
  project();
  char code[16], id[24];
  for (int i = 2; i <= 200; i++) {
    snprintf(code, sizeof code, "T%d", i);
    snprintf(id, sizeof id, "t%d", i);
    world_ok("projects.project.add_task",
             json_pack("{s:s,s:s,s:s,s:s,s:s}", "project", "P1", "task", code, "title", "t", "owner", "M01", "due",
                       "2027-01-01"),
             id);
  }
  no("projects.project.add_task",
     json_pack("{s:s,s:s,s:s,s:s,s:s}", "project", "P1", "task", "T201", "title", "t", "owner", "M01", "due", "2027-01-01"),
     "too_many_tasks");
}

Test(projects, a_task_moves_forward_only) {
  project();
  json_t *ev = ok("projects.project.set_task_state", json_pack("{s:s,s:s,s:s}", "project", "P1", "task", "T1", "state", "doing"),
                  "s1");
  cr_expect_str_eq(jstr(ev, "from"), "todo");
  json_decref(ev);
  no("projects.project.set_task_state", json_pack("{s:s,s:s,s:s}", "project", "P1", "task", "T1", "state", "doing"),
     "invalid_transition");
  json_decref(
      ok("projects.project.set_task_state", json_pack("{s:s,s:s,s:s}", "project", "P1", "task", "T1", "state", "done"), "s2"));
  no("projects.project.set_task_state", json_pack("{s:s,s:s,s:s}", "project", "P1", "task", "T1", "state", "cancelled"),
     "invalid_transition");
  no("projects.project.set_task_state", json_pack("{s:s,s:s,s:s}", "project", "P1", "task", "T9", "state", "done"),
     "unknown_task");
}

Test(projects, only_its_owner_or_a_planner_moves_a_task) {
  project();
  world_as("u:salma/quality", "Q01");
  no("projects.project.set_task_state", json_pack("{s:s,s:s,s:s}", "project", "P1", "task", "T1", "state", "doing"),
     "not_task_owner");
  world_as("u:karim/mechanic", "M01");
  json_decref(
      ok("projects.project.set_task_state", json_pack("{s:s,s:s,s:s}", "project", "P1", "task", "T1", "state", "doing"), "s1"));
  world_as("u:plan/planner", NULL);
  json_decref(
      ok("projects.project.set_task_state", json_pack("{s:s,s:s,s:s}", "project", "P1", "task", "T1", "state", "done"), "s2"));
}

Test(projects, hours_are_the_signed_in_persons) {
  project();
  world_as("u:karim/mechanic", "M01");
  json_t *ev = ok("projects.project.book_hours",
                  json_pack("{s:s,s:s,s:s,s:i}", "project", "P1", "task", "T1", "date", "2026-11-20", "minutes", 90), "h1");
  cr_expect_str_eq(jstr(ev, "badge"), "M01");
  cr_expect_null(json_object_get(ev, "delegated_by"));
  json_decref(ev);
  /* A mechanic does not book for someone else. */
  no("projects.project.book_hours",
     json_pack("{s:s,s:s,s:i,s:s}", "project", "P1", "date", "2026-11-20", "minutes", 60, "badge", "Q01"), "actor_mismatch");
  /* A planner records them for Q01: a delegation. */
  world_as("u:plan/planner", "P01");
  ev = ok("projects.project.book_hours",
          json_pack("{s:s,s:s,s:i,s:s}", "project", "P1", "date", "2026-11-21", "minutes", 30, "badge", "Q01"), "h2");
  cr_expect_str_eq(jstr(ev, "badge"), "Q01");
  cr_expect_not_null(json_object_get(ev, "delegated_by"));
  json_decref(ev);
  cr_expect_eq(jint(world_ref("project", "P1"), "minutes", 0), 120, "the project's minutes add up");
}

Test(projects, hours_fall_between_the_start_and_today_on_a_task_of_the_project) {
  project();
  world_as("u:karim/mechanic", "M01");
  no("projects.project.book_hours", json_pack("{s:s,s:s,s:i}", "project", "P1", "date", "2026-10-31", "minutes", 60),
     "before_start");
  /* W_ISSUED is 2026-11-24. */
  no("projects.project.book_hours", json_pack("{s:s,s:s,s:i}", "project", "P1", "date", "2026-11-25", "minutes", 60),
     "occurred_in_future");
  no("projects.project.book_hours",
     json_pack("{s:s,s:s,s:s,s:i}", "project", "P1", "task", "T7", "date", "2026-11-24", "minutes", 60), "unknown_task");
  world_as("u:nobadge/mechanic", NULL);
  no("projects.project.book_hours", json_pack("{s:s,s:s,s:i}", "project", "P1", "date", "2026-11-24", "minutes", 60),
     "badge_required");
}

Test(projects, costs_add_up) {
  project();
  world_as("u:acc/accountant", NULL);
  json_decref(ok("projects.project.book_cost",
                 json_pack("{s:s,s:s,s:I,s:s,s:s}", "project", "P1", "date", "2026-11-20", "amount_minor", (json_int_t)1250500,
                           "source", "supplier_invoice", "reference", "FF-2026-118"),
                 "c1"));
  json_decref(ok("projects.project.book_cost",
                 json_pack("{s:s,s:s,s:s,s:I,s:s,s:s}", "project", "P1", "task", "T1", "date", "2026-11-21", "amount_minor",
                           (json_int_t)749500, "source", "purchase_order", "reference", "PO-7"),
                 "c2"));
  cr_expect_eq(jint(world_ref("project", "P1"), "costs_minor", 0), 2000000);
  no("projects.project.book_cost",
     json_pack("{s:s,s:s,s:s,s:i,s:s,s:s}", "project", "P1", "task", "T5", "date", "2026-11-21", "amount_minor", 1, "source",
               "other", "reference", "x"),
     "unknown_task");
}

Test(projects, a_closed_project_changes_no_more) {
  project();
  json_t *ev = ok("projects.project.close", json_pack("{s:s}", "project", "P1"), "close");
  cr_expect_eq(jint(ev, "open_tasks", -1), 1, "T1 was still open");
  json_decref(ev);
  no("projects.project.close", json_pack("{s:s}", "project", "P1"), "project_closed");
  no("projects.project.add_task",
     json_pack("{s:s,s:s,s:s,s:s,s:s}", "project", "P1", "task", "T2", "title", "x", "owner", "M01", "due", "2027-01-01"),
     "project_closed");
  world_as("u:karim/mechanic", "M01");
  no("projects.project.book_hours", json_pack("{s:s,s:s,s:i}", "project", "P1", "date", "2026-11-24", "minutes", 60),
     "project_closed");
  no("projects.project.set_task_state", json_pack("{s:s,s:s,s:s}", "project", "P1", "task", "T1", "state", "done"),
     "project_closed");
}

Test(projects, a_cost_with_a_currency_is_in_the_projects) {
  project();
  world_as("r:projects.cost_on_receipt", NULL);
  json_decref(ok("projects.project.book_cost",
                 json_pack("{s:s,s:s,s:i,s:s,s:s,s:s}", "project", "P1", "date", "2026-11-20", "amount_minor", 4650,
                           "source", "purchase_order", "reference", "RC-1", "currency", "TND"),
                 "c1"));
  no("projects.project.book_cost",
     json_pack("{s:s,s:s,s:i,s:s,s:s,s:s}", "project", "P1", "date", "2026-11-20", "amount_minor", 4650, "source",
               "purchase_order", "reference", "RC-2", "currency", "EUR"),
     "currency_mismatch");
}

/* ------------------------------------------------------ the reaction (reactions.c) */

static json_t *react(const char *data, char *reason, size_t cap) {
  const fofal_reaction_t *r = fofal_reaction_find("projects.cost_on_receipt");
  cr_assert_not_null(r);
  json_t *d = json_loads(data, 0, NULL);
  cr_assert_not_null(d, "%s", data);
  fofal_event_t ev = {.id = "0190a4b2-0000-7000-8000-0000000000f1", .type = "fofal.purchasing.goods_received.v1",
                      .data = d, .time_us = W_ISSUED};
  fofal_reaction_out_t out = {0};
  int rc = r->react(&ev, &out);
  json_decref(d);
  if (reason) snprintf(reason, cap, "%s", rc < 0 ? out.reason : "");
  if (rc != FOFAL_REACT_COMMAND) return NULL;
  cr_expect_str_eq(out.type, "projects.project.book_cost");
  return out.data;
}

Test(projects, a_receipt_of_an_order_for_a_project_books_the_goods_accepted) {
  /* 500 kg at 9,300 a kg accepted (4,650,000) and 0.0015 kg at 333 (0.4995: 0), 12 kg
   * refused of a third line. */
  json_t *c = react("{\"order_id\":\"0190a4b2-0000-7000-8000-00000000000a\",\"receipt_id\":\"RC-7\",\"supplier\":\"F-S\","
                    "\"received_at\":\"2026-11-20T09:30:00Z\",\"project\":\"P1\",\"currency\":\"TND\",\"status\":"
                    "\"received\",\"lines\":[{\"line\":1,\"quantity_milli\":500000,\"unit\":\"kg\",\"unit_price\":9300},"
                    "{\"line\":2,\"quantity_milli\":1,\"unit\":\"kg\",\"unit_price\":333},{\"line\":3,\"quantity_milli\":"
                    "0,\"refused_milli\":12000,\"unit\":\"kg\",\"unit_price\":5000}]}",
                    NULL, 0);
  cr_assert_not_null(c);
  cr_expect_eq(jint(c, "amount_minor", 0), 4650000);
  cr_expect_str_eq(jstr(c, "date"), "2026-11-20", "the day of the receipt");
  cr_expect_str_eq(jstr(c, "reference"), "RC-7");
  cr_expect_str_eq(jstr(c, "source"), "purchase_order");
  cr_expect_str_eq(jstr(c, "currency"), "TND");
  /* The command it makes is one the registry accepts, and the decider books it. */
  project();
  world_as("r:projects.cost_on_receipt", NULL);
  json_decref(ok("projects.project.book_cost", c, "r1"));
  cr_expect_eq(jint(world_ref("project", "P1"), "costs_minor", 0), 4650000);
  cr_expect_null(react("{\"receipt_id\":\"RC-8\",\"supplier\":\"F-S\",\"lines\":[{\"line\":1,\"quantity_milli\":5000,"
                       "\"unit_price\":100}]}",
                       NULL, 0),
                 "an order for no project: nothing");
  cr_expect_null(react("{\"receipt_id\":\"RC-9\",\"project\":\"P1\",\"lines\":[{\"line\":1,\"quantity_milli\":0,"
                       "\"refused_milli\":5000,\"unit_price\":100}]}",
                       NULL, 0),
                 "everything refused: nothing to book");
  char why[256];
  cr_expect_null(react("{\"receipt_id\":\"RC-9\",\"project\":\"P 1\",\"lines\":[]}", why, sizeof why));
  cr_expect(strstr(why, "project") != NULL, "a project that is no code fails with a reason: %s", why);
}
