/*
 * test_pay.c — commands/hr/ attendance (attendance.c) and piece-rate pay (pay.c,
 * reactions.c) through the registry and an in-memory tenant (world.h, the production
 * tests' own): clocking in and out as the token's person, absences, rates with validity
 * dates, by role and grade, the pay a declaration accrues to its weaver and a cut to its
 * cutter and weaver by reaction, in integer minor units, pay periods per site and their
 * posting. Every emitted event is checked against its schema under schemas/hr/events/.
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
  cr_expect_eq(fofal__hr_pay_amount("piece", 12, 24000, 0, 450), 5400);
  cr_expect_eq(fofal__hr_pay_amount("metre", 12, 10500, 0, 1234), 12957);
  cr_expect_eq(fofal__hr_pay_amount("metre", 1, 1500, 0, 1), 2, "1.5 millimes round up");
  cr_expect_eq(fofal__hr_pay_amount("metre", 1, 1499, 0, 1), 1);
  cr_expect_eq(fofal__hr_pay_amount("metre", 10000, 1000000000, 0, 10000000), 10000000000000LL, "no overflow at the bounds");
}

Test(pay, a_declaration_is_paid_at_the_rate_in_force_on_its_shift_day) {
  world_as("u:hana/hr", NULL);
  set_rate("FT-200", "piece", 450, "2026-11-01", "rate-1");
  set_rate("FT-200", "metre", 300, "2026-11-25", "rate-2");
  world_as("r:hr.pay_on_declaration", NULL);
  json_t *ev = accept_at("hr.employee.accrue_pay", accrual(LABEL1, "2026-11-24/C", 12, 24.0), "acc-1", W_ISSUED);
  json_t *want = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:s,s:i,s:i,s:s,s:s,s:s}", "badge", "W-12", "label_id",
                           LABEL1, "order_id", "0192f0a0-0000-7000-8000-0000000000aa", "article", "FT-200", "shift",
                           "2026-11-24/C", "woven_at", "2026-11-24T08:15:02.654321Z", "quantity", 12, "length_mm", 24000,
                           "unit", "piece", "rate_minor", 450, "amount_minor", 5400, "pay_period", "2026-11", "role",
                           "weaver", "site", "main");
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

/* ------------------------------------------------- rates by role and grade, cuts, periods */

static void set_rate_rg(const char *role, const char *grade, const char *unit, json_int_t rate, const char *from,
                        const char *id) {
  json_t *d = json_pack("{s:s,s:s,s:s,s:I,s:s}", "article", "FT-200", "role", role, "unit", unit, "rate_minor", rate,
                        "valid_from", from);
  if (grade) json_object_set_new(d, "grade", json_string(grade));
  json_decref(accept_at("hr.piece_rate.set", d, id, W_ISSUED));
}

#define ROLL_ID "0192f0a0-0000-7000-8000-0000000000f1"
#define LOT1 "0192f0a0-0000-7000-8000-0000000000c1"
#define LOT2 "0192f0a0-0000-7000-8000-0000000000c2"

/* A cut's accrual as the reactions make it: 40 pieces of 1st choice, 6 of 2nd. */
static json_t *cut_accrual(const char *badge, const char *role, const char *cut_at) {
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[{s:s,s:s,s:i},{s:s,s:s,s:i}]}", "badge", badge, "role", role, "roll",
                   ROLL_ID, "order_id", "0192f0a0-0000-7000-8000-0000000000aa", "article", "FT-200", "shift",
                   "2026-11-24/A", "cut_at", cut_at, "lots", "label_id", LOT1, "grade", "first", "pieces", 40, "label_id",
                   LOT2, "grade", "second", "pieces", 6);
}

/* All events of a decision that must be accepted (new), each checked against its schema. */
static json_t *accept_all(const char *type, json_t *data, const char *cmd_id) {
  fofal_decision_t d;
  int rc = world_decide_at(type, data, W_ISSUED, cmd_id, &d);
  cr_assert_eq(rc, 0, "%s (%s) rejected: %s: %s", type, cmd_id, d.code, d.detail);
  size_t i;
  json_t *ev;
  json_array_foreach(d.events, i, ev) check_event(ev);
  const char *aid;
  json_t *o;
  json_object_foreach(d.others, aid, o) json_array_foreach(json_object_get(o, "events"), i, ev) check_event(ev);
  json_t *all = json_incref(d.events);
  world_release(&d);
  return all;
}

static void register_cutter(const char *badge, const char *site) {
  world_as("u:hana/hr", NULL);
  json_t *d = json_pack("{s:s,s:s,s:s}", "badge", badge, "name", "Nour", "job", "cutter");
  if (site) json_object_set_new(d, "site", json_string(site));
  world_ok("hr.employee.register", d, badge);
}

Test(pay, rates_are_series_by_role_and_grade_each_with_its_validity_dates) {
  world_as("u:hana/hr", NULL);
  set_rate_rg("weaver", NULL, "metre", 300, "2026-11-20", "r-w");
  set_rate_rg("cutter", NULL, "piece", 100, "2026-11-01", "r-c"); /* earlier than the weaver's: another series */
  set_rate_rg("cutter", "first", "piece", 150, "2026-11-01", "r-c1");
  set_rate_rg("cutter", "first", "piece", 160, "2026-11-01", "r-c1b"); /* the same day of its series: replaces it */
  set_rate_rg("weaver", "first", "piece", 30, "2026-11-01", "r-w1");
  const json_t *st = world_ref("piecerate", "FT-200");
  cr_expect_eq(json_array_size(json_object_get(st, "versions")), 4, "four series, one version each");
  refused_at("hr.piece_rate.set",
             json_pack("{s:s,s:s,s:s,s:s,s:i,s:s}", "article", "FT-200", "role", "cutter", "grade", "first", "unit",
                       "piece", "rate_minor", 1, "valid_from", "2026-10-31"),
             W_ISSUED, "valid_from_before_latest");
  refused_at("hr.piece_rate.set",
             json_pack("{s:s,s:s,s:s,s:i,s:s}", "article", "FT-200", "role", "cutter", "unit", "metre", "rate_minor", 1,
                       "valid_from", "2026-12-01"),
             W_ISSUED, "unit_not_per_piece");
  refused_at("hr.piece_rate.set",
             json_pack("{s:s,s:s,s:s,s:i,s:s}", "article", "FT-200", "grade", "second", "unit", "kg", "rate_minor", 1,
                       "valid_from", "2026-12-01"),
             W_ISSUED, "unit_not_per_piece");
  /* the weaver's base series started on the 20th: a declaration of the 19th has no rate */
  world_as("r:hr.pay_on_declaration", NULL);
  refused_at("hr.employee.accrue_pay", accrual(LABEL1, "2026-11-19/A", 1, 2.0), W_ISSUED, "no_rate");
  json_t *ev = accept_at("hr.employee.accrue_pay", accrual(LABEL1, "2026-11-24/A", 12, 24.5), "acc-1", W_ISSUED);
  cr_expect_eq(jint(ev, "amount_minor", -1), 7350, "24,500 mm × 300 / 1000: the base rate, not the graded one");
  cr_expect_str_eq(jstr(ev, "role"), "weaver");
  cr_expect_str_eq(jstr(ev, "site"), "main");
  json_decref(ev);
}

/* Per kg: weight in g × rate / 1000, rounded half up; a kg rate needs a declared weight. */
Test(pay, a_kg_rate_pays_the_declared_weight_and_needs_one) {
  cr_expect_eq(fofal__hr_pay_amount("kg", 12, 24000, 18250, 1200), 21900, "18.25 kg × 1.200 TND");
  cr_expect_eq(fofal__hr_pay_amount("kg", 1, 0, 1, 500), 1, "0.5 millime rounds up");
  cr_expect_eq(fofal__hr_pay_amount("kg", 1, 0, 1, 499), 0);
  world_as("u:hana/hr", NULL);
  set_rate_rg("weaver", NULL, "kg", 1200, "2026-11-01", "r-kg");
  world_as("r:hr.pay_on_declaration", NULL);
  refused_at("hr.employee.accrue_pay", accrual(LABEL1, "2026-11-24/A", 12, 24.0), W_ISSUED, "no_weight");
  json_t *a = accrual(LABEL1, "2026-11-24/A", 12, 24.0);
  json_object_set_new(a, "weight_g", json_integer(18250));
  json_t *ev = accept_at("hr.employee.accrue_pay", a, "acc-kg", W_ISSUED);
  cr_expect_eq(jint(ev, "amount_minor", -1), 21900);
  cr_expect_str_eq(jstr(ev, "unit"), "kg");
  json_decref(ev);
}

/* Worked example of a cut of 40 pieces of 1st choice and 6 of 2nd: the cutter's 1st-choice
 * rate 160, no 2nd-choice rate so the base 100: 40 × 160 + 6 × 100 = 7,000; the weaver's
 * premium of 30 per 1st-choice piece and none for the 2nd: 40 × 30 = 1,200. */
Test(pay, a_cut_pays_the_cutter_and_the_weavers_premium_by_grade) {
  register_cutter("C-01", NULL);
  set_rate_rg("weaver", NULL, "piece", 450, "2026-11-01", "r-w");
  set_rate_rg("cutter", NULL, "piece", 100, "2026-11-01", "r-c");
  set_rate_rg("cutter", "first", "piece", 160, "2026-11-01", "r-c1");
  set_rate_rg("weaver", "first", "piece", 30, "2026-11-24", "r-w1");
  world_as("r:hr.cutter_pay_on_cut", NULL);
  json_t *evs = accept_all("hr.employee.accrue_cut_pay", cut_accrual("C-01", "cutter", "2026-11-25T09:00:00Z"), "cut-c");
  cr_assert_eq(json_array_size(evs), 2, "one line per graded lot");
  json_t *first = json_object_get(json_array_get(evs, 0), "data"), *second = json_object_get(json_array_get(evs, 1), "data");
  cr_expect_str_eq(jstr(first, "badge"), "C-01");
  cr_expect_str_eq(jstr(first, "role"), "cutter");
  cr_expect_str_eq(jstr(first, "grade"), "first");
  cr_expect_str_eq(jstr(first, "label_id"), LOT1);
  cr_expect_eq(jint(first, "amount_minor", -1), 6400);
  cr_expect(json_is_true(json_object_get(first, "graded_rate")));
  cr_expect_str_eq(jstr(second, "grade"), "second");
  cr_expect_eq(jint(second, "rate_minor", -1), 100, "no 2nd-choice cutter rate: the cutter's base");
  cr_expect_eq(jint(second, "amount_minor", -1), 600);
  cr_expect_null(json_object_get(second, "graded_rate"));
  json_decref(evs);
  refused_at("hr.employee.accrue_cut_pay", cut_accrual("C-01", "cutter", "2026-11-25T09:00:00Z"), W_ISSUED,
             "already_accrued");

  world_as("r:hr.weaver_grade_pay_on_cut", NULL);
  evs = accept_all("hr.employee.accrue_cut_pay", cut_accrual("W-12", "weaver", "2026-11-25T09:00:00Z"), "cut-w");
  cr_assert_eq(json_array_size(evs), 1, "a premium for the 1st choice only");
  first = json_object_get(json_array_get(evs, 0), "data");
  cr_expect_str_eq(jstr(first, "badge"), "W-12");
  cr_expect_eq(jint(first, "amount_minor", -1), 1200);
  json_decref(evs);

  /* the period's gross sums both on the period's aggregate */
  const json_t *p = world_ref("payperiod", "2026-11");
  cr_assert_not_null(p, "the accruals made the period");
  const json_t *main = json_object_get(json_object_get(p, "sites"), "main");
  cr_expect_eq(jint(main, "gross_minor", -1), 8200);
  cr_expect_eq(jint(main, "lines", -1), 3);
}

Test(pay, a_cut_without_rates_pays_nobody_and_is_no_failure) {
  register_cutter("C-01", NULL);
  world_as("r:hr.cutter_pay_on_cut", NULL);
  refused_at("hr.employee.accrue_cut_pay", cut_accrual("C-01", "cutter", "2026-11-25T09:00:00Z"), W_ISSUED,
             "not_paid_by_piece");
  world_as("u:hana/hr", NULL);
  set_rate_rg("weaver", NULL, "piece", 450, "2026-11-01", "r-w");
  set_rate_rg("cutter", "first", "piece", 160, "2026-11-26", "r-c1");
  world_as("r:hr.cutter_pay_on_cut", NULL);
  refused_at("hr.employee.accrue_cut_pay", cut_accrual("C-01", "cutter", "2026-11-25T09:00:00Z"), W_ISSUED, "no_rate");
  world_as("r:hr.weaver_grade_pay_on_cut", NULL);
  refused_at("hr.employee.accrue_cut_pay", cut_accrual("W-12", "weaver", "2026-11-25T09:00:00Z"), W_ISSUED,
             "no_grade_pay");
  const fofal_reaction_t *c = fofal_reaction_find("hr.cutter_pay_on_cut"), *w = fofal_reaction_find("hr.weaver_grade_pay_on_cut");
  cr_assert(c && w, "both cut reactions are registered");
  int na = 0;
  for (int i = 0; c->not_applicable[i]; i++) na += !strcmp(c->not_applicable[i], "not_paid_by_piece");
  for (int i = 0; w->not_applicable[i]; i++) na += !strcmp(w->not_applicable[i], "no_grade_pay");
  cr_expect_eq(na, 2, "no rate at all is no failure; a rate not yet in force (no_rate) is");
}

/* The cutter paid is the cut's cutter (the token's person, set by quality's decider), never
 * someone the reaction picks; a cut naming nobody pays nobody. */
Test(pay, the_cut_reactions_pay_the_cuts_cutter_and_the_rolls_weaver) {
  json_t *cut = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:[{s:s,s:s,s:i}]}", "roll", ROLL_ID, "order_id",
                          "0192f0a0-0000-7000-8000-0000000000aa", "article", "FT-200", "shift", "2026-11-24/A", "cut_at",
                          "2026-11-25T09:00:00.000000Z", "cutter", "C-01", "weaver", "W-12", "first_choice", 40,
                          "second_choice", 0, "waste_pieces", 0, "lots", "label_id", LOT1, "grade", "first", "pieces", 40);
  char id[] = "0192f0a0-0000-7000-8000-00000000e0c1", type[] = "fofal.quality.roll_cut.v1", tenant[] = W_TENANT;
  fofal_event_t ev = {.id = id, .type = type, .tenant = tenant, .subject = id, .seq = 1, .data = cut};
  fofal_reaction_result_t res;
  const fofal_reaction_t *c = fofal_reaction_find("hr.cutter_pay_on_cut"), *w = fofal_reaction_find("hr.weaver_grade_pay_on_cut");
  cr_assert(c && w);
  cr_assert_eq(fofal_reaction_apply(reg, c, &ev, "fofal.quality.events", 0, 7, W_ISSUED, &res), FOFAL_REACT_COMMAND, "%s",
               res.out.reason);
  cr_expect_str_eq(res.cmd.type, "hr.employee.accrue_cut_pay");
  cr_expect_str_eq(jstr(res.out.data, "badge"), "C-01");
  cr_expect_str_eq(jstr(res.out.data, "role"), "cutter");
  cr_expect_str_eq(res.cmd.actor, "r:hr.cutter_pay_on_cut");
  char cid[FOFAL_UUID_LEN + 1];
  snprintf(cid, sizeof cid, "%s", res.cmd.id);
  fofal_reaction_result_clear(&res);
  cr_assert_eq(fofal_reaction_apply(reg, w, &ev, "fofal.quality.events", 0, 7, W_ISSUED, &res), FOFAL_REACT_COMMAND, "%s",
               res.out.reason);
  cr_expect_str_eq(jstr(res.out.data, "badge"), "W-12");
  cr_expect_str_eq(jstr(res.out.data, "role"), "weaver");
  cr_expect_str_neq(res.cmd.id, cid, "two reactions, two command ids");
  fofal_reaction_result_clear(&res);
  json_object_del(cut, "cutter");
  cr_expect_eq(fofal_reaction_apply(reg, c, &ev, "fofal.quality.events", 0, 8, W_ISSUED, &res), FOFAL_REACT_NOTHING);
  fofal_reaction_result_clear(&res);
  json_decref(cut);
}

/* Periods per site: closing main's November leaves site S2's open; a closed period refuses
 * new accruals into it (they go to the next open month); the close carries the gross. */
Test(pay, a_closed_period_of_a_site_takes_no_accrual_and_carries_its_gross) {
  register_cutter("C-01", NULL);
  register_cutter("C-02", "S2");
  set_rate_rg("cutter", NULL, "piece", 100, "2026-11-01", "r-c");
  world_as("r:hr.cutter_pay_on_cut", NULL);
  json_decref(accept_all("hr.employee.accrue_cut_pay", cut_accrual("C-01", "cutter", "2026-11-25T09:00:00Z"), "cut-1"));
  world_as("u:hana/hr", NULL);
  json_t *closed = accept_at("hr.pay_period.close", json_pack("{s:s}", "period", "2026-11"), "close-main", W_ISSUED);
  cr_expect_str_eq(jstr(closed, "site"), "main");
  cr_expect_eq(jint(closed, "gross_minor", -1), 4600, "46 pieces × 100");
  cr_expect_eq(jint(closed, "lines", -1), 2);
  json_decref(closed);
  refused_at("hr.pay_period.close", json_pack("{s:s}", "period", "2026-11"), W_ISSUED, "already_closed");
  refused_at("hr.pay_period.close", json_pack("{s:s,s:s}", "period", "2026-11", "site", "main"), W_ISSUED,
             "already_closed");
  world_as("r:hr.cutter_pay_on_cut", NULL);
  /* a late cut of November at main goes to December; one at S2 stays in November */
  json_t *late = cut_accrual("C-01", "cutter", "2026-11-30T09:00:00Z");
  json_object_set_new(late, "roll", json_string("0192f0a0-0000-7000-8000-0000000000f2"));
  json_t *evs = accept_all("hr.employee.accrue_cut_pay", late, "cut-2");
  cr_expect_str_eq(jstr(json_object_get(json_array_get(evs, 0), "data"), "pay_period"), "2026-12");
  json_decref(evs);
  evs = accept_all("hr.employee.accrue_cut_pay", cut_accrual("C-02", "cutter", "2026-11-30T09:00:00Z"), "cut-3");
  cr_expect_str_eq(jstr(json_object_get(json_array_get(evs, 0), "data"), "pay_period"), "2026-11");
  cr_expect_str_eq(jstr(json_object_get(json_array_get(evs, 0), "data"), "site"), "S2");
  json_decref(evs);
  const json_t *p = world_ref("payperiod", "2026-11");
  cr_expect_eq(jint(json_object_get(json_object_get(p, "sites"), "main"), "gross_minor", -1), 4600,
               "a closed period's gross never changes");
  world_as("u:hana/hr", NULL);
  closed = accept_at("hr.pay_period.close", json_pack("{s:s,s:s}", "period", "2026-11", "site", "S2"), "close-s2", W_ISSUED);
  cr_expect_eq(jint(closed, "gross_minor", -1), 4600);
  json_decref(closed);
}

/* The close is posted as one entry: debit 428 (pay accrued), credit 425 (pay due), on the
 * period's last day, naming the close; nothing for a gross of 0. */
Test(pay, a_closed_period_is_posted_as_one_entry) {
  const fofal_reaction_t *r = fofal_reaction_find("accounting.entry_on_pay_period");
  cr_assert_not_null(r, "the posting reaction is registered");
  json_t *data = json_pack("{s:s,s:s,s:s,s:i,s:i}", "period", "2028-02", "site", "main", "closed_by", "u:hana/hr",
                           "gross_minor", 8200, "lines", 3);
  char id[] = "0192f0a0-0000-7000-8000-00000000e0a1", type[] = "fofal.hr.pay_period_closed.v1", tenant[] = W_TENANT;
  fofal_event_t ev = {.id = id, .type = type, .tenant = tenant, .subject = id, .seq = 1, .data = data};
  fofal_reaction_result_t res;
  cr_assert_eq(fofal_reaction_apply(reg, r, &ev, "fofal.hr.events", 0, 3, W_ISSUED, &res), FOFAL_REACT_COMMAND, "%s",
               res.out.reason);
  cr_expect_str_eq(res.cmd.type, "accounting.entry.post");
  cr_expect_str_eq(jstr(res.out.data, "date"), "2028-02-29", "the period's last day (a leap year)");
  const json_t *lines = json_object_get(res.out.data, "lines");
  cr_expect_str_eq(jstr(json_array_get(lines, 0), "account"), "428");
  cr_expect_eq(jint(json_array_get(lines, 0), "debit_minor", 0), 8200);
  cr_expect_str_eq(jstr(json_array_get(lines, 1), "account"), "425");
  cr_expect_eq(jint(json_array_get(lines, 1), "credit_minor", 0), 8200);
  cr_expect_str_eq(jstr(json_object_get(res.out.data, "source"), "event_id"), id);
  fofal_reaction_result_clear(&res);
  json_object_set_new(data, "gross_minor", json_integer(0));
  cr_expect_eq(fofal_reaction_apply(reg, r, &ev, "fofal.hr.events", 0, 4, W_ISSUED, &res), FOFAL_REACT_NOTHING);
  fofal_reaction_result_clear(&res);
  json_decref(data);
}
