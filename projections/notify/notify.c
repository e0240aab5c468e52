/*
 * notify.c — the notify module's projection (schema notify, schemas/notify/090_notify.sql):
 * the tenant's settings, rules, contacts with their opt-outs, and the messages that failed
 * after their retries. Contacts keep email and phone sealed as the events carry them: only
 * fofal-notifier opens them, to send. No Redis views.
 *
 * notify_ops (fofal-notifier's positions and messages) is not this projection's: a rebuild
 * swaps schema notify only, and never makes the notifier send again.
 */
#include "projections.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A JSON array of strings as a PostgreSQL text[] literal's JSON form, for
 * ARRAY(SELECT jsonb_array_elements_text($n::jsonb)). New string. */
static char *jarr(const json_t *data, const char *key) {
  char *t = fofal_ev_jtext(data, key);
  return t ? t : fofal_strdup("[]");
}

static int settings_set(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const char *p[] = {ev->tenant, fofal_ev_str(ev->data, "tenant_name"), fofal_ev_str(ev->data, "lang"), m.seq};
  return fofal_apply_sql(ctx,
                         "INSERT INTO %s.settings (tenant, tenant_name, lang, version) VALUES ($1, $2, coalesce($3, 'fr'), $4) "
                         "ON CONFLICT (tenant) DO UPDATE SET tenant_name = EXCLUDED.tenant_name, lang = EXCLUDED.lang, "
                         "version = EXCLUDED.version",
                         4, p);
}

static int rule_set(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char *roles = jarr(d, "roles"), *badges = jarr(d, "badges");
  const json_t *en = json_object_get(d, "enabled");
  const char *p[] = {ev->tenant, fofal_ev_str(d, "rule_id"), fofal_ev_str(d, "event_type"), fofal_ev_str(d, "channel"),
                     roles, badges, en && !json_is_true(en) ? "false" : "true", fofal_ev_str(d, "set_by"), m.seq, m.at,
                     json_is_true(json_object_get(d, "on_shift")) ? "true" : "false",
                     json_is_true(json_object_get(d, "owner")) ? "true" : "false"};
  int rc = fofal_apply_sql(
      ctx,
      "INSERT INTO %s.rules (tenant, rule_id, event_type, channel, roles, badges, enabled, set_by, version, updated_at, "
      "on_shift, owner) VALUES ($1, $2, $3, $4, ARRAY(SELECT jsonb_array_elements_text($5::jsonb)), "
      "ARRAY(SELECT jsonb_array_elements_text($6::jsonb)), $7::boolean, $8, $9, $10, $11::boolean, $12::boolean) ON CONFLICT (tenant, "
      "rule_id) DO UPDATE SET event_type = EXCLUDED.event_type, channel = EXCLUDED.channel, roles = EXCLUDED.roles, "
      "badges = EXCLUDED.badges, enabled = EXCLUDED.enabled, set_by = EXCLUDED.set_by, version = EXCLUDED.version, "
      "updated_at = EXCLUDED.updated_at, on_shift = EXCLUDED.on_shift, owner = EXCLUDED.owner",
      12, p);
  free(roles);
  free(badges);
  return rc;
}

static int rule_removed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  const char *p[] = {ev->tenant, fofal_ev_str(ev->data, "rule_id")};
  return fofal_apply_sql(ctx, "DELETE FROM %s.rules WHERE tenant = $1 AND rule_id = $2", 2, p);
}

static int contact_set(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char *roles = jarr(d, "roles"), *email = fofal_ev_jtext(d, "email"), *phone = fofal_ev_jtext(d, "phone");
  const char *p[] = {ev->tenant, fofal_ev_str(d, "badge"), ev->subject, email, phone, fofal_ev_str(d, "lang"), roles,
                     m.seq, m.at};
  int rc = fofal_apply_sql(
      ctx,
      "INSERT INTO %s.contacts (tenant, badge, person_id, email, phone, lang, roles, version, updated_at) VALUES ($1, $2, "
      "$3::uuid, $4::jsonb, $5::jsonb, coalesce($6, 'fr'), ARRAY(SELECT jsonb_array_elements_text($7::jsonb)), $8, $9) ON "
      "CONFLICT (tenant, badge) DO UPDATE SET email = EXCLUDED.email, phone = EXCLUDED.phone, lang = EXCLUDED.lang, roles = "
      "EXCLUDED.roles, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at",
      9, p);
  free(roles);
  free(email);
  free(phone);
  return rc;
}

static int optout_set(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  const char *ch = fofal_ev_str(d, "channel");
  const char *opted = json_is_true(json_object_get(d, "opted_out")) ? "true" : "false";
  const char *p[] = {ev->tenant, fofal_ev_str(d, "badge"), ev->subject, opted, m.seq, m.at};
  /* Before any contact.set: a row with no address, its opt-out kept for later. */
  if (ch && !strcmp(ch, "sms"))
    return fofal_apply_sql(ctx,
                           "INSERT INTO %s.contacts (tenant, badge, person_id, optout_sms, version, updated_at) VALUES ($1, "
                           "$2, $3::uuid, $4::boolean, $5, $6) ON CONFLICT (tenant, badge) DO UPDATE SET optout_sms = "
                           "EXCLUDED.optout_sms, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at",
                           6, p);
  return fofal_apply_sql(ctx,
                         "INSERT INTO %s.contacts (tenant, badge, person_id, optout_email, version, updated_at) VALUES ($1, "
                         "$2, $3::uuid, $4::boolean, $5, $6) ON CONFLICT (tenant, badge) DO UPDATE SET optout_email = "
                         "EXCLUDED.optout_email, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at",
                         6, p);
}

static int message_failed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data;
  char b[40];
  const char *p[] = {ev->tenant,
                     fofal_ev_str(d, "message_id"),
                     fofal_ev_str(d, "event_id"),
                     fofal_ev_str(d, "event_type"),
                     fofal_ev_str(d, "rule_id"),
                     fofal_ev_str(d, "badge"),
                     fofal_ev_str(d, "channel"),
                     fofal_ev_num(d, "attempts", b),
                     fofal_ev_str(d, "reason"),
                     m.at};
  return fofal_apply_sql(ctx,
                         "INSERT INTO %s.failures (tenant, message_id, event_id, event_type, rule_id, badge, channel, "
                         "attempts, reason, failed_at) VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8::int, $9, $10) ON "
                         "CONFLICT (tenant, message_id) DO NOTHING",
                         10, p);
}

static const fofal_apply_t applies[] = {
    {"fofal.notify.settings_set.v1", settings_set}, {"fofal.notify.rule_set.v1", rule_set},
    {"fofal.notify.rule_removed.v1", rule_removed}, {"fofal.notify.contact_set.v1", contact_set},
    {"fofal.notify.optout_set.v1", optout_set},     {"fofal.notify.message_failed.v1", message_failed},
};

static const char *const tables[] = {"settings", "rules", "contacts", "failures", NULL};

static const fofal_projection_def_t projection = {
    .name = "notify",
    .module = "notify",
    .pg_schema = "notify",
    .tables = tables,
    .applies = applies,
    .napplies = sizeof applies / sizeof applies[0],
};

static const fofal_projection_def_t *const projections[] = {&projection, NULL};
const fofal_projection_module_t fofal_module_notify_projections = {
    .name = "notify",
    .projections = projections,
    .audit = 0,
};
