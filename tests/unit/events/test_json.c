/*
 * test_json.c — events/json.c: reals printed the shortest way that reads back the same,
 * characters counted as code points, and invalid UTF-8 scrubbed.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"

static void real_is(double v, const char *want) {
  char out[32];
  int n = fofal_json_real_format(v, out);
  cr_expect_str_eq(out, want, "%.17g prints as %s", v, out);
  cr_expect_eq(n, (int)strlen(want));
  cr_expect_eq(strtod(out, NULL), v, "%s reads back as the same double", out);
}

Test(json, reals_print_with_the_fewest_digits_that_read_back) {
  real_is(0.85, "0.85");          /* jansson alone: 0.84999999999999998 */
  real_is(31.88, "31.88");        /* jansson alone: 31.879999999999999 */
  real_is(0.1 + 0.2, "0.30000000000000004"); /* 15 digits would say 0.3: another double */
  real_is(1.0, "1.0");            /* still a real */
  real_is(-2.5, "-2.5");
  real_is(100.0, "100.0");
  real_is(0.0001, "0.0001");
  real_is(1e15, "1000000000000000.0");
  real_is(1e16, "1e16");
  real_is(1e20, "1e20");
  real_is(1.5e-7, "1.5e-7");
  real_is(5e-324, "5e-324");
  real_is(1.7976931348623157e308, "1.7976931348623157e308");
}

Test(json, dumps_rewrites_reals_only) {
  json_t *j = json_pack("{s:f,s:f,s:I,s:s,s:[f,f],s:b}", "efficiency", 0.85, "m", 31.88, "n", (json_int_t)12345678901234,
                        "text", "0.84999999999999998 stays -1e5", "list", 0.1 + 0.2, 100.0, "ok", 1);
  char *s = fofal_json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
  cr_expect_str_eq(s, "{\"efficiency\":0.85,\"m\":31.88,\"n\":12345678901234,\"text\":\"0.84999999999999998 stays -1e5\","
                      "\"list\":[0.30000000000000004,100.0],\"ok\":true}");
  json_t *back = json_loads(s, 0, NULL);
  cr_expect(json_equal(j, back), "the text reads back to the same values");
  json_decref(back);
  free(s);
  /* Escaped quotes inside strings do not end them. */
  json_t *k = json_pack("{s:s,s:f}", "a\"1.25", "x\\\"2.50000000000000001", "v", 2.5);
  s = fofal_json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS);
  cr_expect_str_eq(s, "{\"a\\\"1.25\":\"x\\\\\\\"2.50000000000000001\",\"v\":2.5}");
  free(s);
  json_decref(k);
  json_decref(j);
  cr_expect_null(fofal_json_dumps(NULL, 0));
}

Test(json, characters_are_code_points) {
  cr_expect_eq(fofal_utf8_chars("abc", 3), 3);
  const char *emoji = "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80";
  cr_expect_eq(strlen(emoji), 24);
  cr_expect_eq(fofal_utf8_chars(emoji, strlen(emoji)), 6, "six emoji are six characters");
  cr_expect_eq(fofal_utf8_chars("d\xC3\xA9j\xC3\xA0", 6), 4, "déjà");
  cr_expect_eq(fofal_utf8_chars("\xFF\xFE", 2), 2, "an invalid byte counts as one");
}

Test(json, scrub_makes_any_bytes_valid_utf8) {
  char *s = fofal_utf8_scrub("looms/\xFF?x=\xC3\xA9\xE0\x80\x80");
  cr_expect_str_eq(s, "looms/\xEF\xBF\xBD?x=\xC3\xA9\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", "overlong forms are refused too");
  json_t *j = json_string(s);
  cr_expect_not_null(j, "jansson takes the scrubbed text");
  json_decref(j);
  free(s);
  s = fofal_utf8_scrub("\xED\xA0\x80 \xF4\x90\x80\x80 ok");
  cr_expect_str_eq(s, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD ok",
                   "no surrogates, nothing above U+10FFFF");
  free(s);
  cr_expect_null(fofal_utf8_scrub(NULL));
}
