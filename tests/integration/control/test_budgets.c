/*
 * test_budgets.c — the control module against the real stack, through the command API
 * and the reads: an accountant budgets wages (641, cost centre TISSAGE) and sales (701,
 * VENTES) for two months of a year, the ledger gets entries on them, and the budget's
 * read gives each line's actual and variance, the totals and the result; read as of an
 * instant before an entry was posted, that entry is not there, and a budget amount
 * replaced since shows the old one. A wrong role reads and writes nothing, another tenant
 * reads nothing, and `fofal verify control` finds the live projection equal to a rebuild.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

TestSuite(control, .init = setup, .fini = teardown, .timeout = 300);

static char *token(const char *t, const char *subject, const char *role) {
  char *s = fofal_api_token_issue(h_env("FOFAL_JWT_SECRET"), "fofal", "fofal-api", t, subject, role, 3600);
  cr_assert_not_null(s);
  return s;
}

static const char *s_of(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

static json_int_t i_of(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* Sends a command that must be accepted; its position into pos (when given). */
static void send(const char *tok, const char *type, const char *key, const char *body, char *pos) {
  json_t *j = NULL;
  int st = h_command_ok(port, tok, type, key, NULL, body, &j);
  cr_assert_eq(st, 201, "%s %s: %d %s %s", type, key, st, s_of(j, "code"), s_of(j, "detail"));
  if (pos) snprintf(pos, 160, "%s", s_of(j, "position"));
  json_decref(j);
}

static void budget_at(const char *tok, const char *key, const char *centre, const char *account, const char *month,
                      long long amount, char *pos) {
  char b[256];
  snprintf(b, sizeof b,
           "{\"year\":\"2026\",\"cost_centre\":\"%s\",\"account\":\"%s\",\"month\":\"%s\",\"amount_minor\":%lld}", centre,
           account, month, amount);
  send(tok, "control.budget.set", key, b, pos);
}

static void budget(const char *tok, const char *key, const char *centre, const char *account, const char *month,
                   long long amount) {
  budget_at(tok, key, centre, account, month, amount, NULL);
}

static void entry(const char *tok, const char *key, const char *date, const char *debit, const char *credit,
                  long long amount, char *pos) {
  char id[FOFAL_UUID_LEN + 1], b[512];
  fofal_uuid7(id);
  snprintf(b, sizeof b,
           "{\"entry_id\":\"%s\",\"date\":\"%s\",\"memo\":\"test\",\"lines\":[{\"account\":\"%s\",\"debit_minor\":%lld},"
           "{\"account\":\"%s\",\"credit_minor\":%lld}]}",
           id, date, debit, amount, credit, amount);
  send(tok, "accounting.entry.post", key, b, pos);
}

/* The line of `account` and `month` in a budget read, or NULL. */
static const json_t *line(const json_t *budget, const char *account, const char *month) {
  size_t i;
  const json_t *l;
  json_array_foreach(json_object_get(budget, "lines"), i, l) {
    if (!strcmp(s_of(l, "account"), account) && !strcmp(s_of(l, "month"), month)) return l;
  }
  return NULL;
}

Test(control, a_budget_against_the_ledger_now_and_as_of) {
  char *acc = token(tenant, "amal", "accountant"), *boss = token(tenant, "boss", "manager");
  char *planner = token(tenant, "p", "planner");
  char pos[160], path[512], before[40];
  json_t *j = NULL;

  budget(acc, "b1", "TISSAGE", "641", "2026-03", 40000000);
  budget(acc, "b2", "TISSAGE", "641", "2026-04", 40000000);
  budget(acc, "b3", "VENTES", "701", "2026-03", 120000000);
  json_t *refusal = NULL;
  cr_expect_eq(h_command(port, planner, "control.budget.set", "b0", NULL,
                         "{\"year\":\"2026\",\"cost_centre\":\"X\",\"account\":\"641\",\"month\":\"2026-03\","
                         "\"amount_minor\":1}",
                         &refusal),
               403);
  json_decref(refusal);
  cr_expect_eq(h_command(port, acc, "control.budget.set", "b4", NULL,
                         "{\"year\":\"2026\",\"cost_centre\":\"COUPE\",\"account\":\"641\",\"month\":\"2026-05\","
                         "\"amount_minor\":1}",
                         &refusal),
               422);
  cr_expect_str_eq(s_of(refusal, "code"), "account_in_other_centre");
  json_decref(refusal);

  /* March: wages 42,000.000 paid (over budget by 2,000.000), sales of 100,000.000 invoiced. */
  entry(acc, "e1", "2026-03-31", "641", "425", 42000000, NULL);
  entry(acc, "e2", "2026-03-15", "411", "701", 100000000, pos);
  fofal_time_format(fofal_now_us(), before);
  /* Posted after `before`: April's wages, and March's budget of wages raised. */
  entry(acc, "e3", "2026-04-30", "641", "425", 30000000, NULL);
  char budget_pos[160] = "";
  budget_at(acc, "b1b", "TISSAGE", "641", "2026-03", 43000000, budget_pos);
  entry(acc, "e4", "2026-04-01", "625", "532", 500000, pos);

  /* The read joins two projections, and a position is one module's: first wait for
   * control's (the last budget), then read with accounting's (the last entry). */
  snprintf(path, sizeof path, "/api/v1/control/budgets/2026?position=%s", budget_pos);
  cr_assert_eq(h_get(port, boss, path, &j, NULL), 200, "the budgets once control has the last one");
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/control/budgets/2026?position=%s", pos);
  cr_assert_eq(h_get(port, boss, path, &j, NULL), 200);
  const json_t *w3 = line(j, "641", "2026-03"), *w4 = line(j, "641", "2026-04"), *s3 = line(j, "701", "2026-03");
  cr_assert(w3 && w4 && s3, "lines 641/03, 641/04, 701/03");
  cr_expect_eq(i_of(w3, "budget_minor"), 43000000, "the amount set last");
  cr_expect_eq(i_of(w3, "actual_minor"), 42000000);
  cr_expect_eq(i_of(w3, "variance_minor"), -1000000);
  cr_expect_str_eq(s_of(w3, "cost_centre"), "TISSAGE");
  cr_expect_eq(i_of(w4, "actual_minor"), 30000000);
  cr_expect_eq(i_of(s3, "actual_minor"), 100000000, "a product's actual is its credits");
  cr_expect_eq(i_of(s3, "variance_minor"), -20000000);
  const json_t *travel = line(j, "625", "2026-04");
  cr_assert_not_null(travel, "an account with actuals and no budget is listed");
  cr_expect(json_is_null(json_object_get(travel, "cost_centre")));
  cr_expect_eq(i_of(json_object_get(j, "charges"), "actual_minor"), 72500000);
  cr_expect_eq(i_of(json_object_get(j, "charges"), "budget_minor"), 83000000);
  cr_expect_eq(i_of(json_object_get(j, "result"), "actual_minor"), 100000000 - 72500000);
  json_decref(j);

  /* As of `before`: April's entry and the raised budget are not there yet. */
  snprintf(path, sizeof path, "/api/v1/control/budgets/2026?as_of=%s&cost_centre=TISSAGE", before);
  cr_assert_eq(h_get(port, boss, path, &j, NULL), 200);
  cr_expect_eq(i_of(line(j, "641", "2026-03"), "budget_minor"), 40000000);
  cr_expect_eq(i_of(line(j, "641", "2026-04"), "actual_minor"), 0);
  cr_expect_null(line(j, "701", "2026-03"), "cost_centre=TISSAGE leaves VENTES out");
  json_decref(j);
  cr_assert_eq(h_get(port, boss, "/api/v1/control/budgets/2026?month=2026-04", &j, NULL), 200);
  cr_expect_eq(json_array_size(json_object_get(j, "lines")), 2, "641 and 625 in April");
  json_decref(j);
  cr_expect_eq(h_get(port, boss, "/api/v1/control/budgets/2026?month=2027-01", &j, NULL), 400);
  json_decref(j);
  cr_assert_eq(h_get(port, boss, "/api/v1/control/budgets", &j, NULL), 200);
  cr_expect_str_eq(s_of(json_array_get(json_object_get(j, "years"), 0), "year"), "2026");
  json_decref(j);

  cr_expect_eq(h_get(port, planner, "/api/v1/control/budgets/2026", &j, NULL), 403);
  json_decref(j);
  char other[40];
  snprintf(other, sizeof other, "%s-x", tenant);
  char *stranger = token(other, "boss", "manager");
  cr_expect_eq(h_get(port, stranger, "/api/v1/control/budgets/2026", &j, NULL), 404);
  json_decref(j);

  char *out = NULL;
  const char *verify[] = {"verify", "control", NULL};
  int vst = h_run_cli(120, &out, verify);
  cr_expect_eq(vst, 0, "fofal verify control: %s", out ? out : "");
  free(out);
  free(stranger);
  free(acc);
  free(boss);
  free(planner);
}
