/*
 * broker_auth.c — the MQTT broker's password and ACL files as a function of the identity
 * events: the pure logic of fofal-mqtt-auth (broker_auth_main.c).
 *
 * identity.gateway.enrol / .revoke (commands/identity/) put gateway_enrolled and
 * gateway_revoked on fofal.identity.events; each enrolled, not revoked gateway becomes
 *   - a line of Mosquitto's password_file: "gw-<id>:<its $7$ hash>" (the hash fofal-api
 *     made of a 256-bit random password; the password itself is stored nowhere), and
 *   - a block of its acl_file that lets it WRITE, never read, the topics of the tenant of
 *     its events' envelope (the tenant of the admin who enrolled it, from the token):
 *         user gw-<id>
 *         topic write fofal/<tenant>/looms/<loom>/telemetry     (one per loom it names,
 *                                                                or "+" if it names none)
 *         topic write fofal/<tenant>/halls/+/env
 * A gateway of tenant A therefore cannot publish to tenant B's topics nor subscribe to
 * anything (fofal/# included); Mosquitto denies whatever no line allows. The base files
 * (the ingest account and any other static user, from ops/stack or the deployment) come
 * first, as given.
 *
 * Every name that reaches a file was checked here again (the decider and the schemas
 * checked it first): an enrolment whose tenant, loom or hash has a character that could
 * end a line or widen a topic (/ + # white space) is skipped whole, so a damaged record
 * cannot write a rule. Not thread-safe: one owner (fofal-mqtt-auth's main thread).
 */
#include "ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fofal_broker_auth {
  json_t *gateways; /* "gw-<id>" → {"tenant","hash","looms":[...]} in enrolment order */
};

fofal_broker_auth_t *fofal_broker_auth_new(void) {
  fofal_broker_auth_t *a = fofal_calloc(1, sizeof *a);
  a->gateways = json_object();
  return a;
}

void fofal_broker_auth_free(fofal_broker_auth_t *a) {
  if (!a) return;
  json_decref(a->gateways);
  free(a);
}

size_t fofal_broker_auth_count(const fofal_broker_auth_t *a) { return json_object_size(a->gateways); }

/* A name that may stand as one topic level (and one word of a file line). */
static int level_ok(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > 100) return 0;
  for (size_t i = 0; i < n; i++)
    if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-", s[i])) return 0;
  return 1;
}

/* Mosquitto's "$7$<iterations>$<salt>$<hash>" in base64: nothing that ends a line. */
static int hash_ok(const char *s) {
  if (!s || strncmp(s, "$7$", 3) || strlen(s) > 200) return 0;
  for (; *s; s++)
    if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=$", *s)) return 0;
  return 1;
}

int fofal_broker_auth_record(fofal_broker_auth_t *a, const char *value, size_t len) {
  static const char enrolled[] = "fofal.identity.gateway_enrolled.v1", revoked[] = "fofal.identity.gateway_revoked.v1";
  /* Most identity events are sign-ins: a look at the bytes spares decoding them. */
  if (!value || !memmem(value, len, "fofal.identity.gateway_", sizeof "fofal.identity.gateway_" - 1)) return 0;
  fofal_event_t ev;
  char err[256], user[FOFAL_UUID_LEN + 4];
  if (fofal_event_decode(&ev, value, len, err, sizeof err)) return 0;
  int rc = 0;
  const char *id = json_string_value(json_object_get(ev.data, "gateway_id"));
  if (!ev.type || !id || !fofal_uuid_valid(id)) goto out;
  snprintf(user, sizeof user, "gw-%s", id);
  if (!strcmp(ev.type, enrolled)) {
    const char *hash = json_string_value(json_object_get(ev.data, "password_hash"));
    if (!level_ok(ev.tenant) || !hash_ok(hash)) goto out;
    const json_t *looms = json_object_get(ev.data, "looms"), *l;
    size_t i;
    /* One bad loom refuses the whole gateway: dropping it could leave an empty list,
     * which means "any loom". */
    json_array_foreach(looms, i, l) if (!level_ok(json_string_value(l))) goto out;
    json_object_set_new(a->gateways, user,
                        json_pack("{s:s,s:s,s:o}", "tenant", ev.tenant, "hash", hash, "looms",
                                  json_is_array(looms) ? json_deep_copy(looms) : json_array()));
    rc = 1;
  } else if (!strcmp(ev.type, revoked) && json_object_get(a->gateways, user)) {
    json_object_del(a->gateways, user);
    rc = 1;
  }
out:
  fofal_event_clear(&ev);
  return rc;
}

/* base, then a newline if it lacks its last one. */
static void put_base(FILE *f, const char *base) {
  if (!base || !*base) return;
  fputs(base, f);
  if (base[strlen(base) - 1] != '\n') fputc('\n', f);
}

char *fofal_broker_auth_passwd(const fofal_broker_auth_t *a, const char *base) {
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  if (!f) abort(); /* out of memory: as fofal_malloc */
  put_base(f, base);
  const char *user;
  json_t *g;
  json_object_foreach(a->gateways, user, g) fprintf(f, "%s:%s\n", user, json_string_value(json_object_get(g, "hash")));
  fclose(f);
  return buf;
}

char *fofal_broker_auth_acl(const fofal_broker_auth_t *a, const char *base) {
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  if (!f) abort(); /* out of memory: as fofal_malloc */
  put_base(f, base);
  const char *user;
  json_t *g, *l;
  size_t i;
  json_object_foreach(a->gateways, user, g) {
    const char *tenant = json_string_value(json_object_get(g, "tenant"));
    const json_t *looms = json_object_get(g, "looms");
    fprintf(f, "\nuser %s\n", user);
    if (json_array_size(looms) == 0) fprintf(f, "topic write fofal/%s/looms/+/telemetry\n", tenant);
    json_array_foreach(looms, i, l) fprintf(f, "topic write fofal/%s/looms/%s/telemetry\n", tenant, json_string_value(l));
    fprintf(f, "topic write fofal/%s/halls/+/env\n", tenant);
  }
  fclose(f);
  return buf;
}
