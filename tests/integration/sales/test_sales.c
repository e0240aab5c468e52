/*
 * test_sales.c — the sales module and its postings against the real stack (decider,
 * projector, reactor, API; Kafka, PostgreSQL, Redis), through the API, one lean chain:
 *   customer → order → a delivery of a pallet the stores built (an unknown container is
 *   422 unknown_container) → its invoice FA-2026-00001 → a refused invoice (the delivery
 *   is invoiced already: 422) → the next delivery's invoice FA-2026-00002, no gap → a
 *   payment received (one beyond what is due: 422 over_payment) → the invoice, aged
 *   receivables and treasury reads → the postings by reaction in the trial balance (411
 *   is what is still owed, 701 the sales, 4366 the VAT, 532 the bank) with the invoice's
 *   event as the entry's source;
 *   (the aged receivables also as CSV and PDF, the payables as PDF: read back);
 *   purchase order → receipt → a supplier invoice that matches (posted, paid) and one
 *   beyond the receipt (held: not payable until approved) → aged payables → the receipt
 *   in 311 / 408, the invoice clearing 408 to zero, 601 the part beyond the receipt, 401,
 *   532 read back exact;
 *   a weaver reads none of it (403); a salesperson registers a customer and reads an order
 *   but reads no invoice, treasury or ledger and issues no invoice (403); `fofal verify sales`.
 * A tenant of its own.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "harness.h"

static int port;
static pid_t dec, proj, api, rea;
static char tenant[32];
static char *adm;

static void setup(void) {
  h_tenant(tenant);
  adm = h_token(tenant, "admin");
  port = h_free_port();
  dec = h_start_decider("it-sales");
  /* Only the projections this test reads: on a loaded machine every one of them is a
   * Kafka client to authenticate before the projector runs. */
  const char *env[] = {"FOFAL_LOG_LEVEL=info", "FOFAL_PROJECTOR_NAMES=sales,accounting", NULL};
  proj = h_spawn("projections/fofal-projector", "test-projector-it-sales", NULL, env);
  rea = h_start_reactor("it-sales");
  api = h_start_api(port);
}

static void teardown(void) {
  h_stop(api, SIGTERM);
  h_stop(rea, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
  free(adm);
}

TestSuite(sales, .init = setup, .fini = teardown, .timeout = 300);

static const char *s_of(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)) ?: ""; }
static json_int_t i_of(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* A command that must be accepted; its 201 body (new). */
static json_t *cmd(const char *token, const char *type, const char *key, const char *body) {
  json_t *res = NULL;
  int st = h_command_ok(port, token, type, key, NULL, body, &res);
  cr_assert_eq(st, 201, "%s %s: %d %s", type, body, st, s_of(res, "detail"));
  return res;
}
static void ok(const char *token, const char *type, const char *key, const char *body) {
  json_decref(cmd(token, type, key, body));
}

/* A command that must be refused with 422 `code`. */
static void refused(const char *token, const char *type, const char *key, const char *body, const char *code) {
  json_t *res = NULL;
  int st = h_command(port, token, type, key, NULL, body, &res);
  cr_expect_eq(st, 422, "%s: %d, want 422 %s", type, st, code);
  cr_expect_str_eq(s_of(res, "code"), code);
  json_decref(res);
}

/* The issued invoice number of a 201 answer. */
static void number_of(const json_t *r, char out[32]) {
  size_t i;
  json_t *e;
  out[0] = 0;
  json_array_foreach(json_object_get(r, "events"), i, e) if (strstr(s_of(e, "type"), ".invoice_issued."))
      snprintf(out, 32, "%s", s_of(json_object_get(e, "issued"), "number"));
}

/* An SSCC-18 with its GS1 check digit. */
static void sscc(int serial, char out[19]) {
  char body[18];
  snprintf(body, sizeof body, "06190001%09d", serial);
  int t = 0;
  for (int i = 0; i < 17; i++) t += (body[i] - '0') * (i % 2 == 0 ? 3 : 1);
  snprintf(out, 19, "%s%d", body, (10 - t % 10) % 10);
}

/* Two cartons of the stores (the first on a pallet): rolls of a production order,
 * received (as the reaction would), packed and palletised. */
static void containers(char pallet[FOFAL_UUID_LEN + 1], char carton2[FOFAL_UUID_LEN + 1]) {
  char b[600], order[FOFAL_UUID_LEN + 1], units[3][FOFAL_UUID_LEN + 1], carton1[FOFAL_UUID_LEN + 1], key[32], code[19];
  h_floor_http(port, tenant, "L1", "W1", "FT-SA");
  json_t *r = cmd(adm, "production.order.create", "sa-porder", "{\"article\":\"FT-SA\",\"quantity\":100}");
  snprintf(order, sizeof order, "%s", s_of(r, "aggregate"));
  json_decref(r);
  for (int i = 0; i < 3; i++) {
    fofal_uuid7(units[i]);
    snprintf(key, sizeof key, "sa-unit-%d", i);
    snprintf(b, sizeof b,
             "{\"label_id\":\"%s\",\"order_id\":\"%s\",\"article\":\"FT-SA\",\"loom\":\"L1\",\"weaver\":\"W1\","
             "\"shift\":\"2026-03-02/A\",\"quantity\":20,\"woven_at\":\"2026-03-02T07:00:00Z\"}",
             units[i], order);
    ok(adm, "inventory.unit.receive", key, b);
  }
  fofal_uuid7(carton1);
  fofal_uuid7(carton2);
  fofal_uuid7(pallet);
  snprintf(b, sizeof b, "{\"carton_id\":\"%s\",\"units\":[\"%s\",\"%s\"]}", carton1, units[0], units[1]);
  ok(adm, "inventory.carton.pack", "sa-carton-1", b);
  snprintf(b, sizeof b, "{\"carton_id\":\"%s\",\"units\":[\"%s\"]}", carton2, units[2]);
  ok(adm, "inventory.carton.pack", "sa-carton-2", b);
  sscc(4242, code);
  snprintf(b, sizeof b, "{\"pallet_id\":\"%s\",\"sscc\":\"%s\",\"cartons\":[\"%s\"]}", pallet, code, carton1);
  ok(adm, "inventory.pallet.build", "sa-pallet", b);
}

static json_t *get_ok(const char *token, const char *path) {
  json_t *b = NULL;
  int st = h_get(port, token, path, &b, NULL);
  cr_assert_eq(st, 200, "GET %s: %d %s", path, st, s_of(b, "detail"));
  return b;
}

/* GET `path` with `accept` (NULL: none): its body (new) after checking the status and
 * that the Content-Type starts with `ctype`. */
static char *get_raw(const char *token, const char *path, const char *accept, const char *ctype, size_t *len) {
  char hdr[2048];
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n%s%s%s", token, accept ? "Accept: " : "", accept ? accept : "",
           accept ? "\r\n" : "");
  h_resp_t r = {0};
  cr_assert_eq(h_http(port, "GET", path, hdr, NULL, &r, 30000), 0, "no answer to GET %s", path);
  cr_assert_eq(r.status, 200, "GET %s: %d %s", path, r.status, r.body ? r.body : "");
  char *ct = h_resp_header(&r, "content-type");
  cr_expect(ct && !strncmp(ct, ctype, strlen(ctype)), "GET %s: Content-Type %s", path, ct ? ct : "(none)");
  free(ct);
  char *body = r.body;
  *len = r.body_len;
  r.body = NULL;
  h_resp_free(&r);
  return body;
}

/* GET `path` as PDF: its text by poppler's pdftotext (new). */
static char *get_pdf_text(const char *token, const char *path, const char *accept) {
  size_t len;
  char *pdf = get_raw(token, path, accept, "application/pdf", &len);
  cr_assert(len > 5 && !memcmp(pdf, "%PDF-", 5), "GET %s is no PDF", path);
  char in[] = "/tmp/fofal-it-pdf-XXXXXX", cmd[128];
  int fd = mkstemp(in);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, pdf, len), (ssize_t)len);
  close(fd);
  free(pdf);
  snprintf(cmd, sizeof cmd, "pdftotext -layout %s -", in);
  FILE *f = popen(cmd, "r");
  cr_assert_not_null(f);
  char *text = calloc(1, 1 << 16);
  size_t n = fread(text, 1, (1 << 16) - 1, f);
  text[n] = 0;
  cr_expect_eq(pclose(f), 0, "pdftotext (poppler-utils, ops/setup)");
  unlink(in);
  return text;
}

static json_int_t balance(const json_t *tb, const char *account) {
  size_t k;
  json_t *a;
  json_array_foreach(json_object_get(tb, "accounts"), k, a) if (!strcmp(s_of(a, "account"), account))
      return i_of(a, "balance_minor");
  return 0;
}

/* The trial balance once the reactions have posted everything: 411, 401, 532 and 311 at
 * what they should be (bounded 90 s: the reactor and projector of a loaded machine). */
static json_t *trial_balance_when(const char *token, json_int_t b411, json_int_t b401, json_int_t b532,
                                  json_int_t b311) {
  for (int i = 0; i < 180; i++) {
    json_t *b = get_ok(token, "/api/v1/accounting/trial-balance");
    if (balance(b, "411") == b411 && balance(b, "401") == b401 && balance(b, "532") == b532 &&
        balance(b, "311") == b311)
      return b;
    json_decref(b);
    usleep(500 * 1000);
  }
  cr_assert_fail("the postings never reached the trial balance");
  return NULL;
}

Test(sales, customer_order_delivery_invoices_without_gaps_payment_and_postings) {
  char pallet[FOFAL_UUID_LEN + 1], carton2[FOFAL_UUID_LEN + 1], order[FOFAL_UUID_LEN + 1], d1[FOFAL_UUID_LEN + 1],
      d2[FOFAL_UUID_LEN + 1], i1[FOFAL_UUID_LEN + 1], i2[FOFAL_UUID_LEN + 1], bogus[FOFAL_UUID_LEN + 1], pay[FOFAL_UUID_LEN + 1];
  char b[800], path[256], number[32];
  char *acc = h_token(tenant, "accountant"), *mgr = h_token(tenant, "manager"), *wv = h_token(tenant, "weaver");
  containers(pallet, carton2);

  ok(mgr, "sales.customer.register", "sa-cust",
     "{\"customer\":\"C-IT\",\"name\":\"Hôtel Test\",\"vat_id\":\"1234567A/A/M/000\",\"payment_terms_days\":30}");
  fofal_uuid7(order);
  snprintf(b, sizeof b,
           "{\"order_id\":\"%s\",\"customer\":\"C-IT\",\"date\":\"2026-03-02\",\"lines\":[{\"article\":\"FT-SA\","
           "\"quantity\":60,\"unit_price_minor\":12500},{\"article\":\"PS-50\",\"quantity\":10,\"unit_price_minor\":3333,"
           "\"vat_bp\":700}]}",
           order);
  ok(mgr, "sales.order.place", "sa-order", b);

  /* Deliveries: an unknown container is refused; the pallet, then the other carton. */
  fofal_uuid7(d1);
  fofal_uuid7(d2);
  fofal_uuid7(bogus);
  snprintf(b, sizeof b,
           "{\"delivery_id\":\"%s\",\"order_id\":\"%s\",\"date\":\"2026-03-05\",\"containers\":[\"%s\"],\"lines\":[{"
           "\"line\":1,\"quantity\":40},{\"line\":2,\"quantity\":10}]}",
           d1, order, bogus);
  refused(mgr, "sales.delivery.ship", "sa-ship-bogus", b, "unknown_container");
  snprintf(b, sizeof b,
           "{\"delivery_id\":\"%s\",\"order_id\":\"%s\",\"date\":\"2026-03-05\",\"containers\":[\"%s\"],\"lines\":[{"
           "\"line\":1,\"quantity\":40},{\"line\":2,\"quantity\":10}]}",
           d1, order, pallet);
  ok(mgr, "sales.delivery.ship", "sa-ship-1", b);
  snprintf(b, sizeof b,
           "{\"delivery_id\":\"%s\",\"order_id\":\"%s\",\"date\":\"2026-03-06\",\"containers\":[\"%s\"],\"lines\":[{"
           "\"line\":1,\"quantity\":20}]}",
           d2, order, carton2);
  ok(mgr, "sales.delivery.ship", "sa-ship-2", b);

  /* Invoices: 00001, a refused one, then 00002. */
  fofal_uuid7(i1);
  fofal_uuid7(i2);
  snprintf(b, sizeof b, "{\"invoice_id\":\"%s\",\"delivery_id\":\"%s\",\"date\":\"2026-03-06\"}", i1, d1);
  json_t *r = cmd(acc, "sales.invoice.issue", "sa-inv-1", b);
  number_of(r, number);
  cr_expect_str_eq(number, "FA-2026-00001");
  json_decref(r);
  snprintf(b, sizeof b, "{\"invoice_id\":\"%s\",\"delivery_id\":\"%s\",\"date\":\"2026-03-06\"}", i2, d1);
  refused(acc, "sales.invoice.issue", "sa-inv-again", b, "already_invoiced");
  snprintf(b, sizeof b, "{\"invoice_id\":\"%s\",\"delivery_id\":\"%s\",\"date\":\"2026-03-07\"}", i2, d2);
  r = cmd(acc, "sales.invoice.issue", "sa-inv-2", b);
  number_of(r, number);
  cr_expect_str_eq(number, "FA-2026-00002", "the refused invoice burnt no number");
  json_decref(r);

  /* Invoice 1: 40 × 12.500 = 500.000 + 19 % 95.000; 10 × 3.333 = 33.330 + 7 % 2.3331 → 2.333:
   * 630.663 TND. A payment beyond it is refused; 600.000 received at the bank. */
  fofal_uuid7(pay);
  snprintf(b, sizeof b,
           "{\"invoice_id\":\"%s\",\"payment_id\":\"%s\",\"direction\":\"received\",\"account\":\"bank\","
           "\"amount_minor\":630664,\"date\":\"2026-03-20\"}",
           i1, pay);
  refused(acc, "sales.payment.record", "sa-pay-over", b, "over_payment");
  snprintf(b, sizeof b,
           "{\"invoice_id\":\"%s\",\"payment_id\":\"%s\",\"direction\":\"received\",\"account\":\"bank\","
           "\"amount_minor\":600000,\"date\":\"2026-03-20\"}",
           i1, pay);
  r = cmd(acc, "sales.payment.record", "sa-pay-1", b);
  snprintf(path, sizeof path, "/api/v1/sales/invoices/%s?position=%s", i1, s_of(r, "position"));
  json_decref(r);

  json_t *inv = get_ok(acc, path);
  cr_expect_str_eq(s_of(inv, "number"), "FA-2026-00001");
  cr_expect_eq(i_of(inv, "total_minor"), 630663);
  cr_expect_eq(i_of(inv, "vat_minor"), 97333);
  cr_expect_eq(i_of(inv, "received_minor"), 600000);
  cr_expect_str_eq(s_of(inv, "due_date"), "2026-04-05");
  cr_expect_eq(json_array_size(json_object_get(inv, "payments")), 1);
  json_decref(inv);
  snprintf(path, sizeof path, "/api/v1/sales/deliveries/%s", d1);
  json_t *dl = get_ok(acc, path);
  cr_expect_str_eq(s_of(dl, "invoice_number"), "FA-2026-00001");
  cr_expect_eq(json_array_size(json_object_get(dl, "shipped")), 2, "the pallet and its carton left");
  json_decref(dl);

  /* Aged receivables on 2026-05-01: invoice 1 (due 04-05) 26 days late with 30.663 open;
   * invoice 2 (due 04-06) 25 days late in full. On 2026-03-31 nothing is due yet. */
  json_t *ar = get_ok(acc, "/api/v1/sales/receivables?as_of=2026-05-01");
  const json_t *c = json_array_get(json_object_get(ar, "customers"), 0);
  cr_expect_str_eq(s_of(c, "customer"), "C-IT");
  cr_expect_eq(i_of(c, "days_1_30_minor"), 30663 + 297500, "20 × 12.500 + 19 %% = 297.500");
  cr_expect_eq(i_of(c, "not_due_minor"), 0);
  json_decref(ar);
  /* The same as CSV (a row per open invoice) and as PDF (A4 landscape, read back). */
  size_t len;
  char *csv = get_raw(acc, "/api/v1/sales/receivables?as_of=2026-05-01&format=csv", NULL, "text/csv", &len);
  cr_expect(!strncmp(csv, "customer,currency,number,date,due_date,days_overdue,bucket,total,open\r\n", 70), "%s", csv);
  cr_expect(strstr(csv, "\r\nC-IT,TND,FA-2026-00001,2026-03-06,2026-04-05,26,1_30,630.663,30.663\r\n"), "%s", csv);
  cr_expect(strstr(csv, ",FA-2026-00002,") && strstr(csv, ",297.500\r\n"), "%s", csv);
  free(csv);
  char *text = get_pdf_text(acc, "/api/v1/sales/receivables?as_of=2026-05-01&format=pdf", NULL);
  cr_expect(strstr(text, "Balance âgée des clients") && strstr(text, tenant) && strstr(text, "au 2026-05-01") &&
                strstr(text, "C-IT (TND)") && strstr(text, "FA-2026-00001") && strstr(text, "26 j") &&
                strstr(text, "30.663") && strstr(text, "297.500") && strstr(text, "328.163") && strstr(text, "Total TND"),
            "the aged receivables as PDF: %s", text);
  free(text);
  ar = get_ok(acc, "/api/v1/sales/receivables?as_of=2026-03-31");
  c = json_array_get(json_object_get(ar, "customers"), 0);
  cr_expect_eq(i_of(c, "not_due_minor"), 30663 + 297500);
  json_decref(ar);
  ar = get_ok(acc, "/api/v1/sales/receivables?as_of=2026-03-06");
  cr_expect_eq(i_of(json_array_get(json_object_get(ar, "customers"), 0), "open_minor"), 630663,
               "as of the 6th: the first invoice, unpaid");
  json_decref(ar);
  json_t *tr = get_ok(acc, "/api/v1/sales/treasury");
  cr_expect_eq(i_of(json_array_get(json_object_get(tr, "accounts"), 0), "balance_minor"), 600000);
  json_decref(tr);
  tr = get_ok(acc, "/api/v1/sales/treasury?as_of=2026-03-19");
  cr_expect_eq(json_array_size(json_object_get(tr, "accounts")), 0, "nothing received before the 20th");
  json_decref(tr);

  /* Purchases: an order of 100 kg of yarn at 18.000 received in full; the supplier's
   * invoice of it matches (1,800.000 + 19 % = 2,142.000) and is paid; a second one of 10 kg
   * more is held (110 kg invoiced of 100 received) until the manager approves it. */
  char po[FOFAL_UUID_LEN + 1], receipt[FOFAL_UUID_LEN + 1], s1[FOFAL_UUID_LEN + 1], s2[FOFAL_UUID_LEN + 1];
  ok(mgr, "purchasing.supplier.register", "sa-sup", "{\"supplier\":\"F-IT\",\"name\":\"Filature Test\",\"currency\":\"TND\"}");
  r = cmd(mgr, "purchasing.order.issue", "sa-po",
          "{\"supplier\":\"F-IT\",\"lines\":[{\"line\":1,\"item\":\"YRN-IT\",\"quantity_milli\":100000,\"unit\":"
          "\"kg\",\"unit_price\":18000,\"expected_date\":\"2026-03-01\"}]}");
  snprintf(po, sizeof po, "%s", s_of(r, "aggregate"));
  json_decref(r);
  fofal_uuid7(receipt);
  snprintf(b, sizeof b,
           "{\"order_id\":\"%s\",\"receipt_id\":\"%s\",\"lines\":[{\"line\":1,\"quantity_milli\":100000}]}", po,
           receipt);
  ok(mgr, "purchasing.order.receive", "sa-po-r", b);
  fofal_uuid7(s1);
  fofal_uuid7(s2);
  snprintf(b, sizeof b,
           "{\"supplier_invoice_id\":\"%s\",\"supplier\":\"F-IT\",\"supplier_number\":\"FIT-88\",\"order_id\":"
           "\"%s\",\"date\":\"2026-03-10\",\"due_date\":\"2026-04-09\",\"lines\":[{\"line\":1,\"quantity_milli\":"
           "100000,\"unit_price\":18000}]}",
           s1, po);
  ok(acc, "sales.supplier_invoice.record", "sa-si-1", b);
  snprintf(b, sizeof b,
           "{\"supplier_invoice_id\":\"%s\",\"supplier\":\"F-IT\",\"supplier_number\":\"FIT-89\",\"order_id\":"
           "\"%s\",\"date\":\"2026-03-11\",\"due_date\":\"2026-04-10\",\"lines\":[{\"line\":1,\"quantity_milli\":"
           "10000,\"unit_price\":18000}]}",
           s2, po);
  r = cmd(acc, "sales.supplier_invoice.record", "sa-si-2", b);
  snprintf(path, sizeof path, "/api/v1/sales/supplier-invoices/%s?position=%s", s2, s_of(r, "position"));
  json_decref(r);
  json_t *si = get_ok(acc, path);
  cr_expect_str_eq(s_of(si, "status"), "held");
  cr_expect_str_eq(s_of(json_array_get(json_object_get(si, "mismatches"), 0), "reason"), "quantity_not_received");
  json_decref(si);
  fofal_uuid7(pay);
  snprintf(b, sizeof b,
           "{\"supplier_invoice_id\":\"%s\",\"payment_id\":\"%s\",\"account\":\"bank\",\"amount_minor\":1000,"
           "\"date\":\"2026-03-25\"}",
           s2, pay);
  refused(acc, "sales.supplier_payment.record", "sa-sp-held", b, "invoice_held");
  snprintf(b, sizeof b, "{\"supplier_invoice_id\":\"%s\",\"reason\":\"10 kg livrés hors bon\"}", s2);
  ok(mgr, "sales.supplier_invoice.approve", "sa-si-2-ok", b);
  snprintf(b, sizeof b,
           "{\"supplier_invoice_id\":\"%s\",\"payment_id\":\"%s\",\"account\":\"bank\",\"amount_minor\":2142000,"
           "\"date\":\"2026-03-25\"}",
           s1, pay);
  r = cmd(acc, "sales.supplier_payment.record", "sa-sp-1", b);
  snprintf(path, sizeof path, "/api/v1/sales/payables?as_of=2026-03-31&position=%s", s_of(r, "position"));
  json_decref(r);
  json_t *ap = get_ok(acc, path);
  cr_expect_eq(i_of(json_array_get(json_object_get(ap, "suppliers"), 0), "not_due_minor"), 214200,
               "only the approved 10 kg is still owed");
  json_decref(ap);
  text = get_pdf_text(acc, "/api/v1/sales/payables?as_of=2026-03-31", "application/pdf");
  cr_expect(strstr(text, "Balance âgée des fournisseurs") && strstr(text, "F-IT (TND)") && strstr(text, "FIT-89") &&
                strstr(text, "214.200") && !strstr(text, "FIT-88"),
            "the aged payables as PDF (Accept: application/pdf): %s", text);
  free(text);

  /* The postings, by reaction: 411 debited with both invoices, credited with the payment;
   * 401 credited with both supplier invoices, debited with the payment; the receipt's
   * 1,800.000 in 311 against 408, which the matched invoice clears (408 back to zero);
   * 601 only the 10 kg billed beyond the receipt (whichever of the receipt's and the
   * invoices' postings ran first). */
  json_t *tb = trial_balance_when(acc, 630663 + 297500 - 600000, -214200, 600000 - 2142000, 1800000);
  cr_expect_eq(balance(tb, "408"), 0, "received, invoiced: nothing left in factures non parvenues");
  cr_expect_eq(balance(tb, "701"), -(500000 + 33330 + 250000));
  cr_expect_eq(balance(tb, "601"), 180000);
  cr_expect_eq(balance(tb, "4366"), -(95000 + 2333 + 47500) + 342000 + 34200);
  cr_expect_eq(i_of(tb, "debit_minor"), i_of(tb, "credit_minor"));
  json_decref(tb);
  json_t *lines = get_ok(acc, "/api/v1/accounting/accounts/701/entries");
  const json_t *src = json_object_get(json_object_get(json_array_get(json_object_get(lines, "lines"), 0), "entry"), "source");
  cr_expect_str_eq(s_of(src, "type"), "fofal.sales.invoice_issued.v1", "a sale traces back to its invoice");
  json_decref(lines);

  json_t *j = NULL;
  cr_expect_eq(h_get(port, wv, "/api/v1/sales/invoices", &j, NULL), 403);
  json_decref(j);
  /* A salesperson: customers, orders and deliveries, and nothing of money. */
  char *sp = h_token(tenant, "salesperson");
  ok(sp, "sales.customer.register", "sa-sp-cust", "{\"customer\":\"C-SP\",\"name\":\"Client du commercial\"}");
  j = NULL;
  snprintf(path, sizeof path, "/api/v1/sales/orders/%s", order);
  cr_expect_eq(h_get(port, sp, path, &j, NULL), 200, "a salesperson reads an order");
  json_decref(j);
  static const char *const not_theirs[] = {"/api/v1/sales/invoices", "/api/v1/sales/treasury",
                                           "/api/v1/accounting/trial-balance", NULL};
  for (const char *const *g = not_theirs; *g; g++) {
    j = NULL;
    cr_expect_eq(h_get(port, sp, *g, &j, NULL), 403, "a salesperson reads no %s", *g);
    json_decref(j);
  }
  j = NULL;
  snprintf(b, sizeof b, "{\"invoice_id\":\"%s\",\"delivery_id\":\"%s\",\"date\":\"2026-03-30\"}", bogus, d2);
  cr_expect_eq(h_command(port, sp, "sales.invoice.issue", "sa-sp-inv", NULL, b, &j), 403, "nor issues an invoice");
  json_decref(j);
  free(sp);
  j = NULL;
  cr_expect_eq(h_get(port, acc, "/api/v1/sales/receivables?as_of=2026-13-01", &j, NULL), 400);
  json_decref(j);
  j = NULL;
  cr_expect_eq(h_get(port, acc, "/api/v1/sales/payables?format=xlsx", &j, NULL), 400);
  cr_expect_str_eq(s_of(j, "code"), "invalid_format");
  json_decref(j);
  j = NULL;
  cr_expect_eq(h_command(port, wv, "sales.customer.register", "sa-wv", NULL, "{\"customer\":\"C-X\",\"name\":\"X\"}", &j),
               403);
  json_decref(j);

  char *out = NULL;
  int st = -1;
  const char *args[] = {"verify", "sales", NULL};
  for (int attempt = 0; attempt < 30 && st; attempt++) {
    free(out);
    out = NULL;
    st = h_run_cli(120, &out, args);
    if (st) sleep(1);
  }
  cr_expect_eq(st, 0, "fofal verify sales: %s", out ? out : "");
  free(out);
  free(acc);
  free(mgr);
  free(wv);
}
