/*
 * identity_admin.c — what needs no running server: the role list, the id of an account
 * (keyed with the master key) and the data of the command that creates one, for both
 * fofal-api (POST /api/v1/auth/accounts) and the admin CLI (`fofal account create`), which
 * both send it through the log (commands/identity/identity.h). Built into
 * fofal_credentials, so the CLI links it without the server's loop code. The password and
 * PIN are hashed here (argon2id) and the hashes sealed under the master key; the name is
 * sealed with the account's data key: nothing of them reaches Kafka or a log in clear.
 */
#include "fofal_api.h"
#include "identity/identity.h"
#include "projections.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELD 1024

const char *const fofal_api_roles[] = {"weaver",  "cutter",  "mechanic",   "storekeeper_mp", "storekeeper_pf",
                                       "storekeeper_st", "quality", "planner", "manager", "salesperson", "accountant",
                                       "hr",      "auditor", "admin",      NULL};

int fofal_api_role_valid(const char *role) {
  for (int i = 0; role && fofal_api_roles[i]; i++)
    if (!strcmp(role, fofal_api_roles[i])) return 1;
  return 0;
}

int fofal_api_role_needs_mfa(const char *role) {
  static const char *const mfa[] = {"accountant", "hr", "manager", "admin", NULL};
  for (int i = 0; mfa[i]; i++)
    if (!strcmp(role, mfa[i])) return 1;
  return 0;
}

/* ------------------------------------------------------------ accounts */

void fofal_api_account_id(const unsigned char *master, const char *tenant, const char *username, char out[37]) {
  char fp[FOFAL_PD_FINGERPRINT_LEN + 1], name[FOFAL_PD_FINGERPRINT_LEN + 16];
  /* Keyed: without the master key nobody can tell a name from its id. The text cannot be a
   * request's canonical JSON (which starts with '{'), so this never doubles as one. */
  char *text = fofal_asprintf("identity account\n%s\n%s", tenant, username);
  fofal_pd_fingerprint(master, text, fp);
  free(text);
  snprintf(name, sizeof name, "account:%s", fp);
  fofal_uuid_named(tenant, name, out);
}

/* A secret hashed with argon2id, then sealed under the master key for (tenant, account). */
static char *hash_sealed(const unsigned char *master, const char *purpose, const char *tenant, const char *account,
                         const char *secret, unsigned t_cost, unsigned m_kib) {
  char hash[FOFAL_CRED_HASH_MAX];
  if (fofal_cred_hash(secret, t_cost, m_kib, hash, sizeof hash)) return NULL;
  char *sealed = fofal_pd_secret_seal(master, purpose, tenant, account, hash);
  memset(hash, 0, sizeof hash);
  return sealed;
}

int fofal_api_account_data(struct fofal_pg *pg, const unsigned char *master, const char *tenant, const char *username,
                           const char *role, const char *password, const char *badge, const char *pin,
                           unsigned t_cost, unsigned m_kib, const char *ip, json_t **data, char id_out[37],
                           char *errbuf, size_t errlen) {
  unsigned char key[FOFAL_PD_KEY_BYTES];
  char *ph = NULL, *pinh = NULL;
  int rc = 0;
  *data = NULL;
  if (!fofal_api_role_valid(role)) return fofal_err(errbuf, errlen, FOFAL_EINVAL, "\"%s\" is not a role", role);
  if (!*tenant || strlen(tenant) > 63 || !*username || strlen(username) > 100)
    return fofal_err(errbuf, errlen, FOFAL_EINVAL, "the tenant (1-63) or the username (1-100 characters) is empty or too long");
  if (password && (strlen(password) < 12 || strlen(password) > MAX_FIELD))
    return fofal_err(errbuf, errlen, FOFAL_EINVAL, "the password must have 12 to %d characters", MAX_FIELD);
  fofal_api_account_id(master, tenant, username, id_out);
  if ((password && !(ph = hash_sealed(master, FOFAL_IDENTITY_SEAL_PASSWORD, tenant, id_out, password, t_cost, m_kib))) ||
      (pin && !(pinh = hash_sealed(master, FOFAL_IDENTITY_SEAL_PIN, tenant, id_out, pin, t_cost, m_kib)))) {
    rc = fofal_err(errbuf, errlen, FOFAL_EINVAL, "cannot hash the secret (argon2id parameters)");
    goto out;
  }
  /* The name is personal data: sealed with the account's own data key, made now. */
  if ((rc = fofal_person_key(pg, master, tenant, id_out, 1, key, errbuf, errlen))) {
    if (rc == FOFAL_ENOENT) rc = fofal_err(errbuf, errlen, FOFAL_EEXIST, "this account was erased: its name cannot be used again");
    goto out;
  }
  json_t *name = json_string(username);
  *data = json_pack("{s:s,s:o,s:s}", "account_id", id_out, "username", fofal_pd_seal(key, tenant, id_out, "username", name),
                    "role", role);
  json_decref(name);
  if (badge) json_object_set_new(*data, "badge", json_string(badge));
  if (ph) json_object_set_new(*data, "password_hash", json_string(ph));
  if (pinh) json_object_set_new(*data, "pin_hash", json_string(pinh));
  if (ip) json_object_set_new(*data, "ip", json_string(ip));
out:
  memset(key, 0, sizeof key);
  free(ph);
  free(pinh);
  return rc;
}
