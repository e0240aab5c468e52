/*
 * reactions.c — how the inventory module reacts to other modules' events (commands.h,
 * "reactions"). Pure functions: fofal-reactor runs them exactly once per trigger and keys,
 * ids and sends their commands; the emitting module knows nothing of them.
 *
 *   inventory.unit_on_declaration
 *       fofal.production.output_declared → inventory.unit.receive: the woven roll or
 *       pieces a weaver declared enter stock, at the loom, under the label id the
 *       declaration assigned (so the label the phone shows at once is the unit's). A
 *       declaration without a label id or with an unreadable one fails here (stage
 *       "transform" of fofal.reactions.dlq); one the decider refuses (unknown_order, a
 *       label already received) lands there too (stage "rejected"), with its trigger.
 *
 *   inventory.stock_on_cut
 *       fofal.quality.roll_cut → inventory.unit.cut: the roll leaves stock and its graded
 *       piece lots enter it at the roll's location under the follow-up label ids the cut
 *       gave them (flows.c); waste leaves with the roll.
 *   inventory.quarantine_on_rejection
 *       fofal.quality.lot_rejected → inventory.unit.quarantine (a roll or piece lot) or
 *       inventory.lot.quarantine (a yarn lot): to the tenant's quarantine location. A
 *       tenant without one (no_quarantine_location), or a lot not in stock (not_in_stock),
 *       is "does not apply": the lot stays where it is, and quality's rejection still
 *       keeps it from being packed, cut, issued or dispatched.
 *   inventory.lots_on_receipt
 *       fofal.purchasing.goods_received → inventory.receipt.stock: each accepted line in
 *       kg or g of a catalog item becomes a yarn lot (grams) in the receiving location
 *       (flows.c skips what is not a catalog yarn); refused quantities never enter. A
 *       receipt with no such line needs nothing; one of no catalog yarn does not apply
 *       (nothing_to_stock). Without a receiving location the command is refused
 *       (no_receiving_location, fofal.reactions.dlq): goods came and are not in stock.
 *   inventory.stock_on_dispatch, inventory.stock_on_return
 *       fofal.subcontracting.dispatch_sent → inventory.subcontract.out, goods_returned →
 *       inventory.subcontract.back: the units go to the subcontractor's site and come
 *       back (good home, rejected to quarantine, lost out). Subcontracting counts
 *       thousandths of pieces: whole pieces move (a fraction is not a piece).
 *
 * The build registers the folder's reactions (fofal_module_inventory_reactions) through
 * fofal_reaction_modules[].
 */
#include "commands.h"
#include "decide.h"

#include <stdio.h>

/* What the unit takes from the declaration: the same names on both sides. */
static const char *const from_declaration[] = {"order_id", "article", "loom", "weaver", "shift", "quantity", "beams",
                                               "length_m", "woven_at", NULL};

static int unit_on_declaration(const fofal_event_t *ev, fofal_reaction_out_t *out) {
  const char *label = jstr(ev->data, "label_id");
  if (!fofal_uuid_valid(label))
    return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the declaration carries no valid label id");
  if (!fofal_uuid_valid(jstr(ev->data, "order_id")) || jint(ev->data, "quantity", 0) < 1)
    return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the declaration of label %s names no order or quantity",
                     label);
  json_t *data = json_pack("{s:s,s:s}", "label_id", label, "location", "loom");
  for (int i = 0; from_declaration[i]; i++) jcopy(data, ev->data, from_declaration[i]);
  snprintf(out->type, sizeof out->type, "inventory.unit.receive");
  out->data = data;
  return FOFAL_REACT_COMMAND;
}

static int stock_on_cut(const fofal_event_t *ev, fofal_reaction_out_t *out) {
  const char *roll = jstr(ev->data, "roll");
  if (!fofal_uuid_valid(roll))
    return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the cut names no roll label id");
  const json_t *lots = json_object_get(ev->data, "lots");
  json_t *data = json_pack("{s:s,s:o,s:I}", "label_id", roll, "lots", lots ? json_deep_copy(lots) : json_array(),
                           "waste_pieces", jint(ev->data, "waste_pieces", 0));
  if (*jstr(ev->data, "cut_at")) json_object_set_new(data, "occurred_at", json_string(jstr(ev->data, "cut_at")));
  snprintf(out->type, sizeof out->type, "inventory.unit.cut");
  out->data = data;
  return FOFAL_REACT_COMMAND;
}

static int quarantine_on_rejection(const fofal_event_t *ev, fofal_reaction_out_t *out) {
  const char *kind = jstr(ev->data, "lot_kind"), *lot = jstr(ev->data, "lot");
  int unit = !strcmp(kind, "roll") || !strcmp(kind, "pieces");
  if (unit && !fofal_uuid_valid(lot))
    return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the rejected %s lot has no label id", kind);
  snprintf(out->type, sizeof out->type, unit ? "inventory.unit.quarantine" : "inventory.lot.quarantine");
  out->data = json_pack("{s:s}", unit ? "label_id" : "lot", lot);
  return FOFAL_REACT_COMMAND;
}

static int lots_on_receipt(const fofal_event_t *ev, fofal_reaction_out_t *out) {
  json_t *lines = json_array();
  size_t i;
  const json_t *l;
  json_array_foreach(json_object_get(ev->data, "lines"), i, l) {
    json_int_t milli = jint(l, "quantity_milli", 0);
    /* Thousandths of a kg are grams; of a g, a thousandth of a gram. */
    json_int_t grams = jeq(l, "unit", "kg") ? milli : jeq(l, "unit", "g") ? milli / 1000 : 0;
    if (grams <= 0 || !*jstr(l, "item")) continue;
    json_t *line = json_pack("{s:I,s:s,s:I}", "line", jint(l, "line", 0), "item", jstr(l, "item"), "weight_g", grams);
    jcopy(line, l, "supplier_lot");
    json_array_append_new(lines, line);
  }
  if (!json_array_size(lines)) {
    json_decref(lines);
    return FOFAL_REACT_NOTHING;
  }
  json_t *data = json_pack("{s:s,s:s,s:o}", "receipt_id", jstr(ev->data, "receipt_id"), "order_id",
                           jstr(ev->data, "order_id"), "lines", lines);
  jcopy(data, ev->data, "supplier");
  snprintf(out->type, sizeof out->type, "inventory.receipt.stock");
  out->data = data;
  return FOFAL_REACT_COMMAND;
}

static int stock_on_dispatch(const fofal_event_t *ev, fofal_reaction_out_t *out) {
  json_t *units = json_array();
  size_t i;
  const json_t *l;
  json_array_foreach(json_object_get(ev->data, "lots"), i, l) json_array_append_new(units, json_string(jstr(l, "label_id")));
  out->data = json_pack("{s:s,s:s,s:o}", "dispatch_id", jstr(ev->data, "dispatch_id"), "subcontractor",
                        jstr(ev->data, "subcontractor"), "units", units);
  snprintf(out->type, sizeof out->type, "inventory.subcontract.out");
  return FOFAL_REACT_COMMAND;
}

static int stock_on_return(const fofal_event_t *ev, fofal_reaction_out_t *out) {
  json_t *lines = json_array();
  size_t i;
  const json_t *l;
  json_array_foreach(json_object_get(ev->data, "lines"), i, l) {
    json_int_t good = jint(l, "good_milli", 0) / 1000, bad = jint(l, "rejected_milli", 0) / 1000,
               lost = jint(l, "lost_milli", 0) / 1000;
    if (good + bad + lost == 0) continue;
    json_array_append_new(lines, json_pack("{s:s,s:I,s:I,s:I}", "label_id", jstr(l, "label_id"), "good", good, "rejected",
                                           bad, "lost", lost));
  }
  if (!json_array_size(lines)) {
    json_decref(lines);
    return FOFAL_REACT_NOTHING;
  }
  out->data = json_pack("{s:s,s:s,s:o}", "return_id", jstr(ev->data, "return_id"), "dispatch_id",
                        jstr(ev->data, "dispatch_id"), "lines", lines);
  snprintf(out->type, sizeof out->type, "inventory.subcontract.back");
  return FOFAL_REACT_COMMAND;
}

static const char *const on_declaration[] = {"fofal.production.output_declared.v1", NULL};

static const char *const on_cut[] = {"fofal.quality.roll_cut.v1", NULL};
static const char *const on_rejection[] = {"fofal.quality.lot_rejected.v1", NULL};
static const char *const on_receipt[] = {"fofal.purchasing.goods_received.v1", NULL};
static const char *const on_dispatch[] = {"fofal.subcontracting.dispatch_sent.v1", NULL};
static const char *const on_return[] = {"fofal.subcontracting.goods_returned.v1", NULL};
/* The lot stays where it is: quality's rejection still blocks it (the file header). */
static const char *const quarantine_not_applicable[] = {"no_quarantine_location", "not_in_stock", "no_change", NULL};

/* A receipt of no catalog yarn (bags in kg, an item not in the catalog) stocks nothing. */
static const char *const receipt_not_applicable[] = {"nothing_to_stock", NULL};

static const fofal_reaction_t reactions[] = {
    {"inventory.unit_on_declaration", on_declaration, unit_on_declaration,
     "a declared roll or pieces (production) enter stock at the loom under the declaration's label id", NULL},
    {"inventory.stock_on_cut", on_cut, stock_on_cut,
     "a cut roll (quality) leaves stock and its graded piece lots enter it at its location, under their labels", NULL},
    {"inventory.quarantine_on_rejection", on_rejection, quarantine_on_rejection,
     "a lot quality rejected goes to the tenant's quarantine location", quarantine_not_applicable},
    {"inventory.lots_on_receipt", on_receipt, lots_on_receipt,
     "a purchase receipt's accepted yarn (purchasing) enters the receiving location as yarn lots", receipt_not_applicable},
    {"inventory.stock_on_dispatch", on_dispatch, stock_on_dispatch,
     "a dispatch's units (subcontracting) go to the subcontractor's site location", NULL},
    {"inventory.stock_on_return", on_return, stock_on_return,
     "a subcontracting return: good units come back, rejected ones go to quarantine, lost ones leave", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

const fofal_reaction_module_t fofal_module_inventory_reactions = {.module = "inventory", .reactions = reactions};
