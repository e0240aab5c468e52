/*
 * test_hr.c — commands/hr/ through the registry and an in-memory tenant (world.h, the
 * production tests' own: the floor an employee works on): the shift model and its
 * calendar (shifts.c), employees and their shift assignments, personal data sealed before
 * the log and erased by crypto-shredding (hr.c). Every emitted event is checked against
 * its schema under schemas/hr/events/ (or production's, for the floor world_floor builds).
 * Production's reads of these aggregates (a declaration's weaver and shift) are tested in
 * tests/unit/production/test_weaving.c.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "decide.h"
#include "jsonschema.h"
#include "projections.h"
#include "../production/world.h"

static fofal_registry_t *reg;

static void setup(void) {
  char err[512] = "";
  cr_assert_eq(fofal_registry_load(&reg, FOFAL_SOURCE_DIR "/schemas", err, sizeof err), 0, "registry: %s", err);
  world_init(reg);
}

static void teardown(void) {
  world_free();
  fofal_registry_free(reg);
  reg = NULL;
}

TestSuite(hr, .init = setup, .fini = teardown);
TestSuite(shift, .init = setup, .fini = teardown);
TestSuite(employee, .init = setup, .fini = teardown);

/* ---------------------------------------------------------------- helpers */

/* An event against the schema of its module: fofal.<m>.<name>.v1 → schemas/<m>/events/. */
static void check_event(const json_t *ev) {
  const char *type = json_string_value(json_object_get(ev, "type"));
  char module[32], path[512], err[256];
  const char *name = type && !strncmp(type, "fofal.", 6) ? strchr(type + 6, '.') : NULL;
  cr_assert(name && name - type - 6 < (int)sizeof module, "event type %s", type ? type : "(null)");
  snprintf(module, sizeof module, "%.*s", (int)(name - type - 6), type + 6);
  snprintf(path, sizeof path, "%s/schemas/%s/events/%s.json", FOFAL_SOURCE_DIR, module, name + 1);
  json_t *sj = json_load_file(path, 0, NULL);
  cr_assert_not_null(sj, "%s has no schema (%s)", type, path);
  fofal_schema_t *s = NULL;
  cr_assert_eq(fofal_schema_compile(&s, sj, path, err, sizeof err), 0, "%s: %s", path, err);
  json_t *errors = NULL;
  int rc = fofal_schema_validate(s, json_object_get(ev, "data"), &errors);
  char *es = errors ? json_dumps(errors, JSON_COMPACT) : NULL;
  cr_assert_eq(rc, 0, "%s does not match its schema: %s", type, es ? es : "");
  free(es);
  json_decref(errors);
  fofal_schema_free(s);
  json_decref(sj);
}

/* Decides, expects acceptance, checks every event against its schema, and returns the
 * first event's data (new reference) when `first` is given. */
static void ok_at(const char *type, json_t *data, const char *cmd_id, int64_t at, json_t **first) {
  fofal_decision_t d;
  int rc = world_decide_at(type, data, at, cmd_id, &d);
  cr_assert_eq(rc, 0, "%s (%s) rejected: %s: %s", type, cmd_id, d.code, d.detail);
  size_t i;
  json_t *ev;
  json_array_foreach(d.events, i, ev) check_event(ev);
  cr_assert_null(d.others, "an hr decision changes no other aggregate");
  if (first) *first = json_incref(json_object_get(json_array_get(d.events, 0), "data"));
  world_release(&d);
}
#define ok(type, data, id) ok_at(type, data, id, W_ISSUED, NULL)

static void no_at(const char *type, json_t *data, int64_t at, const char *code) {
  fofal_decision_t d;
  int rc = world_decide_at(type, data, at, "cmd-refused", &d);
  cr_assert_eq(rc, FOFAL_EREJECTED, "%s was accepted, want %s", type, code);
  cr_assert_str_eq(d.code, code, "%s: %s (%s), want %s", type, d.code, d.detail, code);
  cr_assert_neq(d.detail[0], '\0', "a rejection says why");
  world_release(&d);
}

/* ----------------------------------------------------------- the module */

/* The hr projection's registration (projections/hr/hr.c). */
extern const fofal_projection_module_t fofal_module_hr_projections;

/* Every event type the module writes has an apply function in its projection, and the
 * projection takes nothing of another module's. */
Test(hr, every_event_schema_has_an_apply_function_in_the_hr_projection) {
  const fofal_projection_def_t *def = fofal_module_hr_projections.projections[0];
  cr_assert_not_null(def);
  cr_expect_str_eq(def->module, "hr");
  cr_expect_str_eq(def->pg_schema, "hr");
  DIR *d = opendir(FOFAL_SOURCE_DIR "/schemas/hr/events");
  cr_assert_not_null(d, "schemas/hr/events is readable");
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len < 9 || strcmp(e->d_name + len - 8, ".v1.json")) continue;
    char type[160];
    snprintf(type, sizeof type, "fofal.hr.%.*s.v1", (int)(len - 8), e->d_name);
    int found = 0;
    for (int i = 0; i < def->napplies; i++) found |= !strcmp(def->applies[i].type, type);
    cr_expect(found, "%s has no apply function in the hr projection", type);
    n++;
  }
  closedir(d);
  cr_expect_eq(n, 13, "the event schemas were found (%d)", n);
  for (int i = 0; i < def->napplies; i++)
    cr_expect(!strncmp(def->applies[i].type, "fofal.hr.", 9), "%s is not hr's", def->applies[i].type);
}

Test(hr, employees_and_the_shift_model_are_hr_s_on_its_topic) {
  static const char *const moved[][2] = {
      {"employee.register", "employee"}, {"employee.update", "employee"},        {"employee.erase", "employee"},
      {"employee.assign_shift", "employee"}, {"shift_model.define", "shiftmodel"}, {"shift_model.redefine", "shiftmodel"}};
  for (size_t i = 0; i < sizeof moved / sizeof moved[0]; i++) {
    char t[64];
    snprintf(t, sizeof t, "hr.%s", moved[i][0]);
    const fofal_command_def_t *def = fofal_registry_find(reg, t);
    cr_assert_not_null(def, "%s not in the registry", t);
    cr_expect_str_eq(def->ns, moved[i][1], "%s names a %s", t, moved[i][1]);
    snprintf(t, sizeof t, "production.%s", moved[i][0]);
    cr_expect_null(fofal_registry_find(reg, t), "%s is no longer production's", t);
    const json_t *s = fofal_registry_schema(reg, def->type);
    cr_assert(json_is_object(s), "%s has no schema", def->type);
    cr_expect_gt(json_array_size(json_object_get(s, "x-fofal-roles")), 0, "%s names no role", def->type);
    const json_t *key = json_object_get(json_object_get(s, "properties"), def->aggregate_key);
    cr_assert_not_null(key, "%s: its aggregate key %s is not in its schema", def->type, def->aggregate_key);
    cr_expect(json_object_get(key, "pattern") || json_object_get(key, "enum"), "%s: a code key needs a pattern", def->type);
  }
  /* An employee's events are hr's: fofal.hr.*, for the topic fofal.hr.events. */
  json_t *ev = NULL;
  fofal_decision_t d;
  cr_assert_eq(world_decide_at("hr.employee.register",
                               json_pack("{s:s,s:s,s:s}", "badge", "W-40", "name", "Rim", "job", "weaver"), W_ISSUED, "w40",
                               &d),
               0);
  ev = json_array_get(d.events, 0);
  cr_expect_str_eq(jstr(ev, "type"), "fofal.hr.employee_registered.v1");
  world_release(&d);
  /* The kinds named in paths: hr's, and no longer production's. */
  char kinds[128];
  fofal_aggregate_kinds_text("hr", 1, kinds, sizeof kinds);
  cr_expect_str_eq(kinds, "shiftmodels, employees, piecerates, payperiods");
  cr_expect_null(fofal_aggregate_kind("production", "employees", 1), "employees are hr's");
  cr_expect_str_eq(fofal_aggregate_kind(NULL, "employee", 0), "employee", "found in any module");
}

/* ----------------------------------------------------------------- shifts */

static void shift_at(const json_t *model, const char *when, const char *want) {
  int64_t us;
  cr_assert_eq(fofal_time_parse(when, &us), 0);
  fofal_shift_t sh;
  int rc = fofal_shift_at(model, us, &sh);
  if (!want) {
    cr_assert_eq(rc, FOFAL_ENOENT, "%s should fall in no shift, got %s", when, sh.id);
    return;
  }
  cr_assert_eq(rc, 0, "%s falls in no shift", when);
  cr_assert_str_eq(sh.id, want, "%s", when);
  cr_assert(sh.starts_us <= us && us < sh.ends_us, "%s outside its shift's span", when);
}

Test(shift, builtin_three_by_eight_at_utc_plus_one) {
  shift_at(NULL, "2026-11-24T05:00:00Z", "2026-11-24/A"); /* 06:00 local: A starts */
  shift_at(NULL, "2026-11-24T12:59:59Z", "2026-11-24/A");
  shift_at(NULL, "2026-11-24T13:00:00Z", "2026-11-24/B");
  shift_at(NULL, "2026-11-24T21:00:00Z", "2026-11-24/C"); /* 22:00 local */
  shift_at(NULL, "2026-11-25T02:00:00Z", "2026-11-24/C"); /* 03:00 next day: still the C of the 24th */
  shift_at(NULL, "2026-11-25T04:59:59Z", "2026-11-24/C");
  shift_at(NULL, "2025-01-01T00:30:00Z", "2024-12-31/C"); /* across a year */
}

Test(shift, span_of_an_id) {
  fofal_shift_t sh;
  cr_assert_eq(fofal_shift_span(NULL, "2026-11-24/C", &sh), 0);
  char a[32], b[32];
  fofal_time_format(sh.starts_us, a);
  fofal_time_format(sh.ends_us, b);
  cr_assert_str_eq(a, "2026-11-24T21:00:00.000000Z");
  cr_assert_str_eq(b, "2026-11-25T05:00:00.000000Z");
  cr_assert_eq(fofal_shift_span(NULL, "2026-11-24/Z", &sh), FOFAL_EINVAL, "unknown code");
  cr_assert_eq(fofal_shift_span(NULL, "2026-02-30/A", &sh), FOFAL_EINVAL, "no such date");
  cr_assert_eq(fofal_shift_span(NULL, "24/11/2026-A", &sh), FOFAL_EINVAL);
}

Test(shift, defined_model_with_calendar) {
  ok("hr.shift_model.define",
     json_pack("{s:s,s:i,s:[{s:s,s:s,s:i},{s:s,s:s,s:i}],s:[i,i,i,i,i,i]}", "model", "default", "utc_offset_min", 0, "shifts",
               "code", "D", "start", "07:00", "hours", 12, "code", "N", "start", "19:00", "hours", 12, "working_days", 1, 2, 3,
               4, 5, 6),
     "model");
  const json_t *m = world_ref("shiftmodel", "default");
  shift_at(m, "2026-11-24T07:00:00Z", "2026-11-24/D");
  shift_at(m, "2026-11-25T06:59:00Z", "2026-11-24/N");
  shift_at(m, "2026-11-29T10:00:00Z", NULL); /* a Sunday: the mill rests */
  cr_assert_eq(world_decide_at("hr.shift_model.define",
                               json_pack("{s:s,s:[{s:s,s:s,s:i}]}", "model", "default", "shifts", "code", "A", "start",
                                         "06:00", "hours", 8),
                               W_ISSUED, "again", NULL),
               FOFAL_EEXIST, "one model per tenant");
}

/* The model changes from a coming day on: the shifts that started before keep their
 * version (the night shift of the eve runs to its end), spans and assignments of later
 * days follow the new one, and a redefinition may replace one not yet in force. */
static json_t *two_by_twelve(const char *from, const char *night_start) {
  return json_pack("{s:s,s:i,s:[{s:s,s:s,s:i},{s:s,s:s,s:i}],s:s}", "model", "default", "utc_offset_min", 60, "shifts",
                   "code", "D", "start", "06:00", "hours", 12, "code", "N", "start", night_start, "hours", 12,
                   "effective_from", from);
}

Test(shift, redefined_from_a_coming_day_keeps_the_shifts_before) {
  world_floor(); /* W-12 is on 2026-11-24/A; W_ISSUED is 2026-11-24T08:15Z (09:15 local) */
  ok("hr.shift_model.define",
     json_pack("{s:s,s:i,s:[{s:s,s:s,s:i},{s:s,s:s,s:i},{s:s,s:s,s:i}]}", "model", "default", "utc_offset_min", 60, "shifts",
               "code", "A", "start", "06:00", "hours", 8, "code", "B", "start", "14:00", "hours", 8, "code", "C", "start",
               "22:00", "hours", 8),
     "model");
  no_at("hr.shift_model.redefine", two_by_twelve("2026-11-24", "18:00"), W_ISSUED, "effective_from_not_future");
  ok("hr.shift_model.redefine", two_by_twelve("2026-11-26", "19:00"), "model-v2");
  /* Redefined again before it took effect: the pending version is replaced, not stacked. */
  ok("hr.shift_model.redefine", two_by_twelve("2026-11-26", "18:00"), "model-v3");
  const json_t *m = world_ref("shiftmodel", "default");
  cr_assert_eq(json_integer_value(json_object_get(m, "from_day")), 20783, "2026-11-26 is day 20783");
  cr_assert_null(json_object_get(json_object_get(m, "previous"), "previous"), "two versions: 3×8, then 2×12");
  shift_at(m, "2026-11-24T14:00:00Z", "2026-11-24/B");
  shift_at(m, "2026-11-25T22:00:00Z", "2026-11-25/C"); /* the eve: still 3×8 */
  shift_at(m, "2026-11-26T04:30:00Z", "2026-11-25/C"); /* 05:30 on the 26th: the eve's night shift runs on */
  shift_at(m, "2026-11-26T05:00:00Z", "2026-11-26/D"); /* 06:00: the new model */
  shift_at(m, "2026-11-26T17:00:00Z", "2026-11-26/N");
  shift_at(m, "2026-11-27T04:59:00Z", "2026-11-26/N");
  fofal_shift_t sh;
  cr_assert_eq(fofal_shift_span(m, "2026-11-25/B", &sh), 0, "B exists until the 25th");
  cr_assert_eq(fofal_shift_span(m, "2026-11-26/B", &sh), FOFAL_EINVAL, "and no more from the 26th");
  cr_assert_eq(fofal_shift_span(m, "2026-11-26/D", &sh), 0);
  cr_assert_eq(sh.ends_us - sh.starts_us, 12 * 3600 * 1000000LL, "D lasts 12 hours");
  no_at("hr.employee.assign_shift", json_pack("{s:s,s:s}", "badge", "W-12", "shift", "2026-11-27/A"), W_ISSUED,
        "unknown_shift");
  ok("hr.employee.assign_shift", json_pack("{s:s,s:s}", "badge", "W-12", "shift", "2026-11-27/D"), "d27");
  ok("hr.employee.assign_shift", json_pack("{s:s,s:s}", "badge", "W-12", "shift", "2026-11-25/A"), "a25");
}

Test(shift, redefine_refuses_duplicate_codes) {
  ok("hr.shift_model.define",
     json_pack("{s:s,s:[{s:s,s:s,s:i}]}", "model", "default", "shifts", "code", "A", "start", "06:00", "hours", 8), "model");
  no_at("hr.shift_model.redefine",
        json_pack("{s:s,s:[{s:s,s:s,s:i},{s:s,s:s,s:i}],s:s}", "model", "default", "shifts", "code", "A", "start", "06:00",
                  "hours", 8, "code", "A", "start", "14:00", "hours", 8, "effective_from", "2026-12-01"),
        W_ISSUED, "invalid_shift");
}

Test(shift, duplicate_codes_refused) {
  no_at("hr.shift_model.define",
        json_pack("{s:s,s:[{s:s,s:s,s:i},{s:s,s:s,s:i}]}", "model", "default", "shifts", "code", "A", "start", "06:00",
                  "hours", 8, "code", "A", "start", "14:00", "hours", 8),
        W_ISSUED, "invalid_shift");
}

/* -------------------------------------------------------------- employees */

Test(employee, shifts_of_one_person_do_not_overlap) {
  world_floor(); /* W-12 is on 2026-11-24/A (06:00–14:00 local) */
  ok("hr.shift_model.define",
     json_pack("{s:s,s:i,s:[{s:s,s:s,s:i},{s:s,s:s,s:i},{s:s,s:s,s:i},{s:s,s:s,s:i}]}", "model", "default", "utc_offset_min",
               60, "shifts", "code", "A", "start", "06:00", "hours", 8, "code", "B", "start", "14:00", "hours", 8, "code", "C",
               "start", "22:00", "hours", 8, "code", "D", "start", "10:00", "hours", 12),
     "model");
  no_at("hr.employee.assign_shift", json_pack("{s:s,s:s}", "badge", "W-12", "shift", "2026-11-24/A"), W_ISSUED,
        "already_assigned");
  no_at("hr.employee.assign_shift", json_pack("{s:s,s:s}", "badge", "W-12", "shift", "2026-11-24/D"), W_ISSUED,
        "shifts_overlap");
  no_at("hr.employee.assign_shift", json_pack("{s:s,s:s}", "badge", "W-12", "shift", "2026-11-24/Q"), W_ISSUED,
        "unknown_shift");
  no_at("hr.employee.assign_shift", json_pack("{s:s,s:s,s:[s]}", "badge", "W-12", "shift", "2026-11-24/B", "looms", "L-99"),
        W_ISSUED, "unknown_loom");
  ok("hr.employee.assign_shift", json_pack("{s:s,s:s}", "badge", "W-12", "shift", "2026-11-24/B"), "b");
  ok("hr.employee.assign_shift", json_pack("{s:s,s:s}", "badge", "W-12", "shift", "2026-11-25/D"), "d");
  cr_assert_eq(json_array_size(json_object_get(world_ref("employee", "W-12"), "shifts")), 3);
}

Test(employee, no_shift_on_a_rest_day) {
  world_floor();
  ok("hr.shift_model.define",
     json_pack("{s:s,s:i,s:[{s:s,s:s,s:i}],s:[i,i,i,i,i]}", "model", "default", "utc_offset_min", 60, "shifts", "code", "A",
               "start", "06:00", "hours", 8, "working_days", 1, 2, 3, 4, 5),
     "model");
  no_at("hr.employee.assign_shift", json_pack("{s:s,s:s}", "badge", "W-12", "shift", "2026-11-29/A"), W_ISSUED,
        "not_a_working_day");
}

/* Personal data is sealed before the log: the event carries no clear value, and opens with
 * the person's key to what was sent. */
Test(employee, personal_fields_are_sealed_in_events_and_open_with_the_persons_key) {
  json_t *ev = NULL;
  ok_at("hr.employee.register",
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:f}", "badge", "W-30", "name", "Amira Ben Salah", "job", "weaver", "phone",
                  "+216 98 123 456", "national_id", "08123456", "bank_account", "TN59 1000 6035 1835 9847 8831", "salary", 1150.5),
        "w30", W_ISSUED, &ev);
  char *txt = json_dumps(ev, JSON_COMPACT);
  cr_expect_null(strstr(txt, "Amira"), "no clear name in the event: %s", txt);
  cr_expect_null(strstr(txt, "98 123"), "no clear phone in the event");
  cr_expect_null(strstr(txt, "08123456"), "no clear national id in the event");
  cr_expect_null(strstr(txt, "1835"), "no clear bank account in the event");
  cr_expect_null(strstr(txt, "1150"), "no clear salary in the event");
  free(txt);
  char person[FOFAL_UUID_LEN + 1];
  fofal_aggregate_ref(W_TENANT, "employee", "W-30", person);
  json_t *salary = fofal_pd_open(w_person_key, W_TENANT, "salary", json_object_get(ev, "salary"));
  cr_expect_float_eq(json_number_value(salary), 1150.5, 1e-9);
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(ev, "phone"), "p")), person, "sealed for the employee");
  json_t *name = fofal_pd_open(w_person_key, W_TENANT, "name", json_object_get(ev, "name"));
  cr_expect_str_eq(json_string_value(name), "Amira Ben Salah");
  json_t *erased = fofal_pd_open(NULL, W_TENANT, "name", json_object_get(ev, "name"));
  cr_expect_str_eq(json_string_value(erased), FOFAL_PD_ERASED, "without the key: erased");
  cr_expect_str_eq(jstr(ev, "job"), "weaver", "the job is not personal: in clear");
  json_decref(salary);
  json_decref(name);
  json_decref(erased);
  json_decref(ev);
}

Test(employee, update_then_erase_and_nothing_after) {
  world_floor();
  json_t *ev = NULL;
  ok_at("hr.employee.update", json_pack("{s:s,s:s,s:i}", "badge", "W-12", "phone", "+216 71 000 000", "salary", 1200),
        "u1", W_ISSUED, &ev);
  cr_expect(fofal_pd_is_sealed(json_object_get(ev, "phone")));
  cr_expect_null(json_object_get(ev, "name"), "only what changed");
  json_decref(ev);
  cr_expect(fofal_pd_is_sealed(json_object_get(world_ref("employee", "W-12"), "salary")), "the state keeps it sealed");
  ok_at("hr.employee.erase", json_pack("{s:s,s:s}", "badge", "W-12", "reason", "left_company"), "e1", W_ISSUED, &ev);
  cr_expect_str_eq(jstr(ev, "reason"), "left_company");
  json_decref(ev);
  const json_t *st = world_ref("employee", "W-12");
  cr_expect(json_is_true(json_object_get(st, "erased")));
  cr_expect_null(json_object_get(st, "name"), "the state forgets the sealed fields");
  cr_expect_null(json_object_get(st, "salary"));
  cr_expect_eq(json_array_size(json_object_get(st, "shifts")), 1, "the mill's records stay");
  no_at("hr.employee.erase", json_pack("{s:s,s:s}", "badge", "W-12", "reason", "other"), W_ISSUED, "already_erased");
  no_at("hr.employee.update", json_pack("{s:s,s:s}", "badge", "W-12", "phone", "+216 71 111 111"), W_ISSUED,
        "employee_erased");
  no_at("hr.employee.assign_shift", json_pack("{s:s,s:s}", "badge", "W-12", "shift", "2026-11-25/A"), W_ISSUED,
        "employee_erased");
}

/* The API validates the clear data; the decider, only the sealed: a clear personal field
 * never reaches an event even if someone produces straight to Kafka. */
Test(employee, schemas_clear_at_the_api_sealed_in_the_log) {
  const json_t *pers = fofal_registry_personal(reg, "hr.employee.register");
  cr_assert_not_null(pers);
  cr_expect_eq(json_array_size(pers), 5, "name, phone, national_id, bank_account, salary");
  cr_expect_null(fofal_registry_personal(reg, "production.loom.register"));
  cr_expect(fofal_registry_erases(reg, "hr.employee.erase"));
  cr_expect(!fofal_registry_erases(reg, "hr.employee.update"));
  json_t *clear = json_pack("{s:s,s:s,s:s}", "badge", "W-31", "name", "Karim", "job", "mechanic"), *errors = NULL;
  cr_expect_eq(fofal_registry_validate(reg, "hr.employee.register", clear, NULL), 0);
  cr_expect_eq(fofal_registry_validate_sealed(reg, "hr.employee.register", clear, &errors), FOFAL_ESCHEMA,
               "a clear name is refused in the log");
  json_decref(errors);
  json_t *sealed = json_deep_copy(clear);
  json_object_set_new(sealed, "name", fofal_pd_seal(w_person_key, W_TENANT, "p", "name", json_object_get(clear, "name")));
  cr_expect_eq(fofal_registry_validate_sealed(reg, "hr.employee.register", sealed, NULL), 0);
  cr_expect_eq(fofal_registry_validate(reg, "hr.employee.register", sealed, &errors), FOFAL_ESCHEMA,
               "a client cannot send a sealed-looking value");
  json_decref(errors);
  json_t *bad = json_pack("{s:s,s:s,s:s,s:s}", "badge", "W-31", "name", "K", "job", "weaver", "phone", "call me");
  cr_expect_eq(fofal_registry_validate(reg, "hr.employee.register", bad, &errors), FOFAL_ESCHEMA, "phone pattern");
  json_decref(errors);
  json_decref(bad);
  json_decref(clear);
  json_decref(sealed);
}

