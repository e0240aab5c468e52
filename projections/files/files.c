/*
 * files.c — the files module's projection: stored files (content address, size, type,
 * who stored them) and what each belongs to, into PostgreSQL (schema files,
 * schemas/files/090_files.sql). The bytes are in the file store, never here. Each apply
 * function is a deterministic function of its event.
 */
#include "projections.h"

#include <stdio.h>
#include <string.h>

static int attach(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, const char *at) {
  const json_t *d = ev->data;
  char seq[24];
  snprintf(seq, sizeof seq, "%lld", (long long)ev->seq);
  const char *p[] = {ev->tenant, fofal_ev_str(d, "file_id"), fofal_ev_str(d, "kind"), fofal_ev_str(d, "target"),
                     fofal_ev_str(d, "name"), ev->actor, at, seq};
  return fofal_apply_sql(ctx,
                         "INSERT INTO %s.attachments (tenant, file_id, kind, target, name, attached_by, attached_at, seq) "
                         "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                         8, p);
}

static int file_stored(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  const json_t *d = ev->data;
  char seq[24], size[40];
  snprintf(seq, sizeof seq, "%lld", (long long)ev->seq);
  const char *at = fofal_ev_str(d, "stored_at");
  const char *p[] = {ev->tenant, fofal_ev_str(d, "file_id"), fofal_ev_str(d, "sha256"), fofal_ev_num(d, "size", size),
                     fofal_ev_str(d, "type"), fofal_ev_str(d, "name"), ev->actor, at, seq, fofal_ev_str(d, "person"),
                     fofal_ev_str(d, "content_sha256")};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.files (tenant, file_id, sha256, size, type, name, stored_by, stored_at, version, "
                           "person, content_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                           11, p);
  if (rc || (rc = attach(ctx, ev, at))) return rc;
  fofal_apply_push(ctx, ev, "files");
  return 0;
}

static int file_attached(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  int rc = attach(ctx, ev, fofal_ev_str(ev->data, "attached_at"));
  if (rc) return rc;
  char seq[24];
  snprintf(seq, sizeof seq, "%lld", (long long)ev->seq);
  const char *p[] = {ev->tenant, fofal_ev_str(ev->data, "file_id"), seq};
  rc = fofal_apply_sql(ctx, "UPDATE %s.files SET version = $3 WHERE tenant = $1 AND file_id = $2", 3, p);
  if (rc) return rc;
  fofal_apply_push(ctx, ev, "files");
  return 0;
}

static const fofal_apply_t applies[] = {
    {"fofal.files.file_stored.v1", file_stored},
    {"fofal.files.file_attached.v1", file_attached},
};

static const char *const tables[] = {"files", "attachments", NULL};

static const fofal_projection_def_t projection = {
    .name = "files",
    .module = "files",
    .pg_schema = "files",
    .tables = tables,
    .applies = applies,
    .napplies = sizeof applies / sizeof applies[0],
};

static const fofal_projection_def_t *const projections[] = {&projection, NULL};
const fofal_projection_module_t fofal_module_files_projections = {
    .name = "files",
    .projections = projections,
};
