-- customers, products, orders and order_items without primary-key indexes (issue 13). Every row enters through
-- the load's merge (warehouse/merge.ts), which keeps one row per key itself: in one transaction it deletes the
-- stored rows the batch's newest rows replace, then inserts those. The index enforced nothing more, but in DuckDB
-- 1.5 it was most of the first load of the keyed tables: on the scale-1 bench store (4.8M order lines) the
-- INSERT OR REPLACE into order_items took 10.3 s plus 14.1 s to commit, the index built and written row by row.
-- The key columns stay NOT NULL (customer_id, product_id, order_id, and order_id + product_id of a line).

CREATE TABLE customers_0041 (
  customer_id VARCHAR NOT NULL,
  email       VARCHAR,
  phone       VARCHAR,
  first_name  VARCHAR,
  last_name   VARCHAR,
  city        VARCHAR,
  state       VARCHAR,
  zip         VARCHAR,
  country     VARCHAR,
  created_at  TIMESTAMP,
  ads_consent BOOLEAN NOT NULL DEFAULT false,
  updated_at  TIMESTAMP,
  exported_at TIMESTAMP
);
INSERT INTO customers_0041 BY NAME SELECT * FROM customers;
DROP TABLE customers;
ALTER TABLE customers_0041 RENAME TO customers;

CREATE TABLE products_0041 (
  product_id VARCHAR NOT NULL,
  name       VARCHAR,
  category   VARCHAR,
  brand      VARCHAR,
  price      DECIMAL(18, 4),
  currency   VARCHAR
);
INSERT INTO products_0041 BY NAME SELECT * FROM products;
DROP TABLE products;
ALTER TABLE products_0041 RENAME TO products;

CREATE TABLE orders_0041 (
  order_id    VARCHAR NOT NULL,
  customer_id VARCHAR,
  ordered_at  TIMESTAMP NOT NULL,
  status      VARCHAR NOT NULL DEFAULT 'completed',
  total       DECIMAL(18, 4),
  currency    VARCHAR
);
INSERT INTO orders_0041 BY NAME SELECT * FROM orders;
DROP TABLE orders;
ALTER TABLE orders_0041 RENAME TO orders;

-- One line per product in an order: re-loading a line replaces it.
CREATE TABLE order_items_0041 (
  order_id   VARCHAR NOT NULL,
  product_id VARCHAR NOT NULL,
  quantity   INTEGER NOT NULL DEFAULT 1,
  unit_price DECIMAL(18, 4)
);
INSERT INTO order_items_0041 BY NAME SELECT * FROM order_items;
DROP TABLE order_items;
ALTER TABLE order_items_0041 RENAME TO order_items;
