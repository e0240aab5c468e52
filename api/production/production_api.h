/*
 * production_api.h — private to api/production/: what the production module's read files
 * share (production_api.c, weaving_api.c, production.c).
 */
#ifndef FOFAL_API_PRODUCTION_H
#define FOFAL_API_PRODUCTION_H

#include "api.h"

/* ----------------------------------------------------- production_api.c */
/* GET /api/v1/production/...; answers 404 for other paths below it. */
int fofal__on_production_read(h2o_handler_t *self, h2o_req_t *req);
/* A production order's state after `events` (each {seq, type, time, data}, by seq): the
 * audit trail's fold of the module (new). */
json_t *fofal__production_fold(const char *id, json_t *events);

/* ------------------------------------------------------- weaving_api.c
 * The weaving floor's reads below /api/v1/production/ (looms, beams, and the weaver
 * and planner views). production_api.c
 * routes them and runs them with the engine's machinery (api/reads.c: ?position=, worker jobs); this file
 * says which paths are its own, who may read them, what their parameters are and how
 * they are answered. Everything a worker needs is copied into fofal__wparams_t. */
typedef struct {
  int route;                 /* weaving_api.c's route number */
  char subject[128];         /* the caller's subject (views default to it) */
  char role[32];
  char key[80];              /* the code or id of the path */
  char status[16], loom[72], badge[72];
  int limit, has_after, within_hours;
  char after[96], after2[48];/* decoded cursor */
} fofal__wparams_t;

/* Who reads production_api.c's own routes (orders, orders/{id}, orders/{id}/declarations,
 * looms/{loom}/current-order, shifts/{shift}/output): production_api.c refuses the other
 * roles with 403, and production.c's routes table documents the same list. Every role of
 * the mill. */
#define FOFAL__ROLES_ORDERS                                                                                   \
  "weaver cutter mechanic storekeeper_mp storekeeper_pf storekeeper_st quality planner manager accountant hr " \
  "auditor admin"
/* Loop thread. 1 when path is one of our routes (w->route and w->key are set), else 0. */
int fofal__weaving_match(const char *path, size_t len, fofal__wparams_t *w);
/* Loop thread, after authentication: the caller's role may read the route (else 403) and
 * the parameters are valid (else 400 or 404). 0 when the read may go on; otherwise the
 * problem was sent and it returns -1. */
int fofal__weaving_prepare(h2o_req_t *req, const fofal_principal_t *who, fofal__wparams_t *w);
/* Worker thread: runs the read for `tenant` into *res. */
void fofal__weaving_run(fofal_worker_t *wk, const char *tenant, const fofal__wparams_t *w, fofal__read_result_t *res);
/* Adds the routes to the OpenAPI document (paths and component schemas). */
void fofal__weaving_openapi(json_t *paths, json_t *schemas);

#endif
