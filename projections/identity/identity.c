/*
 * identity.c — the identity module's projection: fofal.identity.events into the tables
 * sign-in reads (schema identity, schemas/identity/053_identity_projection.sql):
 *
 *   identity.accounts   one row per account: role, badge, the sealed password and PIN
 *                       hashes, the sealed TOTP secret and recovery codes, which recovery
 *                       codes were used, erasure
 *   identity.devices    one row per enrolled shop-floor device, revoked or not
 *
 * It is the only writer of these tables (fofal-api reads them on its workers' write
 * connections and keeps its operational state in identity_ops), exactly once like every
 * projection (projector.c), so `fofal rebuild identity` gives the same rows and the same
 * accounts sign in. Secrets are stored as the events carry them, sealed under the master
 * key: nothing here opens them, and a copy of the database alone gives no hash to crack.
 * The username is personal data: opened with the account's data key (personal.c), it
 * reads "erased" once the account was erased.
 *
 * Security events (sign-ins, failures, logouts …) change no row: they are the audit trail
 * itself. The badge and realm aggregates have no table either.
 */
#include "projections.h"

#include <stdio.h>
#include <string.h>

static const char *str(const json_t *data, const char *key) { return json_string_value(json_object_get(data, key)); }

static void seq_of(const fofal_event_t *ev, char out[24]) { snprintf(out, 24, "%lld", (long long)ev->seq); }

static int account_created(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  json_t *d = NULL;
  int rc = fofal_apply_open(ctx, ev, &d);
  if (rc) return rc;
  char at[40], seq[24];
  fofal_time_format(ev->time_us, at);
  seq_of(ev, seq);
  const char *username = str(d, "username");
  const char *p[] = {ev->tenant, ev->subject, username ? username : FOFAL_PD_ERASED, str(d, "role"), str(d, "badge"),
                     str(d, "password_hash"), str(d, "pin_hash"), at, seq};
  rc = fofal_apply_sql(ctx,
                       "INSERT INTO %s.accounts (tenant, id, username, role, badge, password_hash, pin_hash, created_at,"
                       " version) VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8, $9)",
                       9, p);
  json_decref(d);
  return rc;
}

/* UPDATE of one account: `set` is the SET list over $3 …; params after tenant and id. */
static int account_update(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, const char *set, int n,
                          const char *const *more) {
  char sql[512], seq[24];
  const char *p[8] = {ev->tenant, ev->subject};
  seq_of(ev, seq);
  for (int i = 0; i < n; i++) p[2 + i] = more[i];
  p[2 + n] = seq;
  snprintf(sql, sizeof sql, "UPDATE %%s.accounts SET %s, version = $%d WHERE tenant = $1 AND id = $2::uuid", set, 3 + n);
  return fofal_apply_sql(ctx, sql, 3 + n, p);
}

static int password_changed(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  const char *m[] = {str(ev->data, "password_hash")};
  return account_update(ctx, ev, "password_hash = $3", 1, m);
}

static int mfa_enrolled(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  const char *m[] = {str(ev->data, "totp_secret"), str(ev->data, "recovery_codes")};
  return account_update(ctx, ev, "totp_secret = $3, recovery_codes = $4, recovery_used = 0", 2, m);
}

static int mfa_verified(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  json_t *code = json_object_get(ev->data, "recovery_code");
  if (!json_is_integer(code)) return 0;
  char bit[16];
  snprintf(bit, sizeof bit, "%d", 1 << (int)(json_integer_value(code) & 15));
  const char *m[] = {bit};
  return account_update(ctx, ev, "recovery_used = recovery_used | $3::int", 1, m);
}

static int account_erased(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  char at[40];
  fofal_time_format(ev->time_us, at);
  const char *m[] = {FOFAL_PD_ERASED, at};
  return account_update(ctx, ev,
                        "username = $3, badge = NULL, password_hash = NULL, pin_hash = NULL, totp_secret = NULL,"
                        " recovery_codes = NULL, erased_at = $4",
                        2, m);
}

static int device_enrolled(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  char at[40], seq[24];
  fofal_time_format(ev->time_us, at);
  seq_of(ev, seq);
  const char *p[] = {ev->tenant, ev->subject, str(ev->data, "name"), str(ev->data, "secret_sha256"),
                     ev->actor ? ev->actor : "", at, seq};
  return fofal_apply_sql(ctx,
                         "INSERT INTO %s.devices (tenant, id, name, secret_hash, created_by, created_at, version)"
                         " VALUES ($1, $2::uuid, $3, $4, $5, $6, $7)",
                         7, p);
}

static int device_revoked(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  char at[40], seq[24];
  fofal_time_format(ev->time_us, at);
  seq_of(ev, seq);
  const char *p[] = {ev->tenant, ev->subject, at, seq};
  return fofal_apply_sql(ctx, "UPDATE %s.devices SET revoked_at = $3, version = $4 WHERE tenant = $1 AND id = $2::uuid", 4, p);
}

static const fofal_apply_t applies[] = {
    {"fofal.identity.account_created.v1", account_created},
    {"fofal.identity.password_changed.v1", password_changed},
    {"fofal.identity.mfa_enrolled.v1", mfa_enrolled},
    {"fofal.identity.mfa_verified.v1", mfa_verified},
    {"fofal.identity.account_erased.v1", account_erased},
    {"fofal.identity.device_enrolled.v1", device_enrolled},
    {"fofal.identity.device_revoked.v1", device_revoked},
};

static const char *const tables[] = {"accounts", "devices", NULL};

static const fofal_projection_def_t identity_projection = {
    .name = "identity",
    .module = "identity",
    .pg_schema = "identity",
    .tables = tables,
    .applies = applies,
    .napplies = sizeof applies / sizeof applies[0],
};

/* The module's registration (projections.h): the build finds this folder and lists it in
 * the generated fofal_projection_modules[]. Its events are not in the audit trail
 * (/api/v1/audit/...): the log itself is theirs. */
static const fofal_projection_def_t *const projections[] = {&identity_projection, NULL};
const fofal_projection_module_t fofal_module_identity_projections = {
    .name = "identity",
    .projections = projections,
};
