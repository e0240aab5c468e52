/*
 * rules.c — the notify module's pure rules (notify.h): triggers, recipients, messages,
 * ids and retry pauses. fofal-notifier applies them; the deciders check rules against the
 * triggers. Templates are code, not data: a rule picks the event, the event picks its
 * template, and the recipient's language picks French or English.
 */
#include "notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const fofal_notify_triggers[] = {
    "fofal.machines.breakdown_declared.v1",
    "fofal.inventory.stock_below_minimum.v1",
    "fofal.quality.nc_opened.v1",
    FOFAL_NOTIFY_OVERDUE,
    "fofal.quality.lot_rejected.v1",
    "fofal.purchasing.request_submitted.v1",
    "fofal.identity.locked_out.v1", /* a badge locked after wrong PINs in a row */
    "fofal.identity.mfa_locked.v1", /* an account's second factor locked after wrong codes in a row */
    NULL,
};

int fofal_notify_trigger(const char *type) {
  for (int i = 0; type && fofal_notify_triggers[i]; i++)
    if (!strcmp(type, fofal_notify_triggers[i])) return 1;
  return 0;
}

void fofal_notify_message_id(const char *tenant, const char *event_id, const char *rule_id, const char *badge,
                             char out[FOFAL_UUID_LEN + 1]) {
  char *name = fofal_asprintf("%s\n%s\n%s\n%s", tenant ? tenant : "", event_id ? event_id : "", rule_id ? rule_id : "",
                              badge ? badge : "");
  fofal_uuid_named("fofal.notify.message", name, out);
  free(name);
}

static int has_string(const json_t *arr, const char *s) {
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) if (json_is_string(v) && s && !strcmp(json_string_value(v), s)) return 1;
  return 0;
}

static int any_common(const json_t *a, const json_t *b) {
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) if (json_is_string(v) && has_string(b, json_string_value(v))) return 1;
  return 0;
}

void fofal_notify_add_owner(json_t *rule, const char *owner) {
  if (!json_is_true(json_object_get(rule, "owner")) || !owner || !*owner) return;
  json_t *badges = json_object_get(rule, "badges");
  if (!json_is_array(badges)) {
    badges = json_array();
    json_object_set_new(rule, "badges", badges);
  }
  if (!has_string(badges, owner)) json_array_append_new(badges, json_string(owner));
}

json_t *fofal_notify_recipients(const json_t *rule, const json_t *contacts) {
  json_t *out = json_array();
  const json_t *en = json_object_get(rule, "enabled");
  if (en && !json_is_true(en)) return out;
  const char *channel = json_string_value(json_object_get(rule, "channel"));
  int email = channel && !strcmp(channel, "email"), sms = channel && !strcmp(channel, "sms");
  if (!email && !sms) return out;
  const json_t *roles = json_object_get(rule, "roles"), *badges = json_object_get(rule, "badges");
  size_t i;
  json_t *c;
  json_array_foreach(contacts, i, c) {
    const char *badge = json_string_value(json_object_get(c, "badge"));
    if (!badge) continue;
    if (!has_string(badges, badge) && !any_common(roles, json_object_get(c, "roles"))) continue;
    if (!json_is_true(json_object_get(c, email ? "has_email" : "has_phone"))) continue;
    if (json_is_true(json_object_get(c, email ? "optout_email" : "optout_sms"))) continue;
    if (json_is_true(json_object_get(rule, "on_shift")) && !json_is_true(json_object_get(c, "on_shift"))) continue;
    size_t j;
    json_t *r;
    int dup = 0;
    json_array_foreach(out, j, r) dup |= !strcmp(json_string_value(json_object_get(r, "badge")), badge);
    if (dup) continue;
    const char *lang = json_string_value(json_object_get(c, "lang"));
    json_array_append_new(out, json_pack("{s:s,s:s}", "badge", badge, "lang", lang && !strcmp(lang, "en") ? "en" : "fr"));
  }
  return out;
}

/* ----------------------------------------------------------------- messages */

typedef struct {
  const char *type;
  const char *subject[2], *body[2]; /* [0] French, [1] English */
} template_t;

static const template_t templates[] = {
    {"fofal.machines.breakdown_declared.v1",
     {"[{tenant}] Panne du métier {loom}", "[{tenant}] Loom {loom} broke down"},
     {"{tenant} : le métier {loom} est en panne ({cause}) depuis {since}. Un mécanicien est demandé.",
      "{tenant}: loom {loom} broke down ({cause}) at {since}. A mechanic is needed."}},
    {"fofal.inventory.stock_below_minimum.v1",
     {"[{tenant}] Stock sous le minimum : {item} ({location})", "[{tenant}] Stock below minimum: {item} ({location})"},
     {"{tenant} : le stock de {item} en {location} est de {on_hand}, sous son minimum de {minimum} ({occurred_at}).",
      "{tenant}: stock of {item} at {location} is {on_hand}, below its minimum of {minimum} ({occurred_at})."}},
    {"fofal.quality.nc_opened.v1",
     {"[{tenant}] Non-conformité ouverte : {title}", "[{tenant}] Non-conformity opened: {title}"},
     {"{tenant} : une non-conformité a été ouverte ({source}) : {title}. Référence {nc_id}, le {opened_at}.",
      "{tenant}: a non-conformity was opened ({source}): {title}. Reference {nc_id}, at {opened_at}."}},
    {"fofal.quality.lot_rejected.v1",
     {"[{tenant}] Lot refusé : {lot}", "[{tenant}] Lot rejected: {lot}"},
     {"{tenant} : le lot {lot} ({lot_kind}) a été refusé : {reason}. Emplacement {location}, le {decided_at}.",
      "{tenant}: lot {lot} ({lot_kind}) was rejected: {reason}. Location {location}, at {decided_at}."}},
    {FOFAL_NOTIFY_OVERDUE,
     {"[{tenant}] Action en retard : {title}", "[{tenant}] Action overdue: {title}"},
     {"{tenant} : l'action n° {action_no} de la non-conformité « {title} » ({description}), confiée à {owner}, devait être faite le {due}. Référence {nc_id}.",
      "{tenant}: action {action_no} of the non-conformity \"{title}\" ({description}), owned by {owner}, was due on {due}. Reference {nc_id}."}},
    {"fofal.identity.locked_out.v1",
     {"[{tenant}] Badge {badge} bloqué", "[{tenant}] Badge {badge} locked"},
     {"{tenant} : {failures} codes PIN erronés de suite sur le badge {badge} : il est bloqué pour {seconds} s. Si ce n'était pas vous, prévenez votre responsable.",
      "{tenant}: {failures} wrong PINs in a row on badge {badge}: it is locked for {seconds} s. If this was not you, tell your supervisor."}},
    {"fofal.identity.mfa_locked.v1",
     {"[{tenant}] Connexion bloquée", "[{tenant}] Sign-in locked"},
     {"{tenant} : {failures} codes de second facteur erronés de suite sur votre compte : la connexion est bloquée pour {seconds} s. Si ce n'était pas vous, prévenez l'administrateur.",
      "{tenant}: {failures} wrong second-factor codes in a row on your account: sign-in is locked for {seconds} s. If this was not you, tell the administrator."}},
    {"fofal.purchasing.request_submitted.v1",
     {"[{tenant}] Demande d'achat à approuver : {item}", "[{tenant}] Purchase request awaiting approval: {item}"},
     {"{tenant} : une demande d'achat attend votre approbation ({item}, {quantity} {unit}, pour le {need_by}) : {reason}. Référence {request_id}.",
      "{tenant}: a purchase request awaits your approval ({item}, {quantity} {unit}, needed by {need_by}): {reason}. Reference {request_id}."}},
};

/* A value as message text: strings cut at 200 bytes (on a UTF-8 boundary), numbers as
 * text, anything else "-". Control characters become spaces: a subject is a mail header. */
static void value_text(const json_t *v, char *out, size_t cap) {
  if (json_is_string(v)) {
    snprintf(out, cap, "%s", json_string_value(v));
    size_t n = strlen(out);
    if (n > 200) {
      n = 200;
      while (n > 0 && ((unsigned char)out[n] & 0xC0) == 0x80) n--;
      out[n] = 0;
    }
  } else if (json_is_integer(v)) {
    snprintf(out, cap, "%lld", (long long)json_integer_value(v));
  } else {
    snprintf(out, cap, "-");
  }
}

static char *expand(const char *tpl, const json_t *data, const char *tenant_name) {
  size_t cap = strlen(tpl) + 1024, n = 0;
  char *out = fofal_calloc(1, cap);
  for (const char *p = tpl; *p;) {
    const char *end = *p == '{' ? strchr(p, '}') : NULL;
    char val[256] = "";
    if (end && end - p < 40) {
      char key[48];
      snprintf(key, sizeof key, "%.*s", (int)(end - p - 1), p + 1);
      if (!strcmp(key, "tenant")) {
        snprintf(val, sizeof val, "%s", tenant_name && *tenant_name ? tenant_name : "FOFAL");
      } else if (!strcmp(key, "quantity") && json_is_integer(json_object_get(data, "quantity_milli"))) {
        /* Thousandths of the unit, as a person writes them: 2500 → 2.5 */
        long long q = (long long)json_integer_value(json_object_get(data, "quantity_milli"));
        snprintf(val, sizeof val, "%lld.%03lld", q / 1000, q % 1000);
        char *z = val + strlen(val) - 1;
        while (*z == '0') *z-- = 0;
        if (*z == '.') *z = 0;
      } else if (!strcmp(key, "item") && !json_object_get(data, "item")) {
        value_text(json_object_get(data, "description"), val, sizeof val); /* a request for no catalog item */
      } else {
        value_text(json_object_get(data, key), val, sizeof val);
      }
      p = end + 1;
    } else {
      val[0] = *p++;
      val[1] = 0;
    }
    size_t k = strlen(val);
    if (n + k + 1 > cap) {
      cap = (n + k + 1) * 2;
      out = fofal_realloc(out, cap);
    }
    memcpy(out + n, val, k);
    n += k;
    out[n] = 0;
  }
  for (char *q = out; *q; q++)
    if ((unsigned char)*q < 0x20) *q = ' ';
  return out;
}

int fofal_notify_render(const char *type, const json_t *data, const char *lang, const char *tenant_name, char **subject,
                        char **body) {
  int l = lang && !strcmp(lang, "en") ? 1 : 0;
  for (size_t i = 0; type && i < sizeof templates / sizeof templates[0]; i++) {
    if (strcmp(templates[i].type, type)) continue;
    *subject = expand(templates[i].subject[l], data, tenant_name);
    *body = expand(templates[i].body[l], data, tenant_name);
    return 0;
  }
  *subject = *body = NULL;
  return FOFAL_ENOENT;
}

int64_t fofal_notify_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms) {
  int64_t d = base_ms > 0 ? base_ms : 1;
  for (int i = 1; i < attempt && d < max_ms; i++) d *= 2;
  return d < max_ms ? d : max_ms;
}
