/*
 * shifts.c — the mill's shift model (module hr): its deciders and the calendar that every
 * module reads it by.
 *
 *   hr.shift_model.define     the shifts of a day, the UTC offset, the working days
 *   hr.shift_model.redefine   the same from a coming day on (older versions kept)
 *
 * The calendar (fofal_shift_at, fofal_shift_span, fofal_shift_model_next, commands.h) is
 * shared: hr's employee.assign_shift spans an assignment by it, production's
 * order.declare_output finds the shift a declaration falls in (a read of this module's
 * aggregate across modules, see hr.c), and fofal-machines tallies looms by the same model,
 * which it folds from fofal.hr.events with fofal_shift_model_next exactly as the decider
 * folds its state, so a loom's shift is always the weavers'.
 *
 * Pure functions: the time a decision uses is the command's issued_us.
 */
#include "hr.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const char *builtin_model =
    "{\"model\":\"default\",\"utc_offset_min\":60,\"shifts\":[{\"code\":\"A\",\"start\":\"06:00\",\"hours\":8},"
    "{\"code\":\"B\",\"start\":\"14:00\",\"hours\":8},{\"code\":\"C\",\"start\":\"22:00\",\"hours\":8}]}";

static json_t *builtin(void) {
  static json_t *m;
  if (!m) m = json_loads(builtin_model, 0, NULL); /* parsed once; read-only afterwards */
  return m;
}

static int hhmm(const char *s) {
  int h, m;
  char tail;
  if (sscanf(s, "%2d:%2d%c", &h, &m, &tail) != 2 || h < 0 || h > 23 || m < 0 || m > 59) return -1;
  return h * 60 + m;
}

static int works_on(const json_t *model, int64_t day) {
  const json_t *days = json_object_get(model, "working_days");
  if (!json_is_array(days) || !json_array_size(days)) return 1;
  int iso = (int)(((day % 7) + 7 + 3) % 7) + 1; /* 1970-01-01 was a Thursday (ISO 4) */
  size_t i;
  json_t *d;
  json_array_foreach(days, i, d) if (json_integer_value(d) == iso) return 1;
  return 0;
}

static void fill(fofal_shift_t *out, const char *code, int64_t day, int64_t start_min, int64_t hours, int64_t off_min) {
  time_t t = (time_t)(day * 86400);
  struct tm tm;
  gmtime_r(&t, &tm);
  snprintf(out->code, sizeof out->code, "%s", code);
  snprintf(out->id, sizeof out->id, "%04d-%02d-%02d/%s", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, code);
  out->starts_us = ((day * 1440 + start_min - off_min) * 60) * 1000000LL;
  out->ends_us = out->starts_us + hours * 3600 * 1000000LL;
}

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

/* Versions. A model redefined from a coming day (shift_model.redefine) keeps the model it
 * replaces under "previous", with "from_day" (days since 1970-01-01, a local date) where
 * it starts: a shift belongs to the version in force on the day it starts, so the shifts
 * already worked or running keep the hours they had. */
#define MAX_MODEL_VERSIONS 24

/* The shift of one version containing at_us, among those starting on a day of
 * [min_day, max_day). */
static int version_shift_at(const json_t *model, int64_t at_us, int64_t min_day, int64_t max_day, fofal_shift_t *out) {
  int64_t off = jint(model, "utc_offset_min", 0);
  int64_t local_min = floor_div(at_us, 60 * 1000000LL) + off;
  int64_t today = floor_div(local_min, 1440);
  for (int64_t day = today - 1; day <= today; day++) {
    if (day < min_day || day >= max_day) continue;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(model, "shifts"), i, s) {
      int start = hhmm(jstr(s, "start"));
      int64_t hours = jint(s, "hours", 8);
      if (start < 0) continue;
      int64_t from = day * 1440 + start, to = from + hours * 60;
      if (local_min >= from && local_min < to) {
        if (!works_on(model, day)) return FOFAL_ENOENT;
        fill(out, jstr(s, "code"), day, start, hours, off);
        return 0;
      }
    }
  }
  return FOFAL_ENOENT;
}

int fofal_shift_at(const json_t *model, int64_t at_us, fofal_shift_t *out) {
  if (!model) model = builtin();
  /* Newest version first; each only for the shifts that start in its days. */
  for (int64_t until = INT64_MAX; model; model = json_object_get(model, "previous")) {
    int64_t from = jint(model, "from_day", INT64_MIN);
    if (!version_shift_at(model, at_us, from, until, out)) return 0;
    until = from;
  }
  return FOFAL_ENOENT;
}

int fofal__hr_parse_day(const char *s, int64_t *day) {
  int y, mo, d, n = 0;
  if (!s || sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) return -1;
  struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d};
  time_t t = timegm(&tm);
  if (t == (time_t)-1 || tm.tm_mday != d || tm.tm_mon != mo - 1) return -1;
  *day = (int64_t)t / 86400;
  return 0;
}

int fofal_shift_span(const json_t *model, const char *shift_id, fofal_shift_t *out) {
  if (!model) model = builtin();
  int n = 0;
  int64_t day;
  char date[11];
  if (!shift_id || strlen(shift_id) < 12 || shift_id[10] != '/') return FOFAL_EINVAL;
  memcpy(date, shift_id, 10);
  date[10] = '\0';
  if (fofal__hr_parse_day(date, &day)) return FOFAL_EINVAL;
  n = 11;
  while (json_object_get(model, "previous") && day < jint(model, "from_day", INT64_MIN))
    model = json_object_get(model, "previous"); /* the version in force that day */
  size_t i;
  json_t *s;
  json_array_foreach(json_object_get(model, "shifts"), i, s) {
    if (!jeq(s, "code", shift_id + n)) continue;
    int start = hhmm(jstr(s, "start"));
    if (start < 0) return FOFAL_EINVAL;
    fill(out, shift_id + n, day, start, jint(s, "hours", 8), jint(model, "utc_offset_min", 0));
    return 0;
  }
  return FOFAL_EINVAL;
}


int fofal__hr_works_on_shift(const json_t *model, const fofal_shift_t *sh) {
  if (!model) model = builtin();
  return works_on(model, floor_div(sh->starts_us / 60000000 + jint(model, "utc_offset_min", 0), 1440));
}


/* Shifts may overlap (a 12-hour day shift beside 3×8): a person's may not, which
 * employee.assign_shift holds. Codes name shifts, so they are unique. */
static int shift_codes_unique(const json_t *d, fofal_decision_t *out) {
  size_t i, j;
  json_t *s, *t;
  json_array_foreach(json_object_get(d, "shifts"), i, s) {
    json_array_foreach(json_object_get(d, "shifts"), j, t) {
      if (j > i && jeq(s, "code", jstr(t, "code")))
        return REJECT(out, "invalid_shift", "shift code %s appears twice", jstr(s, "code"));
    }
  }
  return 0;
}

static int shift_model_define(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const json_t *d = cmd->data;
  if (shift_codes_unique(d, out)) return FOFAL_EREJECTED;
  json_t *ev = json_deep_copy(d);
  if (!json_object_get(ev, "utc_offset_min")) json_object_set_new(ev, "utc_offset_min", json_integer(0));
  out->state = fofal_shift_model_next(NULL, ev, 0);
  fofal_decision_emit(out, EV("shift_model_defined"), ev);
  return 0;
}

json_t *fofal_shift_model_next(const json_t *current, const json_t *data, int redefined) {
  json_t *next = json_deep_copy(data);
  if (!json_object_get(next, "utc_offset_min")) json_object_set_new(next, "utc_offset_min", json_integer(0));
  int64_t from;
  if (!redefined || fofal__hr_parse_day(jstr(data, "effective_from"), &from)) {
    json_object_del(next, "effective_from");
    return next;
  }
  /* The versions still in force before `from`, newest first, at most MAX_MODEL_VERSIONS. */
  const json_t *keep = current;
  while (keep && jint(keep, "from_day", INT64_MIN) >= from) keep = json_object_get(keep, "previous");
  json_object_del(next, "effective_from");
  json_object_set_new(next, "from_day", json_integer(from));
  json_t *prev = keep ? json_deep_copy(keep) : NULL, *cut = prev;
  for (int depth = 2; cut && json_object_get(cut, "previous"); depth++, cut = json_object_get(cut, "previous"))
    if (depth >= MAX_MODEL_VERSIONS) json_object_del(cut, "previous");
  if (prev) json_object_set_new(next, "previous", prev);
  return next;
}

/* A new model from a coming local day on (`effective_from`, by the model in force now):
 * the shifts of today and before, worked or running, keep their hours, and so do the
 * declarations made in them. Employees' assignments keep the spans they were given (a
 * declaration finds its shift among them first); people whose shifts change are assigned
 * again. A redefinition replaces any other not in force yet. */
static int shift_model_redefine(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const json_t *d = cmd->data;
  int64_t from;
  if (shift_codes_unique(d, out)) return FOFAL_EREJECTED;
  if (fofal__hr_parse_day(jstr(d, "effective_from"), &from))
    return REJECT(out, "invalid_date", "effective_from must be a date YYYY-MM-DD (got %s)", jstr(d, "effective_from"));
  int64_t today = floor_div(floor_div(cmd->issued_us, 60 * 1000000LL) + jint(state, "utc_offset_min", 0), 1440);
  if (from <= today)
    return REJECT(out, "effective_from_not_future",
                  "a redefinition takes effect from a coming day (tomorrow or later): today's shifts are worked already");
  json_t *ev = json_deep_copy(d);
  if (!json_object_get(ev, "utc_offset_min")) json_object_set_new(ev, "utc_offset_min", json_integer(0));
  out->state = fofal_shift_model_next(state, ev, 1);
  fofal_decision_emit(out, EV("shift_model_redefined"), ev);
  return 0;
}

const fofal_command_def_t fofal__hr_shift_commands[] = {
    {"hr.shift_model.define", "model", 1, "Define the mill's shift model (shifts of a day, UTC offset, working days).",
     shift_model_define, "shiftmodel"},
    {"hr.shift_model.redefine", "model", 0,
     "Change the mill's shift model from a coming day on; shifts already worked or running keep their hours.",
     shift_model_redefine, "shiftmodel"},
};
const int fofal__hr_shift_commands_n = sizeof fofal__hr_shift_commands / sizeof fofal__hr_shift_commands[0];
