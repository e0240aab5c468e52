/*
 * test_purchasing.c — the purchasing module against the real stack (decider, projector,
 * API; Kafka, PostgreSQL, Redis), through the command API and the reads: a cutter and a
 * storekeeper ask, a manager approves one alone, a planner's approval waits for a second
 * person's, an order merges both, a storekeeper receives part of it (exact thousandths,
 * refused part, nothing beyond the tolerance), the order is amended, and a request's story
 * shows who asked, who approved, the order and its receipt. A wrong role's write is 403,
 * another tenant reads nothing of it, and `fofal verify purchasing` finds the live
 * projection equal to a rebuild.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

TestSuite(purchasing, .init = setup, .fini = teardown, .timeout = 300);

/* A token of `subject` with `role` in tenant `t` (two people may share a role). */
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

/* Sends a command that must be accepted; its position into pos (may be NULL). */
static void send(const char *tok, const char *type, const char *key, const char *body, char pos[160]) {
  json_t *j = NULL;
  int st = h_command_ok(port, tok, type, key, NULL, body, &j);
  cr_assert_eq(st, 201, "%s: %d %s %s", type, st, s_of(j, "code"), s_of(j, "detail"));
  if (pos) snprintf(pos, 160, "%s", s_of(j, "position"));
  json_decref(j);
}

/* Sends a command that must be refused with `status` and `code`. */
static void refused(const char *tok, const char *type, const char *key, const char *body, int status, const char *code) {
  json_t *j = NULL;
  int st = h_command(port, tok, type, key, NULL, body, &j);
  cr_expect_eq(st, status, "%s: %d %s, want %d %s", type, st, s_of(j, "code"), status, code);
  cr_expect_str_eq(s_of(j, "code"), code, "%s", type);
  json_decref(j);
}

Test(purchasing, request_approval_order_receipt_and_story) {
  char *boss = token(tenant, "boss", "manager"), *pia = token(tenant, "pia", "planner");
  char *amel = token(tenant, "amel", "cutter"), *sami = token(tenant, "sami", "storekeeper_mp");
  char r1[FOFAL_UUID_LEN + 1], r2[FOFAL_UUID_LEN + 1], order[FOFAL_UUID_LEN + 1], rc1[FOFAL_UUID_LEN + 1];
  char rc2[FOFAL_UUID_LEN + 1], b[1024], pos[160], path[512];
  fofal_uuid7(r1);
  fofal_uuid7(r2);
  fofal_uuid7(order);
  fofal_uuid7(rc1);
  fofal_uuid7(rc2);

  send(boss, "purchasing.supplier.register", "sup",
       "{\"supplier\":\"F-SAHEL\",\"name\":\"Filature du Sahel\",\"currency\":\"TND\",\"payment_terms_days\":60}", NULL);
  /* The cutter's station and person come from the token. */
  snprintf(b, sizeof b,
           "{\"request_id\":\"%s\",\"item\":\"YARN-CO-20\",\"quantity_milli\":2500,\"unit\":\"kg\",\"need_by\":"
           "\"2026-12-01\",\"reason\":\"weft cones low\",\"estimated_unit_price\":9000}",
           r1);
  send(amel, "purchasing.request.submit", "r1", b, NULL);
  snprintf(b, sizeof b,
           "{\"request_id\":\"%s\",\"item\":\"YARN-CO-20\",\"quantity_milli\":7500,\"unit\":\"kg\",\"need_by\":"
           "\"2026-12-01\",\"reason\":\"safety stock\",\"estimated_unit_price\":9000}",
           r2);
  send(sami, "purchasing.request.submit", "r2", b, NULL);

  /* A cutter may not approve (403); a manager approves alone; a planner's approval waits for
   * another person's. */
  snprintf(b, sizeof b, "{\"request_id\":\"%s\"}", r1);
  refused(amel, "purchasing.request.approve", "a0", b, 403, "forbidden");
  send(boss, "purchasing.request.approve", "a1", b, NULL);
  snprintf(b, sizeof b, "{\"request_id\":\"%s\"}", r2);
  send(pia, "purchasing.request.approve", "a2", b, pos);
  json_t *j = NULL;
  snprintf(path, sizeof path, "/api/v1/purchasing/requests/%s?position=%s", r2, pos);
  cr_assert_eq(h_get(port, pia, path, &j, NULL), 200);
  cr_expect_str_eq(s_of(j, "status"), "awaiting_second_approval");
  json_decref(j);
  refused(pia, "purchasing.request.approve", "a3", b, 422, "same_approver");
  send(boss, "purchasing.request.approve", "a4", b, NULL);

  /* One order for both; then a receipt of 3.000 kg accepted and 0.250 kg refused, and one
   * beyond the 10 kg ordered refused. */
  snprintf(b, sizeof b,
           "{\"order_id\":\"%s\",\"supplier\":\"F-SAHEL\",\"lines\":[{\"line\":1,\"item\":\"YARN-CO-20\","
           "\"quantity_milli\":10000,\"unit\":\"kg\",\"unit_price\":8750,\"expected_date\":\"2026-12-01\"}],"
           "\"requests\":[\"%s\",\"%s\"]}",
           order, r1, r2);
  send(pia, "purchasing.order.issue", "o1", b, NULL);
  snprintf(b, sizeof b,
           "{\"order_id\":\"%s\",\"receipt_id\":\"%s\",\"delivery_note\":\"BL-881\",\"lines\":[{\"line\":1,"
           "\"quantity_milli\":3000,\"refused_milli\":250,\"refusal_reason\":\"wet cones\",\"supplier_lot\":\"S-77\"}]}",
           order, rc1);
  refused(amel, "purchasing.order.receive", "rc0", b, 403, "forbidden");
  send(sami, "purchasing.order.receive", "rc1", b, NULL);
  snprintf(b, sizeof b,
           "{\"order_id\":\"%s\",\"receipt_id\":\"%s\",\"lines\":[{\"line\":1,\"quantity_milli\":7001}]}", order, rc2);
  refused(sami, "purchasing.order.receive", "rc2", b, 422, "over_tolerance");
  snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"reason\":\"late\"}", order);
  refused(boss, "purchasing.order.cancel", "cx", b, 422, "invalid_transition");
  snprintf(b, sizeof b, "{\"request_id\":\"%s\",\"reason\":\"too late\"}", r1);
  refused(boss, "purchasing.request.reject", "rj", b, 422, "invalid_transition");

  /* Amended to 12 kg: what was received stays with the line. */
  snprintf(b, sizeof b,
           "{\"order_id\":\"%s\",\"lines\":[{\"line\":1,\"item\":\"YARN-CO-20\",\"quantity_milli\":12000,\"unit\":"
           "\"kg\",\"unit_price\":8750,\"expected_date\":\"2026-12-04\"}]}",
           order);
  send(pia, "purchasing.order.amend", "am", b, NULL);

  /* The first request's story: who asked, who approved, which order, which receipt (read
   * after a later command's position: everything before it is projected). */
  send(amel, "purchasing.request.submit", "r3",
       "{\"description\":\"scissors\",\"quantity_milli\":1000,\"unit\":\"piece\",\"need_by\":\"2026-12-02\",\"reason\":"
       "\"blunt\"}",
       pos);
  snprintf(path, sizeof path, "/api/v1/purchasing/requests/%s?position=%s", r1, pos);
  cr_assert_eq(h_get(port, amel, path, &j, NULL), 200);
  cr_expect_str_eq(s_of(j, "status"), "ordered");
  cr_expect_str_eq(s_of(j, "station"), "cutter");
  cr_expect_str_eq(s_of(j, "requested_by"), "u:amel/cutter");
  cr_expect_eq(i_of(j, "quantity_milli"), 2500);
  cr_expect_eq(i_of(j, "amount"), 22500, "2.5 kg x 9.000 TND");
  cr_expect_str_eq(s_of(json_array_get(json_object_get(j, "approvals"), 0), "approved_by"), "u:boss/manager");
  cr_expect_str_eq(s_of(j, "order_id"), order);
  json_t *o = json_object_get(j, "order");
  cr_expect_str_eq(s_of(o, "status"), "partly_received");
  cr_expect_eq(i_of(o, "total"), 105000, "12 kg x 8.750 TND, as amended");
  const json_t *line = json_array_get(json_object_get(o, "lines"), 0);
  cr_expect_eq(i_of(line, "quantity_milli"), 12000);
  cr_expect_eq(i_of(line, "received_milli"), 3000);
  cr_expect_eq(i_of(line, "refused_milli"), 250);
  json_t *rcs = json_object_get(j, "receipts");
  cr_expect_eq(json_array_size(rcs), 1);
  cr_expect_str_eq(s_of(json_array_get(rcs, 0), "received_by"), "u:sami/storekeeper_mp");
  cr_expect_str_eq(s_of(json_array_get(rcs, 0), "delivery_note"), "BL-881");
  json_decref(j);

  /* Orders by supplier and state; open requests per station. */
  cr_assert_eq(h_get(port, boss, "/api/v1/purchasing/orders?supplier=F-SAHEL&status=open", &j, NULL), 200);
  cr_expect_eq(json_array_size(json_object_get(j, "items")), 1);
  json_decref(j);
  cr_assert_eq(h_get(port, boss, "/api/v1/purchasing/requests?status=open&station=cutter", &j, NULL), 200);
  cr_expect_eq(json_array_size(json_object_get(j, "items")), 1, "the scissors; the yarn is ordered");
  json_decref(j);
  cr_assert_eq(h_get(port, boss, "/api/v1/purchasing/orders?late=maybe", &j, NULL), 400);
  json_decref(j);
  char *weaver = token(tenant, "w", "weaver");
  cr_assert_eq(h_get(port, weaver, "/api/v1/purchasing/orders", &j, NULL), 403);
  json_decref(j);
  free(weaver);

  /* Another tenant reads nothing of it. */
  char other[40];
  snprintf(other, sizeof other, "%s-x", tenant);
  char *stranger = token(other, "boss", "manager");
  snprintf(path, sizeof path, "/api/v1/purchasing/requests/%s", r1);
  cr_expect_eq(h_get(port, stranger, path, &j, NULL), 404);
  json_decref(j);
  cr_assert_eq(h_get(port, stranger, "/api/v1/purchasing/orders", &j, NULL), 200);
  cr_expect_eq(json_array_size(json_object_get(j, "items")), 0);
  json_decref(j);

  /* The live projection equals a rebuild. */
  char *out = NULL;
  const char *verify[] = {"verify", "purchasing", NULL};
  int vst = h_run_cli(120, &out, verify);
  cr_expect_eq(vst, 0, "fofal verify purchasing: %s", out ? out : "");
  free(out);
  free(stranger);
  free(boss);
  free(pia);
  free(amel);
  free(sami);
}
