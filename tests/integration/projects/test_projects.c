/*
 * test_projects.c — the projects module against the real stack, through the command API
 * and the reads: a manager opens an audit project with a budget and two tasks (one past
 * due), the mechanic who owns the late one sees it among his overdue tasks (and not
 * another owner's), books his hours as himself, an accountant books two costs, and the
 * project's read adds them up: progress, minutes per person, costs, the share of the
 * budget consumed. A wrong role's write is 403, another tenant reads nothing of it, and
 * `fofal verify projects` finds the live projection equal to a rebuild.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fofal_api.h"
#include "harness.h"

static int port;
static pid_t dec, proj, api;
static char tenant[32];

static void setup(void) {
  h_tenant(tenant);
  dec = h_start_decider(tenant);
  proj = h_start_projector(tenant);
  port = h_free_port();
  api = h_start_api(port);
  cr_assert_eq(h_wait_ready(port, 60000), 0, "fofal-api ready");
}

static void teardown(void) {
  h_stop(api, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
}

TestSuite(projects, .init = setup, .fini = teardown, .timeout = 300);

static char *token(const char *t, const char *subject, const char *role, const char *badge) {
  char *s = fofal_api_token_issue_badge(h_env("FOFAL_JWT_SECRET"), "fofal", "fofal-api", t, subject, role, badge, 3600);
  cr_assert_not_null(s);
  return s;
}

static const char *s_of(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

static json_int_t i_of(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* Sends a command that must be accepted; its position into pos (when given). */
static void send(const char *tok, const char *type, const char *key, const char *body, char *pos, size_t poslen) {
  json_t *j = NULL;
  int st = h_command_ok(port, tok, type, key, NULL, body, &j);
  cr_assert_eq(st, 201, "%s: %d %s %s", type, st, s_of(j, "code"), s_of(j, "detail"));
  if (pos) snprintf(pos, poslen, "%s", s_of(j, "position"));
  json_decref(j);
}

static void refused(const char *tok, const char *type, const char *key, const char *body, int status, const char *code) {
  json_t *j = NULL;
  int st = h_command(port, tok, type, key, NULL, body, &j);
  cr_expect_eq(st, status, "%s: %d %s, want %d %s", type, st, s_of(j, "code"), status, code);
  cr_expect_str_eq(s_of(j, "code"), code, "%s", type);
  json_decref(j);
}

/* The day `days` from today (UTC), YYYY-MM-DD. */
static void day(int days, char out[16]) {
  time_t t = time(NULL) + (time_t)days * 86400;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 16, "%Y-%m-%d", &tm);
}

Test(projects, an_audit_project_with_tasks_hours_and_costs) {
  char *admin = token(tenant, "tester", "admin", NULL), *boss = token(tenant, "boss", "manager", NULL);
  char *karim = token(tenant, "karim", "mechanic", "M01"), *acc = token(tenant, "amal", "accountant", NULL);
  char *weaver = token(tenant, "w", "weaver", "W01");
  char b[1024], path[512], pos[160], start[16], yesterday[16], later[16], today[16];
  day(-30, start);
  day(-1, yesterday);
  day(60, later);
  day(0, today);

  send(admin, "hr.employee.register", "e1", "{\"badge\":\"M01\",\"name\":\"Karim\",\"job\":\"mechanic\"}", NULL, 0);
  send(admin, "hr.employee.register", "e2", "{\"badge\":\"Q01\",\"name\":\"Salma\",\"job\":\"quality\"}", NULL, 0);
  snprintf(b, sizeof b,
           "{\"project\":\"OEKO-27\",\"name\":\"OEKO-TEX 2027\",\"kind\":\"audit\",\"owner\":\"Q01\",\"start\":\"%s\","
           "\"due\":\"%s\",\"budget_minor\":8000000}",
           start, later);
  refused(karim, "projects.project.create", "p0", b, 403, "forbidden");
  send(boss, "projects.project.create", "p1", b, NULL, 0);
  snprintf(b, sizeof b,
           "{\"project\":\"OEKO-27\",\"task\":\"chem\",\"title\":\"Inventaire chimique\",\"owner\":\"M01\",\"due\":\"%s\"}",
           yesterday);
  send(boss, "projects.project.add_task", "t1", b, NULL, 0);
  snprintf(b, sizeof b,
           "{\"project\":\"OEKO-27\",\"task\":\"visit\",\"title\":\"Visite de l'auditeur\",\"owner\":\"Q01\",\"due\":\"%s\"}",
           later);
  send(boss, "projects.project.add_task", "t2", b, NULL, 0);

  /* Karim's hours, as himself; a badge of someone else is refused. */
  snprintf(b, sizeof b, "{\"project\":\"OEKO-27\",\"task\":\"chem\",\"date\":\"%s\",\"minutes\":150}", today);
  send(karim, "projects.project.book_hours", "h1", b, NULL, 0);
  snprintf(b, sizeof b, "{\"project\":\"OEKO-27\",\"date\":\"%s\",\"minutes\":60,\"badge\":\"Q01\"}", today);
  refused(karim, "projects.project.book_hours", "h2", b, 403, "actor_mismatch");
  snprintf(b, sizeof b,
           "{\"project\":\"OEKO-27\",\"date\":\"%s\",\"amount_minor\":1500000,\"source\":\"supplier_invoice\","
           "\"reference\":\"FF-118\"}",
           today);
  refused(weaver, "projects.project.book_cost", "c0", b, 403, "forbidden");
  send(acc, "projects.project.book_cost", "c1", b, NULL, 0);
  snprintf(b, sizeof b,
           "{\"project\":\"OEKO-27\",\"date\":\"%s\",\"amount_minor\":500000,\"source\":\"purchase_order\","
           "\"reference\":\"PO-9\"}",
           today);
  send(acc, "projects.project.book_cost", "c2", b, NULL, 0);
  send(boss, "projects.project.set_task_state", "s1", "{\"project\":\"OEKO-27\",\"task\":\"visit\",\"state\":\"done\"}", pos,
       sizeof pos);

  /* The project adds them up. */
  json_t *j = NULL;
  snprintf(path, sizeof path, "/api/v1/projects/projects/OEKO-27?position=%s", pos);
  cr_assert_eq(h_get(port, boss, path, &j, NULL), 200);
  cr_expect_eq(i_of(j, "costs_minor"), 2000000);
  cr_expect_eq(i_of(j, "remaining_minor"), 6000000);
  cr_expect_eq(json_number_value(json_object_get(j, "consumed")), 0.25);
  cr_expect_eq(json_number_value(json_object_get(j, "progress")), 0.5, "one task of two done");
  cr_expect_eq(i_of(j, "minutes"), 150);
  cr_expect_eq(i_of(j, "overdue_tasks"), 1);
  cr_expect_eq(json_array_size(json_object_get(j, "task_list")), 2);
  cr_expect_eq(json_array_size(json_object_get(j, "costs")), 2);
  const json_t *h = json_array_get(json_object_get(j, "hours"), 0);
  cr_expect_str_eq(s_of(h, "badge"), "M01");
  json_decref(j);

  /* Karim's overdue tasks: his own, and only his. */
  cr_assert_eq(h_get(port, karim, "/api/v1/projects/tasks?overdue=true", &j, NULL), 200);
  cr_expect_eq(json_array_size(json_object_get(j, "items")), 1);
  cr_expect_str_eq(s_of(json_array_get(json_object_get(j, "items"), 0), "task"), "chem");
  json_decref(j);
  cr_expect_eq(h_get(port, karim, "/api/v1/projects/tasks?owner=Q01", &j, NULL), 403);
  json_decref(j);
  cr_assert_eq(h_get(port, boss, "/api/v1/projects/tasks?owner=Q01", &j, NULL), 200);
  cr_expect_eq(json_array_size(json_object_get(j, "items")), 1);
  json_decref(j);
  cr_expect_eq(h_get(port, karim, "/api/v1/projects/projects", &j, NULL), 403, "a mechanic reads no budgets");
  json_decref(j);

  /* Another tenant reads nothing of it. */
  char other[40];
  snprintf(other, sizeof other, "%s-x", tenant);
  char *stranger = token(other, "boss", "manager", NULL);
  cr_expect_eq(h_get(port, stranger, "/api/v1/projects/projects/OEKO-27", &j, NULL), 404);
  json_decref(j);

  char *out = NULL;
  const char *verify[] = {"verify", "projects", NULL};
  int vst = h_run_cli(120, &out, verify);
  cr_expect_eq(vst, 0, "fofal verify projects: %s", out ? out : "");
  free(out);
  free(stranger);
  free(admin);
  free(boss);
  free(karim);
  free(acc);
  free(weaver);
}

/* ------------------------------------------------------------------------------------
 * Costs by reaction (fofal-reactor runs): a purchase order issued for the installation
 * project, 40 of its 50 metres of cable received at 12.500 TND a metre, books 500,000
 * millimes to the project (projects.cost_on_receipt), referenced by the receipt; an order
 * for no project books nothing. */

static pid_t rea;

static void setup_live(void) {
  setup();
  rea = h_start_reactor(tenant);
}

static void teardown_live(void) {
  h_stop(rea, SIGTERM);
  teardown();
}

TestSuite(projects_live, .init = setup_live, .fini = teardown_live, .timeout = 300);

Test(projects_live, a_receipt_of_an_order_for_a_project_books_its_cost) {
  char *admin = token(tenant, "tester", "admin", NULL), *boss = token(tenant, "boss", "manager", NULL);
  char b[1024], start[16], later[16], po[FOFAL_UUID_LEN + 1], po2[FOFAL_UUID_LEN + 1], rc1[FOFAL_UUID_LEN + 1],
      rc2[FOFAL_UUID_LEN + 1];
  day(-30, start);
  day(60, later);
  fofal_uuid7(po);
  fofal_uuid7(po2);
  fofal_uuid7(rc1);
  fofal_uuid7(rc2);
  send(admin, "hr.employee.register", "e1", "{\"badge\":\"M01\",\"name\":\"Karim\",\"job\":\"mechanic\"}", NULL, 0);
  snprintf(b, sizeof b,
           "{\"project\":\"INSTALL-L25\",\"name\":\"Installation L25\",\"kind\":\"installation\",\"owner\":\"M01\","
           "\"start\":\"%s\",\"due\":\"%s\",\"budget_minor\":2000000}",
           start, later);
  send(boss, "projects.project.create", "p1", b, NULL, 0);
  send(admin, "purchasing.supplier.register", "sup", "{\"supplier\":\"F-CAB\",\"name\":\"Câbles du Centre\",\"currency\":\"TND\"}",
       NULL, 0);
  static const char line[] = "[{\"line\":1,\"description\":\"câble 5G6\",\"quantity_milli\":50000,\"unit\":\"m\","
                             "\"unit_price\":12500,\"expected_date\":\"2026-12-20\"}]";
  snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"supplier\":\"F-CAB\",\"project\":\"INSTALL-L25\",\"lines\":%s}", po, line);
  send(admin, "purchasing.order.issue", "o1", b, NULL, 0);
  snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"supplier\":\"F-CAB\",\"lines\":%s}", po2, line);
  send(admin, "purchasing.order.issue", "o2", b, NULL, 0);
  snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"receipt_id\":\"%s\",\"lines\":[{\"line\":1,\"quantity_milli\":40000}]}", po2,
           rc2);
  send(admin, "purchasing.order.receive", "r2", b, NULL, 0);
  snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"receipt_id\":\"%s\",\"lines\":[{\"line\":1,\"quantity_milli\":40000}]}", po,
           rc1);
  send(admin, "purchasing.order.receive", "r1", b, NULL, 0);

  json_t *j = NULL;
  int booked = 0;
  for (int i = 0; i < 180 && !booked; i++) {
    json_decref(j);
    j = NULL;
    booked = h_get(port, boss, "/api/v1/projects/projects/INSTALL-L25", &j, NULL) == 200 && i_of(j, "costs_minor") > 0;
    if (!booked) usleep(500 * 1000);
  }
  cr_assert(booked, "the receipt's cost reaches the project by reaction");
  cr_expect_eq(i_of(j, "costs_minor"), 500000, "40 m at 12,500; the order for no project books nothing");
  const json_t *c = json_array_get(json_object_get(j, "costs"), 0);
  cr_expect_eq(json_array_size(json_object_get(j, "costs")), 1);
  cr_expect_str_eq(s_of(c, "source"), "purchase_order");
  cr_expect_str_eq(s_of(c, "reference"), rc1, "the cost leads to its receipt");
  json_decref(j);
  free(admin);
  free(boss);
}
