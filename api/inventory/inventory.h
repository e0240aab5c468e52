/*
 * inventory.h — private to api/inventory/: the storekeepers' reads (stores_api.c), which
 * inventory_api.c's handler and OpenAPI hand over to.
 */
#ifndef FOFAL_API_INVENTORY_H
#define FOFAL_API_INVENTORY_H

#include "api.h"

/* Loop thread: answers a read below /api/v1/inventory/ whose first segment `first` is not
 * "labels"; `at` is the position in the path just after it. 0 (the answer is sent). */
int fofal__inventory_stores_read(fofal_api_t *api, h2o_req_t *req, const char *first, size_t at);
/* At start: their paths and component schemas. */
void fofal__inventory_stores_openapi(json_t *paths, json_t *schemas);

/* The genealogy statements, down (a pallet's, carton's or unit's id) and up (a yarn lot's
 * code): $1 tenant, $2 the id or code. */
extern const char *const fofal__inventory_genealogy_sql[2];

#endif
