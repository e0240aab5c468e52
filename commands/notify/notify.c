/*
 * notify.c — the notify module's deciders: the tenant's notification rules, how each person
 * is reached, their opt-outs, and the record of a message that could not be sent.
 *
 *   notify.settings.set   (manager, admin) the tenant's name messages carry, their default
 *                         language
 *   notify.rule.set       (manager, admin) a rule: an event type (one of the triggers
 *                         fofal-notifier knows, notify.h), a channel (email or sms) and its
 *                         recipients by role and by badge, only those on shift if it says
 *                         on_shift; set again, it is replaced whole
 *   notify.rule.remove    (manager, admin)
 *   notify.contact.set    (hr, manager, admin) a person's email and phone (personal data:
 *                         sealed by fofal-api with the person's key, never in clear in the
 *                         log), language and the roles they are reached for
 *   notify.optout.set     (every role) a person opts out of a channel or back in: a floor
 *                         role as themself (the token's badge, actors.c), a manager or admin
 *                         for someone (a delegation the event records)
 *   notify.message.fail   (fofal-notifier, s:fofal-notifier; an admin by hand) a message
 *                         whose retries are spent: an event, so `fofal status` and the
 *                         audit trail show it
 *
 * A contact and its opt-outs are one aggregate, fofal_aggregate_ref(tenant, "contact",
 * badge), so the sealed fields are sealed with that person's key. Rules are
 * ("notifyrule", rule_id), the settings ("notify_settings", "default"), a failure its
 * message id (name-based on event id, rule, badge: notify.h). Pure functions.
 */
#include "decide.h"
#include "notify.h"

#include <stdio.h>
#include <string.h>

#define EV(name) "fofal.notify." name ".v1"

static int settings_set(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const char *lang = *jstr(cmd->data, "lang") ? jstr(cmd->data, "lang") : "fr";
  json_t *ev = json_pack("{s:s,s:s,s:s}", "settings", "default", "tenant_name", jstr(cmd->data, "tenant_name"), "lang", lang);
  out->state = json_deep_copy(ev);
  fofal_decision_emit(out, EV("settings_set"), ev);
  return 0;
}

static int rule_set(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const json_t *roles = json_object_get(cmd->data, "roles"), *badges = json_object_get(cmd->data, "badges");
  if (!fofal_notify_trigger(jstr(cmd->data, "event_type")))
    return REJECT(out, "unknown_trigger", "fofal-notifier does not answer %s", jstr(cmd->data, "event_type"));
  int owner = json_is_true(json_object_get(cmd->data, "owner"));
  if (!json_array_size(roles) && !json_array_size(badges) && !owner)
    return REJECT(out, "no_recipients", "a rule names at least one role or one badge, or reaches the event's owner");
  json_t *r = json_object_get(cmd->data, "enabled");
  json_t *ev = json_pack("{s:s,s:s,s:s,s:o,s:o,s:b,s:b,s:s}", "rule_id", jstr(cmd->data, "rule_id"), "event_type",
                         jstr(cmd->data, "event_type"), "channel", jstr(cmd->data, "channel"), "roles",
                         roles ? json_deep_copy(roles) : json_array(), "badges", badges ? json_deep_copy(badges) : json_array(),
                         "enabled", r ? json_is_true(r) : 1, "on_shift", json_is_true(json_object_get(cmd->data, "on_shift")),
                         "set_by", cmd->actor ? cmd->actor : "");
  if (owner) json_object_set_new(ev, "owner", json_true());
  out->state = json_pack("{s:s}", "status", "active");
  fofal_decision_emit(out, EV("rule_set"), ev);
  return 0;
}

static int rule_remove(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (!jeq(state, "status", "active")) return REJECT(out, "invalid_transition", "the rule was removed already");
  out->state = json_pack("{s:s}", "status", "removed");
  fofal_decision_emit(out, EV("rule_removed"), json_pack("{s:s}", "rule_id", jstr(cmd->data, "rule_id")));
  return 0;
}

static int contact_set(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const char *lang = *jstr(cmd->data, "lang") ? jstr(cmd->data, "lang") : "fr";
  const json_t *roles = json_object_get(cmd->data, "roles");
  json_t *ev = json_pack("{s:s,s:s,s:o}", "badge", jstr(cmd->data, "badge"), "lang", lang, "roles",
                         roles ? json_deep_copy(roles) : json_array());
  jcopy(ev, cmd->data, "email"); /* sealed by fofal-api: the decider never sees them in clear */
  jcopy(ev, cmd->data, "phone");
  out->state = state ? json_deep_copy(state) : json_object();
  json_object_set_new(out->state, "contact", json_true());
  fofal_decision_emit(out, EV("contact_set"), ev);
  return 0;
}

static int optout_set(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const char *who;
  int delegated;
  if (fofal_actor_person(cmd, "badge", jstr(cmd->data, "badge"), 1, &who, &delegated, out)) return FOFAL_EREJECTED;
  int opted = json_is_true(json_object_get(cmd->data, "opted_out"));
  json_t *ev = json_pack("{s:s,s:s,s:b}", "badge", who, "channel", jstr(cmd->data, "channel"), "opted_out", opted);
  if (delegated) json_object_set_new(ev, "delegated_by", fofal_actor_delegation(cmd));
  out->state = state ? json_deep_copy(state) : json_object();
  char k[32];
  snprintf(k, sizeof k, "optout_%s", jstr(cmd->data, "channel"));
  json_object_set_new(out->state, k, json_boolean(opted));
  fofal_decision_emit(out, EV("optout_set"), ev);
  return 0;
}

static int message_fail(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (jeq(state, "status", "failed")) return REJECT(out, "already_recorded", "this message's failure is recorded already");
  char want[FOFAL_UUID_LEN + 1];
  fofal_notify_message_id(cmd->tenant, jstr(cmd->data, "event_id"), jstr(cmd->data, "rule_id"), jstr(cmd->data, "badge"),
                          want);
  if (strcmp(want, jstr(cmd->data, "message_id")))
    return REJECT(out, "invalid_message_id", "a message's id is derived from its event, rule and badge");
  out->state = json_pack("{s:s}", "status", "failed");
  fofal_decision_emit(out, EV("message_failed"), json_deep_copy(cmd->data));
  return 0;
}

static const fofal_command_def_t commands[] = {
    {"notify.settings.set", "settings", FOFAL_CREATES_OR_UPDATES, "Set the tenant's name messages carry and their language.",
     settings_set, "notify_settings"},
    {"notify.rule.set", "rule_id", FOFAL_CREATES_OR_UPDATES,
     "Set a notification rule: an event, a channel (email or sms), recipients by role and badge.", rule_set, "notifyrule"},
    {"notify.rule.remove", "rule_id", 0, "Remove a notification rule.", rule_remove, "notifyrule"},
    {"notify.contact.set", "badge", FOFAL_CREATES_OR_UPDATES,
     "Set how a person is reached: email, phone (personal data), language, roles.", contact_set, "contact"},
    {"notify.optout.set", "badge", FOFAL_CREATES_OR_UPDATES, "Opt out of a channel (email or sms), or back in.", optout_set,
     "contact"},
    {"notify.message.fail", "message_id", FOFAL_CREATES_OR_UPDATES,
     "Record a message fofal-notifier could not send after its retries.", message_fail, NULL},
};
static const int ncommands = sizeof commands / sizeof commands[0];

static const fofal_command_table_t tables[] = {
    {commands, &ncommands},
    {NULL, NULL},
};

const fofal_command_module_t fofal_module_notify_commands = {.name = "notify", .tables = tables};
