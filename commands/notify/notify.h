/*
 * notify.h — the notify module's pure rules, shared by its deciders (notify.c) and
 * fofal-notifier (notifier/): which events fire rules, who receives a rule's message,
 * what it says (French and English, with the tenant's name), its id, and the pause before
 * a retry. No I/O: unit tests call them directly (tests/unit/notify/).
 */
#ifndef FOFAL_NOTIFY_H
#define FOFAL_NOTIFY_H

#include <jansson.h>
#include <stdint.h>

#include "events.h"

/* The event types a rule may name (NULL-terminated), and 1 if `type` is one of them. */
extern const char *const fofal_notify_triggers[];
int fofal_notify_trigger(const char *type);

/* A condition, not an event of the log: an NC's action past its due date while its NC is
 * not closed. fofal-notifier looks for them every minute in quality's read model and
 * treats each (action, due date) once as if it were an event of this type (its event id
 * "overdue:<nc>:<action>:<due>"). */
#define FOFAL_NOTIFY_OVERDUE "fofal.quality.action_overdue.v1"

/* A rule with "owner": true also reaches the person the event is about — a locked
 * account's holder, an overdue action's owner: adds `owner` (a badge; NULL or "": none)
 * to the rule's "badges" when it is not there. */
void fofal_notify_add_owner(json_t *rule, const char *owner);

/* A message's id: name-based on (tenant, event id, rule, badge), so the same message made
 * again after a crash has the same id — its SMTP Message-ID and its SMS gateway's
 * idempotency key (out[37]). */
void fofal_notify_message_id(const char *tenant, const char *event_id, const char *rule_id, const char *badge,
                             char out[FOFAL_UUID_LEN + 1]);

/* Who receives `rule`'s message: `rule` is {"channel","roles":[...],"badges":[...],
 * "enabled","on_shift"}; `contacts` an array of {"badge","lang","roles":[...],"has_email",
 * "has_phone","optout_email","optout_sms","on_shift"}. A contact is a recipient when the
 * rule names its badge or one of its roles, it has an address for the rule's channel, has
 * not opted out of it, and — for a rule "on_shift" — is on shift now.
 * New array of {"badge","lang"} in the contacts' order, each badge once; empty for a
 * disabled rule. */
json_t *fofal_notify_recipients(const json_t *rule, const json_t *contacts);

/* The message for event `type` with `data`, in `lang` ("fr" or "en"; anything else: fr),
 * signed with the tenant's name: *subject and *body new strings (an SMS sends the body).
 * 0, or FOFAL_ENOENT for a type that is no trigger. */
int fofal_notify_render(const char *type, const json_t *data, const char *lang, const char *tenant_name, char **subject,
                        char **body);

/* The pause before attempt `attempt` (1: the first retry): base_ms doubled each time,
 * capped at max_ms. */
int64_t fofal_notify_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms);

#endif
