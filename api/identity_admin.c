/*
 * identity_admin.c — what needs no running server: the role list and account creation
 * straight in PostgreSQL, for the admin CLI (`fofal account create`). Built into
 * fofal_credentials, so the CLI links it without the server's loop code. The password is
 * hashed here and only the hash reaches the database; nothing is logged.
 */
#include "fofal_api.h"
#include "projections.h"

#include <stdlib.h>
#include <string.h>

#define MAX_FIELD 1024

const char *const fofal_api_roles[] = {"weaver",  "cutter",  "mechanic",   "storekeeper_mp", "storekeeper_pf",
                                       "storekeeper_st", "quality", "planner", "manager", "accountant",
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

/* ------------------------------------------------------------ the CLI */

int fofal_api_account_create(const char *pg_dsn, const char *tenant, const char *username, const char *role,
                             const char *password, unsigned t_cost, unsigned m_kib, char id_out[37], char *errbuf,
                             size_t errlen) {
  char hash[FOFAL_CRED_HASH_MAX];
  fofal_pg_t *pg = NULL;
  char *v = NULL;
  int rc;
  if (!fofal_api_role_valid(role)) return fofal_err(errbuf, errlen, FOFAL_EINVAL, "\"%s\" is not a role", role);
  if (!*tenant || strlen(tenant) > 63 || !*username || strlen(username) > 100)
    return fofal_err(errbuf, errlen, FOFAL_EINVAL, "the tenant (1-63) or the username (1-100 characters) is empty or too long");
  if (strlen(password) < 12 || strlen(password) > MAX_FIELD)
    return fofal_err(errbuf, errlen, FOFAL_EINVAL, "the password must have 12 to %d characters", MAX_FIELD);
  if (fofal_cred_init() || fofal_cred_hash(password, t_cost, m_kib, hash, sizeof hash))
    return fofal_err(errbuf, errlen, FOFAL_EINVAL, "cannot hash the password");
  fofal_uuid7(id_out);
  if ((rc = fofal_pg_connect(&pg, pg_dsn, errbuf, errlen))) goto out;
  const char *p[] = {tenant, id_out, username, role, hash};
  rc = fofal_pg_query_value(pg,
                            "INSERT INTO identity.accounts (tenant, id, username, role, password_hash)"
                            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
                            5, p, &v, errbuf, errlen);
  if (!rc && !v) rc = fofal_err(errbuf, errlen, FOFAL_EEXIST, "tenant %s already has an account %s", tenant, username);
out:
  free(v);
  fofal_pg_close(pg);
  return rc;
}
