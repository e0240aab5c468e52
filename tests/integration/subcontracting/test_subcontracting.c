/*
 * test_subcontracting.c — the subcontracting module against the real stack, through the
 * command API and the reads: a roll in stock (inventory's unit, received for an order of
 * the floor) goes out to an embroiderer, comes back partly with rejects (the dispatch stays
 * open, the subcontractor holds the rest), then the rest comes back and the dispatch
 * closes. A lot already out is refused, a wrong role's write is 403, another tenant reads
 * nothing of it, and `fofal verify subcontracting` finds the live projection equal to a
 * rebuild.
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

TestSuite(subcontracting, .init = setup, .fini = teardown, .timeout = 300);

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

/* Sends a command that must be accepted; its answer (new) or NULL. */
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

Test(subcontracting, dispatch_partial_return_with_rejects_then_closure) {
  char *admin = token(tenant, "tester", "admin"), *nadia = token(tenant, "nadia", "storekeeper_st");
  char *cutter = token(tenant, "amel", "cutter");
  char label[FOFAL_UUID_LEN + 1], dsp[FOFAL_UUID_LEN + 1], dsp2[FOFAL_UUID_LEN + 1], shift[32], woven[40], b[1024],
      path[512];
  fofal_uuid7(label);
  fofal_uuid7(dsp);
  fofal_uuid7(dsp2);
  char r1[FOFAL_UUID_LEN + 1];
  fofal_uuid7(r1);

  /* A roll in stock: the floor, an order, the unit received for it (as the reaction does). */
  h_floor_http(port, tenant, "L1", "W1", "ART-1");
  json_t *j = send(admin, "production.order.create", "ord", "{\"article\":\"ART-1\",\"quantity\":500}");
  char order[FOFAL_UUID_LEN + 1];
  snprintf(order, sizeof order, "%s", s_of(j, "aggregate"));
  json_decref(j);
  h_current_shift(shift, woven);
  snprintf(b, sizeof b,
           "{\"label_id\":\"%s\",\"order_id\":\"%s\",\"loom\":\"L1\",\"weaver\":\"W1\",\"shift\":\"%s\",\"quantity\":40,"
           "\"woven_at\":\"%s\"}",
           label, order, shift, woven);
  json_decref(send(admin, "inventory.unit.receive", "unit", b));

  json_decref(send(nadia, "subcontracting.subcontractor.register", "sub",
                   "{\"subcontractor\":\"ST-BRODE\",\"name\":\"Broderie du Cap Bon\",\"operations\":[\"embroidery\"],"
                   "\"site\":\"Nabeul\"}"));
  snprintf(b, sizeof b,
           "{\"dispatch_id\":\"%s\",\"subcontractor\":\"ST-BRODE\",\"operation\":\"embroidery\",\"expected_return\":"
           "\"2020-01-10\",\"lots\":[{\"label_id\":\"%s\",\"quantity_milli\":40000}]}",
           dsp, label);
  refused(cutter, "subcontracting.dispatch.send", "d0", b, 403, "forbidden");
  json_decref(send(nadia, "subcontracting.dispatch.send", "d1", b));
  /* Out already: not in stock for a second dispatch. */
  snprintf(b, sizeof b,
           "{\"dispatch_id\":\"%s\",\"subcontractor\":\"ST-BRODE\",\"operation\":\"embroidery\",\"expected_return\":"
           "\"2020-01-10\",\"lots\":[{\"label_id\":\"%s\",\"quantity_milli\":1000}]}",
           dsp2, label);
  refused(nadia, "subcontracting.dispatch.send", "d2", b, 422, "lot_not_in_stock");

  /* 30 good and 2 rejected back: 8 still out; then more than that is refused. */
  snprintf(b, sizeof b,
           "{\"dispatch_id\":\"%s\",\"return_id\":\"%s\",\"lines\":[{\"label_id\":\"%s\",\"good_milli\":30000,"
           "\"rejected_milli\":2000,\"defects\":[\"fil tiré\"]}]}",
           dsp, r1, label);
  j = send(nadia, "subcontracting.dispatch.return", "ret1", b);
  char pos[160];
  snprintf(pos, sizeof pos, "%s", s_of(j, "position"));
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/subcontracting/dispatches/%s?position=%s", dsp, pos);
  cr_assert_eq(h_get(port, nadia, path, &j, NULL), 200);
  cr_expect_str_eq(s_of(j, "status"), "partly_returned");
  cr_expect(json_is_true(json_object_get(j, "overdue")), "expected back in 2020: overdue");
  const json_t *lot = json_array_get(json_object_get(j, "lots"), 0);
  cr_expect_eq(i_of(lot, "outstanding_milli"), 8000);
  cr_expect_eq(i_of(lot, "rejected_milli"), 2000);
  cr_expect_eq(json_array_size(json_object_get(j, "returns")), 1);
  json_decref(j);
  cr_assert_eq(h_get(port, nadia, "/api/v1/subcontracting/subcontractors", &j, NULL), 200);
  const json_t *sub = json_array_get(json_object_get(j, "items"), 0);
  cr_expect_str_eq(s_of(sub, "subcontractor"), "ST-BRODE");
  cr_expect_eq(i_of(json_object_get(sub, "holds"), "outstanding_milli"), 8000, "what they hold now");
  cr_expect_eq(i_of(sub, "overdue_dispatches"), 1);
  json_decref(j);
  cr_assert_eq(h_get(port, nadia, "/api/v1/subcontracting/dispatches?overdue=true", &j, NULL), 200);
  cr_expect_eq(json_array_size(json_object_get(j, "items")), 1);
  json_decref(j);

  char r2[FOFAL_UUID_LEN + 1];
  fofal_uuid7(r2);
  snprintf(b, sizeof b,
           "{\"dispatch_id\":\"%s\",\"return_id\":\"%s\",\"lines\":[{\"label_id\":\"%s\",\"good_milli\":8001}]}", dsp, r2,
           label);
  refused(nadia, "subcontracting.dispatch.return", "ret2", b, 422, "return_exceeds_sent");
  snprintf(b, sizeof b,
           "{\"dispatch_id\":\"%s\",\"return_id\":\"%s\",\"lines\":[{\"label_id\":\"%s\",\"good_milli\":7000,"
           "\"lost_milli\":1000}]}",
           dsp, r2, label);
  j = send(nadia, "subcontracting.dispatch.return", "ret3", b);
  snprintf(pos, sizeof pos, "%s", s_of(j, "position"));
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/subcontracting/dispatches/%s?position=%s", dsp, pos);
  cr_assert_eq(h_get(port, nadia, path, &j, NULL), 200);
  cr_expect_str_eq(s_of(j, "status"), "closed", "everything sent is accounted for");
  cr_expect(json_is_false(json_object_get(j, "overdue")));
  json_decref(j);

  /* Another tenant reads nothing of it; a cutter reads nothing here. */
  char other[40];
  snprintf(other, sizeof other, "%s-x", tenant);
  char *stranger = token(other, "nadia", "storekeeper_st");
  snprintf(path, sizeof path, "/api/v1/subcontracting/dispatches/%s", dsp);
  cr_expect_eq(h_get(port, stranger, path, &j, NULL), 404);
  json_decref(j);
  cr_expect_eq(h_get(port, cutter, path, &j, NULL), 403);
  json_decref(j);

  char *out = NULL;
  const char *verify[] = {"verify", "subcontracting", NULL};
  int vst = h_run_cli(120, &out, verify);
  cr_expect_eq(vst, 0, "fofal verify subcontracting: %s", out ? out : "");
  free(out);
  free(stranger);
  free(admin);
  free(nadia);
  free(cutter);
}
