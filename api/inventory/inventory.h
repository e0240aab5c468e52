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

#endif
