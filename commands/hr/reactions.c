/*
 * reactions.c — how the hr module reacts to other modules' events (commands.h,
 * "reactions"). Pure functions: fofal-reactor runs them exactly once per trigger and keys,
 * ids and sends their commands; the emitting module knows nothing of them.
 *
 *   hr.pay_on_declaration
 *       fofal.production.output_declared → hr.employee.accrue_pay: every woven roll or
 *       batch of pieces accrues piece-rate pay to the weaver the declaration names (the
 *       signed-in weaver, from the token; see pay.c). A declaration without a weaver or
 *       label id fails here (stage "transform" of fofal.reactions.dlq); one without an
 *       article, shift or quantity has nothing to be paid by: no command. An article that
 *       never had a piece rate is not paid by piece (not_paid_by_piece: no record in the
 *       DLQ, the mill pays it otherwise); one the decider refuses for a rate not yet in
 *       force that day (no_rate) lands in the DLQ (stage "rejected") with its trigger, for
 *       an admin to resend once the rate is set.
 *
 *   hr.cutter_pay_on_cut
 *       fofal.quality.roll_cut → hr.employee.accrue_cut_pay (role cutter) to the cut's
 *       cutter: the badge quality's decider took from the cut's token (the signed-in
 *       cutter, or whom a supervisor named, recorded as delegated_by), never a badge of
 *       this reaction's choosing. Pieces by grade × the cutter's rate (pay.c). A cut that
 *       names no cutter (an admin without a badge) or gives no graded lot pays nobody:
 *       no command. An article without a cutter's rate is not paid by piece at the cut
 *       (not_paid_by_piece), a cut of only waste nothing_to_pay: no DLQ record.
 *   hr.weaver_grade_pay_on_cut
 *       the same event → hr.employee.accrue_cut_pay (role weaver) to the roll's weaver:
 *       the grade premium on top of the base paid at the declaration (pay.c). A tenant or
 *       article without weaver rates by grade: no_grade_pay, no DLQ record.
 *
 * The build registers the folder's reactions (fofal_module_hr_reactions) through
 * fofal_reaction_modules[].
 */
#include "commands.h"
#include "decide.h"

#include <stdio.h>

/* What the accrual takes from the declaration: the same names on both sides. */
static const char *const from_declaration[] = {"label_id", "order_id", "article", "shift", "quantity", "length_m",
                                               "weight_g", "woven_at", NULL};

static int pay_on_declaration(const fofal_event_t *ev, fofal_reaction_out_t *out) {
  const char *label = jstr(ev->data, "label_id"), *weaver = jstr(ev->data, "weaver");
  if (!fofal_uuid_valid(label) || !fofal_code_valid(weaver))
    return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the declaration carries no valid label id or weaver");
  if (!fofal_code_valid(jstr(ev->data, "article")) || strlen(jstr(ev->data, "shift")) < 12 ||
      jint(ev->data, "quantity", 0) < 1)
    return FOFAL_REACT_NOTHING; /* no article, shift or quantity: nothing to pay it by */
  json_t *data = json_pack("{s:s}", "badge", weaver);
  for (int i = 0; from_declaration[i]; i++) jcopy(data, ev->data, from_declaration[i]);
  snprintf(out->type, sizeof out->type, "hr.employee.accrue_pay");
  out->data = data;
  return FOFAL_REACT_COMMAND;
}

/* The accrual of a cut to `person` as `role`; nothing when the cut names nobody or gives
 * no graded lot, or lacks what a pay line needs (a roll made before declarations carried
 * them). */
static int cut_pay(const fofal_event_t *ev, fofal_reaction_out_t *out, const char *role, const char *person) {
  const json_t *d = ev->data;
  if (!fofal_code_valid(person) || json_array_size(json_object_get(d, "lots")) == 0) return FOFAL_REACT_NOTHING;
  if (!fofal_uuid_valid(jstr(d, "roll")) || !fofal_uuid_valid(jstr(d, "order_id")) ||
      !fofal_code_valid(jstr(d, "article")) || strlen(jstr(d, "shift")) < 12 || strlen(jstr(d, "cut_at")) < 10)
    return FOFAL_REACT_NOTHING;
  json_t *data = json_pack("{s:s,s:s}", "badge", person, "role", role);
  static const char *const from_cut[] = {"roll", "order_id", "article", "shift", "cut_at", "lots", NULL};
  for (int i = 0; from_cut[i]; i++) jcopy(data, d, from_cut[i]);
  snprintf(out->type, sizeof out->type, "hr.employee.accrue_cut_pay");
  out->data = data;
  return FOFAL_REACT_COMMAND;
}

static int cutter_pay_on_cut(const fofal_event_t *ev, fofal_reaction_out_t *out) {
  return cut_pay(ev, out, "cutter", jstr(ev->data, "cutter"));
}

static int weaver_grade_pay_on_cut(const fofal_event_t *ev, fofal_reaction_out_t *out) {
  return cut_pay(ev, out, "weaver", jstr(ev->data, "weaver"));
}

static const char *const on_cut[] = {"fofal.quality.roll_cut.v1", NULL};
static const char *const cutter_not_applicable[] = {"not_paid_by_piece", "nothing_to_pay", NULL};
static const char *const weaver_not_applicable[] = {"no_grade_pay", NULL};

static const char *const on_declaration[] = {"fofal.production.output_declared.v1", NULL};

static const char *const not_paid_by_piece[] = {"not_paid_by_piece", NULL};

static const fofal_reaction_t reactions[] = {
    {"hr.pay_on_declaration", on_declaration, pay_on_declaration,
     "a declared roll or pieces (production) accrue piece-rate pay to the weaver who declared them", not_paid_by_piece},
    {"hr.cutter_pay_on_cut", on_cut, cutter_pay_on_cut,
     "a cut roll (quality) accrues pay by grade to the cutter who cut it", cutter_not_applicable},
    {"hr.weaver_grade_pay_on_cut", on_cut, weaver_grade_pay_on_cut,
     "a cut roll (quality) accrues the weaver's premium by grade, when the article has weaver rates by grade",
     weaver_not_applicable},
    {NULL, NULL, NULL, NULL, NULL},
};

const fofal_reaction_module_t fofal_module_hr_reactions = {.module = "hr", .reactions = reactions};
