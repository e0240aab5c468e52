/*
 * notify_api.c — the notify module's reads.
 *
 *   GET /api/v1/notify/rules                       the tenant's rules and settings
 *   GET /api/v1/notify/messages?status=&limit=&cursor=
 *                                                  what fofal-notifier made of them: each
 *                                                  message (sent, pending a retry, failed,
 *                                                  skipped), oldest first, keyset-paginated
 *
 * Rules are the notify projection's rows; messages are fofal-notifier's own
 * (notify_ops.messages, schemas/notify/090_notify.sql): subject, channel, badge, status,
 * attempts, last error — never an address. Managers and admins read them.
 *
 * Threads: the handler runs on the loop thread, run() on a read worker with a copy of
 * params_t; the routes table is read-only.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LIMIT 50
#define MAX_LIMIT 200
#define MAX_CURSOR 256
#define ROLES "manager admin"
#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

enum { N_RULES, N_MESSAGES, N_N };
#define P_PAGE 1

static const fofal_read_route_t routes[N_N] = {
    [N_RULES] = {"/api/v1/notify/rules", "notify.rules.list", "Notification rules.",
                 "The tenant's rules (event, channel, recipients by role and badge) and its settings (name, language).",
                 ROLES, NULL, 0, "NotifyRules"},
    [N_MESSAGES] = {"/api/v1/notify/messages", "notify.messages.list", "Messages sent, pending or failed.",
                    "Every message fofal-notifier made for the tenant, oldest first, keyset-paginated: status sent, "
                    "pending (waiting for a retry), failed (its retries spent) or skipped (no address any more).",
                    ROLES, NULL, P_PAGE, "NotifyMessagePage"},
};

static const char *const statuses[] = {"pending", "sent", "failed", "skipped", NULL};

typedef struct {
  int route;
  char status[16];
  int limit, has_after;
  char after[40], after2[48];
} params_t;

static void run(fofal_worker_t *w, const char *tenant, void *opaque, fofal__read_result_t *res) {
  const params_t *p = opaque;
  char lim[16], err[512];
  json_t *rows = NULL;
  int rc;
  if (p->route == N_RULES) {
    const char *params[] = {tenant};
    rc = fofal__worker_query(
        w, tenant,
        "SELECT json_build_object('settings', (SELECT json_build_object('tenant_name', s.tenant_name, 'lang', s.lang) "
        "FROM notify.settings s WHERE s.tenant = $1), 'rules', coalesce((SELECT json_agg(json_build_object('rule_id', "
        "r.rule_id, 'event_type', r.event_type, 'channel', r.channel, 'roles', r.roles, 'badges', r.badges, 'enabled', "
        "r.enabled, 'on_shift', r.on_shift, 'set_by', r.set_by, 'version', r.version, 'updated_at', " TS("r.updated_at") ") ORDER BY r.rule_id) "
        "FROM notify.rules r WHERE r.tenant = $1), '[]'::json))",
        1, params, &rows, err, sizeof err);
    if (rc) {
      fofal__read_fail(res, rc, err, 0);
      return;
    }
    res->status = 200;
    res->body = json_incref(json_array_get(rows, 0));
    json_decref(rows);
    return;
  }
  snprintf(lim, sizeof lim, "%d", p->limit + 1);
  const char *params[] = {tenant, p->status[0] ? p->status : NULL, p->has_after ? p->after : NULL,
                          p->has_after ? p->after2 : NULL, lim};
  rc = fofal__worker_query(
      w, tenant,
      "SELECT json_build_object('message_id', m.message_id, 'event_id', m.event_id, 'event_type', m.event_type, "
      "'rule_id', m.rule_id, 'badge', m.badge, 'channel', m.channel, 'lang', m.lang, 'subject', m.subject, 'status', "
      "m.status, 'attempts', m.attempts, 'last_error', m.last_error, 'created_at', " TS("m.created_at") ", 'sent_at', "
      TS("m.sent_at") ", 'next_at', CASE WHEN m.status = 'pending' THEN " TS("m.next_at") " END) FROM "
      "notify_ops.messages m WHERE m.tenant = $1 AND ($2::text IS NULL OR m.status = $2) AND ($3::timestamptz IS NULL "
      "OR (m.created_at, m.message_id) > ($3::timestamptz, $4::uuid)) ORDER BY m.created_at, m.message_id LIMIT $5::int",
      5, params, &rows, err, sizeof err);
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  json_t *next = json_null();
  if (json_array_size(rows) > (size_t)p->limit) {
    json_array_remove(rows, (size_t)p->limit);
    const json_t *last = json_array_get(rows, (size_t)p->limit - 1);
    const char *at = json_string_value(json_object_get(last, "created_at"));
    const char *id = json_string_value(json_object_get(last, "message_id"));
    char raw[128];
    snprintf(raw, sizeof raw, "%s|%s", at ? at : "", id ? id : "");
    size_t n = strlen(raw);
    char *c = fofal_malloc(h2o_base64_encode_capacity(n));
    h2o_base64_encode(c, raw, n, 1);
    next = json_string(c);
    free(c);
  }
  res->status = 200;
  res->body = json_pack("{s:o,s:o}", "items", rows, "next_cursor", next);
}

static int match(const char *path, size_t len) {
  static const char base[] = "/api/v1/notify/";
  char s1[32];
  size_t at = sizeof base - 1;
  if (path[len - 1] == '/' || fofal__path_segment(path, len, &at, s1, sizeof s1) || at != len) return -1;
  if (!strcmp(s1, "rules")) return N_RULES;
  if (!strcmp(s1, "messages")) return N_MESSAGES;
  return -1;
}

static int parse(h2o_req_t *req, params_t *p, fofal__perr_t *e) {
  const char *s;
  if (!(routes[p->route].params & P_PAGE)) return 0;
  if ((s = fofal__param(req, "status"))) {
    int found = 0;
    for (int i = 0; statuses[i]; i++) found |= !strcmp(statuses[i], s);
    if (!found)
      return fofal__perr(e, 400, "invalid_parameter", "status must be pending, sent, failed or skipped (got \"%.40s\")", s);
    snprintf(p->status, sizeof p->status, "%s", s);
  }
  int rc = fofal__parse_limit(req, DEFAULT_LIMIT, MAX_LIMIT, &p->limit, e);
  if (rc) return rc;
  if ((s = fofal__param(req, "cursor"))) {
    char raw[160];
    int64_t us;
    char *bar = NULL;
    if (!fofal__decode_cursor(req, s, MAX_CURSOR, raw, sizeof raw)) bar = strchr(raw, '|');
    if (bar) *bar = '\0';
    if (!bar || fofal_time_parse(raw, &us) || !fofal_uuid_valid(bar + 1))
      return fofal__perr(e, 400, "malformed_cursor", "cursor must be a next_cursor returned by this endpoint%s", "");
    fofal_time_format(us, p->after);
    snprintf(p->after2, sizeof p->after2, "%s", bar + 1);
    p->has_after = 1;
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
  p.route = match(req->path_normalized.base, req->path_normalized.len);
  if (p.route < 0) {
    fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
    return 0;
  }
  if (!fofal__get_only(req) || fofal__authenticate(api, req, &who) ||
      fofal__read_roles_check(req, &who, routes[p.route].roles, routes[p.route].path + sizeof "/api/v1" - 1))
    return 0;
  if (parse(req, &p, &e)) {
    fofal__send_problem(req, e.status, e.code, e.detail, NULL);
    return 0;
  }
  return fofal__read_serve(api, req, &who, 0, run, &p, sizeof p);
}

static const struct {
  const char *name, *json;
} schemas_json[] = {
    {"NotifyRules",
     "{\"type\":\"object\",\"properties\":{\"settings\":{\"type\":[\"object\",\"null\"],\"properties\":{\"tenant_name\":"
     "{\"type\":\"string\"},\"lang\":{\"enum\":[\"fr\",\"en\"]}}},\"rules\":{\"type\":\"array\",\"items\":{\"type\":"
     "\"object\",\"properties\":{\"rule_id\":{\"type\":\"string\"},\"event_type\":{\"type\":\"string\"},\"channel\":"
     "{\"enum\":[\"email\",\"sms\"]},\"roles\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},\"badges\":{\"type\":"
     "\"array\",\"items\":{\"type\":\"string\"}},\"enabled\":{\"type\":\"boolean\"},\"on_shift\":{\"type\":\"boolean\"},\"set_by\":{},\"version\":{\"type\":"
     "\"integer\"},\"updated_at\":{\"type\":\"string\"}}}}}}"},
    {"NotifyMessage",
     "{\"type\":\"object\",\"properties\":{\"message_id\":{\"type\":\"string\",\"format\":\"uuid\"},\"event_id\":{\"type\":"
     "\"string\"},\"event_type\":{\"type\":\"string\"},\"rule_id\":{\"type\":\"string\"},\"badge\":{\"type\":\"string\"},"
     "\"channel\":{\"enum\":[\"email\",\"sms\"]},\"lang\":{\"enum\":[\"fr\",\"en\"]},\"subject\":{\"type\":\"string\"},"
     "\"status\":{\"enum\":[\"pending\",\"sent\",\"failed\",\"skipped\"]},\"attempts\":{\"type\":\"integer\"},"
     "\"last_error\":{},\"created_at\":{\"type\":\"string\"},\"sent_at\":{},\"next_at\":{}}}"},
};

static void openapi(json_t *paths, json_t *schemas) {
  for (size_t i = 0; i < sizeof schemas_json / sizeof schemas_json[0]; i++) {
    json_t *s = json_loads(schemas_json[i].json, 0, NULL);
    if (s) json_object_set_new(schemas, schemas_json[i].name, s);
  }
  json_object_set_new(schemas, "NotifyMessagePage", fofal__openapi_page("#/components/schemas/NotifyMessage"));
  for (int r = 0; r < N_N; r++) {
    const fofal_read_route_t *rt = &routes[r];
    json_t *params = json_array();
    if (rt->params & P_PAGE) {
      json_array_append_new(params,
                            fofal__openapi_query_param("status", "Only messages in this status.",
                                                       json_pack("{s:[s,s,s,s]}", "enum", "pending", "sent", "failed",
                                                                 "skipped")));
      json_array_append_new(params, json_pack("{s:s}", "$ref", "#/components/parameters/Limit"));
      json_array_append_new(params, json_pack("{s:s}", "$ref", "#/components/parameters/Cursor"));
    }
    char desc[1024], ref[96];
    snprintf(desc, sizeof desc,
             "%s Roles: %s. With ?position= (from a command's 201) the read waits (bounded) until the projection has "
             "applied it.",
             rt->desc, rt->roles);
    snprintf(ref, sizeof ref, "#/components/schemas/%s", rt->schema);
    json_object_set_new(paths, rt->path, fofal__openapi_read_op("notify", rt->op_id, rt->summary, desc, params, ref, rt->roles));
  }
}

static const fofal_push_route_t push_routes[] = {
    {"settings_", "/api/v1/notify/rules", 0}, {"rule_", "/api/v1/notify/rules", 0},
    {"contact_", "/api/v1/notify/rules", 0},  {"optout_", "/api/v1/notify/rules", 0},
    {"message_", "/api/v1/notify/messages", 0}, {NULL, NULL, 0},
};

const fofal_api_module_t fofal_module_notify_routes = {
    .name = "notify",
    .on_read = on_read,
    .openapi = openapi,
    .push_routes = push_routes,
};
