/*
 * genealogy_sql.c — private to api/inventory/: the two genealogy statements of
 * GET /api/v1/inventory/genealogy/{id} (stores_api.c says what they answer), alone in
 * their file so that ops/bench genealogy (tests/bench/genealogy.c) links and times exactly
 * these without the rest of the API. Each step is a join on an index: a pallet's cartons
 * (cartons_pallet), their units (units_carton), a unit's beams to the lots issued to them
 * (lot_issues_beam, then each lot by its key: a LATERAL lookup, for the planner hashed
 * the whole lots table once per unit, 0.8 ms each at 2,500 lots); up, a lot's beams
 * (lot_issues_lot) to the units woven from them (the GIN index units_beams, probed once per beam; a unit woven from two
 * of the lot's beams once, without looking each up again by its key), their cartons and
 * each of their pallets by its key (a LATERAL lookup again: the planner, expecting tens of
 * thousands of units, scanned every pallet).
 */
#include "inventory.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* Down from a pallet, carton or unit ($2, a UUID). */
static const char down_sql[] =
    "WITH u AS (SELECT u.* FROM inventory.units u WHERE u.tenant = $1 AND u.label_id = $2::uuid UNION ALL SELECT u.* "
    "FROM inventory.units u WHERE u.tenant = $1 AND u.carton_id = $2::uuid UNION ALL SELECT u.* FROM inventory.cartons "
    "c JOIN inventory.units u ON u.tenant = c.tenant AND u.carton_id = c.carton_id WHERE c.tenant = $1 AND c.pallet_id = "
    "$2::uuid) "
    "SELECT json_build_object('direction', 'down', 'of', coalesce((SELECT json_build_object('kind', 'pallet', 'id', "
    "p.pallet_id, 'sscc', p.sscc, 'location', p.location, 'pieces', p.pieces) FROM inventory.pallets p WHERE p.tenant = "
    "$1 AND p.pallet_id = $2::uuid), (SELECT json_build_object('kind', 'carton', 'id', c.carton_id, 'location', "
    "c.location, 'pieces', c.pieces, 'pallet_id', c.pallet_id) FROM inventory.cartons c WHERE c.tenant = $1 AND "
    "c.carton_id = $2::uuid), (SELECT json_build_object('kind', 'unit', 'id', u.label_id, 'location', u.location, "
    "'carton_id', u.carton_id, 'from_label', u.from_label, 'grade', u.grade) FROM u WHERE u.label_id = $2::uuid)), "
    "'units', coalesce((SELECT json_agg(json_build_object('label_id', u.label_id, 'article', u.article, 'quantity', "
    "u.quantity, 'location', u.location, 'carton_id', u.carton_id, 'order_id', u.order_id, 'loom', u.loom, 'weaver', "
    "u.weaver, 'shift', u.shift, 'woven_at', " TS("u.woven_at") ", 'from_label', u.from_label, 'grade', u.grade, "
    "'from', (SELECT json_build_object('label_id', r.label_id, 'quantity', r.quantity, 'location', r.location, "
    "'from_label', r.from_label) FROM inventory.units r WHERE r.tenant = $1 AND r.label_id = u.from_label), "
    "'beams', coalesce((SELECT json_agg(json_build_object("
    "'beam', b.beam, 'meters', b.meters, 'warped_from', (SELECT pb.yarn_lots FROM production.beams pb WHERE pb.tenant = "
    "$1 AND pb.beam = b.beam), 'lots', coalesce((SELECT json_agg(json_build_object('lot', l.lot, 'supplier_lot', "
    "l.supplier_lot, 'item', l.item, 'issued_g', (SELECT sum(x.weight_g) FROM inventory.lot_issues x WHERE x.tenant = $1 "
    "AND x.lot = l.lot AND x.beam = b.beam)) ORDER BY l.lot) FROM (SELECT x.lot FROM inventory.lot_issues x WHERE "
    "x.tenant = $1 AND x.beam = b.beam UNION SELECT jsonb_array_elements_text(pb.yarn_lots) FROM production.beams pb "
    "WHERE pb.tenant = $1 AND pb.beam = b.beam AND jsonb_typeof(pb.yarn_lots) = 'array') k(lot) CROSS JOIN LATERAL "
    "(SELECT * FROM inventory.lots l WHERE l.tenant = $1 AND l.lot = k.lot OFFSET 0) l), '[]'::json)) ORDER BY b.beam) "
    "FROM "
    "jsonb_to_recordset(coalesce(u.beams, "
    "'[]'::jsonb)) AS b(beam text, meters numeric)), '[]'::json)) ORDER BY u.woven_at, u.label_id) FROM u), '[]'::json))";

/* Up from a yarn lot ($2, its code); NULL when neither inventory nor a beam knows it. */
static const char up_sql[] =
    "WITH l AS (SELECT * FROM inventory.lots WHERE tenant = $1 AND lot = $2), "
    "b AS (SELECT x.beam FROM inventory.lot_issues x WHERE x.tenant = $1 AND x.lot = $2 UNION SELECT pb.beam FROM "
    "production.beams pb WHERE pb.tenant = $1 AND pb.yarn_lots ? $2), "
    "u AS (SELECT DISTINCT ON (v.label_id) v.* FROM b JOIN inventory.units v ON v.tenant = $1 AND v.beams @> "
    "jsonb_build_array(jsonb_build_object('beam', b.beam))) "
    "SELECT CASE WHEN EXISTS (SELECT 1 FROM l) OR EXISTS (SELECT 1 FROM b) THEN json_build_object('direction', 'up', "
    "'of', (SELECT json_build_object('kind', 'lot', 'lot', l.lot, 'supplier_lot', l.supplier_lot, 'item', l.item, "
    "'weight_g', l.weight_g, 'location', l.location) FROM l), "
    "'beams', coalesce((SELECT json_agg(b.beam ORDER BY b.beam) FROM b), '[]'::json), "
    "'units', coalesce((SELECT json_agg(json_build_object('label_id', u.label_id, 'article', u.article, 'quantity', "
    "u.quantity, 'location', u.location, 'carton_id', u.carton_id, 'order_id', u.order_id, 'loom', u.loom, 'woven_at', "
    TS("u.woven_at") ") ORDER BY u.woven_at, u.label_id) FROM u), '[]'::json), "
    "'cartons', coalesce((SELECT json_agg(json_build_object('carton_id', c.carton_id, 'location', c.location, "
    "'pallet_id', c.pallet_id) ORDER BY c.carton_id) FROM inventory.cartons c WHERE c.tenant = $1 AND c.carton_id IN "
    "(SELECT u.carton_id FROM u)), '[]'::json), "
    "'pallets', coalesce((SELECT json_agg(json_build_object('pallet_id', p.pallet_id, 'sscc', p.sscc, 'location', "
    "p.location) ORDER BY p.pallet_id) FROM (SELECT DISTINCT c.pallet_id FROM inventory.cartons c WHERE c.tenant = $1 "
    "AND c.carton_id IN (SELECT u.carton_id FROM u) AND c.pallet_id IS NOT NULL) k CROSS JOIN LATERAL (SELECT * FROM "
    "inventory.pallets p WHERE p.tenant = $1 AND p.pallet_id = k.pallet_id OFFSET 0) p), '[]'::json)) END";

const char *const fofal__inventory_genealogy_sql[2] = {down_sql, up_sql};
