/*
 * reactions.c — the registered reactions between modules and the pure pieces every
 * process that deals with them shares: finding one, checking the table, the id of a
 * reaction's command, where its trigger is, and the record of fofal.reactions.dlq.
 *
 * The reactions themselves live in the reacting modules' folders (commands/<m>/reactions.c)
 * and reach the engines only through fofal_reaction_modules[] (reactions_table.c): nothing
 * here names a module. fofal-reactor (reactor.c) runs them; fofal-decider writes the DLQ
 * record of a reaction's command it rejects (processor.c). Everything here is pure and
 * thread-safe (the table is static and read-only).
 */
#include "commands.h"

#include <stdio.h>
#include <string.h>

/* Namespace of the name-based ids of reactions' commands. */
#define REACTION_ID_NS "fofal.reactions"

const fofal_reaction_t *fofal_reaction_find(const char *name) {
  for (int m = 0; name && fofal_reaction_modules[m]; m++)
    for (const fofal_reaction_t *r = fofal_reaction_modules[m]->reactions; r && r->name; r++)
      if (!strcmp(r->name, name)) return r;
  return NULL;
}

/* 1 if `type` reads "fofal.<module>.<name>.v<N>". */
static int event_type_ok(const char *type) {
  char module[64];
  const char *v = strrchr(type, '.');
  if (fofal_event_type_module(type, module, sizeof module) || !v || v[1] != 'v' || !v[2]) return 0;
  for (const char *c = v + 2; *c; c++)
    if (*c < '0' || *c > '9') return 0;
  return 1;
}

int fofal_reactions_check(char *errbuf, size_t errlen) {
  for (int m = 0; fofal_reaction_modules[m]; m++) {
    const fofal_reaction_module_t *mod = fofal_reaction_modules[m];
    size_t ml = strlen(mod->module);
    for (const fofal_reaction_t *r = mod->reactions; r && r->name; r++) {
      if (strncmp(r->name, mod->module, ml) || r->name[ml] != '.' || !r->name[ml + 1] || strlen(r->name) > 100)
        return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "reaction %s: its name must be \"%s.<what>\" (at most 100 bytes)",
                         r->name, mod->module);
      if (fofal_reaction_find(r->name) != r)
        return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "reaction %s is declared twice", r->name);
      if (!r->react || !r->on || !r->on[0])
        return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "reaction %s has no function or no event type", r->name);
      for (int i = 0; r->on[i]; i++)
        if (!event_type_ok(r->on[i]))
          return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "reaction %s: \"%s\" is not an event type fofal.<module>.<name>.v<N>",
                           r->name, r->on[i]);
    }
  }
  return 0;
}

void fofal_reaction_command_id(const char *reaction, const char *event_id, char out[FOFAL_UUID_LEN + 1]) {
  char name[256];
  snprintf(name, sizeof name, "%s/%s", reaction, event_id);
  fofal_uuid_named(REACTION_ID_NS, name, out);
}

json_t *fofal_reaction_trigger(const char *reaction, const fofal_event_t *ev, const char *topic, int32_t partition,
                               int64_t offset) {
  return json_pack("{s:s?,s:s?,s:s?,s:s?,s:s?,s:s,s:i,s:I}", "reaction", reaction, "id", ev->id, "type", ev->type,
                   "tenant", ev->tenant, "subject", ev->subject, "topic", topic, "partition", (int)partition, "offset",
                   (json_int_t)offset);
}

char *fofal_reaction_dlq_record(const char *stage, const json_t *trigger, const char *code, const char *reason,
                                const fofal_cmd_t *cmd) {
  json_t *o = json_pack("{s:s?,s:s,s:s?,s:O?,s:s}", "reaction", json_string_value(json_object_get(trigger, "reaction")),
                        "stage", stage, "tenant", json_string_value(json_object_get(trigger, "tenant")), "trigger",
                        trigger, "reason", reason ? reason : "");
  if (code) json_object_set_new(o, "code", json_string(code));
  if (cmd)
    json_object_set_new(o, "command",
                        json_pack("{s:s?,s:s?,s:s?}", "id", cmd->id, "type", cmd->type, "aggregate", cmd->aggregate));
  char *s = fofal_json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(o);
  return s;
}

void fofal_reaction_result_clear(fofal_reaction_result_t *res) {
  json_decref(res->out.data);
  json_decref(res->trigger);
  memset(res, 0, sizeof *res);
}

/* The first schema error as one line: "/cause: must be at most 64 characters". */
static void first_error(const json_t *errors, char *out, size_t outlen) {
  const json_t *e = json_array_get(errors, 0);
  snprintf(out, outlen, "the command does not match its schema: %s: %s",
           json_string_value(json_object_get(e, "pointer")) ? json_string_value(json_object_get(e, "pointer")) : "",
           json_string_value(json_object_get(e, "message")) ? json_string_value(json_object_get(e, "message")) : "?");
}

int fofal_reaction_apply(const fofal_registry_t *reg, const fofal_reaction_t *r, const fofal_event_t *ev,
                         const char *topic, int32_t partition, int64_t offset, int64_t now_us,
                         fofal_reaction_result_t *res) {
  char *reason = res->out.reason, own[64], sent[64];
  size_t rlen = sizeof res->out.reason;
  json_t *errors = NULL;
  memset(res, 0, sizeof *res);
  res->trigger = fofal_reaction_trigger(r->name, ev, topic, partition, offset);
  if (!ev->id || !ev->tenant || !*ev->tenant || !ev->data)
    return fofal_err(reason, rlen, FOFAL_EINVAL, "the trigger has no id, tenant or data");
  int rc = r->react(ev, &res->out);
  if (rc < 0) {
    if (!*reason) snprintf(reason, rlen, "%s", fofal_strerror(rc));
    return rc;
  }
  if (rc == FOFAL_REACT_NOTHING) return rc;
  if (rc != FOFAL_REACT_COMMAND || !res->out.data)
    return fofal_err(reason, rlen, FOFAL_EINVAL, "the reaction answered %d without a command", rc);
  /* A module reacts with commands of its own: its name's first part is the module. */
  snprintf(own, sizeof own, "%.*s", (int)strcspn(r->name, "."), r->name);
  if (fofal_command_module(res->out.type, sent, sizeof sent) || strcmp(own, sent))
    return fofal_err(reason, rlen, FOFAL_EINVAL, "command type %s is not one of module %s", res->out.type, own);
  const fofal_command_def_t *def = fofal_registry_find(reg, res->out.type);
  if (!def) return fofal_err(reason, rlen, FOFAL_EINVAL, "no command type %s", res->out.type);
  fofal_reaction_command_id(r->name, ev->id, res->id);
  if (fofal_command_aggregate_id(def, ev->tenant, res->id, res->out.data, res->aggregate))
    return fofal_err(reason, rlen, FOFAL_EINVAL, "command %s: data.%s does not name an aggregate", res->out.type,
                     def->aggregate_key);
  rc = fofal_registry_validate_sealed(reg, res->out.type, res->out.data, &errors);
  if (rc && json_array_size(errors)) first_error(errors, reason, rlen);
  else if (rc) snprintf(reason, rlen, "the command does not match its schema: %s", fofal_strerror(rc));
  json_decref(errors); /* an empty array when valid */
  if (rc) return FOFAL_ESCHEMA;
  snprintf(res->actor, sizeof res->actor, "r:%s", r->name);
  res->cmd = (fofal_cmd_t){.id = res->id,
                           .type = res->out.type,
                           .tenant = ev->tenant,
                           .actor = res->actor,
                           .aggregate = res->aggregate,
                           .expected_version = -1,
                           .issued_us = now_us,
                           .correlation_id = ev->correlation_id && *ev->correlation_id ? ev->correlation_id : ev->id,
                           .data = res->out.data,
                           .trigger = res->trigger};
  return FOFAL_REACT_COMMAND;
}
