-- A dispatch's price and what its returns cost (commands/subcontracting/subcontracting.c
-- says the rule): unit_price in minor units of the tenant's currency per unit of the lots,
-- null when the dispatch was sent without one; cost_minor the sum of its returns' costs
-- (of each lot in dispatch_lots). Written by projections/subcontracting/subcontracting.c.
ALTER TABLE subcontracting.dispatches ADD COLUMN unit_price bigint;
ALTER TABLE subcontracting.dispatches ADD COLUMN cost_minor bigint;
ALTER TABLE subcontracting.dispatch_lots ADD COLUMN cost_minor bigint;
