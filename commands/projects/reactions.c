/*
 * reactions.c — how module projects books the costs other modules' events charge to a
 * project (commands.h, "reactions"). Pure functions: purchasing knows nothing of them.
 *
 *   projects.cost_on_receipt
 *       purchasing goods_received of an order issued for a project (the event names it) →
 *       projects.project.book_cost: the goods accepted at their order price (per line,
 *       quantity in thousandths × unit price / 1000, rounded half up, as purchasing totals
 *       an order), source purchase_order, reference the receipt, the order's currency (the
 *       decider refuses another than the project's: currency_mismatch), on the day of the
 *       receipt (UTC). A receipt that accepted nothing books nothing. A cost the decider
 *       refuses (an unknown or closed project) goes to fofal.reactions.dlq.
 *
 * The build registers the folder's reactions (fofal_module_projects_reactions) through
 * fofal_reaction_modules[].
 */
#include "commands.h"
#include "decide.h"

#include <stdio.h>
#include <string.h>

/* What a receipt's accepted goods cost, in minor units: the sum over its lines of
 * quantity_milli × unit_price / 1000, each rounded half up. */
static int64_t receipt_amount(const json_t *lines) {
  int64_t total = 0;
  size_t i;
  const json_t *l;
  json_array_foreach(lines, i, l) {
    int64_t q = jint(l, "quantity_milli", 0), p = jint(l, "unit_price", 0);
    if (q > 0 && p > 0) total += (q * p + 500) / 1000; /* both <= 1e9: no overflow */
  }
  return total;
}

static int cost_on_receipt(const fofal_event_t *ev, fofal_reaction_out_t *out) {
  const json_t *d = ev->data;
  const char *project = jstr(d, "project"), *receipt = jstr(d, "receipt_id");
  if (!*project) return FOFAL_REACT_NOTHING; /* an order for no project */
  if (!fofal_code_valid(project) || !*receipt || strlen(receipt) > 64)
    return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the receipt names no valid project or receipt id");
  int64_t amount = receipt_amount(json_object_get(d, "lines"));
  if (amount <= 0) return FOFAL_REACT_NOTHING; /* everything refused: nothing to book */
  char day[32], note[200];
  const char *at = jstr(d, "received_at");
  if (strlen(at) >= 10)
    snprintf(day, sizeof day, "%.10s", at);
  else {
    fofal_time_format(ev->time_us, day);
    day[10] = '\0';
  }
  snprintf(note, sizeof note, "receipt of purchase order %.40s from %.64s", jstr(d, "order_id"), jstr(d, "supplier"));
  json_t *data = json_pack("{s:s,s:s,s:I,s:s,s:s,s:s}", "project", project, "date", day, "amount_minor", (json_int_t)amount,
                           "source", "purchase_order", "reference", receipt, "note", note);
  if (*jstr(d, "currency")) jcopy(data, d, "currency");
  snprintf(out->type, sizeof out->type, "projects.project.book_cost");
  out->data = data;
  return FOFAL_REACT_COMMAND;
}

static const char *const on_receipt[] = {"fofal.purchasing.goods_received.v1", NULL};

static const fofal_reaction_t reactions[] = {
    {"projects.cost_on_receipt", on_receipt, cost_on_receipt,
     "goods received on a purchase order issued for a project (purchasing) book their cost to the project", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

const fofal_reaction_module_t fofal_module_projects_reactions = {.module = "projects", .reactions = reactions};
