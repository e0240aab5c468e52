/*
 * test_read_path.c — the read side against the real Kafka, PostgreSQL and Redis, with the
 * real decider, projector and API (DESIGN.md guarantees 6 and 7, "HTTP API conventions"):
 * read-your-writes through ?position=, list filters and keyset pagination, the Redis hot
 * views, the audit trail and as_of, tenant isolation (HTTP, row-level security, stream),
 * audit roles, the position wait timing out, and the WebSocket stream: pushes after their
 * projection, resuming with since=, and slow consumers closed with 1013.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "projections.h"

static int port;
static pid_t dec, proj, api;
static char tenant[32];
static char *tok;

static pid_t start_api_env(int p, const char *const *extra) {
  char pe[64];
  snprintf(pe, sizeof pe, "FOFAL_HTTP_PORT=%d", p);
  const char *env[8] = {pe};
  for (int i = 0; extra && extra[i] && i < 6; i++) env[i + 1] = extra[i];
  pid_t pid = h_spawn("api/fofal-api", "test-api-read", NULL, env);
  cr_assert_eq(h_wait_ready(p, 30000), 0, "fofal-api did not become ready on port %d", p);
  return pid;
}

static char *command(const char *token, const char *type, const char *key, const char *body);
static int get(const char *token, const char *path, json_t **body, char **etag);

static void setup_with(const char *const *api_env) {
  h_tenant(tenant);
  tok = h_token(tenant, "manager");
  port = h_free_port();
  dec = h_start_decider("it-read");
  proj = h_start_projector("it-read");
  api = start_api_env(port, api_env);
  /* One command of another tenant, retried until decided: the decider has joined. */
  char warm[32], key[64];
  h_tenant(warm);
  snprintf(key, sizeof key, "warm-%s", warm);
  char *wt = h_token(warm, "planner"), wid[FOFAL_UUID_LEN + 1], body[160], path[320];
  fofal_uuid7(wid);
  snprintf(body, sizeof body, "{\"order_id\":\"%s\",\"article\":\"WARMUP\",\"quantity\":1}", wid);
  char *wpos = command(wt, "production.order.create", key, body);
  /* ...and the projector has joined its group and caught up once that order reads back
   * (a fresh projector's first assignment can take longer than one position wait). */
  if (proj > 0) {
    snprintf(path, sizeof path, "/api/v1/production/orders/%s?position=%s", wid, wpos ? wpos : "");
    int st = 0;
    for (int i = 0; i < 150 && st != 200; i++) {
      st = get(wt, path, NULL, NULL);
      if (st != 200) usleep(200 * 1000);
    }
    cr_assert_eq(st, 200, "the projector did not catch up within 30 s of its start");
  }
  free(wpos);
  free(wt);
}

/* The wait is long here: these tests prove that a read with a position reflects the write,
 * not how fast the projector is; in a full run under ASan, beside the unit tests, the
 * projector once took more than the default 2 s to apply a floor's events and an order. */
static void setup(void) {
  const char *env[] = {"FOFAL_API_POSITION_WAIT_MS=15000", NULL};
  setup_with(env);
}

static void teardown(void) {
  h_stop(api, SIGTERM);
  if (proj > 0) h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
  free(tok);
}

TestSuite(read_path, .init = setup, .fini = teardown, .timeout = 240);
/* Tests that start the API with settings of their own. */
TestSuite(read_path_tuned, .timeout = 240);

/* GET with a token (harness.c's h_get on this file's server). */
static int get(const char *token, const char *path, json_t **body, char **etag) {
  return h_get(port, token, path, body, etag);
}

static const char *code_of(json_t *j) { return json_string_value(json_object_get(j, "code")) ?: ""; }

/* Sends a command that must be accepted; returns its position (new string). A 202 or 503
 * (a fresh decider joining its group, a busy broker) is retried with the same
 * Idempotency-Key, as a client would (h_command_ok). */
static char *command(const char *token, const char *type, const char *key, const char *body) {
  json_t *res = NULL;
  int st = h_command_ok(port, token, type, key, NULL, body, &res);
  cr_assert_eq(st, 201, "%s %s: status %d", type, key, st);
  const char *pos = json_string_value(json_object_get(res, "position"));
  cr_assert_not_null(pos, "a 201 carries a position");
  char *out = fofal_strdup(pos);
  json_decref(res);
  return out;
}

static char *create_order(const char *token, char id[FOFAL_UUID_LEN + 1], const char *article, const char *loom) {
  char body[256], key[64];
  fofal_uuid7(id);
  snprintf(key, sizeof key, "c-%s", id);
  snprintf(body, sizeof body, "{\"order_id\":\"%s\",\"article\":\"%s\",\"quantity\":100%s%s%s}", id, article,
           loom ? ",\"loom\":\"" : "", loom ? loom : "", loom ? "\"" : "");
  return command(token, "production.order.create", key, body);
}

static char *order_cmd(const char *token, const char *type, const char *id, const char *extra) {
  char body[256], key[96];
  snprintf(key, sizeof key, "%s-%s-%s", strrchr(type, '.') + 1, id, extra ? "x" : "");
  snprintf(body, sizeof body, "{\"order_id\":\"%s\"%s%s}", id, extra ? "," : "", extra ? extra : "");
  return command(token, type, key, body);
}

/* ------------------------------------------------------- read your writes */

Test(read_path, a_read_with_position_reflects_the_write) {
  char id[FOFAL_UUID_LEN + 1], path[512], loom[40], shift[32] = "";
  snprintf(loom, sizeof loom, "L-%s", tenant);
  h_floor_http(port, tenant, loom, "W1", "FOUTA-RYW");
  json_t *j;
  char *etag;

  char *pos = create_order(tok, id, "FOUTA-RYW", NULL);
  snprintf(path, sizeof path, "/api/v1/production/orders/%s?position=%s", id, pos);
  int st = get(tok, path, &j, &etag);
  cr_assert_eq(st, 200, "the order is readable at once with its position (got %d %s: %s)", st, code_of(j),
               json_string_value(json_object_get(j, "detail")) ?: "");
  cr_expect_str_eq(json_string_value(json_object_get(j, "status")), "created");
  cr_expect_eq(json_integer_value(json_object_get(j, "version")), 1);
  cr_expect_str_eq(etag, "\"1\"");
  json_decref(j);
  free(etag);
  free(pos);

  pos = order_cmd(tok, "production.order.release", id, NULL);
  snprintf(path, sizeof path, "/api/v1/production/orders/%s?position=%s", id, pos);
  cr_assert_eq(get(tok, path, &j, &etag), 200);
  cr_expect_str_eq(json_string_value(json_object_get(j, "status")), "released", "the release is visible");
  cr_expect_str_eq(etag, "\"2\"");
  json_decref(j);
  free(etag);
  /* If-None-Match with the current version: 304. */
  h_resp_t r;
  char *hdr = fofal_asprintf("Authorization: Bearer %s\r\nIf-None-Match: \"2\"\r\n", tok);
  cr_assert_eq(h_http(port, "GET", path, hdr, NULL, &r, 10000), 0);
  cr_expect_eq(r.status, 304);
  h_resp_free(&r);
  free(hdr);
  free(pos);

  char extra[160];
  snprintf(extra, sizeof extra, "\"loom\":\"%s\"", loom);
  pos = order_cmd(tok, "production.order.start", id, extra);
  snprintf(path, sizeof path, "/api/v1/production/looms/%s/current-order?position=%s", loom, pos);
  cr_assert_eq(get(tok, path, &j, NULL), 200, "the loom view (Redis) waits for the position too");
  cr_expect_str_eq(json_string_value(json_object_get(j, "order_id")) ?: "", id, "the loom shows its order");
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(j, "order"), "status")) ?: "", "started");
  json_decref(j);
  free(pos);

  snprintf(extra, sizeof extra, "\"quantity\":7,\"weaver\":\"W1\"");
  pos = order_cmd(tok, "production.order.declare_output", id, extra);
  snprintf(path, sizeof path, "/api/v1/production/orders/%s?position=%s", id, pos);
  cr_assert_eq(get(tok, path, &j, NULL), 200);
  cr_expect_eq(json_integer_value(json_object_get(j, "declared")), 7, "the declaration is visible");
  cr_expect_str_eq(json_string_value(json_object_get(j, "loom")) ?: "", loom);
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/production/orders/%s/declarations?position=%s", id, pos);
  cr_assert_eq(get(tok, path, &j, NULL), 200);
  json_t *items = json_object_get(j, "items");
  cr_assert_eq(json_array_size(items), 1);
  cr_expect_eq(json_integer_value(json_object_get(json_array_get(items, 0), "quantity")), 7);
  cr_expect_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "weaver")) ?: "", "W1");
  snprintf(shift, sizeof shift, "%s", json_string_value(json_object_get(json_array_get(items, 0), "shift")) ?: "");
  cr_expect_neq(shift[0], '\0', "the declaration has the shift it fell in");
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/production/shifts/%s/output?position=%s", shift, pos);
  cr_assert_eq(get(tok, path, &j, NULL), 200);
  cr_expect_eq(json_integer_value(json_object_get(j, "total")), 7, "the shift output (Redis) is up to date");
  cr_expect_eq(json_integer_value(json_object_get(json_object_get(j, "looms"), loom)), 7);
  json_decref(j);
  free(pos);

  /* A loom nobody knows, an unknown order, and a malformed position. */
  cr_assert_eq(get(tok, "/api/v1/production/looms/NOPE-1/current-order", &j, NULL), 404);
  cr_expect_str_eq(code_of(j), "not_found");
  json_decref(j);
  char other[FOFAL_UUID_LEN + 1];
  fofal_uuid7(other);
  snprintf(path, sizeof path, "/api/v1/production/orders/%s", other);
  cr_expect_eq(get(tok, path, &j, NULL), 404);
  json_decref(j);
  cr_expect_eq(get(tok, "/api/v1/production/orders/not-a-uuid", &j, NULL), 404);
  json_decref(j);
  const char *bad[] = {"x", "production:0", "production:a:1", "nomodule:0:1", "production:0:-1", "production:99999:1"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(path, sizeof path, "/api/v1/production/orders/%s?position=%s", id, bad[i]);
    cr_expect_eq(get(tok, path, &j, NULL), 400, "position %s is malformed", bad[i]);
    cr_expect_str_eq(code_of(j), "malformed_position");
    json_decref(j);
  }
  cr_expect_eq(get("garbage", "/api/v1/production/orders", &j, NULL), 401, "reads need a token");
  json_decref(j);
}

/* ------------------------------------------------------ list and cursors */

/* Waits until every position of `positions` (array of strings) is projected. */
static void wait_all(json_t *positions) {
  json_t *maxes = json_object(), *p;
  size_t i;
  json_array_foreach(positions, i, p) {
    const char *s = json_string_value(p);
    const char *last = strrchr(s, ':');
    char part[64];
    snprintf(part, sizeof part, "%.*s", (int)(last - s), s);
    json_t *cur = json_object_get(maxes, part);
    if (!cur || atoll(strrchr(json_string_value(cur), ':') + 1) < atoll(last + 1)) json_object_set_new(maxes, part, json_string(s));
  }
  const char *k;
  json_t *v;
  json_object_foreach(maxes, k, v) {
    char path[256];
    json_t *j;
    snprintf(path, sizeof path, "/api/v1/production/orders?limit=1&position=%s", json_string_value(v));
    cr_assert_eq(get(tok, path, &j, NULL), 200, "position %s", json_string_value(v));
    json_decref(j);
  }
  json_decref(maxes);
}

/* Creates n orders in one batch; appends their ids to ids and positions to positions. */
static void create_batch(int n, const char *article, const char *loom, json_t *ids, json_t *positions) {
  json_t *cmds = json_array();
  for (int i = 0; i < n; i++) {
    char id[FOFAL_UUID_LEN + 1], key[64];
    fofal_uuid7(id);
    snprintf(key, sizeof key, "b-%s", id);
    json_t *data = json_pack("{s:s,s:s,s:i}", "order_id", id, "article", article, "quantity", 10);
    if (loom) json_object_set_new(data, "loom", json_string(loom));
    json_array_append_new(cmds, json_pack("{s:s,s:s,s:o}", "type", "production.order.create", "idempotency_key", key, "data", data));
    json_array_append_new(ids, json_string(id));
  }
  json_t *body = json_pack("{s:o}", "commands", cmds);
  char *s = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  char *hdr = fofal_asprintf("Authorization: Bearer %s\r\n", tok);
  h_resp_t r;
  cr_assert_eq(h_http(port, "POST", "/api/v1/commands", hdr, s, &r, 60000), 0);
  cr_assert_eq(r.status, 200, "batch: %d %s", r.status, r.body);
  json_t *res = json_loads(r.body, 0, NULL), *item;
  size_t i;
  json_array_foreach(json_object_get(res, "results"), i, item) {
    cr_assert_eq(json_integer_value(json_object_get(item, "status")), 201, "batch item %zu", i);
    json_array_append(positions, json_object_get(json_object_get(item, "body"), "position"));
  }
  json_decref(res);
  h_resp_free(&r);
  free(hdr);
  free(s);
}

/* Pages through `base` (a list URL with its query) with `limit`; returns the ids (new). */
static json_t *page_all(const char *base, int limit, int *pages) {
  json_t *seen = json_array();
  char *cursor = NULL;
  *pages = 0;
  for (;;) {
    char path[1024];
    json_t *j;
    snprintf(path, sizeof path, "%s%slimit=%d%s%s", base, strchr(base, '?') ? "&" : "?", limit, cursor ? "&cursor=" : "",
             cursor ? cursor : "");
    cr_assert_eq(get(tok, path, &j, NULL), 200, "GET %s", path);
    json_t *items = json_object_get(j, "items"), *it;
    size_t i;
    cr_assert(json_array_size(items) <= (size_t)limit);
    json_array_foreach(items, i, it) json_array_append(seen, json_object_get(it, "order_id"));
    (*pages)++;
    free(cursor);
    cursor = json_is_string(json_object_get(j, "next_cursor")) ? fofal_strdup(json_string_value(json_object_get(j, "next_cursor"))) : NULL;
    json_decref(j);
    if (!cursor) break;
    cr_assert(*pages < 1000, "pagination does not end");
  }
  return seen;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* The same ids in both (as sets), each once in `got`, and `got` in ascending order. */
static void expect_same_ids(json_t *want, json_t *got, const char *what) {
  size_t n = json_array_size(got);
  cr_expect_eq(n, json_array_size(want), "%s: %zu ids listed, %zu expected", what, n, json_array_size(want));
  const char **a = fofal_calloc(n + 1, sizeof *a), **b = fofal_calloc(json_array_size(want) + 1, sizeof *b);
  for (size_t i = 0; i < n; i++) a[i] = json_string_value(json_array_get(got, i));
  for (size_t i = 1; i < n; i++) cr_expect(strcmp(a[i - 1], a[i]) < 0, "%s: not strictly ascending at %zu (duplicate?)", what, i);
  for (size_t i = 0; i < json_array_size(want); i++) b[i] = json_string_value(json_array_get(want, i));
  qsort(a, n, sizeof *a, cmp_str);
  qsort(b, json_array_size(want), sizeof *b, cmp_str);
  for (size_t i = 0; i < n && i < json_array_size(want); i++) cr_expect_str_eq(a[i], b[i], "%s: ids differ", what);
  free(a);
  free(b);
}

Test(read_path, list_filters_and_cursor_pagination) {
  json_t *ids_a = json_array(), *ids_b = json_array(), *positions = json_array(), *all = json_array(), *j;
  char loom[40];
  snprintf(loom, sizeof loom, "LX-%s", tenant);
  create_batch(100, "ART-A", NULL, ids_a, positions);
  create_batch(20, "ART-B", loom, ids_b, positions);
  wait_all(positions);
  json_array_extend(all, ids_a);
  json_array_extend(all, ids_b);

  int pages;
  json_t *got = page_all("/api/v1/production/orders", 7, &pages);
  expect_same_ids(all, got, "all 120 orders, 7 a page");
  cr_expect_eq(pages, 18, "120 orders at 7 a page are 18 pages (got %d)", pages);
  json_decref(got);
  got = page_all("/api/v1/production/orders?article=ART-A", 200, &pages);
  expect_same_ids(ids_a, got, "article filter");
  cr_expect_eq(pages, 1);
  json_decref(got);
  char path[256];
  snprintf(path, sizeof path, "/api/v1/production/orders?loom=%s&status=created", loom);
  got = page_all(path, 6, &pages);
  expect_same_ids(ids_b, got, "loom and status filters");
  json_decref(got);
  got = page_all("/api/v1/production/orders?status=released", 50, &pages);
  cr_expect_eq(json_array_size(got), 0, "nothing is released");
  json_decref(got);
  /* The default page is 50. */
  cr_assert_eq(get(tok, "/api/v1/production/orders", &j, NULL), 200);
  cr_expect_eq(json_array_size(json_object_get(j, "items")), 50);
  cr_expect(json_is_string(json_object_get(j, "next_cursor")));
  json_decref(j);

  const char *bad[][2] = {{"limit=0", "invalid_parameter"}, {"limit=201", "invalid_parameter"},
                          {"limit=abc", "invalid_parameter"}, {"status=bogus", "invalid_parameter"},
                          {"loom=a:b", "invalid_parameter"}, {"cursor=%%%%", "malformed_cursor"},
                          {"cursor=bm90LWEtdXVpZA", "malformed_cursor"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(path, sizeof path, "/api/v1/production/orders?%s", bad[i][0]);
    cr_expect_eq(get(tok, path, &j, NULL), 400, "%s is refused", bad[i][0]);
    cr_expect_str_eq(code_of(j), bad[i][1], "%s", bad[i][0]);
    json_decref(j);
  }
  json_decref(ids_a);
  json_decref(ids_b);
  json_decref(all);
  json_decref(positions);
}

/* ------------------------------------------------------------------ audit */

Test(read_path, audit_history_and_as_of) {
  char id[FOFAL_UUID_LEN + 1], path[512], extra[128];
  json_t *j;
  h_floor_http(port, tenant, "L-AUD", "W2", "FOUTA-AUD");
  h_floor_http(port, tenant, "L-AUD", "W3", NULL);
  free(create_order(tok, id, "FOUTA-AUD", "L-AUD"));
  free(order_cmd(tok, "production.order.release", id, NULL));
  free(order_cmd(tok, "production.order.start", id, NULL));
  snprintf(extra, sizeof extra, "\"quantity\":5,\"weaver\":\"W2\"");
  free(order_cmd(tok, "production.order.declare_output", id, extra));
  char *pos = command(tok, "production.order.declare_output", "d2-aud",
                      (snprintf(path, sizeof path, "{\"order_id\":\"%s\",\"quantity\":4,\"weaver\":\"W3\"}", id), path));

  /* Full history, 2 a page, by seq. */
  json_t *events = json_array();
  char *cursor = NULL;
  for (int page = 0; page < 10; page++) {
    snprintf(path, sizeof path, "/api/v1/audit/production/%s/events?limit=2&position=%s%s%s", id, pos,
             cursor ? "&cursor=" : "", cursor ? cursor : "");
    cr_assert_eq(get(tok, path, &j, NULL), 200, "GET %s", path);
    json_array_extend(events, json_object_get(j, "items"));
    free(cursor);
    cursor = json_is_string(json_object_get(j, "next_cursor")) ? fofal_strdup(json_string_value(json_object_get(j, "next_cursor"))) : NULL;
    json_decref(j);
    if (!cursor) break;
  }
  cr_assert_eq(json_array_size(events), 5, "five events (got %zu)", json_array_size(events));
  const char *types[] = {"order_created", "order_released", "order_started", "output_declared", "output_declared"};
  for (size_t i = 0; i < 5; i++) {
    json_t *e = json_array_get(events, i);
    cr_expect_eq(json_integer_value(json_object_get(e, "seq")), (json_int_t)i + 1, "ordered by seq");
    cr_expect(strstr(json_string_value(json_object_get(e, "type")) ?: "", types[i]), "event %zu is %s", i, types[i]);
  }
  /* The state at the time of the release, and now. */
  const char *t2 = json_string_value(json_object_get(json_array_get(events, 1), "time"));
  snprintf(path, sizeof path, "/api/v1/audit/production/%s?as_of=%s", id, t2);
  cr_assert_eq(get(tok, path, &j, NULL), 200);
  json_t *st = json_object_get(j, "state");
  cr_expect_str_eq(json_string_value(json_object_get(st, "status")) ?: "", "released");
  cr_expect_eq(json_integer_value(json_object_get(st, "version")), 2);
  cr_expect_eq(json_integer_value(json_object_get(st, "declared")), 0);
  cr_expect_str_eq(json_string_value(json_object_get(st, "article")) ?: "", "FOUTA-AUD");
  json_decref(j);
  const char *t4 = json_string_value(json_object_get(json_array_get(events, 3), "time"));
  snprintf(path, sizeof path, "/api/v1/audit/production/%s?as_of=%s", id, t4);
  cr_assert_eq(get(tok, path, &j, NULL), 200);
  cr_expect_eq(json_integer_value(json_object_get(json_object_get(j, "state"), "declared")), 5);
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(j, "state"), "status")) ?: "", "started");
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/audit/production/%s", id);
  cr_assert_eq(get(tok, path, &j, NULL), 200);
  cr_expect_eq(json_integer_value(json_object_get(json_object_get(j, "state"), "declared")), 9, "5 + 4 declared");
  cr_expect_eq(json_integer_value(json_object_get(j, "version")), 5);
  json_decref(j);
  /* Before the first event: 404; a malformed time: 400. */
  snprintf(path, sizeof path, "/api/v1/audit/production/%s?as_of=2001-01-01T00:00:00Z", id);
  cr_expect_eq(get(tok, path, &j, NULL), 404);
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/audit/production/%s?as_of=yesterday", id);
  cr_expect_eq(get(tok, path, &j, NULL), 400);
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/audit/nomodule/%s/events", id);
  cr_expect_eq(get(tok, path, &j, NULL), 404);
  json_decref(j);

  /* Roles: auditor reads; planner and weaver may not. */
  const char *roles[][2] = {{"auditor", "200"}, {"admin", "200"}, {"planner", "403"}, {"weaver", "403"}};
  for (size_t i = 0; i < 4; i++) {
    char *t = h_token(tenant, roles[i][0]);
    snprintf(path, sizeof path, "/api/v1/audit/production/%s/events", id);
    cr_expect_eq(get(t, path, &j, NULL), atoi(roles[i][1]), "role %s", roles[i][0]);
    if (atoi(roles[i][1]) == 403) cr_expect_str_eq(code_of(j), "forbidden");
    json_decref(j);
    /* Production views are open to every role. */
    snprintf(path, sizeof path, "/api/v1/production/orders/%s", id);
    cr_expect_eq(get(t, path, &j, NULL), 200, "role %s reads production views", roles[i][0]);
    json_decref(j);
    free(t);
  }
  free(cursor);
  free(pos);
  json_decref(events);
}

/* ---------------------------------------------------------------- tenants */

typedef struct {
  const char *tenant;
  long long n;
} count_t;

static void on_count(void *opaque, int ncols, const char *const *values) {
  (void)ncols;
  ((count_t *)opaque)->n = atoll(values[0] ? values[0] : "-1");
}

Test(read_path, tenant_b_never_sees_tenant_a) {
  char b[32], id[FOFAL_UUID_LEN + 1], path[512], loom[48];
  h_tenant(b);
  char *tok_b = h_token(b, "admin");
  snprintf(loom, sizeof loom, "LT-%s", tenant);
  json_t *j;
  int st;
  h_ws_t *ws_b = h_ws_open(port, "/api/v1/stream", (snprintf(path, sizeof path, "Authorization: Bearer %s\r\n", tok_b), path), 0, &st);
  cr_assert_not_null(ws_b, "B's stream opens (status %d)", st);
  cr_assert_eq(h_ws_send(ws_b, "{\"subscribe\":{}}"), 0);
  j = h_ws_recv_json(ws_b, 5000, NULL);
  cr_assert_str_eq(json_string_value(json_object_get(j, "ack")) ?: "", "subscribe");
  json_decref(j);

  h_floor_http(port, tenant, loom, "W-SECRET", NULL);
  char *pos = create_order(tok, id, "FOUTA-SECRET", loom);
  free(pos);
  char extra[96];
  free(order_cmd(tok, "production.order.release", id, NULL));
  snprintf(extra, sizeof extra, "\"loom\":\"%s\"", loom);
  pos = order_cmd(tok, "production.order.start", id, extra);
  /* A's own reads see it... */
  snprintf(path, sizeof path, "/api/v1/production/orders/%s?position=%s", id, pos);
  cr_assert_eq(get(tok, path, &j, NULL), 200);
  json_decref(j);
  /* ...B's never do, whatever the endpoint. */
  cr_expect_eq(get(tok_b, path, &j, NULL), 404, "detail");
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/production/orders/%s/declarations", id);
  cr_expect_eq(get(tok_b, path, &j, NULL), 404, "declarations");
  json_decref(j);
  cr_assert_eq(get(tok_b, "/api/v1/production/orders?article=FOUTA-SECRET", &j, NULL), 200);
  cr_expect_eq(json_array_size(json_object_get(j, "items")), 0, "list");
  json_decref(j);
  cr_assert_eq(get(tok_b, "/api/v1/production/orders?limit=200", &j, NULL), 200);
  cr_expect_eq(json_array_size(json_object_get(j, "items")), 0, "B has no orders at all");
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/production/looms/%s/current-order", loom);
  cr_expect_eq(get(tok_b, path, &j, NULL), 404, "loom view: B knows no such loom");
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/audit/production/%s/events", id);
  cr_expect_eq(get(tok_b, path, &j, NULL), 404, "audit history");
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/audit/production/%s", id);
  cr_expect_eq(get(tok_b, path, &j, NULL), 404, "audit state");
  json_decref(j);
  /* Stream: B got none of A's three pushes. */
  j = h_ws_recv_json(ws_b, 1500, NULL);
  cr_expect_null(j, "B's stream received %s", j ? json_dumps(j, 0) : "");
  json_decref(j);
  h_ws_close(ws_b);

  /* Row-level security itself: as the API's role, a query without any WHERE tenant sees
   * only the tenant set for the transaction. */
  fofal_pg_t *pg = NULL;
  char err[512];
  cr_assert_eq(fofal_pg_connect(&pg, h_env("FOFAL_PG_DSN"), err, sizeof err), 0, "%s", err);
  cr_assert_eq(fofal_pg_exec(pg, "SET ROLE fofal_reader", err, sizeof err), 0, "%s", err);
  const char *who[] = {tenant, b};
  for (int i = 0; i < 2; i++) {
    cr_assert_eq(fofal_pg_exec(pg, "BEGIN", err, sizeof err), 0, "%s", err);
    char *ignored = NULL;
    const char *p1[] = {who[i]};
    cr_assert_eq(fofal_pg_query_value(pg, "SELECT set_config('fofal.tenant', $1, true)", 1, p1, &ignored, err, sizeof err), 0);
    free(ignored);
    count_t c = {who[i], -1};
    const char *p2[] = {id};
    cr_assert_eq(fofal_pg_query(pg, "SELECT count(*) FROM production.orders WHERE order_id = $1::uuid", 1, p2, on_count, &c,
                                err, sizeof err), 0, "%s", err);
    cr_expect_eq(c.n, i == 0 ? 1 : 0, "tenant %s sees %lld rows of A's order", who[i], c.n);
    c.n = -1;
    cr_assert_eq(fofal_pg_query(pg, "SELECT count(*) FROM audit.events WHERE aggregate = $1", 1, p2, on_count, &c, err,
                                sizeof err), 0, "%s", err);
    cr_expect_eq(c.n, i == 0 ? 3 : 0, "tenant %s sees %lld audit rows of A's order", who[i], c.n);
    fofal_pg_exec(pg, "COMMIT", NULL, 0);
  }
  fofal_pg_close(pg);
  free(pos);
  free(tok_b);
}

/* ---------------------------------------------------------- position wait */

Test(read_path_tuned, position_wait_times_out_when_the_projector_is_stopped) {
  const char *env[] = {"FOFAL_API_POSITION_WAIT_MS=700", NULL};
  setup_with(env);
  char id[FOFAL_UUID_LEN + 1], path[512];
  json_t *j;
  h_stop(proj, SIGTERM);
  proj = -1;
  char *pos = create_order(tok, id, "FOUTA-WAIT", NULL);
  snprintf(path, sizeof path, "/api/v1/production/orders/%s?position=%s", id, pos);
  char hdr[4200];
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", tok);
  h_resp_t r;
  int64_t t0 = fofal_mono_us();
  cr_assert_eq(h_http(port, "GET", path, hdr, NULL, &r, 10000), 0);
  int64_t waited_ms = (fofal_mono_us() - t0) / 1000;
  cr_expect_eq(r.status, 503, "got %d %s", r.status, r.body);
  j = json_loads(r.body, 0, NULL);
  cr_expect_str_eq(code_of(j), "position_not_reached");
  cr_expect(strstr(json_string_value(json_object_get(j, "detail")) ?: "", "offset"), "the detail says how far: %s",
            json_string_value(json_object_get(j, "detail")));
  cr_expect_eq(json_integer_value(json_object_get(j, "wanted_offset")), atoll(strrchr(pos, ':') + 1));
  char *ra = h_resp_header(&r, "Retry-After");
  cr_expect_str_eq(ra ? ra : "", "1");
  cr_expect(waited_ms >= 650 && waited_ms < 5000, "the wait is bounded by the setting (waited %lld ms)", (long long)waited_ms);
  free(ra);
  json_decref(j);
  h_resp_free(&r);
  /* Without position the read answers at once, from what is projected (nothing yet). */
  char nopos[256];
  snprintf(nopos, sizeof nopos, "/api/v1/production/orders/%s", id);
  cr_expect_eq(get(tok, nopos, &j, NULL), 404, "not projected yet");
  json_decref(j);
  /* The projector comes back: the same read succeeds. */
  proj = h_start_projector("it-read-wait");
  int st = 0;
  for (int i = 0; i < 30 && st != 200; i++) {
    st = get(tok, path, &j, NULL);
    json_decref(j);
  }
  cr_expect_eq(st, 200, "the read succeeds once the projector caught up");
  free(pos);
  teardown();
}

/* --------------------------------------------------------------- the stream */

static h_ws_t *open_stream(const char *token, const char *query, int rcvbuf) {
  char path[4400];
  int st;
  snprintf(path, sizeof path, "/api/v1/stream?access_token=%s%s", token, query ? query : "");
  h_ws_t *ws = h_ws_open(port, path, NULL, rcvbuf, &st);
  cr_assert_not_null(ws, "the stream opens (status %d)", st);
  return ws;
}

static void subscribe(h_ws_t *ws, const char *req) {
  cr_assert_eq(h_ws_send(ws, req), 0);
  json_t *j = h_ws_recv_json(ws, 5000, NULL);
  cr_assert_str_eq(json_string_value(json_object_get(j, "ack")) ?: "", "subscribe", "subscribed");
  json_decref(j);
}

/* The next push (skipping acks); NULL on timeout. */
static json_t *next_push(h_ws_t *ws, int timeout_ms) {
  int64_t deadline = fofal_mono_us() + (int64_t)timeout_ms * 1000;
  for (;;) {
    int left = (int)((deadline - fofal_mono_us()) / 1000);
    json_t *j = left > 0 ? h_ws_recv_json(ws, left, NULL) : NULL;
    if (!j || json_object_get(j, "event")) return j;
    json_decref(j);
  }
}

Test(read_path, stream_pushes_after_the_projection) {
  char id[FOFAL_UUID_LEN + 1], other[FOFAL_UUID_LEN + 1], path[512], req[256];
  json_t *j;
  h_ws_t *all = open_stream(tok, NULL, 0);
  subscribe(all, "{\"subscribe\":{\"modules\":[\"production\"]}}");
  free(create_order(tok, id, "FOUTA-WS", NULL));
  json_t *push = next_push(all, 10000);
  cr_assert_not_null(push, "a push arrives");
  json_t *ev = json_object_get(push, "event");
  cr_expect_str_eq(json_string_value(json_object_get(ev, "aggregate")) ?: "", id);
  cr_expect_str_eq(json_string_value(json_object_get(ev, "tenant")) ?: "", tenant);
  cr_expect(strstr(json_string_value(json_object_get(ev, "type")) ?: "", "order_created"));
  cr_expect(json_is_string(json_object_get(push, "id")), "each push has its stream id");
  /* Pushed after its projection: readable right now, without a position. */
  snprintf(path, sizeof path, "/api/v1/production/orders/%s", id);
  cr_expect_eq(get(tok, path, &j, NULL), 200, "the pushed order is readable at once");
  json_decref(j);
  json_decref(push);

  /* A subscription to one aggregate gets only that aggregate. */
  h_ws_t *one = open_stream(tok, NULL, 0);
  snprintf(req, sizeof req, "{\"subscribe\":{\"aggregates\":[\"%s\"]}}", id);
  subscribe(one, req);
  free(create_order(tok, other, "FOUTA-WS2", NULL));
  free(order_cmd(tok, "production.order.release", id, NULL));
  push = next_push(one, 10000);
  cr_assert_not_null(push);
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(push, "event"), "aggregate")) ?: "", id,
                   "only the subscribed aggregate");
  cr_expect(strstr(json_string_value(json_object_get(json_object_get(push, "event"), "type")) ?: "", "order_released"));
  json_decref(push);
  /* The module subscriber got both (two aggregates, two partitions: in either order). */
  json_t *p1 = next_push(all, 10000), *p2 = next_push(all, 10000);
  cr_assert(p1 && p2);
  const char *a1 = json_string_value(json_object_get(json_object_get(p1, "event"), "aggregate")) ?: "";
  const char *a2 = json_string_value(json_object_get(json_object_get(p2, "event"), "aggregate")) ?: "";
  cr_expect((!strcmp(a1, other) && !strcmp(a2, id)) || (!strcmp(a1, id) && !strcmp(a2, other)), "got %s and %s", a1, a2);
  json_decref(p1);
  json_decref(p2);
  /* Unsubscribing everything stops the pushes. */
  cr_assert_eq(h_ws_send(one, "{\"unsubscribe\":{}}"), 0);
  j = h_ws_recv_json(one, 5000, NULL);
  cr_expect_str_eq(json_string_value(json_object_get(j, "ack")) ?: "", "unsubscribe");
  json_decref(j);
  free(order_cmd(tok, "production.order.cancel", id, "\"reason\":\"test\""));
  push = next_push(all, 10000);
  cr_expect_not_null(push);
  json_decref(push);
  cr_expect_null(next_push(one, 1000), "nothing after unsubscribe");
  h_ws_close(one);
  h_ws_close(all);
}

Test(read_path, stream_resumes_with_since_without_gap_or_duplicate) {
  char a[FOFAL_UUID_LEN + 1], b[FOFAL_UUID_LEN + 1], c[FOFAL_UUID_LEN + 1];
  h_ws_t *ws = open_stream(tok, NULL, 0);
  subscribe(ws, "{\"subscribe\":{}}");
  free(create_order(tok, a, "FOUTA-S1", NULL));
  json_t *push = next_push(ws, 10000);
  cr_assert_not_null(push);
  char *since = fofal_strdup(json_string_value(json_object_get(push, "id")));
  json_decref(push);
  h_ws_close(ws);

  /* Missed while away: b created and released, a released. */
  free(create_order(tok, b, "FOUTA-S2", NULL));
  char *last_b = order_cmd(tok, "production.order.release", b, NULL);
  char *last = order_cmd(tok, "production.order.release", a, NULL);
  /* Wait until projected (so the pushes are in the stream) before reconnecting. */
  char path[256];
  json_t *j;
  const char *lasts[][2] = {{a, last}, {b, last_b}};
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "/api/v1/production/orders/%s?position=%s", lasts[i][0], lasts[i][1]);
    cr_assert_eq(get(tok, path, &j, NULL), 200);
    json_decref(j);
  }

  char q[128];
  snprintf(q, sizeof q, "&since=%s", since);
  ws = open_stream(tok, q, 0);
  subscribe(ws, "{\"subscribe\":{\"modules\":[\"production\"]}}");
  /* A live event during/after the replay. */
  free(create_order(tok, c, "FOUTA-S3", NULL));
  /* Per aggregate in seq order; across aggregates (partitions) in any order. */
  const char *want[][3] = {{b, "order_created", "1"}, {b, "order_released", "2"}, {a, "order_released", "2"},
                           {c, "order_created", "1"}};
  int got[4] = {0};
  char prev[48] = "";
  int replayed_ack = 0;
  for (size_t i = 0; i < 4;) {
    json_t *m = h_ws_recv_json(ws, 10000, NULL);
    cr_assert_not_null(m, "push %zu arrives", i);
    if (json_object_get(m, "ack")) {
      if (!strcmp(json_string_value(json_object_get(m, "ack")) ?: "", "replayed")) {
        replayed_ack = 1;
        cr_expect_eq(json_integer_value(json_object_get(m, "count")) >= 3, 1, "three entries replayed");
      }
      json_decref(m);
      continue;
    }
    json_t *ev = json_object_get(m, "event");
    const char *agg = json_string_value(json_object_get(ev, "aggregate")) ?: "";
    const char *type = json_string_value(json_object_get(ev, "type")) ?: "";
    int k = -1;
    for (int w = 0; w < 4; w++)
      if (!strcmp(agg, want[w][0]) && strstr(type, want[w][1]) &&
          json_integer_value(json_object_get(ev, "seq")) == atoi(want[w][2]))
        k = w;
    cr_assert(k >= 0, "unexpected push %s %s", agg, type);
    cr_expect_eq(got[k]++, 0, "push %s %s came twice", agg, type);
    if (k == 1) cr_expect(got[0], "b's release after b's creation");
    const char *id = json_string_value(json_object_get(m, "id"));
    uint64_t pm = 0, ps = 0, cm = 0, cs = 0;
    sscanf(id, "%lu-%lu", &cm, &cs);
    if (prev[0]) {
      sscanf(prev, "%lu-%lu", &pm, &ps);
      cr_expect(cm > pm || (cm == pm && cs > ps), "ids strictly increase (%s after %s)", id, prev);
    }
    snprintf(prev, sizeof prev, "%s", id);
    json_decref(m);
    i++;
  }
  cr_expect(replayed_ack, "the end of the replay is announced");
  cr_expect_null(next_push(ws, 1000), "no duplicate follows");
  h_ws_close(ws);
  free(last);
  free(last_b);
  free(since);
}

Test(read_path, stream_auth_and_bad_frames) {
  int st, code;
  char path[4400];
  h_ws_t *ws = h_ws_open(port, "/api/v1/stream", NULL, 0, &st);
  cr_expect_null(ws);
  cr_expect_eq(st, 401, "no token: 401 (got %d)", st);
  ws = h_ws_open(port, "/api/v1/stream?access_token=nope", NULL, 0, &st);
  cr_expect_null(ws);
  cr_expect_eq(st, 401);
  snprintf(path, sizeof path, "/api/v1/stream?access_token=%s&since=not-an-id", tok);
  ws = h_ws_open(port, path, NULL, 0, &st);
  cr_expect_null(ws);
  cr_expect_eq(st, 400, "a malformed since is refused");
  /* A plain GET (no upgrade) is told to use WebSocket. */
  json_t *j;
  cr_expect_eq(get(tok, "/api/v1/stream", &j, NULL), 400);
  cr_expect_str_eq(code_of(j), "websocket_required");
  json_decref(j);

  ws = open_stream(tok, NULL, 0);
  cr_assert_eq(h_ws_send(ws, "{not json"), 0);
  cr_expect_null(h_ws_recv_json(ws, 5000, &code));
  cr_expect_eq(code, 1007, "invalid JSON closes with 1007 (got %d)", code);
  h_ws_close(ws);
  ws = open_stream(tok, NULL, 0);
  cr_assert_eq(h_ws_send(ws, "{\"subscribe\":{\"modules\":[\"nope\"]}}"), 0);
  cr_expect_null(h_ws_recv_json(ws, 5000, &code));
  cr_expect_eq(code, 1008, "an unknown module closes with 1008 (got %d)", code);
  h_ws_close(ws);
  ws = open_stream(tok, NULL, 0);
  /* 70 KiB: over the 64 KiB frame cap. */
  size_t big = 70 * 1024;
  char *huge = fofal_malloc(big + 1);
  memset(huge, ' ', big);
  huge[big] = '\0';
  cr_assert_eq(h_ws_send(ws, huge), 0);
  free(huge);
  cr_expect_null(h_ws_recv_json(ws, 5000, &code));
  cr_expect_eq(code, 1009, "a frame over the cap closes with 1009 (got %d)", code);
  h_ws_close(ws);
  /* The server is fine after all that. */
  cr_expect_eq(h_wait_ready(port, 5000), 0);
}

static long long metric(const char *name) {
  h_resp_t r;
  cr_assert_eq(h_http(port, "GET", "/metrics", NULL, NULL, &r, 5000), 0);
  const char *p = r.body;
  long long v = -1;
  size_t n = strlen(name);
  while ((p = strstr(p, name))) {
    if ((p == r.body || p[-1] == '\n') && p[n] == ' ') {
      v = atoll(p + n + 1);
      break;
    }
    p += n;
  }
  h_resp_free(&r);
  return v;
}

Test(read_path_tuned, a_client_that_never_reads_is_closed_with_1013) {
  /* Above one round of 100 pushes, which a reading client may get in one burst. */
  const char *env[] = {"FOFAL_WS_MAX_QUEUE=150", NULL};
  setup_with(env);
  long long dropped0 = metric("fofal_ws_slow_consumers_total");
  /* A small receive buffer, and no reading: the server's queue for it must fill. */
  h_ws_t *slow = open_stream(tok, NULL, 2048);
  subscribe(slow, "{\"subscribe\":{}}");
  h_ws_t *fast = open_stream(tok, NULL, 0);
  subscribe(fast, "{\"subscribe\":{}}");
  cr_expect_eq(metric("fofal_ws_connections"), 2);
  json_t *ids = json_array(), *positions = json_array();
  long long dropped = dropped0;
  for (int round = 0; round < 20 && dropped == dropped0; round++) {
    create_batch(100, "FOUTA-FLOOD", NULL, ids, positions);
    /* The reading client keeps up and is never dropped. */
    for (int i = 0; i < 100; i++) {
      json_t *p = next_push(fast, 10000);
      cr_assert_not_null(p, "the reading client gets every push (round %d, %d)", round, i);
      json_decref(p);
    }
    dropped = metric("fofal_ws_slow_consumers_total");
  }
  cr_assert_eq(dropped, dropped0 + 1, "the slow client was dropped (counter %lld)", dropped);
  /* Now read: what was in flight, then the close frame with 1013. */
  int code = 0, op;
  char *payload = NULL;
  size_t len;
  for (int i = 0; i < 100000; i++) {
    op = h_ws_recv(slow, &payload, &len, &code, 10000);
    if (op < 0 || op == 8) break;
    free(payload);
    payload = NULL;
  }
  cr_expect_eq(code, 1013, "closed with 1013 (got %d)", code);
  cr_expect_str_eq(payload ? payload : "", "slow consumer");
  free(payload);
  h_ws_close(slow);
  cr_expect_eq(metric("fofal_ws_connections"), 1, "its connection is gone");
  h_ws_close(fast);
  json_decref(ids);
  json_decref(positions);
  teardown();
}

Test(read_path, openapi_documents_the_read_side) {
  h_resp_t r;
  cr_assert_eq(h_http(port, "GET", "/api/v1/openapi.json", NULL, NULL, &r, 5000), 0);
  json_t *doc = json_loads(r.body, 0, NULL), *paths = json_object_get(doc, "paths");
  const char *want[] = {"/api/v1/production/orders", "/api/v1/production/orders/{id}",
                        "/api/v1/production/orders/{id}/declarations", "/api/v1/production/looms/{loom}/current-order",
                        "/api/v1/production/shifts/{shift}/output", "/api/v1/audit/{module}/{id}/events",
                        "/api/v1/audit/{module}/{id}", "/api/v1/stream"};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    json_t *get_op = json_object_get(json_object_get(paths, want[i]), "get");
    cr_expect_not_null(get_op, "%s is documented", want[i]);
    cr_expect_not_null(json_object_get(json_object_get(get_op, "responses"), "401"), "%s documents 401", want[i]);
  }
  json_t *params = json_object_get(json_object_get(json_object_get(paths, "/api/v1/production/orders"), "get"), "parameters");
  cr_expect(json_array_size(params) >= 6, "the list documents its parameters");
  json_decref(doc);
  h_resp_free(&r);
}

/* ----------------------------------------------------------------- outages */

/* GETs until the status is `want` (at most timeout_ms); returns the last status. */
static int get_until(const char *path, int want, int timeout_ms, json_t **body, char **retry_after) {
  int64_t deadline = fofal_mono_us() + (int64_t)timeout_ms * 1000;
  char hdr[4200];
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", tok);
  for (;;) {
    h_resp_t r;
    cr_assert_eq(h_http(port, "GET", path, hdr, NULL, &r, 20000), 0, "no answer to GET %s", path);
    int st = r.status;
    if (st == want || fofal_mono_us() > deadline) {
      if (body) *body = json_loads(r.body, 0, NULL);
      if (retry_after) *retry_after = h_resp_header(&r, "Retry-After");
      h_resp_free(&r);
      return st;
    }
    h_resp_free(&r);
    usleep(100 * 1000);
  }
}

Test(read_path_tuned, postgresql_or_redis_down_is_503_then_recovers, .timeout = 300) {
  setup_with(NULL);
  char id[FOFAL_UUID_LEN + 1], path[512], loom[48];
  json_t *j;
  char *ra;
  snprintf(loom, sizeof loom, "LD-%s", tenant);
  h_floor_http(port, tenant, loom, "W-DOWN", NULL);
  free(create_order(tok, id, "FOUTA-DOWN", loom));
  free(order_cmd(tok, "production.order.release", id, NULL));
  char *pos = order_cmd(tok, "production.order.start", id, NULL);
  snprintf(path, sizeof path, "/api/v1/production/orders/%s?position=%s", id, pos);
  cr_assert_eq(get(tok, path, NULL, NULL), 200);
  snprintf(path, sizeof path, "/api/v1/production/orders/%s", id);

  cr_assert_eq(h_stack("stop-service", "postgres"), 0, "cannot stop PostgreSQL");
  int st = get_until(path, 503, 10000, &j, &ra);
  cr_expect_eq(st, 503, "PostgreSQL down: 503 (got %d)", st);
  cr_expect_str_eq(code_of(j), "postgresql_unavailable");
  cr_expect_str_eq(ra ? ra : "", "1", "with Retry-After");
  json_decref(j);
  free(ra);
  cr_assert_eq(h_stack("start-service", "postgres"), 0, "cannot start PostgreSQL");
  cr_expect_eq(get_until(path, 200, 30000, NULL, NULL), 200, "reads recover without restarting the API");

  snprintf(path, sizeof path, "/api/v1/production/looms/%s/current-order", loom);
  cr_assert_eq(get(tok, path, NULL, NULL), 200);
  cr_assert_eq(h_stack("stop-service", "redis"), 0, "cannot stop Redis");
  st = get_until(path, 503, 10000, &j, &ra);
  cr_expect_eq(st, 503, "Redis down: 503 (got %d)", st);
  cr_expect_str_eq(code_of(j), "redis_unavailable");
  cr_expect_str_eq(ra ? ra : "", "1");
  json_decref(j);
  free(ra);
  cr_assert_eq(h_stack("start-service", "redis"), 0, "cannot start Redis");
  cr_expect_eq(get_until(path, 200, 30000, &j, NULL), 200, "Redis views recover");
  cr_expect_str_eq(json_string_value(json_object_get(j, "order_id")) ?: "", id);
  json_decref(j);
  free(pos);
  teardown();
}

/* Guarantee 5's operator view: lag per projector and partition in /metrics, caught up
 * after a read with the command's position. */
Test(read_path, metrics_report_projection_lag) {
  char id[FOFAL_UUID_LEN + 1], path[256];
  char *pos = create_order(tok, id, "FOUTA-LAG", NULL);
  snprintf(path, sizeof path, "/api/v1/production/orders/%s?position=%s", id, pos);
  cr_assert_eq(get(tok, path, NULL, NULL), 200);
  /* The health thread measures once a second: wait for a measurement that includes us. */
  int64_t deadline = fofal_mono_us() + 10 * 1000000LL;
  int seen = 0;
  while (!seen && fofal_mono_us() < deadline) {
    h_resp_t r;
    cr_assert_eq(h_http(port, "GET", "/metrics", NULL, NULL, &r, 5000), 0);
    seen = r.body && strstr(r.body, "fofal_projection_lag_events{projector=\"production\",topic=\"fofal.production.events\"") &&
           strstr(r.body, "fofal_projection_lag_seconds{projector=\"audit.production\"");
    h_resp_free(&r);
    if (!seen) usleep(200 * 1000);
  }
  cr_expect(seen, "/metrics must report lag for the production and audit projectors");
  free(pos);
}
