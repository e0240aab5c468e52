/*
 * costing.c — the cost of declarations from the facts (costing.h). The rules:
 *
 *   - a yarn lot costs its weight × the unit price of the purchase receipt line it was
 *     received on (kg: weight_g × price / 1000); a lot not received on a priced receipt
 *     line, or priced in a unit that is no weight, is "unpriced": its grams are counted in
 *     unpriced_g and cost nothing, and the answer is not complete;
 *   - a beam's yarn is every lot issued to it; what it cost and weighs per millimetre is
 *     its yarn over its warped length (all the warps of the beam's code: a beam warped
 *     again adds its lots and its length);
 *   - a declaration consumes the warp metres it names of each beam: their cost is the
 *     beam's cost × consumed / warped; a beam never warped (no length) cannot be
 *     apportioned: its consumed millimetres are unwarped_mm, cost nothing, and the answer
 *     is not complete;
 *   - labour is the pay accrued for the order (weaver at the declaration, cutter and the
 *     weaver's grade premium at the cut), by role;
 *   - total = yarn + labour; per piece = total / pieces declared; by grade, the graded
 *     pieces bear the whole cost alike (waste pieces carry none of their own):
 *     cost of a grade = total × its pieces / the graded pieces.
 */
#include "costing.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int64_t fofal__ctl_muldiv(int64_t a, int64_t b, int64_t c) {
  if (c <= 0) return 0;
  __int128 n = (__int128)a * b;
  return (int64_t)((n + c / 2) / c);
}

int64_t fofal__ctl_yarn_cost(int64_t weight_g, const char *unit, int64_t unit_price) {
  if (!unit) return -1;
  if (!strcmp(unit, "kg")) return fofal__ctl_muldiv(weight_g, unit_price, 1000);
  if (!strcmp(unit, "g")) return weight_g * unit_price;
  if (!strcmp(unit, "t")) return fofal__ctl_muldiv(weight_g, unit_price, 1000000);
  return -1;
}

static int64_t iv(const json_t *o, const char *k) { return (int64_t)json_integer_value(json_object_get(o, k)); }

json_t *fofal__ctl_cost(const json_t *beams, const json_t *labour, const json_t *grades, int64_t pieces) {
  int64_t yarn = 0, yarn_g = 0, unpriced_g = 0, unwarped = 0, lab = 0, graded = 0;
  json_t *out_beams = json_array();
  size_t i, j;
  const json_t *b, *l;
  json_array_foreach(beams, i, b) {
    int64_t cost = 0, grams = 0, lot_unpriced = 0, consumed = iv(b, "consumed_mm"), warped = iv(b, "warped_mm");
    json_t *lots = json_array();
    json_array_foreach(json_object_get(b, "lots"), j, l) {
      int64_t w = iv(l, "weight_g");
      int64_t c = json_is_integer(json_object_get(l, "unit_price"))
                      ? fofal__ctl_yarn_cost(w, json_string_value(json_object_get(l, "unit")), iv(l, "unit_price"))
                      : -1;
      grams += w;
      if (c < 0)
        lot_unpriced += w;
      else
        cost += c;
      const json_t *unit = json_object_get(l, "unit"), *price = json_object_get(l, "unit_price");
      json_array_append_new(lots, json_pack("{s:O,s:I,s:O,s:O,s:o}", "lot", json_object_get(l, "lot"), "weight_g",
                                            (json_int_t)w, "unit", unit ? unit : json_null(), "unit_price",
                                            price ? price : json_null(), "cost_minor",
                                            c < 0 ? json_null() : json_integer(c)));
    }
    int64_t used_cost = fofal__ctl_muldiv(cost, consumed, warped), used_g = fofal__ctl_muldiv(grams, consumed, warped),
            used_unpriced = fofal__ctl_muldiv(lot_unpriced, consumed, warped);
    if (warped <= 0) unwarped += consumed;
    yarn += used_cost;
    yarn_g += used_g;
    unpriced_g += used_unpriced;
    json_array_append_new(out_beams,
                          json_pack("{s:O,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "beam", json_object_get(b, "beam"), "consumed_mm",
                                    (json_int_t)consumed, "warped_mm", (json_int_t)warped, "beam_yarn_g", (json_int_t)grams,
                                    "beam_cost_minor", (json_int_t)cost, "weight_g", (json_int_t)used_g, "cost_minor",
                                    (json_int_t)used_cost, "lots", lots));
  }
  json_t *roles = json_array();
  json_array_foreach(labour, i, l) {
    lab += iv(l, "amount_minor");
    json_array_append_new(roles, json_pack("{s:O,s:I}", "role", json_object_get(l, "role"), "amount_minor",
                                           (json_int_t)iv(l, "amount_minor")));
  }
  int64_t total = yarn + lab;
  json_array_foreach(grades, i, l) graded += iv(l, "pieces");
  json_t *by_grade = json_array();
  json_array_foreach(grades, i, l) {
    int64_t p = iv(l, "pieces");
    json_array_append_new(by_grade, json_pack("{s:O,s:I,s:I,s:I}", "grade", json_object_get(l, "grade"), "pieces",
                                              (json_int_t)p, "cost_per_piece_minor",
                                              (json_int_t)fofal__ctl_muldiv(total, 1, graded), "cost_minor",
                                              (json_int_t)fofal__ctl_muldiv(total, p, graded)));
  }
  return json_pack("{s:{s:I,s:I,s:I,s:I,s:o},s:{s:I,s:o},s:I,s:I,s:o,s:o,s:b}", "yarn", "cost_minor", (json_int_t)yarn,
                   "weight_g", (json_int_t)yarn_g, "unpriced_g", (json_int_t)unpriced_g, "unwarped_mm",
                   (json_int_t)unwarped, "beams", out_beams, "labour", "cost_minor", (json_int_t)lab, "by_role", roles,
                   "total_minor", (json_int_t)total, "pieces", (json_int_t)pieces, "cost_per_piece_minor",
                   pieces > 0 ? json_integer(fofal__ctl_muldiv(total, 1, pieces)) : json_null(), "by_grade", by_grade,
                   "complete", unpriced_g == 0 && unwarped == 0);
}

/* n / d rounded to `places` decimal places, or null when d is 0. */
static json_t *ratio(int64_t n, int64_t d, int places) {
  if (d <= 0) return json_null();
  double scale = pow(10.0, places);
  return json_real((double)fofal__ctl_muldiv(n, (int64_t)scale, d) / scale);
}

void fofal__ctl_yield(json_t *row) {
  int64_t first = iv(row, "first_choice"), second = iv(row, "second_choice"), waste = iv(row, "waste_pieces");
  int64_t cut = first + second + waste;
  json_object_set_new(row, "first_choice_share", ratio(first, cut, 4));
  json_object_set_new(row, "waste_share", ratio(waste, cut, 4));
  json_object_set_new(row, "metres_per_kg", ratio(iv(row, "length_mm"), iv(row, "yarn_g"), 3));
}

const char *fofal__ctl_loss_category(const char *cause, int after_breakdown, int64_t stopped_s) {
  if (!cause) cause = "other";
  int long_stop = stopped_s >= FOFAL_CTL_SMALL_STOP_S;
  if (after_breakdown || (long_stop && (!strcmp(cause, "mechanical") || !strcmp(cause, "electrical"))))
    return "breakdowns";
  if (long_stop && strcmp(cause, "warp_break") && strcmp(cause, "weft_break")) return "setup_adjustments";
  return "small_stops";
}

int64_t fofal__ctl_reduced_speed_s(double run_s, double picks, double theoretical) {
  if (theoretical <= 0) return -1;
  double lost = run_s * (1.0 - picks / theoretical);
  return lost <= 0 ? 0 : (int64_t)llround(lost);
}

/* The row of (loom, month) in `by`, made when new. */
static json_t *loss_row(json_t *by, const json_t *src) {
  const char *loom = json_string_value(json_object_get(src, "loom")), *month = json_string_value(json_object_get(src, "month"));
  char key[160];
  snprintf(key, sizeof key, "%s|%s", month ? month : "", loom ? loom : "");
  json_t *r = json_object_get(by, key);
  if (r) return r;
  r = json_pack("{s:s,s:s,s:{s:I,s:I},s:{s:I,s:I},s:{s:I,s:I},s:{s:n},s:{s:n},s:{s:I},s:{},s:I,s:I}", "loom",
                loom ? loom : "", "month", month ? month : "", "breakdowns", "stops", (json_int_t)0, "seconds",
                (json_int_t)0, "setup_adjustments", "stops", (json_int_t)0, "seconds", (json_int_t)0, "small_stops",
                "stops", (json_int_t)0, "seconds", (json_int_t)0, "reduced_speed", "seconds", "startup_rejects",
                "pieces", "production_rejects", "pieces", (json_int_t)0, "stop_s_by_cause", "run_s", (json_int_t)0,
                "pieces_cut", (json_int_t)0);
  json_object_set_new(by, key, r);
  return r;
}

static void add(json_t *o, const char *k, int64_t v) {
  json_object_set_new(o, k, json_integer(json_integer_value(json_object_get(o, k)) + v));
}

json_t *fofal__ctl_losses(const json_t *stops, const json_t *speed, const json_t *rejects) {
  json_t *by = json_object();
  size_t i;
  const json_t *x;
  json_array_foreach(stops, i, x) {
    json_t *r = loss_row(by, x);
    const char *cause = json_string_value(json_object_get(x, "cause"));
    int64_t secs = iv(x, "seconds");
    /* A group of stops all shorter than the threshold (short) or all at least as long. */
    const char *cat = fofal__ctl_loss_category(cause, json_is_true(json_object_get(x, "after_breakdown")),
                                               json_is_true(json_object_get(x, "short")) ? 0 : FOFAL_CTL_SMALL_STOP_S);
    json_t *c = json_object_get(r, cat);
    add(c, "stops", iv(x, "stops"));
    add(c, "seconds", secs);
    add(json_object_get(r, "stop_s_by_cause"), cause ? cause : "other", secs);
  }
  json_array_foreach(speed, i, x) {
    json_t *r = loss_row(by, x);
    double run = json_number_value(json_object_get(x, "run_s"));
    int64_t lost = fofal__ctl_reduced_speed_s(run, json_number_value(json_object_get(x, "picks")),
                                              json_number_value(json_object_get(x, "theoretical_picks")));
    json_object_set_new(r, "run_s", json_integer((json_int_t)llround(run)));
    if (lost >= 0) json_object_set_new(json_object_get(r, "reduced_speed"), "seconds", json_integer(lost));
  }
  json_array_foreach(rejects, i, x) {
    json_t *r = loss_row(by, x);
    add(json_object_get(r, "production_rejects"), "pieces", iv(x, "second_choice") + iv(x, "waste_pieces"));
    add(r, "pieces_cut", iv(x, "pieces_cut"));
  }
  /* Sorted by loom, then month. */
  const char *k;
  json_t *v, *keys = json_array();
  json_object_foreach(by, k, v) json_array_append_new(keys, json_pack("[s,s,s]", json_string_value(json_object_get(v, "loom")), json_string_value(json_object_get(v, "month")), k));
  size_t n = json_array_size(keys);
  for (size_t a = 1; a < n; a++)
    for (size_t b = a; b > 0; b--) {
      const json_t *p = json_array_get(keys, b - 1), *q = json_array_get(keys, b);
      int c = strcmp(json_string_value(json_array_get(p, 0)), json_string_value(json_array_get(q, 0)));
      if (!c) c = strcmp(json_string_value(json_array_get(p, 1)), json_string_value(json_array_get(q, 1)));
      if (c <= 0) break;
      json_t *t = json_incref(json_array_get(keys, b - 1));
      json_array_set(keys, b - 1, json_array_get(keys, b));
      json_array_set_new(keys, b, t);
    }
  json_t *out = json_array();
  json_array_foreach(keys, i, x) json_array_append(out, json_object_get(by, json_string_value(json_array_get(x, 2))));
  json_decref(keys);
  json_decref(by);
  return out;
}
