-- Which load wrote each order and order line (issue 13): `load_seq` rises with every load (the merge stamps the
-- batch's number from raw_load_seq); rows stored before this migration, or inserted by hand, are load 0. The basket
-- refresh (audiences/baskets.ts) reads only the orders loaded since its last run instead of comparing all 4.5M
-- counted lines every night, as long as the rows it saw before are as they were (a count and a sum of hashes tell,
-- so a row added by hand as load 0 makes it compare every basket). Not a column default of nextval(): DuckDB 1.5
-- cannot replay such a default from the write-ahead log after a crash ("GetDefaultDatabase with no default
-- database set"), and the database would not open.
CREATE SEQUENCE raw_load_seq START 1;

ALTER TABLE orders ADD COLUMN load_seq BIGINT DEFAULT 0;
ALTER TABLE orders ALTER COLUMN load_seq SET NOT NULL;
ALTER TABLE order_items ADD COLUMN load_seq BIGINT DEFAULT 0;
ALTER TABLE order_items ALTER COLUMN load_seq SET NOT NULL;

-- What the basket tables were last brought to: T, the highest load_seq they saw, and the orders and order lines of
-- those loads as they were then (how many; the sum of a hash of the columns a basket reads). One row, or none
-- before the first count.
CREATE TABLE basket_state (
  as_of            TIMESTAMP NOT NULL,
  load_seq         BIGINT NOT NULL,
  orders           BIGINT NOT NULL,
  orders_hash      HUGEINT NOT NULL,
  order_items      BIGINT NOT NULL,
  order_items_hash HUGEINT NOT NULL
);
