/*
 * pay.c — piece-rate pay (module hr): the rates per article, and the pay a declaration
 * accrues to the weaver who made it.
 *
 *   hr.piece_rate.set       the rate of an article, per piece or per metre, in integer
 *                           minor units (millimes for TND), from a date on (hr, admin)
 *   hr.employee.accrue_pay  sent by the reaction hr.pay_on_declaration (reactions.c) for
 *                           every production.output_declared; an admin may send it by hand
 *                           to answer that reaction's DLQ record once its cause is fixed
 *   hr.employee.accrue_cut_pay
 *                           sent by the reactions hr.cutter_pay_on_cut and
 *                           hr.weaver_grade_pay_on_cut (reactions.c) for every
 *                           quality.roll_cut: the cutter's pay by grade, and the weaver's
 *                           grade premium
 *   hr.pay_period.close     a month's pay of a site is closed (hr, admin): nothing accrues
 *                           into it again; the event carries the period's gross, which
 *                           accounting posts as one entry
 *
 * Who is paid is the declaration's weaver, which production's decider took from the
 * signed-in weaver's token (actors.c), or whom a supervisor named, recorded as a
 * delegation: never a badge typed in this command's body by a person, since only the
 * reactor (a service) and admins may send it.
 *
 * Rates. A piece rate's aggregate is fofal_aggregate_ref(tenant, "piecerate", article); its
 * state keeps the versions {from_day, role, grade?, unit, rate_minor}, oldest first. A
 * rate belongs to a series: a role (weaver, the default, or cutter) and a grade (none: the
 * role's base rate; first or second). Within a series a new version starts on or after
 * the latest one (the same day replaces it: a correction is a new event, never an edit of
 * an old one; at most MAX_RATE_VERSIONS per series, the oldest dropped); a rate never
 * applies to a day before it was set for. The weaver's base rate is per piece, per metre
 * or per kg (what a roll is measured in); a graded rate and a cutter's rate are per piece
 * (unit_not_per_piece): the cut counts pieces per grade, it does not measure them.
 *
 * Who is paid what (the rule):
 *   - at the declaration the weaver accrues the base rate in force on the day of its
 *     shift (the local date of the shift id, 2026-11-24/A: a night shift's pieces are paid
 *     at the rate of the day it started) — per piece, quantity × rate; per metre, length
 *     in mm × rate / 1000; per kg, weight in g × rate / 1000 (rounded half up; a kg rate
 *     needs a declared weight: no_weight);
 *   - at the cut the weaver accrues, for each grade with a weaver rate of that grade in
 *     force on the roll's shift day, pieces of that grade × that rate: a premium on top of
 *     the base (a first-choice bonus; a grade without a graded rate adds nothing, and a
 *     tenant with no graded weaver rate pays at the declaration only: no_grade_pay,
 *     which is no failure). Premiums are never negative, so nothing paid is taken back;
 *   - at the cut the cutter (the cut's cutter: the signed-in cutter of its token, or whom
 *     a supervisor named, recorded as a delegation) accrues, for each grade, pieces of
 *     that grade × the cutter's rate of that grade in force on the day of the cut (UTC
 *     date of cut_at), or the cutter's base rate when there is none for the grade. Waste
 *     pieces pay nobody at the cut.
 *   One pay_accrued per graded lot and role (its label id is the lot's), so a payslip says
 *   pieces by grade; one accrual per cut and role (paid: "cut/<roll>/<role>").
 *
 * Pay periods are months (YYYY-MM) per site, aggregate fofal_aggregate_ref(tenant,
 * "payperiod", "2026-11") whose state is {"period", "sites": {site: {closed, gross_minor,
 * lines}}} (a state {"closed": true} of before sites closes every site). An employee's
 * site is theirs (hr.employee.register/update "site"), "main" when none. An accrual
 * belongs to the month of its shift day (a cut's: of the cut day); when that month's pay
 * is closed for the site (a declaration made late, or sent again from the DLQ), to the
 * first open month after it (at most MAX_PERIODS_AHEAD on): a closed period is never
 * changed, and late pay is not lost but paid with the next one. The event says which
 * (pay_period). Every accrual adds its amount to its period's gross in the same decision
 * (the event pay_period_accrued on the period's aggregate, fofal_decision_emit_to), so
 * the close knows the gross it hands to accounting without reading any read model.
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

#define MAX_RATE_VERSIONS 12 /* per series (role, grade) */
#define MAX_PAID_LABELS 64
#define MAX_RATE_MINOR 10000000LL /* 10,000.000 TND per piece or metre: a typing error beyond */
#define MAX_PERIODS_AHEAD 24

/* "YYYY-MM" → months since year 0, or -1. */
static int month_index(const char *s) {
  int y, m, n = 0;
  if (!s || sscanf(s, "%4d-%2d%n", &y, &m, &n) != 2 || n != 7 || m < 1 || m > 12) return -1;
  return y * 12 + m - 1;
}

#define DEFAULT_SITE "main"

/* 1 when the pay of `site` in the period state `p` is closed. */
static int site_closed(const json_t *p, const char *site) {
  if (json_is_true(json_object_get(p, "closed"))) return 1; /* closed before sites: every site */
  return json_is_true(json_object_get(json_object_get(json_object_get(p, "sites"), site), "closed"));
}

/* The pay period an accrual of the month `first` belongs to for `site`: it, or the first
 * open one after it, into out[8]. 0 or -1 (all closed: refused). */
static int open_period(const fofal_cmd_t *cmd, const char *site, int first, char out[8]) {
  for (int i = first; i <= first + MAX_PERIODS_AHEAD; i++) {
    snprintf(out, 8, "%04d-%02d", i / 12, i % 12 + 1);
    if (!site_closed(lookup_ref(cmd, "payperiod", out, NULL), site)) return 0;
  }
  return -1;
}

/* The site of an employee's state: theirs, or the default. */
static const char *employee_site(const json_t *state) {
  const char *s = jstr(state, "site");
  return *s ? s : DEFAULT_SITE;
}

/* Adds `amount` in `lines` lines to the gross of `site` in `period`, on the period's own
 * aggregate, in the same decision (one call per decision). */
static void add_to_period(const fofal_cmd_t *cmd, fofal_decision_t *out, const char *period, const char *site,
                          const char *badge, json_int_t amount, json_int_t lines) {
  char id[FOFAL_UUID_LEN + 1];
  const json_t *cur = lookup_ref(cmd, "payperiod", period, id);
  json_t *st = cur ? json_deep_copy(cur) : json_pack("{s:s}", "period", period);
  json_t *sites = json_object_get(st, "sites");
  if (!json_is_object(sites)) {
    sites = json_object();
    json_object_set_new(st, "sites", sites);
  }
  json_t *one = json_object_get(sites, site);
  if (!one) {
    one = json_pack("{s:b,s:I,s:I}", "closed", 0, "gross_minor", (json_int_t)0, "lines", (json_int_t)0);
    json_object_set_new(sites, site, one);
  }
  json_int_t gross = jint(one, "gross_minor", 0) + amount, n = jint(one, "lines", 0) + lines;
  json_object_set_new(one, "gross_minor", json_integer(gross));
  json_object_set_new(one, "lines", json_integer(n));
  fofal_decision_emit_to(out, id, EV("pay_period_accrued"),
                         json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I}", "period", period, "site", site, "badge", badge,
                                   "amount_minor", amount, "lines", lines, "gross_minor", gross, "period_lines", n),
                         st);
}

static int pay_period_close(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const char *p = jstr(cmd->data, "period"), *site = jstr(cmd->data, "site");
  if (!*site) site = DEFAULT_SITE;
  if (month_index(p) < 0) return REJECT(out, "invalid_period", "period is a month YYYY-MM (got %s)", p);
  if (site_closed(state, site)) return REJECT(out, "already_closed", "the pay of %s at site %s is already closed", p, site);
  out->state = state ? json_deep_copy(state) : json_pack("{s:s}", "period", p);
  json_t *sites = json_object_get(out->state, "sites");
  if (!json_is_object(sites)) {
    sites = json_object();
    json_object_set_new(out->state, "sites", sites);
  }
  json_t *one = json_object_get(sites, site);
  json_int_t gross = jint(one, "gross_minor", 0), lines = jint(one, "lines", 0);
  json_object_set_new(sites, site,
                      json_pack("{s:b,s:I,s:I}", "closed", 1, "gross_minor", gross, "lines", lines));
  fofal_decision_emit(out, EV("pay_period_closed"),
                      json_pack("{s:s,s:s,s:s,s:I,s:I}", "period", p, "site", site, "closed_by",
                                cmd->actor ? cmd->actor : "", "gross_minor", gross, "lines", lines));
  return 0;
}

/* A version's role and grade ("" for the base rate); versions of before roles are the
 * weaver's base rates. */
static const char *v_role(const json_t *v) { return *jstr(v, "role") ? jstr(v, "role") : "weaver"; }
static int in_series(const json_t *v, const char *role, const char *grade) {
  return !strcmp(v_role(v), role) && !strcmp(jstr(v, "grade"), grade);
}

static int rate_set(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const char *article = jstr(cmd->data, "article"), *from = jstr(cmd->data, "valid_from"), *unit = jstr(cmd->data, "unit");
  const char *role = *jstr(cmd->data, "role") ? jstr(cmd->data, "role") : "weaver", *grade = jstr(cmd->data, "grade");
  int64_t day;
  json_int_t rate = jint(cmd->data, "rate_minor", -1);
  if (fofal__hr_parse_day(from, &day)) return REJECT(out, "invalid_date", "valid_from must be a date YYYY-MM-DD (got %s)", from);
  if (rate < 0 || rate > MAX_RATE_MINOR)
    return REJECT(out, "invalid_rate", "rate_minor is a whole number of minor units from 0 to %lld", MAX_RATE_MINOR);
  if ((*grade || !strcmp(role, "cutter")) && strcmp(unit, "piece"))
    return REJECT(out, "unit_not_per_piece",
                  "a %s rate%s is per piece: the cut counts pieces by grade, it does not measure them", role,
                  *grade ? " by grade" : "");
  if (!lookup_ref(cmd, "article", article, NULL))
    return REJECT(out, "unknown_article", "article %s is not defined in the catalog", article);
  const json_t *latest = NULL;
  size_t i, n = 0;
  json_t *v;
  json_array_foreach(json_object_get(state, "versions"), i, v) if (in_series(v, role, grade)) latest = v, n++;
  if (latest && day < jint(latest, "from_day", 0))
    return REJECT(out, "valid_from_before_latest",
                  "%s has a %s%s%s rate from a later day: a rate starts on or after the latest one (%s)", article, role,
                  *grade ? " " : "", grade, jstr(latest, "valid_from"));
  out->state = state ? json_deep_copy(state) : json_pack("{s:s,s:[]}", "article", article, "versions");
  json_t *list = json_object_get(out->state, "versions");
  int replace = latest && day == jint(latest, "from_day", 0);
  for (i = json_array_size(list); replace && i-- > 0;)
    if (in_series(json_array_get(list, i), role, grade)) {
      json_array_remove(list, i);
      n--;
      break;
    }
  json_t *nv = json_pack("{s:I,s:s,s:s,s:s,s:I}", "from_day", (json_int_t)day, "valid_from", from, "role", role, "unit",
                         unit, "rate_minor", rate);
  if (*grade) json_object_set_new(nv, "grade", json_string(grade));
  json_array_append_new(list, nv);
  for (n++, i = 0; n > MAX_RATE_VERSIONS && i < json_array_size(list);) {
    if (in_series(json_array_get(list, i), role, grade)) json_array_remove(list, i), n--;
    else i++;
  }
  json_t *ev = json_pack("{s:s,s:s,s:s,s:I,s:s,s:s}", "article", article, "role", role, "unit", unit, "rate_minor", rate,
                         "valid_from", from, "set_by", cmd->actor ? cmd->actor : "");
  if (*grade) json_object_set_new(ev, "grade", json_string(grade));
  fofal_decision_emit(out, EV("piece_rate_set"), ev);
  return 0;
}

/* The version of `rates` of a series in force on `day`, or NULL. */
static const json_t *rate_on(const json_t *rates, const char *role, const char *grade, int64_t day) {
  const json_t *found = NULL;
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(rates, "versions"), i, v) {
    if (in_series(v, role, grade) && jint(v, "from_day", 0) <= day) found = v;
  }
  return found;
}

/* 1 when `rates` has any version of `role` (grade NULL: any grade; "" the base rate;
 * "graded": any grade but the base). */
static int has_series(const json_t *rates, const char *role, const char *grade) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(rates, "versions"), i, v) {
    if (strcmp(v_role(v), role)) continue;
    if (!grade || (!strcmp(grade, "graded") ? *jstr(v, "grade") != '\0' : !strcmp(jstr(v, "grade"), grade))) return 1;
  }
  return 0;
}

int64_t fofal__hr_pay_amount(const char *unit, int64_t quantity, int64_t length_mm, int64_t weight_g, int64_t rate_minor) {
  if (!strcmp(unit, "metre")) return (length_mm * rate_minor + 500) / 1000;
  if (!strcmp(unit, "kg")) return (weight_g * rate_minor + 500) / 1000;
  return quantity * rate_minor;
}

/* Refuses a label already paid to the employee, else records it in out->state (a copy of
 * `state`). */
static int mark_paid(const json_t *state, const char *key, fofal_decision_t *out) {
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(state, "paid"), i, p) {
    if (!strcmp(json_string_value(p), key))
      return REJECT(out, "already_accrued", "%s was already paid to %s", key, jstr(state, "badge"));
  }
  out->state = json_deep_copy(state);
  json_t *paid = json_object_get(out->state, "paid");
  if (!json_is_array(paid)) {
    paid = json_array();
    json_object_set_new(out->state, "paid", paid);
  }
  json_array_append_new(paid, json_string(key));
  while (json_array_size(paid) > MAX_PAID_LABELS) json_array_remove(paid, 0);
  return 0;
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
  if (!rates || !has_series(rates, "weaver", ""))
    return REJECT(out, "not_paid_by_piece", "article %s has never had a weaver's piece rate: it is not paid by piece", article);
  const json_t *v = rate_on(rates, "weaver", "", day);
  if (!v) return REJECT(out, "no_rate", "article %s has no piece rate in force on %s: set one (hr.piece_rate.set)", article, date);
  const char *unit = jstr(v, "unit"), *site = employee_site(state);
  json_int_t weight = jint(d, "weight_g", -1);
  if (!strcmp(unit, "kg") && weight < 0)
    return REJECT(out, "no_weight", "article %s is paid per kg and the declaration of label %s says no weight", article, label);
  char period[8];
  if (open_period(cmd, site, month_index(date), period))
    return REJECT(out, "pay_period_closed", "the pay of %.7s and of the %d months after it is closed", date,
                  MAX_PERIODS_AHEAD);
  json_int_t q = jint(d, "quantity", 0), rate = jint(v, "rate_minor", 0);
  json_int_t mm = (json_int_t)llround(jnum(d, "length_m", 0) * 1000.0);
  json_int_t amount = (json_int_t)fofal__hr_pay_amount(unit, q, mm, weight < 0 ? 0 : weight, rate);
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:I,s:I}", "badge", jstr(state, "badge"), "label_id", label,
                         "order_id", jstr(d, "order_id"), "article", article, "shift", shift, "quantity", q, "length_mm",
                         mm, "unit", unit, "rate_minor", rate, "amount_minor", amount);
  jcopy(ev, d, "woven_at");
  if (weight >= 0) json_object_set_new(ev, "weight_g", json_integer(weight));
  json_object_set_new(ev, "pay_period", json_string(period));
  json_object_set_new(ev, "role", json_string("weaver"));
  json_object_set_new(ev, "site", json_string(site));
  if (mark_paid(state, label, out)) return FOFAL_EREJECTED;
  fofal_decision_emit(out, EV("pay_accrued"), ev);
  add_to_period(cmd, out, period, site, jstr(state, "badge"), amount, 1);
  return 0;
}

/* The pay of a cut to one person (role weaver or cutter), one line per graded lot. */
static int accrue_cut_pay(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const json_t *d = cmd->data;
  const char *role = jstr(d, "role"), *roll = jstr(d, "roll"), *article = jstr(d, "article"), *shift = jstr(d, "shift");
  const char *cut_at = jstr(d, "cut_at");
  char cut_date[11], shift_date[11];
  int64_t cut_day, shift_day;
  snprintf(cut_date, sizeof cut_date, "%s", cut_at);
  snprintf(shift_date, sizeof shift_date, "%s", shift);
  if (fofal__hr_parse_day(cut_date, &cut_day)) return REJECT(out, "invalid_date", "cut_at %s is not a time", cut_at);
  if (fofal__hr_parse_day(shift_date, &shift_day))
    return REJECT(out, "invalid_shift", "%s is not a shift id (2026-11-24/A)", shift);
  int cutter = !strcmp(role, "cutter");
  const json_t *rates = lookup_ref(cmd, "piecerate", article, NULL);
  if (!rates || !has_series(rates, role, cutter ? NULL : "graded"))
    return REJECT(out, cutter ? "not_paid_by_piece" : "no_grade_pay",
                  cutter ? "article %s has no cutter's piece rate: its cuts are not paid by piece"
                         : "article %s has no weaver's rate by grade: the weaver is paid at the declaration only",
                  article);
  int64_t day = cutter ? cut_day : shift_day;
  const char *site = employee_site(state);
  char period[8], key[80];
  if (open_period(cmd, site, month_index(cut_date), period))
    return REJECT(out, "pay_period_closed", "the pay of %.7s and of the %d months after it is closed", cut_date,
                  MAX_PERIODS_AHEAD);
  snprintf(key, sizeof key, "cut/%s/%s", roll, role);
  json_t *events = json_array();
  json_int_t total = 0;
  size_t i;
  json_t *lot;
  json_array_foreach(json_object_get(d, "lots"), i, lot) {
    const char *grade = jstr(lot, "grade");
    json_int_t pieces = jint(lot, "pieces", 0);
    if (pieces < 1) continue;
    const json_t *v = rate_on(rates, role, grade, day);
    if (!v && cutter) v = rate_on(rates, role, "", day);
    if (!v) {
      if (!cutter) continue; /* no premium for this grade */
      json_decref(events);
      return REJECT(out, "no_rate", "article %s has no cutter's rate in force on %s for %s choice", article, cut_date,
                    grade);
    }
    json_int_t rate = jint(v, "rate_minor", 0), amount = pieces * rate;
    json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:I,s:I,s:s,s:s,s:s,s:s,s:s}", "badge",
                           jstr(state, "badge"), "label_id", jstr(lot, "label_id"), "order_id", jstr(d, "order_id"),
                           "article", article, "shift", shift, "quantity", pieces, "length_mm", (json_int_t)0, "unit",
                           "piece", "rate_minor", rate, "amount_minor", amount, "pay_period", period, "role", role,
                           "grade", grade, "roll", roll, "site", site);
    if (*jstr(v, "grade")) json_object_set_new(ev, "graded_rate", json_true());
    jcopy(ev, d, "cut_at");
    json_array_append_new(events, ev);
    total += amount;
  }
  if (!json_array_size(events)) {
    json_decref(events);
    return REJECT(out, cutter ? "nothing_to_pay" : "no_grade_pay",
                  cutter ? "the cut of %s gave no graded pieces" : "no weaver's rate by grade of %s is in force for the pieces of this cut",
                  cutter ? roll : article);
  }
  if (mark_paid(state, key, out)) {
    json_decref(events);
    return FOFAL_EREJECTED;
  }
  json_array_foreach(events, i, lot) fofal_decision_emit(out, EV("pay_accrued"), json_incref(lot));
  json_decref(events);
  add_to_period(cmd, out, period, site, jstr(state, "badge"), total, (json_int_t)json_array_size(out->events));
  return 0;
}

const fofal_command_def_t fofal__hr_pay_commands[] = {
    {"hr.piece_rate.set", "article", FOFAL_CREATES_OR_UPDATES,
     "Set an article's piece rate for a role and grade (per piece, metre or kg, in minor units) from a date on.",
     rate_set, "piecerate"},
    {"hr.employee.accrue_pay", "badge", 0,
     "Accrue a declaration's piece-rate pay to its weaver (sent by the reaction hr.pay_on_declaration).", accrue_pay,
     "employee"},
    {"hr.employee.accrue_cut_pay", "badge", 0,
     "Accrue a cut's pay by grade to its cutter or its weaver (sent by the reactions on quality.roll_cut).",
     accrue_cut_pay, "employee"},
    {"hr.pay_period.close", "period", FOFAL_CREATES_OR_UPDATES,
     "Close a month's pay of a site: later accruals go to the next open month; accounting posts its gross.",
     pay_period_close, "payperiod"},
};
const int fofal__hr_pay_commands_n = sizeof fofal__hr_pay_commands / sizeof fofal__hr_pay_commands[0];
