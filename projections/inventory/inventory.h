/*
 * inventory.h — private to projections/inventory/: the apply functions of the
 * storekeepers' events (stores.c), which inventory.c lists in the module's projection.
 */
#ifndef FOFAL_PROJECTIONS_INVENTORY_H
#define FOFAL_PROJECTIONS_INVENTORY_H

#include "projections.h"

int fofal__inventory_location_defined(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__inventory_lot_received(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__inventory_lot_issued(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__inventory_lot_reserved(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__inventory_lot_moved(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__inventory_lot_returned(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__inventory_minimum_set(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__inventory_stock_below_minimum(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__inventory_unit_moved(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__inventory_carton_packed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__inventory_unit_packed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__inventory_pallet_built(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__inventory_carton_palletised(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__inventory_count_opened(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__inventory_count_recorded(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__inventory_count_closed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__inventory_stock_adjusted(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__inventory_stock_changed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);

/* The rows of fofal_projection_def_t.applies for them. */
#define FOFAL__INVENTORY_STORES_APPLIES \
    {"fofal.inventory.location_defined.v1", fofal__inventory_location_defined}, \
    {"fofal.inventory.lot_received.v1", fofal__inventory_lot_received}, \
    {"fofal.inventory.lot_issued.v1", fofal__inventory_lot_issued}, \
    {"fofal.inventory.lot_reserved.v1", fofal__inventory_lot_reserved}, \
    {"fofal.inventory.lot_moved.v1", fofal__inventory_lot_moved}, \
    {"fofal.inventory.lot_returned.v1", fofal__inventory_lot_returned}, \
    {"fofal.inventory.minimum_set.v1", fofal__inventory_minimum_set}, \
    {"fofal.inventory.stock_below_minimum.v1", fofal__inventory_stock_below_minimum}, \
    {"fofal.inventory.unit_moved.v1", fofal__inventory_unit_moved}, \
    {"fofal.inventory.carton_packed.v1", fofal__inventory_carton_packed}, \
    {"fofal.inventory.unit_packed.v1", fofal__inventory_unit_packed}, \
    {"fofal.inventory.pallet_built.v1", fofal__inventory_pallet_built}, \
    {"fofal.inventory.carton_palletised.v1", fofal__inventory_carton_palletised}, \
    {"fofal.inventory.count_opened.v1", fofal__inventory_count_opened}, \
    {"fofal.inventory.count_recorded.v1", fofal__inventory_count_recorded}, \
    {"fofal.inventory.count_closed.v1", fofal__inventory_count_closed}, \
    {"fofal.inventory.stock_adjusted.v1", fofal__inventory_stock_adjusted}, \
    {"fofal.inventory.stock_changed.v1", fofal__inventory_stock_changed},

/* handling.c: containers moved as a whole, pick lists, stock back at its minimum. */
int fofal__inventory_container_moved(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__inventory_stock_restored(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__inventory_pick_created(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__inventory_pick_scanned(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__inventory_pick_issued(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
int fofal__inventory_pick_cancelled(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);
#define FOFAL__INVENTORY_HANDLING_APPLIES \
    {"fofal.inventory.container_moved.v1", fofal__inventory_container_moved}, \
    {"fofal.inventory.stock_restored.v1", fofal__inventory_stock_restored}, \
    {"fofal.inventory.pick_created.v1", fofal__inventory_pick_created}, \
    {"fofal.inventory.pick_scanned.v1", fofal__inventory_pick_scanned}, \
    {"fofal.inventory.pick_issued.v1", fofal__inventory_pick_issued}, \
    {"fofal.inventory.pick_cancelled.v1", fofal__inventory_pick_cancelled}, \
    /* a pick list's claim ended: the lot's reservation, as a reservation sets it */ \
    {"fofal.inventory.lot_unreserved.v1", fofal__inventory_lot_reserved},

#endif
