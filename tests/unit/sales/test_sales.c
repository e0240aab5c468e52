/*
 * test_sales.c — commands/sales/: every rule of the sales deciders, through the registry
 * and an in-memory tenant (the production tests' world.h), each event checked against its
 * schema under schemas/sales/events/:
 *   - VAT per line, half up, with worked examples; the totals per rate;
 *   - invoice numbers without gaps per tenant and year: a refused invoice burns none, a
 *     new year starts at 00001, numbers follow dates;
 *   - deliveries: unknown or already shipped containers (a pallet's cartons with it), no
 *     more than is left to deliver;
 *   - credit notes never beyond what was invoiced; payments never beyond what is due
 *     unless the overpayment is said, refunds never beyond what was overpaid;
 *   - the tenant's VAT rates; customers.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "decide.h"
#include "jsonschema.h"
#include "../production/world.h"

json_int_t fofal_sales_vat(json_int_t net_minor, json_int_t rate_bp);

static fofal_registry_t *reg;

#define ORDER "0192f0a0-0000-7000-8000-00000000a001"
#define PALLET "0192f0a0-0000-7000-8000-00000000b001"
#define CARTON1 "0192f0a0-0000-7000-8000-00000000b002"
#define CARTON2 "0192f0a0-0000-7000-8000-00000000b003"
#define CARTON3 "0192f0a0-0000-7000-8000-00000000b004"

static void put(const char *id, json_t *state) { json_object_set_new(world, id, state); }

static void setup(void) {
  char err[512] = "";
  cr_assert_eq(fofal_registry_load(&reg, FOFAL_SOURCE_DIR "/schemas", err, sizeof err), 0, "registry: %s", err);
  world_init(reg);
  world_as("u:salma/accountant", NULL);
  /* The stores' containers, as inventory's deciders leave them. */
  put(PALLET, json_pack("{s:s,s:s,s:[s,s],s:s,s:i}", "kind_of", "pallet", "pallet_id", PALLET, "cartons", CARTON1, CARTON2,
                        "location", "PF", "pieces", 30));
  put(CARTON1, json_pack("{s:s,s:s,s:s}", "kind_of", "carton", "carton_id", CARTON1, "pallet_id", PALLET));
  put(CARTON2, json_pack("{s:s,s:s,s:s}", "kind_of", "carton", "carton_id", CARTON2, "pallet_id", PALLET));
  put(CARTON3, json_pack("{s:s,s:s}", "kind_of", "carton", "carton_id", CARTON3));
}

static void teardown(void) {
  world_free();
  fofal_registry_free(reg);
  reg = NULL;
}

TestSuite(sales, .init = setup, .fini = teardown);

static void check_event(const json_t *ev) {
  static const char prefix[] = "fofal.sales.";
  const char *type = json_string_value(json_object_get(ev, "type"));
  cr_assert(type && !strncmp(type, prefix, sizeof prefix - 1), "event type %s", type ? type : "(null)");
  char path[512], err[256];
  snprintf(path, sizeof path, "%s/schemas/sales/events/%s.json", FOFAL_SOURCE_DIR, type + sizeof prefix - 1);
  json_t *sj = json_load_file(path, 0, NULL);
  cr_assert_not_null(sj, "%s has no schema (%s)", type, path);
  fofal_schema_t *s = NULL;
  cr_assert_eq(fofal_schema_compile(&s, sj, path, err, sizeof err), 0, "%s: %s", path, err);
  json_t *errors = NULL;
  int rc = fofal_schema_validate(s, json_object_get(ev, "data"), &errors);
  char *es = errors ? json_dumps(errors, JSON_COMPACT) : NULL;
  cr_assert_eq(rc, 0, "%s does not match its schema: %s", type, es ? es : "");
  free(es);
  json_decref(errors);
  fofal_schema_free(s);
  json_decref(sj);
}

/* Decides, expects acceptance, checks every event (its own and the others'); the first
 * event's data (new). */
static json_t *accept(const char *type, json_t *data, const char *cmd_id) {
  fofal_decision_t d;
  int rc = world_decide_at(type, data, W_ISSUED, cmd_id, &d);
  cr_assert_eq(rc, 0, "%s (%s) rejected: %s: %s", type, cmd_id, d.code, d.detail);
  size_t i;
  json_t *ev;
  json_array_foreach(d.events, i, ev) check_event(ev);
  const char *k;
  json_t *o;
  json_object_foreach(d.others, k, o) json_array_foreach(json_object_get(o, "events"), i, ev) check_event(ev);
  json_t *first = json_incref(json_object_get(json_array_get(d.events, 0), "data"));
  world_release(&d);
  return first;
}

static void ok(const char *type, json_t *data, const char *cmd_id) { json_decref(accept(type, data, cmd_id)); }

static void customer(const char *code, int terms) {
  ok("sales.customer.register",
     json_pack("{s:s,s:s,s:s,s:i}", "customer", code, "name", "Hôtel Hammamet", "vat_id", "1234567A/A/M/000",
               "payment_terms_days", terms),
     code);
}

/* An order of 2 lines: 100 FT-200 at 12.500 TND (19 %), 40 PS-50 at 3.333 TND (7 %). */
static void order(void) {
  customer("C-HAM", 30);
  ok("sales.order.place",
     json_pack("{s:s,s:s,s:s,s:[{s:s,s:i,s:i},{s:s,s:i,s:i,s:i}]}", "order_id", ORDER, "customer", "C-HAM", "date",
               "2026-03-02", "lines", "article", "FT-200", "quantity", 100, "unit_price_minor", 12500, "article",
               "PS-50", "quantity", 40, "unit_price_minor", 3333, "vat_bp", 700),
     "order");
}

static char *uuid_n(char *buf, int n) {
  snprintf(buf, 37, "0192f0a0-0000-7000-8000-%012d", n);
  return buf;
}

/* Ships q1 of line 1 and q2 of line 2 (0: not that line) in `container` as delivery n. */
static json_t *ship(int n, const char *container, int q1, int q2, const char *date) {
  char id[37], key[32];
  json_t *lines = json_array();
  if (q1) json_array_append_new(lines, json_pack("{s:i,s:i}", "line", 1, "quantity", q1));
  if (q2) json_array_append_new(lines, json_pack("{s:i,s:i}", "line", 2, "quantity", q2));
  snprintf(key, sizeof key, "ship-%d", n);
  return json_pack("{s:s,s:s,s:s,s:[s],s:o}", "delivery_id", uuid_n(id, 100 + n), "order_id", ORDER, "date", date,
                   "containers", container, "lines", lines);
}

static json_t *invoice(int n, int delivery, const char *date) {
  char id[37], dl[37];
  return json_pack("{s:s,s:s,s:s}", "invoice_id", uuid_n(id, 200 + n), "delivery_id", uuid_n(dl, 100 + delivery), "date",
                   date);
}

/* ------------------------------------------------------------------ VAT */

Test(sales, vat_is_per_line_rounded_half_up) {
  /* 12.345 TND at 19 % = 2.34555 → 2.346 (half up at the millime). */
  cr_expect_eq(fofal_sales_vat(12345, 1900), 2346);
  /* 2.500 at 7 % = 0.175 exactly; 0.050 at 13 % = 0.0065 → 0.007 (half up); 0.003 at 13 % =
   * 0.00039 → 0. */
  cr_expect_eq(fofal_sales_vat(2500, 700), 175);
  cr_expect_eq(fofal_sales_vat(50, 1300), 7);
  cr_expect_eq(fofal_sales_vat(3, 1300), 0);
  cr_expect_eq(fofal_sales_vat(1000000, 0), 0);
  /* 0.0045 → 0.005: exactly half rounds up. 25 × 19 % = 4.75 → 5; 15 × 1900 bp = 2.85 → 3. */
  cr_expect_eq(fofal_sales_vat(25, 1900), 5);
  cr_expect_eq(fofal_sales_vat(150, 300), 5, "150 × 3 %% = 4.5 → 5");
  /* The caps: 10^6 pieces × 10^8 millimes at 100 % stays inside 64 bits. */
  cr_expect_eq(fofal_sales_vat(100000000000000LL, 10000), 100000000000000LL);
}

Test(sales, an_invoice_adds_its_lines_vat_per_rate) {
  order();
  ok("sales.delivery.ship", ship(1, PALLET, 100, 40, "2026-03-05"), "ship-1");
  json_t *ev = accept("sales.invoice.issue", invoice(1, 1, "2026-03-06"), "inv-1");
  /* 100 × 12.500 = 1,250.000 at 19 % = 237.500; 40 × 3.333 = 133.320 at 7 % = 9.3324 → 9.332. */
  cr_expect_str_eq(jstr(ev, "number"), "FA-2026-00001");
  cr_expect_eq(jint(ev, "net_minor", 0), 1383320);
  cr_expect_eq(jint(ev, "vat_minor", 0), 237500 + 9332);
  cr_expect_eq(jint(ev, "total_minor", 0), 1383320 + 246832);
  const json_t *vat = json_object_get(ev, "vat");
  cr_assert_eq(json_array_size(vat), 2);
  cr_expect_eq(jint(json_array_get(vat, 0), "vat_bp", 0), 1900, "highest rate first");
  cr_expect_eq(jint(json_array_get(vat, 0), "base_minor", 0), 1250000);
  cr_expect_eq(jint(json_array_get(vat, 1), "vat_minor", 0), 9332);
  cr_expect_str_eq(jstr(ev, "due_date"), "2026-04-05", "30 days of the customer's terms");
  cr_expect_str_eq(jstr(ev, "customer_vat_id"), "1234567A/A/M/000");
  cr_expect_str_eq(jstr(ev, "issued_by"), "u:salma/accountant");
  json_decref(ev);
}

/* Per line, not per invoice: three lines of 0.050 at 13 % are 3 × 0.007 = 0.021, where
 * rounding their sum (0.150 → 0.0195 → 0.020) would give one millime less. */
Test(sales, rounding_is_per_line_not_per_invoice) {
  customer("C-R", 0);
  char oid[37] = "0192f0a0-0000-7000-8000-00000000a0ff", dl[37], iv[37];
  ok("sales.order.place",
     json_pack("{s:s,s:s,s:s,s:[{s:s,s:i,s:i,s:i},{s:s,s:i,s:i,s:i},{s:s,s:i,s:i,s:i}]}", "order_id", oid, "customer",
               "C-R", "date", "2026-03-02", "lines", "article", "A", "quantity", 1, "unit_price_minor", 50, "vat_bp", 1300,
               "article", "B", "quantity", 1, "unit_price_minor", 50, "vat_bp", 1300, "article", "C", "quantity", 1,
               "unit_price_minor", 50, "vat_bp", 1300),
     "order-r");
  ok("sales.delivery.ship",
     json_pack("{s:s,s:s,s:s,s:[s],s:[{s:i,s:i},{s:i,s:i},{s:i,s:i}]}", "delivery_id", uuid_n(dl, 190), "order_id", oid,
               "date", "2026-03-03", "containers", CARTON3, "lines", "line", 1, "quantity", 1, "line", 2, "quantity", 1,
               "line", 3, "quantity", 1),
     "ship-r");
  json_t *ev = accept("sales.invoice.issue",
                      json_pack("{s:s,s:s,s:s}", "invoice_id", uuid_n(iv, 290), "delivery_id", dl, "date", "2026-03-03"),
                      "inv-r");
  cr_expect_eq(jint(ev, "vat_minor", 0), 21);
  cr_expect_eq(jint(ev, "total_minor", 0), 171);
  json_decref(ev);
}

Test(sales, vat_rates_are_the_tenants) {
  customer("C-V", 0);
  json_t *o = json_pack("{s:s,s:s,s:s,s:[{s:s,s:i,s:i,s:i}]}", "order_id", ORDER, "customer", "C-V", "date", "2026-03-02",
                        "lines", "article", "FT-200", "quantity", 1, "unit_price_minor", 100, "vat_bp", 1800);
  world_no("sales.order.place", json_deep_copy(o), "unknown_vat_rate");
  ok("sales.settings.set", json_pack("{s:s,s:[i,i]}", "settings", "default", "vat_rates_bp", 1800, 0), "rates");
  ok("sales.order.place", json_deep_copy(o), "order-18");
  json_decref(o);
  world_no("sales.settings.set", json_pack("{s:s,s:[i,i]}", "settings", "default", "vat_rates_bp", 700, 700),
           "duplicate_rate");
  /* 19 % is no longer one of this tenant's. */
  char oid[37];
  world_no("sales.order.place",
           json_pack("{s:s,s:s,s:s,s:[{s:s,s:i,s:i}]}", "order_id", uuid_n(oid, 77), "customer", "C-V", "date",
                     "2026-03-02", "lines", "article", "FT-200", "quantity", 1, "unit_price_minor", 100),
           "unknown_vat_rate");
}

/* ------------------------------------------------------------ numbering */

Test(sales, invoice_numbers_have_no_gaps_and_a_refused_one_burns_none) {
  order();
  ok("sales.delivery.ship", ship(1, CARTON1, 10, 0, "2026-03-05"), "ship-1");
  ok("sales.delivery.ship", ship(2, CARTON2, 10, 0, "2026-03-05"), "ship-2");
  ok("sales.delivery.ship", ship(3, CARTON3, 10, 0, "2026-03-05"), "ship-3");
  json_t *ev = accept("sales.invoice.issue", invoice(1, 1, "2026-03-06"), "inv-1");
  cr_expect_str_eq(jstr(ev, "number"), "FA-2026-00001");
  json_decref(ev);
  /* Refused: the delivery is invoiced already; an unknown delivery; before the delivery. */
  world_no("sales.invoice.issue", invoice(2, 1, "2026-03-06"), "already_invoiced");
  world_no("sales.invoice.issue", invoice(2, 9, "2026-03-06"), "unknown_delivery");
  world_no("sales.invoice.issue", invoice(2, 2, "2026-03-04"), "date_before_delivery");
  ev = accept("sales.invoice.issue", invoice(2, 2, "2026-03-07"), "inv-2");
  cr_expect_str_eq(jstr(ev, "number"), "FA-2026-00002", "no number was burnt by the refusals");
  json_decref(ev);
  const json_t *num = world_ref("sales_numbering", "FA-2026");
  cr_expect_eq(jint(num, "last", 0), 2);
  /* Numbers follow dates: no later number dated earlier. */
  world_no("sales.invoice.issue", invoice(3, 3, "2026-03-06"), "date_before_last_number");
  /* A new year starts again at 1. */
  ev = accept("sales.invoice.issue", invoice(3, 3, "2027-01-02"), "inv-3");
  cr_expect_str_eq(jstr(ev, "number"), "FA-2027-00001");
  json_decref(ev);
}

/* ------------------------------------------------------------ deliveries */

Test(sales, a_delivery_ships_known_containers_once) {
  order();
  char id[37];
  world_no("sales.delivery.ship", ship(1, uuid_n(id, 999), 1, 0, "2026-03-05"), "unknown_container");
  world_no("sales.delivery.ship", ship(1, ORDER, 1, 0, "2026-03-05"), "unknown_container");
  json_t *ev = accept("sales.delivery.ship", ship(1, PALLET, 60, 0, "2026-03-05"), "ship-1");
  cr_expect_str_eq(jstr(ev, "customer"), "C-HAM");
  json_decref(ev);
  world_no("sales.delivery.ship", ship(2, PALLET, 1, 0, "2026-03-05"), "container_shipped");
  world_no("sales.delivery.ship", ship(2, CARTON1, 1, 0, "2026-03-05"), "container_shipped");
  json_t *dup = ship(2, CARTON3, 1, 0, "2026-03-05");
  json_array_append_new(json_object_get(dup, "containers"), json_string(CARTON3));
  world_no("sales.delivery.ship", dup, "duplicate_container");
  cr_expect_not_null(world_ref("sales_shipment", CARTON2), "a pallet's cartons leave with it");
}

Test(sales, a_delivery_never_ships_more_than_is_left) {
  world_no("sales.delivery.ship", ship(1, CARTON3, 1, 0, "2026-03-05"), "unknown_order");
  order();
  ok("sales.delivery.ship", ship(1, CARTON1, 60, 40, "2026-03-05"), "ship-1");
  world_no("sales.delivery.ship", ship(2, CARTON2, 41, 0, "2026-03-05"), "over_delivery");
  world_no("sales.delivery.ship", ship(2, CARTON2, 0, 1, "2026-03-05"), "over_delivery");
  char id[37];
  world_no("sales.delivery.ship",
           json_pack("{s:s,s:s,s:s,s:[s],s:[{s:i,s:i}]}", "delivery_id", uuid_n(id, 150), "order_id", ORDER, "date",
                     "2026-03-05", "containers", CARTON2, "lines", "line", 3, "quantity", 1),
           "unknown_line");
  world_no("sales.delivery.ship", ship(2, CARTON2, 40, 0, "2026-02-30"), "invalid_date");
  ok("sales.delivery.ship", ship(2, CARTON2, 40, 0, "2026-03-06"), "ship-2");
  cr_expect_eq(jint(json_array_get(json_object_get(json_object_get(world, ORDER), "lines"), 0), "delivered", 0), 100);
}

Test(sales, an_order_is_a_registered_customers) {
  world_no("sales.order.place",
           json_pack("{s:s,s:s,s:s,s:[{s:s,s:i,s:i}]}", "order_id", ORDER, "customer", "C-NONE", "date", "2026-03-02",
                     "lines", "article", "FT-200", "quantity", 1, "unit_price_minor", 100),
           "unknown_customer");
}

Test(sales, customers_are_registered_and_updated) {
  customer("C-HAM", 30);
  world_no("sales.customer.update", json_pack("{s:s}", "customer", "C-HAM"), "nothing_to_update");
  ok("sales.customer.update", json_pack("{s:s,s:i,s:s}", "customer", "C-HAM", "payment_terms_days", 60, "currency", "EUR"),
     "upd");
  const json_t *c = world_ref("customer", "C-HAM");
  cr_expect_eq(jint(c, "payment_terms_days", 0), 60);
  cr_expect_str_eq(jstr(c, "currency"), "EUR");
  cr_expect_str_eq(jstr(c, "name"), "Hôtel Hammamet");
}

/* ------------------------------------------------------- credit notes */

static json_t *credit(int n, const char *inv, int q1, int q2, const char *date) {
  char id[37];
  json_t *lines = json_array();
  if (q1) json_array_append_new(lines, json_pack("{s:i,s:i}", "line", 1, "quantity", q1));
  if (q2) json_array_append_new(lines, json_pack("{s:i,s:i}", "line", 2, "quantity", q2));
  return json_pack("{s:s,s:s,s:s,s:s,s:o}", "invoice_id", inv, "credit_note_id", uuid_n(id, 300 + n), "date", date,
                   "reason", "défaut de tissage", "lines", lines);
}

#define INV1 "0192f0a0-0000-7000-8000-000000000201"

static void invoiced(void) {
  order();
  ok("sales.delivery.ship", ship(1, PALLET, 100, 40, "2026-03-05"), "ship-1");
  ok("sales.invoice.issue", invoice(1, 1, "2026-03-06"), "inv-1");
}

Test(sales, a_credit_note_never_credits_more_than_invoiced) {
  invoiced();
  json_t *ev = accept("sales.credit_note.issue", credit(1, INV1, 10, 0, "2026-03-10"), "cn-1");
  /* 10 × 12.500 = 125.000 + 19 % 23.750 = 148.750. */
  cr_expect_str_eq(jstr(ev, "number"), "AV-2026-00001");
  cr_expect_eq(jint(ev, "total_minor", 0), 148750);
  cr_expect_eq(jint(ev, "due_minor", 0), 1630152 - 148750);
  json_decref(ev);
  world_no("sales.credit_note.issue", credit(2, INV1, 91, 0, "2026-03-10"), "over_credit");
  world_no("sales.credit_note.issue", credit(2, INV1, 0, 41, "2026-03-10"), "over_credit");
  world_no("sales.credit_note.issue", credit(2, INV1, 1, 0, "2026-03-01"), "date_before_invoice");
  ev = accept("sales.credit_note.issue", credit(2, INV1, 90, 40, "2026-03-11"), "cn-2");
  cr_expect_str_eq(jstr(ev, "number"), "AV-2026-00002");
  cr_expect_eq(jint(ev, "due_minor", -1), 0, "all credited: nothing due");
  json_decref(ev);
  world_no("sales.credit_note.issue", credit(3, INV1, 1, 0, "2026-03-12"), "over_credit");
}

/* ------------------------------------------------------------ payments */

static json_t *pay(int n, const char *direction, const char *account, json_int_t amount, const char *date) {
  char id[37];
  return json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "invoice_id", INV1, "payment_id", uuid_n(id, 400 + n), "direction",
                   direction, "account", account, "amount_minor", amount, "date", date);
}

Test(sales, a_payment_never_exceeds_what_is_due_unless_said) {
  invoiced(); /* 1,630.152 TND due */
  json_t *ev = accept("sales.payment.record", pay(1, "received", "bank", 1000000, "2026-03-20"), "pay-1");
  cr_expect_eq(jint(ev, "due_minor", 0), 630152);
  cr_expect_str_eq(jstr(ev, "recorded_by"), "u:salma/accountant");
  json_decref(ev);
  world_no("sales.payment.record", pay(2, "received", "cash", 630153, "2026-03-21"), "over_payment");
  world_no("sales.payment.record", pay(1, "received", "cash", 1, "2026-03-21"), "duplicate_payment");
  world_no("sales.payment.record", pay(2, "received", "cash", 1, "2026-03-01"), "date_before_invoice");
  world_no("sales.payment.record", pay(2, "made", "cash", 1, "2026-03-21"), "over_refund");
  json_t *p = pay(2, "received", "cash", 630200, "2026-03-21");
  json_object_set_new(p, "overpayment", json_true());
  ev = accept("sales.payment.record", p, "pay-2");
  cr_expect_eq(jint(ev, "overpaid_minor", 0), 48, "the excess is recorded");
  cr_expect_eq(jint(ev, "due_minor", 0), -48);
  json_decref(ev);
  /* Paying back the customer: never more than they paid beyond what was due. */
  world_no("sales.payment.record", pay(3, "made", "cash", 49, "2026-03-22"), "over_refund");
  ev = accept("sales.payment.record", pay(3, "made", "cash", 48, "2026-03-22"), "pay-3");
  cr_expect_eq(jint(ev, "due_minor", -1), 0);
  json_decref(ev);
}

Test(sales, a_credit_note_after_payment_can_be_paid_back) {
  invoiced();
  ok("sales.payment.record", pay(1, "received", "bank", 1630152, "2026-03-20"), "pay-1");
  ok("sales.credit_note.issue", credit(1, INV1, 10, 0, "2026-03-21"), "cn-1");
  world_no("sales.payment.record", pay(2, "made", "bank", 148751, "2026-03-22"), "over_refund");
  ok("sales.payment.record", pay(2, "made", "bank", 148750, "2026-03-22"), "pay-2");
}

/* ------------------------------------------------------ supplier invoices */

#define PO "0192f0a0-0000-7000-8000-00000000e001"

/* A purchase order of purchasing (its decider's state): 1,000 kg of yarn at 18.000 TND/kg
 * ordered from F-SAHEL, 600 kg received. */
static void purchase_order(void) {
  put(PO, json_pack("{s:s,s:s,s:[{s:i,s:s,s:i,s:s,s:i,s:i,s:i}],s:i,s:[]}", "status", "partly_received", "supplier",
                    "F-SAHEL", "lines", "line", 1, "item", "YRN-NE20-2", "quantity_milli", 1000000, "unit", "kg",
                    "unit_price", 18000, "received_milli", 600000, "refused_milli", 0, "total", 18000000, "receipts"));
}

static json_t *supplier_invoice(int n, const char *number, int quantity_milli, int unit_price) {
  char id[37];
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:[{s:i,s:i,s:i}]}", "supplier_invoice_id", uuid_n(id, 500 + n), "supplier",
                   "F-SAHEL", "supplier_number", number, "order_id", PO, "date", "2026-03-10", "due_date", "2026-04-09",
                   "lines", "line", 1, "quantity_milli", quantity_milli, "unit_price", unit_price);
}

Test(sales, a_supplier_invoice_matching_order_and_receipts_is_matched) {
  purchase_order();
  json_t *ev = accept("sales.supplier_invoice.record", supplier_invoice(1, "F-2026-311", 500000, 18000), "si-1");
  /* 500 kg × 18.000 = 9,000.000 TND + 19 % = 10,710.000. */
  cr_expect_str_eq(jstr(ev, "status"), "matched");
  cr_expect_eq(jint(ev, "net_minor", 0), 9000000);
  cr_expect_eq(jint(ev, "total_minor", 0), 10710000);
  cr_expect_eq(json_array_size(json_object_get(ev, "mismatches")), 0);
  json_decref(ev);
  /* Within the 2 % tolerance: 100 kg more (612 kg of 600 received) at 18.360 (2 % above). */
  ev = accept("sales.supplier_invoice.record", supplier_invoice(2, "F-2026-312", 112000, 18360), "si-2");
  cr_expect_str_eq(jstr(ev, "status"), "matched");
  json_decref(ev);
}

Test(sales, a_supplier_invoice_beyond_receipts_or_price_is_held_with_its_mismatch) {
  purchase_order();
  json_decref(accept("sales.supplier_invoice.record", supplier_invoice(1, "F-2026-311", 500000, 18000), "si-1"));
  /* 18.361 is more than 2 % above 18.000. */
  json_t *ev = accept("sales.supplier_invoice.record", supplier_invoice(3, "F-2026-313", 1000, 18361), "si-3");
  cr_expect_str_eq(jstr(json_array_get(json_object_get(ev, "mismatches"), 0), "reason"), "price_differs");
  json_decref(ev);
  /* 500 + 1 + 113 = 614 kg invoiced of 600 received: beyond 2 %. */
  ev = accept("sales.supplier_invoice.record", supplier_invoice(2, "F-2026-312", 113000, 18000), "si-2");
  cr_expect_str_eq(jstr(ev, "status"), "held");
  const json_t *m = json_array_get(json_object_get(ev, "mismatches"), 0);
  cr_expect_str_eq(jstr(m, "reason"), "quantity_not_received");
  cr_expect_eq(jint(m, "invoiced_milli", 0), 614000);
  json_decref(ev);
  /* A line the order does not have. */
  char id[37];
  ev = accept("sales.supplier_invoice.record",
              json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:[{s:i,s:i,s:i}]}", "supplier_invoice_id", uuid_n(id, 504), "supplier",
                        "F-SAHEL", "supplier_number", "F-2026-314", "order_id", PO, "date", "2026-03-10", "due_date",
                        "2026-04-09", "lines", "line", 2, "quantity_milli", 1000, "unit_price", 1),
              "si-4");
  cr_expect_str_eq(jstr(json_array_get(json_object_get(ev, "mismatches"), 0), "reason"), "unknown_line");
  json_decref(ev);
  /* A tenant's own tolerance: 0 % holds what 2 % matched. */
  ok("sales.settings.set", json_pack("{s:s,s:[i],s:i}", "settings", "default", "vat_rates_bp", 1900, "match_tolerance_pct", 0),
     "tol-0");
  ev = accept("sales.supplier_invoice.record", supplier_invoice(5, "F-2026-315", 1000, 18001), "si-5");
  cr_expect_str_eq(jstr(ev, "status"), "held");
  json_decref(ev);
}

Test(sales, a_supplier_invoice_is_recorded_once_and_of_its_order) {
  purchase_order();
  char id[37];
  world_no("sales.supplier_invoice.record",
           json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:[{s:i,s:i,s:i}]}", "supplier_invoice_id", uuid_n(id, 509), "supplier",
                     "F-SAHEL", "supplier_number", "X-1", "order_id", ORDER, "date", "2026-03-10", "due_date", "2026-04-09",
                     "lines", "line", 1, "quantity_milli", 1000, "unit_price", 18000),
           "unknown_purchase_order");
  json_t *other = supplier_invoice(1, "F-2026-311", 1000, 18000);
  json_object_set_new(other, "supplier", json_string("F-AUTRE"));
  world_no("sales.supplier_invoice.record", other, "supplier_mismatch");
  json_t *late = supplier_invoice(1, "F-2026-311", 1000, 18000);
  json_object_set_new(late, "due_date", json_string("2026-03-09"));
  world_no("sales.supplier_invoice.record", late, "invalid_date");
  json_decref(accept("sales.supplier_invoice.record", supplier_invoice(1, "F-2026-311", 1000, 18000), "si-1"));
  world_no("sales.supplier_invoice.record", supplier_invoice(2, "F-2026-311", 1000, 18000), "duplicate_supplier_invoice");
}

static json_t *supplier_pay(int invoice, int n, json_int_t amount) {
  char id[37], pid[37];
  return json_pack("{s:s,s:s,s:s,s:I,s:s}", "supplier_invoice_id", uuid_n(id, 500 + invoice), "payment_id",
                   uuid_n(pid, 600 + n), "account", "bank", "amount_minor", amount, "date", "2026-03-25");
}

Test(sales, a_held_supplier_invoice_is_paid_only_once_approved_by_another) {
  purchase_order();
  json_decref(accept("sales.supplier_invoice.record", supplier_invoice(1, "F-2026-311", 700000, 18000), "si-1"));
  /* 700 kg of 600 received: held. 700 × 18.000 = 12,600.000 + 19 % = 14,994.000. */
  world_no("sales.supplier_payment.record", supplier_pay(1, 1, 1000), "invoice_held");
  char id[37];
  world_no("sales.supplier_invoice.approve",
           json_pack("{s:s,s:s}", "supplier_invoice_id", uuid_n(id, 501), "reason", "100 kg livrés hors bon"),
           "same_person");
  world_as("u:karim/manager", NULL);
  json_t *ev = accept("sales.supplier_invoice.approve",
                      json_pack("{s:s,s:s}", "supplier_invoice_id", uuid_n(id, 501), "reason", "100 kg livrés hors bon"),
                      "approve");
  cr_expect_eq(jint(ev, "total_minor", 0), 14994000);
  cr_expect_str_eq(jstr(ev, "approved_by"), "u:karim/manager");
  json_decref(ev);
  world_no("sales.supplier_invoice.approve",
           json_pack("{s:s,s:s}", "supplier_invoice_id", id, "reason", "again"), "not_held");
  world_no("sales.supplier_payment.record", supplier_pay(1, 1, 14994001), "over_payment");
  ev = accept("sales.supplier_payment.record", supplier_pay(1, 1, 14000000), "sp-1");
  cr_expect_eq(jint(ev, "due_minor", 0), 994000);
  json_decref(ev);
  world_no("sales.supplier_payment.record", supplier_pay(1, 1, 1), "duplicate_payment");
  world_no("sales.supplier_payment.record", supplier_pay(1, 2, 994001), "over_payment");
  ok("sales.supplier_payment.record", supplier_pay(1, 2, 994000), "sp-2");
}
