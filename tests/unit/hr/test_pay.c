/*
 * test_pay.c — commands/hr/ attendance (attendance.c) and piece-rate pay (pay.c,
 * reactions.c) through the registry and an in-memory tenant (world.h, the production
 * tests' own): clocking in and out as the token's person, absences, rates with validity
 * dates, and the pay a declaration accrues to its weaver by reaction, in integer minor
 * units. Every emitted event is checked against its schema under schemas/hr/events/.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "decide.h"
#include "hr.h"
#include "jsonschema.h"
#include "../production/world.h"

static fofal_registry_t *reg;

static void setup(void) {
  char err[512] = "";
  cr_assert_eq(fofal_registry_load(&reg, FOFAL_SOURCE_DIR "/schemas", err, sizeof err), 0, "registry: %s", err);
  world_init(reg);
  world_floor(); /* FT-200, loom L-07, weaver W-12 on 2026-11-24/A (06:00–14:00 at UTC+1) */
}

static void teardown(void) {
  world_free();
  fofal_registry_free(reg);
  reg = NULL;
}

TestSuite(attendance, .init = setup, .fini = teardown);
TestSuite(pay, .init = setup, .fini = teardown);

#define MIN_US (60 * 1000000LL)

/* An hr event against its schema (schemas/hr/events/<name>.v1.json). */
static void check_event(const json_t *ev) {
  static const char prefix[] = "fofal.hr.";
  const char *type = json_string_value(json_object_get(ev, "type"));
  cr_assert(type && !strncmp(type, prefix, sizeof prefix - 1), "event type %s", type ? type : "(null)");
  char path[512], err[256];
  snprintf(path, sizeof path, "%s/schemas/hr/events/%s.json", FOFAL_SOURCE_DIR, type + sizeof prefix - 1);
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

/* Decides at `at`, expects acceptance, checks the events; the first one's data (new). */
static json_t *accept_at(const char *type, json_t *data, const char *cmd_id, int64_t at) {
  fofal_decision_t d;
  int rc = world_decide_at(type, data, at, cmd_id, &d);
  cr_assert_eq(rc, 0, "%s (%s) rejected: %s: %s", type, cmd_id, d.code, d.detail);
  size_t i;
  json_t *ev;
  json_array_foreach(d.events, i, ev) check_event(ev);
  json_t *first = json_incref(json_object_get(json_array_get(d.events, 0), "data"));
  world_release(&d);
  return first;
}

static void refused_at(const char *type, json_t *data, int64_t at, const char *code) {
  fofal_decision_t d;
  int rc = world_decide_at(type, data, at, "cmd-refused", &d);
  cr_assert_eq(rc, FOFAL_EREJECTED, "%s was accepted, want %s", type, code);
  cr_assert_str_eq(d.code, code, "%s: %s (%s), want %s", type, d.code, d.detail, code);
  world_release(&d);
}

/* ------------------------------------------------------------ attendance */

Test(attendance, a_weaver_clocks_in_and_out_as_themself_on_their_shift) {
  world_as("u:amira/weaver", "W-12");
  json_t *in = accept_at("hr.employee.clock_in", json_pack("{s:s,s:s}", "badge", "W-12", "device", "GATE-1"), "in-1",
                         W_ISSUED);
  cr_expect_str_eq(jstr(in, "badge"), "W-12");
  cr_expect_str_eq(jstr(in, "shift"), "2026-11-24/A", "the clock-in is for the weaver's assigned shift");
  cr_expect_str_eq(jstr(in, "shift_starts_at"), "2026-11-24T05:00:00.000000Z");
  cr_expect_str_eq(jstr(in, "at"), "2026-11-24T08:15:02.654321Z", "the time is the command's, not the device's");
  cr_expect_null(json_object_get(in, "delegated_by"), "the person clocked themself");
  json_decref(in);

  refused_at("hr.employee.clock_in", json_pack("{s:s,s:s}", "badge", "W-12", "device", "GATE-1"), W_ISSUED + MIN_US,
             "already_clocked_in");
  json_t *out = accept_at("hr.employee.clock_out", json_pack("{s:s,s:s}", "badge", "W-12", "device", "GATE-2"), "out-1",
                          W_ISSUED + 300 * MIN_US);
  cr_expect_str_eq(jstr(out, "clocked_in_at"), "2026-11-24T08:15:02.654321Z");
  cr_expect_str_eq(jstr(out, "shift_ends_at"), "2026-11-24T13:00:00.000000Z");
  json_decref(out);
  refused_at("hr.employee.clock_out", json_pack("{s:s,s:s}", "badge", "W-12", "device", "GATE-2"),
             W_ISSUED + 301 * MIN_US, "not_clocked_in");
}

/* Who clocks is the token's person: a weaver cannot clock a colleague in; a manager may,
 * and the event says so. */
Test(attendance, another_badge_is_refused_to_a_weaver_and_recorded_as_a_managers_delegation) {
  world_ok("hr.employee.register", json_pack("{s:s,s:s,s:s}", "badge", "W-13", "name", "Salma", "job", "weaver"), "emp-13");
  world_as("u:amira/weaver", "W-12");
  refused_at("hr.employee.clock_in", json_pack("{s:s,s:s}", "badge", "W-13", "device", "GATE-1"), W_ISSUED,
             "actor_mismatch");
  world_as("u:karim/manager", "M-01");
  json_t *in = accept_at("hr.employee.clock_in", json_pack("{s:s,s:s}", "badge", "W-13", "device", "GATE-1"), "in-13",
                         W_ISSUED);
  cr_expect_str_eq(jstr(in, "badge"), "W-13");
  cr_expect_str_eq(jstr(json_object_get(in, "delegated_by"), "actor"), "u:karim/manager");
  cr_expect_str_eq(jstr(json_object_get(in, "delegated_by"), "badge"), "M-01");
  json_decref(in);
}

/* A clock-in left open more than 16 h does not block the next day's: the new event names it. */
Test(attendance, a_forgotten_clock_out_is_named_by_the_next_clock_in) {
  world_as("u:amira/weaver", "W-12");
  json_decref(accept_at("hr.employee.clock_in", json_pack("{s:s,s:s}", "badge", "W-12", "device", "G"), "in-1", W_ISSUED));
  json_t *in = accept_at("hr.employee.clock_in", json_pack("{s:s,s:s}", "badge", "W-12", "device", "G"), "in-2",
                         W_ISSUED + 24 * 60 * MIN_US);
  cr_expect_str_eq(jstr(in, "unclosed_at"), "2026-11-24T08:15:02.654321Z");
  json_decref(in);
}

Test(attendance, absences_have_a_valid_period_and_do_not_overlap) {
  world_as("u:hana/hr", NULL);
  json_t *ev = accept_at("hr.employee.record_absence",
                         json_pack("{s:s,s:s,s:s,s:s}", "badge", "W-12", "from", "2026-11-26", "to", "2026-11-28", "reason",
                                   "sick"),
                         "abs-1", W_ISSUED);
  cr_expect_str_eq(jstr(ev, "recorded_by"), "u:hana/hr", "who recorded it is the token's actor");
  cr_expect_str_eq(jstr(ev, "to"), "2026-11-28");
  json_decref(ev);
  refused_at("hr.employee.record_absence",
             json_pack("{s:s,s:s,s:s}", "badge", "W-12", "from", "2026-11-28", "reason", "annual_leave"), W_ISSUED,
             "absence_overlaps");
  refused_at("hr.employee.record_absence",
             json_pack("{s:s,s:s,s:s,s:s}", "badge", "W-12", "from", "2026-12-05", "to", "2026-12-01", "reason", "sick"),
             W_ISSUED, "invalid_period");
  refused_at("hr.employee.record_absence",
             json_pack("{s:s,s:s,s:s,s:s}", "badge", "W-12", "from", "2026-12-01", "to", "2027-03-01", "reason", "sick"),
             W_ISSUED, "absence_too_long");
  refused_at("hr.employee.record_absence",
             json_pack("{s:s,s:s,s:s}", "badge", "W-12", "from", "2026-02-30", "reason", "sick"), W_ISSUED, "invalid_date");
  json_decref(accept_at("hr.employee.record_absence",
                        json_pack("{s:s,s:s,s:s}", "badge", "W-12", "from", "2026-11-29", "reason", "annual_leave"),
                        "abs-2", W_ISSUED));
}

/* ------------------------------------------------------------------- pay */

static void set_rate(const char *article, const char *unit, json_int_t rate, const char *from, const char *id) {
  json_decref(accept_at("hr.piece_rate.set",
                        json_pack("{s:s,s:s,s:I,s:s}", "article", article, "unit", unit, "rate_minor", rate, "valid_from",
                                  from),
                        id, W_ISSUED));
}

/* An accrual as the reaction makes it: `label` is the declaration's label id. */
static json_t *accrual(const char *label, const char *shift, int quantity, double length_m) {
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:f,s:s}", "badge", "W-12", "label_id", label, "order_id",
                   "0192f0a0-0000-7000-8000-0000000000aa", "article", "FT-200", "shift", shift, "quantity", quantity,
                   "length_m", length_m, "woven_at", "2026-11-24T08:15:02.654321Z");
}

#define LABEL1 "0192f0a0-0000-7000-8000-000000000001"
#define LABEL2 "0192f0a0-0000-7000-8000-000000000002"
#define LABEL3 "0192f0a0-0000-7000-8000-000000000003"

Test(pay, amounts_are_exact_in_minor_units_rounded_half_up_per_metre) {
  cr_expect_eq(fofal__hr_pay_amount("piece", 12, 24000, 450), 5400);
  cr_expect_eq(fofal__hr_pay_amount("metre", 12, 10500, 1234), 12957);
  cr_expect_eq(fofal__hr_pay_amount("metre", 1, 1500, 1), 2, "1.5 millimes round up");
  cr_expect_eq(fofal__hr_pay_amount("metre", 1, 1499, 1), 1);
  cr_expect_eq(fofal__hr_pay_amount("metre", 10000, 1000000000, 10000000), 10000000000000LL, "no overflow at the bounds");
}

Test(pay, a_declaration_is_paid_at_the_rate_in_force_on_its_shift_day) {
  world_as("u:hana/hr", NULL);
  set_rate("FT-200", "piece", 450, "2026-11-01", "rate-1");
  set_rate("FT-200", "metre", 300, "2026-11-25", "rate-2");
  world_as("r:hr.pay_on_declaration", NULL);
  json_t *ev = accept_at("hr.employee.accrue_pay", accrual(LABEL1, "2026-11-24/C", 12, 24.0), "acc-1", W_ISSUED);
  json_t *want = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:s,s:i,s:i,s:s}", "badge", "W-12", "label_id", LABEL1,
                           "order_id", "0192f0a0-0000-7000-8000-0000000000aa", "article", "FT-200", "shift", "2026-11-24/C",
                           "woven_at", "2026-11-24T08:15:02.654321Z", "quantity", 12, "length_mm", 24000, "unit", "piece",
                           "rate_minor", 450, "amount_minor", 5400, "pay_period", "2026-11");
  char *got = json_dumps(ev, JSON_SORT_KEYS | JSON_COMPACT);
  cr_expect(json_equal(ev, want), "pay_accrued: %s", got);
  free(got);
  json_decref(want);
  json_decref(ev);
  ev = accept_at("hr.employee.accrue_pay", accrual(LABEL2, "2026-11-25/A", 5, 10.5), "acc-2", W_ISSUED);
  cr_expect_str_eq(jstr(ev, "unit"), "metre", "from the 25th the metre rate applies");
  cr_expect_eq(jint(ev, "amount_minor", -1), 3150);
  json_decref(ev);
}

Test(pay, no_rate_before_the_first_and_one_accrual_per_declaration) {
  world_as("u:hana/hr", NULL);
  set_rate("FT-200", "piece", 450, "2026-11-24", "rate-1");
  world_as("r:hr.pay_on_declaration", NULL);
  refused_at("hr.employee.accrue_pay", accrual(LABEL1, "2026-11-23/C", 1, 2.0), W_ISSUED, "no_rate");
  json_decref(accept_at("hr.employee.accrue_pay", accrual(LABEL1, "2026-11-24/A", 1, 2.0), "acc-1", W_ISSUED));
  refused_at("hr.employee.accrue_pay", accrual(LABEL1, "2026-11-24/A", 1, 2.0), W_ISSUED, "already_accrued");
  json_decref(accept_at("hr.employee.accrue_pay", accrual(LABEL3, "2026-11-24/A", 1, 2.0), "acc-3", W_ISSUED));
}

/* A closed month is never changed: a late accrual of its days is paid with the next open
 * month, and the event says so. */
Test(pay, a_late_accrual_of_a_closed_month_is_paid_in_the_next_open_one) {
  world_as("u:hana/hr", NULL);
  set_rate("FT-200", "piece", 450, "2026-11-01", "rate-1");
  world_as("r:hr.pay_on_declaration", NULL);
  json_t *ev = accept_at("hr.employee.accrue_pay", accrual(LABEL1, "2026-11-24/A", 2, 4.0), "acc-1", W_ISSUED);
  cr_expect_str_eq(jstr(ev, "pay_period"), "2026-11");
  json_decref(ev);
  world_as("u:hana/hr", NULL);
  json_decref(accept_at("hr.pay_period.close", json_pack("{s:s}", "period", "2026-11"), "close-11", W_ISSUED));
  json_decref(accept_at("hr.pay_period.close", json_pack("{s:s}", "period", "2026-12"), "close-12", W_ISSUED));
  refused_at("hr.pay_period.close", json_pack("{s:s}", "period", "2026-13"), W_ISSUED, "invalid_period");
  world_as("r:hr.pay_on_declaration", NULL);
  ev = accept_at("hr.employee.accrue_pay", accrual(LABEL2, "2026-11-30/C", 1, 2.0), "acc-2", W_ISSUED);
  cr_expect_str_eq(jstr(ev, "pay_period"), "2027-01", "November and December are closed");
  cr_expect_eq(jint(ev, "amount_minor", 0), 450, "at the rate of its shift's day");
  json_decref(ev);
}

Test(pay, rates_go_forward_and_name_a_defined_article) {
  world_as("u:hana/hr", NULL);
  set_rate("FT-200", "piece", 450, "2026-11-10", "rate-1");
  set_rate("FT-200", "piece", 470, "2026-11-10", "rate-1b"); /* the same day: a correction replaces it */
  const json_t *st = world_ref("piecerate", "FT-200");
  cr_assert_eq(json_array_size(json_object_get(st, "versions")), 1);
  cr_expect_eq(jint(json_array_get(json_object_get(st, "versions"), 0), "rate_minor", 0), 470);
  refused_at("hr.piece_rate.set",
             json_pack("{s:s,s:s,s:i,s:s}", "article", "FT-200", "unit", "piece", "rate_minor", 400, "valid_from",
                       "2026-11-01"),
             W_ISSUED, "valid_from_before_latest");
  refused_at("hr.piece_rate.set",
             json_pack("{s:s,s:s,s:i,s:s}", "article", "NOPE", "unit", "piece", "rate_minor", 400, "valid_from",
                       "2026-11-01"),
             W_ISSUED, "unknown_article");
  refused_at("hr.piece_rate.set",
             json_pack("{s:s,s:s,s:i,s:s}", "article", "FT-200", "unit", "piece", "rate_minor", 400, "valid_from",
                       "2026-13-01"),
             W_ISSUED, "invalid_date");
}

/* The whole chain in the deciders: the signed-in weaver declares (production takes the
 * weaver from the token), the reaction turns the declaration into an accrual to that
 * badge, and the accrual pays it. */
Test(pay, a_declaration_accrues_pay_to_the_signed_in_weaver_by_reaction) {
  world_as("u:hana/hr", NULL);
  set_rate("FT-200", "piece", 450, "2026-11-01", "rate-1");
  world_as("u:tester/admin", NULL);
  char order[FOFAL_UUID_LEN + 1];
  json_t *data = json_pack("{s:s,s:i}", "article", "FT-200", "quantity", 100);
  cr_assert_eq(
      fofal_command_aggregate_id(fofal_registry_find(reg, "production.order.create"), W_TENANT, "order-1", data, order), 0);
  world_ok("production.order.create", data, "order-1");
  world_ok("production.order.release", json_pack("{s:s}", "order_id", order), "rel-1");
  world_ok("production.order.start", json_pack("{s:s,s:s}", "order_id", order, "loom", "L-07"), "start-1");
  world_as("u:amira/weaver", "W-12");
  fofal_decision_t d;
  cr_assert_eq(world_decide_at("production.order.declare_output",
                               json_pack("{s:s,s:i}", "order_id", order, "quantity", 12), W_ISSUED, "decl-1", &d),
               0, "%s: %s", d.code, d.detail);
  json_t *decl = json_incref(json_object_get(json_array_get(d.events, 0), "data"));
  world_release(&d);

  const fofal_reaction_t *r = fofal_reaction_find("hr.pay_on_declaration");
  cr_assert_not_null(r, "the reaction is registered");
  char id[] = "0192f0a0-0000-7000-8000-00000000e001", type[] = "fofal.production.output_declared.v1", tenant[] = W_TENANT;
  fofal_event_t ev = {.id = id, .type = type, .tenant = tenant, .subject = order, .seq = 5, .data = decl};
  fofal_reaction_result_t res;
  cr_assert_eq(fofal_reaction_apply(reg, r, &ev, "fofal.production.events", 0, 42, W_ISSUED, &res), FOFAL_REACT_COMMAND,
               "%s", res.out.reason);
  cr_expect_str_eq(res.cmd.type, "hr.employee.accrue_pay");
  cr_expect_str_eq(jstr(res.out.data, "badge"), "W-12", "paid to the weaver of the token");
  char emp[FOFAL_UUID_LEN + 1];
  fofal_aggregate_ref(W_TENANT, "employee", "W-12", emp);
  cr_expect_str_eq(res.cmd.aggregate, emp);
  world_as(res.cmd.actor, NULL);
  json_t *paid = accept_at(res.cmd.type, json_deep_copy(res.out.data), res.cmd.id, W_ISSUED);
  cr_expect_str_eq(jstr(paid, "label_id"), jstr(decl, "label_id"));
  cr_expect_eq(jint(paid, "amount_minor", -1), 12 * 450);
  json_decref(paid);
  fofal_reaction_result_clear(&res);

  /* A declaration naming no weaver (or no article) is a transform failure, not a command. */
  json_object_del(decl, "weaver");
  cr_expect_lt(fofal_reaction_apply(reg, r, &ev, "fofal.production.events", 0, 43, W_ISSUED, &res), 0);
  cr_expect_neq(res.out.reason[0], '\0');
  fofal_reaction_result_clear(&res);
  /* One naming no article has nothing to be paid by: no command, nothing in the DLQ. */
  json_object_set_new(decl, "weaver", json_string("W-12"));
  json_object_del(decl, "article");
  cr_expect_eq(fofal_reaction_apply(reg, r, &ev, "fofal.production.events", 0, 44, W_ISSUED, &res), FOFAL_REACT_NOTHING,
               "%s", res.out.reason);
  fofal_reaction_result_clear(&res);
  json_decref(decl);
}

/* A mill that does not pay an article by piece has no rate for it: its declarations
 * accrue nothing and are no failures (the reaction declares not_paid_by_piece as "does
 * not apply", so fofal-decider writes no DLQ record); a rate that starts later than the
 * declaration's day is a gap an admin must see (no_rate, which stays a failure). */
Test(pay, an_article_never_rated_is_not_paid_by_piece_and_is_no_failure) {
  world_as("r:hr.pay_on_declaration", NULL);
  refused_at("hr.employee.accrue_pay", accrual(LABEL1, "2026-11-24/A", 1, 2.0), W_ISSUED, "not_paid_by_piece");
  const fofal_reaction_t *r = fofal_reaction_find("hr.pay_on_declaration");
  cr_assert_not_null(r);
  int not_applicable = 0, no_rate = 0;
  for (int i = 0; r->not_applicable && r->not_applicable[i]; i++) {
    not_applicable += !strcmp(r->not_applicable[i], "not_paid_by_piece");
    no_rate += !strcmp(r->not_applicable[i], "no_rate");
  }
  cr_expect_eq(not_applicable, 1, "not_paid_by_piece does not go to the DLQ");
  cr_expect_eq(no_rate, 0, "no_rate does");
}
