/*
 * actors.c — who a command says did a thing, bound to who sent it (DESIGN.md guarantee 9:
 * actors come from the token, never from a badge typed in the body).
 *
 * Every command carries its actor as fofal-api put it from the verified access token:
 * "u:<subject>/<role>", and the signed-in person's badge (the token's `badge` claim, which
 * the sign-in takes from the account) in actor_badge. Processes of ours send
 * "s:<service>/…" (fofal-machines requests an intervention on a breakdown). The rules,
 * for each person a command names (a declaration's weaver, the mechanic who takes,
 * starts or finishes an intervention, who requested it, who inspected a first piece):
 *
 * - Floor roles act as themselves: every user role but the supervisors below. The person
 *   is their badge: absent, it is filled in from the token; another badge is refused
 *   (actor_mismatch); a token without a badge cannot name anyone (badge_required).
 * - Supervisors (planner, manager, admin) may record a thing for someone else: that is a
 *   delegation, and the event keeps both the person and "delegated_by" {actor, badge}
 *   (the envelope's fofalactor says the same actor). Absent, the person is their own
 *   badge, or person_required when they have none and the command needs one.
 * - Services name whom they name; person_required when a command needs one and has none.
 *
 * Pure functions, like the deciders that call them.
 */
#include "decide.h"

#include <string.h>

static const char *const delegating[] = {"planner", "manager", "admin", NULL};

int fofal_actor_role_delegates(const char *role) {
  for (int i = 0; delegating[i]; i++)
    if (!strcmp(role, delegating[i])) return 1;
  return 0;
}

/* The role of a user actor "u:<subject>/<role>" (a pointer into it), or NULL for anything
 * else (a service). The subject may hold a '/', a role never does. */
static const char *user_role(const char *actor) {
  if (!actor || strncmp(actor, "u:", 2)) return NULL;
  const char *slash = strrchr(actor, '/');
  return slash && slash[1] ? slash + 1 : NULL;
}

int fofal_actor_person(const fofal_cmd_t *cmd, const char *field, const char *given, int required, const char **badge,
                       int *delegated, fofal_decision_t *out) {
  const char *mine = cmd->actor_badge && *cmd->actor_badge ? cmd->actor_badge : NULL;
  const char *role = user_role(cmd->actor);
  if (given && !*given) given = NULL;
  *badge = NULL;
  *delegated = 0;
  if (mine && !fofal_code_valid(mine)) return REJECT(out, "invalid_actor", "the command's actor badge is not a badge");
  if (role && !fofal_actor_role_delegates(role)) {
    if (!mine)
      return given || required
                 ? REJECT(out, "badge_required", "a %s acts as themself, and this sign-in carries no badge: sign in with "
                                                 "the account that has your badge", role)
                 : 0;
    if (given && strcmp(given, mine))
      return REJECT(out, "actor_mismatch",
                    "%s %s is not you (badge %s): a %s acts as themself; a planner, manager or admin may record it for them",
                    field, given, mine, role);
    *badge = mine;
    return 0;
  }
  *badge = given ? given : role ? mine : NULL;
  if (!*badge)
    return required ? REJECT(out, "person_required", "give %s: the badge of the person who did it", field) : 0;
  *delegated = role && (!mine || strcmp(*badge, mine));
  return 0;
}

json_t *fofal_actor_delegation(const fofal_cmd_t *cmd) {
  json_t *d = json_pack("{s:s}", "actor", cmd->actor ? cmd->actor : "");
  if (cmd->actor_badge && *cmd->actor_badge) json_object_set_new(d, "badge", json_string(cmd->actor_badge));
  return d;
}
