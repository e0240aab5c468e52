/*
 * test_year.c — a generated year of a mill's postings against the real stack (issue 17:
 * "a test sums a generated year of postings and checks the trial balance is zero and
 * equals a rebuild"). Lean: a tenant of its own, a decider, a projector and an API.
 *
 * ENTRIES balanced journal entries (deterministic: a seeded xorshift, so a failure is
 * repeatable), spread over the twelve months of 2025 on a mill's accounts of the SCE
 * classes 1 to 7, 2 to 6 lines each, amounts in millimes up to 50,000 TND, are produced
 * straight to fofal.commands (as the API would, without its round trips). The test sums
 * every account itself. Once the projection holds the year (its debits reach the sum: the
 * amounts are positive, so no part of the year sums to it), the trial balance read
 * through the API has debits = credits = the test's sum, each account's balance is the
 * test's, the balances sum to zero, and so does the half year as of 30 June. Then `fofal
 * rebuild accounting` and `fofal verify accounting` (the live model equal to a fresh
 * rebuild), and the trial balance again: the same answer, to the millime.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "harness.h"

#define ENTRIES 3000
#define WAIT_S 240 /* for the projection to hold the year (ASan, a busy machine) */

static int port;
static pid_t dec, proj, api;
static char tenant[32];

static void setup(void) {
  h_tenant(tenant);
  port = h_free_port();
  dec = h_start_decider("it-year");
  proj = h_start_projector("it-year");
  api = h_start_api(port);
}

static void teardown(void) {
  h_stop(api, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
}

TestSuite(year, .init = setup, .fini = teardown, .timeout = 600);

/* A mill's accounts: capital and loans, equipment, yarn and finished stock, suppliers,
 * customers, staff, VAT, bank and cash, purchases, services, wages, interest, sales. */
static const char *const accounts[] = {"101",  "164", "2154", "2818", "311", "355", "401", "408", "411",
                                       "425",  "428", "4366", "532",  "54",  "601", "603", "6061", "615",
                                       "622",  "625", "640",  "645",  "661", "701", "706", "708"};
#define NACCOUNTS (int)(sizeof accounts / sizeof accounts[0])

static uint64_t rng = 0x9e3779b97f4a7c15ULL; /* the seed */
static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static json_int_t i_of(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* GET the trial balance (as_of: NULL or a date); 200 expected; the answer (new). */
static json_t *trial_balance(const char *token, const char *as_of) {
  char path[128];
  json_t *r = NULL;
  snprintf(path, sizeof path, "/api/v1/accounting/trial-balance%s%s", as_of ? "?as_of=" : "", as_of ? as_of : "");
  int st = h_get(port, token, path, &r, NULL);
  cr_assert_eq(st, 200, "GET %s: %d", path, st);
  return r;
}

/* The trial balance `tb` against the test's own sums `bal` (debits − credits per account)
 * and `total` (the debits): debits = credits = total, each account's balance, zero in all. */
static void expect_sums(const json_t *tb, const json_int_t *bal, json_int_t total, const char *what) {
  cr_expect_eq(i_of(tb, "debit_minor"), total, "%s: the debits", what);
  cr_expect_eq(i_of(tb, "credit_minor"), total, "%s: the credits", what);
  json_int_t sum = 0;
  int seen = 0;
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(tb, "accounts"), i, a) {
    const char *acc = json_string_value(json_object_get(a, "account"));
    sum += i_of(a, "balance_minor");
    cr_expect_eq(i_of(a, "balance_minor"), i_of(a, "debit_minor") - i_of(a, "credit_minor"), "%s: %s", what, acc);
    for (int k = 0; k < NACCOUNTS; k++)
      if (acc && !strcmp(acc, accounts[k])) {
        seen++;
        cr_expect_eq(i_of(a, "balance_minor"), bal[k], "%s: account %s, %lld ≠ the test's %lld", what, acc,
                     (long long)i_of(a, "balance_minor"), (long long)bal[k]);
      }
  }
  cr_expect_eq(seen, (int)json_array_size(json_object_get(tb, "accounts")), "%s: no account the test did not post to",
               what);
  cr_expect_eq(sum, 0, "%s: the balances sum to zero", what);
}

Test(year, a_generated_year_of_postings_sums_to_zero_and_equals_a_rebuild) {
  char *acc = h_token(tenant, "accountant");
  json_int_t bal[NACCOUNTS] = {0}, half[NACCOUNTS] = {0}, total = 0, half_total = 0;
  char err[256];
  fofal_kafka_t *k = NULL;
  fofal_kafka_opts_t o = {.brokers = h_env("FOFAL_KAFKA_BROKERS"), .client_id = "fofal-test-year"};
  cr_assert_eq(fofal_kafka_producer_new(&k, &o, err, sizeof err), 0, "%s", err);
  int64_t t0 = fofal_mono_us();
  for (int i = 0; i < ENTRIES; i++) {
    char id[FOFAL_UUID_LEN + 1], cmd_id[64], date[11], memo[64];
    int month = i * 12 / ENTRIES + 1, day = (int)(next() % 28) + 1;
    fofal_uuid7(id);
    snprintf(cmd_id, sizeof cmd_id, "%s-year-%d", tenant, i);
    snprintf(date, sizeof date, "2025-%02d-%02d", month, day);
    snprintf(memo, sizeof memo, "generated entry %d", i);
    /* 1 to 4 debits, their sum credited in 1 or 2 lines. */
    json_t *lines = json_array();
    json_int_t sum = 0;
    int ndr = 1 + (int)(next() % 4), ncr = 1 + (int)(next() % 2);
    for (int l = 0; l < ndr; l++) {
      int a = (int)(next() % NACCOUNTS);
      json_int_t v = 1 + (json_int_t)(next() % 50000000);
      json_array_append_new(lines, json_pack("{s:s,s:I}", "account", accounts[a], "debit_minor", v));
      bal[a] += v;
      if (month <= 6) half[a] += v;
      sum += v;
    }
    json_int_t left = sum;
    for (int l = 0; l < ncr; l++) {
      int a = (int)(next() % NACCOUNTS);
      json_int_t v = l == ncr - 1 || left < 2 ? left : 1 + (json_int_t)(next() % (uint64_t)(left - 1));
      json_array_append_new(lines, json_pack("{s:s,s:I}", "account", accounts[a], "credit_minor", v));
      bal[a] -= v;
      if (month <= 6) half[a] -= v;
      left -= v;
      if (!left) break;
    }
    total += sum;
    if (month <= 6) half_total += sum;
    h_produce_command(k, tenant, cmd_id, "accounting.entry.post", id,
                      json_pack("{s:s,s:s,s:s,s:o}", "entry_id", id, "date", date, "memo", memo, "lines", lines));
  }
  cr_assert_eq(fofal_kafka_flush(k, 30000), 0, "the commands were not all delivered");
  fofal_kafka_free(k);
  int64_t t1 = fofal_mono_us();

  /* Wait (bounded) until the projection holds the whole year. */
  json_t *tb = NULL;
  for (int64_t until = fofal_mono_us() + WAIT_S * 1000000LL;;) {
    json_decref(tb);
    tb = trial_balance(acc, NULL);
    if (i_of(tb, "debit_minor") == total || fofal_mono_us() > until) break;
    usleep(200 * 1000); /* polling a read, bounded: the projector has no readiness of its own */
  }
  int64_t t2 = fofal_mono_us();
  cr_assert_eq(i_of(tb, "debit_minor"), total, "the projection holds %lld of the year's %lld after %d s",
               (long long)i_of(tb, "debit_minor"), (long long)total, WAIT_S);
  fprintf(stderr, "test_year: %d entries produced in %.1f s, projected %.1f s later\n", ENTRIES, (t1 - t0) / 1e6,
          (t2 - t1) / 1e6);
  expect_sums(tb, bal, total, "the year");
  json_t *h = trial_balance(acc, "2025-06-30");
  expect_sums(h, half, half_total, "as of 30 June");
  json_decref(h);

  /* Rebuilt from the log: verify finds it equal, and the trial balance is the same. */
  char *out = NULL;
  const char *rb[] = {"rebuild", "accounting", NULL}, *vf[] = {"verify", "accounting", NULL};
  int st = h_run_cli(300, &out, rb);
  cr_expect_eq(st, 0, "fofal rebuild accounting: exit %d:\n%s", st, out ? out : "");
  free(out);
  out = NULL;
  st = h_run_cli(300, &out, vf);
  cr_expect_eq(st, 0, "fofal verify accounting: exit %d:\n%s", st, out ? out : "");
  cr_expect(out && strstr(out, " OK") && !strstr(out, "DIFFERENT"), "fofal verify accounting:\n%s", out ? out : "");
  free(out);
  int64_t t3 = fofal_mono_us();
  json_t *again = trial_balance(acc, NULL);
  cr_expect(json_equal(again, tb), "the trial balance after the rebuild is the one before");
  expect_sums(again, bal, total, "after the rebuild");
  fprintf(stderr, "test_year: rebuilt and verified in %.1f s\n", (t3 - t2) / 1e6);
  json_decref(again);
  json_decref(tb);
  free(acc);
}
