/*
 * inventory_api.c — the inventory module's reads: the labels of stock units (here) and the
 * storekeepers' reads (stores_api.c: locations, stock now and as of an instant, the ledger,
 * lots, cartons and pallets, counts), to which on_read hands every other path.
 *
 *   GET /api/v1/inventory/labels/{id}                                  the scan of a label's QR code
 *   GET /api/v1/inventory/labels/{id}/qr.png, /qr.svg, /label.zpl       the label to print
 *
 * The unit is the inventory projection's row (schemas/inventory/070_inventory.sql); the
 * scan joins the rows of other modules for what it shows around it (production's order,
 * loom, weaver and shift, catalog's article): reading another module's table is allowed,
 * writing is not. Drawing (QR codes, ZPL) is api/labels.c, a library of the API that any
 * module's labels share.
 *
 * Right after a declaration. The declaration (production) assigns the label id and its
 * answer shows it; inventory receives the unit by reaction (fofal-reactor → fofal-decider
 * → fofal-projector), a moment later. A label id that a declaration of the tenant
 * assigned but whose unit is not projected yet is waited for, on the read worker, up to
 * PENDING_WAIT_MS; then the answer is 409 label_pending (retry_after_s: 1) and the
 * console retries. An id no declaration assigned is a 404 at once. The ?position= of the
 * declaration (a production position) waits for production's projection, not for this.
 *
 * Threads: the handler runs on the loop thread, run() on a read worker with a copy of
 * params_t; the routes table, the OpenAPI text and label_url (set once by configure,
 * before the server listens) are read-only afterwards.
 */
#include "api.h"
#include "inventory.h"
#include "labels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

#define LABEL_MODULE_PX 8   /* pixels per QR module: a 33-module code is 328 px with its margin */
#define LABEL_MARGIN 4      /* the quiet zone the QR standard asks for */
#define PENDING_WAIT_MS 1500 /* how long a scan waits for a declared unit inventory has not received yet */
#define PENDING_POLL_MS 100

/* Who scans a label: whoever handles, moves, checks or plans what it names. */
#define ROLES_SCAN "weaver mechanic cutter quality storekeeper_pf storekeeper_st planner manager admin auditor"

enum { I_LABEL, I_LABEL_PNG, I_LABEL_SVG, I_LABEL_ZPL, I_N };
#define IS_LABEL_IMAGE(r) ((r) == I_LABEL_PNG || (r) == I_LABEL_SVG || (r) == I_LABEL_ZPL)

static const fofal_read_route_t routes[I_N] = {
    [I_LABEL] = {"/api/v1/inventory/labels/{id}", "inventory.labels.scan", "Scan a label.",
                 "What the unit (a woven roll or pieces) is: article, order, loom, weaver, shift, quantity and length, "
                 "when woven, where it is now, and every print of the label. 404 for a label id of no unit and no "
                 "declaration of this tenant; 409 label_pending (retry after retry_after_s) for a label a declaration "
                 "assigned whose unit inventory has not received yet (it waits up to 1.5 s for it first).",
                 ROLES_SCAN, NULL, 0, "LabelScan"},
    [I_LABEL_PNG] = {"/api/v1/inventory/labels/{id}/qr.png", "inventory.labels.qr_png", "A label's QR code (PNG).",
                     "The QR code of the label (error correction M, 8 px a module, 4 modules of margin), 1-bit PNG. It "
                     "carries FOFAL:L:<tenant>:<label id>, or <FOFAL_API_LABEL_URL>/l/<tenant>/<label id> when that "
                     "setting is set. 404 and 409 label_pending as the scan.",
                     ROLES_SCAN, NULL, 0, NULL},
    [I_LABEL_SVG] = {"/api/v1/inventory/labels/{id}/qr.svg", "inventory.labels.qr_svg", "A label's QR code (SVG).",
                     "The same QR code as qr.png, as SVG (for phones).", ROLES_SCAN, NULL, 0, NULL},
    [I_LABEL_ZPL] = {"/api/v1/inventory/labels/{id}/label.zpl", "inventory.labels.zpl",
                     "The label for a Zebra printer (ZPL II).",
                     "A 4×2 inch label at 203 dpi: the QR code, article, order, loom, weaver, shift, quantity and "
                     "length, when woven and the label id; printable ASCII whose only commands are ours (data is "
                     "^FH-escaped). Fetching it prints nothing and records nothing: a reprint is the command "
                     "inventory.label.reprint.",
                     ROLES_SCAN, NULL, 0, NULL},
};

/* What QR codes carry (FOFAL_API_LABEL_URL): set once at start, read-only afterwards. */
static char label_url[FOFAL_LABEL_BASE_URL_MAX + 1];

typedef struct {
  int route;
  char key[80]; /* the label id of the path */
} params_t;

/* ------------------------------------------------------------------ run */

static const char scan_sql[] =
    "SELECT json_build_object('label_id', u.label_id, "
    "'what', CASE WHEN o.unit = 'meters' OR u.quantity > 1 THEN 'roll' ELSE 'piece' END, "
    "'quantity', u.quantity, 'unit', coalesce(o.unit, 'pieces'), 'length_m', u.length_m, "
    "'woven_at', " TS("u.woven_at") ", 'location', u.location, "
    "'article', json_build_object('article', u.article, 'name', a.name, 'weave', a.weave, 'width_cm', a.width_cm, "
    "'length_cm', a.length_cm, 'gsm', a.gsm), "
    "'order', json_build_object('order_id', u.order_id, 'status', o.status, 'quantity', o.quantity, 'declared', "
    "o.declared, 'due_date', o.due_date), "
    "'loom', json_build_object('loom', u.loom, 'hall', l.hall, 'type', l.type), "
    "'weaver', json_build_object('badge', u.weaver, 'name', e.name), "
    "'shift', json_build_object('shift', u.shift, 'starts_at', " TS("sa.starts_at") ", 'ends_at', " TS("sa.ends_at") "), "
    "'prints', u.prints, 'last_printed_at', " TS("u.last_printed_at") ", "
    "'print_history', coalesce((SELECT json_agg(json_build_object('print_no', p.print_no, 'reason', p.reason, "
    "'printer', p.printer, 'actor', p.actor, 'printed_at', " TS("p.printed_at") ") ORDER BY p.print_no) FROM "
    "inventory.label_prints p WHERE p.tenant = u.tenant AND p.label_id = u.label_id), '[]'::json), "
    "'issued_at', " TS("u.received_at") ", 'version', u.version) "
    "FROM inventory.units u "
    "LEFT JOIN production.orders o ON o.tenant = u.tenant AND o.order_id = u.order_id "
    "LEFT JOIN catalog.articles a ON a.tenant = u.tenant AND a.article = u.article "
    "LEFT JOIN production.looms l ON l.tenant = u.tenant AND l.loom = u.loom "
    "LEFT JOIN hr.employees e ON e.tenant = u.tenant AND e.badge = u.weaver "
    "LEFT JOIN hr.shift_assignments sa ON sa.tenant = u.tenant AND sa.badge = u.weaver AND sa.shift = u.shift "
    "WHERE u.tenant = $1 AND u.label_id = $2::uuid";

/* Did a declaration of the tenant assign this label id (production's row)? */
static const char declared_sql[] =
    "SELECT json_build_object('order_id', d.order_id) FROM production.declarations d WHERE d.tenant = $1 AND "
    "d.label_id = $2::uuid";

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* The unit's scan into res (200), or 404, or 409 label_pending (see the file header). */
static void run_scan(fofal_worker_t *w, const char *tenant, const params_t *p, fofal__read_result_t *res) {
  const char *params[] = {tenant, p->key};
  char err[512];
  for (int waited = 0;; waited += PENDING_POLL_MS) {
    json_t *rows = NULL;
    int rc = fofal__worker_query(w, tenant, scan_sql, 2, params, &rows, err, sizeof err);
    if (!rc && json_is_object(json_array_get(rows, 0))) {
      res->status = 200;
      res->body = json_incref(json_array_get(rows, 0));
      json_decref(rows);
      return;
    }
    json_decref(rows);
    rows = NULL;
    if (!rc) rc = fofal__worker_query(w, tenant, declared_sql, 2, params, &rows, err, sizeof err);
    if (rc) {
      fofal__read_fail(res, rc, err, 0);
      return;
    }
    int declared = json_array_size(rows) > 0;
    json_decref(rows);
    if (!declared) {
      fofal__read_not_found(res, "label");
      return;
    }
    if (waited >= PENDING_WAIT_MS) break;
    sleep_ms(PENDING_POLL_MS);
  }
  res->status = 409;
  res->code = "label_pending";
  snprintf(res->detail, sizeof res->detail,
           "the declaration assigned this label; its unit enters stock in a moment (inventory receives it by reaction): "
           "retry");
  res->extra = json_pack("{s:i}", "retry_after_s", 1);
}

/* The scan's answer (res->body) turned into the label to print (res->raw), on the worker. */
static void render_label(const char *tenant, const params_t *p, fofal__read_result_t *res) {
  const json_t *b = res->body;
  char qr[FOFAL_LABEL_TEXT_MAX + 1];
  int rc = fofal_label_qr_payload(label_url, tenant, p->key, qr, sizeof qr);
  if (rc) rc = fofal_label_qr_payload(NULL, tenant, p->key, qr, sizeof qr);
  unsigned char *png = NULL;
  char *text = NULL;
  size_t len = 0;
  if (!rc && p->route == I_LABEL_PNG) {
    rc = fofal_label_qr_png(qr, LABEL_MODULE_PX, LABEL_MARGIN, &png, &len);
    res->raw = (char *)png;
    res->ctype = "image/png";
  } else if (!rc && p->route == I_LABEL_SVG) {
    rc = fofal_label_qr_svg(qr, LABEL_MODULE_PX, LABEL_MARGIN, &text, &len);
    res->raw = text;
    res->ctype = "image/svg+xml";
  } else if (!rc) {
    char weaver[160], qty[64], woven[32];
    const json_t *wv = json_object_get(b, "weaver");
    snprintf(weaver, sizeof weaver, "%s %s", json_string_value(json_object_get(wv, "badge")) ?: "",
             json_string_value(json_object_get(wv, "name")) ?: "");
    snprintf(qty, sizeof qty, "%lld pcs / %.1f m", (long long)json_integer_value(json_object_get(b, "quantity")),
             json_number_value(json_object_get(b, "length_m")));
    /* "2026-11-24T09:12:03.000000Z" → "2026-11-24 09:12 UTC" */
    const char *at = json_string_value(json_object_get(b, "woven_at")) ?: "";
    snprintf(woven, sizeof woven, "%.10s %.5s UTC", at, strlen(at) > 11 ? at + 11 : "");
    fofal_label_t l = {.qr = qr,
                       .article = json_string_value(json_object_get(json_object_get(b, "article"), "article")),
                       .order = json_string_value(json_object_get(json_object_get(b, "order"), "order_id")),
                       .loom = json_string_value(json_object_get(json_object_get(b, "loom"), "loom")),
                       .weaver = weaver,
                       .shift = json_string_value(json_object_get(json_object_get(b, "shift"), "shift")),
                       .quantity = qty,
                       .woven_at = woven,
                       .label_id = p->key};
    rc = fofal_label_zpl(&l, &text, &len);
    res->raw = text;
    res->ctype = "text/plain; charset=us-ascii";
  }
  json_decref(res->body);
  res->body = NULL;
  res->raw_len = len;
  if (rc) {
    free(res->raw);
    res->raw = NULL;
    res->status = 422;
    res->code = "label_not_printable";
    snprintf(res->detail, sizeof res->detail, "this label cannot be drawn (%s)", fofal_err_name(rc));
  }
}

static void run(fofal_worker_t *w, const char *tenant, void *opaque, fofal__read_result_t *res) {
  const params_t *p = opaque;
  run_scan(w, tenant, p, res);
  if (res->status == 200 && IS_LABEL_IMAGE(p->route)) render_label(tenant, p, res);
}

/* -------------------------------------------------------------- routing */

static int on_read(h2o_handler_t *self, h2o_req_t *req) {
  fofal_api_t *api = API_OF(self);
  fofal_principal_t who;
  params_t p;
  const char *path = req->path_normalized.base;
  size_t len = req->path_normalized.len;
  static const char base[] = "/api/v1/inventory/";
  atomic_fetch_add(&fofal__metrics.requests, 1);
  atomic_fetch_add(&fofal__metrics.reads, 1);
  memset(&p, 0, sizeof p);
  char s1[32] = "", s3[32];
  size_t at = sizeof base - 1;
  p.route = -1;
  if (path[len - 1] != '/' && !fofal__path_segment(path, len, &at, s1, sizeof s1) && strcmp(s1, "labels"))
    return fofal__inventory_stores_read(api, req, s1, at);
  if (path[len - 1] != '/' && !strcmp(s1, "labels") && !fofal__path_segment(path, len, &at, p.key, sizeof p.key)) {
    if (at == len) p.route = I_LABEL;
    else if (!fofal__path_segment(path, len, &at, s3, sizeof s3) && at == len)
      p.route = !strcmp(s3, "qr.png") ? I_LABEL_PNG : !strcmp(s3, "qr.svg") ? I_LABEL_SVG
                : !strcmp(s3, "label.zpl") ? I_LABEL_ZPL : -1;
  }
  if (p.route < 0) {
    fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
    return 0;
  }
  if (!fofal__get_only(req) || fofal__authenticate(api, req, &who)) return 0;
  if (fofal__read_roles_check(req, &who, routes[p.route].roles, routes[p.route].path + sizeof "/api/v1" - 1)) return 0;
  if (!fofal_uuid_valid(p.key)) {
    fofal__send_problem(req, 404, "not_found", "no label of this tenant has this id", NULL);
    return 0;
  }
  return fofal__read_serve(api, req, &who, 0, run, &p, sizeof p);
}

/* -------------------------------------------------------------- OpenAPI */

static const char scan_schema[] =
    "{\"type\":\"object\",\"properties\":{\"label_id\":{\"type\":\"string\",\"format\":\"uuid\"},\"what\":{\"enum\":"
    "[\"roll\",\"piece\"]},\"quantity\":{\"type\":\"integer\"},\"unit\":{\"type\":\"string\"},\"length_m\":{\"type\":"
    "[\"number\",\"null\"]},\"woven_at\":{\"type\":\"string\"},\"location\":{\"type\":\"string\",\"description\":\"Where it "
    "is now.\"},\"article\":{\"type\":\"object\"},\"order\":{\"type\":\"object\"},\"loom\":{\"type\":\"object\"},"
    "\"weaver\":{\"type\":\"object\"},\"shift\":{\"type\":\"object\"},\"prints\":{\"type\":\"integer\"},"
    "\"last_printed_at\":{},\"print_history\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":"
    "{\"print_no\":{\"type\":\"integer\"},\"reason\":{},\"printer\":{},\"actor\":{},\"printed_at\":{}}}},\"issued_at\":"
    "{\"description\":\"When inventory received the unit (its first print).\"},\"version\":{\"type\":\"integer\"}}}";

static void openapi(json_t *paths, json_t *schemas) {
  json_t *s = json_loads(scan_schema, 0, NULL);
  if (s) json_object_set_new(schemas, "LabelScan", s);
  for (int r = 0; r < I_N; r++) {
    const fofal_read_route_t *rt = &routes[r];
    json_t *params = json_array();
    json_array_append_new(params, fofal__openapi_path_param("id", "The label id (UUID), as the QR code carries it."));
    char desc[1200];
    snprintf(desc, sizeof desc, "%s Roles: %s. With ?position= (from a command's 201) the read waits (bounded) until "
             "the projection has applied it.", rt->desc, rt->roles);
    json_t *op = fofal__openapi_read_op("inventory", rt->op_id, rt->summary, desc, params,
                                        "#/components/schemas/LabelScan", rt->roles);
    json_t *resp = json_object_get(json_object_get(op, "get"), "responses");
    json_object_set_new(resp, "409", json_pack("{s:s,s:{s:{s:{s:s}}}}", "description",
                                               "label_pending: the declaration assigned the label, inventory has not "
                                               "received its unit yet; retry after retry_after_s.",
                                               "content", "application/problem+json", "schema", "$ref",
                                               "#/components/schemas/Problem"));
    if (IS_LABEL_IMAGE(r)) { /* not JSON: the 200 is an image or a ZPL text */
      const char *ct = r == I_LABEL_PNG ? "image/png" : r == I_LABEL_SVG ? "image/svg+xml" : "text/plain";
      json_t *ok = json_object_get(resp, "200");
      json_object_set_new(ok, "content", json_pack("{s:{s:{s:s,s:s}}}", ct, "schema", "type", "string", "format",
                                                   r == I_LABEL_PNG ? "binary" : "text"));
    }
    json_object_set_new(paths, rt->path, op);
  }
  fofal__inventory_stores_openapi(paths, schemas);
}

/* At start: what the QR codes carry. */
static int configure(const fofal_api_conf_t *conf, char *errbuf, size_t errlen) {
  char probe[FOFAL_LABEL_TEXT_MAX + 1];
  const char *url = conf->label_url;
  if (url && *url && fofal_label_qr_payload(url, "t", "00000000-0000-7000-8000-000000000000", probe, sizeof probe))
    return fofal_err(errbuf, errlen, FOFAL_ECONFIG,
                     "FOFAL_API_LABEL_URL must be http(s)://… of at most %d printable characters", FOFAL_LABEL_BASE_URL_MAX);
  snprintf(label_url, sizeof label_url, "%s", url ? url : "");
  return 0;
}

/* Which read route shows the aggregate of each inventory event (stream_roles.c). */
static const fofal_push_route_t push_routes[] = {
    {"unit_", "/api/v1/inventory/labels/{id}", 0},
    {"label_", "/api/v1/inventory/labels/{id}", 0},
    {"location_", "/api/v1/inventory/locations", 0},
    {"lot_", "/api/v1/inventory/lots/{code}", 0},
    {"carton_", "/api/v1/inventory/containers/{id}", 0},
    {"pallet_", "/api/v1/inventory/containers/{id}", 0},
    {"count_", "/api/v1/inventory/counts/{id}", 0},
    {"stock_", "/api/v1/inventory/stock", 0},
    {"minimum_", "/api/v1/inventory/alerts", 0},
    {"settings_", "/api/v1/inventory/locations", 0},
    {"container_", "/api/v1/inventory/containers/{id}", 0},
    {"pick_", "/api/v1/inventory/picks/{id}", 0},
    {NULL, NULL, 0},
};

const fofal_api_module_t fofal_module_inventory_routes = {
    .name = "inventory",
    .on_read = on_read,
    .openapi = openapi,
    .configure = configure,
    .push_routes = push_routes,
};
