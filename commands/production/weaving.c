/*
 * weaving.c — the weaving floor's aggregates around the production order: looms and warp
 * beams (employees, their shifts and the shift model are the hr module's; the labels of
 * woven rolls and pieces the inventory module's; interventions the maintenance module's).
 *
 * Consistency. A loom and the beams mounted on it change together (mount, doff), and a
 * declaration on an order consumes its loom's beams: these decisions read and write
 * several aggregates of one tenant at once (fofal_cmd_lookup, fofal_decision_emit_to),
 * which the stream processor makes atomic because a tenant's aggregates share a
 * partition. Each aggregate still gets its own event for each change, so its history
 * reads whole.
 *
 * Other modules' aggregates. A loom's set-up reads its article (module catalog, see
 * commands/catalog/catalog.c for how a decision reads another module's aggregate and what
 * it costs) and copies its density into loom_set_up, so that the production projection
 * never reads the catalog's tables. A declaration reads the weaver's hr records (module
 * hr: commands/hr/hr.c says how production reads hr's aggregates and what it costs).
 *
 * Codes, not UUIDs, name what people see on plates and badges: looms ("L03"), beams
 * ("B-0042"), articles ("FT-100x200", catalog's), employees (badge "W012", hr's), shift models ("default", hr's).
 *
 * Lifecycles:
 *   beam:   warped → sized → ready (drawn in or knotted) → mounted → doffed | empty
 *   loom:   first piece: not_required → due (after a beam change or a set-up) → passed | failed
 *
 * People are who signed in (actors.c): an inspector checks as themself; a planner, manager
 * or admin may record it for someone, and the event says so ("delegated_by").
 *
 * Pure functions: the time a decision uses is the command's issued_us.
 */
#include "decide.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define EV(name) "fofal.production." name ".v1"
#define DEFAULT_TAKE_UP_PCT 8.0  /* warp take-up when a beam does not say */

/* ----------------------------------------------------------------- looms */

static int loom_register(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const json_t *d = cmd->data;
  json_t *ev = json_pack("{s:s}", "loom", jstr(d, "loom"));
  jcopy(ev, d, "hall");
  jcopy(ev, d, "type");
  jcopy(ev, d, "width_cm");
  jcopy(ev, d, "nominal_ppm");
  json_object_set_new(ev, "weave", json_string(*jstr(d, "weave") ? jstr(d, "weave") : "flat"));
  out->state = json_deep_copy(ev);
  json_object_set_new(out->state, "beams", json_object());
  json_object_set_new(out->state, "first_piece", json_string("not_required"));
  fofal_decision_emit(out, EV("loom_registered"), ev);
  return 0;
}

static int loom_set_up(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const char *article = jstr(cmd->data, "article");
  /* The article is the catalog module's aggregate: read across modules (the file header). */
  const json_t *a = lookup_ref(cmd, "article", article, NULL);
  if (!a) return REJECT(out, "unknown_article", "article %s is not defined", article);
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "article", json_string(article));
  json_object_set_new(out->state, "first_piece", json_string("due"));
  json_t *ev = json_pack("{s:s,s:s}", "loom", jstr(state, "loom"), "article", article);
  if (jnum(a, "picks_per_cm", 0) > 0) jcopy(ev, a, "picks_per_cm");
  fofal_decision_emit(out, EV("loom_set_up"), ev);
  return 0;
}

static int loom_mount_beam(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const char *code = jstr(cmd->data, "beam"), *pos = jstr(cmd->data, "position");
  if (!*pos) pos = "ground";
  char beam_id[FOFAL_UUID_LEN + 1];
  const json_t *beam = lookup_ref(cmd, "beam", code, beam_id);
  if (!beam) return REJECT(out, "unknown_beam", "beam %s does not exist", code);
  if (!strcmp(pos, "pile") && !jeq(state, "weave", "terry"))
    return REJECT(out, "no_pile_beam_on_flat_loom", "loom %s weaves flat: it has no pile beam", jstr(state, "loom"));
  if (!jeq(beam, "kind", pos))
    return REJECT(out, "beam_kind_mismatch", "beam %s is a %s beam, not a %s beam", code, jstr(beam, "kind"), pos);
  const json_t *cur = json_object_get(json_object_get(state, "beams"), pos);
  if (cur)
    return REJECT(out, "position_taken", "loom %s already carries beam %s as %s beam; doff it first", jstr(state, "loom"),
                  jstr(cur, "beam"), pos);
  if (!jeq(beam, "status", "ready"))
    return REJECT(out, "beam_not_ready", "beam %s is %s: it is mounted once drawn in or knotted", code, jstr(beam, "status"));
  out->state = json_deep_copy(state);
  json_object_set_new(json_object_get(out->state, "beams"), pos, json_pack("{s:s,s:s}", "beam", code, "id", beam_id));
  json_object_set_new(out->state, "first_piece", json_string("due"));
  fofal_decision_emit(out, EV("loom_beam_mounted"),
                      json_pack("{s:s,s:s,s:s,s:O}", "loom", jstr(state, "loom"), "beam", code, "position", pos,
                                "meters_left", json_object_get(beam, "meters_left")));
  json_t *bs = json_deep_copy(beam);
  json_object_set_new(bs, "status", json_string("mounted"));
  json_object_set_new(bs, "loom", json_string(jstr(state, "loom")));
  fofal_decision_emit_to(out, beam_id, EV("beam_mounted"),
                         json_pack("{s:s,s:s,s:s}", "beam", code, "loom", jstr(state, "loom"), "position", pos), bs);
  return 0;
}

static int loom_doff_beam(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const char *pos = *jstr(cmd->data, "position") ? jstr(cmd->data, "position") : "ground";
  const json_t *cur = json_object_get(json_object_get(state, "beams"), pos);
  if (!cur) return REJECT(out, "no_beam_mounted", "loom %s carries no %s beam", jstr(state, "loom"), pos);
  const json_t *beam = fofal_cmd_lookup(cmd, jstr(cur, "id"));
  if (!beam) return REJECT(out, "unknown_beam", "beam %s does not exist", jstr(cur, "beam"));
  double left = jnum(beam, "meters_left", 0);
  const char *end = left < 1.0 ? "empty" : "doffed";
  out->state = json_deep_copy(state);
  json_object_del(json_object_get(out->state, "beams"), pos);
  fofal_decision_emit(out, EV("loom_beam_doffed"),
                      json_pack("{s:s,s:s,s:s}", "loom", jstr(state, "loom"), "beam", jstr(cur, "beam"), "position", pos));
  json_t *bs = json_deep_copy(beam);
  json_object_set_new(bs, "status", json_string(end));
  json_object_del(bs, "loom");
  json_t *ev = json_pack("{s:s,s:s,s:s,s:f}", "beam", jstr(cur, "beam"), "loom", jstr(state, "loom"), "status", end,
                         "meters_left", left);
  jcopy(ev, cmd->data, "reason");
  fofal_decision_emit_to(out, jstr(cur, "id"), EV("beam_doffed"), ev, bs);
  return 0;
}

static int loom_check_first_piece(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const char *fp = jstr(state, "first_piece"), *result = jstr(cmd->data, "result");
  if (strcmp(fp, "due") && strcmp(fp, "failed"))
    return REJECT(out, "first_piece_not_due", "no first-piece check is due on loom %s (it is %s)", jstr(state, "loom"), fp);
  const char *inspector;
  int delegated;
  if (fofal_actor_person(cmd, "inspector", jstr(cmd->data, "inspector"), 0, &inspector, &delegated, out))
    return FOFAL_EREJECTED;
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "first_piece", json_string(!strcmp(result, "pass") ? "passed" : "failed"));
  json_t *ev = json_pack("{s:s,s:s,s:s}", "loom", jstr(state, "loom"), "result", result, "checked_by", cmd->actor ? cmd->actor : "");
  jcopy(ev, cmd->data, "notes");
  if (inspector) json_object_set_new(ev, "inspector", json_string(inspector));
  if (delegated) json_object_set_new(ev, "delegated_by", fofal_actor_delegation(cmd));
  if (json_object_get(state, "article")) jcopy(ev, state, "article");
  fofal_decision_emit(out, EV("first_piece_checked"), ev);
  return 0;
}

/* ----------------------------------------------------------------- beams */

static int beam_warp(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const json_t *d = cmd->data;
  json_t *ev = json_pack("{s:s,s:s}", "beam", jstr(d, "beam"), "kind", *jstr(d, "kind") ? jstr(d, "kind") : "ground");
  jcopy(ev, d, "yarn_lots");
  jcopy(ev, d, "ends");
  jcopy(ev, d, "length_m");
  jcopy(ev, d, "article");
  json_object_set_new(ev, "take_up_pct", json_real(jnum(d, "take_up_pct", DEFAULT_TAKE_UP_PCT)));
  out->state = json_deep_copy(ev);
  json_object_set_new(out->state, "status", json_string("warped"));
  json_object_set_new(out->state, "meters_left", json_real(jnum(d, "length_m", 0)));
  fofal_decision_emit(out, EV("beam_warped"), ev);
  return 0;
}

static int beam_size(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (!jeq(state, "status", "warped"))
    return REJECT(out, "invalid_transition", "a beam is sized once warped (beam %s is %s)", jstr(state, "beam"), jstr(state, "status"));
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "status", json_string("sized"));
  json_t *ev = json_pack("{s:s}", "beam", jstr(state, "beam"));
  jcopy(ev, cmd->data, "recipe");
  fofal_decision_emit(out, EV("beam_sized"), ev);
  return 0;
}

static int beam_draw_in(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (!jeq(state, "status", "sized"))
    return REJECT(out, "invalid_transition", "a beam is drawn in or knotted once sized (beam %s is %s)", jstr(state, "beam"),
                  jstr(state, "status"));
  const char *method = *jstr(cmd->data, "method") ? jstr(cmd->data, "method") : "drawn_in";
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "status", json_string("ready"));
  json_object_set_new(out->state, "method", json_string(method));
  fofal_decision_emit(out, EV("beam_drawn_in"), json_pack("{s:s,s:s}", "beam", jstr(state, "beam"), "method", method));
  return 0;
}

const fofal_command_def_t fofal_weaving_commands[] = {
    {"production.loom.register", "loom", 1, "Register a loom: hall, type, width, nominal speed, terry or flat.", loom_register,
     "loom"},
    {"production.loom.set_up", "loom", 0, "Set a loom up for an article; a first-piece check becomes due.", loom_set_up, "loom"},
    {"production.loom.mount_beam", "loom", 0, "Mount a ready warp beam on a loom (ground, or pile on terry looms).",
     loom_mount_beam, "loom"},
    {"production.loom.doff_beam", "loom", 0, "Take a warp beam off a loom (doffed, or empty).", loom_doff_beam, "loom"},
    {"production.loom.check_first_piece", "loom", 0, "Record the first-piece check of a loom (pass or fail).",
     loom_check_first_piece, "loom"},
    {"production.beam.warp", "beam", 1, "Record a warped beam: kind, yarn lots, ends, length.", beam_warp, "beam"},
    {"production.beam.size", "beam", 0, "Record that a warped beam was sized.", beam_size, "beam"},
    {"production.beam.draw_in", "beam", 0, "Record that a sized beam was drawn in or knotted: it is ready to mount.",
     beam_draw_in, "beam"},
};
const int fofal_weaving_commands_n = sizeof fofal_weaving_commands / sizeof fofal_weaving_commands[0];
