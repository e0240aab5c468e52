/*
 * flows.c — private to commands/inventory/: the deciders of the commands inventory sends
 * itself by reaction to other modules' events (reactions.c), and the tenant's stores
 * settings they need. Each is one decision: everything it moves is written atomically,
 * the holdings' events with the locations' stock_changed (stores.c's ledger).
 *
 *   inventory.settings.set        the tenant's receiving location (a raw store: purchase
 *                                 receipts' yarn lots enter it) and quarantine location
 *                                 (quality's rejected lots go there)
 *   inventory.unit.cut            quality's roll_cut: the roll leaves stock (unit_cut) and
 *                                 its graded piece lots enter it at the roll's location
 *                                 under their follow-up label ids (unit_derived, from the
 *                                 roll: the genealogy leads back to it); waste leaves
 *   inventory.unit.quarantine     quality's lot_rejected of a roll or piece lot: to the
 *   inventory.lot.quarantine      quarantine location (a yarn lot likewise)
 *   inventory.receipt.stock       purchasing's goods_received: each accepted line of a
 *                                 catalog yarn (kg or g) becomes a yarn lot in the
 *                                 receiving location, code RC-<receipt>-<line>
 *   inventory.subcontract.out     subcontracting's dispatch_sent: the units go to the
 *                                 subcontractor's site, an inventory location of kind
 *                                 subcontractor whose code is the subcontractor's (defined
 *                                 by this decision the first time)
 *   inventory.subcontract.back    subcontracting's goods_returned: lost pieces leave
 *                                 (unit_reduced, reason lost), rejected ones go to
 *                                 quarantine, good ones back where the unit came from; a
 *                                 unit partly returned is split (unit_derived from it), so
 *                                 every piece keeps its genealogy across the subcontractor
 *
 * Aggregates: the settings ("inventory_settings", "default"); a receipt's stocking
 * ("stock_receipt", receipt id), a dispatch's moves ("subcontract", dispatch id) and a
 * return's ("subcontract_return", return id): created once, so a trigger answered twice
 * is already_exists besides the reaction's derived command id.
 *
 * Rules (tests/unit/inventory/test_flows.c): a cut names a unit (unknown_unit) not cut
 * already (already_cut), not packed (unit_in_carton), into no more than it holds
 * (exceeds_unit), under new label ids (label_taken); quarantine needs the tenant's
 * quarantine location (no_quarantine_location) and a holding in stock (not_in_stock;
 * both mean the reaction does not apply: the lot stays where it is and quality's
 * rejection still keeps it from being packed, cut, issued or dispatched); a receipt
 * needs the receiving location (no_receiving_location), a raw one
 * (location_kind_mismatch), and stocks only catalog yarns (the other lines are listed as
 * skipped; none at all: nothing_to_stock); a subcontractor's code naming a location of
 * another kind is location_kind_mismatch; a return names a dispatch moved out
 * (unknown_dispatch), units it sent (unknown_unit) and never more than a unit holds at
 * the subcontractor (exceeds_unit).
 *
 * Pure functions: no I/O, no clock.
 */
#include "decide.h"
#include "inventory.h"

#include <stdio.h>

#define EV(name) "fofal.inventory." name ".v1"
#define SETTINGS_NS "inventory_settings"

/* The tenant's stores settings (borrowed) or NULL. */
static const json_t *settings(const fofal_cmd_t *cmd) { return lookup_ref(cmd, SETTINGS_NS, "default", NULL); }

/* The location the settings name under `key` (borrowed), its id into id; NULL if none. */
static const json_t *set_location(const fofal_cmd_t *cmd, const char *key, char id[FOFAL_UUID_LEN + 1]) {
  const json_t *loc = lookup_ref(cmd, "location", jstr(settings(cmd), key), id);
  return loc && jeq(loc, "kind_of", "location") ? loc : NULL;
}

/* ------------------------------------------------------------ settings */

static int settings_set(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  static const struct {
    const char *key, *kind;
  } roles[] = {{"receiving_location", "raw"}, {"quarantine_location", "quarantine"}};
  json_t *ev = json_pack("{s:s}", "settings", "default");
  for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
    const char *code = jstr(cmd->data, roles[i].key);
    if (!*code) continue;
    const json_t *loc = lookup_ref(cmd, "location", code, NULL);
    if (!loc || !jeq(loc, "kind_of", "location")) {
      json_decref(ev);
      return REJECT(out, "unknown_location", "location %s does not exist", code);
    }
    if (!jeq(loc, "kind", roles[i].kind)) {
      json_decref(ev);
      return REJECT(out, "location_kind_mismatch", "the %s is a %s location; %s is %s", roles[i].key, roles[i].kind, code,
                    jstr(loc, "kind"));
    }
    json_object_set_new(ev, roles[i].key, json_string(code));
  }
  if (json_object_size(ev) == 1) {
    json_decref(ev);
    return REJECT(out, "no_change", "name a receiving_location or a quarantine_location");
  }
  out->state = state ? json_deep_copy(state) : json_object();
  json_object_update(out->state, ev);
  fofal_decision_emit(out, EV("settings_set"), ev);
  return 0;
}

/* ------------------------------------------------------------ units */

/* What a unit derived from `parent` keeps of it (its origin: the genealogy). */
static const char *const inherited[] = {"order_id", "article", "loom", "weaver", "shift", "beams", "woven_at", NULL};

/* A unit of `pieces` derived from `parent` (state) under `label`, at the parent's location
 * or at (loc, loc_id) when loc is given: its unit_derived event and state, and the ledger. */
static void derive_unit(const fofal_cmd_t *cmd, fofal_decision_t *out, json_t *work, const json_t *parent,
                        const char *parent_label, const char *label, json_int_t pieces, const char *cause,
                        const char *grade, const char *loc, const char *loc_id, const char *at) {
  if (!loc) {
    loc = jstr(parent, "location");
    loc_id = jstr(parent, "location_id");
  }
  json_t *ev = json_pack("{s:s,s:s,s:s,s:I,s:s,s:s}", "label_id", label, "from_label", parent_label, "cause", cause,
                         "quantity", pieces, "location", *loc ? loc : "loom", "occurred_at", at);
  for (int i = 0; inherited[i]; i++) jcopy(ev, parent, inherited[i]);
  if (grade) json_object_set_new(ev, "grade", json_string(grade));
  json_t *st = json_deep_copy(ev);
  json_object_del(st, "cause");
  json_object_del(st, "occurred_at");
  json_object_set_new(st, "prints", json_integer(1));
  if (*loc_id) json_object_set_new(st, "location_id", json_string(loc_id));
  fofal_decision_emit_to(out, label, EV("unit_derived"), ev, st);
  fofal__inventory_ledger_change(work, cmd, out, loc_id, label, label, "unit", jstr(parent, "article"), pieces,
                                 !strcmp(cause, "cut") ? "cut" : "moved_in", at);
}

static int unit_cut(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  char at[32];
  if (fofal__inventory_occurred(cmd, out, at)) return FOFAL_EREJECTED;
  const char *roll = cmd->aggregate;
  if (strcmp(fofal__inventory_holding_kind(state), "unit")) return REJECT(out, "unknown_unit", "%s is not a unit in stock", roll);
  if (jeq(state, "status", "cut")) return REJECT(out, "already_cut", "unit %s was cut already", roll);
  if (*jstr(state, "carton_id"))
    return REJECT(out, "unit_in_carton", "unit %s is packed in carton %s: unpack it to cut it", roll, jstr(state, "carton_id"));
  const json_t *lots = json_object_get(cmd->data, "lots"), *l;
  json_int_t had = jint(state, "quantity", 0), pieces = jint(cmd->data, "waste_pieces", 0);
  size_t i;
  json_array_foreach(lots, i, l) {
    const char *label = jstr(l, "label_id");
    if (!strcmp(label, roll) || fofal_cmd_lookup(cmd, label))
      return REJECT(out, "label_taken", "label %s names something already", label);
    pieces += jint(l, "pieces", 0);
  }
  if (pieces > had)
    return REJECT(out, "exceeds_unit", "%lld pieces cut from a unit of %lld", (long long)pieces, (long long)had);
  json_t *ev = json_pack("{s:s,s:s,s:I,s:O,s:I,s:s}", "label_id", roll, "location", jstr(state, "location"), "quantity", had,
                         "lots", lots, "waste_pieces", jint(cmd->data, "waste_pieces", 0), "occurred_at", at);
  jcopy(ev, state, "article");
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "quantity", json_integer(0));
  json_object_set_new(out->state, "status", json_string("cut"));
  json_object_set_new(out->state, "cut_into", json_deep_copy(lots));
  fofal_decision_emit(out, EV("unit_cut"), ev);
  json_t *work = json_object();
  fofal__inventory_ledger_change(work, cmd, out, jstr(state, "location_id"), roll, roll, "unit", jstr(state, "article"), -had,
                                 "cut", at);
  json_array_foreach(lots, i, l) {
    derive_unit(cmd, out, work, state, roll, jstr(l, "label_id"), jint(l, "pieces", 0), "cut", jstr(l, "grade"), NULL, NULL,
                at);
  }
  json_decref(work);
  return 0;
}

/* Moves a unit (state, id) to (to, to_id) with unit_moved and the ledger; new state into *st. */
static void move_unit(const fofal_cmd_t *cmd, fofal_decision_t *out, json_t *work, const char *label, const json_t *state,
                      const char *to, const char *to_id, const char *at, int own, json_t *extra) {
  json_int_t q = jint(state, "quantity", 0);
  json_t *ev = json_pack("{s:s,s:s,s:s,s:I,s:s}", "label_id", label, "from", *jstr(state, "location") ? jstr(state, "location")
                                                                                                        : "loom",
                         "to", to, "quantity", q, "occurred_at", at);
  jcopy(ev, state, "article");
  json_t *st = json_deep_copy(state);
  json_object_set_new(st, "location", json_string(to));
  if (*to_id) json_object_set_new(st, "location_id", json_string(to_id));
  else json_object_del(st, "location_id");
  if (extra) json_object_update(st, extra);
  json_decref(extra);
  if (own) {
    out->state = st;
    fofal_decision_emit(out, EV("unit_moved"), ev);
  } else {
    fofal_decision_emit_to(out, label, EV("unit_moved"), ev, st);
  }
  const char *article = jstr(state, "article");
  fofal__inventory_ledger_change(work, cmd, out, jstr(state, "location_id"), label, label, "unit", article, -q, "moved_out", at);
  fofal__inventory_ledger_change(work, cmd, out, to_id, label, label, "unit", article, q, "moved_in", at);
}

static int unit_quarantine(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  char at[32], qid[FOFAL_UUID_LEN + 1];
  if (fofal__inventory_occurred(cmd, out, at)) return FOFAL_EREJECTED;
  if (strcmp(fofal__inventory_holding_kind(state), "unit") || jint(state, "quantity", 0) <= 0)
    return REJECT(out, "not_in_stock", "no unit in stock has label %s", cmd->aggregate);
  const json_t *q = set_location(cmd, "quarantine_location", qid);
  if (!q)
    return REJECT(out, "no_quarantine_location", "the tenant names no quarantine location (inventory.settings.set): "
                                                 "unit %s stays at %s", cmd->aggregate, jstr(state, "location"));
  if (!strcmp(jstr(state, "location_id"), qid))
    return REJECT(out, "no_change", "unit %s is in quarantine already", cmd->aggregate);
  if (*jstr(state, "carton_id"))
    return REJECT(out, "unit_in_carton", "unit %s is packed in carton %s: it moves with its carton", cmd->aggregate,
                  jstr(state, "carton_id"));
  json_t *work = json_object();
  move_unit(cmd, out, work, cmd->aggregate, state, jstr(q, "location"), qid, at, 1, NULL);
  json_decref(work);
  return 0;
}

static int lot_quarantine(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  char at[32], qid[FOFAL_UUID_LEN + 1];
  if (fofal__inventory_occurred(cmd, out, at)) return FOFAL_EREJECTED;
  if (strcmp(fofal__inventory_holding_kind(state), "lot") || jint(state, "weight_g", 0) <= 0)
    return REJECT(out, "not_in_stock", "no yarn lot in stock has code %s", jstr(cmd->data, "lot"));
  const json_t *q = set_location(cmd, "quarantine_location", qid);
  if (!q)
    return REJECT(out, "no_quarantine_location", "the tenant names no quarantine location (inventory.settings.set): "
                                                 "lot %s stays at %s", jstr(state, "lot"), jstr(state, "location"));
  if (!strcmp(jstr(state, "location_id"), qid))
    return REJECT(out, "no_change", "lot %s is in quarantine already", jstr(state, "lot"));
  json_int_t g = jint(state, "weight_g", 0);
  const char *lot = jstr(state, "lot"), *item = jstr(state, "item");
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "location", json_string(jstr(q, "location")));
  json_object_set_new(out->state, "location_id", json_string(qid));
  fofal_decision_emit(out, EV("lot_moved"), json_pack("{s:s,s:s,s:s,s:I,s:s}", "lot", lot, "from", jstr(state, "location"), "to",
                                                      jstr(q, "location"), "weight_g", g, "occurred_at", at));
  json_t *work = json_object();
  fofal__inventory_ledger_change(work, cmd, out, jstr(state, "location_id"), cmd->aggregate, lot, "lot", item, -g,
                                 "moved_out", at);
  fofal__inventory_ledger_change(work, cmd, out, qid, cmd->aggregate, lot, "lot", item, g, "moved_in", at);
  json_decref(work);
  return 0;
}

/* ------------------------------------------------------------ receipts */

/* The yarn lot code of a receipt's line: RC-<the receipt's first 12 hex digits>-<line>. */
static void receipt_lot_code(const char *receipt, json_int_t line, char code[40]) {
  char hex[13];
  int n = 0;
  for (const char *p = receipt; *p && n < 12; p++)
    if (*p != '-') hex[n++] = *p;
  hex[n] = '\0';
  snprintf(code, 40, "RC-%s-%lld", hex, (long long)line);
}

static int receipt_stock(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  char at[32], loc_id[FOFAL_UUID_LEN + 1];
  if (fofal__inventory_occurred(cmd, out, at)) return FOFAL_EREJECTED;
  const json_t *loc = set_location(cmd, "receiving_location", loc_id);
  if (!loc)
    return REJECT(out, "no_receiving_location", "the tenant names no receiving location (inventory.settings.set): the "
                                                "receipt's yarn cannot enter stock");
  if (!fofal__inventory_kind_fits("lot", jstr(loc, "kind")))
    return REJECT(out, "location_kind_mismatch", "yarn is not received into %s (a %s location)", jstr(loc, "location"),
                  jstr(loc, "kind"));
  const char *receipt = jstr(cmd->data, "receipt_id"), *order = jstr(cmd->data, "order_id");
  json_t *lots = json_array(), *skipped = json_array(), *work = json_object();
  json_t *pending = json_array(); /* [lot id, event, state] of each lot, emitted once all are checked */
  size_t i;
  const json_t *l;
  int rc = 0;
  json_array_foreach(json_object_get(cmd->data, "lines"), i, l) {
    json_int_t line = jint(l, "line", 0), grams = jint(l, "weight_g", 0);
    const char *item = jstr(l, "item");
    const json_t *it = lookup_ref(cmd, "item", item, NULL);
    if (!it || !jeq(it, "kind", "yarn")) {
      json_array_append_new(skipped, json_pack("{s:I,s:s,s:s}", "line", line, "item", item, "why",
                                               it ? "not a yarn" : "not in the catalog"));
      continue;
    }
    char code[40], lot_id[FOFAL_UUID_LEN + 1];
    receipt_lot_code(receipt, line, code);
    if (lookup_ref(cmd, "yarnlot", code, lot_id)) {
      rc = REJECT(out, "already_exists", "yarn lot %s exists already", code);
      break;
    }
    json_t *ev = json_pack("{s:s,s:s,s:s,s:I,s:s,s:s,s:s}", "lot", code, "item", item, "supplier_lot",
                           *jstr(l, "supplier_lot") ? jstr(l, "supplier_lot") : "unknown", "weight_g", grams, "location",
                           jstr(loc, "location"), "purchase_order", order, "occurred_at", at);
    json_t *st = json_deep_copy(ev);
    json_object_set_new(st, "kind_of", json_string("lot"));
    json_object_set_new(st, "location_id", json_string(loc_id));
    json_object_set_new(st, "received_g", json_integer(grams));
    json_object_set_new(st, "receipt_id", json_string(receipt));
    json_array_append_new(pending, json_pack("[s,o,o]", lot_id, ev, st));
    json_array_append_new(lots, json_pack("{s:s,s:I,s:s,s:I}", "lot", code, "line", line, "item", item, "weight_g", grams));
  }
  if (!rc && !json_array_size(lots))
    rc = REJECT(out, "nothing_to_stock", "receipt %s accepted no catalog yarn: nothing enters stock", receipt);
  if (rc) {
    json_decref(lots);
    json_decref(skipped);
    json_decref(work);
    json_decref(pending);
    return rc;
  }
  json_t *ev = json_pack("{s:s,s:s,s:s,s:o,s:o,s:s}", "receipt_id", receipt, "order_id", order, "location",
                         jstr(loc, "location"), "lots", lots, "skipped", skipped, "occurred_at", at);
  jcopy(ev, cmd->data, "supplier");
  out->state = json_pack("{s:s,s:s,s:O}", "receipt_id", receipt, "order_id", order, "lots", lots);
  fofal_decision_emit(out, EV("stock_received"), ev);
  json_array_foreach(pending, i, l) {
    const char *lot_id = json_string_value(json_array_get(l, 0));
    const json_t *lev = json_array_get(l, 1);
    fofal_decision_emit_to(out, lot_id, EV("lot_received"), json_deep_copy(lev), json_deep_copy(json_array_get(l, 2)));
    fofal__inventory_ledger_change(work, cmd, out, loc_id, lot_id, jstr(lev, "lot"), "lot", jstr(lev, "item"),
                                   jint(lev, "weight_g", 0), "received", at);
  }
  json_decref(pending);
  json_decref(work);
  return 0;
}

/* ------------------------------------------------------------ subcontracting */

/* The subcontractor's site: the location of its code, kind subcontractor, defined here the
 * first time (location_defined, and seeded into work for the ledger). NULL: rejected. */
static const char *site_of(const fofal_cmd_t *cmd, fofal_decision_t *out, json_t *work, const char *sub,
                           char id[FOFAL_UUID_LEN + 1]) {
  const json_t *loc = lookup_ref(cmd, "location", sub, id);
  if (loc && !jeq(loc, "kind_of", "location")) loc = NULL;
  if (loc && !jeq(loc, "kind", "subcontractor")) {
    fofal_decision_reject(out, "location_kind_mismatch", "location %s is a %s location, not the subcontractor's site", sub,
                          jstr(loc, "kind"));
    return NULL;
  }
  if (!loc) {
    char name[96];
    snprintf(name, sizeof name, "subcontractor %s", sub);
    json_t *ev = json_pack("{s:s,s:s,s:s}", "location", sub, "kind", "subcontractor", "name", name);
    json_t *st = json_deep_copy(ev);
    json_object_set_new(st, "kind_of", json_string("location"));
    json_object_set_new(st, "contents", json_object());
    json_object_set(work, id, st);
    fofal_decision_emit_to(out, id, EV("location_defined"), ev, st);
  }
  return sub;
}

static int subcontract_out(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  char at[32], site_id[FOFAL_UUID_LEN + 1];
  if (fofal__inventory_occurred(cmd, out, at)) return FOFAL_EREJECTED;
  const json_t *units = json_object_get(cmd->data, "units"), *u;
  size_t i;
  json_array_foreach(units, i, u) {
    const char *label = json_string_value(u);
    const json_t *s = fofal_cmd_lookup(cmd, label);
    if (!s || strcmp(fofal__inventory_holding_kind(s), "unit") || jint(s, "quantity", 0) <= 0)
      return REJECT(out, "unknown_unit", "no unit in stock has label %s", label);
    if (*jstr(s, "carton_id"))
      return REJECT(out, "unit_in_carton", "unit %s is packed in carton %s", label, jstr(s, "carton_id"));
  }
  json_t *work = json_object();
  const char *sub = jstr(cmd->data, "subcontractor");
  if (!site_of(cmd, out, work, sub, site_id)) {
    json_decref(work);
    return FOFAL_EREJECTED;
  }
  json_t *moved = json_array(), *from = json_object();
  json_array_foreach(units, i, u) {
    const char *label = json_string_value(u);
    const json_t *s = fofal_cmd_lookup(cmd, label);
    const char *loc = *jstr(s, "location") ? jstr(s, "location") : "loom";
    json_array_append_new(moved, json_pack("{s:s,s:I,s:s}", "label_id", label, "quantity", jint(s, "quantity", 0), "from", loc));
    json_object_set_new(from, label, json_pack("{s:s,s:s}", "location", loc, "location_id", jstr(s, "location_id")));
    move_unit(cmd, out, work, label, s, sub, site_id, at, 0,
              json_pack("{s:s}", "dispatch_id", jstr(cmd->data, "dispatch_id")));
  }
  json_decref(work);
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:o,s:s}", "dispatch_id", jstr(cmd->data, "dispatch_id"), "direction", "out",
                         "subcontractor", sub, "location", sub, "units", moved, "occurred_at", at);
  out->state = json_pack("{s:s,s:s,s:s,s:o}", "dispatch_id", jstr(cmd->data, "dispatch_id"), "subcontractor", sub,
                         "location_id", site_id, "from", from);
  fofal_decision_emit(out, EV("stock_subcontracted"), ev);
  return 0;
}

/* The unit's state as this decision left it (work_units: label → state) or as it is. */
static const json_t *unit_now(const fofal_cmd_t *cmd, json_t *work_units, const char *label) {
  const json_t *s = json_object_get(work_units, label);
  return s ? s : fofal_cmd_lookup(cmd, label);
}

/* Reduces a unit at the subcontractor by n pieces (lost, or split off), unit_reduced. */
static void reduce_unit(const fofal_cmd_t *cmd, fofal_decision_t *out, json_t *work, json_t *work_units, const char *label,
                        json_int_t n, const char *reason, const char *note, const char *at) {
  const json_t *s = unit_now(cmd, work_units, label);
  json_int_t left = jint(s, "quantity", 0) - n;
  json_t *st = json_deep_copy(s);
  json_object_set_new(st, "quantity", json_integer(left));
  json_t *ev = json_pack("{s:s,s:s,s:I,s:I,s:s,s:s}", "label_id", label, "location", jstr(s, "location"), "quantity", n,
                         "remaining", left, "reason", reason, "occurred_at", at);
  if (note) json_object_set_new(ev, "note", json_string(note));
  fofal__inventory_ledger_change(work, cmd, out, jstr(s, "location_id"), label, label, "unit", jstr(s, "article"), -n,
                                 !strcmp(reason, "lost") ? "lost" : "moved_out", at);
  fofal_decision_emit_to(out, label, EV("unit_reduced"), ev, json_deep_copy(st));
  json_object_set_new(work_units, label, st);
}

static int subcontract_back(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  char at[32], qid[FOFAL_UUID_LEN + 1] = "";
  if (fofal__inventory_occurred(cmd, out, at)) return FOFAL_EREJECTED;
  const char *dispatch = jstr(cmd->data, "dispatch_id"), *ret = jstr(cmd->data, "return_id");
  const json_t *d = lookup_ref(cmd, "subcontract", dispatch, NULL);
  if (!d) return REJECT(out, "unknown_dispatch", "dispatch %s never moved out of stock", dispatch);
  const char *site_id = jstr(d, "location_id"), *sub = jstr(d, "subcontractor");
  const json_t *lines = json_object_get(cmd->data, "lines"), *l;
  size_t i;
  json_array_foreach(lines, i, l) {
    const char *label = jstr(l, "label_id");
    const json_t *s = fofal_cmd_lookup(cmd, label);
    if (!json_object_get(json_object_get(d, "from"), label) || !s)
      return REJECT(out, "unknown_unit", "unit %s did not go out with dispatch %s", label, dispatch);
    const json_t *m;
    size_t k;
    json_array_foreach(lines, k, m) {
      if (k < i && jeq(m, "label_id", label)) return REJECT(out, "duplicate_unit", "unit %s appears twice", label);
    }
    json_int_t n = jint(l, "good", 0) + jint(l, "rejected", 0) + jint(l, "lost", 0);
    if (strcmp(jstr(s, "location_id"), site_id) || n > jint(s, "quantity", 0))
      return REJECT(out, "exceeds_unit", "unit %s holds %lld pieces at %s; %lld cannot come back", label,
                    (long long)(strcmp(jstr(s, "location_id"), site_id) ? 0 : jint(s, "quantity", 0)), sub, (long long)n);
  }
  const json_t *q = set_location(cmd, "quarantine_location", qid);
  json_t *work = json_object(), *work_units = json_object(), *moved = json_array();
  char note[160];
  snprintf(note, sizeof note, "lost at subcontractor %s (dispatch %s)", sub, dispatch);
  json_array_foreach(lines, i, l) {
    const char *label = jstr(l, "label_id");
    const json_t *orig = json_object_get(json_object_get(d, "from"), label);
    const char *home = jstr(orig, "location"), *home_id = jstr(orig, "location_id");
    /* Rejected pieces go to quarantine; without one, back home (quality's NC holds them). */
    const char *bad_to = q ? jstr(q, "location") : home, *bad_to_id = q ? qid : home_id;
    json_int_t good = jint(l, "good", 0), bad = jint(l, "rejected", 0), lost = jint(l, "lost", 0);
    if (lost > 0) reduce_unit(cmd, out, work, work_units, label, lost, "lost", note, at);
    json_int_t left = jint(unit_now(cmd, work_units, label), "quantity", 0);
    json_t *line = json_pack("{s:s,s:I,s:I,s:I}", "label_id", label, "good", good, "rejected", bad, "lost", lost);
    if (bad > 0 && bad == left) {
      json_t *st = json_deep_copy(unit_now(cmd, work_units, label));
      json_object_del(st, "dispatch_id");
      move_unit(cmd, out, work, label, st, bad_to, bad_to_id, at, 0, NULL);
      json_decref(st);
      json_object_set_new(line, "rejected_to", json_string(bad_to));
      json_array_append_new(moved, line);
      continue;
    }
    if (bad > 0) {
      char child[FOFAL_UUID_LEN + 1], name[96];
      snprintf(name, sizeof name, "rejected/%s", ret);
      fofal_uuid_named(label, name, child);
      reduce_unit(cmd, out, work, work_units, label, bad, "split", NULL, at);
      derive_unit(cmd, out, work, unit_now(cmd, work_units, label), label, child, bad, "subcontract_rejected", NULL, bad_to,
                  bad_to_id, at);
      json_object_set_new(line, "rejected_label", json_string(child));
      json_object_set_new(line, "rejected_to", json_string(bad_to));
      left -= bad;
    }
    if (good > 0 && good == left) {
      json_t *st = json_deep_copy(unit_now(cmd, work_units, label));
      json_object_del(st, "dispatch_id");
      move_unit(cmd, out, work, label, st, home, home_id, at, 0, NULL);
      json_decref(st);
    } else if (good > 0) {
      char child[FOFAL_UUID_LEN + 1], name[96];
      snprintf(name, sizeof name, "good/%s", ret);
      fofal_uuid_named(label, name, child);
      reduce_unit(cmd, out, work, work_units, label, good, "split", NULL, at);
      derive_unit(cmd, out, work, unit_now(cmd, work_units, label), label, child, good, "subcontract_returned", NULL, home,
                  home_id, at);
      json_object_set_new(line, "good_label", json_string(child));
    }
    if (good > 0) json_object_set_new(line, "good_to", json_string(*home ? home : "loom"));
    json_array_append_new(moved, line);
  }
  json_decref(work);
  json_decref(work_units);
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:s}", "dispatch_id", dispatch, "return_id", ret, "direction", "back",
                         "subcontractor", sub, "location", sub, "units", moved, "occurred_at", at);
  out->state = json_pack("{s:s,s:s}", "dispatch_id", dispatch, "return_id", ret);
  fofal_decision_emit(out, EV("stock_subcontracted"), ev);
  return 0;
}

/* ------------------------------------------------------------ registration */

const fofal_command_def_t fofal__inventory_flows_commands[] = {
    {"inventory.settings.set", "settings", FOFAL_CREATES_OR_UPDATES,
     "Name the tenant's receiving location (purchase receipts) and quarantine location (rejected lots).", settings_set,
     SETTINGS_NS},
    {"inventory.unit.cut", "label_id", 0,
     "A cut roll leaves stock and its graded piece lots enter it; sent by a reaction to quality's roll_cut.", unit_cut, NULL},
    {"inventory.unit.quarantine", "label_id", FOFAL_CREATES_OR_UPDATES,
     "A rejected roll or piece lot goes to the quarantine location; sent by a reaction to quality's lot_rejected.",
     unit_quarantine, NULL},
    {"inventory.lot.quarantine", "lot", FOFAL_CREATES_OR_UPDATES,
     "A rejected yarn lot goes to the quarantine location; sent by a reaction to quality's lot_rejected.", lot_quarantine,
     "yarnlot"},
    {"inventory.receipt.stock", "receipt_id", 1,
     "A purchase receipt's accepted yarn enters the receiving location as yarn lots; sent by a reaction.", receipt_stock,
     "stock_receipt"},
    {"inventory.subcontract.out", "dispatch_id", 1,
     "A dispatch's units go to the subcontractor's site; sent by a reaction to subcontracting's dispatch_sent.",
     subcontract_out, "subcontract"},
    {"inventory.subcontract.back", "return_id", 1,
     "A return's good units come back, rejected ones go to quarantine, lost ones leave; sent by a reaction.",
     subcontract_back, "subcontract_return"},
};
const int fofal__inventory_flows_ncommands = sizeof fofal__inventory_flows_commands / sizeof fofal__inventory_flows_commands[0];
