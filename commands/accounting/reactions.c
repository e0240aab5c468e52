/*
 * reactions.c — the ledger's postings from other modules' events (commands.h,
 * "reactions"). Pure functions: fofal-reactor runs them exactly once per trigger and keys,
 * ids and sends their commands; the emitting module knows nothing of them.
 *
 *   accounting.entry_on_pay
 *       fofal.hr.pay_accrued → accounting.entry.post: a weaver's piece-rate pay is a wage
 *       expense owed to them — debit 640 (charges de personnel), credit 425 (personnel,
 *       rémunérations dues) — dated on the day of the declaration's shift. The entry's id
 *       derives from the trigger's (a replay is the same entry) and it names the trigger as
 *       its source, so a balance traces back to the declaration and its weaver. Nothing is
 *       posted for an amount of 0. An entry into a closed period is refused by the decider
 *       (period_closed) and lands in fofal.reactions.dlq with its trigger.
 *
 * The build registers the folder's reactions (fofal_module_accounting_reactions) through
 * fofal_reaction_modules[].
 */
#include "commands.h"
#include "decide.h"
#include "sales_postings.h" /* the postings of sales events (sales_postings.c) */

#include <stdio.h>

#define ACCOUNT_WAGES "640"      /* SCE class 6: charges de personnel */
#define ACCOUNT_WAGES_DUE "425"  /* SCE class 4: personnel, rémunérations dues */
/* The namespace of the ids of entries posted by reaction: uuid5(this, trigger event id). */
#define ENTRY_NS "6f1d2a44-8c1e-4d7b-9f0a-3b5e7c2d9a10"

static int entry_on_pay(const fofal_event_t *ev, fofal_reaction_out_t *out) {
  const json_t *d = ev->data;
  json_int_t amount = jint(d, "amount_minor", -1);
  const char *shift = jstr(d, "shift");
  if (amount < 0 || strlen(shift) < 10 || !fofal_code_valid(jstr(d, "badge")))
    return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the pay accrual names no amount, shift or badge");
  if (!amount) return FOFAL_REACT_NOTHING;
  char id[FOFAL_UUID_LEN + 1], date[11], memo[200];
  fofal_uuid_named(ENTRY_NS, ev->id, id);
  snprintf(date, sizeof date, "%.10s", shift);
  snprintf(memo, sizeof memo, "piece-rate pay of %s: %s, label %s", jstr(d, "badge"), jstr(d, "article"),
           jstr(d, "label_id"));
  out->data = json_pack("{s:s,s:s,s:s,s:[{s:s,s:I},{s:s,s:I}],s:{s:s,s:s}}", "entry_id", id, "date", date, "memo", memo,
                        "lines", "account", ACCOUNT_WAGES, "debit_minor", amount, "account", ACCOUNT_WAGES_DUE,
                        "credit_minor", amount, "source", "event_id", ev->id, "type", ev->type);
  if (!out->data) return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the pay accrual is unreadable");
  snprintf(out->type, sizeof out->type, "accounting.entry.post");
  return FOFAL_REACT_COMMAND;
}

static const char *const on_pay[] = {"fofal.hr.pay_accrued.v1", NULL};

static const fofal_reaction_t reactions[] = {
    {"accounting.entry_on_pay", on_pay, entry_on_pay,
     "piece-rate pay accrued (hr) is posted: debit 640 wages, credit 425 wages due", NULL},
    {"accounting.entry_on_sales_invoice", fofal__accounting_on_sales_invoice, fofal__accounting_entry_on_sales_invoice,
     "a sales invoice is posted: debit 411 customers, credit 701 sales and 4366 VAT collected per rate", NULL},
    {"accounting.entry_on_credit_note", fofal__accounting_on_credit_note, fofal__accounting_entry_on_credit_note,
     "a sales credit note is posted: debit 701 and 4366, credit 411", NULL},
    {"accounting.entry_on_sales_payment", fofal__accounting_on_payment, fofal__accounting_entry_on_payment,
     "a payment for a sales invoice is posted: debit 532 bank or 54 cash, credit 411 (paid back: the reverse)", NULL},
    {"accounting.entry_on_supplier_invoice", fofal__accounting_on_supplier_invoice,
     fofal__accounting_entry_on_supplier_invoice,
     "a supplier invoice, matched or approved, is posted: debit 601 purchases and 4366 VAT, credit 401 suppliers", NULL},
    {"accounting.entry_on_supplier_payment", fofal__accounting_on_supplier_payment,
     fofal__accounting_entry_on_supplier_payment, "a payment to a supplier is posted: debit 401, credit 532 bank or 54 cash",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

const fofal_reaction_module_t fofal_module_accounting_reactions = {.module = "accounting", .reactions = reactions};
