/*
 * purchasing_api.c — the purchasing module's reads: suppliers, purchase requests with
 * their whole story, purchase orders with their lines and receipts, and what is late.
 *
 *   GET /api/v1/purchasing/suppliers?limit=&cursor=         by code, keyset-paginated
 *   GET /api/v1/purchasing/suppliers/{code}                 one supplier (ETag: its version)
 *   GET /api/v1/purchasing/requests?status=&station=&limit=&cursor=
 *                                       oldest request first (status=open: not yet ordered
 *                                       nor rejected; awaiting_second_approval: the approvers')
 *   GET /api/v1/purchasing/requests/{id}  a request's story: who asked, each approval or the
 *                                       rejection, its order and that order's receipts
 *   GET /api/v1/purchasing/orders?supplier=&status=&late=&limit=&cursor=
 *                                       oldest order first; late=true: open orders with a
 *                                       line past its expected date and not all received
 *   GET /api/v1/purchasing/orders/{id}  one order, its lines and receipts (ETag: its version)
 *
 * The rows are the purchasing projection's (schemas/purchasing/080_purchasing.sql). The
 * engine (api/reads.c) runs the queries on a read worker and waits for ?position=.
 *
 * One table (routes[]) gives every route its path, roles, parameters and answer; the
 * handler's role check and the OpenAPI document read it. A role that may not read a route
 * gets 403 before anything else is looked at.
 *
 * Threads: the handler runs on the loop thread, run() on a read worker with a copy of
 * params_t; the routes table and the OpenAPI text are read-only.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LIMIT 50
#define MAX_LIMIT 200
#define MAX_CURSOR 256

/* "2026-11-24T08:15:02.123456Z" from a timestamptz column. */
#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* Who reads purchasing: the stations that ask, who approves, orders, receives and pays. */
#define ROLES_PURCHASING "cutter mechanic storekeeper_mp planner manager accountant admin"

#define SUPPLIER_COLS                                                                                                  \
  "json_build_object('supplier', s.supplier, 'name', s.name, 'currency', s.currency, 'payment_terms_days', "          \
  "s.payment_terms_days, 'payment_terms', s.payment_terms, 'vat_id', s.vat_id, 'contact', s.contact, 'version', "     \
  "s.version, 'registered_at', " TS("s.registered_at") ", 'updated_at', " TS("s.updated_at") ")"

#define REQUEST_COLS                                                                                                   \
  "json_build_object('request_id', r.request_id, 'status', r.status, 'item', r.item, 'description', r.description, "  \
  "'quantity_milli', r.quantity_milli, 'unit', r.unit, 'need_by', r.need_by, 'reason', r.reason, "                   \
  "'estimated_unit_price', r.estimated_unit_price, 'amount', r.amount, 'intervention_id', r.intervention_id, "        \
  "'station', r.station, 'requested_by', r.requested_by, 'requester_badge', r.requester_badge, 'requested_at', "     \
  TS("r.requested_at") ", 'approvals', r.approvals, 'rejected_by', r.rejected_by, 'reject_reason', r.reject_reason, " \
  "'rejected_at', " TS("r.rejected_at") ", 'order_id', r.order_id, 'ordered_at', " TS("r.ordered_at") ", 'version', " \
  "r.version)"

/* An open order with a line past its expected date that has not all come. */
#define ORDER_LATE                                                                                                     \
  "(o.status IN ('open', 'partly_received') AND EXISTS (SELECT 1 FROM purchasing.order_lines l WHERE l.tenant = "     \
  "o.tenant AND l.order_id = o.order_id AND l.expected_date < current_date AND l.received_milli < l.quantity_milli))"

#define RECEIPTS_OF(order)                                                                                             \
  "coalesce((SELECT json_agg(json_build_object('receipt_id', c.receipt_id, 'delivery_note', c.delivery_note, "        \
  "'received_by', c.received_by, 'receiver_badge', c.receiver_badge, 'received_at', " TS("c.received_at") ", "       \
  "'lines', c.lines) ORDER BY c.received_at, c.receipt_id) FROM purchasing.receipts c WHERE c.tenant = $1 AND "       \
  "c.order_id = " order "), '[]'::json)"

#define ORDER_COLS                                                                                                     \
  "json_build_object('order_id', o.order_id, 'supplier', o.supplier, 'currency', o.currency, 'status', o.status, "    \
  "'total', o.total, 'requests', o.requests, 'note', o.note, 'issued_by', o.issued_by, 'issued_at', "                 \
  TS("o.issued_at") ", 'closed_at', " TS("o.closed_at") ", 'cancelled_at', " TS("o.cancelled_at") ", 'reason', "     \
  "o.reason, 'late', " ORDER_LATE ", 'lines', coalesce((SELECT json_agg(json_build_object('line', l.line, 'item', "   \
  "l.item, 'description', l.description, 'quantity_milli', l.quantity_milli, 'unit', l.unit, 'unit_price', "          \
  "l.unit_price, 'expected_date', l.expected_date, 'received_milli', l.received_milli, 'refused_milli', "             \
  "l.refused_milli) ORDER BY l.line) FROM purchasing.order_lines l WHERE l.tenant = o.tenant AND l.order_id = "       \
  "o.order_id), '[]'::json), 'version', o.version)"

enum { P_SUPPLIERS, P_SUPPLIER, P_REQUESTS, P_REQUEST, P_ORDERS, P_ORDER, P_N };
#define F_PAGE 1     /* limit and cursor */
#define F_REQUESTS 2 /* status, station */
#define F_ORDERS 4   /* supplier, status, late */

static const fofal_read_route_t routes[P_N] = {
    [P_SUPPLIERS] = {"/api/v1/purchasing/suppliers", "purchasing.suppliers.list", "Suppliers.",
                     "By supplier code, keyset-paginated.", ROLES_PURCHASING, NULL, F_PAGE, "SupplierPage"},
    [P_SUPPLIER] = {"/api/v1/purchasing/suppliers/{code}", "purchasing.suppliers.get", "One supplier.",
                    "Name, currency, payment terms, VAT id, contact; ETag is its version.", ROLES_PURCHASING, NULL, 0,
                    "Supplier"},
    [P_REQUESTS] = {"/api/v1/purchasing/requests", "purchasing.requests.list", "Purchase requests.",
                    "Oldest request first, keyset-paginated; status=open means submitted, awaiting a second approval or "
                    "approved (not yet ordered); station= the role that asked.",
                    ROLES_PURCHASING, NULL, F_PAGE | F_REQUESTS, "PurchaseRequestPage"},
    [P_REQUEST] = {"/api/v1/purchasing/requests/{id}", "purchasing.requests.get", "A purchase request's story.",
                   "Who asked (station, actor, badge), each approval or the rejection, the order it went into (order) and "
                   "that order's receipts (receipts).",
                   ROLES_PURCHASING, NULL, 0, "PurchaseRequestStory"},
    [P_ORDERS] = {"/api/v1/purchasing/orders", "purchasing.orders.list", "Purchase orders.",
                  "Oldest order first, keyset-paginated, with their lines; status=open means open or partly received; "
                  "late=true only the open ones with a line past its expected date not all received.",
                  ROLES_PURCHASING, NULL, F_PAGE | F_ORDERS, "PurchaseOrderPage"},
    [P_ORDER] = {"/api/v1/purchasing/orders/{id}", "purchasing.orders.get", "One purchase order.",
                 "Its lines (ordered, received and refused so far, thousandths of the unit), its receipts; ETag is its "
                 "version.",
                 ROLES_PURCHASING, NULL, 0, "PurchaseOrder"},
};

static const char *const request_statuses[] = {"open",    "submitted", "awaiting_second_approval", "approved",
                                               "ordered", "rejected",  NULL};
static const char *const order_statuses[] = {"open", "partly_received", "received", "closed", "cancelled", NULL};

typedef struct {
  int route;
  char key[80];                           /* the code or id of the path */
  char status[32], station[40], supplier[72]; /* filters ("": none) */
  int limit, has_after, late;
  char after[96], after2[48];             /* decoded cursor: time (or code), id */
} params_t;

/* ------------------------------------------------------------------ run */

static void run(fofal_worker_t *w, const char *tenant, void *opaque, fofal__read_result_t *res) {
  const params_t *p = opaque;
  char lim[16], err[512];
  json_t *rows = NULL;
  int rc = 0;
  snprintf(lim, sizeof lim, "%d", p->limit + 1);
  const char *after = p->has_after ? p->after : NULL, *after2 = p->has_after ? p->after2 : NULL;
  switch (p->route) {
  case P_SUPPLIER: {
    const char *params[] = {tenant, p->key};
    rc = fofal__worker_query(w, tenant,
                             "SELECT " SUPPLIER_COLS " FROM purchasing.suppliers s WHERE s.tenant = $1 AND s.supplier = $2",
                             2, params, &rows, err, sizeof err);
    break;
  }
  case P_SUPPLIERS: {
    const char *params[] = {tenant, after, lim};
    rc = fofal__worker_query(w, tenant,
                             "SELECT " SUPPLIER_COLS " FROM purchasing.suppliers s WHERE s.tenant = $1 AND ($2::text IS "
                             "NULL OR s.supplier > $2) ORDER BY s.supplier LIMIT $3::int",
                             3, params, &rows, err, sizeof err);
    break;
  }
  case P_REQUEST: {
    const char *params[] = {tenant, p->key};
    rc = fofal__worker_query(w, tenant,
                             "SELECT " REQUEST_COLS "::jsonb || jsonb_build_object('order', (SELECT " ORDER_COLS " FROM "
                             "purchasing.orders o WHERE o.tenant = $1 AND o.order_id = r.order_id), 'receipts', "
                             RECEIPTS_OF("r.order_id") ") FROM purchasing.requests r WHERE r.tenant = $1 AND "
                             "r.request_id = $2::uuid",
                             2, params, &rows, err, sizeof err);
    break;
  }
  case P_REQUESTS: {
    const char *params[] = {tenant, p->status[0] ? p->status : NULL, p->station[0] ? p->station : NULL, after, after2, lim};
    rc = fofal__worker_query(w, tenant,
                             "SELECT " REQUEST_COLS " FROM purchasing.requests r WHERE r.tenant = $1 AND ($2::text IS "
                             "NULL OR r.status = $2 OR ($2 = 'open' AND r.status IN ('submitted', "
                             "'awaiting_second_approval', 'approved'))) AND ($3::text IS NULL OR r.station = $3) AND "
                             "($4::timestamptz IS NULL OR (r.requested_at, r.request_id) > ($4::timestamptz, $5::uuid)) "
                             "ORDER BY r.requested_at, r.request_id LIMIT $6::int",
                             6, params, &rows, err, sizeof err);
    break;
  }
  case P_ORDER: {
    const char *params[] = {tenant, p->key};
    rc = fofal__worker_query(w, tenant,
                             "SELECT " ORDER_COLS "::jsonb || jsonb_build_object('receipts', " RECEIPTS_OF("o.order_id")
                             ") FROM purchasing.orders o WHERE o.tenant = $1 AND o.order_id = $2::uuid",
                             2, params, &rows, err, sizeof err);
    break;
  }
  default: {
    const char *params[] = {tenant, p->status[0] ? p->status : NULL, p->supplier[0] ? p->supplier : NULL,
                            p->late ? "t" : NULL, after, after2, lim};
    rc = fofal__worker_query(w, tenant,
                             "SELECT " ORDER_COLS " FROM purchasing.orders o WHERE o.tenant = $1 AND ($2::text IS NULL OR "
                             "o.status = $2 OR ($2 = 'open' AND o.status IN ('open', 'partly_received'))) AND ($3::text "
                             "IS NULL OR o.supplier = $3) AND ($4::text IS NULL OR " ORDER_LATE ") AND ($5::timestamptz "
                             "IS NULL OR (o.issued_at, o.order_id) > ($5::timestamptz, $6::uuid)) ORDER BY o.issued_at, "
                             "o.order_id LIMIT $7::int",
                             7, params, &rows, err, sizeof err);
    break;
  }
  }
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  switch (p->route) {
  case P_SUPPLIER: fofal__read_one(res, rows, "supplier", 1); break;
  case P_REQUEST: fofal__read_one(res, rows, "purchase request", 0); break;
  case P_ORDER: fofal__read_one(res, rows, "purchase order", 1); break;
  case P_SUPPLIERS: fofal__read_page(res, rows, p->limit, (const char *const[]){"supplier", NULL}); break;
  case P_REQUESTS: fofal__read_page(res, rows, p->limit, (const char *const[]){"requested_at", "request_id", NULL}); break;
  default: fofal__read_page(res, rows, p->limit, (const char *const[]){"issued_at", "order_id", NULL}); break;
  }
}

/* -------------------------------------------------------------- routing */

/* The route of the path below /api/v1/purchasing/ (p->key set), or -1 for none. */
static int match(const char *path, size_t len, params_t *p) {
  static const char base[] = "/api/v1/purchasing/";
  static const char *const lists[] = {"suppliers", "requests", "orders"};
  char s1[32];
  size_t at = sizeof base - 1;
  if (path[len - 1] == '/' || fofal__path_segment(path, len, &at, s1, sizeof s1)) return -1;
  for (int i = 0; i < 3; i++) {
    if (strcmp(s1, lists[i])) continue;
    if (at == len) return 2 * i;
    if (!fofal__path_segment(path, len, &at, p->key, sizeof p->key) && at == len) return 2 * i + 1;
  }
  return -1;
}

static int one_of(const char *const *set, const char *s) {
  for (int i = 0; set[i]; i++)
    if (!strcmp(set[i], s)) return 1;
  return 0;
}

/* The route's query parameters into *p: 0, or FOFAL_EINVAL with *e (fofal__perr). */
static int parse(h2o_req_t *req, params_t *p, fofal__perr_t *e) {
  const char *s;
  int fl = routes[p->route].params;
  if ((fl & (F_REQUESTS | F_ORDERS)) && (s = fofal__param(req, "status"))) {
    if (!one_of(fl & F_REQUESTS ? request_statuses : order_statuses, s))
      return fofal__perr(e, 400, "invalid_parameter", "status is not a status of these (got \"%.40s\")", s);
    snprintf(p->status, sizeof p->status, "%s", s);
  }
  if ((fl & F_REQUESTS) && (s = fofal__param(req, "station"))) {
    if (!fofal__valid_name(s, 32))
      return fofal__perr(e, 400, "invalid_parameter", "station is a role name (got \"%.40s\")", s);
    snprintf(p->station, sizeof p->station, "%s", s);
  }
  if (fl & F_ORDERS) {
    if ((s = fofal__param(req, "supplier"))) {
      if (!fofal_code_valid(s))
        return fofal__perr(e, 400, "invalid_parameter", "supplier is not a supplier code (got \"%.40s\")", s);
      snprintf(p->supplier, sizeof p->supplier, "%s", s);
    }
    if ((s = fofal__param(req, "late"))) {
      if (strcmp(s, "true") && strcmp(s, "false"))
        return fofal__perr(e, 400, "invalid_parameter", "late is true or false (got \"%.40s\")", s);
      p->late = !strcmp(s, "true");
    }
  }
  if (fl & F_PAGE) {
    int rc = fofal__parse_limit(req, DEFAULT_LIMIT, MAX_LIMIT, &p->limit, e);
    if (rc) return rc;
    if ((s = fofal__param(req, "cursor"))) {
      /* "<code>" for suppliers, "<time>|<id>" for the others, as run() made it: a forged one
       * is a 400. */
      char raw[160];
      int64_t us;
      int bad = fofal__decode_cursor(req, s, MAX_CURSOR, raw, sizeof raw);
      if (!bad && p->route == P_SUPPLIERS) {
        bad = !fofal_code_valid(raw);
        snprintf(p->after, sizeof p->after, "%s", raw);
      } else if (!bad) {
        char *bar = strchr(raw, '|');
        if (bar) *bar = '\0';
        bad = !bar || fofal_time_parse(raw, &us) || !fofal_uuid_valid(bar + 1);
        if (!bad) {
          fofal_time_format(us, p->after);
          snprintf(p->after2, sizeof p->after2, "%s", bar + 1);
        }
      }
      if (bad) return fofal__perr(e, 400, "malformed_cursor", "cursor must be a next_cursor returned by this endpoint%s", "");
      p->has_after = 1;
    }
  }
  return 0;
}

static int on_read(h2o_handler_t *self, h2o_req_t *req) {
  fofal_api_t *api = API_OF(self);
  fofal_principal_t who;
  fofal__perr_t e = {0};
  params_t p;
  atomic_fetch_add(&fofal__metrics.requests, 1);
  atomic_fetch_add(&fofal__metrics.reads, 1);
  memset(&p, 0, sizeof p);
  p.route = match(req->path_normalized.base, req->path_normalized.len, &p);
  if (p.route < 0) {
    fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
    return 0;
  }
  if (!fofal__get_only(req) || fofal__authenticate(api, req, &who) ||
      fofal__read_roles_check(req, &who, routes[p.route].roles, routes[p.route].path + sizeof "/api/v1" - 1))
    return 0;
  if ((p.route == P_SUPPLIER && !fofal_code_valid(p.key)) ||
      ((p.route == P_REQUEST || p.route == P_ORDER) && !fofal_uuid_valid(p.key))) {
    fofal__send_problem(req, 404, "not_found", "nothing of this tenant has this name", NULL);
    return 0;
  }
  if (parse(req, &p, &e)) {
    fofal__send_problem(req, e.status, e.code, e.detail, NULL);
    return 0;
  }
  return fofal__read_serve(api, req, &who, 0, run, &p, sizeof p);
}

/* -------------------------------------------------------------- OpenAPI */

#define ANY "{}"
static const struct {
  const char *name, *json;
} schemas_json[] = {
    {"Supplier",
     "{\"type\":\"object\",\"properties\":{\"supplier\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},\"currency\":"
     "{\"type\":\"string\"},\"payment_terms_days\":" ANY ",\"payment_terms\":" ANY ",\"vat_id\":" ANY ",\"contact\":" ANY
     ",\"version\":{\"type\":\"integer\"},\"registered_at\":{\"type\":\"string\"},\"updated_at\":{\"type\":\"string\"}}}"},
    {"PurchaseRequest",
     "{\"type\":\"object\",\"properties\":{\"request_id\":{\"type\":\"string\",\"format\":\"uuid\"},\"status\":{\"enum\":"
     "[\"submitted\",\"awaiting_second_approval\",\"approved\",\"ordered\",\"rejected\"]},\"item\":" ANY ",\"description\":"
     ANY ",\"quantity_milli\":{\"type\":\"integer\",\"description\":\"Thousandths of the unit.\"},\"unit\":{\"type\":"
     "\"string\"},\"need_by\":{\"type\":\"string\"},\"reason\":{\"type\":\"string\"},\"estimated_unit_price\":" ANY
     ",\"amount\":" ANY ",\"intervention_id\":" ANY ",\"station\":{\"type\":\"string\"},\"requested_by\":{\"type\":"
     "\"string\"},\"requester_badge\":" ANY ",\"requested_at\":{\"type\":\"string\"},\"approvals\":{\"type\":\"array\","
     "\"description\":\"Each approval: approved_by, approver_role, amount, limit, status, at.\"},\"rejected_by\":" ANY
     ",\"reject_reason\":" ANY ",\"rejected_at\":" ANY ",\"order_id\":" ANY ",\"ordered_at\":" ANY ",\"version\":{\"type\":"
     "\"integer\"}}}"},
    {"PurchaseOrder",
     "{\"type\":\"object\",\"properties\":{\"order_id\":{\"type\":\"string\",\"format\":\"uuid\"},\"supplier\":{\"type\":"
     "\"string\"},\"currency\":{\"type\":\"string\"},\"status\":{\"enum\":[\"open\",\"partly_received\",\"received\","
     "\"closed\",\"cancelled\"]},\"total\":{\"type\":\"integer\",\"description\":\"Minor units.\"},\"requests\":{\"type\":"
     "\"array\"},\"note\":" ANY ",\"issued_by\":{\"type\":\"string\"},\"issued_at\":{\"type\":\"string\"},\"closed_at\":" ANY
     ",\"cancelled_at\":" ANY ",\"reason\":" ANY ",\"late\":{\"type\":\"boolean\"},\"lines\":{\"type\":\"array\",\"items\":"
     "{\"type\":\"object\",\"properties\":{\"line\":{\"type\":\"integer\"},\"item\":" ANY ",\"description\":" ANY
     ",\"quantity_milli\":{\"type\":\"integer\"},\"unit\":{\"type\":\"string\"},\"unit_price\":{\"type\":\"integer\"},"
     "\"expected_date\":{\"type\":\"string\"},\"received_milli\":{\"type\":\"integer\"},\"refused_milli\":{\"type\":"
     "\"integer\"}}}},\"receipts\":{\"type\":\"array\",\"description\":\"Only in GET /orders/{id}: receipt_id, "
     "delivery_note, received_by, receiver_badge, received_at, lines.\"},\"version\":{\"type\":\"integer\"}}}"},
    {"PurchaseRequestStory",
     "{\"allOf\":[{\"$ref\":\"#/components/schemas/PurchaseRequest\"},{\"type\":\"object\",\"properties\":{\"order\":"
     "{\"oneOf\":[{\"$ref\":\"#/components/schemas/PurchaseOrder\"},{\"type\":\"null\"}]},\"receipts\":{\"type\":"
     "\"array\"}}}]}"},
};

static void openapi(json_t *paths, json_t *schemas) {
  for (size_t i = 0; i < sizeof schemas_json / sizeof schemas_json[0]; i++) {
    json_t *s = json_loads(schemas_json[i].json, 0, NULL);
    if (s) json_object_set_new(schemas, schemas_json[i].name, s);
  }
  json_object_set_new(schemas, "SupplierPage", fofal__openapi_page("#/components/schemas/Supplier"));
  json_object_set_new(schemas, "PurchaseRequestPage", fofal__openapi_page("#/components/schemas/PurchaseRequest"));
  json_object_set_new(schemas, "PurchaseOrderPage", fofal__openapi_page("#/components/schemas/PurchaseOrder"));
  for (int r = 0; r < P_N; r++) {
    const fofal_read_route_t *rt = &routes[r];
    json_t *params = json_array();
    if (r == P_SUPPLIER) json_array_append_new(params, fofal__openapi_path_param("code", "Supplier code."));
    if (r == P_REQUEST || r == P_ORDER) json_array_append_new(params, fofal__openapi_path_param("id", "Id (UUID)."));
    if (rt->params & F_REQUESTS) {
      json_array_append_new(params, fofal__openapi_query_param(
                                        "status", "Only requests in this status (open: not yet ordered nor rejected).",
                                        json_pack("{s:[s,s,s,s,s,s]}", "enum", "open", "submitted",
                                                  "awaiting_second_approval", "approved", "ordered", "rejected")));
      json_array_append_new(params, fofal__openapi_query_param("station", "Only those asked by this role (cutter, "
                                                                          "storekeeper_mp, mechanic …).",
                                                               json_pack("{s:s}", "type", "string")));
    }
    if (rt->params & F_ORDERS) {
      json_array_append_new(params, fofal__openapi_query_param(
                                        "status", "Only orders in this status (open: open or partly received).",
                                        json_pack("{s:[s,s,s,s,s]}", "enum", "open", "partly_received", "received",
                                                  "closed", "cancelled")));
      json_array_append_new(params, fofal__openapi_query_param("supplier", "Only this supplier's.",
                                                               json_pack("{s:s}", "type", "string")));
      json_array_append_new(params,
                            fofal__openapi_query_param("late", "true: only open orders with a line past its expected "
                                                               "date and not all received.",
                                                       json_pack("{s:s}", "type", "boolean")));
    }
    if (rt->params & F_PAGE) {
      json_array_append_new(params, json_pack("{s:s}", "$ref", "#/components/parameters/Limit"));
      json_array_append_new(params, json_pack("{s:s}", "$ref", "#/components/parameters/Cursor"));
    }
    char desc[1024], ref[96];
    snprintf(desc, sizeof desc,
             "%s Roles: %s. With ?position= (from a command's 201) the read waits (bounded) until the projection has "
             "applied it.",
             rt->desc, rt->roles);
    snprintf(ref, sizeof ref, "#/components/schemas/%s", rt->schema);
    json_t *op = fofal__openapi_read_op("purchasing", rt->op_id, rt->summary, desc, params, ref, rt->roles);
    if (r == P_SUPPLIER || r == P_ORDER) fofal__openapi_etag(op);
    json_object_set_new(paths, rt->path, op);
  }
}

/* Which read route shows the aggregate of each purchasing event: its roles receive the
 * event's push (stream_roles.c). */
static const fofal_push_route_t push_routes[] = {
    {"supplier_", "/api/v1/purchasing/suppliers/{code}", 0},
    {"request_", "/api/v1/purchasing/requests/{id}", 0},
    {"order_", "/api/v1/purchasing/orders/{id}", 0},
    {"goods_", "/api/v1/purchasing/orders/{id}", 0},
    {"settings_", "/api/v1/purchasing/suppliers", 0},
    {NULL, NULL, 0},
};

const fofal_api_module_t fofal_module_purchasing_routes = {
    .name = "purchasing",
    .on_read = on_read,
    .openapi = openapi,
    .push_routes = push_routes,
};
