/*
 * weaving.c — the weaving floor's aggregates around the production order: looms, warp
 * beams, employees and their shifts, the shift model,
 * and the labels of woven rolls and pieces (interventions are the maintenance module's).
 *
 * Consistency. A loom and the beams mounted on it change together (mount, doff), and a
 * declaration on an order consumes its loom's beams: these decisions read and write
 * several aggregates of one tenant at once (fofal_cmd_lookup, fofal_decision_emit_to),
 * which the stream processor makes atomic because a tenant's aggregates share a
 * partition. Each aggregate still gets its own event for each change, so its history
 * reads whole.
 *
 * Other modules' aggregates. A loom's set-up reads its article (module catalog, see
 * commands/catalog/catalog.c for how a decision reads another module's aggregate and what
 * it costs) and copies its density into loom_set_up, so that the production projection
 * never reads the catalog's tables.
 *
 * Codes, not UUIDs, name what people see on plates and badges: looms ("L03"), beams
 * ("B-0042"), articles ("FT-100x200", catalog's), employees (badge "W012"), shift models ("default").
 *
 * Lifecycles:
 *   beam:   warped → sized → ready (drawn in or knotted) → mounted → doffed | empty
 *   loom:   first piece: not_required → due (after a beam change or a set-up) → passed | failed
 *   employee: registered → updated … → erased (personal data shredded; nothing after)
 *
 * People are who signed in (actors.c): an inspector checks as themself; a planner, manager or admin may record it
 * for someone, and the event says so ("delegated_by").
 *
 * Pure functions: the time a decision uses is the command's issued_us.
 */
#include "decide.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define EV(name) "fofal.production." name ".v1"
#define MAX_ASSIGNMENTS 42       /* shifts remembered per employee: two weeks of 3×8 */
#define DEFAULT_TAKE_UP_PCT 8.0  /* warp take-up when a beam does not say */

/* ---------------------------------------------------------------- shifts */

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

/* The local date of "YYYY-MM-DD" as days since 1970-01-01. 0 or -1. */
static int parse_day(const char *s, int64_t *day) {
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
  if (parse_day(date, &day)) return FOFAL_EINVAL;
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

static const json_t *shift_model(const fofal_cmd_t *cmd) { return lookup_ref(cmd, "shiftmodel", "default", NULL); }

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
  if (!redefined || parse_day(jstr(data, "effective_from"), &from)) {
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
  if (parse_day(jstr(d, "effective_from"), &from))
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

/* ----------------------------------------------------------------- looms */

static int loom_register(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const json_t *d = cmd->data;
  json_t *ev = json_pack("{s:s}", "loom", jstr(d, "loom"));
  jcopy(ev, d, "hall");
  jcopy(ev, d, "type");
  jcopy(ev, d, "width_cm");
  jcopy(ev, d, "nominal_ppm");
  json_object_set_new(ev, "weave", json_string(*jstr(d, "weave") ? jstr(d, "weave") : "flat"));
  out->state = json_deep_copy(ev);
  json_object_set_new(out->state, "beams", json_object());
  json_object_set_new(out->state, "first_piece", json_string("not_required"));
  fofal_decision_emit(out, EV("loom_registered"), ev);
  return 0;
}

static int loom_set_up(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const char *article = jstr(cmd->data, "article");
  /* The article is the catalog module's aggregate: read across modules (the file header). */
  const json_t *a = lookup_ref(cmd, "article", article, NULL);
  if (!a) return REJECT(out, "unknown_article", "article %s is not defined", article);
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "article", json_string(article));
  json_object_set_new(out->state, "first_piece", json_string("due"));
  json_t *ev = json_pack("{s:s,s:s}", "loom", jstr(state, "loom"), "article", article);
  if (jnum(a, "picks_per_cm", 0) > 0) jcopy(ev, a, "picks_per_cm");
  fofal_decision_emit(out, EV("loom_set_up"), ev);
  return 0;
}

static int loom_mount_beam(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const char *code = jstr(cmd->data, "beam"), *pos = jstr(cmd->data, "position");
  if (!*pos) pos = "ground";
  char beam_id[FOFAL_UUID_LEN + 1];
  const json_t *beam = lookup_ref(cmd, "beam", code, beam_id);
  if (!beam) return REJECT(out, "unknown_beam", "beam %s does not exist", code);
  if (!strcmp(pos, "pile") && !jeq(state, "weave", "terry"))
    return REJECT(out, "no_pile_beam_on_flat_loom", "loom %s weaves flat: it has no pile beam", jstr(state, "loom"));
  if (!jeq(beam, "kind", pos))
    return REJECT(out, "beam_kind_mismatch", "beam %s is a %s beam, not a %s beam", code, jstr(beam, "kind"), pos);
  const json_t *cur = json_object_get(json_object_get(state, "beams"), pos);
  if (cur)
    return REJECT(out, "position_taken", "loom %s already carries beam %s as %s beam; doff it first", jstr(state, "loom"),
                  jstr(cur, "beam"), pos);
  if (!jeq(beam, "status", "ready"))
    return REJECT(out, "beam_not_ready", "beam %s is %s: it is mounted once drawn in or knotted", code, jstr(beam, "status"));
  out->state = json_deep_copy(state);
  json_object_set_new(json_object_get(out->state, "beams"), pos, json_pack("{s:s,s:s}", "beam", code, "id", beam_id));
  json_object_set_new(out->state, "first_piece", json_string("due"));
  fofal_decision_emit(out, EV("loom_beam_mounted"),
                      json_pack("{s:s,s:s,s:s,s:O}", "loom", jstr(state, "loom"), "beam", code, "position", pos,
                                "meters_left", json_object_get(beam, "meters_left")));
  json_t *bs = json_deep_copy(beam);
  json_object_set_new(bs, "status", json_string("mounted"));
  json_object_set_new(bs, "loom", json_string(jstr(state, "loom")));
  fofal_decision_emit_to(out, beam_id, EV("beam_mounted"),
                         json_pack("{s:s,s:s,s:s}", "beam", code, "loom", jstr(state, "loom"), "position", pos), bs);
  return 0;
}

static int loom_doff_beam(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const char *pos = *jstr(cmd->data, "position") ? jstr(cmd->data, "position") : "ground";
  const json_t *cur = json_object_get(json_object_get(state, "beams"), pos);
  if (!cur) return REJECT(out, "no_beam_mounted", "loom %s carries no %s beam", jstr(state, "loom"), pos);
  const json_t *beam = fofal_cmd_lookup(cmd, jstr(cur, "id"));
  if (!beam) return REJECT(out, "unknown_beam", "beam %s does not exist", jstr(cur, "beam"));
  double left = jnum(beam, "meters_left", 0);
  const char *end = left < 1.0 ? "empty" : "doffed";
  out->state = json_deep_copy(state);
  json_object_del(json_object_get(out->state, "beams"), pos);
  fofal_decision_emit(out, EV("loom_beam_doffed"),
                      json_pack("{s:s,s:s,s:s}", "loom", jstr(state, "loom"), "beam", jstr(cur, "beam"), "position", pos));
  json_t *bs = json_deep_copy(beam);
  json_object_set_new(bs, "status", json_string(end));
  json_object_del(bs, "loom");
  json_t *ev = json_pack("{s:s,s:s,s:s,s:f}", "beam", jstr(cur, "beam"), "loom", jstr(state, "loom"), "status", end,
                         "meters_left", left);
  jcopy(ev, cmd->data, "reason");
  fofal_decision_emit_to(out, jstr(cur, "id"), EV("beam_doffed"), ev, bs);
  return 0;
}

static int loom_check_first_piece(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  const char *fp = jstr(state, "first_piece"), *result = jstr(cmd->data, "result");
  if (strcmp(fp, "due") && strcmp(fp, "failed"))
    return REJECT(out, "first_piece_not_due", "no first-piece check is due on loom %s (it is %s)", jstr(state, "loom"), fp);
  const char *inspector;
  int delegated;
  if (fofal_actor_person(cmd, "inspector", jstr(cmd->data, "inspector"), 0, &inspector, &delegated, out))
    return FOFAL_EREJECTED;
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "first_piece", json_string(!strcmp(result, "pass") ? "passed" : "failed"));
  json_t *ev = json_pack("{s:s,s:s,s:s}", "loom", jstr(state, "loom"), "result", result, "checked_by", cmd->actor ? cmd->actor : "");
  jcopy(ev, cmd->data, "notes");
  if (inspector) json_object_set_new(ev, "inspector", json_string(inspector));
  if (delegated) json_object_set_new(ev, "delegated_by", fofal_actor_delegation(cmd));
  if (json_object_get(state, "article")) jcopy(ev, state, "article");
  fofal_decision_emit(out, EV("first_piece_checked"), ev);
  return 0;
}

/* ----------------------------------------------------------------- beams */

static int beam_warp(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const json_t *d = cmd->data;
  json_t *ev = json_pack("{s:s,s:s}", "beam", jstr(d, "beam"), "kind", *jstr(d, "kind") ? jstr(d, "kind") : "ground");
  jcopy(ev, d, "yarn_lots");
  jcopy(ev, d, "ends");
  jcopy(ev, d, "length_m");
  jcopy(ev, d, "article");
  json_object_set_new(ev, "take_up_pct", json_real(jnum(d, "take_up_pct", DEFAULT_TAKE_UP_PCT)));
  out->state = json_deep_copy(ev);
  json_object_set_new(out->state, "status", json_string("warped"));
  json_object_set_new(out->state, "meters_left", json_real(jnum(d, "length_m", 0)));
  fofal_decision_emit(out, EV("beam_warped"), ev);
  return 0;
}

static int beam_size(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (!jeq(state, "status", "warped"))
    return REJECT(out, "invalid_transition", "a beam is sized once warped (beam %s is %s)", jstr(state, "beam"), jstr(state, "status"));
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "status", json_string("sized"));
  json_t *ev = json_pack("{s:s}", "beam", jstr(state, "beam"));
  jcopy(ev, cmd->data, "recipe");
  fofal_decision_emit(out, EV("beam_sized"), ev);
  return 0;
}

static int beam_draw_in(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (!jeq(state, "status", "sized"))
    return REJECT(out, "invalid_transition", "a beam is drawn in or knotted once sized (beam %s is %s)", jstr(state, "beam"),
                  jstr(state, "status"));
  const char *method = *jstr(cmd->data, "method") ? jstr(cmd->data, "method") : "drawn_in";
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "status", json_string("ready"));
  json_object_set_new(out->state, "method", json_string(method));
  fofal_decision_emit(out, EV("beam_drawn_in"), json_pack("{s:s,s:s}", "beam", jstr(state, "beam"), "method", method));
  return 0;
}

/* ------------------------------------------------------------- employees */

/* The personal fields of an employee. In the log they are always sealed (the API sealed
 * them with the employee's key before the command reached Kafka, and the processor refused
 * a plain one), so deciders copy them as they are and never read them. */
static const char *const personal[] = {"name", "phone", "national_id", "bank_account", "salary"};
#define NPERSONAL (sizeof personal / sizeof personal[0])

static int employee_register(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  json_t *ev = json_pack("{s:s}", "badge", jstr(cmd->data, "badge"));
  for (size_t i = 0; i < NPERSONAL; i++) jcopy(ev, cmd->data, personal[i]);
  jcopy(ev, cmd->data, "job");
  out->state = json_deep_copy(ev);
  json_object_set_new(out->state, "shifts", json_array());
  fofal_decision_emit(out, EV("employee_registered"), ev);
  return 0;
}

static int employee_update(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (json_is_true(json_object_get(state, "erased")))
    return REJECT(out, "employee_erased", "the personal data of %s was erased", jstr(state, "badge"));
  json_t *ev = json_pack("{s:s}", "badge", jstr(state, "badge"));
  jcopy(ev, cmd->data, "job");
  for (size_t i = 0; i < NPERSONAL; i++) jcopy(ev, cmd->data, personal[i]);
  out->state = json_deep_copy(state);
  json_object_update(out->state, ev);
  fofal_decision_emit(out, EV("employee_updated"), ev);
  return 0;
}

/* Right to erasure. The API deleted the employee's key before this command reached Kafka,
 * so every sealed field of theirs, in every event, already reads "erased"; this event
 * records who erased whom and why, and tells the read models to forget what they opened.
 * The badge, job and shifts stay: they are the mill's records, not personal data. */
static int employee_erase(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  if (json_is_true(json_object_get(state, "erased")))
    return REJECT(out, "already_erased", "the personal data of %s was already erased", jstr(state, "badge"));
  out->state = json_deep_copy(state);
  for (size_t i = 0; i < NPERSONAL; i++) json_object_del(out->state, personal[i]);
  json_object_set_new(out->state, "erased", json_true());
  fofal_decision_emit(out, EV("employee_erased"),
                      json_pack("{s:s,s:s}", "badge", jstr(state, "badge"), "reason", jstr(cmd->data, "reason")));
  return 0;
}

static int employee_assign_shift(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  fofal_shift_t sh;
  if (json_is_true(json_object_get(state, "erased")))
    return REJECT(out, "employee_erased", "%s was erased: they no longer work here", jstr(state, "badge"));
  const char *id = jstr(cmd->data, "shift");
  const json_t *model = shift_model(cmd);
  if (fofal_shift_span(model, id, &sh))
    return REJECT(out, "unknown_shift", "%s is not a shift of the mill's shift model", id);
  if (!works_on(model ? model : builtin(), floor_div(sh.starts_us / 60000000 + jint(model ? model : builtin(), "utc_offset_min", 0), 1440)))
    return REJECT(out, "not_a_working_day", "the mill does not work on the day of %s", id);
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(state, "shifts"), i, a) {
    if (jeq(a, "shift", id)) return REJECT(out, "already_assigned", "%s is already on shift %s", jstr(state, "badge"), id);
    if (sh.starts_us < jint(a, "ends_us", 0) && jint(a, "starts_us", 0) < sh.ends_us)
      return REJECT(out, "shifts_overlap", "shift %s overlaps shift %s of %s", id, jstr(a, "shift"), jstr(state, "badge"));
  }
  const json_t *looms = json_object_get(cmd->data, "looms");
  json_array_foreach(looms, i, a) {
    if (!lookup_ref(cmd, "loom", json_string_value(a), NULL))
      return REJECT(out, "unknown_loom", "loom %s is not registered", json_string_value(a));
  }
  json_t *lm = looms ? json_deep_copy(looms) : json_array();
  out->state = json_deep_copy(state);
  json_t *list = json_object_get(out->state, "shifts");
  json_array_append_new(list, json_pack("{s:s,s:I,s:I,s:O}", "shift", id, "starts_us", (json_int_t)sh.starts_us, "ends_us",
                                        (json_int_t)sh.ends_us, "looms", lm));
  while (json_array_size(list) > MAX_ASSIGNMENTS) json_array_remove(list, 0);
  char from[32], to[32];
  fofal_time_format(sh.starts_us, from);
  fofal_time_format(sh.ends_us, to);
  fofal_decision_emit(out, EV("shift_assigned"),
                      json_pack("{s:s,s:s,s:s,s:s,s:o}", "badge", jstr(state, "badge"), "shift", id, "starts_at", from,
                                "ends_at", to, "looms", lm));
  return 0;
}

/* ---------------------------------------------------------------- labels */

static int label_reprint(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  json_int_t n = jint(state, "prints", 1) + 1;
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "prints", json_integer(n));
  json_t *ev = json_pack("{s:s,s:I,s:s}", "label_id", cmd->aggregate, "print_no", n, "reason", jstr(cmd->data, "reason"));
  jcopy(ev, cmd->data, "printer");
  fofal_decision_emit(out, EV("label_reprinted"), ev);
  return 0;
}

const fofal_command_def_t fofal_weaving_commands[] = {
    {"production.shift_model.define", "model", 1, "Define the mill's shift model (shifts of a day, UTC offset, working days).",
     shift_model_define, "shiftmodel"},
    {"production.shift_model.redefine", "model", 0,
     "Change the mill's shift model from a coming day on; shifts already worked or running keep their hours.",
     shift_model_redefine, "shiftmodel"},
    {"production.loom.register", "loom", 1, "Register a loom: hall, type, width, nominal speed, terry or flat.", loom_register,
     "loom"},
    {"production.loom.set_up", "loom", 0, "Set a loom up for an article; a first-piece check becomes due.", loom_set_up, "loom"},
    {"production.loom.mount_beam", "loom", 0, "Mount a ready warp beam on a loom (ground, or pile on terry looms).",
     loom_mount_beam, "loom"},
    {"production.loom.doff_beam", "loom", 0, "Take a warp beam off a loom (doffed, or empty).", loom_doff_beam, "loom"},
    {"production.loom.check_first_piece", "loom", 0, "Record the first-piece check of a loom (pass or fail).",
     loom_check_first_piece, "loom"},
    {"production.beam.warp", "beam", 1, "Record a warped beam: kind, yarn lots, ends, length.", beam_warp, "beam"},
    {"production.beam.size", "beam", 0, "Record that a warped beam was sized.", beam_size, "beam"},
    {"production.beam.draw_in", "beam", 0, "Record that a sized beam was drawn in or knotted: it is ready to mount.",
     beam_draw_in, "beam"},
    {"production.employee.register", "badge", 1, "Register an employee by badge (weaver, mechanic …).", employee_register,
     "employee"},
    {"production.employee.update", "badge", 0, "Change an employee's job or personal data (phone, bank account, salary …).",
     employee_update, "employee"},
    {"production.employee.erase", "badge", 0, "Erase an employee's personal data (their key is deleted: crypto-shredding).",
     employee_erase, "employee"},
    {"production.employee.assign_shift", "badge", 0, "Put an employee on a shift (and looms); shifts may not overlap.",
     employee_assign_shift, "employee"},
    {"production.label.reprint", "label_id", 0, "Print a label again (recorded; the label id stays the same).", label_reprint,
     NULL},
};
const int fofal_weaving_commands_n = sizeof fofal_weaving_commands / sizeof fofal_weaving_commands[0];
