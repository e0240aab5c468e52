/*
 * stores.c — private to commands/inventory/: the storekeepers' deciders. The raw-material
 * storekeeper (storekeeper_mp) receives yarn lots and issues them to warpings; the
 * finished-goods storekeeper (storekeeper_pf) moves units, packs them into cartons and
 * cartons onto pallets; both count a location.
 *
 *   inventory.location.define   a warehouse or bin: raw, finished, floor, quarantine,
 *                               subcontractor (code: "MP-A", "PF-1", "QUAR")
 *   inventory.location.set_minimum  the minimum of an item at a location: when a decision
 *                               takes the item's total there below it, the location's
 *                               stock_below_minimum event (the notifications send it)
 *   inventory.lot.receive       a yarn lot (code as on its label) enters a raw or
 *                               quarantine location: item, supplier lot, grams, cones
 *   inventory.lot.reserve       grams of a lot are kept for an order
 *   inventory.lot.issue         grams of a lot go to a warping (a production beam); never
 *                               another order's reservation
 *   inventory.lot.move          a lot goes to another location it may be in (a transfer, a
 *                               return from the floor to the store)
 *   inventory.lot.return        grams of a lot go back to the supplier
 *   inventory.unit.move         a roll or pieces (a unit) goes to another location
 *   inventory.carton.pack       units of one location into a new carton
 *   inventory.pallet.build      cartons of one location onto a new pallet (SSCC-18)
 *   inventory.count.open        a stock count of one location
 *   inventory.count.record      a holding (lot code or unit label id) counted: its quantity
 *                               (the last scan of a holding wins, so phones may scan again)
 *   inventory.count.close       the count ends: each holding whose count differs from the
 *                               book is adjusted (stock_adjusted, reason "count")
 *
 * The stock ledger. Every change of what a location holds is also an event of the
 * location's aggregate, stock_changed {holding, delta, on_hand, cause, occurred_at},
 * emitted with the lot's or unit's own event in the same decision (fofal_decision_emit_to),
 * and the location's state keeps its contents {holding id: quantity}. That is what a
 * count's close compares with, and the ledger from which the stock at any past instant
 * is summed (by occurred_at, the time the thing happened, which an offline phone gives;
 * the envelope's time is when it was recorded). Lots count grams, units pieces.
 * A unit received by reaction stands at "loom" (no location aggregate): it enters the
 * ledger when it is moved to a defined location.
 *
 * Other modules' aggregates: a lot's item is catalog's (ns "item"), a warping's beam is
 * production's (ns "beam"), a lot's quarantine quality's (ns "lot": a rejected roll is not
 * packed, a rejected yarn lot not issued); all are read through fofal_cmd_lookup, as
 * inventory.c's header says why that is allowed. A yarn lot here is ns "yarnlot" (its
 * code), apart from quality's lot of the same code.
 *
 * Pure functions: no I/O, no clock ("now" is cmd->issued_us).
 */
#include "decide.h"
#include "inventory.h"

#include <stdio.h>

#define EV(name) "fofal.inventory." name ".v1"

#define MAX_AHEAD_US (5 * 60 * 1000000LL) /* clocks of phones drift */
/* The units a pallet may hold: moving it writes each unit's unit_moved and two ledger
 * lines, all in one decision (a carton holds at most 500: its schema). */
#define MAX_PALLET_UNITS 2000

/* ------------------------------------------------------------- helpers */

/* When the thing happened: the command's occurred_at (an offline phone's time) or now,
 * into at (RFC 3339). Rejects a time that is not one or lies in the future. */
static int occurred(const fofal_cmd_t *cmd, fofal_decision_t *out, char at[32]) {
  const char *s = jstr(cmd->data, "occurred_at");
  int64_t us = cmd->issued_us;
  if (*s) {
    if (fofal_time_parse(s, &us)) return REJECT(out, "invalid_time", "occurred_at is not an RFC 3339 time");
    if (us > cmd->issued_us + MAX_AHEAD_US) return REJECT(out, "occurred_in_future", "occurred_at is in the future");
  }
  fofal_time_format(us, at);
  return 0;
}

/* May a holding of `kind` ("lot" or "unit") stand at a location of `lkind`? Yarn does not
 * go to the finished-goods store; rolls do not go to the raw-material store. */
static int kind_fits(const char *kind, const char *lkind) {
  if (!strcmp(lkind, "floor") || !strcmp(lkind, "quarantine") || !strcmp(lkind, "subcontractor")) return 1;
  return !strcmp(kind, "lot") ? !strcmp(lkind, "raw") : !strcmp(lkind, "finished");
}

/* What a holding's state is: "lot", "unit" (a woven roll or pieces, inventory.c), or "". */
static const char *holding_kind(const json_t *s) {
  if (jeq(s, "kind_of", "lot")) return "lot";
  if (json_object_get(s, "label_id") && json_object_get(s, "order_id")) return "unit";
  return "";
}

/* The quantity a holding counts in: grams of a lot, pieces of a unit. */
static json_int_t holding_qty(const json_t *s) {
  return !strcmp(holding_kind(s), "lot") ? jint(s, "weight_g", 0) : jint(s, "quantity", 0);
}

/* The locations one decision changes: id → working state (new), so that two changes of
 * the same location in a decision build on each other. */
typedef struct {
  json_t *work;
} ledger_t;

/* The state of location `id` as this decision has left it so far (borrowed), or NULL. */
static json_t *ledger_loc(ledger_t *lg, const fofal_cmd_t *cmd, const char *id) {
  json_t *s = json_object_get(lg->work, id);
  if (s) return s;
  const json_t *now = fofal_cmd_lookup(cmd, id);
  if (!now || !jeq(now, "kind_of", "location")) return NULL;
  s = json_deep_copy(now);
  json_object_set_new(lg->work, id, s);
  return s;
}

/* Records on location `loc_id` that `holding_id` (code `holding`) changed by delta: its
 * contents and a stock_changed event. A location that is not one (the "loom" of a
 * received roll) keeps no ledger: nothing is written. */
static void ledger_change(ledger_t *lg, const fofal_cmd_t *cmd, fofal_decision_t *out, const char *loc_id,
                          const char *holding_id, const char *holding, const char *kind, const char *item,
                          json_int_t delta, const char *cause, const char *at) {
  if (!delta || !*loc_id) return;
  json_t *loc = ledger_loc(lg, cmd, loc_id);
  if (!loc) return;
  json_t *contents = json_object_get(loc, "contents");
  if (!json_is_object(contents)) {
    contents = json_object();
    json_object_set_new(loc, "contents", contents);
  }
  json_int_t on_hand = jint(contents, holding_id, 0) + delta;
  if (on_hand > 0) json_object_set_new(contents, holding_id, json_integer(on_hand));
  else json_object_del(contents, holding_id);
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:s}", "location", jstr(loc, "location"), "holding", holding,
                         "holding_id", holding_id, "kind", kind, "item", item, "delta", delta, "on_hand",
                         on_hand > 0 ? on_hand : 0, "cause", cause, "occurred_at", at);
  /* The item's total here, and its alert when it falls below the location's minimum. */
  json_t *totals = json_object_get(loc, "totals");
  if (!json_is_object(totals)) {
    totals = json_object();
    json_object_set_new(loc, "totals", totals);
  }
  json_int_t before = jint(totals, item, 0), after = before + delta;
  if (after > 0) json_object_set_new(totals, item, json_integer(after));
  else json_object_del(totals, item);
  fofal_decision_emit_to(out, loc_id, EV("stock_changed"), ev, json_deep_copy(loc));
  json_int_t min = jint(json_object_get(loc, "minimums"), item, 0);
  /* Each crossing of the minimum, down or back up, is one event. */
  const char *crossed = min <= 0 ? NULL : before >= min && after < min ? EV("stock_below_minimum")
                                        : before < min && after >= min ? EV("stock_restored") : NULL;
  if (crossed)
    fofal_decision_emit_to(out, loc_id, crossed,
                           json_pack("{s:s,s:s,s:I,s:I,s:s}", "location", jstr(loc, "location"), "item", item, "on_hand",
                                     after > 0 ? after : 0, "minimum", min, "occurred_at", at),
                           NULL);
}

/* The defined location named by member `key` of the command (borrowed), its id into id. */
static const json_t *location_of(const fofal_cmd_t *cmd, const char *key, fofal_decision_t *out,
                                 char id[FOFAL_UUID_LEN + 1]) {
  const json_t *loc = lookup_ref(cmd, "location", jstr(cmd->data, key), id);
  if (!loc || !jeq(loc, "kind_of", "location")) {
    fofal_decision_reject(out, "unknown_location", "location %s does not exist", jstr(cmd->data, key));
    return NULL;
  }
  return loc;
}

/* Has quality rejected this lot (a roll's label id, a yarn lot's code) into quarantine? Its
 * lot is quality's aggregate (ns "lot", commands/quality/quality.c), read across modules:
 * a rejected lot is neither packed nor issued until quality releases it. */
static int quality_rejected(const fofal_cmd_t *cmd, const char *code) {
  const json_t *q = lookup_ref(cmd, "lot", code, NULL);
  return q && jeq(q, "status", "rejected");
}

/* ------------------------------------------------------------ locations */

static int location_define(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  json_t *ev = json_pack("{s:s,s:s}", "location", jstr(cmd->data, "location"), "kind", jstr(cmd->data, "kind"));
  jcopy(ev, cmd->data, "name");
  out->state = json_deep_copy(ev);
  json_object_set_new(out->state, "kind_of", json_string("location"));
  json_object_set_new(out->state, "contents", json_object());
  fofal_decision_emit(out, EV("location_defined"), ev);
  return 0;
}

/* The minimum of an item at a location (0: none); below it, stock_below_minimum. Set
 * below what is there already, the alert is raised at once. */
static int location_set_minimum(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  char at[32];
  fofal_time_format(cmd->issued_us, at);
  const char *item = jstr(cmd->data, "item");
  json_int_t min = jint(cmd->data, "minimum", 0);
  if (min == jint(json_object_get(state, "minimums"), item, 0))
    return REJECT(out, "no_change", "the minimum of %s at %s is %lld already", item, jstr(state, "location"), (long long)min);
  out->state = json_deep_copy(state);
  json_t *mins = json_object_get(out->state, "minimums");
  if (!json_is_object(mins)) {
    mins = json_object();
    json_object_set_new(out->state, "minimums", mins);
  }
  if (min > 0) json_object_set_new(mins, item, json_integer(min));
  else json_object_del(mins, item);
  fofal_decision_emit(out, EV("minimum_set"),
                      json_pack("{s:s,s:s,s:I}", "location", jstr(state, "location"), "item", item, "minimum", min));
  json_int_t here = jint(json_object_get(state, "totals"), item, 0);
  json_int_t was = jint(json_object_get(state, "minimums"), item, 0);
  if (min > 0 && here < min)
    fofal_decision_emit(out, EV("stock_below_minimum"),
                        json_pack("{s:s,s:s,s:I,s:I,s:s}", "location", jstr(state, "location"), "item", item, "on_hand", here,
                                  "minimum", min, "occurred_at", at));
  else if (was > 0 && here < was) /* it was below the old minimum and is not below the new one */
    fofal_decision_emit(out, EV("stock_restored"),
                        json_pack("{s:s,s:s,s:I,s:I,s:s}", "location", jstr(state, "location"), "item", item, "on_hand", here,
                                  "minimum", min, "occurred_at", at));
  return 0;
}

/* ----------------------------------------------------------------- lots */

static int lot_receive(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  char at[32], loc_id[FOFAL_UUID_LEN + 1];
  if (occurred(cmd, out, at)) return FOFAL_EREJECTED;
  const char *item = jstr(cmd->data, "item");
  const json_t *it = lookup_ref(cmd, "item", item, NULL);
  if (!it) return REJECT(out, "unknown_item", "item %s is not in the catalog", item);
  const json_t *loc = location_of(cmd, "location", out, loc_id);
  if (!loc) return FOFAL_EREJECTED;
  if (!kind_fits("lot", jstr(loc, "kind")))
    return REJECT(out, "location_kind_mismatch", "a yarn lot is not received into %s (a %s location)",
                  jstr(loc, "location"), jstr(loc, "kind"));
  json_int_t grams = jint(cmd->data, "weight_g", 0);
  json_t *ev = json_pack("{s:s,s:s,s:s,s:I,s:s,s:s}", "lot", jstr(cmd->data, "lot"), "item", item, "supplier_lot",
                         jstr(cmd->data, "supplier_lot"), "weight_g", grams, "location", jstr(loc, "location"),
                         "occurred_at", at);
  jcopy(ev, cmd->data, "cones");
  jcopy(ev, cmd->data, "purchase_order");
  out->state = json_deep_copy(ev);
  json_object_set_new(out->state, "kind_of", json_string("lot"));
  json_object_set_new(out->state, "location_id", json_string(loc_id));
  json_object_set_new(out->state, "received_g", json_integer(grams));
  fofal_decision_emit(out, EV("lot_received"), ev);
  ledger_t lg = {json_object()};
  ledger_change(&lg, cmd, out, loc_id, cmd->aggregate, jstr(cmd->data, "lot"), "lot", item, grams, "received", at);
  json_decref(lg.work);
  return 0;
}

/* Grams of a lot reserved for all orders (its state's reservations {order id: grams}). */
static json_int_t reserved_total(const json_t *lot) {
  json_int_t n = 0;
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)json_object_get(lot, "reservations"), k, v) n += json_integer_value(v);
  return n;
}

static int lot_reserve(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (strcmp(holding_kind(state), "lot")) return REJECT(out, "not_a_lot", "%s is not a yarn lot", jstr(cmd->data, "lot"));
  json_int_t grams = jint(cmd->data, "weight_g", 0), free_g = jint(state, "weight_g", 0) - reserved_total(state);
  if (grams > free_g)
    return REJECT(out, "insufficient_stock", "lot %s has %lld g not reserved; %lld g cannot be reserved", jstr(state, "lot"),
                  (long long)free_g, (long long)grams);
  const char *order = jstr(cmd->data, "order_id");
  out->state = json_deep_copy(state);
  json_t *res = json_object_get(out->state, "reservations");
  if (!json_is_object(res)) {
    res = json_object();
    json_object_set_new(out->state, "reservations", res);
  }
  json_object_set_new(res, order, json_integer(jint(res, order, 0) + grams));
  fofal_decision_emit(out, EV("lot_reserved"),
                      json_pack("{s:s,s:s,s:I,s:I,s:I}", "lot", jstr(state, "lot"), "order_id", order, "weight_g", grams,
                                "reserved_g", reserved_total(out->state), "free_g", free_g - grams));
  return 0;
}

/* Issue: from what no order reserved, and from the order's own reservation (used first);
 * a reservation of another order is never issued. */
static int lot_issue(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  char at[32];
  if (occurred(cmd, out, at)) return FOFAL_EREJECTED;
  if (strcmp(holding_kind(state), "lot")) return REJECT(out, "not_a_lot", "%s is not a yarn lot", jstr(cmd->data, "lot"));
  if (quality_rejected(cmd, jstr(state, "lot")))
    return REJECT(out, "lot_quarantined", "lot %s was rejected by quality: it is not issued until released",
                  jstr(state, "lot"));
  const char *order = jstr(cmd->data, "order_id");
  json_int_t grams = jint(cmd->data, "weight_g", 0), left = jint(state, "weight_g", 0);
  json_int_t mine = *order ? jint(json_object_get(state, "reservations"), order, 0) : 0;
  json_int_t issuable = left - reserved_total(state) + mine;
  if (grams > left)
    return REJECT(out, "insufficient_stock", "lot %s holds %lld g; %lld g cannot be issued", jstr(state, "lot"),
                  (long long)left, (long long)grams);
  if (grams > issuable)
    return REJECT(out, "reserved_for_another_order", "of lot %s's %lld g only %lld g may go to this warping: the rest is "
                  "reserved for other orders", jstr(state, "lot"), (long long)left, (long long)issuable);
  const char *beam = jstr(cmd->data, "beam");
  if (!lookup_ref(cmd, "beam", beam, NULL)) return REJECT(out, "unknown_beam", "beam %s does not exist", beam);
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "weight_g", json_integer(left - grams));
  if (mine) {
    json_t *res = json_object_get(out->state, "reservations");
    if (mine > grams) json_object_set_new(res, order, json_integer(mine - grams));
    else json_object_del(res, order);
  }
  json_t *ev = json_pack("{s:s,s:s,s:I,s:s,s:s,s:I,s:I,s:s}", "lot", jstr(state, "lot"), "item", jstr(state, "item"),
                         "weight_g", grams, "beam", beam, "location", jstr(state, "location"), "remaining_g", left - grams,
                         "reserved_g", reserved_total(out->state), "occurred_at", at);
  jcopy(ev, cmd->data, "order_id");
  fofal_decision_emit(out, EV("lot_issued"), ev);
  ledger_t lg = {json_object()};
  ledger_change(&lg, cmd, out, jstr(state, "location_id"), cmd->aggregate, jstr(state, "lot"), "lot", jstr(state, "item"),
                -grams, "issued", at);
  json_decref(lg.work);
  return 0;
}

/* A transfer, or a return from the floor to the store: to a location a lot may be in. */
static int lot_move(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  char at[32], to_id[FOFAL_UUID_LEN + 1];
  if (occurred(cmd, out, at)) return FOFAL_EREJECTED;
  if (strcmp(holding_kind(state), "lot")) return REJECT(out, "not_a_lot", "%s is not a yarn lot", jstr(cmd->data, "lot"));
  const json_t *to = location_of(cmd, "to", out, to_id);
  if (!to) return FOFAL_EREJECTED;
  if (!kind_fits("lot", jstr(to, "kind")))
    return REJECT(out, "location_kind_mismatch", "a yarn lot does not go to %s (a %s location)", jstr(to, "location"),
                  jstr(to, "kind"));
  if (!strcmp(jstr(state, "location_id"), to_id))
    return REJECT(out, "no_change", "the lot is at %s already", jstr(to, "location"));
  json_int_t g = jint(state, "weight_g", 0);
  if (g <= 0) return REJECT(out, "lot_empty", "lot %s holds nothing to move", jstr(state, "lot"));
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "location", json_string(jstr(to, "location")));
  json_object_set_new(out->state, "location_id", json_string(to_id));
  fofal_decision_emit(out, EV("lot_moved"),
                      json_pack("{s:s,s:s,s:s,s:I,s:s}", "lot", jstr(state, "lot"), "from", jstr(state, "location"), "to",
                                jstr(to, "location"), "weight_g", g, "occurred_at", at));
  ledger_t lg = {json_object()};
  const char *lot = jstr(state, "lot"), *item = jstr(state, "item");
  ledger_change(&lg, cmd, out, jstr(state, "location_id"), cmd->aggregate, lot, "lot", item, -g, "moved_out", at);
  ledger_change(&lg, cmd, out, to_id, cmd->aggregate, lot, "lot", item, g, "moved_in", at);
  json_decref(lg.work);
  return 0;
}

/* Back to the supplier: grams no order has reserved. */
static int lot_return(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  char at[32];
  if (occurred(cmd, out, at)) return FOFAL_EREJECTED;
  if (strcmp(holding_kind(state), "lot")) return REJECT(out, "not_a_lot", "%s is not a yarn lot", jstr(cmd->data, "lot"));
  json_int_t grams = jint(cmd->data, "weight_g", 0), left = jint(state, "weight_g", 0);
  json_int_t free_g = left - reserved_total(state);
  if (grams > free_g)
    return REJECT(out, grams > left ? "insufficient_stock" : "reserved_for_another_order",
                  "lot %s has %lld g that no order reserved; %lld g cannot go back", jstr(state, "lot"), (long long)free_g,
                  (long long)grams);
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "weight_g", json_integer(left - grams));
  fofal_decision_emit(out, EV("lot_returned"),
                      json_pack("{s:s,s:s,s:I,s:s,s:I,s:s,s:s}", "lot", jstr(state, "lot"), "supplier_lot",
                                jstr(state, "supplier_lot"), "weight_g", grams, "location", jstr(state, "location"),
                                "remaining_g", left - grams, "reason", jstr(cmd->data, "reason"), "occurred_at", at));
  ledger_t lg = {json_object()};
  ledger_change(&lg, cmd, out, jstr(state, "location_id"), cmd->aggregate, jstr(state, "lot"), "lot", jstr(state, "item"),
                -grams, "returned", at);
  json_decref(lg.work);
  return 0;
}

/* ---------------------------------------------------------------- units */

static int unit_move(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  char at[32], to_id[FOFAL_UUID_LEN + 1];
  if (occurred(cmd, out, at)) return FOFAL_EREJECTED;
  const json_t *to = location_of(cmd, "to", out, to_id);
  if (!to) return FOFAL_EREJECTED;
  if (!kind_fits("unit", jstr(to, "kind")))
    return REJECT(out, "location_kind_mismatch", "a woven unit does not go to %s (a %s location)", jstr(to, "location"),
                  jstr(to, "kind"));
  if (*jstr(state, "carton_id"))
    return REJECT(out, "unit_in_carton", "the unit is packed in carton %s: it moves with its carton", jstr(state, "carton_id"));
  if (jeq(state, "location", jstr(to, "location"))) return REJECT(out, "no_change", "the unit is at %s already", jstr(to, "location"));
  json_int_t q = jint(state, "quantity", 0);
  const char *label = cmd->aggregate, *article = jstr(state, "article");
  json_t *ev = json_pack("{s:s,s:s,s:s,s:I,s:s}", "label_id", label, "from", jstr(state, "location"), "to",
                         jstr(to, "location"), "quantity", q, "occurred_at", at);
  jcopy(ev, state, "article");
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "location", json_string(jstr(to, "location")));
  json_object_set_new(out->state, "location_id", json_string(to_id));
  fofal_decision_emit(out, EV("unit_moved"), ev);
  ledger_t lg = {json_object()};
  ledger_change(&lg, cmd, out, jstr(state, "location_id"), label, label, "unit", article, -q, "moved_out", at);
  ledger_change(&lg, cmd, out, to_id, label, label, "unit", article, q, "moved_in", at);
  json_decref(lg.work);
  return 0;
}

/* ------------------------------------------------------ cartons, pallets */

/* Checks the members of a container: `key` of the command is an array of aggregate ids,
 * each of `want` kind, not already in a container (`in` names that member of its state),
 * all at one location. Returns the location (borrowed from the first one's state) or NULL
 * with out rejected. *pieces: the sum of their pieces. */
static const char *members_check(const fofal_cmd_t *cmd, const char *key, const char *want, const char *in,
                                 fofal_decision_t *out, json_int_t *pieces) {
  const json_t *ids = json_object_get(cmd->data, key);
  const char *where = NULL;
  size_t i, j;
  json_t *v;
  *pieces = 0;
  json_array_foreach(ids, i, v) {
    const char *id = json_string_value(v);
    for (j = 0; j < i; j++)
      if (!strcmp(id, json_string_value(json_array_get(ids, j)))) {
        fofal_decision_reject(out, "duplicate_member", "%s is listed twice", id);
        return NULL;
      }
    if (!strcmp(id, cmd->aggregate)) {
      fofal_decision_reject(out, "container_cycle", "%s cannot contain itself", id);
      return NULL;
    }
    const json_t *s = fofal_cmd_lookup(cmd, id);
    const char *k = !s ? "" : !strcmp(want, "unit") ? holding_kind(s) : jstr(s, "kind_of");
    if (!s || strcmp(k, want)) {
      fofal_decision_reject(out, !strcmp(want, "unit") ? "unknown_unit" : "unknown_carton", "%s is not a %s of this tenant", id, want);
      return NULL;
    }
    if (!strcmp(want, "unit") && quality_rejected(cmd, id)) {
      fofal_decision_reject(out, "lot_quarantined", "unit %s was rejected by quality: it is not packed until released", id);
      return NULL;
    }
    if (*jstr(s, in)) {
      fofal_decision_reject(out, "already_contained", "%s %s is already in %s", want, id, jstr(s, in));
      return NULL;
    }
    if (where && strcmp(where, jstr(s, "location"))) {
      fofal_decision_reject(out, "not_together", "%s %s is at %s, not at %s with the others", want, id, jstr(s, "location"), where);
      return NULL;
    }
    where = jstr(s, "location");
    *pieces += !strcmp(want, "unit") ? jint(s, "quantity", 0) : jint(s, "pieces", 0);
  }
  return where;
}

static int carton_pack(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  char at[32];
  json_int_t pieces;
  if (occurred(cmd, out, at)) return FOFAL_EREJECTED;
  const char *where = members_check(cmd, "units", "unit", "carton_id", out, &pieces);
  if (!where) return FOFAL_EREJECTED;
  const json_t *units = json_object_get(cmd->data, "units");
  json_t *ev = json_pack("{s:s,s:O,s:s,s:I,s:s}", "carton_id", cmd->aggregate, "units", units, "location", where, "pieces",
                         pieces, "occurred_at", at);
  out->state = json_pack("{s:s,s:s,s:O,s:s,s:I}", "kind_of", "carton", "carton_id", cmd->aggregate, "units", units,
                         "location", where, "pieces", pieces);
  fofal_decision_emit(out, EV("carton_packed"), ev);
  size_t i;
  json_t *v;
  json_array_foreach(units, i, v) {
    json_t *s = json_deep_copy(fofal_cmd_lookup(cmd, json_string_value(v)));
    json_object_set_new(s, "carton_id", json_string(cmd->aggregate));
    fofal_decision_emit_to(out, json_string_value(v), EV("unit_packed"),
                           json_pack("{s:O,s:s,s:s}", "label_id", v, "carton_id", cmd->aggregate, "occurred_at", at), s);
  }
  return 0;
}

/* 1 when s is 18 digits whose last is the GS1 mod-10 check digit of the first 17. */
int fofal__inventory_sscc_valid(const char *s) {
  if (!s || strlen(s) != 18) return 0;
  int sum = 0;
  for (int i = 0; i < 17; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    sum += (s[i] - '0') * (i % 2 == 0 ? 3 : 1);
  }
  return s[17] == '0' + (10 - sum % 10) % 10;
}

static int pallet_build(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  char at[32];
  json_int_t pieces;
  if (occurred(cmd, out, at)) return FOFAL_EREJECTED;
  const char *sscc = jstr(cmd->data, "sscc");
  if (!fofal__inventory_sscc_valid(sscc))
    return REJECT(out, "invalid_sscc", "%s is not an SSCC-18 (18 digits, the last a GS1 check digit)", sscc);
  const char *where = members_check(cmd, "cartons", "carton", "pallet_id", out, &pieces);
  if (!where) return FOFAL_EREJECTED;
  const json_t *cartons = json_object_get(cmd->data, "cartons");
  size_t units = 0, k;
  json_t *c;
  json_array_foreach(cartons, k, c) units += json_array_size(json_object_get(fofal_cmd_lookup(cmd, json_string_value(c)), "units"));
  if (units > MAX_PALLET_UNITS)
    return REJECT(out, "pallet_too_large",
                  "a pallet holds at most %d units (these cartons hold %zu): a move writes an event for each",
                  MAX_PALLET_UNITS, units);
  json_t *ev = json_pack("{s:s,s:s,s:O,s:s,s:I,s:s}", "pallet_id", cmd->aggregate, "sscc", sscc, "cartons", cartons,
                         "location", where, "pieces", pieces, "occurred_at", at);
  out->state = json_pack("{s:s,s:s,s:s,s:O,s:s,s:I}", "kind_of", "pallet", "pallet_id", cmd->aggregate, "sscc", sscc,
                         "cartons", cartons, "location", where, "pieces", pieces);
  fofal_decision_emit(out, EV("pallet_built"), ev);
  size_t i;
  json_t *v;
  json_array_foreach(cartons, i, v) {
    json_t *s = json_deep_copy(fofal_cmd_lookup(cmd, json_string_value(v)));
    json_object_set_new(s, "pallet_id", json_string(cmd->aggregate));
    fofal_decision_emit_to(out, json_string_value(v), EV("carton_palletised"),
                           json_pack("{s:O,s:s,s:s}", "carton_id", v, "pallet_id", cmd->aggregate, "occurred_at", at), s);
  }
  return 0;
}

/* --------------------------------------------------------------- counts */

/* The holding a count line names: a unit's label id (a UUID) or a lot's code. Its state
 * (borrowed) and id, or NULL. */
static const json_t *holding_named(const fofal_cmd_t *cmd, const char *name, char id[FOFAL_UUID_LEN + 1]) {
  const json_t *s;
  if (fofal_uuid_valid(name)) {
    snprintf(id, FOFAL_UUID_LEN + 1, "%s", name);
    s = fofal_cmd_lookup(cmd, id);
  } else {
    s = lookup_ref(cmd, "yarnlot", name, id);
  }
  return s && *holding_kind(s) ? s : NULL;
}

static int count_open(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  char at[32], loc_id[FOFAL_UUID_LEN + 1];
  if (occurred(cmd, out, at)) return FOFAL_EREJECTED;
  const json_t *loc = location_of(cmd, "location", out, loc_id);
  if (!loc) return FOFAL_EREJECTED;
  json_t *ev = json_pack("{s:s,s:s,s:s}", "count_id", cmd->aggregate, "location", jstr(loc, "location"), "occurred_at", at);
  out->state = json_pack("{s:s,s:s,s:s,s:s,s:s,s:{}}", "kind_of", "count", "count_id", cmd->aggregate, "location",
                         jstr(loc, "location"), "location_id", loc_id, "status", "open", "lines");
  fofal_decision_emit(out, EV("count_opened"), ev);
  return 0;
}

static int count_record(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  char at[32], id[FOFAL_UUID_LEN + 1];
  if (occurred(cmd, out, at)) return FOFAL_EREJECTED;
  if (!jeq(state, "status", "open")) return REJECT(out, "count_closed", "count %s is closed: it cannot change", cmd->aggregate);
  const char *name = jstr(cmd->data, "holding");
  const json_t *h = holding_named(cmd, name, id);
  if (!h) return REJECT(out, "unknown_holding", "%s is neither a lot nor a unit of this tenant", name);
  json_int_t q = jint(cmd->data, "quantity", 0);
  const char *kind = holding_kind(h);
  out->state = json_deep_copy(state);
  json_object_set_new(json_object_get(out->state, "lines"), id,
                      json_pack("{s:s,s:s,s:I}", "holding", name, "kind", kind, "quantity", q));
  fofal_decision_emit(out, EV("count_recorded"),
                      json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "count_id", cmd->aggregate, "holding", name, "holding_id", id,
                                "kind", kind, "quantity", q, "occurred_at", at));
  return 0;
}

/* One holding of a closing count: the book (what its state says is here), the counted
 * quantity, and when they differ the adjustment of the holding and of the ledger. */
static void count_adjust(const fofal_cmd_t *cmd, const json_t *count, ledger_t *lg, const char *hid, json_int_t counted,
                         const char *reason, const char *at, fofal_decision_t *out, json_int_t *n) {
  const json_t *h = fofal_cmd_lookup(cmd, hid);
  if (!h) return;
  const char *kind = holding_kind(h), *here = jstr(count, "location_id");
  int elsewhere = strcmp(jstr(h, "location_id"), here); /* a unit at "loom" is nowhere defined */
  json_int_t q = holding_qty(h), book = elsewhere ? 0 : q;
  if (counted == book) return;
  int lot = !strcmp(kind, "lot");
  const char *name = lot ? jstr(h, "lot") : hid, *item = lot ? jstr(h, "item") : jstr(h, "article");
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:s,s:s}", "holding", name, "holding_id", hid, "kind", kind,
                         "count_id", cmd->aggregate, "location", jstr(count, "location"), "book", book, "counted", counted,
                         "delta", counted - book, "reason", reason, "occurred_at", at);
  if (elsewhere) json_object_set(ev, "from_location", json_object_get(h, "location"));
  if (*item) json_object_set_new(ev, "item", json_string(item)); /* what it is: for its value (accounting) */
  json_t *s = json_deep_copy(h);
  json_object_set_new(s, lot ? "weight_g" : "quantity", json_integer(counted));
  if (elsewhere) {
    json_object_set_new(s, "location", json_string(jstr(count, "location")));
    json_object_set_new(s, "location_id", json_string(here));
    ledger_change(lg, cmd, out, jstr(h, "location_id"), hid, name, kind, item, -q, "count", at);
    ledger_change(lg, cmd, out, here, hid, name, kind, item, counted, "count", at);
  } else {
    ledger_change(lg, cmd, out, here, hid, name, kind, item, counted - book, "count", at);
  }
  fofal_decision_emit_to(out, hid, EV("stock_adjusted"), ev, s);
  (*n)++;
}

static int count_close(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  char at[32];
  if (occurred(cmd, out, at)) return FOFAL_EREJECTED;
  if (!jeq(state, "status", "open")) return REJECT(out, "count_closed", "count %s is closed already", cmd->aggregate);
  const char *reason = *jstr(cmd->data, "reason") ? jstr(cmd->data, "reason") : "count";
  const json_t *lines = json_object_get(state, "lines");
  const json_t *loc = fofal_cmd_lookup(cmd, jstr(state, "location_id"));
  json_t *book = json_deep_copy(json_object_get(loc, "contents")); /* a copy: the ledger changes the location's */
  ledger_t lg = {json_object()};
  json_int_t n = 0;
  const char *hid;
  json_t *v;
  json_object_foreach((json_t *)lines, hid, v) count_adjust(cmd, state, &lg, hid, jint(v, "quantity", 0), reason, at, out, &n);
  json_object_foreach(book, hid, v)
    if (!json_object_get(lines, hid)) count_adjust(cmd, state, &lg, hid, 0, reason, at, out, &n); /* missing */
  json_decref(book);
  json_decref(lg.work);
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "status", json_string("closed"));
  json_t *ev = json_pack("{s:s,s:s,s:I,s:I,s:s,s:s}", "count_id", cmd->aggregate, "location", jstr(state, "location"),
                         "lines", (json_int_t)json_object_size(lines), "adjustments", n, "reason", reason, "occurred_at", at);
  fofal_decision_emit(out, EV("count_closed"), ev);
  return 0;
}

/* ------------------------------------------------- moving a container */

/* One unit of a moving container follows it: its state, its unit_moved and the ledger. */
static void follow(const fofal_cmd_t *cmd, ledger_t *lg, const char *label, const char *container, const char *to,
                   const char *to_id, const char *at, fofal_decision_t *out) {
  const json_t *u = label ? fofal_cmd_lookup(cmd, label) : NULL;
  if (!u) return;
  json_int_t q = jint(u, "quantity", 0);
  const char *article = jstr(u, "article");
  json_t *ev = json_pack("{s:s,s:s,s:s,s:I,s:s,s:s}", "label_id", label, "from", jstr(u, "location"), "to", to, "quantity",
                         q, "container_id", container, "occurred_at", at);
  jcopy(ev, u, "article");
  ledger_change(lg, cmd, out, jstr(u, "location_id"), label, label, "unit", article, -q, "moved_out", at);
  ledger_change(lg, cmd, out, to_id, label, label, "unit", article, q, "moved_in", at);
  json_t *s = json_deep_copy(u);
  json_object_set_new(s, "location", json_string(to));
  json_object_set_new(s, "location_id", json_string(to_id));
  fofal_decision_emit_to(out, label, EV("unit_moved"), ev, s);
}

/* A carton or a pallet moves as a whole: its cartons, their units, each unit's location
 * and the ledger of both locations follow. A carton on a pallet moves with its pallet. */
static int container_move(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  char at[32], to_id[FOFAL_UUID_LEN + 1];
  if (occurred(cmd, out, at)) return FOFAL_EREJECTED;
  int pallet = jeq(state, "kind_of", "pallet");
  if (!pallet && !jeq(state, "kind_of", "carton"))
    return REJECT(out, "not_a_container", "%s is neither a carton nor a pallet", cmd->aggregate);
  if (!pallet && *jstr(state, "pallet_id"))
    return REJECT(out, "carton_on_pallet", "the carton is on pallet %s: it moves with its pallet", jstr(state, "pallet_id"));
  const json_t *to = location_of(cmd, "to", out, to_id);
  if (!to) return FOFAL_EREJECTED;
  const char *where = jstr(to, "location");
  if (!kind_fits("unit", jstr(to, "kind")))
    return REJECT(out, "location_kind_mismatch", "a %s of woven units does not go to %s (a %s location)",
                  pallet ? "pallet" : "carton", where, jstr(to, "kind"));
  if (jeq(state, "location", where)) return REJECT(out, "no_change", "the %s is at %s already", pallet ? "pallet" : "carton", where);
  size_t units = pallet ? 0 : json_array_size(json_object_get(state, "units")), k;
  json_t *c0;
  if (pallet)
    json_array_foreach(json_object_get(state, "cartons"), k, c0) units +=
        json_array_size(json_object_get(fofal_cmd_lookup(cmd, json_string_value(c0)), "units"));
  if (units > MAX_PALLET_UNITS) /* a pallet built before the cap */
    return REJECT(out, "container_too_large", "the %s holds %zu units, more than the %d one move may carry",
                  pallet ? "pallet" : "carton", units, MAX_PALLET_UNITS);
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "container_id", cmd->aggregate, "kind", pallet ? "pallet" : "carton",
                         "from", jstr(state, "location"), "to", where, "pieces", jint(state, "pieces", 0), "occurred_at", at);
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "location", json_string(where));
  fofal_decision_emit(out, EV("container_moved"), ev);
  ledger_t lg = {json_object()};
  size_t i, j;
  json_t *c, *u;
  if (pallet) {
    json_array_foreach(json_object_get(state, "cartons"), i, c) {
      const char *cid = json_string_value(c);
      const json_t *cs = fofal_cmd_lookup(cmd, cid);
      if (!cid || !cs) continue;
      json_t *s = json_deep_copy(cs);
      json_object_set_new(s, "location", json_string(where));
      fofal_decision_emit_to(out, cid, EV("container_moved"),
                             json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:s}", "container_id", cid, "kind", "carton", "from",
                                       jstr(cs, "location"), "to", where, "pieces", jint(cs, "pieces", 0), "pallet_id",
                                       cmd->aggregate, "occurred_at", at),
                             s);
      json_array_foreach(json_object_get(cs, "units"), j, u) follow(cmd, &lg, json_string_value(u), cid, where, to_id, at, out);
    }
  } else {
    json_array_foreach(json_object_get(state, "units"), j, u)
        follow(cmd, &lg, json_string_value(u), cmd->aggregate, where, to_id, at, out);
  }
  json_decref(lg.work);
  return 0;
}

/* ------------------------------------------------------------ pick lists */

/* A pick list prepares yarn for an order's warping: lines {lot, grams}. Creating it
 * reserves for the order what the order's reservation of each lot, less what its other
 * open pick lists already claim there, does not cover, and the lot keeps the pick's claim
 * (picks {pick id: {order_id, weight_g}}), so two pick lists never count one reservation
 * twice. Scans confirm what was picked (the last scan of a line wins); the issue sends the
 * picked grams of each lot to the warping's beam, from the order's reservation first, as
 * inventory.lot.issue does, and ends the claims. */

#define PICK_LINES_MAX 50

/* Grams of lot `s` that open pick lists of `order` other than `pick` claim. */
static json_int_t claimed(const json_t *s, const char *order, const char *pick) {
  json_int_t n = 0;
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)json_object_get(s, "picks"), k, v) if (strcmp(k, pick) && jeq(v, "order_id", order)) n +=
      jint(v, "weight_g", 0);
  return n;
}

static int pick_create(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  char at[32], lid[FOFAL_UUID_LEN + 1];
  if (occurred(cmd, out, at)) return FOFAL_EREJECTED;
  const char *order = jstr(cmd->data, "order_id"), *beam = jstr(cmd->data, "beam");
  if (*beam && !lookup_ref(cmd, "beam", beam, NULL)) return REJECT(out, "unknown_beam", "beam %s does not exist", beam);
  const json_t *lines = json_object_get(cmd->data, "lines");
  json_t *evlines = json_array(), *stlines = json_object(), *lots = json_object();
  size_t i;
  json_t *l;
  json_array_foreach(lines, i, l) {
    const char *code = jstr(l, "lot");
    json_int_t g = jint(l, "weight_g", 0);
    const json_t *lot = lookup_ref(cmd, "yarnlot", code, lid);
    const char *code_err = !lot || strcmp(holding_kind(lot), "lot") ? "unknown_lot"
                           : json_object_get(stlines, code)        ? "duplicate_line"
                           : quality_rejected(cmd, code)           ? "lot_quarantined"
                                                                   : NULL;
    json_int_t left = jint(lot, "weight_g", 0), mine = jint(json_object_get(lot, "reservations"), order, 0);
    json_int_t covered = mine - claimed(lot, order, cmd->aggregate);
    if (covered < 0) covered = 0;
    json_int_t need = g > covered ? g - covered : 0, free_g = left - reserved_total(lot);
    if (!code_err && g > left) code_err = "insufficient_stock";
    else if (!code_err && need > free_g) code_err = "reserved_for_another_order";
    if (code_err) {
      json_decref(evlines);
      json_decref(stlines);
      json_decref(lots);
      return REJECT(out, code_err, "line %zu: lot %s cannot give %lld g to this pick list (%s)", i + 1, code, (long long)g,
                    code_err);
    }
    json_t *s = json_deep_copy(lot);
    if (need) {
      json_t *res = json_object_get(s, "reservations");
      if (!json_is_object(res)) {
        res = json_object();
        json_object_set_new(s, "reservations", res);
      }
      json_object_set_new(res, order, json_integer(mine + need));
    }
    json_t *picks = json_object_get(s, "picks");
    if (!json_is_object(picks)) {
      picks = json_object();
      json_object_set_new(s, "picks", picks);
    }
    json_object_set_new(picks, cmd->aggregate, json_pack("{s:s,s:I}", "order_id", order, "weight_g", g));
    if (need)
      fofal_decision_emit_to(out, lid, EV("lot_reserved"),
                             json_pack("{s:s,s:s,s:I,s:I,s:I,s:s}", "lot", code, "order_id", order, "weight_g", need,
                                       "reserved_g", reserved_total(s), "free_g", free_g - need, "pick_id", cmd->aggregate),
                             json_incref(s));
    json_object_set_new(lots, lid, s);
    json_array_append_new(evlines, json_pack("{s:s,s:I,s:s,s:I}", "lot", code, "weight_g", g, "location",
                                             jstr(lot, "location"), "reserved_g", need));
    json_object_set_new(stlines, code, json_pack("{s:s,s:I,s:s,s:I}", "lot_id", lid, "weight_g", g, "location",
                                                 jstr(lot, "location"), "reserved_g", need));
  }
  json_decref(lots);
  json_t *ev = json_pack("{s:s,s:s,s:o,s:s}", "pick_id", cmd->aggregate, "order_id", order, "lines", evlines, "occurred_at", at);
  if (*beam) json_object_set_new(ev, "beam", json_string(beam));
  out->state = json_pack("{s:s,s:s,s:s,s:s,s:o}", "kind_of", "pick", "pick_id", cmd->aggregate, "order_id", order, "status",
                         "open", "lines", stlines);
  if (*beam) json_object_set_new(out->state, "beam", json_string(beam));
  fofal_decision_emit(out, EV("pick_created"), ev);
  return 0;
}

static int pick_scan(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  char at[32];
  if (occurred(cmd, out, at)) return FOFAL_EREJECTED;
  if (!jeq(state, "kind_of", "pick")) return REJECT(out, "not_a_pick", "%s is not a pick list", cmd->aggregate);
  if (!jeq(state, "status", "open"))
    return REJECT(out, "pick_closed", "pick list %s is %s: it cannot change", cmd->aggregate, jstr(state, "status"));
  const char *code = jstr(cmd->data, "lot");
  const json_t *line = json_object_get(json_object_get(state, "lines"), code);
  if (!line) return REJECT(out, "not_on_pick_list", "lot %s is not on pick list %s", code, cmd->aggregate);
  json_int_t want = jint(line, "weight_g", 0), g = jint(cmd->data, "weight_g", want);
  if (g > want)
    return REJECT(out, "over_pick", "lot %s: %lld g picked, the list asks %lld g", code, (long long)g, (long long)want);
  out->state = json_deep_copy(state);
  json_object_set_new(json_object_get(json_object_get(out->state, "lines"), code), "picked_g", json_integer(g));
  fofal_decision_emit(out, EV("pick_scanned"),
                      json_pack("{s:s,s:s,s:I,s:I,s:s}", "pick_id", cmd->aggregate, "lot", code, "weight_g", g, "line_g", want,
                                "occurred_at", at));
  return 0;
}

static int pick_issue(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  char at[32];
  if (occurred(cmd, out, at)) return FOFAL_EREJECTED;
  if (!jeq(state, "kind_of", "pick")) return REJECT(out, "not_a_pick", "%s is not a pick list", cmd->aggregate);
  if (!jeq(state, "status", "open"))
    return REJECT(out, "pick_closed", "pick list %s is %s already", cmd->aggregate, jstr(state, "status"));
  const char *beam = *jstr(cmd->data, "beam") ? jstr(cmd->data, "beam") : jstr(state, "beam");
  if (!*beam) return REJECT(out, "beam_required", "pick list %s names no warping: say its beam", cmd->aggregate);
  if (!lookup_ref(cmd, "beam", beam, NULL)) return REJECT(out, "unknown_beam", "beam %s does not exist", beam);
  const char *order = jstr(state, "order_id"), *code;
  const json_t *lines = json_object_get(state, "lines"), *line;
  json_object_foreach((json_t *)lines, code, line) if (!json_object_get(line, "picked_g"))
      return REJECT(out, "not_picked", "lot %s of pick list %s was not scanned", code, cmd->aggregate);
  ledger_t lg = {json_object()};
  json_t *issued = json_array();
  json_int_t total = 0;
  json_object_foreach((json_t *)lines, code, line) {
    const char *lid = jstr(line, "lot_id");
    const json_t *lot = fofal_cmd_lookup(cmd, lid);
    json_int_t g = jint(line, "picked_g", 0), left = jint(lot, "weight_g", 0);
    json_int_t mine = jint(json_object_get(lot, "reservations"), order, 0);
    const char *err = !lot ? "unknown_lot" : quality_rejected(cmd, code) ? "lot_quarantined" : g > left ? "insufficient_stock"
                      : g > left - reserved_total(lot) + mine ? "reserved_for_another_order" : NULL;
    if (err) {
      json_decref(lg.work);
      json_decref(issued);
      return REJECT(out, err, "lot %s cannot give the %lld g picked (%s)", code, (long long)g, err);
    }
    json_t *s = json_deep_copy(lot);
    json_object_del(json_object_get(s, "picks"), cmd->aggregate);
    if (g) {
      json_object_set_new(s, "weight_g", json_integer(left - g));
      json_t *res = json_object_get(s, "reservations");
      if (mine > g) json_object_set_new(res, order, json_integer(mine - g));
      else if (mine) json_object_del(res, order);
      json_t *ev = json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:I,s:I,s:s,s:s}", "lot", code, "item", jstr(lot, "item"), "weight_g", g,
                             "beam", beam, "order_id", order, "location", jstr(lot, "location"), "remaining_g", left - g,
                             "reserved_g", reserved_total(s), "pick_id", cmd->aggregate, "occurred_at", at);
      fofal_decision_emit_to(out, lid, EV("lot_issued"), ev, s);
      ledger_change(&lg, cmd, out, jstr(lot, "location_id"), lid, code, "lot", jstr(lot, "item"), -g, "issued", at);
      json_array_append_new(issued, json_pack("{s:s,s:I}", "lot", code, "weight_g", g));
      total += g;
    } else {
      /* Nothing picked of it: its claim ends with the pick list (else it would count
       * against the order's next pick lists), its reservation stays the order's. */
      fofal_decision_emit_to(out, lid, EV("lot_unreserved"),
                             json_pack("{s:s,s:s,s:I,s:I,s:I,s:s,s:s}", "lot", code, "order_id", order, "weight_g",
                                       (json_int_t)0, "reserved_g", reserved_total(s), "free_g", left - reserved_total(s),
                                       "pick_id", cmd->aggregate, "occurred_at", at),
                             s);
    }
  }
  json_decref(lg.work);
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "status", json_string("issued"));
  json_object_set_new(out->state, "beam", json_string(beam));
  fofal_decision_emit(out, EV("pick_issued"),
                      json_pack("{s:s,s:s,s:s,s:o,s:I,s:s}", "pick_id", cmd->aggregate, "order_id", order, "beam", beam,
                                "lines", issued, "weight_g", total, "occurred_at", at));
  return 0;
}

/* A pick list that will not be issued (the order cancelled, the lots wrong): it is
 * cancelled with a reason. Each lot's claim by the list ends; with release (the default)
 * the grams the list itself reserved for the order go back to free stock — never more
 * than the order still holds there (an issue by hand may have used some); without it the
 * order keeps them. One lot_unreserved per lot, grams 0 when nothing is released. */
static int pick_cancel(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  char at[32];
  if (occurred(cmd, out, at)) return FOFAL_EREJECTED;
  if (!jeq(state, "kind_of", "pick")) return REJECT(out, "not_a_pick", "%s is not a pick list", cmd->aggregate);
  if (!jeq(state, "status", "open"))
    return REJECT(out, "pick_closed", "pick list %s is %s: it cannot be cancelled", cmd->aggregate, jstr(state, "status"));
  const char *reason = jstr(cmd->data, "reason");
  if (!reason[strspn(reason, " \t\r\n")]) return REJECT(out, "reason_required", "say why pick list %s is cancelled", cmd->aggregate);
  const json_t *rel = json_object_get(cmd->data, "release");
  int release = !rel || json_is_true(rel);
  const char *order = jstr(state, "order_id"), *code;
  const json_t *lines = json_object_get(state, "lines"), *line;
  json_t *evlines = json_array();
  json_int_t total = 0;
  json_object_foreach((json_t *)lines, code, line) {
    const char *lid = jstr(line, "lot_id");
    const json_t *lot = fofal_cmd_lookup(cmd, lid);
    if (!lot) continue; /* a lot the log no longer knows holds no claim to end */
    json_t *s = json_deep_copy(lot);
    json_object_del(json_object_get(s, "picks"), cmd->aggregate);
    json_int_t mine = jint(json_object_get(lot, "reservations"), order, 0), g = 0;
    if (release) {
      g = jint(line, "reserved_g", 0);
      if (g > mine) g = mine;
      json_t *res = json_object_get(s, "reservations");
      if (g && mine > g) json_object_set_new(res, order, json_integer(mine - g));
      else if (g) json_object_del(res, order);
    }
    json_int_t left = jint(lot, "weight_g", 0);
    fofal_decision_emit_to(out, lid, EV("lot_unreserved"),
                           json_pack("{s:s,s:s,s:I,s:I,s:I,s:s,s:s}", "lot", code, "order_id", order, "weight_g", g,
                                     "reserved_g", reserved_total(s), "free_g", left - reserved_total(s), "pick_id",
                                     cmd->aggregate, "occurred_at", at),
                           s);
    json_array_append_new(evlines, json_pack("{s:s,s:I}", "lot", code, "released_g", g));
    total += g;
  }
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "status", json_string("cancelled"));
  fofal_decision_emit(out, EV("pick_cancelled"),
                      json_pack("{s:s,s:s,s:s,s:o,s:I,s:s}", "pick_id", cmd->aggregate, "order_id", order, "reason", reason,
                                "lines", evlines, "released_g", total, "occurred_at", at));
  return 0;
}

const fofal_command_def_t fofal__inventory_stores_commands[] = {
    {"inventory.location.define", "location", 1,
     "Define a location (warehouse or bin): raw, finished, floor, quarantine or subcontractor.", location_define,
     "location"},
    {"inventory.location.set_minimum", "location", 0,
     "Set the minimum stock of an item at a location (0: none); below it, an alert event.", location_set_minimum,
     "location"},
    {"inventory.lot.receive", "lot", 1, "Receive a yarn lot into a raw-material or quarantine location.", lot_receive,
     "yarnlot"},
    {"inventory.lot.reserve", "lot", 0, "Reserve grams of a yarn lot for an order.", lot_reserve, "yarnlot"},
    {"inventory.lot.issue", "lot", 0, "Issue grams of a yarn lot to a warping (a production beam).", lot_issue, "yarnlot"},
    {"inventory.lot.move", "lot", 0, "Move a yarn lot to another location (a transfer, a return from the floor).",
     lot_move, "yarnlot"},
    {"inventory.lot.return", "lot", 0, "Return grams of a yarn lot to its supplier.", lot_return, "yarnlot"},
    {"inventory.unit.move", "label_id", 0, "Move a unit (a roll or pieces) to another location.", unit_move, NULL},
    {"inventory.carton.pack", "carton_id", 1, "Pack units of one location into a new carton.", carton_pack, NULL},
    {"inventory.pallet.build", "pallet_id", 1, "Put cartons of one location onto a new pallet with its SSCC-18.",
     pallet_build, NULL},
    {"inventory.count.open", "count_id", 1, "Open a stock count of a location.", count_open, NULL},
    {"inventory.count.record", "count_id", 0, "Record a counted holding (lot code or unit label id) and its quantity.",
     count_record, NULL},
    {"inventory.count.close", "count_id", 0, "Close a count: holdings whose count differs from the book are adjusted.",
     count_close, NULL},
    {"inventory.container.move", "container_id", 0,
     "Move a carton or a pallet as a whole: its cartons and units follow, and the ledger.", container_move, NULL},
    {"inventory.pick.create", "pick_id", 1, "Prepare yarn lots for an order's warping: a pick list, its grams reserved.",
     pick_create, NULL},
    {"inventory.pick.scan", "pick_id", 0, "Confirm a pick list's line by scanning its lot: the grams picked.", pick_scan,
     NULL},
    {"inventory.pick.issue", "pick_id", 0, "Issue what was picked to the warping's beam.", pick_issue, NULL},
    {"inventory.pick.cancel", "pick_id", 0,
     "Cancel an open pick list with a reason: its claims end, and what it reserved is freed unless release is false.",
     pick_cancel, NULL},
};
const int fofal__inventory_stores_ncommands = sizeof fofal__inventory_stores_commands / sizeof fofal__inventory_stores_commands[0];

/* ------------------------------------------- for flows.c (the reactions' deciders) */

int fofal__inventory_occurred(const fofal_cmd_t *cmd, fofal_decision_t *out, char at[32]) { return occurred(cmd, out, at); }

int fofal__inventory_kind_fits(const char *kind, const char *lkind) { return kind_fits(kind, lkind); }

const char *fofal__inventory_holding_kind(const json_t *s) { return holding_kind(s); }

void fofal__inventory_ledger_change(json_t *work, const fofal_cmd_t *cmd, fofal_decision_t *out, const char *loc_id,
                                    const char *holding_id, const char *holding, const char *kind, const char *item,
                                    json_int_t delta, const char *cause, const char *at) {
  ledger_t lg = {work};
  ledger_change(&lg, cmd, out, loc_id, holding_id, holding, kind, item, delta, cause, at);
}
