/*
 * test_costing.c — the actual cost of declarations (api/control/costing.c), the reaction
 * that takes its facts from other modules' events (commands/control/reactions.c) and the
 * rule of control.fact.record (commands/control/control.c).
 *
 * Worked example (the README's): beam B-1 was warped 1,000 m long from two yarn lots,
 * 60 kg at 12,500 millimes/kg (750,000) and 40 kg at 13,000 (520,000): 1,270,000 for 100 kg,
 * 1,270 millimes and 100 g a metre. An order consumed 300 m of it: 381,000 of yarn, 30 kg.
 * With 90,000 of labour the order cost 471,000; 100 pieces declared: 4,710 a piece; cut into
 * 90 first and 6 second choice (4 waste), the 96 graded pieces bear it: 4,906 a piece.
 *
 * Machine time and overheads (a loom with no telemetry, an order with two beams with its
 * machine and overhead lines and its variances against a standard cost) are worked out
 * above their tests.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "commands.h"
#include "costing.h"
#include "decide.h"
#include "jsonschema.h"
#include "../production/world.h"

static json_int_t at(const json_t *o, const char *path) {
  char buf[128];
  snprintf(buf, sizeof buf, "%s", path);
  const json_t *v = o;
  for (char *k = strtok(buf, "."); k && v; k = strtok(NULL, ".")) {
    if (k[0] >= '0' && k[0] <= '9')
      v = json_array_get(v, (size_t)atoi(k));
    else
      v = json_object_get(v, k);
  }
  cr_assert(json_is_integer(v), "%s is no integer", path);
  return json_integer_value(v);
}

Test(costing, division_rounds_half_up_in_128_bits) {
  cr_expect_eq(fofal__ctl_muldiv(5, 1, 2), 3);
  cr_expect_eq(fofal__ctl_muldiv(4, 1, 3), 1);
  cr_expect_eq(fofal__ctl_muldiv(7, 0, 3), 0);
  cr_expect_eq(fofal__ctl_muldiv(7, 1, 0), 0, "nothing to divide by: 0");
  cr_expect_eq(fofal__ctl_muldiv(4000000000000LL, 4000000000LL, 8000000000LL), 2000000000000LL, "no overflow");
}

Test(costing, a_lot_costs_its_weight_at_its_unit_price) {
  cr_expect_eq(fofal__ctl_yarn_cost(60000, "kg", 12500), 750000);
  cr_expect_eq(fofal__ctl_yarn_cost(1, "kg", 12500), 13, "12.5 rounds up");
  cr_expect_eq(fofal__ctl_yarn_cost(1500, "g", 15), 22500);
  cr_expect_eq(fofal__ctl_yarn_cost(2000000, "t", 9000000), 18000000);
  cr_expect_eq(fofal__ctl_yarn_cost(1000, "piece", 10), -1, "no weight: unpriced");
  cr_expect_eq(fofal__ctl_yarn_cost(1000, NULL, 10), -1);
}

static json_t *example_beams(void) {
  return json_loads("[{\"beam\":\"B-1\",\"consumed_mm\":300000,\"warped_mm\":1000000,\"lots\":["
                    "{\"lot\":\"L1\",\"weight_g\":60000,\"unit\":\"kg\",\"unit_price\":12500},"
                    "{\"lot\":\"L2\",\"weight_g\":40000,\"unit\":\"kg\",\"unit_price\":13000}]}]",
                    0, NULL);
}

Test(costing, the_worked_example) {
  json_t *beams = example_beams(), *labour = json_loads("[{\"role\":\"weaver\",\"amount_minor\":60000},"
                                                        "{\"role\":\"cutter\",\"amount_minor\":30000}]",
                                                        0, NULL),
         *grades = json_loads("[{\"grade\":\"1\",\"pieces\":90},{\"grade\":\"2\",\"pieces\":6}]", 0, NULL);
  json_t *c = fofal__ctl_cost(beams, labour, grades, 100);
  cr_expect_eq(at(c, "yarn.beams.0.beam_cost_minor"), 1270000);
  cr_expect_eq(at(c, "yarn.beams.0.lots.1.cost_minor"), 520000, "a lot leads to its price");
  cr_expect_eq(at(c, "yarn.cost_minor"), 381000);
  cr_expect_eq(at(c, "yarn.weight_g"), 30000);
  cr_expect_eq(at(c, "labour.cost_minor"), 90000);
  cr_expect_eq(at(c, "total_minor"), 471000);
  cr_expect_eq(at(c, "cost_per_piece_minor"), 4710);
  cr_expect_eq(at(c, "by_grade.0.cost_per_piece_minor"), 4906, "471000 / 96 graded pieces");
  cr_expect_eq(at(c, "by_grade.0.cost_minor"), 441563, "471000 × 90 / 96");
  cr_expect_eq(at(c, "by_grade.1.cost_minor"), 29438);
  cr_expect(json_is_true(json_object_get(c, "complete")));
  json_decref(c);
  json_decref(beams);
  json_decref(labour);
  json_decref(grades);
}

Test(costing, an_order_with_two_beams_adds_both) {
  json_t *beams = json_loads("[{\"beam\":\"G-1\",\"consumed_mm\":100000,\"warped_mm\":1000000,\"lots\":["
                             "{\"lot\":\"L1\",\"weight_g\":50000,\"unit\":\"kg\",\"unit_price\":10000}]},"
                             "{\"beam\":\"P-1\",\"consumed_mm\":450000,\"warped_mm\":3000000,\"lots\":["
                             "{\"lot\":\"L2\",\"weight_g\":90000,\"unit\":\"kg\",\"unit_price\":20000}]}]",
                             0, NULL),
         *none = json_array();
  json_t *c = fofal__ctl_cost(beams, none, none, 10);
  cr_expect_eq(at(c, "yarn.beams.0.cost_minor"), 50000, "ground: 500,000 × 100 / 1000 m");
  cr_expect_eq(at(c, "yarn.beams.1.cost_minor"), 270000, "pile: 1,800,000 × 450 / 3000 m");
  cr_expect_eq(at(c, "yarn.cost_minor"), 320000);
  cr_expect_eq(at(c, "yarn.weight_g"), 5000 + 13500);
  cr_expect(json_is_null(json_object_get(c, "by_grade")) || json_array_size(json_object_get(c, "by_grade")) == 0);
  json_decref(c);
  json_decref(beams);
  json_decref(none);
}

Test(costing, unpriced_lots_and_unwarped_beams_make_it_incomplete) {
  json_t *beams = json_loads("[{\"beam\":\"B-1\",\"consumed_mm\":500000,\"warped_mm\":1000000,\"lots\":["
                             "{\"lot\":\"L1\",\"weight_g\":10000,\"unit\":\"kg\",\"unit_price\":10000},"
                             "{\"lot\":\"HAND\",\"weight_g\":10000,\"unit\":null,\"unit_price\":null}]},"
                             "{\"beam\":\"B-2\",\"consumed_mm\":7000,\"warped_mm\":0,\"lots\":[]}]",
                             0, NULL),
         *none = json_array();
  json_t *c = fofal__ctl_cost(beams, none, none, 0);
  cr_expect_eq(at(c, "yarn.cost_minor"), 50000, "only the priced lot costs");
  cr_expect_eq(at(c, "yarn.unpriced_g"), 5000);
  cr_expect_eq(at(c, "yarn.weight_g"), 10000, "the unpriced grams still weigh");
  cr_expect_eq(at(c, "yarn.unwarped_mm"), 7000);
  cr_expect(json_is_false(json_object_get(c, "complete")));
  cr_expect(json_is_null(json_object_get(c, "cost_per_piece_minor")), "no piece declared: no cost per piece");
  json_decref(c);
  json_decref(beams);
  json_decref(none);
}

/* --------------------------------------------------- machine time, overheads */

/* Loom L07 (rapier) in 2026-11: its tallies ran 36,000 s, 21,600 s of them at the rapier
 * rate (12,000 millimes an hour from 2026-11-01) and 14,400 s at L07's own rate (15,000 from
 * 2026-11-16): 72,000 + 60,000 = 132,000. L07 wove 400 m that month, the order 300 m of it. */
static json_t *l07(void) {
  return json_loads("[{\"loom\":\"L07\",\"month\":\"2026-11\",\"loom_type\":\"rapier\",\"hall\":\"H1\","
                    "\"sel_mm\":300000,\"sel_pieces\":100,\"all_mm\":400000,\"all_pieces\":140,\"all_have_length\":true,"
                    "\"segments\":[{\"run_s\":21600,\"rate_minor_per_hour\":12000,\"rate_of\":\"loom_type\","
                    "\"code\":\"rapier\",\"valid_from\":\"2026-11-01\"},{\"run_s\":14400,\"rate_minor_per_hour\":15000,"
                    "\"rate_of\":\"loom\",\"code\":\"L07\",\"valid_from\":\"2026-11-16\"}]}]",
                    0, NULL);
}

Test(costing, machine_time_is_the_loom_months_run_time_at_its_rates_shared_by_metres) {
  json_t *looms = l07(), *m = fofal__ctl_machine(looms);
  cr_expect_eq(at(m, "looms.0.loom_run_s"), 36000);
  cr_expect_eq(at(m, "looms.0.loom_cost_minor"), 132000, "21,600 s at 12,000/h + 14,400 s at 15,000/h");
  cr_expect_eq(at(m, "looms.0.rates.1.cost_minor"), 60000, "a rate leads to its run time");
  cr_expect_str_eq(jstr(json_array_get(json_object_get(m, "looms"), 0), "share_by"), "metres");
  cr_expect_eq(at(m, "looms.0.run_s"), 27000, "300 of the loom-month's 400 m");
  cr_expect_eq(at(m, "cost_minor"), 99000, "132,000 × 300 / 400");
  cr_expect(json_is_true(json_object_get(m, "complete")));
  json_decref(m);
  json_decref(looms);
}

Test(costing, a_loom_with_no_telemetry_has_no_machine_line_and_says_so) {
  json_t *looms = json_loads("[{\"loom\":\"L09\",\"month\":\"2026-11\",\"loom_type\":\"rapier\",\"sel_mm\":100000,"
                             "\"sel_pieces\":30,\"all_mm\":100000,\"all_pieces\":30,\"all_have_length\":true,"
                             "\"segments\":[]}]",
                             0, NULL);
  json_t *m = fofal__ctl_machine(looms);
  const json_t *l = json_array_get(json_object_get(m, "looms"), 0);
  cr_expect_str_eq(jstr(l, "reason"), "no_telemetry");
  cr_expect(json_is_null(json_object_get(l, "run_s")), "no run time known, not zero");
  cr_expect_eq(at(m, "cost_minor"), 0);
  cr_expect(json_is_false(json_object_get(m, "complete")));
  /* In a cost: incomplete once machine time is costed (some rate set), not before. */
  json_t *none = json_array(), *c = fofal__ctl_cost(none, none, none, 30);
  fofal__ctl_cost_add(c, json_incref(m), fofal__ctl_overhead(none, m), 1);
  cr_expect(json_is_false(json_object_get(c, "complete")), "a rated mill: the loom's time is missing");
  json_decref(c);
  c = fofal__ctl_cost(none, none, none, 30);
  fofal__ctl_cost_add(c, json_incref(m), fofal__ctl_overhead(none, m), 0);
  cr_expect(json_is_true(json_object_get(c, "complete")), "no rate set anywhere: machine time is not costed");
  json_decref(c);
  json_decref(none);
  json_decref(m);
  json_decref(looms);
}

Test(costing, machine_time_is_shared_by_pieces_when_a_declaration_has_no_length_and_unrated_time_says_so) {
  json_t *looms = json_loads("[{\"loom\":\"L03\",\"month\":\"2026-11\",\"sel_mm\":0,\"sel_pieces\":25,"
                             "\"all_mm\":90000,\"all_pieces\":100,\"all_have_length\":false,\"segments\":["
                             "{\"run_s\":3600,\"rate_minor_per_hour\":null},{\"run_s\":7200,\"rate_minor_per_hour\":9000,"
                             "\"rate_of\":\"loom_type\",\"code\":\"air-jet\",\"valid_from\":\"2026-11-10\"}]}]",
                             0, NULL);
  json_t *m = fofal__ctl_machine(looms);
  const json_t *l = json_array_get(json_object_get(m, "looms"), 0);
  cr_expect_str_eq(jstr(l, "share_by"), "pieces");
  cr_expect_eq(at(m, "looms.0.run_s"), 2700, "25 of 100 pieces of 10,800 s, rated or not");
  cr_expect_eq(at(m, "cost_minor"), 4500, "18,000 (2 h at 9,000) × 25 / 100");
  cr_expect_str_eq(jstr(l, "reason"), "part_unrated", "the hour before the first rate has none");
  cr_expect(json_is_false(json_object_get(m, "complete")));
  json_decref(m);
  json_decref(looms);
}

Test(costing, overheads_are_shared_by_their_key_in_the_month) {
  json_t *looms = l07(), *m = fofal__ctl_machine(looms);
  json_t *months = json_loads("[{\"month\":\"2026-11\",\"selection\":{\"mm\":300000,\"pieces\":100},"
                              "\"month_total\":{\"machine_s\":90000,\"mm\":6000000,\"pieces\":2000},\"pools\":["
                              "{\"pool\":\"ENERGY\",\"key\":\"machine_hours\",\"amount_minor\":500000},"
                              "{\"pool\":\"GENERAL\",\"key\":\"pieces\",\"amount_minor\":1000000},"
                              "{\"pool\":\"UPKEEP\",\"key\":\"metres\",\"amount_minor\":400000}]},"
                              "{\"month\":\"2026-12\",\"selection\":{\"mm\":0,\"pieces\":0},"
                              "\"month_total\":{\"machine_s\":0,\"mm\":0,\"pieces\":0},\"pools\":["
                              "{\"pool\":\"GENERAL\",\"key\":\"machine_hours\",\"amount_minor\":700000}]}]",
                              0, NULL);
  json_t *o = fofal__ctl_overhead(months, m);
  cr_expect_eq(at(o, "months.0.pools.0.base"), 27000, "the order's machine seconds that month");
  cr_expect_eq(at(o, "months.0.pools.0.cost_minor"), 150000, "500,000 × 27,000 / 90,000 s");
  cr_expect_eq(at(o, "months.0.pools.1.cost_minor"), 50000, "1,000,000 × 100 / 2,000 pieces");
  cr_expect_eq(at(o, "months.0.pools.2.cost_minor"), 20000, "400,000 × 300 / 6,000 m");
  cr_expect_eq(at(o, "months.1.pools.0.cost_minor"), 0);
  cr_expect_str_eq(jstr(json_array_get(json_object_get(json_array_get(json_object_get(o, "months"), 1), "pools"), 0),
                        "reason"),
                   "no_base", "nothing to share by: borne by no one, and said");
  cr_expect_eq(at(o, "cost_minor"), 220000);
  json_decref(o);
  json_decref(months);
  json_decref(m);
  json_decref(looms);
}

/* The README's second example: the order with two beams (ground G-1, pile P-1: 320,000 of
 * yarn), 90,000 of pay, woven on L07 (99,000 of machine time), bearing 150,000 of energy
 * (machine hours) and 50,000 of general overheads (pieces): 709,000 for 100 pieces. Against
 * the article's standard per piece (yarn 3,000, labour 1,000, machine 800, overhead 1,500). */
Test(costing, an_order_with_two_beams_with_machine_and_overhead_lines_and_its_variances) {
  json_t *beams = json_loads("[{\"beam\":\"G-1\",\"consumed_mm\":100000,\"warped_mm\":1000000,\"lots\":["
                             "{\"lot\":\"L1\",\"weight_g\":50000,\"unit\":\"kg\",\"unit_price\":10000}]},"
                             "{\"beam\":\"P-1\",\"consumed_mm\":450000,\"warped_mm\":3000000,\"lots\":["
                             "{\"lot\":\"L2\",\"weight_g\":90000,\"unit\":\"kg\",\"unit_price\":20000}]}]",
                             0, NULL),
         *labour = json_loads("[{\"role\":\"weaver\",\"amount_minor\":90000}]", 0, NULL),
         *grades = json_loads("[{\"grade\":\"1\",\"pieces\":95},{\"grade\":\"2\",\"pieces\":5}]", 0, NULL),
         *looms = l07(),
         *months = json_loads("[{\"month\":\"2026-11\",\"selection\":{\"mm\":300000,\"pieces\":100},"
                              "\"month_total\":{\"machine_s\":90000,\"mm\":6000000,\"pieces\":2000},\"pools\":["
                              "{\"pool\":\"ENERGY\",\"key\":\"machine_hours\",\"amount_minor\":500000},"
                              "{\"pool\":\"GENERAL\",\"key\":\"pieces\",\"amount_minor\":1000000}]}]",
                              0, NULL),
         *standard = json_loads("{\"article\":\"FT-1\",\"per\":\"piece\",\"yarn_minor\":3000,\"labour_minor\":1000,"
                                "\"machine_minor\":800,\"overhead_minor\":1500}",
                                0, NULL);
  json_t *c = fofal__ctl_cost(beams, labour, grades, 100);
  json_t *m = fofal__ctl_machine(looms);
  fofal__ctl_cost_add(c, m, fofal__ctl_overhead(months, m), 1);
  fofal__ctl_variance(c, standard, 300000);
  cr_expect_eq(at(c, "yarn.cost_minor"), 320000, "50,000 of the ground beam, 270,000 of the pile");
  cr_expect_eq(at(c, "machine.cost_minor"), 99000);
  cr_expect_eq(at(c, "overhead.cost_minor"), 200000);
  cr_expect_eq(at(c, "total_minor"), 709000, "yarn + labour + machine + overhead");
  cr_expect_eq(at(c, "cost_per_piece_minor"), 7090);
  cr_expect_eq(at(c, "by_grade.0.cost_minor"), 673550, "709,000 × 95 / 100 graded pieces");
  cr_expect(json_is_true(json_object_get(c, "complete")));
  cr_expect_eq(at(c, "standard.standard_minor"), 630000, "(3,000 + 1,000 + 800 + 1,500) × 100 pieces");
  cr_expect_eq(at(c, "standard.components.0.variance_minor"), 20000, "yarn: 320,000 − 300,000");
  cr_expect_eq(at(c, "standard.components.1.variance_minor"), -10000, "labour: 90,000 − 100,000");
  cr_expect_eq(at(c, "standard.components.2.variance_minor"), 19000, "machine: 99,000 − 80,000");
  cr_expect_eq(at(c, "standard.components.3.variance_minor"), 50000, "overhead: 200,000 − 150,000");
  cr_expect_eq(at(c, "standard.variance_minor"), 79000);
  json_decref(c);
  json_decref(beams);
  json_decref(labour);
  json_decref(grades);
  json_decref(looms);
  json_decref(months);
  json_decref(standard);
}

/* The same order with its rolls embroidered (README, Management control, worked example):
 * an order of 10 pieces whose yarn cost 50 000 (a tenth of a 50 kg beam at 10 000 per
 * kg) had its roll out on two dispatches: their priced returns, 3 003 + 12 000 = 15 003,
 * add to the total (65 003) and show in the variance as a component of standard 0. */
Test(costing, a_subcontracting_line_adds_to_the_total_and_the_variance) {
  json_t *beams = json_loads("[{\"beam\":\"G-1\",\"consumed_mm\":100000,\"warped_mm\":1000000,\"lots\":["
                             "{\"lot\":\"L1\",\"weight_g\":50000,\"unit\":\"kg\",\"unit_price\":10000}]}]",
                             0, NULL),
         *labour = json_loads("[]", 0, NULL), *grades = json_loads("[{\"grade\":\"1\",\"pieces\":10}]", 0, NULL),
         *subs = json_loads("[{\"dispatch_id\":\"d1\",\"subcontractor\":\"ST-B\",\"operation\":\"embroidery\","
                            "\"rolls\":1,\"returns\":2,\"cost_minor\":3003},{\"dispatch_id\":\"d2\",\"subcontractor\":"
                            "\"ST-T\",\"operation\":\"dyeing\",\"rolls\":1,\"returns\":1,\"cost_minor\":12000}]",
                            0, NULL),
         *standard = json_loads("{\"article\":\"FT-1\",\"per\":\"piece\",\"yarn_minor\":5000,\"labour_minor\":0,"
                                "\"machine_minor\":0,\"overhead_minor\":0}",
                                0, NULL),
         *none = json_loads("[]", 0, NULL);
  json_t *c = fofal__ctl_cost(beams, labour, grades, 10);
  json_object_set_new(c, "subcontracting", fofal__ctl_subcontracting(subs));
  json_t *m = fofal__ctl_machine(none);
  fofal__ctl_cost_add(c, m, fofal__ctl_overhead(none, m), 0);
  fofal__ctl_variance(c, standard, 0);
  cr_expect_eq(at(c, "yarn.cost_minor"), 50000);
  cr_expect_eq(at(c, "subcontracting.cost_minor"), 15003);
  cr_expect_eq(at(c, "subcontracting.dispatches.1.cost_minor"), 12000);
  cr_expect_eq(at(c, "total_minor"), 65003, "50,000 of yarn + 15,003 at subcontractors");
  cr_expect_eq(at(c, "cost_per_piece_minor"), 6500, "65,003 / 10 rounded half up");
  cr_expect_eq(at(c, "standard.standard_minor"), 50000, "5,000 of yarn a piece × 10");
  cr_expect_eq(at(c, "standard.components.4.standard_minor"), 0, "no standard for subcontracting");
  cr_expect_eq(at(c, "standard.components.4.variance_minor"), 15003);
  cr_expect_eq(at(c, "standard.actual_minor"), 65003, "the actual is the total");
  cr_expect_eq(at(c, "standard.variance_minor"), 15003);
  json_decref(c);
  /* Without subcontracting cost, no such component. */
  c = fofal__ctl_cost(beams, labour, grades, 10);
  json_object_set_new(c, "subcontracting", fofal__ctl_subcontracting(none));
  m = fofal__ctl_machine(none);
  fofal__ctl_cost_add(c, m, fofal__ctl_overhead(none, m), 0);
  fofal__ctl_variance(c, standard, 0);
  cr_expect_eq(json_array_size(json_object_get(json_object_get(c, "standard"), "components")), 4);
  cr_expect_eq(at(c, "total_minor"), 50000);
  json_decref(c);
  json_decref(beams);
  json_decref(labour);
  json_decref(grades);
  json_decref(subs);
  json_decref(standard);
  json_decref(none);
}

Test(costing, a_standard_per_metre_counts_the_metres_woven_and_none_gives_null) {
  json_t *none = json_array(), *labour = json_loads("[{\"role\":\"weaver\",\"amount_minor\":61000}]", 0, NULL),
         *standard = json_loads("{\"article\":\"EP-1\",\"per\":\"metre\",\"yarn_minor\":0,\"labour_minor\":210,"
                                "\"machine_minor\":0,\"overhead_minor\":0}",
                                0, NULL);
  json_t *c = fofal__ctl_cost(none, labour, none, 0);
  fofal__ctl_variance(c, standard, 290500);
  cr_expect_eq(at(c, "standard.quantity"), 290500, "millimetres woven");
  cr_expect_eq(at(c, "standard.components.1.standard_minor"), 61005, "210 × 290.5 m, rounded half up");
  cr_expect_eq(at(c, "standard.components.1.variance_minor"), -5);
  json_decref(c);
  c = fofal__ctl_cost(none, labour, none, 0);
  fofal__ctl_variance(c, NULL, 290500);
  cr_expect(json_is_null(json_object_get(c, "standard")), "no standard set: no variances");
  json_decref(c);
  json_decref(none);
  json_decref(labour);
  json_decref(standard);
}

Test(costing, yields_are_shares_of_the_pieces_cut_and_metres_per_kg) {
  json_t *r = json_pack("{s:i,s:i,s:i,s:i,s:i,s:i}", "pieces", 100, "length_mm", 290000, "yarn_g", 30000, "first_choice",
                        90, "second_choice", 6, "waste_pieces", 4);
  fofal__ctl_yield(r);
  cr_expect_float_eq(json_real_value(json_object_get(r, "first_choice_share")), 0.9, 1e-9);
  cr_expect_float_eq(json_real_value(json_object_get(r, "waste_share")), 0.04, 1e-9);
  cr_expect_float_eq(json_real_value(json_object_get(r, "metres_per_kg")), 9.667, 1e-9, "290 m / 30 kg, 3 places");
  json_decref(r);
  r = json_pack("{s:i,s:i,s:i}", "pieces", 50, "length_mm", 0, "yarn_g", 0);
  fofal__ctl_yield(r);
  cr_expect(json_is_null(json_object_get(r, "first_choice_share")), "nothing cut: no share");
  cr_expect(json_is_null(json_object_get(r, "metres_per_kg")), "no yarn known: no yield");
  json_decref(r);
  r = json_pack("{s:i,s:i,s:i}", "first_choice", 2, "second_choice", 1, "waste_pieces", 0);
  fofal__ctl_yield(r);
  cr_expect_float_eq(json_real_value(json_object_get(r, "first_choice_share")), 0.6667, 1e-9, "rounded half up");
  json_decref(r);
}

Test(losses, each_stop_falls_in_one_big_loss) {
  cr_expect_str_eq(fofal__ctl_loss_category("mechanical", 0, 300), "breakdowns", "5 min of a failure: a breakdown");
  cr_expect_str_eq(fofal__ctl_loss_category("electrical", 0, 1800), "breakdowns");
  cr_expect_str_eq(fofal__ctl_loss_category("mechanical", 0, 299), "small_stops", "shorter: a small stop");
  cr_expect_str_eq(fofal__ctl_loss_category("warp_break", 1, 60), "breakdowns", "a declared breakdown, whatever its cause");
  cr_expect_str_eq(fofal__ctl_loss_category("warp_break", 0, 1200), "small_stops", "a yarn break mended by the weaver");
  cr_expect_str_eq(fofal__ctl_loss_category("weft_break", 0, 20), "small_stops");
  cr_expect_str_eq(fofal__ctl_loss_category("other", 0, 2400), "setup_adjustments", "a long stop of no break nor failure");
  cr_expect_str_eq(fofal__ctl_loss_category("other", 0, 100), "small_stops");
  cr_expect_str_eq(fofal__ctl_loss_category(NULL, 0, 900), "setup_adjustments", "no cause: other");
}

Test(losses, reduced_speed_is_the_run_time_the_missing_picks_took) {
  /* 30 min run at 450 ppm on a loom registered at 500: 13,500 of 15,000 picks, 180 s lost. */
  cr_expect_eq(fofal__ctl_reduced_speed_s(1800, 13500, 15000), 180);
  cr_expect_eq(fofal__ctl_reduced_speed_s(1800, 15100, 15000), 0, "faster than nominal: no loss");
  cr_expect_eq(fofal__ctl_reduced_speed_s(1800, 100, 0), -1, "nominal speed not known");
}

Test(losses, looms_and_months_merge_and_sort) {
  json_t *stops = json_loads("[{\"loom\":\"L03\",\"month\":\"2026-11\",\"cause\":\"warp_break\",\"after_breakdown\":false,"
                             "\"short\":true,\"stops\":4,\"seconds\":400},"
                             "{\"loom\":\"L03\",\"month\":\"2026-11\",\"cause\":\"mechanical\",\"after_breakdown\":true,"
                             "\"short\":false,\"stops\":1,\"seconds\":3600},"
                             "{\"loom\":\"L01\",\"month\":\"2026-12\",\"cause\":\"other\",\"after_breakdown\":false,"
                             "\"short\":false,\"stops\":2,\"seconds\":1500}]",
                             0, NULL),
         *speed = json_loads("[{\"loom\":\"L03\",\"month\":\"2026-11\",\"run_s\":1800.0,\"picks\":13500,"
                             "\"theoretical_picks\":15000.0}]",
                             0, NULL),
         *rejects = json_loads("[{\"loom\":\"L03\",\"month\":\"2026-11\",\"pieces_cut\":100,\"second_choice\":6,"
                               "\"waste_pieces\":4}]",
                               0, NULL);
  json_t *l = fofal__ctl_losses(stops, speed, rejects);
  cr_assert_eq(json_array_size(l), 2);
  cr_expect_str_eq(jstr(json_array_get(l, 0), "loom"), "L01", "sorted by loom");
  cr_expect_eq(at(l, "0.setup_adjustments.seconds"), 1500);
  cr_expect(json_is_null(json_object_get(json_object_get(json_array_get(l, 0), "reduced_speed"), "seconds")));
  cr_expect_eq(at(l, "1.small_stops.stops"), 4);
  cr_expect_eq(at(l, "1.breakdowns.seconds"), 3600);
  cr_expect_eq(at(l, "1.reduced_speed.seconds"), 180);
  cr_expect_eq(at(l, "1.production_rejects.pieces"), 10, "2nd choice and waste");
  cr_expect_eq(at(l, "1.stop_s_by_cause.mechanical"), 3600);
  cr_expect_eq(at(l, "1.startup_rejects.pieces"), 0, "no time since a restart known: production rejects");
  json_decref(l);
  json_decref(stops);
  json_decref(speed);
  json_decref(rejects);
}

/* Worked example (README, Management control, Losses): a 30-minute window. L03 restarted
 * from a stop at 10:00; a roll declared woven at 10:20 (1 200 s after) has 3 rejects:
 * startup rejects; one woven at 11:00 (3 600 s, past the window: the SQL's bucket of
 * 1 801 s) has 5, and one woven before any restart known (-1) 2: production rejects. The
 * window's last second still counts; with a 15-minute window the 10:20 roll would not. */
Test(losses, rejects_of_a_roll_woven_soon_after_a_restart_are_startup_rejects) {
  cr_expect(fofal__ctl_startup_reject(1200, 30));
  cr_expect(fofal__ctl_startup_reject(1800, 30), "the window's last second");
  cr_expect_not(fofal__ctl_startup_reject(1801, 30));
  cr_expect_not(fofal__ctl_startup_reject(1200, 15));
  cr_expect_not(fofal__ctl_startup_reject(-1, 30), "no restart known");
  cr_expect(fofal__ctl_startup_reject(0, 30), "woven the second it restarted");
  json_t *none = json_array(),
         *rejects = json_loads("[{\"loom\":\"L03\",\"month\":\"2026-11\",\"since_restart_s\":1200,\"window_min\":30,"
                               "\"pieces_cut\":40,\"second_choice\":2,\"waste_pieces\":1},"
                               "{\"loom\":\"L03\",\"month\":\"2026-11\",\"since_restart_s\":1801,\"window_min\":30,"
                               "\"pieces_cut\":40,\"second_choice\":4,\"waste_pieces\":1},"
                               "{\"loom\":\"L03\",\"month\":\"2026-11\",\"since_restart_s\":-1,\"window_min\":30,"
                               "\"pieces_cut\":40,\"second_choice\":2,\"waste_pieces\":0}]",
                               0, NULL);
  json_t *l = fofal__ctl_losses(none, none, rejects);
  cr_assert_eq(json_array_size(l), 1, "one loom-month");
  cr_expect_eq(at(l, "0.startup_rejects.pieces"), 3);
  cr_expect_eq(at(l, "0.production_rejects.pieces"), 7, "5 + 2");
  cr_expect_eq(at(l, "0.pieces_cut"), 120);
  json_decref(l);
  json_decref(rejects);
  json_decref(none);
}

Test(losses, grouped_by_hall_and_shift_the_looms_add_up) {
  /* As the SQL gives them with ?by=hall,shift: the loom and month not grouped (absent). */
  json_t *stops = json_loads("[{\"hall\":\"H1\",\"shift\":\"2026-11-02/A\",\"cause\":\"warp_break\",\"after_breakdown\":"
                             "false,\"short\":true,\"stops\":3,\"seconds\":200},{\"hall\":\"H1\",\"shift\":\"2026-11-02/A\","
                             "\"cause\":\"weft_break\",\"after_breakdown\":false,\"short\":true,\"stops\":2,\"seconds\":50},"
                             "{\"hall\":\"H1\",\"shift\":null,\"cause\":\"mechanical\",\"after_breakdown\":false,"
                             "\"short\":false,\"stops\":1,\"seconds\":900}]",
                             0, NULL),
         *none = json_array(),
         *rejects = json_loads("[{\"hall\":\"H1\",\"shift\":\"2026-11-02/A\",\"pieces_cut\":40,\"second_choice\":2,"
                               "\"waste_pieces\":1}]",
                               0, NULL);
  json_t *l = fofal__ctl_losses(stops, none, rejects);
  cr_assert_eq(json_array_size(l), 2, "shift A, and the stop no tally covers");
  cr_expect(json_is_null(json_object_get(json_array_get(l, 0), "shift")), "no shift known sorts first");
  cr_expect_eq(at(l, "0.breakdowns.seconds"), 900);
  cr_expect_eq(at(l, "1.small_stops.stops"), 5, "both breaks of the hall's shift A");
  cr_expect_eq(at(l, "1.production_rejects.pieces"), 3);
  cr_expect_str_eq(jstr(json_array_get(l, 1), "hall"), "H1");
  cr_expect_null(json_object_get(json_array_get(l, 1), "loom"), "not grouped by loom");
  json_decref(l);
  json_decref(stops);
  json_decref(none);
  json_decref(rejects);
}

/* ------------------------------------------------------------ the reaction */

static const fofal_reaction_t *reaction(void) {
  const fofal_reaction_t *r = fofal_reaction_find("control.facts_from_events");
  cr_assert_not_null(r);
  return r;
}

static json_t *react(const char *type, const char *data) {
  json_t *d = json_loads(data, 0, NULL);
  cr_assert_not_null(d, "%s", data);
  int64_t at;
  cr_assert_eq(fofal_time_parse("2026-10-15T12:00:00Z", &at), 0);
  fofal_event_t ev = {.id = "0190a4b2-0000-7000-8000-0000000000f1", .type = (char *)type, .data = d, .time_us = at};
  fofal_reaction_out_t out = {0};
  int rc = reaction()->react(&ev, &out);
  json_decref(d);
  if (rc == FOFAL_REACT_NOTHING) return NULL;
  cr_assert_eq(rc, FOFAL_REACT_COMMAND, "%s", out.reason);
  cr_expect_str_eq(out.type, "control.fact.record");
  return out.data;
}

#define ORDER "0190a4b2-0000-7000-8000-00000000000a"
#define LABEL "0190a4b2-0000-7000-8000-00000000000b"

Test(facts, a_declaration_gives_its_beams_in_millimetres_and_its_shift_month) {
  json_t *f = react("fofal.production.output_declared.v1",
                    "{\"order_id\":\"" ORDER "\",\"label_id\":\"" LABEL "\",\"quantity\":50,\"length_m\":12.5,"
                    "\"weaver\":\"W01\",\"loom\":\"L03\",\"shift\":\"2026-11-30/C\",\"woven_at\":\"2026-12-01T01:00:00Z\","
                    "\"article\":\"FT-1\",\"declared_total\":50,\"beams\":[{\"beam\":\"B-1\",\"meters\":12.8}]}");
  cr_assert_not_null(f);
  cr_expect_str_eq(jstr(f, "kind"), "output_declared");
  cr_expect_str_eq(jstr(f, "ref"), LABEL);
  cr_expect_str_eq(jstr(f, "month"), "2026-11", "the shift's month, not the time's");
  cr_expect_str_eq(jstr(f, "at"), "2026-12-01T01:00:00Z", "when it was woven (startup rejects)");
  cr_expect_eq(jint(f, "length_mm", 0), 12500);
  cr_expect_eq(jint(json_array_get(json_object_get(f, "beams"), 0), "meters_mm", 0), 12800);
  json_decref(f);
}

Test(facts, a_declaration_keeps_its_shift_when_it_is_one) {
  json_t *f = react("fofal.production.output_declared.v1",
                    "{\"order_id\":\"" ORDER "\",\"label_id\":\"" LABEL "\",\"quantity\":5,\"weaver\":\"W01\","
                    "\"loom\":\"L03\",\"declared_total\":5,\"shift\":\"2026-11-30/C\"}");
  cr_assert_not_null(f);
  cr_expect_str_eq(jstr(f, "shift"), "2026-11-30/C", "yields by shift");
  json_decref(f);
  f = react("fofal.production.output_declared.v1",
            "{\"order_id\":\"" ORDER "\",\"label_id\":\"" LABEL "\",\"quantity\":5,\"weaver\":\"W01\","
            "\"loom\":\"L03\",\"declared_total\":5,\"shift\":\"2026-11-30 night\"}");
  cr_assert_not_null(f);
  cr_expect_null(json_object_get(f, "shift"), "no shift id: left out (the fact's schema would refuse it)");
  json_decref(f);
}

Test(facts, a_declaration_without_shift_nor_time_is_of_its_events_month) {
  json_t *f = react("fofal.production.output_declared.v1",
                    "{\"order_id\":\"" ORDER "\",\"label_id\":\"" LABEL "\",\"quantity\":5,\"weaver\":\"W01\","
                    "\"loom\":\"L03\",\"declared_total\":5}");
  cr_assert_not_null(f);
  cr_expect_str_eq(jstr(f, "month"), "2026-10");
  json_decref(f);
}

Test(facts, a_receipt_gives_its_priced_accepted_lines_only) {
  json_t *f = react("fofal.purchasing.goods_received.v1",
                    "{\"order_id\":\"" ORDER "\",\"receipt_id\":\"R1\",\"supplier\":\"F\",\"received_by\":\"u:a/b\","
                    "\"received_at\":\"2026-10-02T08:00:00Z\",\"status\":\"received\",\"lines\":["
                    "{\"line\":1,\"quantity_milli\":60000000,\"unit\":\"kg\",\"unit_price\":12500,\"item\":\"Y1\"},"
                    "{\"line\":2,\"quantity_milli\":0,\"refused_milli\":5000,\"unit\":\"kg\",\"unit_price\":9000}]}");
  cr_assert_not_null(f);
  cr_expect_eq(json_array_size(json_object_get(f, "lines")), 1, "a refused line has no lot to price");
  cr_expect_eq(jint(json_array_get(json_object_get(f, "lines"), 0), "unit_price", 0), 12500);
  json_decref(f);
  cr_expect_null(react("fofal.purchasing.goods_received.v1",
                       "{\"receipt_id\":\"R2\",\"lines\":[{\"line\":1,\"quantity_milli\":0,\"unit\":\"kg\"}]}"),
                 "nothing accepted: no fact");
}

Test(facts, a_run_after_a_stop_gives_the_stop_and_a_first_run_nothing) {
  json_t *f = react("fofal.machines.loom_running.v1", "{\"loom\":\"L03\",\"since\":\"2026-11-02T10:00:00Z\",\"ppm\":400,"
                                                      "\"stopped_s\":125.4,\"cause\":\"warp_break\"}");
  cr_assert_not_null(f);
  cr_expect_eq(jint(f, "stopped_s", 0), 125);
  cr_expect_str_eq(jstr(f, "month"), "2026-11");
  json_decref(f);
  cr_expect_null(react("fofal.machines.loom_running.v1", "{\"loom\":\"L03\",\"since\":\"2026-11-02T10:00:00Z\",\"ppm\":1}"));
}

Test(facts, a_priced_return_gives_each_rolls_cost_and_an_unpriced_one_nothing) {
  json_t *f = react("fofal.subcontracting.goods_returned.v1",
                    "{\"dispatch_id\":\"" ORDER "\",\"return_id\":\"" LABEL "\",\"subcontractor\":\"ST-B\","
                    "\"operation\":\"embroidery\",\"returned_at\":\"2026-11-20T10:00:00Z\",\"status\":\"closed\","
                    "\"unit_price\":1001,\"cost_minor\":1502,\"lines\":[{\"label_id\":\"" ORDER "\",\"good_milli\":1000,"
                    "\"rejected_milli\":500,\"lost_milli\":0,\"outstanding_milli\":0,\"cost_minor\":1502}]}");
  cr_assert_not_null(f);
  cr_expect_str_eq(jstr(f, "kind"), "subcontract_returned");
  cr_expect_str_eq(jstr(f, "ref"), LABEL, "the return");
  cr_expect_str_eq(jstr(f, "operation"), "embroidery");
  cr_expect_str_eq(jstr(f, "month"), "2026-11");
  cr_expect_eq(jint(json_array_get(json_object_get(f, "costs"), 0), "cost_minor", 0), 1502);
  json_decref(f);
  cr_expect_null(react("fofal.subcontracting.goods_returned.v1",
                       "{\"dispatch_id\":\"" ORDER "\",\"return_id\":\"" LABEL "\",\"subcontractor\":\"ST-B\","
                       "\"status\":\"closed\",\"lines\":[{\"label_id\":\"" ORDER "\",\"good_milli\":1000,"
                       "\"rejected_milli\":0,\"lost_milli\":0,\"outstanding_milli\":0}]}"),
                 "no price: no fact");
}

/* ---------------------------------------------------------- the fact rule */

static fofal_registry_t *reg;

static void setup(void) {
  char err[512] = "";
  cr_assert_eq(fofal_registry_load(&reg, FOFAL_SOURCE_DIR "/schemas", err, sizeof err), 0, "registry: %s", err);
  world_init(reg);
  world_as("r:control.facts_from_events", NULL);
}

static void teardown(void) {
  world_free();
  fofal_registry_free(reg);
  reg = NULL;
}

TestSuite(fact, .init = setup, .fini = teardown);

Test(fact, each_kind_has_its_fields) {
  world_ok("control.fact.record",
           json_pack("{s:s,s:s,s:s,s:s,s:i}", "kind", "lot_issued", "ref", "B-1", "lot", "L1", "beam", "B-1", "weight_g",
                     1000),
           "f1");
  world_no("control.fact.record", json_pack("{s:s,s:s,s:s,s:s}", "kind", "lot_issued", "ref", "B-1", "lot", "L1", "beam", "B-1"),
           "incomplete_fact");
  world_no("control.fact.record",
           json_pack("{s:s,s:s,s:s}", "kind", "beam_warped", "ref", "B-1", "beam", "B-1"), "incomplete_fact");
  world_no("control.fact.record",
           json_pack("{s:s,s:s,s:s,s:s,s:s}", "kind", "subcontract_returned", "ref", LABEL, "dispatch_id", ORDER,
                     "return_id", LABEL, "month", "2026-11"),
           "incomplete_fact");
  world_ok("control.fact.record",
           json_pack("{s:s,s:s,s:s,s:s,s:s,s:[{s:s,s:i}]}", "kind", "subcontract_returned", "ref", LABEL, "dispatch_id",
                     ORDER, "return_id", LABEL, "month", "2026-11", "costs", "label_id", ORDER, "cost_minor", 1502),
           "f2");
}

Test(fact, the_startup_window_is_whole_minutes_up_to_a_shift) {
  world_no("control.losses.set", json_pack("{s:s,s:i}", "settings", "default", "startup_window_min", 0), "invalid_window");
  world_no("control.losses.set", json_pack("{s:s,s:i}", "settings", "default", "startup_window_min", 481), "invalid_window");
  world_ok("control.losses.set", json_pack("{s:s,s:i}", "settings", "default", "startup_window_min", 20), "w1");
  world_ok("control.losses.set", json_pack("{s:s,s:i}", "settings", "default", "startup_window_min", 480), "w2");
}

Test(fact, a_declaration_names_a_beam_once) {
  world_no("control.fact.record",
           json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:[{s:s,s:i},{s:s,s:i}]}", "kind", "output_declared", "ref", LABEL,
                     "label_id", LABEL, "order_id", ORDER, "quantity", 5, "month", "2026-11", "beams", "beam", "B-1",
                     "meters_mm", 1000, "beam", "B-1", "meters_mm", 2000),
           "beam_twice");
}
