/*
 * test_subcontracting.c — commands/subcontracting/subcontracting.c through the registry
 * and an in-memory tenant (tests/unit/production/world.h), whose stock units (inventory's
 * aggregates, read across modules) are put in place as inventory's decider leaves them.
 *
 * One test per rule: a dispatch names a registered subcontractor for an operation they do;
 * only lots in stock go out (not unknown, not in quarantine, not out already); returns
 * never exceed what was sent, and the dispatch closes when everything is accounted for,
 * releasing its lots; a closed dispatch changes no more. Every emitted event is checked
 * against its schema under schemas/subcontracting/events/.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "decide.h"
#include "jsonschema.h"
#include "../production/world.h"
#include "../../../commands/subcontracting/subcontracting.h"

#define LOT1 "0190a1b2-0000-7000-8000-000000000101"
#define LOT2 "0190a1b2-0000-7000-8000-000000000102"
#define DSP1 "0190a1b2-0000-7000-8000-0000000002a1"
#define DSP2 "0190a1b2-0000-7000-8000-0000000002a2"
#define RET1 "0190a1b2-0000-7000-8000-0000000003b1"
#define RET2 "0190a1b2-0000-7000-8000-0000000003b2"
#define RET3 "0190a1b2-0000-7000-8000-0000000003b3"

static fofal_registry_t *reg;

static void setup(void) {
  char err[512] = "";
  cr_assert_eq(fofal_registry_load(&reg, FOFAL_SOURCE_DIR "/schemas", err, sizeof err), 0, "registry: %s", err);
  world_init(reg);
  world_as("u:nadia/storekeeper_st", "ST-01");
}

static void teardown(void) {
  world_free();
  fofal_registry_free(reg);
  reg = NULL;
}

TestSuite(dispatch, .init = setup, .fini = teardown);

static void check_event(const json_t *ev) {
  const char *type = json_string_value(json_object_get(ev, "type"));
  const char prefix[] = "fofal.subcontracting.";
  cr_assert(type && !strncmp(type, prefix, sizeof prefix - 1), "event type %s", type ? type : "(null)");
  char path[512], err[256];
  snprintf(path, sizeof path, "%s/schemas/subcontracting/events/%s.json", FOFAL_SOURCE_DIR, type + sizeof prefix - 1);
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

static json_t *ok(const char *type, json_t *data, const char *cmd_id) {
  fofal_decision_t d;
  int rc = world_decide_at(type, data, W_ISSUED, cmd_id, &d);
  cr_assert_eq(rc, 0, "%s (%s) rejected: %s: %s", type, cmd_id, d.code, d.detail);
  size_t i;
  json_t *ev, *o;
  const char *id;
  json_array_foreach(d.events, i, ev) check_event(ev);
  json_object_foreach(d.others, id, o) json_array_foreach(json_object_get(o, "events"), i, ev) check_event(ev);
  json_t *first = json_incref(json_object_get(json_array_get(d.events, 0), "data"));
  world_release(&d);
  return first;
}

static void no(const char *type, json_t *data, const char *code) {
  fofal_decision_t d;
  int rc = world_decide_at(type, data, W_ISSUED, "cmd-refused", &d);
  cr_assert_eq(rc, FOFAL_EREJECTED, "%s was accepted, want %s", type, code);
  cr_assert_str_eq(d.code, code, "%s: %s (%s), want %s", type, d.code, d.detail, code);
  cr_assert_neq(d.detail[0], '\0', "a rejection says why");
  world_release(&d);
}

static const char *s_of(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

/* A stock unit as inventory's decider keeps it (its aggregate id is its label id). */
static void unit(const char *label, const char *status) {
  json_t *u = json_pack("{s:s,s:s,s:i}", "label_id", label, "location", "store", "quantity", 40);
  if (status) json_object_set_new(u, "status", json_string(status));
  json_object_set_new(world, label, u);
}

static void subcontractor(void) {
  json_decref(ok("subcontracting.subcontractor.register",
                 json_pack("{s:s,s:s,s:[s,s]}", "subcontractor", "ST-BRODE", "name", "Broderie du Cap Bon", "operations",
                           "embroidery", "hemming"),
                 "sub"));
}

static json_t *send(const char *id, const char *lot, json_int_t milli) {
  return json_pack("{s:s,s:s,s:s,s:s,s:[{s:s,s:I}]}", "dispatch_id", id, "subcontractor", "ST-BRODE", "operation",
                   "embroidery", "expected_return", "2026-12-05", "lots", "label_id", lot, "quantity_milli", milli);
}

static json_t *ret(const char *id, const char *lot, json_int_t good, json_int_t bad, json_int_t lost) {
  return json_pack("{s:s,s:s,s:[{s:s,s:I,s:I,s:I}]}", "dispatch_id", DSP1, "return_id", id, "lines", "label_id", lot,
                   "good_milli", good, "rejected_milli", bad, "lost_milli", lost);
}

Test(dispatch, names_a_subcontractor_and_an_operation_they_do) {
  unit(LOT1, NULL);
  no("subcontracting.dispatch.send", send(DSP1, LOT1, 40000), "unknown_subcontractor");
  subcontractor();
  json_t *d = send(DSP1, LOT1, 40000);
  json_object_set_new(d, "operation", json_string("dyeing"));
  no("subcontracting.dispatch.send", d, "operation_not_offered");
  json_t *ev = ok("subcontracting.dispatch.send", send(DSP1, LOT1, 40000), "send");
  cr_expect_str_eq(s_of(ev, "sent_by"), "u:nadia/storekeeper_st");
  cr_expect_str_eq(s_of(ev, "sender_badge"), "ST-01");
  json_decref(ev);
}

Test(dispatch, only_lots_in_stock_go_out) {
  subcontractor();
  no("subcontracting.dispatch.send", send(DSP1, LOT1, 40000), "lot_not_in_stock");
  unit(LOT1, "quarantine");
  no("subcontracting.dispatch.send", send(DSP1, LOT1, 40000), "lot_in_quarantine");
  unit(LOT1, NULL);
  json_decref(ok("subcontracting.dispatch.send", send(DSP1, LOT1, 40000), "send"));
  /* Out with DSP1: not in stock for another dispatch. */
  no("subcontracting.dispatch.send", send(DSP2, LOT1, 40000), "lot_not_in_stock");
  /* The record that holds it (another aggregate with a label_id) is no stock unit. */
  char held[FOFAL_UUID_LEN + 1];
  fofal_aggregate_ref(W_TENANT, "subcontracted_lot", LOT1, held);
  cr_assert_not_null(json_object_get(world, held));
  no("subcontracting.dispatch.send", send(DSP2, held, 1000), "lot_not_in_stock");
  unit(LOT2, NULL);
  no("subcontracting.dispatch.send",
     json_pack("{s:s,s:s,s:s,s:s,s:[{s:s,s:i},{s:s,s:i}]}", "dispatch_id", DSP2, "subcontractor", "ST-BRODE", "operation",
               "hemming", "expected_return", "2026-12-05", "lots", "label_id", LOT2, "quantity_milli", 1, "label_id", LOT2,
               "quantity_milli", 1),
     "duplicate_lot");
}

Test(dispatch, returns_never_exceed_what_was_sent_and_close_it) {
  subcontractor();
  unit(LOT1, NULL);
  json_decref(ok("subcontracting.dispatch.send", send(DSP1, LOT1, 40000), "send"));
  /* 40 pieces out: 30 good and 2 rejected back, then 8 more would be fine, 9 too many. */
  json_t *ev = ok("subcontracting.dispatch.return", ret(RET1, LOT1, 30000, 2000, 0), "r1");
  cr_expect_str_eq(s_of(ev, "status"), "partly_returned");
  cr_expect_eq(json_integer_value(json_object_get(json_array_get(json_object_get(ev, "lines"), 0), "outstanding_milli")),
               8000);
  json_decref(ev);
  no("subcontracting.dispatch.return", ret(RET2, LOT1, 8000, 0, 1), "return_exceeds_sent");
  no("subcontracting.dispatch.return", ret(RET2, LOT2, 1, 0, 0), "unknown_lot");
  no("subcontracting.dispatch.return", ret(RET2, LOT1, 0, 0, 0), "empty_return");
  no("subcontracting.dispatch.return", ret(RET1, LOT1, 1, 0, 0), "already_returned");
  ev = ok("subcontracting.dispatch.return", ret(RET2, LOT1, 7000, 0, 1000), "r2");
  cr_expect_str_eq(s_of(ev, "status"), "closed", "30 + 2 + 7 + 1 lost = the 40 sent");
  json_decref(ev);
  /* Closed: it changes no more, and the lot is back in stock for another dispatch. */
  no("subcontracting.dispatch.return", ret(RET3, LOT1, 1, 0, 0), "invalid_transition");
  json_decref(ok("subcontracting.dispatch.send", send(DSP2, LOT1, 39000), "send2"));
}

static json_int_t i_of(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* Worked example (README, Subcontracting): 10 kg of a lot out at 1 001 millimes per kg.
 * Return 1: 1.000 kg good + 0.500 kg rejected are charged: 1 500 × 1 001 / 1 000 =
 * 1 501.5 → 1 502. Return 2: 1.500 kg good, 7.000 kg lost (not charged): the lot's 3 000
 * charged thousandths cost 3 003, less the 1 502 already charged → 1 501 (1 501.5 on its
 * own would round to 1 502 again: the lot's returns add up to the rounding of its whole).
 * The dispatch cost 3 003. */
Test(dispatch, a_priced_return_costs_what_came_back_good_or_rejected) {
  subcontractor();
  unit(LOT1, NULL);
  json_t *s = send(DSP1, LOT1, 10000);
  json_object_set_new(s, "unit_price", json_integer(1001));
  json_t *ev = ok("subcontracting.dispatch.send", s, "send");
  cr_expect_eq(i_of(ev, "unit_price"), 1001);
  json_decref(ev);
  ev = ok("subcontracting.dispatch.return", ret(RET1, LOT1, 1000, 500, 0), "r1");
  cr_expect_eq(i_of(json_array_get(json_object_get(ev, "lines"), 0), "cost_minor"), 1502);
  cr_expect_eq(i_of(ev, "cost_minor"), 1502);
  cr_expect_str_eq(s_of(ev, "operation"), "embroidery");
  json_decref(ev);
  ev = ok("subcontracting.dispatch.return", ret(RET2, LOT1, 1500, 0, 7000), "r2");
  cr_expect_eq(i_of(json_array_get(json_object_get(ev, "lines"), 0), "cost_minor"), 1501);
  cr_expect_eq(i_of(ev, "cost_minor"), 1501);
  cr_expect_str_eq(s_of(ev, "status"), "closed");
  json_decref(ev);
  cr_expect_eq(i_of(json_object_get(world, DSP1), "cost_minor"), 3003, "the dispatch's cost so far");
  cr_expect_eq(fofal__sub_charge(3000, 1001), 3003);
  cr_expect_eq(fofal__sub_charge(1500, 1001), 1502, "half up");
  cr_expect_eq(fofal__sub_charge(1000000000, 1000000000000LL), 1000000000000000000LL, "exact past 64 bits");
}

Test(dispatch, without_a_price_a_return_carries_no_cost) {
  subcontractor();
  unit(LOT1, NULL);
  json_decref(ok("subcontracting.dispatch.send", send(DSP1, LOT1, 10000), "send"));
  json_t *ev = ok("subcontracting.dispatch.return", ret(RET1, LOT1, 1000, 500, 0), "r1");
  cr_expect_null(json_object_get(ev, "cost_minor"));
  cr_expect_null(json_object_get(json_array_get(json_object_get(ev, "lines"), 0), "cost_minor"));
  json_decref(ev);
}
