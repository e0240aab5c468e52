/*
 * test_purchasing.c — commands/purchasing/purchasing.c through the registry and an
 * in-memory tenant (tests/unit/production/world.h).
 *
 * One test per rule: a request's station and person come from the token; approval limits
 * per role and the second approval by another person (never the requester alone above
 * the limit); rejection; an order names a registered supplier, unique lines and approved
 * requests only, which it marks ordered; receipts are exact in thousandths, partial,
 * within the tolerance and never beyond, and move the order's status; a closed or
 * cancelled order changes no more. Every emitted event is checked against its schema
 * under schemas/purchasing/events/.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "decide.h"
#include "jsonschema.h"
#include "../production/world.h"

#define REQ1 "0190a1b2-0000-7000-8000-000000000001"
#define REQ2 "0190a1b2-0000-7000-8000-000000000002"
#define ORD1 "0190a1b2-0000-7000-8000-0000000000a1"
#define RCP1 "0190a1b2-0000-7000-8000-0000000000b1"
#define RCP2 "0190a1b2-0000-7000-8000-0000000000b2"
#define RCP3 "0190a1b2-0000-7000-8000-0000000000b3"

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

TestSuite(request, .init = setup, .fini = teardown);
TestSuite(order, .init = setup, .fini = teardown);
TestSuite(supplier, .init = setup, .fini = teardown);

/* ---------------------------------------------------------------- helpers */

static void check_event(const json_t *ev) {
  const char *type = json_string_value(json_object_get(ev, "type"));
  const char prefix[] = "fofal.purchasing.";
  cr_assert(type && !strncmp(type, prefix, sizeof prefix - 1), "event type %s", type ? type : "(null)");
  char path[512], err[256];
  snprintf(path, sizeof path, "%s/schemas/purchasing/events/%s.json", FOFAL_SOURCE_DIR, type + sizeof prefix - 1);
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

/* Decides, expects acceptance, checks every event (and other aggregates' events) against
 * its schema; returns the first event's data (new reference). */
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

static void ok0(const char *type, json_t *data, const char *cmd_id) { json_decref(ok(type, data, cmd_id)); }

static void no(const char *type, json_t *data, const char *code) {
  fofal_decision_t d;
  int rc = world_decide_at(type, data, W_ISSUED, "cmd-refused", &d);
  cr_assert_eq(rc, FOFAL_EREJECTED, "%s was accepted, want %s", type, code);
  cr_assert_str_eq(d.code, code, "%s: %s (%s), want %s", type, d.code, d.detail, code);
  cr_assert_neq(d.detail[0], '\0', "a rejection says why");
  world_release(&d);
}

static const json_t *state_of(const char *id) { return json_object_get(world, id); }

static const char *s_of(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

/* A request for 2.5 kg (2500 thousandths) at `price` per kg (-1: no estimate), by a cutter. */
static void submit(const char *id, json_int_t price) {
  world_as("u:amel/cutter", "C-01");
  json_t *d = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s}", "request_id", id, "item", "YARN-CO-20", "quantity_milli", 2500,
                        "unit", "kg", "need_by", "2026-12-01", "reason", "cone stock low");
  if (price >= 0) json_object_set_new(d, "estimated_unit_price", json_integer(price));
  ok0("purchasing.request.submit", d, id);
}

static void approve(const char *id, const char *actor, const char *badge) {
  world_as(actor, badge);
  ok0("purchasing.request.approve", json_pack("{s:s}", "request_id", id), "approve");
}

static void supplier(const char *code) {
  world_as("u:tester/manager", NULL);
  ok0("purchasing.supplier.register", json_pack("{s:s,s:s,s:s}", "supplier", code, "name", "Filature du Sahel", "currency",
                                                "TND"),
      code);
}

/* Order ORD1 to F-1: line 1, 100 kg (100000 thousandths) at 12.500 TND (12500 millimes). */
static void order(void) {
  supplier("F-1");
  ok0("purchasing.order.issue",
      json_pack("{s:s,s:s,s:[{s:i,s:s,s:i,s:s,s:i,s:s}]}", "order_id", ORD1, "supplier", "F-1", "lines", "line", 1,
                "item", "YARN-CO-20", "quantity_milli", 100000, "unit", "kg", "unit_price", 12500, "expected_date",
                "2026-12-01"),
      "issue");
}

static json_t *receive(const char *receipt, json_int_t accepted, json_int_t refused) {
  world_as("u:sami/storekeeper_mp", "S-01");
  return ok("purchasing.order.receive",
            json_pack("{s:s,s:s,s:[{s:i,s:I,s:I}]}", "order_id", ORD1, "receipt_id", receipt, "lines", "line", 1,
                      "quantity_milli", accepted, "refused_milli", refused),
            receipt);
}

/* -------------------------------------------------------------- requests */

Test(request, station_and_person_come_from_the_token) {
  world_as("u:karim/mechanic", "M-07");
  json_t *ev = ok("purchasing.request.submit",
                  json_pack("{s:s,s:s,s:i,s:s,s:s,s:s}", "request_id", REQ1, "description", "bearing 6204", "quantity_milli",
                            2000, "unit", "piece", "need_by", "2026-11-30", "reason", "loom L-07 noisy"),
                  "sub");
  cr_expect_str_eq(s_of(ev, "station"), "mechanic");
  cr_expect_str_eq(s_of(ev, "requested_by"), "u:karim/mechanic");
  cr_expect_str_eq(s_of(ev, "requester_badge"), "M-07");
  cr_expect_eq(json_integer_value(json_object_get(ev, "quantity_milli")), 2000, "quantities exact, in thousandths");
  json_decref(ev);
  cr_expect_str_eq(s_of(state_of(REQ1), "status"), "submitted");
}

Test(request, a_spare_part_request_names_an_intervention_that_exists) {
  world_floor();
  world_as("u:karim/mechanic", "M-07");
  const char *iv = "0190a1b2-0000-7000-8000-0000000000c1";
  no("purchasing.request.submit",
     json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:s}", "request_id", REQ1, "description", "belt", "quantity_milli", 1000, "unit",
               "piece", "need_by", "2026-11-30", "reason", "worn", "intervention_id", iv),
     "unknown_intervention");
  /* Another aggregate's id (a purchase request's) is no intervention either. */
  submit(REQ2, 100);
  world_as("u:karim/mechanic", "M-07");
  no("purchasing.request.submit",
     json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:s}", "request_id", REQ1, "description", "belt", "quantity_milli", 1000, "unit",
               "piece", "need_by", "2026-11-30", "reason", "worn", "intervention_id", REQ2),
     "unknown_intervention");
  world_as("u:tester/admin", NULL);
  world_ok("maintenance.intervention.request", json_pack("{s:s,s:s,s:s,s:s}", "intervention_id", iv, "loom", "L-07", "cause",
                                                    "mechanical", "requested_by", "W-12"),
      "iv");
  world_as("u:karim/mechanic", "M-07");
  ok0("purchasing.request.submit",
      json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:s}", "request_id", REQ1, "description", "belt", "quantity_milli", 1000, "unit",
                "piece", "need_by", "2026-11-30", "reason", "worn", "intervention_id", iv),
      "sub");
  cr_expect_str_eq(s_of(state_of(REQ1), "intervention_id"), iv);
}

Test(request, a_manager_approves_alone) {
  submit(REQ1, 9000);
  approve(REQ1, "u:boss/manager", NULL);
  cr_expect_str_eq(s_of(state_of(REQ1), "status"), "approved");
  cr_expect_eq(json_integer_value(json_object_get(state_of(REQ1), "amount")), 22500, "2.5 kg x 9.000 = 22.500 TND");
}

Test(request, above_the_limit_a_second_person_approves) {
  submit(REQ1, 9000);
  /* A planner's default limit is 0: every approval of theirs needs a second. */
  approve(REQ1, "u:pia/planner", NULL);
  cr_expect_str_eq(s_of(state_of(REQ1), "status"), "awaiting_second_approval");
  /* The same person (even under another role) is not a second approval. */
  world_as("u:pia/manager", NULL);
  no("purchasing.request.approve", json_pack("{s:s}", "request_id", REQ1), "same_approver");
  approve(REQ1, "u:boss/manager", NULL);
  cr_expect_str_eq(s_of(state_of(REQ1), "status"), "approved");
  cr_expect_eq(json_array_size(json_object_get(state_of(REQ1), "approvals")), 2);
}

Test(request, the_requester_alone_never_approves_above_the_limit) {
  world_as("u:boss/manager", NULL);
  ok0("purchasing.settings.set",
      json_pack("{s:s,s:{s:i,s:i}}", "settings", "default", "approval_limits", "manager", 20000, "storekeeper_mp", 50000),
      "settings");
  /* A storekeeper asks for 22.500 TND and approves it: within their 50.000 limit. */
  world_as("u:sami/storekeeper_mp", "S-01");
  ok0("purchasing.request.submit",
      json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:i}", "request_id", REQ1, "item", "YARN-CO-20", "quantity_milli", 2500, "unit",
                "kg", "need_by", "2026-12-01", "reason", "low", "estimated_unit_price", 9000),
      "r1");
  approve(REQ1, "u:sami/storekeeper_mp", "S-01");
  cr_expect_str_eq(s_of(state_of(REQ1), "status"), "approved");
  /* A manager asks for the same and approves it: above their 20.000 limit, it waits, and
   * they cannot give the second approval themself. */
  world_as("u:boss/manager", NULL);
  ok0("purchasing.request.submit",
      json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:i}", "request_id", REQ2, "item", "YARN-CO-20", "quantity_milli", 2500, "unit",
                "kg", "need_by", "2026-12-01", "reason", "low", "estimated_unit_price", 9000),
      "r2");
  approve(REQ2, "u:boss/manager", NULL);
  cr_expect_str_eq(s_of(state_of(REQ2), "status"), "awaiting_second_approval");
  no("purchasing.request.approve", json_pack("{s:s}", "request_id", REQ2), "same_approver");
  approve(REQ2, "u:other/admin", NULL);
  cr_expect_str_eq(s_of(state_of(REQ2), "status"), "approved");
}

Test(request, an_approval_needs_a_price) {
  submit(REQ1, -1);
  world_as("u:boss/manager", NULL);
  no("purchasing.request.approve", json_pack("{s:s}", "request_id", REQ1), "estimate_required");
  ok0("purchasing.request.approve", json_pack("{s:s,s:i}", "request_id", REQ1, "estimated_unit_price", 1000), "a");
  cr_expect_eq(json_integer_value(json_object_get(state_of(REQ1), "amount")), 2500);
}

Test(request, rejected_with_a_reason_and_then_final) {
  submit(REQ1, 9000);
  world_as("u:boss/manager", NULL);
  json_t *ev = ok("purchasing.request.reject", json_pack("{s:s,s:s}", "request_id", REQ1, "reason", "stock is enough"), "rj");
  cr_expect_str_eq(s_of(ev, "rejected_by"), "u:boss/manager");
  json_decref(ev);
  no("purchasing.request.approve", json_pack("{s:s}", "request_id", REQ1), "invalid_transition");
  no("purchasing.request.reject", json_pack("{s:s,s:s}", "request_id", REQ1, "reason", "again"), "invalid_transition");
}

/* ---------------------------------------------------------------- orders */

Test(order, merges_approved_requests_only) {
  supplier("F-1");
  submit(REQ1, 9000);
  submit(REQ2, 9000);
  approve(REQ1, "u:boss/manager", NULL);
  world_as("u:boss/manager", NULL);
  const char *lines = "[{\"line\":1,\"item\":\"YARN-CO-20\",\"quantity_milli\":5000,\"unit\":\"kg\",\"unit_price\":8750,"
                      "\"expected_date\":\"2026-12-01\"}]";
  json_t *d = json_pack("{s:s,s:s,s:o,s:[s,s]}", "order_id", ORD1, "supplier", "F-1", "lines", json_loads(lines, 0, NULL),
                        "requests", REQ1, REQ2);
  no("purchasing.order.issue", d, "request_not_approved");
  approve(REQ2, "u:boss/manager", NULL);
  world_as("u:boss/manager", NULL);
  d = json_pack("{s:s,s:s,s:o,s:[s,s]}", "order_id", ORD1, "supplier", "F-1", "lines", json_loads(lines, 0, NULL),
                "requests", REQ1, REQ2);
  json_t *ev = ok("purchasing.order.issue", d, "issue");
  cr_expect_eq(json_integer_value(json_object_get(ev, "total")), 43750, "5 kg x 8.750 = 43.750 TND");
  cr_expect_str_eq(s_of(ev, "currency"), "TND");
  json_decref(ev);
  cr_expect_str_eq(s_of(state_of(REQ1), "status"), "ordered");
  cr_expect_str_eq(s_of(state_of(REQ2), "order_id"), ORD1);
  /* An ordered request is in no second order. */
  d = json_pack("{s:s,s:s,s:o,s:[s]}", "order_id", "0190a1b2-0000-7000-8000-0000000000a2", "supplier", "F-1", "lines",
                json_loads(lines, 0, NULL), "requests", REQ1);
  no("purchasing.order.issue", d, "request_not_approved");
}

Test(order, names_a_registered_supplier_and_unique_lines) {
  world_as("u:boss/manager", NULL);
  const char *l = "{\"line\":1,\"description\":\"oil\",\"quantity_milli\":1000,\"unit\":\"l\",\"unit_price\":100,"
                  "\"expected_date\":\"2026-12-01\"}";
  char lines[512];
  snprintf(lines, sizeof lines, "[%s]", l);
  no("purchasing.order.issue",
     json_pack("{s:s,s:s,s:o}", "order_id", ORD1, "supplier", "F-9", "lines", json_loads(lines, 0, NULL)),
     "unknown_supplier");
  supplier("F-9");
  world_as("u:boss/manager", NULL);
  snprintf(lines, sizeof lines, "[%s,%s]", l, l);
  no("purchasing.order.issue",
     json_pack("{s:s,s:s,s:o}", "order_id", ORD1, "supplier", "F-9", "lines", json_loads(lines, 0, NULL)),
     "duplicate_line");
}

Test(order, receipts_are_exact_partial_then_whole) {
  order();
  json_t *ev = receive(RCP1, 40250, 1500);
  cr_expect_str_eq(s_of(ev, "status"), "partly_received");
  cr_expect_str_eq(s_of(ev, "received_by"), "u:sami/storekeeper_mp");
  cr_expect_str_eq(s_of(ev, "receiver_badge"), "S-01");
  const json_t *l = json_array_get(json_object_get(ev, "lines"), 0);
  cr_expect_eq(json_integer_value(json_object_get(l, "received_total_milli")), 40250);
  cr_expect_eq(json_integer_value(json_object_get(l, "refused_milli")), 1500);
  json_decref(ev);
  ev = receive(RCP2, 59750, 0);
  cr_expect_str_eq(s_of(ev, "status"), "received", "40.250 + 59.750 kg = the 100 kg ordered");
  json_decref(ev);
  const json_t *line = json_array_get(json_object_get(state_of(ORD1), "lines"), 0);
  cr_expect_eq(json_integer_value(json_object_get(line, "received_milli")), 100000);
  cr_expect_eq(json_integer_value(json_object_get(line, "refused_milli")), 1500);
  /* A received order takes no more. */
  no("purchasing.order.receive",
     json_pack("{s:s,s:s,s:[{s:i,s:i}]}", "order_id", ORD1, "receipt_id", RCP3, "lines", "line", 1, "quantity_milli", 1),
     "invalid_transition");
}

Test(order, nothing_is_received_beyond_the_tolerance) {
  order();
  world_as("u:sami/storekeeper_mp", "S-01");
  /* Default tolerance 0 %: one thousandth over is refused. */
  no("purchasing.order.receive",
     json_pack("{s:s,s:s,s:[{s:i,s:i}]}", "order_id", ORD1, "receipt_id", RCP1, "lines", "line", 1, "quantity_milli",
               100001),
     "over_tolerance");
  world_as("u:boss/manager", NULL);
  ok0("purchasing.settings.set", json_pack("{s:s,s:i}", "settings", "default", "over_receipt_tolerance_pct", 5), "tol");
  json_t *ev = receive(RCP1, 60000, 0);
  json_decref(ev);
  world_as("u:sami/storekeeper_mp", "S-01");
  /* 60 + 45.001 kg > 105 kg (100 kg + 5 %). */
  no("purchasing.order.receive",
     json_pack("{s:s,s:s,s:[{s:i,s:i}]}", "order_id", ORD1, "receipt_id", RCP2, "lines", "line", 1, "quantity_milli",
               45001),
     "over_tolerance");
  ev = receive(RCP2, 45000, 0);
  cr_expect_str_eq(s_of(ev, "status"), "received");
  json_decref(ev);
}

Test(order, a_receipt_names_the_orders_lines_once_and_takes_something) {
  order();
  world_as("u:sami/storekeeper_mp", "S-01");
  no("purchasing.order.receive",
     json_pack("{s:s,s:s,s:[{s:i,s:i}]}", "order_id", ORD1, "receipt_id", RCP1, "lines", "line", 2, "quantity_milli", 1),
     "unknown_line");
  no("purchasing.order.receive",
     json_pack("{s:s,s:s,s:[{s:i,s:i},{s:i,s:i}]}", "order_id", ORD1, "receipt_id", RCP1, "lines", "line", 1,
               "quantity_milli", 1, "line", 1, "quantity_milli", 1),
     "duplicate_line");
  no("purchasing.order.receive",
     json_pack("{s:s,s:s,s:[{s:i,s:i}]}", "order_id", ORD1, "receipt_id", RCP1, "lines", "line", 1, "quantity_milli", 0),
     "empty_receipt");
  json_decref(receive(RCP1, 1000, 0));
  no("purchasing.order.receive",
     json_pack("{s:s,s:s,s:[{s:i,s:i}]}", "order_id", ORD1, "receipt_id", RCP1, "lines", "line", 1, "quantity_milli", 1),
     "already_received");
}

Test(order, a_closed_or_cancelled_order_cannot_change) {
  order();
  world_as("u:boss/manager", NULL);
  ok0("purchasing.order.cancel", json_pack("{s:s,s:s}", "order_id", ORD1, "reason", "wrong supplier"), "cancel");
  world_as("u:sami/storekeeper_mp", "S-01");
  no("purchasing.order.receive",
     json_pack("{s:s,s:s,s:[{s:i,s:i}]}", "order_id", ORD1, "receipt_id", RCP1, "lines", "line", 1, "quantity_milli", 1),
     "invalid_transition");
  world_as("u:boss/manager", NULL);
  no("purchasing.order.close", json_pack("{s:s}", "order_id", ORD1), "invalid_transition");
}

Test(order, cancelled_only_before_a_receipt_closed_after) {
  order();
  json_decref(receive(RCP1, 1000, 0));
  world_as("u:boss/manager", NULL);
  no("purchasing.order.cancel", json_pack("{s:s,s:s}", "order_id", ORD1, "reason", "late"), "invalid_transition");
  ok0("purchasing.order.close", json_pack("{s:s,s:s}", "order_id", ORD1, "reason", "the rest will not come"), "close");
  cr_expect_str_eq(s_of(state_of(ORD1), "status"), "closed");
  no("purchasing.order.close", json_pack("{s:s}", "order_id", ORD1), "invalid_transition");
  world_as("u:sami/storekeeper_mp", "S-01");
  no("purchasing.order.receive",
     json_pack("{s:s,s:s,s:[{s:i,s:i}]}", "order_id", ORD1, "receipt_id", RCP2, "lines", "line", 1, "quantity_milli", 1),
     "invalid_transition");
}

/* ------------------------------------------------------------- suppliers */

Test(supplier, update_emits_only_what_changes) {
  supplier("F-1");
  json_t *ev = ok("purchasing.supplier.update", json_pack("{s:s,s:s,s:s}", "supplier", "F-1", "name", "Filature du Sahel",
                                                          "vat_id", "1234567/A"),
                  "u1");
  cr_expect_null(json_object_get(ev, "name"), "the name did not change");
  cr_expect_str_eq(s_of(ev, "vat_id"), "1234567/A");
  json_decref(ev);
  no("purchasing.supplier.update", json_pack("{s:s,s:s}", "supplier", "F-1", "vat_id", "1234567/A"), "no_change");
}

Test(order, an_amendment_keeps_what_was_received) {
  order();
  json_decref(receive(RCP1, 40000, 500));
  world_as("u:boss/manager", NULL);
  const char *l2 = "{\"line\":2,\"description\":\"cones vides\",\"quantity_milli\":10000,\"unit\":\"piece\","
                   "\"unit_price\":200,\"expected_date\":\"2026-12-03\"}";
  char lines[512];
  /* Line 1 dropped, or below its 40 kg received, or in another unit: refused. */
  snprintf(lines, sizeof lines, "[%s]", l2);
  no("purchasing.order.amend", json_pack("{s:s,s:o}", "order_id", ORD1, "lines", json_loads(lines, 0, NULL)),
     "line_has_receipts");
  snprintf(lines, sizeof lines,
           "[{\"line\":1,\"item\":\"YARN-CO-20\",\"quantity_milli\":39999,\"unit\":\"kg\",\"unit_price\":12500,"
           "\"expected_date\":\"2026-12-01\"},%s]",
           l2);
  no("purchasing.order.amend", json_pack("{s:s,s:o}", "order_id", ORD1, "lines", json_loads(lines, 0, NULL)),
     "below_received");
  /* 60 kg instead of 100 at a new price, and a second line. */
  snprintf(lines, sizeof lines,
           "[{\"line\":1,\"item\":\"YARN-CO-20\",\"quantity_milli\":60000,\"unit\":\"kg\",\"unit_price\":12000,"
           "\"expected_date\":\"2026-12-08\"},%s]",
           l2);
  json_t *ev = ok("purchasing.order.amend", json_pack("{s:s,s:o}", "order_id", ORD1, "lines", json_loads(lines, 0, NULL)),
                  "amend");
  cr_expect_eq(json_integer_value(json_object_get(ev, "total")), 720000 + 2000, "60 x 12.000 + 10 x 0.200");
  const json_t *first = json_array_get(json_object_get(ev, "lines"), 0);
  cr_expect_eq(json_integer_value(json_object_get(first, "received_milli")), 40000);
  cr_expect_eq(json_integer_value(json_object_get(first, "refused_milli")), 500);
  cr_expect_str_eq(s_of(ev, "status"), "partly_received");
  json_decref(ev);
  /* Closed: no more amendments. */
  ok0("purchasing.order.close", json_pack("{s:s}", "order_id", ORD1), "close");
  no("purchasing.order.amend", json_pack("{s:s,s:o}", "order_id", ORD1, "lines", json_loads(lines, 0, NULL)),
     "invalid_transition");
}

Test(order, an_order_for_a_project_says_so_on_its_receipts) {
  supplier("F-1");
  json_t *ev = ok("purchasing.order.issue",
                  json_pack("{s:s,s:s,s:s,s:[{s:i,s:s,s:i,s:s,s:i,s:s}]}", "order_id", ORD1, "supplier", "F-1", "project",
                            "INSTALL-L25", "lines", "line", 1, "item", "YARN-CO-20", "quantity_milli", 100000, "unit",
                            "kg", "unit_price", 12500, "expected_date", "2026-12-01"),
                  "issue");
  cr_expect_str_eq(s_of(ev, "project"), "INSTALL-L25");
  json_decref(ev);
  ev = receive(RCP1, 40000, 0);
  cr_expect_str_eq(s_of(ev, "project"), "INSTALL-L25", "module projects books it by reaction");
  cr_expect_str_eq(s_of(ev, "currency"), "TND", "in the order's currency");
  json_decref(ev);
}

Test(order, an_order_for_no_project_names_none) {
  order();
  json_t *ev = receive(RCP2, 40000, 0);
  cr_expect_null(json_object_get(ev, "project"));
  cr_expect_null(json_object_get(ev, "currency"), "the receipt's event is as it was");
  json_decref(ev);
}
