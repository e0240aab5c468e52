/*
 * subcontracting.c — the subcontracting module's deciders and its registration in the
 * command layer: subcontractors, and dispatches of stock lots out to them for an operation
 * and back.
 *
 *   subcontracting.subcontractor.register   a subcontractor: the operations they do
 *                                           (dyeing, embroidery, hemming, finishing),
 *                                           their site, contact
 *   subcontracting.dispatch.send            lots (stock units by label id) out for an
 *                                           operation, with an expected return date and,
 *                                           optionally, the subcontractor's price
 *                                           (unit_price, minor units of the tenant's
 *                                           currency per unit of the lot)
 *   subcontracting.dispatch.return          per lot: back good, back rejected (with
 *                                           defects), lost; the dispatch closes when
 *                                           everything sent is accounted for
 *
 *   dispatch: open → partly_returned → closed
 *
 * Events go to fofal.subcontracting.events. A subcontractor is named by its code
 * (fofal_aggregate_ref(tenant, "subcontractor", code)), a dispatch by UUID. While a lot
 * is out, a record of this module keyed by the lot (fofal_aggregate_ref(tenant,
 * "subcontracted_lot", label id)) says which dispatch holds it: written with the
 * dispatch (lot_held, fofal_decision_emit_to) and released when the dispatch closes
 * (lot_released), so a lot is never out twice. Who sent or received is the envelope's
 * actor (the token), never a body field.
 *
 * Rules (each has a unit test in tests/unit/subcontracting/):
 *   - a dispatch names a registered subcontractor (unknown_subcontractor) for an
 *     operation they do (operation_not_offered), each lot once (duplicate_lot);
 *   - a lot is dispatched only when it is in stock: an inventory unit of this tenant
 *     (lot_not_in_stock), not in quarantine (lot_in_quarantine: its state's status says
 *     quarantine, or quality rejected it and did not release it), not out with another dispatch (lot_not_in_stock);
 *   - a return names the dispatch's lots once each (unknown_lot, duplicate_lot), accounts
 *     for something (empty_return), never brings a lot's good + rejected + lost beyond what
 *     was sent (return_exceeds_sent), and never repeats a return id (already_returned);
 *   - a closed dispatch changes no more (invalid_transition);
 *   - with a price, a return costs what came back good or rejected (the subcontractor
 *     worked on it; what they lost is not charged): a lot's charged thousandths so far ×
 *     unit_price / 1000, rounded half up, less what its earlier returns cost, so that a
 *     lot's returns add up to the rounding of its whole (fofal__sub_charge); the return's
 *     cost is the sum of its lines'. Without a price, returns carry no cost.
 *
 * Other modules' aggregates. The lots are inventory's units (their label ids), read with
 * fofal_cmd_lookup as inventory reads production's orders: the decider holds every
 * aggregate of a tenant whatever its module (one partition of fofal.commands per tenant,
 * commands/catalog/catalog.c says more). Only the unit's existence and its status are
 * read; a decision writes only this module's aggregates (stock moves of the stores issue
 * will answer these events by reaction).
 *
 * Quantities are integers in thousandths of the lot's unit. Pure functions: the time a
 * decision uses is the command's issued_us.
 */
#include "decide.h"
#include "subcontracting.h"

#include <stdio.h>
#include <string.h>

#define EV(name) "fofal.subcontracting." name ".v1"

json_int_t fofal__sub_charge(json_int_t charged_milli, json_int_t unit_price) {
  __int128 n = (__int128)charged_milli * unit_price;
  return (json_int_t)((n + 500) / 1000);
}
#define HELD_NS "subcontracted_lot"

static void who(const fofal_cmd_t *cmd, json_t *ev, const char *by_key, const char *badge_key) {
  json_object_set_new(ev, by_key, json_string(cmd->actor && *cmd->actor ? cmd->actor : "unknown"));
  if (cmd->actor_badge && fofal_code_valid(cmd->actor_badge))
    json_object_set_new(ev, badge_key, json_string(cmd->actor_badge));
}

static int subcontractor_register(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  json_t *ev = json_pack("{s:s}", "subcontractor", jstr(cmd->data, "subcontractor"));
  static const char *const fields[] = {"name", "operations", "site", "contact", NULL};
  for (int i = 0; fields[i]; i++) jcopy(ev, cmd->data, fields[i]);
  out->state = json_deep_copy(ev);
  fofal_decision_emit(out, EV("subcontractor_registered"), ev);
  return 0;
}

static int offers(const json_t *sub, const char *operation) {
  size_t i;
  const json_t *v;
  json_array_foreach(json_object_get(sub, "operations"), i, v) {
    if (!strcmp(json_string_value(v), operation)) return 1;
  }
  return 0;
}

static int dispatch_send(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const char *code = jstr(cmd->data, "subcontractor"), *op = jstr(cmd->data, "operation");
  const json_t *sub = lookup_ref(cmd, "subcontractor", code, NULL);
  if (!sub) return REJECT(out, "unknown_subcontractor", "subcontractor %s is not registered", code);
  if (!offers(sub, op)) return REJECT(out, "operation_not_offered", "%s does not do %s", code, op);
  const json_t *lots = json_object_get(cmd->data, "lots"), *l, *m;
  size_t i, k;
  json_array_foreach(lots, i, l) {
    const char *label = jstr(l, "label_id");
    json_array_foreach(lots, k, m) {
      if (k < i && !strcmp(jstr(m, "label_id"), label))
        return REJECT(out, "duplicate_lot", "lot %s appears twice", label);
    }
    const json_t *unit = fofal_cmd_lookup(cmd, label);
    /* A stock unit is the aggregate its label id names (inventory.c): its state says so. */
    if (!unit || strcmp(jstr(unit, "label_id"), label))
      return REJECT(out, "lot_not_in_stock", "no stock unit of this tenant has label %s", label);
    /* Quality's rejection (its lot, ns "lot") holds it until released with a derogation. */
    const json_t *q = lookup_ref(cmd, "lot", label, NULL);
    if (strstr(jstr(unit, "status"), "quarantine") || jeq(q, "status", "rejected"))
      return REJECT(out, "lot_in_quarantine", "lot %s is in quarantine", label);
    const json_t *held = lookup_ref(cmd, HELD_NS, label, NULL);
    if (held && jint(held, "held", 0))
      return REJECT(out, "lot_not_in_stock", "lot %s is out with dispatch %s", label, jstr(held, "dispatch_id"));
  }
  char at[32];
  fofal_time_format(cmd->issued_us, at);
  json_t *ev_lots = json_array();
  json_array_foreach(lots, i, l) json_array_append_new(
      ev_lots, json_pack("{s:s,s:I}", "label_id", jstr(l, "label_id"), "quantity_milli", jint(l, "quantity_milli", 0)));
  json_t *held_lots = json_deep_copy(ev_lots);
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:o,s:s}", "dispatch_id", cmd->aggregate, "subcontractor", code, "operation", op,
                         "expected_return", jstr(cmd->data, "expected_return"), "lots", ev_lots, "sent_at", at);
  jcopy(ev, cmd->data, "note");
  jcopy(ev, cmd->data, "unit_price");
  who(cmd, ev, "sent_by", "sender_badge");
  out->state = json_pack("{s:s,s:s,s:s,s:o,s:[]}", "status", "open", "subcontractor", code, "operation", op, "lots",
                         held_lots, "returns");
  if (json_is_integer(json_object_get(cmd->data, "unit_price"))) {
    jcopy(out->state, cmd->data, "unit_price");
    json_object_set_new(out->state, "cost_minor", json_integer(0));
  }
  json_t *h;
  json_array_foreach(held_lots, i, h) {
    json_object_set_new(h, "back_milli", json_integer(0));
    json_object_set_new(h, "charged_milli", json_integer(0));
  }
  fofal_decision_emit(out, EV("dispatch_sent"), ev);
  json_array_foreach(lots, i, l) {
    char id[FOFAL_UUID_LEN + 1];
    fofal_aggregate_ref(cmd->tenant, HELD_NS, jstr(l, "label_id"), id);
    fofal_decision_emit_to(out, id, EV("lot_held"),
                           json_pack("{s:s,s:s,s:s}", "label_id", jstr(l, "label_id"), "dispatch_id", cmd->aggregate,
                                     "subcontractor", code),
                           json_pack("{s:s,s:s,s:i}", "label_id", jstr(l, "label_id"), "dispatch_id", cmd->aggregate, "held", 1));
  }
  return 0;
}

static int dispatch_return(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (jeq(state, "status", "closed"))
    return REJECT(out, "invalid_transition", "dispatch %s is closed: everything sent is accounted for", cmd->aggregate);
  const char *ret = jstr(cmd->data, "return_id");
  size_t i, k;
  const json_t *v, *r;
  json_array_foreach(json_object_get(state, "returns"), i, v) {
    if (!strcmp(json_string_value(v), ret)) return REJECT(out, "already_returned", "return %s was recorded already", ret);
  }
  json_t *lots = json_deep_copy(json_object_get(state, "lots")), *ev_lines = json_array();
  json_int_t counted = 0, cost = 0;
  const json_t *price = json_object_get(state, "unit_price");
  int rc = 0;
  json_array_foreach(json_object_get(cmd->data, "lines"), i, r) {
    const char *label = jstr(r, "label_id");
    json_t *lot = NULL, *c;
    json_array_foreach(lots, k, c) {
      if (!strcmp(jstr(c, "label_id"), label)) lot = c;
    }
    const json_t *m;
    int dup = 0;
    json_array_foreach(json_object_get(cmd->data, "lines"), k, m) dup |= k < i && !strcmp(jstr(m, "label_id"), label);
    if (!lot) {
      rc = REJECT(out, "unknown_lot", "lot %s is not in this dispatch", label);
      break;
    }
    if (dup) {
      rc = REJECT(out, "duplicate_lot", "lot %s appears twice in the return", label);
      break;
    }
    json_int_t good = jint(r, "good_milli", 0), bad = jint(r, "rejected_milli", 0), lost = jint(r, "lost_milli", 0);
    json_int_t back = jint(lot, "back_milli", 0) + good + bad + lost, sent = jint(lot, "quantity_milli", 0);
    if (back > sent) {
      rc = REJECT(out, "return_exceeds_sent", "lot %s: %lld accounted for in all, %lld were sent (thousandths)", label,
                  (long long)back, (long long)sent);
      break;
    }
    counted += good + bad + lost;
    json_object_set_new(lot, "back_milli", json_integer(back));
    json_t *e = json_pack("{s:s,s:I,s:I,s:I,s:I}", "label_id", label, "good_milli", good, "rejected_milli", bad,
                          "lost_milli", lost, "outstanding_milli", sent - back);
    jcopy(e, r, "defects");
    if (json_is_integer(price)) {
      json_int_t before = jint(lot, "charged_milli", 0), after = before + good + bad, p = json_integer_value(price);
      json_int_t line_cost = fofal__sub_charge(after, p) - fofal__sub_charge(before, p);
      json_object_set_new(lot, "charged_milli", json_integer(after));
      json_object_set_new(e, "cost_minor", json_integer(line_cost));
      cost += line_cost;
    }
    json_array_append_new(ev_lines, e);
  }
  if (!rc && !counted) rc = REJECT(out, "empty_return", "a return accounts for something");
  if (rc) {
    json_decref(lots);
    json_decref(ev_lines);
    return rc;
  }
  int all = 1;
  json_array_foreach(lots, i, v) all &= jint(v, "back_milli", 0) >= jint(v, "quantity_milli", 0);
  const char *status = all ? "closed" : "partly_returned";
  char at[32];
  fofal_time_format(cmd->issued_us, at);
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:s}", "dispatch_id", cmd->aggregate, "return_id", ret,
                         "subcontractor", jstr(state, "subcontractor"), "operation", jstr(state, "operation"), "lines",
                         ev_lines, "returned_at", at, "status", status);
  jcopy(ev, cmd->data, "note");
  if (json_is_integer(price)) {
    json_object_set_new(ev, "unit_price", json_integer(json_integer_value(price)));
    json_object_set_new(ev, "cost_minor", json_integer(cost));
  }
  who(cmd, ev, "returned_by", "returner_badge");
  out->state = json_deep_copy(state);
  if (json_is_integer(price))
    json_object_set_new(out->state, "cost_minor", json_integer(jint(state, "cost_minor", 0) + cost));
  json_object_set_new(out->state, "lots", lots);
  json_object_set_new(out->state, "status", json_string(status));
  json_array_append_new(json_object_get(out->state, "returns"), json_string(ret));
  fofal_decision_emit(out, EV("goods_returned"), ev);
  if (all) {
    json_array_foreach(lots, i, v) {
      char id[FOFAL_UUID_LEN + 1];
      fofal_aggregate_ref(cmd->tenant, HELD_NS, jstr(v, "label_id"), id);
      fofal_decision_emit_to(out, id, EV("lot_released"),
                             json_pack("{s:s,s:s}", "label_id", jstr(v, "label_id"), "dispatch_id", cmd->aggregate),
                             json_pack("{s:s,s:s,s:i}", "label_id", jstr(v, "label_id"), "dispatch_id", cmd->aggregate,
                                       "held", 0));
    }
  }
  return 0;
}

static const fofal_command_def_t commands[] = {
    {"subcontracting.subcontractor.register", "subcontractor", 1,
     "Register a subcontractor: the operations they do, their site, contact.", subcontractor_register, "subcontractor"},
    {"subcontracting.dispatch.send", "dispatch_id", 1, "Send stock lots out to a subcontractor for an operation.",
     dispatch_send, NULL},
    {"subcontracting.dispatch.return", "dispatch_id", 0, "Lots back from a subcontractor: good, rejected, lost.",
     dispatch_return, NULL},
};
static const int ncommands = sizeof commands / sizeof commands[0];

static const fofal_command_table_t tables[] = {
    {commands, &ncommands},
    {NULL, NULL},
};

const fofal_command_module_t fofal_module_subcontracting_commands = {.name = "subcontracting", .tables = tables};
