/*
 * files.c — the files module's decider: stored files (photos, PDFs) and what they belong
 * to (README "Files").
 *
 *   files.file.store   a file whose bytes fofal-api has stored (content-addressed, per
 *                      tenant) is recorded with what it belongs to: a cut (defect
 *                      photos), a non-conformity (evidence) or an inspection; a personal
 *                      one (a photo of a person) names the employee it shows (their badge:
 *                      unknown_person when there is none), whose key sealed its bytes
 *
 * Only POST /api/v1/files/upload sends it (its schema's x-fofal-via): the route checks the
 * bytes (type from their magic numbers, size cap), stores them, then sends this command
 * with their content address. The log holds the reference, never the bytes.
 *
 * A file is one aggregate per tenant and content: file_id = fofal_uuid_named(tenant,
 * sha256), made by the route. Its first command emits file_stored; the same bytes for
 * another thing emit file_attached; for a thing it belongs to already it is refused
 * (already_attached; the route answers the upload as done).
 *
 * What a file belongs to must exist in the tenant: a cut of that roll (quality's aggregate
 * "cut" named by the roll), an NC or an inspection (their UUIDs), read across modules
 * through fofal_cmd_lookup as commands/inventory/inventory.c explains (unknown_target).
 *
 * Pure functions: no I/O, no clock.
 */
#include "decide.h"

#include <string.h>

#define EV(name) "fofal.files." name ".v1"
#define MAX_ATTACHMENTS 1000

/* Whether what the file is to belong to exists in the tenant. */
static int target_exists(const fofal_cmd_t *cmd, const char *kind, const char *target) {
  if (!strcmp(kind, "cut")) return lookup_ref(cmd, "cut", target, NULL) != NULL;
  const json_t *s = fofal_cmd_lookup(cmd, target);
  if (!s) return 0;
  /* an NC's state counts its actions, an inspection's has its score (commands/quality) */
  return !strcmp(kind, "nc") ? json_object_get(s, "actions") != NULL && json_object_get(s, "corrective") != NULL
                             : json_object_get(s, "score_x100") != NULL;
}

static int file_store(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const char *kind = jstr(cmd->data, "kind"), *target = jstr(cmd->data, "target");
  if (state && strcmp(jstr(state, "sha256"), jstr(cmd->data, "sha256")))
    return REJECT(out, "address_mismatch", "file %s holds other bytes", cmd->aggregate);
  const char *person = jstr(cmd->data, "person");
  if (*person && !lookup_ref(cmd, "employee", person, NULL))
    return REJECT(out, "unknown_person", "there is no employee %s in this tenant", person);
  if (!target_exists(cmd, kind, target))
    return REJECT(out, "unknown_target", "there is no %s %s in this tenant", kind, target);
  json_t *att = state ? json_object_get(state, "attached") : NULL;
  size_t i;
  json_t *a;
  json_array_foreach(att, i, a) if (jeq(a, "kind", kind) && jeq(a, "target", target))
      return REJECT(out, "already_attached", "this file belongs to %s %s already", kind, target);
  if (json_array_size(att) >= MAX_ATTACHMENTS)
    return REJECT(out, "too_many_attachments", "a file belongs to at most %d things", MAX_ATTACHMENTS);
  char at[32];
  fofal_time_format(cmd->issued_us, at);
  json_t *ev = json_pack("{s:s,s:s}", "file_id", cmd->aggregate, "sha256", jstr(cmd->data, "sha256"));
  if (!state) {
    jcopy(ev, cmd->data, "size");
    jcopy(ev, cmd->data, "type");
    jcopy(ev, cmd->data, "person");
    jcopy(ev, cmd->data, "content_sha256");
  }
  jcopy(ev, cmd->data, "name");
  json_object_set_new(ev, "kind", json_string(kind));
  json_object_set_new(ev, "target", json_string(target));
  json_object_set_new(ev, state ? "attached_at" : "stored_at", json_string(at));
  out->state = state ? json_deep_copy(state)
                     : json_pack("{s:s,s:O,s:s,s:[]}", "sha256", jstr(cmd->data, "sha256"), "size",
                                 json_object_get(cmd->data, "size"), "type", jstr(cmd->data, "type"), "attached");
  json_array_append_new(json_object_get(out->state, "attached"), json_pack("{s:s,s:s}", "kind", kind, "target", target));
  fofal_decision_emit(out, state ? EV("file_attached") : EV("file_stored"), ev);
  return 0;
}

static const fofal_command_def_t commands[] = {
    {"files.file.store", "file_id", FOFAL_CREATES_OR_UPDATES,
     "Record a stored file (its content address, never its bytes) and the cut, NC or inspection it belongs to; sent by "
     "POST /api/v1/files/upload.",
     file_store, NULL},
};
static const int ncommands = sizeof commands / sizeof commands[0];

static const fofal_command_table_t tables[] = {
    {commands, &ncommands},
    {NULL, NULL},
};

const fofal_command_module_t fofal_module_files_commands = {.name = "files", .tables = tables};
