/*
 * stores_api.c — private to api/inventory/: the storekeepers' reads (inventory_api.c hands
 * them every path below /api/v1/inventory/ that is not a label's).
 *
 *   GET /api/v1/inventory/locations                       warehouses and bins
 *   GET /api/v1/inventory/alerts                          stock below its minimum, and the minimums
 *   GET /api/v1/inventory/stock?location=&item=&holding=&as_of=
 *                                                         what is where (now, or as of an instant)
 *   GET /api/v1/inventory/movements?location=&item=&holding=
 *                                                         the ledger, newest first
 *   GET /api/v1/inventory/lots/{code}                     a yarn lot: item, supplier lot, stock, issues to beams
 *   GET /api/v1/inventory/containers/{id}                 a carton or pallet and what it holds (packing list)
 *   GET /api/v1/inventory/containers/{id}/label.zpl, /qr.png
 *                                                         its label: a pallet's carries its SSCC as a
 *                                                         GS1-128 barcode, (00) and the SSCC, and a QR code
 *   GET /api/v1/inventory/lots/{code}/label.zpl, /qr.png, /qr.svg
 *                                                         a yarn lot's label: its QR code (FOFAL:Y:<tenant>:<code>),
 *                                                         item, supplier lot, grams, cones
 *   GET /api/v1/inventory/counts/{id}                     a count and its lines with variances
 *   GET /api/v1/inventory/picks?status=, /picks/{id}      pick lists (yarn prepared for an order's warping)
 *   GET /api/v1/inventory/scan/{code}                     any QR: what it is (lot, roll, pieces, carton,
 *                                                         pallet), where, its recent ledger, links to its reads
 *   GET /api/v1/inventory/genealogy/{id}                  down from a pallet, carton or unit (UUID) to
 *                                                         the looms, weavers, beams and yarn lots; up
 *                                                         from a yarn lot (its code) to every roll,
 *                                                         carton and pallet that holds it, and where
 *
 * Genealogy. The links are inventory's own rows — a unit's carton, a carton's pallet, the
 * beams a unit was woven from (its declaration's, carried by unit_received), the lots
 * issued to a beam (lot_issues) — and production's record of the lots a beam was warped
 * from (production.beams.yarn_lots, a read across modules): one statement each way, on
 * indexes (units by carton and by beam, GIN on units.beams), whatever the depth.
 *
 * Stock as of an instant. The stock now is the projection's stock rows; as of a past
 * instant it is the sum of the ledger (movements) whose occurred_at — when the thing
 * happened, which an offline phone gives — is at or before it. Nothing is reposted: a
 * movement recorded late for an earlier time changes the answer for the times after it.
 *
 * Variances. An open count's lines are its counted holdings joined with the location's
 * stock now (book), so one a phone has not scanned yet shows with counted null; a closed
 * count's are what its close adjusted (book, counted, delta).
 *
 * Threads: the handler runs on the loop thread, run() on a read worker with a copy of
 * params_t; the routes table is read-only.
 */
#include "api.h"
#include "inventory.h"
#include "labels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define MAX_ROWS 1000 /* holdings or movements in one answer; more sets "truncated" */

#define ROLES_STOCK "storekeeper_mp storekeeper_pf storekeeper_st planner quality manager accountant auditor admin"
#define ROLES_COUNT "storekeeper_mp storekeeper_pf storekeeper_st manager auditor admin"

enum { S_ALERTS, S_LOCATIONS, S_STOCK, S_MOVEMENTS, S_LOT, S_CONTAINER, S_COUNT, S_GENEALOGY, S_CONTAINER_ZPL, S_CONTAINER_PNG,
       S_PICKS, S_PICK, S_SCAN, S_LOT_ZPL, S_LOT_PNG, S_LOT_SVG, S_N };
#define IS_LOT(r) ((r) == S_LOT || (r) == S_LOT_ZPL || (r) == S_LOT_PNG || (r) == S_LOT_SVG)
#define IS_CONTAINER(r) ((r) == S_CONTAINER || (r) == S_CONTAINER_ZPL || (r) == S_CONTAINER_PNG)
#define P_FILTERS 1 /* location, item, holding */
#define P_AS_OF 2
#define P_STATUS 4 /* ?status= of pick lists */

static const fofal_read_route_t routes[S_N] = {
    [S_ALERTS] = {"/api/v1/inventory/alerts", "inventory.alerts.list", "Stock below its minimum, and back.",
                  "The alerts, newest first (at most 1000): kind below (stock_below_minimum) or restored (stock_restored: "
                  "back at its minimum or above, or the minimum lowered or removed), and every minimum set per item and "
                  "location (inventory.location.set_minimum).",
                  ROLES_STOCK, NULL, 0, "Alerts"},
    [S_LOCATIONS] = {"/api/v1/inventory/locations", "inventory.locations.list", "Locations (warehouses and bins).",
                     "Every location of the tenant by code: its kind (raw, finished, floor, quarantine, subcontractor).",
                     ROLES_STOCK, NULL, 0, "Locations"},
    [S_STOCK] = {"/api/v1/inventory/stock", "inventory.stock.get", "Stock by location, item and holding.",
                 "Each holding (a yarn lot in grams, a unit in pieces) with its quantity at each location, and the totals "
                 "per item and location; now, or with as_of the stock at that past instant summed from the ledger by when "
                 "things happened. At most 1000 holdings (truncated says when there were more).",
                 ROLES_STOCK, NULL, P_FILTERS | P_AS_OF, "Stock"},
    [S_MOVEMENTS] = {"/api/v1/inventory/movements", "inventory.movements.list", "The stock ledger.",
                     "Every change of a location's stock (received, issued, moved_in, moved_out, returned, count), newest "
                     "first, "
                     "with when it happened and when it was recorded; at most 1000.",
                     ROLES_STOCK, NULL, P_FILTERS, "Movements"},
    [S_LOT] = {"/api/v1/inventory/lots/{code}", "inventory.lots.get", "A yarn lot (the scan of its label).",
               "Its item (from the catalog), supplier lot, grams received, left, reserved and returned, cones, where it "
               "is, and every issue "
               "to a warping (beam, order, grams, when).",
               ROLES_STOCK, NULL, 0, "Lot"},
    [S_CONTAINER] = {"/api/v1/inventory/containers/{id}", "inventory.containers.get", "A carton or a pallet.",
                     "A pallet (SSCC, its cartons and their units) or a carton (its pallet, its units): the packing list, "
                     "each unit with its article, order, loom, weaver, shift and when it was woven.",
                     ROLES_STOCK, NULL, 0, "Container"},
    [S_COUNT] = {"/api/v1/inventory/counts/{id}", "inventory.counts.get", "A stock count and its variances.",
                 "Open: each holding counted or in the location's book, with book (stock now), counted (null: not "
                 "scanned yet) and variance. Closed: what the close adjusted (book, counted, delta) and its reason.",
                 ROLES_COUNT, NULL, 0, "Count"},
    [S_GENEALOGY] = {"/api/v1/inventory/genealogy/{id}", "inventory.genealogy.get", "Genealogy, both ways.",
                     "Down, for a pallet, carton or unit (its UUID): every unit it holds with its carton, order, loom, "
                     "weaver, shift and when woven, the beams it was woven from and, for each, the yarn lots issued to it "
                     "or it was warped from (supplier lot, item, grams). Up, for a yarn lot (its code): the beams it went "
                     "into, every unit woven from them, the cartons and pallets that hold those, each with where it is now.",
                     ROLES_STOCK, NULL, 0, "Genealogy"},
    [S_CONTAINER_ZPL] = {"/api/v1/inventory/containers/{id}/label.zpl", "inventory.containers.zpl",
                         "A pallet's or carton's label for a Zebra printer (ZPL II).",
                         "A pallet's: its SSCC-18 as a GS1-128 barcode (AI 00) with the text under it, its cartons, "
                         "pieces and location, and a QR code of its id (FOFAL:L:<tenant>:<id>); a carton's: the QR code, "
                         "its units, pieces and pallet. Fetching it prints nothing and records nothing.",
                         ROLES_STOCK, NULL, 0, NULL},
    [S_CONTAINER_PNG] = {"/api/v1/inventory/containers/{id}/qr.png", "inventory.containers.qr_png",
                         "A pallet's or carton's QR code (PNG).",
                         "The QR code of its label (FOFAL:L:<tenant>:<id>; error correction M, 8 px a module), 1-bit PNG.",
                         ROLES_STOCK, NULL, 0, NULL},
    [S_PICKS] = {"/api/v1/inventory/picks", "inventory.picks.list", "Pick lists.",
                 "Pick lists (yarn prepared for an order's warping), newest first, at most 1000; ?status=open, issued or cancelled.",
                 ROLES_STOCK, NULL, P_STATUS, "Picks"},
    [S_PICK] = {"/api/v1/inventory/picks/{id}", "inventory.picks.get", "A pick list.",
                "Its order, beam and status, and each line: the lot, grams asked, reserved by the pick, picked (null: not "
                "scanned yet), by whom and when, where the lot was when the list was made and where it is now, grams left.",
                ROLES_STOCK, NULL, 0, "Pick"},
    [S_SCAN] = {"/api/v1/inventory/scan/{code}", "inventory.scan", "Scan any QR code.",
                "What a scanned code is — a yarn lot (its code, or its label's FOFAL:Y:<tenant>:<code>), a roll or pieces "
                "(a unit's label id or FOFAL:L:<tenant>:<id>), a carton or a pallet (its id, its SSCC-18 or (00)+SSCC) — "
                "where it is, what it is about, its last 20 movements of the ledger (a container's: its units') and "
                "links to its detailed reads (self, genealogy, label).",
                ROLES_STOCK, NULL, 0, "Scan"},
    [S_LOT_ZPL] = {"/api/v1/inventory/lots/{code}/label.zpl", "inventory.lots.zpl", "A yarn lot's label (ZPL II).",
                   "A 4×2 inch label at 203 dpi: its QR code (FOFAL:Y:<tenant>:<code>), the lot code, item, supplier lot, "
                   "grams received and cones, when received; data ^FH-escaped. Fetching it prints nothing.",
                   ROLES_STOCK, NULL, 0, NULL},
    [S_LOT_PNG] = {"/api/v1/inventory/lots/{code}/qr.png", "inventory.lots.qr_png", "A yarn lot's QR code (PNG).",
                   "The QR code of its label (FOFAL:Y:<tenant>:<code>; error correction M, 8 px a module), 1-bit PNG.",
                   ROLES_STOCK, NULL, 0, NULL},
    [S_LOT_SVG] = {"/api/v1/inventory/lots/{code}/qr.svg", "inventory.lots.qr_svg", "A yarn lot's QR code (SVG).",
                   "The same QR code as qr.png, as SVG (for phones).", ROLES_STOCK, NULL, 0, NULL},
};

typedef struct {
  int route;
  char key[128];                    /* the code or id of the path (a scan's: a whole QR payload) */
  char location[65], item[65], holding[65];
  char as_of[40];                   /* RFC 3339, checked; "" for now */
  char status[16];                  /* pick lists: "open", "issued", "cancelled" or "" */
} params_t;

/* ------------------------------------------------------------------ SQL
 * The genealogy statements are in genealogy_sql.c (ops/bench genealogy times them). */

static const char alerts_sql[] =
    "SELECT json_build_object('items', coalesce((SELECT json_agg(a ORDER BY a.recorded_at DESC) FROM (SELECT kind, location, "
    "item, on_hand, minimum, " TS("occurred_at") " occurred_at, " TS("recorded_at") " recorded_at FROM inventory.alerts WHERE tenant = $1 "
    "ORDER BY recorded_at DESC LIMIT 1000) a), '[]'::json), 'minimums', coalesce((SELECT json_agg(json_build_object("
    "'location', location, 'item', item, 'minimum', minimum) ORDER BY location, item) FROM inventory.minimums WHERE "
    "tenant = $1), '[]'::json))";

static const char locations_sql[] =
    "SELECT json_build_object('location', location, 'kind', kind, 'name', name, 'version', version, 'defined_at', "
    TS("defined_at") ") FROM inventory.locations WHERE tenant = $1 ORDER BY location LIMIT 1001";

/* h: the holdings ($2 location, $3 item, $4 holding or NULL); then the answer. */
#define STOCK_ANSWER                                                                                                   \
  "SELECT json_build_object('holdings', coalesce((SELECT json_agg(json_build_object('location', location, 'holding', " \
  "holding, 'holding_id', holding_id, 'kind', kind, 'item', item, 'quantity', quantity, 'unit', CASE kind WHEN 'lot' " \
  "THEN 'g' ELSE 'pieces' END) ORDER BY location, item, holding) FROM (SELECT * FROM h ORDER BY location, item, "       \
  "holding LIMIT 1000) x), '[]'::json), 'totals', coalesce((SELECT json_agg(json_build_object('item', item, 'kind', "  \
  "kind, 'location', location, 'quantity', q, 'in_units', CASE kind WHEN 'lot' THEN catalog_units.in_units($1, item, q::bigint) "\
  "ELSE '[]'::json END, 'holdings', n) ORDER BY item, location) FROM (SELECT item, kind, "                             \
  "location, sum(quantity) q, count(*) n FROM h GROUP BY item, kind, location) t), '[]'::json), 'truncated', "         \
  "(SELECT count(*) > 1000 FROM h))"
#define FILTERS "($2::text IS NULL OR location = $2) AND ($3::text IS NULL OR item = $3) AND ($4::text IS NULL OR holding = $4)"

static const char stock_now_sql[] = "WITH h AS (SELECT location, holding, holding_id, kind, item, quantity FROM "
                                    "inventory.stock WHERE tenant = $1 AND " FILTERS ") " STOCK_ANSWER;

static const char stock_as_of_sql[] =
    "WITH h AS (SELECT location, min(holding) holding, holding_id, min(kind) kind, min(item) item, sum(delta) quantity "
    "FROM inventory.movements WHERE tenant = $1 AND " FILTERS " AND occurred_at <= $5::timestamptz GROUP BY location, "
    "holding_id HAVING sum(delta) <> 0) " STOCK_ANSWER;

static const char movements_sql[] =
    "SELECT json_build_object('location', location, 'holding', holding, 'holding_id', holding_id, 'kind', kind, 'item', "
    "item, 'delta', delta, 'cause', cause, 'actor', actor, 'occurred_at', " TS("occurred_at") ", 'recorded_at', "
    TS("recorded_at") ") FROM inventory.movements WHERE tenant = $1 AND " FILTERS
    " ORDER BY occurred_at DESC, event_id DESC LIMIT 1001";

static const char lot_sql[] =
    "SELECT json_build_object('lot', l.lot, 'item', json_build_object('item', l.item, 'kind', i.kind, 'name', i.name, "
    "'yarn_count', i.yarn_count, 'material', i.material, 'colour', i.colour, 'supplier_ref', i.supplier_ref), "
    "'supplier_lot', l.supplier_lot, 'received_g', l.received_g, 'weight_g', l.weight_g, 'reserved_g', l.reserved_g, "
    "'returned_g', l.returned_g, 'in_units', catalog_units.in_units(l.tenant, l.item, l.weight_g), 'cones', l.cones, 'location', "
    "l.location, 'purchase_order', l.purchase_order, 'received_at', " TS("l.received_at") ", 'recorded_at', "
    TS("l.recorded_at") ", 'version', l.version, 'issues', coalesce((SELECT json_agg(json_build_object('beam', x.beam, "
    "'order_id', x.order_id, 'weight_g', x.weight_g, 'location', x.location, 'occurred_at', " TS("x.occurred_at") ") "
    "ORDER BY x.occurred_at, x.event_id) FROM inventory.lot_issues x WHERE x.tenant = l.tenant AND x.lot = l.lot), "
    "'[]'::json)) FROM inventory.lots l LEFT JOIN catalog.items i ON i.tenant = l.tenant AND i.item = l.item "
    "WHERE l.tenant = $1 AND l.lot = $2";

/* The units of carton c (alias) as a JSON array. */
#define UNITS_OF(c)                                                                                                    \
  "coalesce((SELECT json_agg(json_build_object('label_id', u.label_id, 'article', u.article, 'quantity', u.quantity, " \
  "'order_id', u.order_id, 'loom', u.loom, 'weaver', u.weaver, 'shift', u.shift, 'woven_at', " TS("u.woven_at")       \
  ") ORDER BY u.label_id) FROM inventory.units u WHERE u.tenant = " c ".tenant AND u.carton_id = " c ".carton_id), "   \
  "'[]'::json)"

static const char container_sql[] =
    "SELECT coalesce((SELECT json_build_object('kind', 'pallet', 'id', p.pallet_id, 'sscc', p.sscc, 'location', "
    "p.location, 'pieces', p.pieces, 'built_by', p.built_by, 'built_at', " TS("p.built_at") ", 'version', p.version, "
    "'cartons', coalesce((SELECT json_agg(json_build_object('carton_id', c.carton_id, 'pieces', c.pieces, 'units', "
    UNITS_OF("c") ") ORDER BY c.carton_id) FROM inventory.cartons c WHERE c.tenant = p.tenant AND c.pallet_id = "
    "p.pallet_id), '[]'::json)) FROM inventory.pallets p WHERE p.tenant = $1 AND p.pallet_id = $2::uuid), "
    "(SELECT json_build_object('kind', 'carton', 'id', c.carton_id, 'location', c.location, 'pieces', c.pieces, "
    "'pallet_id', c.pallet_id, 'packed_by', c.packed_by, 'packed_at', " TS("c.packed_at") ", 'version', c.version, "
    "'units', " UNITS_OF("c") ") FROM inventory.cartons c WHERE c.tenant = $1 AND c.carton_id = $2::uuid))";

static const char count_sql[] =
    "WITH c AS (SELECT * FROM inventory.counts WHERE tenant = $1 AND count_id = $2::uuid), "
    "cl AS (SELECT * FROM inventory.count_lines WHERE tenant = $1 AND count_id = $2::uuid), "
    "s AS (SELECT s.* FROM inventory.stock s, c WHERE s.tenant = $1 AND s.location = c.location AND c.status = 'open'), "
    "lines AS (SELECT coalesce(cl.holding_id, s.holding_id) holding_id, coalesce(cl.holding, s.holding) holding, "
    "coalesce(cl.kind, s.kind) kind, cl.counted, CASE WHEN (SELECT status FROM c) = 'open' THEN coalesce(s.quantity, 0) "
    "ELSE coalesce(cl.book, cl.counted) END book FROM cl FULL JOIN s ON s.holding_id = cl.holding_id) "
    "SELECT json_build_object('count_id', c.count_id, 'location', c.location, 'status', c.status, 'reason', c.reason, "
    "'adjustments', c.adjustments, 'opened_by', c.opened_by, 'opened_at', " TS("c.opened_at") ", 'closed_at', "
    TS("c.closed_at") ", 'version', c.version, 'lines', coalesce((SELECT json_agg(json_build_object('holding', holding, "
    "'holding_id', holding_id, 'kind', kind, 'book', book, 'counted', counted, 'variance', counted - book) ORDER BY "
    "holding) FROM lines), '[]'::json)) FROM c";


static const char picks_sql[] =
    "SELECT json_build_object('pick_id', pick_id, 'order_id', order_id, 'beam', beam, 'status', status, 'lines', lines, "
    "'weight_g', weight_g, 'issued_g', issued_g, 'created_by', created_by, 'created_at', " TS("created_at") ", "
    "'issued_at', " TS("issued_at") ", 'cancelled_at', " TS("cancelled_at") ", 'cancel_reason', cancel_reason, 'released_g', "
    "released_g, 'version', version) FROM inventory.picks WHERE tenant = $1 AND ($2::text IS NULL "
    "OR status = $2) ORDER BY created_at DESC, pick_id LIMIT 1001";

static const char pick_sql[] =
    "SELECT json_build_object('pick_id', p.pick_id, 'order_id', p.order_id, 'beam', p.beam, 'status', p.status, "
    "'weight_g', p.weight_g, 'issued_g', p.issued_g, 'created_by', p.created_by, 'created_at', " TS("p.created_at") ", "
    "'issued_at', " TS("p.issued_at") ", 'cancelled_at', " TS("p.cancelled_at") ", 'cancel_reason', p.cancel_reason, "
    "'released_g', p.released_g, 'version', p.version, 'lines', coalesce((SELECT json_agg(json_build_object("
    "'lot', l.lot, 'weight_g', l.weight_g, 'reserved_g', l.reserved_g, 'picked_g', l.picked_g, 'picked_by', "
    "l.picked_by, 'picked_at', " TS("l.picked_at") ", 'from', l.location, 'location', lo.location, 'left_g', "
    "lo.weight_g, 'item', lo.item, 'supplier_lot', lo.supplier_lot, 'in_units', catalog_units.in_units(l.tenant, lo.item, "
    "l.weight_g)) ORDER BY l.lot) FROM inventory.pick_lines l LEFT "
    "JOIN inventory.lots lo ON lo.tenant = l.tenant AND lo.lot = l.lot WHERE l.tenant = p.tenant AND l.pick_id = "
    "p.pick_id), '[]'::json)) FROM inventory.picks p WHERE p.tenant = $1 AND p.pick_id = $2::uuid";

/* Any scanned code: $2 a UUID (unit, carton, pallet), $3 a lot code, $4 an SSCC, $5 the
 * lot's holding id (its aggregate id); the absent ones NULL. */
static const char scan_sql[] =
    "WITH x AS (SELECT * FROM ("
    "SELECT 'pallet' kind, p.pallet_id::text id, p.location, json_build_object('sscc', p.sscc, 'pieces', p.pieces, "
    "'cartons', p.cartons, 'built_at', " TS("p.built_at") ") about FROM inventory.pallets p WHERE p.tenant = $1 AND "
    "(p.pallet_id = $2::uuid OR p.sscc = $4) "
    "UNION ALL SELECT 'carton', c.carton_id::text, c.location, json_build_object('pieces', c.pieces, 'units', c.units, "
    "'pallet_id', c.pallet_id, 'packed_at', " TS("c.packed_at") ") FROM inventory.cartons c WHERE c.tenant = $1 AND "
    "c.carton_id = $2::uuid "
    "UNION ALL SELECT CASE WHEN u.length_m IS NOT NULL THEN 'roll' ELSE 'pieces' END, u.label_id::text, u.location, "
    "json_build_object('article', u.article, 'quantity', u.quantity, 'length_m', u.length_m, 'order_id', u.order_id, "
    "'loom', u.loom, 'weaver', u.weaver, 'shift', u.shift, 'carton_id', u.carton_id, 'pallet_id', (SELECT c.pallet_id "
    "FROM inventory.cartons c WHERE c.tenant = u.tenant AND c.carton_id = u.carton_id), 'woven_at', " TS("u.woven_at")
    ") FROM inventory.units u WHERE u.tenant = $1 AND u.label_id = $2::uuid "
    "UNION ALL SELECT 'lot', l.lot, l.location, json_build_object('item', l.item, 'supplier_lot', l.supplier_lot, "
    "'received_g', l.received_g, 'weight_g', l.weight_g, 'reserved_g', l.reserved_g, 'cones', l.cones, "
    "'purchase_order', l.purchase_order, 'received_at', " TS("l.received_at") ") FROM inventory.lots l WHERE l.tenant = "
    "$1 AND l.lot = $3) a LIMIT 1), "
    "h AS (SELECT CASE WHEN x.kind = 'lot' THEN $5::uuid END hid FROM x UNION ALL SELECT x.id::uuid FROM x WHERE x.kind "
    "IN ('roll', 'pieces') UNION ALL SELECT u.label_id FROM x, inventory.units u WHERE x.kind = 'carton' AND u.tenant "
    "= $1 AND u.carton_id = CASE WHEN x.kind = 'carton' THEN x.id::uuid END UNION ALL SELECT u.label_id FROM x, "
    "inventory.cartons c, inventory.units u WHERE x.kind = 'pallet' AND c.tenant = $1 AND c.pallet_id = CASE WHEN "
    "x.kind = 'pallet' THEN x.id::uuid END AND u.tenant = $1 AND u.carton_id = c.carton_id) "
    "SELECT json_build_object('kind', x.kind, 'id', x.id, 'location', x.location, 'about', x.about, 'history', "
    "coalesce((SELECT json_agg(m ORDER BY m.occurred_at DESC) FROM (SELECT m.holding, m.kind, m.item, m.location, "
    "m.delta, m.cause, m.actor, " TS("m.occurred_at") " occurred_at, " TS("m.recorded_at") " recorded_at FROM "
    "inventory.movements m WHERE m.tenant = $1 AND m.holding_id IN (SELECT hid FROM h WHERE hid IS NOT NULL) ORDER BY "
    "m.occurred_at DESC, m.event_id DESC LIMIT 20) m), '[]'::json), 'links', CASE x.kind WHEN 'lot' THEN "
    "json_build_object('self', '/api/v1/inventory/lots/' || x.id, 'genealogy', '/api/v1/inventory/genealogy/' || x.id, "
    "'label', '/api/v1/inventory/lots/' || x.id || '/label.zpl', 'qr', '/api/v1/inventory/lots/' || x.id || "
    "'/qr.png') WHEN 'carton' THEN json_build_object('self', '/api/v1/inventory/containers/' || x.id, 'genealogy', "
    "'/api/v1/inventory/genealogy/' || x.id, 'label', '/api/v1/inventory/containers/' || x.id || '/label.zpl', 'qr', "
    "'/api/v1/inventory/containers/' || x.id || '/qr.png') WHEN 'pallet' THEN json_build_object('self', "
    "'/api/v1/inventory/containers/' || x.id, 'genealogy', '/api/v1/inventory/genealogy/' || x.id, 'label', "
    "'/api/v1/inventory/containers/' || x.id || '/label.zpl', 'qr', '/api/v1/inventory/containers/' || x.id || "
    "'/qr.png') ELSE json_build_object('self', '/api/v1/inventory/labels/' || x.id, 'genealogy', "
    "'/api/v1/inventory/genealogy/' || x.id, 'label', '/api/v1/inventory/labels/' || x.id || '/label.zpl', 'qr', "
    "'/api/v1/inventory/labels/' || x.id || '/qr.png') END) FROM x";

/* A scanned code sorted out (scan_sql's parameters), on the worker. 0, or -1: not a code
 * this tenant could have printed. */
typedef struct {
  char uuid[FOFAL_UUID_LEN + 1], lot[FOFAL_CODE_MAX + 1], sscc[19], lot_id[FOFAL_UUID_LEN + 1];
} scanned_t;

static int is_digits(const char *s, size_t n) {
  if (strlen(s) != n) return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  return 1;
}

static int scan_parse(const char *tenant, const char *code, scanned_t *out) {
  memset(out, 0, sizeof *out);
  size_t tl = strlen(tenant);
  int lot_payload = !strncmp(code, "FOFAL:Y:", 8), unit_payload = !strncmp(code, "FOFAL:L:", 8);
  if (lot_payload || unit_payload) { /* a label's QR payload: of this tenant only */
    if (strncmp(code + 8, tenant, tl) || code[8 + tl] != ':') return -1;
    code += 8 + tl + 1;
    if (unit_payload && !fofal_uuid_valid(code)) return -1;
    if (lot_payload && !fofal_code_valid(code)) return -1;
  }
  if (fofal_uuid_valid(code)) {
    for (int i = 0; i < FOFAL_UUID_LEN; i++) out->uuid[i] = (char)(code[i] >= 'A' && code[i] <= 'F' ? code[i] + 32 : code[i]);
  } else if (is_digits(code, 18) || (is_digits(code, 20) && !strncmp(code, "00", 2))) {
    snprintf(out->sscc, sizeof out->sscc, "%s", code + (strlen(code) == 20 ? 2 : 0));
  } else if (fofal_code_valid(code)) {
    snprintf(out->lot, sizeof out->lot, "%s", code);
    fofal_aggregate_ref(tenant, "yarnlot", code, out->lot_id);
  } else {
    return -1;
  }
  return 0;
}

/* ZPL text of untrusted data for a ^FH field: ^ ~ _ and every byte outside printable
 * ASCII as _xx, at most FOFAL_LABEL_FIELD_MAX characters. */
static void zpl_text(const char *in, char *out, size_t outlen) {
  size_t o = 0, n = 0;
  for (const unsigned char *c = (const unsigned char *)(in ? in : ""); *c && n < FOFAL_LABEL_FIELD_MAX && o + 4 < outlen;
       c++, n++) {
    if (*c < 0x20 || *c > 0x7e || *c == '^' || *c == '~' || *c == '_') o += (size_t)snprintf(out + o, outlen - o, "_%02x", *c);
    else out[o++] = (char)*c;
  }
  out[o] = '\0';
}

/* The lot's answer (res->body) turned into its label (res->raw), on the worker. */
static void render_lot(const char *tenant, const params_t *p, fofal__read_result_t *res) {
  const json_t *b = res->body;
  char qr[FOFAL_LABEL_TEXT_MAX + 1];
  size_t len = 0;
  int rc = 0;
  snprintf(qr, sizeof qr, "FOFAL:Y:%s:%s", tenant, p->key); /* tenant and code: [A-Za-z0-9._-] */
  if (p->route == S_LOT_PNG) {
    unsigned char *png = NULL;
    rc = fofal_label_qr_png(qr, 8, 4, &png, &len);
    res->raw = (char *)png;
    res->ctype = "image/png";
  } else if (p->route == S_LOT_SVG) {
    char *svg = NULL;
    rc = fofal_label_qr_svg(qr, 8, 4, &svg, &len);
    res->raw = svg;
    res->ctype = "image/svg+xml";
  } else {
    const json_t *item = json_object_get(b, "item");
    char name[4 * FOFAL_LABEL_FIELD_MAX + 1], sup[4 * FOFAL_LABEL_FIELD_MAX + 1], at[4 * FOFAL_LABEL_FIELD_MAX + 1];
    zpl_text(json_string_value(json_object_get(item, "name")) ?: json_string_value(json_object_get(item, "item")), name,
             sizeof name);
    zpl_text(json_string_value(json_object_get(b, "supplier_lot")), sup, sizeof sup);
    zpl_text(json_string_value(json_object_get(b, "received_at")), at, sizeof at);
    res->raw = fofal_asprintf("^XA\n^CI28\n^FO20,20^BQN,2,5^FDMA,%s^FS\n^FO400,20^A0N,44,44^FDYARN LOT %s^FS\n"
                              "^FO400,75^A0N,26,26^FH^FD%s^FS\n^FO400,115^A0N,26,26^FH^FDSupplier lot: %s^FS\n"
                              "^FO400,155^A0N,26,26^FDReceived: %lld g, %lld cones^FS\n^FO400,195^A0N,22,22^FH^FD%s^FS\n"
                              "^FO400,235^A0N,22,22^FDItem: %s^FS\n^XZ\n",
                              qr, p->key, name, sup, (long long)json_integer_value(json_object_get(b, "received_g")),
                              (long long)json_integer_value(json_object_get(b, "cones")), at,
                              json_string_value(json_object_get(item, "item")) ?: "");
    len = strlen(res->raw);
    res->ctype = "text/plain; charset=us-ascii";
  }
  json_decref(res->body);
  res->body = NULL;
  res->raw_len = len;
  res->etag = -1;
  if (rc) {
    free(res->raw);
    res->raw = NULL;
    res->status = 422;
    res->code = "label_not_printable";
    snprintf(res->detail, sizeof res->detail, "this label cannot be drawn (%s)", fofal_err_name(rc));
  }
}

/* The container's answer (res->body) turned into its label (res->raw), on the worker. */
static void render_container(const char *tenant, const params_t *p, fofal__read_result_t *res) {
  const json_t *b = res->body;
  char qr[FOFAL_LABEL_TEXT_MAX + 1];
  int rc = fofal_label_qr_payload(NULL, tenant, p->key, qr, sizeof qr);
  size_t len = 0;
  if (!rc && p->route == S_CONTAINER_PNG) {
    unsigned char *png = NULL;
    rc = fofal_label_qr_png(qr, 8, 4, &png, &len);
    res->raw = (char *)png;
    res->ctype = "image/png";
  } else if (!rc) {
    /* Every field is ours: digits, a UUID, counts and a location code ([A-Za-z0-9._-]). */
    const char *sscc = json_string_value(json_object_get(b, "sscc"));
    const char *where = json_string_value(json_object_get(b, "location")) ?: "";
    long long pieces = (long long)json_integer_value(json_object_get(b, "pieces"));
    size_t n = json_array_size(json_object_get(b, sscc ? "cartons" : "units"));
    if (sscc)
      res->raw = fofal_asprintf("^XA\n^CI28\n^FO40,30^A0N,44,44^FDPALLET^FS\n^FO40,85^A0N,30,30^FD(00) %s^FS\n"
                                "^FO40,125^A0N,28,28^FDCartons: %zu   Pieces: %lld   At: %s^FS\n"
                                "^FO40,175^BY3^BCN,170,Y,N,N,D^FD(00)%s^FS\n^FO560,20^BQN,2,4^FDMA,%s^FS\n"
                                "^FO40,400^A0N,22,22^FD%s^FS\n^XZ\n",
                                sscc, n, pieces, where, sscc, qr, p->key);
    else
      res->raw = fofal_asprintf("^XA\n^CI28\n^FO40,30^A0N,44,44^FDCARTON^FS\n^FO40,85^A0N,28,28^FDUnits: %zu   Pieces: "
                                "%lld   At: %s^FS\n^FO40,125^A0N,24,24^FDPallet: %s^FS\n^FO560,20^BQN,2,4^FDMA,%s^FS\n"
                                "^FO40,400^A0N,22,22^FD%s^FS\n^XZ\n",
                                n, pieces, where, json_string_value(json_object_get(b, "pallet_id")) ?: "-", qr, p->key);
    len = strlen(res->raw);
    res->ctype = "text/plain; charset=us-ascii";
  }
  json_decref(res->body);
  res->body = NULL;
  res->raw_len = len;
  res->etag = -1;
  if (rc) {
    free(res->raw);
    res->raw = NULL;
    res->status = 422;
    res->code = "label_not_printable";
    snprintf(res->detail, sizeof res->detail, "this label cannot be drawn (%s)", fofal_err_name(rc));
  }
}

/* ------------------------------------------------------------------ run */

static void run(fofal_worker_t *w, const char *tenant, void *opaque, fofal__read_result_t *res) {
  const params_t *p = opaque;
  char err[512];
  json_t *rows = NULL;
  int rc, list = 0;
#define OPT(s) (*(s) ? (s) : NULL)
  if (p->route == S_ALERTS) {
    const char *params[] = {tenant};
    rc = fofal__worker_query(w, tenant, alerts_sql, 1, params, &rows, err, sizeof err);
  } else if (p->route == S_LOCATIONS) {
    const char *params[] = {tenant};
    rc = fofal__worker_query(w, tenant, locations_sql, 1, params, &rows, err, sizeof err);
    list = 1;
  } else if (p->route == S_STOCK) {
    const char *params[] = {tenant, OPT(p->location), OPT(p->item), OPT(p->holding), p->as_of};
    rc = fofal__worker_query(w, tenant, *p->as_of ? stock_as_of_sql : stock_now_sql, *p->as_of ? 5 : 4, params, &rows, err,
                             sizeof err);
  } else if (p->route == S_MOVEMENTS) {
    const char *params[] = {tenant, OPT(p->location), OPT(p->item), OPT(p->holding)};
    rc = fofal__worker_query(w, tenant, movements_sql, 4, params, &rows, err, sizeof err);
    list = 1;
  } else if (p->route == S_PICKS) {
    const char *params[] = {tenant, OPT(p->status)};
    rc = fofal__worker_query(w, tenant, picks_sql, 2, params, &rows, err, sizeof err);
    list = 1;
  } else if (p->route == S_SCAN) {
    scanned_t sc;
    if (scan_parse(tenant, p->key, &sc)) {
      fofal__read_not_found(res, "lot, roll, pieces, carton or pallet");
      return;
    }
    const char *params[] = {tenant, OPT(sc.uuid), OPT(sc.lot), OPT(sc.sscc), OPT(sc.lot_id)};
    rc = fofal__worker_query(w, tenant, scan_sql, 5, params, &rows, err, sizeof err);
  } else {
    const char *params[] = {tenant, p->key};
    const char *sql = IS_LOT(p->route) ? lot_sql : p->route == S_PICK ? pick_sql : IS_CONTAINER(p->route) ? container_sql : p->route == S_COUNT ? count_sql
                      : fofal__inventory_genealogy_sql[fofal_uuid_valid(p->key) ? 0 : 1];
    rc = fofal__worker_query(w, tenant, sql, 2, params, &rows, err, sizeof err);
  }
#undef OPT
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  res->status = 200;
  if (list) {
    int truncated = json_array_size(rows) > MAX_ROWS;
    if (truncated) json_array_remove(rows, MAX_ROWS);
    res->body = json_pack("{s:o,s:b}", "items", rows, "truncated", truncated);
    return;
  }
  json_t *r = json_array_get(rows, 0);
  if (p->route == S_GENEALOGY && json_is_object(r) && !strcmp(json_string_value(json_object_get(r, "direction")) ?: "", "down") &&
      json_is_null(json_object_get(r, "of")))
    r = NULL; /* no pallet, carton nor unit has this id */
  if (!json_is_object(r)) {
    json_decref(rows);
    fofal__read_not_found(res, p->route == S_ALERTS ? "alerts" : IS_LOT(p->route) ? "lot" : p->route == S_PICK ? "pick list"
                               : p->route == S_SCAN ? "lot, roll, pieces, carton or pallet" : IS_CONTAINER(p->route) ? "carton or pallet"
                               : p->route == S_COUNT ? "count" : "pallet, carton, unit or yarn lot");
    return;
  }
  res->body = json_incref(r);
  if (p->route == S_STOCK) json_object_set_new(res->body, "as_of", *p->as_of ? json_string(p->as_of) : json_null());
  else if (p->route != S_GENEALOGY && p->route != S_ALERTS && p->route != S_SCAN) res->etag = json_integer_value(json_object_get(r, "version"));
  json_decref(rows);
  if (p->route == S_CONTAINER_ZPL || p->route == S_CONTAINER_PNG) render_container(tenant, p, res);
  if (p->route == S_LOT_ZPL || p->route == S_LOT_PNG || p->route == S_LOT_SVG) render_lot(tenant, p, res);
}

/* -------------------------------------------------------------- routing */

/* A filter of the query into out ("" when absent): 0, or a 400 sent. */
static int filter(h2o_req_t *req, const char *name, int uuid_ok, char *out, size_t outlen) {
  const char *v = fofal__param(req, name);
  if (!v) return 0;
  if (!(fofal_code_valid(v) || (uuid_ok && fofal_uuid_valid(v))) || strlen(v) >= outlen) {
    fofal__send_problem(req, 400, "malformed_query", "a location, item or holding is a code (or a unit's label id)", NULL);
    return -1;
  }
  snprintf(out, outlen, "%s", v);
  return 0;
}

int fofal__inventory_stores_read(fofal_api_t *api, h2o_req_t *req, const char *first, size_t at) {
  const char *path = req->path_normalized.base;
  size_t len = req->path_normalized.len;
  fofal_principal_t who;
  params_t p;
  memset(&p, 0, sizeof p);
  p.route = -1;
  if (at == len) {
    p.route = !strcmp(first, "locations") ? S_LOCATIONS : !strcmp(first, "stock") ? S_STOCK
              : !strcmp(first, "alerts") ? S_ALERTS : !strcmp(first, "picks") ? S_PICKS
              : !strcmp(first, "movements") ? S_MOVEMENTS : -1;
  } else if (!fofal__path_segment(path, len, &at, p.key, sizeof p.key)) {
    char s3[16];
    if (at == len)
      p.route = !strcmp(first, "lots") ? S_LOT : !strcmp(first, "containers") ? S_CONTAINER
                : !strcmp(first, "counts") ? S_COUNT : !strcmp(first, "genealogy") ? S_GENEALOGY
                : !strcmp(first, "picks") ? S_PICK : !strcmp(first, "scan") ? S_SCAN : -1;
    else if (!strcmp(first, "containers") && !fofal__path_segment(path, len, &at, s3, sizeof s3) && at == len)
      p.route = !strcmp(s3, "label.zpl") ? S_CONTAINER_ZPL : !strcmp(s3, "qr.png") ? S_CONTAINER_PNG : -1;
    else if (!strcmp(first, "lots") && !fofal__path_segment(path, len, &at, s3, sizeof s3) && at == len)
      p.route = !strcmp(s3, "label.zpl") ? S_LOT_ZPL : !strcmp(s3, "qr.png") ? S_LOT_PNG : !strcmp(s3, "qr.svg") ? S_LOT_SVG : -1;
  }
  if (p.route < 0) {
    fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
    return 0;
  }
  if (!fofal__get_only(req) || fofal__authenticate(api, req, &who) ||
      fofal__read_roles_check(req, &who, routes[p.route].roles, routes[p.route].path + sizeof "/api/v1" - 1))
    return 0;
  if ((IS_LOT(p.route) && !fofal_code_valid(p.key)) ||
      ((IS_CONTAINER(p.route) || p.route == S_COUNT || p.route == S_PICK) && !fofal_uuid_valid(p.key))) {
    fofal__send_problem(req, 404, "not_found", "nothing of this tenant has this code or id", NULL);
    return 0;
  }
  if (p.route == S_GENEALOGY && !fofal_uuid_valid(p.key) && !fofal_code_valid(p.key)) {
    fofal__send_problem(req, 404, "not_found", "a genealogy is of a pallet, carton or unit id or of a lot code", NULL);
    return 0;
  }
  if (routes[p.route].params & P_FILTERS) {
    if (filter(req, "location", 0, p.location, sizeof p.location) || filter(req, "item", 0, p.item, sizeof p.item) ||
        filter(req, "holding", 1, p.holding, sizeof p.holding))
      return 0;
  }
  const char *status = (routes[p.route].params & P_STATUS) ? fofal__param(req, "status") : NULL;
  if (status) {
    if (strcmp(status, "open") && strcmp(status, "issued") && strcmp(status, "cancelled")) {
      fofal__send_problem(req, 400, "malformed_query", "status is open, issued or cancelled", NULL);
      return 0;
    }
    snprintf(p.status, sizeof p.status, "%s", status);
  }
  const char *as_of = (routes[p.route].params & P_AS_OF) ? fofal__param(req, "as_of") : NULL;
  if (as_of) {
    int64_t us;
    if (strlen(as_of) >= sizeof p.as_of || fofal_time_parse(as_of, &us) || us < 0) {
      fofal__send_problem(req, 400, "malformed_as_of", "as_of is an RFC 3339 time after 1970 (2026-11-24T08:00:00Z)", NULL);
      return 0;
    }
    fofal_time_format(us, p.as_of);
  }
  return fofal__read_serve(api, req, &who, 0, run, &p, sizeof p);
}

/* -------------------------------------------------------------- OpenAPI */

static const char schemas_json[] =
    "{\"Alerts\":{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"properties\":{\"kind\":{\"enum\":[\"below\",\"restored\"]},\"location\":{},\"item\":{},\"on_hand\":{\"type\":\"integer\"},\"minimum\":{\"type\":\"integer\"},"
    "\"occurred_at\":{},\"recorded_at\":{}}}},\"minimums\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"properties\":{\"location\":{},\"item\":{},\"minimum\":{\"type\":\"integer\"}}}}}},\"Locations\":{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"properties\":{\"location\":{\"type\":\"string\"},\"kind\":{\"enum\":[\"raw\",\"finished\",\"floor\",\"quarantine\","
    "\"subcontractor\"]},\"name\":{},\"version\":{\"type\":\"integer\"},\"defined_at\":{\"type\":\"string\"}}}},"
    "\"truncated\":{\"type\":\"boolean\"}}},"
    "\"Stock\":{\"type\":\"object\",\"properties\":{\"as_of\":{\"type\":[\"string\",\"null\"]},\"holdings\":{\"type\":"
    "\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"location\":{\"type\":\"string\"},\"holding\":{\"type\":"
    "\"string\",\"description\":\"A lot's code or a unit's label id.\"},\"holding_id\":{\"type\":\"string\"},\"kind\":"
    "{\"enum\":[\"lot\",\"unit\"]},\"item\":{\"type\":\"string\"},\"quantity\":{\"type\":\"integer\"},\"unit\":{\"enum\":"
    "[\"g\",\"pieces\"]}}}},\"totals\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"item\":{},"
    "\"kind\":{},\"location\":{},\"quantity\":{\"type\":\"integer\"},\"holdings\":{\"type\":\"integer\"}}}},\"truncated\":"
    "{\"type\":\"boolean\"}}},"
    "\"Movements\":{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"properties\":{\"location\":{},\"holding\":{},\"holding_id\":{},\"kind\":{},\"item\":{},\"delta\":{\"type\":"
    "\"integer\"},\"cause\":{\"enum\":[\"received\",\"issued\",\"moved_in\",\"moved_out\",\"returned\",\"count\"]},\"actor\":{},"
    "\"occurred_at\":{\"type\":\"string\"},\"recorded_at\":{\"type\":\"string\"}}}},\"truncated\":{\"type\":\"boolean\"}}},"
    "\"Lot\":{\"type\":\"object\",\"properties\":{\"lot\":{\"type\":\"string\"},\"item\":{\"type\":\"object\"},"
    "\"supplier_lot\":{\"type\":\"string\"},\"received_g\":{\"type\":\"integer\"},\"weight_g\":{\"type\":\"integer\"},"
    "\"reserved_g\":{\"type\":\"integer\"},\"returned_g\":{\"type\":\"integer\"},\"in_units\":{\"$ref\":"
    "\"#/components/schemas/InUnits\"},"
    "\"cones\":{},\"location\":{\"type\":\"string\"},\"purchase_order\":{},\"received_at\":{},\"recorded_at\":{},"
    "\"version\":{\"type\":\"integer\"},\"issues\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":"
    "{\"beam\":{},\"order_id\":{},\"weight_g\":{\"type\":\"integer\"},\"location\":{},\"occurred_at\":{}}}}}},"
    "\"Container\":{\"type\":\"object\",\"properties\":{\"kind\":{\"enum\":[\"carton\",\"pallet\"]},\"id\":{\"type\":"
    "\"string\",\"format\":\"uuid\"},\"sscc\":{\"type\":\"string\"},\"location\":{},\"pieces\":{\"type\":\"integer\"},"
    "\"pallet_id\":{},\"cartons\":{\"type\":\"array\"},\"units\":{\"type\":\"array\"},\"version\":{\"type\":\"integer\"}}},"
    "\"Count\":{\"type\":\"object\",\"properties\":{\"count_id\":{\"type\":\"string\",\"format\":\"uuid\"},\"location\":{},"
    "\"status\":{\"enum\":[\"open\",\"closed\"]},\"reason\":{},\"adjustments\":{},\"opened_by\":{},\"opened_at\":{},"
    "\"closed_at\":{},\"version\":{\"type\":\"integer\"},\"lines\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"properties\":{\"holding\":{},\"holding_id\":{},\"kind\":{},\"book\":{\"type\":\"integer\"},\"counted\":{\"type\":"
    "[\"integer\",\"null\"]},\"variance\":{\"type\":[\"integer\",\"null\"]}}}}}},"
    "\"Genealogy\":{\"type\":\"object\",\"properties\":{\"direction\":{\"enum\":[\"down\",\"up\"]},\"of\":{\"type\":"
    "[\"object\",\"null\"],\"description\":\"What was asked for (null for a lot only production's beams name).\"},"
    "\"units\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"description\":\"Down: with beams [{beam, meters, "
    "warped_from, lots}].\"}},\"beams\":{\"type\":\"array\"},\"cartons\":{\"type\":\"array\"},\"pallets\":{\"type\":"
    "\"array\"}}},"
    "\"Picks\":{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"properties\":{\"pick_id\":{\"type\":\"string\",\"format\":\"uuid\"},\"order_id\":{},\"beam\":{},\"status\":{\"enum\":"
    "[\"open\",\"issued\"]},\"lines\":{\"type\":\"integer\"},\"weight_g\":{\"type\":\"integer\"},\"issued_g\":{},"
    "\"created_by\":{},\"created_at\":{},\"issued_at\":{},\"version\":{\"type\":\"integer\"}}}},\"truncated\":{\"type\":"
    "\"boolean\"}}},"
    "\"Pick\":{\"type\":\"object\",\"properties\":{\"pick_id\":{\"type\":\"string\",\"format\":\"uuid\"},\"order_id\":{},"
    "\"beam\":{},\"status\":{\"enum\":[\"open\",\"issued\"]},\"weight_g\":{\"type\":\"integer\"},\"issued_g\":{},"
    "\"version\":{\"type\":\"integer\"},\"lines\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
    "\"lot\":{},\"weight_g\":{\"type\":\"integer\"},\"reserved_g\":{\"type\":\"integer\"},\"picked_g\":{\"type\":"
    "[\"integer\",\"null\"]},\"picked_by\":{},\"picked_at\":{},\"from\":{},\"location\":{},\"left_g\":{},\"item\":{},"
    "\"supplier_lot\":{}}}}}},"
    "\"InUnits\":{\"type\":\"array\",\"description\":\"The quantity in the item's other units (catalog "
    "conversions): value truncated to 3 decimals by integer arithmetic, exact when nothing was cut.\",\"items\":{"
    "\"type\":\"object\",\"properties\":{\"unit\":{\"type\":\"string\"},\"value\":{\"type\":\"string\"},"
    "\"exact\":{\"type\":\"boolean\"}}}},"
    "\"Scan\":{\"type\":\"object\",\"properties\":{\"kind\":{\"enum\":[\"lot\",\"roll\",\"pieces\",\"carton\","
    "\"pallet\"]},\"id\":{\"type\":\"string\",\"description\":\"A lot's code, or the unit's, carton's or pallet's id.\"},"
    "\"location\":{},\"about\":{\"type\":\"object\"},\"history\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"properties\":{\"holding\":{},\"kind\":{},\"item\":{},\"location\":{},\"delta\":{\"type\":\"integer\"},\"cause\":{},"
    "\"actor\":{},\"occurred_at\":{},\"recorded_at\":{}}}},\"links\":{\"type\":\"object\",\"properties\":{\"self\":{},"
    "\"genealogy\":{},\"label\":{},\"qr\":{}}}}}}";

void fofal__inventory_stores_openapi(json_t *paths, json_t *schemas) {
  json_t *all = json_loads(schemas_json, 0, NULL);
  if (all) json_object_update(schemas, all);
  json_decref(all);
  json_t *code = json_pack("{s:s,s:s}", "type", "string", "pattern", "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$");
  for (int r = 0; r < S_N; r++) {
    const fofal_read_route_t *rt = &routes[r];
    json_t *params = json_array();
    if (IS_LOT(r)) json_array_append_new(params, fofal__openapi_path_param("code", "The lot's code, as its label shows."));
    if (r == S_PICK) json_array_append_new(params, fofal__openapi_path_param("id", "The pick list's id."));
    if (r == S_SCAN)
      json_array_append_new(params, fofal__openapi_path_param("code", "What the QR code or barcode carries: a label's "
                                                                      "payload, a UUID, a lot code or an SSCC."));
    if (rt->params & P_STATUS)
      json_array_append_new(params, fofal__openapi_query_param("status", "Only pick lists of this status.",
                                                               json_pack("{s:[s,s,s]}", "enum", "open", "issued", "cancelled")));
    if (IS_CONTAINER(r)) json_array_append_new(params, fofal__openapi_path_param("id", "The carton's or pallet's id."));
    if (r == S_COUNT) json_array_append_new(params, fofal__openapi_path_param("id", "The count's id."));
    if (r == S_GENEALOGY)
      json_array_append_new(params, fofal__openapi_path_param("id", "A pallet's, carton's or unit's id (down), or a yarn "
                                                                    "lot's code (up)."));
    if (rt->params & P_FILTERS) {
      json_array_append_new(params, fofal__openapi_query_param("location", "Only this location.", json_deep_copy(code)));
      json_array_append_new(params, fofal__openapi_query_param("item", "Only this item (yarn) or article.", json_deep_copy(code)));
      json_array_append_new(params, fofal__openapi_query_param("holding", "Only this lot code or unit label id.",
                                                               json_pack("{s:s,s:i}", "type", "string", "maxLength", 64)));
    }
    if (rt->params & P_AS_OF)
      json_array_append_new(params, fofal__openapi_query_param("as_of", "The stock at this past instant (RFC 3339).",
                                                               json_pack("{s:s,s:s}", "type", "string", "format", "date-time")));
    char desc[1200], ref[96];
    snprintf(desc, sizeof desc, "%s Roles: %s. With ?position= (from a command's 201) the read waits (bounded) until "
             "the projection has applied it.", rt->desc, rt->roles);
    snprintf(ref, sizeof ref, "#/components/schemas/%s", rt->schema ? rt->schema : "Container");
    json_t *op = fofal__openapi_read_op("inventory", rt->op_id, rt->summary, desc, params, ref, rt->roles);
    if (r == S_LOT || r == S_CONTAINER || r == S_COUNT || r == S_PICK) fofal__openapi_etag(op);
    if (!rt->schema) { /* not JSON: the 200 is a PNG or a ZPL text */
      json_t *ok = json_object_get(json_object_get(json_object_get(op, "get"), "responses"), "200");
      int png = r == S_CONTAINER_PNG || r == S_LOT_PNG;
      json_object_set_new(ok, "content", json_pack("{s:{s:{s:s,s:s}}}", png ? "image/png" : r == S_LOT_SVG ? "image/svg+xml" : "text/plain",
                                                   "schema", "type", "string", "format", png ? "binary" : "text"));
    }
    json_object_set_new(paths, rt->path, op);
  }
  json_decref(code);
}
