/*
 * test_stores.c — the storekeepers' rules (commands/inventory/stores.c) through the
 * registry and an in-memory tenant (../production/world.h): yarn lots received and issued
 * to a beam, never below zero nor out of another order's reservation, moved where a lot
 * may be and returned to the supplier; units moved, packed into cartons, cartons onto pallets, a
 * container never packed twice nor into itself; a count whose close adjusts what differs
 * from the book, and which then cannot change; the location's ledger (stock_changed) and
 * contents after each. Every emitted event, the command's own and those of the other
 * aggregates it changes, is checked against its schema under schemas/<module>/events/.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "decide.h"
#include "jsonschema.h"
#include "../production/world.h"
#include "../../../commands/inventory/inventory.h"

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

TestSuite(stores, .init = setup, .fini = teardown);

#define L1 "0192f0a0-0000-7000-8000-0000000000c1"
#define L2 "0192f0a0-0000-7000-8000-0000000000c2"
#define L3 "0192f0a0-0000-7000-8000-0000000000c3"
#define CARTON "0192f0a0-0000-7000-8000-0000000000d1"
#define CARTON2 "0192f0a0-0000-7000-8000-0000000000d2"
#define PALLET "0192f0a0-0000-7000-8000-0000000000e1"
#define COUNT "0192f0a0-0000-7000-8000-0000000000f1"
#define SSCC "003123456700000016" /* check digit 6 */

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

/* Decides and expects acceptance; every event checked. The decision's ledger events
 * (stock_changed, of other aggregates) as a new array. */
static json_t *ok(const char *type, json_t *data, const char *cmd_id) {
  fofal_decision_t d;
  int rc = world_decide_at(type, data, W_ISSUED, cmd_id, &d);
  cr_assert_eq(rc, 0, "%s rejected: %s: %s", type, d.code, d.detail);
  json_t *ledger = json_array();
  size_t i;
  json_t *ev;
  json_array_foreach(d.events, i, ev) check_event(ev);
  const char *id;
  json_t *o;
  json_object_foreach(d.others, id, o) json_array_foreach(json_object_get(o, "events"), i, ev) {
    check_event(ev);
    if (!strcmp(json_string_value(json_object_get(ev, "type")), "fofal.inventory.stock_changed.v1"))
      json_array_append(ledger, json_object_get(ev, "data"));
  }
  world_release(&d);
  return ledger;
}

static void ok0(const char *type, json_t *data, const char *cmd_id) { json_decref(ok(type, data, cmd_id)); }

/* What location `code` holds of holding id `hid` by its contents (0: nothing). */
static json_int_t on_hand(const char *code, const char *hid) {
  return jint(json_object_get(world_ref("location", code), "contents"), hid, 0);
}

static const char *lot_id(const char *code, char id[FOFAL_UUID_LEN + 1]) {
  fofal_aggregate_ref(W_TENANT, "yarnlot", code, id);
  return id;
}

/* The floor of world.h, locations MP-A (raw), PF-1 (finished), QUAR, yarn item
 * YRN-20-WHT and lot YL-1 of 25 kg in MP-A. */
static void stores(void) {
  world_floor();
  ok0("inventory.location.define", json_pack("{s:s,s:s}", "location", "MP-A", "kind", "raw"), "loc-1");
  ok0("inventory.location.define", json_pack("{s:s,s:s,s:s}", "location", "PF-1", "kind", "finished", "name", "FG store"),
      "loc-2");
  ok0("inventory.location.define", json_pack("{s:s,s:s}", "location", "QUAR", "kind", "quarantine"), "loc-3");
  ok0("catalog.item.define",
      json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "item", "YRN-20-WHT", "kind", "yarn", "name", "Cotton Ne 20/2 white", "unit",
                "g", "yarn_count", "Ne 20/2", "colour", "white"),
      "item-1");
  json_t *led = ok("inventory.lot.receive",
                   json_pack("{s:s,s:s,s:s,s:i,s:i,s:s}", "lot", "YL-1", "item", "YRN-20-WHT", "supplier_lot", "SUP-778",
                             "weight_g", 25000, "cones", 12, "location", "MP-A"),
                   "lot-1");
  cr_assert_eq(json_array_size(led), 1, "a receipt is one line of MP-A's ledger");
  cr_expect_eq(jint(json_array_get(led, 0), "delta", 0), 25000);
  cr_expect_str_eq(jstr(json_array_get(led, 0), "cause"), "received");
  json_decref(led);
}

/* Three started-order units (12 pieces each) at "loom": L1, L2, L3. */
static void units(void) {
  char order[FOFAL_UUID_LEN + 1];
  json_t *data = json_pack("{s:s,s:i}", "article", "FT-200", "quantity", 100);
  cr_assert_eq(fofal_command_aggregate_id(fofal_registry_find(reg, "production.order.create"), W_TENANT, "order-1", data, order),
               0);
  world_ok("production.order.create", data, "order-1");
  const char *labels[] = {L1, L2, L3};
  for (int i = 0; i < 3; i++)
    world_ok("inventory.unit.receive",
             json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s}", "label_id", labels[i], "order_id", order, "article", "FT-200",
                       "loom", "L-07", "weaver", "W-12", "shift", "2026-11-24/A", "quantity", 12, "woven_at",
                       "2026-11-24T08:00:00Z"),
             labels[i]);
}

Test(stores, a_yarn_lot_is_received_only_as_a_known_item_into_a_raw_or_quarantine_location) {
  stores();
  char id[FOFAL_UUID_LEN + 1];
  cr_expect_eq(on_hand("MP-A", lot_id("YL-1", id)), 25000);
  json_t *lot = json_pack("{s:s,s:s,s:s,s:i,s:s}", "lot", "YL-2", "item", "YRN-20-WHT", "supplier_lot", "S", "weight_g", 100,
                          "location", "PF-1");
  world_no("inventory.lot.receive", json_deep_copy(lot), "location_kind_mismatch");
  json_object_set_new(lot, "location", json_string("NOWHERE"));
  world_no("inventory.lot.receive", json_deep_copy(lot), "unknown_location");
  json_object_set_new(lot, "location", json_string("QUAR"));
  json_object_set_new(lot, "item", json_string("YRN-NONE"));
  world_no("inventory.lot.receive", json_deep_copy(lot), "unknown_item");
  json_object_set_new(lot, "item", json_string("YRN-20-WHT"));
  json_object_set_new(lot, "occurred_at", json_string("2026-11-24T09:00:00Z")); /* 45 min after W_ISSUED */
  world_no("inventory.lot.receive", json_deep_copy(lot), "occurred_in_future");
  json_object_set_new(lot, "occurred_at", json_string("2026-11-23T17:30:00Z")); /* an offline phone, yesterday */
  json_t *led = ok("inventory.lot.receive", lot, "lot-2");
  cr_expect_str_eq(jstr(json_array_get(led, 0), "occurred_at"), "2026-11-23T17:30:00.000000Z",
                   "the ledger dates it when it happened");
  cr_expect_str_eq(jstr(json_array_get(led, 0), "location"), "QUAR");
  json_decref(led);
}

Test(stores, a_lot_is_issued_to_an_existing_beam_and_never_below_zero) {
  stores();
  char id[FOFAL_UUID_LEN + 1];
  world_no("inventory.lot.issue", json_pack("{s:s,s:i,s:s}", "lot", "YL-1", "weight_g", 25001, "beam", "B-1"),
           "insufficient_stock");
  world_no("inventory.lot.issue", json_pack("{s:s,s:i,s:s}", "lot", "YL-1", "weight_g", 100, "beam", "B-404"), "unknown_beam");
  json_t *led = ok("inventory.lot.issue", json_pack("{s:s,s:i,s:s}", "lot", "YL-1", "weight_g", 20000, "beam", "B-1"), "iss-1");
  cr_expect_eq(jint(json_array_get(led, 0), "delta", 0), -20000);
  cr_expect_eq(jint(json_array_get(led, 0), "on_hand", -1), 5000);
  json_decref(led);
  cr_expect_eq(jint(world_ref("yarnlot", "YL-1"), "weight_g", 0), 5000);
  cr_expect_eq(on_hand("MP-A", lot_id("YL-1", id)), 5000);
  ok0("inventory.lot.issue", json_pack("{s:s,s:i,s:s}", "lot", "YL-1", "weight_g", 5000, "beam", "B-1"), "iss-2");
  cr_expect_null(json_object_get(json_object_get(world_ref("location", "MP-A"), "contents"), lot_id("YL-1", id)),
                 "an empty lot leaves the location's contents");
  world_no("inventory.lot.issue", json_pack("{s:s,s:i,s:s}", "lot", "YL-1", "weight_g", 1, "beam", "B-1"),
           "insufficient_stock");
}

Test(stores, a_unit_moves_to_a_location_it_can_be_in_and_enters_the_ledger) {
  stores();
  units();
  world_no("inventory.unit.move", json_pack("{s:s,s:s}", "label_id", L1, "to", "MP-A"), "location_kind_mismatch");
  world_no("inventory.unit.move", json_pack("{s:s,s:s}", "label_id", L1, "to", "PF-9"), "unknown_location");
  json_t *led = ok("inventory.unit.move", json_pack("{s:s,s:s}", "label_id", L1, "to", "PF-1"), "mv-1");
  cr_expect_eq(json_array_size(led), 1, "the loom keeps no ledger: only PF-1's line");
  cr_expect_eq(jint(json_array_get(led, 0), "delta", 0), 12);
  json_decref(led);
  world_no("inventory.unit.move", json_pack("{s:s,s:s}", "label_id", L1, "to", "PF-1"), "no_change");
  led = ok("inventory.unit.move", json_pack("{s:s,s:s}", "label_id", L1, "to", "QUAR"), "mv-2");
  cr_expect_eq(json_array_size(led), 2, "out of PF-1 and into QUAR");
  json_decref(led);
  cr_expect_eq(on_hand("PF-1", L1), 0);
  cr_expect_eq(on_hand("QUAR", L1), 12);
}

Test(stores, units_are_packed_once_into_a_carton_and_cartons_once_onto_a_pallet) {
  stores();
  units();
  ok0("inventory.unit.move", json_pack("{s:s,s:s}", "label_id", L1, "to", "PF-1"), "mv-1");
  ok0("inventory.unit.move", json_pack("{s:s,s:s}", "label_id", L2, "to", "PF-1"), "mv-2");
  world_no("inventory.carton.pack", json_pack("{s:s,s:[s,s]}", "carton_id", CARTON, "units", L1, L3), "not_together");
  world_no("inventory.carton.pack", json_pack("{s:s,s:[s]}", "carton_id", CARTON, "units", CARTON2), "unknown_unit");
  world_no("inventory.carton.pack", json_pack("{s:s,s:[s]}", "carton_id", CARTON, "units", CARTON), "container_cycle");
  ok0("inventory.carton.pack", json_pack("{s:s,s:[s,s]}", "carton_id", CARTON, "units", L1, L2), "pack-1");
  const json_t *c = json_object_get(world, CARTON);
  cr_expect_eq(jint(c, "pieces", 0), 24);
  cr_expect_str_eq(jstr(c, "location"), "PF-1");
  cr_expect_str_eq(jstr(json_object_get(world, L1), "carton_id"), CARTON, "the unit knows its carton");
  world_no("inventory.carton.pack", json_pack("{s:s,s:[s]}", "carton_id", CARTON2, "units", L2), "already_contained");
  world_no("inventory.unit.move", json_pack("{s:s,s:s}", "label_id", L1, "to", "QUAR"), "unit_in_carton");

  world_no("inventory.pallet.build", json_pack("{s:s,s:s,s:[s]}", "pallet_id", PALLET, "sscc", "003123456700000012",
                                               "cartons", CARTON),
           "invalid_sscc");
  world_no("inventory.pallet.build", json_pack("{s:s,s:s,s:[s]}", "pallet_id", PALLET, "sscc", SSCC, "cartons", L3),
           "unknown_carton");
  ok0("inventory.pallet.build", json_pack("{s:s,s:s,s:[s]}", "pallet_id", PALLET, "sscc", SSCC, "cartons", CARTON), "pal-1");
  cr_expect_eq(jint(json_object_get(world, PALLET), "pieces", 0), 24);
  cr_expect_str_eq(jstr(json_object_get(world, CARTON), "pallet_id"), PALLET);
  world_no("inventory.pallet.build", json_pack("{s:s,s:s,s:[s]}", "pallet_id", "0192f0a0-0000-7000-8000-0000000000e2",
                                               "sscc", SSCC, "cartons", CARTON),
           "already_contained");
  /* A pallet is not a carton: no pallet goes into a pallet (nor a carton into a carton). */
  world_no("inventory.pallet.build", json_pack("{s:s,s:s,s:[s]}", "pallet_id", "0192f0a0-0000-7000-8000-0000000000e3",
                                               "sscc", SSCC, "cartons", PALLET),
           "unknown_carton");
  world_no("inventory.carton.pack", json_pack("{s:s,s:[s]}", "carton_id", CARTON2, "units", CARTON), "unknown_unit");
}

Test(stores, sscc_check_digit) {
  cr_expect(fofal__inventory_sscc_valid("003123456700000016"));
  cr_expect(fofal__inventory_sscc_valid("106141411234567897")); /* GS1's example */
  cr_expect_not(fofal__inventory_sscc_valid("106141411234567890"));
  cr_expect_not(fofal__inventory_sscc_valid("10614141123456789"));
  cr_expect_not(fofal__inventory_sscc_valid("10614141123456789a"));
  cr_expect_not(fofal__inventory_sscc_valid(NULL));
}

Test(stores, a_count_adjusts_what_differs_from_the_book_and_then_cannot_change) {
  stores();
  units();
  char yl1[FOFAL_UUID_LEN + 1], yl2[FOFAL_UUID_LEN + 1];
  ok0("inventory.lot.receive",
      json_pack("{s:s,s:s,s:s,s:i,s:s}", "lot", "YL-2", "item", "YRN-20-WHT", "supplier_lot", "SUP-779", "weight_g", 8000,
                "location", "MP-A"),
      "lot-2");
  ok0("inventory.count.open", json_pack("{s:s,s:s}", "count_id", COUNT, "location", "MP-A"), "cnt-1");
  world_no("inventory.count.record", json_pack("{s:s,s:s,s:i}", "count_id", COUNT, "holding", "YL-404", "quantity", 1),
           "unknown_holding");
  ok0("inventory.count.record", json_pack("{s:s,s:s,s:i}", "count_id", COUNT, "holding", "YL-1", "quantity", 25000), "r-1");
  /* A second phone scans YL-1 again: the last record wins. */
  ok0("inventory.count.record", json_pack("{s:s,s:s,s:i}", "count_id", COUNT, "holding", "YL-1", "quantity", 24100), "r-2");
  /* A roll found in the yarn store (the book has it at the loom). YL-2 is not scanned. */
  ok0("inventory.count.record", json_pack("{s:s,s:s,s:i}", "count_id", COUNT, "holding", L1, "quantity", 12), "r-3");
  fofal_decision_t d;
  cr_assert_eq(world_decide_at("inventory.count.close", json_pack("{s:s,s:s}", "count_id", COUNT, "reason", "year-end"),
                               W_ISSUED, "close-1", &d),
               0, "%s: %s", d.code, d.detail);
  const json_t *closed = json_object_get(json_array_get(d.events, 0), "data");
  check_event(json_array_get(d.events, 0));
  cr_expect_eq(jint(closed, "lines", 0), 2);
  cr_expect_eq(jint(closed, "adjustments", 0), 3, "YL-1 short, YL-2 missing, the roll found");
  const json_t *adj = json_array_get(json_object_get(json_object_get(d.others, lot_id("YL-1", yl1)), "events"), 0);
  check_event(adj);
  cr_expect_eq(jint(json_object_get(adj, "data"), "delta", 0), -900);
  cr_expect_str_eq(jstr(json_object_get(adj, "data"), "reason"), "year-end");
  adj = json_array_get(json_object_get(json_object_get(d.others, lot_id("YL-2", yl2)), "events"), 0);
  cr_expect_eq(jint(json_object_get(adj, "data"), "delta", 0), -8000, "a holding of the book not counted is missing");
  adj = json_array_get(json_object_get(json_object_get(d.others, L1), "events"), 0);
  check_event(adj);
  cr_expect_str_eq(jstr(json_object_get(adj, "data"), "from_location"), "loom");
  world_release(&d);
  cr_expect_eq(jint(world_ref("yarnlot", "YL-1"), "weight_g", 0), 24100);
  cr_expect_eq(on_hand("MP-A", yl1), 24100);
  cr_expect_eq(on_hand("MP-A", yl2), 0);
  cr_expect_eq(on_hand("MP-A", L1), 12);
  cr_expect_str_eq(jstr(json_object_get(world, L1), "location"), "MP-A");
  world_no("inventory.count.record", json_pack("{s:s,s:s,s:i}", "count_id", COUNT, "holding", "YL-1", "quantity", 1),
           "count_closed");
  world_no("inventory.count.close", json_pack("{s:s}", "count_id", COUNT), "count_closed");
}

#define ORDER_A "0192f0a0-0000-7000-8000-0000000000a1"
#define ORDER_B "0192f0a0-0000-7000-8000-0000000000a2"

Test(stores, a_reservation_is_issued_only_to_its_order) {
  stores();
  world_no("inventory.lot.reserve", json_pack("{s:s,s:s,s:i}", "lot", "YL-1", "order_id", ORDER_A, "weight_g", 25001),
           "insufficient_stock");
  ok0("inventory.lot.reserve", json_pack("{s:s,s:s,s:i}", "lot", "YL-1", "order_id", ORDER_A, "weight_g", 20000), "res-a");
  world_no("inventory.lot.reserve", json_pack("{s:s,s:s,s:i}", "lot", "YL-1", "order_id", ORDER_B, "weight_g", 6000),
           "insufficient_stock");
  /* 5 kg are free: order B (or no order) may take them, not more. */
  world_no("inventory.lot.issue", json_pack("{s:s,s:i,s:s,s:s}", "lot", "YL-1", "weight_g", 6000, "beam", "B-1", "order_id",
                                            ORDER_B),
           "reserved_for_another_order");
  world_no("inventory.lot.issue", json_pack("{s:s,s:i,s:s}", "lot", "YL-1", "weight_g", 6000, "beam", "B-1"),
           "reserved_for_another_order");
  world_no("inventory.lot.return", json_pack("{s:s,s:i,s:s}", "lot", "YL-1", "weight_g", 6000, "reason", "wet"),
           "reserved_for_another_order");
  /* Order A takes its 20 kg and 3 of the free 5. */
  ok0("inventory.lot.issue", json_pack("{s:s,s:i,s:s,s:s}", "lot", "YL-1", "weight_g", 23000, "beam", "B-1", "order_id", ORDER_A),
      "iss-a");
  const json_t *lot = world_ref("yarnlot", "YL-1");
  cr_expect_eq(jint(lot, "weight_g", 0), 2000);
  cr_expect_null(json_object_get(json_object_get(lot, "reservations"), ORDER_A), "a used reservation is gone");
  ok0("inventory.lot.issue", json_pack("{s:s,s:i,s:s,s:s}", "lot", "YL-1", "weight_g", 2000, "beam", "B-1", "order_id", ORDER_B),
      "iss-b");
}

Test(stores, a_lot_moves_to_where_a_lot_may_be_and_goes_back_to_its_supplier) {
  stores();
  char id[FOFAL_UUID_LEN + 1];
  ok0("inventory.location.define", json_pack("{s:s,s:s}", "location", "FLOOR-H1", "kind", "floor"), "loc-f");
  world_no("inventory.lot.move", json_pack("{s:s,s:s}", "lot", "YL-1", "to", "PF-1"), "location_kind_mismatch");
  world_no("inventory.lot.move", json_pack("{s:s,s:s}", "lot", "YL-1", "to", "MP-A"), "no_change");
  json_t *led = ok("inventory.lot.move", json_pack("{s:s,s:s}", "lot", "YL-1", "to", "FLOOR-H1"), "mv-f");
  cr_expect_eq(json_array_size(led), 2, "out of MP-A, into the floor");
  json_decref(led);
  cr_expect_eq(on_hand("FLOOR-H1", lot_id("YL-1", id)), 25000);
  cr_expect_eq(on_hand("MP-A", id), 0);
  /* Back from the floor to the store, then 5 kg back to the supplier. */
  ok0("inventory.lot.move", json_pack("{s:s,s:s}", "lot", "YL-1", "to", "MP-A"), "mv-back");
  world_no("inventory.lot.return", json_pack("{s:s,s:i,s:s}", "lot", "YL-1", "weight_g", 25001, "reason", "wet"),
           "insufficient_stock");
  led = ok("inventory.lot.return", json_pack("{s:s,s:i,s:s}", "lot", "YL-1", "weight_g", 5000, "reason", "wet cones"), "ret");
  cr_expect_str_eq(jstr(json_array_get(led, 0), "cause"), "returned");
  cr_expect_eq(jint(json_array_get(led, 0), "on_hand", 0), 20000);
  json_decref(led);
  cr_expect_eq(jint(world_ref("yarnlot", "YL-1"), "weight_g", 0), 20000);
}

/* The alert events of a decision (stock_below_minimum, its own or its locations'): how many. */
static int alerts_of(const fofal_decision_t *d) {
  int n = 0;
  size_t i;
  json_t *ev;
  json_array_foreach(d->events, i, ev) n += !strcmp(jstr(ev, "type"), "fofal.inventory.stock_below_minimum.v1");
  const char *id;
  json_t *o;
  json_object_foreach(d->others, id, o) json_array_foreach(json_object_get(o, "events"), i, ev) {
    if (strcmp(jstr(ev, "type"), "fofal.inventory.stock_below_minimum.v1")) continue;
    check_event(ev);
    cr_expect_str_eq(jstr(json_object_get(ev, "data"), "item"), "YRN-20-WHT");
    n++;
  }
  return n;
}

Test(stores, stock_falling_below_an_items_minimum_raises_one_alert) {
  stores();
  fofal_decision_t d;
  /* 25 kg in MP-A; a minimum of 10 kg. */
  cr_assert_eq(world_decide_at("inventory.location.set_minimum",
                               json_pack("{s:s,s:s,s:i}", "location", "MP-A", "item", "YRN-20-WHT", "minimum", 10000),
                               W_ISSUED, "min-1", &d),
               0, "%s: %s", d.code, d.detail);
  cr_expect_eq(alerts_of(&d), 0, "25 kg is not below 10 kg");
  world_release(&d);
  world_no("inventory.location.set_minimum",
           json_pack("{s:s,s:s,s:i}", "location", "MP-A", "item", "YRN-20-WHT", "minimum", 10000), "no_change");
  cr_assert_eq(world_decide_at("inventory.lot.issue", json_pack("{s:s,s:i,s:s}", "lot", "YL-1", "weight_g", 14000, "beam", "B-1"),
                               W_ISSUED, "iss-1", &d),
               0);
  cr_expect_eq(alerts_of(&d), 0, "11 kg left");
  world_release(&d);
  cr_assert_eq(world_decide_at("inventory.lot.issue", json_pack("{s:s,s:i,s:s}", "lot", "YL-1", "weight_g", 2000, "beam", "B-1"),
                               W_ISSUED, "iss-2", &d),
               0);
  cr_expect_eq(alerts_of(&d), 1, "9 kg: below 10 kg");
  world_release(&d);
  cr_assert_eq(world_decide_at("inventory.lot.issue", json_pack("{s:s,s:i,s:s}", "lot", "YL-1", "weight_g", 1000, "beam", "B-1"),
                               W_ISSUED, "iss-3", &d),
               0);
  cr_expect_eq(alerts_of(&d), 0, "already below: no second alert");
  world_release(&d);
  /* A minimum set above what is there raises its alert at once. */
  cr_assert_eq(world_decide_at("inventory.location.set_minimum",
                               json_pack("{s:s,s:s,s:i}", "location", "MP-A", "item", "YRN-20-WHT", "minimum", 50000),
                               W_ISSUED, "min-2", &d),
               0);
  cr_expect_eq(alerts_of(&d), 1);
  check_event(json_array_get(d.events, 1));
  world_release(&d);
}

Test(stores, a_lot_quality_rejected_is_neither_issued_nor_packed) {
  stores();
  units();
  ok0("inventory.unit.move", json_pack("{s:s,s:s}", "label_id", L1, "to", "PF-1"), "mv-1");
  world_ok("quality.lot.reject", json_pack("{s:s,s:s,s:s}", "lot", "YL-1", "lot_kind", "yarn", "reason", "wet"), "qr-1");
  world_ok("quality.lot.reject", json_pack("{s:s,s:s,s:s}", "lot", L1, "lot_kind", "roll", "reason", "holes"), "qr-2");
  world_no("inventory.lot.issue", json_pack("{s:s,s:i,s:s}", "lot", "YL-1", "weight_g", 100, "beam", "B-1"), "lot_quarantined");
  world_no("inventory.carton.pack", json_pack("{s:s,s:[s]}", "carton_id", CARTON, "units", L1), "lot_quarantined");
  cr_expect_eq(jint(world_ref("yarnlot", "YL-1"), "weight_g", 0), 25000, "quality's lot of the same code is another aggregate");
}

/* ---------------------------------------------------------- issue 14, what was left */

/* The number of events of `type` in a decision, its own and its other aggregates'. */
static int events_of(const fofal_decision_t *d, const char *type) {
  int n = 0;
  size_t i;
  json_t *ev;
  json_array_foreach(d->events, i, ev) {
    check_event(ev);
    n += !strcmp(jstr(ev, "type"), type);
  }
  const char *id;
  json_t *o;
  json_object_foreach(d->others, id, o) json_array_foreach(json_object_get(o, "events"), i, ev) {
    check_event(ev);
    n += !strcmp(jstr(ev, "type"), type);
  }
  return n;
}

Test(stores, stock_rising_back_to_its_minimum_raises_one_event_per_crossing) {
  stores();
  fofal_decision_t d;
  ok0("inventory.location.set_minimum", json_pack("{s:s,s:s,s:i}", "location", "MP-A", "item", "YRN-20-WHT", "minimum", 10000),
      "min-1");
  ok0("inventory.lot.issue", json_pack("{s:s,s:i,s:s}", "lot", "YL-1", "weight_g", 20000, "beam", "B-1"), "iss-1");
  /* 5 kg left; 3 kg come back: still below. */
  ok0("inventory.lot.receive",
      json_pack("{s:s,s:s,s:s,s:i,s:s}", "lot", "YL-2", "item", "YRN-20-WHT", "supplier_lot", "S2", "weight_g", 3000,
                "location", "MP-A"),
      "lot-2");
  cr_assert_eq(world_decide_at("inventory.lot.receive",
                               json_pack("{s:s,s:s,s:s,s:i,s:s}", "lot", "YL-3", "item", "YRN-20-WHT", "supplier_lot", "S3",
                                         "weight_g", 2000, "location", "MP-A"),
                               W_ISSUED, "lot-3", &d),
               0, "%s: %s", d.code, d.detail);
  cr_expect_eq(events_of(&d, "fofal.inventory.stock_restored.v1"), 1, "10 kg: back at the minimum");
  world_release(&d);
  cr_assert_eq(world_decide_at("inventory.lot.receive",
                               json_pack("{s:s,s:s,s:s,s:i,s:s}", "lot", "YL-4", "item", "YRN-20-WHT", "supplier_lot", "S4",
                                         "weight_g", 2000, "location", "MP-A"),
                               W_ISSUED, "lot-4", &d),
               0);
  cr_expect_eq(events_of(&d, "fofal.inventory.stock_restored.v1"), 0, "already above: no second event");
  world_release(&d);
  /* Down again, then the minimum lowered under what is there: the alert ends too. */
  ok0("inventory.lot.issue", json_pack("{s:s,s:i,s:s}", "lot", "YL-1", "weight_g", 5000, "beam", "B-1"), "iss-2");
  cr_assert_eq(world_decide_at("inventory.location.set_minimum",
                               json_pack("{s:s,s:s,s:i}", "location", "MP-A", "item", "YRN-20-WHT", "minimum", 5000),
                               W_ISSUED, "min-2", &d),
               0);
  cr_expect_eq(events_of(&d, "fofal.inventory.stock_restored.v1"), 1, "7 kg is not below 5 kg");
  cr_expect_eq(events_of(&d, "fofal.inventory.stock_below_minimum.v1"), 0);
  world_release(&d);
}

#define PALLET2 "0192f0a0-0000-7000-8000-0000000000e2"

Test(stores, a_pallet_moves_as_a_whole_with_its_cartons_and_units) {
  stores();
  units();
  ok0("inventory.location.define", json_pack("{s:s,s:s}", "location", "PF-2", "kind", "finished"), "loc-pf2");
  const char *labels[] = {L1, L2, L3};
  for (int i = 0; i < 3; i++) {
    char id[16];
    snprintf(id, sizeof id, "mv-%d", i);
    ok0("inventory.unit.move", json_pack("{s:s,s:s}", "label_id", labels[i], "to", "PF-1"), id);
  }
  ok0("inventory.carton.pack", json_pack("{s:s,s:[s,s]}", "carton_id", CARTON, "units", L1, L2), "pack-1");
  ok0("inventory.carton.pack", json_pack("{s:s,s:[s]}", "carton_id", CARTON2, "units", L3), "pack-2");
  /* A carton moves alone while it is on no pallet. */
  json_t *led = ok("inventory.container.move", json_pack("{s:s,s:s}", "container_id", CARTON2, "to", "QUAR"), "cm-1");
  cr_expect_eq(json_array_size(led), 2, "L3 out of PF-1 and into QUAR");
  json_decref(led);
  cr_expect_str_eq(jstr(json_object_get(world, L3), "location"), "QUAR", "the unit follows its carton");
  cr_expect_eq(on_hand("QUAR", L3), 12);
  ok0("inventory.container.move", json_pack("{s:s,s:s}", "container_id", CARTON2, "to", "PF-1"), "cm-2");
  ok0("inventory.pallet.build", json_pack("{s:s,s:s,s:[s,s]}", "pallet_id", PALLET, "sscc", SSCC, "cartons", CARTON, CARTON2),
      "pal-1");
  world_no("inventory.container.move", json_pack("{s:s,s:s}", "container_id", CARTON, "to", "PF-2"), "carton_on_pallet");
  world_no("inventory.container.move", json_pack("{s:s,s:s}", "container_id", PALLET, "to", "MP-A"), "location_kind_mismatch");
  world_no("inventory.container.move", json_pack("{s:s,s:s}", "container_id", PALLET, "to", "PF-9"), "unknown_location");
  world_no("inventory.container.move", json_pack("{s:s,s:s}", "container_id", PALLET, "to", "PF-1"), "no_change");
  world_no("inventory.container.move", json_pack("{s:s,s:s}", "container_id", L1, "to", "PF-2"), "not_a_container");
  fofal_decision_t d;
  cr_assert_eq(world_decide_at("inventory.container.move", json_pack("{s:s,s:s}", "container_id", PALLET, "to", "PF-2"),
                               W_ISSUED, "pm-1", &d),
               0, "%s: %s", d.code, d.detail);
  cr_expect_eq(events_of(&d, "fofal.inventory.container_moved.v1"), 3, "the pallet and its two cartons");
  cr_expect_eq(events_of(&d, "fofal.inventory.unit_moved.v1"), 3, "every unit inside");
  cr_expect_eq(events_of(&d, "fofal.inventory.stock_changed.v1"), 6, "out of PF-1 and into PF-2, for each unit");
  world_release(&d);
  cr_expect_str_eq(jstr(json_object_get(world, PALLET), "location"), "PF-2");
  cr_expect_str_eq(jstr(json_object_get(world, CARTON2), "location"), "PF-2");
  for (int i = 0; i < 3; i++) {
    cr_expect_str_eq(jstr(json_object_get(world, labels[i]), "location"), "PF-2");
    cr_expect_eq(on_hand("PF-2", labels[i]), 12);
    cr_expect_eq(on_hand("PF-1", labels[i]), 0);
  }
  cr_expect_eq(jint(json_object_get(world_ref("location", "PF-2"), "totals"), "FT-200", 0), 36);
  /* The units still move only with their carton. */
  world_no("inventory.unit.move", json_pack("{s:s,s:s}", "label_id", L1, "to", "PF-1"), "unit_in_carton");
}

#define PICK "0192f0a0-0000-7000-8000-0000000000b1"
#define PICK2 "0192f0a0-0000-7000-8000-0000000000b2"

Test(stores, a_pick_list_reserves_what_it_lists_once_and_issues_what_was_picked) {
  stores();
  ok0("inventory.lot.receive",
      json_pack("{s:s,s:s,s:s,s:i,s:s}", "lot", "YL-2", "item", "YRN-20-WHT", "supplier_lot", "SUP-779", "weight_g", 8000,
                "location", "MP-A"),
      "lot-2");
  /* Order A already reserved 10 kg of YL-1; order B 12 kg. */
  ok0("inventory.lot.reserve", json_pack("{s:s,s:s,s:i}", "lot", "YL-1", "order_id", ORDER_A, "weight_g", 10000), "res-a");
  ok0("inventory.lot.reserve", json_pack("{s:s,s:s,s:i}", "lot", "YL-1", "order_id", ORDER_B, "weight_g", 12000), "res-b");
  world_no("inventory.pick.create",
           json_pack("{s:s,s:s,s:[{s:s,s:i}]}", "pick_id", PICK, "order_id", ORDER_A, "lines", "lot", "YL-404", "weight_g", 1),
           "unknown_lot");
  world_no("inventory.pick.create",
           json_pack("{s:s,s:s,s:[{s:s,s:i},{s:s,s:i}]}", "pick_id", PICK, "order_id", ORDER_A, "lines", "lot", "YL-1",
                     "weight_g", 1, "lot", "YL-1", "weight_g", 2),
           "duplicate_line");
  world_no("inventory.pick.create",
           json_pack("{s:s,s:s,s:s,s:[{s:s,s:i}]}", "pick_id", PICK, "order_id", ORDER_A, "beam", "B-404", "lines", "lot", "YL-1",
                     "weight_g", 1),
           "unknown_beam");
  /* 10 kg reserved for A + 3 kg free: 14 kg would take B's. */
  world_no("inventory.pick.create",
           json_pack("{s:s,s:s,s:[{s:s,s:i}]}", "pick_id", PICK, "order_id", ORDER_A, "lines", "lot", "YL-1", "weight_g", 14000),
           "reserved_for_another_order");
  world_no("inventory.pick.create",
           json_pack("{s:s,s:s,s:[{s:s,s:i}]}", "pick_id", PICK, "order_id", ORDER_A, "lines", "lot", "YL-2", "weight_g", 8001),
           "insufficient_stock");
  fofal_decision_t d;
  cr_assert_eq(world_decide_at("inventory.pick.create",
                               json_pack("{s:s,s:s,s:[{s:s,s:i},{s:s,s:i}]}", "pick_id", PICK, "order_id", ORDER_A, "lines",
                                         "lot", "YL-1", "weight_g", 12000, "lot", "YL-2", "weight_g", 5000),
                               W_ISSUED, "pick-1", &d),
               0, "%s: %s", d.code, d.detail);
  cr_expect_eq(events_of(&d, "fofal.inventory.lot_reserved.v1"), 2, "2 kg more of YL-1, 5 kg of YL-2");
  world_release(&d);
  const json_t *yl1 = world_ref("yarnlot", "YL-1");
  cr_expect_eq(jint(json_object_get(yl1, "reservations"), ORDER_A, 0), 12000);
  /* A second pick list of A does not count the 12 kg the first claims: 1 kg is free. */
  world_no("inventory.pick.create",
           json_pack("{s:s,s:s,s:[{s:s,s:i}]}", "pick_id", PICK2, "order_id", ORDER_A, "lines", "lot", "YL-1", "weight_g", 1001),
           "reserved_for_another_order");
  /* Scans: a lot not on the list, more than the line, then a short pick of YL-2. */
  world_no("inventory.pick.scan", json_pack("{s:s,s:s}", "pick_id", PICK, "lot", "YL-3"), "not_on_pick_list");
  world_no("inventory.pick.scan", json_pack("{s:s,s:s,s:i}", "pick_id", PICK, "lot", "YL-1", "weight_g", 12001), "over_pick");
  ok0("inventory.pick.scan", json_pack("{s:s,s:s}", "pick_id", PICK, "lot", "YL-1"), "scan-1");
  world_no("inventory.pick.issue", json_pack("{s:s,s:s}", "pick_id", PICK, "beam", "B-1"), "not_picked");
  ok0("inventory.pick.scan", json_pack("{s:s,s:s,s:i}", "pick_id", PICK, "lot", "YL-2", "weight_g", 4000), "scan-2");
  world_no("inventory.pick.issue", json_pack("{s:s}", "pick_id", PICK), "beam_required");
  world_no("inventory.pick.issue", json_pack("{s:s,s:s}", "pick_id", PICK, "beam", "B-404"), "unknown_beam");
  cr_assert_eq(world_decide_at("inventory.pick.issue", json_pack("{s:s,s:s}", "pick_id", PICK, "beam", "B-1"), W_ISSUED,
                               "issue-1", &d),
               0, "%s: %s", d.code, d.detail);
  cr_expect_eq(events_of(&d, "fofal.inventory.lot_issued.v1"), 2);
  cr_expect_eq(events_of(&d, "fofal.inventory.stock_changed.v1"), 2);
  cr_expect_eq(jint(json_object_get(json_array_get(d.events, 0), "data"), "weight_g", 0), 16000);
  world_release(&d);
  char id[FOFAL_UUID_LEN + 1];
  yl1 = world_ref("yarnlot", "YL-1");
  cr_expect_eq(jint(yl1, "weight_g", 0), 13000);
  cr_expect_null(json_object_get(json_object_get(yl1, "reservations"), ORDER_A), "A's reservation is used");
  cr_expect_eq(jint(json_object_get(yl1, "reservations"), ORDER_B, 0), 12000, "B's is untouched");
  cr_expect_eq(jint(json_object_get(world_ref("yarnlot", "YL-2"), "reservations"), ORDER_A, 0), 1000,
               "the 1 kg not found stays reserved for A");
  cr_expect_eq(json_object_size(json_object_get(yl1, "picks")), 0, "the pick's claim ends");
  cr_expect_eq(on_hand("MP-A", lot_id("YL-1", id)), 13000);
  world_no("inventory.pick.scan", json_pack("{s:s,s:s}", "pick_id", PICK, "lot", "YL-1"), "pick_closed");
  world_no("inventory.pick.issue", json_pack("{s:s,s:s}", "pick_id", PICK, "beam", "B-1"), "pick_closed");
}

Test(stores, a_cancelled_pick_list_ends_its_claims_and_frees_what_it_reserved) {
  stores();
  ok0("inventory.lot.receive",
      json_pack("{s:s,s:s,s:s,s:i,s:s}", "lot", "YL-2", "item", "YRN-20-WHT", "supplier_lot", "SUP-779", "weight_g", 8000,
                "location", "MP-A"),
      "lot-2");
  ok0("inventory.lot.reserve", json_pack("{s:s,s:s,s:i}", "lot", "YL-1", "order_id", ORDER_A, "weight_g", 10000), "res-a");
  /* 12 kg of YL-1 (2 kg more than A held) and 5 kg of YL-2 (all reserved by the list). */
  ok0("inventory.pick.create",
      json_pack("{s:s,s:s,s:[{s:s,s:i},{s:s,s:i}]}", "pick_id", PICK, "order_id", ORDER_A, "lines", "lot", "YL-1", "weight_g",
                12000, "lot", "YL-2", "weight_g", 5000),
      "pick-1");
  world_no("inventory.pick.cancel", json_pack("{s:s,s:s}", "pick_id", PICK, "reason", "  "), "reason_required");
  fofal_decision_t d;
  cr_assert_eq(world_decide_at("inventory.pick.cancel", json_pack("{s:s,s:s}", "pick_id", PICK, "reason", "order cancelled"),
                               W_ISSUED, "cancel-1", &d),
               0, "%s: %s", d.code, d.detail);
  cr_expect_eq(events_of(&d, "fofal.inventory.lot_unreserved.v1"), 2, "one per lot");
  cr_expect_eq(events_of(&d, "fofal.inventory.pick_cancelled.v1"), 1);
  cr_expect_eq(jint(json_object_get(json_array_get(d.events, 0), "data"), "released_g", -1), 7000, "2 kg + 5 kg freed");
  world_release(&d);
  const json_t *yl1 = world_ref("yarnlot", "YL-1"), *yl2 = world_ref("yarnlot", "YL-2");
  cr_expect_eq(jint(json_object_get(yl1, "reservations"), ORDER_A, 0), 10000, "what A held before the list stays A's");
  cr_expect_null(json_object_get(json_object_get(yl2, "reservations"), ORDER_A), "what the list reserved is free");
  cr_expect_eq(json_object_size(json_object_get(yl1, "picks")), 0, "the list's claim ends");
  world_no("inventory.pick.scan", json_pack("{s:s,s:s}", "pick_id", PICK, "lot", "YL-1"), "pick_closed");
  world_no("inventory.pick.issue", json_pack("{s:s,s:s}", "pick_id", PICK, "beam", "B-1"), "pick_closed");
  world_no("inventory.pick.cancel", json_pack("{s:s,s:s}", "pick_id", PICK, "reason", "again"), "pick_closed");

  /* release false: the order keeps what the list reserved; the claim ends all the same, so
   * a new list of A counts the 3 kg A holds of YL-2 as its own. */
  ok0("inventory.pick.create",
      json_pack("{s:s,s:s,s:[{s:s,s:i}]}", "pick_id", PICK2, "order_id", ORDER_A, "lines", "lot", "YL-2", "weight_g", 3000),
      "pick-2");
  ok0("inventory.pick.cancel", json_pack("{s:s,s:s,s:b}", "pick_id", PICK2, "reason", "wrong beam", "release", 0), "cancel-2");
  yl2 = world_ref("yarnlot", "YL-2");
  cr_expect_eq(jint(json_object_get(yl2, "reservations"), ORDER_A, 0), 3000, "kept for A");
  cr_expect_eq(json_object_size(json_object_get(yl2, "picks")), 0);
  cr_assert_eq(world_decide_at("inventory.pick.create",
                               json_pack("{s:s,s:s,s:[{s:s,s:i}]}", "pick_id", "0192f0a0-0000-7000-8000-0000000000b3",
                                         "order_id", ORDER_A, "lines", "lot", "YL-2", "weight_g", 3000),
                               W_ISSUED, "pick-3", &d),
               0, "%s: %s", d.code, d.detail);
  cr_expect_eq(events_of(&d, "fofal.inventory.lot_reserved.v1"), 0, "A's 3 kg cover the new list");
  world_release(&d);
}

Test(stores, an_issue_that_picked_none_of_a_lot_ends_its_claim) {
  stores();
  ok0("inventory.lot.receive",
      json_pack("{s:s,s:s,s:s,s:i,s:s}", "lot", "YL-2", "item", "YRN-20-WHT", "supplier_lot", "SUP-779", "weight_g", 8000,
                "location", "MP-A"),
      "lot-2");
  ok0("inventory.pick.create",
      json_pack("{s:s,s:s,s:[{s:s,s:i},{s:s,s:i}]}", "pick_id", PICK, "order_id", ORDER_A, "lines", "lot", "YL-1", "weight_g",
                1000, "lot", "YL-2", "weight_g", 2000),
      "pick-1");
  ok0("inventory.pick.scan", json_pack("{s:s,s:s}", "pick_id", PICK, "lot", "YL-1"), "scan-1");
  ok0("inventory.pick.scan", json_pack("{s:s,s:s,s:i}", "pick_id", PICK, "lot", "YL-2", "weight_g", 0), "scan-2");
  fofal_decision_t d;
  cr_assert_eq(world_decide_at("inventory.pick.issue", json_pack("{s:s,s:s}", "pick_id", PICK, "beam", "B-1"), W_ISSUED,
                               "issue-1", &d),
               0, "%s: %s", d.code, d.detail);
  cr_expect_eq(events_of(&d, "fofal.inventory.lot_unreserved.v1"), 1, "YL-2's claim ends, 0 g freed");
  world_release(&d);
  const json_t *yl2 = world_ref("yarnlot", "YL-2");
  cr_expect_eq(json_object_size(json_object_get(yl2, "picks")), 0);
  cr_expect_eq(jint(json_object_get(yl2, "reservations"), ORDER_A, 0), 2000, "the reservation stays the order's");
}

Test(stores, a_pick_list_of_a_lot_quality_rejected_is_refused) {
  stores();
  world_ok("quality.lot.reject", json_pack("{s:s,s:s,s:s}", "lot", "YL-1", "lot_kind", "yarn", "reason", "wet"), "qr-1");
  world_no("inventory.pick.create",
           json_pack("{s:s,s:s,s:[{s:s,s:i}]}", "pick_id", PICK, "order_id", ORDER_A, "lines", "lot", "YL-1", "weight_g", 100),
           "lot_quarantined");
}

/* Cartons of `n` units each at PF-1, as the decider leaves them packed (their units are
 * not looked at by a pallet's rules: only counted). */
static void big_cartons(int ncartons, int n, char ids[][FOFAL_UUID_LEN + 1]) {
  for (int c = 0; c < ncartons; c++) {
    snprintf(ids[c], FOFAL_UUID_LEN + 1, "0192f0a0-0000-7000-8000-0000000b%04d", c);
    json_t *units = json_array();
    for (int u = 0; u < n; u++) {
      char id[FOFAL_UUID_LEN + 1];
      snprintf(id, sizeof id, "0192f0a0-0000-7000-8000-00000%03d%04d", c, u);
      json_array_append_new(units, json_string(id));
    }
    json_object_set_new(world, ids[c],
                        json_pack("{s:s,s:s,s:s,s:I,s:o}", "kind_of", "carton", "carton_id", ids[c], "location", "PF-1",
                                  "pieces", (json_int_t)n, "units", units));
  }
}

Test(stores, a_pallet_holds_at_most_2000_units) {
  stores();
  char ids[5][FOFAL_UUID_LEN + 1];
  big_cartons(5, 401, ids);
  world_no("inventory.pallet.build",
           json_pack("{s:s,s:s,s:[s,s,s,s,s]}", "pallet_id", PALLET, "sscc", SSCC, "cartons", ids[0], ids[1], ids[2], ids[3],
                     ids[4]),
           "pallet_too_large");
  /* Four of them (1,604 units) make a pallet. */
  ok0("inventory.pallet.build",
      json_pack("{s:s,s:s,s:[s,s,s,s]}", "pallet_id", PALLET, "sscc", SSCC, "cartons", ids[0], ids[1], ids[2], ids[3]),
      "pal-big");
}

Test(stores, a_pallet_built_too_large_before_the_cap_does_not_move) {
  stores();
  char ids[5][FOFAL_UUID_LEN + 1];
  big_cartons(5, 401, ids);
  json_object_set_new(world, PALLET,
                      json_pack("{s:s,s:s,s:s,s:[s,s,s,s,s],s:s,s:i}", "kind_of", "pallet", "pallet_id", PALLET, "sscc", SSCC,
                                "cartons", ids[0], ids[1], ids[2], ids[3], ids[4], "location", "PF-1", "pieces", 2005));
  world_no("inventory.container.move", json_pack("{s:s,s:s}", "container_id", PALLET, "to", "QUAR"), "container_too_large");
}
