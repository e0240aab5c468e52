/*
 * reactions.c — how the control module takes, through the log, the facts its costs,
 * yields and losses are computed from (commands.h, "reactions"). Pure functions: the
 * emitting modules know nothing of them, and control never calls them.
 *
 *   control.facts_from_events
 *       each event below → control.fact.record with the fields control needs, under a kind
 *       (schemas/control/commands/fact.record.json); the projection keeps them
 *       (projections/control/control.c) and the reads compute from them (api/control/):
 *
 *       purchasing goods_received  receipt_priced   each accepted line's unit and unit price
 *       inventory stock_received   receipt_stocked  the yarn lot each receipt line became
 *       inventory lot_issued       lot_issued       grams of a lot warped onto a beam
 *       production beam_warped     beam_warped      the beam's warped length
 *       production output_declared output_declared  a declaration: order, article, loom,
 *                                                   weaver, shift, month, when woven (at),
 *                                                   pieces, length, the warp metres of each
 *                                                   beam consumed
 *       hr pay_accrued             pay_accrued      labour of an order (weaver, cutter)
 *       quality roll_cut           roll_cut         pieces by grade, waste of a roll
 *       machines loom_running      loom_stop        a stop that ended: cause, seconds
 *       subcontracting             subcontract_     a priced return: each lot's (roll's)
 *         goods_returned             returned       cost, with the dispatch, subcontractor
 *                                                   and operation
 *
 *       An event without what its fact needs (a receipt with no priced line, a run with no
 *       stop before it, a declaration without a label id) gives nothing. The month of a
 *       fact is its shift's (YYYY-MM-DD/A) or, without one, its time's first 7 characters
 *       (UTC), or the event's own time's.
 *
 * The build registers the folder's reactions (fofal_module_control_reactions) through
 * fofal_reaction_modules[].
 */
#include "commands.h"
#include "decide.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A decimal number of metres as whole millimetres, rounded half up; -1 when absent. */
static json_int_t mm_of(const json_t *o, const char *k) {
  const json_t *v = json_object_get(o, k);
  if (!json_is_number(v) || json_number_value(v) < 0) return -1;
  return (json_int_t)llround(json_number_value(v) * 1000.0);
}

/* YYYY-MM of a shift id or a time (its first 7 characters); 0 when neither looks like one. */
static int month_of(const char *s, char month[8]) {
  if (strlen(s) < 7 || s[4] != '-') return 0;
  for (int i = 0; i < 7; i++)
    if (i != 4 && (s[i] < '0' || s[i] > '9')) return 0;
  memcpy(month, s, 7);
  month[7] = '\0';
  return 1;
}

/* 1 when s is a shift id: YYYY-MM-DD/ and a code of 1..8 letters or digits, or "-". */
static int shift_ok(const char *s) {
  size_t n = strlen(s);
  if (n < 12 || n > 19 || s[4] != '-' || s[7] != '-' || s[10] != '/') return 0;
  for (size_t i = 0; i < 10; i++)
    if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return 0;
  if (!strcmp(s + 11, "-")) return 1;
  for (size_t i = 11; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z'))) return 0;
  return 1;
}

static void set_month(json_t *f, const json_t *d, const char *const *keys) {
  char m[8];
  for (int i = 0; keys[i]; i++)
    if (month_of(jstr(d, keys[i]), m)) {
      json_object_set_new(f, "month", json_string(m));
      return;
    }
}

static void copy_code(json_t *f, const json_t *d, const char *k) {
  if (fofal_code_valid(jstr(d, k))) jcopy(f, d, k);
}

static int receipt_priced(const json_t *d, json_t *f) {
  json_t *lines = json_array();
  size_t i;
  const json_t *l;
  json_array_foreach(json_object_get(d, "lines"), i, l) {
    if (jint(l, "quantity_milli", 0) <= 0 || !*jstr(l, "unit") || !json_is_integer(json_object_get(l, "unit_price")))
      continue;
    json_t *o = json_pack("{s:I,s:s,s:I}", "line", jint(l, "line", 0), "unit", jstr(l, "unit"), "unit_price",
                          jint(l, "unit_price", 0));
    jcopy(o, l, "item");
    json_array_append_new(lines, o);
  }
  json_object_set_new(f, "lines", lines);
  jcopy(f, d, "receipt_id");
  set_month(f, d, (const char *const[]){"received_at", NULL});
  return json_array_size(lines) ? 0 : 1;
}

static int receipt_stocked(const json_t *d, json_t *f) {
  json_t *lots = json_array();
  size_t i;
  const json_t *l;
  json_array_foreach(json_object_get(d, "lots"), i, l) {
    json_array_append_new(lots, json_pack("{s:s,s:I,s:I}", "lot", jstr(l, "lot"), "line", jint(l, "line", 0),
                                          "weight_g", jint(l, "weight_g", 0)));
  }
  json_object_set_new(f, "lots", lots);
  jcopy(f, d, "receipt_id");
  return json_array_size(lots) ? 0 : 1;
}

static int lot_issued(const json_t *d, json_t *f) {
  if (!*jstr(d, "beam") || !*jstr(d, "lot")) return 1;
  jcopy(f, d, "lot");
  jcopy(f, d, "beam");
  jcopy(f, d, "weight_g");
  if (fofal_uuid_valid(jstr(d, "order_id"))) jcopy(f, d, "order_id");
  return 0;
}

static int beam_warped(const json_t *d, json_t *f) {
  json_int_t mm = mm_of(d, "length_m");
  if (mm < 0) return 1;
  jcopy(f, d, "beam");
  copy_code(f, d, "article");
  json_object_set_new(f, "length_mm", json_integer(mm));
  return 0;
}

static int output_declared(const json_t *d, json_t *f) {
  if (!fofal_uuid_valid(jstr(d, "label_id")) || !fofal_uuid_valid(jstr(d, "order_id"))) return 1;
  jcopy(f, d, "label_id");
  jcopy(f, d, "order_id");
  copy_code(f, d, "article");
  copy_code(f, d, "loom");
  copy_code(f, d, "weaver");
  jcopy(f, d, "quantity");
  json_int_t mm = mm_of(d, "length_m");
  if (mm >= 0) json_object_set_new(f, "length_mm", json_integer(mm));
  set_month(f, d, (const char *const[]){"shift", "woven_at", NULL});
  if (shift_ok(jstr(d, "shift"))) jcopy(f, d, "shift");
  /* When the roll was woven: its rejects are startup rejects after a restart (losses). */
  if (strlen(jstr(d, "woven_at")) >= 10) json_object_set_new(f, "at", json_string(jstr(d, "woven_at")));
  json_t *beams = json_array();
  size_t i;
  const json_t *b;
  json_array_foreach(json_object_get(d, "beams"), i, b) {
    json_int_t m = mm_of(b, "meters");
    if (*jstr(b, "beam") && m >= 0)
      json_array_append_new(beams, json_pack("{s:s,s:I}", "beam", jstr(b, "beam"), "meters_mm", m));
  }
  json_object_set_new(f, "beams", beams);
  return 0;
}

static int pay_accrued(const json_t *d, json_t *f) {
  if (!fofal_uuid_valid(jstr(d, "order_id"))) return 1;
  jcopy(f, d, "order_id");
  if (fofal_uuid_valid(jstr(d, "label_id"))) jcopy(f, d, "label_id");
  copy_code(f, d, "article");
  copy_code(f, d, "badge");
  json_object_set_new(f, "role", json_string(*jstr(d, "role") ? jstr(d, "role") : "weaver"));
  jcopy(f, d, "amount_minor");
  set_month(f, d, (const char *const[]){"shift", "woven_at", "cut_at", NULL});
  return 0;
}

static int roll_cut(const json_t *d, json_t *f) {
  if (!fofal_uuid_valid(jstr(d, "roll"))) return 1;
  json_object_set_new(f, "label_id", json_string(jstr(d, "roll")));
  if (fofal_uuid_valid(jstr(d, "order_id"))) jcopy(f, d, "order_id");
  copy_code(f, d, "article");
  copy_code(f, d, "loom");
  copy_code(f, d, "weaver");
  static const char *const counts[] = {"first_choice", "second_choice", "waste_pieces", "waste_mm", "waste_g", NULL};
  for (int i = 0; counts[i]; i++) json_object_set_new(f, counts[i], json_integer(jint(d, counts[i], 0)));
  json_t *lots = json_array();
  size_t i;
  const json_t *l;
  json_array_foreach(json_object_get(d, "lots"), i, l) {
    json_array_append_new(lots, json_pack("{s:s,s:I}", "grade", jstr(l, "grade"), "pieces", jint(l, "pieces", 0)));
  }
  json_object_set_new(f, "lots", lots);
  set_month(f, d, (const char *const[]){"shift", "cut_at", NULL});
  return 0;
}

static int loom_stop(const json_t *d, json_t *f) {
  const json_t *s = json_object_get(d, "stopped_s");
  if (!json_is_number(s) || !*jstr(d, "cause") || !fofal_code_valid(jstr(d, "loom"))) return 1;
  jcopy(f, d, "loom");
  jcopy(f, d, "cause");
  json_object_set_new(f, "stopped_s", json_integer((json_int_t)llround(json_number_value(s))));
  if (json_is_true(json_object_get(d, "after_breakdown"))) json_object_set_new(f, "after_breakdown", json_true());
  json_object_set_new(f, "at", json_string(jstr(d, "since")));
  set_month(f, d, (const char *const[]){"since", NULL});
  return 0;
}

/* A return of a priced dispatch: its lines' costs by label id (a lot is a roll whose
 * declaration names its order: the cost reads join them). */
static int subcontract_returned(const json_t *d, json_t *f) {
  if (!json_is_integer(json_object_get(d, "cost_minor")) || !fofal_uuid_valid(jstr(d, "dispatch_id"))) return 1;
  json_t *costs = json_array();
  size_t i;
  const json_t *l;
  json_array_foreach(json_object_get(d, "lines"), i, l) {
    if (fofal_uuid_valid(jstr(l, "label_id")) && json_is_integer(json_object_get(l, "cost_minor")))
      json_array_append_new(costs, json_pack("{s:s,s:I}", "label_id", jstr(l, "label_id"), "cost_minor",
                                             jint(l, "cost_minor", 0)));
  }
  json_object_set_new(f, "costs", costs);
  jcopy(f, d, "dispatch_id");
  jcopy(f, d, "return_id");
  copy_code(f, d, "subcontractor");
  if (*jstr(d, "operation")) jcopy(f, d, "operation");
  set_month(f, d, (const char *const[]){"returned_at", NULL});
  return json_array_size(costs) ? 0 : 1;
}

static const struct {
  const char *type, *kind, *ref;
  int (*take)(const json_t *d, json_t *f);
} sources[] = {
    {"fofal.purchasing.goods_received.v1", "receipt_priced", "receipt_id", receipt_priced},
    {"fofal.inventory.stock_received.v1", "receipt_stocked", "receipt_id", receipt_stocked},
    {"fofal.inventory.lot_issued.v1", "lot_issued", "beam", lot_issued},
    {"fofal.production.beam_warped.v1", "beam_warped", "beam", beam_warped},
    {"fofal.production.output_declared.v1", "output_declared", "label_id", output_declared},
    {"fofal.hr.pay_accrued.v1", "pay_accrued", "order_id", pay_accrued},
    {"fofal.quality.roll_cut.v1", "roll_cut", "roll", roll_cut},
    {"fofal.machines.loom_running.v1", "loom_stop", "loom", loom_stop},
    {"fofal.subcontracting.goods_returned.v1", "subcontract_returned", "return_id", subcontract_returned},
};

static int facts_from_events(const fofal_event_t *ev, fofal_reaction_out_t *out) {
  for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++) {
    if (strcmp(ev->type, sources[i].type)) continue;
    const char *ref = jstr(ev->data, sources[i].ref);
    if (!fofal_code_valid(ref)) return FOFAL_REACT_NOTHING;
    json_t *f = json_pack("{s:s,s:s,s:s}", "kind", sources[i].kind, "ref", ref, "source_event", ev->id);
    if (sources[i].take(ev->data, f)) {
      json_decref(f);
      return FOFAL_REACT_NOTHING;
    }
    /* Without a shift or time of its own, a fact is of its event's time (UTC). */
    char at[32], m[8];
    fofal_time_format(ev->time_us, at);
    if (!json_object_get(f, "month") && month_of(at, m)) json_object_set_new(f, "month", json_string(m));
    if (!strcmp(sources[i].kind, "loom_stop") && strlen(jstr(f, "at")) < 10) json_object_set_new(f, "at", json_string(at));
    snprintf(out->type, sizeof out->type, "control.fact.record");
    out->data = f;
    return FOFAL_REACT_COMMAND;
  }
  return FOFAL_REACT_NOTHING;
}

static const char *const on_facts[] = {
    "fofal.purchasing.goods_received.v1", "fofal.inventory.stock_received.v1",  "fofal.inventory.lot_issued.v1",
    "fofal.production.beam_warped.v1",    "fofal.production.output_declared.v1", "fofal.hr.pay_accrued.v1",
    "fofal.quality.roll_cut.v1",          "fofal.machines.loom_running.v1",      "fofal.subcontracting.goods_returned.v1",
    NULL};

static const fofal_reaction_t reactions[] = {
    {"control.facts_from_events", on_facts, facts_from_events,
     "receipts' prices, lots warped onto beams, declarations, pay, cuts, loom stops and priced subcontracting "
     "returns become the facts control computes costs, yields and losses from",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

const fofal_reaction_module_t fofal_module_control_reactions = {.module = "control", .reactions = reactions};
