/*
 * test_costs.c — control's cost, yield and loss reads against the real stack, through the
 * command API and the reads. The facts are sent as an admin answers a DLQ record
 * (control.fact.record, what the reaction control.facts_from_events sends; its mapping of
 * each module's event is unit-tested in tests/unit/control/test_costing.c): a receipt
 * priced two yarn lots, both went onto beam B-1 warped 1,000 m long, a declaration of 100
 * pieces consumed 300 m of it, the weaver and the cutter were paid, the roll was cut into
 * 90 first and 6 second choice. The order's cost is the unit test's worked example
 * (471,000 millimes), the article's over its month the same and over another month
 * nothing; the yields by article and month (and by loom as CSV) and L03's losses in
 * November (its stops classed, its rejects); a wrong role, a bad month and an unknown
 * order are refused. Then machine time, overheads and variances, yields by shift and
 * losses by hall and shift (the second test, worked out above it).
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fofal_api.h"
#include "harness.h"

static int port;
static pid_t dec, proj, api;
static char tenant[32];

static void setup(void) {
  h_tenant(tenant);
  dec = h_start_decider(tenant);
  proj = h_start_projector(tenant);
  port = h_free_port();
  api = h_start_api(port);
  cr_assert_eq(h_wait_ready(port, 60000), 0, "fofal-api ready");
}

static void teardown(void) {
  h_stop(api, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
}

TestSuite(costs, .init = setup, .fini = teardown, .timeout = 300);

static char *token(const char *t, const char *subject, const char *role) {
  char *s = fofal_api_token_issue(h_env("FOFAL_JWT_SECRET"), "fofal", "fofal-api", t, subject, role, 3600);
  cr_assert_not_null(s);
  return s;
}

static const char *s_of(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

static json_int_t i_of(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static char pos[160];

static void fact(const char *tok, const char *key, const char *body) {
  json_t *j = NULL;
  int st = h_command_ok(port, tok, "control.fact.record", key, NULL, body, &j);
  cr_assert_eq(st, 201, "%s: %d %s %s", key, st, s_of(j, "code"), s_of(j, "detail"));
  snprintf(pos, sizeof pos, "%s", s_of(j, "position"));
  json_decref(j);
}

#define ORDER "0190a4b2-0000-7000-8000-00000000000a"
#define LABEL "0190a4b2-0000-7000-8000-00000000000b"
#define LABEL2 "0190a4b2-0000-7000-8000-00000000000c"
#define EV(n) "\"source_event\":\"0190a4b2-0000-7000-8000-0000000000" n "\""

static void mill(const char *adm) {
  fact(adm, "f1",
       "{\"kind\":\"receipt_priced\",\"ref\":\"R1\",\"receipt_id\":\"R1\",\"lines\":[{\"line\":1,\"unit\":\"kg\","
       "\"unit_price\":12500},{\"line\":2,\"unit\":\"kg\",\"unit_price\":13000}]}");
  fact(adm, "f2",
       "{\"kind\":\"receipt_stocked\",\"ref\":\"R1\",\"receipt_id\":\"R1\",\"lots\":[{\"lot\":\"L1\",\"line\":1,"
       "\"weight_g\":60000},{\"lot\":\"L2\",\"line\":2,\"weight_g\":40000}]}");
  fact(adm, "f3", "{\"kind\":\"lot_issued\",\"ref\":\"B-1\",\"lot\":\"L1\",\"beam\":\"B-1\",\"weight_g\":60000," EV("01") "}");
  fact(adm, "f4", "{\"kind\":\"lot_issued\",\"ref\":\"B-1\",\"lot\":\"L2\",\"beam\":\"B-1\",\"weight_g\":40000," EV("02") "}");
  fact(adm, "f5", "{\"kind\":\"beam_warped\",\"ref\":\"B-1\",\"beam\":\"B-1\",\"length_mm\":1000000," EV("03") "}");
  fact(adm, "f6",
       "{\"kind\":\"output_declared\",\"ref\":\"" LABEL "\",\"label_id\":\"" LABEL "\",\"order_id\":\"" ORDER "\","
       "\"article\":\"FT-1\",\"loom\":\"L03\",\"weaver\":\"W01\",\"month\":\"2026-11\",\"quantity\":100,"
       "\"length_mm\":290000,\"beams\":[{\"beam\":\"B-1\",\"meters_mm\":300000}]}");
  fact(adm, "f7",
       "{\"kind\":\"pay_accrued\",\"ref\":\"" ORDER "\",\"order_id\":\"" ORDER "\",\"article\":\"FT-1\",\"badge\":\"W01\","
       "\"role\":\"weaver\",\"month\":\"2026-11\",\"amount_minor\":60000," EV("04") "}");
  fact(adm, "f8",
       "{\"kind\":\"pay_accrued\",\"ref\":\"" ORDER "\",\"order_id\":\"" ORDER "\",\"article\":\"FT-1\",\"badge\":\"C01\","
       "\"role\":\"cutter\",\"month\":\"2026-11\",\"amount_minor\":30000," EV("05") "}");
  fact(adm, "f9",
       "{\"kind\":\"roll_cut\",\"ref\":\"" LABEL "\",\"label_id\":\"" LABEL "\",\"order_id\":\"" ORDER "\","
       "\"article\":\"FT-1\",\"loom\":\"L03\",\"weaver\":\"W01\",\"month\":\"2026-11\",\"first_choice\":90,"
       "\"second_choice\":6,\"waste_pieces\":4,\"waste_mm\":2000,\"waste_g\":800,\"lots\":[{\"grade\":\"1\",\"pieces\":90},"
       "{\"grade\":\"2\",\"pieces\":6}]}");
  /* December, another loom and weaver, no beam known, not cut yet. */
  fact(adm, "f10",
       "{\"kind\":\"output_declared\",\"ref\":\"" LABEL2 "\",\"label_id\":\"" LABEL2 "\",\"order_id\":\"" ORDER "\","
       "\"article\":\"FT-1\",\"loom\":\"L04\",\"weaver\":\"W02\",\"month\":\"2026-12\",\"quantity\":50,"
       "\"length_mm\":145000,\"beams\":[]}");
  /* L03's stops in November: two warp breaks, a breakdown, a long stop of no cause. */
  fact(adm, "s1", "{\"kind\":\"loom_stop\",\"ref\":\"L03\",\"loom\":\"L03\",\"cause\":\"warp_break\",\"stopped_s\":90,"
                  "\"at\":\"2026-11-02T08:00:00Z\",\"month\":\"2026-11\"," EV("11") "}");
  fact(adm, "s2", "{\"kind\":\"loom_stop\",\"ref\":\"L03\",\"loom\":\"L03\",\"cause\":\"warp_break\",\"stopped_s\":60,"
                  "\"at\":\"2026-11-02T09:00:00Z\",\"month\":\"2026-11\"," EV("12") "}");
  fact(adm, "s3", "{\"kind\":\"loom_stop\",\"ref\":\"L03\",\"loom\":\"L03\",\"cause\":\"mechanical\",\"stopped_s\":5400,"
                  "\"after_breakdown\":true,\"at\":\"2026-11-03T10:00:00Z\",\"month\":\"2026-11\"," EV("13") "}");
  fact(adm, "s4", "{\"kind\":\"loom_stop\",\"ref\":\"L03\",\"loom\":\"L03\",\"cause\":\"other\",\"stopped_s\":2700,"
                  "\"at\":\"2026-11-04T06:00:00Z\",\"month\":\"2026-11\"," EV("14") "}");
}

Test(costs, an_order_and_an_article_cost_from_their_facts) {
  char *adm = token(tenant, "root", "admin"), *boss = token(tenant, "boss", "manager"), *planner = token(tenant, "p", "planner");
  char path[512];
  json_t *j = NULL;
  mill(adm);

  snprintf(path, sizeof path, "/api/v1/control/orders/" ORDER "/cost?position=%s", pos);
  cr_assert_eq(h_get(port, boss, path, &j, NULL), 200);
  cr_expect_eq(i_of(json_object_get(j, "yarn"), "cost_minor"), 381000);
  cr_expect_eq(i_of(json_object_get(j, "yarn"), "weight_g"), 30000);
  cr_expect_eq(i_of(json_object_get(j, "labour"), "cost_minor"), 90000);
  cr_expect_eq(i_of(j, "total_minor"), 471000);
  cr_expect_eq(i_of(j, "pieces"), 150);
  cr_expect_eq(i_of(j, "cost_per_piece_minor"), 3140, "471,000 over the 150 pieces declared");
  cr_expect_eq(i_of(json_array_get(json_object_get(j, "by_grade"), 0), "cost_per_piece_minor"), 4906);
  cr_expect(json_is_true(json_object_get(j, "complete")));
  const json_t *lot = json_array_get(json_object_get(json_array_get(json_object_get(json_object_get(j, "yarn"), "beams"), 0), "lots"), 0);
  cr_expect_str_eq(s_of(lot, "lot"), "L1", "a cost leads to its lots");
  cr_expect_eq(i_of(lot, "cost_minor"), 750000);
  json_decref(j);

  cr_assert_eq(h_get(port, boss, "/api/v1/control/articles/FT-1/cost?from=2026-11&to=2026-11", &j, NULL), 200);
  cr_expect_eq(i_of(j, "total_minor"), 471000);
  cr_expect_eq(i_of(j, "pieces"), 100);
  json_decref(j);
  cr_assert_eq(h_get(port, boss, "/api/v1/control/articles/FT-1/cost?from=2026-12", &j, NULL), 200);
  cr_expect_eq(i_of(j, "total_minor"), 0, "December's declaration consumed no known beam, accrued no pay");
  cr_expect_eq(i_of(j, "pieces"), 50);
  json_decref(j);

  cr_expect_eq(h_get(port, boss, "/api/v1/control/articles/FT-1/cost?from=2026-13", &j, NULL), 400);
  cr_expect_str_eq(s_of(j, "code"), "invalid_parameter");
  json_decref(j);
  cr_expect_eq(h_get(port, boss, "/api/v1/control/articles/NO-SUCH-ART/cost", &j, NULL), 404,
               "an article control knows nothing of");
  json_decref(j);
  cr_expect_eq(h_get(port, boss, "/api/v1/control/orders/0190a4b2-0000-7000-8000-0000000000ff/cost", &j, NULL), 404);
  json_decref(j);
  cr_expect_eq(h_get(port, boss, "/api/v1/control/orders/nope/cost", &j, NULL), 404);
  json_decref(j);
  cr_expect_eq(h_get(port, planner, "/api/v1/control/orders/" ORDER "/cost", &j, NULL), 403);
  json_decref(j);
  json_t *refusal = NULL;
  cr_expect_eq(h_command(port, boss, "control.fact.record", "fx", NULL,
                         "{\"kind\":\"beam_warped\",\"ref\":\"B-2\",\"beam\":\"B-2\",\"length_mm\":1}", &refusal),
               403, "facts come from the reaction (or an admin)");
  json_decref(refusal);

  /* Yields: by article and month, by loom as CSV. */
  cr_assert_eq(h_get(port, boss, "/api/v1/control/yields", &j, NULL), 200);
  const json_t *g = json_object_get(j, "groups"), *nov = json_array_get(g, 0), *dec2 = json_array_get(g, 1);
  cr_assert_eq(json_array_size(g), 2, "FT-1 in November and December");
  cr_expect_str_eq(s_of(nov, "month"), "2026-11");
  cr_expect_eq(i_of(nov, "yarn_g"), 30000);
  cr_expect_float_eq(json_real_value(json_object_get(nov, "metres_per_kg")), 9.667, 1e-9);
  cr_expect_float_eq(json_real_value(json_object_get(nov, "first_choice_share")), 0.9, 1e-9);
  cr_expect_float_eq(json_real_value(json_object_get(nov, "waste_share")), 0.04, 1e-9);
  cr_expect(json_is_null(json_object_get(dec2, "first_choice_share")), "December's roll is not cut");
  cr_expect_null(json_object_get(nov, "loom"), "not grouped by loom");
  json_decref(j);
  h_resp_t r = {0};
  char *auth = NULL;
  cr_assert(asprintf(&auth, "Authorization: Bearer %s\r\n", boss) > 0);
  h_http(port, "GET", "/api/v1/control/yields?by=loom&weaver=W01&format=csv", auth, NULL, &r, 30000);
  cr_expect_eq(r.status, 200);
  cr_expect(strstr(r.body, "loom,declarations,pieces,length_mm,yarn_g,metres_per_kg,") == r.body, "%s", r.body);
  cr_expect(strstr(r.body, "\r\nL03,1,100,290000,30000,9.6670,1,90,6,4,2000,800,0.9000,0.0400\r\n") != NULL, "%s", r.body);
  cr_expect(!strstr(r.body, "L04"), "weaver=W01 leaves L04 out");
  h_resp_free(&r);
  /* Losses: L03 in November. */
  cr_assert_eq(h_get(port, boss, "/api/v1/control/losses?loom=L03", &j, NULL), 200);
  const json_t *l3 = json_array_get(json_object_get(j, "looms"), 0);
  cr_assert_eq(json_array_size(json_object_get(j, "looms")), 1, "L03 in November only");
  cr_expect_eq(i_of(json_object_get(l3, "small_stops"), "stops"), 2);
  cr_expect_eq(i_of(json_object_get(l3, "small_stops"), "seconds"), 150);
  cr_expect_eq(i_of(json_object_get(l3, "breakdowns"), "seconds"), 5400);
  cr_expect_eq(i_of(json_object_get(l3, "setup_adjustments"), "seconds"), 2700);
  cr_expect_eq(i_of(json_object_get(l3, "production_rejects"), "pieces"), 10);
  cr_expect(json_is_null(json_object_get(json_object_get(l3, "reduced_speed"), "seconds")), "no tallies of L03");
  json_decref(j);
  h_http(port, "GET", "/api/v1/control/losses?from=2026-11&to=2026-11&format=csv", auth, NULL, &r, 30000);
  cr_expect_eq(r.status, 200);
  cr_expect(strstr(r.body, "loom,month,breakdowns_stops,breakdowns_seconds,") == r.body, "%s", r.body);
  cr_expect(strstr(r.body, "\r\nL03,2026-11,1,5400,1,2700,2,150,,0,0,10,100\r\n") != NULL, "%s", r.body);
  h_resp_free(&r);
  cr_expect_eq(h_get(port, boss, "/api/v1/control/losses?loom=L%203", &j, NULL), 400);
  json_decref(j);
  cr_expect_eq(h_get(port, boss, "/api/v1/control/yields?by=colour", &j, NULL), 400);
  json_decref(j);
  cr_expect_eq(h_get(port, boss, "/api/v1/control/yields?format=pdf", &j, NULL), 400);
  json_decref(j);
  free(auth);
  free(adm);
  free(boss);
  free(planner);
}

/* Startup rejects (README, Management control, Losses): loom LS1 restarted from a stop at
 * 10:00 (the stop's fact is the run that ended it); roll A, declared woven at 10:20, had 2
 * second-choice and 1 waste pieces: startup rejects (20 minutes after, within the default
 * 30); roll B, woven at 13:00, 4 and 1: production rejects. A 15-minute window set by the
 * manager (control.losses.set) makes roll A's production rejects too; a planner may not
 * set it. */
#define LA "0190a4b2-0000-7000-8000-0000000000a1"
#define LB "0190a4b2-0000-7000-8000-0000000000b1"
Test(costs, rejects_soon_after_a_restart_are_startup_rejects) {
  char *adm = token(tenant, "root", "admin"), *boss = token(tenant, "boss", "manager"), *planner = token(tenant, "p", "planner");
  json_t *j = NULL;
  fact(adm, "r1", "{\"kind\":\"loom_stop\",\"ref\":\"LS1\",\"loom\":\"LS1\",\"cause\":\"warp_break\",\"stopped_s\":120,"
                  "\"at\":\"2026-11-05T10:00:00Z\",\"month\":\"2026-11\"," EV("31") "}");
  const char *rolls[][4] = {{LA, "2026-11-05T10:20:00Z", "2", "1"}, {LB, "2026-11-05T13:00:00Z", "4", "1"}};
  for (int i = 0; i < 2; i++) {
    char b[1024], key[16];
    snprintf(b, sizeof b,
             "{\"kind\":\"output_declared\",\"ref\":\"%s\",\"label_id\":\"%s\",\"order_id\":\"" ORDER "\","
             "\"article\":\"FT-S\",\"loom\":\"LS1\",\"month\":\"2026-11\",\"quantity\":40,\"at\":\"%s\",\"beams\":[]}",
             rolls[i][0], rolls[i][0], rolls[i][1]);
    snprintf(key, sizeof key, "d%d", i);
    fact(adm, key, b);
    snprintf(b, sizeof b,
             "{\"kind\":\"roll_cut\",\"ref\":\"%s\",\"label_id\":\"%s\",\"order_id\":\"" ORDER "\",\"loom\":\"LS1\","
             "\"month\":\"2026-11\",\"first_choice\":%d,\"second_choice\":%s,\"waste_pieces\":%s}",
             rolls[i][0], rolls[i][0], 40 - atoi(rolls[i][2]) - atoi(rolls[i][3]), rolls[i][2], rolls[i][3]);
    snprintf(key, sizeof key, "c%d", i);
    fact(adm, key, b);
  }
  char path[256];
  snprintf(path, sizeof path, "/api/v1/control/losses?loom=LS1&position=%s", pos);
  cr_assert_eq(h_get(port, boss, path, &j, NULL), 200);
  const json_t *l = json_array_get(json_object_get(j, "looms"), 0);
  cr_expect_eq(i_of(j, "startup_window_min"), 30, "the default");
  cr_expect_eq(i_of(json_object_get(l, "startup_rejects"), "pieces"), 3, "roll A, woven 20 minutes after the restart");
  cr_expect_eq(i_of(json_object_get(l, "production_rejects"), "pieces"), 5, "roll B, 3 hours after");
  cr_expect_eq(i_of(l, "pieces_cut"), 80);
  json_decref(j);

  j = NULL;
  int st = h_command_ok(port, planner, "control.losses.set", "w0", NULL,
                        "{\"settings\":\"default\",\"startup_window_min\":15}", &j);
  cr_expect_eq(st, 403, "a planner sets no loss settings");
  json_decref(j);
  j = NULL;
  st = h_command_ok(port, boss, "control.losses.set", "w1", NULL, "{\"settings\":\"default\",\"startup_window_min\":0}", &j);
  cr_expect_eq(st, 422, "a window of 0 minutes");
  cr_expect_str_eq(s_of(j, "code"), "invalid_window");
  json_decref(j);
  j = NULL;
  st = h_command_ok(port, boss, "control.losses.set", "w2", NULL, "{\"settings\":\"default\",\"startup_window_min\":15}", &j);
  cr_assert_eq(st, 201, "%d %s %s", st, s_of(j, "code"), s_of(j, "detail"));
  snprintf(pos, sizeof pos, "%s", s_of(j, "position"));
  json_decref(j);
  j = NULL;
  snprintf(path, sizeof path, "/api/v1/control/losses?loom=LS1&position=%s", pos);
  cr_assert_eq(h_get(port, boss, path, &j, NULL), 200);
  l = json_array_get(json_object_get(j, "looms"), 0);
  cr_expect_eq(i_of(j, "startup_window_min"), 15);
  cr_expect_eq(i_of(json_object_get(l, "startup_rejects"), "pieces"), 0, "20 minutes is past a 15-minute window");
  cr_expect_eq(i_of(json_object_get(l, "production_rejects"), "pieces"), 8);
  json_decref(j);
  free(adm);
  free(boss);
  free(planner);
}

/* ------------------------------------------------------------------------------------
 * Machine time, overheads, standard costs; yields by shift, losses by hall and shift.
 * Looms L03 (rapier, hall H1) and L04 (air-jet, H2) are registered; in November the order
 * wove 100 pieces (290 m) on L03 in shift 10/A and 30 pieces (90 m) on L04 in 12/A, another
 * order 50 pieces (145 m) on L03 in 20/B. L03's tallies (fofal-machines') ran 7,200 s in
 * 10/A and 3,600 s in 20/B; L04 has none. Rates: rapier 12,000 an hour from 1 November, L03
 * its own 18,000 from the 15th: L03's month cost 24,000 + 18,000 = 42,000, of which the
 * order's 290 of 435 m bear 28,000 (7,200 s). November's overheads: ENERGY 90,000 by
 * machine hours (the order's 7,200 of 10,800 s: 60,000), GENERAL 360,000 by pieces (130 of
 * 180: 260,000). Total 348,000, incomplete (L04: no telemetry). FT-1's standard per piece
 * (labour 100, machine 200, overhead 2,000) for 130 pieces: 299,000, variance 49,000. */

static void activity(const char *loom, int seq, const char *shift, const char *from, const char *to, double run_s) {
  char err[256], topic[96], id[FOFAL_UUID_LEN + 1];
  json_t *data = json_pack(
      "{s:s,s:s,s:s,s:s,s:f,s:f,s:{s:i,s:i,s:i,s:i,s:i},s:{s:i,s:i,s:i,s:i,s:i},s:i,s:f,s:f,s:i,s:i,s:i,s:s,s:f,s:f}",
      "loom", loom, "shift", shift, "from", from, "to", to, "run_s", run_s, "stop_s", 0.0, "stop_s_by_cause", "warp_break",
      0, "weft_break", 0, "mechanical", 0, "electrical", 0, "other", 0, "stops_by_cause", "warp_break", 0, "weft_break", 0,
      "mechanical", 0, "electrical", 0, "other", 0, "picks", 0, "theoretical_picks", 0.0, "nominal_picks", 0.0, "samples",
      60, "late", 0, "duplicates", 0, "state", "running", "ppm", 0.0, "nominal_ppm", 0.0);
  fofal_uuid7(id);
  fofal_event_t ev = {.id = id, .source = "/fofal/machines", .type = "fofal.machines.loom_activity.v1",
                      .subject = (char *)loom, .time_us = fofal_now_us(), .tenant = tenant, .seq = seq,
                      .actor = "s:fofal-machines", .data = data};
  char *buf = fofal_event_encode(&ev);
  fofal_kafka_t *k = NULL;
  fofal_kafka_opts_t o = {.brokers = h_env("FOFAL_KAFKA_BROKERS"), .client_id = "test-control-telemetry"};
  cr_assert_eq(fofal_kafka_producer_new(&k, &o, err, sizeof err), 0, "%s", err);
  fofal_topic_events("machines", topic, sizeof topic);
  cr_assert_eq(fofal_kafka_produce(k, topic, -1, loom, strlen(loom), buf, strlen(buf), NULL, 0, NULL, NULL, err, sizeof err),
               0, "%s", err);
  cr_assert_eq(fofal_kafka_flush(k, 10000), 0);
  fofal_kafka_free(k);
  free(buf);
  json_decref(data);
}

#define OTHER "0190a4b2-0000-7000-8000-00000000001a"
#define LABEL3 "0190a4b2-0000-7000-8000-00000000001b"
#define LABEL4 "0190a4b2-0000-7000-8000-00000000001c"

static void command(const char *tok, const char *type, const char *key, const char *body) {
  json_t *j = NULL;
  int st = h_command_ok(port, tok, type, key, NULL, body, &j);
  cr_assert_eq(st, 201, "%s %s: %d %s %s", type, key, st, s_of(j, "code"), s_of(j, "detail"));
  snprintf(pos, sizeof pos, "%s", s_of(j, "position"));
  json_decref(j);
}

static const json_t *component(const json_t *cost, const char *name) {
  size_t i;
  const json_t *c;
  json_array_foreach(json_object_get(json_object_get(cost, "standard"), "components"), i, c) {
    if (!strcmp(s_of(c, "component"), name)) return c;
  }
  cr_assert_fail("no %s component", name);
  return NULL;
}

Test(costs, machine_time_overheads_and_variances_and_the_new_dimensions) {
  char *adm = token(tenant, "root", "admin"), *acc = token(tenant, "amal", "accountant"),
       *boss = token(tenant, "boss", "manager"), *planner = token(tenant, "p", "planner");
  char path[512];
  json_t *j = NULL;
  command(adm, "production.loom.register", "l3",
          "{\"loom\":\"L03\",\"hall\":\"H1\",\"type\":\"rapier\",\"nominal_ppm\":600,\"weave\":\"flat\"}");
  command(adm, "production.loom.register", "l4",
          "{\"loom\":\"L04\",\"hall\":\"H2\",\"type\":\"air-jet\",\"nominal_ppm\":800,\"weave\":\"flat\"}");
  fact(adm, "d1",
       "{\"kind\":\"output_declared\",\"ref\":\"" LABEL "\",\"label_id\":\"" LABEL "\",\"order_id\":\"" ORDER "\","
       "\"article\":\"FT-1\",\"loom\":\"L03\",\"weaver\":\"W01\",\"month\":\"2026-11\",\"shift\":\"2026-11-10/A\","
       "\"quantity\":100,\"length_mm\":290000,\"beams\":[]}");
  fact(adm, "d2",
       "{\"kind\":\"output_declared\",\"ref\":\"" LABEL3 "\",\"label_id\":\"" LABEL3 "\",\"order_id\":\"" OTHER "\","
       "\"article\":\"FT-2\",\"loom\":\"L03\",\"weaver\":\"W02\",\"month\":\"2026-11\",\"shift\":\"2026-11-20/B\","
       "\"quantity\":50,\"length_mm\":145000,\"beams\":[]}");
  fact(adm, "d3",
       "{\"kind\":\"output_declared\",\"ref\":\"" LABEL4 "\",\"label_id\":\"" LABEL4 "\",\"order_id\":\"" ORDER "\","
       "\"article\":\"FT-1\",\"loom\":\"L04\",\"weaver\":\"W03\",\"month\":\"2026-11\",\"shift\":\"2026-11-12/A\","
       "\"quantity\":30,\"length_mm\":90000,\"beams\":[]}");
  fact(adm, "c1",
       "{\"kind\":\"roll_cut\",\"ref\":\"" LABEL "\",\"label_id\":\"" LABEL "\",\"order_id\":\"" ORDER "\","
       "\"article\":\"FT-1\",\"loom\":\"L03\",\"month\":\"2026-11\",\"first_choice\":97,\"second_choice\":2,"
       "\"waste_pieces\":1,\"lots\":[{\"grade\":\"1\",\"pieces\":97},{\"grade\":\"2\",\"pieces\":2}]}");
  fact(adm, "st1", "{\"kind\":\"loom_stop\",\"ref\":\"L03\",\"loom\":\"L03\",\"cause\":\"warp_break\",\"stopped_s\":60,"
                   "\"at\":\"2026-11-10T08:00:00Z\",\"month\":\"2026-11\"," EV("21") "}");
  activity("L03", 1, "2026-11-10/A", "2026-11-10T05:00:00Z", "2026-11-10T13:00:00Z", 7200.0);
  activity("L03", 2, "2026-11-20/B", "2026-11-20T13:00:00Z", "2026-11-20T21:00:00Z", 3600.0);

  /* What the tenant sets: who may, and the rules. */
  json_t *refusal = NULL;
  cr_expect_eq(h_command(port, planner, "control.machine_rate.set", "r0", NULL,
                         "{\"code\":\"rapier\",\"rate_minor_per_hour\":12000,\"valid_from\":\"2026-11-01\"}", &refusal),
               403);
  json_decref(refusal);
  refusal = NULL;
  cr_expect_eq(h_command(port, acc, "control.machine_rate.set", "r00", NULL,
                         "{\"code\":\"rapier\",\"rate_minor_per_hour\":0,\"valid_from\":\"2026-11-01\"}", &refusal),
               422);
  cr_expect_str_eq(s_of(refusal, "code"), "invalid_rate");
  json_decref(refusal);
  command(acc, "control.machine_rate.set", "r1", "{\"code\":\"rapier\",\"rate_minor_per_hour\":12000,\"valid_from\":\"2026-11-01\"}");
  command(acc, "control.machine_rate.set", "r2",
          "{\"of\":\"loom\",\"code\":\"L03\",\"rate_minor_per_hour\":18000,\"valid_from\":\"2026-11-15\"}");
  command(acc, "control.machine_rate.set", "r3", "{\"code\":\"air-jet\",\"rate_minor_per_hour\":9000,\"valid_from\":\"2026-11-01\"}");
  command(acc, "control.overhead.set", "o1",
          "{\"month\":\"2026-11\",\"pool\":\"ENERGY\",\"key\":\"machine_hours\",\"amount_minor\":90000}");
  command(acc, "control.overhead.set", "o2", "{\"month\":\"2026-11\",\"key\":\"pieces\",\"amount_minor\":360000}");
  command(acc, "control.standard_cost.set", "s1",
          "{\"article\":\"FT-1\",\"labour_minor\":100,\"machine_minor\":200,\"overhead_minor\":2000}");

  /* The tallies come through fofal.machines.events: wait for both shifts of L03. */
  int seen = 0;
  for (int i = 0; i < 120 && !seen; i++) {
    j = NULL;
    seen = h_get(port, boss, "/api/v1/machines/looms/L03/shifts", &j, NULL) == 200 &&
           json_array_size(json_object_get(j, "items")) == 2;
    json_decref(j);
    if (!seen) usleep(250 * 1000);
  }
  cr_assert(seen, "the machines read model has L03's two shifts");

  snprintf(path, sizeof path, "/api/v1/control/orders/" ORDER "/cost?position=%s", pos);
  cr_assert_eq(h_get(port, boss, path, &j, NULL), 200);
  const json_t *m = json_object_get(j, "machine"), *l3 = json_array_get(json_object_get(m, "looms"), 0),
               *l4 = json_array_get(json_object_get(m, "looms"), 1);
  cr_expect_str_eq(s_of(l3, "loom"), "L03");
  cr_expect_str_eq(s_of(l3, "loom_type"), "rapier", "production's register");
  cr_expect_eq(i_of(l3, "loom_run_s"), 10800);
  cr_expect_eq(i_of(l3, "loom_cost_minor"), 42000, "7,200 s at the rapier rate, 3,600 s at L03's own");
  cr_expect_eq(json_array_size(json_object_get(l3, "rates")), 2, "each rate with its run time");
  cr_expect_eq(i_of(l3, "run_s"), 7200, "290 of L03's 435 m");
  cr_expect_eq(i_of(l3, "cost_minor"), 28000);
  cr_expect_str_eq(s_of(l4, "loom"), "L04");
  cr_expect_str_eq(s_of(l4, "reason"), "no_telemetry", "a loom with no telemetry says so");
  cr_expect(json_is_null(json_object_get(l4, "run_s")));
  cr_expect_eq(i_of(m, "cost_minor"), 28000);
  const json_t *pools = json_object_get(json_array_get(json_object_get(json_object_get(j, "overhead"), "months"), 0), "pools");
  cr_expect_str_eq(s_of(json_array_get(pools, 0), "pool"), "ENERGY");
  cr_expect_eq(i_of(json_array_get(pools, 0), "month_total"), 10800, "November's machine seconds of looms that declared");
  cr_expect_eq(i_of(json_array_get(pools, 0), "cost_minor"), 60000);
  cr_expect_str_eq(s_of(json_array_get(pools, 1), "pool"), "GENERAL");
  cr_expect_eq(i_of(json_array_get(pools, 1), "cost_minor"), 260000, "130 of November's 180 pieces");
  cr_expect_eq(i_of(json_object_get(j, "overhead"), "cost_minor"), 320000);
  cr_expect_eq(i_of(j, "total_minor"), 348000);
  cr_expect_eq(i_of(j, "cost_per_piece_minor"), 2677);
  cr_expect(json_is_false(json_object_get(j, "complete")), "L04's machine time is missing");
  cr_expect_eq(i_of(json_object_get(j, "standard"), "standard_minor"), 299000);
  cr_expect_eq(i_of(component(j, "machine"), "variance_minor"), 2000);
  cr_expect_eq(i_of(component(j, "overhead"), "variance_minor"), 60000);
  cr_expect_eq(i_of(component(j, "labour"), "variance_minor"), -13000);
  cr_expect_eq(i_of(json_object_get(j, "standard"), "variance_minor"), 49000);
  json_decref(j);
  cr_assert_eq(h_get(port, boss, "/api/v1/control/articles/FT-1/cost?from=2026-11&to=2026-11", &j, NULL), 200);
  cr_expect_eq(i_of(j, "total_minor"), 348000, "the article's November is the order's");
  cr_expect_eq(i_of(json_object_get(j, "standard"), "variance_minor"), 49000);
  json_decref(j);
  cr_assert_eq(h_get(port, boss, "/api/v1/control/orders/" OTHER "/cost", &j, NULL), 200);
  cr_expect_eq(i_of(json_object_get(j, "machine"), "cost_minor"), 14000, "the other 145 m of L03's month");
  cr_expect(json_is_null(json_object_get(j, "standard")), "FT-2 has no standard");
  cr_expect(json_is_true(json_object_get(j, "complete")));
  json_decref(j);

  /* What is set, as the tenant set it. */
  cr_assert_eq(h_get(port, boss, "/api/v1/control/costing?from=2026-11", &j, NULL), 200);
  const json_t *rates = json_object_get(j, "machine_rates"), *ovh = json_object_get(j, "overheads");
  cr_expect_eq(json_array_size(rates), 3);
  cr_expect_str_eq(s_of(json_array_get(rates, 0), "of"), "loom", "L03's own rate first");
  cr_expect_eq(i_of(json_array_get(rates, 0), "rate_minor_per_hour"), 18000);
  cr_expect_str_eq(s_of(json_array_get(rates, 0), "set_by"), "u:amal/accountant");
  cr_expect_eq(json_array_size(ovh), 2);
  cr_expect_str_eq(s_of(json_array_get(ovh, 0), "pool"), "ENERGY");
  cr_expect_str_eq(s_of(json_array_get(ovh, 0), "key"), "machine_hours");
  cr_expect_eq(i_of(json_array_get(json_object_get(j, "standard_costs"), 0), "overhead_minor"), 2000);
  json_decref(j);
  cr_assert_eq(h_get(port, boss, "/api/v1/control/costing?to=2026-10", &j, NULL), 200);
  cr_expect_eq(json_array_size(json_object_get(j, "overheads")), 0, "no overhead before November");
  json_decref(j);
  cr_expect_eq(h_get(port, planner, "/api/v1/control/costing", &j, NULL), 403);
  json_decref(j);

  /* Yields by shift; losses by hall and shift. */
  cr_assert_eq(h_get(port, boss, "/api/v1/control/yields?by=shift&article=FT-1", &j, NULL), 200);
  const json_t *g = json_object_get(j, "groups");
  cr_assert_eq(json_array_size(g), 2);
  cr_expect_str_eq(s_of(json_array_get(g, 0), "shift"), "2026-11-10/A");
  cr_expect_eq(i_of(json_array_get(g, 0), "pieces"), 100);
  cr_expect_float_eq(json_real_value(json_object_get(json_array_get(g, 0), "first_choice_share")), 0.97, 1e-9);
  cr_expect_str_eq(s_of(json_array_get(g, 1), "shift"), "2026-11-12/A");
  cr_expect_null(json_object_get(json_array_get(g, 0), "article"), "grouped by shift alone");
  json_decref(j);
  cr_assert_eq(h_get(port, boss, "/api/v1/control/losses?by=hall", &j, NULL), 200);
  const json_t *h1 = json_array_get(json_object_get(j, "looms"), 0);
  cr_assert_eq(json_array_size(json_object_get(j, "looms")), 1, "H1 only: L04 has no stop, tally nor cut");
  cr_expect_str_eq(s_of(h1, "hall"), "H1");
  cr_expect_null(json_object_get(h1, "loom"));
  cr_expect_eq(i_of(h1, "run_s"), 10800);
  cr_expect_eq(i_of(json_object_get(h1, "small_stops"), "stops"), 1);
  cr_expect_eq(i_of(json_object_get(h1, "production_rejects"), "pieces"), 3);
  json_decref(j);
  h_resp_t r = {0};
  char *auth = NULL;
  cr_assert(asprintf(&auth, "Authorization: Bearer %s\r\n", boss) > 0);
  h_http(port, "GET", "/api/v1/control/losses?by=hall,shift&hall=H1&format=csv", auth, NULL, &r, 30000);
  cr_expect_eq(r.status, 200);
  cr_expect(strstr(r.body, "hall,shift,breakdowns_stops,") == r.body, "%s", r.body);
  cr_expect(strstr(r.body, "\r\nH1,2026-11-10/A,0,0,0,0,1,60,,7200,0,3,100\r\n") != NULL, "the stop in the shift whose "
            "tallies cover it: %s", r.body);
  cr_expect(strstr(r.body, "\r\nH1,2026-11-20/B,0,0,0,0,0,0,,3600,0,0,0\r\n") != NULL, "%s", r.body);
  h_resp_free(&r);
  free(auth);
  cr_expect_eq(h_get(port, boss, "/api/v1/control/losses?by=colour", &j, NULL), 400);
  json_decref(j);
  cr_expect_eq(h_get(port, boss, "/api/v1/control/losses?hall=H%201", &j, NULL), 400);
  json_decref(j);
  free(adm);
  free(acc);
  free(boss);
  free(planner);
}

/* ------------------------------------------------------------------------------------
 * Through the log: the same reads fed by the reaction control.facts_from_events from the
 * events of the other modules (fofal-reactor runs). A purchase receipt of 500 kg of yarn
 * at 9,300 millimes/kg becomes a lot (inventory's reaction), 200 kg of it are issued to
 * the floor's beam (100,000 m warped), a weaver declares 4 pieces (hr's reaction accrues
 * 250 a piece): the order's cost is its pay and the warp its declaration consumed at the
 * beam's cost per metre. The roll then goes to an embroiderer at a price and comes back:
 * the order's cost gains the subcontracting line the test computes (good + rejected
 * charged, lost not, rounded half up). */

static pid_t rea;

static void setup_live(void) {
  setup();
  rea = h_start_reactor(tenant);
}

static void teardown_live(void) {
  h_stop(rea, SIGTERM);
  teardown();
}

TestSuite(costs_live, .init = setup_live, .fini = teardown_live, .timeout = 300);

static json_t *ok(const char *tok, const char *type, const char *key, const char *body) {
  json_t *j = NULL;
  int st = h_command_ok(port, tok, type, key, NULL, body, &j);
  cr_assert_eq(st, 201, "%s %s: %d %s %s", type, key, st, s_of(j, "code"), s_of(j, "detail"));
  return j;
}

Test(costs_live, an_order_costs_from_other_modules_events) {
  char *adm = token(tenant, "root", "admin"), *mp = token(tenant, "mp", "storekeeper_mp"),
       *boss = token(tenant, "boss", "manager");
  char *w9 = fofal_api_token_issue_badge(h_env("FOFAL_JWT_SECRET"), "fofal", "fofal-api", tenant, "acct-W9", "weaver",
                                         "W9", 3600);
  char b[1024], path[256], po[FOFAL_UUID_LEN + 1], rc1[FOFAL_UUID_LEN + 1], req[FOFAL_UUID_LEN + 1],
      order[FOFAL_UUID_LEN + 1];
  json_t *j;
  h_floor_http(port, tenant, "L9", "W9", "FT-LIVE");
  json_decref(ok(adm, "hr.piece_rate.set", "rate",
                 "{\"article\":\"FT-LIVE\",\"unit\":\"piece\",\"rate_minor\":250,\"valid_from\":\"2020-01-01\"}"));
  json_decref(ok(adm, "inventory.location.define", "l1", "{\"location\":\"MP-A\",\"kind\":\"raw\"}"));
  json_decref(ok(adm, "inventory.settings.set", "s1", "{\"settings\":\"default\",\"receiving_location\":\"MP-A\"}"));
  json_decref(ok(adm, "catalog.item.define", "it", "{\"item\":\"YARN-L\",\"kind\":\"yarn\",\"name\":\"Ne 20/2\",\"unit\":\"g\"}"));
  json_decref(ok(adm, "purchasing.supplier.register", "sup", "{\"supplier\":\"F-S\",\"name\":\"Sahel\",\"currency\":\"TND\"}"));
  fofal_uuid7(req);
  fofal_uuid7(po);
  fofal_uuid7(rc1);
  snprintf(b, sizeof b,
           "{\"request_id\":\"%s\",\"item\":\"YARN-L\",\"quantity_milli\":500000,\"unit\":\"kg\",\"need_by\":"
           "\"2026-12-20\",\"reason\":\"warping\",\"estimated_unit_price\":9300}",
           req);
  json_decref(ok(mp, "purchasing.request.submit", "r1", b));
  snprintf(b, sizeof b, "{\"request_id\":\"%s\"}", req);
  json_decref(ok(adm, "purchasing.request.approve", "a1", b));
  snprintf(b, sizeof b,
           "{\"order_id\":\"%s\",\"supplier\":\"F-S\",\"lines\":[{\"line\":1,\"item\":\"YARN-L\",\"quantity_milli\":500000,"
           "\"unit\":\"kg\",\"unit_price\":9300,\"expected_date\":\"2026-12-01\"}],\"requests\":[\"%s\"]}",
           po, req);
  json_decref(ok(adm, "purchasing.order.issue", "o1", b));
  snprintf(b, sizeof b,
           "{\"order_id\":\"%s\",\"receipt_id\":\"%s\",\"lines\":[{\"line\":1,\"quantity_milli\":500000,"
           "\"supplier_lot\":\"S-1\"}]}",
           po, rc1);
  json_decref(ok(mp, "purchasing.order.receive", "rc1", b));
  char lot[40], hex[13];
  int n = 0;
  for (const char *p = rc1; *p && n < 12; p++)
    if (*p != '-') hex[n++] = *p;
  hex[n] = '\0';
  snprintf(lot, sizeof lot, "RC-%s-1", hex);
  snprintf(path, sizeof path, "/api/v1/inventory/lots/%s", lot);
  int st = 0;
  for (int i = 0; i < 180 && st != 200; i++) {
    st = h_get(port, mp, path, &j, NULL);
    json_decref(j);
    if (st != 200) usleep(500 * 1000);
  }
  cr_assert_eq(st, 200, "the receipt's lot %s enters stock by reaction", lot);
  snprintf(b, sizeof b, "{\"lot\":\"%s\",\"weight_g\":200000,\"beam\":\"BM-L9\"}", lot);
  json_decref(ok(mp, "inventory.lot.issue", "issue", b));

  j = ok(adm, "production.order.create", "ord", "{\"article\":\"FT-LIVE\",\"quantity\":100}");
  snprintf(order, sizeof order, "%s", s_of(j, "aggregate"));
  json_decref(j);
  snprintf(b, sizeof b, "{\"order_id\":\"%s\"}", order);
  json_decref(ok(adm, "production.order.release", "rel", b));
  snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"loom\":\"L9\"}", order);
  json_decref(ok(adm, "production.order.start", "start", b));
  snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"quantity\":4}", order);
  j = ok(w9, "production.order.declare_output", "decl", b);
  char label[FOFAL_UUID_LEN + 1];
  h_declared_label(j, label);
  json_decref(j);
  cr_assert(fofal_uuid_valid(label), "the declaration's answer shows its label id");

  /* The roll (in stock once inventory's reaction received it) goes out for embroidery at
   * 1,333 millimes a piece; 2.5 pieces come back good, 1 rejected, 0.5 lost: 3,500
   * thousandths charged × 1,333 / 1,000 = 4,665.5 → 4,666 (half up). */
  char dsp[FOFAL_UUID_LEN + 1], ret[FOFAL_UUID_LEN + 1];
  fofal_uuid7(dsp);
  fofal_uuid7(ret);
  json_decref(ok(adm, "subcontracting.subcontractor.register", "sub",
                 "{\"subcontractor\":\"ST-BRODE\",\"name\":\"Broderie\",\"operations\":[\"embroidery\"]}"));
  snprintf(b, sizeof b,
           "{\"dispatch_id\":\"%s\",\"subcontractor\":\"ST-BRODE\",\"operation\":\"embroidery\",\"expected_return\":"
           "\"2026-12-20\",\"unit_price\":1333,\"lots\":[{\"label_id\":\"%s\",\"quantity_milli\":4000}]}",
           dsp, label);
  st = 0;
  for (int i = 0; i < 180 && st != 201; i++) {
    j = NULL;
    st = h_command_ok(port, adm, "subcontracting.dispatch.send", "dsp", NULL, b, &j);
    json_decref(j);
    if (st != 201) usleep(500 * 1000);
  }
  cr_assert_eq(st, 201, "the roll goes out once in stock");
  snprintf(b, sizeof b,
           "{\"dispatch_id\":\"%s\",\"return_id\":\"%s\",\"lines\":[{\"label_id\":\"%s\",\"good_milli\":2500,"
           "\"rejected_milli\":1000,\"lost_milli\":500}]}",
           dsp, ret, label);
  json_decref(ok(adm, "subcontracting.dispatch.return", "ret", b));
  const json_int_t sub_cost = (3500 * 1333 + 500) / 1000;
  snprintf(path, sizeof path, "/api/v1/subcontracting/dispatches/%s", dsp);
  st = 0;
  for (int i = 0; i < 180; i++) {
    j = NULL;
    st = h_get(port, boss, path, &j, NULL);
    if (st == 200 && !strcmp(s_of(j, "status"), "closed")) break;
    json_decref(j);
    j = NULL;
    usleep(500 * 1000);
  }
  cr_assert_not_null(j, "the dispatch closes");
  cr_expect_eq(i_of(j, "unit_price"), 1333);
  cr_expect_eq(i_of(j, "cost_minor"), sub_cost, "the dispatch's cost so far");
  cr_expect_eq(i_of(json_array_get(json_object_get(j, "lots"), 0), "cost_minor"), sub_cost);
  json_decref(j);

  /* The facts come by reaction: poll until the yarn and the pay are there. */
  snprintf(path, sizeof path, "/api/v1/control/orders/%s/cost", order);
  j = NULL;
  for (int i = 0; i < 180; i++) {
    st = h_get(port, boss, path, &j, NULL);
    if (st == 200 && i_of(json_object_get(j, "labour"), "cost_minor") > 0 &&
        i_of(json_object_get(j, "yarn"), "cost_minor") > 0 && i_of(json_object_get(j, "subcontracting"), "cost_minor") > 0)
      break;
    json_decref(j);
    j = NULL;
    usleep(500 * 1000);
  }
  cr_assert_not_null(j, "the order's cost shows its yarn and its pay");
  const json_t *beam = json_array_get(json_object_get(json_object_get(j, "yarn"), "beams"), 0);
  cr_expect_str_eq(s_of(beam, "beam"), "BM-L9");
  cr_expect_eq(i_of(beam, "warped_mm"), 100000000, "the floor's beam: 100,000 m");
  cr_expect_eq(i_of(beam, "beam_cost_minor"), 1860000, "200 kg at 9,300 a kg");
  json_int_t used = i_of(beam, "consumed_mm");
  cr_expect_gt(used, 0);
  cr_expect_eq(i_of(json_object_get(j, "yarn"), "cost_minor"), (1860000 * used + 50000000) / 100000000);
  cr_expect_eq(i_of(json_object_get(j, "labour"), "cost_minor"), 1000, "4 pieces at 250");
  cr_expect_eq(i_of(j, "pieces"), 4);
  const json_t *sub = json_object_get(j, "subcontracting"), *d0 = json_array_get(json_object_get(sub, "dispatches"), 0);
  cr_expect_eq(i_of(sub, "cost_minor"), sub_cost, "the order's subcontracting line: 4,666");
  cr_expect_str_eq(s_of(d0, "dispatch_id"), dsp);
  cr_expect_str_eq(s_of(d0, "operation"), "embroidery");
  cr_expect_eq(i_of(j, "total_minor"),
               i_of(json_object_get(j, "yarn"), "cost_minor") + 1000 + sub_cost, "yarn + labour + subcontracting");
  cr_expect(json_is_true(json_object_get(j, "complete")));
  json_decref(j);
  free(adm);
  free(mp);
  free(boss);
  free(w9);
}
