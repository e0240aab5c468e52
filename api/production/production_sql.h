/*
 * production_sql.h — what other modules' reads may use of the production read model: SQL
 * fragments for a loom's measured efficiency and a mounted beam's run-out, so that every
 * read answers them by the same formulas (GLOSSARY.md; weaving_api.c's header says where
 * the figures come from). weaving_api.c uses them, and so does the maintenance module's
 * mechanic view (api/maintenance/maintenance_api.c), which joins production's tables for
 * the beams running out and the looms whose first piece is due: a read may join another
 * module's schema; nothing but production's projection writes it.
 *
 * They read production.looms, production.beams, catalog.articles and machines.loom_shifts
 * (as fofal_reader, the tenant set: row-level security).
 */
#ifndef FOFAL_API_PRODUCTION_SQL_H
#define FOFAL_API_PRODUCTION_SQL_H

/* The measured efficiency of the loom of row `r` (r.tenant, r.loom) over its shift tallies
 * of the last 24 hours (machines.loom_shifts; see the file header), at most 1; NULL
 * without telemetry. */
#define MEASURED_EFFICIENCY(r)                                                                                         \
  "(SELECT CASE WHEN sum(ms.nominal_picks) > 0 THEN round(least(1, sum(ms.picks) / sum(ms.nominal_picks))::numeric, " \
  "4) END FROM machines.loom_shifts ms WHERE ms.tenant = " r ".tenant AND ms.loom = " r ".loom AND ms.last_at > "      \
  "now() - interval '24 hours')"

/* Production m/h of loom l with article a (NULL when a factor is unknown). */
#define M_PER_H(l, a)                                                                                                  \
  "CASE WHEN " a ".picks_per_cm > 0 THEN round(" l ".nominal_ppm * 60 * " MEASURED_EFFICIENCY(l)                \
  " / (" a ".picks_per_cm * 100), 3) END"

/* A mounted beam's warp use per hour on its loom (bw.w; NULL when a factor is unknown):
 * LEFT JOIN LATERAL this ON true, after production.beams b. */
#define BEAM_WARP_USE                                                                                                  \
  "(SELECT round(l2.nominal_ppm * 60 * " MEASURED_EFFICIENCY("l2") " / (a2.picks_per_cm * 100) * (1 + "          \
  "b.take_up_pct / 100), 4) AS w FROM production.looms l2 JOIN catalog.articles a2 ON a2.tenant = l2.tenant AND "   \
  "a2.article = l2.article WHERE l2.tenant = b.tenant AND l2.loom = b.loom AND b.status = 'mounted' AND "             \
  "a2.picks_per_cm > 0 AND l2.nominal_ppm > 0) bw"
#define BEAM_FROM "production.beams b LEFT JOIN LATERAL " BEAM_WARP_USE " ON true"
#define BEAM_RUNOUT_AT                                                                                                 \
  "CASE WHEN bw.w > 0 THEN b.runout_from + interval '1 second' * round(b.meters_left / bw.w * 3600)::float8 END"

#endif
