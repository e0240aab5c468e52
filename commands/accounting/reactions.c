/*
 * reactions.c — the ledger's postings from other modules' events (commands.h,
 * "reactions"). Pure functions: fofal-reactor runs them exactly once per trigger and keys,
 * ids and sends their commands; the emitting module knows nothing of them.
 *
 *   accounting.entry_on_pay
 *       fofal.hr.pay_accrued → accounting.entry.post: a weaver's or cutter's piece-rate pay
 *       is a wage expense accrued to them — debit 640 (charges de personnel), credit 428
 *       (personnel, charges à payer: earned, its pay period still open) — dated on the
 *       day of the declaration's (or the cut roll's) shift. The entry's id
 *       derives from the trigger's (a replay is the same entry) and it names the trigger as
 *       its source, so a balance traces back to the declaration and its weaver. Nothing is
 *       posted for an amount of 0. An entry into a closed period is refused by the decider
 *       (period_closed) and lands in fofal.reactions.dlq with its trigger.
 *
 *   accounting.entry_on_pay_period
 *       fofal.hr.pay_period_closed → accounting.entry.post: the closed month's gross of a
 *       site becomes due to the people — debit 428, credit 425 (rémunérations dues) — one
 *       entry per period and site, dated on the period's last day, naming the close as its
 *       source. So 640 is the wages earned, 428 what is earned in open pay periods and 425
 *       what closed periods owe: the sum of 428's credits for a period's accruals equals
 *       the close's debit, and 428 returns to zero for a closed period (accruals of a
 *       closed period's days go to the next open one, pay.c). Nothing for a gross of 0.
 *
 *   accounting.entry_on_goods_received
 *       fofal.purchasing.goods_received → accounting.entry.post: the goods accepted into
 *       stock at the door, valued at their order lines' unit prices (quantity_milli ×
 *       unit_price / 1000, rounded half up, per line) — debit 311 (stocks de matières
 *       premières), credit 408 (fournisseurs, factures non parvenues) — dated on the day
 *       received, naming the receipt as its source. Nothing for a receipt of no value (all
 *       refused, or free goods). The command is accounting.receipt.post, whose decider
 *       also keeps what each order line has in 408 (accounting.c), for the supplier
 *       invoice (sales_postings.c) to clear.
 *
 *   accounting.entry_on_stock_adjusted
 *       fofal.inventory.stock_adjusted (a count's difference on a yarn lot, in grams) →
 *       accounting.adjustment.post: valued at the last receipt price of the lot's item,
 *       which the decider learned from the receipts it posted (accounting.c) — a loss
 *       debit 603 (variation des stocks d'approvisionnements), credit 311; a gain the
 *       reverse. An item never received at a price per kg or g is refused (no_price:
 *       the DLQ, posted by hand). A woven unit's difference is not posted: the ledger
 *       has no cost for what the mill made.
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
#define ACCOUNT_WAGES_ACCRUED "428" /* SCE class 4: personnel, charges à payer (pay accrued, its period open) */
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
                        "lines", "account", ACCOUNT_WAGES, "debit_minor", amount, "account", ACCOUNT_WAGES_ACCRUED,
                        "credit_minor", amount, "source", "event_id", ev->id, "type", ev->type);
  if (!out->data) return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the pay accrual is unreadable");
  snprintf(out->type, sizeof out->type, "accounting.entry.post");
  return FOFAL_REACT_COMMAND;
}

static const char *const on_pay[] = {"fofal.hr.pay_accrued.v1", NULL};

static int entry_on_pay_period(const fofal_event_t *ev, fofal_reaction_out_t *out) {
  const json_t *d = ev->data;
  const char *period = jstr(d, "period"), *site = *jstr(d, "site") ? jstr(d, "site") : "main";
  json_int_t gross = jint(d, "gross_minor", 0);
  int y, m, n = 0;
  if (sscanf(period, "%4d-%2d%n", &y, &m, &n) != 2 || n != 7 || m < 1 || m > 12 || gross < 0)
    return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the pay period close names no month or gross");
  if (!gross) return FOFAL_REACT_NOTHING;
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int last = mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
  char id[FOFAL_UUID_LEN + 1], date[11], memo[200];
  fofal_uuid_named(ENTRY_NS, ev->id, id);
  snprintf(date, sizeof date, "%04d-%02d-%02d", y, m, last);
  snprintf(memo, sizeof memo, "pay period %s closed, site %s: %lld pay lines due", period, site,
           (long long)jint(d, "lines", 0));
  out->data = json_pack("{s:s,s:s,s:s,s:[{s:s,s:I},{s:s,s:I}],s:{s:s,s:s}}", "entry_id", id, "date", date, "memo", memo,
                        "lines", "account", ACCOUNT_WAGES_ACCRUED, "debit_minor", gross, "account", ACCOUNT_WAGES_DUE,
                        "credit_minor", gross, "source", "event_id", ev->id, "type", ev->type);
  if (!out->data) return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the pay period close is unreadable");
  snprintf(out->type, sizeof out->type, "accounting.entry.post");
  return FOFAL_REACT_COMMAND;
}

static const char *const on_pay_period[] = {"fofal.hr.pay_period_closed.v1", NULL};

#define ACCOUNT_RAW_STOCK "311"     /* SCE class 3: stocks de matières premières */
#define ACCOUNT_GOODS_NOT_BILLED "408" /* SCE class 4: fournisseurs, factures non parvenues */

static int entry_on_goods_received(const fofal_event_t *ev, fofal_reaction_out_t *out) {
  const json_t *d = ev->data, *lines = json_object_get(d, "lines");
  const char *at = jstr(d, "received_at");
  if (strlen(at) < 10 || !json_is_array(lines))
    return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the receipt names no date or lines");
  json_int_t value = 0;
  size_t i;
  json_t *l, *cl = json_array();
  json_array_foreach(lines, i, l) {
    json_int_t q = jint(l, "quantity_milli", 0), price = jint(l, "unit_price", 0);
    if (q < 0 || price < 0 || q > 1000000000 || price > 1000000000) {
      json_decref(cl);
      return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the receipt's line %zu is out of range", i + 1);
    }
    value += (q * price + 500) / 1000;
    if (!q) continue;
    json_t *c = json_pack("{s:I,s:I,s:I}", "line", jint(l, "line", 0), "quantity_milli", q, "unit_price", price);
    if (fofal_code_valid(jstr(l, "item"))) json_object_set(c, "item", json_object_get(l, "item"));
    if (fofal_code_valid(jstr(l, "unit"))) json_object_set(c, "unit", json_object_get(l, "unit"));
    json_array_append_new(cl, c);
  }
  if (!value) {
    json_decref(cl);
    return FOFAL_REACT_NOTHING;
  }
  char id[FOFAL_UUID_LEN + 1], date[11];
  fofal_uuid_named(ENTRY_NS, ev->id, id);
  snprintf(date, sizeof date, "%.10s", at);
  out->data = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:{s:s,s:s}}", "entry_id", id, "order_id", jstr(d, "order_id"),
                        "receipt_id", jstr(d, "receipt_id"), "supplier", jstr(d, "supplier"), "date", date, "lines", cl,
                        "source", "event_id", ev->id, "type", ev->type);
  if (!out->data) return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the receipt is unreadable");
  jcopy(out->data, d, "delivery_note");
  snprintf(out->type, sizeof out->type, "accounting.receipt.post");
  return FOFAL_REACT_COMMAND;
}

static const char *const on_goods_received[] = {"fofal.purchasing.goods_received.v1", NULL};

/* accounting.entry_on_stock_adjusted: a count's difference on a yarn lot (inventory's
 * stock_adjusted, kind lot, grams) → accounting.adjustment.post, which values it at the
 * last receipt price of its item that this module learned (accounting.c). A woven unit's
 * is not posted: it was never bought, and its cost is not known here. */
static int entry_on_stock_adjusted(const fofal_event_t *ev, fofal_reaction_out_t *out) {
  const json_t *d = ev->data;
  if (!jeq(d, "kind", "lot")) return FOFAL_REACT_NOTHING;
  json_int_t delta = jint(d, "delta", 0);
  const char *at = jstr(d, "occurred_at"), *item = jstr(d, "item");
  if (!delta) return FOFAL_REACT_NOTHING;
  if (strlen(at) < 10 || !fofal_code_valid(item))
    return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL,
                     "the adjustment of lot %s names no item or date: post it by hand", jstr(d, "holding"));
  char id[FOFAL_UUID_LEN + 1], date[11];
  fofal_uuid_named(ENTRY_NS, ev->id, id);
  snprintf(date, sizeof date, "%.10s", at);
  out->data = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:{s:s,s:s}}", "entry_id", id, "item", item, "lot", jstr(d, "holding"),
                        "count_id", jstr(d, "count_id"), "delta_g", delta, "date", date, "source", "event_id", ev->id,
                        "type", ev->type);
  if (!out->data) return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the adjustment is unreadable");
  snprintf(out->type, sizeof out->type, "accounting.adjustment.post");
  return FOFAL_REACT_COMMAND;
}

static const char *const on_stock_adjusted[] = {"fofal.inventory.stock_adjusted.v1", NULL};

static const fofal_reaction_t reactions[] = {
    {"accounting.entry_on_pay", on_pay, entry_on_pay,
     "piece-rate pay accrued (hr) is posted: debit 640 wages, credit 428 wages accrued", NULL},
    {"accounting.entry_on_pay_period", on_pay_period, entry_on_pay_period,
     "a closed pay period of a site (hr) is posted as one entry: debit 428 wages accrued, credit 425 wages due", NULL},
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
    {"accounting.entry_on_goods_received", on_goods_received, entry_on_goods_received,
     "goods received into stock (purchasing) are posted at their order price: debit 311 raw materials, credit 408 "
     "suppliers, invoices not received",
     NULL},
    {"accounting.entry_on_stock_adjusted", on_stock_adjusted, entry_on_stock_adjusted,
     "a count's difference on a yarn lot (inventory) is posted at its item's last receipt price: 603 against 311", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

const fofal_reaction_module_t fofal_module_accounting_reactions = {.module = "accounting", .reactions = reactions};
