/*
 * costing.h — the formulas of the cost reads (api/control/control_api.c), pure functions
 * with unit tests (tests/unit/control/test_costing.c). Money in integer minor units,
 * weights in grams, lengths in millimetres; every division rounds half up.
 */
#ifndef FOFAL_CONTROL_COSTING_H
#define FOFAL_CONTROL_COSTING_H

#include <jansson.h>
#include <stdint.h>

/* a × b / c rounded half up (a, b ≥ 0, c > 0; 0 when c ≤ 0), exact in 128 bits. */
int64_t fofal__ctl_muldiv(int64_t a, int64_t b, int64_t c);
/* What weight_g of yarn cost at unit_price minor units per `unit` (kg, g or t); -1 when the
 * unit is no weight (the lot cannot be costed). */
int64_t fofal__ctl_yarn_cost(int64_t weight_g, const char *unit, int64_t unit_price);
/* The cost of a selection of declarations (an order's, an article's over a period):
 *   beams  [{beam, consumed_mm, warped_mm, lots:[{lot, weight_g, unit|null, unit_price|null}]}]
 *   labour [{role, amount_minor}]
 *   grades [{grade, pieces}] (of the cuts of the selection's rolls)
 *   pieces the pieces declared
 * → {yarn:{cost_minor, weight_g, unpriced_g, unwarped_mm, beams:[…]}, labour:{cost_minor,
 *   by_role}, total_minor, pieces, cost_per_piece_minor, by_grade:[{grade, pieces,
 *   cost_per_piece_minor, cost_minor}], complete}. Steals none of its arguments. */
json_t *fofal__ctl_cost(const json_t *beams, const json_t *labour, const json_t *grades, int64_t pieces);

/* Machine time of the selection, per loom and month it was woven on:
 *   looms [{loom, month, loom_type, hall, sel_mm, sel_pieces (the selection's declarations
 *          on it that month), all_mm, all_pieces, all_have_length (all of the loom's
 *          declarations that month), segments:[{run_s, rate_minor_per_hour|null, rate_of,
 *          code, valid_from}] (its shift tallies' run seconds by the rate in force; none: no
 *          telemetry)}]
 * → {cost_minor, run_s, complete, looms:[{loom, month, loom_type, hall, share_by (metres or
 *   pieces), share:{selection, loom_month}, loom_run_s, run_s, loom_cost_minor, cost_minor,
 *   rates:[…], reason: null | no_telemetry | no_rate | part_unrated}]}. Steals none. */
json_t *fofal__ctl_machine(const json_t *looms);
/* Overheads of the selection, per month it has declarations in:
 *   months [{month, pools:[{pool, key, amount_minor}], selection:{mm, pieces},
 *           month_total:{machine_s, mm, pieces}}], machine: fofal__ctl_machine's answer (the
 *   selection's machine seconds per month)
 * → {cost_minor, months:[{month, pools:[{pool, key, amount_minor, base, month_total,
 *   cost_minor, reason: null | no_base}]}]}: a pool's cost = amount × base / month_total.
 *   Steals none. */
json_t *fofal__ctl_overhead(const json_t *months, const json_t *machine);
/* The subcontracting line of the selection, from its priced returns per dispatch:
 *   dispatches [{dispatch_id, subcontractor, operation, rolls, returns, cost_minor}]
 * → {cost_minor (their sum), dispatches (a copy)}. Set it as cost.subcontracting before
 * fofal__ctl_cost_add, which counts it in the total. Steals none. */
json_t *fofal__ctl_subcontracting(const json_t *dispatches);
/* Adds the machine and overhead lines (stolen) to a fofal__ctl_cost answer and recomputes
 * its total, per piece, per grade and complete (false also when machine time is in use —
 * some rate is set — and a loom-month could not be costed). */
void fofal__ctl_cost_add(json_t *cost, json_t *machine, json_t *overhead, int machine_in_use);
/* Sets cost.standard: null without a standard, else {article, per, quantity (pieces, or
 * millimetres woven), components:[{component, standard_per_unit_minor, standard_minor,
 * actual_minor, variance_minor}] for yarn, labour, machine, overhead and, when the cost has
 * any, subcontracting (the standard has no such component: its standard is 0), standard_minor,
 * actual_minor, variance_minor}: standard = per piece × pieces, or per metre × length_mm /
 * 1000; variance = actual − standard. standard is {article, per, yarn_minor, labour_minor,
 * machine_minor, overhead_minor} (borrowed). */
void fofal__ctl_variance(json_t *cost, const json_t *standard, int64_t length_mm);

/* The yields of a group of declarations, added to its row: from the sums pieces, length_mm,
 * yarn_g (what its declarations consumed of their beams) and, of its cut rolls,
 * first_choice, second_choice and waste_pieces:
 *   first_choice_share = first / (first + second + waste), waste_share = waste / the same
 *   (4 places; null when nothing was cut), metres_per_kg = length_mm / yarn_g (3 places;
 *   null without yarn). */
void fofal__ctl_yield(json_t *row);

/* OEE's six big losses (README "Management control", "Losses"). A stop is a breakdown when
 * it was declared one (after_breakdown) or is mechanical or electrical and lasted at least
 * FOFAL_CTL_SMALL_STOP_S; a set-up or adjustment when its cause is "other" and it lasted
 * that long; else (shorter, or a warp or weft break) a small stop. */
#define FOFAL_CTL_SMALL_STOP_S 300
const char *fofal__ctl_loss_category(const char *cause, int after_breakdown, int64_t stopped_s);
/* Seconds of run lost to reduced speed: run_s × (1 − picks / theoretical picks), rounded,
 * at least 0; -1 when the theoretical picks are not known (0). */
int64_t fofal__ctl_reduced_speed_s(double run_s, double picks, double theoretical);
/* Startup rejects: a roll's rejects are startup rejects when it was woven at most
 * window_min minutes after its loom restarted from a stop: 0 ≤ since_restart_s ≤
 * window_min × 60; since_restart_s < 0 means no restart known before it (or no time of
 * weaving): production rejects. The window is the tenant's (control.losses.set), this
 * default until set. */
#define FOFAL_CTL_STARTUP_WINDOW_MIN 30
int fofal__ctl_startup_reject(int64_t since_restart_s, int64_t window_min);
/* The losses per loom and month, sorted by both, from
 *   stops   [{loom, month, cause, after_breakdown, short, stops, seconds}]
 *   speed   [{loom, month, run_s, picks, theoretical_picks}]
 *   rejects [{loom, month, since_restart_s (-1: none known), window_min, pieces_cut,
 *            second_choice, waste_pieces}]
 * → [{loom, month, breakdowns:{stops, seconds}, setup_adjustments, small_stops,
 *   reduced_speed:{seconds|null}, startup_rejects:{pieces}, production_rejects:{pieces},
 *   stop_s_by_cause, run_s, pieces_cut}]: a rejects row's 2nd choice and waste pieces go
 *   to startup_rejects when fofal__ctl_startup_reject says so, else to production_rejects.
 *   Steals none. */
json_t *fofal__ctl_losses(const json_t *stops, const json_t *speed, const json_t *rejects);

/* The actual cost of an order (params[1]) or an article (params[2]) over the months
 * params[3]..params[4] (NULL: open) from the read model, as GET .../cost answers it
 * (control_api.c): *body new (with "labour_rows", the pay rows it counted) and *output
 * new (the declarations: [{declarations, pieces, length_mm}]). 0, or an error with err. */
typedef struct fofal_worker fofal_worker_t;
int fofal__ctl_cost_query(fofal_worker_t *w, const char *tenant, const char *const params[5], json_t **body,
                          json_t **output, char *err, size_t errlen);

#endif
