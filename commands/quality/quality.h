/*
 * quality.h — the quality module's arithmetic that others may use: the 4-point system
 * (ASTM D5430, ../shared/GLOSSARY.md) in exact integers. Its deciders (quality.c) grade
 * an inspection with it; a read or a report that shows a score computes it the same way.
 *
 * Metric throughout: sizes and lengths in mm, scores in points per 100 m². The inch
 * bounds of the standard (3, 6, 9 in) are 76.2, 152.4 and 228.6 mm, compared exactly in
 * tenths of a mm. Pure functions.
 */
#ifndef FOFAL_QUALITY_H
#define FOFAL_QUALITY_H

#include <stdint.h>

/* A roll scoring more points per 100 m² than its article's threshold is 2nd choice; an
 * article without one (quality.threshold.set) gets this, the usual 40 of the trade. */
#define FOFAL_QUALITY_DEFAULT_THRESHOLD 40
/* At most this many points count per linear metre inspected. */
#define FOFAL_QUALITY_MAX_POINTS_PER_M 4

/* The points of one defect: 1 up to 3 in, 2 up to 6 in, 3 up to 9 in, 4 beyond, and 4
 * for any hole. size_mm < 1 counts as 1 mm. */
int fofal_quality_defect_points(int64_t size_mm, int hole);

/* Points per 100 m² × 100, rounded half up (1850 is 18.50): points × 10^10 ÷ (width_mm ×
 * length_mm). 0 when either dimension is not positive. Exact for every input the schemas
 * admit (points ≤ 4 × 10^4, width × length ≤ 10^12). */
int64_t fofal_quality_score_x100(int64_t points, int64_t width_mm, int64_t length_mm);

#endif
