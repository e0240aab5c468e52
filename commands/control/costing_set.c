/*
 * costing_set.c — what the tenant sets for the cost reads beyond the facts of other
 * modules' events (api/control/costing.c computes with them):
 *
 *   control.machine_rate.set   a rate in minor units per hour of run time, of a loom type
 *                              (production's register: rapier, air-jet) or of one loom,
 *                              from a date; a loom's own rate wins over its type's. Set
 *                              again for the same date, the rate is replaced (the event
 *                              keeps the one it replaced).
 *   control.overhead.set       a month's overhead pool (GENERAL unless named): an amount
 *                              shared among the month's declarations by an allocation key,
 *                              machine_hours, metres or pieces; set again, it is replaced
 *   control.standard_cost.set  an article's standard cost per piece or per metre, by
 *                              component (yarn, labour, machine, overhead); set again, it is
 *                              replaced. The cost reads give the variances against it.
 *   control.losses.set         the start-up window of the losses read: a roll woven at most
 *                              that many minutes after its loom restarted from a stop has
 *                              its rejects counted as startup rejects (30 until set); set
 *                              again, it is replaced.
 *
 * Aggregates: a rate per code (fofal_aggregate_ref(tenant, "machine_rate", "rapier"); the
 * code of a loom type and of a loom share it, told apart by `of` in the state), an
 * overhead month ("overhead", "2026-11"), a standard per article ("standard_cost", code),
 * the tenant's loss settings ("loss_settings", "default").
 *
 * Rules (unit tests in tests/unit/control/test_costing.c):
 *   - a rate is a positive whole number of minor units per hour (invalid_rate);
 *   - valid_from is a calendar date (invalid_date);
 *   - an overhead amount is zero or more (invalid_amount), a month has at most MAX_POOLS
 *     pools (too_many_pools);
 *   - a standard cost's components are zero or more (invalid_amount) and at least one is
 *     above zero (empty_standard);
 *   - the start-up window is a whole number of minutes from 1 to MAX_WINDOW_MIN (8 hours,
 *     a shift) (invalid_window).
 *
 * Money in integer minor units (millimes for TND). Pure functions.
 */
#include "control.h"

#include <stdio.h>
#include <string.h>

#define EV(name) "fofal.control." name ".v1"
#define MAX_POOLS 20
#define MAX_WINDOW_MIN 480

static const char *actor(const fofal_cmd_t *cmd) { return cmd->actor && *cmd->actor ? cmd->actor : "unknown"; }

/* 1 when s is YYYY-MM-DD and a day of the calendar. */
static int date_ok(const char *s) {
  if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') return 0;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return 0;
  int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
  int m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return 0;
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= days[m - 1] + (m == 2 && leap);
}

static int machine_rate_set(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const json_t *d = cmd->data;
  const char *of = *jstr(d, "of") ? jstr(d, "of") : "loom_type", *code = jstr(d, "code"), *from = jstr(d, "valid_from");
  json_int_t rate = jint(d, "rate_minor_per_hour", 0);
  if (!json_is_integer(json_object_get(d, "rate_minor_per_hour")) || rate <= 0)
    return REJECT(out, "invalid_rate", "a machine rate is a positive whole number of minor units per hour");
  if (!date_ok(from)) return REJECT(out, "invalid_date", "valid_from is a calendar date YYYY-MM-DD (got %.20s)", from);
  char key[96];
  snprintf(key, sizeof key, "%s/%s", of, from);
  const json_t *prev = json_object_get(json_object_get(state, "rates"), key);
  json_t *ev = json_pack("{s:s,s:s,s:s,s:I,s:s}", "of", of, "code", code, "valid_from", from, "rate_minor_per_hour", rate,
                         "set_by", actor(cmd));
  if (prev) json_object_set_new(ev, "replaces_minor", json_integer(json_integer_value(prev)));
  jcopy(ev, d, "note");
  out->state = state ? json_deep_copy(state) : json_pack("{s:{}}", "rates");
  json_object_set_new(json_object_get(out->state, "rates"), key, json_integer(rate));
  fofal_decision_emit(out, EV("machine_rate_set"), ev);
  return 0;
}

static int overhead_set(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const json_t *d = cmd->data;
  const char *month = jstr(d, "month"), *pool = *jstr(d, "pool") ? jstr(d, "pool") : "GENERAL", *key = jstr(d, "key");
  json_int_t amount = jint(d, "amount_minor", -1);
  if (!json_is_integer(json_object_get(d, "amount_minor")) || amount < 0)
    return REJECT(out, "invalid_amount", "an overhead is an amount of zero or more minor units");
  const json_t *pools = json_object_get(state, "pools"), *prev = json_object_get(pools, pool);
  if (!prev && json_object_size(pools) >= MAX_POOLS)
    return REJECT(out, "too_many_pools", "a month has at most %d overhead pools", MAX_POOLS);
  json_t *ev = json_pack("{s:s,s:s,s:s,s:I,s:s}", "month", month, "pool", pool, "key", key, "amount_minor", amount,
                         "set_by", actor(cmd));
  if (prev) {
    json_object_set_new(ev, "replaces_minor", json_integer(jint(prev, "amount_minor", 0)));
    json_object_set_new(ev, "replaces_key", json_string(jstr(prev, "key")));
  }
  jcopy(ev, d, "note");
  out->state = state ? json_deep_copy(state) : json_pack("{s:{}}", "pools");
  json_object_set_new(json_object_get(out->state, "pools"), pool, json_pack("{s:s,s:I}", "key", key, "amount_minor", amount));
  fofal_decision_emit(out, EV("overhead_set"), ev);
  return 0;
}

static const char *const components[] = {"yarn_minor", "labour_minor", "machine_minor", "overhead_minor", NULL};

static int standard_cost_set(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const json_t *d = cmd->data;
  json_int_t sum = 0;
  json_t *ev = json_pack("{s:s,s:s}", "article", jstr(d, "article"), "per", *jstr(d, "per") ? jstr(d, "per") : "piece");
  for (int i = 0; components[i]; i++) {
    const json_t *v = json_object_get(d, components[i]);
    if (v && (!json_is_integer(v) || json_integer_value(v) < 0)) {
      json_decref(ev);
      return REJECT(out, "invalid_amount", "%s is zero or more minor units", components[i]);
    }
    sum += json_integer_value(v);
    json_object_set_new(ev, components[i], json_integer(json_integer_value(v)));
  }
  if (sum <= 0) {
    json_decref(ev);
    return REJECT(out, "empty_standard", "a standard cost has at least one component above zero");
  }
  if (state) json_object_set_new(ev, "replaces", json_deep_copy(json_object_get(state, "standard")));
  jcopy(ev, d, "note");
  json_object_set_new(ev, "set_by", json_string(actor(cmd)));
  json_t *std = json_deep_copy(ev);
  json_object_del(std, "replaces");
  json_object_del(std, "set_by");
  json_object_del(std, "note");
  out->state = json_pack("{s:o}", "standard", std);
  fofal_decision_emit(out, EV("standard_cost_set"), ev);
  return 0;
}

static int losses_set(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const json_t *w = json_object_get(cmd->data, "startup_window_min");
  if (!json_is_integer(w) || json_integer_value(w) < 1 || json_integer_value(w) > MAX_WINDOW_MIN)
    return REJECT(out, "invalid_window", "the start-up window is a whole number of minutes from 1 to %d", MAX_WINDOW_MIN);
  json_t *ev = json_pack("{s:s,s:I}", "settings", "default", "startup_window_min", json_integer_value(w));
  const json_t *was = json_object_get(state, "startup_window_min");
  json_object_set_new(ev, "replaces", json_is_integer(was) ? json_integer(json_integer_value(was)) : json_null());
  jcopy(ev, cmd->data, "note");
  json_object_set_new(ev, "set_by", json_string(actor(cmd)));
  out->state = json_pack("{s:I}", "startup_window_min", json_integer_value(w));
  fofal_decision_emit(out, EV("loss_settings_set"), ev);
  return 0;
}

const fofal_command_def_t fofal__control_costing_commands[] = {
    {"control.machine_rate.set", "code", FOFAL_CREATES_OR_UPDATES,
     "Set the rate per hour of run time of a loom type or a loom, from a date.", machine_rate_set, "machine_rate"},
    {"control.overhead.set", "month", FOFAL_CREATES_OR_UPDATES,
     "Set a month's overhead pool and its allocation key (machine_hours, metres or pieces).", overhead_set, "overhead"},
    {"control.standard_cost.set", "article", FOFAL_CREATES_OR_UPDATES,
     "Set an article's standard cost per piece or metre, by component.", standard_cost_set, "standard_cost"},
    {"control.losses.set", "settings", FOFAL_CREATES_OR_UPDATES,
     "Set the start-up window: rejects of a roll woven that soon after its loom restarted are startup rejects.",
     losses_set, "loss_settings"},
};
const int fofal__control_costing_commands_n =
    sizeof fofal__control_costing_commands / sizeof fofal__control_costing_commands[0];
