-- The currency of a product's price (ISO 4217 code, as the source gives it): a price without its currency cannot be
-- compared or summed across stores. NULL where the source names none (files without a currency column, products
-- loaded before this column existed).
ALTER TABLE products ADD COLUMN currency VARCHAR;
