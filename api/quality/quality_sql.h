/*
 * quality_sql.h — what other modules' reads may use of the quality read model
 * (schemas/quality/080_quality.sql): the 1st-choice share of what was cut, the quality
 * factor of OEE (GLOSSARY.md: quality = 1st-choice quantity ÷ total quantity). The
 * machines module's shift read takes it per loom and shift; quality_api.c's yields give it
 * per loom, article, weaver or shift. The rows are quality's alone to write.
 */
#ifndef FOFAL_API_QUALITY_SQL_H
#define FOFAL_API_QUALITY_SQL_H

/* The 1st-choice share (4 decimals) of the pieces cut from the rolls of `where` (SQL over
 * quality.cuts c), or NULL when none of them was cut yet. */
#define FOFAL__QUALITY_FIRST_SHARE(where)                                                                              \
  "(SELECT round(sum(c.first_choice)::numeric / nullif(sum(c.first_choice + c.second_choice + c.waste_pieces), 0), "  \
  "4) FROM quality.cuts c WHERE " where ")"

#endif
