/*
 * test_identity.c — commands/identity/identity.c through commands/registry.c.
 *
 * Every rule of the identity deciders: accounts (credentials, badge unique per tenant,
 * the name-derived id that makes a second create meet an existing aggregate), security
 * events (their fields, a recovery code used once, a lockout recorded as a refused sign-in
 * first, nothing recorded for an erased account), password changes and TOTP enrolment by
 * the account itself only, erasure releasing the badge, device revocation once, the
 * tenant's realm of attempts on unknown names. Each command is validated by its schema
 * (sealed twin: the username is personal data) and each emitted event by its schema under
 * schemas/identity/events/.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "identity/identity.h"
#include "jsonschema.h"

#define TENANT "tenant-i"
#define ACCOUNT "0190aaaa-bbbb-7ccc-8ddd-000000000001"
#define OTHER "0190aaaa-bbbb-7ccc-8ddd-000000000002"
#define DEVICE "0190aaaa-bbbb-7ccc-8ddd-0000000000d1"
#define SID "0190aaaa-bbbb-7ccc-8ddd-0000000000e1"
/* What a sealed secret looks like (fofal_pd_secret_seal): the deciders never open one. */
#define SEALED "pd1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static fofal_registry_t *reg;
static json_t *world; /* aggregate id → state */
static unsigned char key[FOFAL_PD_KEY_BYTES];
static const char *actor = "u:admin-1/admin";

static const json_t *world_get(const fofal_lookup_t *l, const char *id) {
  (void)l;
  return json_object_get(world, id);
}
static const fofal_lookup_t lookup = {.get = world_get};

static void setup(void) {
  char err[512] = "";
  cr_assert_eq(fofal_registry_load(&reg, FOFAL_SOURCE_DIR "/schemas", err, sizeof err), 0, "registry: %s", err);
  cr_assert_eq(fofal_pd_init(), 0);
  memset(key, 0x3c, sizeof key);
  world = json_object();
  actor = "u:admin-1/admin";
}

static void teardown(void) {
  json_decref(world);
  fofal_registry_free(reg);
}

TestSuite(identity, .init = setup, .fini = teardown);

/* Checks an emitted {"type","data"} against schemas/identity/events/<name>.json. */
static void check_event(const json_t *e) {
  static const char prefix[] = "fofal.identity.";
  const char *type = json_string_value(json_object_get(e, "type"));
  cr_assert(type && !strncmp(type, prefix, sizeof prefix - 1), "event type %s", type ? type : "(none)");
  char path[1024], err[512] = "";
  snprintf(path, sizeof path, "%s/schemas/identity/events/%s.json", FOFAL_SOURCE_DIR, type + sizeof prefix - 1);
  json_error_t jerr;
  json_t *sj = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  cr_assert_not_null(sj, "no schema for %s: %s", type, jerr.text);
  fofal_schema_t *s = NULL;
  cr_assert_eq(fofal_schema_compile(&s, sj, path, err, sizeof err), 0, "%s: %s", path, err);
  json_t *errors = NULL;
  int rc = fofal_schema_validate(s, json_object_get(e, "data"), &errors);
  char *es = json_dumps(errors, JSON_COMPACT), *ds = json_dumps(json_object_get(e, "data"), JSON_COMPACT);
  cr_expect_eq(rc, 0, "%s %s does not match its schema: %s", type, ds, es);
  free(es);
  free(ds);
  json_decref(errors);
  fofal_schema_free(s);
  json_decref(sj);
}

/* Decides `type` with data (stolen) against the world as the processor would: the
 * personal fields sealed, the sealed schema checked, creates/exists enforced; on
 * acceptance every new state is stored. Returns the decider's rc (or FOFAL_EREJECTED with
 * d->code "already_exists"/"not_found" as the processor answers); d released by caller. */
static int decide(const char *type, json_t *data, fofal_decision_t *d) {
  const fofal_command_def_t *def = fofal_registry_find(reg, type);
  cr_assert_not_null(def, "%s is not registered", type);
  memset(d, 0, sizeof *d);
  char agg[FOFAL_UUID_LEN + 1];
  cr_assert_eq(fofal_command_aggregate_id(def, TENANT, "cmd-1", data, agg), 0, "%s names its aggregate", type);
  size_t i;
  json_t *f;
  json_array_foreach(fofal_registry_personal(reg, type), i, f) {
    json_t *v = json_object_get(data, json_string_value(f));
    if (v) json_object_set_new(data, json_string_value(f), fofal_pd_seal(key, TENANT, agg, json_string_value(f), v));
  }
  json_t *errors = NULL;
  int vrc = fofal_registry_validate_sealed(reg, type, data, &errors);
  char *es = json_dumps(errors, JSON_COMPACT);
  cr_assert_eq(vrc, 0, "%s is valid: %s", type, es);
  free(es);
  json_decref(errors);
  const json_t *state = json_object_get(world, agg);
  int rc;
  if (def->creates == 1 && state) {
    fofal_decision_reject(d, "already_exists", "an aggregate with this id exists");
    rc = FOFAL_EREJECTED;
  } else if (!def->creates && !state) {
    fofal_decision_reject(d, "not_found", "no such aggregate");
    rc = FOFAL_EREJECTED;
  } else {
    char *before = state ? json_dumps(state, JSON_SORT_KEYS) : NULL;
    fofal_cmd_t cmd = {.id = "cmd-1", .type = type, .tenant = TENANT, .actor = actor, .aggregate = agg,
                       .expected_version = -1, .issued_us = 1795508102000000LL, .data = data, .lookup = &lookup};
    rc = def->decide(&cmd, state, d);
    if (before) {
      char *after = json_dumps(state, JSON_SORT_KEYS);
      cr_expect_str_eq(after, before, "a decider does not modify the state it is given");
      free(after);
      free(before);
    }
  }
  if (rc == 0) {
    cr_assert(json_array_size(d->events) > 0 && json_is_object(d->state), "%s: events and a state", type);
    json_array_foreach(d->events, i, f) check_event(f);
    json_object_set(world, agg, d->state);
    const char *id;
    json_t *o;
    json_object_foreach(d->others, id, o) {
      json_array_foreach(json_object_get(o, "events"), i, f) check_event(f);
      json_object_set(world, id, json_object_get(o, "state"));
    }
  } else {
    cr_assert(!d->events && !d->state && d->code[0], "%s: a rejection has a code and nothing else", type);
  }
  json_decref(data);
  return rc;
}

static void release(fofal_decision_t *d) {
  json_decref(d->events);
  json_decref(d->state);
  json_decref(d->others);
  memset(d, 0, sizeof *d);
}

static const char *type_at(const fofal_decision_t *d, size_t i) {
  return json_string_value(json_object_get(json_array_get(d->events, i), "type"));
}

static json_t *data_at(const fofal_decision_t *d, size_t i) { return json_object_get(json_array_get(d->events, i), "data"); }

/* A weaver with a password and, with a badge, a PIN. */
static void create_account(const char *id, const char *badge) {
  fofal_decision_t d;
  json_t *data = json_pack("{s:s,s:s,s:s,s:s,s:s}", "account_id", id, "username", "wafa", "role", "weaver",
                           "password_hash", SEALED, "ip", "10.0.0.1");
  if (badge) {
    json_object_set_new(data, "badge", json_string(badge));
    json_object_set_new(data, "pin_hash", json_string(SEALED));
  }
  cr_assert_eq(decide("identity.account.create", data, &d), 0, "create: %s %s", d.code, d.detail);
  release(&d);
}

static json_t *record(const char *event) {
  return json_pack("{s:s,s:s,s:s}", "account_id", ACCOUNT, "event", event, "ip", "10.0.0.1");
}

/* ---------------------------------------------------------------- accounts */

Test(identity, an_account_is_created_with_its_sealed_secrets_and_its_badge) {
  fofal_decision_t d;
  json_t *data = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "account_id", ACCOUNT, "username", "wafa", "role", "weaver",
                           "badge", "B-7", "password_hash", SEALED, "pin_hash", SEALED, "ip", "10.0.0.1");
  cr_assert_eq(decide("identity.account.create", data, &d), 0, "%s", d.detail);
  cr_assert_eq(json_array_size(d.events), 1);
  cr_expect_str_eq(type_at(&d, 0), "fofal.identity.account_created.v1");
  json_t *e = data_at(&d, 0);
  cr_expect(fofal_pd_is_sealed(json_object_get(e, "username")), "the username stays sealed");
  cr_expect_str_eq(json_string_value(json_object_get(e, "password_hash")), SEALED, "the hash travels sealed");
  cr_expect(json_is_true(json_object_get(e, "password")) && json_is_true(json_object_get(e, "pin")));
  cr_expect_str_eq(json_string_value(json_object_get(e, "badge")), "B-7");
  cr_expect_str_eq(json_string_value(json_object_get(d.state, "status")), "active");
  cr_expect_str_eq(json_string_value(json_object_get(d.state, "role")), "weaver");
  /* The badge's aggregate is assigned in the same decision. */
  char badge_id[FOFAL_UUID_LEN + 1];
  fofal_identity_badge_id(TENANT, "B-7", badge_id);
  json_t *b = json_object_get(d.others, badge_id);
  cr_assert_not_null(b, "the badge aggregate changes too");
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(b, "state"), "account_id")), ACCOUNT);
  cr_expect_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(b, "events"), 0), "type")),
                   "fofal.identity.badge_assigned.v1");
  release(&d);
}

Test(identity, a_username_is_one_account_per_tenant) {
  /* The account id is derived from the name (fofal-api: fofal_api_account_id), and the
   * command creates its aggregate: the second create of a name meets the first. */
  const fofal_command_def_t *def = fofal_registry_find(reg, "identity.account.create");
  cr_assert_eq(def->creates, 1);
  create_account(ACCOUNT, NULL);
  fofal_decision_t d;
  json_t *again = json_pack("{s:s,s:s,s:s,s:s}", "account_id", ACCOUNT, "username", "wafa", "role", "admin",
                            "password_hash", SEALED);
  cr_expect_eq(decide("identity.account.create", again, &d), FOFAL_EREJECTED);
  cr_expect_str_eq(d.code, "already_exists");
  release(&d);
}

Test(identity, a_badge_is_one_account_per_tenant) {
  create_account(ACCOUNT, "B-7");
  fofal_decision_t d;
  json_t *data = json_pack("{s:s,s:s,s:s,s:s,s:s}", "account_id", OTHER, "username", "mona", "role", "weaver", "badge",
                           "B-7", "password_hash", SEALED);
  cr_expect_eq(decide("identity.account.create", data, &d), FOFAL_EREJECTED);
  cr_expect_str_eq(d.code, "already_exists");
  cr_expect(strstr(d.detail, "B-7"), "%s", d.detail);
  release(&d);
}

Test(identity, an_account_needs_a_credential_and_a_pin_needs_a_badge) {
  fofal_decision_t d;
  cr_expect_eq(decide("identity.account.create",
                      json_pack("{s:s,s:s,s:s}", "account_id", ACCOUNT, "username", "x", "role", "weaver"), &d),
               FOFAL_EREJECTED);
  cr_expect_str_eq(d.code, "no_credential");
  release(&d);
  cr_expect_eq(decide("identity.account.create",
                      json_pack("{s:s,s:s,s:s,s:s}", "account_id", ACCOUNT, "username", "x", "role", "weaver", "pin_hash",
                                SEALED),
                      &d),
               FOFAL_EREJECTED);
  cr_expect_str_eq(d.code, "badge_required");
  release(&d);
  /* And the schema refuses a role that is none of the thirteen, and a hash in clear. */
  json_t *errors = NULL;
  json_t *bad = json_pack("{s:s,s:s,s:s,s:s}", "account_id", ACCOUNT, "username", "x", "role", "king", "password_hash",
                          "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA");
  cr_expect_eq(fofal_registry_validate(reg, "identity.account.create", bad, &errors), FOFAL_ESCHEMA);
  cr_expect_eq(json_array_size(errors), 2, "role and password_hash are refused");
  json_decref(errors);
  json_decref(bad);
}

/* ---------------------------------------------------------- security events */

Test(identity, a_security_event_has_the_fields_of_its_type) {
  create_account(ACCOUNT, "B-7");
  fofal_decision_t d;
  json_t *ok = record("login_succeeded");
  json_object_set_new(ok, "method", json_string("password"));
  json_object_set_new(ok, "sid", json_string(SID));
  json_object_set_new(ok, "username", json_string("wafa"));
  cr_assert_eq(decide("identity.account.record", ok, &d), 0, "%s", d.detail);
  cr_expect_str_eq(type_at(&d, 0), "fofal.identity.login_succeeded.v1");
  cr_expect_str_eq(json_string_value(json_object_get(data_at(&d, 0), "sid")), SID);
  cr_expect_str_eq(json_string_value(json_object_get(data_at(&d, 0), "ip")), "10.0.0.1");
  cr_expect(!json_object_get(data_at(&d, 0), "event") && !json_object_get(data_at(&d, 0), "account_id"));
  release(&d);
  /* A logout without its session, or with a field it has not. */
  cr_expect_eq(decide("identity.account.record", record("logged_out"), &d), FOFAL_EREJECTED);
  cr_expect_str_eq(d.code, "invalid_record");
  release(&d);
  json_t *extra = record("refresh_reused");
  json_object_set_new(extra, "sid", json_string(SID));
  json_object_set_new(extra, "badge", json_string("B-7"));
  cr_expect_eq(decide("identity.account.record", extra, &d), FOFAL_EREJECTED);
  cr_expect_str_eq(d.code, "invalid_record");
  release(&d);
  /* A refused sign-in of a known account says which secret was wrong. */
  json_t *failed = record("login_failed");
  json_object_set_new(failed, "method", json_string("pin"));
  json_object_set_new(failed, "reason", json_string("bad_password"));
  cr_expect_eq(decide("identity.account.record", failed, &d), FOFAL_EREJECTED);
  release(&d);
}

Test(identity, a_lockout_is_a_refused_sign_in_first) {
  create_account(ACCOUNT, "B-7");
  fofal_decision_t d;
  json_t *lock = record("locked_out");
  json_object_set_new(lock, "method", json_string("pin"));
  json_object_set_new(lock, "badge", json_string("B-7"));
  json_object_set_new(lock, "device_id", json_string(DEVICE));
  json_object_set_new(lock, "failures", json_integer(3));
  json_object_set_new(lock, "seconds", json_integer(60));
  cr_assert_eq(decide("identity.account.record", lock, &d), 0, "%s", d.detail);
  cr_assert_eq(json_array_size(d.events), 2);
  cr_expect_str_eq(type_at(&d, 0), "fofal.identity.login_failed.v1");
  cr_expect_str_eq(json_string_value(json_object_get(data_at(&d, 0), "reason")), "bad_pin");
  cr_expect_str_eq(type_at(&d, 1), "fofal.identity.locked_out.v1");
  cr_expect_eq(json_integer_value(json_object_get(data_at(&d, 1), "seconds")), 60);
  release(&d);
}

Test(identity, an_mfa_lock_is_a_failed_second_factor_first) {
  create_account(ACCOUNT, NULL);
  fofal_decision_t d;
  json_t *lock = record("mfa_locked");
  json_object_set_new(lock, "method", json_string("totp"));
  json_object_set_new(lock, "failures", json_integer(5));
  json_object_set_new(lock, "seconds", json_integer(900));
  cr_assert_eq(decide("identity.account.record", lock, &d), 0, "%s", d.detail);
  cr_assert_eq(json_array_size(d.events), 2);
  cr_expect_str_eq(type_at(&d, 0), "fofal.identity.mfa_failed.v1");
  cr_expect_str_eq(type_at(&d, 1), "fofal.identity.mfa_locked.v1");
  cr_expect_eq(json_integer_value(json_object_get(data_at(&d, 1), "failures")), 5);
  release(&d);
  json_t *pin = record("mfa_locked");
  json_object_set_new(pin, "method", json_string("pin"));
  json_object_set_new(pin, "failures", json_integer(5));
  json_object_set_new(pin, "seconds", json_integer(900));
  cr_expect_eq(decide("identity.account.record", pin, &d), FOFAL_EREJECTED, "a PIN is no second factor");
  cr_expect_str_eq(d.code, "invalid_record");
  release(&d);
}

/* The account, enrolled in TOTP by itself. */
static void enrol(void) {
  fofal_decision_t d;
  actor = "u:" ACCOUNT "/weaver";
  json_t *data = json_pack("{s:s,s:s,s:s,s:s,s:s}", "account_id", ACCOUNT, "totp_secret", SEALED, "recovery_codes",
                           SEALED, "sid", SID, "ip", "10.0.0.1");
  cr_assert_eq(decide("identity.account.enrol_mfa", data, &d), 0, "%s", d.detail);
  cr_assert_eq(json_array_size(d.events), 3);
  cr_expect_str_eq(type_at(&d, 0), "fofal.identity.mfa_enrolled.v1");
  cr_expect_str_eq(type_at(&d, 1), "fofal.identity.mfa_verified.v1");
  cr_expect_str_eq(type_at(&d, 2), "fofal.identity.login_succeeded.v1");
  release(&d);
}

Test(identity, totp_is_enrolled_once_by_the_account_itself) {
  create_account(ACCOUNT, NULL);
  fofal_decision_t d;
  json_t *data = json_pack("{s:s,s:s,s:s,s:s,s:s}", "account_id", ACCOUNT, "totp_secret", SEALED, "recovery_codes",
                           SEALED, "sid", SID, "ip", "10.0.0.1");
  cr_expect_eq(decide("identity.account.enrol_mfa", data, &d), FOFAL_EREJECTED, "an admin enrols nobody else");
  cr_expect_str_eq(d.code, "actor_mismatch");
  release(&d);
  enrol();
  data = json_pack("{s:s,s:s,s:s,s:s,s:s}", "account_id", ACCOUNT, "totp_secret", SEALED, "recovery_codes", SEALED,
                   "sid", SID, "ip", "10.0.0.1");
  cr_expect_eq(decide("identity.account.enrol_mfa", data, &d), FOFAL_EREJECTED);
  cr_expect_str_eq(d.code, "already_enrolled");
  release(&d);
}

Test(identity, a_recovery_code_signs_in_once) {
  create_account(ACCOUNT, NULL);
  fofal_decision_t d;
  json_t *use = record("mfa_verified");
  json_object_set_new(use, "method", json_string("recovery_code"));
  json_object_set_new(use, "recovery_code", json_integer(3));
  json_object_set_new(use, "sid", json_string(SID));
  cr_expect_eq(decide("identity.account.record", json_deep_copy(use), &d), FOFAL_EREJECTED, "not enrolled yet");
  cr_expect_str_eq(d.code, "not_enrolled");
  release(&d);
  enrol();
  cr_assert_eq(decide("identity.account.record", json_deep_copy(use), &d), 0, "%s", d.detail);
  cr_assert_eq(json_array_size(d.events), 2, "mfa_verified, then the sign-in it completes");
  cr_expect_str_eq(type_at(&d, 0), "fofal.identity.mfa_verified.v1");
  cr_expect_eq(json_integer_value(json_object_get(data_at(&d, 0), "recovery_code")), 3);
  cr_expect_str_eq(type_at(&d, 1), "fofal.identity.login_succeeded.v1");
  cr_expect_str_eq(json_string_value(json_object_get(data_at(&d, 1), "method")), "recovery_code");
  cr_expect_eq(json_integer_value(json_object_get(d.state, "recovery_used")), 1 << 3);
  release(&d);
  cr_expect_eq(decide("identity.account.record", json_deep_copy(use), &d), FOFAL_EREJECTED, "…once");
  cr_expect_str_eq(d.code, "code_used");
  release(&d);
  json_object_set_new(use, "recovery_code", json_integer(4));
  cr_expect_eq(decide("identity.account.record", use, &d), 0, "another code still works");
  release(&d);
}

Test(identity, only_the_account_changes_its_password) {
  create_account(ACCOUNT, NULL);
  fofal_decision_t d;
  json_t *data = json_pack("{s:s,s:s,s:s}", "account_id", ACCOUNT, "password_hash", SEALED, "ip", "10.0.0.1");
  cr_expect_eq(decide("identity.account.change_password", json_deep_copy(data), &d), FOFAL_EREJECTED);
  cr_expect_str_eq(d.code, "actor_mismatch");
  release(&d);
  actor = "u:" ACCOUNT "/weaver";
  cr_assert_eq(decide("identity.account.change_password", data, &d), 0, "%s", d.detail);
  cr_expect_str_eq(type_at(&d, 0), "fofal.identity.password_changed.v1");
  cr_expect_str_eq(json_string_value(json_object_get(data_at(&d, 0), "password_hash")), SEALED);
  release(&d);
}

Test(identity, erasure_releases_the_badge_and_ends_the_records) {
  create_account(ACCOUNT, "B-7");
  fofal_decision_t d;
  cr_assert_eq(decide("identity.account.erase", json_pack("{s:s}", "account_id", ACCOUNT), &d), 0, "%s", d.detail);
  cr_expect_str_eq(type_at(&d, 0), "fofal.identity.account_erased.v1");
  cr_expect_str_eq(json_string_value(json_object_get(d.state, "status")), "erased");
  cr_expect(!json_object_get(d.state, "badge"));
  release(&d);
  cr_expect_eq(decide("identity.account.erase", json_pack("{s:s}", "account_id", ACCOUNT), &d), FOFAL_EREJECTED);
  cr_expect_str_eq(d.code, "account_erased");
  release(&d);
  json_t *out = record("logged_out");
  json_object_set_new(out, "sid", json_string(SID));
  cr_expect_eq(decide("identity.account.record", out, &d), FOFAL_EREJECTED, "an erased account records nothing");
  cr_expect_str_eq(d.code, "account_erased");
  release(&d);
  /* The badge is free again for another account. */
  json_t *data = json_pack("{s:s,s:s,s:s,s:s,s:s}", "account_id", OTHER, "username", "nour", "role", "weaver", "badge",
                           "B-7", "password_hash", SEALED);
  cr_expect_eq(decide("identity.account.create", data, &d), 0, "%s", d.detail);
  release(&d);
}

/* ------------------------------------------------------------------ devices */

Test(identity, a_device_is_revoked_once) {
  fofal_decision_t d;
  json_t *enrol_data = json_pack("{s:s,s:s,s:s}", "device_id", DEVICE, "name", "hall phone",
                                 "secret_sha256", "0000000000000000000000000000000000000000000000000000000000000000");
  cr_assert_eq(decide("identity.device.enrol", enrol_data, &d), 0, "%s", d.detail);
  cr_expect_str_eq(type_at(&d, 0), "fofal.identity.device_enrolled.v1");
  release(&d);
  json_t *rv = json_pack("{s:s,s:s}", "device_id", DEVICE, "reason", "lost");
  cr_assert_eq(decide("identity.device.revoke", json_deep_copy(rv), &d), 0, "%s", d.detail);
  cr_expect_str_eq(type_at(&d, 0), "fofal.identity.device_revoked.v1");
  cr_expect_str_eq(json_string_value(json_object_get(data_at(&d, 0), "reason")), "lost");
  release(&d);
  cr_expect_eq(decide("identity.device.revoke", rv, &d), FOFAL_EREJECTED);
  cr_expect_str_eq(d.code, "already_revoked");
  release(&d);
  cr_expect_eq(decide("identity.device.revoke", json_pack("{s:s}", "device_id", OTHER), &d), FOFAL_EREJECTED);
  cr_expect_str_eq(d.code, "not_found");
  release(&d);
}

/* --------------------------------------------------------------- the realm */

Test(identity, attempts_on_unknown_names_are_the_realms_own) {
  const fofal_command_def_t *def = fofal_registry_find(reg, "identity.realm.record");
  cr_assert_eq(def->creates, FOFAL_CREATES_OR_UPDATES, "the first attempt creates the realm, the next add to it");
  char realm[FOFAL_UUID_LEN + 1];
  fofal_identity_realm_id(TENANT, realm);
  fofal_decision_t d;
  for (int i = 1; i <= 2; i++) {
    json_t *a = json_pack("{s:s,s:s,s:s,s:s,s:s}", "realm_id", realm, "event", "login_failed", "method", "password",
                          "reason", "unknown_account", "ip", "10.0.0.9");
    cr_assert_eq(decide("identity.realm.record", a, &d), 0, "%s", d.detail);
    cr_expect_str_eq(type_at(&d, 0), "fofal.identity.login_failed.v1");
    cr_expect_eq(json_integer_value(json_object_get(d.state, "attempts")), i);
    release(&d);
  }
  json_t *pin = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "realm_id", realm, "event", "login_failed", "method", "pin",
                          "reason", "unknown_account", "badge", "B-9", "ip", "10.0.0.9");
  cr_expect_eq(decide("identity.realm.record", pin, &d), FOFAL_EREJECTED, "an unknown account is a password sign-in");
  cr_expect_str_eq(d.code, "invalid_record");
  release(&d);
  /* Another tenant's realm is not this tenant's. */
  char theirs[FOFAL_UUID_LEN + 1];
  fofal_identity_realm_id("tenant-b", theirs);
  json_t *b = json_pack("{s:s,s:s,s:s,s:s,s:s}", "realm_id", theirs, "event", "login_failed", "method", "password",
                        "reason", "unknown_account", "ip", "10.0.0.9");
  cr_expect_eq(decide("identity.realm.record", b, &d), FOFAL_EREJECTED);
  cr_expect_str_eq(d.code, "invalid_record");
  release(&d);
}
