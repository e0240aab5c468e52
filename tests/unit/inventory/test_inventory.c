/*
 * test_inventory.c — commands/inventory/ through the registry and an in-memory tenant
 * (../production/world.h): a declared roll enters stock by the reaction
 * inventory.unit_on_declaration under the label id the declaration assigned, once, only
 * for an order of the tenant; its label is reprinted; a declaration the reaction cannot
 * carry out fails with a reason (fofal-reactor's DLQ record), never silently. Every
 * emitted event is checked against its schema under schemas/inventory/events/.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "decide.h"
#include "jsonschema.h"
#include "projections.h"
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

TestSuite(unit, .init = setup, .fini = teardown);
TestSuite(reaction, .init = setup, .fini = teardown);

static void check_event(const json_t *ev) {
  const char *type = json_string_value(json_object_get(ev, "type"));
  const char prefix[] = "fofal.inventory.";
  cr_assert(type && !strncmp(type, prefix, sizeof prefix - 1), "event type %s", type ? type : "(null)");
  char path[512], err[256];
  snprintf(path, sizeof path, "%s/schemas/inventory/events/%s.json", FOFAL_SOURCE_DIR, type + sizeof prefix - 1);
  json_t *sj = json_load_file(path, 0, NULL);
  cr_assert_not_null(sj, "%s has no schema (%s)", type, path);
  fofal_schema_t *s = NULL;
  cr_assert_eq(fofal_schema_compile(&s, sj, path, err, sizeof err), 0, "%s: %s", path, err);
  json_t *errors = NULL;
  cr_expect_eq(fofal_schema_validate(s, json_object_get(ev, "data"), &errors), 0, "%s does not match its schema", type);
  json_decref(errors);
  fofal_schema_free(s);
  json_decref(sj);
}

/* A started order on L-07 of world_floor(); its id into id. */
static void started_order(char id[FOFAL_UUID_LEN + 1]) {
  json_t *data = json_pack("{s:s,s:i}", "article", "FT-200", "quantity", 100);
  cr_assert_eq(fofal_command_aggregate_id(fofal_registry_find(reg, "production.order.create"), W_TENANT, "order-1", data, id),
               0);
  world_ok("production.order.create", data, "order-1");
  world_ok("production.order.release", json_pack("{s:s}", "order_id", id), "rel-1");
  world_ok("production.order.start", json_pack("{s:s,s:s}", "order_id", id, "loom", "L-07"), "start-1");
}

/* Declares 12 pieces on `order`; the output_declared data (new). */
static json_t *declare(const char *order, const char *cmd_id) {
  fofal_decision_t d;
  cr_assert_eq(world_decide_at("production.order.declare_output",
                               json_pack("{s:s,s:i,s:s}", "order_id", order, "quantity", 12, "weaver", "W-12"), W_ISSUED,
                               cmd_id, &d),
               0, "%s: %s", d.code, d.detail);
  json_t *data = json_incref(json_object_get(json_array_get(d.events, 0), "data"));
  world_release(&d);
  return data;
}

/* Runs the reaction on an output_declared with `data` (borrowed); rc and *res (caller clears). */
static int react(const json_t *data, fofal_reaction_result_t *res) {
  const fofal_reaction_t *r = fofal_reaction_find("inventory.unit_on_declaration");
  cr_assert_not_null(r, "the reaction is registered");
  char id[] = "0192f0a0-0000-7000-8000-00000000e001", type[] = "fofal.production.output_declared.v1", tenant[] = W_TENANT;
  fofal_event_t ev = {.id = id, .type = type, .tenant = tenant, .subject = (char *)jstr(data, "order_id"), .seq = 5,
                      .data = (json_t *)data};
  return fofal_reaction_apply(reg, r, &ev, "fofal.production.events", 0, 42, W_ISSUED, res);
}

/* Decides `type` with data (stolen) as the processor would; the first event's data (new). */
static json_t *accept(const char *type, json_t *data, const char *cmd_id) {
  fofal_decision_t d;
  int rc = world_decide_at(type, data, W_ISSUED, cmd_id, &d);
  cr_assert_eq(rc, 0, "%s rejected: %s: %s", type, d.code, d.detail);
  size_t i;
  json_t *ev;
  json_array_foreach(d.events, i, ev) check_event(ev);
  json_t *first = json_incref(json_object_get(json_array_get(d.events, 0), "data"));
  world_release(&d);
  return first;
}

Test(unit, a_declared_roll_enters_stock_under_its_label_id_and_is_reprinted) {
  world_floor();
  char order[FOFAL_UUID_LEN + 1];
  started_order(order);
  json_t *decl = declare(order, "decl-1");
  const char *label = jstr(decl, "label_id");

  fofal_reaction_result_t res;
  cr_assert_eq(react(decl, &res), FOFAL_REACT_COMMAND, "%s", res.out.reason);
  cr_expect_str_eq(res.cmd.type, "inventory.unit.receive");
  cr_expect_str_eq(res.cmd.aggregate, label, "the unit is the aggregate the label id names");
  cr_expect_str_eq(res.cmd.actor, "r:inventory.unit_on_declaration");
  char again[FOFAL_UUID_LEN + 1];
  fofal_reaction_command_id("inventory.unit_on_declaration", "0192f0a0-0000-7000-8000-00000000e001", again);
  cr_expect_str_eq(res.cmd.id, again, "the command id derives from the trigger: a replay is the same command");

  json_t *ev = accept(res.cmd.type, json_deep_copy(res.out.data), res.cmd.id);
  /* The beam it was woven from (its genealogy): B-1 gave 12 × 2 m and 8 % take-up. */
  const json_t *beam = json_array_get(json_object_get(ev, "beams"), 0);
  cr_expect_str_eq(jstr(beam, "beam"), "B-1");
  cr_expect_float_eq(jnum(beam, "meters", 0), 25.92, 1e-9);
  json_object_del(ev, "beams");
  json_t *want = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:f,s:s,s:s,s:i}", "label_id", label, "order_id", order,
                           "article", "FT-200", "loom", "L-07", "weaver", "W-12", "shift", "2026-11-24/A", "quantity", 12,
                           "length_m", 24.0, "woven_at", "2026-11-24T08:15:02.654321Z", "location", "loom", "prints", 1);
  char *got = json_dumps(ev, JSON_SORT_KEYS | JSON_COMPACT);
  cr_expect(json_equal(ev, want), "unit_received: %s", got);
  free(got);
  json_decref(want);
  json_decref(ev);
  cr_expect_eq(jint(json_object_get(world, label), "prints", 0), 1);

  ev = accept("inventory.label.reprint", json_pack("{s:s,s:s,s:s}", "label_id", label, "reason", "torn", "printer", "ZQ520-3"),
              "rp-1");
  cr_expect_eq(jint(ev, "print_no", 0), 2);
  cr_expect_str_eq(jstr(ev, "printer"), "ZQ520-3");
  json_decref(ev);
  cr_expect_eq(jint(json_object_get(world, label), "prints", 0), 2, "the unit counts its prints");
  fofal_reaction_result_clear(&res);
  json_decref(decl);
}

Test(unit, is_received_once_and_only_for_an_order_of_the_tenant) {
  world_floor();
  char order[FOFAL_UUID_LEN + 1];
  started_order(order);
  json_t *decl = declare(order, "decl-1");
  fofal_reaction_result_t res;
  cr_assert_eq(react(decl, &res), FOFAL_REACT_COMMAND, "%s", res.out.reason);
  json_decref(accept(res.cmd.type, json_deep_copy(res.out.data), res.cmd.id));
  /* The same label again (creates = 1): the processor refuses it, already_exists. */
  cr_expect_eq(world_decide_at(res.cmd.type, json_deep_copy(res.out.data), W_ISSUED, "other", NULL), FOFAL_EEXIST);
  /* A unit of an order the tenant does not have. */
  json_t *orphan = json_deep_copy(res.out.data);
  json_object_set_new(orphan, "label_id", json_string("0192f0a0-0000-7000-8000-0000000000aa"));
  json_object_set_new(orphan, "order_id", json_string("0192f0a0-0000-7000-8000-0000000000bb"));
  world_no(res.cmd.type, orphan, "unknown_order");
  fofal_reaction_result_clear(&res);
  json_decref(decl);
}

Test(reaction, a_declaration_it_cannot_carry_out_fails_with_a_reason) {
  json_t *bad = json_pack("{s:s,s:i,s:s,s:s}", "order_id", "0192f0a0-0000-7000-8000-0000000000bb", "quantity", 3, "weaver",
                          "W-12", "loom", "L-07");
  fofal_reaction_result_t res;
  cr_expect_lt(react(bad, &res), 0, "no label id: no command");
  cr_expect(strstr(res.out.reason, "label"), "the reason says why: %s", res.out.reason);
  fofal_reaction_result_clear(&res);
  json_object_set_new(bad, "label_id", json_string("0192f0a0-0000-7000-8000-0000000000aa"));
  /* No shift: the command does not match its schema (stage transform of the DLQ). */
  cr_expect_eq(react(bad, &res), FOFAL_ESCHEMA);
  cr_expect_neq(res.out.reason[0], '\0');
  fofal_reaction_result_clear(&res);
  json_decref(bad);
}

Test(reaction, only_reprints_are_sent_by_people) {
  const json_t *roles = json_object_get(fofal_registry_schema(reg, "inventory.unit.receive"), "x-fofal-roles");
  cr_expect_eq(json_array_size(roles), 1);
  cr_expect_str_eq(json_string_value(json_array_get(roles, 0)), "admin", "only an admin answers a DLQ'd trigger by hand");
  cr_expect_gt(json_array_size(json_object_get(fofal_registry_schema(reg, "inventory.label.reprint"), "x-fofal-roles")), 1);
}

/* The projection applies every inventory event type there is a schema for. */
Test(reaction, every_inventory_event_has_an_apply_function) {
  const fofal_projection_def_t *def = fofal_projection_find("inventory");
  cr_assert_not_null(def, "the inventory projection is registered");
  DIR *d = opendir(FOFAL_SOURCE_DIR "/schemas/inventory/events");
  cr_assert_not_null(d);
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len < 9 || strcmp(e->d_name + len - 8, ".v1.json")) continue;
    char type[160];
    snprintf(type, sizeof type, "fofal.inventory.%.*s.v1", (int)(len - 8), e->d_name);
    int found = 0;
    for (int i = 0; i < def->napplies; i++) found |= !strcmp(def->applies[i].type, type);
    cr_expect(found, "%s has no apply function", type);
    n++;
  }
  closedir(d);
  cr_expect_geq(n, 25, "unit_received, label_reprinted, the storekeepers' 18 and issue 14's 5 at least");
}
