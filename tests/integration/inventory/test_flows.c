/*
 * test_flows.c — inventory's reactions to other modules against the real stack (decider,
 * reactor, projector, API), one tenant, one chain after the other:
 *   purchase request → approval → order → receipt → the yarn lot in the receiving
 *   location, its label scanned (lots/{code}), the refused kilos not in stock;
 *   roll cut → the roll gone from the finished store, its 1st- and 2nd-choice piece lots
 *   there, a piece lot's genealogy up to its roll; the 2nd-choice lot rejected → in
 *   quarantine, and not packed;
 *   dispatch → partial return with rejects and a lost piece → the rest at the
 *   subcontractor's site, the good pieces home, the rejected in quarantine, and a quality
 *   NC (source subcontracting) naming the lot.
 * What a reaction writes comes after the trigger's answer, so the reads poll (no position
 * of the reaction's events is known to the sender).
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"
#include "harness.h"

static int port;
static pid_t dec, proj, api, rea;
static char tenant[32];

static void setup(void) {
  h_tenant(tenant);
  port = h_free_port();
  dec = h_start_decider("it-flows");
  proj = h_start_projector("it-flows");
  rea = h_start_reactor("it-flows");
  api = h_start_api(port);
  cr_assert_eq(h_wait_ready(port, 60000), 0, "fofal-api ready");
}

static void teardown(void) {
  h_stop(api, SIGTERM);
  h_stop(rea, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
}

TestSuite(flows, .init = setup, .fini = teardown, .timeout = 600);

static const char *s_of(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)) ?: ""; }
static json_int_t i_of(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static json_t *send(const char *tok, const char *type, const char *key, const char *body) {
  json_t *j = NULL;
  int st = h_command_ok(port, tok, type, key, NULL, body, &j);
  cr_assert_eq(st, 201, "%s: %d %s %s", type, st, s_of(j, "code"), s_of(j, "detail"));
  return j;
}

static void refused(const char *tok, const char *type, const char *key, const char *body, int status, const char *code) {
  json_t *j = NULL;
  int st = h_command(port, tok, type, key, NULL, body, &j);
  cr_expect_eq(st, status, "%s: %d %s, want %d %s", type, st, s_of(j, "code"), status, code);
  cr_expect_str_eq(s_of(j, "code"), code, "%s", type);
  json_decref(j);
}

/* What location `loc` holds of `holding` now (stock read; -1: not there). */
static json_int_t held(const char *tok, const char *loc, const char *holding) {
  char path[256];
  json_t *j = NULL;
  snprintf(path, sizeof path, "/api/v1/inventory/stock?location=%s&holding=%s", loc, holding);
  if (h_get(port, tok, path, &j, NULL) != 200) {
    json_decref(j);
    return -1;
  }
  const json_t *h = json_array_get(json_object_get(j, "holdings"), 0);
  json_int_t q = h ? i_of(h, "quantity") : -1;
  json_decref(j);
  return q;
}

/* Polls until `loc` holds `want` of `holding` (a reaction's command is decided and
 * projected after its trigger's answer), at most 60 s; the last value seen. */
static json_int_t wait_held(const char *tok, const char *loc, const char *holding, json_int_t want) {
  json_int_t q = -1;
  for (int i = 0; i < 300 && (q = held(tok, loc, holding)) != want; i++) usleep(200 * 1000);
  return q;
}

Test(flows, receipt_cut_and_subcontracting_move_stock) {
  char *adm = h_token(tenant, "admin"), *mp = h_token(tenant, "storekeeper_mp"), *pf = h_token(tenant, "storekeeper_pf");
  char *cutter = h_token(tenant, "cutter"), *qual = h_token(tenant, "quality"), *st = h_token(tenant, "storekeeper_st");
  char b[1024], path[256];
  json_t *j;

  /* The stores: a yarn store receiving purchases, a finished store, quarantine. */
  json_decref(send(adm, "inventory.location.define", "l1", "{\"location\":\"MP-A\",\"kind\":\"raw\"}"));
  json_decref(send(adm, "inventory.location.define", "l2", "{\"location\":\"PF-1\",\"kind\":\"finished\"}"));
  json_decref(send(adm, "inventory.location.define", "l3", "{\"location\":\"QUAR\",\"kind\":\"quarantine\"}"));
  refused(mp, "inventory.settings.set", "s0", "{\"settings\":\"default\",\"receiving_location\":\"MP-A\"}", 403, "forbidden");
  refused(adm, "inventory.settings.set", "s1", "{\"settings\":\"default\",\"receiving_location\":\"PF-1\"}", 422,
          "location_kind_mismatch");
  json_decref(send(adm, "inventory.settings.set", "s2",
                   "{\"settings\":\"default\",\"receiving_location\":\"MP-A\",\"quarantine_location\":\"QUAR\"}"));

  /* ---- request → approval → order → receipt → yarn lot in stock with its label */
  json_decref(send(adm, "catalog.item.define", "it",
                   "{\"item\":\"YARN-CO-20\",\"kind\":\"yarn\",\"name\":\"Coton Ne 20/2\",\"unit\":\"g\"}"));
  json_decref(send(adm, "purchasing.supplier.register", "sup",
                   "{\"supplier\":\"F-SAHEL\",\"name\":\"Filature du Sahel\",\"currency\":\"TND\"}"));
  char req[FOFAL_UUID_LEN + 1], order[FOFAL_UUID_LEN + 1], rc1[FOFAL_UUID_LEN + 1];
  fofal_uuid7(req);
  fofal_uuid7(order);
  fofal_uuid7(rc1);
  snprintf(b, sizeof b,
           "{\"request_id\":\"%s\",\"item\":\"YARN-CO-20\",\"quantity_milli\":10000,\"unit\":\"kg\",\"need_by\":"
           "\"2026-12-20\",\"reason\":\"warping\",\"estimated_unit_price\":9000}",
           req);
  json_decref(send(mp, "purchasing.request.submit", "r1", b));
  snprintf(b, sizeof b, "{\"request_id\":\"%s\"}", req);
  json_decref(send(adm, "purchasing.request.approve", "a1", b));
  snprintf(b, sizeof b,
           "{\"order_id\":\"%s\",\"supplier\":\"F-SAHEL\",\"lines\":[{\"line\":1,\"item\":\"YARN-CO-20\","
           "\"quantity_milli\":10000,\"unit\":\"kg\",\"unit_price\":8750,\"expected_date\":\"2026-12-01\"}],"
           "\"requests\":[\"%s\"]}",
           order, req);
  json_decref(send(adm, "purchasing.order.issue", "o1", b));
  snprintf(b, sizeof b,
           "{\"order_id\":\"%s\",\"receipt_id\":\"%s\",\"lines\":[{\"line\":1,\"quantity_milli\":3000,"
           "\"refused_milli\":250,\"refusal_reason\":\"wet cones\",\"supplier_lot\":\"S-77\"}]}",
           order, rc1);
  json_decref(send(mp, "purchasing.order.receive", "rc1", b));
  char code[40], hex[13];
  int n = 0;
  for (const char *p = rc1; *p && n < 12; p++)
    if (*p != '-') hex[n++] = *p;
  hex[n] = '\0';
  snprintf(code, sizeof code, "RC-%s-1", hex);
  cr_expect_eq(wait_held(mp, "MP-A", code, 3000), 3000, "3 kg accepted are 3000 g of lot %s in MP-A; 0.25 kg refused not", code);
  snprintf(path, sizeof path, "/api/v1/inventory/lots/%s", code);
  cr_assert_eq(h_get(port, mp, path, &j, NULL), 200, "the lot's label scans");
  cr_expect_str_eq(s_of(j, "supplier_lot"), "S-77");
  cr_expect_str_eq(s_of(j, "purchase_order"), order);
  cr_expect_eq(i_of(j, "received_g"), 3000);
  json_decref(j);

  /* ---- cut → the roll gone, its piece lots in stock; a rejected lot in quarantine */
  h_floor_http(port, tenant, "L1", "W1", "ART-1");
  j = send(adm, "production.order.create", "ord", "{\"article\":\"ART-1\",\"quantity\":500}");
  char po[FOFAL_UUID_LEN + 1], roll[FOFAL_UUID_LEN + 1], roll2[FOFAL_UUID_LEN + 1], shift[32], woven[40];
  snprintf(po, sizeof po, "%s", s_of(j, "aggregate"));
  json_decref(j);
  h_current_shift(shift, woven);
  fofal_uuid7(roll);
  fofal_uuid7(roll2);
  const char *rolls[] = {roll, roll2};
  const int pieces[] = {12, 40};
  for (int i = 0; i < 2; i++) {
    char key[16];
    snprintf(b, sizeof b,
             "{\"label_id\":\"%s\",\"order_id\":\"%s\",\"loom\":\"L1\",\"weaver\":\"W1\",\"shift\":\"%s\",\"quantity\":%d,"
             "\"woven_at\":\"%s\"}",
             rolls[i], po, shift, pieces[i], woven);
    snprintf(key, sizeof key, "u%d", i);
    json_decref(send(adm, "inventory.unit.receive", key, b));
    snprintf(b, sizeof b, "{\"label_id\":\"%s\",\"to\":\"PF-1\"}", rolls[i]);
    snprintf(key, sizeof key, "m%d", i);
    json_decref(send(pf, "inventory.unit.move", key, b));
  }
  snprintf(b, sizeof b,
           "{\"roll\":\"%s\",\"first_choice\":9,\"second_choice\":2,\"waste_pieces\":1,"
           "\"defects\":[{\"cause\":\"oil_stain\",\"pieces\":2},{\"cause\":\"hole\",\"pieces\":1}]}",
           roll);
  j = send(cutter, "quality.roll.cut", "cut", b);
  char lot1[FOFAL_UUID_LEN + 1], lot2[FOFAL_UUID_LEN + 1];
  const json_t *issued = json_object_get(json_array_get(json_object_get(j, "events"), 0), "issued");
  snprintf(lot1, sizeof lot1, "%s", s_of(issued, "first_lot_id"));
  snprintf(lot2, sizeof lot2, "%s", s_of(issued, "second_lot_id"));
  cr_assert(fofal_uuid_valid(lot1) && fofal_uuid_valid(lot2), "the cut's answer gives the lots' label ids");
  json_decref(j);
  cr_expect_eq(wait_held(pf, "PF-1", lot2, 2), 2, "the 2nd choice entered PF-1");
  cr_expect_eq(held(pf, "PF-1", lot1), 9, "the 1st choice too, in the same decision");
  cr_expect_eq(held(pf, "PF-1", roll), -1, "the roll left");
  snprintf(path, sizeof path, "/api/v1/inventory/genealogy/%s", lot1);
  cr_assert_eq(h_get(port, pf, path, &j, NULL), 200);
  const json_t *u = json_array_get(json_object_get(j, "units"), 0);
  cr_expect_str_eq(s_of(u, "from_label"), roll, "the piece lot leads to its roll");
  cr_expect_str_eq(s_of(json_object_get(u, "from"), "label_id"), roll);
  cr_expect_str_eq(s_of(u, "loom"), "L1");
  json_decref(j);
  snprintf(b, sizeof b, "{\"lot\":\"%s\",\"lot_kind\":\"pieces\",\"reason\":\"stains\"}", lot2);
  json_decref(send(qual, "quality.lot.reject", "rej", b));
  cr_expect_eq(wait_held(pf, "QUAR", lot2, 2), 2, "the rejected lot is in quarantine");
  char carton[FOFAL_UUID_LEN + 1];
  fofal_uuid7(carton);
  snprintf(b, sizeof b, "{\"carton_id\":\"%s\",\"units\":[\"%s\"]}", carton, lot2);
  refused(pf, "inventory.carton.pack", "pk", b, 422, "lot_quarantined");

  /* ---- dispatch → partial return with rejects → lots where they should be + NC */
  json_decref(send(st, "subcontracting.subcontractor.register", "sub",
                   "{\"subcontractor\":\"ST-BRODE\",\"name\":\"Broderie du Cap Bon\",\"operations\":[\"embroidery\"]}"));
  char dsp[FOFAL_UUID_LEN + 1], ret[FOFAL_UUID_LEN + 1];
  fofal_uuid7(dsp);
  fofal_uuid7(ret);
  snprintf(b, sizeof b,
           "{\"dispatch_id\":\"%s\",\"subcontractor\":\"ST-BRODE\",\"operation\":\"embroidery\",\"expected_return\":"
           "\"2026-12-30\",\"lots\":[{\"label_id\":\"%s\",\"quantity_milli\":40000}]}",
           dsp, roll2);
  json_decref(send(st, "subcontracting.dispatch.send", "d1", b));
  cr_expect_eq(wait_held(st, "ST-BRODE", roll2, 40), 40, "the roll is at the subcontractor's site");
  snprintf(b, sizeof b,
           "{\"dispatch_id\":\"%s\",\"return_id\":\"%s\",\"lines\":[{\"label_id\":\"%s\",\"good_milli\":30000,"
           "\"rejected_milli\":2000,\"lost_milli\":1000,\"defects\":[\"fil tiré\"]}]}",
           dsp, ret, roll2);
  json_decref(send(st, "subcontracting.dispatch.return", "ret", b));
  char bad[FOFAL_UUID_LEN + 1], good[FOFAL_UUID_LEN + 1], name[80];
  snprintf(name, sizeof name, "rejected/%s", ret);
  fofal_uuid_named(roll2, name, bad);
  snprintf(name, sizeof name, "good/%s", ret);
  fofal_uuid_named(roll2, name, good);
  cr_expect_eq(wait_held(st, "ST-BRODE", roll2, 7), 7, "40 - 30 good - 2 rejected - 1 lost still out");
  cr_expect_eq(held(st, "PF-1", good), 30, "the good pieces are home");
  cr_expect_eq(held(st, "QUAR", bad), 2, "the rejected in quarantine");
  snprintf(path, sizeof path, "/api/v1/inventory/genealogy/%s", good);
  cr_assert_eq(h_get(port, pf, path, &j, NULL), 200);
  cr_expect_str_eq(s_of(json_array_get(json_object_get(j, "units"), 0), "from_label"), roll2,
                   "the genealogy crosses the subcontractor");
  json_decref(j);
  char nc[FOFAL_UUID_LEN + 1];
  fofal_uuid_named(ret, "quality/nc", nc);
  snprintf(path, sizeof path, "/api/v1/quality/ncs/%s", nc);
  int status = 0;
  j = NULL;
  for (int i = 0; i < 300 && (status = h_get(port, qual, path, &j, NULL)) != 200; i++) {
    json_decref(j);
    j = NULL;
    usleep(200 * 1000);
  }
  cr_assert_eq(status, 200, "the rejects opened an NC");
  cr_expect_str_eq(s_of(j, "source"), "subcontracting");
  cr_expect_str_eq(json_string_value(json_array_get(json_object_get(j, "lots"), 0)) ?: "", roll2);
  json_decref(j);

  /* Nothing went to the DLQ for this tenant. */
  json_t *all = h_read_topic(FOFAL_TOPIC_REACTIONS_DLQ);
  size_t i;
  json_t *r;
  int dlq = 0;
  json_array_foreach(all, i, r) dlq += !strcmp(s_of(json_object_get(r, "value"), "tenant"), tenant);
  json_decref(all);
  cr_expect_eq(dlq, 0, "nothing failed");
  free(adm);
  free(mp);
  free(pf);
  free(cutter);
  free(qual);
  free(st);
}
