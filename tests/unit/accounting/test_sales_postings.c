/*
 * test_sales_postings.c — commands/accounting/sales_postings.c: the sales chain posted by
 * reaction. Through the sales deciders (an in-memory tenant, the production tests'
 * world.h) an invoice, a credit note and payments are decided; each event runs through
 * its reaction (fofal_reaction_apply, as fofal-reactor does) and the entry through
 * accounting.entry.post. Checked: the accounts and amounts of each entry (411 / 701 /
 * 4366 per rate; 532 or 54 / 411; the credit note the reverse), its source (the
 * trigger), the same id for the same trigger, and that the trial balance is zero with
 * 411 equal to what the customer still owes. A document in another currency is a
 * failure (the DLQ), not a wrong posting.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "decide.h"
#include "../production/world.h"

static fofal_registry_t *reg;
static json_t *balances; /* account → balance (debit − credit) of the entries posted */

#define ORDER "0192f0a0-0000-7000-8000-00000000a001"
#define CARTON "0192f0a0-0000-7000-8000-00000000b002"
#define DELIVERY "0192f0a0-0000-7000-8000-00000000c001"
#define INVOICE "0192f0a0-0000-7000-8000-00000000d001"

static void setup(void) {
  char err[512] = "";
  cr_assert_eq(fofal_registry_load(&reg, FOFAL_SOURCE_DIR "/schemas", err, sizeof err), 0, "registry: %s", err);
  world_init(reg);
  world_as("u:salma/accountant", NULL);
  balances = json_object();
  json_object_set_new(world, CARTON, json_pack("{s:s,s:s}", "kind_of", "carton", "carton_id", CARTON));
}

static void teardown(void) {
  json_decref(balances);
  world_free();
  fofal_registry_free(reg);
  reg = NULL;
}

TestSuite(sales_postings, .init = setup, .fini = teardown);

/* Decides a sales command; its first event (new: {"type", "data"}). */
static json_t *decide(const char *type, json_t *data, const char *cmd_id) {
  fofal_decision_t d;
  world_as("u:salma/accountant", NULL);
  int rc = world_decide_at(type, data, W_ISSUED, cmd_id, &d);
  cr_assert_eq(rc, 0, "%s rejected: %s: %s", type, d.code, d.detail);
  json_t *ev = json_incref(json_array_get(d.events, 0));
  world_release(&d);
  return ev;
}

/* Runs the reaction `name` on event `ev` (with id `eid`); on a command, posts it and adds
 * its lines to `balances`. Returns the reaction's rc; *entry the posted event's data. */
static int post(const char *name, const json_t *ev, const char *eid, json_t **entry) {
  const fofal_reaction_t *r = fofal_reaction_find(name);
  cr_assert_not_null(r, "%s is registered", name);
  fofal_event_t e = {.id = (char *)eid, .type = (char *)json_string_value(json_object_get(ev, "type")),
                     .tenant = (char *)W_TENANT, .subject = (char *)"x", .seq = 1,
                     .data = json_object_get(ev, "data")};
  fofal_reaction_result_t res;
  int rc = fofal_reaction_apply(reg, r, &e, "fofal.sales.events", 0, 7, W_ISSUED, &res);
  if (entry) *entry = NULL;
  if (rc == FOFAL_REACT_COMMAND) {
    cr_expect(!strncmp(res.cmd.type, "accounting.", 11), "%s is accounting's", res.cmd.type);
    world_as(res.cmd.actor, NULL);
    fofal_decision_t d;
    int drc = world_decide_at(res.cmd.type, json_deep_copy(res.out.data), W_ISSUED, res.cmd.id, &d);
    cr_assert_eq(drc, 0, "the entry of %s is refused: %s: %s", name, d.code, d.detail);
    json_t *data = json_object_get(json_array_get(d.events, 0), "data");
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(data, "lines"), i, l) {
      const char *a = jstr(l, "account");
      json_int_t b = jint(balances, a, 0) + jint(l, "debit_minor", 0) - jint(l, "credit_minor", 0);
      json_object_set_new(balances, a, json_integer(b));
    }
    cr_expect_str_eq(jstr(json_object_get(data, "source"), "event_id"), eid, "the entry names its trigger");
    if (entry) *entry = json_incref(data);
    world_release(&d);
  }
  fofal_reaction_result_clear(&res);
  return rc;
}

static json_int_t bal(const char *account) { return jint(balances, account, 0); }

/* A customer, an order of 100 FT-200 at 12.500 (19 %) and 40 PS-50 at 3.333 (7 %), shipped
 * and invoiced: 1,250.000 + 237.500 and 133.320 + 9.332 = 1,630.152 TND. */
static json_t *invoiced(const char *currency) {
  json_t *c = json_pack("{s:s,s:s}", "customer", "C-HAM", "name", "Hôtel Hammamet");
  if (currency) json_object_set_new(c, "currency", json_string(currency));
  json_decref(decide("sales.customer.register", c, "cust"));
  json_decref(decide("sales.order.place",
                     json_pack("{s:s,s:s,s:s,s:[{s:s,s:i,s:i},{s:s,s:i,s:i,s:i}]}", "order_id", ORDER, "customer", "C-HAM",
                               "date", "2026-03-02", "lines", "article", "FT-200", "quantity", 100, "unit_price_minor",
                               12500, "article", "PS-50", "quantity", 40, "unit_price_minor", 3333, "vat_bp", 700),
                     "order"));
  json_decref(decide("sales.delivery.ship",
                     json_pack("{s:s,s:s,s:s,s:[s],s:[{s:i,s:i},{s:i,s:i}]}", "delivery_id", DELIVERY, "order_id", ORDER,
                               "date", "2026-03-05", "containers", CARTON, "lines", "line", 1, "quantity", 100, "line", 2,
                               "quantity", 40),
                     "ship"));
  return decide("sales.invoice.issue",
                json_pack("{s:s,s:s,s:s}", "invoice_id", INVOICE, "delivery_id", DELIVERY, "date", "2026-03-06"), "inv");
}

Test(sales_postings, an_invoice_debits_411_and_credits_701_and_4366_per_rate) {
  json_t *inv = invoiced(NULL), *entry = NULL;
  const char *eid = "0192f0a0-0000-7000-8000-00000000e001";
  cr_assert_eq(post("accounting.entry_on_sales_invoice", inv, eid, &entry), FOFAL_REACT_COMMAND);
  cr_expect_str_eq(jstr(entry, "date"), "2026-03-06");
  cr_expect_str_eq(jstr(entry, "posted_by"), "r:accounting.entry_on_sales_invoice");
  const json_t *lines = json_object_get(entry, "lines");
  cr_assert_eq(json_array_size(lines), 4, "411, 701, 4366 at 19 %% and at 7 %%");
  cr_expect_str_eq(jstr(json_array_get(lines, 2), "label"), "TVA 19 %");
  cr_expect_eq(bal("411"), 1630152);
  cr_expect_eq(bal("701"), -1383320);
  cr_expect_eq(bal("4366"), -(237500 + 9332));
  /* The same trigger again (a replay) is the same entry, which the processor drops. */
  fofal_event_t e = {.id = (char *)eid, .type = (char *)"fofal.sales.invoice_issued.v1", .tenant = (char *)W_TENANT,
                     .subject = (char *)"x", .seq = 1, .data = json_object_get(inv, "data")};
  fofal_reaction_result_t res;
  cr_assert_eq(fofal_reaction_apply(reg, fofal_reaction_find("accounting.entry_on_sales_invoice"), &e,
                                    "fofal.sales.events", 0, 7, W_ISSUED, &res),
               FOFAL_REACT_COMMAND);
  cr_expect_str_eq(jstr(res.out.data, "entry_id"), jstr(entry, "entry_id"));
  fofal_reaction_result_clear(&res);
  json_decref(entry);
  json_decref(inv);
}

Test(sales_postings, credit_notes_and_payments_leave_411_at_what_is_owed) {
  json_t *inv = invoiced(NULL);
  cr_assert_eq(post("accounting.entry_on_sales_invoice", inv, "0192f0a0-0000-7000-8000-00000000e001", NULL),
               FOFAL_REACT_COMMAND);
  json_decref(inv);
  json_t *cn = decide("sales.credit_note.issue",
                      json_pack("{s:s,s:s,s:s,s:s,s:[{s:i,s:i}]}", "invoice_id", INVOICE, "credit_note_id",
                                "0192f0a0-0000-7000-8000-00000000d101", "date", "2026-03-10", "reason", "défaut",
                                "lines", "line", 1, "quantity", 10),
                      "cn");
  cr_assert_eq(post("accounting.entry_on_credit_note", cn, "0192f0a0-0000-7000-8000-00000000e002", NULL),
               FOFAL_REACT_COMMAND);
  json_decref(cn);
  cr_expect_eq(bal("4366"), -(237500 + 9332) + 23750, "the credit note takes back its VAT");
  json_t *p1 = decide("sales.payment.record",
                      json_pack("{s:s,s:s,s:s,s:s,s:i,s:s}", "invoice_id", INVOICE, "payment_id",
                                "0192f0a0-0000-7000-8000-00000000f001", "direction", "received", "account", "bank",
                                "amount_minor", 1000000, "date", "2026-03-20"),
                      "p1");
  json_t *p2 = decide("sales.payment.record",
                      json_pack("{s:s,s:s,s:s,s:s,s:i,s:s}", "invoice_id", INVOICE, "payment_id",
                                "0192f0a0-0000-7000-8000-00000000f002", "direction", "received", "account", "cash",
                                "amount_minor", 400000, "date", "2026-03-21"),
                      "p2");
  cr_assert_eq(post("accounting.entry_on_sales_payment", p1, "0192f0a0-0000-7000-8000-00000000e003", NULL),
               FOFAL_REACT_COMMAND);
  cr_assert_eq(post("accounting.entry_on_sales_payment", p2, "0192f0a0-0000-7000-8000-00000000e004", NULL),
               FOFAL_REACT_COMMAND);
  cr_expect_eq(bal("532"), 1000000);
  cr_expect_eq(bal("54"), 400000);
  cr_expect_eq(bal("411"), jint(json_object_get(p2, "data"), "due_minor", -1), "411 is what the customer still owes");
  cr_expect_eq(bal("411"), 1630152 - 148750 - 1400000);
  json_decref(p1);
  json_decref(p2);
  json_int_t sum = 0;
  const char *k;
  json_t *v;
  json_object_foreach(balances, k, v) sum += json_integer_value(v);
  cr_expect_eq(sum, 0, "the trial balance is zero");
}

Test(sales_postings, a_document_in_another_currency_is_not_posted_as_tnd) {
  json_t *inv = invoiced("EUR");
  cr_expect_lt(post("accounting.entry_on_sales_invoice", inv, "0192f0a0-0000-7000-8000-00000000e001", NULL), 0,
               "a failure: to the DLQ, posted by hand at its rate");
  json_decref(inv);
}

/* A supplier invoice matched with its order is posted at once (601 / 4366 / 401); a held
 * one only when approved; a payment to the supplier debits 401. */
Test(sales_postings, supplier_invoices_and_payments_are_posted) {
  const char *po = "0192f0a0-0000-7000-8000-00000000e0e0";
  json_object_set_new(world, po,
                      json_pack("{s:s,s:s,s:[{s:i,s:s,s:i,s:s,s:i,s:i,s:i}],s:[]}", "status", "received", "supplier",
                                "F-SAHEL", "lines", "line", 1, "item", "YRN", "quantity_milli", 1000000, "unit", "kg",
                                "unit_price", 18000, "received_milli", 600000, "refused_milli", 0, "receipts"));
  json_t *ok_inv = decide("sales.supplier_invoice.record",
                          json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:[{s:i,s:i,s:i}]}", "supplier_invoice_id",
                                    "0192f0a0-0000-7000-8000-00000000d501", "supplier", "F-SAHEL", "supplier_number",
                                    "F-311", "order_id", po, "date", "2026-03-10", "due_date", "2026-04-09", "lines", "line",
                                    1, "quantity_milli", 500000, "unit_price", 18000),
                          "si-1");
  cr_assert_eq(post("accounting.entry_on_supplier_invoice", ok_inv, "0192f0a0-0000-7000-8000-00000000e011", NULL),
               FOFAL_REACT_COMMAND);
  json_decref(ok_inv);
  cr_expect_eq(bal("601"), 9000000);
  cr_expect_eq(bal("4366"), 1710000, "deductible VAT");
  cr_expect_eq(bal("401"), -10710000);
  json_t *held = decide("sales.supplier_invoice.record",
                        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:[{s:i,s:i,s:i}]}", "supplier_invoice_id",
                                  "0192f0a0-0000-7000-8000-00000000d502", "supplier", "F-SAHEL", "supplier_number", "F-312",
                                  "order_id", po, "date", "2026-03-11", "due_date", "2026-04-10", "lines", "line", 1,
                                  "quantity_milli", 200000, "unit_price", 18000),
                        "si-2");
  cr_expect_eq(post("accounting.entry_on_supplier_invoice", held, "0192f0a0-0000-7000-8000-00000000e012", NULL),
               FOFAL_REACT_NOTHING, "a held invoice is not posted");
  json_decref(held);
  world_as("u:karim/manager", NULL);
  fofal_decision_t d;
  cr_assert_eq(world_decide_at("sales.supplier_invoice.approve",
                               json_pack("{s:s,s:s}", "supplier_invoice_id", "0192f0a0-0000-7000-8000-00000000d502",
                                         "reason", "ok"),
                               W_ISSUED, "approve", &d),
               0, "%s", d.code);
  json_t *approved = json_incref(json_array_get(d.events, 0));
  world_release(&d);
  cr_assert_eq(post("accounting.entry_on_supplier_invoice", approved, "0192f0a0-0000-7000-8000-00000000e013", NULL),
               FOFAL_REACT_COMMAND);
  json_decref(approved);
  cr_expect_eq(bal("401"), -10710000 - 4284000);
  json_t *pay = decide("sales.supplier_payment.record",
                       json_pack("{s:s,s:s,s:s,s:i,s:s}", "supplier_invoice_id", "0192f0a0-0000-7000-8000-00000000d501",
                                 "payment_id", "0192f0a0-0000-7000-8000-00000000f501", "account", "bank", "amount_minor",
                                 10710000, "date", "2026-03-25"),
                       "sp-1");
  cr_assert_eq(post("accounting.entry_on_supplier_payment", pay, "0192f0a0-0000-7000-8000-00000000e014", NULL),
               FOFAL_REACT_COMMAND);
  json_decref(pay);
  cr_expect_eq(bal("401"), -4284000, "what is still owed to the supplier");
  cr_expect_eq(bal("532"), -10710000);
  json_int_t sum = 0;
  const char *k;
  json_t *v;
  json_object_foreach(balances, k, v) sum += json_integer_value(v);
  cr_expect_eq(sum, 0);
}

/* A purchase order's line 1, 300.003 kg of yarn at 12.345 TND, received in three
 * receipts of 100.001 kg (each 1,234.512345 → 1,234.512, so 408 holds 3,703.536 where the
 * whole would round to 3,703.537) and line 2, 10 cones at 0.999. A first invoice takes
 * 200 kg at the order's price and the cones; a second the 100.003 kg left at 12.700 (2.9 %
 * dearer: held, then approved). 408 ends at exactly zero, 601 holds the price difference,
 * 311 the goods at their receipts' value, and once paid 401 is zero. */
#define PO2 "0192f0a0-0000-7000-8000-00000000e0e2"

static json_t *receipt_event(int n, json_int_t q1, json_int_t q2) {
  char rid[64];
  snprintf(rid, sizeof rid, "0192f0a0-0000-7000-8000-0000000010%02d", n);
  return json_pack("{s:s,s:{s:s,s:s,s:s,s:s,s:s,s:[{s:i,s:I,s:i,s:s,s:s},{s:i,s:I,s:i,s:s,s:s}]}}", "type",
                   "fofal.purchasing.goods_received.v1", "data", "order_id", PO2, "receipt_id", rid, "supplier",
                   "F-SAHEL", "received_at", "2026-03-0" "5T08:00:00Z", "status", "partly_received", "lines", "line", 1,
                   "quantity_milli", q1, "unit_price", 12345, "unit", "kg", "item", "YRN-30", "line", 2,
                   "quantity_milli", q2, "unit_price", 999, "unit", "cone", "item", "CONE");
}

Test(sales_postings, a_supplier_invoice_clears_what_its_receipts_put_into_408) {
  for (int n = 1; n <= 3; n++) {
    json_t *r = receipt_event(n, 100001, n == 1 ? 10000 : 0);
    char eid[64];
    snprintf(eid, sizeof eid, "0192f0a0-0000-7000-8000-0000000020%02d", n);
    cr_assert_eq(post("accounting.entry_on_goods_received", r, eid, NULL), FOFAL_REACT_COMMAND);
    json_decref(r);
  }
  json_int_t stock = 3 * 1234512 + 9990;
  cr_expect_eq(bal("311"), stock);
  cr_expect_eq(bal("408"), -stock);
  json_object_set_new(world, PO2,
                      json_pack("{s:s,s:s,s:[{s:i,s:s,s:i,s:s,s:i,s:i},{s:i,s:s,s:i,s:s,s:i,s:i}],s:[s]}", "status",
                                "received", "supplier", "F-SAHEL", "lines", "line", 1, "item", "YRN-30", "quantity_milli",
                                300003, "unit", "kg", "unit_price", 12345, "received_milli", 300003, "line", 2, "item",
                                "CONE", "quantity_milli", 10000, "unit", "cone", "unit_price", 999, "received_milli",
                                10000, "receipts", "r"));
  json_t *inv1 = decide("sales.supplier_invoice.record",
                        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:[{s:i,s:i,s:i},{s:i,s:i,s:i}]}", "supplier_invoice_id",
                                  "0192f0a0-0000-7000-8000-00000000d601", "supplier", "F-SAHEL", "supplier_number", "F-401",
                                  "order_id", PO2, "date", "2026-03-10", "due_date", "2026-04-09", "lines", "line", 1,
                                  "quantity_milli", 200000, "unit_price", 12345, "line", 2, "quantity_milli", 10000,
                                  "unit_price", 999),
                        "si-601");
  json_t *e1;
  cr_assert_eq(post("accounting.entry_on_supplier_invoice", inv1, "0192f0a0-0000-7000-8000-00000000e601", &e1),
               FOFAL_REACT_COMMAND);
  /* line 1: 200,000 of 300,003 thousandths of 3,703.536 → 2,468.999.3 → 2,468.999; line 2
   * all of its 9.990; the net is 2,469.000 + 9.990: 0.001 to 601. */
  json_int_t c1 = (3703536LL * 200000 + 300003 / 2) / 300003;
  cr_expect_eq(c1, 2468999);
  cr_expect_eq(bal("408"), -stock + c1 + 9990);
  cr_expect_eq(bal("601"), 2469000 + 9990 - c1 - 9990);
  json_int_t total1 = jint(json_object_get(inv1, "data"), "total_minor", 0);
  cr_expect_eq(bal("401"), -total1);
  cr_expect_str_eq(jstr(json_array_get(json_object_get(e1, "lines"), 0), "account"), "408", "408 is debited first");
  json_decref(e1);
  json_decref(inv1);
  json_t *held = decide("sales.supplier_invoice.record",
                        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:[{s:i,s:i,s:i}]}", "supplier_invoice_id",
                                  "0192f0a0-0000-7000-8000-00000000d602", "supplier", "F-SAHEL", "supplier_number", "F-402",
                                  "order_id", PO2, "date", "2026-03-11", "due_date", "2026-04-10", "lines", "line", 1,
                                  "quantity_milli", 100003, "unit_price", 12700),
                        "si-602");
  cr_expect_str_eq(jstr(json_object_get(held, "data"), "status"), "held", "12.700 is beyond 2 %% of 12.345");
  cr_expect_eq(post("accounting.entry_on_supplier_invoice", held, "0192f0a0-0000-7000-8000-00000000e602", NULL),
               FOFAL_REACT_NOTHING);
  json_decref(held);
  world_as("u:karim/manager", NULL);
  fofal_decision_t d;
  cr_assert_eq(world_decide_at("sales.supplier_invoice.approve",
                               json_pack("{s:s,s:s}", "supplier_invoice_id", "0192f0a0-0000-7000-8000-00000000d602",
                                         "reason", "yarn price rise agreed"),
                               W_ISSUED, "approve-602", &d),
               0, "%s", d.code);
  json_t *approved = json_incref(json_array_get(d.events, 0));
  world_release(&d);
  cr_expect_str_eq(jstr(json_object_get(approved, "data"), "order_id"), PO2, "the approval names the order");
  cr_assert_eq(post("accounting.entry_on_supplier_invoice", approved, "0192f0a0-0000-7000-8000-00000000e603", NULL),
               FOFAL_REACT_COMMAND);
  json_int_t total2 = jint(json_object_get(approved, "data"), "total_minor", 0);
  json_decref(approved);
  cr_expect_eq(bal("408"), 0, "received, then invoiced: 408 is back to zero to the millime");
  cr_expect_eq(bal("311"), stock, "the goods stay at their receipts' value");
  /* 100.003 kg × 12.700 = 1,270.038 against 3,703.536 − 2,468.999 = 1,234.537 */
  cr_expect_eq(bal("601"), 1 + 1270038 - (3703536 - c1));
  cr_expect_eq(bal("401"), -total1 - total2);
  json_t *pay = decide("sales.supplier_payment.record",
                       json_pack("{s:s,s:s,s:s,s:I,s:s}", "supplier_invoice_id", "0192f0a0-0000-7000-8000-00000000d601",
                                 "payment_id", "0192f0a0-0000-7000-8000-00000000f601", "account", "bank", "amount_minor",
                                 total1, "date", "2026-03-25"),
                       "sp-601");
  cr_assert_eq(post("accounting.entry_on_supplier_payment", pay, "0192f0a0-0000-7000-8000-00000000e604", NULL),
               FOFAL_REACT_COMMAND);
  json_decref(pay);
  cr_expect_eq(bal("401"), -total2);
  json_int_t sum = 0;
  const char *k;
  json_t *v;
  json_object_foreach(balances, k, v) sum += json_integer_value(v);
  cr_expect_eq(sum, 0);
}

/* An invoice that names no order posted as before: its net to 601. And an invoice
 * posted again (the same trigger) is the same entry, refused as already there. */
Test(sales_postings, an_invoice_beyond_its_receipts_debits_601_for_the_rest) {
  json_t *r = receipt_event(9, 1000, 0); /* 1 kg: 12.345 */
  cr_assert_eq(post("accounting.entry_on_goods_received", r, "0192f0a0-0000-7000-8000-000000002099", NULL),
               FOFAL_REACT_COMMAND);
  json_decref(r);
  const fofal_reaction_t *re = fofal_reaction_find("accounting.entry_on_supplier_invoice");
  json_t *data = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[{s:i,s:i,s:i,s:i}],s:[{s:i,s:i,s:i}],s:i,s:i,s:i,s:[]}",
                           "supplier_invoice_id", "0192f0a0-0000-7000-8000-00000000d699", "supplier", "F-SAHEL",
                           "supplier_number", "F-499", "order_id", PO2, "currency", "TND", "date", "2026-03-12", "status",
                           "matched", "lines", "line", 1, "quantity_milli", 1020, "unit_price", 12345, "net_minor", 12592,
                           "vat", "vat_bp", 1900, "base_minor", 12592, "vat_minor", 2392, "net_minor", 12592, "vat_minor",
                           2392, "total_minor", 14984, "mismatches");
  fofal_event_t e = {.id = (char *)"0192f0a0-0000-7000-8000-00000000e699",
                     .type = (char *)"fofal.sales.supplier_invoice_recorded.v1", .tenant = (char *)W_TENANT,
                     .subject = (char *)"x", .seq = 1, .data = data};
  fofal_reaction_result_t res;
  cr_assert_eq(fofal_reaction_apply(reg, re, &e, "fofal.sales.events", 0, 7, W_ISSUED, &res), FOFAL_REACT_COMMAND);
  world_as(res.cmd.actor, NULL);
  fofal_decision_t d;
  cr_assert_eq(world_decide_at(res.cmd.type, json_deep_copy(res.out.data), W_ISSUED, res.cmd.id, &d), 0, "%s: %s",
               d.code, d.detail);
  json_t *ev = NULL, *x;
  size_t i;
  json_array_foreach(d.events, i, x) if (strstr(jstr(x, "type"), "entry_posted")) ev = json_object_get(x, "data");
  cr_assert_not_null(ev);
  /* 408 debited the 12.345 received; 601 the 0.247 invoiced beyond it */
  json_int_t d408 = 0, d601 = 0;
  json_array_foreach(json_object_get(ev, "lines"), i, x) {
    if (!strcmp(jstr(x, "account"), "408")) d408 += jint(x, "debit_minor", 0);
    if (!strcmp(jstr(x, "account"), "601")) d601 += jint(x, "debit_minor", 0) - jint(x, "credit_minor", 0);
  }
  cr_expect_eq(d408, 12345);
  cr_expect_eq(d601, 12592 - 12345);
  world_release(&d);
  cr_expect_eq(world_decide_at(res.cmd.type, json_deep_copy(res.out.data), W_ISSUED, "again", NULL), FOFAL_EEXIST,
               "the same trigger is the same entry");
  fofal_reaction_result_clear(&res);
  json_decref(data);
}

/* The invoice's posting ran before the receipt's (or the goods came later): billed to 601,
 * then the receipt moves it from 601 to 311, and 408 never holds it. */
Test(sales_postings, goods_invoiced_before_they_are_received_come_out_of_601) {
  json_t *data = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[{s:i,s:i,s:i,s:i}],s:[{s:i,s:i,s:i}],s:i,s:i,s:i,s:[]}",
                           "supplier_invoice_id", "0192f0a0-0000-7000-8000-00000000d698", "supplier", "F-SAHEL",
                           "supplier_number", "F-498", "order_id", PO2, "currency", "TND", "date", "2026-03-04", "status",
                           "matched", "lines", "line", 1, "quantity_milli", 1000, "unit_price", 12345, "net_minor", 12345,
                           "vat", "vat_bp", 1900, "base_minor", 12345, "vat_minor", 2346, "net_minor", 12345, "vat_minor",
                           2346, "total_minor", 14691, "mismatches");
  json_t *ev = json_pack("{s:s,s:o}", "type", "fofal.sales.supplier_invoice_recorded.v1", "data", data);
  cr_assert_eq(post("accounting.entry_on_supplier_invoice", ev, "0192f0a0-0000-7000-8000-00000000e698", NULL),
               FOFAL_REACT_COMMAND);
  json_decref(ev);
  cr_expect_eq(bal("601"), 12345);
  cr_expect_eq(bal("408"), 0);
  json_t *r = receipt_event(8, 1000, 0);
  cr_assert_eq(post("accounting.entry_on_goods_received", r, "0192f0a0-0000-7000-8000-000000002098", NULL),
               FOFAL_REACT_COMMAND);
  json_decref(r);
  cr_expect_eq(bal("311"), 12345);
  cr_expect_eq(bal("601"), 0, "the goods billed ahead are stock now");
  cr_expect_eq(bal("408"), 0);
  cr_expect_eq(bal("401"), -14691);
  r = receipt_event(7, 1000, 0); /* a second kg, not invoiced yet: 408 */
  cr_assert_eq(post("accounting.entry_on_goods_received", r, "0192f0a0-0000-7000-8000-000000002097", NULL),
               FOFAL_REACT_COMMAND);
  json_decref(r);
  cr_expect_eq(bal("408"), -12345);
}

/* A count's difference on a yarn lot, posted at its item's weighted average cost (CMUP),
 * the worked example of README "Accounting": 100 kg received at 18.000 per kg and 50 kg at
 * 21.000 are 2,850.000 for 150 kg, 19.000 per kg; 1,234 g missing is 23.446 (the last
 * price, 21.000, would say 25.914) debited to 603 and credited to 311. Then 0.333 kg at
 * 20.000 (6.660): 2,856.660 for 150.333 kg; 1,234 g missing is 23.448733… → 23.449 and
 * 500 g found 9.501107… → 9.501 the other way, each rounded once from the exact sums.
 * An item never received by weight is no_price; a woven unit's count is not posted. */
static int adjusted(const char *eid, const char *kind, const char *item, json_int_t delta) {
  json_t *ev = json_pack("{s:s,s:{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:s,s:s}}", "type", "fofal.inventory.stock_adjusted.v1",
                         "data", "holding", "LOT-1", "holding_id", "0192f0a0-0000-7000-8000-00000000a0a0", "kind", kind,
                         "count_id", "0192f0a0-0000-7000-8000-00000000c0c0", "location", "MP-A", "book", (json_int_t)50000,
                         "counted", 50000 + delta, "delta", delta, "reason", "count", "occurred_at",
                         "2026-03-20T10:00:00Z");
  if (item) json_object_set_new(json_object_get(ev, "data"), "item", json_string(item));
  int rc = post("accounting.entry_on_stock_adjusted", ev, eid, NULL);
  json_decref(ev);
  return rc;
}

/* A receipt (its event id n) of `q` thousandths of a kg of YRN-30 at `price` per kg. */
static void received_at(int n, json_int_t q, json_int_t price) {
  char eid[64];
  json_t *r = receipt_event(n, q, 0);
  json_object_set_new(json_array_get(json_object_get(json_object_get(r, "data"), "lines"), 0), "unit_price",
                      json_integer(price));
  snprintf(eid, sizeof eid, "0192f0a0-0000-7000-8000-0000000031%02d", n);
  cr_assert_eq(post("accounting.entry_on_goods_received", r, eid, NULL), FOFAL_REACT_COMMAND);
  json_decref(r);
}

Test(sales_postings, a_count_on_a_yarn_lot_is_valued_at_the_weighted_average_cost_of_its_receipts) {
  received_at(1, 100000, 18000);
  received_at(2, 50000, 21000);
  const json_t *cost = world_ref("accounting_item", "YRN-30");
  cr_expect_eq(jint(cost, "received_mg", 0), 150000000, "150 kg in mg");
  cr_expect_eq(jint(cost, "value_minor", 0), 2850000, "as posted to 311");
  cr_expect_eq(jint(cost, "per_kg_minor", 0), 19000, "the weighted average, 19.000 per kg");
  json_int_t stock = bal("311");
  cr_expect_eq(stock, 2850000);
  cr_assert_eq(adjusted("0192f0a0-0000-7000-8000-000000003002", "lot", "YRN-30", -1234), FOFAL_REACT_COMMAND);
  cr_expect_eq(bal("603"), 23446, "1.234 kg at 19.000, not at the last price (25.914)");
  cr_expect_eq(bal("311"), stock - 23446);
  received_at(3, 333, 20000);
  cost = world_ref("accounting_item", "YRN-30");
  cr_expect_eq(jint(cost, "received_mg", 0), 150333000);
  cr_expect_eq(jint(cost, "value_minor", 0), 2856660);
  cr_expect_eq(jint(cost, "per_kg_minor", 0), 19002, "19.002215… per kg, half up (for reading only)");
  stock = bal("311");
  cr_assert_eq(adjusted("0192f0a0-0000-7000-8000-000000003004", "lot", "YRN-30", -1234), FOFAL_REACT_COMMAND);
  cr_expect_eq(bal("603"), 23446 + 23449, "23.448733… half up, from the sums (19.002 × 1.234 would be 23.448)");
  cr_assert_eq(adjusted("0192f0a0-0000-7000-8000-000000003005", "lot", "YRN-30", 500), FOFAL_REACT_COMMAND);
  cr_expect_eq(bal("603"), 23446 + 23449 - 9501, "a gain credits 603: 9.501107… half up");
  cr_expect_eq(bal("311"), stock - 23449 + 9501);
  /* An item costed before the sums (item_priced: its last price per kg alone) is valued at
   * that price until its next receipt, from which its average starts. */
  char old[FOFAL_UUID_LEN + 1];
  fofal_aggregate_ref(W_TENANT, "accounting_item", "YRN-30", old);
  json_object_set_new(world, old,
                      json_pack("{s:s,s:s,s:I,s:I,s:s,s:s,s:s}", "item", "YRN-30", "unit", "kg", "unit_price",
                                (json_int_t)12345, "per_kg_minor", (json_int_t)12345, "receipt_id",
                                "0192f0a0-0000-7000-8000-000000001099", "order_id", PO2, "date", "2026-03-01"));
  json_int_t loss = bal("603");
  cr_assert_eq(adjusted("0192f0a0-0000-7000-8000-000000003009", "lot", "YRN-30", -1000), FOFAL_REACT_COMMAND);
  cr_expect_eq(bal("603"), loss + 12345, "1 kg at the last price of before");
  received_at(10, 2000, 15000);
  cost = world_ref("accounting_item", "YRN-30");
  cr_expect_eq(jint(cost, "received_mg", 0), 2000000, "the average starts from the next receipt");
  cr_expect_eq(jint(cost, "per_kg_minor", 0), 15000);
  cr_expect_eq(adjusted("0192f0a0-0000-7000-8000-000000003006", "unit", "EPONGE-50x100", -2), FOFAL_REACT_NOTHING,
               "a woven unit's count is not posted");
  cr_expect_eq(adjusted("0192f0a0-0000-7000-8000-000000003007", "lot", "YRN-30", 0), FOFAL_REACT_NOTHING);
  /* never received by weight: the decider refuses to guess */
  const fofal_reaction_t *re = fofal_reaction_find("accounting.entry_on_stock_adjusted");
  json_t *data = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:s,s:s,s:s}", "holding", "LOT-2", "holding_id",
                           "0192f0a0-0000-7000-8000-00000000a0a1", "kind", "lot", "count_id",
                           "0192f0a0-0000-7000-8000-00000000c0c0", "location", "MP-A", "book", 100, "counted", 90,
                           "delta", -10, "reason", "count", "occurred_at", "2026-03-20T10:00:00Z", "item", "CONE");
  fofal_event_t e = {.id = (char *)"0192f0a0-0000-7000-8000-000000003008",
                     .type = (char *)"fofal.inventory.stock_adjusted.v1", .tenant = (char *)W_TENANT,
                     .subject = (char *)"x", .seq = 1, .data = data};
  fofal_reaction_result_t res;
  cr_assert_eq(fofal_reaction_apply(reg, re, &e, "fofal.inventory.events", 0, 7, W_ISSUED, &res), FOFAL_REACT_COMMAND);
  world_as(res.cmd.actor, NULL);
  fofal_decision_t d;
  cr_expect_eq(world_decide_at(res.cmd.type, json_deep_copy(res.out.data), W_ISSUED, res.cmd.id, &d), FOFAL_EREJECTED);
  cr_expect_str_eq(d.code, "no_price", "cones are not priced by weight");
  world_release(&d);
  fofal_reaction_result_clear(&res);
  json_decref(data);
}
