/*
 * test_stores_handling.c — what issue 14 added to the stores, against the real stack (decider,
 * projector, API; Kafka, PostgreSQL, Redis), through the API:
 *   - a yarn lot's label (ZPL with its QR payload FOFAL:Y:<tenant>:<code>, PNG, SVG);
 *   - a pick list for an order: created (its grams reserved), scanned, issued to the
 *     floor's beam; its read and the list; a scan of a lot not on it refused; a second
 *     list cancelled with a reason, its grams free again;
 *   - a pallet moved as a whole: its carton and units follow, the ledger of both
 *     locations; a carton on the pallet does not move alone;
 *   - the scan of any QR: a pallet by its id and by (00)+SSCC, a unit by its label
 *     payload, a lot by its code and its label payload; another tenant's payload is 404;
 *   - stock back at its minimum: one restored alert;
 *   - an item's conversions (1 cone = 1500 g, 17 m a gram): a lot's grams shown in kg,
 *     cones and metres, exactly or marked not exact;
 *   - `fofal verify inventory`: the live read model equals a rebuild.
 * One tenant of its own; no reactor (units are received by the admin's command).
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "harness.h"

static int port;
static pid_t dec, proj, api;
static char tenant[32];
static char *adm, *mp, *pf;

static void setup(void) {
  h_tenant(tenant);
  adm = h_token(tenant, "admin");
  mp = h_token(tenant, "storekeeper_mp");
  pf = h_token(tenant, "storekeeper_pf");
  port = h_free_port();
  dec = h_start_decider("it-handling");
  proj = h_start_projector("it-handling");
  for (int i = 0, st, restarts = 0; i < 50; i++) { /* as test_stores.c: topics just made may not be seen yet */
    if (waitpid(dec, &st, WNOHANG) == dec) dec = h_start_decider("it-handling"), i = 0, restarts++;
    if (waitpid(proj, &st, WNOHANG) == proj) proj = h_start_projector("it-handling"), i = 0, restarts++;
    cr_assert_lt(restarts, 40, "the decider or the projector keeps exiting at start (see their logs)");
    usleep(100 * 1000);
  }
  api = h_start_api(port);
}

static void teardown(void) {
  h_stop(api, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
  free(adm);
  free(mp);
  free(pf);
}

TestSuite(handling, .init = setup, .fini = teardown, .timeout = 300);

static const char *s_of(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)) ?: ""; }
static json_int_t i_of(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static char pos[160];

static void ok(const char *token, const char *type, const char *key, const char *body) {
  json_t *res = NULL;
  int st = h_command_ok(port, token, type, key, NULL, body, &res);
  cr_assert_eq(st, 201, "%s %s: %d %s %s", type, body, st, s_of(res, "code"), s_of(res, "detail"));
  snprintf(pos, sizeof pos, "%s", s_of(res, "position"));
  json_decref(res);
}

static void refused(const char *token, const char *type, const char *key, const char *body, const char *code) {
  json_t *res = NULL;
  int st = h_command_ok(port, token, type, key, NULL, body, &res);
  cr_expect_eq(st, 422, "%s %s: %d", type, body, st);
  cr_expect_str_eq(s_of(res, "code"), code, "%s: %s", type, s_of(res, "detail"));
  json_decref(res);
}

/* GET path at the last command's position: 200 and the body (new). */
static json_t *read_ok(const char *token, const char *path) {
  char full[600];
  json_t *j = NULL;
  snprintf(full, sizeof full, "%s%sposition=%s", path, strchr(path, '?') ? "&" : "?", pos);
  int st = 0;
  for (int attempt = 0; attempt < 60; attempt++) {
    st = h_get(port, token, full, &j, NULL);
    if (st != 503) break;
    json_decref(j);
    j = NULL;
    sleep(1);
  }
  cr_assert_eq(st, 200, "GET %s: %d %s", full, st, s_of(j, "detail"));
  return j;
}

/* GET a label: status, and its body into *body (new, NUL-terminated) with its length. */
static int get_raw(const char *path, char **body, size_t *len) {
  char hdr[4300];
  h_resp_t r;
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", mp);
  cr_assert_eq(h_http(port, "GET", path, hdr, NULL, &r, 30000), 0);
  int st = r.status;
  *len = r.body_len;
  *body = calloc(1, r.body_len + 1);
  if (r.body_len) memcpy(*body, r.body, r.body_len);
  h_resp_free(&r);
  return st;
}

Test(handling, pick_list_pallet_move_any_qr_scan_lot_label_and_restored_alert) {
  char b[700], path[300], order[FOFAL_UUID_LEN + 1], pick[FOFAL_UUID_LEN + 1], u1[FOFAL_UUID_LEN + 1],
      u2[FOFAL_UUID_LEN + 1], carton[FOFAL_UUID_LEN + 1], pallet[FOFAL_UUID_LEN + 1];
  h_floor_http(port, tenant, "L1", "W1", "FT-HD");
  json_t *r = NULL;
  cr_assert_eq(h_command_ok(port, adm, "production.order.create", "hd-order", NULL, "{\"article\":\"FT-HD\",\"quantity\":100}",
                            &r),
               201);
  snprintf(order, sizeof order, "%s", s_of(r, "aggregate"));
  json_decref(r);
  ok(adm, "inventory.location.define", "hd-loc-1", "{\"location\":\"MP-A\",\"kind\":\"raw\"}");
  ok(adm, "inventory.location.define", "hd-loc-2", "{\"location\":\"PF-1\",\"kind\":\"finished\"}");
  ok(adm, "inventory.location.define", "hd-loc-3", "{\"location\":\"PF-2\",\"kind\":\"finished\"}");
  ok(mp, "catalog.item.define", "hd-item", "{\"item\":\"YRN-HD\",\"kind\":\"yarn\",\"name\":\"Cotton ^XZ Ne 20/2\",\"unit\":\"g\"}");
  ok(mp, "catalog.item.set_conversions", "hd-conv",
     "{\"item\":\"YRN-HD\",\"conversions\":[{\"unit\":\"cone\",\"qty\":1,\"base_qty\":1500},{\"unit\":\"m\","
     "\"qty\":17000,\"base_qty\":1000}]}");
  refused(mp, "catalog.item.set_conversions", "hd-conv-kg",
          "{\"item\":\"YRN-HD\",\"conversions\":[{\"unit\":\"kg\",\"qty\":1,\"base_qty\":1000}]}", "fixed_conversion");
  ok(mp, "inventory.lot.receive", "hd-lot-1",
     "{\"lot\":\"YL-1\",\"item\":\"YRN-HD\",\"supplier_lot\":\"S-778\",\"weight_g\":25000,\"cones\":12,\"location\":\"MP-A\"}");

  /* The lot's label: its QR payload, the item's name escaped (no ^XZ of the data). */
  char *body;
  size_t len;
  snprintf(b, sizeof b, "FOFAL:Y:%s:YL-1", tenant);
  json_decref(read_ok(mp, "/api/v1/inventory/lots/YL-1"));
  cr_expect_eq(get_raw("/api/v1/inventory/lots/YL-1/label.zpl", &body, &len), 200);
  cr_expect(strstr(body, b) && strstr(body, "S-778") && strstr(body, "_5eXZ"), "the lot's label: %s", body);
  free(body);
  cr_expect_eq(get_raw("/api/v1/inventory/lots/YL-1/qr.png", &body, &len), 200);
  cr_expect(len > 8 && !memcmp(body, "\x89PNG", 4), "a PNG");
  free(body);
  cr_expect_eq(get_raw("/api/v1/inventory/lots/YL-1/qr.svg", &body, &len), 200);
  cr_expect(strstr(body, "<svg"), "an SVG");
  free(body);
  cr_expect_eq(get_raw("/api/v1/inventory/lots/NO-LOT/label.zpl", &body, &len), 404);
  free(body);

  /* A pick list: 20 kg of YL-1 for the order, scanned, issued to the floor's beam. */
  fofal_uuid7(pick);
  snprintf(b, sizeof b, "{\"pick_id\":\"%s\",\"order_id\":\"%s\",\"lines\":[{\"lot\":\"YL-1\",\"weight_g\":20000}]}", pick,
           order);
  ok(mp, "inventory.pick.create", "hd-pick", b);
  snprintf(b, sizeof b, "{\"pick_id\":\"%s\",\"lot\":\"YL-2\"}", pick);
  refused(mp, "inventory.pick.scan", "hd-scan-bad", b, "not_on_pick_list");
  snprintf(b, sizeof b, "{\"pick_id\":\"%s\",\"lot\":\"YL-1\"}", pick);
  ok(mp, "inventory.pick.scan", "hd-scan", b);
  snprintf(path, sizeof path, "/api/v1/inventory/picks/%s", pick);
  json_t *j = read_ok(mp, path);
  cr_expect_str_eq(s_of(j, "status"), "open");
  cr_expect_eq(i_of(json_array_get(json_object_get(j, "lines"), 0), "picked_g"), 20000);
  cr_expect_eq(i_of(json_array_get(json_object_get(j, "lines"), 0), "reserved_g"), 20000);
  json_decref(j);
  j = read_ok(mp, "/api/v1/inventory/lots/YL-1");
  cr_expect_eq(i_of(j, "reserved_g"), 20000, "the pick list reserved its grams");
  json_decref(j);
  snprintf(b, sizeof b, "{\"pick_id\":\"%s\",\"beam\":\"BM-L1\"}", pick);
  ok(mp, "inventory.pick.issue", "hd-issue", b);
  j = read_ok(mp, path);
  cr_expect_str_eq(s_of(j, "status"), "issued");
  cr_expect_eq(i_of(j, "issued_g"), 20000);
  json_decref(j);
  j = read_ok(mp, "/api/v1/inventory/picks?status=issued");
  cr_expect_eq(json_array_size(json_object_get(j, "items")), 1);
  json_decref(j);
  /* A second list of 4 kg of what is left, cancelled: its grams are free again. */
  char pick2[FOFAL_UUID_LEN + 1];
  fofal_uuid7(pick2);
  snprintf(b, sizeof b, "{\"pick_id\":\"%s\",\"order_id\":\"%s\",\"lines\":[{\"lot\":\"YL-1\",\"weight_g\":4000}]}", pick2,
           order);
  ok(mp, "inventory.pick.create", "hd-pick-2", b);
  snprintf(b, sizeof b, "{\"pick_id\":\"%s\",\"reason\":\" \"}", pick2);
  refused(mp, "inventory.pick.cancel", "hd-cancel-bad", b, "reason_required");
  snprintf(b, sizeof b, "{\"pick_id\":\"%s\",\"reason\":\"warping postponed\"}", pick2);
  ok(mp, "inventory.pick.cancel", "hd-cancel", b);
  j = read_ok(mp, "/api/v1/inventory/picks?status=cancelled");
  cr_assert_eq(json_array_size(json_object_get(j, "items")), 1);
  cr_expect_str_eq(s_of(json_array_get(json_object_get(j, "items"), 0), "cancel_reason"), "warping postponed");
  cr_expect_eq(i_of(json_array_get(json_object_get(j, "items"), 0), "released_g"), 4000);
  json_decref(j);
  j = read_ok(mp, "/api/v1/inventory/lots/YL-1");
  cr_expect_eq(i_of(j, "weight_g"), 5000);
  cr_expect_eq(i_of(j, "reserved_g"), 0);
  cr_expect_str_eq(s_of(json_array_get(json_object_get(j, "issues"), 0), "beam"), "BM-L1");
  const json_t *iu = json_object_get(j, "in_units"); /* 5000 g: cone, kg, m */
  cr_assert_eq(json_array_size(iu), 3, "cone, kg and m");
  cr_expect_str_eq(s_of(json_array_get(iu, 0), "value"), "3.333");
  cr_expect(json_is_false(json_object_get(json_array_get(iu, 0), "exact")), "5000/1500 cones is not exact");
  cr_expect_str_eq(s_of(json_array_get(iu, 1), "value"), "5.000");
  cr_expect(json_is_true(json_object_get(json_array_get(iu, 1), "exact")));
  cr_expect_str_eq(s_of(json_array_get(iu, 2), "unit"), "m");
  cr_expect_str_eq(s_of(json_array_get(iu, 2), "value"), "85000.000");
  json_decref(j);

  /* Two units in a carton on a pallet in PF-1; the pallet moves to PF-2 as a whole. */
  fofal_uuid7(u1);
  fofal_uuid7(u2);
  const char *us[] = {u1, u2};
  for (int i = 0; i < 2; i++) {
    char key[32];
    snprintf(key, sizeof key, "hd-unit-%d", i);
    snprintf(b, sizeof b,
             "{\"label_id\":\"%s\",\"order_id\":\"%s\",\"article\":\"FT-HD\",\"loom\":\"L1\",\"weaver\":\"W1\",\"shift\":"
             "\"2026-12-07/A\",\"quantity\":%d,\"woven_at\":\"2026-12-07T08:00:00Z\"}",
             us[i], order, 10 + i);
    ok(adm, "inventory.unit.receive", key, b);
    snprintf(key, sizeof key, "hd-mv-%d", i);
    snprintf(b, sizeof b, "{\"label_id\":\"%s\",\"to\":\"PF-1\"}", us[i]);
    ok(pf, "inventory.unit.move", key, b);
  }
  fofal_uuid7(carton);
  fofal_uuid7(pallet);
  snprintf(b, sizeof b, "{\"carton_id\":\"%s\",\"units\":[\"%s\",\"%s\"]}", carton, u1, u2);
  ok(pf, "inventory.carton.pack", "hd-pack", b);
  snprintf(b, sizeof b, "{\"pallet_id\":\"%s\",\"sscc\":\"106141411234567897\",\"cartons\":[\"%s\"]}", pallet, carton);
  ok(pf, "inventory.pallet.build", "hd-pal", b);
  snprintf(b, sizeof b, "{\"container_id\":\"%s\",\"to\":\"PF-2\"}", carton);
  refused(pf, "inventory.container.move", "hd-cm-bad", b, "carton_on_pallet");
  snprintf(b, sizeof b, "{\"container_id\":\"%s\",\"to\":\"PF-2\"}", pallet);
  ok(pf, "inventory.container.move", "hd-cm", b);
  snprintf(path, sizeof path, "/api/v1/inventory/containers/%s", pallet);
  j = read_ok(pf, path);
  cr_expect_str_eq(s_of(j, "location"), "PF-2");
  json_decref(j);
  j = read_ok(pf, "/api/v1/inventory/stock?location=PF-2");
  cr_expect_eq(json_array_size(json_object_get(j, "holdings")), 2, "both units are in PF-2 now");
  cr_expect_eq(i_of(json_array_get(json_object_get(j, "totals"), 0), "quantity"), 21);
  json_decref(j);
  j = read_ok(pf, "/api/v1/inventory/stock?location=PF-1");
  cr_expect_eq(json_array_size(json_object_get(j, "holdings")), 0, "and none in PF-1");
  json_decref(j);

  /* Any QR. */
  snprintf(path, sizeof path, "/api/v1/inventory/scan/%s", pallet);
  j = read_ok(pf, path);
  cr_expect_str_eq(s_of(j, "kind"), "pallet");
  cr_expect_str_eq(s_of(j, "location"), "PF-2");
  cr_expect_eq(json_array_size(json_object_get(j, "history")), 6, "each unit: in PF-1, out of PF-1, into PF-2");
  snprintf(b, sizeof b, "/api/v1/inventory/genealogy/%s", pallet);
  cr_expect_str_eq(s_of(json_object_get(j, "links"), "genealogy"), b);
  json_decref(j);
  j = read_ok(pf, "/api/v1/inventory/scan/00106141411234567897");
  cr_expect_str_eq(s_of(j, "id"), pallet, "a pallet by its (00) SSCC");
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/inventory/scan/FOFAL:L:%s:%s", tenant, u1);
  j = read_ok(pf, path);
  cr_expect_str_eq(s_of(j, "kind"), "pieces");
  cr_expect_str_eq(s_of(json_object_get(j, "about"), "carton_id"), carton);
  cr_expect_str_eq(s_of(json_object_get(j, "about"), "pallet_id"), pallet);
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/inventory/scan/FOFAL:Y:%s:YL-1", tenant);
  j = read_ok(mp, path);
  cr_expect_str_eq(s_of(j, "kind"), "lot");
  cr_expect_str_eq(s_of(json_object_get(j, "about"), "supplier_lot"), "S-778");
  cr_expect_eq(json_array_size(json_object_get(j, "history")), 2, "received, issued");
  cr_expect_str_eq(s_of(json_object_get(j, "links"), "self"), "/api/v1/inventory/lots/YL-1");
  json_decref(j);
  cr_expect_eq(h_get(port, mp, "/api/v1/inventory/scan/FOFAL:Y:someone-else:YL-1", &j, NULL), 404);
  json_decref(j);
  cr_expect_eq(h_get(port, mp, "/api/v1/inventory/scan/NO-SUCH-THING", &j, NULL), 404);
  json_decref(j);

  /* Below the minimum, then back above it: one alert each way. */
  ok(mp, "inventory.location.set_minimum", "hd-min", "{\"location\":\"MP-A\",\"item\":\"YRN-HD\",\"minimum\":10000}");
  ok(mp, "inventory.lot.receive", "hd-lot-2",
     "{\"lot\":\"YL-2\",\"item\":\"YRN-HD\",\"supplier_lot\":\"S-779\",\"weight_g\":8000,\"location\":\"MP-A\"}");
  j = read_ok(mp, "/api/v1/inventory/alerts");
  cr_expect_eq(json_array_size(json_object_get(j, "items")), 2);
  cr_expect_str_eq(s_of(json_array_get(json_object_get(j, "items"), 0), "kind"), "restored");
  cr_expect_eq(i_of(json_array_get(json_object_get(j, "items"), 0), "on_hand"), 13000);
  json_decref(j);

  char *out = NULL;
  int st = -1;
  const char *args[] = {"verify", "inventory", NULL};
  for (int attempt = 0; attempt < 30; attempt++) {
    free(out);
    out = NULL;
    st = h_run_cli(120, &out, args);
    if (st == 0) break;
    sleep(1);
  }
  cr_expect_eq(st, 0, "fofal verify inventory: %s", out ? out : "");
  free(out);
}
