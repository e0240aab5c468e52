/*
 * purchasing.c — the purchasing module's deciders and its registration in the command
 * layer: suppliers, purchase requests (DA) from the stations, their approval, purchase
 * orders that merge approved requests, and receipts against an order.
 *
 *   purchasing.supplier.register   a supplier: name, currency, payment terms, VAT id
 *   purchasing.supplier.update     only what changes (a no-op is rejected: no_change)
 *   purchasing.settings.set        the tenant's approval limits per role, over-receipt tolerance
 *   purchasing.request.submit      any station that needs something asks (item or free text)
 *   purchasing.request.approve     once, or twice above the first approver's limit
 *   purchasing.request.reject      with a reason
 *   purchasing.order.issue         to a supplier, lines with prices and dates; approved
 *                                  requests it answers become ordered; for a project
 *                                  (its code), which its receipts then name
 *   purchasing.order.receive       a receipt: per line what was accepted and what refused
 *   purchasing.order.amend         its whole set of lines again (prices, quantities, dates)
 *   purchasing.order.cancel        before anything was received
 *   purchasing.order.close         what is still due will not come
 *
 *   request: submitted → (awaiting_second_approval →) approved → ordered; rejected
 *   order:   open → partly_received → received → closed; cancelled while open
 *
 * Events go to fofal.purchasing.events. A supplier is named by its code
 * (fofal_aggregate_ref(tenant, "supplier", code)), the settings by
 * ("purchasing_settings", "default"), requests, orders and receipts by UUID. Who asked,
 * approved, rejected, issued or received is the envelope's actor (the token: subject and
 * role, and the badge when the sign-in has one), never a body field; a request's station
 * is the role of who asked.
 *
 * Rules (each has a unit test in tests/unit/purchasing/):
 *   - an approval settles a request when its estimated amount (quantity × unit price,
 *     minor units, half up) is within the approver's role limit (settings; defaults:
 *     manager and admin none, planner and storekeeper_mp 0); above it the request waits
 *     for a second approval, by another person than the first (same_approver) — so the
 *     requester alone never approves above their limit; an amount needs a price
 *     (estimate_required);
 *   - an order names a registered supplier (unknown_supplier), unique line numbers
 *     (duplicate_line) and only approved requests (request_not_approved), each ordered once;
 *   - a receipt names the order's lines (unknown_line) once each, takes something
 *     (empty_receipt), never brings a line's accepted total beyond its quantity plus the
 *     tolerance (over_tolerance; default 0 %), and never repeats a receipt id;
 *   - an amendment keeps every line that received something, in its unit and never below
 *     what it received (line_has_receipts, below_received);
 *   - a closed, cancelled or fully received order takes no receipt nor amendment, a
 *     cancelled or closed one changes no more (invalid_transition); an order is cancelled
 *     only before any receipt.
 *
 * Other modules' aggregates. A mechanic's request may name its maintenance intervention,
 * which must exist (unknown_intervention): read with fofal_cmd_lookup, as maintenance
 * reads production's looms (maintenance.c says why that is consistent: a tenant's
 * commands of every module share one partition and its state store). Only existence is
 * read. A request's item is a code kept as given: the catalog of items is the stores
 * issue's. A decision writes only this module's aggregates (an order marks its requests
 * ordered with fofal_decision_emit_to).
 *
 * Quantities are integers in thousandths of their unit (quantity_milli 2500 kg = 2.5 kg),
 * money integers in minor units. The build finds this folder and lists
 * fofal_module_purchasing_commands in fofal_command_modules[]. Pure functions: the time a
 * decision uses is the command's issued_us.
 */
#include "decide.h"

#include <stdio.h>
#include <string.h>

#define EV(name) "fofal.purchasing." name ".v1"
#define SETTINGS_NS "purchasing_settings"
#define MAX_LINES 200

/* ------------------------------------------------------------ who acted */

/* The role of a user actor "u:<subject>/<role>" into out ("" for anything else). */
static void actor_role(const fofal_cmd_t *cmd, char *out, size_t len) {
  const char *a = cmd->actor ? cmd->actor : "";
  const char *slash = strrchr(a, '/');
  snprintf(out, len, "%s", !strncmp(a, "u:", 2) && slash && slash[1] ? slash + 1 : "");
}

/* The person of an actor: "u:<subject>" without the role (one person signed in with two
 * roles is still one person), into out. */
static void actor_person(const char *actor, char *out, size_t len) {
  const char *slash = actor ? strrchr(actor, '/') : NULL;
  if (!actor) actor = "";
  int n = slash && !strncmp(actor, "u:", 2) ? (int)(slash - actor) : (int)strlen(actor);
  snprintf(out, len, "%.*s", n, actor);
}

/* Sets <prefix>_by (the actor) and, when the sign-in has one, <badge_key> on ev. */
static void who(const fofal_cmd_t *cmd, json_t *ev, const char *by_key, const char *badge_key) {
  json_object_set_new(ev, by_key, json_string(cmd->actor && *cmd->actor ? cmd->actor : "unknown"));
  if (cmd->actor_badge && fofal_code_valid(cmd->actor_badge))
    json_object_set_new(ev, badge_key, json_string(cmd->actor_badge));
}

static json_int_t amount_of(json_int_t quantity_milli, json_int_t unit_price) {
  return (quantity_milli * unit_price + 500) / 1000; /* both <= 1e9: no overflow */
}

/* ------------------------------------------------------------- settings */

/* The approval limit of `role` in the tenant's settings: 1 and *limit, or 0 for none. */
static int role_limit(const fofal_cmd_t *cmd, const char *role, json_int_t *limit) {
  const json_t *s = lookup_ref(cmd, SETTINGS_NS, "default", NULL);
  const json_t *v = json_object_get(json_object_get(s, "approval_limits"), role);
  if (json_is_integer(v)) {
    *limit = json_integer_value(v);
    return 1;
  }
  if (!strcmp(role, "manager") || !strcmp(role, "admin")) return 0;
  *limit = 0;
  return 1;
}

static int settings_set(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  json_t *ev = json_pack("{s:s}", "settings", "default");
  jcopy(ev, cmd->data, "approval_limits");
  jcopy(ev, cmd->data, "over_receipt_tolerance_pct");
  jcopy(ev, cmd->data, "currency");
  out->state = state ? json_deep_copy(state) : json_object();
  json_t *limits = json_object_get(out->state, "approval_limits");
  if (!limits) json_object_set_new(out->state, "approval_limits", limits = json_object());
  json_object_update(limits, json_object_get(cmd->data, "approval_limits"));
  jcopy(out->state, cmd->data, "over_receipt_tolerance_pct");
  jcopy(out->state, cmd->data, "currency");
  fofal_decision_emit(out, EV("settings_set"), ev);
  return 0;
}

/* ------------------------------------------------------------- suppliers */

static const char *supplier_fields[] = {"name", "currency", "payment_terms_days", "payment_terms", "vat_id", "contact",
                                        NULL};

static int supplier_register(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  json_t *ev = json_pack("{s:s}", "supplier", jstr(cmd->data, "supplier"));
  for (int i = 0; supplier_fields[i]; i++) jcopy(ev, cmd->data, supplier_fields[i]);
  out->state = json_deep_copy(ev);
  fofal_decision_emit(out, EV("supplier_registered"), ev);
  return 0;
}

static int supplier_update(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  json_t *ev = json_pack("{s:s}", "supplier", jstr(cmd->data, "supplier"));
  int changed = 0;
  out->state = json_deep_copy(state);
  for (int i = 0; supplier_fields[i]; i++) {
    json_t *v = json_object_get(cmd->data, supplier_fields[i]);
    if (v && !json_equal(v, json_object_get(state, supplier_fields[i]))) {
      json_object_set(ev, supplier_fields[i], v);
      json_object_set(out->state, supplier_fields[i], v);
      changed++;
    }
  }
  if (!changed) {
    json_decref(ev);
    json_decref(out->state);
    out->state = NULL;
    return REJECT(out, "no_change", "the update changes nothing");
  }
  fofal_decision_emit(out, EV("supplier_updated"), ev);
  return 0;
}

/* -------------------------------------------------------------- requests */

static int request_submit(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const char *iv = jstr(cmd->data, "intervention_id");
  const json_t *intervention = *iv ? fofal_cmd_lookup(cmd, iv) : NULL;
  if (*iv && (!intervention || !json_object_get(intervention, "loom")))
    return REJECT(out, "unknown_intervention", "no maintenance intervention %s in this tenant", iv);
  char role[32], at[32];
  actor_role(cmd, role, sizeof role);
  fofal_time_format(cmd->issued_us, at);
  json_t *ev = json_pack("{s:s,s:s,s:s}", "request_id", cmd->aggregate, "station", *role ? role : "system",
                         "requested_at", at);
  static const char *const fields[] = {"item", "description", "quantity_milli", "unit", "need_by", "reason",
                                       "estimated_unit_price", "intervention_id", NULL};
  for (int i = 0; fields[i]; i++) jcopy(ev, cmd->data, fields[i]);
  who(cmd, ev, "requested_by", "requester_badge");
  out->state = json_deep_copy(ev);
  json_object_set_new(out->state, "status", json_string("submitted"));
  json_object_set_new(out->state, "approvals", json_array());
  fofal_decision_emit(out, EV("request_submitted"), ev);
  return 0;
}

static int request_approve(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  int second = jeq(state, "status", "awaiting_second_approval");
  if (!second && !jeq(state, "status", "submitted"))
    return REJECT(out, "invalid_transition", "a request is approved while submitted or awaiting a second approval (it is %s)",
                  jstr(state, "status"));
  char role[32], me[256], first[256];
  actor_role(cmd, role, sizeof role);
  if (!*role) snprintf(role, sizeof role, "admin"); /* our own processes: as an admin */
  actor_person(cmd->actor, me, sizeof me);
  if (second) {
    actor_person(jstr(json_array_get(json_object_get(state, "approvals"), 0), "by"), first, sizeof first);
    if (!strcmp(me, first))
      return REJECT(out, "same_approver", "the second approval is another person's: %s approved it first", first);
  }
  const json_t *price = json_object_get(cmd->data, "estimated_unit_price");
  if (!price) price = json_object_get(state, "estimated_unit_price");
  if (!json_is_integer(price))
    return REJECT(out, "estimate_required", "give estimated_unit_price: the amount decides who may approve alone");
  json_int_t amount = amount_of(jint(state, "quantity_milli", 0), json_integer_value(price)), limit = 0;
  int limited = role_limit(cmd, role, &limit);
  const char *status = second || !limited || amount <= limit ? "approved" : "awaiting_second_approval";
  json_t *ev = json_pack("{s:s,s:s,s:O,s:I,s:s}", "request_id", cmd->aggregate, "approver_role", role,
                         "estimated_unit_price", price, "amount", amount, "status", status);
  who(cmd, ev, "approved_by", "approver_badge");
  json_object_set_new(ev, "limit", limited ? json_integer(limit) : json_null());
  jcopy(ev, cmd->data, "note");
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "status", json_string(status));
  json_object_set(out->state, "estimated_unit_price", (json_t *)price);
  json_object_set_new(out->state, "amount", json_integer(amount));
  json_array_append_new(json_object_get(out->state, "approvals"),
                        json_pack("{s:s,s:s}", "by", jstr(ev, "approved_by"), "role", role));
  fofal_decision_emit(out, EV("request_approved"), ev);
  return 0;
}

static int request_reject(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (!jeq(state, "status", "submitted") && !jeq(state, "status", "awaiting_second_approval"))
    return REJECT(out, "invalid_transition", "a request is rejected before it is approved (it is %s)", jstr(state, "status"));
  json_t *ev = json_pack("{s:s,s:s}", "request_id", cmd->aggregate, "reason", jstr(cmd->data, "reason"));
  who(cmd, ev, "rejected_by", "rejecter_badge");
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "status", json_string("rejected"));
  fofal_decision_emit(out, EV("request_rejected"), ev);
  return 0;
}

/* ---------------------------------------------------------------- orders */

static json_t *order_line(const json_t *l, json_int_t received, json_int_t refused) {
  json_t *o = json_object();
  static const char *const fields[] = {"line", "item", "description", "quantity_milli", "unit", "unit_price",
                                       "expected_date", NULL};
  for (int i = 0; fields[i]; i++) jcopy(o, l, fields[i]);
  json_object_set_new(o, "received_milli", json_integer(received));
  json_object_set_new(o, "refused_milli", json_integer(refused));
  return o;
}

static int order_issue(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const char *supplier = jstr(cmd->data, "supplier");
  const json_t *sup = lookup_ref(cmd, "supplier", supplier, NULL);
  if (!sup) return REJECT(out, "unknown_supplier", "supplier %s is not registered", supplier);
  const json_t *lines = json_object_get(cmd->data, "lines"), *l;
  const json_t *requests = json_object_get(cmd->data, "requests"), *r;
  char seen[1000] = {0};
  size_t i;
  json_int_t total = 0;
  json_array_foreach(lines, i, l) {
    json_int_t n = jint(l, "line", 0);
    if (n < 1 || n > 999 || seen[n]) return REJECT(out, "duplicate_line", "line %lld appears twice", (long long)n);
    seen[n] = 1;
    total += amount_of(jint(l, "quantity_milli", 0), jint(l, "unit_price", 0));
  }
  json_array_foreach(requests, i, r) {
    const json_t *rs = fofal_cmd_lookup(cmd, json_string_value(r));
    if (!rs || !json_object_get(rs, "approvals"))
      return REJECT(out, "unknown_request", "no purchase request %s in this tenant", json_string_value(r));
    if (!jeq(rs, "status", "approved"))
      return REJECT(out, "request_not_approved", "request %s is %s: an order answers approved requests",
                    json_string_value(r), jstr(rs, "status"));
  }
  json_t *ev_lines = json_array();
  json_array_foreach(lines, i, l) json_array_append_new(ev_lines, order_line(l, 0, 0));
  json_t *ev = json_pack("{s:s,s:s,s:s,s:o,s:I,s:s}", "order_id", cmd->aggregate, "supplier", supplier, "currency",
                         *jstr(sup, "currency") ? jstr(sup, "currency") : "TND", "lines", ev_lines, "total", total,
                         "status", "open");
  jcopy(ev, cmd->data, "requests");
  jcopy(ev, cmd->data, "note");
  jcopy(ev, cmd->data, "project");
  who(cmd, ev, "issued_by", "issuer_badge");
  out->state = json_pack("{s:s,s:s,s:O,s:I,s:[]}", "status", "open", "supplier", supplier, "lines", ev_lines, "total",
                         total, "receipts");
  /* An order for a project: its receipts say so, for module projects' reaction. */
  if (*jstr(cmd->data, "project")) {
    jcopy(out->state, cmd->data, "project");
    jcopy(out->state, ev, "currency");
  }
  fofal_decision_emit(out, EV("order_issued"), ev);
  json_array_foreach(requests, i, r) {
    const char *rid = json_string_value(r);
    json_t *rs = json_deep_copy(fofal_cmd_lookup(cmd, rid));
    json_object_set_new(rs, "status", json_string("ordered"));
    json_object_set_new(rs, "order_id", json_string(cmd->aggregate));
    fofal_decision_emit_to(out, rid, EV("request_ordered"),
                           json_pack("{s:s,s:s}", "request_id", rid, "order_id", cmd->aggregate), rs);
  }
  return 0;
}

/* The order's status from its lines: received when every line has its quantity. */
static const char *order_status(const json_t *lines) {
  size_t i;
  const json_t *l;
  int all = 1, any = 0;
  json_array_foreach(lines, i, l) {
    json_int_t got = jint(l, "received_milli", 0);
    any |= got > 0;
    all &= got >= jint(l, "quantity_milli", 0);
  }
  return all ? "received" : any ? "partly_received" : "open";
}

static int order_receive(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (!jeq(state, "status", "open") && !jeq(state, "status", "partly_received"))
    return REJECT(out, "invalid_transition", "an order takes receipts while open or partly received (it is %s)",
                  jstr(state, "status"));
  const char *receipt = jstr(cmd->data, "receipt_id");
  size_t i, k;
  const json_t *v;
  json_array_foreach(json_object_get(state, "receipts"), i, v) {
    if (!strcmp(json_string_value(v), receipt))
      return REJECT(out, "already_received", "receipt %s was recorded already", receipt);
  }
  json_int_t tol = jint(lookup_ref(cmd, SETTINGS_NS, "default", NULL), "over_receipt_tolerance_pct", 0);
  json_t *lines = json_deep_copy(json_object_get(state, "lines")), *ev_lines = json_array();
  const json_t *r;
  char seen[1000] = {0};
  json_int_t taken = 0;
  int rc = 0;
  json_array_foreach(json_object_get(cmd->data, "lines"), i, r) {
    json_int_t n = jint(r, "line", 0), acc = jint(r, "quantity_milli", 0), ref = jint(r, "refused_milli", 0);
    json_t *l = NULL, *c;
    json_array_foreach(lines, k, c) if (jint(c, "line", 0) == n) l = c;
    if (!l) {
      rc = REJECT(out, "unknown_line", "the order has no line %lld", (long long)n);
      break;
    }
    if (seen[n]) {
      rc = REJECT(out, "duplicate_line", "line %lld appears twice in the receipt", (long long)n);
      break;
    }
    seen[n] = 1;
    json_int_t qty = jint(l, "quantity_milli", 0), got = jint(l, "received_milli", 0) + acc;
    json_int_t max = qty + (qty * tol) / 100;
    if (got > max) {
      rc = REJECT(out, "over_tolerance",
                  "line %lld: %lld received in all is beyond the %lld ordered plus %lld %% (at most %lld, thousandths)",
                  (long long)n, (long long)got, (long long)qty, (long long)tol, (long long)max);
      break;
    }
    taken += acc + ref;
    json_object_set_new(l, "received_milli", json_integer(got));
    json_object_set_new(l, "refused_milli", json_integer(jint(l, "refused_milli", 0) + ref));
    json_t *e = json_pack("{s:I,s:I,s:I,s:s,s:I,s:I,s:I}", "line", n, "quantity_milli", acc, "refused_milli", ref, "unit",
                          jstr(l, "unit"), "unit_price", jint(l, "unit_price", 0), "ordered_milli", qty,
                          "received_total_milli", got);
    jcopy(e, r, "refusal_reason");
    jcopy(e, r, "supplier_lot");
    jcopy(e, l, "item");
    jcopy(e, l, "description");
    json_array_append_new(ev_lines, e);
  }
  if (!rc && !taken) rc = REJECT(out, "empty_receipt", "a receipt accepts or refuses something");
  if (rc) {
    json_decref(lines);
    json_decref(ev_lines);
    return rc;
  }
  const char *status = order_status(lines);
  char at[32];
  fofal_time_format(cmd->issued_us, at);
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:o,s:s}", "order_id", cmd->aggregate, "receipt_id", receipt, "supplier",
                         jstr(state, "supplier"), "received_at", at, "lines", ev_lines, "status", status);
  jcopy(ev, cmd->data, "delivery_note");
  jcopy(ev, state, "project");
  jcopy(ev, state, "currency");
  who(cmd, ev, "received_by", "receiver_badge");
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "lines", lines);
  json_object_set_new(out->state, "status", json_string(status));
  json_array_append_new(json_object_get(out->state, "receipts"), json_string(receipt));
  fofal_decision_emit(out, EV("goods_received"), ev);
  return 0;
}

/* The whole set of lines again: what was received and refused stays with its line; a line
 * that received something stays, in its unit, and never below what it received. */
static int order_amend(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (!jeq(state, "status", "open") && !jeq(state, "status", "partly_received"))
    return REJECT(out, "invalid_transition", "an order is amended while open or partly received (it is %s)",
                  jstr(state, "status"));
  const json_t *lines = json_object_get(cmd->data, "lines"), *l, *old;
  char seen[1000] = {0};
  size_t i, k;
  json_int_t total = 0;
  json_array_foreach(lines, i, l) {
    json_int_t n = jint(l, "line", 0);
    if (n < 1 || n > 999 || seen[n]) return REJECT(out, "duplicate_line", "line %lld appears twice", (long long)n);
    seen[n] = 1;
    total += amount_of(jint(l, "quantity_milli", 0), jint(l, "unit_price", 0));
  }
  json_array_foreach(json_object_get(state, "lines"), k, old) {
    json_int_t n = jint(old, "line", 0), got = jint(old, "received_milli", 0);
    if (!got && !jint(old, "refused_milli", 0)) continue;
    const json_t *now = NULL;
    json_array_foreach(lines, i, l) {
      if (jint(l, "line", 0) == n) now = l;
    }
    if (!now || !jeq(now, "unit", jstr(old, "unit")))
      return REJECT(out, "line_has_receipts", "line %lld received goods: it stays, in %s", (long long)n, jstr(old, "unit"));
    if (jint(now, "quantity_milli", 0) < got)
      return REJECT(out, "below_received", "line %lld: %lld thousandths were received already", (long long)n,
                    (long long)got);
  }
  json_t *ev_lines = json_array();
  json_array_foreach(lines, i, l) {
    json_int_t got = 0, refused = 0;
    json_array_foreach(json_object_get(state, "lines"), k, old) {
      if (jint(old, "line", 0) == jint(l, "line", 0)) {
        got = jint(old, "received_milli", 0);
        refused = jint(old, "refused_milli", 0);
      }
    }
    json_array_append_new(ev_lines, order_line(l, got, refused));
  }
  const char *status = order_status(ev_lines);
  json_t *ev = json_pack("{s:s,s:O,s:I,s:s}", "order_id", cmd->aggregate, "lines", ev_lines, "total", total, "status",
                         status);
  jcopy(ev, cmd->data, "note");
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "lines", ev_lines);
  json_object_set_new(out->state, "total", json_integer(total));
  json_object_set_new(out->state, "status", json_string(status));
  fofal_decision_emit(out, EV("order_amended"), ev);
  return 0;
}

static int order_cancel(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (!jeq(state, "status", "open") || json_array_size(json_object_get(state, "receipts")))
    return REJECT(out, "invalid_transition", "an order is cancelled before anything is received (it is %s)",
                  jstr(state, "status"));
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "status", json_string("cancelled"));
  fofal_decision_emit(out, EV("order_cancelled"),
                      json_pack("{s:s,s:s}", "order_id", cmd->aggregate, "reason", jstr(cmd->data, "reason")));
  return 0;
}

static int order_close(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (jeq(state, "status", "closed") || jeq(state, "status", "cancelled"))
    return REJECT(out, "invalid_transition", "the order is %s already", jstr(state, "status"));
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "status", json_string("closed"));
  json_t *ev = json_pack("{s:s}", "order_id", cmd->aggregate);
  jcopy(ev, cmd->data, "reason");
  fofal_decision_emit(out, EV("order_closed"), ev);
  return 0;
}

static const fofal_command_def_t commands[] = {
    {"purchasing.supplier.register", "supplier", 1, "Register a supplier: name, currency, payment terms, VAT id.",
     supplier_register, "supplier"},
    {"purchasing.supplier.update", "supplier", 0, "Change a supplier's data.", supplier_update, "supplier"},
    {"purchasing.settings.set", "settings", FOFAL_CREATES_OR_UPDATES,
     "Set the approval limits per role and the over-receipt tolerance.", settings_set, SETTINGS_NS},
    {"purchasing.request.submit", "request_id", 1, "Ask for something to be bought (a purchase request).", request_submit,
     NULL},
    {"purchasing.request.approve", "request_id", 0, "Approve a purchase request (a second time above the first's limit).",
     request_approve, NULL},
    {"purchasing.request.reject", "request_id", 0, "Reject a purchase request, with a reason.", request_reject, NULL},
    {"purchasing.order.issue", "order_id", 1, "Issue a purchase order to a supplier, answering approved requests.",
     order_issue, NULL},
    {"purchasing.order.receive", "order_id", 0, "Receive goods against a purchase order (accepted and refused per line).",
     order_receive, NULL},
    {"purchasing.order.amend", "order_id", 0, "Amend a purchase order's lines (what was received stays).", order_amend,
     NULL},
    {"purchasing.order.cancel", "order_id", 0, "Cancel a purchase order nothing was received against.", order_cancel, NULL},
    {"purchasing.order.close", "order_id", 0, "Close a purchase order: what is still due will not come.", order_close,
     NULL},
};
static const int ncommands = sizeof commands / sizeof commands[0];

static const fofal_command_table_t tables[] = {
    {commands, &ncommands},
    {NULL, NULL},
};

const fofal_command_module_t fofal_module_purchasing_commands = {.name = "purchasing", .tables = tables};
