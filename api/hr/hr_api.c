/*
 * hr_api.c — the hr module's reads: employees with their shifts, the shift model,
 * attendance, piece rates and piece-rate pay.
 *
 *   GET /api/v1/hr/employees/{badge}       one employee, their shift assignments (latest
 *                                          first) and the current one; personal fields
 *                                          opened for hr and admin only
 *   GET /api/v1/hr/employees/{badge}/attendance?from=&to=
 *                                          clockings (late, worked, overtime minutes) and
 *                                          absences of a period, with totals
 *   GET /api/v1/hr/employees/{badge}/pay?from=&to=
 *                                          pay lines of a period (one per declaration, with
 *                                          the rate used) and totals per article, in minor
 *                                          units
 *   GET /api/v1/hr/employees/{badge}/payslip?period=YYYY-MM
 *                                          the payslip of a pay period: hours (from
 *                                          attendance, clockings of the month's shift days),
 *                                          pieces by role, article, grade and rate (the pay
 *                                          lines paid in that period), the gross, and
 *                                          whether the period is closed at the person's site
 *   GET /api/v1/hr/shiftmodels/{model}     the mill's shift model ("default"; ETag: its
 *                                          version)
 *   GET /api/v1/hr/piecerates/{article}    an article's piece rates, oldest first
 *
 * The rows are the hr projection's (schemas/hr/070_hr.sql); other modules' reads may join
 * them (production's weaver view and labels do; reading another module's table is
 * allowed, writing is not). Each answer carries the aggregate id its code stands for
 * (commands.h, fofal_aggregate_ref). The engine (api/reads.c) runs the queries on a read
 * worker and waits for ?position=.
 *
 * Roles. An employee is read by hr, planners, managers and admins, and by the person
 * themself (the token's badge claim, never the subject); the phone, national id, bank
 * account and salary, sealed in the read model, are opened here for hr and admin only
 * (projections/personal.c). Attendance likewise; pay by hr, accountants, managers and
 * admins, and the person themself. The shift model and the piece rates are read by every
 * role of the mill (who works when, and what a piece pays, is no secret on the floor).
 *
 * A period is ?from= and ?to= (local dates, inclusive; a clocking counts on its shift's
 * day, a pay line on its declaration's shift day); absent, the last 31 days to today (UTC);
 * at most 366 days (invalid_period).
 *
 * Threads: the handler runs on the loop thread, run() on a read worker with a copy of
 * params_t; the routes table and OpenAPI text are read-only.
 */
#include "api.h"
#include "projections.h" /* fofal_open_personal */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* "2026-11-24T08:15:02.123456Z" from a timestamptz column. */
#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

#define MAX_SHIFTS 42 /* assignments shown, latest first: as many as the decider remembers */

#define ROLES_PEOPLE "hr planner manager admin"
#define ROLES_PAY "hr accountant manager admin"
#define MAX_PERIOD_DAYS 366
#define MAX_LINES 1000 /* pay lines or clockings listed; the totals count them all */
#define ROLES_MILL                                                                                             \
  "weaver cutter mechanic storekeeper_mp storekeeper_pf storekeeper_st quality planner manager accountant hr " \
  "auditor admin"

enum { H_EMPLOYEE, H_SHIFT_MODEL, H_ATTENDANCE, H_PAY, H_RATES, H_PAYSLIP, H_N };
#define P_PERIOD 2 /* the route takes ?period=YYYY-MM (routes' params flag; 1: ?from=&to=) */

static const fofal_read_route_t routes[H_N] = {
    [H_EMPLOYEE] = {"/api/v1/hr/employees/{badge}", "hr.employees.get", "One employee and their shifts.",
                    "The employee and their shift assignments (latest first, at most 42), with the current one.",
                    ROLES_PEOPLE, "any role reads the employee of its own badge (the token's badge claim)", 0, "Employee"},
    [H_SHIFT_MODEL] = {"/api/v1/hr/shiftmodels/{model}", "hr.shiftmodels.get", "The mill's shift model.",
                       "Its shifts (code, local start, hours), UTC offset and working days (ISO 1 = Monday; none: every "
                       "day), as last defined or redefined (a redefinition shows here from when it is made, and takes "
                       "effect from its day); ETag is its version. 404 until one is defined (the built-in 3×8 from "
                       "06:00 at UTC+1 applies).",
                       ROLES_MILL, NULL, 0, "ShiftModel"},
    [H_ATTENDANCE] = {"/api/v1/hr/employees/{badge}/attendance", "hr.attendance.get",
                      "An employee's clockings and absences over a period.",
                      "Clockings (in, out, devices, shift, minutes late, worked, beyond the shift's end and short of "
                      "it; latest 1000) and absence days of the period, with totals.",
                      ROLES_PEOPLE, "any role reads the attendance of its own badge (the token's badge claim)", 1,
                      "Attendance"},
    [H_PAY] = {"/api/v1/hr/employees/{badge}/pay", "hr.pay.get", "An employee's piece-rate pay over a period.",
               "One line per declaration of the period (pieces, length in mm, the rate used, the amount; latest 1000), "
               "totals per article and the gross, in integer minor units (millimes for TND).",
               ROLES_PAY, "any role reads the pay of its own badge (the token's badge claim)", 1, "Pay"},
    [H_RATES] = {"/api/v1/hr/piecerates/{article}", "hr.piecerates.get", "An article's piece rates.",
                 "Its rates, oldest first: from which day (local date of a shift), per piece or per metre, in minor "
                 "units, who set them. 404 until one is set.",
                 ROLES_MILL, NULL, 0, "PieceRates"},
    [H_PAYSLIP] = {"/api/v1/hr/employees/{badge}/payslip", "hr.payslip.get", "An employee's payslip of a pay period.",
                   "The pay period (?period=YYYY-MM; the current month, UTC, when absent): hours from attendance (clockings of the month's shift "
                   "days: worked, overtime, late minutes; absence days), pieces by role, article, grade, unit and "
                   "rate (the pay lines paid in that period, a late one of a closed month included), the gross in "
                   "integer minor units, and whether the period is closed at the person's site(s) with the gross it "
                   "closed with.",
                   ROLES_PAY, "any role reads the payslip of its own badge (the token's badge claim)", P_PERIOD,
                   "Payslip"},
};

typedef struct {
  int route;
  char key[80];  /* the badge or model of the path */
  char role[40]; /* the caller's: who sees personal fields */
  char from[11], to[11]; /* the period's dates, "" when not given */
} params_t;

/* ------------------------------------------------------------------ run */

/* Who sees an employee's phone, national id, bank account and salary (opened here, sealed
 * in the read model): HR and admins. */
static int sees_personal(const char *role) { return !strcmp(role, "hr") || !strcmp(role, "admin"); }

static const char employee_sql[] =
    "SELECT json_build_object('badge', e.badge, 'name', e.name, 'job', e.job, 'registered_at', "
    TS("e.registered_at") ", 'version', e.version, 'erased_at', " TS("e.erased_at") ", 'personal', e.personal, "
    "'current_shift', (SELECT json_build_object('shift', s.shift, 'starts_at', " TS("s.starts_at") ", 'ends_at', "
    TS("s.ends_at") ", 'looms', s.looms) FROM hr.shift_assignments s WHERE s.tenant = e.tenant AND s.badge = "
    "e.badge AND s.starts_at <= now() AND now() < s.ends_at LIMIT 1), "
    "'shifts', coalesce((SELECT json_agg(x.j ORDER BY x.starts_at DESC) FROM (SELECT s.starts_at, "
    "json_build_object('shift', s.shift, 'starts_at', " TS("s.starts_at") ", 'ends_at', " TS("s.ends_at") ", 'looms', "
    "s.looms) AS j FROM hr.shift_assignments s WHERE s.tenant = e.tenant AND s.badge = e.badge ORDER BY "
    "s.starts_at DESC LIMIT $3::int) x), '[]'::json)) "
    "FROM hr.employees e WHERE e.tenant = $1 AND e.badge = $2";

static const char shift_model_sql[] =
    "SELECT json_build_object('model', m.model, 'utc_offset_min', m.utc_offset_min, 'shifts', m.shifts, "
    "'working_days', m.working_days, 'version', m.version, 'defined_at', " TS("m.defined_at") ") "
    "FROM hr.shift_models m WHERE m.tenant = $1 AND m.model = $2";

/* The personal fields of an employee's answer, opened for the roles that see them and
 * dropped for the others. 0 or a failure of the store (res is then the problem). */
static int personal_fields(fofal_worker_t *w, const char *tenant, const params_t *p, fofal__read_result_t *res) {
  json_t *personal = json_object_get(res->body, "personal");
  if (!sees_personal(p->role) || !json_object_size(personal)) {
    json_object_del(res->body, "personal");
    return 0;
  }
  char err[256];
  struct fofal_pg *pg;
  int rc = fofal__worker_pg(w, &pg, err, sizeof err);
  if (!rc) rc = fofal_open_personal(pg, fofal__pd_master(fofal__worker_api(w)), tenant, personal, err, sizeof err);
  if (rc == FOFAL_EUNAVAIL) fofal__worker_pg_drop(w);
  if (rc) {
    json_decref(res->body);
    res->body = NULL;
    fofal__read_fail(res, rc, err, 0);
  }
  return rc;
}

/* The period of $3, $4 ("" or a date), as columns f and t, for a query on an employee
 * ($2) who must exist. */
#define PERIOD                                                                                                  \
  "(SELECT coalesce(nullif($4, '')::date, current_date) AS t, coalesce(nullif($3, '')::date, coalesce(nullif($4, " \
  "'')::date, current_date) - 30) AS f) p WHERE EXISTS (SELECT 1 FROM hr.employees e WHERE e.tenant = $1 AND "   \
  "e.badge = $2)"

static const char attendance_sql[] =
    "SELECT json_build_object('badge', $2::text, 'from', p.f, 'to', p.t, "
    "'clockings', coalesce((SELECT json_agg(x.j ORDER BY x.clock_in DESC) FROM (SELECT c.clock_in, "
    "json_build_object('clock_in', " TS("c.clock_in") ", 'clock_out', " TS("c.clock_out") ", 'device_in', c.device_in, "
    "'device_out', c.device_out, 'shift', c.shift, 'shift_starts_at', " TS("c.shift_starts_at") ", 'shift_ends_at', "
    TS("c.shift_ends_at") ", 'late_min', c.late_min, 'worked_min', c.worked_min, 'overtime_min', c.overtime_min, "
    "'early_leave_min', c.early_leave_min, 'delegated_by', c.delegated_by::json) AS j FROM hr.clockings c WHERE "
    "c.tenant = $1 AND c.badge = $2 AND coalesce(c.shift_day, (c.clock_in AT TIME ZONE 'UTC')::date) BETWEEN p.f AND "
    "p.t ORDER BY c.clock_in DESC LIMIT $5::int) x), '[]'::json), "
    "'absences', coalesce((SELECT json_agg(json_build_object('day', a.day, 'reason', a.reason, 'note', a.note, "
    "'recorded_by', a.recorded_by) ORDER BY a.day) FROM hr.absences a WHERE a.tenant = $1 AND a.badge = $2 AND a.day "
    "BETWEEN p.f AND p.t), '[]'::json), "
    "'totals', (SELECT json_build_object('clockings', count(*), 'worked_min', coalesce(sum(c.worked_min), 0), "
    "'late_min', coalesce(sum(c.late_min), 0), 'overtime_min', coalesce(sum(c.overtime_min), 0), 'early_leave_min', "
    "coalesce(sum(c.early_leave_min), 0), 'absence_days', (SELECT count(*) FROM hr.absences a WHERE a.tenant = $1 AND "
    "a.badge = $2 AND a.day BETWEEN p.f AND p.t)) FROM hr.clockings c WHERE c.tenant = $1 AND c.badge = $2 AND "
    "coalesce(c.shift_day, (c.clock_in AT TIME ZONE 'UTC')::date) BETWEEN p.f AND p.t)) FROM " PERIOD;

static const char pay_sql[] =
    "SELECT json_build_object('badge', $2::text, 'from', p.f, 'to', p.t, "
    "'lines', coalesce((SELECT json_agg(x.j ORDER BY x.shift_day DESC, x.woven_at DESC) FROM (SELECT l.shift_day, "
    "l.woven_at, json_build_object('label_id', l.label_id, 'order_id', l.order_id, 'article', l.article, 'shift', "
    "l.shift, 'woven_at', " TS("l.woven_at") ", 'quantity', l.quantity, 'length_mm', l.length_mm, 'unit', l.unit, "
    "'rate_minor', l.rate_minor, 'amount_minor', l.amount_minor, 'pay_period', l.pay_period, 'role', l.role, 'grade', "
    "l.grade, 'roll', l.roll, 'weight_g', l.weight_g, 'site', l.site) AS j FROM hr.pay_lines l "
    "WHERE l.tenant = $1 AND "
    "l.badge = $2 AND l.shift_day BETWEEN p.f AND p.t ORDER BY l.shift_day DESC, l.woven_at DESC LIMIT $5::int) x), "
    "'[]'::json), "
    "'by_article', coalesce((SELECT json_agg(json_build_object('article', g.article, 'unit', g.unit, 'lines', g.n, "
    "'quantity', g.q, 'length_mm', g.mm, 'amount_minor', g.amount) ORDER BY g.article, g.unit) FROM (SELECT l.article, "
    "l.unit, count(*) AS n, sum(l.quantity) AS q, sum(l.length_mm) AS mm, sum(l.amount_minor) AS amount FROM "
    "hr.pay_lines l WHERE l.tenant = $1 AND l.badge = $2 AND l.shift_day BETWEEN p.f AND p.t GROUP BY l.article, "
    "l.unit) g), '[]'::json), "
    "'gross_minor', (SELECT coalesce(sum(l.amount_minor), 0) FROM hr.pay_lines l WHERE l.tenant = $1 AND l.badge = $2 "
    "AND l.shift_day BETWEEN p.f AND p.t)) FROM " PERIOD;

/* $3: the period YYYY-MM. Hours count clockings whose shift day is in the month; pieces are
 * the lines paid in the period (pay_period), whatever their shift day. */
static const char payslip_sql[] =
    "SELECT json_build_object('badge', $2::text, 'period', $3::text, "
    "'hours', (SELECT json_build_object('clockings', count(*), 'worked_min', coalesce(sum(c.worked_min), 0), "
    "'overtime_min', coalesce(sum(c.overtime_min), 0), 'late_min', coalesce(sum(c.late_min), 0), 'absence_days', "
    "(SELECT count(*) FROM hr.absences a WHERE a.tenant = $1 AND a.badge = $2 AND to_char(a.day, 'YYYY-MM') = $3)) "
    "FROM hr.clockings c WHERE c.tenant = $1 AND c.badge = $2 AND to_char(coalesce(c.shift_day, (c.clock_in AT TIME "
    "ZONE 'UTC')::date), 'YYYY-MM') = $3), "
    "'pieces', coalesce((SELECT json_agg(json_build_object('role', g.role, 'article', g.article, 'grade', g.grade, "
    "'unit', g.unit, 'rate_minor', g.rate_minor, 'lines', g.n, 'quantity', g.q, 'length_mm', g.mm, 'weight_g', g.wg, "
    "'amount_minor', g.amount) ORDER BY g.role DESC, g.article, g.grade NULLS FIRST, g.unit, g.rate_minor) FROM (SELECT "
    "l.role, l.article, l.grade, l.unit, l.rate_minor, count(*) AS n, sum(l.quantity) AS q, sum(l.length_mm) AS mm, "
    "sum(l.weight_g) AS wg, sum(l.amount_minor) AS amount FROM hr.pay_lines l WHERE l.tenant = $1 AND l.badge = $2 AND "
    "l.pay_period = $3 GROUP BY l.role, l.article, l.grade, l.unit, l.rate_minor) g), '[]'::json), "
    "'gross_minor', (SELECT coalesce(sum(l.amount_minor), 0) FROM hr.pay_lines l WHERE l.tenant = $1 AND l.badge = $2 "
    "AND l.pay_period = $3), "
    "'sites', coalesce((SELECT json_agg(json_build_object('site', s.site, 'closed', pp.period IS NOT NULL, "
    "'closed_at', " TS("pp.closed_at") ", 'period_gross_minor', pp.gross_minor) ORDER BY s.site) FROM (SELECT DISTINCT "
    "l.site FROM hr.pay_lines l WHERE l.tenant = $1 AND l.badge = $2 AND l.pay_period = $3) s LEFT JOIN "
    "hr.pay_periods pp ON pp.tenant = $1 AND pp.period = $3 AND pp.site = s.site), '[]'::json)) "
    "WHERE EXISTS (SELECT 1 FROM hr.employees e WHERE e.tenant = $1 AND e.badge = $2)";

static const char rates_sql[] =
    "SELECT json_build_object('article', $2::text, 'rates', json_agg(json_build_object('valid_from', r.valid_from, "
    "'role', r.role, 'grade', nullif(r.grade, ''), 'unit', r.unit, 'rate_minor', r.rate_minor, 'set_by', r.set_by, 'set_at', " TS("r.set_at") ") ORDER BY "
    "r.role DESC, r.grade, r.valid_from)) FROM hr.piece_rates r WHERE r.tenant = $1 AND r.article = $2 HAVING count(*) > 0";

static void run(fofal_worker_t *w, const char *tenant, void *opaque, fofal__read_result_t *res) {
  const params_t *p = opaque;
  static const char *const sql[H_N] = {employee_sql, shift_model_sql, attendance_sql, pay_sql, rates_sql, payslip_sql};
  static const int nparams[H_N] = {3, 2, 5, 5, 2, 3};
  static const char *const what[H_N] = {"employee", "shift model", "employee", "employee", "piece rate", "employee"};
  char err[512], lim[16];
  json_t *rows = NULL;
  snprintf(lim, sizeof lim, "%d", p->route == H_EMPLOYEE ? MAX_SHIFTS : MAX_LINES);
  const char *params[] = {tenant, p->key, p->route == H_EMPLOYEE ? lim : p->from, p->to, lim};
  int rc = fofal__worker_query(w, tenant, sql[p->route], nparams[p->route], params, &rows, err, sizeof err);
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  json_t *r = json_array_get(rows, 0);
  if (!json_is_object(r)) {
    fofal__read_not_found(res, what[p->route]);
    json_decref(rows);
    return;
  }
  res->status = 200;
  res->body = json_incref(r);
  json_decref(rows);
  if (p->route != H_EMPLOYEE && p->route != H_SHIFT_MODEL) return;
  char id[FOFAL_UUID_LEN + 1];
  fofal_aggregate_ref(tenant, p->route == H_EMPLOYEE ? "employee" : "shiftmodel", p->key, id);
  json_object_set_new(res->body, "aggregate", json_string(id));
  /* The model's answer is that aggregate alone, so its version is an ETag; an employee's
   * also holds their assignments' rows. */
  if (p->route == H_SHIFT_MODEL) res->etag = json_integer_value(json_object_get(res->body, "version"));
  else personal_fields(w, tenant, p, res);
}

/* -------------------------------------------------------------- routing */

/* ?from= and ?to= into p (each "" when absent). 0, or -1 with a 400 sent. */
static int period(h2o_req_t *req, params_t *p) {
  const char *names[2] = {"from", "to"};
  char *out[2] = {p->from, p->to};
  int64_t day[2] = {0, 0};
  for (int i = 0; i < 2; i++) {
    const char *v = fofal__query_param(req, names[i]);
    int y, m, d, n = 0;
    if (!v || !*v) continue;
    struct tm tm = {0};
    if (strlen(v) != 10 || sscanf(v, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || y < 1970 || m < 1 || m > 12 ||
        d < 1 || d > 31 ||
        (tm.tm_year = y - 1900, tm.tm_mon = m - 1, tm.tm_mday = d, day[i] = (int64_t)timegm(&tm) / 86400,
                   tm.tm_mday != d)) {
      char detail[96];
      snprintf(detail, sizeof detail, "%s must be a date YYYY-MM-DD", names[i]);
      fofal__send_problem(req, 400, "invalid_date", detail, NULL);
      return -1;
    }
    memcpy(out[i], v, 11);
  }
  if (*p->from && *p->to && (day[1] < day[0] || day[1] - day[0] >= MAX_PERIOD_DAYS)) {
    fofal__send_problem(req, 400, "invalid_period", "the period runs from `from` to `to`, at most 366 days", NULL);
    return -1;
  }
  return 0;
}

static int on_read(h2o_handler_t *self, h2o_req_t *req) {
  fofal_api_t *api = API_OF(self);
  fofal_principal_t who;
  params_t p;
  const char *path = req->path_normalized.base;
  size_t len = req->path_normalized.len;
  static const char base[] = "/api/v1/hr/";
  atomic_fetch_add(&fofal__metrics.requests, 1);
  atomic_fetch_add(&fofal__metrics.reads, 1);
  memset(&p, 0, sizeof p);
  char s1[32], s3[32] = "";
  size_t at = sizeof base - 1;
  p.route = -1;
  if (path[len - 1] != '/' && !fofal__path_segment(path, len, &at, s1, sizeof s1) && at < len &&
      !fofal__path_segment(path, len, &at, p.key, sizeof p.key) &&
      (at == len || (!fofal__path_segment(path, len, &at, s3, sizeof s3) && at == len))) {
    if (!strcmp(s1, "employees"))
      p.route = !*s3                        ? H_EMPLOYEE
                : !strcmp(s3, "attendance")   ? H_ATTENDANCE
                : !strcmp(s3, "pay")          ? H_PAY
                : !strcmp(s3, "payslip")      ? H_PAYSLIP
                                              : -1;
    else if (!*s3 && !strcmp(s1, "shiftmodels")) p.route = H_SHIFT_MODEL;
    else if (!*s3 && !strcmp(s1, "piecerates")) p.route = H_RATES;
  }
  if (p.route < 0) {
    fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
    return 0;
  }
  if (!fofal__get_only(req) || fofal__authenticate(api, req, &who)) return 0;
  /* "Own" is the person's badge, which the sign-in put in the token; never the subject (an
   * account id). */
  int own = routes[p.route].self_note && who.badge[0] && !strcmp(p.key, who.badge);
  if (!own && fofal__read_roles_check(req, &who, routes[p.route].roles, routes[p.route].path + sizeof "/api/v1" - 1))
    return 0;
  if (!fofal_code_valid(p.key)) {
    char d[160];
    snprintf(d, sizeof d, "nothing of this tenant has the code \"%.60s\"", p.key);
    fofal__send_problem(req, 404, "not_found", d, NULL);
    return 0;
  }
  if (routes[p.route].params == 1 && period(req, &p)) return 0;
  if (routes[p.route].params == P_PERIOD) {
    const char *v = fofal__query_param(req, "period");
    char now[32];
    if (!v) { /* the current month (UTC) */
      fofal_time_format(fofal_now_us(), now);
      now[7] = '\0';
      v = now;
    }
    int y, m, n = 0;
    if (strlen(v) != 7 || sscanf(v, "%4d-%2d%n", &y, &m, &n) != 2 || n != 7 || y < 1970 || m < 1 || m > 12) {
      fofal__send_problem(req, 400, "invalid_period", "give ?period= a pay period, a month YYYY-MM", NULL);
      return 0;
    }
    memcpy(p.from, v, 8);
  }
  snprintf(p.role, sizeof p.role, "%s", who.role);
  return fofal__read_serve(api, req, &who, 0, run, &p, sizeof p);
}

/* -------------------------------------------------------------- OpenAPI */

static const char aggregate_desc[] =
    "The aggregate id its code stands for: the subject of its events (audit trail, fofal replay, WebSocket pushes).";

static const char employee_schema[] =
    "{\"type\":\"object\",\"properties\":{\"badge\":{\"type\":\"string\"},\"name\":{\"type\":[\"string\","
    "\"null\"],\"description\":\"\\\"erased\\\" once the employee was erased.\"},\"job\":{},\"registered_at\":{},"
    "\"erased_at\":{\"type\":[\"string\",\"null\"]},\"personal\":{\"type\":\"object\",\"description\":\"Only for "
    "roles hr and admin, and only fields that were given: phone, national_id, bank_account (strings), salary (number); "
    "each reads \\\"erased\\\" once the employee was erased.\"},"
    "\"version\":{\"type\":\"integer\"},\"current_shift\":{\"type\":[\"object\",\"null\"]},\"shifts\":{\"type\":"
    "\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"shift\":{\"type\":\"string\"},\"starts_at\":{},"
    "\"ends_at\":{},\"looms\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}}}}";

static const char shift_model_schema[] =
    "{\"type\":\"object\",\"properties\":{\"model\":{\"type\":\"string\"},\"utc_offset_min\":{\"type\":\"integer\"},"
    "\"shifts\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"code\":{\"type\":\"string\"},"
    "\"start\":{\"type\":\"string\",\"description\":\"Local time HH:MM.\"},\"hours\":{\"type\":\"number\"}}}},"
    "\"working_days\":{\"type\":[\"array\",\"null\"],\"items\":{\"type\":\"integer\"}},\"version\":{\"type\":"
    "\"integer\"},\"defined_at\":{\"type\":\"string\"}}}";

#define MINOR "\"type\":\"integer\",\"description\":\"Integer minor units (millimes for TND).\""

static const char attendance_schema[] =
    "{\"type\":\"object\",\"properties\":{\"badge\":{\"type\":\"string\"},\"from\":{\"type\":\"string\",\"format\":"
    "\"date\"},\"to\":{\"type\":\"string\",\"format\":\"date\"},\"clockings\":{\"type\":\"array\",\"items\":{\"type\":"
    "\"object\",\"properties\":{\"clock_in\":{\"type\":\"string\"},\"clock_out\":{\"type\":[\"string\",\"null\"]},"
    "\"device_in\":{\"type\":\"string\"},\"device_out\":{},\"shift\":{\"type\":[\"string\",\"null\"]},"
    "\"shift_starts_at\":{},\"shift_ends_at\":{},\"late_min\":{\"type\":\"integer\"},\"worked_min\":{\"type\":"
    "[\"integer\",\"null\"]},\"overtime_min\":{\"type\":[\"integer\",\"null\"]},\"early_leave_min\":{\"type\":"
    "[\"integer\",\"null\"]},\"delegated_by\":{\"type\":[\"object\",\"null\"]}}}},\"absences\":{\"type\":\"array\","
    "\"items\":{\"type\":\"object\",\"properties\":{\"day\":{\"type\":\"string\",\"format\":\"date\"},\"reason\":"
    "{\"type\":\"string\"},\"note\":{},\"recorded_by\":{\"type\":\"string\"}}}},\"totals\":{\"type\":\"object\","
    "\"properties\":{\"clockings\":{\"type\":\"integer\"},\"worked_min\":{\"type\":\"integer\"},\"late_min\":"
    "{\"type\":\"integer\"},\"overtime_min\":{\"type\":\"integer\"},\"early_leave_min\":{\"type\":\"integer\"},"
    "\"absence_days\":{\"type\":\"integer\"}}}}}";

static const char pay_schema[] =
    "{\"type\":\"object\",\"properties\":{\"badge\":{\"type\":\"string\"},\"from\":{\"type\":\"string\",\"format\":"
    "\"date\"},\"to\":{\"type\":\"string\",\"format\":\"date\"},\"lines\":{\"type\":\"array\",\"items\":{\"type\":"
    "\"object\",\"properties\":{\"label_id\":{\"type\":\"string\",\"format\":\"uuid\"},\"order_id\":{\"type\":"
    "\"string\",\"format\":\"uuid\"},\"article\":{\"type\":\"string\"},\"shift\":{\"type\":\"string\"},\"woven_at\":"
    "{},\"quantity\":{\"type\":\"integer\"},\"length_mm\":{\"type\":\"integer\"},\"unit\":{\"type\":\"string\","
    "\"enum\":[\"piece\",\"metre\",\"kg\"]},\"rate_minor\":{" MINOR "},\"amount_minor\":{" MINOR "},\"role\":{\"type\":"
    "\"string\",\"enum\":[\"weaver\",\"cutter\"]},\"grade\":{\"type\":[\"string\",\"null\"],\"description\":\"At a "
    "cut: the graded lot's choice (first, second); null for a declaration.\"},\"roll\":{\"type\":[\"string\",\"null\"]},"
    "\"weight_g\":{\"type\":[\"integer\",\"null\"]},\"site\":{\"type\":\"string\"},\"pay_period\":"
    "{\"type\":\"string\",\"description\":\"The month it is paid in (YYYY-MM): its shift's, or the next open one when "
    "that was closed.\"}}}},\"by_article\":"
    "{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"article\":{\"type\":\"string\"},\"unit\":"
    "{\"type\":\"string\"},\"lines\":{\"type\":\"integer\"},\"quantity\":{\"type\":\"integer\"},\"length_mm\":{\"type\":"
    "\"integer\"},\"amount_minor\":{" MINOR "}}}},\"gross_minor\":{" MINOR "}}}";

static const char rates_schema[] =
    "{\"type\":\"object\",\"properties\":{\"article\":{\"type\":\"string\"},\"rates\":{\"type\":\"array\",\"items\":"
    "{\"type\":\"object\",\"properties\":{\"valid_from\":{\"type\":\"string\",\"format\":\"date\"},\"unit\":{\"type\":"
    "\"string\",\"enum\":[\"piece\",\"metre\",\"kg\"]},\"role\":{\"type\":\"string\",\"enum\":[\"weaver\","
    "\"cutter\"]},\"grade\":{\"type\":[\"string\",\"null\"],\"description\":\"null: the role's base rate.\"},"
    "\"rate_minor\":{" MINOR "},\"set_by\":{\"type\":\"string\"},\"set_at\":{\"type\":\"string\"}}}}}}";

static const char payslip_schema[] =
    "{\"type\":\"object\",\"properties\":{\"badge\":{\"type\":\"string\"},\"period\":{\"type\":\"string\"},"
    "\"hours\":{\"type\":\"object\",\"properties\":{\"clockings\":{\"type\":\"integer\"},\"worked_min\":{\"type\":"
    "\"integer\"},\"overtime_min\":{\"type\":\"integer\"},\"late_min\":{\"type\":\"integer\"},\"absence_days\":"
    "{\"type\":\"integer\"}}},\"pieces\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
    "\"role\":{\"type\":\"string\"},\"article\":{\"type\":\"string\"},\"grade\":{\"type\":[\"string\",\"null\"]},"
    "\"unit\":{\"type\":\"string\"},\"rate_minor\":{" MINOR "},\"lines\":{\"type\":\"integer\"},\"quantity\":"
    "{\"type\":\"integer\"},\"length_mm\":{\"type\":\"integer\"},\"weight_g\":{\"type\":[\"integer\",\"null\"]},"
    "\"amount_minor\":{" MINOR "}}}},\"gross_minor\":{" MINOR "},\"sites\":{\"type\":\"array\",\"items\":{\"type\":"
    "\"object\",\"properties\":{\"site\":{\"type\":\"string\"},\"closed\":{\"type\":\"boolean\"},\"closed_at\":"
    "{\"type\":[\"string\",\"null\"]},\"period_gross_minor\":{\"type\":[\"integer\",\"null\"],\"description\":"
    "\"The gross of everyone's pay lines of the site's closed period, which accounting posted.\"}}}}}}";

static void openapi(json_t *paths, json_t *schemas) {
  static const char *const named[][2] = {{"Employee", employee_schema},
                                         {"ShiftModel", shift_model_schema},
                                         {"Attendance", attendance_schema},
                                         {"Pay", pay_schema},
                                         {"PieceRates", rates_schema},
                                         {"Payslip", payslip_schema}};
  for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
    json_t *s = json_loads(named[i][1], 0, NULL);
    if (!s) continue;
    if (i < 2)
      json_object_set_new(json_object_get(s, "properties"), "aggregate",
                          json_pack("{s:s,s:s,s:s}", "type", "string", "format", "uuid", "description", aggregate_desc));
    json_object_set_new(schemas, named[i][0], s);
  }
  static const char *const key[H_N][2] = {
      [H_EMPLOYEE] = {"badge", "Badge, as on the card (W121)."},
      [H_SHIFT_MODEL] = {"model", "The model's name: default."},
      [H_ATTENDANCE] = {"badge", "Badge, as on the card (W121)."},
      [H_PAY] = {"badge", "Badge, as on the card (W121)."},
      [H_RATES] = {"article", "Article code, as in the catalog (FT-200)."},
      [H_PAYSLIP] = {"badge", "Badge, as on the card (W121)."},
  };
  for (int r = 0; r < H_N; r++) {
    const fofal_read_route_t *rt = &routes[r];
    json_t *params = json_array();
    json_array_append_new(params, fofal__openapi_path_param(key[r][0], key[r][1]));
    if (rt->params == P_PERIOD)
      json_array_append_new(params, fofal__openapi_query_param("period", "The pay period, a month YYYY-MM; absent: the current month (UTC).",
                                                               json_pack("{s:s,s:s}", "type", "string", "pattern",
                                                                         "^[0-9]{4}-[0-9]{2}$")));
    if (rt->params == 1) {
      json_array_append_new(params, fofal__openapi_query_param("from", "First day of the period (local date, inclusive); "
                                                               "absent: 30 days before `to`.",
                                                               json_pack("{s:s,s:s}", "type", "string", "format", "date")));
      json_array_append_new(params, fofal__openapi_query_param("to", "Last day of the period (inclusive; at most 366 days "
                                                               "after `from`); absent: today (UTC).",
                                                               json_pack("{s:s,s:s}", "type", "string", "format", "date")));
    }
    char desc[1024], ref[96];
    snprintf(desc, sizeof desc, "%s Roles: %s%s%s. With ?position= (from a command's 201) the read waits (bounded) until "
             "the projection has applied it.", rt->desc, rt->roles, rt->self_note ? "; " : "",
             rt->self_note ? rt->self_note : "");
    snprintf(ref, sizeof ref, "#/components/schemas/%s", rt->schema);
    json_t *op = fofal__openapi_read_op("hr", rt->op_id, rt->summary, desc, params, ref, rt->roles);
    if (r == H_SHIFT_MODEL) fofal__openapi_etag(op);
    json_object_set_new(paths, rt->path, op);
  }
}

/* Which read route shows the aggregate of each hr event (stream_roles.c): an employee's
 * events also reach the person themself. */
static const fofal_push_route_t push_routes[] = {
    {"employee_", "/api/v1/hr/employees/{badge}", 1},
    {"shift_assigned", "/api/v1/hr/employees/{badge}", 1},
    {"clocked_", "/api/v1/hr/employees/{badge}/attendance", 1},
    {"absence_", "/api/v1/hr/employees/{badge}/attendance", 1},
    {"pay_period_", "/api/v1/hr/employees/{badge}/pay", 0},
    {"pay_", "/api/v1/hr/employees/{badge}/pay", 1},
    {"piece_rate_", "/api/v1/hr/piecerates/{article}", 0},
    {"shift_model_", "/api/v1/hr/shiftmodels/{model}", 0},
    {NULL, NULL, 0},
};

const fofal_api_module_t fofal_module_hr_routes = {
    .name = "hr",
    .on_read = on_read,
    .openapi = openapi,
    .push_routes = push_routes,
};
