/*
 * personal.c — the person keys of identity_keys.person_keys (issue 6 item 8), for every process
 * that seals or opens personal fields (fofal-api, the projectors, the fofal CLI), and the
 * opening of an event's sealed fields for a read model.
 *
 * A person's key is created the first time a field of theirs is sealed (insert-or-keep:
 * two instances racing agree on one key), stored only wrapped under FOFAL_PD_MASTER_KEY,
 * and deleted to erase the person, leaving a tombstone (052_person_tombstones.sql): an
 * erased person never gets a key again.
 *
 * A projection that shows personal data (an employee's name) opens the sealed value with
 * the person's key from identity_keys.person_keys, read in the batch's own transaction and
 * unwrapped with FOFAL_PD_MASTER_KEY. A person whose key was deleted (erased) reads
 * "erased": in a live projection, and in every rebuild from then on. Fields the read model
 * does not need in clear (phone, national id, bank account, salary) are stored sealed as
 * they came and opened by fofal-api for the roles allowed to see them.
 *
 * The master key is process configuration: set once by main before any projector thread
 * starts, read-only afterwards.
 */
#include "projections.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char pd_master[FOFAL_PD_KEY_BYTES]; /* the projectors' */
static int have_master;

int fofal_projections_pd_master(const char *hex) {
  if (!hex || !*hex) return 0;
  if (fofal_pd_init() || fofal_pd_master_parse(hex, pd_master)) return FOFAL_EINVAL;
  have_master = 1;
  return 0;
}

int fofal_person_key(fofal_pg_t *pg, const unsigned char *master, const char *tenant, const char *person,
                      int create, unsigned char key[FOFAL_PD_KEY_BYTES], char *errbuf, size_t errlen) {
  char *wrapped = NULL, *fresh = create ? fofal_pd_key_new(master, tenant, person) : NULL;
  int rc;
  if (create) {
    const char *p[] = {tenant, person, fresh};
    rc = fofal_pg_query_value(pg,
                              "WITH i AS (INSERT INTO identity_keys.person_keys (tenant, person_id, wrapped_key)"
                              " VALUES ($1, $2::uuid, $3) ON CONFLICT DO NOTHING RETURNING wrapped_key)"
                              " SELECT coalesce(wrapped_key, '') FROM i UNION ALL SELECT coalesce(wrapped_key, '')"
                              " FROM identity_keys.person_keys WHERE tenant = $1 AND person_id = $2::uuid LIMIT 1",
                              3, p, &wrapped, errbuf, errlen);
  } else {
    const char *p[] = {tenant, person};
    rc = fofal_pg_query_value(pg, "SELECT wrapped_key FROM identity_keys.person_keys WHERE tenant = $1 AND person_id = $2::uuid",
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

int fofal_person_erase(fofal_pg_t *pg, const char *tenant, const char *person, char *errbuf, size_t errlen) {
  const char *p[] = {tenant, person};
  return fofal_pg_execp(pg,
                        "INSERT INTO identity_keys.person_keys (tenant, person_id, wrapped_key, erased_at)"
                        " VALUES ($1, $2::uuid, NULL, now()) ON CONFLICT (tenant, person_id) DO UPDATE"
                        " SET wrapped_key = NULL, erased_at = coalesce(identity_keys.person_keys.erased_at, now())",
                        2, p, errbuf, errlen);
}

int fofal_open_personal(fofal_pg_t *pg, const unsigned char *master, const char *tenant, json_t *obj, char *errbuf,
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
        rc = fofal_person_key(pg, master, tenant, person, 0, key, errbuf, errlen);
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

int fofal_apply_open(fofal_apply_ctx_t *ctx, const fofal_event_t *ev, json_t **out) {
  *out = json_deep_copy(ev->data);
  int sealed = 0;
  const char *f;
  json_t *v;
  json_object_foreach(*out, f, v) sealed += fofal_pd_is_sealed(v);
  if (!sealed || !ctx->pg) return 0; /* nothing to open, or nothing will be written */
  int rc = 0;
  if (!have_master) {
    rc = fofal_err(ctx->errbuf, ctx->errlen, FOFAL_ECONFIG,
                   "event %s holds personal fields and FOFAL_PD_MASTER_KEY is not set", ev->id);
  } else {
    rc = fofal_open_personal(ctx->pg, pd_master, ev->tenant, *out, ctx->errbuf, ctx->errlen);
  }
  if (rc) {
    json_decref(*out);
    *out = NULL;
  }
  return rc;
}
