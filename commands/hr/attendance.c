/*
 * attendance.c — who is at work (module hr): clocking in and out at a device, and
 * absences. The aggregate is the employee (hr.c), so a person's clockings are decided one
 * after the other with their shifts and erasure.
 *
 *   hr.employee.clock_in         the person arrives, at a device (a gate terminal, a phone)
 *   hr.employee.clock_out        the person leaves
 *   hr.employee.record_absence   a day or days away, with a reason (hr, manager)
 *
 * Who clocks is the token's (actors.c): a floor role clocks only its own badge (the badge
 * of its PIN or password sign-in; another badge is actor_mismatch); a planner, manager or
 * admin signed in on a gate terminal may clock someone in for them, which the event keeps
 * as "delegated_by". The body's `device` says where, never who. The time is the command's
 * (issued_us, when fofal-api accepted it): a device's clock is not trusted.
 *
 * The shift a clocking belongs to is decided here and carried by the event, with its span,
 * so the projection derives late arrivals and overtime from it without reading the model:
 * the person's assignment that starts within EARLY_MIN of now or is running, else the
 * shift of the model (shifts.c) starting within EARLY_MIN, else the one running now, else
 * none (a day the mill does not work: the clocking counts its hours, nothing is late).
 *
 * Rules: an erased person clocks no more; one clock-in at a time (already_clocked_in),
 * unless the open one is older than MAX_OPEN_H, which then stays without a clock-out (the
 * new event names it); a clock-out needs a clock-in (not_clocked_in); absences of one
 * person do not overlap (absence_overlaps) and span at most MAX_ABSENCE_DAYS.
 *
 * Pure functions: no I/O, no clock.
 */
#include "hr.h"

#include <stdio.h>

#define EARLY_MIN 60          /* a clock-in this long before a shift starts is for that shift */
#define MAX_OPEN_H 16         /* an open clock-in older than this is left without a clock-out */
#define MAX_ABSENCE_DAYS 62   /* one absence: at most two months (a longer leave is recorded again) */
#define MAX_ABSENCES 24       /* absences remembered per employee, to refuse overlaps */
#define MIN_US (60 * 1000000LL)

/* The shift of a clock-in at `at` into *sh; 0, or -1 when none (see the file header). */
static int clock_shift(const fofal_cmd_t *cmd, const json_t *state, int64_t at, fofal_shift_t *sh) {
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(state, "shifts"), i, a) {
    int64_t s = jint(a, "starts_us", 0), e = jint(a, "ends_us", 0);
    if (s - EARLY_MIN * MIN_US <= at && at < e) {
      snprintf(sh->id, sizeof sh->id, "%s", jstr(a, "shift"));
      sh->starts_us = s;
      sh->ends_us = e;
      return 0;
    }
  }
  const json_t *model = fofal__hr_shift_model(cmd);
  if (!fofal_shift_at(model, at + EARLY_MIN * MIN_US, sh) && sh->starts_us > at) return 0;
  return fofal_shift_at(model, at, sh) ? -1 : 0;
}

static void put_time(json_t *o, const char *k, int64_t us) {
  char t[32];
  fofal_time_format(us, t);
  json_object_set_new(o, k, json_string(t));
}

static void put_shift(json_t *ev, const char *id, int64_t starts, int64_t ends) {
  if (!*id) return;
  json_object_set_new(ev, "shift", json_string(id));
  put_time(ev, "shift_starts_at", starts);
  put_time(ev, "shift_ends_at", ends);
}

/* The person a clocking is for (actors.c) into *badge, with its delegation put on ev. */
static int clocking_person(const fofal_cmd_t *cmd, const json_t *state, int *delegated, fofal_decision_t *out) {
  const char *badge;
  if (fofal_actor_person(cmd, "badge", jstr(cmd->data, "badge"), 1, &badge, delegated, out)) return FOFAL_EREJECTED;
  if (json_is_true(json_object_get(state, "erased")))
    return REJECT(out, "employee_erased", "%s was erased: they no longer work here", jstr(state, "badge"));
  return 0;
}

static int clock_in(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  int delegated;
  if (clocking_person(cmd, state, &delegated, out)) return FOFAL_EREJECTED;
  int64_t at = cmd->issued_us;
  const json_t *open = json_object_get(state, "clocked_in");
  if (open && at - jint(open, "at_us", 0) < MAX_OPEN_H * 60 * MIN_US) {
    char t[32];
    fofal_time_format(jint(open, "at_us", 0), t);
    return REJECT(out, "already_clocked_in", "%s clocked in at %s and has not clocked out", jstr(state, "badge"), t);
  }
  fofal_shift_t sh = {0};
  int have = !clock_shift(cmd, state, at, &sh);
  json_t *ev = json_pack("{s:s,s:s}", "badge", jstr(state, "badge"), "device", jstr(cmd->data, "device"));
  put_time(ev, "at", at);
  if (have) put_shift(ev, sh.id, sh.starts_us, sh.ends_us);
  if (open) put_time(ev, "unclosed_at", jint(open, "at_us", 0));
  if (delegated) json_object_set_new(ev, "delegated_by", fofal_actor_delegation(cmd));
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "clocked_in",
                      json_pack("{s:I,s:s,s:I,s:I}", "at_us", (json_int_t)at, "shift", have ? sh.id : "", "starts_us",
                                (json_int_t)sh.starts_us, "ends_us", (json_int_t)sh.ends_us));
  fofal_decision_emit(out, EV("clocked_in"), ev);
  return 0;
}

static int clock_out(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  int delegated;
  if (clocking_person(cmd, state, &delegated, out)) return FOFAL_EREJECTED;
  const json_t *open = json_object_get(state, "clocked_in");
  if (!open) return REJECT(out, "not_clocked_in", "%s has not clocked in", jstr(state, "badge"));
  json_t *ev = json_pack("{s:s,s:s}", "badge", jstr(state, "badge"), "device", jstr(cmd->data, "device"));
  put_time(ev, "at", cmd->issued_us);
  put_time(ev, "clocked_in_at", jint(open, "at_us", 0));
  put_shift(ev, jstr(open, "shift"), jint(open, "starts_us", 0), jint(open, "ends_us", 0));
  if (delegated) json_object_set_new(ev, "delegated_by", fofal_actor_delegation(cmd));
  out->state = json_deep_copy(state);
  json_object_del(out->state, "clocked_in");
  fofal_decision_emit(out, EV("clocked_out"), ev);
  return 0;
}

/* By hr or a manager (the schema's roles), for someone else: who recorded it is the
 * envelope's actor, also kept in the event. */
static int record_absence(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  int64_t from, to;
  const char *f = jstr(cmd->data, "from"), *t = json_object_get(cmd->data, "to") ? jstr(cmd->data, "to") : f;
  if (json_is_true(json_object_get(state, "erased")))
    return REJECT(out, "employee_erased", "%s was erased: they no longer work here", jstr(state, "badge"));
  if (fofal__hr_parse_day(f, &from) || fofal__hr_parse_day(t, &to))
    return REJECT(out, "invalid_date", "from and to are dates YYYY-MM-DD (got %s, %s)", f, t);
  if (to < from) return REJECT(out, "invalid_period", "the absence ends (%s) before it starts (%s)", t, f);
  if (to - from + 1 > MAX_ABSENCE_DAYS)
    return REJECT(out, "absence_too_long", "one absence spans at most %d days: record a longer one in parts",
                  MAX_ABSENCE_DAYS);
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(state, "absences"), i, a) {
    if (from <= jint(a, "to_day", 0) && jint(a, "from_day", 0) <= to)
      return REJECT(out, "absence_overlaps", "%s is already recorded absent (%s) on a day of %s to %s",
                    jstr(state, "badge"), jstr(a, "reason"), f, t);
  }
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s}", "badge", jstr(state, "badge"), "from", f, "to", t, "reason",
                         jstr(cmd->data, "reason"), "recorded_by", cmd->actor ? cmd->actor : "");
  jcopy(ev, cmd->data, "note");
  out->state = json_deep_copy(state);
  json_t *list = json_object_get(out->state, "absences");
  if (!json_is_array(list)) {
    list = json_array();
    json_object_set_new(out->state, "absences", list);
  }
  json_array_append_new(list, json_pack("{s:I,s:I,s:s}", "from_day", (json_int_t)from, "to_day", (json_int_t)to, "reason",
                                        jstr(cmd->data, "reason")));
  while (json_array_size(list) > MAX_ABSENCES) json_array_remove(list, 0);
  fofal_decision_emit(out, EV("absence_recorded"), ev);
  return 0;
}

const fofal_command_def_t fofal__hr_attendance_commands[] = {
    {"hr.employee.clock_in", "badge", 0, "Clock in at a device: the signed-in person's badge (a supervisor may act for one).",
     clock_in, "employee"},
    {"hr.employee.clock_out", "badge", 0, "Clock out at a device.", clock_out, "employee"},
    {"hr.employee.record_absence", "badge", 0, "Record an absence of one or more days, with its reason.", record_absence,
     "employee"},
};
const int fofal__hr_attendance_commands_n =
    sizeof fofal__hr_attendance_commands / sizeof fofal__hr_attendance_commands[0];
