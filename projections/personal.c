/*
 * personal.c — opening the sealed personal fields of an event for a read model (issue 6
 * item 8).
 *
 * A projection that shows personal data (an employee's name) opens the sealed value with
 * the person's key from identity.person_keys, read in the batch's own transaction and
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

static unsigned char master[FOFAL_PD_KEY_BYTES];
static int have_master;

int fofal_projections_pd_master(const char *hex) {
  if (!hex || !*hex) return 0;
  if (fofal_pd_init() || fofal_pd_master_parse(hex, master)) return FOFAL_EINVAL;
  have_master = 1;
  return 0;
}

typedef struct {
  fofal_apply_ctx_t *ctx;
  const char *tenant;
  int failed;
  char last[FOFAL_UUID_LEN + 1]; /* the fields of an event are one person's: one look-up */
  int last_rc;
  unsigned char last_key[FOFAL_PD_KEY_BYTES];
} keys_t;

static int key_of(void *opaque, const char *person, unsigned char key[FOFAL_PD_KEY_BYTES]) {
  keys_t *k = opaque;
  char *wrapped = NULL;
  const char *p[] = {k->tenant, person};
  if (!fofal_uuid_valid(person)) return FOFAL_ENOENT; /* not a person id of ours: reads "erased" */
  if (!strcmp(k->last, person)) {
    memcpy(key, k->last_key, FOFAL_PD_KEY_BYTES);
    return k->last_rc;
  }
  if (fofal_pg_query_value(k->ctx->pg,
                           "SELECT wrapped_key FROM identity.person_keys WHERE tenant = $1 AND person_id = $2::uuid", 2,
                           p, &wrapped, k->ctx->errbuf, k->ctx->errlen)) {
    k->failed = 1;
    return FOFAL_EIO;
  }
  int rc = FOFAL_ENOENT; /* no key: erased */
  if (wrapped) rc = fofal_pd_key_unwrap(master, k->tenant, person, wrapped, key);
  if (rc == 0) memcpy(k->last_key, key, FOFAL_PD_KEY_BYTES);
  snprintf(k->last, sizeof k->last, "%s", person);
  k->last_rc = rc;
  if (rc && wrapped) {
    fofal_err(k->ctx->errbuf, k->ctx->errlen, FOFAL_ECONFIG,
              "a person key of tenant %s does not open with FOFAL_PD_MASTER_KEY (another stack's key?)", k->tenant);
    k->failed = 1;
  }
  free(wrapped);
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
    keys_t k = {.ctx = ctx, .tenant = ev->tenant};
    /* A value that does not open (tampered, or sealed for another field) is not shown. */
    if (fofal_pd_open_all(*out, ev->tenant, key_of, &k) < 0 && !k.failed) {
      json_object_foreach(*out, f, v) if (fofal_pd_is_sealed(v)) json_object_set_new(*out, f, json_string(FOFAL_PD_ERASED));
    }
    if (k.failed) rc = FOFAL_EIO;
    memset(k.last_key, 0, sizeof k.last_key);
  }
  if (rc) {
    json_decref(*out);
    *out = NULL;
  }
  return rc;
}
