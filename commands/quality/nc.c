/*
 * nc.c — the quality module's non-conformities (NC): something found not as it should be,
 * from an inspection, a cut, a customer return or by hand, followed to its closure.
 *
 *   quality.nc.open      what, where from, and the lots, looms, orders and people concerned
 *   quality.nc.analyse   the root cause and its 5M category
 *   quality.nc.act       a corrective or preventive action, with its owner and due date
 *   quality.nc.close     once the actions are verified to work
 *
 *   lifecycle: open → analysed (actions added) → closed
 *
 * An NC is named by its UUID (the command's nc_id, or derived from the command id). Rules
 * (tests/unit/quality/test_quality_nc.c): an NC from an inspection names one of this
 * tenant (unknown_inspection); the looms it names are registered (unknown_loom); it is
 * analysed while open and once (invalid_transition); actions follow the analysis
 * (analysis_required) until it is closed (invalid_transition), each owned by a known
 * employee (unknown_employee), at most 100; it is closed once analysed and with at least
 * one corrective action (action_required). An action is overdue when its NC is not closed
 * on its due date: that is a read (GET /api/v1/quality/actions/overdue), not an event.
 *
 * Other modules' aggregates read here (never written): looms (production's) and employees
 * (hr's), by code, as maintenance.c reads them; commands/catalog/catalog.c says why a
 * decision may. Pure functions: the time is the command's issued_us.
 */
#include "decide.h"
#include "nc.h"

#define EV(name) "fofal.quality." name ".v1"
#define MAX_ACTIONS 100

static int nc_open(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const char *source = jstr(cmd->data, "source"), *insp = jstr(cmd->data, "inspection_id");
  if (!strcmp(source, "inspection") && !*insp)
    return REJECT(out, "unknown_inspection", "an NC from an inspection names it (inspection_id)");
  /* An inspection's state has its grade: any other aggregate with that id is none. */
  if (*insp && !json_object_get(fofal_cmd_lookup(cmd, insp), "score_x100"))
    return REJECT(out, "unknown_inspection", "no inspection %s in this tenant", insp);
  size_t i;
  const json_t *v;
  json_array_foreach(json_object_get(cmd->data, "looms"), i, v) {
    if (!lookup_ref(cmd, "loom", json_string_value(v), NULL))
      return REJECT(out, "unknown_loom", "loom %s is not registered", json_string_value(v));
  }
  char at[32];
  fofal_time_format(cmd->issued_us, at);
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s}", "nc_id", cmd->aggregate, "title", jstr(cmd->data, "title"), "source",
                         source, "opened_by", cmd->actor ? cmd->actor : "", "opened_at", at);
  static const char *const copied[] = {"description", "inspection_id", "lots", "looms", "orders", "people", NULL};
  for (int k = 0; copied[k]; k++) jcopy(ev, cmd->data, copied[k]);
  out->state = json_pack("{s:s,s:i,s:i}", "status", "open", "actions", 0, "corrective", 0);
  fofal_decision_emit(out, EV("nc_opened"), ev);
  return 0;
}

static int nc_analyse(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (!jeq(state, "status", "open"))
    return REJECT(out, "invalid_transition", "an NC is analysed once, while open (it is %s)", jstr(state, "status"));
  char at[32];
  fofal_time_format(cmd->issued_us, at);
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "status", json_string("analysed"));
  fofal_decision_emit(out, EV("nc_analysed"),
                      json_pack("{s:s,s:s,s:s,s:s}", "nc_id", cmd->aggregate, "cause", jstr(cmd->data, "cause"), "category",
                                jstr(cmd->data, "category"), "analysed_at", at));
  return 0;
}

static int nc_act(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (jeq(state, "status", "closed")) return REJECT(out, "invalid_transition", "the NC is closed");
  if (!jeq(state, "status", "analysed"))
    return REJECT(out, "analysis_required", "actions follow the analysis of the cause (quality.nc.analyse)");
  json_int_t n = jint(state, "actions", 0) + 1;
  if (n > MAX_ACTIONS) return REJECT(out, "too_many_actions", "an NC has at most %d actions", MAX_ACTIONS);
  const char *owner = jstr(cmd->data, "owner");
  if (!lookup_ref(cmd, "employee", owner, NULL)) return REJECT(out, "unknown_employee", "no employee has badge %s", owner);
  int corrective = jeq(cmd->data, "kind", "corrective");
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "actions", json_integer(n));
  json_object_set_new(out->state, "corrective", json_integer(jint(state, "corrective", 0) + corrective));
  fofal_decision_emit(out, EV("nc_action_added"),
                      json_pack("{s:s,s:I,s:s,s:s,s:s,s:s}", "nc_id", cmd->aggregate, "action_no", n, "kind",
                                jstr(cmd->data, "kind"), "description", jstr(cmd->data, "description"), "owner", owner, "due",
                                jstr(cmd->data, "due")));
  return 0;
}

static int nc_close(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (jeq(state, "status", "closed")) return REJECT(out, "invalid_transition", "the NC is closed already");
  if (!jeq(state, "status", "analysed"))
    return REJECT(out, "analysis_required", "an NC is closed once its cause is analysed");
  if (jint(state, "corrective", 0) < 1)
    return REJECT(out, "action_required", "an NC is closed once a corrective action was taken (quality.nc.act)");
  char at[32];
  fofal_time_format(cmd->issued_us, at);
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "status", json_string("closed"));
  fofal_decision_emit(out, EV("nc_closed"),
                      json_pack("{s:s,s:s,s:s}", "nc_id", cmd->aggregate, "verification", jstr(cmd->data, "verification"),
                                "closed_at", at));
  return 0;
}

const fofal_command_def_t fofal__quality_nc_commands[] = {
    {"quality.nc.open", "nc_id", 1,
     "Open a non-conformity (from an inspection, a cut, a customer return or by hand) with what it concerns.", nc_open,
     NULL},
    {"quality.nc.analyse", "nc_id", 0, "Record a non-conformity's root cause and its 5M category.", nc_analyse, NULL},
    {"quality.nc.act", "nc_id", 0, "Add a corrective or preventive action (owner, due date) to a non-conformity.", nc_act,
     NULL},
    {"quality.nc.close", "nc_id", 0, "Close a non-conformity once its actions are verified.", nc_close, NULL},
};
const int fofal__quality_nc_ncommands = sizeof fofal__quality_nc_commands / sizeof fofal__quality_nc_commands[0];
