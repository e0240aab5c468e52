/*
 * test_roles.c — who may do what in sales and accounting (the salesperson role, issue 17):
 * the x-fofal-roles of every sales and accounting command schema and of every read route
 * of the OpenAPI document (what fofal-api enforces, api/commands_api.c and
 * fofal__read_roles_check), held to the table below. A salesperson creates and reads
 * customers, sales orders and deliveries; issues no invoice, credit note or payment, sets
 * no VAT rate, records no supplier invoice and reads neither invoices, receivables, the
 * treasury, suppliers' invoices nor the ledger. Signing in as one needs no second factor.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "commands.h"
#include "fofal_api.h"

/* The OpenAPI builder links the read routes, whose workers post to the loop of main.c;
 * nothing runs here, so nothing is ever posted. */
void fofal__api_post(fofal_api_t *api, void (*fn)(fofal_api_t *api, void *arg), void *arg) {
  (void)api;
  (void)fn;
  (void)arg;
  cr_assert_fail("nothing posts to a loop in a unit test");
}

static fofal_registry_t *reg;

static void setup(void) {
  char err[512] = "";
  cr_assert_eq(fofal_registry_load(&reg, FOFAL_SOURCE_DIR "/schemas", err, sizeof err), 0, "registry: %s", err);
}

static void teardown(void) {
  fofal_registry_free(reg);
  reg = NULL;
}

TestSuite(roles, .init = setup, .fini = teardown);

static int listed(const json_t *roles, const char *role) {
  size_t i;
  json_t *r;
  json_array_foreach(roles, i, r) if (!strcmp(json_string_value(r) ?: "", role)) return 1;
  return 0;
}

static int in(const char *const *set, const char *s) {
  for (; *set; set++)
    if (!strcmp(*set, s)) return 1;
  return 0;
}

Test(roles, a_salesperson_is_a_role_without_a_second_factor) {
  cr_expect(fofal_api_role_valid("salesperson"));
  cr_expect_not(fofal_api_role_needs_mfa("salesperson"));
}

Test(roles, a_salesperson_makes_customers_orders_and_deliveries_and_nothing_of_money) {
  static const char *const theirs[] = {"sales.customer.register", "sales.customer.update", "sales.order.place",
                                       "sales.delivery.ship", NULL};
  static const char *const types[] = {"sales.settings.set",
                                      "sales.customer.register",
                                      "sales.customer.update",
                                      "sales.order.place",
                                      "sales.delivery.ship",
                                      "sales.invoice.issue",
                                      "sales.credit_note.issue",
                                      "sales.payment.record",
                                      "sales.supplier_invoice.record",
                                      "sales.supplier_invoice.approve",
                                      "sales.supplier_payment.record",
                                      "accounting.entry.post",
                                      "accounting.receipt.post",
                                      "accounting.adjustment.post",
                                      "accounting.supplier_invoice.post",
                                      "accounting.period.close",
                                      "accounting.year.close",
                                      "accounting.account.define",
                                      "accounting.company.set",
                                      NULL};
  for (const char *const *t = types; *t; t++) {
    const json_t *s = fofal_registry_schema(reg, *t);
    cr_assert(json_is_object(s), "%s has no schema", *t);
    const json_t *roles = json_object_get(s, "x-fofal-roles");
    cr_expect_gt(json_array_size(roles), 0, "%s names no role", *t);
    cr_expect_eq(listed(roles, "salesperson"), in(theirs, *t), "%s: salesperson %s", *t,
                 in(theirs, *t) ? "missing" : "must not be listed");
    cr_expect(listed(roles, "admin"), "%s: admin", *t);
  }
}

Test(roles, a_salesperson_reads_customers_orders_and_deliveries_only) {
  static const char *const theirs[] = {"/api/v1/sales/customers", "/api/v1/sales/customers/{customer}",
                                       "/api/v1/sales/orders/{order_id}", "/api/v1/sales/deliveries/{delivery_id}",
                                       NULL};
  char *doc = fofal__openapi_build(reg);
  cr_assert_not_null(doc);
  json_t *o = json_loads(doc, 0, NULL);
  free(doc);
  cr_assert_not_null(o);
  const char *path;
  json_t *item;
  int sales = 0, accounting = 0;
  json_object_foreach(json_object_get(o, "paths"), path, item) {
    int is_sales = !strncmp(path, "/api/v1/sales/", 14), is_acc = !strncmp(path, "/api/v1/accounting/", 19);
    if (!is_sales && !is_acc) continue;
    const json_t *roles = json_object_get(json_object_get(item, "get"), "x-fofal-roles");
    cr_assert(json_is_array(roles), "GET %s has no x-fofal-roles", path);
    cr_expect_eq(listed(roles, "salesperson"), in(theirs, path), "GET %s: salesperson %s", path,
                 in(theirs, path) ? "missing" : "must not read it");
    cr_expect(listed(roles, "accountant") && listed(roles, "auditor"), "GET %s: accountant, auditor", path);
    sales += is_sales;
    accounting += is_acc;
  }
  cr_expect_eq(sales, 11, "the sales reads");
  cr_expect_geq(accounting, 7, "the accounting reads");
  json_decref(o);
}
