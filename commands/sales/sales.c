/*
 * sales.c — the sales module's deciders (issue 17, "Finance and accounting"): customers,
 * sales orders, deliveries of the stores' pallets and cartons, invoices numbered without
 * gaps, credit notes and payments, and the tenant's VAT rates.
 *
 *   sales.settings.set        the tenant's VAT rates (basis points; default the Tunisian
 *                             1900, 1300, 700 and 0: 19 %, 13 %, 7 %, 0 %)
 *   sales.customer.register   code, name, VAT id, payment terms (days), currency
 *   sales.customer.update     the same fields, each optional
 *   sales.order.place         a registered customer's order: lines of article, quantity
 *                             (pieces), unit price (minor units) and VAT rate
 *   sales.delivery.ship       what of an order leaves, on which pallets or cartons of the
 *                             stores (their ids)
 *   sales.invoice.issue       the invoice of a delivery, numbered FA-<year>-NNNNN
 *   sales.credit_note.issue   a credit note against an invoice, numbered AV-<year>-NNNNN
 *   sales.payment.record      money received for an invoice (or paid back to its
 *                             customer) on the bank (532) or in cash (54)
 *   sales.supplier_invoice.record   a supplier's invoice against its purchase order,
 *                             matched three ways (order, receipts, invoice) or held
 *   sales.supplier_invoice.approve  a held invoice accepted as it is, by another person
 *   sales.supplier_payment.record   money paid to a supplier for an invoice
 *
 * Rules (each a rejection code):
 *   - an order's customer is registered (unknown_customer); its VAT rates are the
 *     tenant's (unknown_vat_rate);
 *   - a delivery ships lines of its order (unknown_order, unknown_line), never more than
 *     is left to deliver (over_delivery), on pallets or cartons the stores built
 *     (unknown_container: the decider reads inventory's aggregates, as every aggregate of
 *     a tenant is in its partition; see catalog.c) that no delivery shipped before
 *     (container_shipped: a per-container aggregate of this module; a pallet's cartons
 *     are shipped with it, and a carton of a shipped pallet cannot leave again);
 *   - an invoice is of a delivery (unknown_delivery), once (already_invoiced), dated no
 *     earlier than it (date_before_delivery) nor than the series' last invoice
 *     (date_before_last_number: numbers follow dates);
 *   - numbers are WITHOUT GAPS per tenant, series and year: the decider of the invoice
 *     reads the numbering aggregate of (tenant, "FA-2026") and writes the next number to
 *     it in the same transaction as the invoice (fofal_decision_emit_to). A refused
 *     invoice writes nothing, so it never burns a number; the tenant's partition decides
 *     one command at a time, so two invoices never get the same one;
 *   - VAT per line, rounded half up to the minor unit: vat = (net × rate_bp + 5000) /
 *     10000 (net ≥ 0), net = quantity × unit price; an invoice's VAT is the sum of its
 *     lines', also given per rate;
 *   - a credit note credits lines of its invoice, never more than invoiced less what was
 *     credited before (over_credit, unknown_line), with the same per-line VAT rule;
 *   - a payment received is never more than what is due (total − credited − received +
 *     paid back: over_payment) unless it says "overpayment": true, and then the event
 *     names the excess (overpaid_minor); a payment made (paid back to the customer) is
 *     never more than what the customer paid beyond what is due (over_refund); no
 *     payment is dated before its invoice (date_before_invoice); a payment id is used
 *     once per invoice (duplicate_payment).
 *   - a supplier invoice is of a purchase order of purchasing (unknown_purchase_order, read
 *     in the partition as the containers are) and of its supplier (supplier_mismatch);
 *     a supplier's number is recorded once (duplicate_supplier_invoice); each line is
 *     matched with the order line: what all invoices of the line claim is at most what was
 *     received plus the tolerance, its unit price within the tolerance of the order's
 *     (settings match_tolerance_pct, default 2 %). A mismatch does not refuse the invoice:
 *     it is recorded "held" with its mismatches (unknown_line, quantity_not_received,
 *     price_differs), is not posted and cannot be paid (invoice_held) until someone other
 *     than who recorded it approves it with a reason (same_person, not_held); a payment to
 *     a supplier is never more than is due (over_payment). Amounts as purchasing's:
 *     quantity_milli × unit_price / 1000, half up, then VAT per line as for sales.
 *
 * Money is integer minor units (millimes for TND) in the customer's currency; the caps
 * of the schemas (quantity ≤ 10^6, unit price ≤ 10^8, 200 lines) keep every product and
 * sum far inside 64 bits.
 *
 * The build finds this folder and lists fofal_module_sales_commands in the generated
 * fofal_command_modules[]. Pure functions: no I/O, no clock.
 */
#include "sales.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define EV(name) "fofal.sales." name ".v1"
#define MAX_PAYMENTS 200 /* payments remembered per invoice */
/* Kinds of aggregates named by a code (fofal_aggregate_ref): unique across modules. */
#define SETTINGS_NS "sales_settings"   /* "default" */
#define NUMBERING_NS "sales_numbering" /* "FA-2026", "AV-2026" */
#define SHIPMENT_NS "sales_shipment"   /* a container's id: it left with a delivery */
/* uuid5(this, tenant, supplier, their number): a supplier's invoice number is recorded once */
#define SUPPLIER_NUMBER_NS "3c9b7e52-1f0d-4a8e-b6c4-8d2f5a7e1b93"
#define MATCH_NS "sales_order_match"   /* a purchase order's id: what of it is invoiced */
#define DEFAULT_TOLERANCE_PCT 2        /* three-way match: quantity and price within 2 % */

static const json_int_t default_rates[] = {1900, 1300, 700, 0};

/* --------------------------------------------------------------- VAT */

/* VAT of a net amount at rate_bp (basis points), rounded half up to the minor unit. */
json_int_t fofal_sales_vat(json_int_t net_minor, json_int_t rate_bp) {
  return (net_minor * rate_bp + 5000) / 10000;
}

/* 1 when the tenant's rates (settings, or the Tunisian defaults) include rate_bp. */
static int rate_known(const fofal_cmd_t *cmd, json_int_t rate_bp) {
  const json_t *rates = json_object_get(lookup_ref(cmd, SETTINGS_NS, "default", NULL), "vat_rates_bp");
  if (json_is_array(rates)) {
    size_t i;
    json_t *r;
    json_array_foreach(rates, i, r) if (json_integer_value(r) == rate_bp) return 1;
    return 0;
  }
  for (size_t i = 0; i < sizeof default_rates / sizeof default_rates[0]; i++)
    if (default_rates[i] == rate_bp) return 1;
  return 0;
}

/* ------------------------------------------------------------- dates */

/* "YYYY-MM-DD" a real day: its days since the epoch into *days. 0 or -1. */
static int day_of(const char *s, long *days) {
  int y, m, d, n = 0;
  if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || m < 1 || m > 12 || d < 1 ||
      d > 31)
    return -1;
  struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
  time_t t = timegm(&tm);
  if (tm.tm_mday != d || tm.tm_mon != m - 1) return -1;
  *days = (long)(t / 86400);
  return 0;
}

static void date_of(long days, char out[11]) {
  time_t t = (time_t)days * 86400;
  struct tm tm;
  gmtime_r(&t, &tm);
  snprintf(out, 11, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

#define CHECK_DATE(out, field, s, days)                                                                               \
  do {                                                                                                                \
    if (day_of((s), (days)))                                                                                          \
      return REJECT(out, "invalid_date", "%s must be a date YYYY-MM-DD (got %s)", field, (s));                        \
  } while (0)

/* ------------------------------------------------------- numbering */

/* The next number of series ("FA", "AV") in the year of `date`, for document `doc_id`:
 * writes it to the numbering aggregate (in the decision) and into number[32]. Refuses a
 * date earlier than the series' last document (numbers follow dates). */
static int take_number(const fofal_cmd_t *cmd, const char *series, const char *date, const char *doc_id,
                       fofal_decision_t *out, char number[32]) {
  char code[16], id[FOFAL_UUID_LEN + 1];
  snprintf(code, sizeof code, "%s-%.4s", series, date);
  const json_t *st = lookup_ref(cmd, NUMBERING_NS, code, id);
  json_int_t last = jint(st, "last", 0);
  const char *last_date = jstr(st, "last_date");
  if (*last_date && strcmp(date, last_date) < 0)
    return REJECT(out, "date_before_last_number", "%s-%05lld was dated %s: a later number is not dated earlier (%s)", code,
                  (long long)last, last_date, date);
  if (last >= 99999) return REJECT(out, "numbers_exhausted", "series %s has used its 99999 numbers", code);
  snprintf(number, 32, "%s-%05lld", code, (long long)(last + 1));
  fofal_decision_emit_to(out, id, EV("number_assigned"),
                         json_pack("{s:s,s:I,s:s,s:s,s:s}", "series", code, "sequence", last + 1, "number", number,
                                   "document_id", doc_id, "date", date),
                         json_pack("{s:s,s:I,s:s}", "series", code, "last", last + 1, "last_date", date));
  return 0;
}

/* -------------------------------------------------------- settings */

static int settings_set(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const json_t *rates = json_object_get(cmd->data, "vat_rates_bp");
  size_t i, j;
  json_t *r, *s;
  json_array_foreach(rates, i, r) json_array_foreach(rates, j, s) if (j > i && json_equal(r, s))
      return REJECT(out, "duplicate_rate", "rate %lld is listed twice", (long long)json_integer_value(r));
  out->state = json_pack("{s:O}", "vat_rates_bp", rates);
  json_t *ev = json_pack("{s:s,s:O,s:s}", "settings", "default", "vat_rates_bp", rates, "set_by", cmd->actor ?: "");
  jcopy(out->state, cmd->data, "match_tolerance_pct");
  jcopy(ev, cmd->data, "match_tolerance_pct");
  fofal_decision_emit(out, EV("settings_set"), ev);
  return 0;
}

/* -------------------------------------------------------- customers */

static const char *customer_fields[] = {"name", "vat_id", "payment_terms_days", "currency", "address", NULL};

static int customer_register(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  json_t *ev = json_pack("{s:s,s:s,s:I}", "customer", jstr(cmd->data, "customer"), "currency", "TND",
                         "payment_terms_days", (json_int_t)0);
  for (int i = 0; customer_fields[i]; i++) jcopy(ev, cmd->data, customer_fields[i]);
  out->state = json_deep_copy(ev);
  fofal_decision_emit(out, EV("customer_registered"), ev);
  return 0;
}

static int customer_update(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  json_t *ev = json_pack("{s:s}", "customer", jstr(cmd->data, "customer"));
  for (int i = 0; customer_fields[i]; i++) jcopy(ev, cmd->data, customer_fields[i]);
  if (json_object_size(ev) < 2) {
    json_decref(ev);
    return REJECT(out, "nothing_to_update", "name no field to change");
  }
  out->state = json_deep_copy(state);
  json_object_update(out->state, ev);
  fofal_decision_emit(out, EV("customer_updated"), ev);
  return 0;
}

/* ----------------------------------------------------------- orders */

static int order_place(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const json_t *d = cmd->data, *lines = json_object_get(d, "lines");
  const char *code = jstr(d, "customer");
  const json_t *cust = lookup_ref(cmd, "customer", code, NULL);
  if (!cust) return REJECT(out, "unknown_customer", "customer %s is not registered", code);
  long day;
  CHECK_DATE(out, "date", jstr(d, "date"), &day);
  json_t *st_lines = json_array();
  size_t i;
  json_t *l;
  json_array_foreach(lines, i, l) {
    json_int_t rate = jint(l, "vat_bp", 1900);
    if (!rate_known(cmd, rate)) {
      json_decref(st_lines);
      return REJECT(out, "unknown_vat_rate", "line %zu: %lld bp is none of the tenant's VAT rates", i + 1, (long long)rate);
    }
    json_array_append_new(st_lines, json_pack("{s:I,s:s,s:I,s:I,s:I,s:I}", "line", (json_int_t)(i + 1), "article",
                                              jstr(l, "article"), "quantity", jint(l, "quantity", 0), "unit_price_minor",
                                              jint(l, "unit_price_minor", 0), "vat_bp", rate, "delivered", (json_int_t)0));
  }
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:O,s:s}", "order_id", cmd->aggregate, "customer", code, "currency",
                         jstr(cust, "currency"), "date", jstr(d, "date"), "lines", st_lines, "placed_by", cmd->actor ?: "");
  jcopy(ev, d, "reference");
  out->state = json_pack("{s:s,s:s,s:s,s:o}", "order_id", cmd->aggregate, "customer", code, "currency",
                         jstr(cust, "currency"), "lines", st_lines);
  fofal_decision_emit(out, EV("order_placed"), ev);
  return 0;
}

/* -------------------------------------------------------- deliveries */

/* Refuses a container the stores never built or one already shipped. A pallet's cartons
 * are marked shipped with it. */
static int ship_container(const fofal_cmd_t *cmd, const char *cid, const json_t *seen, fofal_decision_t *out) {
  const json_t *c = fofal_cmd_lookup(cmd, cid);
  const char *kind = jstr(c, "kind_of");
  if (strcmp(kind, "pallet") && strcmp(kind, "carton"))
    return REJECT(out, "unknown_container", "%s is no pallet or carton of the stores", cid);
  if (json_object_get(seen, cid)) return REJECT(out, "duplicate_container", "%s is listed twice", cid);
  if (lookup_ref(cmd, SHIPMENT_NS, cid, NULL))
    return REJECT(out, "container_shipped", "%s %s left with an earlier delivery", kind, cid);
  const char *pallet = jstr(c, "pallet_id");
  if (*pallet && lookup_ref(cmd, SHIPMENT_NS, pallet, NULL))
    return REJECT(out, "container_shipped", "carton %s left on pallet %s", cid, pallet);
  return 0;
}

static void mark_shipped(const fofal_cmd_t *cmd, const char *cid, const char *via, fofal_decision_t *out) {
  char id[FOFAL_UUID_LEN + 1];
  fofal_aggregate_ref(cmd->tenant, SHIPMENT_NS, cid, id);
  json_t *ev = json_pack("{s:s,s:s}", "container_id", cid, "delivery_id", cmd->aggregate);
  if (via) json_object_set_new(ev, "pallet_id", json_string(via));
  fofal_decision_emit_to(out, id, EV("container_shipped"), ev,
                         json_pack("{s:s,s:s}", "container_id", cid, "delivery_id", cmd->aggregate));
}

static int delivery_ship(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const json_t *d = cmd->data;
  const char *order_id = jstr(d, "order_id");
  const json_t *order = fofal_uuid_valid(order_id) ? fofal_cmd_lookup(cmd, order_id) : NULL;
  if (!order || !json_object_get(order, "lines")) return REJECT(out, "unknown_order", "no sales order %s", order_id);
  long day;
  CHECK_DATE(out, "date", jstr(d, "date"), &day);
  json_t *lines = json_deep_copy(json_object_get(order, "lines")), *shipped = json_array(), *seen = json_object();
  size_t i;
  json_t *l;
  int rc = 0;
  json_array_foreach(json_object_get(d, "lines"), i, l) {
    json_int_t n = jint(l, "line", 0), q = jint(l, "quantity", 0);
    json_t *ol = n >= 1 ? json_array_get(lines, (size_t)(n - 1)) : NULL;
    if (!ol) {
      rc = REJECT(out, "unknown_line", "order %s has no line %lld", order_id, (long long)n);
      break;
    }
    json_int_t left = jint(ol, "quantity", 0) - jint(ol, "delivered", 0);
    if (q > left) {
      rc = REJECT(out, "over_delivery", "line %lld (%s): %lld left to deliver, not %lld", (long long)n,
                  jstr(ol, "article"), (long long)left, (long long)q);
      break;
    }
    json_object_set_new(ol, "delivered", json_integer(jint(ol, "delivered", 0) + q));
    json_array_append_new(shipped, json_pack("{s:I,s:s,s:I,s:I,s:I}", "line", n, "article", jstr(ol, "article"),
                                              "quantity", q, "unit_price_minor", jint(ol, "unit_price_minor", 0),
                                              "vat_bp", jint(ol, "vat_bp", 0)));
  }
  const json_t *containers = json_object_get(d, "containers");
  json_t *c;
  if (!rc) json_array_foreach(containers, i, c) {
      if ((rc = ship_container(cmd, json_string_value(c), seen, out))) break;
      json_object_set_new(seen, json_string_value(c), json_true());
    }
  if (rc) {
    json_decref(lines);
    json_decref(shipped);
    json_decref(seen);
    return rc;
  }
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:O,s:O,s:s}", "delivery_id", cmd->aggregate, "order_id", order_id, "customer",
                         jstr(order, "customer"), "date", jstr(d, "date"), "lines", shipped, "containers", containers,
                         "shipped_by", cmd->actor ?: "");
  out->state = json_pack("{s:s,s:s,s:s,s:s,s:o,s:O}", "delivery_id", cmd->aggregate, "order_id", order_id, "customer",
                         jstr(order, "customer"), "date", jstr(d, "date"), "lines", shipped, "containers", containers);
  fofal_decision_emit(out, EV("delivery_shipped"), ev);
  json_t *ost = json_deep_copy(order);
  json_object_set_new(ost, "lines", lines);
  json_t *dl = json_array();
  json_array_foreach(json_object_get(ost, "lines"), i, l)
      json_array_append_new(dl, json_pack("{s:I,s:I}", "line", jint(l, "line", 0), "delivered", jint(l, "delivered", 0)));
  fofal_decision_emit_to(out, order_id, EV("order_delivered"),
                         json_pack("{s:s,s:s,s:o}", "order_id", order_id, "delivery_id", cmd->aggregate, "lines", dl), ost);
  json_array_foreach(containers, i, c) {
    const char *cid = json_string_value(c);
    mark_shipped(cmd, cid, NULL, out);
    const json_t *pc = fofal_cmd_lookup(cmd, cid);
    size_t k;
    json_t *carton;
    if (jeq(pc, "kind_of", "pallet"))
      json_array_foreach(json_object_get(pc, "cartons"), k, carton) if (json_is_string(carton))
          mark_shipped(cmd, json_string_value(carton), cid, out);
  }
  json_decref(seen);
  return 0;
}

/* ------------------------------------------------------------ amounts */

/* Lines with net and VAT, the totals per rate and the invoice's, into `doc`. `lines` are
 * {line, article, quantity, unit_price_minor, vat_bp}. */
static void price(json_t *doc, const json_t *lines) {
  json_t *priced = json_array(), *by_rate = json_object();
  json_int_t net = 0, vat = 0;
  size_t i;
  json_t *l;
  json_array_foreach(lines, i, l) {
    json_int_t q = jint(l, "quantity", 0), p = jint(l, "unit_price_minor", 0), bp = jint(l, "vat_bp", 0);
    json_int_t ln = json_is_integer(json_object_get(l, "net_minor")) ? jint(l, "net_minor", 0) : q * p;
    json_int_t lv = fofal_sales_vat(ln, bp);
    json_t *pl = json_deep_copy(l);
    json_object_set_new(pl, "net_minor", json_integer(ln));
    json_object_set_new(pl, "vat_minor", json_integer(lv));
    json_array_append_new(priced, pl);
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)bp);
    json_t *r = json_object_get(by_rate, key);
    if (!r) json_object_set_new(by_rate, key, r = json_pack("{s:I,s:I,s:I}", "vat_bp", bp, "base_minor", 0, "vat_minor", 0));
    json_object_set_new(r, "base_minor", json_integer(jint(r, "base_minor", 0) + ln));
    json_object_set_new(r, "vat_minor", json_integer(jint(r, "vat_minor", 0) + lv));
    net += ln;
    vat += lv;
  }
  json_t *rates = json_array();
  const char *k;
  json_t *r;
  /* Highest rate first, whatever the object's order. */
  for (;;) {
    const char *best = NULL;
    json_int_t bbp = -1;
    json_object_foreach(by_rate, k, r) if (jint(r, "vat_bp", 0) > bbp) bbp = jint(r, "vat_bp", 0), best = k;
    if (!best) break;
    json_array_append(rates, json_object_get(by_rate, best));
    json_object_del(by_rate, best);
  }
  json_decref(by_rate);
  json_object_set_new(doc, "lines", priced);
  json_object_set_new(doc, "vat", rates);
  json_object_set_new(doc, "net_minor", json_integer(net));
  json_object_set_new(doc, "vat_minor", json_integer(vat));
  json_object_set_new(doc, "total_minor", json_integer(net + vat));
}

/* ------------------------------------------------------------ invoices */

static int invoice_issue(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const json_t *d = cmd->data;
  const char *delivery_id = jstr(d, "delivery_id"), *date = jstr(d, "date");
  const json_t *dl = fofal_uuid_valid(delivery_id) ? fofal_cmd_lookup(cmd, delivery_id) : NULL;
  if (!dl || !json_object_get(dl, "containers")) return REJECT(out, "unknown_delivery", "no delivery %s", delivery_id);
  if (*jstr(dl, "invoice_id"))
    return REJECT(out, "already_invoiced", "delivery %s is invoiced by %s", delivery_id, jstr(dl, "invoice_number"));
  long day, dday;
  CHECK_DATE(out, "date", date, &day);
  if (day_of(jstr(dl, "date"), &dday) == 0 && day < dday)
    return REJECT(out, "date_before_delivery", "the delivery left on %s, after %s", jstr(dl, "date"), date);
  const char *code = jstr(dl, "customer");
  const json_t *cust = lookup_ref(cmd, "customer", code, NULL);
  const json_t *order = fofal_cmd_lookup(cmd, jstr(dl, "order_id"));
  char number[32], due[11];
  if (take_number(cmd, "FA", date, cmd->aggregate, out, number)) return FOFAL_EREJECTED;
  date_of(day + (long)jint(cust, "payment_terms_days", 0), due);
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "invoice_id", cmd->aggregate, "number", number,
                         "delivery_id", delivery_id, "order_id", jstr(dl, "order_id"), "customer", code, "currency",
                         *jstr(order, "currency") ? jstr(order, "currency") : "TND", "date", date, "due_date", due,
                         "issued_by", cmd->actor ?: "");
  if (*jstr(cust, "vat_id")) json_object_set_new(ev, "customer_vat_id", json_string(jstr(cust, "vat_id")));
  price(ev, json_object_get(dl, "lines"));
  out->state = json_pack("{s:s,s:s,s:s,s:s,s:O,s:I,s:I,s:I,s:I,s:I,s:[]}", "invoice_id", cmd->aggregate, "number", number,
                         "customer", code, "date", date, "lines", json_object_get(ev, "lines"), "total_minor",
                         jint(ev, "total_minor", 0), "credited_minor", (json_int_t)0, "received_minor", (json_int_t)0,
                         "paid_back_minor", (json_int_t)0, "credit_notes", (json_int_t)0, "payments");
  json_object_set(out->state, "currency", json_object_get(ev, "currency"));
  fofal_decision_emit(out, EV("invoice_issued"), ev);
  fofal_decision_issue(out, "number", number);
  json_t *dst = json_deep_copy(dl);
  json_object_set_new(dst, "invoice_id", json_string(cmd->aggregate));
  json_object_set_new(dst, "invoice_number", json_string(number));
  fofal_decision_emit_to(out, delivery_id, EV("delivery_invoiced"),
                         json_pack("{s:s,s:s,s:s}", "delivery_id", delivery_id, "invoice_id", cmd->aggregate, "number",
                                   number),
                         dst);
  return 0;
}

/* What the customer owes on the invoice now (negative: what they paid beyond it). */
static json_int_t due_of(const json_t *inv) {
  return jint(inv, "total_minor", 0) - jint(inv, "credited_minor", 0) - jint(inv, "received_minor", 0) +
         jint(inv, "paid_back_minor", 0);
}

static int credit_note_issue(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const json_t *d = cmd->data;
  const char *date = jstr(d, "date");
  long day, iday;
  CHECK_DATE(out, "date", date, &day);
  if (day_of(jstr(state, "date"), &iday) == 0 && day < iday)
    return REJECT(out, "date_before_invoice", "invoice %s is dated %s, after %s", jstr(state, "number"),
                  jstr(state, "date"), date);
  json_t *lines = json_deep_copy(json_object_get(state, "lines")), *credited = json_array();
  size_t i;
  json_t *l;
  json_array_foreach(json_object_get(d, "lines"), i, l) {
    json_int_t n = jint(l, "line", 0), q = jint(l, "quantity", 0);
    json_t *il = NULL, *x;
    size_t k;
    json_array_foreach(lines, k, x) if (jint(x, "line", 0) == n) il = x;
    json_int_t left = il ? jint(il, "quantity", 0) - jint(il, "credited", 0) : 0;
    if (!il || q > left) {
      json_decref(lines);
      json_decref(credited);
      return il ? REJECT(out, "over_credit", "line %lld: %lld invoiced and not yet credited, not %lld", (long long)n,
                         (long long)left, (long long)q)
                : REJECT(out, "unknown_line", "invoice %s has no line %lld", jstr(state, "number"), (long long)n);
    }
    json_object_set_new(il, "credited", json_integer(jint(il, "credited", 0) + q));
    json_array_append_new(credited, json_pack("{s:I,s:s,s:I,s:I,s:I}", "line", n, "article", jstr(il, "article"),
                                              "quantity", q, "unit_price_minor", jint(il, "unit_price_minor", 0),
                                              "vat_bp", jint(il, "vat_bp", 0)));
  }
  const char *cn_id = jstr(d, "credit_note_id");
  char number[32];
  if (take_number(cmd, "AV", date, cn_id, out, number)) {
    json_decref(lines);
    json_decref(credited);
    return FOFAL_EREJECTED;
  }
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "credit_note_id", cn_id, "number", number, "invoice_id",
                         cmd->aggregate, "invoice_number", jstr(state, "number"), "customer", jstr(state, "customer"),
                         "currency", jstr(state, "currency"), "date", date, "reason", jstr(d, "reason"), "issued_by",
                         cmd->actor ?: "");
  price(ev, credited);
  json_decref(credited);
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "lines", lines);
  json_object_set_new(out->state, "credited_minor",
                      json_integer(jint(state, "credited_minor", 0) + jint(ev, "total_minor", 0)));
  json_object_set_new(out->state, "credit_notes", json_integer(jint(state, "credit_notes", 0) + 1));
  json_object_set_new(ev, "due_minor", json_integer(due_of(out->state)));
  fofal_decision_emit(out, EV("credit_note_issued"), ev);
  fofal_decision_issue(out, "number", number);
  return 0;
}

/* ------------------------------------------------------------ payments */

static int payment_record(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const json_t *d = cmd->data;
  const char *date = jstr(d, "date"), *pid = jstr(d, "payment_id");
  long day, iday;
  CHECK_DATE(out, "date", date, &day);
  if (day_of(jstr(state, "date"), &iday) == 0 && day < iday)
    return REJECT(out, "date_before_invoice", "invoice %s is dated %s, after %s", jstr(state, "number"),
                  jstr(state, "date"), date);
  const json_t *pays = json_object_get(state, "payments");
  size_t i;
  json_t *p;
  json_array_foreach(pays, i, p) if (!strcmp(json_string_value(p) ?: "", pid))
      return REJECT(out, "duplicate_payment", "payment %s is already recorded on this invoice", pid);
  if (json_array_size(pays) >= MAX_PAYMENTS)
    return REJECT(out, "too_many_payments", "an invoice takes at most %d payments", MAX_PAYMENTS);
  json_int_t amount = jint(d, "amount_minor", 0), due = due_of(state), over = 0;
  int made = jeq(d, "direction", "made");
  if (made && amount > -due)
    return REJECT(out, "over_refund", "the customer paid %lld beyond what is due; %lld cannot be paid back",
                  (long long)(due < 0 ? -due : 0), (long long)amount);
  if (!made && amount > due) {
    if (!json_is_true(json_object_get(d, "overpayment")))
      return REJECT(out, "over_payment", "%lld is due on %s, not %lld (say \"overpayment\": true to record the excess)",
                    (long long)(due > 0 ? due : 0), jstr(state, "number"), (long long)amount);
    over = amount - (due > 0 ? due : 0);
  }
  out->state = json_deep_copy(state);
  const char *key = made ? "paid_back_minor" : "received_minor";
  json_object_set_new(out->state, key, json_integer(jint(state, key, 0) + amount));
  json_array_append_new(json_object_get(out->state, "payments"), json_string(pid));
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:I,s:s}", "payment_id", pid, "invoice_id", cmd->aggregate,
                         "invoice_number", jstr(state, "number"), "customer", jstr(state, "customer"), "currency",
                         jstr(state, "currency"), "direction", made ? "made" : "received", "account",
                         jstr(d, "account"), "amount_minor", amount, "date", date, "due_minor", due_of(out->state),
                         "recorded_by", cmd->actor ?: "");
  if (over) json_object_set_new(ev, "overpaid_minor", json_integer(over));
  jcopy(ev, d, "reference");
  fofal_decision_emit(out, EV("payment_recorded"), ev);
  return 0;
}

/* ---------------------------------------------------- supplier invoices */

/* Three-way match of a supplier invoice's line against its purchase order (quantity and
 * unit price ordered, quantity received) and what earlier invoices took of the line: NULL
 * when it matches, else the mismatch (new). Quantities in thousandths, as purchasing's. */
static json_t *mismatch_of(const json_t *l, const json_t *ol, json_int_t invoiced_before, json_int_t tol) {
  json_int_t n = jint(l, "line", 0), q = jint(l, "quantity_milli", 0), p = jint(l, "unit_price", 0);
  if (!ol) return json_pack("{s:I,s:s}", "line", n, "reason", "unknown_line");
  json_int_t received = jint(ol, "received_milli", 0), op = jint(ol, "unit_price", 0);
  /* invoiced ≤ received × (100 + tol) / 100, in integers */
  if ((invoiced_before + q) * 100 > received * (100 + tol))
    return json_pack("{s:I,s:s,s:I,s:I,s:I}", "line", n, "reason", "quantity_not_received", "invoiced_milli",
                     invoiced_before + q, "received_milli", received, "tolerance_pct", tol);
  json_int_t diff = p > op ? p - op : op - p;
  if (diff * 100 > op * tol)
    return json_pack("{s:I,s:s,s:I,s:I,s:I}", "line", n, "reason", "price_differs", "unit_price", p, "ordered_unit_price",
                     op, "tolerance_pct", tol);
  return NULL;
}

static int supplier_invoice_record(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const json_t *d = cmd->data;
  const char *supplier = jstr(d, "supplier"), *order_id = jstr(d, "order_id"), *number = jstr(d, "supplier_number");
  const char *date = jstr(d, "date"), *due = jstr(d, "due_date");
  long day, dday;
  CHECK_DATE(out, "date", date, &day);
  CHECK_DATE(out, "due_date", due, &dday);
  if (dday < day) return REJECT(out, "invalid_date", "due_date %s is before the invoice's date %s", due, date);
  const json_t *po = fofal_uuid_valid(order_id) ? fofal_cmd_lookup(cmd, order_id) : NULL;
  if (!po || !json_is_array(json_object_get(po, "receipts")))
    return REJECT(out, "unknown_purchase_order", "no purchase order %s", order_id);
  if (strcmp(jstr(po, "supplier"), supplier))
    return REJECT(out, "supplier_mismatch", "purchase order %s is of supplier %s, not %s", order_id, jstr(po, "supplier"),
                  supplier);
  /* The aggregate of (tenant, supplier, their number): uuid5 of the three, which no code
   * separator could tell apart. */
  char name[256], num_id[FOFAL_UUID_LEN + 1];
  snprintf(name, sizeof name, "%s\x1f%s\x1f%s", cmd->tenant, supplier, number);
  fofal_uuid_named(SUPPLIER_NUMBER_NS, name, num_id);
  if (fofal_cmd_lookup(cmd, num_id))
    return REJECT(out, "duplicate_supplier_invoice", "%s's invoice %s is recorded already", supplier, number);
  const json_t *settings = lookup_ref(cmd, SETTINGS_NS, "default", NULL);
  json_int_t tol = jint(settings, "match_tolerance_pct", DEFAULT_TOLERANCE_PCT);
  char match_id[FOFAL_UUID_LEN + 1];
  fofal_aggregate_ref(cmd->tenant, MATCH_NS, order_id, match_id);
  const json_t *match = fofal_cmd_lookup(cmd, match_id);
  json_t *invoiced = json_deep_copy(json_object_get(match, "invoiced_milli"));
  if (!json_is_object(invoiced)) {
    json_decref(invoiced);
    invoiced = json_object();
  }
  json_t *lines = json_array(), *mismatches = json_array();
  size_t i, k;
  json_t *l, *x;
  json_array_foreach(json_object_get(d, "lines"), i, l) {
    json_int_t n = jint(l, "line", 0), q = jint(l, "quantity_milli", 0), p = jint(l, "unit_price", 0);
    json_int_t bp = jint(l, "vat_bp", 1900);
    if (!rate_known(cmd, bp)) {
      json_decref(lines);
      json_decref(mismatches);
      json_decref(invoiced);
      return REJECT(out, "unknown_vat_rate", "line %zu: %lld bp is none of the tenant's VAT rates", i + 1, (long long)bp);
    }
    const json_t *ol = NULL;
    json_array_foreach(json_object_get(po, "lines"), k, x) if (jint(x, "line", 0) == n) ol = x;
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)n);
    json_t *m = mismatch_of(l, ol, jint(invoiced, key, 0), tol);
    if (m) json_array_append_new(mismatches, m);
    json_object_set_new(invoiced, key, json_integer(jint(invoiced, key, 0) + q));
    json_array_append_new(lines, json_pack("{s:I,s:s,s:I,s:I,s:I,s:I}", "line", n, "article",
                                           *jstr(ol, "item") ? jstr(ol, "item") : "-", "quantity_milli", q,
                                           "unit_price", p, "vat_bp", bp, "net_minor", (q * p + 500) / 1000));
  }
  int held = json_array_size(mismatches) > 0;
  const json_t *sup = lookup_ref(cmd, "supplier", supplier, NULL);
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:I,s:s}", "supplier_invoice_id", cmd->aggregate,
                         "supplier", supplier, "supplier_number", number, "order_id", order_id, "currency",
                         *jstr(sup, "currency") ? jstr(sup, "currency") : "TND", "date", date, "due_date", due, "status",
                         held ? "held" : "matched", "mismatches", mismatches, "tolerance_pct", tol, "recorded_by",
                         cmd->actor ?: "");
  price(ev, lines);
  json_decref(lines);
  out->state = json_pack("{s:s,s:s,s:s,s:s,s:s,s:O,s:O,s:I,s:I,s:I,s:I,s:s,s:[]}", "supplier_invoice_id", cmd->aggregate,
                         "supplier", supplier, "supplier_number", number, "currency", jstr(ev, "currency"), "date", date,
                         "vat", json_object_get(ev, "vat"), "lines", json_object_get(ev, "lines"), "net_minor",
                         jint(ev, "net_minor", 0), "vat_minor", jint(ev, "vat_minor", 0), "total_minor",
                         jint(ev, "total_minor", 0), "paid_minor", (json_int_t)0, "status", held ? "held" : "matched",
                         "payments");
  json_object_set_new(out->state, "recorded_by", json_string(cmd->actor ?: ""));
  json_object_set_new(out->state, "due_date", json_string(due));
  json_object_set_new(out->state, "order_id", json_string(order_id));
  fofal_decision_emit(out, EV("supplier_invoice_recorded"), ev);
  fofal_decision_emit_to(out, num_id, EV("supplier_number_recorded"),
                           json_pack("{s:s,s:s,s:s}", "supplier", supplier, "supplier_number", number,
                                     "supplier_invoice_id", cmd->aggregate),
                           json_pack("{s:s}", "supplier_invoice_id", cmd->aggregate));
  fofal_decision_emit_to(out, match_id, EV("purchase_order_invoiced"),
                         json_pack("{s:s,s:s,s:O}", "order_id", order_id, "supplier_invoice_id", cmd->aggregate,
                                   "invoiced_milli", invoiced),
                         json_pack("{s:s,s:o}", "order_id", order_id, "invoiced_milli", invoiced));
  return 0;
}

static int supplier_invoice_approve(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (!jeq(state, "status", "held"))
    return REJECT(out, "not_held", "the invoice is %s: only a held (mismatched) invoice is approved", jstr(state, "status"));
  if (cmd->actor && !strcmp(cmd->actor, jstr(state, "recorded_by")))
    return REJECT(out, "same_person", "who recorded a mismatched invoice does not approve it too");
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:O,s:I,s:I,s:I,s:s,s:s}", "supplier_invoice_id", cmd->aggregate,
                         "supplier", jstr(state, "supplier"), "supplier_number", jstr(state, "supplier_number"),
                         "currency", jstr(state, "currency"), "date", jstr(state, "date"), "vat",
                         json_object_get(state, "vat"), "net_minor", jint(state, "net_minor", 0), "vat_minor",
                         jint(state, "vat_minor", 0), "total_minor", jint(state, "total_minor", 0), "reason",
                         jstr(cmd->data, "reason"), "approved_by", cmd->actor ?: "");
  /* What it invoices, for its posting to clear the order's goods received (408). */
  jcopy(ev, state, "order_id");
  jcopy(ev, state, "lines");
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "status", json_string("approved"));
  fofal_decision_emit(out, EV("supplier_invoice_approved"), ev);
  return 0;
}

static int supplier_payment_record(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const json_t *d = cmd->data;
  const char *date = jstr(d, "date"), *pid = jstr(d, "payment_id");
  long day, iday;
  CHECK_DATE(out, "date", date, &day);
  if (jeq(state, "status", "held"))
    return REJECT(out, "invoice_held", "the invoice does not match its order and receipts: approve it before paying");
  if (day_of(jstr(state, "date"), &iday) == 0 && day < iday)
    return REJECT(out, "date_before_invoice", "the invoice is dated %s, after %s", jstr(state, "date"), date);
  const json_t *pays = json_object_get(state, "payments");
  size_t i;
  json_t *p;
  json_array_foreach(pays, i, p) if (!strcmp(json_string_value(p) ?: "", pid))
      return REJECT(out, "duplicate_payment", "payment %s is already recorded on this invoice", pid);
  if (json_array_size(pays) >= MAX_PAYMENTS)
    return REJECT(out, "too_many_payments", "an invoice takes at most %d payments", MAX_PAYMENTS);
  json_int_t amount = jint(d, "amount_minor", 0), due = jint(state, "total_minor", 0) - jint(state, "paid_minor", 0);
  if (amount > due)
    return REJECT(out, "over_payment", "%lld is due to %s, not %lld", (long long)due, jstr(state, "supplier"),
                  (long long)amount);
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "paid_minor", json_integer(jint(state, "paid_minor", 0) + amount));
  json_array_append_new(json_object_get(out->state, "payments"), json_string(pid));
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:I,s:s}", "payment_id", pid, "supplier_invoice_id",
                         cmd->aggregate, "supplier", jstr(state, "supplier"), "supplier_number",
                         jstr(state, "supplier_number"), "currency", jstr(state, "currency"), "account",
                         jstr(d, "account"), "amount_minor", amount, "date", date, "due_minor", due - amount,
                         "recorded_by", cmd->actor ?: "");
  jcopy(ev, d, "reference");
  fofal_decision_emit(out, EV("supplier_payment_recorded"), ev);
  return 0;
}

static const fofal_command_def_t commands[] = {
    {"sales.settings.set", "settings", FOFAL_CREATES_OR_UPDATES,
     "Set the tenant's VAT rates (basis points; default 1900, 1300, 700, 0).", settings_set, SETTINGS_NS},
    {"sales.customer.register", "customer", 1, "Register a customer: name, VAT id, payment terms, currency.",
     customer_register, "customer"},
    {"sales.customer.update", "customer", 0, "Change a customer's name, VAT id, payment terms or currency.",
     customer_update, "customer"},
    {"sales.order.place", "order_id", 1, "Place a customer's sales order: articles, quantities, unit prices, VAT rates.",
     order_place, NULL},
    {"sales.delivery.ship", "delivery_id", 1, "Ship lines of a sales order on pallets or cartons of the stores.",
     delivery_ship, NULL},
    {"sales.invoice.issue", "invoice_id", 1, "Invoice a delivery with VAT under the next number of the year (FA-YYYY-NNNNN).",
     invoice_issue, NULL},
    {"sales.credit_note.issue", "invoice_id", 0,
     "Credit lines of an invoice (never more than invoiced), numbered AV-YYYY-NNNNN.", credit_note_issue, NULL},
    {"sales.payment.record", "invoice_id", 0,
     "Record a payment received for an invoice (or paid back to its customer) on the bank or in cash.", payment_record,
     NULL},
    {"sales.supplier_invoice.record", "supplier_invoice_id", 1,
     "Record a supplier's invoice against its purchase order: matched with order and receipts, or held as a mismatch.",
     supplier_invoice_record, NULL},
    {"sales.supplier_invoice.approve", "supplier_invoice_id", 0,
     "Approve a held (mismatched) supplier invoice, with a reason: it is posted and may be paid.",
     supplier_invoice_approve, NULL},
    {"sales.supplier_payment.record", "supplier_invoice_id", 0,
     "Record a payment made to a supplier for a matched or approved invoice, on the bank or in cash.",
     supplier_payment_record, NULL},
};
static const int ncommands = sizeof commands / sizeof commands[0];

static const fofal_command_table_t tables[] = {
    {commands, &ncommands},
    {NULL, NULL},
};

const fofal_command_module_t fofal_module_sales_commands = {.name = "sales", .tables = tables};
