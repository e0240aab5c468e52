/*
 * identity.c — the identity module's deciders: accounts, badges, devices, and the security
 * events of sign-in (identity.h says what the aggregates are and how secrets travel).
 *
 * Rules kept here, where one writer per tenant decides them:
 *   - a username names one account per tenant: its id is derived from the name, so a
 *     second create meets an existing aggregate (the processor refuses it: already_exists);
 *   - a badge names one account per tenant: the create reads the badge's aggregate and
 *     assigns it in the same decision; an erased account releases it;
 *   - an account signs in with a password, or with a badge and a PIN (a PIN needs a badge);
 *   - only the account itself changes its password or completes its TOTP enrolment, and
 *     enrols once;
 *   - each recovery code signs in once: the account's state keeps which were used, so a
 *     second use of one is refused here, in the log's order, whichever API instance sent it;
 *   - a security event names the fields its type has (a logout its session, a lockout its
 *     badge and duration …) and nothing else; an erased account records none; a lockout
 *     is a refused sign-in first (login_failed, then locked_out), an MFA lock a failed second
 *     factor first (mfa_failed, then mfa_locked); a verified second factor
 *     completes its sign-in (mfa_verified, then login_succeeded);
 *   - a revoked device stays revoked.
 * What only fofal-api can check (a password against its hash, a TOTP code, rate limits and
 * the PIN lockout, which are operational state) is checked there before the command.
 *
 * Pure functions, as every decider (commands.h): no I/O, no clock but cmd->issued_us.
 */
#include "identity.h"

#include "decide.h"

#include <stdio.h>
#include <string.h>

void fofal_identity_realm_id(const char *tenant, char out[FOFAL_UUID_LEN + 1]) {
  fofal_uuid_named(tenant, "identity:realm", out);
}

void fofal_identity_badge_id(const char *tenant, const char *badge, char out[FOFAL_UUID_LEN + 1]) {
  fofal_aggregate_ref(tenant, "badge", badge, out);
}

/* ------------------------------------------------------------ helpers */

static json_t *bare(const json_t *data, const char *const *keys) {
  json_t *o = json_object();
  for (int i = 0; keys[i]; i++) jcopy(o, data, keys[i]);
  return o;
}

static void emit(fofal_decision_t *out, const char *name, json_t *data) {
  char type[96];
  snprintf(type, sizeof type, "fofal.identity.%s.v1", name);
  fofal_decision_emit(out, type, data);
}

static void emit_to(fofal_decision_t *out, const char *id, const char *name, json_t *data, json_t *state) {
  char type[96];
  snprintf(type, sizeof type, "fofal.identity.%s.v1", name);
  fofal_decision_emit_to(out, id, type, data, state);
}

/* 1 when the command's actor is the account itself ("u:<account id>/<role>"). */
static int actor_is(const fofal_cmd_t *cmd, const char *account) {
  size_t n = strlen(account);
  return cmd->actor && !strncmp(cmd->actor, "u:", 2) && !strncmp(cmd->actor + 2, account, n) && cmd->actor[2 + n] == '/';
}

static int active(const json_t *state, fofal_decision_t *out) {
  if (jeq(state, "status", "erased")) return REJECT(out, "account_erased", "this account was erased");
  return 0;
}

/* ------------------------------------------------------------ accounts */

static int decide_create(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const json_t *d = cmd->data;
  const char *badge = json_string_value(json_object_get(d, "badge"));
  int pw = json_object_get(d, "password_hash") != NULL, pin = json_object_get(d, "pin_hash") != NULL;
  if (!pw && !pin) return REJECT(out, "no_credential", "an account signs in with a password, or a badge and a PIN");
  if (pin && !badge) return REJECT(out, "badge_required", "a PIN signs in with a badge: give the account one");
  char badge_id[FOFAL_UUID_LEN + 1];
  if (badge) {
    fofal_identity_badge_id(cmd->tenant, badge, badge_id);
    const json_t *held = fofal_cmd_lookup(cmd, badge_id);
    if (held && *jstr(held, "account_id"))
      return REJECT(out, "already_exists", "badge %s is another account's in this tenant", badge);
  }
  static const char *const keys[] = {"account_id", "username", "role", "badge", "password_hash", "pin_hash", "ip", NULL};
  json_t *ev = bare(d, keys);
  json_object_set_new(ev, "password", json_boolean(pw));
  json_object_set_new(ev, "pin", json_boolean(pin));
  emit(out, "account_created", ev);
  out->state = json_pack("{s:s,s:s,s:b,s:b,s:b,s:i}", "status", "active", "role", jstr(d, "role"), "password", pw,
                         "pin", pin, "mfa", 0, "recovery_used", 0);
  if (badge) {
    json_object_set_new(out->state, "badge", json_string(badge));
    emit_to(out, badge_id, "badge_assigned", json_pack("{s:s,s:s}", "badge", badge, "account_id", cmd->aggregate),
            json_pack("{s:s,s:s}", "badge", badge, "account_id", cmd->aggregate));
  }
  return 0;
}

/* Which fields each recorded event has: required (all), then allowed. */
typedef struct {
  const char *event;
  const char *required[4];
  const char *allowed[5];
} record_rule_t;

static const record_rule_t record_rules[] = {
    {"login_succeeded", {"method", "sid"}, {"username", "badge", "device_id"}},
    {"login_failed", {"method", "reason"}, {"username", "badge", "device_id"}},
    {"password_verified", {"mfa_required"}, {"username"}},
    {"mfa_failed", {"method"}, {0}},
    {"mfa_verified", {"method", "sid"}, {"recovery_code"}},
    {"refresh_reused", {"sid"}, {0}},
    {"locked_out", {"method", "badge", "failures", "seconds"}, {"device_id"}},
    {"mfa_locked", {"method", "failures", "seconds"}, {0}},
    {"logged_out", {"sid"}, {0}},
    {"password_change_failed", {0}, {0}},
};

static int in_list(const char *const *list, int n, const char *key) {
  for (int i = 0; i < n && list[i]; i++)
    if (!strcmp(list[i], key)) return 1;
  return 0;
}

/* Checks the fields of a recorded event against its rule: 0 or a rejection. */
static int record_fields(const record_rule_t *r, const json_t *d, fofal_decision_t *out) {
  const char *key;
  json_t *v;
  for (int i = 0; i < 4 && r->required[i]; i++)
    if (!json_object_get(d, r->required[i]))
      return REJECT(out, "invalid_record", "%s needs \"%s\"", r->event, r->required[i]);
  json_object_foreach((json_t *)d, key, v) {
    if (!strcmp(key, "account_id") || !strcmp(key, "realm_id") || !strcmp(key, "event") || !strcmp(key, "ip")) continue;
    if (!in_list(r->required, 4, key) && !in_list(r->allowed, 5, key))
      return REJECT(out, "invalid_record", "%s has no \"%s\"", r->event, key);
  }
  return 0;
}

static int decide_record(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const json_t *d = cmd->data;
  const char *event = jstr(d, "event"), *method = jstr(d, "method");
  const record_rule_t *r = NULL;
  if (active(state, out)) return FOFAL_EREJECTED;
  for (size_t i = 0; i < sizeof record_rules / sizeof record_rules[0] && !r; i++)
    if (!strcmp(record_rules[i].event, event)) r = &record_rules[i];
  if (!r) return REJECT(out, "invalid_record", "no security event \"%s\"", event);
  if (record_fields(r, d, out)) return FOFAL_EREJECTED;
  int totp = !strcmp(method, "totp"), recovery = !strcmp(method, "recovery_code");
  if (!strcmp(event, "login_failed") &&
      !((!strcmp(method, "password") && jeq(d, "reason", "bad_password")) || (!strcmp(method, "pin") && jeq(d, "reason", "bad_pin"))))
    return REJECT(out, "invalid_record", "a refused sign-in of a known account is bad_password (password) or bad_pin (pin)");
  if ((!strcmp(event, "mfa_failed") || !strcmp(event, "mfa_verified") || !strcmp(event, "mfa_locked")) && !totp &&
      !recovery)
    return REJECT(out, "invalid_record", "a second factor is totp or recovery_code");
  if (!strcmp(event, "locked_out") && strcmp(method, "pin")) return REJECT(out, "invalid_record", "only PINs lock out");
  if (!strcmp(event, "login_succeeded") && (totp || recovery))
    return REJECT(out, "invalid_record", "a second factor signs in by mfa_verified");
  json_int_t used = jint(state, "recovery_used", 0), code = jint(d, "recovery_code", -1);
  if (!strcmp(event, "mfa_verified")) {
    if (!json_is_true(json_object_get(state, "mfa"))) return REJECT(out, "not_enrolled", "no second factor is enrolled");
    if (recovery != (code >= 0))
      return REJECT(out, "invalid_record", "a recovery code sign-in names its code, a TOTP one none");
    if (recovery && (used >> code) & 1)
      return REJECT(out, "code_used", "this recovery code was used already: each signs in once");
  }
  json_t *next = json_deep_copy(state);
  if (!strcmp(event, "mfa_verified") && recovery)
    json_object_set_new(next, "recovery_used", json_integer(used | ((json_int_t)1 << code)));
  static const char *const keys[] = {"username", "method",   "reason",       "sid",           "badge", "device_id",
                                     "failures", "seconds",  "mfa_required", "recovery_code", "ip",    NULL};
  /* The wrong PIN that locks a badge is a refused sign-in first; the wrong code that locks
   * the MFA step a failed second factor first. */
  if (!strcmp(event, "locked_out")) {
    static const char *const failed[] = {"method", "badge", "device_id", "ip", NULL};
    json_t *f = bare(d, failed);
    json_object_set_new(f, "reason", json_string("bad_pin"));
    emit(out, "login_failed", f);
    static const char *const lock[] = {"method", "badge", "failures", "seconds", "ip", NULL};
    emit(out, event, bare(d, lock));
  } else if (!strcmp(event, "mfa_locked")) {
    static const char *const failed[] = {"method", "ip", NULL}, *const lock[] = {"method", "failures", "seconds", "ip", NULL};
    emit(out, "mfa_failed", bare(d, failed));
    emit(out, event, bare(d, lock));
  } else {
    json_t *e = bare(d, keys);
    if (!strcmp(event, "mfa_verified")) json_object_del(e, "sid"); /* the sign-in's, below */
    emit(out, event, e);
  }
  /* A verified second factor completes the sign-in it was asked for. */
  if (!strcmp(event, "mfa_verified"))
    emit(out, "login_succeeded", json_pack("{s:s,s:O,s:O}", "method", method, "sid", json_object_get(d, "sid"), "ip",
                                           json_object_get(d, "ip")));
  out->state = next;
  return 0;
}

static int decide_change_password(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (active(state, out)) return FOFAL_EREJECTED;
  if (!actor_is(cmd, cmd->aggregate)) return REJECT(out, "actor_mismatch", "only the account itself changes its password");
  if (!json_is_true(json_object_get(state, "password")))
    return REJECT(out, "no_password", "this account signs in with a PIN, not a password");
  static const char *const keys[] = {"password_hash", "ip", NULL};
  emit(out, "password_changed", bare(cmd->data, keys));
  out->state = json_deep_copy(state);
  return 0;
}

static int decide_enrol_mfa(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (active(state, out)) return FOFAL_EREJECTED;
  if (!actor_is(cmd, cmd->aggregate)) return REJECT(out, "actor_mismatch", "only the account itself enrols its second factor");
  if (json_is_true(json_object_get(state, "mfa")))
    return REJECT(out, "already_enrolled", "a TOTP secret is already enrolled for this account");
  const json_t *d = cmd->data;
  emit(out, "mfa_enrolled",
       json_pack("{s:s,s:O,s:O,s:O}", "method", "totp", "totp_secret", json_object_get(d, "totp_secret"), "recovery_codes",
                 json_object_get(d, "recovery_codes"), "ip", json_object_get(d, "ip")));
  emit(out, "mfa_verified", json_pack("{s:s,s:O}", "method", "totp", "ip", json_object_get(d, "ip")));
  emit(out, "login_succeeded",
       json_pack("{s:s,s:O,s:O}", "method", "totp", "sid", json_object_get(d, "sid"), "ip", json_object_get(d, "ip")));
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "mfa", json_true());
  json_object_set_new(out->state, "recovery_used", json_integer(0));
  return 0;
}

static int decide_erase(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (active(state, out)) return FOFAL_EREJECTED;
  emit(out, "account_erased", json_pack("{s:s}", "account_id", cmd->aggregate));
  out->state = json_pack("{s:s,s:s}", "status", "erased", "role", jstr(state, "role"));
  const char *badge = json_string_value(json_object_get(state, "badge"));
  if (badge) {
    char badge_id[FOFAL_UUID_LEN + 1];
    fofal_identity_badge_id(cmd->tenant, badge, badge_id);
    emit_to(out, badge_id, "badge_released", json_pack("{s:s,s:s}", "badge", badge, "account_id", cmd->aggregate),
            json_pack("{s:s,s:s}", "badge", badge, "account_id", ""));
  }
  return 0;
}

/* ------------------------------------------------------------ devices */

static int decide_device_enrol(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  static const char *const keys[] = {"device_id", "name", "secret_sha256", "ip", NULL};
  emit(out, "device_enrolled", bare(cmd->data, keys));
  out->state = json_pack("{s:s,s:O}", "status", "active", "name", json_object_get(cmd->data, "name"));
  return 0;
}

static int decide_device_revoke(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (jeq(state, "status", "revoked")) return REJECT(out, "already_revoked", "this device was revoked already");
  static const char *const keys[] = {"device_id", "reason", "ip", NULL};
  emit(out, "device_revoked", bare(cmd->data, keys));
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "status", json_string("revoked"));
  return 0;
}

/* ------------------------------------------------------------ the realm */

static int decide_realm_record(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const json_t *d = cmd->data;
  const char *method = jstr(d, "method"), *reason = jstr(d, "reason");
  char want[FOFAL_UUID_LEN + 1];
  fofal_identity_realm_id(cmd->tenant, want);
  if (strcmp(cmd->aggregate, want)) return REJECT(out, "invalid_record", "the realm of a tenant is its own");
  int password = !strcmp(method, "password");
  if (password != !strcmp(reason, "unknown_account"))
    return REJECT(out, "invalid_record", "an unknown account is a password sign-in; an unknown badge or device a PIN one");
  if (password && (json_object_get(d, "badge") || json_object_get(d, "device_id")))
    return REJECT(out, "invalid_record", "a password sign-in names no badge or device");
  static const char *const keys[] = {"method", "reason", "badge", "device_id", "ip", NULL};
  emit(out, "login_failed", bare(d, keys));
  out->state = json_pack("{s:I}", "attempts", jint(state, "attempts", 0) + 1);
  return 0;
}

const fofal_command_def_t fofal_identity_commands[] = {
    {"identity.account.create", "account_id", 1, "Create an account (fofal-api's /auth/accounts)", decide_create, NULL},
    {"identity.account.record", "account_id", 0, "Record a security event of an account (fofal-api's sign-in routes)",
     decide_record, NULL},
    {"identity.account.change_password", "account_id", 0, "Change an account's password (fofal-api's /auth/password)",
     decide_change_password, NULL},
    {"identity.account.enrol_mfa", "account_id", 0, "Complete a TOTP enrolment (fofal-api's /auth/mfa)",
     decide_enrol_mfa, NULL},
    {"identity.account.erase", "account_id", 0, "Erase an account (fofal account erase)", decide_erase, NULL},
    {"identity.device.enrol", "device_id", 1, "Enrol a shop-floor device (fofal-api's /auth/devices)",
     decide_device_enrol, NULL},
    {"identity.device.revoke", "device_id", 0, "Revoke a shop-floor device", decide_device_revoke, NULL},
    {"identity.realm.record", "realm_id", FOFAL_CREATES_OR_UPDATES,
     "Record a sign-in attempt naming nobody known (fofal-api's sign-in routes)", decide_realm_record, NULL},
};
const int fofal_identity_commands_n = sizeof fofal_identity_commands / sizeof fofal_identity_commands[0];

/* The module's registration in the command layer (commands.h, "modules"): the build finds
 * this folder and lists it in the generated fofal_command_modules[]. */
static const fofal_command_table_t tables[] = {
    {fofal_identity_commands, &fofal_identity_commands_n},
    {NULL, NULL},
};

const fofal_command_module_t fofal_module_identity_commands = {.name = "identity", .tables = tables};
