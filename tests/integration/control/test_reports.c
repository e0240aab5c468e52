/*
 * test_reports.c — control's monthly reports against the real stack. The test makes a
 * month of its own (last month, so that the system's month-end generation covers it too):
 * declarations of two articles on three looms with quantities and lengths it chose, their
 * cuts, the pay accrued and the looms' stops, sent as facts (control.fact.record, what the
 * reaction control.facts_from_events sends, as test_costs.c does). It adds them up
 * itself, then asks for each report (POST /api/v1/control/reports) and compares the
 * report's totals — in its answer, in the list and in the last row of its stored CSV —
 * with its own sums. The PDF is fetched from file storage and looked at as a page
 * (pdftoppm, poppler-utils): it must have ink. Then a second fofal-api, with
 * FOFAL_API_REPORTS_CHECK_S=2, generates the month's reports itself (source month_end),
 * each once (the first instance may look too), with the same totals. Roles and bad input are refused with the documented problems.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fofal_api.h"
#include "harness.h"

static int port;
static pid_t dec, proj, api, api2;
static char tenant[32];

static void setup(void) {
  h_tenant(tenant);
  dec = h_start_decider(tenant);
  proj = h_start_projector(tenant);
  port = h_free_port();
  api = h_start_api(port); /* its month-end look comes a minute after it starts */
}

/* A second fofal-api that looks for month-end reports every 2 s, from its start. */
static void start_api2(void) {
  char p[64];
  int port2 = h_free_port();
  snprintf(p, sizeof p, "FOFAL_HTTP_PORT=%d", port2);
  const char *env[] = {p, "FOFAL_API_COMMAND_WAIT_MS=30000", "FOFAL_API_REPORTS_CHECK_S=2", NULL};
  api2 = h_spawn("api/fofal-api", "test-api-reports", NULL, env);
  cr_assert_eq(h_wait_ready(port2, 60000), 0, "the second fofal-api ready");
}

static void teardown(void) {
  if (api2) h_stop(api2, SIGTERM);
  h_stop(api, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
}

TestSuite(reports, .init = setup, .fini = teardown, .timeout = 400);

static char *token(const char *subject, const char *role) {
  char *s = fofal_api_token_issue(h_env("FOFAL_JWT_SECRET"), "fofal", "fofal-api", tenant, subject, role, 3600);
  cr_assert_not_null(s);
  return s;
}

static const char *s_of(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

static json_int_t i_of(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static char pos[160], month[8];
static int nfacts;

static void fact(const char *tok, const char *body) {
  char key[32];
  json_t *j = NULL;
  snprintf(key, sizeof key, "f%d", ++nfacts);
  int st = h_command_ok(port, tok, "control.fact.record", key, NULL, body, &j);
  cr_assert_eq(st, 201, "%s: %d %s %s", body, st, s_of(j, "code"), s_of(j, "detail"));
  snprintf(pos, sizeof pos, "%s", s_of(j, "position"));
  json_decref(j);
}

/* What the test produced, summed by itself. */
static struct {
  json_int_t declarations, pieces, length_mm, first, second, waste, labour, stops_s, small_stops, rejects, cut;
  json_int_t yarn_g, yarn_minor, order_mm[3];
} want;

#define NDECL 6

static void month_of_facts(const char *adm) {
  static const char *const articles[] = {"FT-RA", "FT-RB"}, *const looms[] = {"L11", "L12", "L13"};
  char body[1024], label[40], order[40], ev[40];
  /* last month, UTC */
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  int y = tm.tm_year + 1900, m = tm.tm_mon; /* tm_mon is 0-based: this is last month's number */
  if (m == 0) {
    m = 12;
    y--;
  }
  snprintf(month, sizeof month, "%04d-%02d", y, m);
  /* A receipt, a lot, a beam: the orders' yarn has a price. */
  fact(adm, "{\"kind\":\"receipt_priced\",\"ref\":\"RR1\",\"receipt_id\":\"RR1\",\"lines\":[{\"line\":1,\"unit\":\"kg\","
            "\"unit_price\":12500}]}");
  fact(adm, "{\"kind\":\"receipt_stocked\",\"ref\":\"RR1\",\"receipt_id\":\"RR1\",\"lots\":[{\"lot\":\"RL1\",\"line\":1,"
            "\"weight_g\":100000}]}");
  fact(adm, "{\"kind\":\"lot_issued\",\"ref\":\"RB-1\",\"lot\":\"RL1\",\"beam\":\"RB-1\",\"weight_g\":100000,"
            "\"source_event\":\"0190a4b2-0000-7000-8000-00000000f001\"}");
  fact(adm, "{\"kind\":\"beam_warped\",\"ref\":\"RB-1\",\"beam\":\"RB-1\",\"length_mm\":2000000,"
            "\"source_event\":\"0190a4b2-0000-7000-8000-00000000f002\"}");
  for (int i = 0; i < NDECL; i++) {
    json_int_t q = 40 + 7 * i, len = q * 2900 + i, first = q - 3 - i % 3, second = 2, waste = 1 + i % 3;
    json_int_t pay = 1000 * q + 17 * i;
    snprintf(label, sizeof label, "0190a4b2-0000-7000-8000-0000000001%02d", i);
    snprintf(order, sizeof order, "0190a4b2-0000-7000-8000-00000000020%d", i % 3);
    snprintf(body, sizeof body,
             "{\"kind\":\"output_declared\",\"ref\":\"%s\",\"label_id\":\"%s\",\"order_id\":\"%s\",\"article\":\"%s\","
             "\"loom\":\"%s\",\"weaver\":\"W0%d\",\"month\":\"%s\",\"quantity\":%lld,\"length_mm\":%lld,\"beams\":[{"
             "\"beam\":\"RB-1\",\"meters_mm\":%lld}]}",
             label, label, order, articles[i % 2], looms[i % 3], i % 2 + 1, month, (long long)q, (long long)len,
             (long long)len);
    fact(adm, body);
    snprintf(ev, sizeof ev, "0190a4b2-0000-7000-8000-0000000003%02d", i);
    snprintf(body, sizeof body,
             "{\"kind\":\"pay_accrued\",\"ref\":\"%s\",\"order_id\":\"%s\",\"article\":\"%s\",\"badge\":\"W0%d\","
             "\"role\":\"weaver\",\"month\":\"%s\",\"amount_minor\":%lld,\"source_event\":\"%s\"}",
             order, order, articles[i % 2], i % 2 + 1, month, (long long)pay, ev);
    fact(adm, body);
    if (i < NDECL - 1) { /* the last roll is not cut yet */
      snprintf(body, sizeof body,
               "{\"kind\":\"roll_cut\",\"ref\":\"%s\",\"label_id\":\"%s\",\"order_id\":\"%s\",\"article\":\"%s\","
               "\"loom\":\"%s\",\"weaver\":\"W0%d\",\"month\":\"%s\",\"first_choice\":%lld,\"second_choice\":%lld,"
               "\"waste_pieces\":%lld,\"waste_mm\":1000,\"waste_g\":300,\"lots\":[{\"grade\":\"1\",\"pieces\":%lld}]}",
               label, label, order, articles[i % 2], looms[i % 3], i % 2 + 1, month, (long long)first,
               (long long)second, (long long)waste, (long long)first);
      fact(adm, body);
      want.first += first;
      want.second += second;
      want.waste += waste;
      want.rejects += second + waste;
      want.cut += first + second + waste;
    }
    want.declarations++;
    want.yarn_g += (len * 100000 + 1000000) / 2000000; /* a roll's warp × the beam's g/mm, half up */
    want.order_mm[i % 3] += len;
    want.pieces += q;
    want.length_mm += len;
    want.labour += pay;
  }
  /* An order's yarn: its warp of RB-1 × the beam's 100 kg at 12.500 TND/kg over 2,000 m, half up. */
  for (int o = 0; o < 3; o++) want.yarn_minor += (want.order_mm[o] * 1250000 + 1000000) / 2000000;
  /* The looms' stops: breaks, a breakdown, a long stop. */
  static const struct {
    const char *loom, *cause;
    int s, breakdown;
  } stops[] = {{"L11", "warp_break", 90, 0}, {"L11", "weft_break", 45, 0}, {"L12", "mechanical", 5400, 1},
               {"L12", "other", 2700, 0},    {"L13", "other", 120, 0}};
  for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
    snprintf(ev, sizeof ev, "0190a4b2-0000-7000-8000-0000000004%02zu", i);
    snprintf(body, sizeof body,
             "{\"kind\":\"loom_stop\",\"ref\":\"%s\",\"loom\":\"%s\",\"cause\":\"%s\",\"stopped_s\":%d,"
             "\"after_breakdown\":%s,\"at\":\"%s-02T08:00:00Z\",\"month\":\"%s\",\"source_event\":\"%s\"}",
             stops[i].loom, stops[i].loom, stops[i].cause, stops[i].s, stops[i].breakdown ? "true" : "false", month,
             month, ev);
    fact(adm, body);
    want.stops_s += stops[i].s;
    if (stops[i].s < 300 || !strcmp(stops[i].cause, "warp_break") || !strcmp(stops[i].cause, "weft_break"))
      want.small_stops++;
  }
}

static int post(const char *tok, const char *body, json_t **out) {
  char hdr[2048];
  h_resp_t r = {0};
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\nContent-Type: application/json\r\n", tok);
  h_http(port, "POST", "/api/v1/control/reports", hdr, body, &r, 120000);
  *out = r.body ? json_loads(r.body, 0, NULL) : NULL;
  int st = r.status;
  h_resp_free(&r);
  return st;
}

/* POSTs a report of `kind` for the test's month: its record (new). */
static json_t *generate(const char *tok, const char *kind) {
  char body[128];
  json_t *j = NULL;
  snprintf(body, sizeof body, "{\"kind\":\"%s\",\"month\":\"%s\"}", kind, month);
  int st = post(tok, body, &j);
  cr_assert_eq(st, 201, "%s: %d %s %s", kind, st, s_of(j, "code"), s_of(j, "detail"));
  cr_expect_str_eq(s_of(j, "kind"), kind);
  cr_expect_str_eq(s_of(j, "source"), "request");
  return j;
}

/* GET of a stored file: its bytes (new) and type. */
static char *fetch(const char *tok, const char *path, size_t *len, char ctype[96]) {
  char hdr[2048];
  h_resp_t r = {0};
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", tok);
  h_http(port, "GET", path, hdr, NULL, &r, 60000);
  cr_assert_eq(r.status, 200, "%s: %d %s", path, r.status, r.body ? r.body : "");
  char *ct = h_resp_header(&r, "Content-Type");
  snprintf(ctype, 96, "%s", ct ? ct : "");
  free(ct);
  char *b = r.body;
  *len = r.body_len;
  r.body = NULL;
  h_resp_free(&r);
  return b;
}

/* The last line of a CSV (its totals row), new. */
static char *last_line(const char *csv, size_t len) {
  cr_assert(len > 2 && csv[len - 2] == '\r' && csv[len - 1] == '\n');
  size_t end = len - 2, start = end;
  while (start > 0 && csv[start - 1] != '\n') start--;
  return strndup(csv + start, end - start);
}

/* The share of dark pixels (in 1/10,000) of page 1 of a PDF rendered by pdftoppm. */
static long ink(const char *pdf, size_t len) {
  char dir[] = "/tmp/fofal-it-report-XXXXXX", in[80], cmd[300], out[96];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(in, sizeof in, "%s/r.pdf", dir);
  FILE *f = fopen(in, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(pdf, 1, len, f), len);
  fclose(f);
  snprintf(cmd, sizeof cmd, "pdftoppm -gray -r 40 -f 1 -l 1 %s %s/page", in, dir);
  cr_assert_eq(system(cmd), 0, "pdftoppm (poppler-utils) renders the report");
  snprintf(out, sizeof out, "%s/page-1.pgm", dir);
  f = fopen(out, "rb");
  cr_assert_not_null(f);
  int w = 0, h = 0, max = 0;
  cr_assert_eq(fscanf(f, "P5 %d %d %d", &w, &h, &max), 3);
  fgetc(f);
  long dark = 0, n = (long)w * h;
  for (long i = 0; i < n; i++) {
    int c = fgetc(f);
    cr_assert_neq(c, EOF);
    if (c < 200) dark++;
  }
  fclose(f);
  unlink(out);
  unlink(in);
  rmdir(dir);
  return n ? dark * 10000 / n : 0;
}

/* The report's PDF is a page with ink, and its CSV's totals row holds `want_csv`. */
static void files(const char *tok, const json_t *rep, const char *want_csv) {
  char path[256], ctype[96];
  size_t len = 0;
  /* read your writes: the record's position */
  snprintf(path, sizeof path, "%s&position=%s", s_of(json_object_get(rep, "links"), "pdf"), s_of(rep, "position"));
  char *pdf = fetch(tok, path, &len, ctype);
  cr_expect_str_eq(ctype, "application/pdf");
  cr_assert(len > 1000 && !memcmp(pdf, "%PDF-", 5));
  cr_expect_eq((json_int_t)len, i_of(json_object_get(rep, "pdf"), "size"));
  long share = ink(pdf, len);
  cr_expect(share > 50, "%s: the page is not blank (%ld/10000 ink)", path, share);
  free(pdf);
  snprintf(path, sizeof path, "%s&position=%s", s_of(json_object_get(rep, "links"), "csv"), s_of(rep, "position"));
  char *csv = fetch(tok, path, &len, ctype);
  cr_expect(!strncmp(ctype, "text/csv", 8), "%s", ctype);
  char *total = last_line(csv, len);
  cr_expect_str_eq(total, want_csv, "the CSV's totals row");
  free(total);
  free(csv);
}

static json_int_t tot(const json_t *rep, const char *k) { return i_of(json_object_get(rep, "totals"), k); }

Test(reports, totals_equal_the_sums_of_the_events_and_the_pdf_is_a_page) {
  char *adm = token("root", "admin"), *boss = token("boss", "manager"), *acc = token("amal", "accountant"),
       *aud = token("audit", "auditor"), *planner = token("p", "planner");
  month_of_facts(adm);
  /* The facts are projected before the reports read them. */
  char path[512];
  json_t *j = NULL;
  snprintf(path, sizeof path, "/api/v1/control/yields?position=%s", pos);
  cr_assert_eq(h_get(port, boss, path, &j, NULL), 200);
  json_decref(j);

  json_t *prod = generate(boss, "production");
  cr_expect_eq(tot(prod, "declarations"), want.declarations);
  cr_expect_eq(tot(prod, "pieces"), want.pieces);
  cr_expect_eq(tot(prod, "length_mm"), want.length_mm);
  cr_expect_eq(tot(prod, "first_choice"), want.first);
  cr_expect_eq(tot(prod, "second_choice"), want.second);
  cr_expect_eq(tot(prod, "waste_pieces"), want.waste);
  cr_expect_eq(i_of(prod, "rows"), 2, "two articles");
  cr_expect_eq(tot(prod, "yarn_g"), want.yarn_g, "RB-1's 100 kg over its 2,000 m, rounded per roll");
  char csv[512];
  snprintf(csv, sizeof csv, "total,%lld,%lld,%lld,%lld,,%lld,%lld,%lld,,", (long long)want.declarations,
           (long long)want.pieces, (long long)want.length_mm, (long long)tot(prod, "yarn_g"), (long long)want.first,
           (long long)want.second, (long long)want.waste);
  files(boss, prod, csv);

  json_t *costs = generate(acc, "costs");
  cr_expect_eq(i_of(costs, "rows"), 3, "three orders declared output this month");
  cr_expect_eq(tot(costs, "labour_minor"), want.labour);
  cr_expect_eq(tot(costs, "pieces"), want.pieces);
  /* No machine rate nor overhead is set for this tenant: their columns are zeros. */
  cr_expect_eq(tot(costs, "machine_minor"), 0);
  cr_expect_eq(tot(costs, "overhead_minor"), 0);
  cr_expect_eq(tot(costs, "total_minor"), tot(costs, "yarn_minor") + tot(costs, "labour_minor"));
  cr_expect_eq(tot(costs, "yarn_minor"), want.yarn_minor, "RB-1's 1,250.000 TND over its 2,000 m, per order");
  snprintf(csv, sizeof csv, "total,%lld,%lld,%lld,%lld,0,0,%lld,,,,,0", (long long)want.declarations,
           (long long)want.pieces, (long long)want.yarn_minor, (long long)want.labour,
           (long long)(want.yarn_minor + want.labour));
  files(acc, costs, csv);

  json_t *oee = generate(boss, "oee");
  cr_expect_eq(i_of(oee, "rows"), 3, "three looms");
  cr_expect_eq(tot(oee, "stops_s"), want.stops_s);
  cr_expect_eq(tot(oee, "breakdowns_s"), 5400);
  cr_expect_eq(tot(oee, "setup_s"), 2700);
  cr_expect_eq(tot(oee, "small_stops"), want.small_stops);
  cr_expect_eq(tot(oee, "production_rejects"), want.rejects);
  cr_expect_eq(tot(oee, "pieces_cut"), want.cut);
  cr_expect_eq(tot(oee, "run_s"), 0, "no telemetry in this tenant");
  snprintf(csv, sizeof csv, "total,0,%lld,5400,2700,%lld,0,0,%lld,%lld,,1,1,%lld,,,", (long long)want.stops_s,
           (long long)(want.stops_s - 5400 - 2700), (long long)want.rejects, (long long)want.cut,
           (long long)want.small_stops);
  files(aud, oee, csv);

  /* The list: the three, with who asked and the month's accounting statements. */
  snprintf(path, sizeof path, "/api/v1/control/reports?month=%s&position=%s", month, s_of(oee, "position"));
  cr_assert_eq(h_get(port, aud, path, &j, NULL), 200);
  const json_t *list = json_object_get(j, "reports"), *r;
  size_t i, requested = 0;
  json_array_foreach(list, i, r) {
    if (strcmp(s_of(r, "source"), "request")) continue;
    requested++;
    const json_t *mine = !strcmp(s_of(r, "kind"), "production") ? prod : !strcmp(s_of(r, "kind"), "costs") ? costs : oee;
    cr_expect_str_eq(s_of(r, "report_id"), s_of(mine, "report_id"));
    cr_expect(json_equal(json_object_get(r, "totals"), json_object_get(mine, "totals")), "the list's totals");
    cr_expect_str_eq(s_of(r, "generated_by"), mine == costs ? "u:amal/accountant" : "u:boss/manager");
    cr_expect_str_eq(s_of(json_object_get(r, "pdf"), "sha256"), s_of(json_object_get(mine, "pdf"), "sha256"));
  }
  cr_expect_eq(requested, 3);
  cr_expect_not_null(strstr(s_of(json_array_get(json_object_get(j, "accounting"), 0), "pdf"), "income-statement"));
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/control/reports?kind=oee&month=%s", month);
  cr_assert_eq(h_get(port, boss, path, &j, NULL), 200);
  json_array_foreach(json_object_get(j, "reports"), i, r) cr_expect_str_eq(s_of(r, "kind"), "oee");
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/control/reports/%s", s_of(prod, "report_id"));
  cr_assert_eq(h_get(port, boss, path, &j, NULL), 200);
  cr_expect_str_eq(s_of(j, "month"), month);
  json_decref(j);

  /* Refusals. */
  json_t *e = NULL;
  cr_expect_eq(post(planner, "{\"kind\":\"production\",\"month\":\"2026-01\"}", &e), 403);
  json_decref(e);
  cr_expect_eq(post(aud, "{\"kind\":\"production\",\"month\":\"2026-01\"}", &e), 403, "an auditor reads, not asks");
  json_decref(e);
  cr_expect_eq(post(boss, "{\"kind\":\"stock\",\"month\":\"2026-01\"}", &e), 422);
  cr_expect_str_eq(s_of(e, "code"), "invalid_kind");
  json_decref(e);
  cr_expect_eq(post(boss, "{\"kind\":\"oee\",\"month\":\"2026-13\"}", &e), 422);
  cr_expect_str_eq(s_of(e, "code"), "invalid_month");
  json_decref(e);
  cr_expect_eq(post(boss, "{\"kind\":\"oee\",\"month\":\"2999-01\"}", &e), 422);
  cr_expect_str_eq(s_of(e, "code"), "future_month");
  json_decref(e);
  cr_expect_eq(post(boss, "not json", &e), 400);
  json_decref(e);
  cr_expect_eq(h_get(port, planner, "/api/v1/control/reports", &j, NULL), 403);
  json_decref(j);
  cr_expect_eq(h_get(port, boss, "/api/v1/control/reports?month=2026-1", &j, NULL), 400);
  json_decref(j);
  cr_expect_eq(h_get(port, boss, "/api/v1/control/reports/0190a4b2-0000-7000-8000-0000000000ff", &j, NULL), 404);
  json_decref(j);
  cr_expect_eq(h_get(port, boss, "/api/v1/control/reports/nope", &j, NULL), 404);
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/control/reports/%s?format=docx", s_of(prod, "report_id"));
  cr_expect_eq(h_get(port, boss, path, &j, NULL), 400);
  json_decref(j);
  json_t *refusal = NULL;
  cr_expect_eq(h_command(port, adm, "control.report.record", "rx", NULL, "{}", &refusal), 422,
               "recorded through the reports route only");
  cr_expect_str_eq(s_of(refusal, "code"), "auth_route_only");
  json_decref(refusal);

  /* Month end: fofal-api generates last month's reports itself, once each, also when two
   * instances look (the first one's look comes a minute after its start, the second's every
   * 2 s: both may find them due; the decider records each once). */
  start_api2();
  int found = 0;
  for (int t = 0; t < 120 && found < 3; t++) {
    snprintf(path, sizeof path, "/api/v1/control/reports?month=%s", month);
    cr_assert_eq(h_get(port, boss, path, &j, NULL), 200);
    found = 0;
    json_array_foreach(json_object_get(j, "reports"), i, r) found += !strcmp(s_of(r, "source"), "month_end");
    json_decref(j);
    if (found < 3) sleep(1);
  }
  cr_assert_eq(found, 3, "the month-end reports of %s", month);
  sleep(5); /* more looks of the timer: nothing is generated twice */
  cr_assert_eq(h_get(port, boss, path, &j, NULL), 200);
  found = 0;
  json_array_foreach(json_object_get(j, "reports"), i, r) {
    if (strcmp(s_of(r, "source"), "month_end")) continue;
    found++;
    cr_expect_str_eq(s_of(r, "generated_by"), "s:fofal-api");
    const json_t *mine = !strcmp(s_of(r, "kind"), "production") ? prod : !strcmp(s_of(r, "kind"), "costs") ? costs : oee;
    cr_expect(json_equal(json_object_get(r, "totals"), json_object_get(mine, "totals")),
              "%s at month end: the same totals", s_of(r, "kind"));
  }
  cr_expect_eq(found, 3, "each month-end report once");
  json_decref(j);
  json_decref(prod);
  json_decref(costs);
  json_decref(oee);
  free(adm);
  free(boss);
  free(acc);
  free(aud);
  free(planner);
}
