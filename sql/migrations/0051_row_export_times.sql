-- Products, orders and order lines remember the export time of the file their stored row came from, as customers
-- do (0005): a row is replaced only by one from an export at least as new, so an older file read later (arriving
-- late, re-dated by a copy or a touch while its name keeps its date) no longer overwrites a newer row. Rows stored
-- before this migration have none and are replaced by any version, as before (warehouse/merge.ts).
ALTER TABLE products ADD COLUMN exported_at TIMESTAMP;
ALTER TABLE orders ADD COLUMN exported_at TIMESTAMP;
ALTER TABLE order_items ADD COLUMN exported_at TIMESTAMP;
