/*
 * test_weaving.c — the weaving floor's read side against the real stack (decider,
 * projector, API; Kafka, PostgreSQL, Redis): a small floor is built through the command
 * API (article, loom, beams warped → sized → drawn in → mounted, set-up, first-piece
 * check, a weaver on the current shift of the built-in 3×8 model at UTC+1), an order is
 * started and output declared; then the declaration, the beam's meters left and run-out
 * forecast, the mechanic board (a new intervention request, a beam running out, a
 * first-piece check due), the WebSocket push of the request, the weaver and planner
 * views, tenant isolation, role refusals (403), and `fofal verify production` and `maintenance`
 * (the live model equals a fresh rebuild).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fofal_api.h"
#include "harness.h"

static int port;
static pid_t dec, proj, api;
static char tenant[32], sfx[16];
static char *mgr;   /* manager token: sends the set-up commands */

static void setup(void) {
  h_tenant(tenant);
  snprintf(sfx, sizeof sfx, "%.8s", tenant + 2);
  mgr = h_token(tenant, "manager");
  port = h_free_port();
  dec = h_start_decider("it-weaving");
  proj = h_start_projector("it-weaving");
  api = h_start_api(port);
}

static void teardown(void) {
  h_stop(api, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
  free(mgr);
}

TestSuite(weaving, .init = setup, .fini = teardown, .timeout = 300);

/* A token for the person of `badge`, shaped as a sign-in's: the subject is an account id,
 * the badge a claim of its own (`fofal token --badge`). */
static char *token_for(const char *tnt, const char *badge, const char *role) {
  char subject[80];
  snprintf(subject, sizeof subject, "acct-%s", badge);
  char *t = fofal_api_token_issue_badge(h_env("FOFAL_JWT_SECRET"), "fofal", "fofal-api", tnt, subject, role, badge, 3600);
  cr_assert_not_null(t);
  return t;
}

/* Sends a command that must be accepted; returns its 201 body (new). */
static json_t *cmd(const char *token, const char *type, const char *body) {
  char key[96];
  char id[FOFAL_UUID_LEN + 1];
  fofal_uuid7(id);
  snprintf(key, sizeof key, "w-%s", id);
  json_t *res = NULL;
  int st = h_command_ok(port, token, type, key, NULL, body, &res);
  cr_assert_eq(st, 201, "%s %s: status %d (%s)", type, body, st,
                json_string_value(json_object_get(res, "detail")) ?: "");
  return res;
}

/* The position of a 201 body (copied into out). */
static void pos_of(json_t *res, char out[160]) {
  snprintf(out, 160, "%s", json_string_value(json_object_get(res, "position")) ?: "");
  cr_assert(out[0], "a 201 carries a position");
}

static void send(const char *token, const char *type, const char *body, char pos[160]) {
  json_t *r = cmd(token, type, body);
  if (pos) pos_of(r, pos);
  json_decref(r);
}

/* GET with a token (harness.c's h_get on this file's server). */
static int get(const char *token, const char *path, json_t **body) { return h_get(port, token, path, body, NULL); }

static double num(json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }
static const char *s_of(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)) ?: ""; }

/* The shift of the built-in model (A 06:00, B 14:00, C 22:00, 8 h, UTC+1) at `t`. */
static void shift_at(time_t t, char out[24]) {
  time_t local = t + 3600;
  struct tm tm;
  gmtime_r(&local, &tm);
  int m = tm.tm_hour * 60 + tm.tm_min;
  const char *code = m >= 360 && m < 840 ? "A" : m >= 840 && m < 1320 ? "B" : "C";
  if (m < 360) {
    local -= 86400;
    gmtime_r(&local, &tm);
  }
  snprintf(out, 24, "%04d-%02d-%02d/%s", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, code);
}

typedef struct {
  char article[40], loom[40], ground[40], spare[40], weaver[40], mechanic[40];
  char order[FOFAL_UUID_LEN + 1], label[FOFAL_UUID_LEN + 1], shift[32], next_shift[24];
  char pos[160];
  char *wtok; /* the weaver's token (badge claim = their badge) */
} floor_t;

/* Article FT-<sfx>: 50 cm pieces, 20 picks/cm; loom L-<sfx> at 600 ppm → 15.3 m/h at the
 * measured efficiency of 0.85 (measured(), below: telemetry, never a default);
 * ground beam B-<sfx> of 100 m at 8 % take-up; weaver W-<sfx> on the current and next
 * shifts (assigning near the boundary still finds the current one open); an order of 40
 * pieces started on the loom, and one declaration of 4 pieces (2 m) woven in the current
 * shift. */
static void measured(const floor_t *f);

static void build_floor(floor_t *f) {
  char b[1024];
  snprintf(f->article, sizeof f->article, "FT-%s", sfx);
  snprintf(f->loom, sizeof f->loom, "L-%s", sfx);
  snprintf(f->ground, sizeof f->ground, "B-%s", sfx);
  snprintf(f->spare, sizeof f->spare, "B2-%s", sfx);
  snprintf(f->weaver, sizeof f->weaver, "W-%s", sfx);
  snprintf(f->mechanic, sizeof f->mechanic, "M-%s", sfx);
  snprintf(b, sizeof b,
           "{\"article\":\"%s\",\"name\":\"Fouta nid d'abeille\",\"weave\":\"flat\",\"width_cm\":100,\"length_cm\":50,"
           "\"gsm\":280,\"picks_per_cm\":20}",
           f->article);
  send(mgr, "catalog.article.define", b, NULL);
  snprintf(b, sizeof b, "{\"loom\":\"%s\",\"hall\":\"H1\",\"type\":\"rapier\",\"nominal_ppm\":600,\"weave\":\"flat\"}", f->loom);
  send(mgr, "production.loom.register", b, NULL);
  const char *beams[] = {f->ground, f->spare};
  for (int i = 0; i < 2; i++) {
    snprintf(b, sizeof b,
             "{\"beam\":\"%s\",\"kind\":\"ground\",\"article\":\"%s\",\"yarn_lots\":[\"LOT-1\"],\"ends\":4000,"
             "\"length_m\":100,\"take_up_pct\":8}",
             beams[i], f->article);
    send(mgr, "production.beam.warp", b, NULL);
    snprintf(b, sizeof b, "{\"beam\":\"%s\",\"recipe\":\"PVA-1\"}", beams[i]);
    send(mgr, "production.beam.size", b, NULL);
    snprintf(b, sizeof b, "{\"beam\":\"%s\",\"method\":\"drawn_in\"}", beams[i]);
    send(mgr, "production.beam.draw_in", b, NULL);
  }
  snprintf(b, sizeof b, "{\"loom\":\"%s\",\"beam\":\"%s\",\"position\":\"ground\"}", f->loom, f->ground);
  send(mgr, "production.loom.mount_beam", b, NULL);
  snprintf(b, sizeof b, "{\"loom\":\"%s\",\"article\":\"%s\"}", f->loom, f->article);
  send(mgr, "production.loom.set_up", b, NULL);
  snprintf(b, sizeof b, "{\"badge\":\"%s\",\"name\":\"Amel\",\"job\":\"weaver\"}", f->weaver);
  send(mgr, "hr.employee.register", b, NULL);
  snprintf(b, sizeof b, "{\"badge\":\"%s\",\"name\":\"Karim\",\"job\":\"mechanic\"}", f->mechanic);
  send(mgr, "hr.employee.register", b, NULL);
  snprintf(b, sizeof b, "{\"loom\":\"%s\",\"result\":\"pass\",\"inspector\":\"%s\"}", f->loom, f->mechanic);
  send(mgr, "production.loom.check_first_piece", b, NULL);
  time_t now = time(NULL);
  char woven_at[40];
  h_current_shift(f->shift, woven_at);
  /* The next shift starts where this one ends (at most 8 h on). */
  for (time_t t = now; t < now + 9 * 3600; t += 600) {
    shift_at(t, f->next_shift);
    if (strcmp(f->next_shift, f->shift)) break;
  }
  snprintf(b, sizeof b, "{\"badge\":\"%s\",\"shift\":\"%s\",\"looms\":[\"%s\"]}", f->weaver, f->shift, f->loom);
  send(mgr, "hr.employee.assign_shift", b, NULL);
  snprintf(b, sizeof b, "{\"badge\":\"%s\",\"shift\":\"%s\",\"looms\":[\"%s\"]}", f->weaver, f->next_shift, f->loom);
  char hr_pos[160];
  send(mgr, "hr.employee.assign_shift", b, hr_pos);
  /* The people are the hr module's, projected by its own projection: production's
   * positions do not say that it has them, so wait for hr's before the reads that join
   * them (the weaver view, a label's weaver). */
  char path[256];
  json_t *j = NULL;
  snprintf(path, sizeof path, "/api/v1/hr/employees/%s?position=%s", f->weaver, hr_pos);
  cr_assert_eq(get(mgr, path, &j), 200, "the weaver in hr: %s", s_of(j, "detail"));
  cr_assert_eq(json_array_size(json_object_get(j, "shifts")), 2, "the weaver's two shifts");
  json_decref(j);
  fofal_uuid7(f->order);
  snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"article\":\"%s\",\"quantity\":40,\"due_date\":\"2020-01-31\"}", f->order,
           f->article);
  send(mgr, "production.order.create", b, NULL);
  snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"loom\":\"%s\"}", f->order, f->loom);
  send(mgr, "production.order.plan", b, NULL);
  snprintf(b, sizeof b, "{\"order_id\":\"%s\"}", f->order);
  send(mgr, "production.order.release", b, NULL);
  snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"loom\":\"%s\"}", f->order, f->loom);
  send(mgr, "production.order.start", b, NULL);
  f->wtok = token_for(tenant, f->weaver, "weaver");
  snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"quantity\":4,\"length_m\":2,\"weaver\":\"%s\",\"woven_at\":\"%s\"}",
           f->order, f->weaver, woven_at);
  json_t *r = cmd(f->wtok, "production.order.declare_output", b);
  pos_of(r, f->pos);
  h_declared_label(r, f->label);
  json_decref(r);
  cr_assert(fofal_uuid_valid(f->label), "the declaration assigned a label id");
  measured(f);
}

/* The loom's telemetry, as fofal-machines tallies it: an hour of the current shift running
 * at 85 % of its 600 ppm (30,600 picks of 36,000 nominal ones), written to
 * fofal.machines.events; returns once the machines read model has it. The floor's figures
 * (m/h, run-out, target) are at the loom's measured efficiency: 0.85 here. */
static void measured(const floor_t *f) {
  char err[256], from[32], to[32], topic[96];
  int64_t now = fofal_now_us();
  fofal_time_format(now - 3600LL * 1000000, from);
  fofal_time_format(now, to);
  json_t *data = json_pack(
      "{s:s,s:s,s:s,s:s,s:f,s:f,s:{s:i,s:i,s:i,s:i,s:i},s:{s:i,s:i,s:i,s:i,s:i},s:i,s:f,s:f,s:i,s:i,s:i,s:s,s:f,s:f}",
      "loom", f->loom, "shift", f->shift, "from", from, "to", to, "run_s", 3600.0, "stop_s", 0.0, "stop_s_by_cause",
      "warp_break", 0, "weft_break", 0, "mechanical", 0, "electrical", 0, "other", 0, "stops_by_cause", "warp_break", 0,
      "weft_break", 0, "mechanical", 0, "electrical", 0, "other", 0, "picks", 30600, "theoretical_picks", 36000.0,
      "nominal_picks", 36000.0, "samples", 60, "late", 0, "duplicates", 0, "state", "running", "ppm", 510.0,
      "nominal_ppm", 600.0);
  char id[FOFAL_UUID_LEN + 1];
  fofal_uuid7(id);
  fofal_event_t ev = {.id = id, .source = "/fofal/machines", .type = "fofal.machines.loom_activity.v1",
                      .subject = (char *)f->loom, .time_us = now, .tenant = tenant, .seq = 1, .actor = "s:fofal-machines",
                      .data = data};
  char *buf = fofal_event_encode(&ev);
  fofal_kafka_t *k = NULL;
  fofal_kafka_opts_t o = {.brokers = h_env("FOFAL_KAFKA_BROKERS"), .client_id = "test-weaving-telemetry"};
  cr_assert_eq(fofal_kafka_producer_new(&k, &o, err, sizeof err), 0, "%s", err);
  fofal_topic_events("machines", topic, sizeof topic);
  cr_assert_eq(fofal_kafka_produce(k, topic, -1, f->loom, strlen(f->loom), buf, strlen(buf), NULL, 0, NULL, NULL, err,
                                   sizeof err),
               0, "%s", err);
  cr_assert_eq(fofal_kafka_flush(k, 10000), 0);
  fofal_kafka_free(k);
  free(buf);
  json_decref(data);
  char path[256];
  snprintf(path, sizeof path, "/api/v1/machines/looms/%s/shifts", f->loom);
  int seen = 0;
  for (int attempt = 0; attempt < 120 && !seen; attempt++) {
    json_t *j = NULL;
    seen = get(mgr, path, &j) == 200 && json_array_size(json_object_get(j, "items")) > 0;
    json_decref(j);
    if (!seen) usleep(250 * 1000);
  }
  cr_assert(seen, "the machines read model never had %s's tally", f->loom);
}

static void free_floor(floor_t *f) { free(f->wtok); }

/* The floor's story, read back through HTTP. */
Test(weaving, floor_reads_views_push_and_verify) {
  floor_t f;
  char path[512], b[512];
  json_t *j;
  build_floor(&f);

  /* The declaration, read your writes (its label, scanned, is the inventory module's:
   * tests/integration/inventory/test_labels.c). */
  snprintf(path, sizeof path, "/api/v1/production/orders/%s/declarations?position=%s", f.order, f.pos);
  cr_assert_eq(get(f.wtok, path, &j), 200, "the declaration is listed");
  json_t *d0 = json_array_get(json_object_get(j, "items"), 0);
  cr_expect_str_eq(s_of(d0, "label_id"), f.label);
  const char *label_shift = s_of(d0, "shift");
  cr_expect(!strcmp(label_shift, f.shift) || !strcmp(label_shift, f.next_shift), "the declaration's shift %s is the weaver's",
            label_shift);
  char shift_now[24];
  snprintf(shift_now, sizeof shift_now, "%s", label_shift);
  json_decref(j);

  /* The beam: 100 − 2 × 1.08 = 97.84 m left; 15.3 m/h × 1.08 = 16.524 m/h of warp; 97.84 ÷
   * 16.524 = 5.921 h to run out. */
  snprintf(path, sizeof path, "/api/v1/production/beams/%s", f.ground);
  cr_assert_eq(get(mgr, path, &j), 200);
  cr_expect_str_eq(s_of(j, "status"), "mounted");
  cr_expect_str_eq(s_of(j, "loom"), f.loom);
  cr_expect(fabs(num(j, "meters_left") - 97.84) < 1e-6, "meters_left %.3f", num(j, "meters_left"));
  cr_expect(fabs(num(j, "consumed_m") - 2.16) < 1e-6, "consumed_m %.3f", num(j, "consumed_m"));
  cr_expect(fabs(num(j, "warp_m_per_h") - 16.524) < 1e-3, "warp_m_per_h %.4f", num(j, "warp_m_per_h"));
  cr_expect(fabs(num(j, "hours_to_runout") - 5.921) < 2e-3, "hours_to_runout %.4f", num(j, "hours_to_runout"));
  cr_expect(json_is_string(json_object_get(j, "runout_at")));
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/production/beams?status=ready&loom=");
  cr_assert_eq(get(mgr, "/api/v1/production/beams?status=ready", &j), 200);
  int spare_listed = 0;
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(j, "items"), i, e) spare_listed |= !strcmp(s_of(e, "beam"), f.spare);
  cr_expect(spare_listed, "the ready spare beam is listed by status");
  json_decref(j);

  /* The loom: set up, first piece passed, its beam and order. */
  snprintf(path, sizeof path, "/api/v1/production/looms/%s", f.loom);
  cr_assert_eq(get(mgr, path, &j), 200);
  cr_expect_str_eq(s_of(j, "article"), f.article);
  cr_expect_str_eq(s_of(j, "first_piece"), "passed");
  cr_expect_str_eq(s_of(json_object_get(j, "beams"), "ground"), f.ground);
  cr_expect_str_eq(s_of(j, "current_order"), f.order);
  cr_expect(fabs(num(j, "production_m_per_h") - 15.3) < 1e-6, "production_m_per_h %.3f", num(j, "production_m_per_h"));
  cr_expect_eq(json_array_size(json_object_get(j, "mounted_beams")), 1);
  json_decref(j);

  /* The weaver's view: their loom, the order, output vs target (8 h × 15.3 m/h ÷ 0.5 m = 244.8). */
  cr_assert_eq(get(f.wtok, "/api/v1/production/views/weaver", &j), 200);
  cr_expect_str_eq(s_of(j, "badge"), f.weaver);
  if (!strcmp(s_of(json_object_get(j, "shift"), "shift"), shift_now)) {
    cr_expect_eq(json_integer_value(json_object_get(j, "output")), 4, "my output this shift");
    cr_expect(fabs(num(j, "target") - 244.8) < 0.05, "target %.2f", num(j, "target"));
    json_t *l0 = json_array_get(json_object_get(j, "looms"), 0);
    cr_expect_str_eq(s_of(l0, "loom"), f.loom);
    cr_expect_str_eq(s_of(json_object_get(l0, "order"), "order_id"), f.order);
    cr_expect(fabs(num(j, "efficiency") - 0.85) < 1e-9, "efficiency this shift, measured: %.4f", num(j, "efficiency"));
  } else {
    fprintf(stderr, "the shift changed between the declaration and the view; output not compared\n");
  }
  json_decref(j);

  /* The mechanic board: a new request, the beam running out within 8 h. A WebSocket
   * client (a mechanic's phone) subscribed to maintenance gets the request pushed. */
  char *mtok = token_for(tenant, f.mechanic, "mechanic");
  snprintf(path, sizeof path, "/api/v1/stream?access_token=%s", mtok);
  int st;
  h_ws_t *ws = h_ws_open(port, path, NULL, 0, &st);
  cr_assert_not_null(ws, "the stream opens (status %d)", st);
  cr_assert_eq(h_ws_send(ws, "{\"subscribe\":{\"modules\":[\"maintenance\"]}}"), 0);
  j = h_ws_recv_json(ws, 5000, NULL);
  cr_assert_str_eq(s_of(j, "ack"), "subscribe");
  json_decref(j);
  char iid[FOFAL_UUID_LEN + 1], pos[160];
  fofal_uuid7(iid);
  snprintf(b, sizeof b, "{\"intervention_id\":\"%s\",\"loom\":\"%s\",\"cause\":\"warp_break\",\"requested_by\":\"%s\"}", iid,
           f.loom, f.weaver);
  send(f.wtok, "maintenance.intervention.request", b, pos);
  int pushed = 0;
  int64_t deadline = fofal_mono_us() + 15 * 1000000LL;
  while (!pushed && fofal_mono_us() < deadline) {
    json_t *m = h_ws_recv_json(ws, 2000, NULL);
    json_t *ev = json_object_get(m, "event");
    if (ev && strstr(s_of(ev, "type"), ".intervention_requested.") && !strcmp(s_of(ev, "aggregate"), iid)) {
      pushed = 1;
      cr_expect_str_eq(s_of(json_object_get(ev, "data"), "loom"), f.loom);
      cr_expect_str_eq(s_of(ev, "tenant"), tenant);
    }
    json_decref(m);
  }
  cr_expect(pushed, "the intervention request is pushed to the mechanic's stream");
  h_ws_close(ws);

  snprintf(path, sizeof path, "/api/v1/maintenance/views/mechanic?within_hours=8&position=%s", pos);
  cr_assert_eq(get(mtok, path, &j), 200);
  int req_listed = 0, beam_listed = 0;
  json_array_foreach(json_object_get(j, "open_requests"), i, e) {
    if (!strcmp(s_of(e, "intervention_id"), iid)) {
      req_listed = 1;
      cr_expect_str_eq(s_of(e, "status"), "requested");
      cr_expect_str_eq(s_of(e, "cause"), "warp_break");
    }
  }
  json_array_foreach(json_object_get(j, "beams_running_out"), i, e) beam_listed |= !strcmp(s_of(e, "beam"), f.ground);
  cr_expect(req_listed, "the new request is on the mechanic board");
  cr_expect(beam_listed, "the beam that runs out in ~5.9 h is on the board (within 8 h)");
  json_decref(j);
  cr_assert_eq(get(mtok, "/api/v1/maintenance/views/mechanic?within_hours=2", &j), 200);
  beam_listed = 0;
  json_array_foreach(json_object_get(j, "beams_running_out"), i, e) beam_listed |= !strcmp(s_of(e, "beam"), f.ground);
  cr_expect(!beam_listed, "not within 2 h");
  json_decref(j);

  /* The mechanic takes it, works and finishes: the loom's history tells it. */
  snprintf(b, sizeof b, "{\"intervention_id\":\"%s\",\"mechanic\":\"%s\"}", iid, f.mechanic);
  send(mtok, "maintenance.intervention.accept", b, NULL);
  snprintf(b, sizeof b, "{\"intervention_id\":\"%s\"}", iid);
  send(mtok, "maintenance.intervention.start", b, NULL);
  snprintf(b, sizeof b,
           "{\"intervention_id\":\"%s\",\"cause\":\"warp_break\",\"parts\":[{\"part\":\"heddle\",\"quantity\":2}],"
           "\"duration_min\":12}",
           iid);
  send(mtok, "maintenance.intervention.finish", b, pos);
  snprintf(path, sizeof path, "/api/v1/maintenance/interventions/%s?position=%s", iid, pos);
  cr_assert_eq(get(mtok, path, &j), 200);
  cr_expect_str_eq(s_of(j, "status"), "finished");
  cr_expect_str_eq(s_of(j, "mechanic"), f.mechanic);
  cr_expect_eq(json_integer_value(json_object_get(j, "duration_min")), 12);
  cr_expect_str_eq(s_of(json_array_get(json_object_get(j, "parts"), 0), "part"), "heddle");
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/production/looms/%s/history?limit=3", f.loom);
  cr_assert_eq(get(mtok, path, &j), 200);
  cr_expect_str_eq(s_of(json_array_get(json_object_get(j, "items"), 0), "kind"), "intervention_finished", "newest first");
  cr_expect_eq(json_array_size(json_object_get(j, "items")), 3);
  const char *cursor = s_of(j, "next_cursor");
  cr_assert(cursor[0], "more history on the next page");
  snprintf(path, sizeof path, "/api/v1/production/looms/%s/history?limit=50&cursor=%s", f.loom, cursor);
  json_decref(j);
  cr_assert_eq(get(mtok, path, &j), 200);
  int kinds = 0;
  json_array_foreach(json_object_get(j, "items"), i, e) {
    const char *k = s_of(e, "kind");
    static const char *const want[] = {"set_up", "beam_mounted", "first_piece_checked", "intervention_requested",
                                       "order_started"};
    for (int w = 0; w < 5; w++)
      if (!strcmp(k, want[w])) kinds |= 1 << w;
  }
  cr_expect_eq(kinds, 31, "the history holds the set-up, beam change, first piece, request and order (got %d)", kinds);
  json_decref(j);

  /* A beam change makes the first-piece check due: on the board. */
  snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"reason\":\"beam change\"}", f.order);
  send(mgr, "production.order.pause", b, NULL);
  snprintf(b, sizeof b, "{\"loom\":\"%s\",\"position\":\"ground\",\"reason\":\"test\"}", f.loom);
  send(mtok, "production.loom.doff_beam", b, NULL);
  snprintf(b, sizeof b, "{\"loom\":\"%s\",\"beam\":\"%s\",\"position\":\"ground\"}", f.loom, f.spare);
  send(mtok, "production.loom.mount_beam", b, pos);
  snprintf(path, sizeof path, "/api/v1/maintenance/views/mechanic?position=%s", pos);
  cr_assert_eq(get(mtok, path, &j), 200);
  int due = 0;
  json_array_foreach(json_object_get(j, "first_piece_checks_due"), i, e) due |= !strcmp(s_of(e, "loom"), f.loom);
  cr_expect(due, "the loom's first-piece check is due after the beam change");
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/production/beams/%s", f.ground);
  cr_assert_eq(get(mtok, path, &j), 200);
  cr_expect_str_eq(s_of(j, "status"), "doffed");
  cr_expect(json_is_null(json_object_get(j, "loom")));
  cr_expect(json_is_null(json_object_get(j, "runout_at")), "a doffed beam has no forecast");
  json_decref(j);

  /* The planner: the order on its loom, progress 4/40, late (due 2020). */
  char *ptok = token_for(tenant, "planner-1", "planner");
  snprintf(path, sizeof path, "/api/v1/production/views/planner?position=%s", pos);
  cr_assert_eq(get(ptok, path, &j), 200);
  int on_loom = 0, late = 0;
  json_array_foreach(json_object_get(j, "looms"), i, e) {
    if (strcmp(s_of(e, "loom"), f.loom)) continue;
    cr_expect(fabs(num(e, "efficiency") - 0.85) < 1e-9, "the loom's measured efficiency %.4f", num(e, "efficiency"));
    json_t *o = json_array_get(json_object_get(e, "orders"), 0);
    on_loom = !strcmp(s_of(o, "order_id"), f.order);
    cr_expect(fabs(num(o, "progress") - 0.1) < 1e-9, "progress %.3f", num(o, "progress"));
    cr_expect_str_eq(s_of(o, "status"), "paused");
  }
  json_array_foreach(json_object_get(j, "late"), i, e) late |= !strcmp(s_of(e, "order_id"), f.order);
  cr_expect(on_loom, "the order is listed on its loom");
  cr_expect(late, "the order due in 2020 is late");
  json_decref(j);

  /* Employees: a weaver reads their own badge; not another's. */
  snprintf(path, sizeof path, "/api/v1/hr/employees/%s", f.weaver);
  cr_assert_eq(get(f.wtok, path, &j), 200);
  cr_expect_eq(json_array_size(json_object_get(j, "shifts")), 2);
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/hr/employees/%s", f.mechanic);
  cr_expect_eq(get(f.wtok, path, &j), 403);
  json_decref(j);

  /* Articles and looms lists. */
  snprintf(path, sizeof path, "/api/v1/catalog/articles/%s", f.article);
  cr_assert_eq(get(f.wtok, path, &j), 200);
  cr_expect(fabs(num(j, "picks_per_cm") - 20) < 1e-9);
  json_decref(j);
  cr_assert_eq(get(mgr, "/api/v1/production/looms?limit=10", &j), 200);
  cr_expect_eq(json_array_size(json_object_get(j, "items")), 1, "one loom in this tenant");
  json_decref(j);

  free(ptok);
  free(mtok);

  /* The live read model equals a fresh rebuild, Redis views included. */
  char *out = NULL;
  const char *args[] = {"verify", "production", "--redis", NULL};
  int vst = h_run_cli(600, &out, args), lines = 0;
  cr_log_info("fofal verify production --redis:\n%s", out ? out : "");
  for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"), lines++)
    cr_expect(strstr(line, " OK"), "verify: %s", line);
  cr_expect_eq(vst, 0, "fofal verify exited %d", vst);
  cr_expect(lines >= 11, "verify compared every table and Redis view (%d lines)", lines);
  free(out);
  /* The maintenance module's too: its requests and their steps in the loom's history. */
  const char *margs[] = {"verify", "maintenance", "--redis", NULL};
  out = NULL;
  vst = h_run_cli(600, &out, margs);
  cr_log_info("fofal verify maintenance --redis:\n%s", out ? out : "");
  lines = 0;
  for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"), lines++)
    cr_expect(strstr(line, " OK"), "verify: %s", line);
  cr_expect_eq(vst, 0, "fofal verify maintenance exited %d", vst);
  cr_expect(lines >= 2, "verify compared both tables (%d lines)", lines);
  free(out);
  free_floor(&f);
}

/* Another tenant's loom is a 404; roles are refused where the routes say. */
Test(weaving, tenants_and_roles) {
  floor_t f;
  json_t *j;
  char path[512];
  build_floor(&f);
  char other[32];
  h_tenant(other);
  char *otok = h_token(other, "manager");
  snprintf(path, sizeof path, "/api/v1/production/looms/%s", f.loom);
  cr_expect_eq(get(otok, path, &j), 404, "another tenant's loom is not found");
  json_decref(j);

  char *cutter = h_token(tenant, "cutter"), *weaver = h_token(tenant, "weaver"), *auditor = h_token(tenant, "auditor");
  struct {
    const char *token, *path;
    int status;
  } cases[] = {
      {weaver, "/api/v1/production/views/planner", 403},
      {cutter, "/api/v1/maintenance/views/mechanic", 403},
      {weaver, "/api/v1/maintenance/views/mechanic", 403},
      {cutter, "/api/v1/production/beams", 403},
      {auditor, "/api/v1/maintenance/interventions", 403},
      {cutter, "/api/v1/production/looms", 403},
      {weaver, "/api/v1/production/looms/X/history", 403},
      {f.wtok, "/api/v1/production/views/weaver?badge=SOMEONE-ELSE", 403},
      {cutter, "/api/v1/catalog/articles", 200},
      {auditor, "/api/v1/production/views/planner", 403},
      {mgr, "/api/v1/production/views/planner", 200},
      {mgr, "/api/v1/production/beams?status=nonsense", 400},
      {mgr, "/api/v1/maintenance/interventions?limit=0", 400},
      {mgr, "/api/v1/production/looms?cursor=!!!", 400},
      {mgr, "/api/v1/maintenance/views/mechanic?within_hours=1000", 400},
      {mgr, "/api/v1/production/beams/NOPE", 404},
      {mgr, "/api/v1/production/looms/NOPE/history", 404},
      {mgr, "/api/v1/production/views/nothing", 404},
      {mgr, "/api/v1/production/interventions", 404},  /* the maintenance module's now */
      {mgr, "/api/v1/production/views/mechanic", 404},
      {mgr, "/api/v1/production/views/weaver?badge=NOPE", 404},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int st = get(cases[i].token, cases[i].path, &j);
    cr_expect_eq(st, cases[i].status, "GET %s: %d, expected %d (%s)", cases[i].path, st, cases[i].status, s_of(j, "detail"));
    if (st == 403) cr_expect_str_eq(s_of(j, "code"), "forbidden");
    json_decref(j);
  }
  /* The OpenAPI document has every route, with its roles. */
  cr_assert_eq(get(mgr, "/api/v1/openapi.json", &j), 200);
  const char *const routes[] = {"/api/v1/catalog/articles", "/api/v1/catalog/articles/{code}",
                                "/api/v1/production/looms", "/api/v1/production/looms/{code}",
                                "/api/v1/production/looms/{code}/history", "/api/v1/production/beams",
                                "/api/v1/production/beams/{code}", "/api/v1/hr/employees/{badge}",
                                "/api/v1/maintenance/interventions", "/api/v1/maintenance/interventions/{id}",
                                "/api/v1/production/views/weaver",
                                "/api/v1/maintenance/views/mechanic", "/api/v1/production/views/planner"};
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    json_t *get_op = json_object_get(json_object_get(json_object_get(j, "paths"), routes[i]), "get");
    cr_expect(json_is_object(get_op), "OpenAPI documents %s", routes[i]);
    cr_expect_gt(json_array_size(json_object_get(get_op, "x-fofal-roles")), 0, "%s says its roles", routes[i]);
    cr_expect(json_is_object(json_object_get(json_object_get(get_op, "responses"), "403")), "%s documents 403", routes[i]);
  }
  json_decref(j);
  free(cutter);
  free(weaver);
  free(auditor);
  free(otok);
  free_floor(&f);
}

/* POSTs a JSON body (token may be NULL); the status, and the answer parsed into *out. */
static int post(const char *path, const char *token, const char *body, json_t **out) {
  char hdr[4300];
  if (token) snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\nContent-Type: application/json\r\n", token);
  else snprintf(hdr, sizeof hdr, "Content-Type: application/json\r\n");
  h_resp_t r;
  cr_assert_eq(h_http(port, "POST", path, hdr, body, &r, 30000), 0, "no answer to POST %s", path);
  *out = json_loads(r.body, 0, NULL);
  int st = r.status;
  h_resp_free(&r);
  return st;
}

/* Signs in with badge and PIN on an enrolled phone, as the floor does; the access token
 * (new) and, into refresh[200], the refresh token. */
static char *pin_sign_in(const char *dev, const char *dsec, const char *badge, const char *pin, char refresh[200]) {
  char b[512];
  json_t *j;
  snprintf(b, sizeof b, "{\"tenant\":\"%s\",\"device_id\":\"%s\",\"device_secret\":\"%s\",\"badge\":\"%s\",\"pin\":\"%s\"}",
           tenant, dev, dsec, badge, pin);
  cr_assert_eq(post("/api/v1/auth/pin-login", NULL, b, &j), 200, "PIN sign-in of %s: %s", badge, s_of(j, "detail"));
  cr_expect_str_eq(s_of(j, "badge"), badge, "the sign-in answers the person's badge");
  cr_expect_str_neq(s_of(j, "account_id"), badge, "the subject is the account, not the badge");
  snprintf(refresh, 200, "%s", s_of(j, "refresh_token"));
  char *at = fofal_strdup(s_of(j, "access_token"));
  json_decref(j);
  return at;
}

/* Issue 23 items 1 and 2: a weaver and a mechanic signed in the floor's way (an enrolled
 * phone, badge and PIN: the token's subject is their account id) read their own data and
 * act as themselves — never as someone else. */
Test(weaving, pin_sign_in_walks_the_weavers_and_the_mechanics_day) {
  floor_t f;
  char b[1024], path[512], refresh[200], other[40], woven_at[40], shift[32];
  json_t *j;
  build_floor(&f);
  /* Another weaver on the same loom and shifts: crediting them must be refused. */
  snprintf(other, sizeof other, "W2-%s", sfx);
  snprintf(b, sizeof b, "{\"badge\":\"%s\",\"name\":\"Sami\",\"job\":\"weaver\"}", other);
  send(mgr, "hr.employee.register", b, NULL);
  const char *shifts[] = {f.shift, f.next_shift};
  for (int i = 0; i < 2; i++) {
    snprintf(b, sizeof b, "{\"badge\":\"%s\",\"shift\":\"%s\",\"looms\":[\"%s\"]}", other, shifts[i], f.loom);
    send(mgr, "hr.employee.assign_shift", b, NULL);
  }
  /* The admin's set-up: a phone for the hall, the two people's accounts with badge and PIN. */
  char *admin = h_token(tenant, "admin");
  cr_assert_eq(post("/api/v1/auth/devices", mgr, "{\"name\":\"hall H1 phone\"}", &j), 201);
  char dev[64], dsec[128];
  snprintf(dev, sizeof dev, "%s", s_of(j, "device_id"));
  snprintf(dsec, sizeof dsec, "%s", s_of(j, "device_secret"));
  json_decref(j);
  snprintf(b, sizeof b, "{\"username\":\"w-%s\",\"role\":\"weaver\",\"badge\":\"%s\",\"pin\":\"481205\"}", sfx, f.weaver);
  cr_assert_eq(post("/api/v1/auth/accounts", admin, b, &j), 201, "%s", s_of(j, "detail"));
  json_decref(j);
  snprintf(b, sizeof b, "{\"username\":\"m-%s\",\"role\":\"mechanic\",\"badge\":\"%s\",\"pin\":\"592318\"}", sfx, f.mechanic);
  cr_assert_eq(post("/api/v1/auth/accounts", admin, b, &j), 201, "%s", s_of(j, "detail"));
  json_decref(j);
  cr_expect_eq(post("/api/v1/auth/accounts", admin, "{\"username\":\"x\",\"role\":\"weaver\",\"badge\":\"W 1\",\"pin\":\"123456\"}", &j),
               422, "a badge is a code, as an employee's");
  json_decref(j);

  /* The weaver's day. */
  char *wt = pin_sign_in(dev, dsec, f.weaver, "481205", refresh);
  cr_assert_eq(get(wt, "/api/v1/auth/me", &j), 200);
  cr_expect_str_eq(s_of(j, "badge"), f.weaver);
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/production/views/weaver?position=%s", f.pos);
  cr_expect_eq(get(wt, path, &j), 200, "my view: %s", s_of(j, "detail"));
  cr_expect_str_eq(s_of(j, "badge"), f.weaver);
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/production/views/weaver?badge=%s", f.weaver);
  cr_expect_eq(get(wt, path, &j), 200, "my view by badge: %s", s_of(j, "detail"));
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/production/views/weaver?badge=%s", other);
  cr_expect_eq(get(wt, path, &j), 403, "not another weaver's view");
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/hr/employees/%s", f.weaver);
  cr_expect_eq(get(wt, path, &j), 200, "my employee record: %s", s_of(j, "detail"));
  cr_expect_str_eq(s_of(j, "badge"), f.weaver);
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/hr/employees/%s", other);
  cr_expect_eq(get(wt, path, &j), 403, "not another's record");
  json_decref(j);
  h_current_shift(shift, woven_at);
  /* Crediting someone else is refused, and nothing is written. */
  snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"quantity\":1,\"length_m\":0.5,\"weaver\":\"%s\",\"woven_at\":\"%s\"}", f.order,
           other, woven_at);
  int st = h_command_ok(port, wt, "production.order.declare_output", "pin-credit-other", NULL, b, &j);
  cr_expect_eq(st, 403, "a weaver declares for %s: %d %s", other, st, s_of(j, "detail"));
  cr_expect_str_eq(s_of(j, "code"), "actor_mismatch");
  json_decref(j);
  /* A roll declared without naming anyone is mine. */
  snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"quantity\":1,\"length_m\":0.5,\"woven_at\":\"%s\"}", f.order, woven_at);
  json_t *r = cmd(wt, "production.order.declare_output", b);
  char pos[160], label[FOFAL_UUID_LEN + 1];
  pos_of(r, pos);
  h_declared_label(r, label);
  json_decref(r);
  cr_assert(label[0], "the declaration assigned a label id");
  snprintf(path, sizeof path, "/api/v1/production/orders/%s/declarations?position=%s", f.order, pos);
  cr_assert_eq(get(wt, path, &j), 200);
  int credited = 0, to_other = 0;
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(j, "items"), i, e) {
    if (!strcmp(s_of(e, "label_id"), label)) {
      credited = 1;
      cr_expect_str_eq(s_of(e, "weaver"), f.weaver, "credited to who signed in");
    }
    to_other += !strcmp(s_of(e, "weaver"), other);
  }
  cr_expect(credited, "the declaration is listed");
  cr_expect_eq(to_other, 0, "nothing was credited to %s", other);
  json_decref(j);
  /* A refreshed token is still the same person. */
  snprintf(b, sizeof b, "{\"refresh_token\":\"%s\"}", refresh);
  cr_assert_eq(post("/api/v1/auth/refresh", NULL, b, &j), 200);
  char *wt2 = fofal_strdup(s_of(j, "access_token"));
  cr_expect_str_eq(s_of(j, "badge"), f.weaver);
  json_decref(j);
  cr_expect_eq(get(wt2, "/api/v1/production/views/weaver", &j), 200, "after a refresh: %s", s_of(j, "detail"));
  json_decref(j);
  /* The weaver calls a mechanic, as themself. */
  char iid[FOFAL_UUID_LEN + 1];
  fofal_uuid7(iid);
  snprintf(b, sizeof b, "{\"intervention_id\":\"%s\",\"loom\":\"%s\",\"cause\":\"warp_break\"}", iid, f.loom);
  send(wt2, "maintenance.intervention.request", b, pos);
  snprintf(path, sizeof path, "/api/v1/maintenance/interventions/%s?position=%s", iid, pos);
  cr_assert_eq(get(wt2, path, &j), 200);
  cr_expect_str_eq(s_of(j, "requested_by"), f.weaver, "requested by who signed in");
  json_decref(j);

  /* The mechanic's day: takes the request as themself, not in another's name. */
  char mrefresh[200];
  char *mt = pin_sign_in(dev, dsec, f.mechanic, "592318", mrefresh);
  snprintf(b, sizeof b, "{\"intervention_id\":\"%s\",\"mechanic\":\"%s\"}", iid, other);
  st = h_command_ok(port, mt, "maintenance.intervention.accept", "pin-accept-other", NULL, b, &j);
  cr_expect_eq(st, 403, "a mechanic accepts for %s: %d %s", other, st, s_of(j, "detail"));
  cr_expect_str_eq(s_of(j, "code"), "actor_mismatch");
  json_decref(j);
  snprintf(b, sizeof b, "{\"intervention_id\":\"%s\"}", iid);
  send(mt, "maintenance.intervention.accept", b, pos);
  snprintf(path, sizeof path, "/api/v1/maintenance/interventions/%s?position=%s", iid, pos);
  cr_assert_eq(get(mt, path, &j), 200);
  cr_expect_str_eq(s_of(j, "mechanic"), f.mechanic);
  cr_expect_str_eq(s_of(j, "status"), "accepted");
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/hr/employees/%s", f.mechanic);
  cr_expect_eq(get(mt, path, &j), 200, "the mechanic's own record: %s", s_of(j, "detail"));
  json_decref(j);
  free(mt);
  free(wt2);
  free(wt);
  free(admin);
  free_floor(&f);
}

/* Issue 23 item 1: `fofal token --badge` gives the dev token a sign-in has; item 5: it
 * refuses a role that is not one (exit 2, nothing on stdout). */
Test(weaving, cli_token_badge_and_roles) {
  floor_t f;
  json_t *j;
  char *out = NULL;
  build_floor(&f);
  const char *args[] = {"token", "--tenant", tenant, "--role", "weaver", "--badge", f.weaver, NULL};
  cr_assert_eq(h_run_cli(30, &out, args), 0);
  out[strcspn(out, "\n")] = '\0';
  cr_expect_eq(get(out, "/api/v1/production/views/weaver", &j), 200, "the dev token's own view: %s", s_of(j, "detail"));
  cr_expect_str_eq(s_of(j, "badge"), f.weaver);
  json_decref(j);
  cr_expect_eq(get(out, "/api/v1/auth/me", &j), 200);
  cr_expect_str_eq(s_of(j, "subject"), f.weaver, "without --subject, the subject is the badge");
  json_decref(j);
  free(out);
  const char *bad[] = {"superuser", "ADMIN", "Planner", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *a[] = {"token", "--tenant", tenant, "--role", bad[i], NULL};
    out = NULL;
    cr_expect_eq(h_run_cli(30, &out, a), 2, "fofal token --role \"%s\" is refused", bad[i]);
    cr_expect_str_eq(out ? out : "", "", "and prints no token");
    free(out);
  }
  const char *badge[] = {"token", "--tenant", tenant, "--role", "weaver", "--badge", "W 1", NULL};
  cr_expect_eq(h_run_cli(30, NULL, badge), 2, "a badge is a code");
  free_floor(&f);
}

/* Issue 23 item 5: the order routes check roles as the weaving routes do (403 forbidden
 * for a role that is not one of theirs, whatever its spelling), and say so in OpenAPI. */
Test(weaving, order_routes_check_their_roles) {
  floor_t f;
  char path[5][256];
  json_t *j;
  build_floor(&f);
  snprintf(path[0], sizeof path[0], "/api/v1/production/orders?position=%s", f.pos);
  snprintf(path[1], sizeof path[1], "/api/v1/production/orders/%s", f.order);
  snprintf(path[2], sizeof path[2], "/api/v1/production/orders/%s/declarations", f.order);
  snprintf(path[3], sizeof path[3], "/api/v1/production/looms/%s/current-order", f.loom);
  snprintf(path[4], sizeof path[4], "/api/v1/production/shifts/%s/output", f.shift);
  const char *refused[] = {"superuser", "ADMIN", "Planner", "root"}, *allowed[] = {"planner", "weaver", "auditor"};
  for (size_t r = 0; r < sizeof refused / sizeof refused[0]; r++) {
    char *t = h_token(tenant, refused[r]);
    for (int p = 0; p < 5; p++) {
      cr_expect_eq(get(t, path[p], &j), 403, "role %s reads %s", refused[r], path[p]);
      cr_expect_str_eq(s_of(j, "code"), "forbidden");
      json_decref(j);
    }
    free(t);
  }
  for (size_t r = 0; r < sizeof allowed / sizeof allowed[0]; r++) {
    char *t = h_token(tenant, allowed[r]);
    for (int p = 0; p < 5; p++) {
      cr_expect_eq(get(t, path[p], &j), 200, "role %s reads %s: %s", allowed[r], path[p], s_of(j, "detail"));
      json_decref(j);
    }
    free(t);
  }
  cr_assert_eq(get(mgr, "/api/v1/openapi.json", &j), 200);
  const char *const routes[] = {"/api/v1/production/orders", "/api/v1/production/orders/{id}",
                                "/api/v1/production/orders/{id}/declarations",
                                "/api/v1/production/looms/{loom}/current-order", "/api/v1/production/shifts/{shift}/output"};
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    json_t *op = json_object_get(json_object_get(json_object_get(j, "paths"), routes[i]), "get");
    cr_expect_eq(json_array_size(json_object_get(op, "x-fofal-roles")), 13, "%s says its roles", routes[i]);
    cr_expect(json_is_object(json_object_get(json_object_get(op, "responses"), "403")), "%s documents 403", routes[i]);
  }
  json_decref(j);
  free_floor(&f);
}
