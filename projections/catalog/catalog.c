/*
 * catalog.c — the catalog module's projection: articles and items into PostgreSQL (schema
 * catalog, schemas/catalog/060_catalog.sql, 061_items.sql), and a WebSocket push per applied event.
 *
 * Other modules' reads join catalog.articles (reading is allowed; only this projection
 * writes it). Other projections do not: they run at their own pace on their own topics,
 * so a row here may be ahead or behind theirs; what they need of an article at a moment
 * comes in their own events (production's loom_set_up carries the article's density).
 *
 * Each apply function is a deterministic function of its event (times from its envelope),
 * so a rebuild yields the same rows.
 */
#include "projections.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The article's members in the order of both statements' $3..$14; seq and time $15, $16. */
#define ARTICLE_PARAMS(d, seq, at)                                                                   \
  {ev->tenant,                          fofal_ev_str(d, "article"),                                     \
   fofal_ev_str(d, "name"),             fofal_ev_str(d, "weave"),                                       \
   fofal_ev_num(d, "width_cm", b1),     fofal_ev_num(d, "length_cm", b2),                               \
   fofal_ev_num(d, "gsm", b3),          fofal_ev_num(d, "picks_per_cm", b4),                            \
   fofal_ev_str(d, "warp_yarn"),        fofal_ev_str(d, "weft_yarn"),                                   \
   fofal_ev_str(d, "pile_yarn"),        fofal_ev_num(d, "warp_g_per_piece", b5),                        \
   fofal_ev_num(d, "weft_g_per_piece", b6), fofal_ev_num(d, "pile_g_per_piece", b7),                    \
   seq,                                 at}

static int article_defined(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  char seq[24], at[32], b1[40], b2[40], b3[40], b4[40], b5[40], b6[40], b7[40];
  snprintf(seq, sizeof seq, "%lld", (long long)ev->seq);
  fofal_time_format(ev->time_us, at);
  const char *params[] = ARTICLE_PARAMS(ev->data, seq, at);
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.articles (tenant, article, name, weave, width_cm, length_cm, gsm, picks_per_cm, "
                           "warp_yarn, weft_yarn, pile_yarn, warp_g_per_piece, weft_g_per_piece, pile_g_per_piece, version, "
                           "defined_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
                           "$15, $16, $16)",
                           16, params);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "catalog");
  return 0;
}

/* Only the changed fields are in the event: the others keep their values. */
static int article_updated(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  char seq[24], at[32], b1[40], b2[40], b3[40], b4[40], b5[40], b6[40], b7[40];
  snprintf(seq, sizeof seq, "%lld", (long long)ev->seq);
  fofal_time_format(ev->time_us, at);
  const char *params[] = ARTICLE_PARAMS(ev->data, seq, at);
  int rc = fofal_apply_sql(ctx,
                           "UPDATE %s.articles SET name = coalesce($3, name), weave = coalesce($4, weave), width_cm = "
                           "coalesce($5::numeric, width_cm), length_cm = coalesce($6::numeric, length_cm), gsm = "
                           "coalesce($7::numeric, gsm), picks_per_cm = coalesce($8::numeric, picks_per_cm), warp_yarn = "
                           "coalesce($9, warp_yarn), weft_yarn = coalesce($10, weft_yarn), pile_yarn = coalesce($11, "
                           "pile_yarn), warp_g_per_piece = coalesce($12::numeric, warp_g_per_piece), weft_g_per_piece = "
                           "coalesce($13::numeric, weft_g_per_piece), pile_g_per_piece = coalesce($14::numeric, "
                           "pile_g_per_piece), version = $15, updated_at = $16 WHERE tenant = $1 AND article = $2",
                           16, params);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "catalog");
  return 0;
}

/* A material (yarn, accessory, packaging): inventory's lots read its row. */
static int item_defined(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  const char *params[] = {ev->tenant, fofal_ev_str(d, "item"), fofal_ev_str(d, "kind"), fofal_ev_str(d, "name"),
                          fofal_ev_str(d, "unit"), fofal_ev_str(d, "yarn_count"), fofal_ev_str(d, "material"),
                          fofal_ev_str(d, "colour"), fofal_ev_str(d, "supplier_ref"), m.seq, m.at};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.items (tenant, item, kind, name, unit, yarn_count, material, colour, "
                           "supplier_ref, version, defined_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                           11, params);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "catalog");
  return 0;
}

/* An item's other units (catalog_units.in_units reads them). */
static int item_conversions_set(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  char *conv = json_dumps(json_object_get(ev->data, "conversions"), JSON_COMPACT);
  const char *params[] = {ev->tenant, fofal_ev_str(ev->data, "item"), conv ? conv : "[]", m.seq};
  int rc = fofal_apply_sql(ctx, "UPDATE %s.items SET conversions = $3::jsonb, version = $4 WHERE tenant = $1 AND item = $2", 4,
                           params);
  free(conv);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "catalog");
  return 0;
}

static const fofal_apply_t applies[] = {
    {"fofal.catalog.article_defined.v1", article_defined},
    {"fofal.catalog.article_updated.v1", article_updated},
    {"fofal.catalog.item_defined.v1", item_defined},
    {"fofal.catalog.item_conversions_set.v1", item_conversions_set},
};

static const char *const tables[] = {"articles", "items", NULL};

static const fofal_projection_def_t projection = {
    .name = "catalog",
    .module = "catalog",
    .pg_schema = "catalog",
    .tables = tables,
    .applies = applies,
    .napplies = sizeof applies / sizeof applies[0],
};

/* The module's registration (projections.h, "modules"); audited, as every module is by
 * default (projection "audit.catalog"). */
static const fofal_projection_def_t *const projections[] = {&projection, NULL};
const fofal_projection_module_t fofal_module_catalog_projections = {
    .name = "catalog",
    .projections = projections,
};
