/*
 * openapi.c — the OpenAPI 3.1 document and the Swagger UI page.
 *
 * The document is built once at start from the command registry: every command type is
 * a path whose request body is its JSON Schema from schemas/ (the single source), so the
 * docs cannot drift from validation. Swagger UI's files come from Debian's
 * python3-flasgger package and are served by h2o's file handler (main.c).
 */
#include "api.h"

#include <string.h>

static json_t *problem_ref(const char *desc) {
  return json_pack("{s:s,s:{s:{s:{s:s}}}}", "description", desc, "content", "application/problem+json", "schema",
                   "$ref", "#/components/schemas/Problem");
}

typedef struct {
  json_t *paths, *schemas;
  const fofal_registry_t *reg;
} build_t;

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
  snprintf(desc, sizeof desc, "%s Roles allowed: %s.%s", def->summary, roles_s,
           def->creates ? " Creates the aggregate; without an id in the body, the id is derived from the Idempotency-Key." : "");
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
  json_object_set_new(resp, "400", problem_ref("Malformed JSON, Idempotency-Key or If-Match."));
  json_object_set_new(resp, "401", problem_ref("No valid access token."));
  json_object_set_new(resp, "403", problem_ref("The caller's role may not send this command."));
  json_object_set_new(resp, "404", problem_ref("No such aggregate (code not_found)."));
  json_object_set_new(resp, "409", problem_ref("The aggregate exists already, or If-Match is stale (code version_conflict, with current_version)."));
  json_object_set_new(resp, "413", problem_ref("The body exceeds 64 KiB."));
  json_object_set_new(resp, "415", problem_ref("The body is not application/json."));
  json_object_set_new(resp, "422", problem_ref("Invalid against the schema (errors: JSON pointers) or rejected by a business rule (code)."));
  json_object_set_new(resp, "503", problem_ref("Kafka unavailable; retry after Retry-After with the same Idempotency-Key."));
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
      json_pack("{s:{s:[s],s:s,s:s,s:[{s:s,s:s,s:b,s:{s:s}}],s:{s:{s:s},s:{s:s},s:o}}}", "get", "tags", "commands",
                "operationId", "commands.status", "summary", "The result of a command, by its Idempotency-Key.",
                "parameters", "name", "id", "in", "path", "required", 1, "schema", "type", "string", "responses", "200",
                "description", "Decided: {state, status, result}.", "202", "description", "Still pending.", "404",
                problem_ref("Not seen by this API instance recently.")));
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
                      json_pack("{s:{s:[s],s:s,s:[],s:{s:{s:s}}}}", "get", "tags", "operations", "summary",
                                "This document.", "security", "responses", "200", "description", "OpenAPI 3.1."));

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
      json_pack("{s:s,s:{s:{s:s},s:{s:s,s:s},s:{s:s},s:{s:s,s:{s:s}},s:{s:s,s:s}}}", "type", "object", "properties",
                "command_id", "type", "string", "aggregate", "type", "string", "format", "uuid", "version", "type",
                "integer", "events", "type", "array", "items", "type", "object", "position", "type", "string",
                "description", "Pass back as ?position= to read your writes."));
  json_object_set_new(schemas, "CommandPending",
      json_pack("{s:s,s:{s:{s:s},s:{s:s},s:{s:s}}}", "type", "object", "properties", "command_id", "type", "string",
                "state", "type", "string", "location", "type", "string"));
  json_object_set_new(schemas, "CommandBatch",
      json_pack("{s:s,s:[s],s:{s:{s:s,s:i,s:i,s:{s:s,s:[s,s,s],s:{s:{s:s},s:{s:s,s:i},s:{s:s},s:{s:s,s:i}}}}}}",
                "type", "object", "required", "commands", "properties", "commands", "type", "array", "minItems", 1,
                "maxItems", 100, "items", "type", "object", "required", "type", "idempotency_key", "data",
                "properties", "type", "type", "string", "idempotency_key", "type", "string", "maxLength", 200, "data",
                "type", "object", "if_match", "type", "integer", "minimum", 0));
  json_object_set_new(schemas, "CommandBatchResult",
      json_pack("{s:s,s:{s:{s:s,s:{s:s,s:{s:{s:s},s:{s:s},s:{s:s}}}}}}", "type", "object", "properties", "results",
                "type", "array", "items", "type", "object", "properties", "idempotency_key", "type", "string", "status",
                "type", "integer", "body", "type", "object"));
  json_t *components = json_pack(
      "{s:o,s:{s:{s:s,s:s,s:s}},s:{s:{s:s,s:s,s:b,s:s,s:{s:s,s:i}},s:{s:s,s:s,s:b,s:s,s:{s:s}}}}", "schemas", schemas,
      "securitySchemes", "bearer", "type", "http", "scheme", "bearer", "bearerFormat", "JWT", "parameters",
      "IdempotencyKey", "name", "Idempotency-Key", "in", "header", "required", 1, "description",
      "Client-generated id of the command; a retry with the same key returns the first result and writes nothing.",
      "schema", "type", "string", "maxLength", 200, "IfMatch", "name", "If-Match", "in", "header", "required", 0,
      "description", "Expected aggregate version, quoted (\"7\"): a stale version gets 409 and writes nothing.",
      "schema", "type", "string");
  json_object_set_new(doc, "paths", paths);
  json_object_set_new(doc, "components", components);
  char *s = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
  json_decref(doc);
  return s;
}

int fofal__on_openapi(h2o_handler_t *self, h2o_req_t *req) {
  const char *doc = API_OF(self)->openapi;
  req->res.status = 200;
  req->res.reason = "OK";
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
  req->res.content_length = strlen(doc);
  h2o_send_inline(req, doc, strlen(doc));
  return 0;
}

static const char docs_html[] =
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>FOFAL API</title>"
    "<link rel=\"stylesheet\" href=\"/api/docs/static/swagger-ui.css\"></head><body><div id=\"ui\"></div>"
    "<script src=\"/api/docs/static/swagger-ui-bundle.js\"></script>"
    "<script>window.ui = SwaggerUIBundle({url: '/api/v1/openapi.json', dom_id: '#ui'});</script>"
    "</body></html>";

int fofal__on_docs(h2o_handler_t *self, h2o_req_t *req) {
  (void)self;
  req->res.status = 200;
  req->res.reason = "OK";
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("text/html; charset=utf-8"));
  req->res.content_length = sizeof docs_html - 1;
  h2o_send_inline(req, docs_html, sizeof docs_html - 1);
  return 0;
}
