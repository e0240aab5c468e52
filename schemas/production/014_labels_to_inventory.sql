-- Labels and the units they name moved to the inventory module
-- (schemas/inventory/070_inventory.sql): a declaration still assigns the label id (in
-- output_declared), and inventory receives the unit by reaction. Production no longer
-- keeps them.
DROP TABLE production.label_prints;
DROP TABLE production.labels;
