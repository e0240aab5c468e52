/*
 * weaving.h — private to projections/production/ (and its tests): what production.c and
 * weaving.c share, the two halves of the "production" projection.
 */
#ifndef FOFAL_PROJECTIONS_WEAVING_H
#define FOFAL_PROJECTIONS_WEAVING_H

#include "projections.h"

/* The weaving floor's apply functions (weaving.c), by event type. production.c hands them
 * every event type its own table does not name. */
extern const fofal_apply_t fofal__weaving_applies[];
extern const int fofal__weaving_napplies;

/* The projection itself (production.c), which the module registers. */
extern const fofal_projection_def_t fofal_production_projection;

/* Appends the WebSocket push of `ev` to fofal:push (live projector only). */
void fofal__production_push(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);

#endif
