/*
 * test_ledger.c — the accounting module against the real stack (decider, projector, API),
 * through the API: an accountant posts balanced entries; an unbalanced one is 422
 * unbalanced and an entry into a closed month 422 period_closed; the trial balance sums
 * to zero and an account's balance lists the entries behind it with their author; a weaver
 * reads none of it (403); a bad as_of is a 400 problem; `fofal verify accounting` finds the
 * live read model equal to a rebuild. (Postings by reaction from piece-rate pay are in
 * tests/integration/hr/test_pay.c.) A tenant of its own; lean.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "harness.h"

static int port;
static pid_t dec, proj, api;
static char tenant[32];

static void setup(void) {
  h_tenant(tenant);
  port = h_free_port();
  dec = h_start_decider("it-ledger");
  proj = h_start_projector("it-ledger");
  api = h_start_api(port);
}

static void teardown(void) {
  h_stop(api, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
}

TestSuite(ledger, .init = setup, .fini = teardown, .timeout = 300);

static const char *s_of(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)) ?: ""; }
static json_int_t i_of(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* Posts an entry of `amount` from `debit` to `credit` on `date`; the status, and the
 * answer's position into pos (when 201). */
static int post(const char *token, const char *key, const char *date, const char *debit, const char *credit,
                long long dr, long long cr, char pos[128]) {
  char id[FOFAL_UUID_LEN + 1], b[512];
  fofal_uuid7(id);
  snprintf(b, sizeof b,
           "{\"entry_id\":\"%s\",\"date\":\"%s\",\"memo\":\"test\",\"lines\":[{\"account\":\"%s\",\"debit_minor\":%lld},"
           "{\"account\":\"%s\",\"credit_minor\":%lld}]}",
           id, date, debit, dr, credit, cr);
  json_t *r = NULL;
  int st = h_command_ok(port, token, "accounting.entry.post", key, NULL, b, &r);
  if (st == 201 && pos) snprintf(pos, 128, "%s", s_of(r, "position"));
  if (st != 201) fprintf(stderr, "%s: %d %s\n", key, st, s_of(r, "code"));
  json_decref(r);
  return st;
}

Test(ledger, balanced_entries_a_zero_trial_balance_and_closed_periods) {
  char *acc = h_token(tenant, "accountant"), *wv = h_token(tenant, "weaver"), pos[128] = "", path[256];
  json_t *r = NULL;
  cr_assert_eq(post(acc, "led-1", "2026-10-05", "532", "101", 5000000, 5000000, pos), 201, "capital paid in");
  cr_assert_eq(post(acc, "led-2", "2026-10-20", "601", "401", 1234567, 1234567, pos), 201, "a purchase");
  cr_expect_eq(post(acc, "led-3", "2026-10-21", "601", "401", 1000, 999, NULL), 422);
  json_t *j = NULL;
  int st = h_command_ok(port, acc, "accounting.period.close", "led-close", NULL, "{\"period\":\"2026-10\"}", &j);
  cr_expect_eq(st, 201, "close: %d %s", st, s_of(j, "detail"));
  json_decref(j);
  j = NULL;
  char id[FOFAL_UUID_LEN + 1], b[512];
  fofal_uuid7(id);
  snprintf(b, sizeof b,
           "{\"entry_id\":\"%s\",\"date\":\"2026-10-31\",\"lines\":[{\"account\":\"640\",\"debit_minor\":1},"
           "{\"account\":\"425\",\"credit_minor\":1}]}",
           id);
  st = h_command_ok(port, acc, "accounting.entry.post", "led-late", NULL, b, &j);
  cr_expect_eq(st, 422, "posting into a closed month: %d", st);
  cr_expect_str_eq(s_of(j, "code"), "period_closed");
  json_decref(j);

  /* The trial balance, read once the projection has the last entry. */
  snprintf(path, sizeof path, "/api/v1/accounting/trial-balance?position=%s", pos);
  cr_assert_eq(h_get(port, acc, path, &r, NULL), 200, "%s", s_of(r, "detail"));
  cr_expect_eq(i_of(r, "debit_minor"), 6234567);
  cr_expect_eq(i_of(r, "credit_minor"), 6234567, "debits equal credits");
  json_int_t sum = 0;
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(r, "accounts"), i, a) sum += i_of(a, "balance_minor");
  cr_expect_eq(sum, 0, "the balances sum to zero");
  cr_expect_eq(json_array_size(json_object_get(r, "accounts")), 4);
  json_decref(r);
  cr_assert_eq(h_get(port, acc, "/api/v1/accounting/trial-balance?as_of=2026-10-10", &r, NULL), 200);
  cr_expect_eq(i_of(r, "debit_minor"), 5000000, "as of the 10th: the first entry only");
  json_decref(r);

  /* Why 401 owes 1,234.567 TND: the entry, its author. */
  cr_assert_eq(h_get(port, acc, "/api/v1/accounting/accounts/401/entries", &r, NULL), 200);
  cr_expect_eq(i_of(r, "balance_minor"), -1234567);
  const json_t *e = json_object_get(json_array_get(json_object_get(r, "lines"), 0), "entry");
  cr_expect_str_eq(s_of(e, "posted_by"), "u:tester/accountant");
  snprintf(path, sizeof path, "/api/v1/accounting/entries/%s", s_of(e, "entry_id"));
  json_decref(r);
  cr_assert_eq(h_get(port, acc, path, &r, NULL), 200);
  cr_expect_eq(json_array_size(json_object_get(r, "lines")), 2);
  json_decref(r);

  cr_expect_eq(h_get(port, wv, "/api/v1/accounting/trial-balance", &r, NULL), 403);
  json_decref(r);
  cr_expect_eq(h_get(port, acc, "/api/v1/accounting/trial-balance?as_of=2026-02-30", &r, NULL), 400);
  cr_expect_str_eq(s_of(r, "code"), "invalid_date");
  json_decref(r);

  char *out = NULL;
  st = -1;
  const char *args[] = {"verify", "accounting", NULL};
  for (int attempt = 0; attempt < 30 && st; attempt++) {
    free(out);
    out = NULL;
    st = h_run_cli(120, &out, args);
    if (st) sleep(1);
  }
  cr_expect_eq(st, 0, "fofal verify accounting: %s", out ? out : "");
  free(out);
  free(acc);
  free(wv);
}
