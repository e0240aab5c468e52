/*
 * control_sql.c — the statements of control's cost, yield and loss reads (control_sql.h):
 * they read the facts the control projection keeps (schemas/control/097_control_facts.sql)
 * and, for the reduced speed, fofal-machines' shift tallies. What the routes compute from
 * their rows is costing.c's.
 */
#include "control_sql.h"

/* The declarations a cost is of: $1 tenant, $2 order id, $3 article, $4 from, $5 to month. */
#define SEL                                                                                                            \
  "WITH sel AS (SELECT label_id, quantity, length_mm FROM control.fact_outputs WHERE tenant = $1 AND ($2::uuid IS NULL " \
  "OR order_id = $2::uuid) AND ($3::text IS NULL OR article = $3) AND ($4::text IS NULL OR month >= $4) AND ($5::text " \
  "IS NULL OR month <= $5)) "

const char fofal__control_cost_output_sql[] =
    SEL "SELECT json_build_object('declarations', count(*), 'pieces', coalesce(sum(quantity), 0)::bigint, 'length_mm', "
        "coalesce(sum(length_mm), 0)::bigint) FROM sel";

const char fofal__control_cost_beams_sql[] =
    SEL "SELECT json_build_object('beam', c.beam, 'consumed_mm', c.mm, 'warped_mm', coalesce((SELECT sum(w.length_mm) "
        "FROM control.fact_beams w WHERE w.tenant = $1 AND w.beam = c.beam), 0)::bigint, 'lots', (SELECT "
        "coalesce(json_agg(json_build_object('lot', bl.lot, 'weight_g', bl.weight_g, 'unit', r.unit, 'unit_price', "
        "r.unit_price) ORDER BY bl.lot, bl.event_id), '[]') FROM control.fact_beam_lots bl LEFT JOIN control.fact_lots fl "
        "ON fl.tenant = bl.tenant AND fl.lot = bl.lot LEFT JOIN control.fact_receipt_lines r ON r.tenant = fl.tenant AND "
        "r.receipt_id = fl.receipt_id AND r.line = fl.line WHERE bl.tenant = $1 AND bl.beam = c.beam)) FROM (SELECT "
        "ob.beam, sum(ob.meters_mm)::bigint AS mm FROM control.fact_output_beams ob JOIN sel ON sel.label_id = "
        "ob.label_id WHERE ob.tenant = $1 GROUP BY ob.beam) c ORDER BY c.beam";

const char fofal__control_cost_labour_sql[] =
    "SELECT json_build_object('role', role, 'amount_minor', sum(amount_minor)::bigint) FROM control.fact_labour WHERE "
    "tenant = $1 AND ($2::uuid IS NULL OR order_id = $2::uuid) AND ($3::text IS NULL OR article = $3) AND ($4::text IS "
    "NULL OR month >= $4) AND ($5::text IS NULL OR month <= $5) GROUP BY role ORDER BY role";

const char fofal__control_cost_grades_sql[] =
    SEL "SELECT json_build_object('grade', l.grade, 'pieces', sum(l.pieces)::bigint) FROM control.fact_cut_lots l JOIN "
        "sel ON sel.label_id = l.label_id WHERE l.tenant = $1 GROUP BY l.grade ORDER BY l.grade";

/* A loom's run time in each month the selection wove on it (fofal-machines' shift tallies,
 * read as the losses read them), by the machine rate in force on each shift's day: the
 * loom's own latest rate from a day up to the shift's, else its type's (production's
 * register); with what the selection and the whole loom-month declared, to share it. */
const char fofal__control_cost_machine_sql[] =
    SEL ", lm AS (SELECT o.loom, o.month, sum(coalesce(o.length_mm, 0))::bigint AS sel_mm, sum(o.quantity)::bigint AS "
        "sel_pieces FROM control.fact_outputs o JOIN sel ON sel.label_id = o.label_id WHERE o.tenant = $1 AND o.loom IS "
        "NOT NULL GROUP BY 1, 2) SELECT json_build_object('loom', lm.loom, 'month', lm.month, 'loom_type', pl.type, "
        "'hall', pl.hall, 'sel_mm', lm.sel_mm, 'sel_pieces', lm.sel_pieces, 'all_mm', a.mm, 'all_pieces', a.pieces, "
        "'all_have_length', a.nolen = 0, 'segments', (SELECT coalesce(json_agg(json_build_object('run_s', g.run_s, "
        "'rate_minor_per_hour', g.rate, 'rate_of', g.rate_of, 'code', g.code, 'valid_from', g.valid_from) ORDER BY "
        "g.valid_from NULLS FIRST, g.rate_of), '[]') FROM (SELECT r.rate_minor_per_hour AS rate, r.rate_of, r.code, "
        "r.valid_from, round(sum(s.run_s))::bigint AS run_s FROM machines.loom_shifts s LEFT JOIN LATERAL (SELECT "
        "mr.rate_minor_per_hour, mr.rate_of, mr.code, mr.valid_from FROM control.machine_rates mr WHERE mr.tenant = $1 AND "
        "((mr.rate_of = 'loom' AND mr.code = lm.loom) OR (mr.rate_of = 'loom_type' AND mr.code = pl.type)) AND "
        "mr.valid_from <= left(s.shift, 10)::date ORDER BY mr.rate_of = 'loom' DESC, mr.valid_from DESC LIMIT 1) r ON "
        "true WHERE s.tenant = $1 AND s.loom = lm.loom AND left(s.shift, 7) = lm.month GROUP BY 1, 2, 3, 4) g)) FROM lm "
        "LEFT JOIN production.looms pl ON pl.tenant = $1 AND pl.loom = lm.loom CROSS JOIN LATERAL (SELECT "
        "coalesce(sum(o.length_mm), 0)::bigint AS mm, coalesce(sum(o.quantity), 0)::bigint AS pieces, count(*) FILTER "
        "(WHERE o.length_mm IS NULL) AS nolen FROM control.fact_outputs o WHERE o.tenant = $1 AND o.loom = lm.loom AND "
        "o.month = lm.month) a ORDER BY lm.loom, lm.month";

/* The overhead pools of each month the selection has declarations in, with what the
 * selection and the whole month declared and the month's machine run time (of the looms
 * with declarations that month: the run time declarations bear). */
const char fofal__control_cost_overhead_sql[] =
    SEL ", mo AS (SELECT o.month, sum(coalesce(o.length_mm, 0))::bigint AS mm, sum(o.quantity)::bigint AS pieces FROM "
        "control.fact_outputs o JOIN sel ON sel.label_id = o.label_id WHERE o.tenant = $1 GROUP BY 1) SELECT "
        "json_build_object('month', mo.month, 'selection', json_build_object('mm', mo.mm, 'pieces', mo.pieces), "
        "'month_total', (SELECT json_build_object('mm', coalesce(sum(o.length_mm), 0)::bigint, 'pieces', "
        "coalesce(sum(o.quantity), 0)::bigint, 'machine_s', (SELECT coalesce(sum(x.s), 0)::bigint FROM (SELECT "
        "round(sum(s.run_s))::bigint AS s FROM machines.loom_shifts s WHERE s.tenant = $1 AND left(s.shift, 7) = mo.month "
        "AND s.loom IN (SELECT DISTINCT d.loom FROM control.fact_outputs d WHERE d.tenant = $1 AND d.month = mo.month) "
        "GROUP BY s.loom) x)) FROM control.fact_outputs o WHERE o.tenant = $1 AND o.month = mo.month), 'pools', (SELECT "
        "coalesce(json_agg(json_build_object('pool', h.pool, 'key', h.key, 'amount_minor', h.amount_minor) ORDER BY "
        "h.pool), '[]') FROM control.overheads h WHERE h.tenant = $1 AND h.month = mo.month)) FROM mo ORDER BY mo.month";

/* Whether machine time is costed at all (some rate set), and the standard cost of the
 * article asked for or of the selection's (an order's) article. */
const char fofal__control_cost_standard_sql[] =
    SEL "SELECT json_build_object('rates_in_use', EXISTS (SELECT 1 FROM control.machine_rates WHERE tenant = $1), "
        "'standard', (SELECT json_build_object('article', sc.article, 'per', sc.per, 'yarn_minor', sc.yarn_minor, "
        "'labour_minor', sc.labour_minor, 'machine_minor', sc.machine_minor, 'overhead_minor', sc.overhead_minor, "
        "'set_at', sc.set_at) FROM control.standard_costs sc WHERE sc.tenant = $1 AND sc.article = coalesce($3::text, "
        "(SELECT o.article FROM control.fact_outputs o JOIN sel ON sel.label_id = o.label_id WHERE o.tenant = $1 AND "
        "o.article IS NOT NULL ORDER BY o.article LIMIT 1))))";

/* What the selection's rolls cost at subcontractors (priced returns, by label id), per
 * dispatch: its subcontractor and operation, the rolls and returns it was charged on. */
const char fofal__control_cost_subcontracting_sql[] =
    SEL "SELECT json_build_object('dispatch_id', f.dispatch_id, 'subcontractor', min(f.subcontractor), 'operation', "
        "min(f.operation), 'rolls', count(DISTINCT f.label_id), 'returns', count(DISTINCT f.return_id), 'cost_minor', "
        "sum(f.cost_minor)::bigint) FROM control.fact_subcontracting f JOIN sel ON sel.label_id = f.label_id WHERE "
        "f.tenant = $1 GROUP BY f.dispatch_id ORDER BY min(f.month), f.dispatch_id";

/* $1 tenant, $2 article, $3 loom, $4 weaver, $5 from, $6 to, $7..$10 'true' when grouped by
 * article, loom, weaver, month, $11 by shift (the declaration's; null when its event named
 * none). A declaration's yarn: its warp metres of each beam × the
 * beam's grams over its warped length, rounded half up (as costing.c). A roll's cut belongs
 * to the declaration of its label. */
const char fofal__control_yields_sql[] =
    /* The declarations asked for, then only their beams: a beam's warped length and grams
     * are summed for the beams these rolls consumed, and each roll's yarn is a join (a
     * correlated subquery per roll summed every beam of the tenant again: 3.4 s a month on
     * a year of a 24-loom mill, ops/bench control). */
    "WITH o AS MATERIALIZED (SELECT o.label_id, o.article, o.loom, o.weaver, o.month, o.shift, o.quantity, "
    "coalesce(o.length_mm, 0) AS length_mm FROM control.fact_outputs o WHERE o.tenant = $1 AND ($2::text IS NULL OR "
    "o.article = $2) AND ($3::text IS NULL OR o.loom = $3) AND ($4::text IS NULL OR o.weaver = $4) AND ($5::text IS NULL "
    "OR o.month >= $5) AND ($6::text IS NULL OR o.month <= $6)), ob AS MATERIALIZED (SELECT ob.label_id, ob.beam, "
    "ob.meters_mm FROM control.fact_output_beams ob JOIN o ON ob.tenant = $1 AND ob.label_id = o.label_id), bw AS (SELECT "
    "beam, sum(length_mm) AS warped FROM control.fact_beams WHERE tenant = $1 AND beam IN (SELECT beam FROM ob) GROUP BY "
    "beam), bg AS (SELECT beam, sum(weight_g) AS grams FROM control.fact_beam_lots WHERE tenant = $1 AND beam IN (SELECT "
    "beam FROM ob) GROUP BY beam), y AS (SELECT ob.label_id, sum(CASE WHEN bw.warped > 0 THEN round(ob.meters_mm::numeric "
    "* coalesce(bg.grams, 0) / bw.warped) ELSE 0 END) AS yarn_g FROM ob LEFT JOIN bw ON bw.beam = ob.beam LEFT JOIN bg ON "
    "bg.beam = ob.beam GROUP BY ob.label_id), d AS (SELECT o.*, coalesce(y.yarn_g, 0) AS yarn_g FROM o LEFT JOIN y ON "
    "y.label_id = o.label_id), g AS (SELECT CASE WHEN $7::boolean THEN "
    "d.article END AS article, CASE WHEN $8::boolean THEN d.loom END AS loom, CASE WHEN $9::boolean THEN d.weaver END AS "
    "weaver, CASE WHEN $10::boolean THEN d.month END AS month, CASE WHEN $11::boolean THEN d.shift END AS shift, "
    "count(*) AS declarations, sum(d.quantity) AS pieces, "
    "sum(d.length_mm) AS length_mm, sum(d.yarn_g) AS yarn_g, count(c.label_id) AS cut_rolls, coalesce(sum(c.first_choice), "
    "0) AS first_choice, coalesce(sum(c.second_choice), 0) AS second_choice, coalesce(sum(c.waste_pieces), 0) AS "
    "waste_pieces, coalesce(sum(c.waste_mm), 0) AS waste_mm, coalesce(sum(c.waste_g), 0) AS waste_g FROM d LEFT JOIN "
    "control.fact_cuts c ON c.tenant = $1 AND c.label_id = d.label_id GROUP BY 1, 2, 3, 4, 5) SELECT json_build_object("
    "'article', article, 'loom', loom, 'weaver', weaver, 'month', month, 'shift', shift, 'declarations', declarations, 'pieces', "
    "pieces::bigint, 'length_mm', length_mm::bigint, 'yarn_g', yarn_g::bigint, 'cut_rolls', cut_rolls, 'first_choice', "
    "first_choice::bigint, 'second_choice', second_choice::bigint, 'waste_pieces', waste_pieces::bigint, 'waste_mm', "
    "waste_mm::bigint, 'waste_g', waste_g::bigint) FROM g ORDER BY article, loom, weaver, month, shift LIMIT 5001";

/* $1 tenant, $2 loom, $3 from, $4 to month, $5 hall; $6..$9 'true' when grouped by loom,
 * hall (production's register, now), shift, month. A stop's shift is the one whose tallies
 * of its loom (fofal-machines') cover the instant it ended; null when none does. */
#define LOSS_DIMS(loom, hall, shift, month)                                                                        \
  "CASE WHEN $6::boolean THEN " loom " END AS loom, CASE WHEN $7::boolean THEN " hall " END AS hall, CASE WHEN "  \
  "$8::boolean THEN " shift " END AS shift, CASE WHEN $9::boolean THEN " month " END AS month"
#define LOSS_KEYS "'loom', loom, 'hall', hall, 'shift', shift, 'month', month"
#define LOSS_HALL(loom) " LEFT JOIN production.looms pl ON pl.tenant = $1 AND pl.loom = " loom " "

const char fofal__control_loss_stops_sql[] =
    "SELECT json_build_object(" LOSS_KEYS ", 'cause', cause, 'after_breakdown', after_breakdown, 'short', short, "
    "'stops', n, 'seconds', secs) FROM (SELECT " LOSS_DIMS(
        "f.loom", "pl.hall",
        "(SELECT s.shift FROM machines.loom_shifts s WHERE s.tenant = $1 AND s.loom = f.loom AND f.at BETWEEN s.first_at "
        "AND s.last_at ORDER BY s.shift LIMIT 1)",
        "f.month") ", f.cause, f.after_breakdown, f.stopped_s < 300 AS short, count(*) AS n, sum(f.stopped_s)::bigint "
                   "AS secs FROM control.fact_stops f" LOSS_HALL("f.loom") "WHERE f.tenant = $1 AND ($2::text IS NULL OR "
                   "f.loom = $2) AND ($3::text IS NULL OR f.month >= $3) AND ($4::text IS NULL OR f.month <= $4) AND "
                   "($5::text IS NULL OR pl.hall = $5) GROUP BY 1, 2, 3, 4, 5, 6, 7) x";

/* The loom's shift tallies are fofal-machines' (module machines' read model, as the budget
 * reads accounting's entries): their run time, picks and theoretical picks. */
const char fofal__control_loss_speed_sql[] =
    "SELECT json_build_object(" LOSS_KEYS ", 'run_s', run_s, 'picks', picks, 'theoretical_picks', theo) FROM (SELECT "
    LOSS_DIMS("s.loom", "pl.hall", "s.shift", "left(s.shift, 7)") ", sum(s.run_s) AS run_s, sum(s.picks) AS picks, "
    "sum(s.theoretical_picks) AS theo FROM machines.loom_shifts s" LOSS_HALL("s.loom") "WHERE s.tenant = $1 AND ($2::text "
    "IS NULL OR s.loom = $2) AND ($3::text IS NULL OR left(s.shift, 7) >= $3) AND ($4::text IS NULL OR left(s.shift, 7) "
    "<= $4) AND ($5::text IS NULL OR pl.hall = $5) GROUP BY 1, 2, 3, 4) x";

/* A cut's rejects belong to its roll's declaration: its loom, shift and month. Each group
 * is split by how long after its loom's latest restart (the end of a stop, fact_stops.at)
 * the roll was woven, in whole seconds: -1 when no restart before it or no time of weaving
 * is known, and every value past the tenant's start-up window (control.loss_settings, 30
 * minutes when unset: FOFAL_CTL_STARTUP_WINDOW_MIN) is one bucket, window + 1 s, so that
 * a group has few rows; fofal__ctl_startup_reject decides from since_restart_s and
 * window_min. */
const char fofal__control_loss_rejects_sql[] =
    "SELECT json_build_object(" LOSS_KEYS ", 'since_restart_s', since, 'window_min', wmin, 'pieces_cut', cut, "
    "'second_choice', second, 'waste_pieces', waste) FROM (SELECT " LOSS_DIMS("r.loom", "pl.hall", "r.shift", "r.month")
    ", r.since, r.wmin, sum(r.cut)::bigint AS cut, sum(r.second)::bigint AS second, sum(r.waste)::bigint AS waste FROM "
    "(SELECT coalesce(o.loom, c.loom) AS loom, coalesce(o.month, c.month) AS month, o.shift, c.first_choice + "
    "c.second_choice + c.waste_pieces AS cut, c.second_choice AS second, c.waste_pieces AS waste, w.wmin, "
    "coalesce(least(floor(extract(epoch FROM o.woven_at - (SELECT max(s.at) FROM control.fact_stops s WHERE s.tenant = "
    "$1 AND s.loom = o.loom AND s.at <= o.woven_at))), w.wmin * 60 + 1), -1)::bigint AS since FROM control.fact_cuts c "
    "LEFT JOIN control.fact_outputs o ON o.tenant = c.tenant AND o.label_id = c.label_id CROSS JOIN (SELECT "
    "coalesce((SELECT ls.startup_window_min FROM control.loss_settings ls WHERE ls.tenant = $1), 30) AS wmin) w WHERE "
    "c.tenant = $1) r" LOSS_HALL("r.loom") "WHERE r.loom IS NOT NULL AND ($2::text IS NULL OR r.loom = $2) AND ($3::text "
    "IS NULL OR r.month >= $3) AND ($4::text IS NULL OR r.month <= $4) AND ($5::text IS NULL OR pl.hall = $5) GROUP BY "
    "1, 2, 3, 4, 5, 6) x";

/* The start-up window in force (minutes): the tenant's, or the default. */
const char fofal__control_loss_settings_sql[] =
    "SELECT json_build_object('startup_window_min', coalesce((SELECT startup_window_min FROM control.loss_settings WHERE "
    "tenant = $1), 30))";

const char *const fofal__control_read_sql[12] = {
    fofal__control_cost_output_sql,  fofal__control_cost_beams_sql,     fofal__control_cost_labour_sql,
    fofal__control_cost_grades_sql,  fofal__control_yields_sql,         fofal__control_loss_stops_sql,
    fofal__control_loss_speed_sql,   fofal__control_loss_rejects_sql,   fofal__control_cost_machine_sql,
    fofal__control_cost_overhead_sql, fofal__control_cost_standard_sql, fofal__control_cost_subcontracting_sql};
