/*
 * test_pay.c — the hr module's attendance and piece-rate pay against the real stack
 * (decider, projector, reactor, API; Kafka, PostgreSQL, Redis), through the API:
 *   - hr sets a piece rate; the signed-in weaver (a token with their badge) declares pieces
 *     without naming anyone; the reaction hr.pay_on_declaration accrues the pay to that
 *     badge; the pay read shows the line and the gross in minor units, to the weaver
 *     themself and to an accountant, not to another weaver (403); hr closes the month's
 *     pay and a later declaration is paid in the next month; the reaction
 *     accounting.entry_on_pay posts it (640 wages / 428 wages accrued, naming its source)
 *     and accounting.entry_on_pay_period the closed month (428 / 425 wages due);
 *   - the chain by grade: a declaration, the roll cut by a signed-in cutter into 1st and
 *     2nd choice; the cutter's pay by grade and the weaver's 1st-choice premium accrue by
 *     reaction; hr closes the month; the payslips show pieces by grade and the gross; the
 *     close is one entry in the trial balance;
 *   - the weaver clocks in and out at a gate as themself (another badge: actor_mismatch);
 *     hr records an absence; the attendance read shows the clocking and the absence day;
 *   - a bad period is a 400 problem; `fofal verify hr` finds the live read model equal to
 *     a rebuild.
 * A tenant of its own; lean (well under a minute).
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "fofal_api.h"
#include "harness.h"

static int port;
static pid_t dec, proj, api, rea;
static char tenant[32];
static char *adm;

static void setup(void) {
  h_tenant(tenant);
  adm = h_token(tenant, "admin");
  port = h_free_port();
  dec = h_start_decider("it-hr-pay");
  proj = h_start_projector("it-hr-pay");
  rea = h_start_reactor("it-hr-pay");
  api = h_start_api(port);
}

static void teardown(void) {
  h_stop(api, SIGTERM);
  h_stop(rea, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
  free(adm);
}

TestSuite(hr_pay, .init = setup, .fini = teardown, .timeout = 300);

static const char *s_of(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)) ?: ""; }
static json_int_t i_of(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* A token for the person of `badge` (a sign-in's shape: an account subject, a badge claim). */
static char *token_for(const char *badge, const char *role) {
  char subject[80];
  snprintf(subject, sizeof subject, "acct-%s", badge);
  char *t = fofal_api_token_issue_badge(h_env("FOFAL_JWT_SECRET"), "fofal", "fofal-api", tenant, subject, role, badge, 3600);
  cr_assert_not_null(t);
  return t;
}

/* A command that must be accepted; its 201 body (new). */
static json_t *cmd(const char *token, const char *type, const char *key, const char *body) {
  json_t *res = NULL;
  int st = h_command_ok(port, token, type, key, NULL, body, &res);
  cr_assert_eq(st, 201, "%s %s: %d %s", type, body, st, s_of(res, "detail"));
  return res;
}

/* GET until `ready` says the body is what the projection will show (bounded 90 s: the
 * reactions and projections of a loaded machine). */
static json_t *get_until(const char *token, const char *path, int (*ready)(const json_t *)) {
  json_t *b = NULL;
  for (int i = 0; i < 180; i++) {
    int st = h_get(port, token, path, &b, NULL);
    cr_assert_eq(st, 200, "GET %s: %d %s", path, st, s_of(b, "detail"));
    if (ready(b)) return b;
    json_decref(b);
    usleep(500 * 1000);
  }
  cr_assert_fail("GET %s never showed what it should", path);
  return NULL;
}
static int has_line(const json_t *b) { return json_array_size(json_object_get(b, "lines")) > 0; }
static int clocked_out(const json_t *b) {
  const json_t *c = json_array_get(json_object_get(b, "clockings"), 0);
  return c && json_is_string(json_object_get(c, "clock_out"));
}
static int two_lines(const json_t *b) { return json_array_size(json_object_get(b, "lines")) >= 2; }
static int absent(const json_t *b) { return json_array_size(json_object_get(b, "absences")) > 0; }

/* The period ?from=&to= around today (UTC), two days each side. */
static void around_today(char *q, size_t cap) {
  time_t now = time(NULL), a = now - 2 * 86400, b = now + 2 * 86400;
  struct tm ta, tb;
  gmtime_r(&a, &ta);
  gmtime_r(&b, &tb);
  char f[16], t[16];
  strftime(f, sizeof f, "%Y-%m-%d", &ta);
  strftime(t, sizeof t, "%Y-%m-%d", &tb);
  snprintf(q, cap, "from=%s&to=%s", f, t);
}

Test(hr_pay, a_weavers_declaration_accrues_pay_and_attendance_is_theirs) {
  char b[512], path[256], q[64], label[FOFAL_UUID_LEN + 1] = "", order[FOFAL_UUID_LEN + 1];
  char *hr = h_token(tenant, "hr"), *acc = h_token(tenant, "accountant"), *w1 = token_for("W1", "weaver"),
       *w2 = token_for("W2", "weaver");
  json_t *r;
  around_today(q, sizeof q);
  h_floor_http(port, tenant, "L1", "W1", "FT-PAY");
  json_decref(cmd(hr, "hr.employee.register", "pay-w2", "{\"badge\":\"W2\",\"name\":\"Salma\",\"job\":\"weaver\"}"));
  json_decref(cmd(hr, "hr.piece_rate.set", "pay-rate",
                  "{\"article\":\"FT-PAY\",\"unit\":\"piece\",\"rate_minor\":250,\"valid_from\":\"2020-01-01\"}"));

  /* The weaver declares as themself: no badge in the body. */
  r = cmd(adm, "production.order.create", "pay-order", "{\"article\":\"FT-PAY\",\"quantity\":100}");
  snprintf(order, sizeof order, "%s", s_of(r, "aggregate"));
  json_decref(r);
  snprintf(b, sizeof b, "{\"order_id\":\"%s\"}", order);
  json_decref(cmd(adm, "production.order.release", "pay-release", b));
  snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"loom\":\"L1\"}", order);
  json_decref(cmd(adm, "production.order.start", "pay-start", b));
  snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"quantity\":4}", order);
  r = cmd(w1, "production.order.declare_output", "pay-decl", b);
  h_declared_label(r, label);
  json_decref(r);
  cr_assert(fofal_uuid_valid(label), "the declaration's answer shows its label id");

  /* The pay, to the weaver themself: one line at the rate, 4 × 250 millimes. */
  snprintf(path, sizeof path, "/api/v1/hr/employees/W1/pay?%s", q);
  r = get_until(w1, path, has_line);
  const json_t *line = json_array_get(json_object_get(r, "lines"), 0);
  cr_expect_str_eq(s_of(line, "label_id"), label);
  cr_expect_eq(i_of(line, "quantity"), 4);
  cr_expect_eq(i_of(line, "rate_minor"), 250);
  cr_expect_eq(i_of(line, "amount_minor"), 1000);
  cr_expect_eq(i_of(r, "gross_minor"), 1000);
  cr_expect_eq(i_of(json_array_get(json_object_get(r, "by_article"), 0), "quantity"), 4);
  char month[8];
  snprintf(month, sizeof month, "%.7s", s_of(line, "shift"));
  cr_expect_str_eq(s_of(line, "pay_period"), month, "paid in its shift's month");
  json_decref(r);

  /* hr closes that month's pay; a declaration of it made later is paid in the next month. */
  snprintf(b, sizeof b, "{\"period\":\"%s\"}", month);
  json_decref(cmd(hr, "hr.pay_period.close", "pay-close", b));
  snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"quantity\":2}", order);
  json_decref(cmd(w1, "production.order.declare_output", "pay-decl-2", b));
  r = get_until(w1, path, two_lines);
  cr_expect_eq(i_of(r, "gross_minor"), 1500);
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(r, "lines"), i, e) {
    if (i_of(e, "quantity") == 2) cr_expect_str_neq(s_of(e, "pay_period"), month, "not in the closed month");
  }
  json_decref(r);
  cr_expect_eq(h_get(port, acc, path, &r, NULL), 200, "an accountant reads pay");
  json_decref(r);
  /* … and the pay is posted by reaction (accounting.entry_on_pay): 640 wages to 428 wages
   * accrued, the entry naming the pay accrual it came from; the closed month (1,000) by
   * accounting.entry_on_pay_period: 428 to 425 wages due. */
  r = get_until(acc, "/api/v1/accounting/accounts/640/entries", two_lines);
  cr_expect_eq(i_of(r, "balance_minor"), 1500);
  const json_t *entry = json_object_get(json_array_get(json_object_get(r, "lines"), 0), "entry");
  cr_expect_str_eq(s_of(json_object_get(entry, "source"), "type"), "fofal.hr.pay_accrued.v1");
  cr_expect_str_eq(s_of(entry, "posted_by"), "r:accounting.entry_on_pay");
  json_decref(r);
  json_decref(get_until(acc, "/api/v1/accounting/accounts/425/entries", has_line));
  cr_assert_eq(h_get(port, acc, "/api/v1/accounting/trial-balance", &r, NULL), 200);
  cr_expect_eq(i_of(r, "debit_minor"), 2500, "640: 1,500 and 428: 1,000");
  cr_expect_eq(i_of(r, "credit_minor"), 2500, "428: 1,500 and 425: 1,000");
  json_decref(r);
  cr_expect_eq(h_get(port, w2, path, &r, NULL), 403, "another weaver does not");
  json_decref(r);
  cr_expect_eq(h_get(port, acc, "/api/v1/hr/employees/W1/pay?from=2026-02-30", &r, NULL), 400);
  cr_expect_str_eq(s_of(r, "code"), "invalid_date");
  json_decref(r);
  cr_expect_eq(h_get(port, acc, "/api/v1/hr/employees/W1/pay?from=2026-03-01&to=2026-01-01", &r, NULL), 400);
  cr_expect_str_eq(s_of(r, "code"), "invalid_period");
  json_decref(r);
  r = NULL;
  cr_expect_eq(h_get(port, w2, "/api/v1/hr/piecerates/FT-PAY", &r, NULL), 200, "the floor reads the rates");
  cr_expect_eq(i_of(json_array_get(json_object_get(r, "rates"), 0), "rate_minor"), 250);
  json_decref(r);

  /* Attendance: the weaver clocks as themself, never for a colleague. */
  r = NULL;
  int st = h_command_ok(port, w1, "hr.employee.clock_in", "pay-in-w2", NULL, "{\"badge\":\"W2\",\"device\":\"GATE-1\"}", &r);
  cr_expect_eq(st, 403, "a weaver clocks a colleague in: %d %s", st, s_of(r, "detail"));
  cr_expect_str_eq(s_of(r, "code"), "actor_mismatch");
  json_decref(r);
  json_decref(cmd(w1, "hr.employee.clock_in", "pay-in", "{\"badge\":\"W1\",\"device\":\"GATE-1\"}"));
  json_decref(cmd(w1, "hr.employee.clock_out", "pay-out", "{\"badge\":\"W1\",\"device\":\"GATE-2\"}"));
  json_decref(cmd(hr, "hr.employee.record_absence", "pay-abs",
                  "{\"badge\":\"W1\",\"from\":\"2020-03-02\",\"to\":\"2020-03-03\",\"reason\":\"sick\"}"));
  snprintf(path, sizeof path, "/api/v1/hr/employees/W1/attendance?%s", q);
  r = get_until(w1, path, clocked_out);
  const json_t *c = json_array_get(json_object_get(r, "clockings"), 0);
  cr_expect_str_eq(s_of(c, "device_in"), "GATE-1");
  cr_expect_str_eq(s_of(c, "device_out"), "GATE-2");
  cr_expect(json_is_string(json_object_get(c, "shift")), "the clocking belongs to the weaver's shift");
  cr_expect_eq(i_of(json_object_get(r, "totals"), "clockings"), 1);
  json_decref(r);
  r = get_until(hr, "/api/v1/hr/employees/W1/attendance?from=2020-03-01&to=2020-03-31", absent);
  cr_expect_eq(i_of(json_object_get(r, "totals"), "absence_days"), 2);
  cr_expect_str_eq(s_of(json_array_get(json_object_get(r, "absences"), 0), "reason"), "sick");
  json_decref(r);
  cr_expect_eq(h_get(port, w2, path, &r, NULL), 403, "another weaver does not read W1's attendance");
  json_decref(r);

  /* The live read model equals a rebuild from the log (once the projector caught up). */
  char *out = NULL;
  st = -1;
  const char *args[] = {"verify", "hr", NULL};
  for (int attempt = 0; attempt < 30 && st; attempt++) {
    free(out);
    out = NULL;
    st = h_run_cli(120, &out, args);
    if (st) sleep(1);
  }
  cr_expect_eq(st, 0, "fofal verify hr: %s", out ? out : "");
  free(out);
  free(hr);
  free(acc);
  free(w1);
  free(w2);
}

static int four_lines(const json_t *b) { return json_array_size(json_object_get(b, "lines")) >= 4; }
static int weaver_slip(const json_t *b) { return json_array_size(json_object_get(b, "pieces")) >= 2; }
static int cutter_slip(const json_t *b) { return json_array_size(json_object_get(b, "pieces")) >= 2; }
static int slip_closed(const json_t *b) {
  return json_is_true(json_object_get(json_array_get(json_object_get(b, "sites"), 0), "closed"));
}

/* One payslip line of `role`, `grade` (NULL: none), or fails. */
static const json_t *slip_line(const json_t *slip, const char *role, const char *grade) {
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(slip, "pieces"), i, e) {
    if (!strcmp(s_of(e, "role"), role) && !strcmp(s_of(e, "grade"), grade ? grade : "")) return e;
  }
  cr_assert_fail("no payslip line %s %s", role, grade ? grade : "(base)");
  return NULL;
}

/* declaration → cut → accruals by grade → period close → payslip → one posting. Rates: the
 * weaver 250 a piece and a 1st-choice premium of 20; the cutter 150 a 1st-choice piece and
 * a base of 100. 10 pieces declared (2,500), cut into 8 of 1st, 1 of 2nd and 1 waste: the
 * weaver's premium 8 × 20 = 160, the cutter 8 × 150 + 1 × 100 = 1,300; the month's gross
 * 3,960. */
Test(hr_pay, a_cut_pays_by_grade_and_the_closed_month_is_one_posting) {
  char b[768], path[256], q[64], roll[FOFAL_UUID_LEN + 1] = "", order[FOFAL_UUID_LEN + 1], month[8];
  char *hr = h_token(tenant, "hr"), *acc = h_token(tenant, "accountant"), *w1 = token_for("W1", "weaver"),
       *c1 = token_for("C1", "cutter");
  json_t *r;
  around_today(q, sizeof q);
  h_floor_http(port, tenant, "L1", "W1", "FT-CUT");
  json_decref(cmd(hr, "hr.employee.register", "cut-c1", "{\"badge\":\"C1\",\"name\":\"Nour\",\"job\":\"cutter\"}"));
  static const char *const rates[] = {
      "{\"article\":\"FT-CUT\",\"unit\":\"piece\",\"rate_minor\":250,\"valid_from\":\"2020-01-01\"}",
      "{\"article\":\"FT-CUT\",\"grade\":\"first\",\"unit\":\"piece\",\"rate_minor\":20,\"valid_from\":\"2020-01-01\"}",
      "{\"article\":\"FT-CUT\",\"role\":\"cutter\",\"unit\":\"piece\",\"rate_minor\":100,\"valid_from\":\"2020-01-01\"}",
      "{\"article\":\"FT-CUT\",\"role\":\"cutter\",\"grade\":\"first\",\"unit\":\"piece\",\"rate_minor\":150,"
      "\"valid_from\":\"2020-01-01\"}"};
  for (int k = 0; k < 4; k++) {
    char key[16];
    snprintf(key, sizeof key, "cut-rate-%d", k);
    json_decref(cmd(hr, "hr.piece_rate.set", key, rates[k]));
  }
  r = NULL;
  cr_expect_eq(h_command_ok(port, hr, "hr.piece_rate.set", "cut-rate-bad", NULL,
                            "{\"article\":\"FT-CUT\",\"role\":\"cutter\",\"unit\":\"kg\",\"rate_minor\":1,"
                            "\"valid_from\":\"2020-01-01\"}",
                            &r),
               422);
  cr_expect_str_eq(s_of(r, "code"), "unit_not_per_piece");
  json_decref(r);

  r = cmd(adm, "production.order.create", "cut-order", "{\"article\":\"FT-CUT\",\"quantity\":100}");
  snprintf(order, sizeof order, "%s", s_of(r, "aggregate"));
  json_decref(r);
  snprintf(b, sizeof b, "{\"order_id\":\"%s\"}", order);
  json_decref(cmd(adm, "production.order.release", "cut-release", b));
  snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"loom\":\"L1\"}", order);
  json_decref(cmd(adm, "production.order.start", "cut-start", b));
  snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"quantity\":10}", order);
  r = cmd(w1, "production.order.declare_output", "cut-decl", b);
  h_declared_label(r, roll);
  json_decref(r);
  cr_assert(fofal_uuid_valid(roll));
  snprintf(path, sizeof path, "/api/v1/inventory/labels/%s", roll);
  int st = 0;
  for (int attempt = 0; attempt < 300 && st != 200; attempt++) {
    json_t *j = NULL;
    st = h_get(port, adm, path, &j, NULL);
    json_decref(j);
    if (st != 200) usleep(200 * 1000);
  }
  cr_assert_eq(st, 200, "the roll entered stock");

  /* The cutter cuts as themself: no badge in the body. */
  snprintf(b, sizeof b,
           "{\"roll\":\"%s\",\"first_choice\":8,\"second_choice\":1,\"waste_pieces\":1,"
           "\"defects\":[{\"cause\":\"oil_stain\",\"pieces\":2}]}",
           roll);
  json_decref(cmd(c1, "quality.roll.cut", "cut-cut", b));

  /* The weaver's pay period is the declaration's month. */
  snprintf(path, sizeof path, "/api/v1/hr/employees/W1/pay?%s", q);
  r = get_until(w1, path, has_line);
  snprintf(month, sizeof month, "%s", s_of(json_array_get(json_object_get(r, "lines"), 0), "pay_period"));
  json_decref(r);
  snprintf(path, sizeof path, "/api/v1/hr/employees/W1/payslip?period=%s", month);
  r = get_until(w1, path, weaver_slip);
  cr_expect_eq(i_of(slip_line(r, "weaver", NULL), "amount_minor"), 2500);
  cr_expect_eq(i_of(slip_line(r, "weaver", "first"), "quantity"), 8);
  cr_expect_eq(i_of(slip_line(r, "weaver", "first"), "amount_minor"), 160);
  cr_expect_eq(i_of(r, "gross_minor"), 2660);
  json_decref(r);
  snprintf(path, sizeof path, "/api/v1/hr/employees/C1/payslip?period=%s", month);
  r = get_until(c1, path, cutter_slip);
  cr_expect_eq(i_of(slip_line(r, "cutter", "first"), "rate_minor"), 150);
  cr_expect_eq(i_of(slip_line(r, "cutter", "first"), "amount_minor"), 1200);
  cr_expect_eq(i_of(slip_line(r, "cutter", "second"), "rate_minor"), 100, "no 2nd-choice rate: the cutter's base");
  cr_expect_eq(i_of(r, "gross_minor"), 1300);
  json_decref(r);
  cr_expect_eq(h_get(port, w1, path, &r, NULL), 403, "a weaver does not read the cutter's payslip");
  json_decref(r);
  cr_expect_eq(h_get(port, hr, "/api/v1/hr/employees/C1/payslip?period=2026-13", &r, NULL), 400);
  cr_expect_str_eq(s_of(r, "code"), "invalid_period");
  json_decref(r);

  /* hr closes the month at the site; the close carries its gross; again is refused. */
  snprintf(b, sizeof b, "{\"period\":\"%s\"}", month);
  r = cmd(hr, "hr.pay_period.close", "cut-close", b);
  json_decref(r);
  r = NULL;
  cr_expect_eq(h_command_ok(port, hr, "hr.pay_period.close", "cut-close-2", NULL, b, &r), 422);
  cr_expect_str_eq(s_of(r, "code"), "already_closed");
  json_decref(r);
  r = get_until(c1, path, slip_closed);
  cr_expect_eq(i_of(json_array_get(json_object_get(r, "sites"), 0), "period_gross_minor"), 3960);
  json_decref(r);

  /* The ledger: four accruals to 640/428, the close as one entry 428/425. */
  r = get_until(acc, "/api/v1/accounting/accounts/640/entries", four_lines);
  cr_expect_eq(i_of(r, "balance_minor"), 3960);
  json_decref(r);
  r = get_until(acc, "/api/v1/accounting/accounts/425/entries", has_line);
  const json_t *entry = json_object_get(json_array_get(json_object_get(r, "lines"), 0), "entry");
  cr_expect_str_eq(s_of(json_object_get(entry, "source"), "type"), "fofal.hr.pay_period_closed.v1");
  cr_expect_str_eq(s_of(entry, "posted_by"), "r:accounting.entry_on_pay_period");
  json_decref(r);
  cr_assert_eq(h_get(port, acc, "/api/v1/accounting/trial-balance", &r, NULL), 200);
  cr_expect_eq(i_of(r, "debit_minor"), 7920, "640: 3,960 and 428: 3,960");
  cr_expect_eq(i_of(r, "credit_minor"), 7920, "428: 3,960 and 425: 3,960");
  json_decref(r);
  free(hr);
  free(acc);
  free(w1);
  free(c1);
}
