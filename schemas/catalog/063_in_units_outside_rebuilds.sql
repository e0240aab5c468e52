-- catalog.in_units moves to a schema of its own, catalog_units: `fofal rebuild catalog`
-- builds the tables in a shadow schema and renames it over `catalog`, so a function kept
-- in `catalog` was dropped with the old schema, and every read calling it (inventory's
-- stock and lots) failed with 500 after a rebuild. The body names catalog.items and is
-- resolved when it runs, so it reads the rebuilt table. Invoker's rights: row-level
-- security applies.
CREATE SCHEMA catalog_units;
CREATE FUNCTION catalog_units.in_units(p_tenant text, p_item text, p_amount bigint) RETURNS json
LANGUAGE sql STABLE AS $$
  WITH i AS (SELECT unit, conversions FROM catalog.items WHERE tenant = p_tenant AND item = p_item),
  c AS (SELECT 'kg'::text unit, 1::numeric qty, 1000::numeric base_qty FROM i WHERE i.unit = 'g'
        UNION ALL SELECT 'm', 1, 1000 FROM i WHERE i.unit = 'mm'
        UNION ALL SELECT x.unit, x.qty, x.base_qty FROM i, jsonb_to_recordset(CASE WHEN jsonb_typeof(i.conversions) =
          'array' THEN i.conversions ELSE '[]'::jsonb END) AS x(unit text, qty numeric, base_qty numeric)
          WHERE x.qty > 0 AND x.base_qty > 0),
  v AS (SELECT c.unit, div(abs(p_amount) * c.qty * 1000, c.base_qty) n, mod(abs(p_amount) * c.qty * 1000, c.base_qty) = 0
        exact FROM c)
  SELECT coalesce(json_agg(json_build_object('unit', v.unit, 'value', CASE WHEN p_amount < 0 THEN '-' ELSE '' END ||
    div(v.n, 1000)::text || '.' || lpad(mod(v.n, 1000)::text, 3, '0'), 'exact', v.exact) ORDER BY v.unit), '[]'::json)
  FROM v
$$;
GRANT USAGE ON SCHEMA catalog_units TO fofal_reader;
GRANT EXECUTE ON FUNCTION catalog_units.in_units(text, text, bigint) TO fofal_reader;
DROP FUNCTION IF EXISTS catalog.in_units(text, text, bigint);
