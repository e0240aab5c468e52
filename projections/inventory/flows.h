/*
 * flows.h — private to projections/inventory/: the apply functions of the events of
 * inventory's reactions (flows.c), which inventory.c lists in the module's projection.
 */
#ifndef FOFAL_PROJECTIONS_INVENTORY_FLOWS_H
#define FOFAL_PROJECTIONS_INVENTORY_FLOWS_H

#include "projections.h"

int fofal__inventory_pushed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__inventory_unit_cut(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__inventory_unit_derived(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__inventory_unit_reduced(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);

#define FOFAL__INVENTORY_FLOWS_APPLIES \
    {"fofal.inventory.settings_set.v1", fofal__inventory_pushed}, \
    {"fofal.inventory.unit_cut.v1", fofal__inventory_unit_cut}, \
    {"fofal.inventory.unit_derived.v1", fofal__inventory_unit_derived}, \
    {"fofal.inventory.unit_reduced.v1", fofal__inventory_unit_reduced}, \
    {"fofal.inventory.stock_received.v1", fofal__inventory_pushed}, \
    {"fofal.inventory.stock_subcontracted.v1", fofal__inventory_pushed},

#endif
