/*
 * test_reports.c — control's monthly reports: the record's rules (commands/control/
 * reports.c, through the registry and an in-memory tenant), and the reports themselves
 * (api/control/reports.c): built from what their reads answer, with totals that are the
 * sums of the rows, an OEE worked out by hand, the CSV exact to the millime, and the PDF
 * looked at as a page — rendered to an image by poppler's pdftoppm (poppler-utils,
 * ops/setup), whose first page must have ink on it, chart bars included.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "commands.h"
#include "control/reports.h"
#include "decide.h"
#include "jsonschema.h"
#include "../production/world.h"

/* The read routes are linked (the API library); nothing posts to a loop here. */
void fofal__api_post(fofal_api_t *api, void (*fn)(fofal_api_t *api, void *arg), void *arg) {
  (void)api;
  (void)fn;
  (void)arg;
  cr_assert_fail("nothing posts to a loop in a unit test");
}

/* fontconfig (cairo's fonts) keeps its configuration for the life of the process. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig.so\n"; }

static fofal_registry_t *reg;

static void setup(void) {
  char err[512] = "";
  cr_assert_eq(fofal_registry_load(&reg, FOFAL_SOURCE_DIR "/schemas", err, sizeof err), 0, "registry: %s", err);
  world_init(reg);
  world_as("u:boss/manager", NULL);
}

static void teardown(void) {
  world_free();
  fofal_registry_free(reg);
  reg = NULL;
}

TestSuite(record, .init = setup, .fini = teardown);

#define ID "0190a4b2-0000-7000-8000-0000000000a1"
#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static json_t *record(const char *source, const char *csv, const char *pdf) {
  return json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:i},s:{s:s,s:i},s:i,s:{s:i}}", "report_id", ID, "kind", "production",
                   "month", "2026-11", "source", source, "csv", "sha256", csv, "size", 10, "pdf", "sha256", pdf, "size",
                   2000, "rows", 1, "totals", "pieces", 100);
}

static void check_event(const json_t *ev) {
  char err[256];
  json_t *sj = json_load_file(FOFAL_SOURCE_DIR "/schemas/control/events/report_generated.v1.json", 0, NULL);
  cr_assert_not_null(sj);
  fofal_schema_t *s = NULL;
  cr_assert_eq(fofal_schema_compile(&s, sj, "report_generated", err, sizeof err), 0, "%s", err);
  json_t *errors = NULL;
  int rc = fofal_schema_validate(s, json_object_get(ev, "data"), &errors);
  char *es = errors ? json_dumps(errors, JSON_COMPACT) : NULL;
  cr_expect_eq(rc, 0, "report_generated does not match its schema: %s", es ? es : "");
  free(es);
  json_decref(errors);
  fofal_schema_free(s);
  json_decref(sj);
}

Test(record, a_report_is_recorded_once_with_who_asked) {
  fofal_decision_t d;
  cr_assert_eq(world_decide_at("control.report.record", record("request", SHA_A, SHA_B), W_ISSUED, "r1", &d), 0,
               "%s: %s", d.code, d.detail);
  const json_t *ev = json_array_get(d.events, 0);
  cr_expect_str_eq(json_string_value(json_object_get(ev, "type")), "fofal.control.report_generated.v1");
  cr_expect_str_eq(jstr(json_object_get(ev, "data"), "generated_by"), "u:boss/manager", "who asked: the token's actor");
  check_event(ev);
  world_release(&d);
  world_no("control.report.record", record("request", SHA_A, SHA_B), "already_generated");
}

Test(record, month_end_reports_are_the_systems_own) {
  world_no("control.report.record", record("month_end", SHA_A, SHA_B), "service_only");
  world_as("s:fofal-api", NULL);
  world_ok("control.report.record", record("month_end", SHA_A, SHA_B), "m1");
  world_no("control.report.record", record("month_end", SHA_A, SHA_B), "already_generated");
}

Test(record, the_csv_and_the_pdf_are_two_files) {
  world_no("control.report.record", record("request", SHA_A, SHA_A), "same_file");
}

/* ------------------------------------------------------------ the reports */

static json_int_t total(const json_t *report, const char *col) {
  return json_integer_value(json_object_get(json_object_get(report, "totals"), col));
}

Test(build, production_totals_are_the_sums_of_its_articles) {
  json_t *in = json_pack("{s:[{s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:f},{s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:n}]}", "groups",
                         "article", "FT-1", "declarations", 2, "pieces", 100, "length_mm", 290000, "yarn_g", 30000,
                         "first_choice", 90, "second_choice", 6, "waste_pieces", 4, "first_choice_share", 0.9, "article",
                         "FT-2", "declarations", 1, "pieces", 50, "length_mm", 145000, "yarn_g", 0, "first_choice", 0,
                         "second_choice", 0, "waste_pieces", 0, "first_choice_share");
  json_t *r = fofal__ctl_report_build("production", "2026-11", in);
  cr_assert_not_null(r);
  cr_expect_eq(total(r, "declarations"), 3);
  cr_expect_eq(total(r, "pieces"), 150);
  cr_expect_eq(total(r, "length_mm"), 435000);
  cr_expect_eq(total(r, "yarn_g"), 30000);
  cr_expect_eq(total(r, "first_choice"), 90);
  cr_expect_null(json_object_get(json_object_get(r, "totals"), "first_choice_share"), "a share is not summed");
  cr_expect_null(fofal__ctl_report_build("stock", "2026-11", in), "no such kind");
  json_decref(r);
  json_decref(in);
}

/* L03 ran 36,000 s and stopped 9,000 s (a breakdown of 5,400, a set-up of 2,700, two
 * warp breaks of 900); 1,800 s were lost to reduced speed; of 100 pieces cut 10 were
 * rejected: availability 36,000/45,000 = 0.8, performance 34,200/36,000 = 0.95, quality
 * 0.9, OEE 0.684. L04 has no telemetry: no OEE. */
Test(build, oee_by_loom_worked_example) {
  json_t *in = json_pack(
      "{s:[{s:s,s:i,s:{s:i,s:i},s:{s:i,s:i},s:{s:i,s:i},s:{s:i},s:{s:i},s:{s:i},s:i},"
      "{s:s,s:i,s:{s:i,s:i},s:{s:i,s:i},s:{s:i,s:i},s:{s:n},s:{s:i},s:i}]}",
      "looms", "loom", "L03", "run_s", 36000, "breakdowns", "stops", 1, "seconds", 5400, "setup_adjustments", "stops", 1,
      "seconds", 2700, "small_stops", "stops", 2, "seconds", 900, "reduced_speed", "seconds", 1800, "startup_rejects",
      "pieces", 4, "production_rejects", "pieces", 6, "pieces_cut", 100, "loom", "L04", "run_s", 0, "breakdowns", "stops", 0, "seconds", 0,
      "setup_adjustments", "stops", 0, "seconds", 0, "small_stops", "stops", 1, "seconds", 60, "reduced_speed", "seconds",
      "production_rejects", "pieces", 0, "pieces_cut", 0);
  json_t *r = fofal__ctl_report_build("oee", "2026-11", in);
  const json_t *l03 = json_array_get(json_object_get(r, "rows"), 0), *l04 = json_array_get(json_object_get(r, "rows"), 1);
  cr_expect_eq(json_integer_value(json_object_get(l03, "stops_s")), 9000);
  cr_expect_float_eq(json_real_value(json_object_get(l03, "availability")), 0.8, 1e-9);
  cr_expect_float_eq(json_real_value(json_object_get(l03, "performance")), 0.95, 1e-9);
  cr_expect_float_eq(json_real_value(json_object_get(l03, "quality")), 0.9, 1e-9);
  cr_expect_float_eq(json_real_value(json_object_get(l03, "oee")), 0.684, 1e-9);
  cr_expect(json_is_null(json_object_get(l04, "oee")), "no telemetry, no OEE");
  cr_expect_eq(total(r, "stops_s"), 9060);
  cr_expect_eq(total(r, "small_stops"), 3);
  /* Quality loses the startup rejects (4) and the others (6): 90 of 100 pieces. */
  cr_expect_eq(total(r, "startup_rejects"), 4);
  cr_expect_eq(total(r, "production_rejects"), 6);
  cr_expect_eq(total(r, "reduced_speed_s"), 1800, "an unknown reduced speed adds nothing");
  json_decref(r);
  json_decref(in);
}

static json_t *costs_in(void) {
  return json_pack("{s:[{s:s,s:s,s:i,s:{s:i,s:{s:i,s:i},s:{s:i},s:i,s:i,s:b}},{s:s,s:s,s:i,s:{s:i,s:{s:i,s:i},s:{s:i},"
                   "s:i,s:n,s:b}}]}",
                   "orders", "order_id", "0190a4b2-0000-7000-8000-00000000000a", "article", "FT-1", "declarations", 1,
                   "cost", "pieces", 100, "yarn", "cost_minor", 381000, "unpriced_g", 0, "labour", "cost_minor", 90000,
                   "total_minor", 471000, "cost_per_piece_minor", 4710, "complete", 1, "order_id",
                   "0190a4b2-0000-7000-8000-00000000000b", "article", "FT-2", "declarations", 2, "cost", "pieces", 0,
                   "yarn", "cost_minor", 0, "unpriced_g", 5000, "labour", "cost_minor", 1, "total_minor", 1,
                   "cost_per_piece_minor", "complete", 0);
}

Test(build, costs_totals_are_the_sums_of_the_orders) {
  json_t *in = costs_in(), *r = fofal__ctl_report_build("costs", "2026-11", in);
  cr_expect_eq(total(r, "total_minor"), 471001);
  cr_expect_eq(total(r, "yarn_minor"), 381000);
  cr_expect_eq(total(r, "labour_minor"), 90001);
  cr_expect_eq(total(r, "pieces"), 100);
  cr_expect_eq(total(r, "unpriced_g"), 5000);
  cr_expect_null(json_object_get(json_object_get(r, "totals"), "cost_per_piece_minor"), "a price per piece is not summed");
  cr_expect_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(r, "rows"), 1), "complete")), "non");
  json_decref(r);
  json_decref(in);
}

/* Ink on the first page: the share of pixels of a 40 dpi grey rendering darker than
 * light grey, in 1/10,000. */
static long ink(const char *pdf, size_t len, long *pixels) {
  char dir[] = "/tmp/fofal-report-XXXXXX", in[64], cmd[256], out[96];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(in, sizeof in, "%s/r.pdf", dir);
  FILE *f = fopen(in, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(pdf, 1, len, f), len);
  fclose(f);
  snprintf(cmd, sizeof cmd, "pdftoppm -gray -r 40 -f 1 -l 1 %s %s/page", in, dir);
  cr_assert_eq(system(cmd), 0, "pdftoppm (poppler-utils) must render the PDF: ops/setup");
  snprintf(out, sizeof out, "%s/page-1.pgm", dir);
  f = fopen(out, "rb");
  cr_assert_not_null(f, "pdftoppm wrote no page");
  int w = 0, h = 0, max = 0;
  cr_assert_eq(fscanf(f, "P5 %d %d %d", &w, &h, &max), 3);
  fgetc(f);
  long dark = 0;
  *pixels = (long)w * h;
  for (long i = 0; i < *pixels; i++) {
    int c = fgetc(f);
    cr_assert_neq(c, EOF);
    if (c < 200) dark++;
  }
  fclose(f);
  unlink(out);
  unlink(in);
  rmdir(dir);
  return dark * 10000 / *pixels;
}

Test(render, the_csv_is_exact_and_the_pdf_is_a_page_with_ink) {
  json_t *in = costs_in(), *r = fofal__ctl_report_build("costs", "2026-11", in);
  char *csv = NULL, *pdf = NULL;
  size_t csv_len = 0, pdf_len = 0;
  cr_assert_eq(fofal__ctl_report_render(r, "demo", "édité le 2026-12-01 06:00 UTC", &csv, &csv_len, &pdf, &pdf_len), 0);
  char *text = strndup(csv, csv_len);
  cr_expect(!strncmp(text, "order,declarations,pieces,yarn_minor,labour_minor,machine_minor,overhead_minor,total_minor,"
                           "cost_per_piece_minor,complete,"
                           "order_id,article,unpriced_g\r\n",
                     strlen("order,declarations,pieces,yarn_minor,labour_minor,machine_minor,overhead_minor,total_minor,"
                            "cost_per_piece_minor,complete,"
                            "order_id,article,unpriced_g\r\n")),
            "%s", text);
  cr_expect_not_null(strstr(text, "FT-1 0190a4b2,1,100,381000,90000,0,0,471000,4710,oui,0190a4b2-0000-7000-8000-00000000000a,"
                                  "FT-1,0\r\n"),
                     "%s", text);
  cr_expect_not_null(strstr(text, "total,3,100,381000,90001,0,0,471001,,,,,5000\r\n"), "the totals row: %s", text);
  free(text);
  cr_assert(pdf_len > 1000 && !memcmp(pdf, "%PDF-", 5));
  long pixels = 0, share = ink(pdf, pdf_len, &pixels);
  cr_expect(pixels > 100000, "an A4 page at 40 dpi: %ld pixels", pixels);
  cr_expect(share > 50, "the page is not blank: %ld/10000 of it is ink", share);
  free(csv);
  free(pdf);

  /* The same report without its rows: the page still has its head, and less ink. */
  json_t *empty = json_pack("{s:[]}", "orders"), *r0 = fofal__ctl_report_build("costs", "2026-10", empty);
  cr_assert_eq(fofal__ctl_report_render(r0, "demo", "édité", &csv, &csv_len, &pdf, &pdf_len), 0);
  long share0 = ink(pdf, pdf_len, &pixels);
  cr_expect(share0 > 0 && share0 < share, "an empty month: %ld, with its orders and bars: %ld", share0, share);
  free(csv);
  free(pdf);
  json_decref(r0);
  json_decref(empty);
  json_decref(r);
  json_decref(in);
}

/* The text of a PDF (pdftotext -layout), new. */
static char *pdf_text(const char *pdf, size_t len) {
  char in[] = "/tmp/fofal-report-text-XXXXXX", cmd[128];
  int fd = mkstemp(in);
  cr_assert(fd >= 0);
  cr_assert_eq(write(fd, pdf, len), (ssize_t)len);
  close(fd);
  snprintf(cmd, sizeof cmd, "pdftotext -layout %s -", in);
  FILE *f = popen(cmd, "r");
  cr_assert_not_null(f);
  size_t cap = 1 << 16, n = 0, got;
  char *text = malloc(cap);
  while ((got = fread(text + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (n + 1 == cap) text = realloc(text, cap *= 2);
  }
  text[n] = 0;
  cr_assert_eq(pclose(f), 0);
  unlink(in);
  return text;
}

Test(render, a_long_report_goes_on_over_pages_with_its_totals_at_the_end) {
  json_t *orders = json_array();
  for (int i = 0; i < 120; i++) {
    char id[40];
    snprintf(id, sizeof id, "0190a4b2-0000-7000-8000-%012d", i);
    json_array_append_new(orders, json_pack("{s:s,s:s,s:i,s:{s:i,s:{s:i,s:i},s:{s:i},s:i,s:i,s:b}}", "order_id", id,
                                            "article", "FOUTA-NID-ABEILLE-100x200", "declarations", 1, "cost", "pieces",
                                            10, "yarn", "cost_minor", 1000 * i, "unpriced_g", 0, "labour", "cost_minor",
                                            500, "total_minor", 1000 * i + 500, "cost_per_piece_minor", 100 * i + 50,
                                            "complete", 1));
  }
  json_t *in = json_pack("{s:o}", "orders", orders), *r = fofal__ctl_report_build("costs", "2026-11", in);
  cr_expect_eq(total(r, "total_minor"), 1000 * (119 * 120 / 2) + 500 * 120);
  char *csv = NULL, *pdf = NULL;
  size_t csv_len = 0, pdf_len = 0;
  cr_assert_eq(fofal__ctl_report_render(r, "demo", "édité", &csv, &csv_len, &pdf, &pdf_len), 0);
  char *text = pdf_text(pdf, pdf_len);
  cr_expect_not_null(strstr(text, "page 1 / 3"), "%s", text);
  cr_expect_not_null(strstr(text, "page 3 / 3"));
  cr_expect_not_null(strstr(text, "7,200.000"), "the total of 7,140,000 + 60,000 millimes in TND");
  cr_expect_not_null(strstr(text, "Coût réel des ordres de fabrication"));
  free(text);
  free(csv);
  free(pdf);
  json_decref(r);
  json_decref(in);
}
