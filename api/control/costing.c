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
 *   - machine time: a loom's run time in a month (fofal-machines' shift tallies) is borne by
 *     its declarations of that month, by metres (pieces when one of them has no length):
 *     a declaration's share = its metres / the loom-month's. The loom-month's cost is each
 *     shift's run seconds × the rate in force on the shift's day / 3600 (a loom's own rate,
 *     else its type's). A loom-month without tallies has no machine cost (no_telemetry),
 *     nor one whose run time has no rate (no_rate, part_unrated);
 *   - overheads: a month's pool is shared among the month's declarations by its key: the
 *     selection bears amount × its machine seconds, metres or pieces / the month's;
 *   - subcontracting: what the priced returns of the selection's rolls cost (the
 *     subcontracting module charges good + rejected, not lost), per dispatch;
 *   - total = yarn + labour + machine + overhead + subcontracting; per piece = total / pieces declared; by
 *     grade, the graded pieces bear the whole cost alike (waste pieces carry none of their
 *     own): cost of a grade = total × its pieces / the graded pieces;
 *   - variances: actual − standard per component, the standard being the article's cost per
 *     piece × pieces declared, or per metre × metres woven. A standard has no
 *     subcontracting component: a cost with subcontracting shows it as a component of
 *     standard 0, its whole cost a variance, so that the actual equals the total.
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

/* The total of a cost's lines, per piece and per grade, and whether it is complete (the
 * yarn wholly priced and apportioned, and `machine_ok`). */
static void finish(json_t *c, int machine_ok) {
  const json_t *yarn = json_object_get(c, "yarn");
  int64_t total = 0, graded = 0, pieces = iv(c, "pieces");
  for (const char *const *k = (const char *const[]){"yarn", "labour", "machine", "overhead", "subcontracting", NULL}; *k;
       k++)
    total += iv(json_object_get(c, *k), "cost_minor");
  size_t i;
  json_t *g;
  json_array_foreach(json_object_get(c, "by_grade"), i, g) graded += iv(g, "pieces");
  json_array_foreach(json_object_get(c, "by_grade"), i, g) {
    json_object_set_new(g, "cost_per_piece_minor", json_integer(fofal__ctl_muldiv(total, 1, graded)));
    json_object_set_new(g, "cost_minor", json_integer(fofal__ctl_muldiv(total, iv(g, "pieces"), graded)));
  }
  json_object_set_new(c, "total_minor", json_integer(total));
  json_object_set_new(c, "cost_per_piece_minor", pieces > 0 ? json_integer(fofal__ctl_muldiv(total, 1, pieces)) : json_null());
  json_object_set_new(c, "complete",
                      json_boolean(iv(yarn, "unpriced_g") == 0 && iv(yarn, "unwarped_mm") == 0 && machine_ok));
}

json_t *fofal__ctl_cost(const json_t *beams, const json_t *labour, const json_t *grades, int64_t pieces) {
  int64_t yarn = 0, yarn_g = 0, unpriced_g = 0, unwarped = 0, lab = 0;
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
  json_t *by_grade = json_array();
  json_array_foreach(grades, i, l) {
    json_array_append_new(by_grade, json_pack("{s:O,s:I}", "grade", json_object_get(l, "grade"), "pieces",
                                              (json_int_t)iv(l, "pieces")));
  }
  json_t *c = json_pack("{s:{s:I,s:I,s:I,s:I,s:o},s:{s:I,s:o},s:I,s:o}", "yarn", "cost_minor", (json_int_t)yarn,
                        "weight_g", (json_int_t)yarn_g, "unpriced_g", (json_int_t)unpriced_g, "unwarped_mm",
                        (json_int_t)unwarped, "beams", out_beams, "labour", "cost_minor", (json_int_t)lab, "by_role", roles,
                        "pieces", (json_int_t)pieces, "by_grade", by_grade);
  finish(c, 1);
  return c;
}

/* The machine time of the selection's loom-months (costing.h). */
json_t *fofal__ctl_machine(const json_t *looms) {
  int64_t cost = 0, run = 0;
  int complete = 1;
  json_t *out = json_array();
  size_t i, j;
  const json_t *x, *sg;
  json_array_foreach(looms, i, x) {
    int64_t loom_run = 0, loom_cost = 0, unrated = 0, segs = (int64_t)json_array_size(json_object_get(x, "segments"));
    json_t *rates = json_array();
    json_array_foreach(json_object_get(x, "segments"), j, sg) {
      int64_t s = iv(sg, "run_s");
      const json_t *rate = json_object_get(sg, "rate_minor_per_hour");
      loom_run += s;
      if (!json_is_integer(rate)) {
        unrated += s;
        continue;
      }
      int64_t c = fofal__ctl_muldiv(s, json_integer_value(rate), 3600);
      loom_cost += c;
      json_array_append_new(rates, json_pack("{s:O,s:O,s:O,s:O,s:I,s:I}", "rate_of", json_object_get(sg, "rate_of"), "code",
                                             json_object_get(sg, "code"), "valid_from", json_object_get(sg, "valid_from"),
                                             "rate_minor_per_hour", rate, "run_s", (json_int_t)s, "cost_minor",
                                             (json_int_t)c));
    }
    /* The share: metres when every declaration of the loom-month has a length, else pieces. */
    int metres = json_is_true(json_object_get(x, "all_have_length")) && iv(x, "all_mm") > 0;
    int64_t num = metres ? iv(x, "sel_mm") : iv(x, "sel_pieces"), den = metres ? iv(x, "all_mm") : iv(x, "all_pieces");
    const char *reason = NULL;
    if (!segs)
      reason = "no_telemetry";
    else if (unrated == loom_run && !json_array_size(rates))
      reason = "no_rate";
    else if (unrated)
      reason = "part_unrated";
    if (reason) complete = 0;
    int64_t share_s = segs ? fofal__ctl_muldiv(loom_run, num, den) : 0, share_c = fofal__ctl_muldiv(loom_cost, num, den);
    run += share_s;
    cost += share_c;
    json_t *o = json_pack("{s:O,s:O,s:O,s:O,s:s,s:{s:I,s:I},s:o,s:o,s:I,s:I,s:o,s:o}", "loom", json_object_get(x, "loom"),
                          "month", json_object_get(x, "month"), "loom_type",
                          json_object_get(x, "loom_type") ? json_object_get(x, "loom_type") : json_null(), "hall",
                          json_object_get(x, "hall") ? json_object_get(x, "hall") : json_null(), "share_by",
                          metres ? "metres" : "pieces", "share", "selection", (json_int_t)num, "loom_month",
                          (json_int_t)den, "loom_run_s", segs ? json_integer(loom_run) : json_null(), "run_s",
                          segs ? json_integer(share_s) : json_null(), "loom_cost_minor", (json_int_t)loom_cost,
                          "cost_minor", (json_int_t)share_c, "rates", rates, "reason",
                          reason ? json_string(reason) : json_null());
    json_array_append_new(out, o);
  }
  return json_pack("{s:I,s:I,s:b,s:o}", "cost_minor", (json_int_t)cost, "run_s", (json_int_t)run, "complete", complete,
                   "looms", out);
}

/* The overheads the selection bears (costing.h). */
json_t *fofal__ctl_overhead(const json_t *months, const json_t *machine) {
  int64_t cost = 0;
  json_t *out = json_array();
  size_t i, j;
  const json_t *x, *p;
  json_array_foreach(months, i, x) {
    const char *month = json_string_value(json_object_get(x, "month"));
    int64_t machine_s = 0;
    json_array_foreach(json_object_get(machine, "looms"), j, p) {
      const char *m = json_string_value(json_object_get(p, "month"));
      if (m && month && !strcmp(m, month)) machine_s += iv(p, "run_s");
    }
    const json_t *sel = json_object_get(x, "selection"), *all = json_object_get(x, "month_total");
    json_t *pools = json_array();
    json_array_foreach(json_object_get(x, "pools"), j, p) {
      const char *key = json_string_value(json_object_get(p, "key"));
      int64_t base, total;
      if (key && !strcmp(key, "machine_hours")) {
        base = machine_s;
        total = iv(all, "machine_s");
      } else if (key && !strcmp(key, "metres")) {
        base = iv(sel, "mm");
        total = iv(all, "mm");
      } else {
        base = iv(sel, "pieces");
        total = iv(all, "pieces");
      }
      int64_t c = fofal__ctl_muldiv(iv(p, "amount_minor"), base, total);
      cost += c;
      json_array_append_new(pools, json_pack("{s:O,s:O,s:I,s:I,s:I,s:I,s:o}", "pool", json_object_get(p, "pool"), "key",
                                             json_object_get(p, "key"), "amount_minor", (json_int_t)iv(p, "amount_minor"),
                                             "base", (json_int_t)base, "month_total", (json_int_t)total, "cost_minor",
                                             (json_int_t)c, "reason", total > 0 ? json_null() : json_string("no_base")));
    }
    json_array_append_new(out, json_pack("{s:O,s:o}", "month", json_object_get(x, "month"), "pools", pools));
  }
  return json_pack("{s:I,s:o}", "cost_minor", (json_int_t)cost, "months", out);
}

json_t *fofal__ctl_subcontracting(const json_t *dispatches) {
  int64_t cost = 0;
  size_t i;
  const json_t *x;
  json_array_foreach(dispatches, i, x) cost += iv(x, "cost_minor");
  return json_pack("{s:I,s:o}", "cost_minor", (json_int_t)cost, "dispatches",
                   json_is_array(dispatches) ? json_deep_copy(dispatches) : json_array());
}

void fofal__ctl_cost_add(json_t *cost, json_t *machine, json_t *overhead, int machine_in_use) {
  json_object_set_new(cost, "machine", machine);
  json_object_set_new(cost, "overhead", overhead);
  finish(cost, !machine_in_use || json_is_true(json_object_get(machine, "complete")));
}

static const char *const components[] = {"yarn", "labour", "machine", "overhead", "subcontracting", NULL};

void fofal__ctl_variance(json_t *cost, const json_t *standard, int64_t length_mm) {
  if (!json_is_object(standard)) {
    json_object_set_new(cost, "standard", json_null());
    return;
  }
  const char *per = json_string_value(json_object_get(standard, "per"));
  int metre = per && !strcmp(per, "metre");
  int64_t pieces = iv(cost, "pieces"), std_total = 0, act_total = 0;
  json_t *rows = json_array();
  for (int k = 0; components[k]; k++) {
    if (!strcmp(components[k], "subcontracting") && !iv(json_object_get(cost, components[k]), "cost_minor")) continue;
    char key[32];
    snprintf(key, sizeof key, "%s_minor", components[k]);
    int64_t unit = iv(standard, key);
    int64_t std = metre ? fofal__ctl_muldiv(unit, length_mm, 1000) : unit * pieces;
    int64_t act = iv(json_object_get(cost, components[k]), "cost_minor");
    std_total += std;
    act_total += act;
    json_array_append_new(rows, json_pack("{s:s,s:I,s:I,s:I,s:I}", "component", components[k], "standard_per_unit_minor",
                                          (json_int_t)unit, "standard_minor", (json_int_t)std, "actual_minor",
                                          (json_int_t)act, "variance_minor", (json_int_t)(act - std)));
  }
  json_object_set_new(cost, "standard",
                      json_pack("{s:O,s:s,s:I,s:o,s:I,s:I,s:I}", "article", json_object_get(standard, "article"), "per",
                                metre ? "metre" : "piece", "quantity", (json_int_t)(metre ? length_mm : pieces),
                                "components", rows, "standard_minor", (json_int_t)std_total, "actual_minor",
                                (json_int_t)act_total, "variance_minor", (json_int_t)(act_total - std_total)));
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

/* The dimensions a loss row is grouped by, in sort order; a row lacks those not grouped. */
static const char *const loss_dims[] = {"loom", "hall", "shift", "month", NULL};

/* The row of src's group (its loom, hall, shift, month; absent or null: "") in `by`, made
 * when new. */
static json_t *loss_row(json_t *by, const json_t *src) {
  char key[512];
  size_t n = 0;
  for (int k = 0; loss_dims[k]; k++) {
    const char *v = json_string_value(json_object_get(src, loss_dims[k]));
    n += (size_t)snprintf(key + n, sizeof key - n, "%s|", v ? v : "");
    if (n >= sizeof key) n = sizeof key - 1;
  }
  json_t *r = json_object_get(by, key);
  if (r) return r;
  r = json_pack("{s:{s:I,s:I},s:{s:I,s:I},s:{s:I,s:I},s:{s:n},s:{s:I},s:{s:I},s:{},s:I,s:I}", "breakdowns", "stops",
                (json_int_t)0, "seconds", (json_int_t)0, "setup_adjustments", "stops", (json_int_t)0, "seconds",
                (json_int_t)0, "small_stops", "stops", (json_int_t)0, "seconds", (json_int_t)0, "reduced_speed", "seconds",
                "startup_rejects", "pieces", (json_int_t)0, "production_rejects", "pieces", (json_int_t)0, "stop_s_by_cause", "run_s",
                (json_int_t)0, "pieces_cut", (json_int_t)0);
  for (int k = 0; loss_dims[k]; k++) {
    const json_t *v = json_object_get(src, loss_dims[k]);
    if (v) json_object_set_new(r, loss_dims[k], json_deep_copy(v));
  }
  json_object_set_new(by, key, r);
  return r;
}

static int loss_cmp(const json_t *x, const json_t *y) {
  for (int k = 0; loss_dims[k]; k++) {
    const char *a = json_string_value(json_object_get(x, loss_dims[k])), *b = json_string_value(json_object_get(y, loss_dims[k]));
    int c = strcmp(a ? a : "", b ? b : "");
    if (c) return c;
  }
  return 0;
}

static void add(json_t *o, const char *k, int64_t v) {
  json_object_set_new(o, k, json_integer(json_integer_value(json_object_get(o, k)) + v));
}

int fofal__ctl_startup_reject(int64_t since_restart_s, int64_t window_min) {
  return since_restart_s >= 0 && since_restart_s <= window_min * 60;
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
    const json_t *since = json_object_get(x, "since_restart_s"), *w = json_object_get(x, "window_min");
    int startup = json_is_integer(since) &&
                  fofal__ctl_startup_reject(iv(x, "since_restart_s"),
                                            json_is_integer(w) ? iv(x, "window_min") : FOFAL_CTL_STARTUP_WINDOW_MIN);
    add(json_object_get(r, startup ? "startup_rejects" : "production_rejects"), "pieces",
        iv(x, "second_choice") + iv(x, "waste_pieces"));
    add(r, "pieces_cut", iv(x, "pieces_cut"));
  }
  /* Sorted by loom, hall, shift, month (a dimension not grouped by, or null, first). */
  const char *k;
  json_t *v, *out = json_array();
  json_object_foreach(by, k, v) json_array_append(out, v);
  size_t n = json_array_size(out);
  for (size_t a = 1; a < n; a++)
    for (size_t b = a; b > 0; b--) {
      if (loss_cmp(json_array_get(out, b - 1), json_array_get(out, b)) <= 0) break;
      json_t *t = json_incref(json_array_get(out, b - 1));
      json_array_set(out, b - 1, json_array_get(out, b));
      json_array_set_new(out, b, t);
    }
  json_decref(by);
  return out;
}
