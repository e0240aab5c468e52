/*
 * sales_postings.c — the ledger's postings of the sales module's events (reactions.c
 * lists them; commands.h, "reactions"). Pure functions: fofal-reactor runs them exactly
 * once per trigger; the sales module knows nothing of them.
 *
 *   accounting.entry_on_sales_invoice
 *       fofal.sales.invoice_issued → accounting.entry.post: debit 411 (clients) the total,
 *       credit 701 (ventes de produits finis) the net and 4366 (TVA collectée) the VAT of
 *       each rate (one line per rate, labelled "TVA 19 %"), dated on the invoice's date.
 *   accounting.entry_on_credit_note
 *       fofal.sales.credit_note_issued → the reverse: debit 701 and 4366, credit 411.
 *   accounting.entry_on_sales_payment
 *       fofal.sales.payment_recorded → a payment received: debit 532 (banque) or 54
 *       (caisse), credit 411; paid back to the customer: the reverse.
 *   accounting.entry_on_supplier_invoice
 *       fofal.sales.supplier_invoice_recorded (matched with its order and receipts) and
 *       fofal.sales.supplier_invoice_approved (a held one, approved) →
 *       accounting.supplier_invoice.post with the order and the lines it invoices: its
 *       decider (accounting.c) debits 408 (factures non parvenues) what the lines clear of
 *       the order's receipts, 601 (achats de matières premières) the rest of the net (the
 *       price difference; a credit when cheaper) and 4366 (TVA, deductible) the VAT per
 *       rate, and credits 401 (fournisseurs) the total. A held invoice is not posted
 *       until approved.
 *   accounting.entry_on_supplier_payment
 *       fofal.sales.supplier_payment_recorded → debit 401, credit 532 or 54.
 *
 * Each entry's id derives from its trigger's (uuid5 in reactions.c's namespace: a replay
 * is the same entry) and it names the trigger as its source, so a balance of 411 traces
 * back to the invoice, its delivery and who issued it. The ledger is kept in TND: a
 * document in another currency is a failure (fofal.reactions.dlq, posted by hand at its
 * rate) until exchange rates are kept. Nothing is posted for an amount of 0; an entry
 * into a closed period is refused by the decider (period_closed) and lands in the DLQ.
 */
#include "sales_postings.h"

#include "decide.h"

#include <stdio.h>

#define ACCOUNT_CUSTOMERS "411" /* SCE class 4: clients et comptes rattachés */
#define ACCOUNT_SALES "701"     /* SCE class 7: ventes de produits finis */
#define ACCOUNT_VAT_OUT "4366"  /* SCE class 4: État, TVA collectée */
#define ACCOUNT_BANK "532"      /* SCE class 5: banques */
#define ACCOUNT_CASH "54"       /* SCE class 5: caisse */
#define ACCOUNT_SUPPLIERS "401" /* SCE class 4: fournisseurs et comptes rattachés */
#define ENTRY_NS "6f1d2a44-8c1e-4d7b-9f0a-3b5e7c2d9a10" /* as reactions.c: uuid5(this, trigger id) */

const char *const fofal__accounting_on_sales_invoice[] = {"fofal.sales.invoice_issued.v1", NULL};
const char *const fofal__accounting_on_credit_note[] = {"fofal.sales.credit_note_issued.v1", NULL};
const char *const fofal__accounting_on_payment[] = {"fofal.sales.payment_recorded.v1", NULL};
const char *const fofal__accounting_on_supplier_invoice[] = {"fofal.sales.supplier_invoice_recorded.v1",
                                                              "fofal.sales.supplier_invoice_approved.v1", NULL};
const char *const fofal__accounting_on_supplier_payment[] = {"fofal.sales.supplier_payment_recorded.v1", NULL};

static json_t *line(const char *account, const char *side, json_int_t amount, const char *label) {
  return json_pack("{s:s,s:I,s:s}", "account", account, side, amount, "label", label);
}

static int entry(const fofal_event_t *ev, const char *date, const char *memo, json_t *lines, fofal_reaction_out_t *out) {
  char id[FOFAL_UUID_LEN + 1];
  fofal_uuid_named(ENTRY_NS, ev->id, id);
  out->data = json_pack("{s:s,s:s,s:s,s:o,s:{s:s,s:s}}", "entry_id", id, "date", date, "memo", memo, "lines", lines,
                        "source", "event_id", ev->id, "type", ev->type);
  if (!out->data) return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the sales document is unreadable");
  snprintf(out->type, sizeof out->type, "accounting.entry.post");
  return FOFAL_REACT_COMMAND;
}

static void vat_label(json_int_t bp, char *label, size_t cap) {
  if (bp % 100) snprintf(label, cap, "TVA %lld.%02lld %%", (long long)(bp / 100), (long long)(bp % 100));
  else snprintf(label, cap, "TVA %lld %%", (long long)(bp / 100));
}

/* An invoice (sign 1) or a credit note (sign -1): 411 against 701 and 4366 per rate. */
static int document(const fofal_event_t *ev, int sign, fofal_reaction_out_t *out) {
  const json_t *d = ev->data;
  json_int_t total = jint(d, "total_minor", -1), net = jint(d, "net_minor", -1);
  const char *date = jstr(d, "date"), *number = jstr(d, "number");
  if (total < 0 || net < 0 || strlen(date) != 10 || !*number)
    return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the sales document names no number, date or total");
  if (strcmp(jstr(d, "currency"), "TND"))
    return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL,
                     "%s is in %s: the ledger is kept in TND (post it by hand at its rate)", number, jstr(d, "currency"));
  if (!total) return FOFAL_REACT_NOTHING;
  const char *dr = sign > 0 ? "debit_minor" : "credit_minor", *cr = sign > 0 ? "credit_minor" : "debit_minor";
  char memo[200], label[64];
  snprintf(memo, sizeof memo, "%s %s, customer %s", sign > 0 ? "invoice" : "credit note", number, jstr(d, "customer"));
  json_t *lines = json_array();
  json_array_append_new(lines, line(ACCOUNT_CUSTOMERS, dr, total, number));
  if (net) json_array_append_new(lines, line(ACCOUNT_SALES, cr, net, number));
  size_t i;
  json_t *r;
  json_array_foreach(json_object_get(d, "vat"), i, r) {
    json_int_t v = jint(r, "vat_minor", 0), bp = jint(r, "vat_bp", 0);
    if (v <= 0) continue;
    vat_label(bp, label, sizeof label);
    json_array_append_new(lines, line(ACCOUNT_VAT_OUT, cr, v, label));
  }
  return entry(ev, date, memo, lines, out);
}

int fofal__accounting_entry_on_sales_invoice(const fofal_event_t *ev, fofal_reaction_out_t *out) {
  return document(ev, 1, out);
}

int fofal__accounting_entry_on_credit_note(const fofal_event_t *ev, fofal_reaction_out_t *out) {
  return document(ev, -1, out);
}

int fofal__accounting_entry_on_payment(const fofal_event_t *ev, fofal_reaction_out_t *out) {
  const json_t *d = ev->data;
  json_int_t amount = jint(d, "amount_minor", -1);
  const char *date = jstr(d, "date"), *number = jstr(d, "invoice_number");
  int made = jeq(d, "direction", "made");
  if (amount < 0 || strlen(date) != 10 || (!made && !jeq(d, "direction", "received")))
    return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the payment names no amount, date or direction");
  if (strcmp(jstr(d, "currency"), "TND"))
    return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL,
                     "a payment for %s is in %s: the ledger is kept in TND (post it by hand at its rate)", number,
                     jstr(d, "currency"));
  if (!amount) return FOFAL_REACT_NOTHING;
  const char *treasury = jeq(d, "account", "cash") ? ACCOUNT_CASH : ACCOUNT_BANK;
  char memo[200];
  snprintf(memo, sizeof memo, "payment %s customer %s for invoice %s", made ? "paid back to" : "received from",
           jstr(d, "customer"), number);
  json_t *lines = json_array();
  json_array_append_new(lines, line(made ? ACCOUNT_CUSTOMERS : treasury, "debit_minor", amount, number));
  json_array_append_new(lines, line(made ? treasury : ACCOUNT_CUSTOMERS, "credit_minor", amount, number));
  return entry(ev, date, memo, lines, out);
}

int fofal__accounting_entry_on_supplier_invoice(const fofal_event_t *ev, fofal_reaction_out_t *out) {
  const json_t *d = ev->data;
  if (strstr(ev->type, ".supplier_invoice_recorded.") && !jeq(d, "status", "matched"))
    return FOFAL_REACT_NOTHING; /* held: posted when approved */
  json_int_t total = jint(d, "total_minor", -1), net = jint(d, "net_minor", -1);
  const char *date = jstr(d, "date"), *number = jstr(d, "supplier_number"), *supplier = jstr(d, "supplier");
  if (total < 0 || net < 0 || strlen(date) != 10 || !*number)
    return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the supplier invoice names no number, date or total");
  if (strcmp(jstr(d, "currency"), "TND"))
    return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL,
                     "%s's invoice %s is in %s: the ledger is kept in TND (post it by hand at its rate)", supplier, number,
                     jstr(d, "currency"));
  if (!total) return FOFAL_REACT_NOTHING;
  /* What it invoices: its order's lines (quantities), which the decider clears of 408. */
  json_t *lines = json_array(), *vat = json_array(), *l;
  size_t i;
  json_array_foreach(json_object_get(d, "lines"), i, l) {
    json_int_t n = jint(l, "line", 0), q = jint(l, "quantity_milli", 0);
    if (n < 1 || n > 999 || q < 0 || q > 1000000000) continue;
    json_array_append_new(lines, json_pack("{s:I,s:I,s:I}", "line", n, "quantity_milli", q, "net_minor",
                                           jint(l, "net_minor", 0)));
  }
  json_array_foreach(json_object_get(d, "vat"), i, l) {
    json_int_t v = jint(l, "vat_minor", 0), bp = jint(l, "vat_bp", 0);
    if (v > 0 && bp >= 0 && bp <= 10000) json_array_append_new(vat, json_pack("{s:I,s:I}", "vat_bp", bp, "vat_minor", v));
  }
  char id[FOFAL_UUID_LEN + 1];
  fofal_uuid_named(ENTRY_NS, ev->id, id);
  out->data = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:I,s:I,s:{s:s,s:s}}", "entry_id", id, "supplier_invoice_id",
                        jstr(d, "supplier_invoice_id"), "supplier", supplier, "supplier_number", number, "date", date,
                        "lines", lines, "vat", vat, "net_minor", net, "total_minor", total, "source", "event_id", ev->id,
                        "type", ev->type);
  if (!out->data) return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the supplier invoice is unreadable");
  if (fofal_uuid_valid(jstr(d, "order_id"))) json_object_set(out->data, "order_id", json_object_get(d, "order_id"));
  snprintf(out->type, sizeof out->type, "accounting.supplier_invoice.post");
  return FOFAL_REACT_COMMAND;
}

int fofal__accounting_entry_on_supplier_payment(const fofal_event_t *ev, fofal_reaction_out_t *out) {
  const json_t *d = ev->data;
  json_int_t amount = jint(d, "amount_minor", -1);
  const char *date = jstr(d, "date"), *number = jstr(d, "supplier_number"), *supplier = jstr(d, "supplier");
  if (amount < 0 || strlen(date) != 10)
    return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the payment names no amount or date");
  if (strcmp(jstr(d, "currency"), "TND"))
    return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL,
                     "a payment to %s is in %s: the ledger is kept in TND (post it by hand at its rate)", supplier,
                     jstr(d, "currency"));
  if (!amount) return FOFAL_REACT_NOTHING;
  char memo[200], ref[120];
  snprintf(memo, sizeof memo, "payment to supplier %s for invoice %s", supplier, number);
  snprintf(ref, sizeof ref, "%s %s", supplier, number);
  json_t *lines = json_array();
  json_array_append_new(lines, line(ACCOUNT_SUPPLIERS, "debit_minor", amount, ref));
  json_array_append_new(lines, line(jeq(d, "account", "cash") ? ACCOUNT_CASH : ACCOUNT_BANK, "credit_minor", amount, ref));
  return entry(ev, date, memo, lines, out);
}
