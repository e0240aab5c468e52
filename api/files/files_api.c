/*
 * files_api.c — the files module's routes (README "Files"): uploads, downloads with phone
 * thumbnails, and the list of what a cut, NC or inspection has attached.
 *
 *   POST /api/v1/files/upload?kind=cut|nc|inspection&id=<uuid>[&name=<display name>]
 *        the raw bytes as the body, Content-Type image/jpeg, image/png or application/pdf.
 *        Checked on the loop: role, parameters, declared type, size (FOFAL_FILES_MAX_BYTES;
 *        h2o refuses a larger body with 413 before reading it whole, since fofal-api's
 *        body cap is this one), the type from the bytes' magic numbers (415 when they are
 *        not what was declared: an executable named .jpg). A path-like name is refused
 *        (422 unsafe_name): names are only shown, and nothing a client sends reaches a path.
 *        Then a worker hashes and stores the bytes (filestore.h: per tenant,
 *        content-addressed, atomic), and the loop sends files.file.store (the reference,
 *        never the bytes) and answers once it is decided: 201 {id, sha256, size, type, kind,
 *        target, position}; the same bytes again for the same thing: the same answer.
 *   GET  /api/v1/files/{sha256}[?thumb=1]   the bytes (or a 256 px JPEG thumbnail of an
 *        image), to a role that may read one of the things the file belongs to in the
 *        caller's tenant; any other tenant's file is 404, even when it holds the same bytes.
 *   GET  /api/v1/files/attachments/{kind}/{id}  the files of a cut, NC or inspection.
 *
 * Threads: handlers on the loop thread; hashing, disk and queries on the read workers.
 */
#include "api.h"
#include "decide.h"
#include "filestore.h"
#include "projections.h"

#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROLES_CUT "cutter quality planner storekeeper_pf manager admin"
#define ROLES_NC "quality planner manager admin"
#define ROLES_INSPECTION "quality cutter planner manager admin"
#define ROLES_READ "cutter quality planner storekeeper_pf manager admin"
#define ROLES_UPLOAD "cutter quality manager admin"
#define ROLES_UPLOAD_INSPECTION "quality manager admin"

#define DEFAULT_MAX 10485760LL /* FOFAL_FILES_MAX_BYTES's default (api/main.c) */

static fofal_filestore_t *store;
static long long max_bytes;

/* The roles that read what a file of `kind` belongs to (those of quality's reads). */
static const char *kind_roles(const char *kind) {
  if (!strcmp(kind, "cut")) return ROLES_CUT;
  if (!strcmp(kind, "nc")) return ROLES_NC;
  if (!strcmp(kind, "inspection")) return ROLES_INSPECTION;
  return NULL;
}

static const fofal_read_route_t routes[] = {
    {"/api/v1/files/attachments/{kind}/{id}", "files.attachments.list", "The files a cut, NC or inspection has attached.",
     "kind (cut, nc or inspection) and id name the thing (a cut by its roll's label id); newest first. The roles are "
     "those that read that thing (else 403); another kind or a malformed id is 404.",
     ROLES_READ, NULL, 0, "AttachmentList"},
    {"/api/v1/files/{sha256}", "files.get", "A stored file's bytes, or its phone thumbnail.",
     "The bytes as uploaded with their type; with ?thumb=1 a JPEG whose longer side is at most 256 px (images only: a "
     "PDF has none, 422 no_thumbnail). Only to a role that reads one of the things the file belongs to in the caller's "
     "tenant (else 403); a file the tenant never stored is 404, even when another tenant holds the same bytes.",
     ROLES_READ, NULL, 0, NULL},
};

/* ------------------------------------------------------------- reads */

typedef struct {
  int route; /* 0 attachments, 1 a file */
  char role[32];
  char sha[FOFAL_FILE_SHA_LEN + 1];
  int thumb;
  char kind[16];
  char target[FOFAL_UUID_LEN + 1];
} params_t;

/* The data key of the person (badge) a personal file shows, from identity_keys.person_keys
 * on the worker's write connection; with create, made when missing. 0, FOFAL_ENOENT (the
 * person was erased), or another error with err. */
static int person_key(fofal_worker_t *w, const char *tenant, const char *badge, int create, unsigned char key[32],
                      char *err, size_t errlen) {
  char person[FOFAL_UUID_LEN + 1];
  struct fofal_pg *pg = NULL;
  fofal_aggregate_ref(tenant, "employee", badge, person);
  int rc = fofal__worker_pg(w, &pg, err, errlen);
  if (!rc) rc = fofal_person_key(pg, fofal__pd_master(fofal__worker_api(w)), tenant, person, create, key, err, errlen);
  if (rc == FOFAL_EUNAVAIL) fofal__worker_pg_drop(w);
  return rc;
}

/* A personal file's sealed bytes (*buf, replaced) opened with its person's key: 0, or res
 * the answer (410 erased: the person's key was deleted) and *buf freed. */
static int open_personal(fofal_worker_t *w, const char *tenant, const char *person, char **buf, size_t *len,
                         fofal__read_result_t *res) {
  unsigned char key[32], *clear = NULL;
  size_t clen = 0;
  char err[256], csha[FOFAL_FILE_SHA_LEN + 1];
  int rc = person_key(w, tenant, person, 0, key, err, sizeof err);
  if (!rc) rc = fofal_file_open(key, tenant, person, *buf, *len, &clear, &clen, csha) ? FOFAL_EIO : 0;
  sodium_memzero(key, sizeof key);
  free(*buf);
  *buf = NULL;
  if (rc == FOFAL_ENOENT) {
    res->status = 410;
    res->code = "erased";
    snprintf(res->detail, sizeof res->detail, "this file showed a person whose data was erased: it can no longer be read");
    return rc;
  }
  if (rc) {
    fofal__read_fail(res, rc == FOFAL_EUNAVAIL ? FOFAL_EUNAVAIL : FOFAL_EIO, "a personal file does not open", 0);
    return rc;
  }
  *buf = (char *)clear;
  *len = clen;
  return 0;
}

static void run(fofal_worker_t *w, const char *tenant, void *vp, fofal__read_result_t *res) {
  params_t *p = vp;
  char err[512];
  json_t *rows = NULL;
  if (p->route == 0) {
    const char *params[] = {p->kind, p->target};
    int rc = fofal__worker_query(w, tenant,
                                 "SELECT json_build_object('id', f.file_id, 'sha256', f.sha256, 'size', f.size, 'type', "
                                 "f.type, 'name', coalesce(a.name, f.name), 'attached_by', a.attached_by, 'attached_at', "
                                 "a.attached_at, 'href', '/api/v1/files/' || f.sha256) FROM files.attachments a JOIN "
                                 "files.files f ON f.tenant = a.tenant AND f.file_id = a.file_id WHERE a.kind = $1 AND "
                                 "a.target = $2::uuid ORDER BY a.seq DESC LIMIT 1000",
                                 2, params, &rows, err, sizeof err);
    if (rc) return fofal__read_fail(res, rc, err, 0);
    res->status = 200;
    res->body = json_pack("{s:s,s:s,s:o}", "kind", p->kind, "id", p->target, "items", rows);
    res->etag = -1;
    return;
  }
  const char *params[] = {p->sha};
  int rc = fofal__worker_query(w, tenant,
                               "SELECT json_build_object('type', f.type, 'size', f.size, 'person', f.person, 'kinds', (SELECT "
                               "coalesce(json_agg(DISTINCT a.kind), '[]'::json) FROM files.attachments a WHERE a.tenant = "
                               "f.tenant AND a.file_id = f.file_id)) FROM files.files f WHERE f.sha256 = $1",
                               1, params, &rows, err, sizeof err);
  if (rc) return fofal__read_fail(res, rc, err, 0);
  json_t *f = json_array_get(rows, 0);
  if (!f) {
    json_decref(rows);
    return fofal__read_not_found(res, "this tenant has no such file");
  }
  int allowed = 0;
  size_t i;
  json_t *k;
  json_array_foreach(json_object_get(f, "kinds"), i, k) {
    const char *roles = kind_roles(json_string_value(k) ?: "");
    if (roles && fofal__role_in(roles, p->role)) allowed = 1;
  }
  char type[32], person[80];
  snprintf(type, sizeof type, "%s", json_string_value(json_object_get(f, "type")) ?: "");
  snprintf(person, sizeof person, "%s", json_string_value(json_object_get(f, "person")) ?: "");
  json_decref(rows);
  res->etag = -1;
  if (!allowed) {
    res->status = 403;
    res->code = "forbidden";
    snprintf(res->detail, sizeof res->detail, "role %s may not read what this file belongs to", p->role);
    return;
  }
  char *buf = NULL;
  size_t len = 0;
  rc = store->ops->get(store, tenant, p->sha, (size_t)104857600, &buf, &len, err, sizeof err);
  if (rc == FOFAL_ENOENT) return fofal__read_not_found(res, "this tenant has no such file");
  if (rc) return fofal__read_fail(res, FOFAL_EIO, err, 0);
  if (person[0] && (rc = open_personal(w, tenant, person, &buf, &len, res))) return;
  if (!p->thumb) {
    res->status = 200;
    res->raw = buf;
    res->raw_len = len;
    res->ctype = !strcmp(type, "image/png") ? "image/png" : !strcmp(type, "application/pdf") ? "application/pdf" : "image/jpeg";
    return;
  }
  unsigned char *th = NULL;
  size_t thlen = 0;
  rc = fofal_file_thumbnail(type, buf, len, FOFAL_FILE_THUMB_PX, &th, &thlen, err, sizeof err);
  free(buf);
  if (rc) {
    res->status = 422;
    res->code = "no_thumbnail";
    snprintf(res->detail, sizeof res->detail, "%s", err);
    return;
  }
  res->status = 200;
  res->raw = (char *)th;
  res->raw_len = thlen;
  res->ctype = "image/jpeg";
}

/* ------------------------------------------------------------ uploads */

typedef struct upload upload_t;
typedef struct {
  h2o_req_t *req;
  upload_t *up;
} upload_ctx_t;

struct upload {
  fofal_job_t super;
  fofal_api_t *api;
  upload_ctx_t *ctx; /* NULL once the request is gone */
  fofal_principal_t who;
  char *body;
  size_t len;
  const char *type;
  char kind[16], target[FOFAL_UUID_LEN + 1], name[FOFAL_FILE_NAME_MAX + 1], corr[FOFAL_UUID_LEN + 1];
  char sha[FOFAL_FILE_SHA_LEN + 1], file_id[FOFAL_UUID_LEN + 1];
  char person[72];                            /* a personal file: the badge of who it shows */
  char content_sha[FOFAL_FILE_SHA_LEN + 1];   /* then: the clear bytes' address (sha: the sealed ones') */
  int rc;
  char err[256];
};

static void upload_free(upload_t *u) {
  if (u->ctx) u->ctx->up = NULL;
  free(u->body);
  free(u);
}

static void on_upload_dispose(void *p) {
  upload_ctx_t *c = p;
  if (c->up) c->up->ctx = NULL;
}

static void upload_problem(upload_t *u, int status, const char *code, const char *detail) {
  if (u->ctx) {
    if (status == 503) fofal__add_header(u->ctx->req, "Retry-After", "1");
    fofal__send_problem(u->ctx->req, status, code, detail, NULL);
  }
  upload_free(u);
}

static void upload_run(fofal_worker_t *w, fofal_job_t *job) {
  upload_t *u = (upload_t *)job;
  int created = 0;
  if (u->person[0]) { /* sealed with the person's key: erasing them shreds it */
    unsigned char key[32], *sealed = NULL;
    size_t slen = 0;
    fofal_file_address(u->body, u->len, u->content_sha);
    u->rc = person_key(w, u->who.tenant, u->person, 1, key, u->err, sizeof u->err);
    if (!u->rc && fofal_file_seal(key, u->who.tenant, u->person, u->body, u->len, &sealed, &slen))
      u->rc = fofal_err(u->err, sizeof u->err, FOFAL_EIO, "sealing failed");
    sodium_memzero(key, sizeof key);
    if (!u->rc) {
      fofal_file_address(sealed, slen, u->sha);
      u->rc = store->ops->put(store, u->who.tenant, u->sha, sealed, slen, &created, u->err, sizeof u->err);
    }
    free(sealed);
    free(u->body);
    u->body = NULL;
    return;
  }
  fofal_file_address(u->body, u->len, u->sha);
  u->rc = store->ops->put(store, u->who.tenant, u->sha, u->body, u->len, &created, u->err, sizeof u->err);
  free(u->body); /* stored: not needed any more */
  u->body = NULL;
}

static void on_decided(fofal_api_t *api, void *opaque, int status, const json_t *res) {
  (void)api;
  upload_t *u = opaque;
  const char *code = res ? json_string_value(json_object_get(res, "code")) : NULL;
  if (status == 201 || (status == 409 && code && !strcmp(code, "already_attached"))) {
    if (u->ctx) {
      json_t *out = json_pack("{s:s,s:s,s:I,s:s,s:s,s:s}", "id", u->file_id, "sha256", u->sha, "size", (json_int_t)u->len,
                              "type", u->type, "kind", u->kind, "target", u->target);
      if (u->name[0]) json_object_set_new(out, "name", json_string(u->name));
      if (u->person[0]) {
        json_object_set_new(out, "person", json_string(u->person));
        json_object_set_new(out, "content_sha256", json_string(u->content_sha));
      }
      const char *pos = res ? json_string_value(json_object_get(res, "position")) : NULL;
      if (pos) json_object_set_new(out, "position", json_string(pos));
      char loc[128];
      snprintf(loc, sizeof loc, "/api/v1/files/%s", u->sha);
      fofal__add_header(u->ctx->req, "Location", loc);
      fofal__send_json(u->ctx->req, status == 201 ? 201 : 200, out);
    }
    upload_free(u);
    return;
  }
  if (status == 503 || status == 202 || !res) {
    upload_problem(u, 503, status == 202 ? "not_decided" : "not_recorded",
                   "the file is stored but its record is not decided yet; send it again (the same bytes are stored once)");
    return;
  }
  upload_problem(u, status, code ? code : "rejected", json_string_value(json_object_get(res, "detail")) ?: "refused");
}

static void upload_done(fofal_api_t *api, fofal_job_t *job) {
  upload_t *u = (upload_t *)job;
  if (job->stopped) return upload_problem(u, 503, "shutting_down", "the server is stopping; retry");
  if (u->rc == FOFAL_ENOENT && u->person[0])
    return upload_problem(u, 422, "person_erased", "the person this file shows was erased: their files are not kept");
  if (u->rc) {
    LOG_ERROR("files: storing an upload failed: %s", u->err);
    return upload_problem(u, 503, "storage_unavailable", "the file could not be stored; retry");
  }
  char name[128], actor[200], cmd_id[FOFAL_UUID_LEN + 1], err[512];
  snprintf(name, sizeof name, "file:%s", u->sha);
  fofal_uuid_named(u->who.tenant, name, u->file_id);
  snprintf(name, sizeof name, "%s:%s", u->kind, u->target);
  fofal_uuid_named(u->file_id, name, cmd_id);
  snprintf(actor, sizeof actor, "u:%s/%s", u->who.subject, u->who.role);
  json_t *data = json_pack("{s:s,s:s,s:I,s:s,s:s,s:s}", "file_id", u->file_id, "sha256", u->sha, "size",
                           (json_int_t)u->len, "type", u->type, "kind", u->kind, "target", u->target);
  if (u->name[0]) json_object_set_new(data, "name", json_string(u->name));
  if (u->person[0]) {
    json_object_set_new(data, "person", json_string(u->person));
    json_object_set_new(data, "content_sha256", json_string(u->content_sha));
  }
  fofal__command_t c = {.type = "files.file.store", .tenant = u->who.tenant, .id = cmd_id, .actor = actor,
                        .actor_badge = u->who.badge[0] ? u->who.badge : NULL, .correlation_id = u->corr, .data = data};
  int rc = fofal__command_send(api, &c, on_decided, u, err, sizeof err);
  json_decref(data);
  if (!rc) return;
  if (rc == FOFAL_EINVAL) {
    LOG_ERROR("files: %s", err);
    return upload_problem(u, 500, "internal_error", "the request failed; the error was logged");
  }
  upload_problem(u, 503, "not_recorded", "this could not be recorded in the log (Kafka is unavailable); retry");
}

static int on_upload(fofal_api_t *api, h2o_req_t *req) {
  fofal_principal_t who;
  if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
    fofal__add_header(req, "Allow", "POST");
    fofal__send_problem(req, 405, "method_not_allowed", "an upload is a POST", NULL);
    return 0;
  }
  if (fofal__authenticate(api, req, &who)) return 0;
  if (!fofal__role_in(ROLES_UPLOAD, who.role)) {
    char d[96];
    snprintf(d, sizeof d, "role %s may not upload files", who.role);
    fofal__send_problem(req, 403, "forbidden", d, NULL);
    return 0;
  }
  const char *kind = fofal__param(req, "kind"), *target = fofal__param(req, "id"), *name = fofal__param(req, "name"),
             *person = fofal__param(req, "person");
  if (!kind || !kind_roles(kind)) {
    fofal__send_problem(req, 400, "invalid_kind", "?kind= is cut, nc or inspection: what the file belongs to", NULL);
    return 0;
  }
  if (!strcmp(kind, "inspection") && !fofal__role_in(ROLES_UPLOAD_INSPECTION, who.role)) {
    char d[96];
    snprintf(d, sizeof d, "role %s may not add files to an inspection", who.role);
    fofal__send_problem(req, 403, "forbidden", d, NULL);
    return 0;
  }
  if (!target || !fofal_uuid_valid(target)) {
    fofal__send_problem(req, 400, "invalid_id",
                        "?id= is the UUID of what the file belongs to (a cut: its roll's label id)", NULL);
    return 0;
  }
  if (name && !fofal_file_name_ok(name)) {
    fofal__send_problem(req, 422, "unsafe_name",
                        "a file name is shown, never used as a path: 1 to 200 characters without '/', '\\', ':', '..', "
                        "control characters or a leading '.' or '~'",
                        NULL);
    return 0;
  }
  if (person && !fofal_code_valid(person)) {
    fofal__send_problem(req, 400, "invalid_person", "?person= is the badge of the employee the file shows", NULL);
    return 0;
  }
  const char *declared = NULL;
  if (!fofal_file_ctype(fofal__req_header(req, "Content-Type"), &declared)) {
    fofal__send_problem(req, 415, "unsupported_media_type",
                        "send the file's bytes as the body with Content-Type image/jpeg, image/png or application/pdf", NULL);
    return 0;
  }
  if (req->entity.len > (size_t)max_bytes) {
    char d[96];
    snprintf(d, sizeof d, "the file is %zu bytes; at most %lld are accepted", req->entity.len, max_bytes);
    fofal__send_problem(req, 413, "body_too_large", d, NULL);
    return 0;
  }
  if (!req->entity.base || req->entity.len == 0) {
    fofal__send_problem(req, 400, "empty_file", "the body holds no bytes", NULL);
    return 0;
  }
  const char *sniffed = fofal_file_sniff(req->entity.base, req->entity.len);
  if (!sniffed || strcmp(sniffed, declared)) {
    char d[200];
    snprintf(d, sizeof d, "the bytes are %s, not %s as declared: only JPEG, PNG and PDF files are stored",
             sniffed ? sniffed : "of no accepted type", declared);
    fofal__send_problem(req, 415, "type_mismatch", d, NULL);
    return 0;
  }
  fofal__access_note(req, &who);
  upload_t *u = fofal_calloc(1, sizeof *u);
  u->super.run = upload_run;
  u->super.done = upload_done;
  snprintf(u->super.tenant, sizeof u->super.tenant, "%s", who.tenant);
  u->api = api;
  u->who = who;
  u->type = sniffed;
  snprintf(u->kind, sizeof u->kind, "%s", kind);
  snprintf(u->target, sizeof u->target, "%s", target);
  for (char *p = u->target; *p; p++)
    if (*p >= 'A' && *p <= 'F') *p = (char)(*p - 'A' + 'a');
  if (name) snprintf(u->name, sizeof u->name, "%s", name);
  if (person) snprintf(u->person, sizeof u->person, "%s", person);
  const char *corr = fofal__req_header(req, "X-Correlation-Id");
  if (corr && fofal_uuid_valid(corr)) snprintf(u->corr, sizeof u->corr, "%s", corr);
  else fofal_uuid7(u->corr);
  u->body = malloc(req->entity.len);
  if (!u->body) {
    free(u);
    fofal__send_problem(req, 503, "overloaded", "out of memory; retry", NULL);
    return 0;
  }
  memcpy(u->body, req->entity.base, req->entity.len);
  u->len = req->entity.len;
  upload_ctx_t *ctx = h2o_mem_alloc_shared(&req->pool, sizeof *ctx, on_upload_dispose);
  ctx->req = req;
  ctx->up = u;
  u->ctx = ctx;
  if (fofal__pool_submit(api, &u->super)) {
    upload_problem(u, 503, "overloaded", "too many requests are waiting; retry shortly");
    return 0;
  }
  return 0;
}

/* ------------------------------------------------------------- routing */

static int on_read(h2o_handler_t *self, h2o_req_t *req) {
  fofal_api_t *api = API_OF(self);
  static const char pre[] = "/api/v1/files/";
  const char *path = req->path_normalized.base + sizeof pre - 1;
  size_t len = req->path_normalized.len - (sizeof pre - 1);
  atomic_fetch_add(&fofal__metrics.requests, 1);
  if (len == 6 && !memcmp(path, "upload", 6)) return on_upload(api, req);
  params_t p;
  memset(&p, 0, sizeof p);
  char kind[64] = "", id[64] = ""; /* checked after the role: a role that may not read hears 403 first */
  if (len > 12 && !memcmp(path, "attachments/", 12)) {
    size_t pos = 12;
    p.route = 0;
    if (fofal__path_segment(path, len, &pos, kind, sizeof kind) || pos >= len || path[pos - 1] != '/' ||
        fofal__path_segment(path, len, &pos, id, sizeof id) || pos != len) {
      fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
      return 0;
    }
  } else if (len > 0 && len <= 256 && !memchr(path, '/', len)) {
    p.route = 1; /* its name is checked after the role: a role that may not read files hears 403 first */
    if (len == FOFAL_FILE_SHA_LEN) memcpy(p.sha, path, len);
  } else {
    fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
    return 0;
  }
  atomic_fetch_add(&fofal__metrics.reads, 1);
  fofal_principal_t who;
  if (!fofal__get_only(req) || fofal__authenticate(api, req, &who) ||
      fofal__read_roles_check(req, &who, routes[p.route].roles, routes[p.route].path + sizeof "/api/v1" - 1))
    return 0;
  snprintf(p.role, sizeof p.role, "%s", who.role);
  if (p.route == 0) {
    if (!kind_roles(kind) || !fofal_uuid_valid(id)) {
      fofal__send_problem(req, 404, "not_found", "files belong to a cut, nc or inspection, named by a UUID", NULL);
      return 0;
    }
    if (!fofal__role_in(kind_roles(kind), who.role)) {
      char d[96];
      snprintf(d, sizeof d, "role %s may not read the files of a %s", who.role, kind);
      fofal__send_problem(req, 403, "forbidden", d, NULL);
      return 0;
    }
    snprintf(p.kind, sizeof p.kind, "%s", kind);
    snprintf(p.target, sizeof p.target, "%s", id);
  } else {
    if (!fofal_file_address_ok(p.sha)) {
      fofal__send_problem(req, 404, "not_found", "a file is named by its SHA-256: 64 lower-case hex digits", NULL);
      return 0;
    }
    const char *t = fofal__param(req, "thumb");
    if (t && strcmp(t, "0") && strcmp(t, "1")) {
      fofal__send_problem(req, 400, "invalid_parameter", "?thumb= is 1 (a thumbnail) or 0", NULL);
      return 0;
    }
    p.thumb = t && !strcmp(t, "1");
    /* the bytes are the client's: never sniffed or run in the API's origin */
    fofal__add_header(req, "Content-Security-Policy", "default-src 'none'; sandbox");
    fofal__add_header(req, "Cache-Control", "private, max-age=3600");
  }
  return fofal__read_serve(api, req, &who, 0, run, &p, sizeof p);
}

/* ------------------------------------------------------------- OpenAPI */

static void openapi(json_t *paths, json_t *schemas) {
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    const fofal_read_route_t *rt = &routes[i];
    json_t *params = json_array();
    if (i == 0) {
      json_array_append_new(params, fofal__openapi_path_param("kind", "What the files belong to: cut, nc or inspection."));
      json_array_append_new(params, fofal__openapi_path_param("id", "Its id, a UUID (a cut: the roll's label id)."));
    } else {
      json_array_append_new(params, fofal__openapi_path_param("sha256", "The file's content address (64 hex digits)."));
      json_array_append_new(params, fofal__openapi_query_param("thumb", "1: a JPEG thumbnail, longer side 256 px.",
                                                               json_pack("{s:s,s:[s,s]}", "type", "string", "enum", "0", "1")));
    }
    char ok[96];
    snprintf(ok, sizeof ok, "#/components/schemas/%s", rt->schema ? rt->schema : "AttachmentList");
    json_t *op = fofal__openapi_read_op("files", rt->op_id, rt->summary, rt->desc, params, ok, rt->roles);
    if (!rt->schema) {
      json_t *resp = json_object_get(json_object_get(op, "get"), "responses");
      json_t *gone = json_deep_copy(json_object_get(resp, "404")), *nothumb = json_deep_copy(json_object_get(resp, "404"));
      json_object_set_new(gone, "description", json_string("erased: a personal file of a person since erased."));
      json_object_set_new(nothumb, "description", json_string("no_thumbnail: ?thumb=1 of a PDF or of bytes that do not decode."));
      json_object_set_new(resp, "410", gone);
      json_object_set_new(resp, "422", nothumb);
      json_t *ok200 = json_object_get(resp, "200");
      json_object_set_new(ok200, "content",
                          json_pack("{s:{s:{s:s,s:s}},s:{s:{s:s,s:s}},s:{s:{s:s,s:s}}}", "image/jpeg", "schema", "type",
                                    "string", "format", "binary", "image/png", "schema", "type", "string", "format",
                                    "binary", "application/pdf", "schema", "type", "string", "format", "binary"));
    }
    json_object_set_new(paths, rt->path, op);
  }
  json_t *att = fofal__openapi_object(
      "A stored file attached to something.",
      json_pack("{s:{s:s,s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:[s,s]},s:{s:[s,s]},s:{s:s,s:s},s:{s:s}}", "id", "type", "string",
                "format", "uuid", "sha256", "type", "string", "size", "type", "integer", "type", "type", "string", "name",
                "type", "string", "null", "attached_by", "type", "string", "null", "attached_at", "type", "string",
                "format", "date-time", "href", "type", "string"));
  json_object_set_new(schemas, "Attachment", att);
  json_object_set_new(schemas, "AttachmentList",
                      fofal__openapi_object("The files of a cut, NC or inspection, newest first.",
                                            json_pack("{s:{s:s},s:{s:s},s:{s:s,s:{s:s}}}", "kind", "type", "string", "id",
                                                      "type", "string", "items", "type", "array", "items", "$ref",
                                                      "#/components/schemas/Attachment")));
  char desc[2400];
  snprintf(desc, sizeof desc,
           "The body is the file's raw bytes (at most FOFAL_FILES_MAX_BYTES, by default %lld bytes = 10 MiB; a larger body is "
           "refused with 413 "
           "body_too_large before it is read whole). Content-Type must be image/jpeg, image/png or application/pdf and "
           "match the bytes' magic numbers (else 415 unsupported_media_type or type_mismatch: an executable named .jpg is "
           "refused). ?name= is a display name only, never a path (a path-like name: 422 unsafe_name). The bytes are "
           "stored content-addressed (SHA-256) in the caller's tenant, once; the log records the reference "
           "(files.file_stored / file_attached, never the bytes). 422 unknown_target when the cut, NC or inspection does "
           "not exist in the tenant. ?person= (a badge) marks a photo of that employee as personal: it is stored sealed "
           "with the person's data key and named by the sealed bytes' SHA-256 (content_sha256 is the clear bytes'); "
           "erasing the person (hr.employee.erase) deletes the key, and the file answers 410 erased from then on, in "
           "the backups too. Roles: cutter, quality, manager, admin (an inspection: quality, manager, admin).",
           DEFAULT_MAX);
  json_t *params = json_array();
  json_array_append_new(params, fofal__openapi_query_param("kind", "What the file belongs to.",
                                                           json_pack("{s:s,s:[s,s,s]}", "type", "string", "enum", "cut",
                                                                     "nc", "inspection")));
  json_array_append_new(params, fofal__openapi_query_param("id", "Its id (a cut: the roll's label id).",
                                                           json_pack("{s:s,s:s}", "type", "string", "format", "uuid")));
  json_array_append_new(params, fofal__openapi_query_param("name", "A display name (never a path).",
                                                           json_pack("{s:s,s:i}", "type", "string", "maxLength",
                                                                     FOFAL_FILE_NAME_MAX)));
  json_array_append_new(params, fofal__openapi_query_param("person", "A personal file: the badge of the employee it shows.",
                                                           json_pack("{s:s,s:i}", "type", "string", "maxLength", 64)));
  size_t nparams = json_array_size(params);
  json_t *item = fofal__openapi_read_op("files", "files.upload", "Upload a photo or PDF for a cut, NC or inspection.", desc,
                                        params, "#/components/schemas/FileStored", ROLES_UPLOAD);
  json_t *up = json_incref(json_object_get(item, "get"));
  json_decref(item);
  json_t *ps = json_object_get(up, "parameters");
  while (json_array_size(ps) > nparams) json_array_remove(ps, json_array_size(ps) - 1); /* no ?position= on a write */
  json_t *resp = json_object_get(up, "responses"), *ok = json_incref(json_object_get(resp, "200"));
  json_object_del(resp, "200");
  json_object_set_new(ok, "description", json_string("Stored and recorded (the same bytes sent again for the same thing: "
                                                      "the same answer). Location: /api/v1/files/{sha256}."));
  json_object_set_new(resp, "201", ok);
  static const char *const more[][2] = {
      {"400", "invalid_kind, invalid_id, invalid_person, empty_file."},
      {"413", "body_too_large: over FOFAL_FILES_MAX_BYTES, refused before the body is read whole."},
      {"415", "unsupported_media_type (not JPEG, PNG or PDF), type_mismatch (the bytes are not what Content-Type says)."},
      {"422", "unsafe_name, unknown_target, unknown_person, person_erased."},
      {"503", "storage_unavailable, not_recorded, not_decided, overloaded: retry (the same bytes are stored once)."},
  };
  for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
    json_t *r = json_deep_copy(json_object_get(resp, "404"));
    json_object_set_new(r, "description", json_string(more[i][1]));
    json_object_set_new(resp, more[i][0], r);
  }
  json_t *bin = json_pack("{s:s,s:s,s:I}", "type", "string", "format", "binary", "maxLength", (json_int_t)DEFAULT_MAX);
  json_object_set_new(up, "requestBody",
                      json_pack("{s:b,s:{s:{s:O},s:{s:O},s:{s:O}}}", "required", 1, "content", "image/jpeg", "schema", bin,
                                "image/png", "schema", bin, "application/pdf", "schema", bin));
  json_decref(bin);
  json_object_set_new(
      schemas, "FileStored",
      fofal__openapi_object("A stored file, as the upload answers.",
                            json_pack("{s:{s:s,s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s}}",
                                      "id", "type", "string", "format", "uuid", "sha256", "type", "string", "size", "type",
                                      "integer", "type", "type", "string", "kind", "type", "string", "target", "type",
                                      "string", "name", "type", "string", "person", "type", "string", "content_sha256",
                                      "type", "string", "position", "type", "string")));
  json_object_set_new(paths, "/api/v1/files/upload", json_pack("{s:o}", "post", up));
}

static int configure(const fofal_api_conf_t *conf, char *errbuf, size_t errlen) {
  max_bytes = conf->files_max_bytes;
  fofal_filestore_close(store);
  store = NULL;
  return fofal_filestore_disk(conf->files_dir, &store, errbuf, errlen);
}

static const fofal_push_route_t push_routes[] = {
    {"", "/api/v1/files/attachments/{kind}/{id}", 0}, /* every event of the module */
    {NULL, NULL, 0},
};

const fofal_api_module_t fofal_module_files_routes = {
    .name = "files",
    .on_read = on_read,
    .openapi = openapi,
    .configure = configure,
    .push_routes = push_routes,
};
