/* Tests for commands/jsonschema.c.
 *
 * 1. The official JSON-Schema-Test-Suite (Debian package json-schema-test-suite):
 *    every case of every draft-07 file in suite_files[] must give the expected
 *    validity, except the cases in skips[] (each with its reason).  The suite is
 *    looked up in $FOFAL_JSTS_DIR, then /usr/share/json-schema-test-suite; its
 *    remotes/ are registered as http://localhost:1234/..., so refRemote.json runs
 *    offline.  If $FOFAL_JSTS_METASCHEMA names a copy of the draft-07 metaschema,
 *    it is registered too and the metaschema cases run instead of being skipped.
 * 2. Unit tests for error pointers, multiple violations, caps, compile errors,
 *    numbers, strings, formats, the registry and concurrent use.
 */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jsonschema.h"

#define DEFAULT_JSTS_DIR "/usr/share/json-schema-test-suite"
#define METASCHEMA_URI "http://json-schema.org/draft-07/schema"

/* ---- the official suite ------------------------------------------------ */

static const struct suite_file {
  const char *name;
  size_t load_flags;
  int optional; /* absent in some suite versions */
} suite_files[] = {
    {"additionalItems.json", 0, 0},
    {"additionalProperties.json", 0, 0},
    {"allOf.json", 0, 0},
    {"anyOf.json", 0, 0},
    {"boolean_schema.json", 0, 0},
    {"const.json", 0, 0},
    {"contains.json", 0, 0},
    {"default.json", 0, 0},
    {"definitions.json", 0, 0},
    {"dependencies.json", 0, 0},
    {"enum.json", 0, 0},
    {"exclusiveMaximum.json", 0, 0},
    {"exclusiveMinimum.json", 0, 0},
    {"if-then-else.json", 0, 0},
    {"items.json", 0, 0},
    {"maxItems.json", 0, 0},
    {"maxLength.json", 0, 0},
    {"maxProperties.json", 0, 0},
    {"maximum.json", 0, 0},
    {"minItems.json", 0, 0},
    {"minLength.json", 0, 0},
    {"minProperties.json", 0, 0},
    {"minimum.json", 0, 0},
    {"multipleOf.json", 0, 0},
    {"not.json", 0, 0},
    {"oneOf.json", 0, 0},
    {"pattern.json", 0, 0},
    {"patternProperties.json", 0, 0},
    {"properties.json", 0, 0},
    {"propertyNames.json", 0, 0},
    {"ref.json", 0, 0},
    {"refRemote.json", 0, 0},
    {"required.json", 0, 0},
    {"type.json", 0, 0},
    {"uniqueItems.json", 0, 0},
    /* jansson rejects integers beyond 64 bits unless told to decode them as reals */
    {"optional/bignum.json", JSON_DECODE_INT_AS_REAL, 0},
    {"optional/zeroTerminatedFloats.json", 0, 0},
    {"optional/format/date-time.json", 0, 0},
    {"optional/format/date.json", 0, 0},
    {"optional/format/time.json", 0, 0},
    {"optional/format/uuid.json", 0, 1},
};

/* Skipped cases: file, case (group) description, test description (NULL: all
 * tests of the case), and why.  needs_meta: runs when a metaschema is given. */
static const struct skip {
  const char *file, *group, *test, *why;
  int needs_meta;
} skips[] = {
    {"definitions.json", "valid definition", NULL,
     "$ref to the draft-07 metaschema, which the Debian package does not ship", 1},
    {"definitions.json", "invalid definition", NULL,
     "$ref to the draft-07 metaschema, which the Debian package does not ship", 1},
    {"ref.json", "remote ref, containing refs itself", NULL,
     "$ref to the draft-07 metaschema, which the Debian package does not ship", 1},
};

static const char *suite_dir(void) {
  const char *d = getenv("FOFAL_JSTS_DIR");
  return d && *d ? d : DEFAULT_JSTS_DIR;
}

static int register_dir(fofal_schema_registry_t *reg, const char *dir, const char *uri) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;
  if (!d) return 0;
  while ((e = readdir(d))) {
    char path[1024], sub[1024];
    struct stat st;
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    snprintf(sub, sizeof sub, "%s%s", uri, e->d_name);
    if (stat(path, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      strncat(sub, "/", sizeof sub - strlen(sub) - 1);
      n += register_dir(reg, path, sub);
    } else if (strlen(e->d_name) > 5 && !strcmp(e->d_name + strlen(e->d_name) - 5, ".json")) {
      json_error_t jerr;
      json_t *doc = json_load_file(path, 0, &jerr);
      cr_assert_not_null(doc, "%s: %s", path, jerr.text);
      cr_assert_eq(fofal_schema_registry_add(reg, sub, doc), 0, "registering %s", sub);
      json_decref(doc);
      n++;
    }
  }
  closedir(d);
  return n;
}

static const struct skip *find_skip(const char *file, const char *group, const char *test, int have_meta) {
  size_t i;
  for (i = 0; i < sizeof skips / sizeof *skips; i++) {
    const struct skip *s = &skips[i];
    if (s->needs_meta && have_meta) continue;
    if (!strcmp(s->file, file) && !strcmp(s->group, group) && (!s->test || !strcmp(s->test, test))) return s;
  }
  return NULL;
}

Test(jsts, draft7_official_suite, .timeout = 120) {
  const char *dir = suite_dir(), *meta = getenv("FOFAL_JSTS_METASCHEMA");
  fofal_schema_registry_t *reg = fofal_schema_registry_new();
  char path[1024];
  size_t f, nfiles = 0, ngroups = 0, ncases = 0, npassed = 0, nskipped = 0;
  int have_meta = 0;
  struct stat st;
  cr_assert(stat(dir, &st) == 0 && S_ISDIR(st.st_mode),
            "JSON-Schema-Test-Suite not found at %s: install the Debian package json-schema-test-suite "
            "or set FOFAL_JSTS_DIR",
            dir);
  snprintf(path, sizeof path, "%s/remotes", dir);
  cr_assert_gt(register_dir(reg, path, "http://localhost:1234/"), 0, "no remotes in %s", path);
  if (meta && *meta) {
    json_error_t jerr;
    json_t *m = json_load_file(meta, 0, &jerr);
    cr_assert_not_null(m, "FOFAL_JSTS_METASCHEMA=%s: %s", meta, jerr.text);
    cr_assert_eq(fofal_schema_registry_add(reg, METASCHEMA_URI, m), 0);
    json_decref(m);
    have_meta = 1;
  }

  for (f = 0; f < sizeof suite_files / sizeof *suite_files; f++) {
    const struct suite_file *sf = &suite_files[f];
    json_error_t jerr;
    json_t *groups, *group;
    size_t g;

    snprintf(path, sizeof path, "%s/tests/draft7/%s", dir, sf->name);
    if (sf->optional && stat(path, &st) != 0) continue;
    groups = json_load_file(path, sf->load_flags, &jerr);
    cr_assert_not_null(groups, "%s: %s (line %d)", path, jerr.text, jerr.line);
    nfiles++;
    json_array_foreach(groups, g, group) {
      const char *gdesc = json_string_value(json_object_get(group, "description"));
      json_t *tests = json_object_get(group, "tests"), *t;
      fofal_schema_t *schema = NULL;
      char err[512] = "";
      int crc;
      size_t k;

      ngroups++;
      crc = fofal_schema_compile_ex(&schema, json_object_get(group, "schema"), NULL, reg, err, sizeof err);
      json_array_foreach(tests, k, t) {
        const char *tdesc = json_string_value(json_object_get(t, "description"));
        int expect_valid = json_is_true(json_object_get(t, "valid"));
        const struct skip *sk = find_skip(sf->name, gdesc, tdesc, have_meta);
        json_t *errors = NULL;
        int rc, rc_quiet;

        ncases++;
        if (sk) {
          nskipped++;
          continue;
        }
        cr_expect_eq(crc, 0, "%s | %s: schema failed to compile (%d): %s", sf->name, gdesc, crc, err);
        if (crc != 0) continue;
        rc = fofal_schema_validate(schema, json_object_get(t, "data"), &errors);
        rc_quiet = fofal_schema_validate(schema, json_object_get(t, "data"), NULL);
        if (rc == !expect_valid && rc_quiet == rc && (json_array_size(errors) == 0) == expect_valid) {
          npassed++;
        } else {
          char *dump = json_dumps(errors, JSON_COMPACT);
          cr_expect_fail("%s | %s | %s: expected %s, got rc=%d (without details: %d), errors=%s", sf->name, gdesc,
                         tdesc, expect_valid ? "valid" : "invalid", rc, rc_quiet, dump ? dump : "null");
          free(dump);
        }
        json_decref(errors);
      }
      /* every data item of the file against this schema: never an error,
             * and the error list agrees with the result */
      for (k = 0; crc == 0 && k < json_array_size(groups); k++) {
        json_t *tt, *errors = NULL;
        size_t m;
        json_array_foreach(json_object_get(json_array_get(groups, k), "tests"), m, tt) {
          int rc = fofal_schema_validate(schema, json_object_get(tt, "data"), &errors);
          cr_expect(rc == fofal_schema_validate(schema, json_object_get(tt, "data"), NULL) && (rc == 0 || rc == 1) &&
                        (json_array_size(errors) == 0) == (rc == 0),
                    "%s | %s: inconsistent result %d for data of case %zu", sf->name, gdesc, rc, k);
          json_decref(errors);
        }
      }
      fofal_schema_free(schema);
    }
    json_decref(groups);
  }
  fofal_schema_registry_free(reg);
  cr_log_info("JSON-Schema-Test-Suite draft7: files=%zu groups=%zu cases=%zu passed=%zu skipped=%zu failed=%zu", nfiles,
              ngroups, ncases, npassed, nskipped, ncases - npassed - nskipped);
  printf("JSON-Schema-Test-Suite draft7: files=%zu groups=%zu cases=%zu passed=%zu skipped=%zu failed=%zu\n", nfiles,
         ngroups, ncases, npassed, nskipped, ncases - npassed - nskipped);
  fflush(stdout);
  cr_expect_geq(nfiles, 40, "expected at least 40 suite files, loaded %zu", nfiles);
  cr_expect_geq(npassed, 400, "suspiciously few passing cases: %zu", npassed);
}

/* ---- helpers ----------------------------------------------------------- */

static json_t *J(const char *text) {
  json_error_t jerr;
  json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
  cr_assert_not_null(j, "bad test JSON %s: %s", text, jerr.text);
  return j;
}

static fofal_schema_t *compile_ok(const char *schema_text) {
  json_t *root = J(schema_text);
  fofal_schema_t *s = NULL;
  char err[256];
  int rc = fofal_schema_compile(&s, root, NULL, err, sizeof err);
  json_decref(root);
  cr_assert_eq(rc, 0, "compile %s: %d %s", schema_text, rc, err);
  return s;
}

static int compile_rc(const char *schema_text, char *err, size_t errlen) {
  json_t *root = J(schema_text);
  fofal_schema_t *s = (fofal_schema_t *)&root; /* must be reset to NULL on error */
  int rc = fofal_schema_compile(&s, root, NULL, err, errlen);
  json_decref(root);
  if (rc == 0)
    fofal_schema_free(s);
  else
    cr_expect_null(s, "*out must be NULL after a failed compile");
  return rc;
}

/* Validates instance_text; returns rc and (if errors != NULL) the errors. */
static int check(const char *schema_text, const char *instance_text, json_t **errors) {
  fofal_schema_t *s = compile_ok(schema_text);
  json_t *inst = J(instance_text);
  int rc = fofal_schema_validate(s, inst, errors);
  json_decref(inst);
  fofal_schema_free(s);
  return rc;
}

static int valid(const char *schema_text, const char *instance_text) {
  int rc = check(schema_text, instance_text, NULL);
  cr_assert(rc == 0 || rc == 1, "validate %s against %s: rc %d", instance_text, schema_text, rc);
  return rc == 0;
}

/* Finds an error with this pointer and keyword; returns its message or NULL. */
static const char *find_err(const json_t *errors, const char *pointer, const char *keyword) {
  size_t i;
  json_t *e;
  json_array_foreach(errors, i, e) {
    if (!strcmp(json_string_value(json_object_get(e, "pointer")), pointer) &&
        !strcmp(json_string_value(json_object_get(e, "keyword")), keyword))
      return json_string_value(json_object_get(e, "message"));
  }
  return NULL;
}

static char *dump(const json_t *j) {
  static char buf[4096];
  char *d = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
  snprintf(buf, sizeof buf, "%s", d ? d : "null");
  free(d);
  return buf;
}

/* ---- error reporting --------------------------------------------------- */

Test(jsonschema, error_pointer_into_array) {
  json_t *errors = NULL;
  int rc = check("{\"properties\":{\"a\":{\"items\":{\"type\":\"integer\"}}}}", "{\"a\":[1,\"x\"]}", &errors);
  cr_assert_eq(rc, 1);
  cr_assert_eq(json_array_size(errors), 1, "%s", dump(errors));
  cr_expect_str_eq(find_err(errors, "/a/1", "type"), "must be integer", "%s", dump(errors));
  json_decref(errors);
}

Test(jsonschema, error_pointer_escaping_and_minimum_message) {
  json_t *errors = NULL;
  int rc = check("{\"properties\":{\"items\":{\"items\":{\"properties\":{\"qty\":{\"minimum\":1}}}},"
                 "\"a/b~c\":{\"type\":\"string\"}}}",
                 "{\"items\":[{\"qty\":1},{\"qty\":2},{\"qty\":3},{\"qty\":0}],\"a/b~c\":5}", &errors);

  cr_assert_eq(rc, 1);
  cr_expect_str_eq(find_err(errors, "/items/3/qty", "minimum"), "must be >= 1", "%s", dump(errors));
  cr_expect_not_null(find_err(errors, "/a~1b~0c", "type"), "%s", dump(errors));
  cr_expect_eq(json_array_size(errors), 2, "%s", dump(errors));
  json_decref(errors);
}

Test(jsonschema, reports_every_violation) {
  json_t *errors = NULL;
  int rc = check("{\"type\":\"object\",\"required\":[\"id\",\"qty\"],"
                 "\"properties\":{\"qty\":{\"type\":\"integer\",\"minimum\":1,\"multipleOf\":2},"
                 "\"name\":{\"type\":\"string\",\"maxLength\":3,\"pattern\":\"^[a-z]+$\"},"
                 "\"when\":{\"format\":\"date-time\"}},"
                 "\"additionalProperties\":false}",
                 "{\"qty\":-1,\"name\":\"ABCDEF\",\"x\":1,\"when\":\"yesterday\"}", &errors);

  cr_assert_eq(rc, 1);
  cr_expect_not_null(find_err(errors, "/id", "required"), "%s", dump(errors));
  cr_expect_not_null(find_err(errors, "/qty", "minimum"), "%s", dump(errors));
  cr_expect_not_null(find_err(errors, "/qty", "multipleOf"), "%s", dump(errors));
  cr_expect_not_null(find_err(errors, "/name", "maxLength"), "%s", dump(errors));
  cr_expect_not_null(find_err(errors, "/name", "pattern"), "%s", dump(errors));
  cr_expect_not_null(find_err(errors, "/when", "format"), "%s", dump(errors));
  cr_expect_not_null(find_err(errors, "/x", "additionalProperties"), "%s", dump(errors));
  cr_expect_eq(json_array_size(errors), 7, "%s", dump(errors));
  json_decref(errors);
}

Test(jsonschema, valid_instance_gives_empty_error_array) {
  json_t *errors = NULL;
  cr_assert_eq(check("{\"type\":\"object\"}", "{}", &errors), 0);
  cr_assert(json_is_array(errors) && json_array_size(errors) == 0);
  json_decref(errors);
}

Test(jsonschema, error_list_is_capped) {
  json_t *errors = NULL, *inst = json_array();
  fofal_schema_t *s = compile_ok("{\"items\":{\"type\":\"string\"}}");
  int i;
  for (i = 0; i < 500; i++) json_array_append_new(inst, json_integer(i));
  cr_assert_eq(fofal_schema_validate(s, inst, &errors), 1);
  cr_expect_eq(json_array_size(errors), FOFAL_SCHEMA_MAX_ERRORS);
  cr_expect_not_null(find_err(errors, "/63", "type"));
  json_decref(errors);
  json_decref(inst);
  fofal_schema_free(s);
}

Test(jsonschema, combinators_report_at_their_own_keyword) {
  json_t *errors = NULL;
  cr_assert_eq(check("{\"properties\":{\"v\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]},"
                     "\"w\":{\"oneOf\":[{\"minimum\":0},{\"maximum\":10}]},\"n\":{\"not\":{\"type\":\"integer\"}},"
                     "\"c\":{\"contains\":{\"const\":1}},\"e\":{\"enum\":[\"a\",\"b\"]},"
                     "\"k\":{\"propertyNames\":{\"maxLength\":2}}}}",
                     "{\"v\":1,\"w\":5,\"n\":3,\"c\":[2,3],\"e\":\"z\",\"k\":{\"ok\":1,\"toolong\":2}}", &errors),
               1);
  cr_expect_not_null(find_err(errors, "/v", "anyOf"), "%s", dump(errors));
  cr_expect_not_null(find_err(errors, "/w", "oneOf"), "%s", dump(errors));
  cr_expect_not_null(find_err(errors, "/n", "not"), "%s", dump(errors));
  cr_expect_not_null(find_err(errors, "/c", "contains"), "%s", dump(errors));
  cr_expect_str_eq(find_err(errors, "/e", "enum"), "must be one of [\"a\",\"b\"]", "%s", dump(errors));
  cr_expect_not_null(find_err(errors, "/k/toolong", "propertyNames"), "%s", dump(errors));
  cr_expect_eq(json_array_size(errors), 6, "%s", dump(errors));
  json_decref(errors);
}

Test(jsonschema, then_branch_errors_are_reported) {
  json_t *errors = NULL;
  cr_assert_eq(check("{\"if\":{\"properties\":{\"kind\":{\"const\":\"sale\"}}},"
                     "\"then\":{\"required\":[\"price\"]},\"else\":{\"required\":[\"cost\"]}}",
                     "{\"kind\":\"sale\"}", &errors),
               1);
  cr_expect_not_null(find_err(errors, "/price", "required"), "%s", dump(errors));
  json_decref(errors);
  cr_expect(valid("{\"if\":{\"const\":1},\"then\":false}", "2"));
  cr_expect(!valid("{\"if\":{\"const\":1},\"then\":false}", "1"));
}

/* ---- caps ---------------------------------------------------------------- */

static json_t *nested_array(int depth) {
  json_t *j = json_array();
  int i;
  for (i = 0; i < depth; i++) {
    json_t *outer = json_array();
    json_array_append_new(outer, j);
    j = outer;
  }
  return j;
}

Test(jsonschema, instance_depth_cap) {
  fofal_schema_t *s = compile_ok("{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}}");
  json_t *shallow = nested_array(FOFAL_SCHEMA_MAX_DEPTH), *deep = nested_array(10000), *errors = NULL;
  json_t *last;
  cr_expect_eq(fofal_schema_validate(s, shallow, NULL), 0);
  cr_assert_eq(fofal_schema_validate(s, deep, &errors), FOFAL_SCHEMA_ETOODEEP);
  cr_assert_gt(json_array_size(errors), 0);
  last = json_array_get(errors, json_array_size(errors) - 1);
  cr_expect_str_eq(json_string_value(json_object_get(last, "keyword")), "$depth", "%s", dump(errors));
  cr_expect_eq(fofal_schema_validate(s, deep, NULL), FOFAL_SCHEMA_ETOODEEP);
  json_decref(errors);
  json_decref(shallow);
  json_decref(deep);
  fofal_schema_free(s);
}

Test(jsonschema, deep_instance_is_fine_when_schema_does_not_descend) {
  fofal_schema_t *s = compile_ok("{\"type\":\"array\",\"maxItems\":1}");
  json_t *deep = nested_array(1000);
  cr_expect_eq(fofal_schema_validate(s, deep, NULL), 0);
  json_decref(deep);
  fofal_schema_free(s);
}

Test(jsonschema, schema_depth_cap) {
  json_t *root = json_object(), *cur = root;
  fofal_schema_t *s = NULL;
  char err[256] = "";
  int i;
  for (i = 0; i < 200; i++) {
    json_t *sub = json_object();
    json_object_set_new(cur, "not", sub);
    cur = sub;
  }
  cr_assert_eq(fofal_schema_compile(&s, root, NULL, err, sizeof err), FOFAL_SCHEMA_ETOODEEP);
  cr_expect_null(s);
  cr_expect(strstr(err, "deeper than") != NULL, "message: %s", err);
  cr_expect(strstr(err, "#/not/not/") != NULL, "message should name the location: %s", err);
  json_decref(root);
}

Test(jsonschema, evaluation_depth_cap_on_long_ref_chains) {
  json_t *root = json_object(), *defs = json_object(), *errors = NULL, *inst = json_integer(1);
  fofal_schema_t *s = NULL;
  char name[32], ref[64], err[256];
  int i;
  for (i = 0; i < 2000; i++) {
    snprintf(name, sizeof name, "d%d", i);
    snprintf(ref, sizeof ref, "#/definitions/d%d", i + 1);
    json_object_set_new(defs, name, json_pack("{s:[{s:s}]}", "allOf", "$ref", ref));
  }
  json_object_set_new(defs, "d2000", json_true());
  json_object_set_new(root, "definitions", defs);
  json_object_set_new(root, "$ref", json_string("#/definitions/d0"));
  cr_assert_eq(fofal_schema_compile(&s, root, NULL, err, sizeof err), 0, "%s", err);
  cr_expect_eq(fofal_schema_validate(s, inst, &errors), FOFAL_SCHEMA_ETOODEEP);
  cr_expect_str_eq(json_string_value(json_object_get(json_array_get(errors, 0), "keyword")), "$depth");
  json_decref(errors);
  json_decref(inst);
  json_decref(root);
  fofal_schema_free(s);
}

Test(jsonschema, recursive_schema_validates_recursive_data) {
  const char *tree = "{\"type\":\"object\",\"required\":[\"v\"],\"properties\":{\"v\":{\"type\":\"integer\"},"
                     "\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}}}}";
  json_t *errors = NULL;
  cr_expect(valid(tree, "{\"v\":1,\"kids\":[{\"v\":2},{\"v\":3,\"kids\":[{\"v\":4}]}]}"));
  cr_assert_eq(check(tree, "{\"v\":1,\"kids\":[{\"v\":2},{\"v\":3,\"kids\":[{\"v\":\"x\"}]}]}", &errors), 1);
  cr_expect_not_null(find_err(errors, "/kids/1/kids/0/v", "type"), "%s", dump(errors));
  json_decref(errors);
}

/* ---- compile errors ------------------------------------------------------ */

Test(jsonschema, invalid_schemas_are_rejected_with_a_message) {
  static const struct {
    const char *schema;
    int rc;
    const char *in_msg;
  } cases[] = {
      {"{\"type\":\"integr\"}", FOFAL_SCHEMA_EINVAL, "#/type"},
      {"{\"minimum\":\"1\"}", FOFAL_SCHEMA_EINVAL, "#/minimum: must be a number"},
      {"{\"properties\":{\"a\":{\"maxLength\":-1}}}", FOFAL_SCHEMA_EINVAL, "#/properties/a/maxLength"},
      {"{\"pattern\":\"([a-z\"}", FOFAL_SCHEMA_EINVAL, "regular expression"},
      {"{\"patternProperties\":{\"(\":{}}}", FOFAL_SCHEMA_EINVAL, "#/patternProperties/("},
      {"{\"multipleOf\":0}", FOFAL_SCHEMA_EINVAL, "greater than 0"},
      {"{\"required\":[1]}", FOFAL_SCHEMA_EINVAL, "#/required"},
      {"{\"allOf\":[]}", FOFAL_SCHEMA_EINVAL, "#/allOf"},
      {"{\"items\":[{}, 3]}", FOFAL_SCHEMA_EINVAL, "#/items/1"},
      {"{\"definitions\":{\"x\":{\"type\":7}}}", FOFAL_SCHEMA_EINVAL, "#/definitions/x/type"},
      {"42", FOFAL_SCHEMA_EINVAL, "object or a boolean"},
      {"{\"$ref\":\"#/definitions/missing\"}", FOFAL_SCHEMA_ENOREF, "missing"},
      {"{\"$ref\":\"other.json#/x\"}", FOFAL_SCHEMA_ENOREF, "other.json"},
      {"{\"$ref\":\"#\"}", FOFAL_SCHEMA_ELOOP, "circular"},
      {"{\"definitions\":{\"a\":{\"anyOf\":[{\"type\":\"string\"},{\"$ref\":\"#/definitions/a\"}]}},"
       "\"$ref\":\"#/definitions/a\"}",
       FOFAL_SCHEMA_ELOOP, "circular"},
  };
  size_t i;
  for (i = 0; i < sizeof cases / sizeof *cases; i++) {
    char err[256] = "";
    int rc = compile_rc(cases[i].schema, err, sizeof err);
    cr_expect_eq(rc, cases[i].rc, "%s: rc %d (%s)", cases[i].schema, rc, err);
    cr_expect(strstr(err, cases[i].in_msg) != NULL, "%s: message \"%s\" lacks \"%s\"", cases[i].schema, err,
              cases[i].in_msg);
  }
}

Test(jsonschema, bad_arguments) {
  fofal_schema_t *s = compile_ok("{}");
  json_t *errors = json_true(), *inst = json_null();
  cr_expect_eq(fofal_schema_validate(NULL, inst, &errors), FOFAL_SCHEMA_EINVAL);
  cr_expect_null(errors);
  cr_expect_eq(fofal_schema_validate(s, NULL, NULL), FOFAL_SCHEMA_EINVAL);
  cr_expect_eq(fofal_schema_compile(NULL, inst, NULL, NULL, 0), FOFAL_SCHEMA_EINVAL);
  fofal_schema_free(s);
  fofal_schema_free(NULL);
  fofal_schema_registry_free(NULL);
}

/* ---- semantics ----------------------------------------------------------- */

Test(jsonschema, integers_and_multiple_of) {
  cr_expect(valid("{\"type\":\"integer\"}", "1.0"));
  cr_expect(!valid("{\"type\":\"integer\"}", "1.5"));
  cr_expect(valid("{\"type\":\"integer\"}", "1e300"));
  cr_expect(valid("{\"multipleOf\":0.0001}", "0.0075"));
  cr_expect(!valid("{\"multipleOf\":0.0001}", "0.00751"));
  cr_expect(valid("{\"multipleOf\":0.01}", "19.99"));
  cr_expect(valid("{\"multipleOf\":0.1}", "0.3"));
  cr_expect(!valid("{\"multipleOf\":0.01}", "10000000000.005"));
  cr_expect(valid("{\"multipleOf\":2}", "4.0"));
  cr_expect(!valid("{\"multipleOf\":3}", "10"));
  cr_expect(valid("{\"multipleOf\":3}", "9223372036854775806"));
  /* quotient overflows to infinity: not a multiple, no crash */
  cr_expect(!valid("{\"type\":\"integer\",\"multipleOf\":0.123456789}", "1e308"));
  cr_expect(!valid("{\"multipleOf\":1e-300}", "1e300"));
}

Test(jsonschema, number_comparisons_are_exact_across_int_and_real) {
  cr_expect(!valid("{\"maximum\":9007199254740992}", "9007199254740993"));
  cr_expect(valid("{\"maximum\":9007199254740992.0}", "9007199254740992"));
  cr_expect(!valid("{\"maximum\":9007199254740992.0}", "9007199254740993"));
  cr_expect(valid("{\"exclusiveMinimum\":0}", "1e-300"));
  cr_expect(!valid("{\"exclusiveMaximum\":1.0}", "1"));
  cr_expect(valid("{\"minimum\":-9.3e18}", "-9223372036854775808"));
}

Test(jsonschema, string_length_counts_code_points) {
  cr_expect(valid("{\"maxLength\":3}", "\"\\u65e5\\u672c\\u8a9e\""));
  cr_expect(!valid("{\"minLength\":4}", "\"\\u65e5\\u672c\\u8a9e\""));
  cr_expect(valid("{\"maxLength\":1}", "\"\\ud83d\\ude00\""));
  cr_expect(!valid("{\"maxLength\":2}", "\"abc\""));
  cr_expect(valid("{\"maxLength\":2.0}", "\"ab\""));
}

Test(jsonschema, patterns_are_unanchored_utf8_regexes) {
  cr_expect(valid("{\"pattern\":\"b\"}", "\"abc\""));
  cr_expect(!valid("{\"pattern\":\"^b\"}", "\"abc\""));
  cr_expect(valid("{\"pattern\":\"^.$\"}", "\"\\u00e9\""));
  cr_expect(!valid("{\"pattern\":\"^a$\"}", "\"a\\n\""));
  cr_expect(valid("{\"pattern\":\"^\\\\p{L}+$\"}", "\"\\u00c9t\\u00e9\""));
  cr_expect(valid("{\"patternProperties\":{\"^x-\":{\"type\":\"string\"}},\"additionalProperties\":false}",
                  "{\"x-a\":\"1\"}"));
  cr_expect(!valid("{\"patternProperties\":{\"^x-\":{\"type\":\"string\"}},\"additionalProperties\":false}",
                   "{\"y\":\"1\"}"));
}

Test(jsonschema, unique_items_uses_json_equality) {
  json_t *errors = NULL, *big = json_array();
  fofal_schema_t *s = compile_ok("{\"uniqueItems\":true}");
  int i;
  cr_expect(!valid("{\"uniqueItems\":true}", "[1, 1.0]"));
  cr_expect(!valid("{\"uniqueItems\":true}", "[{\"a\":1,\"b\":[2]},{\"b\":[2.0],\"a\":1}]"));
  cr_expect(valid("{\"uniqueItems\":true}", "[0, false, null, \"0\", [0], {\"0\":0}]"));
  for (i = 0; i < 1000; i++) json_array_append_new(big, i % 2 ? json_integer(i) : json_real(i + 0.5));
  cr_expect_eq(fofal_schema_validate(s, big, NULL), 0);
  json_array_append_new(big, json_real(777.0));
  cr_assert_eq(fofal_schema_validate(s, big, &errors), 1);
  cr_expect_str_eq(find_err(errors, "", "uniqueItems"), "items 777 and 1000 are equal", "%s", dump(errors));
  json_decref(errors);
  json_decref(big);
  fofal_schema_free(s);
}

Test(jsonschema, formats) {
  cr_expect(valid("{\"format\":\"uuid\"}", "\"2EB8AA08-AA98-11EA-B4AA-73B441D16380\""));
  cr_expect(!valid("{\"format\":\"uuid\"}", "\"2eb8aa08-aa98-11ea-b4aa-73b441d1638\""));
  cr_expect(!valid("{\"format\":\"uuid\"}", "\"2eb8aa08aa9811eab4aa73b441d16380\""));
  cr_expect(valid("{\"format\":\"date\"}", "\"2024-02-29\""));
  cr_expect(!valid("{\"format\":\"date\"}", "\"2023-02-29\""));
  cr_expect(!valid("{\"format\":\"date\"}", "\"2023-13-01\""));
  cr_expect(valid("{\"format\":\"date-time\"}", "\"1998-12-31T23:59:60Z\""));
  cr_expect(valid("{\"format\":\"date-time\"}", "\"1998-12-31T15:59:60.123-08:00\""));
  cr_expect(!valid("{\"format\":\"date-time\"}", "\"1998-12-31T22:59:60Z\""));
  cr_expect(!valid("{\"format\":\"date-time\"}", "\"1998-12-31T23:59:59\""));
  cr_expect(valid("{\"format\":\"time\"}", "\"08:30:06+02:00\""));
  cr_expect(!valid("{\"format\":\"time\"}", "\"08:30:06.Z\""));
  cr_expect(valid("{\"format\":\"email\"}", "\"not checked\""));
  cr_expect(valid("{\"format\":\"uuid\"}", "12"));
}

Test(jsonschema, formats_never_read_past_the_string) {
  static const char *const fmts[] = {"date-time", "date", "time", "uuid"};
  static const char *const full[] = {"1998-12-31T15:59:60.123-08:00", "15:59:60.123+08:00", "1998-12-31Z",
                                     "2eb8aa08-aa98-11ea-b4aa-73b441d16380", "12:00:00."};
  size_t f, k, len;
  char schema[64];
  for (f = 0; f < sizeof fmts / sizeof *fmts; f++) {
    fofal_schema_t *s;
    snprintf(schema, sizeof schema, "{\"format\":\"%s\"}", fmts[f]);
    s = compile_ok(schema);
    for (k = 0; k < sizeof full / sizeof *full; k++)
      for (len = 0; len <= strlen(full[k]); len++) {
        json_t *str = json_stringn(full[k], len); /* exact-size copy: ASan sees over-reads */
        int rc = fofal_schema_validate(s, str, NULL);
        cr_expect(rc == 0 || rc == 1, "%s on %.*s: %d", fmts[f], (int)len, full[k], rc);
        json_decref(str);
      }
    fofal_schema_free(s);
  }
}

Test(jsonschema, refs_with_ids_anchors_and_escapes) {
  cr_expect(
      valid("{\"$id\":\"http://x.test/root.json\",\"definitions\":{\"a\":{\"$id\":\"#foo\",\"type\":\"integer\"}},"
            "\"properties\":{\"p\":{\"$ref\":\"#foo\"},\"q\":{\"$ref\":\"root.json#/definitions/a\"}}}",
            "{\"p\":1,\"q\":2}"));
  cr_expect(
      !valid("{\"$id\":\"http://x.test/root.json\",\"definitions\":{\"a\":{\"$id\":\"#foo\",\"type\":\"integer\"}},"
             "\"properties\":{\"p\":{\"$ref\":\"#foo\"}}}",
             "{\"p\":\"s\"}"));
  cr_expect(!valid("{\"definitions\":{\"a b\":{\"type\":\"integer\"}},\"$ref\":\"#/definitions/a%20b\"}", "\"s\""));
  cr_expect(
      !valid("{\"$id\":\"http://x.test/a/b/c.json\",\"definitions\":{\"d\":{\"$id\":\"../d.json\",\"type\":\"null\"}},"
             "\"properties\":{\"p\":{\"$ref\":\"http://x.test/a/d.json\"}}}",
             "{\"p\":1}"));
  /* draft-07: an $id beside $ref is ignored, so "x.json" resolves against the document, not the $id */
  cr_expect(!valid("{\"$id\":\"http://x.test/base/\",\"definitions\":{\"i\":{\"$id\":\"x.json\",\"type\":\"integer\"},"
                   "\"s\":{\"$id\":\"http://x.test/x.json\",\"type\":\"string\"}},"
                   "\"allOf\":[{\"$id\":\"http://x.test/\",\"$ref\":\"x.json\"}]}",
                   "\"s\""));
}

Test(jsonschema, registry_documents_outlive_the_registry) {
  fofal_schema_registry_t *reg = fofal_schema_registry_new();
  json_t *common = J("{\"definitions\":{\"qty\":{\"type\":\"integer\",\"minimum\":1}}}");
  json_t *root = J("{\"$id\":\"https://fofal.test/schemas/order.json\",\"properties\":{\"qty\":"
                   "{\"$ref\":\"common.json#/definitions/qty\"}}}");
  json_t *good = J("{\"qty\":3}"), *bad = J("{\"qty\":0}"), *errors = NULL;
  fofal_schema_t *s = NULL;
  char err[256];
  cr_assert_eq(fofal_schema_registry_add(reg, "https://fofal.test/schemas/common.json#", common), 0);
  cr_expect_eq(fofal_schema_registry_add(reg, "https://fofal.test/schemas/common.json", common), FOFAL_SCHEMA_EEXIST);
  cr_expect_eq(fofal_schema_registry_add(reg, "https://fofal.test/x.json#/a", common), FOFAL_SCHEMA_EINVAL);
  json_decref(common);
  cr_assert_eq(fofal_schema_compile_ex(&s, root, NULL, reg, err, sizeof err), 0, "%s", err);
  fofal_schema_registry_free(reg);
  json_object_clear(root); /* the schema keeps its own copy */
  json_decref(root);
  cr_expect_eq(fofal_schema_validate(s, good, NULL), 0);
  cr_expect_eq(fofal_schema_validate(s, bad, &errors), 1);
  cr_expect_not_null(find_err(errors, "/qty", "minimum"), "%s", dump(errors));
  json_decref(errors);
  json_decref(good);
  json_decref(bad);
  fofal_schema_free(s);
}

Test(jsonschema, boolean_schemas) {
  json_t *errors = NULL;
  cr_expect(valid("true", "{\"any\":1}"));
  cr_assert_eq(check("false", "1", &errors), 1);
  cr_expect_not_null(find_err(errors, "", "false"), "%s", dump(errors));
  json_decref(errors);
}

/* ---- concurrency --------------------------------------------------------- */

struct worker {
  const fofal_schema_t *s;
  json_t *good, *bad;
  int failures;
};

static void *work(void *arg) {
  struct worker *w = arg;
  int i;
  for (i = 0; i < 300; i++) {
    json_t *errors = NULL;
    if (fofal_schema_validate(w->s, w->good, NULL) != 0) w->failures++;
    if (fofal_schema_validate(w->s, w->bad, &errors) != 1 || json_array_size(errors) != 3) w->failures++;
    json_decref(errors);
  }
  return NULL;
}

Test(jsonschema, one_schema_many_threads) {
  fofal_schema_t *s = compile_ok("{\"type\":\"array\",\"uniqueItems\":true,\"items\":{\"type\":\"object\","
                                 "\"properties\":{\"sku\":{\"pattern\":\"^[A-Z]{3}-[0-9]+$\"},"
                                 "\"qty\":{\"minimum\":1}}}}");
  json_t *good = J("[{\"sku\":\"ABC-1\",\"qty\":1},{\"sku\":\"XYZ-22\",\"qty\":2}]");
  json_t *bad = J("[{\"sku\":\"abc\",\"qty\":0},{\"sku\":\"ABC-1\",\"qty\":1},{\"sku\":\"ABC-1\",\"qty\":1}]");
  struct worker w[4];
  pthread_t th[4];
  int i;
  for (i = 0; i < 4; i++) {
    w[i].s = s, w[i].good = good, w[i].bad = bad, w[i].failures = 0;
    cr_assert_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
  }
  for (i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    cr_expect_eq(w[i].failures, 0, "thread %d", i);
  }
  json_decref(good);
  json_decref(bad);
  fofal_schema_free(s);
}

/* Found by tests/fuzz/fuzz_jsonschema.c (corpus/jsonschema/regress-long-schema-path): once
 * the location being compiled filled its 512-byte buffer, every further step appended "..."
 * past its end (UBSan: index out of bounds; a write past the array). Message locations
 * are cut, and the cut ones end in "...". */
Test(jsonschema, a_schema_location_longer_than_its_buffer_is_cut) {
  char name[701], text[1200], err[256] = "";
  memset(name, '~', sizeof name - 1); /* each escaped to two bytes: "~0" */
  name[sizeof name - 1] = '\0';
  snprintf(text, sizeof text,
           "{\"properties\":{\"%s\":{\"properties\":{\"a\":{\"properties\":{\"b\":{\"type\":\"nope\"}}}}}}}", name);
  cr_expect_neq(compile_rc(text, err, sizeof err), 0, "an unknown type does not compile");
  cr_expect(strstr(err, "..."), "the location is cut: %s", err);
}
