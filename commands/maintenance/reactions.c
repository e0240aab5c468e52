/*
 * reactions.c — how the maintenance module reacts to other modules' events
 * (commands.h, "reactions"): each reaction turns a trigger event into one maintenance
 * command, or nothing, or a failure with its reason. Pure functions: fofal-reactor runs
 * them exactly once per trigger and keys, ids and sends their commands; the emitting
 * module knows nothing of them.
 *
 *   maintenance.intervention_on_breakdown
 *       fofal.machines.breakdown_declared → maintenance.intervention.request: a loom that
 *       fofal-machines saw break down (a mechanical or electrical stop, or a stop past its
 *       threshold) gets an intervention request from "telemetry", the mechanics' board
 *       shows it. The decider refuses it for a loom the tenant never registered
 *       (unknown_loom): that lands in fofal.reactions.dlq, with the breakdown it answers.
 *
 * Exactly once: fofal-reactor derives the command's id from (reaction name, trigger event
 * id), so a trigger read again after a crash sends the same id, which the decider's
 * idempotency drops (commands/reactor.c; test_reactor kills it during a stream of
 * breakdowns). The build registers the folder's reactions
 * (fofal_module_maintenance_reactions) through fofal_reaction_modules[].
 */
#include "commands.h"
#include "decide.h"

#include <stdio.h>

static int intervention_on_breakdown(const fofal_event_t *ev, fofal_reaction_out_t *out) {
  const char *loom = jstr(ev->data, "loom"), *cause = jstr(ev->data, "cause");
  if (!fofal_code_valid(loom))
    return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the breakdown names no valid loom code");
  if (!*cause) return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the breakdown of %s has no cause", loom);
  char note[1024];
  snprintf(note, sizeof note, "%s stopped since %s (%s): %s", loom, jstr(ev->data, "since"), cause,
           jstr(ev->data, "reason"));
  snprintf(out->type, sizeof out->type, "maintenance.intervention.request");
  out->data = json_pack("{s:s,s:s,s:s,s:s}", "loom", loom, "cause", cause, "source", "telemetry", "note", note);
  if (!out->data) /* a note cut inside a UTF-8 sequence */
    return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the breakdown of %s has an unreadable reason", loom);
  return FOFAL_REACT_COMMAND;
}

static const char *const on_breakdown[] = {"fofal.machines.breakdown_declared.v1", NULL};

static const fofal_reaction_t reactions[] = {
    {"maintenance.intervention_on_breakdown", on_breakdown, intervention_on_breakdown,
     "a loom's breakdown (fofal-machines) becomes an intervention request from telemetry", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

const fofal_reaction_module_t fofal_module_maintenance_reactions = {.module = "maintenance", .reactions = reactions};
