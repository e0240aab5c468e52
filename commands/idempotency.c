/*
 * idempotency.c — what a command's id is, and what a command whose id was seen before gets.
 *
 * A client names each command with an Idempotency-Key (the IETF draft "The
 * Idempotency-Key HTTP Header Field"). Keys are the client's own: two users, or two
 * phones that number their keys from 1, must never answer each other's commands. So the
 * id a command carries in the log (the event's fofalcommandid, the key of its result on
 * fofal.commands.results, the decider's deduplication key) is the key scoped to its
 * client, the token's subject within its tenant: "<subject>/<key>", and its result key
 * "<tenant>/<subject>/<key>". Each part has '%' and '/' percent-encoded, so no two
 * (tenant, subject, key) ever give the same text; nothing is cut to fit a buffer.
 *
 * A key names one request. The API stores a fingerprint of the request with the command
 * (a keyed hash of the canonical text below: the command type, its data with object
 * members sorted, and the If-Match version if any), and the decider keeps it in the
 * command's result. A retry of the same request gets the first result and writes nothing
 * (guarantee 3); the same key with another request is refused with code
 * idempotency_key_reused (the draft's "key reused with a different payload", 422) and
 * writes nothing either. A result or command without a fingerprint (written before
 * fingerprints existed, or produced by a FOFAL process rather than a client) replays as
 * before.
 *
 * Pure functions: no I/O, no clock; safe from any thread.
 */
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fofal_idempotency_key_valid(const char *key, size_t len) {
  if (!key || len == 0 || len > FOFAL_IDEMPOTENCY_KEY_MAX || strlen(key) != len) return 0;
  for (size_t i = 0; i < len; i++) {
    char c = key[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '.' || c == ':'))
      return 0;
  }
  return 1;
}

/* Appends `s` to out (sized by the caller for the worst case, 3 bytes a byte) with '%'
 * and '/' percent-encoded; returns the new end. */
static char *escape_into(char *out, const char *s) {
  for (; *s; s++) {
    if (*s == '%' || *s == '/') out += sprintf(out, "%%%02X", (unsigned char)*s);
    else *out++ = *s;
  }
  *out = '\0';
  return out;
}

char *fofal_command_scoped_id(const char *subject, const char *key) {
  char *id = fofal_malloc(3 * (strlen(subject) + strlen(key)) + 2), *end = escape_into(id, subject);
  *end++ = '/';
  escape_into(end, key);
  return id;
}

char *fofal_result_key(const char *tenant, const char *command_id) {
  /* The command id is last and kept as it is: the first unescaped '/' ends the tenant. */
  size_t idlen = strlen(command_id);
  char *key = fofal_malloc(3 * strlen(tenant) + idlen + 2), *end = escape_into(key, tenant);
  *end++ = '/';
  memcpy(end, command_id, idlen + 1);
  return key;
}

char *fofal_command_canonical(const char *type, const json_t *data, int64_t expected_version) {
  json_t *o = json_pack("{s:s,s:O}", "type", type, "data", (json_t *)data);
  if (!o) return NULL;
  if (expected_version >= 0) json_object_set_new(o, "if_match", json_integer(expected_version));
  /* Sorted members at every depth, no spaces, reals at a fixed precision: the same JSON
   * value always gives the same text, whatever the client's member order or spacing. */
  char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
  json_decref(o);
  return s;
}

int fofal_command_same_request(const char *first_fingerprint, const char *fingerprint) {
  if (!first_fingerprint || !fingerprint) return 1; /* unknown: replayed as before */
  return !strcmp(first_fingerprint, fingerprint);
}

json_t *fofal_command_replay(const json_t *first, const char *type, const char *fingerprint) {
  const char *was = json_string_value(json_object_get(first, "fingerprint"));
  if (fofal_command_same_request(was, fingerprint)) return json_deep_copy(first);
  char detail[256];
  snprintf(detail, sizeof detail,
           "this Idempotency-Key was sent before with another request (%.100s); send a new key for a new request",
           json_string_value(json_object_get(first, "type")) ?: "another command");
  return json_pack("{s:O?,s:s,s:O?,s:O?,s:s,s:s,s:s}", "command_id", json_object_get(first, "command_id"), "type",
                   type ? type : "", "tenant", json_object_get(first, "tenant"), "aggregate",
                   json_object_get(first, "aggregate"), "status", "rejected", "code", FOFAL_CODE_KEY_REUSED, "detail",
                   detail);
}
