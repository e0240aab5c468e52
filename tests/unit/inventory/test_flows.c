/*
 * test_flows.c — inventory's reactions to other modules' events and their deciders
 * (commands/inventory/reactions.c, flows.c), and quality's reaction to subcontracting
 * rejects (commands/quality/reactions.c), through the registry and an in-memory tenant
 * (../production/world.h): each trigger's data → the reaction's command (pure) → the
 * decision, with the locations' ledger (stock_changed) and contents after it. Every
 * emitted event is checked against its schema.
 *
 *   cut        the roll leaves stock, its graded piece lots enter it at its location under
 *              the cut's label ids, from the roll (genealogy); waste leaves; once; never
 *              more than the roll; a rejected piece lot is not packed
 *   quarantine a rejected lot goes to the quarantine location; without one it stays (the
 *              reaction does not apply: no DLQ)
 *   receipt    accepted yarn in kg or g becomes yarn lots in the receiving location;
 *              refused quantities and non-yarn items do not enter; needs the location
 *   subcontracting  out to the subcontractor's site (defined the first time); back: lost
 *              out, rejected to quarantine, good home, split when partial; an NC opened
 */
#include <criterion/criterion.h>
#include <stdio.h>
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
}

static void teardown(void) {
  world_free();
  fofal_registry_free(reg);
  reg = NULL;
}

TestSuite(flows, .init = setup, .fini = teardown);

#define ROLL "0192f0a0-0000-7000-8000-0000000000c1"
#define ROLL2 "0192f0a0-0000-7000-8000-0000000000c2"
#define LOT1 "0192f0a0-0000-7000-8000-0000000000a1"
#define LOT2 "0192f0a0-0000-7000-8000-0000000000a2"
#define RECEIPT "0192f0a0-1111-7000-8000-0000000000b1"
#define ORDER "0192f0a0-2222-7000-8000-0000000000b2"
#define DISPATCH "0192f0a0-3333-7000-8000-0000000000b3"
#define RETURN1 "0192f0a0-4444-7000-8000-0000000000b4"
#define RETURN2 "0192f0a0-5555-7000-8000-0000000000b5"
#define EVID "0192f0a0-0000-7000-8000-00000000e001"

static void check_event(const json_t *ev) {
  const char *type = json_string_value(json_object_get(ev, "type"));
  char module[32], name[96], path[512], err[256];
  cr_assert(type && sscanf(type, "fofal.%31[a-z_].%95s", module, name) == 2, "event type %s", type ? type : "(null)");
  snprintf(path, sizeof path, "%s/schemas/%s/events/%s.json", FOFAL_SOURCE_DIR, module, name);
  json_t *sj = json_load_file(path, 0, NULL);
  cr_assert_not_null(sj, "%s has no schema (%s)", type, path);
  fofal_schema_t *s = NULL;
  cr_assert_eq(fofal_schema_compile(&s, sj, path, err, sizeof err), 0, "%s: %s", path, err);
  json_t *errors = NULL;
  char *got = json_dumps(json_object_get(ev, "data"), JSON_COMPACT);
  cr_expect_eq(fofal_schema_validate(s, json_object_get(ev, "data"), &errors), 0, "%s does not match its schema: %s", type,
               got);
  free(got);
  json_decref(errors);
  fofal_schema_free(s);
  json_decref(sj);
}

/* Decides and expects acceptance, every event checked; the types of all events written
 * (own and others'), space-separated without the prefix, into types. */
static void ok(const char *type, json_t *data, const char *cmd_id, char *types, size_t tn) {
  fofal_decision_t d;
  int rc = world_decide_at(type, data, W_ISSUED, cmd_id, &d);
  cr_assert_eq(rc, 0, "%s rejected: %s: %s", type, d.code, d.detail);
  if (types) types[0] = '\0';
  size_t i;
  json_t *ev;
  json_array_foreach(d.events, i, ev) {
    check_event(ev);
    if (types) snprintf(types + strlen(types), tn - strlen(types), "%s ", jstr(ev, "type") + 16);
  }
  const char *id;
  json_t *o;
  json_object_foreach(d.others, id, o) json_array_foreach(json_object_get(o, "events"), i, ev) {
    check_event(ev);
    if (types) snprintf(types + strlen(types), tn - strlen(types), "%s ", jstr(ev, "type") + 16);
  }
  world_release(&d);
}

/* Runs reaction `name` on an event of `type` with data (borrowed). */
static int react(const char *name, const char *type, const json_t *data, fofal_reaction_result_t *res) {
  const fofal_reaction_t *r = fofal_reaction_find(name);
  cr_assert_not_null(r, "%s is registered", name);
  char id[] = EVID, tenant[] = W_TENANT, t[128], subject[] = ROLL;
  snprintf(t, sizeof t, "%s", type);
  fofal_event_t ev = {.id = id, .type = t, .tenant = tenant, .subject = subject, .seq = 5, .data = (json_t *)data};
  return fofal_reaction_apply(reg, r, &ev, "fofal.x.events", 0, 42, W_ISSUED, res);
}

/* Reacts and decides the command; returns the reaction's rc. */
static int react_and_decide(const char *name, const char *type, json_t *data /* stolen */, char *types, size_t tn) {
  fofal_reaction_result_t res;
  int rc = react(name, type, data, &res);
  if (rc == FOFAL_REACT_COMMAND) ok(res.cmd.type, json_deep_copy(res.out.data), res.cmd.id, types, tn);
  fofal_reaction_result_clear(&res);
  json_decref(data);
  return rc;
}

static json_int_t on_hand(const char *code, const char *hid) {
  return jint(json_object_get(world_ref("location", code), "contents"), hid, 0);
}

/* world.h's floor, PF-1 (finished), MP-A (raw), QUAR (quarantine), yarn YRN-20 and an
 * accessory, an order and rolls ROLL (12 pieces, moved to PF-1) and ROLL2 (12, at loom). */
static void floor_(void) {
  world_floor();
  world_ok("inventory.location.define", json_pack("{s:s,s:s}", "location", "PF-1", "kind", "finished"), "loc-1");
  world_ok("inventory.location.define", json_pack("{s:s,s:s}", "location", "MP-A", "kind", "raw"), "loc-2");
  world_ok("inventory.location.define", json_pack("{s:s,s:s}", "location", "QUAR", "kind", "quarantine"), "loc-3");
  world_ok("catalog.item.define", json_pack("{s:s,s:s,s:s,s:s}", "item", "YRN-20", "kind", "yarn", "name", "Ne 20/2", "unit", "g"),
           "item-1");
  world_ok("catalog.item.define",
           json_pack("{s:s,s:s,s:s,s:s}", "item", "BLADE", "kind", "accessory", "name", "blade", "unit", "piece"), "item-2");
  char order[FOFAL_UUID_LEN + 1];
  json_t *data = json_pack("{s:s,s:i}", "article", "FT-200", "quantity", 100);
  cr_assert_eq(fofal_command_aggregate_id(fofal_registry_find(reg, "production.order.create"), W_TENANT, "order-1", data, order),
               0);
  world_ok("production.order.create", data, "order-1");
  const char *labels[] = {ROLL, ROLL2};
  for (int i = 0; i < 2; i++)
    world_ok("inventory.unit.receive",
             json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:[{s:s,s:f}]}", "label_id", labels[i], "order_id", order, "article",
                       "FT-200", "loom", "L-07", "weaver", "W-12", "shift", "2026-11-24/A", "quantity", 12, "woven_at",
                       "2026-11-24T08:00:00Z", "beams", "beam", "B-1", "meters", 25.0),
             labels[i]);
  world_ok("inventory.unit.move", json_pack("{s:s,s:s}", "label_id", ROLL, "to", "PF-1"), "mv-1");
}

static json_t *cut_event(const char *roll, int first, int second, int waste) {
  return json_pack("{s:s,s:i,s:i,s:i,s:[{s:s,s:s,s:i},{s:s,s:s,s:i}],s:s}", "roll", roll, "first_choice", first,
                   "second_choice", second, "waste_pieces", waste, "lots", "label_id", LOT1, "grade", "first", "pieces",
                   first, "label_id", LOT2, "grade", "second", "pieces", second, "cut_at", "2026-11-24T08:10:00Z");
}

Test(flows, a_cut_roll_leaves_stock_and_its_piece_lots_enter_it_at_its_location) {
  floor_();
  char types[1024];
  cr_assert_eq(react_and_decide("inventory.stock_on_cut", "fofal.quality.roll_cut.v1", cut_event(ROLL, 9, 2, 1), types,
                                sizeof types),
               FOFAL_REACT_COMMAND);
  cr_expect(strstr(types, "unit_cut") && strstr(types, "unit_derived") && strstr(types, "stock_changed"), "%s", types);
  cr_expect_eq(on_hand("PF-1", ROLL), 0, "the roll left PF-1");
  cr_expect_eq(on_hand("PF-1", LOT1), 9, "the 1st choice entered where the roll was");
  cr_expect_eq(on_hand("PF-1", LOT2), 2);
  cr_expect_eq(jint(json_object_get(world_ref("location", "PF-1"), "totals"), "FT-200", 0), 11, "the waste piece left");
  const json_t *lot = json_object_get(world, LOT1);
  cr_expect_str_eq(jstr(lot, "from_label"), ROLL, "the piece lot leads back to its roll");
  cr_expect_str_eq(jstr(lot, "grade"), "first");
  cr_expect_str_eq(jstr(lot, "loom"), "L-07");
  cr_expect_str_eq(jstr(json_array_get(json_object_get(lot, "beams"), 0), "beam"), "B-1", "and down to its beams");
  cr_expect_str_eq(jstr(json_object_get(world, ROLL), "status"), "cut");
  /* Once; never more than the roll; under new labels; whole only if not packed. */
  json_t *again = json_pack("{s:s,s:[],s:i}", "label_id", ROLL, "lots", "waste_pieces", 1);
  world_no("inventory.unit.cut", again, "already_cut");
  json_t *big = json_pack("{s:s,s:[{s:s,s:s,s:i}],s:i}", "label_id", ROLL2, "lots", "label_id",
                          "0192f0a0-0000-7000-8000-0000000000a9", "grade", "first", "pieces", 12, "waste_pieces", 1);
  world_no("inventory.unit.cut", big, "exceeds_unit");
  json_t *taken = json_pack("{s:s,s:[{s:s,s:s,s:i}]}", "label_id", ROLL2, "lots", "label_id", LOT1, "grade", "first", "pieces", 3);
  world_no("inventory.unit.cut", taken, "label_taken");
}

Test(flows, a_rejected_lot_goes_to_quarantine_and_is_not_packed) {
  floor_();
  cr_assert_eq(react_and_decide("inventory.stock_on_cut", "fofal.quality.roll_cut.v1", cut_event(ROLL, 9, 2, 1), NULL, 0),
               FOFAL_REACT_COMMAND);
  world_ok("quality.lot.reject", json_pack("{s:s,s:s,s:s}", "lot", LOT2, "lot_kind", "pieces", "reason", "stains"), "rej-1");
  json_t *rejected = json_pack("{s:s,s:s,s:s}", "lot", LOT2, "lot_kind", "pieces", "reason", "stains");
  fofal_reaction_result_t res;
  cr_assert_eq(react("inventory.quarantine_on_rejection", "fofal.quality.lot_rejected.v1", rejected, &res), FOFAL_REACT_COMMAND);
  cr_expect_str_eq(res.cmd.type, "inventory.unit.quarantine");
  /* No quarantine location named: refused with a code the reaction says does not apply. */
  world_no(res.cmd.type, json_deep_copy(res.out.data), "no_quarantine_location");
  const fofal_reaction_t *r = fofal_reaction_find("inventory.quarantine_on_rejection");
  int listed = 0;
  for (int i = 0; r->not_applicable && r->not_applicable[i]; i++) listed |= !strcmp(r->not_applicable[i], "no_quarantine_location");
  cr_expect(listed, "no quarantine location is not a failure: the lot stays, quality's rejection blocks it");
  world_no("inventory.settings.set", json_pack("{s:s,s:s}", "settings", "default", "quarantine_location", "PF-1"),
           "location_kind_mismatch");
  world_ok("inventory.settings.set", json_pack("{s:s,s:s}", "settings", "default", "quarantine_location", "QUAR"), "set-1");
  ok(res.cmd.type, json_deep_copy(res.out.data), res.cmd.id, NULL, 0);
  cr_expect_eq(on_hand("QUAR", LOT2), 2, "the rejected piece lot is in quarantine");
  cr_expect_eq(on_hand("PF-1", LOT2), 0);
  world_no(res.cmd.type, json_deep_copy(res.out.data), "no_change");
  fofal_reaction_result_clear(&res);
  json_decref(rejected);
  /* carton.pack refuses a rejected piece lot (quality's lot of its label id). */
  world_no("inventory.carton.pack", json_pack("{s:s,s:[s]}", "carton_id", "0192f0a0-0000-7000-8000-0000000000d1", "units", LOT2),
           "lot_quarantined");
  /* A yarn lot rejected goes the same way. */
  world_ok("inventory.lot.receive",
           json_pack("{s:s,s:s,s:s,s:i,s:s}", "lot", "YL-9", "item", "YRN-20", "supplier_lot", "S-1", "weight_g", 5000,
                     "location", "MP-A"),
           "lr-1");
  cr_assert_eq(react_and_decide("inventory.quarantine_on_rejection", "fofal.quality.lot_rejected.v1",
                                json_pack("{s:s,s:s,s:s}", "lot", "YL-9", "lot_kind", "yarn", "reason", "wet"), NULL, 0),
               FOFAL_REACT_COMMAND);
  char id[FOFAL_UUID_LEN + 1];
  fofal_aggregate_ref(W_TENANT, "yarnlot", "YL-9", id);
  cr_expect_eq(on_hand("QUAR", id), 5000);
}

static json_t *receipt_event(void) {
  return json_pack("{s:s,s:s,s:s,s:s,s:[{s:i,s:i,s:i,s:s,s:s,s:s},{s:i,s:i,s:i,s:s,s:s},{s:i,s:i,s:s,s:s},{s:i,s:i,s:s}]}",
                   "order_id", ORDER, "receipt_id", RECEIPT, "supplier", "FIL-TN", "received_at", "2026-11-24T08:00:00Z",
                   "lines",
                   /* 120.5 kg accepted, 10 kg refused */
                   "line", 1, "quantity_milli", 120500, "refused_milli", 10000, "unit", "kg", "item", "YRN-20", "supplier_lot",
                   "SL-77",
                   /* 3,500,000 thousandths of a gram: 3.5 kg */
                   "line", 2, "quantity_milli", 3500000, "refused_milli", 0, "unit", "g", "item", "YRN-20",
                   /* blades: pieces, not stocked as yarn */
                   "line", 3, "quantity_milli", 5000, "unit", "piece", "item", "BLADE",
                   /* free text: no item */
                   "line", 4, "quantity_milli", 1000, "unit", "kg");
}

Test(flows, a_receipts_accepted_yarn_becomes_yarn_lots_in_the_receiving_location) {
  floor_();
  fofal_reaction_result_t res;
  json_t *ev = receipt_event();
  cr_assert_eq(react("inventory.lots_on_receipt", "fofal.purchasing.goods_received.v1", ev, &res), FOFAL_REACT_COMMAND, "%s",
               res.out.reason);
  const json_t *lines = json_object_get(res.out.data, "lines");
  cr_assert_eq(json_array_size(lines), 2, "only lines in kg or g of an item");
  cr_expect_eq(jint(json_array_get(lines, 0), "weight_g", 0), 120500, "accepted only: refused kilos never enter");
  cr_expect_eq(jint(json_array_get(lines, 1), "weight_g", 0), 3500);
  world_no(res.cmd.type, json_deep_copy(res.out.data), "no_receiving_location");
  world_no("inventory.settings.set", json_pack("{s:s,s:s}", "settings", "default", "receiving_location", "NOWHERE"),
           "unknown_location");
  world_ok("inventory.settings.set", json_pack("{s:s,s:s}", "settings", "default", "receiving_location", "MP-A"), "set-1");
  char types[1024];
  ok(res.cmd.type, json_deep_copy(res.out.data), res.cmd.id, types, sizeof types);
  cr_expect(strstr(types, "stock_received") && strstr(types, "lot_received"), "%s", types);
  const json_t *lot = world_ref("yarnlot", "RC-0192f0a01111-1");
  cr_assert_not_null(lot, "line 1 is yarn lot RC-<receipt>-1");
  cr_expect_str_eq(jstr(lot, "supplier_lot"), "SL-77");
  cr_expect_str_eq(jstr(lot, "purchase_order"), ORDER);
  cr_expect_eq(jint(lot, "weight_g", 0), 120500);
  cr_expect_eq(jint(json_object_get(world_ref("location", "MP-A"), "totals"), "YRN-20", 0), 124000);
  /* Once: the stocking is named by the receipt. */
  cr_expect_eq(world_decide_at(res.cmd.type, json_deep_copy(res.out.data), W_ISSUED, "again", NULL), FOFAL_EEXIST);
  fofal_reaction_result_clear(&res);
  json_decref(ev);
  /* A receipt of nothing in kg or g needs nothing; one of a non-yarn only is "nothing to stock". */
  json_t *none = json_pack("{s:s,s:s,s:[{s:i,s:i,s:s,s:s}]}", "order_id", ORDER, "receipt_id", RETURN1, "lines", "line", 1,
                           "quantity_milli", 0, "unit", "kg", "item", "YRN-20");
  cr_expect_eq(react("inventory.lots_on_receipt", "fofal.purchasing.goods_received.v1", none, &res), FOFAL_REACT_NOTHING);
  fofal_reaction_result_clear(&res);
  json_decref(none);
  world_no("inventory.receipt.stock",
           json_pack("{s:s,s:s,s:[{s:i,s:s,s:i}]}", "receipt_id", RETURN2, "order_id", ORDER, "lines", "line", 1, "item",
                     "BLADE", "weight_g", 5),
           "nothing_to_stock");
}

Test(flows, lots_go_to_the_subcontractor_and_come_back_good_rejected_or_lost) {
  floor_();
  world_ok("inventory.settings.set", json_pack("{s:s,s:s}", "settings", "default", "quarantine_location", "QUAR"), "set-1");
  json_t *sent = json_pack("{s:s,s:s,s:s,s:[{s:s,s:i}]}", "dispatch_id", DISPATCH, "subcontractor", "BRODE", "operation",
                           "embroidery", "lots", "label_id", ROLL, "quantity_milli", 12000);
  char types[1024];
  cr_assert_eq(react_and_decide("inventory.stock_on_dispatch", "fofal.subcontracting.dispatch_sent.v1", sent, types,
                                sizeof types),
               FOFAL_REACT_COMMAND);
  cr_expect(strstr(types, "location_defined"), "the subcontractor's site is defined the first time: %s", types);
  cr_expect_str_eq(jstr(world_ref("location", "BRODE"), "kind"), "subcontractor");
  cr_expect_eq(on_hand("BRODE", ROLL), 12);
  cr_expect_eq(on_hand("PF-1", ROLL), 0);
  /* First return: 1 lost, 2 rejected, 4 good: the roll is split, 5 stay out. */
  json_t *ret = json_pack("{s:s,s:s,s:s,s:[{s:s,s:i,s:i,s:i,s:[s]}]}", "dispatch_id", DISPATCH, "return_id", RETURN1,
                          "subcontractor", "BRODE", "lines", "label_id", ROLL, "good_milli", 4000, "rejected_milli", 2000,
                          "lost_milli", 1000, "defects", "misprint");
  fofal_reaction_result_t res;
  cr_assert_eq(react("quality.nc_on_subcontracting_rejects", "fofal.subcontracting.goods_returned.v1", ret, &res),
               FOFAL_REACT_COMMAND, "%s", res.out.reason);
  cr_expect_str_eq(res.cmd.type, "quality.nc.open");
  cr_expect_str_eq(jstr(res.out.data, "source"), "subcontracting");
  cr_expect_str_eq(json_string_value(json_array_get(json_object_get(res.out.data, "lots"), 0)), ROLL);
  cr_expect(strstr(jstr(res.out.data, "description"), "misprint"), "%s", jstr(res.out.data, "description"));
  ok(res.cmd.type, json_deep_copy(res.out.data), res.cmd.id, NULL, 0);
  fofal_reaction_result_clear(&res);
  cr_assert_eq(react_and_decide("inventory.stock_on_return", "fofal.subcontracting.goods_returned.v1", ret, types,
                                sizeof types),
               FOFAL_REACT_COMMAND);
  cr_expect(strstr(types, "unit_reduced") && strstr(types, "unit_derived"), "%s", types);
  char bad[FOFAL_UUID_LEN + 1], good[FOFAL_UUID_LEN + 1];
  fofal_uuid_named(ROLL, "rejected/" RETURN1, bad);
  fofal_uuid_named(ROLL, "good/" RETURN1, good);
  cr_expect_eq(on_hand("BRODE", ROLL), 5, "12 - 1 lost - 2 rejected - 4 good");
  cr_expect_eq(on_hand("QUAR", bad), 2, "the rejected pieces are in quarantine");
  cr_expect_eq(on_hand("PF-1", good), 4, "the good ones are back where the roll came from");
  cr_expect_str_eq(jstr(json_object_get(world, good), "from_label"), ROLL, "the genealogy crosses the subcontractor");
  cr_expect_str_eq(jstr(json_array_get(json_object_get(json_object_get(world, good), "beams"), 0), "beam"), "B-1");
  /* Never more than is out; the rest comes back whole: the roll itself moves home. */
  world_no("inventory.subcontract.back",
           json_pack("{s:s,s:s,s:[{s:s,s:i}]}", "return_id", RETURN2, "dispatch_id", DISPATCH, "lines", "label_id", ROLL, "good",
                     6),
           "exceeds_unit");
  world_no("inventory.subcontract.back",
           json_pack("{s:s,s:s,s:[{s:s,s:i}]}", "return_id", RETURN2, "dispatch_id", DISPATCH, "lines", "label_id", ROLL2, "good",
                     1),
           "unknown_unit");
  json_t *ret2 = json_pack("{s:s,s:s,s:s,s:[{s:s,s:i}]}", "dispatch_id", DISPATCH, "return_id", RETURN2, "subcontractor",
                           "BRODE", "lines", "label_id", ROLL, "good_milli", 5000);
  cr_expect_eq(react("quality.nc_on_subcontracting_rejects", "fofal.subcontracting.goods_returned.v1", ret2, &res),
               FOFAL_REACT_NOTHING, "no rejects, no NC");
  fofal_reaction_result_clear(&res);
  cr_assert_eq(react_and_decide("inventory.stock_on_return", "fofal.subcontracting.goods_returned.v1", ret2, NULL, 0),
               FOFAL_REACT_COMMAND);
  cr_expect_eq(on_hand("BRODE", ROLL), 0);
  cr_expect_eq(on_hand("PF-1", ROLL), 5, "the roll is home under its own label");
}

Test(flows, a_site_code_of_another_kind_is_refused) {
  floor_();
  world_no("inventory.subcontract.out",
           json_pack("{s:s,s:s,s:[s]}", "dispatch_id", DISPATCH, "subcontractor", "PF-1", "units", ROLL),
           "location_kind_mismatch");
  world_no("inventory.subcontract.out",
           json_pack("{s:s,s:s,s:[s]}", "dispatch_id", DISPATCH, "subcontractor", "BRODE", "units", LOT1), "unknown_unit");
  world_no("inventory.subcontract.back",
           json_pack("{s:s,s:s,s:[{s:s,s:i}]}", "return_id", RETURN2, "dispatch_id", DISPATCH, "lines", "label_id", ROLL, "good",
                     1),
           "unknown_dispatch");
}

Test(flows, reactions_commands_are_sent_by_admins_only_by_hand) {
  static const char *const types[] = {"inventory.unit.cut", "inventory.unit.quarantine", "inventory.lot.quarantine",
                                      "inventory.receipt.stock", "inventory.subcontract.out", "inventory.subcontract.back",
                                      NULL};
  for (int i = 0; types[i]; i++) {
    const json_t *roles = json_object_get(fofal_registry_schema(reg, types[i]), "x-fofal-roles");
    cr_expect_eq(json_array_size(roles), 1, "%s", types[i]);
    cr_expect_str_eq(json_string_value(json_array_get(roles, 0)), "admin", "%s", types[i]);
  }
}
