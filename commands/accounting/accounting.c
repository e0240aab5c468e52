/*
 * accounting.c — the accounting module's deciders: a double-entry ledger (issue 17, its
 * first slice) and its registration in the command layer.
 *
 *   accounting.entry.post     a journal entry: a date, a memo, two or more lines, each a
 *                             debit or a credit of an account in integer minor units
 *                             (millimes for TND); by an accountant or admin (the author is
 *                             the token's actor), or by a reaction from a business event
 *                             (reactions.c), which the entry names as its source
 *   accounting.period.close   a month (YYYY-MM) is closed: nothing is posted into it again
 *   accounting.year.close     a year (YYYY) whose twelve months are closed: its closing entry
 *                             (classes 6 and 7 to the result 120/129), from the year's
 *                             results, which every entry adds to (result_accrued)
 *   accounting.account.define an account of the tenant's chart: its number and French name
 *                             (a default chart of the SCE, schemas/accounting/
 *                             086_accounting_chart.sql, holds until the tenant names one)
 *   accounting.company.set    the company the statements' PDFs name at their head: its name
 *                             and tax id (matricule fiscal); without it, the tenant's code
 *
 * Rules: an entry balances (its debits sum to its credits: unbalanced); a line is a debit
 * or a credit, positive, never both (invalid_line); an account is of the Tunisian Système
 * Comptable des Entreprises classes 1 to 7, 2 to 8 digits (invalid_account; an entry may
 * post to any valid number, named in the chart or not); an entry's date falls in no closed period (period_closed); a
 * period is closed once (already_exists, by the processor). An account's name is 1 to 120
 * characters (invalid_name) and its class, when given, is its first digit (class_mismatch). An entry is never edited: a
 * correction is another entry.
 *
 * Events go to fofal.accounting.events. An entry's aggregate is its entry_id (a UUID the
 * sender chooses; a reaction derives it from its trigger, so a replay is the same entry); a
 * period's is fofal_aggregate_ref(tenant, "period", "2026-11").
 *
 * The build finds this folder and lists fofal_module_accounting_commands in the generated
 * fofal_command_modules[]. Pure functions: no I/O, no clock.
 */
#include "decide.h"

#include <stdio.h>
#include <string.h>

#define EV(name) "fofal.accounting." name ".v1"
#define MAX_LINE_MINOR 1000000000000000LL /* 10^12 TND: no sum of 50 lines overflows */

static int account_valid(const char *account) {
  size_t n = strlen(account);
  if (n < 2 || n > 8 || account[0] < '1' || account[0] > '7') return 0;
  for (size_t i = 0; i < n; i++)
    if (account[i] < '0' || account[i] > '9') return 0;
  return 1;
}

/* The year's results (classes 6 and 7) are kept on the year's aggregate
 * (fofal_aggregate_ref(tenant, "year", "2026")), so that its close knows them: an entry
 * with lines of those classes adds them there (result_accrued, atomically with the entry).
 * An entry into a closed year is refused (year_closed). 0, or FOFAL_EREJECTED. */
static int accrue_result(const fofal_cmd_t *cmd, const char *date, const json_t *lines, fofal_decision_t *out) {
  char year[5], id[FOFAL_UUID_LEN + 1];
  snprintf(year, sizeof year, "%.4s", date);
  const json_t *prev = lookup_ref(cmd, "year", year, id);
  if (json_is_true(json_object_get(prev, "closed")))
    return REJECT(out, "year_closed", "the year %s is closed: post the entry in an open year", year);
  json_t *deltas = json_object(), *l;
  size_t i;
  json_array_foreach(lines, i, l) {
    const char *a = jstr(l, "account");
    if (a[0] != '6' && a[0] != '7') continue;
    json_int_t v = jint(deltas, a, 0) + jint(l, "debit_minor", 0) - jint(l, "credit_minor", 0);
    json_object_set_new(deltas, a, json_integer(v));
  }
  if (!json_object_size(deltas)) {
    json_decref(deltas);
    return 0;
  }
  json_t *state = prev ? json_deep_copy(prev) : json_pack("{s:s,s:{}}", "year", year, "accounts");
  json_t *acc = json_object_get(state, "accounts");
  const char *k;
  json_t *v;
  json_object_foreach(deltas, k, v) json_object_set_new(acc, k, json_integer(jint(acc, k, 0) + json_integer_value(v)));
  fofal_decision_emit_to(out, id, EV("result_accrued"),
                         json_pack("{s:s,s:s,s:o}", "year", year, "entry_id", cmd->aggregate, "accounts", deltas), state);
  return 0;
}

/* Posts `lines` (borrowed) as the entry cmd->aggregate dated `date`, with `memo` and
 * `source` (borrowed, NULL: none): the rules of every entry (an open period and year,
 * two or more one-sided positive lines of valid accounts, balanced), its year's results
 * (result_accrued) and entry_posted. 0, or FOFAL_EREJECTED. */
static int post_lines(const fofal_cmd_t *cmd, const char *date, const json_t *lines, const json_t *memo,
                      const json_t *source, fofal_decision_t *out) {
  char period[8];
  if (strlen(date) != 10) return REJECT(out, "invalid_date", "date must be YYYY-MM-DD (got %s)", date);
  snprintf(period, sizeof period, "%.7s", date);
  if (json_is_true(json_object_get(lookup_ref(cmd, "period", period, NULL), "closed")))
    return REJECT(out, "period_closed", "period %s is closed: post the entry in an open period", period);
  if (json_array_size(lines) < 2) return REJECT(out, "too_few_lines", "an entry has at least two lines");
  json_int_t debit = 0, credit = 0;
  size_t i;
  json_t *l;
  json_array_foreach(lines, i, l) {
    json_int_t dr = jint(l, "debit_minor", 0), cr = jint(l, "credit_minor", 0);
    if (dr < 0 || cr < 0 || (dr > 0) == (cr > 0) || dr > MAX_LINE_MINOR || cr > MAX_LINE_MINOR)
      return REJECT(out, "invalid_line", "line %zu is a positive debit or a positive credit, not both", i + 1);
    if (!account_valid(jstr(l, "account")))
      return REJECT(out, "invalid_account", "line %zu: %s is no account of classes 1 to 7 (2 to 8 digits)", i + 1,
                    jstr(l, "account"));
    debit += dr;
    credit += cr;
  }
  if (debit != credit)
    return REJECT(out, "unbalanced", "the debits (%lld) and credits (%lld) differ by %lld minor units", (long long)debit,
                  (long long)credit, (long long)(debit - credit));
  if (accrue_result(cmd, date, lines, out)) return FOFAL_EREJECTED;
  json_t *ev = json_pack("{s:s,s:s,s:O,s:I,s:s}", "entry_id", cmd->aggregate, "date", date, "lines", lines, "total_minor",
                         debit, "posted_by", cmd->actor ? cmd->actor : "");
  if (json_is_string(memo)) json_object_set(ev, "memo", (json_t *)memo);
  if (source) json_object_set(ev, "source", (json_t *)source);
  out->state = json_pack("{s:s,s:s,s:I}", "entry_id", cmd->aggregate, "date", date, "total_minor", debit);
  fofal_decision_emit(out, EV("entry_posted"), ev);
  return 0;
}

static int entry_post(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const json_t *d = cmd->data;
  return post_lines(cmd, jstr(d, "date"), json_object_get(d, "lines"), json_object_get(d, "memo"),
                    json_object_get(d, "source"), out);
}

/* ------------------------------------------------ purchases: 311/408, then 408/401
 *
 * What a purchase order's receipts put into 408 (fournisseurs, factures non parvenues) is
 * kept on the order's aggregate in this module (fofal_aggregate_ref(tenant, ORDER_NS,
 * order_id)): per order line the quantity received (thousandths), the quantity its
 * supplier invoices have cleared, and the value still in 408. A receipt adds its accepted
 * quantities and their value; a supplier invoice clears, per line it names, what was
 * received and not yet invoiced: all that is left in 408 when it takes all that is left
 * (so a line received then invoiced leaves 408 at exactly zero, whatever the rounding of
 * each receipt), else the part pro rata (half up). The invoice's net less what it cleared
 * is the price difference (and what it bills beyond the goods received): 601, debited
 * when the invoice is dearer, credited when cheaper. What an invoice bills beyond the
 * receipts posted so far (its posting ran first, or the goods never came) is charged to
 * 601 and remembered (ahead_milli): a later receipt of it credits 601, not 408, with its
 * value, so the two orders give the same balances. Both write order_accrued with the
 * lines' new state, atomically with their entry. */
#define ORDER_NS "accounting_order"
#define ACCOUNT_RAW_STOCK "311"
#define ACCOUNT_GOODS_NOT_BILLED "408"
#define ACCOUNT_SUPPLIERS "401"
#define ACCOUNT_PURCHASES "601"
#define ACCOUNT_VAT "4366"

/* An item's cost (fofal_aggregate_ref(tenant, ITEM_NS, item)): the weighted average cost
 * of its receipts (coût moyen unitaire pondéré, CMUP), kept exactly as two integer sums
 * over every receipt line in kg or g this module posted: received_mg, the milligrams
 * received, and value_minor, their value as posted to 311 (each line's quantity × unit
 * price, half up to the millime). The average per kg is value_minor × 10^6 / received_mg;
 * a count's difference of g grams is worth g × value_minor × 1000 / received_mg, rounded
 * once, half up (away from zero), from the exact sums: no rounded average is ever
 * multiplied. Each receipt writes item_costed with the new sums (atomically with its
 * entry). An item's state from before (item_priced: its last price per kg, no sums) values
 * counts at that price until its next receipt, from which the average starts. Sums that
 * would leave 64 bits (beyond 9.2 × 10^12 kg, or 9.2 × 10^15 TND) start again from the
 * receipt that would overflow them. */
#define ITEM_NS "accounting_item"
#define ACCOUNT_STOCK_CHANGE "603" /* variation des stocks d'approvisionnements */

/* The value of the quantity `q` (thousandths) at `price` per unit, half up. */
static json_int_t value_of(json_int_t q, json_int_t price) { return (q * price + 500) / 1000; }

/* The average per kg of `value` minor units over `mg` milligrams, half up (for the
 * record and the memo: counts are valued from the sums). */
static json_int_t per_kg_of(json_int_t value, json_int_t mg) {
  return mg > 0 ? (json_int_t)(((unsigned __int128)value * 1000000u + (unsigned __int128)(mg / 2)) / (unsigned __int128)mg)
                : 0;
}

/* What a receipt's lines in kg or g add to their items' costs: {item: {received_mg,
 * value_minor}} (new); lines in other units (cones) add nothing. */
static json_t *receipt_costs(const json_t *d) {
  json_t *costs = json_object(), *l;
  size_t i;
  json_array_foreach(json_object_get(d, "lines"), i, l) {
    const char *item = jstr(l, "item"), *unit = jstr(l, "unit");
    json_int_t q = jint(l, "quantity_milli", 0), mg = !strcmp(unit, "kg") ? q * 1000 : !strcmp(unit, "g") ? q : -1;
    if (!fofal_code_valid(item) || q <= 0 || mg < 0) continue;
    json_t *c = json_object_get(costs, item);
    if (!c) json_object_set_new(costs, item, c = json_pack("{s:I,s:I}", "received_mg", (json_int_t)0, "value_minor", (json_int_t)0));
    json_object_set_new(c, "received_mg", json_integer(jint(c, "received_mg", 0) + mg));
    json_object_set_new(c, "value_minor", json_integer(jint(c, "value_minor", 0) + value_of(q, jint(l, "unit_price", 0))));
  }
  return costs;
}

/* Emits item_costed for each item of `costs` (borrowed): its sums with this receipt's. */
static void items_costed(const fofal_cmd_t *cmd, const json_t *costs, fofal_decision_t *out) {
  const json_t *d = cmd->data;
  const char *item;
  json_t *c;
  json_object_foreach((json_t *)costs, item, c) {
    char iid[FOFAL_UUID_LEN + 1];
    const json_t *prev = lookup_ref(cmd, ITEM_NS, item, iid);
    json_int_t mg = jint(c, "received_mg", 0), value = jint(c, "value_minor", 0), total_mg, total_value;
    if (jint(prev, "received_mg", 0) <= 0 || __builtin_add_overflow(jint(prev, "received_mg", 0), mg, &total_mg) ||
        __builtin_add_overflow(jint(prev, "value_minor", 0), value, &total_value)) {
      total_mg = mg; /* the first receipt of the average (see above) */
      total_value = value;
    }
    json_int_t per_kg = per_kg_of(total_value, total_mg);
    json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "item", item, "receipt_id", jstr(d, "receipt_id"),
                           "order_id", jstr(d, "order_id"), "date", jstr(d, "date"), "received_mg", mg, "value_minor",
                           value, "total_received_mg", total_mg, "total_value_minor", total_value, "per_kg_minor", per_kg);
    json_t *st = json_pack("{s:s,s:I,s:I,s:I,s:s,s:s}", "item", item, "received_mg", total_mg, "value_minor", total_value,
                           "per_kg_minor", per_kg, "receipt_id", jstr(d, "receipt_id"), "date", jstr(d, "date"));
    fofal_decision_emit_to(out, iid, EV("item_costed"), ev, st);
  }
}

static json_t *pline(const char *account, const char *side, json_int_t amount, const char *label) {
  return json_pack("{s:s,s:I,s:s}", "account", account, side, amount, "label", label);
}

/* The order line `n` of an order_accrued state's lines (borrowed; made when absent). */
static json_t *order_line(json_t *lines, json_int_t n) {
  size_t i;
  json_t *l;
  json_array_foreach(lines, i, l) if (jint(l, "line", 0) == n) return l;
  l = json_pack("{s:I,s:I,s:I,s:I}", "line", n, "received_milli", (json_int_t)0, "invoiced_milli", (json_int_t)0,
                "accrued_minor", (json_int_t)0);
  json_array_append_new(lines, l);
  return l;
}

/* Emits order_accrued to the order's aggregate: `state` (new) its state, `changed` (new)
 * the lines this document changed. */
static void order_accrued(fofal_decision_t *out, const char *id, const char *order_id, const char *by_key,
                          const char *by, json_t *state, json_t *changed) {
  json_t *ev = json_pack("{s:s,s:s,s:o}", "order_id", order_id, by_key, by, "lines", changed);
  fofal_decision_emit_to(out, id, EV("order_accrued"), ev, state);
}

/* accounting.receipt.post (by the reaction accounting.entry_on_goods_received): the goods
 * accepted, at their order lines' unit prices — debit 311, credit 408 — and the order's
 * lines in 408. */
static int receipt_post(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const json_t *d = cmd->data, *l;
  const char *order_id = jstr(d, "order_id");
  char id[FOFAL_UUID_LEN + 1];
  fofal_aggregate_ref(cmd->tenant, ORDER_NS, order_id, id);
  const json_t *prev = fofal_cmd_lookup(cmd, id);
  json_t *st = prev ? json_deep_copy(prev) : json_pack("{s:s,s:[]}", "order_id", order_id, "lines");
  json_t *slines = json_object_get(st, "lines"), *changed = json_array();
  json_int_t value = 0, ahead = 0;
  size_t i;
  json_array_foreach(json_object_get(d, "lines"), i, l) {
    json_int_t q = jint(l, "quantity_milli", 0), price = jint(l, "unit_price", 0);
    if (q <= 0) continue;
    json_int_t v = value_of(q, price);
    json_t *ol = order_line(slines, jint(l, "line", 0));
    /* Goods an invoice charged to 601 before they were received come out of 601 now. */
    json_int_t before = jint(ol, "ahead_milli", 0), covered = before < q ? before : q;
    json_int_t c = covered == q ? v : value_of(covered, price);
    json_object_set_new(ol, "received_milli", json_integer(jint(ol, "received_milli", 0) + q));
    json_object_set_new(ol, "invoiced_milli", json_integer(jint(ol, "invoiced_milli", 0) + covered));
    json_object_set_new(ol, "ahead_milli", json_integer(before - covered));
    json_object_set_new(ol, "accrued_minor", json_integer(jint(ol, "accrued_minor", 0) + v - c));
    json_object_set_new(ol, "unit_price", json_integer(price));
    json_array_append(changed, ol);
    value += v;
    ahead += c;
  }
  char memo[200];
  json_t *costs = receipt_costs(d);
  snprintf(memo, sizeof memo, "goods received from %s, delivery note %s, receipt %s", jstr(d, "supplier"),
           *jstr(d, "delivery_note") ? jstr(d, "delivery_note") : "-", jstr(d, "receipt_id"));
  json_t *lines = json_array(), *jmemo = json_string(memo);
  json_array_append_new(lines, pline(ACCOUNT_RAW_STOCK, "debit_minor", value, jstr(d, "receipt_id")));
  if (value > ahead)
    json_array_append_new(lines, pline(ACCOUNT_GOODS_NOT_BILLED, "credit_minor", value - ahead, jstr(d, "receipt_id")));
  if (ahead) json_array_append_new(lines, pline(ACCOUNT_PURCHASES, "credit_minor", ahead, "facturé avant réception"));
  int rc = value > 0 ? post_lines(cmd, jstr(d, "date"), lines, jmemo, json_object_get(d, "source"), out)
                     : REJECT(out, "nothing_to_post", "the receipt accepted nothing of any value");
  json_decref(lines);
  json_decref(jmemo);
  if (rc) {
    json_decref(st);
    json_decref(changed);
    json_decref(costs);
    return rc;
  }
  order_accrued(out, id, order_id, "receipt_id", jstr(d, "receipt_id"), st, changed);
  /* The items' weighted average costs: the value of the stock counts find (below). */
  items_costed(cmd, costs, out);
  json_decref(costs);
  return 0;
}

/* accounting.adjustment.post (by the reaction accounting.entry_on_stock_adjusted): a
 * count found `delta_g` grams more (or, negative, fewer) of a yarn lot than the book: its
 * value at the item's weighted average cost (ITEM_NS above: from the exact sums, half up,
 * away from zero; an item's state from before the sums: its last price per kg), a loss
 * debit 603 (variation des stocks d'approvisionnements) credit 311, a gain the reverse.
 * An item never received at a price per kg or g here is no_price: the ledger does not
 * guess. */
static int adjustment_post(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const json_t *d = cmd->data;
  const char *item = jstr(d, "item");
  const json_t *cost = lookup_ref(cmd, ITEM_NS, item, NULL);
  json_int_t per_kg = jint(cost, "per_kg_minor", -1), delta = jint(d, "delta_g", 0);
  json_int_t mg = jint(cost, "received_mg", 0), sum = jint(cost, "value_minor", -1);
  if (!cost || per_kg < 0)
    return REJECT(out, "no_price", "%s was never received at a price per kg here: value the count by hand", item);
  unsigned __int128 g = (unsigned __int128)(delta < 0 ? -delta : delta), num, value;
  if (mg > 0 && sum >= 0) { /* g × value_minor × 1000 / received_mg, half up */
    if (__builtin_mul_overflow(g, (unsigned __int128)sum * 1000u, &num))
      return REJECT(out, "invalid_quantity", "%lld g of %s cannot be valued", (long long)delta, item);
    value = (num + (unsigned __int128)(mg / 2)) / (unsigned __int128)mg;
  } else /* an item's last price per kg, from before the sums */
    value = (g * (unsigned __int128)per_kg + 500) / 1000;
  if (value > (unsigned __int128)MAX_LINE_MINOR)
    return REJECT(out, "invalid_quantity", "%lld g of %s are worth more than a line may hold", (long long)delta, item);
  if (!value) return REJECT(out, "nothing_to_post", "%lld g of %s are worth less than a millime", (long long)delta, item);
  char memo[240], label[120], avg[64] = "";
  if (mg > 0 && sum >= 0)
    snprintf(avg, sizeof avg, ", average of %lld.%06lld kg received", (long long)(mg / 1000000), (long long)(mg % 1000000));
  snprintf(memo, sizeof memo, "stock count %s: lot %s of %s, %+lld g at %lld per kg (%s%s, receipt %s)",
           jstr(d, "count_id"), jstr(d, "lot"), item, (long long)delta, (long long)per_kg,
           mg > 0 && sum >= 0 ? "weighted" : "last price", avg, jstr(cost, "receipt_id"));
  snprintf(label, sizeof label, "inventaire %s", jstr(d, "lot"));
  json_t *lines = json_array(), *jmemo = json_string(memo);
  json_array_append_new(lines,
                        pline(delta < 0 ? ACCOUNT_STOCK_CHANGE : ACCOUNT_RAW_STOCK, "debit_minor", (json_int_t)value, label));
  json_array_append_new(lines,
                        pline(delta < 0 ? ACCOUNT_RAW_STOCK : ACCOUNT_STOCK_CHANGE, "credit_minor", (json_int_t)value, label));
  int rc = post_lines(cmd, jstr(d, "date"), lines, jmemo, json_object_get(d, "source"), out);
  json_decref(lines);
  json_decref(jmemo);
  return rc;
}

/* accounting.supplier_invoice.post (by the reaction accounting.entry_on_supplier_invoice):
 * a matched or approved supplier invoice — debit 408 what it clears of its order's
 * receipts, 601 the difference to its net (credit when negative), 4366 its VAT per rate;
 * credit 401 its total. An invoice naming no order clears nothing: its net is 601. */
static int supplier_invoice_post(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const json_t *d = cmd->data, *l;
  const char *order_id = jstr(d, "order_id"), *number = jstr(d, "supplier_number"), *supplier = jstr(d, "supplier");
  json_int_t net = jint(d, "net_minor", 0), total = jint(d, "total_minor", 0), cleared = 0, vat = 0;
  char id[FOFAL_UUID_LEN + 1];
  json_t *st = NULL, *changed = json_array();
  if (*order_id) {
    fofal_aggregate_ref(cmd->tenant, ORDER_NS, order_id, id);
    const json_t *prev = fofal_cmd_lookup(cmd, id);
    st = prev ? json_deep_copy(prev) : json_pack("{s:s,s:[]}", "order_id", order_id, "lines");
  }
  size_t i;
  json_array_foreach(st ? json_object_get(d, "lines") : NULL, i, l) {
    json_t *ol = NULL, *x;
    size_t k;
    json_array_foreach(json_object_get(st, "lines"), k, x) if (jint(x, "line", 0) == jint(l, "line", 0)) ol = x;
    json_int_t q = jint(l, "quantity_milli", 0);
    if (q <= 0) continue;
    if (!ol) ol = order_line(json_object_get(st, "lines"), jint(l, "line", 0));
    json_int_t left = jint(ol, "received_milli", 0) - jint(ol, "invoiced_milli", 0);
    json_int_t accrued = jint(ol, "accrued_minor", 0);
    json_int_t take = left <= 0 ? 0 : q < left ? q : left, c = 0;
    if (take == left) c = accrued;
    else if (take > 0 && accrued > 0)
      c = (json_int_t)(((unsigned __int128)accrued * (unsigned __int128)take + (unsigned __int128)(left / 2)) /
                       (unsigned __int128)left);
    json_object_set_new(ol, "invoiced_milli", json_integer(jint(ol, "invoiced_milli", 0) + take));
    json_object_set_new(ol, "accrued_minor", json_integer(accrued - c));
    /* Invoiced beyond what was posted as received: 601 now, out of it when received. */
    json_object_set_new(ol, "ahead_milli", json_integer(jint(ol, "ahead_milli", 0) + q - take));
    json_array_append(changed, ol);
    cleared += c;
  }
  char memo[200], ref[120], label[64];
  snprintf(memo, sizeof memo, "supplier invoice %s of %s", number, supplier);
  snprintf(ref, sizeof ref, "%s %s", supplier, number);
  json_t *lines = json_array(), *jmemo = json_string(memo);
  if (cleared) json_array_append_new(lines, pline(ACCOUNT_GOODS_NOT_BILLED, "debit_minor", cleared, ref));
  json_int_t diff = net - cleared;
  if (diff > 0) json_array_append_new(lines, pline(ACCOUNT_PURCHASES, "debit_minor", diff, ref));
  json_array_foreach(json_object_get(d, "vat"), i, l) {
    json_int_t v = jint(l, "vat_minor", 0), bp = jint(l, "vat_bp", 0);
    if (v <= 0) continue;
    if (bp % 100) snprintf(label, sizeof label, "TVA %lld.%02lld %%", (long long)(bp / 100), (long long)(bp % 100));
    else snprintf(label, sizeof label, "TVA %lld %%", (long long)(bp / 100));
    json_array_append_new(lines, pline(ACCOUNT_VAT, "debit_minor", v, label));
    vat += v;
  }
  if (diff < 0) json_array_append_new(lines, pline(ACCOUNT_PURCHASES, "credit_minor", -diff, "écart de prix"));
  json_array_append_new(lines, pline(ACCOUNT_SUPPLIERS, "credit_minor", total, ref));
  int rc = net + vat != total ? REJECT(out, "unbalanced", "the invoice's net (%lld) and VAT (%lld) are not its total (%lld)",
                                       (long long)net, (long long)vat, (long long)total)
           : total <= 0       ? REJECT(out, "nothing_to_post", "the invoice is of no amount")
                              : post_lines(cmd, jstr(d, "date"), lines, jmemo, json_object_get(d, "source"), out);
  json_decref(lines);
  json_decref(jmemo);
  if (rc || !json_array_size(changed)) {
    json_decref(st);
    json_decref(changed);
    return rc;
  }
  order_accrued(out, id, order_id, "supplier_invoice_id", jstr(d, "supplier_invoice_id"), st, changed);
  return 0;
}

static int period_close(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const char *p = jstr(cmd->data, "period");
  int y, m, n = 0;
  if (sscanf(p, "%4d-%2d%n", &y, &m, &n) != 2 || n != 7 || m < 1 || m > 12)
    return REJECT(out, "invalid_period", "period is a month YYYY-MM (got %s)", p);
  out->state = json_pack("{s:s,s:b}", "period", p, "closed", 1);
  fofal_decision_emit(out, EV("period_closed"),
                      json_pack("{s:s,s:s}", "period", p, "closed_by", cmd->actor ? cmd->actor : ""));
  return 0;
}

static int account_define(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const char *account = jstr(cmd->data, "account"), *name = jstr(cmd->data, "name");
  if (!account_valid(account))
    return REJECT(out, "invalid_account", "%s is no account of classes 1 to 7 (2 to 8 digits)", account);
  size_t n = strlen(name);
  while (n && (name[n - 1] == ' ' || name[n - 1] == '\t')) n--;
  if (!n || strlen(name) > 120) return REJECT(out, "invalid_name", "an account's name is 1 to 120 characters");
  json_int_t cls = jint(cmd->data, "class", account[0] - '0');
  if (cls != account[0] - '0')
    return REJECT(out, "class_mismatch", "account %s is of class %c, not %lld", account, account[0], (long long)cls);
  json_t *ev = json_pack("{s:s,s:s,s:I,s:s}", "account", account, "name", name, "class", cls, "defined_by",
                         cmd->actor ? cmd->actor : "");
  out->state = json_pack("{s:s,s:s,s:I}", "account", account, "name", name, "class", cls);
  fofal_decision_emit(out, EV("account_defined"), ev);
  return 0;
}

/* The company the statements name (one per tenant, "default"): a name of 1 to 120
 * characters, not blank (invalid_name), and a tax id, when given, of printable characters
 * without surrounding blanks (invalid_tax_id). Setting it again replaces both. */
static int company_set(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const char *name = jstr(cmd->data, "name"), *tax = jstr(cmd->data, "tax_id");
  size_t n = strlen(name), t = strlen(tax), chars = 0;
  for (size_t i = 0; i < n; i++) chars += ((unsigned char)name[i] & 0xC0) != 0x80; /* UTF-8 */
  if (!n || chars > 120 || name[0] == ' ' || name[n - 1] == ' ')
    return REJECT(out, "invalid_name", "the company's name is 1 to 120 characters, without surrounding blanks");
  for (size_t i = 0; i < t; i++)
    if ((unsigned char)tax[i] < 0x20 || tax[i] == 0x7f)
      return REJECT(out, "invalid_tax_id", "the tax id holds a control character");
  if (t && (tax[0] == ' ' || tax[t - 1] == ' '))
    return REJECT(out, "invalid_tax_id", "the tax id has surrounding blanks");
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
      return REJECT(out, "invalid_name", "the company's name holds a control character");
  json_t *ev = json_pack("{s:s,s:s,s:s}", "company", "default", "name", name, "set_by", cmd->actor ? cmd->actor : "");
  out->state = json_pack("{s:s,s:s}", "company", "default", "name", name);
  if (t) {
    json_object_set_new(ev, "tax_id", json_string(tax));
    json_object_set_new(out->state, "tax_id", json_string(tax));
  }
  fofal_decision_emit(out, EV("company_set"), ev);
  return 0;
}

/* The namespace of closing entries' ids: uuid5(this, the year's aggregate id). */
#define CLOSING_NS "3c8e0f7a-5b2d-4e61-9a4f-7d1c2b3e4f50"

/* A year is closed once each of its months is (period_open otherwise) and once
 * (year_closed): its closing entry, dated 31 December, brings every account of classes 6
 * and 7 to zero against the result, 120 (a profit: credited) or 129 (a loss: debited). */
static int year_close(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const char *year = jstr(cmd->data, "year");
  int y, n = 0;
  if (sscanf(year, "%4d%n", &y, &n) != 1 || n != 4 || strlen(year) != 4 || y < 1970)
    return REJECT(out, "invalid_year", "year is YYYY (got %s)", year);
  if (json_is_true(json_object_get(state, "closed"))) return REJECT(out, "year_closed", "the year %s is closed", year);
  for (int m = 1; m <= 12; m++) {
    char p[8];
    snprintf(p, sizeof p, "%04d-%02d", y, m);
    if (!json_is_true(json_object_get(lookup_ref(cmd, "period", p, NULL), "closed")))
      return REJECT(out, "period_open", "the month %s is open: close every month of %s first", p, year);
  }
  json_t *lines = json_array(), *v;
  const char *k;
  json_int_t result = 0, total = 0;
  json_object_foreach((json_t *)json_object_get(state, "accounts"), k, v) {
    json_int_t b = json_integer_value(v);
    if (!b) continue;
    json_array_append_new(lines, json_pack("{s:s,s:I,s:s}", "account", k, b > 0 ? "credit_minor" : "debit_minor",
                                           b > 0 ? b : -b, "label", "clôture de l'exercice"));
    result -= b;
    total += b < 0 ? -b : 0; /* the debits: products brought back to zero */
  }
  if (result)
    json_array_append_new(lines, json_pack("{s:s,s:I,s:s}", "account", result > 0 ? "120" : "129",
                                           result > 0 ? "credit_minor" : "debit_minor", result > 0 ? result : -result,
                                           "label", "résultat de l'exercice"));
  total += result < 0 ? -result : 0;
  char id[FOFAL_UUID_LEN + 1], date[11];
  fofal_uuid_named(CLOSING_NS, cmd->aggregate, id);
  snprintf(date, sizeof date, "%s-12-31", year);
  json_t *ev = json_pack("{s:s,s:s,s:s,s:o,s:I,s:I,s:s}", "year", year, "entry_id", id, "date", date, "lines", lines,
                         "total_minor", total, "result_minor", result, "closed_by", cmd->actor ? cmd->actor : "");
  out->state = json_pack("{s:s,s:b,s:I}", "year", year, "closed", 1, "result_minor", result);
  fofal_decision_emit(out, EV("year_closed"), ev);
  return 0;
}

static const fofal_command_def_t commands[] = {
    {"accounting.entry.post", "entry_id", 1,
     "Post a balanced journal entry (debits equal credits, in minor units) into an open period.", entry_post, NULL},
    {"accounting.receipt.post", "entry_id", 1,
     "Post a goods receipt (by reaction): 311 against 408 at the order's prices, and what the order has in 408.",
     receipt_post, NULL},
    {"accounting.adjustment.post", "entry_id", 1,
     "Post a stock count's difference on a yarn lot (by reaction) at its item's weighted average cost: 603 against 311.",
     adjustment_post, NULL},
    {"accounting.supplier_invoice.post", "entry_id", 1,
     "Post a supplier invoice (by reaction): 408 cleared of its order's receipts, 601 the difference, 4366, 401.",
     supplier_invoice_post, NULL},
    {"accounting.period.close", "period", 1, "Close a month: nothing is posted into it again.", period_close, "period"},
    {"accounting.account.define", "account", FOFAL_CREATES_OR_UPDATES, "Name an account of the tenant's chart (defining it again renames it).",
     account_define, "account"},
    {"accounting.company.set", "company", FOFAL_CREATES_OR_UPDATES,
     "Set the company (name, tax id) the statements' PDFs name at their head.", company_set, "accounting_company"},
    {"accounting.year.close", "year", FOFAL_CREATES_OR_UPDATES,
     "Close a year whose months are closed: classes 6 and 7 to the result (120 profit, 129 loss).", year_close, "year"},
};
static const int ncommands = sizeof commands / sizeof commands[0];

static const fofal_command_table_t tables[] = {
    {commands, &ncommands},
    {NULL, NULL},
};

const fofal_command_module_t fofal_module_accounting_commands = {.name = "accounting", .tables = tables};
