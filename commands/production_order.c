/*
 * production_order.c — the production order (OF, ordre de fabrication) aggregate.
 *
 * Lifecycle: created → released → started → completed, and cancelled from any state
 * before completion. Output is declared only on a started order, in positive bounded
 * quantities, never beyond the ordered quantity plus the overproduction tolerance. Each
 * declaration gets a label id derived from its command id, so deciding again (after an
 * aborted transaction) yields the same label.
 *
 * Pure functions: state in, events and new state out. State shape:
 *   {"status", "article", "quantity", "unit", "due_date", "loom", "declared"}
 */
#include "commands.h"

#include <string.h>

#define OVERPRODUCTION_PCT 10  /* mills accept up to 10 % over the ordered quantity */

static const char *status(const json_t *state) {
  return state ? json_string_value(json_object_get(state, "status")) : NULL;
}

static json_t *base_event(const fofal_cmd_t *cmd) {
  return json_pack("{s:s}", "order_id", cmd->aggregate);
}

static json_t *with_status(const json_t *state, const char *st) {
  json_t *s = json_deep_copy(state);
  json_object_set_new(s, "status", json_string(st));
  return s;
}

static int create(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const json_t *d = cmd->data;
  json_t *ev = base_event(cmd);
  json_object_set(ev, "article", json_object_get(d, "article"));
  json_object_set(ev, "quantity", json_object_get(d, "quantity"));
  json_object_set_new(ev, "unit", json_string(json_object_get(d, "unit") ? json_string_value(json_object_get(d, "unit")) : "pieces"));
  if (json_object_get(d, "due_date")) json_object_set(ev, "due_date", json_object_get(d, "due_date"));
  if (json_object_get(d, "loom")) json_object_set(ev, "loom", json_object_get(d, "loom"));
  out->state = json_pack("{s:s,s:O,s:O,s:O,s:O*,s:O*,s:i}", "status", "created", "article",
                         json_object_get(ev, "article"), "quantity", json_object_get(ev, "quantity"), "unit",
                         json_object_get(ev, "unit"), "due_date", json_object_get(ev, "due_date"), "loom",
                         json_object_get(ev, "loom"), "declared", 0);
  fofal_decision_emit(out, "fofal.production.order_created.v1", ev);
  return 0;
}

static int release(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (strcmp(status(state), "created")) {
    fofal_decision_reject(out, "invalid_transition", "an order can be released only when created (it is %s)", status(state));
    return FOFAL_EREJECTED;
  }
  out->state = with_status(state, "released");
  fofal_decision_emit(out, "fofal.production.order_released.v1", base_event(cmd));
  return 0;
}

static int start(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (strcmp(status(state), "released")) {
    fofal_decision_reject(out, "invalid_transition", "an order can be started only when released (it is %s)", status(state));
    return FOFAL_EREJECTED;
  }
  const json_t *loom = json_object_get(cmd->data, "loom");
  if (!loom) loom = json_object_get(state, "loom");
  if (!json_is_string(loom)) {
    fofal_decision_reject(out, "loom_required", "an order is started on a loom: give \"loom\"");
    return FOFAL_EREJECTED;
  }
  out->state = with_status(state, "started");
  json_object_set(out->state, "loom", (json_t *)loom);
  json_t *ev = base_event(cmd);
  json_object_set(ev, "loom", (json_t *)loom);
  fofal_decision_emit(out, "fofal.production.order_started.v1", ev);
  return 0;
}

static int declare_output(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (strcmp(status(state), "started")) {
    fofal_decision_reject(out, "order_not_started", "output is declared only on a started order (it is %s)", status(state));
    return FOFAL_EREJECTED;
  }
  json_int_t q = json_integer_value(json_object_get(cmd->data, "quantity"));
  json_int_t declared = json_integer_value(json_object_get(state, "declared"));
  json_int_t ordered = json_integer_value(json_object_get(state, "quantity"));
  json_int_t cap = ordered + ordered * OVERPRODUCTION_PCT / 100;
  if (q <= 0) {
    fofal_decision_reject(out, "quantity_not_positive", "a declared quantity must be positive");
    return FOFAL_EREJECTED;
  }
  if (declared + q > cap) {
    fofal_decision_reject(out, "over_ordered_quantity",
                          "declaring %lld would bring the order to %lld, above %lld (ordered %lld + %d %%)",
                          (long long)q, (long long)(declared + q), (long long)cap, (long long)ordered, OVERPRODUCTION_PCT);
    return FOFAL_EREJECTED;
  }
  char label[FOFAL_UUID_LEN + 1];
  fofal_uuid_named(cmd->aggregate, cmd->id, label);
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "declared", json_integer(declared + q));
  json_t *ev = base_event(cmd);
  json_object_set_new(ev, "label_id", json_string(label));
  json_object_set_new(ev, "quantity", json_integer(q));
  json_object_set(ev, "weaver", json_object_get(cmd->data, "weaver"));
  json_object_set(ev, "loom", json_object_get(state, "loom"));
  if (json_object_get(cmd->data, "shift")) json_object_set(ev, "shift", json_object_get(cmd->data, "shift"));
  json_object_set_new(ev, "declared_total", json_integer(declared + q));
  fofal_decision_emit(out, "fofal.production.output_declared.v1", ev);
  return 0;
}

static int complete(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (strcmp(status(state), "started")) {
    fofal_decision_reject(out, "invalid_transition", "an order can be completed only when started (it is %s)", status(state));
    return FOFAL_EREJECTED;
  }
  out->state = with_status(state, "completed");
  json_t *ev = base_event(cmd);
  json_object_set(ev, "declared_total", json_object_get(state, "declared"));
  if (json_is_string(json_object_get(state, "loom"))) json_object_set(ev, "loom", json_object_get(state, "loom"));
  fofal_decision_emit(out, "fofal.production.order_completed.v1", ev);
  return 0;
}

static int cancel(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const char *st = status(state);
  if (!strcmp(st, "completed") || !strcmp(st, "cancelled")) {
    fofal_decision_reject(out, "invalid_transition", "a %s order cannot be cancelled", st);
    return FOFAL_EREJECTED;
  }
  out->state = with_status(state, "cancelled");
  json_t *ev = base_event(cmd);
  json_object_set(ev, "reason", json_object_get(cmd->data, "reason"));
  if (json_is_string(json_object_get(state, "loom"))) json_object_set(ev, "loom", json_object_get(state, "loom"));
  fofal_decision_emit(out, "fofal.production.order_cancelled.v1", ev);
  return 0;
}

const fofal_command_def_t fofal_production_commands[] = {
    {"production.order.create", "order_id", 1, "Create a production order (OF) for an article.", create},
    {"production.order.release", "order_id", 0, "Release a created order to the shop floor.", release},
    {"production.order.start", "order_id", 0, "Start a released order on a loom.", start},
    {"production.order.declare_output", "order_id", 0, "Declare woven output (a roll or pieces) on a started order.", declare_output},
    {"production.order.complete", "order_id", 0, "Complete a started order.", complete},
    {"production.order.cancel", "order_id", 0, "Cancel an order that is not completed.", cancel},
};
const int fofal_production_commands_n = sizeof fofal_production_commands / sizeof fofal_production_commands[0];
