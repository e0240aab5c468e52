/*
 * openapi.c — the OpenAPI 3.1 document (Swagger UI, which shows it, is docs.c).
 *
 * The document is built once at start from the command registry: every command type is
 * a path whose request body is its JSON Schema from schemas/ (the single source), so the
 * docs cannot drift from validation. Each registered module adds its own read paths
 * (fofal_api_module_t.openapi, api/<m>/); the audit trail and the WebSocket stream (stream.c)
 * are described by hand below, next to the parameters every read shares.
 */
#include "api.h"
#include "projections.h"

#include <stdio.h>
#include <string.h>

/* What the server accepts, in one place (tests/integration/test_docs.c checks the server
 * against the document): an Idempotency-Key as commands_api.c's valid_key takes it (the
 * idempotency work moves these two to commands.h, next to the check), and If-Match as its
 * parse_if_match does (a quoted version of at most 18 digits, weak or not). */
#define IDEMPOTENCY_KEY_RULE "1 to 200 characters from A-Z a-z 0-9 - _ . :"
#define IF_MATCH_PATTERN "^(W/)?\"[0-9]{1,18}\"$"
/* ?position=<module>:<partition>:<offset> as reads.c's parse_position takes it:
 * a partition of 0 to 1023 in at most 15 digits (leading zeros allowed), an offset of at
 * most 18 digits; the module is one that a projection (or, on audit routes, an audit
 * projection) serves, listed from the projection table. */
#define POSITION_TAIL ":(0{0,12}[0-9]{1,3}|0{0,11}10[01][0-9]|0{0,11}102[0-3]):[0-9]{1,18}$"

static json_t *problem_ref(const char *desc) {
  return json_pack("{s:s,s:{s:{s:{s:s}}}}", "description", desc, "content", "application/problem+json", "schema",
                   "$ref", "#/components/schemas/Problem");
}

typedef struct {
  json_t *paths, *schemas;
  const fofal_registry_t *reg;
} build_t;

/* ------------------------------------------------------------ read side */

static json_t *ref(const char *to) { return json_pack("{s:s}", "$ref", to); }

static json_t *query_param(const char *name, const char *desc, json_t *schema /* stolen */) {
  return json_pack("{s:s,s:s,s:b,s:s,s:o}", "name", name, "in", "query", "required", 0, "description", desc, "schema",
                   schema);
}

static json_t *path_param(const char *name, const char *desc) {
  return json_pack("{s:s,s:s,s:b,s:s,s:{s:s}}", "name", name, "in", "path", "required", 1, "description", desc, "schema",
                   "type", "string");
}

/* Who may read, as a command's schema says who may send it (the query role matrix test
 * walks it): every role, unless with_roles narrows it to the read route's own roles. A new
 * array. */
static json_t *every_role(void) {
  json_t *roles = json_array();
  for (int i = 0; fofal_api_roles[i]; i++) json_array_append_new(roles, json_string(fofal_api_roles[i]));
  return roles;
}

/* A GET of the read side: `params` stolen (the position parameter is added), 200 with the
 * schema `ok_ref`, and the problems every read may answer. */
static json_t *read_op(const char *tag, const char *op_id, const char *summary, const char *desc, json_t *params,
                       const char *ok_ref, int etag) {
  json_array_append_new(params, ref(strcmp(tag, "audit") ? "#/components/parameters/Position"
                                                          : "#/components/parameters/AuditPosition"));
  json_t *ok = json_pack("{s:s,s:{s:{s:o}}}", "description", "OK.", "content", "application/json", "schema", ref(ok_ref));
  if (etag)
    json_object_set_new(ok, "headers", json_pack("{s:{s:s,s:{s:s}}}", "ETag", "description",
                                                 "The aggregate version, quoted; If-None-Match with it gives 304.",
                                                 "schema", "type", "string"));
  json_t *resp = json_pack("{s:o}", "200", ok);
  if (etag) json_object_set_new(resp, "304", json_pack("{s:s}", "description", "Not modified (If-None-Match)."));
  json_object_set_new(resp, "400", problem_ref("A malformed parameter (invalid_parameter), cursor (malformed_cursor) or "
                                               "position (malformed_position)."));
  json_object_set_new(resp, "401", problem_ref("No valid access token."));
  json_object_set_new(resp, "404", problem_ref("No such resource for the caller's tenant (code not_found)."));
  json_object_set_new(resp, "503",
                      problem_ref("PostgreSQL or Redis unavailable, the read queue full, or position_not_reached: the "
                                  "projection did not reach ?position= within the wait (with how far it is). Retry "
                                  "after Retry-After."));
  return json_pack("{s:{s:[s],s:s,s:s,s:s,s:o,s:o,s:o}}", "get", "tags", tag, "operationId", op_id, "summary", summary,
                   "description", desc, "parameters", params, "responses", resp, "x-fofal-roles", every_role());
}

/* Who may read a read_op (space-separated roles, as fofal__read_roles_check takes them):
 * its x-fofal-roles and its 403. Returns op. */
static json_t *with_roles(json_t *op, const char *roles) {
  char d[512];
  snprintf(d, sizeof d, "The caller's role is not one of: %s (code forbidden).", roles);
  json_t *get = json_object_get(op, "get");
  json_object_set_new(json_object_get(get, "responses"), "403", problem_ref(d));
  json_t *list = json_array(); /* an array, as on every operation and command schema */
  for (const char *c = roles; *c;) {
    size_t n = strcspn(c, " ");
    if (n) json_array_append_new(list, json_stringn(c, n));
    c += n + (c[n] == ' ');
  }
  json_object_set_new(get, "x-fofal-roles", list);
  return op;
}

json_t *fofal__openapi_read_op(const char *tag, const char *op_id, const char *summary, const char *desc, json_t *params,
                               const char *ok_ref, const char *roles) {
  json_t *op = read_op(tag, op_id, summary, desc, params, ok_ref, 0);
  return roles ? with_roles(op, roles) : op;
}

json_t *fofal__openapi_roles(json_t *op, const char *roles) { return with_roles(op, roles); }

static json_t *obj_schema(const char *desc, json_t *props /* stolen */) {
  return json_pack("{s:s,s:s,s:o}", "type", "object", "description", desc, "properties", props);
}

static json_t *page_schema(const char *item_ref) {
  return json_pack("{s:s,s:[s,s],s:{s:{s:s,s:o},s:{s:[s,s],s:s}}}", "type", "object", "required", "items",
                   "next_cursor", "properties", "items", "type", "array", "items", ref(item_ref), "next_cursor", "type",
                   "string", "null", "description", "Pass as ?cursor= for the next page; null on the last page.");
}

json_t *fofal__openapi_query_param(const char *name, const char *desc, json_t *schema) {
  return query_param(name, desc, schema);
}

json_t *fofal__openapi_path_param(const char *name, const char *desc) { return path_param(name, desc); }

json_t *fofal__openapi_object(const char *desc, json_t *props) { return obj_schema(desc, props); }

json_t *fofal__openapi_page(const char *item_ref) { return page_schema(item_ref); }

void fofal__openapi_etag(json_t *op) {
  json_t *get = json_object_get(op, "get"), *resp = json_object_get(get, "responses");
  json_object_set_new(json_object_get(resp, "200"), "headers",
                      json_pack("{s:{s:s,s:{s:s}}}", "ETag", "description",
                                "The aggregate version, quoted; If-None-Match with it gives 304.", "schema", "type",
                                "string"));
  json_object_set_new(resp, "304", json_pack("{s:s}", "description", "Not modified (If-None-Match)."));
}

/* The {module} of the audit routes: a module with an event topic (fofal_modules). New. */
static json_t *module_param(void) {
  json_t *p = path_param("module", "A module: its events are fofal.<module>.events."), *names = json_array();
  for (int i = 0; fofal_modules[i]; i++) json_array_append_new(names, json_string(fofal_modules[i]));
  json_object_set_new(json_object_get(p, "schema"), "enum", names);
  return p;
}

/* The ?position= parameter (new): its pattern names the modules whose projections (audit:
 * audit projections) serve a position. */
static json_t *position_param(int audit) {
  char pattern[512] = "^(", *at = pattern + 2;
  const char *sep = "";
  for (int i = 0; fofal_projections[i]; i++) {
    const char *name = fofal_projections[i]->name;
    if (audit != !strncmp(name, "audit.", 6)) continue;
    at += snprintf(at, (size_t)(pattern + sizeof pattern - at), "%s%s", sep, name + (audit ? 6 : 0));
    sep = "|";
  }
  snprintf(at, (size_t)(pattern + sizeof pattern - at), ")%s", POSITION_TAIL);
  return json_pack("{s:s,s:s,s:b,s:s,s:{s:s,s:i,s:s}}", "name", "position", "in", "query", "required", 0, "description",
                   audit ? "<module>:<partition>:<offset> from a command's 201 (body `position`, header Fofal-Position): "
                           "wait until the audit trail has recorded it."
                         : "<module>:<partition>:<offset> from a command's 201 (body `position`, header Fofal-Position): "
                           "wait until the projection has applied it.",
                   "schema", "type", "string", "maxLength", 159, "pattern", pattern);
}

/* The audit trail (reads.c): by id or code, and by kind and code. */
static void add_audit_paths(json_t *paths, const char *ryw) {
  static const char names[] =
      " {id} is the aggregate's id (a UUID) or a code people type (L13, W121): a code is looked up among the "
      "module's kinds named by code; if more than one of them has events, the answer is 409 ambiguous_aggregate "
      "with the candidates and the /{kind}/{code} path of each. The answer names the aggregate id (and the kind "
      "and code when a code named it).";
  char kinds[1024], desc[2400], folded[256] = "";
  fofal_aggregate_kinds_text(NULL, 1, kinds, sizeof kinds);
  for (int i = 0, at = 0; fofal__api_modules[i] && at < (int)sizeof folded; i++)
    if (fofal__api_modules[i]->audit_fold)
      at += snprintf(folded + at, sizeof folded - (size_t)at, "%s%s: those created by %s", at ? "; " : "",
                     fofal__api_modules[i]->name, fofal__api_modules[i]->audit_fold_first);
  json_t *kind_enum = json_array();
  for (const char *c = kinds; *c;) {
    size_t n = strcspn(c, ",");
    json_array_append_new(kind_enum, json_stringn(c, n));
    c += n;
    while (*c == ',' || *c == ' ') c++;
  }
  static const struct {
    const char *path, *op_id, *summary;
    int by_kind, events;
  } ops[] = {
      {"/api/v1/audit/{module}/{id}/events", "audit.events", "An aggregate's full history.", 0, 1},
      {"/api/v1/audit/{module}/{id}", "audit.state", "An aggregate's state at a time.", 0, 0},
      {"/api/v1/audit/{module}/{kind}/{code}/events", "audit.events_by_code", "The history of a loom, beam …", 1, 1},
      {"/api/v1/audit/{module}/{kind}/{code}", "audit.state_by_code", "The state of a loom, beam … at a time.", 1, 0},
  };
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
    const char *what = ops[i].by_kind ? " {kind} (plural, as in the module's read routes) and {code} name exactly "
                                        "one aggregate, e.g. looms/L13 or beams/B-0042."
                                      : names;
    if (ops[i].events)
      snprintf(desc, sizeof desc,
               "Every event of the aggregate as written, by seq, paginated; with as_of, only those up to that time. "
               "Roles: " FOFAL__AUDIT_ROLES ".%s%s", what, ryw);
    else
      snprintf(desc, sizeof desc,
               "Folds the aggregate's events up to as_of (default: now). Only the aggregates a module folds (%s): the "
               "state of another aggregate is 404 state_not_computed (read its events with as_of). 404 if it had no "
               "event by then. Roles: " FOFAL__AUDIT_ROLES ".%s%s", folded, what, ryw);
    json_t *params = json_pack("[o]", module_param());
    if (ops[i].by_kind) {
      json_t *k = path_param("kind", "A kind of aggregate named by code, plural.");
      json_object_set_new(json_object_get(k, "schema"), "enum", json_deep_copy(kind_enum));
      json_array_append_new(params, k);
      json_array_append_new(params, path_param("code", "The code, as on the plate or badge."));
    } else {
      json_array_append_new(params, path_param("id", "Aggregate id (UUID) or a code (L13)."));
    }
    json_array_append_new(params, query_param("as_of", ops[i].events ? "Only the events up to this RFC 3339 time."
                                                                       : "RFC 3339 time.",
                                              json_pack("{s:s,s:s}", "type", "string", "format", "date-time")));
    if (ops[i].events) {
      json_array_append_new(params, query_param("limit", "Events per page, 1 to 1000 (default 100).",
                                                json_pack("{s:s,s:i,s:i}", "type", "integer", "minimum", 1, "maximum", 1000)));
      json_array_append_new(params, ref("#/components/parameters/Cursor"));
    }
    json_t *op = read_op("audit", ops[i].op_id, ops[i].summary, desc, params,
                         ops[i].events ? "#/components/schemas/AuditEventPage" : "#/components/schemas/AuditState",
                         !ops[i].events);
    with_roles(op, FOFAL__AUDIT_ROLES);
    json_t *resp = json_object_get(json_object_get(op, "get"), "responses");
    json_object_set_new(resp, "404", problem_ref("No such module, no such aggregate, or no event of it (by as_of) "
                                                 "(not_found); the state of an aggregate its module does not fold "
                                                 "(state_not_computed)."));
    if (!ops[i].by_kind)
      json_object_set_new(resp, "409", problem_ref("The code names aggregates of several kinds (ambiguous_aggregate); "
                                                   "`candidates` lists each with its kind, aggregate id and href."));
    json_object_set_new(paths, ops[i].path, op);
  }
  json_decref(kind_enum);
}

static void add_read_paths(json_t *paths, json_t *schemas, json_t *params) {
  static const char ryw[] =
      " With ?position= (from a command's 201), the read first waits (bounded) until the projection has applied "
      "that position: read your writes.";
  add_audit_paths(paths, ryw);

  json_t *stream = json_pack(
      "{s:{s:[s],s:s,s:s,s:s,s:[o,o],s:{s:{s:s},s:o,s:o,s:o}}}", "get", "tags", "stream", "operationId", "stream",
      "summary", "WebSocket pushes of applied events.", "description",
      "HTTP/1.1 WebSocket upgrade. Authenticate with Authorization: Bearer, or ?access_token= (browsers cannot set "
      "headers). Send text frames {\"subscribe\":{\"modules\":[...],\"aggregates\":[...]}} (an absent or empty list "
      "means all of that kind; subscribing widens) and {\"unsubscribe\":{...}} ({} stops everything); each is "
      "acknowledged with {\"ack\":...}. Pushes, for the caller's tenant only and sent after the projection applied "
      "the event: {\"id\":\"<stream id>\",\"event\":{tenant,module,aggregate,type,seq,position,data}}. With ?since=<last "
      "id seen>, what was missed is replayed first (then {\"ack\":\"replayed\",\"count\":n}), without gap or duplicate; "
      "{\"resync\":true} means entries were trimmed and views should be reloaded. Frames over 64 KiB close with 1009, "
      "invalid JSON with 1007, other requests with 1008; a client that does not read (over FOFAL_WS_MAX_QUEUE "
      "messages or 1 MiB unsent) is closed with 1013 \"slow consumer\".",
      "parameters",
      query_param("access_token", "The bearer token, when the Authorization header cannot be set.", json_pack("{s:s}", "type", "string")),
      query_param("since", "Resume after this stream id.", json_pack("{s:s,s:s}", "type", "string", "pattern", "^[0-9]+-[0-9]+$")),
      "responses", "101", "description", "Switching Protocols: the WebSocket is open.", "400",
      problem_ref("Not a WebSocket handshake (websocket_required) or a malformed since."), "401",
      problem_ref("No valid access token."), "503", problem_ref("The connection limit is reached."));
  json_object_set_new(paths, "/api/v1/stream", stream);
  for (int i = 0; fofal__api_modules[i]; i++)
    if (fofal__api_modules[i]->openapi) fofal__api_modules[i]->openapi(paths, schemas);

  json_object_set_new(params, "Position", position_param(0));
  json_object_set_new(params, "AuditPosition", position_param(1));
  json_object_set_new(params, "Limit", json_pack("{s:s,s:s,s:b,s:s,s:{s:s,s:i,s:i,s:i}}", "name", "limit", "in", "query",
                                                 "required", 0, "description", "Items per page.", "schema", "type",
                                                 "integer", "minimum", 1, "maximum", 200, "default", 50));
  json_object_set_new(params, "Cursor", json_pack("{s:s,s:s,s:b,s:s,s:{s:s}}", "name", "cursor", "in", "query", "required",
                                                  0, "description", "Opaque: the next_cursor of the previous page.",
                                                  "schema", "type", "string"));

  json_t *str = json_pack("{s:s}", "type", "string"), *integer = json_pack("{s:s}", "type", "integer");
  json_t *nstr = json_pack("{s:[s,s]}", "type", "string", "null");
  json_object_set_new(schemas, "AuditEvent",
                      obj_schema("An event as written (data upcast to the current version).",
                                 json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:{s:s}}", "seq", integer, "id", str, "type",
                                           str, "time", str, "actor", nstr, "command_id", nstr, "correlation_id", nstr,
                                           "position", str, "data", "type", "object")));
  json_t *audit_page = page_schema("#/components/schemas/AuditEvent"), *audit_props = json_object_get(audit_page, "properties");
  json_object_set(audit_props, "module", str);
  json_object_set_new(audit_props, "aggregate", json_pack("{s:s,s:s}", "type", "string", "description", "The aggregate id."));
  json_object_set_new(audit_props, "kind", json_pack("{s:s,s:s}", "type", "string", "description", "When a code named it: its kind (loom …)."));
  json_object_set_new(audit_props, "code", json_pack("{s:s,s:s}", "type", "string", "description", "When a code named it: the code."));
  json_object_set_new(audit_props, "as_of", json_pack("{s:s,s:s}", "type", "string", "description", "The as_of given, normalised."));
  json_object_set_new(schemas, "AuditEventPage", audit_page);
  json_object_set_new(schemas, "AuditState",
                      obj_schema("An aggregate's state folded from its events up to as_of.",
                                 json_pack("{s:O,s:O,s:{s:s},s:{s:s},s:O,s:O,s:{s:s}}", "module", str, "aggregate", str,
                                           "kind", "type", "string", "code", "type", "string", "as_of", nstr, "version",
                                           integer, "state", "type", "object")));
  json_decref(str);
  json_decref(integer);
  json_decref(nstr);
}

static void add_command(void *opaque, const fofal_command_def_t *def) {
  build_t *b = opaque;
  json_t *schema = json_deep_copy(fofal_registry_schema(b->reg, def->type));
  json_object_del(schema, "$schema");
  json_object_del(schema, "$id");
  json_t *roles = json_object_get(schema, "x-fofal-roles");
  char *roles_s = json_dumps(roles ? roles : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
  json_object_set_new(b->schemas, def->type, schema);
  char ref[160], path[192], desc[512];
  snprintf(ref, sizeof ref, "#/components/schemas/%s", def->type);
  snprintf(path, sizeof path, "/api/v1/commands/%s", def->type);
  const char *via = json_string_value(json_object_get(schema, "x-fofal-via"));
  char via_s[200] = "";
  if (via) /* its secrets are made by the route that sends it (identity) */
    snprintf(via_s, sizeof via_s, " Sent through %s, which makes its secrets: here it is refused (422 auth_route_only).", via);
  snprintf(desc, sizeof desc, "%s Roles allowed: %s.%s%s", def->summary, roles_s,
           def->creates ? " Creates the aggregate; without an id in the body, the id is derived from the Idempotency-Key." : "",
           via_s);
  free(roles_s);
  char module[32];
  fofal_command_module(def->type, module, sizeof module);
  json_t *op = json_pack(
      "{s:[s],s:s,s:s,s:s,s:[{s:s},{s:s}],s:{s:b,s:{s:{s:{s:s}}}},s:{s:{s:s,s:{s:{s:{s:s}}},s:{s:{s:s,s:{s:s}},s:{s:s,s:{s:s}}}},s:{s:s,s:{s:{s:{s:s}}}}}}",
      "tags", module, "operationId", def->type, "summary", def->summary, "description", desc, "parameters", "$ref",
      "#/components/parameters/IdempotencyKey", "$ref", "#/components/parameters/IfMatch", "requestBody", "required", 1,
      "content", "application/json", "schema", "$ref", ref, "responses", "201", "description",
      "Accepted: the events are committed in Kafka.", "content", "application/json", "schema", "$ref",
      "#/components/schemas/CommandAccepted", "headers", "ETag", "description", "The aggregate version, quoted.",
      "schema", "type", "string", "Fofal-Position", "description", "Position token of the last event, for read-your-writes.",
      "schema", "type", "string", "202", "description",
      "Not decided within the wait; poll the Location (GET /api/v1/commands/{id}).", "content", "application/json",
      "schema", "$ref", "#/components/schemas/CommandPending");
  json_t *resp = json_object_get(op, "responses");
  json_object_set_new(resp, "400", problem_ref("Malformed JSON (malformed_json), no Idempotency-Key "
                                               "(idempotency_key_required), a malformed or repeated one "
                                               "(malformed_idempotency_key), or a malformed If-Match."));
  json_object_set_new(resp, "401", problem_ref("No valid access token."));
  json_object_set_new(resp, "403", problem_ref("The caller's role may not send this command."));
  json_object_set_new(resp, "404", problem_ref("No such aggregate (code not_found)."));
  json_object_set_new(resp, "409", problem_ref("The aggregate exists already, or If-Match is stale (code version_conflict, with current_version)."));
  json_object_set_new(resp, "413", problem_ref("The body exceeds 64 KiB."));
  json_object_set_new(resp, "415", problem_ref("The body is not application/json."));
  json_object_set_new(resp, "422", problem_ref("Invalid against the schema (errors: JSON pointers), rejected by a business "
                                               "rule (code), or idempotency_key_reused: the caller sent this "
                                               "Idempotency-Key before with another request; nothing is written."));
  json_object_set_new(resp, "503", problem_ref("Kafka unavailable; retry after Retry-After with the same Idempotency-Key."));
  if (fofal_registry_personal(b->reg, def->type) || fofal_registry_erases(b->reg, def->type)) {
    json_object_set_new(resp, "422", problem_ref("Invalid against the schema (errors: JSON pointers), rejected by a business "
                                                 "rule (code), idempotency_key_reused (the key was sent before with another "
                                                 "request), or person_erased: nothing personal is recorded for an erased "
                                                 "person again."));
    json_object_set_new(resp, "503", problem_ref("Kafka or the keys of personal data (code personal_data_unavailable) "
                                                 "unreachable; retry after Retry-After with the same Idempotency-Key."));
  }
  json_object_set_new(b->paths, path, json_pack("{s:o}", "post", op));
}

char *fofal__openapi_build(const fofal_registry_t *reg) {
  json_t *doc = json_pack(
      "{s:s,s:{s:s,s:s,s:s},s:[{s:s}],s:[{s:[]}]}", "openapi", "3.1.0", "info", "title", "FOFAL API", "version", "1.0.0",
      "description",
      "FOFAL — ERP backend of a towel weaving mill. Commands become immutable events in Kafka exactly once; "
      "queries read projections. Errors are RFC 9457 problem+json with a stable code.",
      "servers", "url", "/", "security", "bearer");
  json_t *paths = json_object(), *schemas = json_object();
  build_t b = {paths, schemas, reg};
  fofal_registry_each(reg, add_command, &b);
  fofal__openapi_auth(paths, schemas);

  json_object_set_new(paths, "/api/v1/commands",
      json_pack("{s:{s:[s],s:s,s:s,s:s,s:{s:b,s:{s:{s:{s:s}}}},s:{s:{s:s,s:{s:{s:{s:s}}}},s:o,s:o,s:o}}}", "post", "tags",
                "commands", "operationId", "commands.batch", "summary", "Send an ordered batch of up to 100 commands.",
                "description",
                "For phones that queued commands offline. Each command is checked and sent in the order given (commands "
                "on one aggregate are decided in that order); the answer has one result per command, with the status "
                "and body a single POST would have given.",
                "requestBody", "required", 1, "content", "application/json", "schema", "$ref",
                "#/components/schemas/CommandBatch", "responses", "200", "description", "One result per command.",
                "content", "application/json", "schema", "$ref", "#/components/schemas/CommandBatchResult", "400",
                problem_ref("Malformed JSON."), "401", problem_ref("No valid access token."), "422",
                problem_ref("Not a batch of 1 to 100 commands.")));
  json_object_set_new(paths, "/api/v1/commands/{id}",
      json_pack("{s:{s:[s],s:s,s:s,s:[{s:s,s:s,s:b,s:s,s:{s:s,s:i,s:i,s:s}}],s:{s:{s:s},s:{s:s},s:o,s:o}}}", "get",
                "tags", "commands", "operationId", "commands.status", "summary",
                "The result of one of the caller's commands, by its Idempotency-Key.", "parameters", "name", "id", "in", "path", "required",
                1, "description", "The command's Idempotency-Key.", "schema", "type", "string", "minLength", 1,
                "maxLength", FOFAL_IDEMPOTENCY_KEY_MAX, "pattern", FOFAL_IDEMPOTENCY_KEY_PATTERN, "responses", "200",
                "description", "Decided: {state, status, result}.", "202", "description", "Still pending.", "401",
                problem_ref("No valid access token."), "404",
                problem_ref("Not seen by this API instance recently (unknown_command), or not a key at all.")));
  json_object_set_new(paths, "/healthz", json_pack("{s:{s:[s],s:s,s:[],s:{s:{s:s}}}}", "get", "tags", "operations", "summary",
                                                   "Liveness.", "security", "responses", "200", "description", "Alive."));
  json_object_set_new(paths, "/readyz",
                      json_pack("{s:{s:[s],s:s,s:[],s:{s:{s:s},s:{s:s}}}}", "get", "tags", "operations", "summary",
                                "Readiness: Kafka, PostgreSQL and Redis reachable.", "security", "responses", "200",
                                "description", "Ready.", "503", "description", "A dependency is down (see checks)."));
  json_object_set_new(paths, "/metrics", json_pack("{s:{s:[s],s:s,s:[],s:{s:{s:s}}}}", "get", "tags", "operations",
                                                   "summary", "Prometheus metrics.", "security", "responses", "200",
                                                   "description", "Prometheus text format."));
  json_object_set_new(paths, "/api/v1/openapi.json",
                      json_pack("{s:{s:[s],s:s,s:s,s:[],s:{s:{s:s},s:{s:s}}}}", "get", "tags", "operations", "summary",
                                "This document.", "description",
                                "Public. Cache-Control: no-cache with an ETag: If-None-Match gives 304.", "security",
                                "responses", "200", "description", "OpenAPI 3.1.", "304", "description",
                                "Not modified (If-None-Match)."));
  json_object_set_new(paths, "/api/v1/asyncapi.json",
                      json_pack("{s:{s:[s],s:s,s:s,s:s,s:[],s:{s:{s:s},s:{s:s}}}}", "get", "tags", "operations",
                                "operationId", "operations.asyncapi", "summary",
                                "The AsyncAPI 3.0 document of every Kafka topic, for the analysts who read them.",
                                "description",
                                "Public, like this document. A channel per topic (fofal.commands, fofal.commands.results, "
                                "fofal.<module>.events for every module, fofal.telemetry.raw, the state and .dlq topics) "
                                "with its Kafka binding (partitions, cleanup.policy, retention) and its messages: each "
                                "event a structured CloudEvent whose data is its schema from schemas/, each command its "
                                "command message. Cache-Control: no-cache with an ETag: If-None-Match gives 304.",
                                "security", "responses", "200", "description", "AsyncAPI 3.0.0 (JSON).", "304",
                                "description", "Not modified (If-None-Match)."));

  json_object_set_new(schemas, "Problem",
      json_pack("{s:s,s:s,s:[s,s,s],s:{s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s,s:{s:s}}}}", "type", "object",
                "description", "RFC 9457 problem details.", "required", "type", "status", "code", "properties", "type",
                "type", "string", "title", "type", "string", "status", "type", "integer", "code", "type", "string",
                "detail", "type", "string", "errors", "type", "array", "items", "$ref",
                "#/components/schemas/ValidationError"));
  json_object_set_new(schemas, "ValidationError",
      json_pack("{s:s,s:{s:{s:s,s:s},s:{s:s},s:{s:s}}}", "type", "object", "properties", "pointer", "type", "string",
                "description", "JSON pointer into the request body.", "keyword", "type", "string", "message", "type",
                "string"));
  json_object_set_new(schemas, "CommandAccepted",
      json_pack("{s:s,s:{s:{s:s},s:{s:s,s:s},s:{s:s},s:{s:s,s:s,s:{s:s}},s:{s:s,s:s}}}", "type", "object", "properties",
                "command_id", "type", "string", "aggregate", "type", "string", "format", "uuid", "version", "type",
                "integer", "events", "type", "array", "description",
                "Each event: id, type, seq; aggregate when not the command's; issued: ids the decision gave things "
                "another module keeps (e.g. the label id a declaration gives the roll that stock then receives).",
                "items", "type", "object", "position", "type", "string",
                "description", "Pass back as ?position= to read your writes."));
  json_object_set_new(schemas, "CommandPending",
      json_pack("{s:s,s:{s:{s:s},s:{s:s},s:{s:s}}}", "type", "object", "properties", "command_id", "type", "string",
                "state", "type", "string", "location", "type", "string"));
  json_object_set_new(schemas, "CommandBatch",
      json_pack("{s:s,s:[s],s:{s:{s:s,s:i,s:i,s:{s:s,s:[s,s,s],s:{s:{s:s},s:{s:s,s:i,s:s},s:{s:s},s:{s:s,s:i}}}}}}",
                "type", "object", "required", "commands", "properties", "commands", "type", "array", "minItems", 1,
                "maxItems", 100, "items", "type", "object", "required", "type", "idempotency_key", "data",
                "properties", "type", "type", "string", "idempotency_key", "type", "string", "maxLength",
                FOFAL_IDEMPOTENCY_KEY_MAX, "pattern", FOFAL_IDEMPOTENCY_KEY_PATTERN, "data", "type", "object", "if_match", "type",
                "integer", "minimum", 0));
  json_object_set_new(schemas, "CommandBatchResult",
      json_pack("{s:s,s:{s:{s:s,s:{s:s,s:{s:{s:s},s:{s:s},s:{s:s}}}}}}", "type", "object", "properties", "results",
                "type", "array", "items", "type", "object", "properties", "idempotency_key", "type", "string", "status",
                "type", "integer", "body", "type", "object"));
  json_t *components = json_pack(
      "{s:o,s:{s:{s:s,s:s,s:s}},s:{s:{s:s,s:s,s:b,s:s,s:{s:s,s:i,s:i,s:s}},s:{s:s,s:s,s:b,s:s,s:{s:s,s:i,s:s}}}}",
      "schemas", schemas, "securitySchemes", "bearer", "type", "http", "scheme", "bearer", "bearerFormat", "JWT",
      "parameters", "IdempotencyKey", "name", "Idempotency-Key", "in", "header", "required", 1, "description",
      "Client-generated id of the command, mandatory (400 idempotency_key_required without it), "
      IDEMPOTENCY_KEY_RULE " (400 malformed_idempotency_key otherwise). It is the caller's own: keys are scoped to "
      "the token's subject within its tenant, so two users or devices never share one. A retry with the same key and "
      "the same request (command type, body, If-Match) returns the first result and writes nothing; the same key "
      "with another request is 422 idempotency_key_reused and writes nothing.",
      "schema", "type", "string", "minLength", 1, "maxLength", FOFAL_IDEMPOTENCY_KEY_MAX, "pattern", FOFAL_IDEMPOTENCY_KEY_PATTERN,
      "IfMatch", "name", "If-Match", "in", "header", "required", 0, "description",
      "Expected aggregate version, quoted (\"7\", or weak W/\"7\"; at most 18 digits; 400 malformed_if_match "
      "otherwise): a stale version gets 409 and writes nothing.",
      "schema", "type", "string", "maxLength", 22, "pattern", IF_MATCH_PATTERN);
  add_read_paths(paths, schemas, json_object_get(components, "parameters"));
  json_object_set_new(doc, "paths", paths);
  json_object_set_new(doc, "components", components);
  char *s = fofal_json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
  json_decref(doc);
  return s;
}

int fofal__on_openapi(h2o_handler_t *self, h2o_req_t *req) {
  static char etag[FOFAL__ETAG_LEN]; /* of the document built at start; loop thread only */
  const char *doc = API_OF(self)->openapi;
  if (!*etag) fofal__document_etag(doc, etag);
  fofal__send_document(req, "application/json", doc, strlen(doc), etag);
  return 0;
}
