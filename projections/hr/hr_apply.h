/*
 * hr_apply.h — private to projections/hr/: the apply functions of the module's files that
 * hr.c lists in the one projection "hr" (one schema, one rebuild).
 */
#ifndef FOFAL_PROJECTIONS_HR_APPLY_H
#define FOFAL_PROJECTIONS_HR_APPLY_H

#include "projections.h"

/* attendance.c */
int fofal__hr_clocked_in(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__hr_clocked_out(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__hr_absence_recorded(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);

/* pay.c */
int fofal__hr_piece_rate_set(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__hr_pay_accrued(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__hr_pay_period_closed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__hr_pay_period_accrued(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);

#endif
