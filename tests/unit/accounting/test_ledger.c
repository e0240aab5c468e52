/*
 * test_ledger.c — commands/accounting/: journal entries balance, lines are one-sided and
 * positive, accounts are of SCE classes 1–7, nothing is posted into a closed period, and
 * piece-rate pay (hr's pay_accrued) is posted by reaction with its source; a generated year
 * of such postings sums to a zero trial balance, to the minor unit. Through the registry
 * and an in-memory tenant (the production tests' world.h); every event is checked against
 * its schema under schemas/accounting/events/.
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
  world_as("u:olfa/accountant", NULL);
}

static void teardown(void) {
  world_free();
  fofal_registry_free(reg);
  reg = NULL;
}

TestSuite(ledger, .init = setup, .fini = teardown);

static void check_event(const json_t *ev) {
  static const char prefix[] = "fofal.accounting.";
  const char *type = json_string_value(json_object_get(ev, "type"));
  cr_assert(type && !strncmp(type, prefix, sizeof prefix - 1), "event type %s", type ? type : "(null)");
  char path[512], err[256];
  snprintf(path, sizeof path, "%s/schemas/accounting/events/%s.json", FOFAL_SOURCE_DIR, type + sizeof prefix - 1);
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

static json_t *accept(const char *type, json_t *data, const char *cmd_id) {
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

static void refused(const char *type, json_t *data, const char *code) {
  fofal_decision_t d;
  int rc = world_decide_at(type, data, W_ISSUED, "cmd-refused", &d);
  cr_assert_eq(rc, FOFAL_EREJECTED, "%s was accepted, want %s", type, code);
  cr_assert_str_eq(d.code, code, "%s: %s (%s), want %s", type, d.code, d.detail, code);
  world_release(&d);
}

/* An entry of two lines: `dr` debited to 640, `cr` credited to `credit_account`. */
static json_t *entry(const char *id, const char *date, json_int_t dr, const char *credit_account, json_int_t cr) {
  return json_pack("{s:s,s:s,s:s,s:[{s:s,s:I},{s:s,s:I}]}", "entry_id", id, "date", date, "memo", "test", "lines",
                   "account", "640", "debit_minor", dr, "account", credit_account, "credit_minor", cr);
}

#define E1 "0192f0a0-0000-7000-8000-0000000a0001"
#define E2 "0192f0a0-0000-7000-8000-0000000a0002"

Test(ledger, a_balanced_entry_is_posted_with_its_author) {
  json_t *ev = accept("accounting.entry.post", entry(E1, "2026-11-24", 125000, "532", 125000), "post-1");
  cr_expect_str_eq(jstr(ev, "entry_id"), E1);
  cr_expect_eq(jint(ev, "total_minor", 0), 125000);
  cr_expect_str_eq(jstr(ev, "posted_by"), "u:olfa/accountant", "the author is the token's actor");
  json_decref(ev);
}

Test(ledger, an_unbalanced_entry_is_refused) {
  refused("accounting.entry.post", entry(E1, "2026-11-24", 125000, "532", 124999), "unbalanced");
}

Test(ledger, a_line_is_one_positive_side) {
  json_t *both = entry(E1, "2026-11-24", 100, "532", 100);
  json_object_set_new(json_array_get(json_object_get(both, "lines"), 0), "credit_minor", json_integer(100));
  refused("accounting.entry.post", both, "invalid_line");
  refused("accounting.entry.post", entry(E1, "2026-11-24", 0, "532", 0), "invalid_line");
}

/* The schema refuses an account outside classes 1–7 before any decider (422 at the API). */
Test(ledger, accounts_are_of_classes_one_to_seven) {
  static const char *const bad[] = {"8", "801", "0640", "64a", "123456789"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    json_t *e = entry(E1, "2026-11-24", 100, bad[i], 100), *errors = NULL;
    cr_expect_neq(fofal_registry_validate(reg, "accounting.entry.post", e, &errors), 0, "account %s", bad[i]);
    json_decref(errors);
    json_decref(e);
  }
  json_decref(accept("accounting.entry.post", entry(E1, "2026-11-24", 100, "43", 100), "post-43"));
}

Test(ledger, nothing_is_posted_into_a_closed_period) {
  json_t *ev = accept("accounting.period.close", json_pack("{s:s}", "period", "2026-11"), "close-11");
  cr_expect_str_eq(jstr(ev, "closed_by"), "u:olfa/accountant");
  json_decref(ev);
  refused("accounting.entry.post", entry(E1, "2026-11-30", 100, "425", 100), "period_closed");
  json_decref(accept("accounting.entry.post", entry(E2, "2026-12-01", 100, "425", 100), "post-12"));
  refused("accounting.period.close", json_pack("{s:s}", "period", "2026-13"), "invalid_period");
}

/* Runs accounting.entry_on_pay on a pay_accrued with `amount`. */
static int react(json_int_t amount, const char *event_id, fofal_reaction_result_t *res, json_t **trigger) {
  const fofal_reaction_t *r = fofal_reaction_find("accounting.entry_on_pay");
  cr_assert_not_null(r, "the reaction is registered");
  *trigger = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:s,s:i,s:I}", "badge", "W-12", "label_id",
                       "0192f0a0-0000-7000-8000-000000000001", "order_id", "0192f0a0-0000-7000-8000-0000000000aa", "article",
                       "FT-200", "shift", "2026-11-24/C", "quantity", 12, "length_mm", 24000, "unit", "piece",
                       "rate_minor", 450, "amount_minor", amount);
  static char type[] = "fofal.hr.pay_accrued.v1", tenant[] = W_TENANT;
  fofal_event_t ev = {.id = (char *)event_id, .type = type, .tenant = tenant, .subject = (char *)"x", .seq = 1,
                      .data = *trigger};
  return fofal_reaction_apply(reg, r, &ev, "fofal.hr.events", 0, 7, W_ISSUED, res);
}

Test(ledger, piece_rate_pay_is_posted_by_reaction_with_its_source) {
  fofal_reaction_result_t res;
  json_t *trigger;
  char eid[] = "0192f0a0-0000-7000-8000-00000000e0e1";
  cr_assert_eq(react(5400, eid, &res, &trigger), FOFAL_REACT_COMMAND, "%s", res.out.reason);
  cr_expect_str_eq(res.cmd.type, "accounting.entry.post");
  cr_expect_str_eq(res.cmd.actor, "r:accounting.entry_on_pay");
  world_as(res.cmd.actor, NULL);
  json_t *ev = accept(res.cmd.type, json_deep_copy(res.out.data), res.cmd.id);
  cr_expect_str_eq(jstr(ev, "date"), "2026-11-24", "dated on the declaration's shift day");
  cr_expect_str_eq(jstr(json_object_get(ev, "source"), "event_id"), eid, "the entry names the event it was posted from");
  const json_t *lines = json_object_get(ev, "lines");
  cr_expect_str_eq(jstr(json_array_get(lines, 0), "account"), "640");
  cr_expect_eq(jint(json_array_get(lines, 0), "debit_minor", 0), 5400);
  cr_expect_str_eq(jstr(json_array_get(lines, 1), "account"), "428");
  cr_expect_eq(jint(json_array_get(lines, 1), "credit_minor", 0), 5400);
  cr_expect_str_eq(jstr(ev, "posted_by"), "r:accounting.entry_on_pay");
  json_decref(ev);
  char again[FOFAL_UUID_LEN + 1];
  snprintf(again, sizeof again, "%s", jstr(res.out.data, "entry_id"));
  fofal_reaction_result_clear(&res);
  json_decref(trigger);
  /* The same trigger again is the same entry: the processor refuses it as existing. */
  cr_assert_eq(react(5400, eid, &res, &trigger), FOFAL_REACT_COMMAND);
  cr_expect_str_eq(jstr(res.out.data, "entry_id"), again);
  fofal_reaction_result_clear(&res);
  json_decref(trigger);
  cr_expect_eq(react(0, eid, &res, &trigger), FOFAL_REACT_NOTHING, "nothing is posted for no pay");
  fofal_reaction_result_clear(&res);
  json_decref(trigger);
}

/* A generated year of postings (5,000 random balanced entries, about a second: the world
 * copies only what a decider reads, world.h; an integration test does the same through
 * the stack, tests/integration/accounting/test_year.c): every entry the decider
 * accepts balances, so the trial balance (sum of debits − credits over every account) is
 * zero to the minor unit, and the per-account sums are what was posted; the year's close
 * brings classes 6 and 7 to zero against the result and the trial balance stays zero. */
Test(ledger, a_year_of_postings_has_a_zero_trial_balance) {
  static const char *const accounts[] = {"640", "425", "532", "411", "701", "401", "601", "43"};
  json_int_t balance[8] = {0}, posted[8] = {0}, dr_total = 0, cr_total = 0, ev_dr = 0, ev_cr = 0;
  unsigned seed = 17;
  for (int i = 0; i < 5000; i++) {
    char id[FOFAL_UUID_LEN + 1], date[11], cmd_id[32];
    snprintf(id, sizeof id, "0192f0a0-0000-7000-8000-%012x", i + 1);
    snprintf(date, sizeof date, "2027-%02d-%02d", i % 12 + 1, i % 28 + 1);
    snprintf(cmd_id, sizeof cmd_id, "y-%d", i);
    json_t *lines = json_array();
    json_int_t sum = 0;
    int n = 1 + (int)(rand_r(&seed) % 4);
    for (int k = 0; k < n; k++) {
      int a = (int)(rand_r(&seed) % 8);
      json_int_t v = 1 + (json_int_t)(rand_r(&seed) % 5000000);
      json_array_append_new(lines, json_pack("{s:s,s:I}", "account", accounts[a], "debit_minor", v));
      balance[a] += v;
      sum += v;
    }
    int c = (int)(rand_r(&seed) % 8);
    json_array_append_new(lines, json_pack("{s:s,s:I}", "account", accounts[c], "credit_minor", sum));
    balance[c] -= sum;
    dr_total += sum;
    cr_total += sum;
    /* Through the decider without the per-event schema check of accept() (the other tests
     * check the events' schema): 5,000 compiles of it would not fit a unit test's time. */
    fofal_decision_t d;
    int rc = world_decide_at("accounting.entry.post",
                             json_pack("{s:s,s:s,s:o}", "entry_id", id, "date", date, "lines", lines), W_ISSUED, cmd_id, &d);
    cr_assert_eq(rc, 0, "entry %d rejected: %s: %s", i, d.code, d.detail);
    json_t *ev = json_incref(json_object_get(json_array_get(d.events, 0), "data"));
    world_release(&d);
    /* The trial balance as the events give it. */
    size_t j;
    json_t *l;
    json_array_foreach(json_object_get(ev, "lines"), j, l) {
      for (int a = 0; a < 8; a++) {
        if (!jeq(l, "account", accounts[a])) continue;
        posted[a] += jint(l, "debit_minor", 0) - jint(l, "credit_minor", 0);
        ev_dr += jint(l, "debit_minor", 0);
        ev_cr += jint(l, "credit_minor", 0);
      }
    }
    json_decref(ev);
  }
  json_int_t total = 0;
  for (int a = 0; a < 8; a++) {
    total += posted[a];
    cr_expect_eq(posted[a], balance[a], "account %s", accounts[a]);
  }
  cr_expect_eq(total, 0, "the trial balance of a year sums to zero");
  cr_expect_eq(ev_dr, ev_cr);
  cr_expect_eq(ev_dr, dr_total);
  cr_expect_eq(cr_total, dr_total);

  /* The year closed: classes 6 and 7 to zero, the result to 120 or 129. */
  for (int m = 1; m <= 12; m++) {
    char p[8], id[16];
    snprintf(p, sizeof p, "2027-%02d", m);
    snprintf(id, sizeof id, "yc-%d", m);
    json_decref(accept("accounting.period.close", json_pack("{s:s}", "period", p), id));
  }
  json_t *ev = accept("accounting.year.close", json_pack("{s:s}", "year", "2027"), "yc-2027");
  json_int_t result = 0, closing_dr = 0, closing_cr = 0, to_result = 0;
  size_t j;
  json_t *l;
  for (int a = 0; a < 8; a++)
    if (accounts[a][0] == '6' || accounts[a][0] == '7') result -= posted[a];
  json_array_foreach(json_object_get(ev, "lines"), j, l) {
    json_int_t delta = jint(l, "debit_minor", 0) - jint(l, "credit_minor", 0);
    closing_dr += jint(l, "debit_minor", 0);
    closing_cr += jint(l, "credit_minor", 0);
    if (jeq(l, "account", "120") || jeq(l, "account", "129")) to_result -= delta;
    for (int a = 0; a < 8; a++)
      if (jeq(l, "account", accounts[a])) posted[a] += delta;
  }
  total = -to_result; /* the result account's debits less credits */
  for (int a = 0; a < 8; a++) {
    if (accounts[a][0] == '6' || accounts[a][0] == '7') cr_expect_eq(posted[a], 0, "account %s closed", accounts[a]);
    total += posted[a];
  }
  cr_expect_eq(closing_dr, closing_cr, "the closing entry balances");
  cr_expect_eq(to_result, result, "the result is products less charges");
  cr_expect_eq(jint(ev, "result_minor", 0), result);
  cr_expect_eq(total, 0, "the trial balance is still zero");
  json_decref(ev);
}

/* The chart of accounts: a tenant names (or renames) an account of classes 1–7; its class,
 * when given, is its number's first digit. */
Test(ledger, an_account_of_the_chart_is_defined_with_its_class) {
  json_t *ev = accept("accounting.account.define",
                      json_pack("{s:s,s:s}", "account", "6411", "name", "Salaires des tisserands"), "def-6411");
  cr_expect_str_eq(jstr(ev, "name"), "Salaires des tisserands");
  cr_expect_eq(jint(ev, "class", 0), 6, "the class is the number's first digit");
  cr_expect_str_eq(jstr(ev, "defined_by"), "u:olfa/accountant");
  json_decref(ev);
  refused("accounting.account.define", json_pack("{s:s,s:s,s:i}", "account", "701", "name", "Ventes", "class", 6),
          "class_mismatch");
  json_t *off = json_pack("{s:s,s:s}", "account", "801", "name", "Hors bilan"), *errors = NULL;
  cr_expect_neq(fofal_registry_validate(reg, "accounting.account.define", off, &errors), 0, "class 8 is no account");
  json_decref(errors);
  json_decref(off);
  refused("accounting.account.define", json_pack("{s:s,s:s}", "account", "702", "name", "   "), "invalid_name");
}

/* The company the statements name: set (with its tax id, by the token's actor), set again
 * (replaced; without a tax id, none); a blank name, surrounding blanks or a control
 * character are refused. */
Test(ledger, the_company_the_statements_name_is_set_and_replaced) {
  json_t *ev = accept("accounting.company.set",
                      json_pack("{s:s,s:s,s:s}", "company", "default", "name", "Tissage du Sahel SARL", "tax_id",
                                "1234567/A/M/000"),
                      "co-1");
  cr_expect_str_eq(jstr(ev, "name"), "Tissage du Sahel SARL");
  cr_expect_str_eq(jstr(ev, "tax_id"), "1234567/A/M/000");
  cr_expect_str_eq(jstr(ev, "set_by"), "u:olfa/accountant");
  json_decref(ev);
  ev = accept("accounting.company.set", json_pack("{s:s,s:s}", "company", "default", "name", "Tissage du Sahel SA"),
              "co-2");
  cr_expect_str_eq(jstr(ev, "name"), "Tissage du Sahel SA");
  cr_expect_null(json_object_get(ev, "tax_id"), "no tax id given: none");
  json_decref(ev);
  const json_t *st = world_ref("accounting_company", "default");
  cr_expect_str_eq(jstr(st, "name"), "Tissage du Sahel SA", "the second replaced the first");
  cr_expect_null(json_object_get(st, "tax_id"));
  refused("accounting.company.set", json_pack("{s:s,s:s}", "company", "default", "name", "   "), "invalid_name");
  refused("accounting.company.set", json_pack("{s:s,s:s}", "company", "default", "name", " Sahel"), "invalid_name");
  refused("accounting.company.set", json_pack("{s:s,s:s}", "company", "default", "name", "Sahel\nSARL"), "invalid_name");
  refused("accounting.company.set", json_pack("{s:s,s:s,s:s}", "company", "default", "name", "Sahel", "tax_id", "12 "),
          "invalid_tax_id");
  /* 120 characters with accents (240 bytes) are a name. */
  char name[400] = "";
  for (int i = 0; i < 120; i++) strcat(name, "é");
  json_decref(accept("accounting.company.set", json_pack("{s:s,s:s}", "company", "default", "name", name), "co-3"));
}

/* Runs accounting.entry_on_goods_received on a receipt of 2.5 kg at 12.345 TND/kg and
 * 1 cone at 0.999 TND, or, when `refused`, of nothing accepted. */
static int react_receipt(int refused, const char *event_id, fofal_reaction_result_t *res, json_t **trigger) {
  const fofal_reaction_t *r = fofal_reaction_find("accounting.entry_on_goods_received");
  cr_assert_not_null(r, "the reaction is registered");
  *trigger = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[{s:i,s:i,s:s,s:i,s:i,s:i,s:i},{s:i,s:i,s:s,s:i,s:i,s:i,s:i}]}",
                       "order_id", "0192f0a0-0000-7000-8000-0000000000bb", "receipt_id",
                       "0192f0a0-0000-7000-8000-0000000000cc", "supplier", "F-COTON", "delivery_note", "BL-77",
                       "received_by", "u:sami/storekeeper", "received_at", "2026-11-25T08:30:00Z", "status", "partial",
                       "lines", "line", 1, "quantity_milli", refused ? 0 : 2500, "unit", "kg", "unit_price", 12345,
                       "ordered_milli", 5000, "received_total_milli", 2500, "refused_milli", 0, "line", 2,
                       "quantity_milli", refused ? 0 : 1000, "unit", "cone", "unit_price", 999, "ordered_milli", 1000,
                       "received_total_milli", 1000, "refused_milli", refused ? 1000 : 0);
  static char type[] = "fofal.purchasing.goods_received.v1", tenant[] = W_TENANT;
  fofal_event_t ev = {.id = (char *)event_id, .type = type, .tenant = tenant, .subject = (char *)"x", .seq = 1,
                      .data = *trigger};
  return fofal_reaction_apply(reg, r, &ev, "fofal.purchasing.events", 0, 7, W_ISSUED, res);
}

Test(ledger, goods_received_are_posted_to_stock_against_invoices_not_received) {
  fofal_reaction_result_t res;
  json_t *trigger;
  char eid[] = "0192f0a0-0000-7000-8000-00000000e0f1";
  cr_assert_eq(react_receipt(0, eid, &res, &trigger), FOFAL_REACT_COMMAND, "%s", res.out.reason);
  world_as(res.cmd.actor, NULL);
  json_t *ev = accept(res.cmd.type, json_deep_copy(res.out.data), res.cmd.id);
  /* 2.5 × 12.345 = 30.8625 → 30.863 TND (half up), + 0.999 */
  json_int_t want = 30863 + 999;
  const json_t *lines = json_object_get(ev, "lines");
  cr_expect_str_eq(jstr(json_array_get(lines, 0), "account"), "311");
  cr_expect_eq(jint(json_array_get(lines, 0), "debit_minor", 0), want);
  cr_expect_str_eq(jstr(json_array_get(lines, 1), "account"), "408");
  cr_expect_eq(jint(json_array_get(lines, 1), "credit_minor", 0), want);
  cr_expect_str_eq(jstr(ev, "date"), "2026-11-25", "dated on the day received");
  cr_expect_str_eq(jstr(json_object_get(ev, "source"), "event_id"), eid);
  char first[FOFAL_UUID_LEN + 1];
  snprintf(first, sizeof first, "%s", jstr(ev, "entry_id"));
  json_decref(ev);
  fofal_reaction_result_clear(&res);
  json_decref(trigger);
  cr_assert_eq(react_receipt(0, eid, &res, &trigger), FOFAL_REACT_COMMAND);
  cr_expect_str_eq(jstr(res.out.data, "entry_id"), first, "the same receipt is the same entry");
  fofal_reaction_result_clear(&res);
  json_decref(trigger);
  cr_expect_eq(react_receipt(1, eid, &res, &trigger), FOFAL_REACT_NOTHING, "nothing is posted for goods all refused");
  fofal_reaction_result_clear(&res);
  json_decref(trigger);
}

/* The year's close: refused while a month is open; then every account of classes 6 and 7
 * to the result (120 a profit), the entry balancing; nothing is posted into it again. */
Test(ledger, a_year_is_closed_into_its_result_once_its_months_are) {
  json_t *e = json_pack("{s:s,s:s,s:[{s:s,s:I},{s:s,s:I},{s:s,s:I}]}", "entry_id", E1, "date", "2025-06-10", "lines",
                        "account", "411", "debit_minor", (json_int_t)1190000, "account", "701", "credit_minor",
                        (json_int_t)1000000, "account", "4366", "credit_minor", (json_int_t)190000);
  json_decref(accept("accounting.entry.post", e, "y-sale"));
  json_decref(accept("accounting.entry.post", entry(E2, "2025-07-01", 300000, "425", 300000), "y-pay"));
  for (int m = 1; m <= 11; m++) {
    char p[8], id[16];
    snprintf(p, sizeof p, "2025-%02d", m);
    snprintf(id, sizeof id, "close-%d", m);
    json_decref(accept("accounting.period.close", json_pack("{s:s}", "period", p), id));
  }
  refused("accounting.year.close", json_pack("{s:s}", "year", "2025"), "period_open");
  json_decref(accept("accounting.period.close", json_pack("{s:s}", "period", "2025-12"), "close-12"));
  json_t *ev = accept("accounting.year.close", json_pack("{s:s}", "year", "2025"), "close-2025");
  cr_expect_eq(jint(ev, "result_minor", 0), 700000, "products 1,000.000 less charges 300.000");
  cr_expect_str_eq(jstr(ev, "date"), "2025-12-31");
  json_int_t dr = 0, cr = 0, r120 = 0, a640 = 0, a701 = 0;
  size_t i;
  json_t *l;
  json_array_foreach(json_object_get(ev, "lines"), i, l) {
    dr += jint(l, "debit_minor", 0);
    cr += jint(l, "credit_minor", 0);
    if (jeq(l, "account", "120")) r120 = jint(l, "credit_minor", 0);
    if (jeq(l, "account", "640")) a640 = jint(l, "credit_minor", 0);
    if (jeq(l, "account", "701")) a701 = jint(l, "debit_minor", 0);
  }
  cr_expect_eq(dr, cr, "the closing entry balances");
  cr_expect_eq(dr, jint(ev, "total_minor", 0));
  cr_expect_eq(r120, 700000, "a profit is credited to 120");
  cr_expect_eq(a640, 300000, "charges are credited back to zero");
  cr_expect_eq(a701, 1000000, "products are debited back to zero");
  json_decref(ev);
  refused("accounting.year.close", json_pack("{s:s}", "year", "2025"), "year_closed");
  refused("accounting.year.close", json_pack("{s:s}", "year", "2026"), "period_open");
}

/* A loss goes to 129, debited. */
Test(ledger, a_loss_is_debited_to_129) {
  json_decref(accept("accounting.entry.post", entry(E1, "2024-03-03", 250000, "532", 250000), "l-pay"));
  for (int m = 1; m <= 12; m++) {
    char p[8], id[16];
    snprintf(p, sizeof p, "2024-%02d", m);
    snprintf(id, sizeof id, "lclose-%d", m);
    json_decref(accept("accounting.period.close", json_pack("{s:s}", "period", p), id));
  }
  json_t *ev = accept("accounting.year.close", json_pack("{s:s}", "year", "2024"), "close-2024");
  cr_expect_eq(jint(ev, "result_minor", 0), -250000);
  const json_t *last = json_array_get(json_object_get(ev, "lines"), 1);
  cr_expect_str_eq(jstr(last, "account"), "129");
  cr_expect_eq(jint(last, "debit_minor", 0), 250000);
  json_decref(ev);
}
