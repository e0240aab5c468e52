-- An item's unit conversions (catalog.item.set_conversions: [{unit, qty, base_qty}],
-- "qty <unit> = base_qty <the item's unit>") and catalog.in_units, which reads use to show
-- a quantity of the item's unit in its other units exactly: integer arithmetic on numeric
-- (no rounding), the value truncated to 3 decimals, with whether that is exact. kg of g
-- and m of mm are implied (1000). Invoker's rights: row-level security applies.
ALTER TABLE catalog.items ADD COLUMN conversions jsonb;

CREATE FUNCTION catalog.in_units(p_tenant text, p_item text, p_amount bigint) RETURNS json
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
GRANT EXECUTE ON FUNCTION catalog.in_units(text, text, bigint) TO fofal_reader;
