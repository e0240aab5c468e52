/*
 * test_registry.c — commands/registry.c: the names people type for an aggregate (issue 23
 * item 4): a UUID, <kind>:<code> and a bare code, resolved to the ids the deciders derive.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "commands.h"

Test(names, a_bare_code_names_every_kind_and_the_code_itself) {
  fofal_aggregate_name_t n[FOFAL_AGGREGATE_NAMES_MAX];
  int c = fofal_aggregate_resolve("t1", NULL, "L13", n, FOFAL_AGGREGATE_NAMES_MAX);
  /* Every kind of every module (article, loom, beam, shiftmodel, employee, supplier …) and
   * the code itself: as many as the kinds' text names, plus one. */
  char kinds[2048];
  fofal_aggregate_kinds_text(NULL, 0, kinds, sizeof kinds);
  int nkinds = 1;
  for (const char *k = kinds; *k; k++) nkinds += *k == ',';
  cr_assert_geq(nkinds, 5, "%s", kinds);
  cr_assert_eq(c, nkinds + 1, "%s and the code itself, in every module (got %d)", kinds, c);
  char loom[FOFAL_UUID_LEN + 1], badge[FOFAL_UUID_LEN + 1];
  fofal_aggregate_ref("t1", "loom", "L13", loom);
  fofal_aggregate_ref("t1", "employee", "L13", badge);
  int saw_loom = 0, saw_badge = 0;
  for (int i = 0; i < c - 1; i++) {
    cr_assert_not_null(n[i].kind);
    if (!strcmp(n[i].kind, "loom")) saw_loom = !strcmp(n[i].id, loom) && !strcmp(n[i].module, "production");
    if (!strcmp(n[i].kind, "employee")) saw_badge = !strcmp(n[i].id, badge) && !strcmp(n[i].module, "hr");
  }
  cr_expect(saw_loom, "the loom's id is the one its commands derive");
  cr_expect(saw_badge, "the employee's id is the one its commands derive");
  cr_expect_null(n[c - 1].kind);
  cr_expect_str_eq(n[c - 1].id, "L13", "the code itself (machines events are named by it)");
  cr_expect_eq(fofal_aggregate_resolve("t1", "production", "L13", n, FOFAL_AGGREGATE_NAMES_MAX), 3,
               "production's: loom, beam and the code itself (employees and shift models are hr's)");
}

Test(names, a_kind_narrows_to_one) {
  fofal_aggregate_name_t n[FOFAL_AGGREGATE_NAMES_MAX];
  char want[FOFAL_UUID_LEN + 1];
  fofal_aggregate_ref("t1", "employee", "W121", want);
  cr_assert_eq(fofal_aggregate_resolve("t1", NULL, "employee:W121", n, FOFAL_AGGREGATE_NAMES_MAX), 1);
  cr_expect_str_eq(n[0].id, want);
  cr_expect_str_eq(n[0].kind, "employee");
  cr_expect_str_eq(n[0].module, "hr");
  cr_expect_eq(fofal_aggregate_resolve("t2", "hr", "employee:W121", n, 1), 1);
  cr_expect_str_neq(n[0].id, want, "another tenant's W121 is another aggregate");
}

Test(names, a_uuid_is_itself_in_lower_case) {
  fofal_aggregate_name_t n[2];
  cr_assert_eq(fofal_aggregate_resolve("t1", NULL, "0190F3C2-AAAA-7BBB-8CCC-0123456789AB", n, 2), 1);
  cr_expect_str_eq(n[0].id, "0190f3c2-aaaa-7bbb-8ccc-0123456789ab");
  cr_expect_null(n[0].kind);
}

Test(names, refuses_what_is_no_name) {
  fofal_aggregate_name_t n[FOFAL_AGGREGATE_NAMES_MAX];
  const char *bad[] = {"", "L 13", "-L13", "spaceship:L13", "loom:", "loom:L 13", ":L13", "loom:L13:x", "looms:L13"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_expect_eq(fofal_aggregate_resolve("t1", NULL, bad[i], n, FOFAL_AGGREGATE_NAMES_MAX), FOFAL_EINVAL, "\"%s\"",
                 bad[i]);
  cr_expect_eq(fofal_aggregate_resolve("t1", "machines", "loom:L13", n, FOFAL_AGGREGATE_NAMES_MAX), FOFAL_EINVAL,
               "machines has no kind named by code in its commands");
}

Test(names, kinds_by_name_and_plural) {
  cr_expect_str_eq(fofal_aggregate_kind("production", "looms", 1) ?: "", "loom");
  cr_expect_str_eq(fofal_aggregate_kind(NULL, "employee", 0) ?: "", "employee");
  cr_expect_null(fofal_aggregate_kind("production", "loom", 1), "a path segment is the plural");
  cr_expect_null(fofal_aggregate_kind("production", "orders", 1), "orders are named by UUID");
  char t[128];
  fofal_aggregate_kinds_text("production", 1, t, sizeof t);
  cr_expect_str_eq(t, "looms, beams");
  fofal_aggregate_kinds_text("hr", 1, t, sizeof t);
  cr_expect_str_eq(t, "shiftmodels, employees, piecerates, payperiods",
                   "employees, the shift model, piece rates and pay periods are hr's");
  fofal_aggregate_kinds_text("catalog", 1, t, sizeof t);
  cr_expect_str_eq(t, "articles, items", "articles and items are the catalog's");
  fofal_aggregate_kinds_text("inventory", 1, t, sizeof t);
  cr_expect_str_eq(t, "locations, yarnlots, inventory_settings, stock_receipts, subcontracts, subcontract_returns",
                   "locations and yarn lots are inventory's (quality's lots are another kind), and the records its "
                   "reactions keep of settings, receipts and subcontracting");
  cr_expect_str_eq(fofal_aggregate_kind("inventory", "inventory_settings", 1) ?: "", "inventory_settings",
                   "a kind that is plural already is its own plural");
  cr_expect_str_eq(fofal_aggregate_kind("inventory", "yarnlots", 1) ?: "", "yarnlot");
}
