/*
 * personal.c — personal data at the API (issue 6 item 8): the person keys of
 * identity.person_keys, used to seal fields before they reach Kafka and to open them for
 * the roles allowed to read them.
 *
 * A person's key is created the first time a field of theirs is sealed (insert-or-keep:
 * two instances racing agree on one key), stored only wrapped under FOFAL_PD_MASTER_KEY,
 * and deleted to erase the person, leaving a tombstone (052_person_tombstones.sql): an
 * erased person never gets a key again. Worker threads only (SQL on the worker's write
 * connection); keys in memory are wiped by the caller after use.
 */
#include "api.h"
#include "projections.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fofal__person_key(struct fofal_pg *pg, const unsigned char *master, const char *tenant, const char *person,
                      int create, unsigned char key[FOFAL_PD_KEY_BYTES], char *errbuf, size_t errlen) {
  char *wrapped = NULL, *fresh = create ? fofal_pd_key_new(master, tenant, person) : NULL;
  int rc;
  if (create) {
    const char *p[] = {tenant, person, fresh};
    rc = fofal_pg_query_value(pg,
                              "WITH i AS (INSERT INTO identity.person_keys (tenant, person_id, wrapped_key)"
                              " VALUES ($1, $2::uuid, $3) ON CONFLICT DO NOTHING RETURNING wrapped_key)"
                              " SELECT coalesce(wrapped_key, '') FROM i UNION ALL SELECT coalesce(wrapped_key, '')"
                              " FROM identity.person_keys WHERE tenant = $1 AND person_id = $2::uuid LIMIT 1",
                              3, p, &wrapped, errbuf, errlen);
  } else {
    const char *p[] = {tenant, person};
    rc = fofal_pg_query_value(pg, "SELECT wrapped_key FROM identity.person_keys WHERE tenant = $1 AND person_id = $2::uuid",
                              2, p, &wrapped, errbuf, errlen);
  }
  free(fresh);
  if (rc) return rc;
  if (create && !wrapped) return fofal_err(errbuf, errlen, FOFAL_EIO, "no data key stored for a person");
  if (!wrapped || !*wrapped) { /* erased (a tombstone), or never had a key */
    free(wrapped);
    return FOFAL_ENOENT;
  }
  rc = fofal_pd_key_unwrap(master, tenant, person, wrapped, key);
  free(wrapped);
  if (rc) return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "a stored data key does not open with FOFAL_PD_MASTER_KEY");
  return 0;
}

int fofal__person_erase(struct fofal_pg *pg, const char *tenant, const char *person, char *errbuf, size_t errlen) {
  const char *p[] = {tenant, person};
  return fofal_pg_execp(pg,
                        "INSERT INTO identity.person_keys (tenant, person_id, wrapped_key, erased_at)"
                        " VALUES ($1, $2::uuid, NULL, now()) ON CONFLICT (tenant, person_id) DO UPDATE"
                        " SET wrapped_key = NULL, erased_at = coalesce(identity.person_keys.erased_at, now())",
                        2, p, errbuf, errlen);
}

int fofal__open_personal(struct fofal_pg *pg, const unsigned char *master, const char *tenant, json_t *obj, char *errbuf,
                         size_t errlen) {
  const char *f;
  json_t *v;
  char person[FOFAL_UUID_LEN + 1] = "";
  unsigned char key[FOFAL_PD_KEY_BYTES];
  int have = 0, rc = 0;
  json_object_foreach(obj, f, v) {
    if (!fofal_pd_is_sealed(v)) continue;
    const char *p = json_string_value(json_object_get(v, "p"));
    if (strcmp(p, person)) { /* the fields of one record are one person's: one look-up */
      snprintf(person, sizeof person, "%s", fofal_uuid_valid(p) ? p : "");
      have = 0;
      if (*person) {
        rc = fofal__person_key(pg, master, tenant, person, 0, key, errbuf, errlen);
        if (rc && rc != FOFAL_ENOENT) break;
        have = rc == 0;
        rc = 0;
      }
    }
    json_t *plain = fofal_pd_open(have ? key : NULL, tenant, f, v);
    json_object_set_new(obj, f, plain ? plain : json_string(FOFAL_PD_ERASED));
  }
  memset(key, 0, sizeof key);
  return rc;
}
