/*
 * pay.c — piece-rate pay (module hr): the rates per article, and the pay a declaration
 * accrues to the weaver who made it.
 *
 *   hr.piece_rate.set       the rate of an article, per piece or per metre, in integer
 *                           minor units (millimes for TND), from a date on (hr, admin)
 *   hr.employee.accrue_pay  sent by the reaction hr.pay_on_declaration (reactions.c) for
 *                           every production.output_declared; an admin may send it by hand
 *                           to answer that reaction's DLQ record once its cause is fixed
 *   hr.pay_period.close     a month's pay is closed (hr, admin): nothing accrues into it
 *                           again
 *
 * Who is paid is the declaration's weaver, which production's decider took from the
 * signed-in weaver's token (actors.c), or whom a supervisor named, recorded as a
 * delegation: never a badge typed in this command's body by a person, since only the
 * reactor (a service) and admins may send it.
 *
 * Rates. A piece rate's aggregate is fofal_aggregate_ref(tenant, "piecerate", article); its
 * state keeps the versions {from_day, unit, rate_minor}, oldest first (at most
 * MAX_RATE_VERSIONS, the oldest dropped). A declaration is paid at the version in force
 * on the day of its shift (the local date of the shift id, 2026-11-24/A): a night shift's
 * pieces are paid at the rate of the day it started. A new version starts on or after the
 * latest one (the same day replaces it: a correction is a new event, never an edit of an
 * old one); a rate never applies to a day before it was set for.
 *
 * Pay periods are months (YYYY-MM), aggregate fofal_aggregate_ref(tenant, "payperiod",
 * "2026-11"). An accrual belongs to the month of its shift day; when that month's pay is
 * closed (a declaration made late, or sent again from the DLQ), to the first open month
 * after it (at most MAX_PERIODS_AHEAD on): a closed period is never changed, and late pay
 * is not lost but paid with the next one. The event says which (pay_period).
 *
 * Amounts are exact: per piece, quantity × rate; per metre, the woven length in mm × rate
 * / 1000, rounded half up to a minor unit. The event carries the rate it used, so a
 * payslip line says how it was computed and a later rate changes nothing already accrued.
 *
 * Reads across modules: piece_rate.set checks the article is defined (catalog's
 * aggregate); accrue_pay reads this module's piece rate. An employee's state keeps the
 * label ids of its last MAX_PAID_LABELS accruals ("paid"), so a hand-sent accrual of a
 * declaration already paid is refused (already_accrued) on top of the reactor's
 * exactly-once.
 *
 * Pure functions: no I/O, no clock.
 */
#include "hr.h"

#include <math.h>
#include <stdio.h>

#define MAX_RATE_VERSIONS 24
#define MAX_PAID_LABELS 64
#define MAX_RATE_MINOR 10000000LL /* 10,000.000 TND per piece or metre: a typing error beyond */
#define MAX_PERIODS_AHEAD 24

/* "YYYY-MM" → months since year 0, or -1. */
static int month_index(const char *s) {
  int y, m, n = 0;
  if (!s || sscanf(s, "%4d-%2d%n", &y, &m, &n) != 2 || n != 7 || m < 1 || m > 12) return -1;
  return y * 12 + m - 1;
}

/* The pay period an accrual of the month `first` belongs to: it, or the first open one
 * after it, into out[8]. 0 or -1 (all closed: refused). */
static int open_period(const fofal_cmd_t *cmd, int first, char out[8]) {
  for (int i = first; i <= first + MAX_PERIODS_AHEAD; i++) {
    snprintf(out, 8, "%04d-%02d", i / 12, i % 12 + 1);
    if (!json_is_true(json_object_get(lookup_ref(cmd, "payperiod", out, NULL), "closed"))) return 0;
  }
  return -1;
}

static int pay_period_close(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const char *p = jstr(cmd->data, "period");
  if (month_index(p) < 0) return REJECT(out, "invalid_period", "period is a month YYYY-MM (got %s)", p);
  out->state = json_pack("{s:s,s:b}", "period", p, "closed", 1);
  fofal_decision_emit(out, EV("pay_period_closed"),
                      json_pack("{s:s,s:s}", "period", p, "closed_by", cmd->actor ? cmd->actor : ""));
  return 0;
}

static int rate_set(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const char *article = jstr(cmd->data, "article"), *from = jstr(cmd->data, "valid_from");
  int64_t day;
  json_int_t rate = jint(cmd->data, "rate_minor", -1);
  if (fofal__hr_parse_day(from, &day)) return REJECT(out, "invalid_date", "valid_from must be a date YYYY-MM-DD (got %s)", from);
  if (rate < 0 || rate > MAX_RATE_MINOR)
    return REJECT(out, "invalid_rate", "rate_minor is a whole number of minor units from 0 to %lld", MAX_RATE_MINOR);
  if (!lookup_ref(cmd, "article", article, NULL))
    return REJECT(out, "unknown_article", "article %s is not defined in the catalog", article);
  const json_t *versions = json_object_get(state, "versions");
  const json_t *latest = json_array_get(versions, json_array_size(versions) - 1);
  if (latest && day < jint(latest, "from_day", 0))
    return REJECT(out, "valid_from_before_latest",
                  "%s has a rate from a later day: a rate starts on or after the latest one (%s)", article,
                  jstr(latest, "valid_from"));
  out->state = state ? json_deep_copy(state) : json_pack("{s:s,s:[]}", "article", article, "versions");
  json_t *list = json_object_get(out->state, "versions");
  if (latest && day == jint(latest, "from_day", 0)) json_array_remove(list, json_array_size(list) - 1);
  json_array_append_new(list, json_pack("{s:I,s:s,s:s,s:I}", "from_day", (json_int_t)day, "valid_from", from, "unit",
                                        jstr(cmd->data, "unit"), "rate_minor", rate));
  while (json_array_size(list) > MAX_RATE_VERSIONS) json_array_remove(list, 0);
  json_t *ev = json_pack("{s:s,s:s,s:I,s:s,s:s}", "article", article, "unit", jstr(cmd->data, "unit"), "rate_minor", rate,
                         "valid_from", from, "set_by", cmd->actor ? cmd->actor : "");
  fofal_decision_emit(out, EV("piece_rate_set"), ev);
  return 0;
}

/* The version of `rates` in force on `day`, or NULL. */
static const json_t *rate_on(const json_t *rates, int64_t day) {
  const json_t *found = NULL;
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(rates, "versions"), i, v) if (jint(v, "from_day", 0) <= day) found = v;
  return found;
}

int64_t fofal__hr_pay_amount(const char *unit, int64_t quantity, int64_t length_mm, int64_t rate_minor) {
  if (!strcmp(unit, "metre")) return (length_mm * rate_minor + 500) / 1000;
  return quantity * rate_minor;
}

static int accrue_pay(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const json_t *d = cmd->data;
  const char *label = jstr(d, "label_id"), *shift = jstr(d, "shift"), *article = jstr(d, "article");
  char date[11];
  int64_t day;
  snprintf(date, sizeof date, "%s", shift);
  if (fofal__hr_parse_day(date, &day)) return REJECT(out, "invalid_shift", "%s is not a shift id (2026-11-24/A)", shift);
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(state, "paid"), i, p) {
    if (!strcmp(json_string_value(p), label))
      return REJECT(out, "already_accrued", "the declaration of label %s was already paid to %s", label, jstr(state, "badge"));
  }
  const json_t *rates = lookup_ref(cmd, "piecerate", article, NULL);
  if (!rates)
    return REJECT(out, "not_paid_by_piece", "article %s has never had a piece rate: it is not paid by piece", article);
  const json_t *v = rate_on(rates, day);
  if (!v) return REJECT(out, "no_rate", "article %s has no piece rate in force on %s: set one (hr.piece_rate.set)", article, date);
  char period[8];
  if (open_period(cmd, month_index(date), period))
    return REJECT(out, "pay_period_closed", "the pay of %.7s and of the %d months after it is closed", date,
                  MAX_PERIODS_AHEAD);
  json_int_t q = jint(d, "quantity", 0), rate = jint(v, "rate_minor", 0);
  json_int_t mm = (json_int_t)llround(jnum(d, "length_m", 0) * 1000.0);
  const char *unit = jstr(v, "unit");
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:I,s:I}", "badge", jstr(state, "badge"), "label_id", label,
                         "order_id", jstr(d, "order_id"), "article", article, "shift", shift, "quantity", q, "length_mm",
                         mm, "unit", unit, "rate_minor", rate, "amount_minor",
                         (json_int_t)fofal__hr_pay_amount(unit, q, mm, rate));
  jcopy(ev, d, "woven_at");
  json_object_set_new(ev, "pay_period", json_string(period));
  out->state = json_deep_copy(state);
  json_t *paid = json_object_get(out->state, "paid");
  if (!json_is_array(paid)) {
    paid = json_array();
    json_object_set_new(out->state, "paid", paid);
  }
  json_array_append_new(paid, json_string(label));
  while (json_array_size(paid) > MAX_PAID_LABELS) json_array_remove(paid, 0);
  fofal_decision_emit(out, EV("pay_accrued"), ev);
  return 0;
}

const fofal_command_def_t fofal__hr_pay_commands[] = {
    {"hr.piece_rate.set", "article", FOFAL_CREATES_OR_UPDATES,
     "Set an article's piece rate (per piece or per metre, in minor units) from a date on.", rate_set, "piecerate"},
    {"hr.employee.accrue_pay", "badge", 0,
     "Accrue a declaration's piece-rate pay to its weaver (sent by the reaction hr.pay_on_declaration).", accrue_pay,
     "employee"},
    {"hr.pay_period.close", "period", 1, "Close a month's pay: later accruals go to the next open month.",
     pay_period_close, "payperiod"},
};
const int fofal__hr_pay_commands_n = sizeof fofal__hr_pay_commands / sizeof fofal__hr_pay_commands[0];
