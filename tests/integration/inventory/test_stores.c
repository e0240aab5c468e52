/*
 * test_stores.c — the storekeepers against the real stack (decider, projector, reactor,
 * API; Kafka, PostgreSQL, Redis), through the API with the roles of the shop floor:
 *   - the raw-material storekeeper receives a yarn lot (dated earlier, as an offline phone
 *     does), issues most of it to the floor's beam, and is refused more than is left;
 *   - the finished-goods storekeeper moves two declared rolls (received by reaction) to
 *     the finished-goods store, packs them into a carton and the carton onto a pallet;
 *   - a count of the yarn store with a variance: open, counted, closed; the adjustment;
 *     a minimum set above what is left raises its alert;
 *   - the reads: stock now and as of an instant between the receipt and the issue, the
 *     ledger, the lot with its issue to the beam, the pallet's packing list, the count,
 *     the genealogy down from the pallet to the yarn lot and up from the lot to the pallet;
 *     a role that may not read or act gets 403;
 *   - an offline batch sent twice (the answer lost): the second writes nothing;
 *   - `fofal verify inventory` finds the live read model equal to a rebuild, also after
 *     a kill -9 of the projector in the middle of a count.
 * One tenant of its own; lean (well under a minute).
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "harness.h"

static int port;
static pid_t dec, proj, api, rea;
static char tenant[32];
static char *adm, *mp, *pf, *weaver;

static void setup(void) {
  h_tenant(tenant);
  adm = h_token(tenant, "admin");
  mp = h_token(tenant, "storekeeper_mp");
  pf = h_token(tenant, "storekeeper_pf");
  weaver = h_token(tenant, "weaver");
  port = h_free_port();
  /* Run first on a fresh (and loaded) stack, a process may not see the topics just created
   * yet and refuse to start: the decider and the projector are started again while they
   * exit within their first 5 s (a bounded number of times), and the reactor, whose start
   * the harness retries only 3 times, comes once they stay up. */
  dec = h_start_decider("it-stores");
  proj = h_start_projector("it-stores");
  for (int i = 0, st, restarts = 0; i < 50; i++) {
    if (waitpid(dec, &st, WNOHANG) == dec) dec = h_start_decider("it-stores"), i = 0, restarts++;
    if (waitpid(proj, &st, WNOHANG) == proj) proj = h_start_projector("it-stores"), i = 0, restarts++;
    cr_assert_lt(restarts, 40, "the decider or the projector keeps exiting at start (see their logs)");
    usleep(100 * 1000);
  }
  rea = h_start_reactor("it-stores");
  api = h_start_api(port);
}

static void teardown(void) {
  h_stop(api, SIGTERM);
  h_stop(rea, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
  free(adm);
  free(mp);
  free(pf);
  free(weaver);
}

TestSuite(stores, .init = setup, .fini = teardown, .timeout = 300);

static const char *s_of(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)) ?: ""; }
static json_int_t i_of(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static char pos[160]; /* the position of the last accepted command */

/* Sends a command that must be accepted (201); keeps its position. */
static void ok(const char *token, const char *type, const char *key, const char *body) {
  json_t *res = NULL;
  int st = h_command_ok(port, token, type, key, NULL, body, &res);
  cr_assert_eq(st, 201, "%s %s: %d %s %s", type, body, st, s_of(res, "code"), s_of(res, "detail"));
  snprintf(pos, sizeof pos, "%s", s_of(res, "position"));
  json_decref(res);
}

/* Sends a command that must be refused with `status` and `code`. */
static void refused(const char *token, const char *type, const char *key, const char *body, int status, const char *code) {
  json_t *res = NULL;
  int st = h_command_ok(port, token, type, key, NULL, body, &res);
  cr_expect_eq(st, status, "%s %s: %d, want %d", type, body, st, status);
  if (code) cr_expect_str_eq(s_of(res, "code"), code, "%s: %s", type, s_of(res, "detail"));
  json_decref(res);
}

/* GET path (with the last command's position) as token, again while 503 (the projection
 * has not reached the position within the read's bounded wait): 200 and the body (new). */
static json_t *read_ok(const char *token, const char *path) {
  char full[600];
  json_t *j = NULL;
  if (*pos) snprintf(full, sizeof full, "%s%sposition=%s", path, strchr(path, '?') ? "&" : "?", pos);
  else snprintf(full, sizeof full, "%s", path);
  int st = 0;
  for (int attempt = 0; attempt < 60; attempt++) { /* 503: the projection is not there yet (a restart) */
    st = h_get(port, token, full, &j, NULL);
    if (st != 503) break;
    json_decref(j);
    j = NULL;
    sleep(1);
  }
  cr_assert_eq(st, 200, "GET %s: %d %s", full, st, s_of(j, "detail"));
  return j;
}

/* The unit of a declaration is received by reaction: wait (bounded) until its label scans. */
static void wait_unit(const char *label) {
  char path[160];
  snprintf(path, sizeof path, "/api/v1/inventory/labels/%s", label);
  for (int i = 0; i < 60; i++) {
    json_t *j = NULL;
    int st = h_get(port, adm, path, &j, NULL);
    json_decref(j);
    if (st == 200) return;
    sleep(1);
  }
  cr_assert_fail("unit %s never entered stock", label);
}

/* A started order on L1 and two declarations on it: their label ids. */
static void two_rolls(char l1[FOFAL_UUID_LEN + 1], char l2[FOFAL_UUID_LEN + 1]) {
  char b[320], order[FOFAL_UUID_LEN + 1], shift[32], woven_at[40];
  h_floor_http(port, tenant, "L1", "W1", "FT-ST");
  json_t *r = NULL;
  cr_assert_eq(h_command_ok(port, adm, "production.order.create", "st-order", NULL, "{\"article\":\"FT-ST\",\"quantity\":100}",
                            &r),
               201);
  snprintf(order, sizeof order, "%s", s_of(r, "aggregate"));
  json_decref(r);
  snprintf(b, sizeof b, "{\"order_id\":\"%s\"}", order);
  ok(adm, "production.order.release", "st-rel", b);
  snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"loom\":\"L1\"}", order);
  ok(adm, "production.order.start", "st-start", b);
  h_current_shift(shift, woven_at);
  char *labels[] = {l1, l2};
  for (int i = 0; i < 2; i++) {
    char key[32];
    snprintf(key, sizeof key, "st-decl-%d", i);
    snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"quantity\":%d,\"weaver\":\"W1\",\"woven_at\":\"%s\"}", order, 10 + i,
             woven_at);
    r = NULL;
    cr_assert_eq(h_command_ok(port, adm, "production.order.declare_output", key, NULL, b, &r), 201);
    h_declared_label(r, labels[i]);
    json_decref(r);
    wait_unit(labels[i]);
  }
}

/* POSTs an offline batch; the answer's results (new). */
static json_t *batch(const char *token, const char *body) {
  char *h = fofal_asprintf("Authorization: Bearer %s\r\n", token);
  h_resp_t r;
  cr_assert_eq(h_http(port, "POST", "/api/v1/commands", h, body, &r, 30000), 0);
  cr_assert_eq(r.status, 200, "batch answered %d: %s", r.status, r.body);
  json_t *j = json_loads(r.body, 0, NULL), *res = json_incref(json_object_get(j, "results"));
  json_decref(j);
  h_resp_free(&r);
  free(h);
  return res;
}

/* A count of quarantine during which the projector is killed with SIGKILL and started
 * again: the count closes with its adjustments (the verify at the end of the test then
 * compares the live model with a rebuild). */
static void count_through_a_kill_9(void) {
  char b[400], count[FOFAL_UUID_LEN + 1], key[32], path[160];
  ok(adm, "inventory.location.define", "k9-loc", "{\"location\":\"QUAR\",\"kind\":\"quarantine\"}");
  ok(mp, "catalog.item.define", "k9-item", "{\"item\":\"YRN-K9\",\"kind\":\"yarn\",\"name\":\"Cotton\",\"unit\":\"g\"}");
  for (int i = 0; i < 4; i++) {
    snprintf(key, sizeof key, "k9-lot-%d", i);
    snprintf(b, sizeof b,
             "{\"lot\":\"K9-%d\",\"item\":\"YRN-K9\",\"supplier_lot\":\"S-%d\",\"weight_g\":%d,\"location\":\"QUAR\"}", i, i,
             1000 * (i + 1));
    ok(mp, "inventory.lot.receive", key, b);
  }
  fofal_uuid7(count);
  snprintf(b, sizeof b, "{\"count_id\":\"%s\",\"location\":\"QUAR\"}", count);
  ok(mp, "inventory.count.open", "k9-open", b);
  for (int i = 0; i < 3; i++) { /* K9-3 is not counted: missing at the close */
    if (i == 1) cr_expect_eq(WTERMSIG(h_stop(proj, SIGKILL)), SIGKILL, "the projector is killed mid-count");
    snprintf(key, sizeof key, "k9-rec-%d", i);
    snprintf(b, sizeof b, "{\"count_id\":\"%s\",\"holding\":\"K9-%d\",\"quantity\":%d}", count, i, 1000 * (i + 1) - 100 * i);
    ok(mp, "inventory.count.record", key, b);
  }
  proj = h_start_projector("it-stores");
  snprintf(b, sizeof b, "{\"count_id\":\"%s\",\"reason\":\"k9\"}", count);
  ok(mp, "inventory.count.close", "k9-close", b);
  snprintf(path, sizeof path, "/api/v1/inventory/counts/%s", count);
  json_t *j = read_ok(mp, path);
  cr_expect_str_eq(s_of(j, "status"), "closed");
  cr_expect_eq(i_of(j, "adjustments"), 3, "K9-1 and K9-2 short, K9-3 missing");
  json_decref(j);
}

Test(stores, yarn_lot_to_beam_rolls_to_pallet_a_count_with_a_variance_and_an_offline_batch) {
  char l1[FOFAL_UUID_LEN + 1], l2[FOFAL_UUID_LEN + 1], b[600], path[300];
  char carton[FOFAL_UUID_LEN + 1], pallet[FOFAL_UUID_LEN + 1], count[FOFAL_UUID_LEN + 1];
  char received_at[32], between[32];
  int64_t now = fofal_now_us();
  fofal_time_format(now - 2 * 3600 * 1000000LL, received_at); /* an offline phone's receipt, two hours ago */
  fofal_time_format(now - 3600 * 1000000LL, between);
  two_rolls(l1, l2);

  ok(adm, "inventory.location.define", "st-loc-1", "{\"location\":\"MP-A\",\"kind\":\"raw\",\"name\":\"Yarn store\"}");
  ok(adm, "inventory.location.define", "st-loc-2", "{\"location\":\"PF-1\",\"kind\":\"finished\"}");
  ok(mp, "catalog.item.define", "st-item",
     "{\"item\":\"YRN-20\",\"kind\":\"yarn\",\"name\":\"Cotton Ne 20/2\",\"unit\":\"g\",\"yarn_count\":\"Ne 20/2\"}");

  /* Raw material: receive, issue to the floor's beam, refuse more than is left. */
  refused(weaver, "inventory.lot.receive", "st-lot-w",
          "{\"lot\":\"YL-1\",\"item\":\"YRN-20\",\"supplier_lot\":\"S-778\",\"weight_g\":25000,\"location\":\"MP-A\"}", 403,
          NULL);
  snprintf(b, sizeof b,
           "{\"lot\":\"YL-1\",\"item\":\"YRN-20\",\"supplier_lot\":\"S-778\",\"weight_g\":25000,\"cones\":12,\"location\":"
           "\"MP-A\",\"occurred_at\":\"%s\"}",
           received_at);
  ok(mp, "inventory.lot.receive", "st-lot-1", b);
  ok(mp, "inventory.lot.issue", "st-iss-1", "{\"lot\":\"YL-1\",\"weight_g\":20000,\"beam\":\"BM-L1\"}");
  refused(mp, "inventory.lot.issue", "st-iss-2", "{\"lot\":\"YL-1\",\"weight_g\":6000,\"beam\":\"BM-L1\"}", 422,
          "insufficient_stock");
  refused(mp, "inventory.lot.receive", "st-lot-pf",
          "{\"lot\":\"YL-9\",\"item\":\"YRN-20\",\"supplier_lot\":\"S\",\"weight_g\":1,\"location\":\"PF-1\"}", 422,
          "location_kind_mismatch");
  json_t *j = read_ok(mp, "/api/v1/inventory/lots/YL-1");
  cr_expect_eq(i_of(j, "weight_g"), 5000);
  cr_expect_eq(i_of(j, "received_g"), 25000);
  cr_expect_str_eq(s_of(json_object_get(j, "item"), "yarn_count"), "Ne 20/2");
  cr_expect_eq(json_array_size(json_object_get(j, "issues")), 1);
  cr_expect_str_eq(s_of(json_array_get(json_object_get(j, "issues"), 0), "beam"), "BM-L1");
  json_decref(j);

  /* Finished goods: to the store, into a carton, onto a pallet. */
  snprintf(b, sizeof b, "{\"label_id\":\"%s\",\"to\":\"PF-1\"}", l1);
  ok(pf, "inventory.unit.move", "st-mv-1", b);
  snprintf(b, sizeof b, "{\"label_id\":\"%s\",\"to\":\"PF-1\"}", l2);
  ok(pf, "inventory.unit.move", "st-mv-2", b);
  fofal_uuid7(carton);
  fofal_uuid7(pallet);
  snprintf(b, sizeof b, "{\"carton_id\":\"%s\",\"units\":[\"%s\",\"%s\"]}", carton, l1, l2);
  ok(pf, "inventory.carton.pack", "st-pack", b);
  snprintf(b, sizeof b, "{\"pallet_id\":\"%s\",\"sscc\":\"106141411234567890\",\"cartons\":[\"%s\"]}", pallet, carton);
  refused(pf, "inventory.pallet.build", "st-pal-bad", b, 422, "invalid_sscc");
  snprintf(b, sizeof b, "{\"pallet_id\":\"%s\",\"sscc\":\"106141411234567897\",\"cartons\":[\"%s\"]}", pallet, carton);
  ok(pf, "inventory.pallet.build", "st-pal", b);
  snprintf(path, sizeof path, "/api/v1/inventory/containers/%s", pallet);
  j = read_ok(pf, path);
  cr_expect_str_eq(s_of(j, "kind"), "pallet");
  cr_expect_str_eq(s_of(j, "sscc"), "106141411234567897");
  cr_expect_eq(i_of(j, "pieces"), 21);
  const json_t *c0 = json_array_get(json_object_get(j, "cartons"), 0);
  cr_expect_str_eq(s_of(c0, "carton_id"), carton);
  cr_expect_eq(json_array_size(json_object_get(c0, "units")), 2);
  cr_expect_str_eq(s_of(json_array_get(json_object_get(c0, "units"), 0), "loom"), "L1");
  json_decref(j);
  /* Genealogy down from the pallet to the yarn lot, and up from the lot to the pallet. */
  snprintf(path, sizeof path, "/api/v1/inventory/genealogy/%s", pallet);
  j = read_ok(pf, path);
  cr_expect_str_eq(s_of(json_object_get(j, "of"), "kind"), "pallet");
  cr_expect_eq(json_array_size(json_object_get(j, "units")), 2);
  const json_t *u0 = json_array_get(json_object_get(j, "units"), 0);
  const json_t *b0 = json_array_get(json_object_get(u0, "beams"), 0);
  cr_expect_str_eq(s_of(u0, "weaver"), "W1");
  cr_expect_str_eq(s_of(b0, "beam"), "BM-L1", "the roll was woven from the floor's beam");
  cr_expect_str_eq(s_of(json_array_get(json_object_get(b0, "lots"), 0), "supplier_lot"), "S-778",
                   "down to the yarn lot issued to that beam");
  cr_expect_str_eq(json_string_value(json_array_get(json_object_get(b0, "warped_from"), 0)) ?: "", "LOT-T",
                   "and the lots production says it was warped from");
  json_decref(j);
  j = read_ok(mp, "/api/v1/inventory/genealogy/YL-1");
  cr_expect_str_eq(s_of(j, "direction"), "up");
  cr_expect_str_eq(json_string_value(json_array_get(json_object_get(j, "beams"), 0)) ?: "", "BM-L1");
  cr_expect_eq(json_array_size(json_object_get(j, "units")), 2);
  cr_expect_str_eq(s_of(json_array_get(json_object_get(j, "cartons"), 0), "carton_id"), carton);
  cr_expect_str_eq(s_of(json_array_get(json_object_get(j, "pallets"), 0), "sscc"), "106141411234567897");
  cr_expect_str_eq(s_of(json_array_get(json_object_get(j, "pallets"), 0), "location"), "PF-1", "and where it is now");
  json_decref(j);
  cr_expect_eq(h_get(port, mp, "/api/v1/inventory/genealogy/NO-SUCH-LOT", &j, NULL), 404);
  json_decref(j);
  /* The pallet's label: its SSCC as a GS1-128 barcode (ZPL), and its QR code (PNG). */
  char hdr[4300];
  h_resp_t r;
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", pf);
  snprintf(path, sizeof path, "/api/v1/inventory/containers/%s/label.zpl", pallet);
  cr_assert_eq(h_http(port, "GET", path, hdr, NULL, &r, 30000), 0);
  cr_expect_eq(r.status, 200);
  cr_expect(r.body && strstr(r.body, "^BCN,170,Y,N,N,D^FD(00)106141411234567897^FS"), "the SSCC barcode: %s",
            r.body ? r.body : "");
  h_resp_free(&r);
  snprintf(path, sizeof path, "/api/v1/inventory/containers/%s/qr.png", pallet);
  cr_assert_eq(h_http(port, "GET", path, hdr, NULL, &r, 30000), 0);
  cr_expect_eq(r.status, 200);
  cr_expect(r.body_len > 8 && !memcmp(r.body, "\x89PNG", 4), "a PNG");
  h_resp_free(&r);

  j = read_ok(pf, "/api/v1/inventory/stock?location=PF-1");
  cr_expect_eq(json_array_size(json_object_get(j, "holdings")), 2);
  cr_expect_eq(i_of(json_array_get(json_object_get(j, "totals"), 0), "quantity"), 21);
  json_decref(j);

  /* A count of the yarn store: 4,500 g found where the book says 5,000. */
  fofal_uuid7(count);
  snprintf(b, sizeof b, "{\"count_id\":\"%s\",\"location\":\"MP-A\"}", count);
  ok(mp, "inventory.count.open", "st-cnt-open", b);
  snprintf(b, sizeof b, "{\"count_id\":\"%s\",\"holding\":\"YL-1\",\"quantity\":4500}", count);
  ok(mp, "inventory.count.record", "st-cnt-rec", b);
  snprintf(path, sizeof path, "/api/v1/inventory/counts/%s", count);
  j = read_ok(mp, path);
  const json_t *line = json_array_get(json_object_get(j, "lines"), 0);
  cr_expect_str_eq(s_of(j, "status"), "open");
  cr_expect_eq(i_of(line, "book"), 5000);
  cr_expect_eq(i_of(line, "variance"), -500);
  json_decref(j);
  snprintf(b, sizeof b, "{\"count_id\":\"%s\"}", count);
  ok(mp, "inventory.count.close", "st-cnt-close", b);
  refused(mp, "inventory.count.record", "st-cnt-late", "{\"count_id\":\"00000000-0000-7000-8000-000000000000\",\"holding\":"
          "\"YL-1\",\"quantity\":1}", 404, NULL);
  snprintf(b, sizeof b, "{\"count_id\":\"%s\",\"holding\":\"YL-1\",\"quantity\":1}", count);
  refused(mp, "inventory.count.record", "st-cnt-late2", b, 422, "count_closed");
  j = read_ok(mp, path);
  cr_expect_str_eq(s_of(j, "status"), "closed");
  cr_expect_eq(i_of(j, "adjustments"), 1);
  cr_expect_eq(i_of(json_array_get(json_object_get(j, "lines"), 0), "variance"), -500);
  json_decref(j);

  /* Stock now, and as of an hour ago (after the receipt, before the issue). */
  j = read_ok(mp, "/api/v1/inventory/stock?location=MP-A");
  cr_expect_eq(i_of(json_array_get(json_object_get(j, "holdings"), 0), "quantity"), 4500);
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/inventory/stock?holding=YL-1&as_of=%s", between);
  j = read_ok(mp, path);
  cr_expect_eq(i_of(json_array_get(json_object_get(j, "holdings"), 0), "quantity"), 25000, "the stock an hour ago");
  json_decref(j);
  j = read_ok(mp, "/api/v1/inventory/movements?holding=YL-1");
  cr_expect_eq(json_array_size(json_object_get(j, "items")), 3, "received, issued, count");
  json_decref(j);
  /* A minimum above what is there: the alert at once. */
  ok(mp, "inventory.location.set_minimum", "st-min", "{\"location\":\"MP-A\",\"item\":\"YRN-20\",\"minimum\":5000}");
  j = read_ok(mp, "/api/v1/inventory/alerts");
  cr_expect_eq(json_array_size(json_object_get(j, "items")), 1);
  cr_expect_eq(i_of(json_array_get(json_object_get(j, "items"), 0), "on_hand"), 4500);
  cr_expect_eq(i_of(json_array_get(json_object_get(j, "minimums"), 0), "minimum"), 5000);
  json_decref(j);
  cr_expect_eq(h_get(port, weaver, "/api/v1/inventory/stock", &j, NULL), 403);
  json_decref(j);
  cr_expect_eq(h_get(port, mp, "/api/v1/inventory/stock?as_of=yesterday", &j, NULL), 400);
  json_decref(j);

  /* An offline phone's batch, sent again after a lost answer: written once. */
  snprintf(b, sizeof b,
           "{\"commands\":[{\"type\":\"inventory.lot.receive\",\"idempotency_key\":\"off-1\",\"data\":{\"lot\":\"YL-2\","
           "\"item\":\"YRN-20\",\"supplier_lot\":\"S-779\",\"weight_g\":8000,\"location\":\"MP-A\",\"occurred_at\":\"%s\"}},"
           "{\"type\":\"inventory.lot.issue\",\"idempotency_key\":\"off-2\",\"data\":{\"lot\":\"YL-2\",\"weight_g\":3000,"
           "\"beam\":\"BM-L1\"}}]}",
           between);
  for (int round = 0; round < 2; round++) {
    json_t *res = batch(mp, b);
    cr_assert_eq(json_array_size(res), 2);
    for (size_t i = 0; i < 2; i++)
      cr_expect_eq(i_of(json_array_get(res, i), "status"), 201, "round %d item %zu", round, i);
    snprintf(pos, sizeof pos, "%s", s_of(json_object_get(json_array_get(res, 1), "body"), "position"));
    json_decref(res);
  }
  j = read_ok(mp, "/api/v1/inventory/movements?holding=YL-2");
  cr_expect_eq(json_array_size(json_object_get(j, "items")), 2, "one receipt and one issue, not two of each");
  json_decref(j);
  j = read_ok(mp, "/api/v1/inventory/lots/YL-2");
  cr_expect_eq(i_of(j, "weight_g"), 5000);
  json_decref(j);

  count_through_a_kill_9();

  /* The live read model equals a rebuild from the log. */
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
