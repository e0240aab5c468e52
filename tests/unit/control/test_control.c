/*
 * test_control.c — commands/control/control.c through the registry and an in-memory
 * tenant (tests/unit/production/world.h).
 *
 * One test per rule: a line's month is in its year, its account is a charge (class 6) or
 * a product (class 7) in one cost centre a year, setting a line again replaces its amount
 * (and says which it replaced), at most 1,200 lines, a closed budget changes no more.
 * Every emitted event is checked against its schema under schemas/control/events/.
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
  world_as("u:amal/accountant", NULL);
}

static void teardown(void) {
  world_free();
  fofal_registry_free(reg);
  reg = NULL;
}

TestSuite(budget, .init = setup, .fini = teardown);

static void check_event(const json_t *ev) {
  const char *type = json_string_value(json_object_get(ev, "type"));
  const char prefix[] = "fofal.control.";
  cr_assert(type && !strncmp(type, prefix, sizeof prefix - 1), "event type %s", type ? type : "(null)");
  char path[512], err[256];
  snprintf(path, sizeof path, "%s/schemas/control/events/%s.json", FOFAL_SOURCE_DIR, type + sizeof prefix - 1);
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

/* Sets a line and expects acceptance; the event's data (new). */
static json_t *set(const char *centre, const char *account, const char *month, json_int_t amount, const char *id) {
  fofal_decision_t d;
  int rc = world_decide_at("control.budget.set",
                           json_pack("{s:s,s:s,s:s,s:s,s:I}", "year", "2027", "cost_centre", centre, "account", account,
                                     "month", month, "amount_minor", amount),
                           W_ISSUED, id, &d);
  cr_assert_eq(rc, 0, "budget.set (%s) rejected: %s: %s", id, d.code, d.detail);
  size_t i;
  json_t *ev;
  json_array_foreach(d.events, i, ev) check_event(ev);
  json_t *first = json_incref(json_object_get(json_array_get(d.events, 0), "data"));
  world_release(&d);
  return first;
}

static void refused(const char *centre, const char *account, const char *month, const char *code) {
  world_no("control.budget.set",
           json_pack("{s:s,s:s,s:s,s:s,s:i}", "year", "2027", "cost_centre", centre, "account", account, "month", month,
                     "amount_minor", 1000),
           code);
}

Test(budget, a_line_is_set_then_replaced) {
  json_t *ev = set("TISSAGE", "641", "2027-01", 38000000, "b1");
  cr_expect_null(json_object_get(ev, "replaces_minor"));
  cr_expect_str_eq(jstr(ev, "set_by"), "u:amal/accountant");
  json_decref(ev);
  ev = set("TISSAGE", "641", "2027-01", 39500000, "b2");
  cr_expect_eq(jint(ev, "replaces_minor", -1), 38000000, "the event keeps the amount it replaced");
  json_decref(ev);
  cr_expect_eq(json_object_size(json_object_get(world_ref("budget", "2027"), "lines")), 1, "one line, replaced");
}

Test(budget, the_month_is_in_the_year) { refused("TISSAGE", "641", "2026-12", "month_outside_year"); }

Test(budget, a_budget_holds_charges_and_products) {
  refused("TISSAGE", "411", "2027-01", "invalid_account");
  refused("TISSAGE", "532", "2027-01", "invalid_account");
  json_decref(set("VENTES", "701", "2027-01", 90000000, "p1"));
}

Test(budget, an_account_is_in_one_cost_centre_a_year) {
  json_decref(set("TISSAGE", "641", "2027-01", 1000, "b1"));
  refused("COUPE", "641", "2027-02", "account_in_other_centre");
  json_decref(set("TISSAGE", "641", "2027-02", 1000, "b2"));
}

Test(budget, at_most_1200_lines) {
  char acc[16], id[32], month[8];
  for (int a = 0; a < 100; a++)
    for (int m = 1; m <= 12; m++) {
      snprintf(acc, sizeof acc, "6%02d", a);
      snprintf(month, sizeof month, "2027-%02d", m);
      snprintf(id, sizeof id, "l-%d-%d", a, m);
      world_ok("control.budget.set",
               json_pack("{s:s,s:s,s:s,s:s,s:i}", "year", "2027", "cost_centre", "C", "account", acc, "month", month,
                         "amount_minor", 1),
               id);
    }
  refused("C", "700", "2027-01", "too_many_lines");
  /* A line already there may still change. */
  json_decref(set("C", "600", "2027-01", 5, "again"));
}

Test(budget, a_closed_budget_changes_no_more) {
  json_decref(set("TISSAGE", "641", "2027-01", 1000, "b1"));
  json_decref(set("VENTES", "701", "2027-01", 5000, "b2"));
  world_as("u:boss/manager", NULL);
  fofal_decision_t d;
  cr_assert_eq(world_decide_at("control.budget.close", json_pack("{s:s}", "year", "2027"), W_ISSUED, "close", &d), 0);
  check_event(json_array_get(d.events, 0));
  const json_t *data = json_object_get(json_array_get(d.events, 0), "data");
  cr_expect_eq(jint(data, "total_minor", 0), 6000);
  cr_expect_eq(jint(data, "lines", 0), 2);
  world_release(&d);
  refused("TISSAGE", "641", "2027-02", "budget_closed");
  world_no("control.budget.close", json_pack("{s:s}", "year", "2027"), "budget_closed");
}

/* ------------------------------------------- machine rates, overheads, standards */

TestSuite(costing_set, .init = setup, .fini = teardown);

/* Decides, expects acceptance, checks the event against its schema; its data (new). */
static json_t *accepted(const char *type, json_t *data, const char *id) {
  fofal_decision_t d;
  int rc = world_decide_at(type, data, W_ISSUED, id, &d);
  cr_assert_eq(rc, 0, "%s (%s) rejected: %s: %s", type, id, d.code, d.detail);
  check_event(json_array_get(d.events, 0));
  json_t *first = json_incref(json_object_get(json_array_get(d.events, 0), "data"));
  world_release(&d);
  return first;
}

Test(costing_set, a_machine_rate_is_a_positive_whole_rate_from_a_calendar_day) {
  json_t *ev = accepted("control.machine_rate.set",
                        json_pack("{s:s,s:i,s:s}", "code", "rapier", "rate_minor_per_hour", 12000, "valid_from", "2026-11-01"),
                        "r1");
  cr_expect_str_eq(jstr(ev, "of"), "loom_type", "a loom type by default");
  cr_expect_str_eq(jstr(ev, "set_by"), "u:amal/accountant", "who set it is the token's");
  json_decref(ev);
  ev = accepted("control.machine_rate.set",
                json_pack("{s:s,s:i,s:s}", "code", "rapier", "rate_minor_per_hour", 12500, "valid_from", "2026-11-01"), "r2");
  cr_expect_eq(jint(ev, "replaces_minor", 0), 12000, "the same day again replaces, and says what");
  json_decref(ev);
  ev = accepted("control.machine_rate.set",
                json_pack("{s:s,s:s,s:i,s:s}", "of", "loom", "code", "L07", "rate_minor_per_hour", 15000, "valid_from",
                          "2026-11-16"),
                "r3");
  cr_expect_null(json_object_get(ev, "replaces_minor"));
  json_decref(ev);
  world_no("control.machine_rate.set",
           json_pack("{s:s,s:i,s:s}", "code", "rapier", "rate_minor_per_hour", 0, "valid_from", "2026-12-01"), "invalid_rate");
  world_no("control.machine_rate.set",
           json_pack("{s:s,s:i,s:s}", "code", "rapier", "rate_minor_per_hour", -5, "valid_from", "2026-12-01"), "invalid_rate");
  world_no("control.machine_rate.set",
           json_pack("{s:s,s:i,s:s}", "code", "rapier", "rate_minor_per_hour", 100, "valid_from", "2026-02-29"), "invalid_date");
  world_no("control.machine_rate.set",
           json_pack("{s:s,s:i,s:s}", "code", "rapier", "rate_minor_per_hour", 100, "valid_from", "2026-13-01"), "invalid_date");
  json_decref(accepted("control.machine_rate.set",
                       json_pack("{s:s,s:i,s:s}", "code", "air-jet", "rate_minor_per_hour", 9000, "valid_from", "2028-02-29"),
                       "leap"));
}

Test(costing_set, an_overhead_is_a_months_pool_with_its_key) {
  json_t *ev = accepted("control.overhead.set",
                        json_pack("{s:s,s:s,s:i}", "month", "2026-11", "key", "machine_hours", "amount_minor", 500000), "o1");
  cr_expect_str_eq(jstr(ev, "pool"), "GENERAL", "the general pool by default");
  json_decref(ev);
  ev = accepted("control.overhead.set",
                json_pack("{s:s,s:s,s:i}", "month", "2026-11", "key", "pieces", "amount_minor", 600000), "o2");
  cr_expect_eq(jint(ev, "replaces_minor", 0), 500000);
  cr_expect_str_eq(jstr(ev, "replaces_key"), "machine_hours");
  json_decref(ev);
  json_decref(accepted("control.overhead.set",
                       json_pack("{s:s,s:s,s:s,s:i}", "month", "2026-11", "pool", "ENERGY", "key", "metres", "amount_minor", 0),
                       "o3"));
  world_no("control.overhead.set", json_pack("{s:s,s:s,s:i}", "month", "2026-11", "key", "pieces", "amount_minor", -1),
           "invalid_amount");
  char pool[16], id[16];
  for (int i = 0; i < 18; i++) {
    snprintf(pool, sizeof pool, "P%d", i);
    snprintf(id, sizeof id, "p%d", i);
    world_ok("control.overhead.set",
             json_pack("{s:s,s:s,s:s,s:i}", "month", "2026-11", "pool", pool, "key", "pieces", "amount_minor", 1), id);
  }
  world_no("control.overhead.set",
           json_pack("{s:s,s:s,s:s,s:i}", "month", "2026-11", "pool", "ONE-MORE", "key", "pieces", "amount_minor", 1),
           "too_many_pools");
  json_decref(accepted("control.overhead.set",
                       json_pack("{s:s,s:s,s:s,s:i}", "month", "2026-12", "pool", "ONE-MORE", "key", "pieces", "amount_minor",
                                 1),
                       "next-month"));
}

Test(costing_set, a_standard_cost_has_a_component_above_zero) {
  json_t *ev = accepted("control.standard_cost.set",
                        json_pack("{s:s,s:i,s:i}", "article", "FT-1", "yarn_minor", 3000, "labour_minor", 1000), "s1");
  cr_expect_str_eq(jstr(ev, "per"), "piece");
  cr_expect_eq(jint(ev, "machine_minor", -1), 0, "a component left out is zero");
  json_decref(ev);
  ev = accepted("control.standard_cost.set",
                json_pack("{s:s,s:s,s:i}", "article", "FT-1", "per", "metre", "yarn_minor", 1400), "s2");
  cr_expect_eq(jint(json_object_get(ev, "replaces"), "labour_minor", 0), 1000, "the event keeps the standard it replaced");
  json_decref(ev);
  world_no("control.standard_cost.set", json_pack("{s:s,s:i}", "article", "FT-2", "yarn_minor", 0), "empty_standard");
  world_no("control.standard_cost.set", json_pack("{s:s,s:i,s:i}", "article", "FT-2", "yarn_minor", 5, "labour_minor", -1),
           "invalid_amount");
}
