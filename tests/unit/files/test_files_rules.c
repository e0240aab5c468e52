/*
 * test_files_rules.c — commands/files (files.file.store) through the registry and an
 * in-memory tenant (tests/unit/production/world.h) holding a cut, an NC and an inspection
 * as quality's decider leaves them: a file is stored once per tenant and content
 * (file_stored), attached to one more thing with the same bytes (file_attached), never
 * twice to the same thing (already_attached), only to what exists in the tenant
 * (unknown_target: also an NC id given as an inspection), and the command's events match
 * their schemas.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "decide.h"
#include "jsonschema.h"
#include "../production/world.h"

static fofal_registry_t *reg;
static char roll[FOFAL_UUID_LEN + 1], nc[FOFAL_UUID_LEN + 1], insp[FOFAL_UUID_LEN + 1], file[FOFAL_UUID_LEN + 1];
static const char sha[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

static void setup(void) {
  char err[512] = "";
  cr_assert_eq(fofal_registry_load(&reg, FOFAL_SOURCE_DIR "/schemas", err, sizeof err), 0, "registry: %s", err);
  world_init(reg);
  fofal_uuid7(roll);
  fofal_uuid7(nc);
  fofal_uuid7(insp);
  fofal_uuid_named(W_TENANT, "file:ba78", file);
  char cut[FOFAL_UUID_LEN + 1];
  fofal_aggregate_ref(W_TENANT, "cut", roll, cut);
  json_object_set_new(world, cut, json_pack("{s:s,s:i}", "roll", roll, "first_choice", 10));
  json_object_set_new(world, nc, json_pack("{s:s,s:i,s:i}", "status", "open", "actions", 0, "corrective", 0));
  json_object_set_new(world, insp, json_pack("{s:s,s:s,s:s,s:i}", "lot", roll, "lot_kind", "roll", "grade", "first", "score_x100", 0));
}

static void teardown(void) {
  world_free();
  fofal_registry_free(reg);
}

TestSuite(store, .init = setup, .fini = teardown);

static void check_event(const json_t *ev) {
  const char *type = json_string_value(json_object_get(ev, "type"));
  const char prefix[] = "fofal.files.";
  cr_assert(type && !strncmp(type, prefix, sizeof prefix - 1), "event type %s", type ? type : "(null)");
  char path[512], err[256];
  snprintf(path, sizeof path, "%s/schemas/files/events/%s.json", FOFAL_SOURCE_DIR, type + sizeof prefix - 1);
  json_t *sj = json_load_file(path, 0, NULL);
  cr_assert_not_null(sj, "%s has no schema", type);
  fofal_schema_t *s = NULL;
  cr_assert_eq(fofal_schema_compile(&s, sj, path, err, sizeof err), 0, "%s", err);
  json_t *errors = NULL;
  cr_expect_eq(fofal_schema_validate(s, json_object_get(ev, "data"), &errors), 0, "%s does not match its schema", type);
  json_decref(errors);
  fofal_schema_free(s);
  json_decref(sj);
}

static json_t *data(const char *kind, const char *target) {
  return json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:s}", "file_id", file, "sha256", sha, "size", 1234, "type", "image/jpeg",
                   "kind", kind, "target", target, "name", "tache.jpg");
}

static const char *decide(json_t *d, const char *want_type) {
  static char code[64];
  fofal_decision_t out;
  int rc = world_decide_at("files.file.store", d, W_ISSUED, "cmd", &out);
  if (rc) {
    snprintf(code, sizeof code, "%s", out.code);
    cr_expect_neq(out.detail[0], '\0', "a refusal says why");
    world_release(&out);
    return code;
  }
  cr_assert_eq(json_array_size(out.events), 1);
  json_t *ev = json_array_get(out.events, 0);
  check_event(ev);
  cr_expect_str_eq(json_string_value(json_object_get(ev, "type")), want_type);
  cr_expect_str_eq(jstr(json_object_get(ev, "data"), "sha256"), sha, "the reference, never the bytes");
  world_release(&out);
  return "";
}

Test(store, stored_once_attached_to_more) {
  cr_expect_str_eq(decide(data("cut", roll), "fofal.files.file_stored.v1"), "");
  cr_expect_str_eq(decide(data("cut", roll), NULL), "already_attached");
  cr_expect_str_eq(decide(data("nc", nc), "fofal.files.file_attached.v1"), "");
  cr_expect_str_eq(decide(data("inspection", insp), "fofal.files.file_attached.v1"), "");
  cr_expect_eq(json_array_size(json_object_get(json_object_get(world, file), "attached")), 3);
}

Test(store, only_to_what_exists_in_the_tenant) {
  char missing[FOFAL_UUID_LEN + 1];
  fofal_uuid7(missing);
  cr_expect_str_eq(decide(data("cut", missing), NULL), "unknown_target");
  cr_expect_str_eq(decide(data("nc", missing), NULL), "unknown_target");
  cr_expect_str_eq(decide(data("inspection", nc), NULL), "unknown_target", "an NC is no inspection");
  cr_expect_str_eq(decide(data("nc", insp), NULL), "unknown_target", "an inspection is no NC");
  cr_expect_str_eq(decide(data("cut", nc), NULL), "unknown_target", "an NC is no cut");
  cr_expect_null(json_object_get(world, file), "nothing recorded");
}

Test(store, other_bytes_under_the_same_id) {
  cr_expect_str_eq(decide(data("cut", roll), "fofal.files.file_stored.v1"), "");
  json_t *d = data("nc", nc);
  json_object_set_new(d, "sha256", json_string("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  cr_expect_str_eq(decide(d, NULL), "address_mismatch");
}

Test(store, a_personal_file_names_a_known_employee) {
  json_t *d = data("nc", nc);
  json_object_set_new(d, "person", json_string("W-07"));
  json_object_set_new(d, "content_sha256", json_string(sha));
  cr_expect_str_eq(decide(d, NULL), "unknown_person");
  char emp[FOFAL_UUID_LEN + 1];
  fofal_aggregate_ref(W_TENANT, "employee", "W-07", emp);
  json_object_set_new(world, emp, json_pack("{s:s}", "badge", "W-07"));
  d = data("nc", nc);
  json_object_set_new(d, "person", json_string("W-07"));
  json_object_set_new(d, "content_sha256", json_string(sha));
  cr_expect_str_eq(decide(d, "fofal.files.file_stored.v1"), "");
}
