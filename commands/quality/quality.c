/*
 * quality.c — the quality module's deciders for cutting, inspection and lots, and its
 * registration in the command layer (the non-conformities are in nc.c).
 *
 *   quality.roll.cut            a cutter cuts a roll in stock into 1st-choice, 2nd-choice
 *                               and waste pieces, with the causes of what was downgraded;
 *                               each graded lot of pieces gets a label id of its own
 *   quality.threshold.set       an article's acceptance threshold (points per 100 m²)
 *   quality.inspection.record   a 4-point inspection of a lot: its points, its score per
 *                               100 m² and the grade they give against the threshold
 *   quality.lot.approve         a lot approved, or approved with a derogation (why, signed)
 *   quality.lot.reject          a lot rejected: it goes to quarantine
 *
 * Aggregates. A cut is named by its roll (ns "cut", the roll's label id as code), so a
 * roll is cut once: a second cut is 409 already_exists. A threshold by its article (ns
 * "threshold"), a lot by its code (ns "lot": a roll's or piece lot's label id, a yarn
 * lot's code), an inspection by its UUID. Events go to fofal.quality.events.
 *
 * Rules (each has a unit test in tests/unit/quality/):
 *   cut:        the roll is a unit in stock (unknown_roll); not in quarantine
 *               (lot_quarantined: a rejected lot is neither cut, packed nor shipped); it
 *               makes something (empty_cut); never more pieces than the roll was
 *               declared with (exceeds_roll); what was downgraded has its causes
 *               (defects_required) and they count exactly the 2nd-choice and waste pieces
 *               (defects_mismatch)
 *   threshold:  for a defined article (unknown_article); a no-op is no_change
 *   inspection: a roll is a unit in stock, a piece lot a label id (unknown_lot); the
 *               article known (unknown_article); every defect within the inspected length
 *               (defect_outside); points by size (quality.h), at most 4 per linear metre;
 *               grade first when the score is at most the threshold, else second
 *   lots:       a roll lot is a unit in stock (unknown_lot); its kind never changes
 *               (lot_kind_mismatch); the same decision twice is no_change; a rejected
 *               lot is released only with a derogation (derogation_required)
 *
 * Who may approve: the schema of quality.lot.approve names manager and admin only, the
 * roles whose sign-in always passes TOTP (api/identity_admin.c fofal_api_role_needs_mfa):
 * an approval thus needs an MFA-level sign-in, and the event keeps who signed (the
 * envelope's actor and badge, never a name from the body). Rejecting (the safe way) is
 * open to inspectors (quality) too.
 *
 * People: the cutter and the inspector are who signed in (actors.c): a cutter or an
 * inspector acts as themself; a planner, manager or admin may record it for them, and the
 * event says so (delegated_by).
 *
 * Other modules' aggregates, read never written: the roll (inventory's unit, at its label
 * id), the article (catalog's). That works because the decider holds every aggregate of a
 * tenant whatever its module (commands/catalog/catalog.c says why and what it costs); the
 * reads couple these rules to the unit's "quantity", "order_id", "article", "loom",
 * "weaver", "shift" and to an article existing. The roll leaving stock and its piece lots
 * entering it are inventory's to decide, by a reaction of its own to roll_cut (the stores
 * issue): this module knows nothing of it.
 *
 * The build lists fofal_module_quality_commands in fofal_command_modules[]. Pure
 * functions: the time a decision uses is the command's issued_us.
 */
#include "decide.h"
#include "nc.h"
#include "quality.h"

#include <stdlib.h>

#define EV(name) "fofal.quality." name ".v1"

/* ------------------------------------------------------------ 4-point arithmetic */

int fofal_quality_defect_points(int64_t size_mm, int hole) {
  if (hole) return 4;
  int64_t tenths = size_mm * 10; /* 3 in = 76.2 mm */
  if (tenths <= 762) return 1;
  if (tenths <= 1524) return 2;
  if (tenths <= 2286) return 3;
  return 4;
}

int64_t fofal_quality_score_x100(int64_t points, int64_t width_mm, int64_t length_mm) {
  if (width_mm <= 0 || length_mm <= 0 || points <= 0) return 0;
  int64_t area = width_mm * length_mm; /* mm²; 100 m² = 10^8 mm², × 100 for the hundredths */
  return (points * 20000000000LL + area) / (2 * area);
}

/* ------------------------------------------------------------ helpers */

/* The signed-in actor as {"actor", "badge"?}: who signed a lot's decision (new). */
static json_t *signer(const fofal_cmd_t *cmd) { return fofal_actor_delegation(cmd); }

/* The state of the roll in stock labelled `label` (inventory's unit: its label id and the
 * pieces it was declared with), or NULL for anything else, whatever aggregate has the id. */
static const json_t *roll_unit(const fofal_cmd_t *cmd, const char *label) {
  const json_t *unit = fofal_uuid_valid(label) ? fofal_cmd_lookup(cmd, label) : NULL;
  return jeq(unit, "label_id", label) && json_is_integer(json_object_get(unit, "quantity")) ? unit : NULL;
}

/* 1 when `lot` of `kind` is something this tenant has: a roll a unit in stock, a piece lot
 * a label id (its unit is inventory's to receive); a yarn lot any code. */
static int lot_known(const fofal_cmd_t *cmd, const char *kind, const char *lot) {
  if (!strcmp(kind, "roll")) return roll_unit(cmd, lot) != NULL;
  if (!strcmp(kind, "pieces")) return fofal_uuid_valid(lot);
  return fofal_code_valid(lot);
}

/* ------------------------------------------------------------ cut */

static int roll_cut(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const char *roll = jstr(cmd->data, "roll"), *cutter;
  const json_t *unit = roll_unit(cmd, roll);
  if (!unit)
    return REJECT(out, "unknown_roll", "no roll in stock has label %s", roll);
  const json_t *lot = lookup_ref(cmd, "lot", roll, NULL);
  if (jeq(lot, "status", "rejected"))
    return REJECT(out, "lot_quarantined", "roll %s was rejected and is in quarantine: release it first (quality.lot.approve "
                                          "with a derogation)", roll);
  json_int_t first = jint(cmd->data, "first_choice", 0), second = jint(cmd->data, "second_choice", 0),
             waste = jint(cmd->data, "waste_pieces", 0), woven = jint(unit, "quantity", 0);
  if (first + second + waste == 0 && jint(cmd->data, "waste_mm", 0) == 0 && jint(cmd->data, "waste_g", 0) == 0)
    return REJECT(out, "empty_cut", "a cut gives pieces or waste");
  if (first + second + waste > woven)
    return REJECT(out, "exceeds_roll", "%lld pieces from a roll declared with %lld", (long long)(first + second + waste),
                  (long long)woven);
  const json_t *defects = json_object_get(cmd->data, "defects");
  json_int_t counted = 0;
  size_t i;
  const json_t *d;
  json_array_foreach(defects, i, d) counted += jint(d, "pieces", 0);
  if (second + waste > 0 && json_array_size(defects) == 0)
    return REJECT(out, "defects_required", "say why %lld pieces were downgraded (defects: cause and pieces)",
                  (long long)(second + waste));
  if (counted != second + waste)
    return REJECT(out, "defects_mismatch", "the defects count %lld pieces, the 2nd choice and waste %lld", (long long)counted,
                  (long long)(second + waste));
  int delegated;
  if (fofal_actor_person(cmd, "cutter", jstr(cmd->data, "cutter"), 0, &cutter, &delegated, out)) return FOFAL_EREJECTED;

  char at[32], lot1[FOFAL_UUID_LEN + 1], lot2[FOFAL_UUID_LEN + 1];
  fofal_time_format(cmd->issued_us, at);
  json_t *ev = json_pack("{s:s,s:I,s:I,s:I,s:s}", "roll", roll, "first_choice", first, "second_choice", second,
                         "waste_pieces", waste, "cut_at", at);
  static const char *const from_cmd[] = {"waste_mm", "waste_g", "defects", "note", NULL};
  static const char *const from_roll[] = {"order_id", "article", "loom", "weaver", "shift", NULL};
  for (int k = 0; from_cmd[k]; k++) jcopy(ev, cmd->data, from_cmd[k]);
  for (int k = 0; from_roll[k]; k++) jcopy(ev, unit, from_roll[k]);
  if (cutter) json_object_set_new(ev, "cutter", json_string(cutter));
  if (delegated) json_object_set_new(ev, "delegated_by", fofal_actor_delegation(cmd));
  /* Each graded lot's follow-up label: an id derived from the cut, so deciding again
   * gives the same one and the label links back to the roll. */
  json_t *lots = json_array();
  fofal_uuid_named(cmd->aggregate, "lot/first", lot1);
  fofal_uuid_named(cmd->aggregate, "lot/second", lot2);
  if (first > 0) json_array_append_new(lots, json_pack("{s:s,s:s,s:I}", "label_id", lot1, "grade", "first", "pieces", first));
  if (second > 0)
    json_array_append_new(lots, json_pack("{s:s,s:s,s:I}", "label_id", lot2, "grade", "second", "pieces", second));
  json_object_set_new(ev, "lots", lots);
  out->state = json_pack("{s:s,s:I,s:I,s:I,s:o}", "roll", roll, "first_choice", first, "second_choice", second,
                         "waste_pieces", waste, "lots", json_deep_copy(lots));
  fofal_decision_emit(out, EV("roll_cut"), ev);
  if (first > 0) fofal_decision_issue(out, "first_lot_id", lot1);
  if (second > 0) fofal_decision_issue(out, "second_lot_id", lot2);
  return 0;
}

/* ------------------------------------------------------------ threshold */

static int threshold_set(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const char *article = jstr(cmd->data, "article");
  json_int_t max = jint(cmd->data, "max_points_per_100m2", 0);
  if (!lookup_ref(cmd, "article", article, NULL))
    return REJECT(out, "unknown_article", "article %s is not in the catalog", article);
  if (state && jint(state, "max_points_per_100m2", 0) == max)
    return REJECT(out, "no_change", "the threshold of %s is %lld already", article, (long long)max);
  json_t *ev = json_pack("{s:s,s:I}", "article", article, "max_points_per_100m2", max);
  if (state) json_object_set_new(ev, "previous", json_integer(jint(state, "max_points_per_100m2", 0)));
  out->state = json_pack("{s:s,s:I}", "article", article, "max_points_per_100m2", max);
  fofal_decision_emit(out, EV("threshold_set"), ev);
  return 0;
}

/* ------------------------------------------------------------ inspection */

typedef struct {
  int64_t metre;
  int points;
} metre_points_t;

static int by_metre(const void *a, const void *b) {
  const metre_points_t *x = a, *y = b;
  return x->metre < y->metre ? -1 : x->metre > y->metre;
}

/* The inspection's points: each defect's, at most FOFAL_QUALITY_MAX_POINTS_PER_M per
 * linear metre (metre n holds the defects at n m ≤ at < n+1 m). `scored` gets each defect
 * with its points. */
static int64_t count_points(const json_t *defects, json_t *scored) {
  size_t n = json_array_size(defects), i;
  if (!n) return 0;
  metre_points_t *mp = fofal_calloc(n, sizeof *mp);
  const json_t *d;
  json_array_foreach(defects, i, d) {
    mp[i].metre = jint(d, "at_mm", 0) / 1000;
    mp[i].points = fofal_quality_defect_points(jint(d, "size_mm", 1), json_is_true(json_object_get(d, "hole")));
    json_t *c = json_deep_copy(d);
    json_object_set_new(c, "points", json_integer(mp[i].points));
    json_array_append_new(scored, c);
  }
  qsort(mp, n, sizeof *mp, by_metre);
  int64_t total = 0, in_metre = 0;
  for (i = 0; i < n; i++) {
    if (i == 0 || mp[i].metre != mp[i - 1].metre) {
      total += in_metre < FOFAL_QUALITY_MAX_POINTS_PER_M ? in_metre : FOFAL_QUALITY_MAX_POINTS_PER_M;
      in_metre = 0;
    }
    in_metre += mp[i].points;
  }
  total += in_metre < FOFAL_QUALITY_MAX_POINTS_PER_M ? in_metre : FOFAL_QUALITY_MAX_POINTS_PER_M;
  free(mp);
  return total;
}

static int inspection_record(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const char *lot = jstr(cmd->data, "lot"), *kind = jstr(cmd->data, "lot_kind"), *inspector;
  if (!lot_known(cmd, kind, lot)) return REJECT(out, "unknown_lot", "no %s lot %s in this tenant", kind, lot);
  const char *article = jstr(cmd->data, "article");
  if (!*article && !strcmp(kind, "roll")) article = jstr(roll_unit(cmd, lot), "article");
  if (*article && !lookup_ref(cmd, "article", article, NULL))
    return REJECT(out, "unknown_article", "article %s is not in the catalog", article);
  json_int_t length = jint(cmd->data, "length_mm", 0), width = jint(cmd->data, "width_mm", 0);
  const json_t *defects = json_object_get(cmd->data, "defects");
  size_t i;
  const json_t *d;
  json_array_foreach(defects, i, d) {
    if (jint(d, "at_mm", 0) >= length)
      return REJECT(out, "defect_outside", "defect %zu is at %lld mm, beyond the %lld mm inspected", i,
                    (long long)jint(d, "at_mm", 0), (long long)length);
  }
  int delegated;
  if (fofal_actor_person(cmd, "inspector", jstr(cmd->data, "inspector"), 0, &inspector, &delegated, out))
    return FOFAL_EREJECTED;
  json_t *scored = json_array();
  int64_t points = count_points(defects, scored);
  int64_t score = fofal_quality_score_x100(points, width, length);
  const json_t *th = *article ? lookup_ref(cmd, "threshold", article, NULL) : NULL;
  json_int_t max = jint(th, "max_points_per_100m2", FOFAL_QUALITY_DEFAULT_THRESHOLD);
  const char *grade = score <= max * 100 ? "first" : "second";
  char at[32];
  fofal_time_format(cmd->issued_us, at);
  json_t *ev = json_pack("{s:s,s:s,s:s,s:I,s:I,s:o,s:I,s:I,s:I,s:s,s:s}", "inspection_id", cmd->aggregate, "lot", lot,
                         "lot_kind", kind, "length_mm", length, "width_mm", width, "defects", scored, "points",
                         (json_int_t)points, "score_x100", (json_int_t)score, "max_points_per_100m2", max, "grade", grade,
                         "inspected_at", at);
  if (*article) json_object_set_new(ev, "article", json_string(article));
  jcopy(ev, cmd->data, "note");
  if (inspector) json_object_set_new(ev, "inspector", json_string(inspector));
  if (delegated) json_object_set_new(ev, "delegated_by", fofal_actor_delegation(cmd));
  out->state = json_pack("{s:s,s:s,s:s,s:I}", "lot", lot, "lot_kind", kind, "grade", grade, "score_x100", (json_int_t)score);
  fofal_decision_emit(out, EV("inspection_recorded"), ev);
  return 0;
}

/* ------------------------------------------------------------ lots */

/* What approve and reject check first: the lot exists and keeps its kind. */
static int lot_check(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const char *lot = jstr(cmd->data, "lot"), *kind = jstr(cmd->data, "lot_kind");
  if (state && !jeq(state, "lot_kind", kind))
    return REJECT(out, "lot_kind_mismatch", "lot %s is a %s lot, not %s", lot, jstr(state, "lot_kind"), kind);
  if (!state && !lot_known(cmd, kind, lot)) return REJECT(out, "unknown_lot", "no %s lot %s in this tenant", kind, lot);
  return 0;
}

static void lot_decided(const fofal_cmd_t *cmd, const json_t *state, const char *type, json_t *ev, const char *status,
                        fofal_decision_t *out) {
  char at[32];
  fofal_time_format(cmd->issued_us, at);
  json_object_set_new(ev, "lot", json_string(jstr(cmd->data, "lot")));
  json_object_set_new(ev, "lot_kind", json_string(jstr(cmd->data, "lot_kind")));
  json_object_set_new(ev, "signed_by", signer(cmd));
  json_object_set_new(ev, "decided_at", json_string(at));
  if (state) json_object_set_new(ev, "previous", json_string(jstr(state, "status")));
  out->state = json_pack("{s:s,s:s,s:s}", "lot", jstr(cmd->data, "lot"), "lot_kind", jstr(cmd->data, "lot_kind"), "status",
                         status);
  fofal_decision_emit(out, type, ev);
}

static int lot_approve(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (lot_check(cmd, state, out)) return FOFAL_EREJECTED;
  const char *derogation = jstr(cmd->data, "derogation");
  const char *status = *derogation ? "approved_with_derogation" : "approved";
  if (jeq(state, "status", status)) return REJECT(out, "no_change", "lot %s is %s already", jstr(cmd->data, "lot"), status);
  if (jeq(state, "status", "rejected") && !*derogation)
    return REJECT(out, "derogation_required", "lot %s was rejected: releasing it needs a derogation (why, signed)",
                  jstr(cmd->data, "lot"));
  json_t *ev = json_pack("{s:s}", "status", status);
  jcopy(ev, cmd->data, "derogation");
  jcopy(ev, cmd->data, "note");
  lot_decided(cmd, state, EV("lot_approved"), ev, status, out);
  return 0;
}

static int lot_reject(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (lot_check(cmd, state, out)) return FOFAL_EREJECTED;
  if (jeq(state, "status", "rejected")) return REJECT(out, "no_change", "lot %s is rejected already", jstr(cmd->data, "lot"));
  json_t *ev = json_pack("{s:s,s:s}", "reason", jstr(cmd->data, "reason"), "location", "quarantine");
  lot_decided(cmd, state, EV("lot_rejected"), ev, "rejected", out);
  return 0;
}

/* ------------------------------------------------------------ registration */

static const fofal_command_def_t commands[] = {
    {"quality.roll.cut", "roll", 1, "Cut a roll in stock into 1st-choice, 2nd-choice and waste pieces, with defect causes.",
     roll_cut, "cut"},
    {"quality.threshold.set", "article", FOFAL_CREATES_OR_UPDATES,
     "Set an article's acceptance threshold: points per 100 m² above which a roll is 2nd choice.", threshold_set,
     "threshold"},
    {"quality.inspection.record", "inspection_id", 1,
     "Record a 4-point inspection of a lot: defects by size, inspected length and width; the score and grade follow.",
     inspection_record, NULL},
    {"quality.lot.approve", "lot", FOFAL_CREATES_OR_UPDATES,
     "Approve a lot, or release it with a derogation (why, signed); manager or admin (MFA sign-in).", lot_approve, "lot"},
    {"quality.lot.reject", "lot", FOFAL_CREATES_OR_UPDATES, "Reject a lot: it goes to quarantine.", lot_reject, "lot"},
};
static const int ncommands = sizeof commands / sizeof commands[0];

static const fofal_command_table_t tables[] = {
    {commands, &ncommands},
    {fofal__quality_nc_commands, &fofal__quality_nc_ncommands},
    {NULL, NULL},
};

const fofal_command_module_t fofal_module_quality_commands = {.name = "quality", .tables = tables};
