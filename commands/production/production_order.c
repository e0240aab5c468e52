/*
 * production_order.c — the production order (OF, ordre de fabrication) aggregate.
 *
 * Lifecycle: created → (planned on a loom) → released → started ⇄ paused → completed →
 * closed, and cancelled from any state before completion.
 *
 * Rules, each with a decider unit test (tests/unit/production/test_production_order.c, test_weaving.c):
 * - an order starts only on a registered loom whose first-piece check is not due or failed
 *   and which carries its beams (ground; and pile on a terry loom);
 * - output is declared only on a started order (not paused, completed, closed or
 *   cancelled), in positive bounded quantities, never beyond the ordered quantity plus
 *   the overproduction tolerance, and never beyond what the mounted beams can give: a
 *   declaration of L woven meters consumes L × (1 + take-up) of each beam;
 * - the weaver is a registered employee on the shift the declaration falls in (by the
 *   mill's shift model; `woven_at` lets a phone that was offline say when);
 * - the weaver is who signed in: a weaver declares only their own output (absent, the
 *   weaver is the token's badge); a planner, manager or admin may declare for a weaver,
 *   recorded as "delegated_by" (actors.c).
 * Each declaration gets a label id derived from its command id, so deciding again (after
 * an aborted transaction) yields the same label; the label is an aggregate of its own
 * (for reprints and, later, its moves), issued by the same decision.
 *
 * Pure functions: state in, events and new state out. State shape:
 *   {"status", "article", "quantity", "unit", "due_date", "loom", "declared", "length_m"}
 */
#include "decide.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define OVERPRODUCTION_PCT 10  /* mills accept up to 10 % over the ordered quantity */

static const char *status(const json_t *state) {
  return state ? json_string_value(json_object_get(state, "status")) : NULL;
}

static json_t *base_event(const fofal_cmd_t *cmd) {
  return json_pack("{s:s}", "order_id", cmd->aggregate);
}

static json_t *with_status(const json_t *state, const char *st) {
  json_t *s = json_deep_copy(state);
  json_object_set_new(s, "status", json_string(st));
  return s;
}

static int create(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const json_t *d = cmd->data;
  json_t *ev = base_event(cmd);
  json_object_set(ev, "article", json_object_get(d, "article"));
  json_object_set(ev, "quantity", json_object_get(d, "quantity"));
  json_object_set_new(ev, "unit", json_string(json_object_get(d, "unit") ? json_string_value(json_object_get(d, "unit")) : "pieces"));
  if (json_object_get(d, "due_date")) json_object_set(ev, "due_date", json_object_get(d, "due_date"));
  if (json_object_get(d, "loom")) json_object_set(ev, "loom", json_object_get(d, "loom"));
  out->state = json_pack("{s:s,s:O,s:O,s:O,s:O*,s:O*,s:i}", "status", "created", "article",
                         json_object_get(ev, "article"), "quantity", json_object_get(ev, "quantity"), "unit",
                         json_object_get(ev, "unit"), "due_date", json_object_get(ev, "due_date"), "loom",
                         json_object_get(ev, "loom"), "declared", 0);
  fofal_decision_emit(out, "fofal.production.order_created.v1", ev);
  return 0;
}

static int release(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (strcmp(status(state), "created")) {
    fofal_decision_reject(out, "invalid_transition", "an order can be released only when created (it is %s)", status(state));
    return FOFAL_EREJECTED;
  }
  out->state = with_status(state, "released");
  fofal_decision_emit(out, "fofal.production.order_released.v1", base_event(cmd));
  return 0;
}

#define MAX_WOVEN_AHEAD_US (5 * 60 * 1000000LL)       /* clocks of phones drift */
#define MAX_WOVEN_BEHIND_US (7 * 86400 * 1000000LL)   /* an offline phone's queue */

static int plan(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const char *st = status(state), *loom = jstr(cmd->data, "loom");
  if (strcmp(st, "created") && strcmp(st, "released"))
    return REJECT(out, "invalid_transition", "an order is planned before it starts (it is %s)", st);
  if (!lookup_ref(cmd, "loom", loom, NULL)) return REJECT(out, "unknown_loom", "loom %s is not registered", loom);
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "loom", json_string(loom));
  json_t *ev = json_pack("{s:s,s:s}", "order_id", cmd->aggregate, "loom", loom);
  jcopy(ev, cmd->data, "planned_start");
  fofal_decision_emit(out, "fofal.production.order_planned.v1", ev);
  return 0;
}

/* The loom an order runs on may take it: registered, first piece checked, beams on. */
static int loom_ready(const fofal_cmd_t *cmd, const char *loom, fofal_decision_t *out, char loom_id[FOFAL_UUID_LEN + 1],
                      const json_t **ls) {
  *ls = lookup_ref(cmd, "loom", loom, loom_id);
  if (!*ls) return REJECT(out, "unknown_loom", "loom %s is not registered", loom);
  const char *fp = jstr(*ls, "first_piece");
  if (!strcmp(fp, "due") || !strcmp(fp, "failed"))
    return REJECT(out, "first_piece_check_required", "loom %s waits for its first-piece check (%s)", loom, fp);
  const json_t *beams = json_object_get(*ls, "beams");
  if (!json_object_get(beams, "ground")) return REJECT(out, "no_beam_mounted", "loom %s carries no ground beam", loom);
  if (jeq(*ls, "weave", "terry") && !json_object_get(beams, "pile"))
    return REJECT(out, "no_beam_mounted", "terry loom %s carries no pile beam", loom);
  return 0;
}

static int start(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (strcmp(status(state), "released")) {
    fofal_decision_reject(out, "invalid_transition", "an order can be started only when released (it is %s)", status(state));
    return FOFAL_EREJECTED;
  }
  const json_t *loom = json_object_get(cmd->data, "loom");
  if (!loom) loom = json_object_get(state, "loom");
  if (!json_is_string(loom)) {
    fofal_decision_reject(out, "loom_required", "an order is started on a loom: give \"loom\"");
    return FOFAL_EREJECTED;
  }
  char loom_id[FOFAL_UUID_LEN + 1];
  const json_t *ls;
  if (loom_ready(cmd, json_string_value(loom), out, loom_id, &ls)) return FOFAL_EREJECTED;
  out->state = with_status(state, "started");
  json_object_set(out->state, "loom", (json_t *)loom);
  json_t *ev = base_event(cmd);
  json_object_set(ev, "loom", (json_t *)loom);
  fofal_decision_emit(out, "fofal.production.order_started.v1", ev);
  json_t *nls = json_deep_copy(ls);
  json_object_set_new(nls, "order", json_string(cmd->aggregate));
  fofal_decision_emit_to(out, loom_id, "fofal.production.loom_order_started.v1",
                         json_pack("{s:O,s:s,s:O}", "loom", loom, "order_id", cmd->aggregate, "article",
                                   json_object_get(state, "article")),
                         nls);
  return 0;
}

static int pause_order(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (strcmp(status(state), "started"))
    return REJECT(out, "invalid_transition", "a started order can be paused (it is %s)", status(state));
  out->state = with_status(state, "paused");
  json_t *ev = base_event(cmd);
  jcopy(ev, cmd->data, "reason");
  jcopy(ev, state, "loom");
  fofal_decision_emit(out, "fofal.production.order_paused.v1", ev);
  return 0;
}

static int resume_order(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (strcmp(status(state), "paused"))
    return REJECT(out, "invalid_transition", "a paused order can be resumed (it is %s)", status(state));
  char loom_id[FOFAL_UUID_LEN + 1];
  const json_t *ls;
  if (loom_ready(cmd, jstr(state, "loom"), out, loom_id, &ls)) return FOFAL_EREJECTED;
  out->state = with_status(state, "started");
  json_t *ev = base_event(cmd);
  jcopy(ev, state, "loom");
  fofal_decision_emit(out, "fofal.production.order_resumed.v1", ev);
  return 0;
}

/* What a declaration consumes of one mounted beam, or a rejection. */
static int consume_beam(const fofal_cmd_t *cmd, const json_t *ls, const char *pos, double woven_m, const char *label,
                        fofal_decision_t *out, json_t *consumed) {
  const json_t *ref = json_object_get(json_object_get(ls, "beams"), pos);
  if (!ref) return 0;
  const json_t *beam = fofal_cmd_lookup(cmd, jstr(ref, "id"));
  if (!beam) return REJECT(out, "unknown_beam", "beam %s does not exist", jstr(ref, "beam"));
  double need = woven_m * (1.0 + jnum(beam, "take_up_pct", 0) / 100.0);
  double left = jnum(beam, "meters_left", 0);
  /* In whole millimetres, the one taken from the other: used + left stays the beam's
   * length exactly (rounding each apart could make it a millimetre more). */
  long long need_mm = llround(need * 1000.0), left_mm = llround(left * 1000.0);
  if (need_mm > left_mm)
    return REJECT(out, "beam_exhausted",
                  "%.1f m woven need %.1f m of %s beam %s, which has %.1f m left", woven_m, need, pos, jstr(ref, "beam"), left);
  double after = (double)(left_mm - need_mm) / 1000.0;
  json_t *bs = json_deep_copy(beam);
  json_object_set_new(bs, "meters_left", json_real(after));
  json_array_append_new(consumed, json_pack("{s:s,s:s,s:f,s:f,s:s,s:o}", "beam", jstr(ref, "beam"), "id", jstr(ref, "id"),
                                            "meters", (double)need_mm / 1000.0, "meters_left", after, "label_id",
                                            label, "state", bs));
  return 0;
}

static int declare_output(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (strcmp(status(state), "started")) {
    fofal_decision_reject(out, "order_not_started", "output is declared only on a started order (it is %s)", status(state));
    return FOFAL_EREJECTED;
  }
  json_int_t q = json_integer_value(json_object_get(cmd->data, "quantity"));
  json_int_t declared = json_integer_value(json_object_get(state, "declared"));
  json_int_t ordered = json_integer_value(json_object_get(state, "quantity"));
  json_int_t cap = ordered + ordered * OVERPRODUCTION_PCT / 100;
  if (q <= 0) {
    fofal_decision_reject(out, "quantity_not_positive", "a declared quantity must be positive");
    return FOFAL_EREJECTED;
  }
  if (declared + q > cap) {
    fofal_decision_reject(out, "over_ordered_quantity",
                          "declaring %lld would bring the order to %lld, above %lld (ordered %lld + %d %%)",
                          (long long)q, (long long)(declared + q), (long long)cap, (long long)ordered, OVERPRODUCTION_PCT);
    return FOFAL_EREJECTED;
  }
  /* When it was woven: now, or what an offline phone says (within bounds). */
  int64_t at = cmd->issued_us;
  const char *woven_at = jstr(cmd->data, "woven_at");
  if (*woven_at) {
    if (fofal_time_parse(woven_at, &at)) return REJECT(out, "invalid_time", "woven_at is not an RFC 3339 time");
    if (at > cmd->issued_us + MAX_WOVEN_AHEAD_US) return REJECT(out, "woven_in_future", "woven_at is in the future");
    if (at < cmd->issued_us - MAX_WOVEN_BEHIND_US)
      return REJECT(out, "woven_too_long_ago", "woven_at is more than 7 days ago: declare it through the office");
  }
  /* Who wove it: the signed-in weaver, or whom a supervisor names (actors.c). */
  const char *badge;
  int delegated;
  if (fofal_actor_person(cmd, "weaver", jstr(cmd->data, "weaver"), 1, &badge, &delegated, out)) return FOFAL_EREJECTED;
  const json_t *weaver = lookup_ref(cmd, "employee", badge, NULL);
  if (!weaver) return REJECT(out, "unknown_weaver", "no employee has badge %s", badge);
  /* The shift: the one of the weaver's that covers the moment (shifts of a model may
   * overlap; a weaver's may not, so there is at most one). */
  const char *shift = NULL;
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(weaver, "shifts"), i, a) {
    if (jint(a, "starts_us", 0) <= at && at < jint(a, "ends_us", 0)) shift = jstr(a, "shift");
  }
  if (!shift) {
    fofal_shift_t sh;
    if (fofal_shift_at(lookup_ref(cmd, "shiftmodel", "default", NULL), at, &sh))
      return REJECT(out, "weaver_not_on_shift", "%s is on no shift at that time (the mill does not work then)", badge);
    return REJECT(out, "weaver_not_on_shift", "%s is not on shift %s", badge, sh.id);
  }
  /* The loom's beams must give the woven length. */
  const char *loom = jstr(state, "loom");
  char loom_id[FOFAL_UUID_LEN + 1];
  const json_t *ls = lookup_ref(cmd, "loom", loom, loom_id);
  if (!ls) return REJECT(out, "unknown_loom", "loom %s is not registered", loom);
  const json_t *article = lookup_ref(cmd, "article", jstr(state, "article"), NULL);
  double woven_m = jnum(cmd->data, "length_m", -1);
  if (woven_m < 0 && article && jnum(article, "length_cm", 0) > 0) woven_m = (double)q * jnum(article, "length_cm", 0) / 100.0;
  if (woven_m <= 0)
    return REJECT(out, "length_required", "give length_m: article %s does not say a piece's length", jstr(state, "article"));
  char label[FOFAL_UUID_LEN + 1];
  fofal_uuid_named(cmd->aggregate, cmd->id, label);
  json_t *consumed = json_array();
  if (!json_object_get(json_object_get(ls, "beams"), "ground")) {
    json_decref(consumed);
    return REJECT(out, "no_beam_mounted", "loom %s carries no ground beam", loom);
  }
  if (consume_beam(cmd, ls, "ground", woven_m, label, out, consumed) ||
      consume_beam(cmd, ls, "pile", woven_m, label, out, consumed)) {
    json_decref(consumed);
    return FOFAL_EREJECTED;
  }
  char at_s[32];
  fofal_time_format(at, at_s);
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "declared", json_integer(declared + q));
  json_object_set_new(out->state, "length_m", json_real(jnum(state, "length_m", 0) + woven_m));
  json_t *ev = base_event(cmd);
  json_object_set_new(ev, "label_id", json_string(label));
  json_object_set_new(ev, "quantity", json_integer(q));
  json_object_set_new(ev, "length_m", json_real(woven_m));
  json_object_set_new(ev, "weaver", json_string(badge));
  if (delegated) json_object_set_new(ev, "delegated_by", fofal_actor_delegation(cmd));
  json_object_set_new(ev, "loom", json_string(loom));
  json_object_set_new(ev, "shift", json_string(shift));
  json_object_set_new(ev, "woven_at", json_string(at_s));
  if (article) jcopy(ev, state, "article");
  json_object_set_new(ev, "declared_total", json_integer(declared + q));
  json_t *beams = json_array();
  json_array_foreach(consumed, i, a) json_array_append_new(beams, json_pack("{s:O,s:O}", "beam", json_object_get(a, "beam"),
                                                                            "meters", json_object_get(a, "meters")));
  json_object_set_new(ev, "beams", beams);
  fofal_decision_emit(out, "fofal.production.output_declared.v1", ev);
  json_array_foreach(consumed, i, a) {
    json_t *bev = json_pack("{s:O,s:s,s:s,s:s,s:O,s:O}", "beam", json_object_get(a, "beam"), "loom", loom, "order_id",
                            cmd->aggregate, "label_id", label, "meters", json_object_get(a, "meters"), "meters_left",
                            json_object_get(a, "meters_left"));
    fofal_decision_emit_to(out, jstr(a, "id"), "fofal.production.beam_consumed.v1", bev, json_incref(json_object_get(a, "state")));
  }
  json_decref(consumed);
  /* The label of the roll or piece: its own aggregate, for scans, reprints and moves. */
  json_t *lst = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:f,s:s,s:s,s:i}", "label_id", label, "order_id", cmd->aggregate, "loom",
                          loom, "weaver", badge, "shift", shift, "quantity", q, "length_m", woven_m, "woven_at", at_s,
                          "location", "loom", "prints", 1);
  jcopy(lst, state, "article");
  fofal_decision_emit_to(out, label, "fofal.production.label_issued.v1", json_deep_copy(lst), lst);
  return 0;
}

static int complete(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (strcmp(status(state), "started") && strcmp(status(state), "paused")) {
    fofal_decision_reject(out, "invalid_transition", "an order can be completed only when started (it is %s)", status(state));
    return FOFAL_EREJECTED;
  }
  out->state = with_status(state, "completed");
  json_t *ev = base_event(cmd);
  json_object_set(ev, "declared_total", json_object_get(state, "declared"));
  if (json_is_string(json_object_get(state, "loom"))) json_object_set(ev, "loom", json_object_get(state, "loom"));
  fofal_decision_emit(out, "fofal.production.order_completed.v1", ev);
  return 0;
}

static int close_order(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (strcmp(status(state), "completed"))
    return REJECT(out, "invalid_transition", "an order is closed once completed (it is %s)", status(state));
  out->state = with_status(state, "closed");
  json_t *ev = base_event(cmd);
  jcopy(ev, state, "loom");
  jcopy(ev, cmd->data, "note");
  fofal_decision_emit(out, "fofal.production.order_closed.v1", ev);
  return 0;
}

static int cancel(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const char *st = status(state);
  if (!strcmp(st, "completed") || !strcmp(st, "cancelled") || !strcmp(st, "closed")) {
    fofal_decision_reject(out, "invalid_transition", "a %s order cannot be cancelled", st);
    return FOFAL_EREJECTED;
  }
  out->state = with_status(state, "cancelled");
  json_t *ev = base_event(cmd);
  json_object_set(ev, "reason", json_object_get(cmd->data, "reason"));
  if (json_is_string(json_object_get(state, "loom"))) json_object_set(ev, "loom", json_object_get(state, "loom"));
  fofal_decision_emit(out, "fofal.production.order_cancelled.v1", ev);
  return 0;
}

const fofal_command_def_t fofal_production_commands[] = {
    {"production.order.create", "order_id", 1, "Create a production order (OF) for an article.", create, NULL},
    {"production.order.release", "order_id", 0, "Release a created order to the shop floor.", release, NULL},
    {"production.order.plan", "order_id", 0, "Plan an order on a loom.", plan, NULL},
    {"production.order.start", "order_id", 0, "Start a released order on a ready loom (first piece checked, beams on).", start, NULL},
    {"production.order.pause", "order_id", 0, "Pause a started order.", pause_order, NULL},
    {"production.order.resume", "order_id", 0, "Resume a paused order.", resume_order, NULL},
    {"production.order.declare_output", "order_id", 0,
     "Declare a woven roll or pieces on a started order: consumes the loom's beams, issues a label.", declare_output, NULL},
    {"production.order.complete", "order_id", 0, "Complete a started or paused order.", complete, NULL},
    {"production.order.close", "order_id", 0, "Close a completed order (nothing more is declared on it).", close_order, NULL},
    {"production.order.cancel", "order_id", 0, "Cancel an order that is not completed.", cancel, NULL},
};
const int fofal_production_commands_n = sizeof fofal_production_commands / sizeof fofal_production_commands[0];
