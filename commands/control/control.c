/*
 * control.c — the management-control module's deciders and its registration in the
 * command layer: budgets per cost centre, account and month, against which the actuals of
 * the ledger (module accounting) are read.
 *
 *   control.budget.set     a year's budget line: cost centre, account, month, amount
 *                          (minor units); setting it again replaces the amount, and the
 *                          event keeps the one it replaced
 *   control.budget.close   the year's budget is final: no line changes after
 *   control.fact.record    a fact another module's event gave (reactions.c): the input of
 *                          the cost, yield and loss reads; each kind has its required
 *                          fields (incomplete_fact). The aggregate is what the fact is
 *                          about (its ref); its state only counts the facts.
 *
 * Machine rates, overheads and standard costs are costing_set.c's (registered here).
 *
 * Events go to fofal.control.events. A year's budget is one aggregate named by its year
 * (fofal_aggregate_ref(tenant, "budget", "2026")); its state holds the cost centre of
 * each account budgeted (an account is in one centre in a year, so the ledger's actuals
 * of an account, which carry no cost centre, belong to one budget line) and the lines'
 * amounts (at most MAX_LINES: 12 months × 100 accounts).
 *
 * Rules (each has a unit test in tests/unit/control/):
 *   - the month is in the budget's year (month_outside_year);
 *   - an account is an SCE account of class 6 (charges) or 7 (produits), the classes a
 *     budget of results holds (invalid_account), in one cost centre per year
 *     (account_in_other_centre);
 *   - at most MAX_LINES lines (too_many_lines);
 *   - a closed budget changes no more (budget_closed).
 *
 * Money is integer minor units (millimes for TND). Pure functions.
 */
#include "control.h"

#include <stdio.h>
#include <string.h>

#define EV(name) "fofal.control." name ".v1"
#define MAX_LINES 1200

static int budget_set(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const json_t *d = cmd->data;
  const char *year = jstr(d, "year"), *month = jstr(d, "month"), *account = jstr(d, "account"),
             *centre = jstr(d, "cost_centre");
  if (jeq(state, "status", "closed")) return REJECT(out, "budget_closed", "the budget of %s is closed", year);
  if (strncmp(month, year, 4) || month[4] != '-')
    return REJECT(out, "month_outside_year", "month %s is not in the budget's year %s", month, year);
  if (account[0] != '6' && account[0] != '7')
    return REJECT(out, "invalid_account", "a budget holds charges (class 6) and products (class 7): not account %s",
                  account);
  const char *had = jstr(json_object_get(state, "centres"), account);
  if (json_is_string(json_object_get(json_object_get(state, "centres"), account)) && strcmp(had, centre))
    return REJECT(out, "account_in_other_centre", "account %s is budgeted in cost centre %s this year", account, had);
  char line[96];
  snprintf(line, sizeof line, "%s/%s/%s", centre, account, month);
  const json_t *lines = json_object_get(state, "lines");
  const json_t *prev = json_object_get(lines, line);
  if (!prev && json_object_size(lines) >= MAX_LINES)
    return REJECT(out, "too_many_lines", "a year's budget has at most %d lines", MAX_LINES);
  json_int_t amount = jint(d, "amount_minor", 0);
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:I}", "year", year, "cost_centre", centre, "account", account, "month",
                         month, "amount_minor", amount);
  if (prev) json_object_set_new(ev, "replaces_minor", json_integer(json_integer_value(prev)));
  jcopy(ev, d, "note");
  json_object_set_new(ev, "set_by", json_string(cmd->actor && *cmd->actor ? cmd->actor : "unknown"));
  out->state = state ? json_deep_copy(state) : json_pack("{s:s,s:{},s:{}}", "status", "open", "centres", "lines");
  json_object_set_new(json_object_get(out->state, "centres"), account, json_string(centre));
  json_object_set_new(json_object_get(out->state, "lines"), line, json_integer(amount));
  fofal_decision_emit(out, EV("budget_set"), ev);
  return 0;
}

static int budget_close(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const char *year = jstr(cmd->data, "year");
  if (jeq(state, "status", "closed")) return REJECT(out, "budget_closed", "the budget of %s is closed", year);
  json_int_t total = 0;
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(state, "lines"), k, v) total += json_integer_value(v);
  json_t *ev = json_pack("{s:s,s:I,s:I,s:s}", "year", year, "lines", (json_int_t)json_object_size(json_object_get(state, "lines")),
                         "total_minor", total, "closed_by", cmd->actor && *cmd->actor ? cmd->actor : "unknown");
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "status", json_string("closed"));
  fofal_decision_emit(out, EV("budget_closed"), ev);
  return 0;
}

/* The fields each kind of fact needs (the rest are optional). */
static const struct {
  const char *kind;
  const char *need[8];
} fact_fields[] = {
    {"receipt_priced", {"receipt_id", "lines", NULL}},
    {"receipt_stocked", {"receipt_id", "lots", NULL}},
    {"lot_issued", {"lot", "beam", "weight_g", NULL}},
    {"beam_warped", {"beam", "length_mm", NULL}},
    {"output_declared", {"label_id", "order_id", "quantity", "month", NULL}},
    {"pay_accrued", {"order_id", "amount_minor", "role", "month", NULL}},
    {"roll_cut", {"label_id", "first_choice", "second_choice", "waste_pieces", "month", NULL}},
    {"loom_stop", {"loom", "cause", "stopped_s", "at", "month", NULL}},
    {"subcontract_returned", {"dispatch_id", "return_id", "costs", "month", NULL}},
};

/* The first field `kind` needs that `d` lacks, or NULL; *known 0 for an unknown kind. */
static const char *fact_missing(const json_t *d, int *known) {
  const char *kind = jstr(d, "kind");
  *known = 0;
  for (size_t i = 0; i < sizeof fact_fields / sizeof fact_fields[0]; i++) {
    if (strcmp(fact_fields[i].kind, kind)) continue;
    *known = 1;
    for (int k = 0; fact_fields[i].need[k]; k++)
      if (!json_object_get(d, fact_fields[i].need[k])) return fact_fields[i].need[k];
    return NULL;
  }
  return NULL;
}

static int fact_record(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const json_t *d = cmd->data;
  int known;
  const char *missing = fact_missing(d, &known);
  if (!known) return REJECT(out, "invalid_kind", "no fact of kind %s", jstr(d, "kind"));
  if (missing) return REJECT(out, "incomplete_fact", "a %s fact needs %s", jstr(d, "kind"), missing);
  if (!strcmp(jstr(d, "kind"), "output_declared")) {
    /* Warp is consumed by a declaration of pieces or metres: a beam named twice would count twice. */
    size_t i, j;
    const json_t *a, *b;
    json_array_foreach(json_object_get(d, "beams"), i, a) json_array_foreach(json_object_get(d, "beams"), j, b) {
      if (j > i && !strcmp(jstr(a, "beam"), jstr(b, "beam")))
        return REJECT(out, "beam_twice", "beam %s is named twice in one declaration", jstr(a, "beam"));
    }
  }
  out->state = json_pack("{s:I}", "facts", jint(state, "facts", 0) + 1);
  fofal_decision_emit(out, EV("fact_recorded"), json_deep_copy(d));
  return 0;
}

static const fofal_command_def_t commands[] = {
    {"control.budget.set", "year", FOFAL_CREATES_OR_UPDATES,
     "Set a budget line of a year: cost centre, account (class 6 or 7), month, amount.", budget_set, "budget"},
    {"control.budget.close", "year", 0, "Close a year's budget: its lines change no more.", budget_close, "budget"},
    {"control.fact.record", "ref", FOFAL_CREATES_OR_UPDATES,
     "Record a fact of another module's event (reaction control.facts_from_events).", fact_record, "fact"},
};
static const int ncommands = sizeof commands / sizeof commands[0];

/* The monthly reports' record (reports.c). */
extern const fofal_command_def_t fofal__control_report_commands[];
extern const int fofal__control_report_ncommands;

static const fofal_command_table_t tables[] = {
    {commands, &ncommands},
    {fofal__control_costing_commands, &fofal__control_costing_commands_n},
    {fofal__control_report_commands, &fofal__control_report_ncommands},
    {NULL, NULL},
};

const fofal_command_module_t fofal_module_control_commands = {.name = "control", .tables = tables};
