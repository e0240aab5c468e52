/*
 * test_labels.c — the inventory module against the real stack (decider, projector,
 * reactor, API; Kafka, PostgreSQL, Redis): a declared roll enters stock by the reaction
 * inventory.unit_on_declaration under the label id the declaration's answer shows
 * (issued.label_id), and its label is read below /api/v1/inventory/labels/:
 *   - the scan (order, loom, weaver, shift, article, where, prints), a reprint
 *     (inventory.label.reprint) with read-your-writes, the QR code as PNG (read back with
 *     zbarimg when installed) and SVG, ZPL; another tenant's label 404, a role that may
 *     not scan 403, an id no declaration assigned 404 at once; the OpenAPI paths;
 *   - right after the declaration, before the reaction landed (fofal-reactor stopped):
 *     409 label_pending with retry_after_s, then 200 once the reactor runs;
 *   - exactly once: a stream of declarations produced to fofal.commands while
 *     fofal-reactor is killed with SIGKILL twice; every declaration has exactly one
 *     unit_received, nothing lands in the DLQ, `fofal verify inventory` finds the live
 *     read model equal to a rebuild, and `fofal rebuild inventory` swaps one in.
 * Each test uses a tenant of its own.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "harness.h"

static int port;
static pid_t dec, proj, api, rea;
static char tenant[32];
static char *adm;

static void setup(void) {
  h_tenant(tenant);
  adm = h_token(tenant, "admin");
  port = h_free_port();
  dec = h_start_decider("it-inventory");
  proj = h_start_projector("it-inventory");
  rea = h_start_reactor("it-inventory");
  api = h_start_api(port);
}

static void teardown(void) {
  h_stop(api, SIGTERM);
  if (rea > 0) h_stop(rea, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
  free(adm);
}

TestSuite(labels, .init = setup, .fini = teardown, .timeout = 600);

static const char *s_of(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)) ?: ""; }

/* GET with a token: the status and the body parsed into *out (NULL when not JSON). */
static int get(const char *token, const char *path, json_t **out) {
  char hdr[4300];
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", token);
  h_resp_t r;
  cr_assert_eq(h_http(port, "GET", path, hdr, NULL, &r, 30000), 0, "no answer to GET %s", path);
  *out = json_loads(r.body, 0, NULL);
  int st = r.status;
  h_resp_free(&r);
  return st;
}

/* GET as the console does right after a declaration: again while 409 label_pending. */
static int get_unit(const char *token, const char *path, json_t **out) {
  int st = 0;
  for (int attempt = 0; attempt < 60; attempt++) {
    st = get(token, path, out);
    if (st != 409) return st;
    cr_expect_str_eq(s_of(*out, "code"), "label_pending");
    json_decref(*out);
    *out = NULL;
    sleep(1);
  }
  return st;
}

/* Sends a command that must be accepted; its 201 body (new). */
static json_t *cmd(const char *token, const char *type, const char *key, const char *body) {
  json_t *res = NULL;
  int st = h_command_ok(port, token, type, key, NULL, body, &res);
  cr_assert_eq(st, 201, "%s %s: %d %s", type, body, st, s_of(res, "detail"));
  return res;
}

/* A started order on loom L1 of a fresh floor (weaver W1); its id into order. */
static void started_order(char order[FOFAL_UUID_LEN + 1]) {
  char b[256];
  h_floor_http(port, tenant, "L1", "W1", "FT-INV");
  json_t *r = cmd(adm, "production.order.create", "inv-order", "{\"article\":\"FT-INV\",\"quantity\":500}");
  snprintf(order, FOFAL_UUID_LEN + 1, "%s", s_of(r, "aggregate"));
  json_decref(r);
  snprintf(b, sizeof b, "{\"order_id\":\"%s\"}", order);
  json_decref(cmd(adm, "production.order.release", "inv-release", b));
  snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"loom\":\"L1\"}", order);
  json_decref(cmd(adm, "production.order.start", "inv-start", b));
}

/* The position of the last declaration's answer (production:<partition>:<offset>). */
static char decl_pos[160];

/* Declares 3 pieces of W1 on order; the label id the answer shows into label, its position
 * into decl_pos. */
static void declare(const char *order, const char *key, char label[FOFAL_UUID_LEN + 1]) {
  char b[256], shift[32], woven_at[40];
  h_current_shift(shift, woven_at);
  snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"quantity\":3,\"length_m\":1.5,\"weaver\":\"W1\",\"woven_at\":\"%s\"}", order,
           woven_at);
  json_t *r = cmd(adm, "production.order.declare_output", key, b);
  snprintf(decl_pos, sizeof decl_pos, "%s", s_of(r, "position"));
  h_declared_label(r, label);
  json_decref(r);
  cr_assert(fofal_uuid_valid(label), "the declaration's answer shows its label id");
}

Test(labels, a_declared_roll_scans_prints_and_is_reprinted) {
  char order[FOFAL_UUID_LEN + 1], label[FOFAL_UUID_LEN + 1], path[512], hdr[4300], want[160];
  json_t *j;
  started_order(order);
  declare(order, "inv-decl-1", label);

  /* The scan, as the weaver's phone asks for it right after declaring: with the
   * declaration's position, or production's projector may not know the label yet (404; a
   * full run saw it). */
  cr_expect(!strncmp(decl_pos, "production:", 11), "a production position: %s", decl_pos);
  snprintf(path, sizeof path, "/api/v1/inventory/labels/%s?position=%s", label, decl_pos);
  cr_assert_eq(get_unit(adm, path, &j), 200, "the label scans: %s", s_of(j, "detail"));
  cr_expect_str_eq(s_of(j, "label_id"), label);
  cr_expect_str_eq(s_of(json_object_get(j, "order"), "order_id"), order);
  cr_expect_str_eq(s_of(json_object_get(j, "order"), "status"), "started");
  cr_expect_str_eq(s_of(json_object_get(j, "loom"), "loom"), "L1");
  cr_expect_str_eq(s_of(json_object_get(j, "loom"), "hall"), "H1");
  cr_expect_str_eq(s_of(json_object_get(j, "weaver"), "badge"), "W1");
  cr_expect_str_eq(s_of(json_object_get(j, "article"), "article"), "FT-INV");
  cr_expect_str_eq(s_of(j, "location"), "loom");
  cr_expect_str_eq(s_of(j, "what"), "roll");
  cr_expect_eq(json_integer_value(json_object_get(j, "quantity")), 3);
  cr_expect(json_number_value(json_object_get(j, "length_m")) > 1.49 && json_number_value(json_object_get(j, "length_m")) < 1.51);
  cr_expect_eq(json_integer_value(json_object_get(j, "prints")), 1);
  cr_expect_eq(json_array_size(json_object_get(j, "print_history")), 1);
  cr_expect(json_is_string(json_object_get(json_object_get(j, "shift"), "starts_at")), "the weaver's shift is joined");
  json_decref(j);

  /* A reprint, read your writes with its inventory position. */
  char b[256];
  snprintf(b, sizeof b, "{\"label_id\":\"%s\",\"reason\":\"torn\",\"printer\":\"ZEBRA-1\"}", label);
  json_t *r = cmd(adm, "inventory.label.reprint", "inv-reprint-1", b);
  const char *pos = s_of(r, "position");
  cr_expect(!strncmp(pos, "inventory:", 10), "an inventory position: %s", pos);
  snprintf(path, sizeof path, "/api/v1/inventory/labels/%s?position=%s", label, pos);
  json_decref(r);
  cr_assert_eq(get(adm, path, &j), 200);
  cr_expect_eq(json_integer_value(json_object_get(j, "prints")), 2);
  json_t *p2 = json_array_get(json_object_get(j, "print_history"), 1);
  cr_expect_eq(json_integer_value(json_object_get(p2, "print_no")), 2);
  cr_expect_str_eq(s_of(p2, "reason"), "torn");
  cr_expect_str_eq(s_of(p2, "printer"), "ZEBRA-1");
  json_decref(j);
  /* The old names are gone. */
  int st = h_command(port, adm, "production" ".label.reprint", "inv-old", NULL, b, &j);
  cr_expect_eq(st, 404, "the old reprint command is no more: %d", st);
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/production" "/labels/%s", label);
  cr_expect_eq(get(adm, path, &j), 404);
  json_decref(j);

  /* The label to print: PNG, SVG, ZPL, as a cutter (who scans labels). */
  char *cutter = h_token(tenant, "cutter");
  h_resp_t rr;
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", cutter);
  snprintf(want, sizeof want, "FOFAL:L:%s:%s", tenant, label);
  snprintf(path, sizeof path, "/api/v1/inventory/labels/%s/qr.png", label);
  cr_assert_eq(h_http(port, "GET", path, hdr, NULL, &rr, 30000), 0);
  cr_expect_eq(rr.status, 200, "qr.png: %d %s", rr.status, rr.body);
  char *ct = h_resp_header(&rr, "Content-Type");
  cr_expect_str_eq(ct ? ct : "", "image/png");
  free(ct);
  cr_expect(rr.body_len > 8 && !memcmp(rr.body, "\x89PNG\r\n\x1a\n", 8), "a PNG signature");
  if (!system("command -v zbarimg >/dev/null 2>&1")) {
    char file[] = "/tmp/fofal-label-XXXXXX";
    int fd = mkstemp(file);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, rr.body, rr.body_len), (ssize_t)rr.body_len);
    close(fd);
    char cmdline[128], got[256] = "";
    snprintf(cmdline, sizeof cmdline, "zbarimg --raw -q %s 2>/dev/null", file);
    FILE *p = popen(cmdline, "r");
    if (p && fgets(got, sizeof got, p)) got[strcspn(got, "\n")] = '\0';
    if (p) pclose(p);
    unlink(file);
    cr_expect_str_eq(got, want, "the QR code reads back as the label's payload");
  }
  h_resp_free(&rr);
  snprintf(path, sizeof path, "/api/v1/inventory/labels/%s/qr.svg", label);
  cr_assert_eq(h_http(port, "GET", path, hdr, NULL, &rr, 30000), 0);
  cr_expect_eq(rr.status, 200);
  cr_expect(!strncmp(rr.body, "<svg", 4), "an SVG: %.40s", rr.body);
  h_resp_free(&rr);
  snprintf(path, sizeof path, "/api/v1/inventory/labels/%s/label.zpl", label);
  cr_assert_eq(h_http(port, "GET", path, hdr, NULL, &rr, 30000), 0);
  cr_expect_eq(rr.status, 200);
  cr_expect(!strncmp(rr.body, "^XA", 3) && strstr(rr.body, "^XZ"), "a ZPL label: %.60s", rr.body);
  cr_expect(strstr(rr.body, want), "the ZPL's QR code carries %s", want);
  cr_expect(strstr(rr.body, "L1"), "the ZPL names the loom");
  h_resp_free(&rr);
  free(cutter);

  /* Refusals. */
  char other[32];
  h_tenant(other);
  char *otok = h_token(other, "manager"), *hr = h_token(tenant, "hr");
  char missing[FOFAL_UUID_LEN + 1];
  fofal_uuid7(missing);
  struct {
    const char *token, *fmt, *id;
    int status;
    const char *code;
  } cases[] = {
      {otok, "/api/v1/inventory/labels/%s", label, 404, "not_found"},
      {otok, "/api/v1/inventory/labels/%s/label.zpl", label, 404, "not_found"},
      {hr, "/api/v1/inventory/labels/%s", label, 403, "forbidden"},
      {adm, "/api/v1/inventory/labels/%s/label.pdf", label, 404, "not_found"},
      {adm, "/api/v1/inventory/labels/%s", "not-a-uuid", 404, "not_found"},
      {adm, "/api/v1/inventory/labels/%s", missing, 404, "not_found"},
      {adm, "/api/v1/inventory/%s", "nothing", 404, "not_found"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(path, sizeof path, cases[i].fmt, cases[i].id);
    int64_t t0 = fofal_now_us();
    st = get(cases[i].token, path, &j);
    cr_expect_eq(st, cases[i].status, "GET %s: %d, expected %d", path, st, cases[i].status);
    cr_expect_str_eq(s_of(j, "code"), cases[i].code, "GET %s", path);
    cr_expect_lt(fofal_now_us() - t0, 1000000, "GET %s answers at once (no declaration to wait for)", path);
    json_decref(j);
  }
  free(otok);
  free(hr);

  /* The OpenAPI document has the routes, with their roles and the 409. */
  cr_assert_eq(get(adm, "/api/v1/openapi.json", &j), 200);
  const char *const routes[] = {"/api/v1/inventory/labels/{id}", "/api/v1/inventory/labels/{id}/qr.png",
                                "/api/v1/inventory/labels/{id}/qr.svg", "/api/v1/inventory/labels/{id}/label.zpl"};
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    json_t *op = json_object_get(json_object_get(json_object_get(j, "paths"), routes[i]), "get");
    cr_expect(json_is_object(op), "OpenAPI documents %s", routes[i]);
    cr_expect_gt(json_array_size(json_object_get(op, "x-fofal-roles")), 0, "%s says its roles", routes[i]);
    cr_expect(json_is_object(json_object_get(json_object_get(op, "responses"), "409")), "%s documents 409", routes[i]);
  }
  cr_expect_null(json_object_get(json_object_get(j, "paths"), "/api/v1/production" "/labels/{id}"));
  json_decref(j);
}

/* The weaver's phone asks for the label before the reaction landed: a clear 409 it
 * retries, then the label. */
Test(labels, before_the_reaction_lands_the_label_is_pending_then_there) {
  char order[FOFAL_UUID_LEN + 1], label[FOFAL_UUID_LEN + 1], path[512];
  json_t *j;
  started_order(order);
  h_stop(rea, SIGTERM);
  rea = 0;
  declare(order, "inv-decl-pending", label);
  snprintf(path, sizeof path, "/api/v1/inventory/labels/%s", label);
  /* The read knows the label once production's projector has the declaration (404 before,
   * the projector's lag: 0.6 s in a full run beside another stack); inventory's unit cannot
   * come, its reactor is down. */
  int64_t t0, deadline = fofal_now_us() + 15000000;
  int st;
  for (;;) {
    t0 = fofal_now_us();
    st = get(adm, path, &j);
    if (st != 404 || fofal_now_us() > deadline) break;
    json_decref(j);
    usleep(200000);
  }
  cr_assert_eq(st, 409, "no unit yet: %s", s_of(j, "detail"));
  cr_expect_str_eq(s_of(j, "code"), "label_pending");
  cr_expect_eq(json_integer_value(json_object_get(j, "retry_after_s")), 1);
  cr_expect_geq(fofal_now_us() - t0, 1000000, "it waited for the unit first");
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/inventory/labels/%s/qr.svg", label);
  cr_expect_eq(get(adm, path, &j), 409, "nor its QR code");
  json_decref(j);
  rea = h_start_reactor("it-inventory");
  snprintf(path, sizeof path, "/api/v1/inventory/labels/%s", label);
  cr_assert_eq(get_unit(adm, path, &j), 200, "the unit arrived: %s", s_of(j, "detail"));
  cr_expect_str_eq(s_of(j, "label_id"), label);
  json_decref(j);
}

/* The tenant's values of `type` events on `topic`: label_id → count (new map); *total. */
static fofal_map_t *labels_of(const char *topic, const char *type, int *total) {
  json_t *all = h_read_topic(topic), *r;
  fofal_map_t *by = fofal_map_new(NULL);
  size_t i;
  *total = 0;
  json_array_foreach(all, i, r) {
    json_t *e = json_object_get(r, "value");
    if (strcmp(s_of(e, "fofaltenant"), tenant) || strcmp(s_of(e, "type"), type)) continue;
    const char *label = s_of(json_object_get(e, "data"), "label_id");
    fofal_map_put(by, label, (void *)((intptr_t)fofal_map_get(by, label) + 1));
    (*total)++;
  }
  json_decref(all);
  return by;
}

Test(labels, kill9_of_the_reactor_during_declarations_every_roll_enters_stock_once) {
  enum { N = 90 };
  char err[256], order[FOFAL_UUID_LEN + 1], shift[32], woven_at[40];
  fofal_kafka_t *k = NULL;
  fofal_kafka_opts_t o = {.brokers = h_env("FOFAL_KAFKA_BROKERS"), .client_id = "fofal-test-inventory"};
  cr_assert_eq(fofal_kafka_producer_new(&k, &o, err, sizeof err), 0, "%s", err);
  h_floor_produce(k, tenant, "L2", "W2", "FT-INV2");
  fofal_uuid7(order);
  h_produce_command(k, tenant, "inv-c", "production.order.create", order,
                    json_pack("{s:s,s:s,s:i}", "order_id", order, "article", "FT-INV2", "quantity", 1000));
  h_produce_command(k, tenant, "inv-r", "production.order.release", order, json_pack("{s:s}", "order_id", order));
  h_produce_command(k, tenant, "inv-s", "production.order.start", order,
                    json_pack("{s:s,s:s}", "order_id", order, "loom", "L2"));
  h_current_shift(shift, woven_at);
  int kills = 0;
  for (int i = 0; i < N; i++) {
    char id[32];
    snprintf(id, sizeof id, "inv-d%d", i);
    h_produce_command(k, tenant, id, "production.order.declare_output", order,
                      json_pack("{s:s,s:i,s:f,s:s,s:s}", "order_id", order, "quantity", 1, "length_m", 0.5, "weaver", "W2",
                                "woven_at", woven_at));
    if (i % 6 == 5) {
      fofal_kafka_flush(k, 10000);
      usleep(30 * 1000); /* a stream: the decider emits, the reactor commits batch after batch */
    }
    if (i == N / 3 || i == 2 * N / 3) {
      int st = h_stop(rea, SIGKILL);
      cr_expect(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "fofal-reactor was killed (status %d)", st);
      kills++;
      rea = h_start_reactor("it-inventory");
    }
  }
  cr_assert_eq(fofal_kafka_flush(k, 30000), 0);
  fofal_kafka_free(k);
  cr_assert_eq(kills, 2);

  /* Every declaration's label has exactly one unit_received. */
  fofal_map_t *decl = NULL, *units = NULL;
  int ndecl = 0, nunits = 0;
  for (int attempt = 0; attempt < 240; attempt++) {
    fofal_map_free(decl);
    fofal_map_free(units);
    decl = labels_of("fofal.production.events", "fofal.production.output_declared.v1", &ndecl);
    units = labels_of("fofal.inventory.events", "fofal.inventory.unit_received.v1", &nunits);
    if (ndecl >= N && nunits >= N) break;
    usleep(500 * 1000);
  }
  cr_expect_eq(ndecl, N, "every declaration was decided (%d of %d)", ndecl, N);
  cr_expect_eq(nunits, N, "one unit per declaration (%d units for %d declarations)", nunits, N);
  cr_expect_eq(fofal_map_size(units), fofal_map_size(decl), "as many labels in stock as declared");
  json_t *all = h_read_topic("fofal.production.events"), *r;
  size_t i;
  char one[FOFAL_UUID_LEN + 1] = "";
  json_array_foreach(all, i, r) {
    json_t *e = json_object_get(r, "value");
    if (strcmp(s_of(e, "fofaltenant"), tenant) || strcmp(s_of(e, "type"), "fofal.production.output_declared.v1")) continue;
    const char *label = s_of(json_object_get(e, "data"), "label_id");
    snprintf(one, sizeof one, "%s", label);
    cr_expect_eq((intptr_t)fofal_map_get(units, label), 1, "label %s has %ld units", label,
                 (long)(intptr_t)fofal_map_get(units, label));
  }
  json_decref(all);
  fofal_map_free(decl);
  fofal_map_free(units);
  all = h_read_topic(FOFAL_TOPIC_REACTIONS_DLQ);
  int dlq = 0;
  json_array_foreach(all, i, r) dlq += !strcmp(s_of(json_object_get(r, "value"), "tenant"), tenant);
  json_decref(all);
  cr_expect_eq(dlq, 0, "nothing failed");

  /* The live read model equals a rebuild from the log (the projector caught up first). */
  char *out = NULL;
  int st = -1;
  const char *args[] = {"verify", "inventory", NULL};
  for (int attempt = 0; attempt < 60; attempt++) {
    free(out);
    out = NULL;
    st = h_run_cli(300, &out, args);
    if (st == 0) break;
    sleep(1);
  }
  cr_expect_eq(st, 0, "fofal verify inventory: %s", out ? out : "");
  free(out);

  /* `fofal rebuild inventory` swaps in a model rebuilt from the log, equal to the live one,
   * and the labels still scan. */
  const char *rargs[] = {"rebuild", "inventory", NULL};
  out = NULL;
  st = h_run_cli(600, &out, rargs);
  cr_expect_eq(st, 0, "fofal rebuild inventory: %s", out ? out : "");
  free(out);
  out = NULL;
  st = h_run_cli(300, &out, args);
  cr_expect_eq(st, 0, "fofal verify inventory after the rebuild: %s", out ? out : "");
  free(out);
  char path[256];
  json_t *j;
  snprintf(path, sizeof path, "/api/v1/inventory/labels/%s", one);
  cr_expect_eq(get(adm, path, &j), 200, "a label scans after the rebuild: %s", s_of(j, "detail"));
  cr_expect_eq(json_integer_value(json_object_get(j, "prints")), 1);
  json_decref(j);
}
