/*
 * maintenance.c — the maintenance module's deciders and its registration in the command
 * layer: intervention requests (a mechanic called to a loom; later spare parts).
 *
 *   maintenance.intervention.request   a weaver, a mechanic, a supervisor or a loom's own
 *                                      sensors (source telemetry, reactions.c) call a mechanic
 *   maintenance.intervention.accept    a mechanic takes the request
 *   maintenance.intervention.start     the mechanic who took it starts working on the loom
 *   maintenance.intervention.finish    ... and finishes: cause, parts used, duration
 *   maintenance.intervention.cancel    before work starts
 *
 *   lifecycle: requested → accepted → started → finished; cancelled before it starts
 *
 * Events go to fofal.maintenance.events (the topic follows from the module). An
 * intervention is named by its UUID (the command's intervention_id, or the command id).
 *
 * People are who signed in (actors.c, DESIGN.md guarantee 9): a weaver requests, a
 * mechanic takes, starts and finishes as themself (another badge: actor_mismatch); a
 * planner, manager or admin may record it for someone, and the event says so
 * ("delegated_by"). Only our processes ("s:" services, "r:" reactions) may say a request
 * comes from telemetry.
 *
 * Other modules' aggregates. A request reads the loom it names (production's: unknown_loom
 * when the tenant never registered it) and an acceptance reads the mechanic's employee
 * record (unknown_employee), both by code through lookup_ref, whatever module keeps them.
 * That works because the decider holds every aggregate of a tenant, whatever its module:
 * all commands travel on the one topic fofal.commands, keyed so that a tenant's commands
 * share a partition (fofal_tenant_partition), and the processor's state store is per
 * partition, so fofal_cmd_lookup sees the loom as of the last command decided before and
 * never a state a concurrent decision is changing. What it costs: a tenant's commands of
 * every module are decided one after the other on that partition (a busy production floor
 * delays the tenant's maintenance commands, and the other way round); the read couples
 * these rules to the shape of the loom's and the employee's state (only their existence is
 * read here, so any change that keeps them keyed by code is compatible); and a decision
 * reads, never writes, another module's aggregates (fofal_decision_emit_to is for the
 * command's own module). The projection, on the other hand, reads only this module's
 * events: what it needs of the loom (its code) is in each event.
 *
 * The build finds this folder and lists fofal_module_maintenance_commands in the generated
 * fofal_command_modules[], and its reactions (reactions.c) in fofal_reaction_modules[].
 * Pure functions: the time a decision uses is the command's issued_us.
 */
#include "decide.h"

#include <stdio.h>
#include <string.h>

#define EV(name) "fofal.maintenance." name ".v1"

static int intervention_request(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const char *loom = jstr(cmd->data, "loom"), *by;
  int delegated;
  if (fofal_actor_person(cmd, "requested_by", jstr(cmd->data, "requested_by"), 0, &by, &delegated, out))
    return FOFAL_EREJECTED;
  if (!lookup_ref(cmd, "loom", loom, NULL)) return REJECT(out, "unknown_loom", "loom %s is not registered", loom);
  /* "telemetry" says a loom's own sensors raised it: only our processes ("s:" services,
   * "r:" reactions) may say so, never a user ("u:"). */
  const char *source = *jstr(cmd->data, "source") ? jstr(cmd->data, "source") : "weaver";
  const char *actor = cmd->actor ? cmd->actor : "";
  if (!strcmp(source, "telemetry") && strncmp(actor, "s:", 2) && strncmp(actor, "r:", 2))
    return REJECT(out, "actor_mismatch", "source telemetry is for requests the looms' sensors raise, not a person's");
  char at[32];
  fofal_time_format(cmd->issued_us, at);
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s}", "intervention_id", cmd->aggregate, "loom", loom, "cause",
                         jstr(cmd->data, "cause"), "source", source, "requested_at", at);
  jcopy(ev, cmd->data, "note");
  if (by) json_object_set_new(ev, "requested_by", json_string(by));
  if (delegated) json_object_set_new(ev, "delegated_by", fofal_actor_delegation(cmd));
  out->state = json_pack("{s:s,s:s,s:s,s:I}", "status", "requested", "loom", loom, "cause", jstr(cmd->data, "cause"),
                         "requested_us", (json_int_t)cmd->issued_us);
  fofal_decision_emit(out, EV("intervention_requested"), ev);
  return 0;
}

static int intervention_accept(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (!jeq(state, "status", "requested"))
    return REJECT(out, "invalid_transition", "a request is accepted once (it is %s)", jstr(state, "status"));
  const char *mech;
  int delegated;
  if (fofal_actor_person(cmd, "mechanic", jstr(cmd->data, "mechanic"), 1, &mech, &delegated, out)) return FOFAL_EREJECTED;
  if (!lookup_ref(cmd, "employee", mech, NULL)) return REJECT(out, "unknown_employee", "no employee has badge %s", mech);
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "status", json_string("accepted"));
  json_object_set_new(out->state, "mechanic", json_string(mech));
  json_t *ev = json_pack("{s:s,s:s,s:s}", "intervention_id", cmd->aggregate, "loom", jstr(state, "loom"), "mechanic", mech);
  if (delegated) json_object_set_new(ev, "delegated_by", fofal_actor_delegation(cmd));
  fofal_decision_emit(out, EV("intervention_accepted"), ev);
  return 0;
}

/* The mechanic who took the request works on it: another mechanic is refused; a
 * supervisor records it for them (a delegation). */
static int by_the_mechanic(const fofal_cmd_t *cmd, const json_t *state, int *delegated, fofal_decision_t *out) {
  const char *mech;
  return fofal_actor_person(cmd, "mechanic", jstr(state, "mechanic"), 1, &mech, delegated, out);
}

static int intervention_start(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (!jeq(state, "status", "accepted"))
    return REJECT(out, "invalid_transition", "work starts on an accepted request (it is %s)", jstr(state, "status"));
  int delegated;
  if (by_the_mechanic(cmd, state, &delegated, out)) return FOFAL_EREJECTED;
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "status", json_string("started"));
  json_object_set_new(out->state, "started_us", json_integer((json_int_t)cmd->issued_us));
  json_t *ev = json_pack("{s:s,s:s,s:s}", "intervention_id", cmd->aggregate, "loom", jstr(state, "loom"), "mechanic",
                         jstr(state, "mechanic"));
  if (delegated) json_object_set_new(ev, "delegated_by", fofal_actor_delegation(cmd));
  fofal_decision_emit(out, EV("intervention_started"), ev);
  return 0;
}

static int intervention_finish(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (!jeq(state, "status", "started"))
    return REJECT(out, "invalid_transition", "an intervention finishes once started (it is %s)", jstr(state, "status"));
  int delegated;
  if (by_the_mechanic(cmd, state, &delegated, out)) return FOFAL_EREJECTED;
  json_int_t minutes = jint(cmd->data, "duration_min", -1);
  if (minutes < 0) minutes = (json_int_t)((cmd->issued_us - jint(state, "started_us", cmd->issued_us)) / 60000000);
  if (minutes < 0) minutes = 0;
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "status", json_string("finished"));
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:I}", "intervention_id", cmd->aggregate, "loom", jstr(state, "loom"), "mechanic",
                         jstr(state, "mechanic"), "cause", jstr(cmd->data, "cause"), "duration_min", minutes);
  jcopy(ev, cmd->data, "parts");
  jcopy(ev, cmd->data, "notes");
  if (delegated) json_object_set_new(ev, "delegated_by", fofal_actor_delegation(cmd));
  fofal_decision_emit(out, EV("intervention_finished"), ev);
  return 0;
}

static int intervention_cancel(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (!jeq(state, "status", "requested") && !jeq(state, "status", "accepted"))
    return REJECT(out, "invalid_transition", "a request is cancelled before work starts (it is %s)", jstr(state, "status"));
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "status", json_string("cancelled"));
  fofal_decision_emit(out, EV("intervention_cancelled"),
                      json_pack("{s:s,s:s,s:s}", "intervention_id", cmd->aggregate, "loom", jstr(state, "loom"), "reason",
                                jstr(cmd->data, "reason")));
  return 0;
}

static const fofal_command_def_t commands[] = {
    {"maintenance.intervention.request", "intervention_id", 1, "Ask mechanics to come to a loom, with a cause.",
     intervention_request, NULL},
    {"maintenance.intervention.accept", "intervention_id", 0, "A mechanic takes an intervention request.", intervention_accept,
     NULL},
    {"maintenance.intervention.start", "intervention_id", 0, "A mechanic starts working on the loom.", intervention_start, NULL},
    {"maintenance.intervention.finish", "intervention_id", 0, "A mechanic finishes: cause, parts used, duration.",
     intervention_finish, NULL},
    {"maintenance.intervention.cancel", "intervention_id", 0, "Cancel a request before work starts.", intervention_cancel, NULL},
};
static const int ncommands = sizeof commands / sizeof commands[0];

static const fofal_command_table_t tables[] = {
    {commands, &ncommands},
    {NULL, NULL},
};

const fofal_command_module_t fofal_module_maintenance_commands = {.name = "maintenance", .tables = tables};
