/*
 * decide.h — private to commands/: the small vocabulary the deciders share.
 *
 * Deciders read JSON they did not build (a state written by an older version, a command
 * checked only by its schema), so every accessor here tolerates a missing or mistyped
 * member and answers a neutral value.
 */
#ifndef FOFAL_DECIDE_H
#define FOFAL_DECIDE_H

#include "commands.h"

#include <string.h>

/* A string member or "" (never NULL). */
static inline const char *jstr(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

/* An integer member or `dflt`. */
static inline json_int_t jint(const json_t *o, const char *k, json_int_t dflt) {
  const json_t *v = json_object_get(o, k);
  return json_is_integer(v) ? json_integer_value(v) : dflt;
}

/* A number member (integer or real) or `dflt`. */
static inline double jnum(const json_t *o, const char *k, double dflt) {
  const json_t *v = json_object_get(o, k);
  return json_is_number(v) ? json_number_value(v) : dflt;
}

static inline int jeq(const json_t *o, const char *k, const char *want) { return !strcmp(jstr(o, k), want); }

/* Copies member k of `from` into `to` when present. */
static inline void jcopy(json_t *to, const json_t *from, const char *k) {
  json_t *v = json_object_get(from, k);
  if (v) json_object_set(to, k, v);
}

/* Rejects with a stable code and a human detail; the decider returns this. */
#define REJECT(out, code, ...) (fofal_decision_reject((out), (code), __VA_ARGS__), FOFAL_EREJECTED)

/* The state of the aggregate named `code` in `ns` for the command's tenant, or NULL; its
 * id into id_out when given. */
static inline const json_t *lookup_ref(const fofal_cmd_t *cmd, const char *ns, const char *code,
                                       char *id_out /* [FOFAL_UUID_LEN + 1] or NULL */) {
  char id[FOFAL_UUID_LEN + 1];
  if (!code || !fofal_code_valid(code)) return NULL;
  fofal_aggregate_ref(cmd->tenant, ns, code, id);
  if (id_out) memcpy(id_out, id, sizeof id);
  return fofal_cmd_lookup(cmd, id);
}

/* ------------------------------------------------------------- people (actors.c)
 * Who a command names as having done a thing (the weaver of a declaration, the mechanic
 * of an intervention, who requested it, who inspected a first piece), bound to who sent
 * it (DESIGN.md guarantee 9). `given` is the badge the command or the aggregate names
 * (NULL or "": none), `field` its name for the messages. On success *badge is the person
 * (borrowed from `given` or cmd->actor_badge; NULL when nobody is named and none is
 * required) and *delegated is 1 when a supervisor named someone else (the event then
 * records fofal_actor_delegation). Otherwise FOFAL_EREJECTED with `out` rejected:
 * actor_mismatch, badge_required, person_required or invalid_actor. */
int fofal_actor_person(const fofal_cmd_t *cmd, const char *field, const char *given, int required, const char **badge,
                       int *delegated, fofal_decision_t *out);
/* {"actor": cmd->actor, "badge": cmd->actor_badge (when there is one)}: who recorded a
 * thing for someone else (new). */
json_t *fofal_actor_delegation(const fofal_cmd_t *cmd);
/* 1 when `role` may act for another person (planner, manager, admin). */
int fofal_actor_role_delegates(const char *role);

/* Shifts (fofal_shift_at, fofal_shift_span) are in commands.h: fofal-machines tallies by
 * them too. */

#endif
