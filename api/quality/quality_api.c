/*
 * quality_api.c — the quality module's reads: cuts, inspections, lots, non-conformities
 * and their overdue actions.
 *
 *   GET /api/v1/quality/cuts?loom=&limit=&cursor=          cut rolls, oldest cut first
 *   GET /api/v1/quality/cuts/{roll}                        one roll's cut (its graded lots)
 *   GET /api/v1/quality/inspections?lot=&limit=&cursor=    4-point inspections, oldest first
 *   GET /api/v1/quality/inspections/{id}                   one, with its defects and points
 *   GET /api/v1/quality/lots?status=&limit=&cursor=        lots inspected or decided
 *   GET /api/v1/quality/lots/{lot}                         one lot: its status, who signed
 *   GET /api/v1/quality/ncs?status=&limit=&cursor=         non-conformities, oldest first
 *   GET /api/v1/quality/ncs/{id}                           one, with its actions
 *   GET /api/v1/quality/actions/overdue                    actions past due of NCs not closed
 *   GET /api/v1/quality/first-pieces?loom=&limit=          first-piece checks, newest first
 *   GET /api/v1/quality/yields?by=loom|article|weaver|shift  1st-choice share of the pieces cut
 *   GET /api/v1/quality/genealogy/{label}                  from a roll's or a piece lot's label:
 *                                                          its roll, order, loom, weaver, shift,
 *                                                          beams and yarn lots, cut, inspections,
 *                                                          and every NC on the same lots or yarn
 *
 * First-piece checks and the genealogy join other modules' read models (production's
 * first-piece checks, beams; inventory's units): a read may join another module's schema,
 * only its projection writes it.
 *
 * The rows are the quality projection's (schemas/quality/080_quality.sql). Lists are
 * keyset-paginated on (their immutable time, their id): a cursor is "<time>|<id>" as
 * run() made it, base64url. The engine (api/reads.c) runs the queries on a read worker and
 * waits for ?position=. One table (routes[]) gives every route its path, roles,
 * parameters and answer; the handler's role check and the OpenAPI document read it.
 *
 * Threads: the handler runs on the loop thread, run() on a read worker with a copy of
 * params_t; the tables are read-only.
 */
#include "api.h"
#include "quality_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LIMIT 50
#define MAX_LIMIT 200
#define MAX_CURSOR 256
#define OVERDUE_ROWS 500

/* "2026-11-24T08:15:02.123456Z" from a timestamptz column. */
#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

#define CUT_COLS                                                                                                       \
  "json_build_object('roll', c.roll, 'order_id', c.order_id, 'article', c.article, 'loom', c.loom, 'weaver', "         \
  "c.weaver, 'shift', c.shift, 'cutter', c.cutter, 'first_choice', c.first_choice, 'second_choice', c.second_choice, " \
  "'waste_pieces', c.waste_pieces, 'waste_mm', c.waste_mm, 'waste_g', c.waste_g, 'defects', c.defects, 'lots', "       \
  "c.lots, 'note', c.note, 'cut_at', " TS("c.cut_at") ", 'version', c.version)"
#define INSPECTION_COLS                                                                                                \
  "json_build_object('inspection_id', i.inspection_id, 'lot', i.lot, 'lot_kind', i.lot_kind, 'article', i.article, "   \
  "'inspector', i.inspector, 'length_mm', i.length_mm, 'width_mm', i.width_mm, 'defects', i.defects, 'points', "       \
  "i.points, 'score_per_100m2', i.score_per_100m2, 'max_points_per_100m2', i.max_points_per_100m2, 'grade', i.grade, " \
  "'note', i.note, 'inspected_at', " TS("i.inspected_at") ", 'version', i.version)"
#define LOT_COLS                                                                                                       \
  "json_build_object('lot', l.lot, 'lot_kind', l.lot_kind, 'status', l.status, 'grade', l.grade, 'inspection_id', "    \
  "l.inspection_id, 'derogation', l.derogation, 'reason', l.reason, 'location', l.location, 'signed_by', "             \
  "l.signed_by, 'decided_at', " TS("l.decided_at") ", 'created_at', " TS("l.created_at") ", 'version', l.version)"
#define NC_COLS                                                                                                        \
  "json_build_object('nc_id', n.nc_id, 'title', n.title, 'description', n.description, 'source', n.source, "           \
  "'inspection_id', n.inspection_id, 'lots', n.lots, 'looms', n.looms, 'orders', n.orders, 'people', n.people, "       \
  "'status', n.status, 'cause', n.cause, 'category', n.category, 'verification', n.verification, 'opened_by', "        \
  "n.opened_by, 'opened_at', " TS("n.opened_at") ", 'analysed_at', " TS("n.analysed_at") ", 'closed_at', "             \
  TS("n.closed_at") ", 'version', n.version)"
#define ACTION_COLS                                                                                                    \
  "json_build_object('nc_id', a.nc_id, 'action_no', a.action_no, 'kind', a.kind, 'description', a.description, "      \
  "'owner', a.owner, 'due', to_char(a.due, 'YYYY-MM-DD'), 'added_at', " TS("a.added_at") ")"

/* Who reads what. */
#define ROLES_CUTS "cutter quality planner storekeeper_pf manager admin"
#define ROLES_QUALITY "quality cutter planner manager admin"
#define ROLES_LOTS "quality cutter planner storekeeper_pf manager admin"
#define ROLES_NC "quality planner manager admin"

enum { Q_CUTS, Q_CUT, Q_INSPECTIONS, Q_INSPECTION, Q_LOTS, Q_LOT, Q_NCS, Q_NC, Q_OVERDUE, Q_FIRST, Q_GENEALOGY, Q_YIELDS, Q_N };
#define P_PAGE 1   /* limit and cursor */
#define P_FILTER 2 /* the route's filter (filters[]) */
#define P_LIMIT 4  /* limit alone (the newest so many) */

static const fofal_read_route_t routes[Q_N] = {
    [Q_CUTS] = {"/api/v1/quality/cuts", "quality.cuts.list", "Cut rolls.",
                "Oldest cut first, keyset-paginated: pieces of 1st and 2nd choice, waste, defect causes, the graded "
                "lots with their label ids, and the roll's loom, weaver, shift and order.",
                ROLES_CUTS, NULL, P_PAGE | P_FILTER, "CutPage"},
    [Q_CUT] = {"/api/v1/quality/cuts/{roll}", "quality.cuts.get", "One roll's cut.",
               "By the roll's label id; ETag is its version.", ROLES_CUTS, NULL, 0, "Cut"},
    [Q_INSPECTIONS] = {"/api/v1/quality/inspections", "quality.inspections.list", "4-point inspections.",
                       "Oldest first, keyset-paginated: points (at most 4 per linear metre), the score in points per "
                       "100 m², the threshold applied and the grade.",
                       ROLES_QUALITY, NULL, P_PAGE | P_FILTER, "InspectionPage"},
    [Q_INSPECTION] = {"/api/v1/quality/inspections/{id}", "quality.inspections.get", "One inspection.",
                      "With each defect and its points; ETag is its version.", ROLES_QUALITY, NULL, 0, "Inspection"},
    [Q_LOTS] = {"/api/v1/quality/lots", "quality.lots.list", "Lots and their approval.",
                "Lots inspected (pending) or decided (approved, approved_with_derogation, rejected: in quarantine), "
                "first seen first, keyset-paginated.",
                ROLES_LOTS, NULL, P_PAGE | P_FILTER, "LotPage"},
    [Q_LOT] = {"/api/v1/quality/lots/{lot}", "quality.lots.get", "One lot.",
               "Its status, last grade, derogation or reason, location and who signed; ETag is its version.",
               ROLES_LOTS, NULL, 0, "Lot"},
    [Q_NCS] = {"/api/v1/quality/ncs", "quality.ncs.list", "Non-conformities.",
               "Oldest first, keyset-paginated; status open, analysed or closed.", ROLES_NC, NULL, P_PAGE | P_FILTER,
               "NcPage"},
    [Q_NC] = {"/api/v1/quality/ncs/{id}", "quality.ncs.get", "One non-conformity.",
              "What it concerns (lots, looms, orders, people), its cause and 5M category, its actions; ETag is its "
              "version.",
              ROLES_NC, NULL, 0, "Nc"},
    [Q_OVERDUE] = {"/api/v1/quality/actions/overdue", "quality.actions.overdue", "Overdue actions.",
                   "Actions of non-conformities not closed whose due date is before today (UTC), oldest due first, at "
                   "most 500.",
                   ROLES_NC, NULL, 0, "OverdueActions"},
    [Q_FIRST] = {"/api/v1/quality/first-pieces", "quality.first_pieces.list", "First-piece checks.",
                 "The checks after a set-up or a beam change (production's loom.check_first_piece), newest first, at "
                 "most limit (default 50, at most 200); loom= for one loom's.",
                 "quality mechanic planner manager admin", NULL, P_LIMIT | P_FILTER, "FirstPieceChecks"},
    [Q_GENEALOGY] = {"/api/v1/quality/genealogy/{label}", "quality.genealogy.get", "A roll's or a piece's genealogy.",
                     "From a roll's label or a piece lot's label (a customer complaint): the roll, its order, loom, "
                     "weaver, shift and when it was woven (inventory's unit), the beams on its loom then (those not "
                     "doffed before it was woven) and their yarn lots, its cut and piece lots, the inspections of the "
                     "roll and its lots, and every non-conformity naming the roll, one of its piece lots or one of its "
                     "yarn lots.",
                     ROLES_NC, NULL, 0, "Genealogy"},
    [Q_YIELDS] = {"/api/v1/quality/yields", "quality.yields.get", "Yields by grade.",
                  "Rolls cut, pieces of 1st choice, 2nd choice and waste, waste in mm, and the 1st-choice share "
                  "(first ÷ all pieces, 4 decimals; OEE's quality factor), per loom, article, weaver or shift "
                  "(by=, default loom), at most 500 groups.",
                  ROLES_NC, NULL, P_FILTER, "Yields"},
};

/* Each list's filter and keyset: the query parameter, its allowed values (NULL: a code),
 * the JSON members that make the cursor, and the query ($1 tenant, $2 filter, $3/$4 the
 * cursor's time and id, $5 the limit). */
static const char *const lot_statuses[] = {"pending", "approved", "approved_with_derogation", "rejected", NULL};
static const char *const nc_statuses[] = {"open", "analysed", "closed", NULL};
static const char *const yield_keys[] = {"loom", "article", "weaver", "shift", NULL};
static const struct {
  const char *param, *const *values, *at, *id, *sql;
} lists[Q_N] = {
    [Q_CUTS] = {"loom", NULL, "cut_at", "roll",
                "SELECT " CUT_COLS " FROM quality.cuts c WHERE c.tenant = $1 AND ($2::text IS NULL OR c.loom = $2) AND "
                "($3::timestamptz IS NULL OR (c.cut_at, c.roll) > ($3::timestamptz, $4::uuid)) ORDER BY c.cut_at, "
                "c.roll LIMIT $5::int"},
    [Q_INSPECTIONS] = {"lot", NULL, "inspected_at", "inspection_id",
                       "SELECT " INSPECTION_COLS " FROM quality.inspections i WHERE i.tenant = $1 AND ($2::text IS NULL "
                       "OR i.lot = $2) AND ($3::timestamptz IS NULL OR (i.inspected_at, i.inspection_id) > "
                       "($3::timestamptz, $4::uuid)) ORDER BY i.inspected_at, i.inspection_id LIMIT $5::int"},
    [Q_LOTS] = {"status", lot_statuses, "created_at", "lot",
                "SELECT " LOT_COLS " FROM quality.lots l WHERE l.tenant = $1 AND ($2::text IS NULL OR l.status = $2) AND "
                "($3::timestamptz IS NULL OR (l.created_at, l.lot) > ($3::timestamptz, $4::text)) ORDER BY "
                "l.created_at, l.lot LIMIT $5::int"},
    [Q_FIRST] = {"loom", NULL, NULL, NULL, NULL},
    [Q_YIELDS] = {"by", yield_keys, NULL, NULL, NULL},
    [Q_NCS] = {"status", nc_statuses, "opened_at", "nc_id",
               "SELECT " NC_COLS " FROM quality.ncs n WHERE n.tenant = $1 AND ($2::text IS NULL OR n.status = $2) AND "
               "($3::timestamptz IS NULL OR (n.opened_at, n.nc_id) > ($3::timestamptz, $4::uuid)) ORDER BY n.opened_at, "
               "n.nc_id LIMIT $5::int"},
};

/* The files (photos, evidence) attached to a cut, NC or inspection (module files,
 * schemas/files/090_files.sql), newest last, as "files", and the newest attachment's
 * position as "files_seq" (folded into the ETag, then dropped: a new photo changes it). */
#define FILES_OF(kind, target)                                                                                           \
  "jsonb_build_object('files', coalesce((SELECT json_agg(json_build_object('sha256', f.sha256, 'type', f.type, "      \
  "'size', f.size, 'name', coalesce(a.name, f.name), 'attached_at', a.attached_at, 'href', '/api/v1/files/' || "      \
  "f.sha256) ORDER BY a.seq) FROM files.attachments a JOIN files.files f ON f.tenant = a.tenant AND f.file_id = "      \
  "a.file_id WHERE a.tenant = $1 AND a.kind = '" kind "' AND a.target = " target "), '[]'::json), 'files_seq', "      \
  "(SELECT max(a.seq) FROM files.attachments a WHERE a.tenant = $1 AND a.kind = '" kind "' AND a.target = " target   \
  ")) || "

/* One row by its key ($1 tenant, $2 key). */
static const char *const one_sql[Q_N] = {
    [Q_CUT] = "SELECT " FILES_OF("cut", "c.roll") CUT_COLS "::jsonb FROM quality.cuts c WHERE c.tenant = $1 AND c.roll = "
              "$2::uuid",
    [Q_INSPECTION] = "SELECT " FILES_OF("inspection", "i.inspection_id") INSPECTION_COLS
                     "::jsonb FROM quality.inspections i WHERE i.tenant = $1 AND i.inspection_id = $2::uuid",
    [Q_LOT] = "SELECT " LOT_COLS " FROM quality.lots l WHERE l.tenant = $1 AND l.lot = $2",
    [Q_NC] = "SELECT " FILES_OF("nc", "n.nc_id") "jsonb_build_object('actions', coalesce((SELECT json_agg(" ACTION_COLS " ORDER BY a.action_no) FROM "
             "quality.nc_actions a WHERE a.tenant = n.tenant AND a.nc_id = n.nc_id), '[]'::json)) || " NC_COLS
             "::jsonb FROM quality.ncs n WHERE n.tenant = $1 AND n.nc_id = $2::uuid",
};
static const char *const one_what[Q_N] = {[Q_CUT] = "cut", [Q_INSPECTION] = "inspection", [Q_LOT] = "lot", [Q_NC] = "nc"};

typedef struct {
  int route;
  char key[80];      /* the id or code of the path */
  char filter[72];   /* "": none */
  int limit, has_after;
  char after[40], after2[80]; /* decoded cursor: time, id */
} params_t;

/* ------------------------------------------------------------------ run */

static void run_overdue(fofal_worker_t *w, const char *tenant, fofal__read_result_t *res) {
  static const char sql[] =
      "SELECT json_build_object('items', coalesce((SELECT json_agg(x.j ORDER BY x.due, x.nc_id, x.action_no) FROM "
      "(SELECT a.due, a.nc_id, a.action_no, jsonb_build_object('nc_title', n.title, 'nc_status', n.status, "
      "'days_overdue', current_date - a.due) || " ACTION_COLS "::jsonb AS j FROM quality.nc_actions a JOIN quality.ncs n "
      "ON n.tenant = a.tenant AND n.nc_id = a.nc_id WHERE a.tenant = $1 AND n.status <> 'closed' AND a.due < "
      "(now() AT TIME ZONE 'UTC')::date ORDER BY a.due, a.nc_id, a.action_no LIMIT $2::int) x), '[]'::json))";
  char lim[16], err[512];
  json_t *rows = NULL;
  snprintf(lim, sizeof lim, "%d", OVERDUE_ROWS);
  const char *params[] = {tenant, lim};
  int rc = fofal__worker_query(w, tenant, sql, 2, params, &rows, err, sizeof err);
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  res->status = 200;
  res->body = json_incref(json_array_get(rows, 0));
  json_decref(rows);
}

/* One JSON answer of `sql` ($1 tenant, then params): 200 with it, or 404 `what` when the
 * query gives SQL NULL. */
static void run_object(fofal_worker_t *w, const char *tenant, const char *sql, int n, const char *const *params,
                       const char *what, fofal__read_result_t *res) {
  char err[512];
  json_t *rows = NULL;
  int rc = fofal__worker_query(w, tenant, sql, n, params, &rows, err, sizeof err);
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  json_t *r = json_array_get(rows, 0);
  if (!json_is_object(r)) {
    fofal__read_not_found(res, what);
  } else {
    res->status = 200;
    res->body = json_incref(r);
  }
  json_decref(rows);
}

/* The roll: the label itself when it is a woven unit (not one made from another), else the
 * roll whose cut made the piece lot it names, else the roll a subcontractor's return split
 * it from (inventory's units.from_label). Its unit u, the beams b then on its loom and their yarn lots. */
static const char genealogy_sql[] =
    "WITH r AS (SELECT u.label_id AS roll FROM inventory.units u WHERE u.tenant = $1 AND u.label_id = $2::text::uuid AND "
    "u.from_label IS NULL UNION ALL SELECT c.roll FROM quality.cuts c WHERE c.tenant = $1 AND c.lots @> "
    "jsonb_build_array(jsonb_build_object('label_id', $2::text)) UNION ALL SELECT u.from_label FROM inventory.units u "
    "WHERE u.tenant = $1 AND u.label_id = $2::text::uuid AND u.grade IS NULL AND u.from_label IS NOT NULL LIMIT 1), "
    "u AS (SELECT u.* FROM inventory.units u JOIN r ON u.label_id = r.roll WHERE u.tenant = $1), "
    "c AS (SELECT c.* FROM quality.cuts c JOIN r ON c.roll = r.roll WHERE c.tenant = $1), "
    "b AS (SELECT b.beam, b.kind, b.yarn_lots FROM production.beams b, u WHERE b.tenant = $1 AND b.loom = u.loom AND "
    "(b.doffed_at IS NULL OR b.doffed_at >= u.woven_at)), "
    "y AS (SELECT DISTINCT y.lot FROM b, jsonb_array_elements_text(coalesce(b.yarn_lots, '[]'::jsonb)) AS y(lot)), "
    "lots AS (SELECT r.roll::text AS lot FROM r UNION SELECT l->>'label_id' FROM c, jsonb_array_elements(c.lots) l) "
    "SELECT json_build_object('label', $2::text, 'roll', r.roll, "
    "'piece_lot', (SELECT l FROM c, jsonb_array_elements(c.lots) l WHERE l->>'label_id' = $2::text), "
    "'unit', (SELECT json_build_object('order_id', u.order_id, 'article', u.article, 'loom', u.loom, 'weaver', "
    "u.weaver, 'shift', u.shift, 'quantity', u.quantity, 'woven_at', " TS("u.woven_at") ", 'location', u.location) "
    "FROM u), "
    "'beams', coalesce((SELECT json_agg(json_build_object('beam', b.beam, 'kind', b.kind, 'yarn_lots', b.yarn_lots) "
    "ORDER BY b.beam) FROM b), '[]'::json), "
    "'yarn_lots', coalesce((SELECT json_agg(y.lot ORDER BY y.lot) FROM y), '[]'::json), "
    "'cut', (SELECT " CUT_COLS " FROM c), "
    "'inspections', coalesce((SELECT json_agg(" INSPECTION_COLS " ORDER BY i.inspected_at, i.inspection_id) FROM "
    "quality.inspections i WHERE i.tenant = $1 AND i.lot IN (SELECT lot FROM lots)), '[]'::json), "
    "'lots', coalesce((SELECT json_agg(" LOT_COLS " ORDER BY l.created_at, l.lot) FROM quality.lots l WHERE l.tenant = "
    "$1 AND l.lot IN (SELECT lot FROM lots)), '[]'::json), "
    "'ncs', coalesce((SELECT json_agg(" NC_COLS " ORDER BY n.opened_at, n.nc_id) FROM quality.ncs n WHERE n.tenant = "
    "$1 AND (n.lots ?| ARRAY(SELECT lot FROM lots) OR n.lots ?| ARRAY(SELECT lot FROM y))), '[]'::json)) FROM r";

static const char first_pieces_sql[] =
    "SELECT json_build_object('items', coalesce((SELECT json_agg(x.j ORDER BY x.checked_at DESC, x.event_id) FROM "
    "(SELECT f.checked_at, f.event_id, json_build_object('loom', f.loom, 'result', f.result, 'article', f.article, "
    "'inspector', f.inspector, 'checked_by', f.checked_by, 'notes', f.notes, 'checked_at', " TS("f.checked_at") ") AS j "
    "FROM production.first_piece_checks f WHERE f.tenant = $1 AND ($2::text IS NULL OR f.loom = $2) ORDER BY "
    "f.checked_at DESC, f.event_id LIMIT $3::int) x), '[]'::json))";

/* The groups of quality.cuts by $2 (one of yield_keys, checked), each with the share
 * quality_sql.h gives OEE. */
static const char yields_sql[] =
    "SELECT json_build_object('by', $2::text, 'items', coalesce((SELECT json_agg(x.j ORDER BY x.k) FROM (SELECT g.k, "
    "json_build_object('key', g.k, 'rolls', count(*), 'first_choice', sum(g.first_choice), 'second_choice', "
    "sum(g.second_choice), 'waste_pieces', sum(g.waste_pieces), 'waste_mm', sum(g.waste_mm), 'first_share', "
    FOFAL__QUALITY_FIRST_SHARE("c.tenant = $1 AND CASE $2::text WHEN 'article' THEN c.article WHEN 'weaver' THEN "
                               "c.weaver WHEN 'shift' THEN c.shift ELSE c.loom END = g.k")
    ") AS j FROM (SELECT c.*, CASE $2::text WHEN 'article' THEN c.article WHEN 'weaver' THEN c.weaver WHEN 'shift' "
    "THEN c.shift ELSE c.loom END AS k FROM quality.cuts c WHERE c.tenant = $1) g WHERE g.k IS NOT NULL GROUP BY g.k "
    "ORDER BY g.k LIMIT $3::int) x), '[]'::json))";

static void run(fofal_worker_t *w, const char *tenant, void *opaque, fofal__read_result_t *res) {
  const params_t *p = opaque;
  char lim[16], err[512];
  json_t *rows = NULL;
  int rc;
  if (p->route == Q_OVERDUE) {
    run_overdue(w, tenant, res);
    return;
  }
  if (p->route == Q_GENEALOGY) {
    const char *params[] = {tenant, p->key};
    run_object(w, tenant, genealogy_sql, 2, params, "roll or piece lot", res);
    return;
  }
  if (p->route == Q_YIELDS) {
    const char *params[] = {tenant, p->filter[0] ? p->filter : "loom", "500"};
    run_object(w, tenant, yields_sql, 3, params, "yields", res);
    return;
  }
  if (p->route == Q_FIRST) {
    snprintf(lim, sizeof lim, "%d", p->limit);
    const char *params[] = {tenant, p->filter[0] ? p->filter : NULL, lim};
    run_object(w, tenant, first_pieces_sql, 3, params, "first-piece checks", res);
    return;
  }
  if (one_sql[p->route]) {
    const char *params[] = {tenant, p->key};
    rc = fofal__worker_query(w, tenant, one_sql[p->route], 2, params, &rows, err, sizeof err);
    if (rc) {
      fofal__read_fail(res, rc, err, 0);
      return;
    }
    json_t *r = json_array_get(rows, 0);
    if (!json_is_object(r)) {
      fofal__read_not_found(res, one_what[p->route]);
    } else {
      res->status = 200;
      res->body = json_incref(r);
      res->etag = json_integer_value(json_object_get(r, "version"));
      json_t *fs = json_object_get(r, "files_seq");
      if (json_is_integer(fs)) res->etag += (json_integer_value(fs) + 1) << 32; /* a new file: a new ETag */
      json_object_del(r, "files_seq");
    }
    json_decref(rows);
    return;
  }
  snprintf(lim, sizeof lim, "%d", p->limit + 1);
  const char *params[] = {tenant, p->filter[0] ? p->filter : NULL, p->has_after ? p->after : NULL,
                          p->has_after ? p->after2 : NULL, lim};
  rc = fofal__worker_query(w, tenant, lists[p->route].sql, 5, params, &rows, err, sizeof err);
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  json_t *next = json_null();
  if (json_array_size(rows) > (size_t)p->limit) {
    json_array_remove(rows, (size_t)p->limit);
    const json_t *last = json_array_get(rows, (size_t)p->limit - 1);
    const char *at = json_string_value(json_object_get(last, lists[p->route].at));
    const char *id = json_string_value(json_object_get(last, lists[p->route].id));
    char raw[160];
    snprintf(raw, sizeof raw, "%s|%s", at ? at : "", id ? id : "");
    size_t n = strlen(raw);
    char *c = fofal_malloc(h2o_base64_encode_capacity(n));
    h2o_base64_encode(c, raw, n, 1);
    next = json_string(c);
    free(c);
  }
  res->status = 200;
  res->body = json_pack("{s:o,s:o}", "items", rows, "next_cursor", next);
}

/* -------------------------------------------------------------- routing */

/* The route of the path below /api/v1/quality/ (p->key set), or -1 for none. */
static int match(const char *path, size_t len, params_t *p) {
  static const char base[] = "/api/v1/quality/";
  static const struct {
    const char *segment;
    int list, one;
  } kinds[] = {{"cuts", Q_CUTS, Q_CUT}, {"inspections", Q_INSPECTIONS, Q_INSPECTION}, {"lots", Q_LOTS, Q_LOT},
               {"ncs", Q_NCS, Q_NC}};
  char s1[32], s2[32];
  size_t at = sizeof base - 1;
  if (path[len - 1] == '/' || fofal__path_segment(path, len, &at, s1, sizeof s1)) return -1;
  if (!strcmp(s1, "actions"))
    return !fofal__path_segment(path, len, &at, s2, sizeof s2) && at == len && !strcmp(s2, "overdue") ? Q_OVERDUE : -1;
  if (!strcmp(s1, "first-pieces")) return at == len ? Q_FIRST : -1;
  if (!strcmp(s1, "yields")) return at == len ? Q_YIELDS : -1;
  if (!strcmp(s1, "genealogy"))
    return !fofal__path_segment(path, len, &at, p->key, sizeof p->key) && at == len ? Q_GENEALOGY : -1;
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
    if (strcmp(s1, kinds[k].segment)) continue;
    if (at == len) return kinds[k].list;
    if (!fofal__path_segment(path, len, &at, p->key, sizeof p->key) && at == len) return kinds[k].one;
  }
  return -1;
}

/* The route's filter, ?limit= and ?cursor= into *p: 0, or FOFAL_EINVAL with *e. */
static int parse(h2o_req_t *req, params_t *p, fofal__perr_t *e) {
  const char *s;
  if ((routes[p->route].params & P_FILTER) && (s = fofal__param(req, lists[p->route].param))) {
    const char *const *values = lists[p->route].values;
    int found = !values && fofal__valid_name(s, 64);
    for (int i = 0; values && values[i]; i++) found |= !strcmp(values[i], s);
    if (!found)
      return fofal__perr(e, 400, "invalid_parameter", "%s is not one this list takes (see the OpenAPI document)",
                         lists[p->route].param);
    snprintf(p->filter, sizeof p->filter, "%s", s);
  }
  if (!(routes[p->route].params & (P_PAGE | P_LIMIT))) return 0;
  int rc = fofal__parse_limit(req, DEFAULT_LIMIT, MAX_LIMIT, &p->limit, e);
  if (rc || !(routes[p->route].params & P_PAGE)) return rc;
  if ((s = fofal__param(req, "cursor"))) {
    /* "<time>|<id>", as run() made it: a forged one is a 400. */
    char raw[160];
    int64_t us;
    char *bar = NULL;
    if (!fofal__decode_cursor(req, s, MAX_CURSOR, raw, sizeof raw)) bar = strchr(raw, '|');
    if (bar) *bar = '\0';
    if (!bar || fofal_time_parse(raw, &us) || !fofal_code_valid(bar + 1) ||
        (p->route != Q_LOTS && !fofal_uuid_valid(bar + 1)))
      return fofal__perr(e, 400, "malformed_cursor", "cursor must be a next_cursor returned by this endpoint%s", "");
    fofal_time_format(us, p->after);
    snprintf(p->after2, sizeof p->after2, "%s", bar + 1);
    p->has_after = 1;
  }
  return 0;
}

static int on_read(h2o_handler_t *self, h2o_req_t *req) {
  fofal_api_t *api = API_OF(self);
  fofal_principal_t who;
  fofal__perr_t e = {0};
  params_t p;
  atomic_fetch_add(&fofal__metrics.requests, 1);
  atomic_fetch_add(&fofal__metrics.reads, 1);
  memset(&p, 0, sizeof p);
  p.route = match(req->path_normalized.base, req->path_normalized.len, &p);
  if (p.route < 0) {
    fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
    return 0;
  }
  if (!fofal__get_only(req) || fofal__authenticate(api, req, &who) ||
      fofal__read_roles_check(req, &who, routes[p.route].roles, routes[p.route].path + sizeof "/api/v1" - 1))
    return 0;
  if ((one_sql[p.route] || p.route == Q_GENEALOGY) &&
      (p.route == Q_LOT ? !fofal_code_valid(p.key) : !fofal_uuid_valid(p.key))) {
    char detail[80];
    snprintf(detail, sizeof detail, "no %s of this tenant has this id", p.route == Q_GENEALOGY ? "label" : one_what[p.route]);
    fofal__send_problem(req, 404, "not_found", detail, NULL);
    return 0;
  }
  if (parse(req, &p, &e)) {
    fofal__send_problem(req, e.status, e.code, e.detail, NULL);
    return 0;
  }
  return fofal__read_serve(api, req, &who, 0, run, &p, sizeof p);
}

/* -------------------------------------------------------------- OpenAPI */

static const struct {
  const char *name, *json;
} schemas_json[] = {
    {"Cut",
     "{\"type\":\"object\",\"properties\":{\"roll\":{\"type\":\"string\",\"format\":\"uuid\"},\"order_id\":{},"
     "\"article\":{},\"loom\":{},\"weaver\":{},\"shift\":{},\"cutter\":{},\"first_choice\":{\"type\":\"integer\"},"
     "\"second_choice\":{\"type\":\"integer\"},\"waste_pieces\":{\"type\":\"integer\"},\"waste_mm\":{},\"waste_g\":{},"
     "\"defects\":{},\"lots\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"label_id\":{\"type\":"
     "\"string\",\"format\":\"uuid\"},\"grade\":{\"enum\":[\"first\",\"second\"]},\"pieces\":{\"type\":\"integer\"}}}},"
     "\"note\":{},\"cut_at\":{\"type\":\"string\"},\"files\":{\"type\":\"array\",\"description\":\"Only in the single read: its photos and evidence (POST /api/v1/files/upload), each with its href.\"},\"version\":{\"type\":\"integer\"}}}"},
    {"Inspection",
     "{\"type\":\"object\",\"properties\":{\"inspection_id\":{\"type\":\"string\",\"format\":\"uuid\"},\"lot\":{\"type\":"
     "\"string\"},\"lot_kind\":{\"enum\":[\"roll\",\"pieces\",\"yarn\"]},\"article\":{},\"inspector\":{},\"length_mm\":"
     "{\"type\":\"integer\"},\"width_mm\":{\"type\":\"integer\"},\"defects\":{},\"points\":{\"type\":\"integer\"},"
     "\"score_per_100m2\":{\"type\":\"number\",\"description\":\"Points per 100 m\\u00b2, two decimals.\"},"
     "\"max_points_per_100m2\":{\"type\":\"integer\"},\"grade\":{\"enum\":[\"first\",\"second\"]},\"note\":{},"
     "\"inspected_at\":{\"type\":\"string\"},\"files\":{\"type\":\"array\",\"description\":\"Only in the single read: its photos and evidence (POST /api/v1/files/upload), each with its href.\"},\"version\":{\"type\":\"integer\"}}}"},
    {"Lot",
     "{\"type\":\"object\",\"properties\":{\"lot\":{\"type\":\"string\"},\"lot_kind\":{\"enum\":[\"roll\",\"pieces\","
     "\"yarn\"]},\"status\":{\"enum\":[\"pending\",\"approved\",\"approved_with_derogation\",\"rejected\"]},\"grade\":{},"
     "\"inspection_id\":{},\"derogation\":{},\"reason\":{},\"location\":{},\"signed_by\":{},\"decided_at\":{},"
     "\"created_at\":{\"type\":\"string\"},\"version\":{\"type\":\"integer\"}}}"},
    {"Nc",
     "{\"type\":\"object\",\"properties\":{\"nc_id\":{\"type\":\"string\",\"format\":\"uuid\"},\"title\":{\"type\":"
     "\"string\"},\"description\":{},\"source\":{\"enum\":[\"inspection\",\"cut\",\"customer_return\",\"subcontracting\",\"manual\"]},"
     "\"inspection_id\":{},\"lots\":{},\"looms\":{},\"orders\":{},\"people\":{},\"status\":{\"enum\":[\"open\","
     "\"analysed\",\"closed\"]},\"cause\":{},\"category\":{},\"verification\":{},\"opened_by\":{\"type\":\"string\"},"
     "\"opened_at\":{\"type\":\"string\"},\"analysed_at\":{},\"files\":{\"type\":\"array\",\"description\":\"Only in the single read: its photos and evidence (POST /api/v1/files/upload), each with its href.\"},\"closed_at\":{},\"version\":{\"type\":\"integer\"},"
     "\"actions\":{\"type\":\"array\",\"description\":\"Only in GET /api/v1/quality/ncs/{id}.\",\"items\":{\"$ref\":"
     "\"#/components/schemas/NcAction\"}}}}"},
    {"NcAction",
     "{\"type\":\"object\",\"properties\":{\"nc_id\":{\"type\":\"string\",\"format\":\"uuid\"},\"action_no\":{\"type\":"
     "\"integer\"},\"kind\":{\"enum\":[\"corrective\",\"preventive\"]},\"description\":{\"type\":\"string\"},\"owner\":"
     "{\"type\":\"string\"},\"due\":{\"type\":\"string\",\"format\":\"date\"},\"added_at\":{\"type\":\"string\"},"
     "\"nc_title\":{},\"nc_status\":{},\"days_overdue\":{\"type\":\"integer\"}}}"},
    {"FirstPieceChecks",
     "{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
     "\"loom\":{\"type\":\"string\"},\"result\":{\"type\":\"string\"},\"article\":{},\"inspector\":{},\"checked_by\":{},"
     "\"notes\":{},\"checked_at\":{\"type\":\"string\"}}}}}}"},
    {"Genealogy",
     "{\"type\":\"object\",\"properties\":{\"label\":{\"type\":\"string\",\"format\":\"uuid\"},\"roll\":{\"type\":"
     "\"string\",\"format\":\"uuid\"},\"piece_lot\":{\"description\":\"When the label is a piece lot's: its grade and "
     "pieces.\"},\"unit\":{\"type\":[\"object\",\"null\"],\"properties\":{\"order_id\":{},\"article\":{},\"loom\":{},"
     "\"weaver\":{},\"shift\":{},\"quantity\":{},\"woven_at\":{},\"location\":{}}},\"beams\":{\"type\":\"array\"},"
     "\"yarn_lots\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},\"cut\":{\"oneOf\":[{\"$ref\":"
     "\"#/components/schemas/Cut\"},{\"type\":\"null\"}]},\"inspections\":{\"type\":\"array\",\"items\":{\"$ref\":"
     "\"#/components/schemas/Inspection\"}},\"lots\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/"
     "Lot\"}},\"ncs\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Nc\"}}}}"},
    {"Yields",
     "{\"type\":\"object\",\"properties\":{\"by\":{\"enum\":[\"loom\",\"article\",\"weaver\",\"shift\"]},\"items\":{"
     "\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"key\":{\"type\":\"string\"},\"rolls\":{"
     "\"type\":\"integer\"},\"first_choice\":{\"type\":\"integer\"},\"second_choice\":{\"type\":\"integer\"},"
     "\"waste_pieces\":{\"type\":\"integer\"},\"waste_mm\":{},\"first_share\":{\"type\":[\"number\",\"null\"]}}}}}}"},
    {"OverdueActions",
     "{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/"
     "NcAction\"}}}}"},
};

static void openapi(json_t *paths, json_t *schemas) {
  for (size_t i = 0; i < sizeof schemas_json / sizeof schemas_json[0]; i++) {
    json_t *s = json_loads(schemas_json[i].json, 0, NULL);
    if (s) json_object_set_new(schemas, schemas_json[i].name, s);
  }
  json_object_set_new(schemas, "CutPage", fofal__openapi_page("#/components/schemas/Cut"));
  json_object_set_new(schemas, "InspectionPage", fofal__openapi_page("#/components/schemas/Inspection"));
  json_object_set_new(schemas, "LotPage", fofal__openapi_page("#/components/schemas/Lot"));
  json_object_set_new(schemas, "NcPage", fofal__openapi_page("#/components/schemas/Nc"));
  static const char *const keys[Q_N][2] = {[Q_CUT] = {"roll", "The roll's label id (UUID)."},
                                           [Q_INSPECTION] = {"id", "Inspection id (UUID)."},
                                           [Q_LOT] = {"lot", "Lot: a roll's or piece lot's label id, a yarn lot's code."},
                                           [Q_NC] = {"id", "Non-conformity id (UUID)."},
                                           [Q_GENEALOGY] = {"label", "A roll's or a piece lot's label id (UUID)."}};
  for (int r = 0; r < Q_N; r++) {
    const fofal_read_route_t *rt = &routes[r];
    json_t *params = json_array();
    if (keys[r][0]) json_array_append_new(params, fofal__openapi_path_param(keys[r][0], keys[r][1]));
    if (rt->params & P_FILTER) {
      json_t *schema = json_pack("{s:s}", "type", "string");
      const char *const *values = lists[r].values;
      if (values) {
        json_t *en = json_array();
        for (int i = 0; values[i]; i++) json_array_append_new(en, json_string(values[i]));
        json_object_set_new(schema, "enum", en);
      }
      char desc[96];
      if (r == Q_YIELDS) snprintf(desc, sizeof desc, "Group by loom (default), article, weaver or shift.");
      else snprintf(desc, sizeof desc, "Only those with this %s.", lists[r].param);
      json_array_append_new(params, fofal__openapi_query_param(lists[r].param, desc, schema));
    }
    if (rt->params & (P_PAGE | P_LIMIT))
      json_array_append_new(params, json_pack("{s:s}", "$ref", "#/components/parameters/Limit"));
    if (rt->params & P_PAGE)
      json_array_append_new(params, json_pack("{s:s}", "$ref", "#/components/parameters/Cursor"));
    char desc[1024], ref[96];
    snprintf(desc, sizeof desc,
             "%s Roles: %s. With ?position= (from a command's 201) the read waits (bounded) until the projection has "
             "applied it.",
             rt->desc, rt->roles);
    snprintf(ref, sizeof ref, "#/components/schemas/%s", rt->schema);
    json_t *op = fofal__openapi_read_op("quality", rt->op_id, rt->summary, desc, params, ref, rt->roles);
    if (one_sql[r]) fofal__openapi_etag(op);
    json_object_set_new(paths, rt->path, op);
  }
}

/* Which read route shows the aggregate of each quality event: its roles receive the push
 * (stream_roles.c). A threshold is an article's: shown with the inspections it grades. */
static const fofal_push_route_t push_routes[] = {
    {"roll_cut", "/api/v1/quality/cuts/{roll}", 0},
    {"threshold_", "/api/v1/quality/inspections", 0},
    {"inspection_", "/api/v1/quality/inspections/{id}", 0},
    {"lot_", "/api/v1/quality/lots/{lot}", 0},
    {"nc_", "/api/v1/quality/ncs/{id}", 0},
    {NULL, NULL, 0},
};

const fofal_api_module_t fofal_module_quality_routes = {
    .name = "quality",
    .on_read = on_read,
    .openapi = openapi,
    .push_routes = push_routes,
};
