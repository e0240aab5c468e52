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
 * The build registers the folder's reactions (fofal_module_hr_reactions) through
 * fofal_reaction_modules[].
 */
#include "commands.h"
#include "decide.h"

#include <stdio.h>

/* What the accrual takes from the declaration: the same names on both sides. */
static const char *const from_declaration[] = {"label_id", "order_id", "article", "shift", "quantity", "length_m",
                                               "woven_at", NULL};

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

static const char *const on_declaration[] = {"fofal.production.output_declared.v1", NULL};

static const char *const not_paid_by_piece[] = {"not_paid_by_piece", NULL};

static const fofal_reaction_t reactions[] = {
    {"hr.pay_on_declaration", on_declaration, pay_on_declaration,
     "a declared roll or pieces (production) accrue piece-rate pay to the weaver who declared them", not_paid_by_piece},
    {NULL, NULL, NULL, NULL, NULL},
};

const fofal_reaction_module_t fofal_module_hr_reactions = {.module = "hr", .reactions = reactions};
