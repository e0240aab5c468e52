/*
 * test_notify_rules.c — the notify module's rules: its deciders (commands/notify/notify.c,
 * through the registry and an in-memory tenant: tests/unit/production/world.h) and the pure
 * rules fofal-notifier applies (commands/notify/rules.c): who receives a rule's message
 * (role, badge, address for the channel, opt-out, disabled rule), what it says (French and
 * English, the tenant's name, no header injection), its id, the pause before a retry.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "decide.h"
#include "jsonschema.h"
#include "notify/notify.h"
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

TestSuite(notify_decide, .init = setup, .fini = teardown);

/* Every event a decision emits matches its schema under schemas/notify/events/. */
static void check_event(const json_t *ev) {
  const char *type = json_string_value(json_object_get(ev, "type"));
  const char prefix[] = "fofal.notify.";
  cr_assert(type && !strncmp(type, prefix, sizeof prefix - 1), "event type %s", type ? type : "(null)");
  char path[512], err[256];
  snprintf(path, sizeof path, "%s/schemas/notify/events/%s.json", FOFAL_SOURCE_DIR, type + sizeof prefix - 1);
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

static void ok(const char *type, json_t *data, const char *cmd_id) {
  fofal_decision_t d;
  int rc = world_decide_at(type, data, W_ISSUED, cmd_id, &d);
  cr_assert_eq(rc, 0, "%s (%s) rejected: %s: %s", type, cmd_id, d.code, d.detail);
  size_t i;
  json_t *ev;
  cr_assert_gt(json_array_size(d.events), 0, "%s emitted nothing", type);
  json_array_foreach(d.events, i, ev) check_event(ev);
  world_release(&d);
}

#define BREAKDOWN "fofal.machines.breakdown_declared.v1"

Test(notify_decide, a_rule_needs_a_known_trigger_and_a_recipient) {
  ok("notify.rule.set",
           json_pack("{s:s,s:s,s:s,s:[s]}", "rule_id", "breakdown-sms", "event_type", BREAKDOWN, "channel", "sms", "roles",
                     "mechanic"),
           "r1");
  world_no("notify.rule.set", json_pack("{s:s,s:s,s:s}", "rule_id", "empty", "event_type", BREAKDOWN, "channel", "email"),
           "no_recipients");
  world_no("notify.rule.set",
           json_pack("{s:s,s:s,s:s,s:[]}", "rule_id", "empty2", "event_type", BREAKDOWN, "channel", "email", "badges"),
           "no_recipients");
  /* The event's owner is a recipient enough: a lockout reaches the badge's holder. */
  ok("notify.rule.set",
     json_pack("{s:s,s:s,s:s,s:b}", "rule_id", "lockout-owner", "event_type", "fofal.identity.locked_out.v1", "channel",
               "email", "owner", 1),
     "r-owner");
  /* Set again: replaced whole. Then removed, once. */
  ok("notify.rule.set",
           json_pack("{s:s,s:s,s:s,s:[s]}", "rule_id", "breakdown-sms", "event_type", BREAKDOWN, "channel", "email",
                     "badges", "M1"),
           "r2");
  ok("notify.rule.remove", json_pack("{s:s}", "rule_id", "breakdown-sms"), "r3");
  world_no("notify.rule.remove", json_pack("{s:s}", "rule_id", "breakdown-sms"), "invalid_transition");
}

Test(notify_decide, a_floor_role_opts_out_as_themself_a_manager_for_someone) {
  ok("notify.contact.set",
           json_pack("{s:s,s:s,s:s,s:[s]}", "badge", "M1", "phone", "+216 20 000 001", "email", "m1@example.test", "roles",
                     "mechanic"),
           "c1");
  world_as("u:m1/mechanic", "M1");
  ok("notify.optout.set", json_pack("{s:s,s:s,s:b}", "badge", "M1", "channel", "sms", "opted_out", 1), "o1");
  world_no("notify.optout.set", json_pack("{s:s,s:s,s:b}", "badge", "M2", "channel", "sms", "opted_out", 1),
           "actor_mismatch");
  world_as("u:boss/manager", "B1");
  fofal_decision_t d;
  cr_assert_eq(world_decide_at("notify.optout.set", json_pack("{s:s,s:s,s:b}", "badge", "M2", "channel", "email", "opted_out", 1),
                               W_ISSUED, "o2", &d),
               0, "%s", d.detail);
  check_event(json_array_get(d.events, 0));
  json_t *ev = json_object_get(json_array_get(d.events, 0), "data");
  cr_expect_not_null(json_object_get(ev, "delegated_by"), "a manager's opt-out for someone says so");
  world_release(&d);
}

Test(notify_decide, the_contact_event_holds_the_address_only_sealed) {
  fofal_decision_t d;
  cr_assert_eq(world_decide_at("notify.contact.set",
                               json_pack("{s:s,s:s,s:s,s:[s]}", "badge", "Q1", "email", "q1@example.test", "lang", "en", "roles",
                                         "quality"),
                               W_ISSUED, "c2", &d),
               0, "%s", d.detail);
  check_event(json_array_get(d.events, 0));
  char *text = json_dumps(d.events, JSON_COMPACT);
  cr_expect_null(strstr(text, "q1@example.test"), "the address is in the event in clear: %s", text);
  cr_expect(fofal_pd_is_sealed(json_object_get(json_object_get(json_array_get(d.events, 0), "data"), "email")));
  free(text);
  world_release(&d);
}

Test(notify_decide, settings_name_the_tenant_french_by_default) {
  ok("notify.settings.set", json_pack("{s:s,s:s}", "settings", "default", "tenant_name", "Tissage du Sahel"), "s1");
  const json_t *st = world_ref("notify_settings", "default");
  cr_assert_not_null(st);
  cr_expect_str_eq(json_string_value(json_object_get(st, "lang")), "fr");
}

Test(notify_decide, a_failure_must_name_its_derived_message_id) {
  char id[FOFAL_UUID_LEN + 1];
  fofal_notify_message_id(W_TENANT, "ev-1", "r", "M1", id);
  const char *fmt = "{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s}";
  ok("notify.message.fail",
           json_pack(fmt, "message_id", id, "event_id", "ev-1", "event_type", BREAKDOWN, "rule_id", "r", "badge", "M1",
                     "channel", "sms", "attempts", 9, "reason", "down"),
           "f1");
  world_no("notify.message.fail",
           json_pack(fmt, "message_id", id, "event_id", "ev-1", "event_type", BREAKDOWN, "rule_id", "r", "badge", "M1",
                     "channel", "sms", "attempts", 9, "reason", "down"),
           "already_recorded");
  char other[FOFAL_UUID_LEN + 1];
  fofal_uuid7(other);
  world_no("notify.message.fail",
           json_pack(fmt, "message_id", other, "event_id", "ev-1", "event_type", BREAKDOWN, "rule_id", "r", "badge", "M2",
                     "channel", "sms", "attempts", 9, "reason", "down"),
           "invalid_message_id");
}

/* ------------------------------------------------------------ pure rules */

static json_t *contacts(void) {
  return json_pack("[{s:s,s:s,s:[s],s:b,s:b,s:b,s:b},{s:s,s:s,s:[s],s:b,s:b,s:b,s:b},{s:s,s:s,s:[s],s:b,s:b,s:b,s:b},"
                   "{s:s,s:s,s:[s],s:b,s:b,s:b,s:b}]",
                   "badge", "M1", "lang", "fr", "roles", "mechanic", "has_email", 1, "has_phone", 1, "optout_email", 0,
                   "optout_sms", 0, /* reachable both ways */
                   "badge", "M2", "lang", "en", "roles", "mechanic", "has_email", 1, "has_phone", 1, "optout_email", 0,
                   "optout_sms", 1, /* opted out of SMS */
                   "badge", "M3", "lang", "fr", "roles", "mechanic", "has_email", 1, "has_phone", 0, "optout_email", 0,
                   "optout_sms", 0, /* no phone */
                   "badge", "S1", "lang", "xx", "roles", "storekeeper_mp", "has_email", 1, "has_phone", 1, "optout_email",
                   0, "optout_sms", 0);
}

static char *badges_of(json_t *to) {
  char *s = fofal_strdup("");
  size_t i;
  json_t *r;
  json_array_foreach(to, i, r) {
    char *t = fofal_asprintf("%s%s%s", s, i ? "," : "", json_string_value(json_object_get(r, "badge")));
    free(s);
    s = t;
  }
  json_decref(to);
  return s;
}

Test(notify_rules, recipients_by_role_with_an_address_not_opted_out) {
  json_t *cs = contacts();
  json_t *sms = json_pack("{s:s,s:[s],s:[]}", "channel", "sms", "roles", "mechanic", "badges");
  char *got = badges_of(fofal_notify_recipients(sms, cs));
  cr_expect_str_eq(got, "M1", "SMS to mechanics: M2 opted out, M3 has no phone");
  free(got);
  json_t *email = json_pack("{s:s,s:[s],s:[]}", "channel", "email", "roles", "mechanic", "badges");
  got = badges_of(fofal_notify_recipients(email, cs));
  cr_expect_str_eq(got, "M1,M2,M3");
  free(got);
  json_decref(sms);
  json_decref(email);
  json_decref(cs);
}

Test(notify_rules, a_rule_on_shift_reaches_only_who_is_on_shift) {
  json_t *cs = contacts();
  json_object_set_new(json_array_get(cs, 2), "on_shift", json_true()); /* M3 */
  json_t *r = json_pack("{s:s,s:[s],s:[],s:b}", "channel", "email", "roles", "mechanic", "badges", "on_shift", 1);
  char *got = badges_of(fofal_notify_recipients(r, cs));
  cr_expect_str_eq(got, "M3", "the mechanics on shift only");
  free(got);
  json_object_set_new(r, "on_shift", json_false());
  got = badges_of(fofal_notify_recipients(r, cs));
  cr_expect_str_eq(got, "M1,M2,M3");
  free(got);
  json_decref(r);
  json_decref(cs);
}

Test(notify_rules, recipients_by_badge_once_and_none_when_disabled) {
  json_t *cs = contacts();
  json_t *r = json_pack("{s:s,s:[s],s:[s,s]}", "channel", "email", "roles", "storekeeper_mp", "badges", "S1", "M3");
  char *got = badges_of(fofal_notify_recipients(r, cs));
  cr_expect_str_eq(got, "M3,S1", "by badge and by role, each once");
  free(got);
  json_object_set_new(r, "enabled", json_false());
  got = badges_of(fofal_notify_recipients(r, cs));
  cr_expect_str_eq(got, "");
  free(got);
  json_t *one = json_pack("{s:s,s:[s]}", "channel", "sms", "badges", "S1");
  json_t *to = fofal_notify_recipients(one, cs);
  json_decref(one);
  cr_expect_str_eq(json_string_value(json_object_get(json_array_get(to, 0), "lang")), "fr", "unknown language: French");
  json_decref(to);
  json_decref(r);
  json_decref(cs);
}

Test(notify_rules, messages_in_french_and_english_with_the_tenant_name) {
  json_t *d = json_pack("{s:s,s:s,s:s,s:s}", "loom", "L07", "cause", "mechanical", "since", "2026-12-07T08:00:00Z", "reason",
                        "x");
  char *s = NULL, *b = NULL;
  cr_assert_eq(fofal_notify_render(BREAKDOWN, d, "fr", "Tissage du Sahel", &s, &b), 0);
  cr_expect_str_eq(s, "[Tissage du Sahel] Panne du métier L07");
  cr_expect(strstr(b, "Tissage du Sahel : le métier L07 est en panne (mechanical)"), "%s", b);
  free(s);
  free(b);
  cr_assert_eq(fofal_notify_render(BREAKDOWN, d, "en", "Sahel Weaving", &s, &b), 0);
  cr_expect_str_eq(s, "[Sahel Weaving] Loom L07 broke down");
  free(s);
  free(b);
  cr_expect_eq(fofal_notify_render("fofal.production.order_created.v1", d, "fr", "T", &s, &b), FOFAL_ENOENT);
  json_decref(d);
  /* Every trigger has its template, whose fields are the event's. */
  for (int i = 0; fofal_notify_triggers[i]; i++) {
    json_t *e = json_object();
    cr_expect_eq(fofal_notify_render(fofal_notify_triggers[i], e, "en", "T", &s, &b), 0, "%s", fofal_notify_triggers[i]);
    free(s);
    free(b);
    json_decref(e);
  }
}

Test(notify_rules, a_purchase_quantity_reads_in_its_unit) {
  json_t *d = json_pack("{s:s,s:i,s:s,s:s,s:s,s:s}", "description", "roulement 6204", "quantity_milli", 2500, "unit", "kg",
                        "need_by", "2026-12-17", "reason", "bruit", "request_id", "r-1");
  char *s = NULL, *b = NULL;
  cr_assert_eq(fofal_notify_render("fofal.purchasing.request_submitted.v1", d, "fr", "T", &s, &b), 0);
  cr_expect(strstr(b, "(roulement 6204, 2.5 kg, pour le 2026-12-17)"), "%s", b);
  cr_expect(strstr(s, "roulement 6204"), "a request for no catalog item names its description: %s", s);
  free(s);
  free(b);
  json_object_set_new(d, "quantity_milli", json_integer(1200000));
  cr_assert_eq(fofal_notify_render("fofal.purchasing.request_submitted.v1", d, "en", "T", &s, &b), 0);
  cr_expect(strstr(b, "1200 kg"), "%s", b);
  free(s);
  free(b);
  json_decref(d);
}

Test(notify_rules, a_subject_cannot_carry_a_header) {
  json_t *d = json_pack("{s:s,s:s}", "title", "bad\r\nBcc: victim@example.test", "nc_id", "x");
  char *s = NULL, *b = NULL;
  cr_assert_eq(fofal_notify_render("fofal.quality.nc_opened.v1", d, "en", "T\nX", &s, &b), 0);
  cr_expect_null(strchr(s, '\n'));
  cr_expect_null(strchr(s, '\r'));
  free(s);
  free(b);
  json_decref(d);
}

Test(notify_rules, a_message_id_depends_on_event_rule_and_person_only) {
  char a[FOFAL_UUID_LEN + 1], b[FOFAL_UUID_LEN + 1], c[FOFAL_UUID_LEN + 1], d[FOFAL_UUID_LEN + 1];
  fofal_notify_message_id("t", "e1", "r", "M1", a);
  fofal_notify_message_id("t", "e1", "r", "M1", b);
  fofal_notify_message_id("t", "e1", "r", "M2", c);
  fofal_notify_message_id("t", "e1", "r2", "M1", d);
  cr_expect_str_eq(a, b);
  cr_expect_str_neq(a, c);
  cr_expect_str_neq(a, d);
  cr_expect(fofal_uuid_valid(a));
}

Test(notify_rules, retries_back_off_doubling_up_to_a_ceiling) {
  cr_expect_eq(fofal_notify_backoff_ms(1, 1000, 60000), 1000);
  cr_expect_eq(fofal_notify_backoff_ms(2, 1000, 60000), 2000);
  cr_expect_eq(fofal_notify_backoff_ms(4, 1000, 60000), 8000);
  cr_expect_eq(fofal_notify_backoff_ms(30, 1000, 60000), 60000);
  cr_expect(fofal_notify_trigger("fofal.inventory.stock_below_minimum.v1"));
  cr_expect(!fofal_notify_trigger("fofal.inventory.stock_changed.v1"));
}

/* A rule with "owner" also reaches the person the event is about, through their contact. */
Test(notify_rules, an_owner_rule_reaches_the_person_the_event_is_about) {
  json_t *cs = contacts();
  json_t *r = json_pack("{s:s,s:[],s:[],s:b}", "channel", "email", "roles", "badges", "owner", 1);
  fofal_notify_add_owner(r, "M2");
  fofal_notify_add_owner(r, "M2");
  char *got = badges_of(fofal_notify_recipients(r, cs));
  cr_expect_str_eq(got, "M2", "the locked badge's holder, once");
  free(got);
  json_t *plain = json_pack("{s:s,s:[s],s:[]}", "channel", "email", "roles", "storekeeper_mp", "badges");
  fofal_notify_add_owner(plain, "M2");
  got = badges_of(fofal_notify_recipients(plain, cs));
  cr_expect_str_eq(got, "S1", "a rule without owner reaches its roles only");
  free(got);
  json_t *none = json_pack("{s:s,s:[],s:[],s:b}", "channel", "email", "roles", "badges", "owner", 1);
  fofal_notify_add_owner(none, NULL);
  got = badges_of(fofal_notify_recipients(none, cs));
  cr_expect_str_eq(got, "", "an event about nobody reaches nobody");
  free(got);
  json_decref(r);
  json_decref(plain);
  json_decref(none);
  json_decref(cs);
}

/* The lockouts and the overdue action say what happened, never the client's address. */
Test(notify_rules, lockouts_and_overdue_actions_have_their_messages) {
  char *s = NULL, *b = NULL;
  json_t *d = json_pack("{s:s,s:s,s:i,s:i,s:s}", "method", "pin", "badge", "W121", "failures", 5, "seconds", 900, "ip",
                        "203.0.113.9");
  cr_assert_eq(fofal_notify_render("fofal.identity.locked_out.v1", d, "fr", "Tissage du Sahel", &s, &b), 0);
  cr_expect_str_eq(s, "[Tissage du Sahel] Badge W121 bloqué");
  cr_expect(strstr(b, "5 codes PIN erronés de suite sur le badge W121") && strstr(b, "900 s"), "%s", b);
  cr_expect_null(strstr(b, "203.0.113.9"), "no IP address in a message");
  free(s);
  free(b);
  json_decref(d);
  d = json_pack("{s:s,s:i,s:s,s:s,s:s,s:s}", "nc_id", "0190a1b2-0000-7000-8000-000000000001", "action_no", 2, "description",
                "changer les lames", "owner", "M02", "due", "2026-11-30", "title", "Trous en lisière");
  cr_assert_eq(fofal_notify_render(FOFAL_NOTIFY_OVERDUE, d, "en", "Sahel Weaving", &s, &b), 0);
  cr_expect_str_eq(s, "[Sahel Weaving] Action overdue: Trous en lisière");
  cr_expect(strstr(b, "action 2 of the non-conformity \"Trous en lisière\" (changer les lames), owned by M02, was due on "
                      "2026-11-30"),
            "%s", b);
  free(s);
  free(b);
  json_decref(d);
}
