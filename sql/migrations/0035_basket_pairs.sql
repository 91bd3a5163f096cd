-- Basket counts for mined complements, kept up to date night by night (audiences/baskets.ts): only the orders whose
-- basket changed since the last run move the counts, instead of re-mining two years of orders every night.
-- A cache of completed_orders x order_items: rebuilt whole by `retarget run --full-refresh`, never a source of truth.

-- The baskets counted: one row per distinct (order, product) of a completed order.
CREATE TABLE basket_lines (
  order_id   VARCHAR NOT NULL,
  product_id VARCHAR NOT NULL
);

-- Orders holding both products, per unordered pair (a < b).
CREATE TABLE basket_pairs (
  a VARCHAR NOT NULL,
  b VARCHAR NOT NULL,
  n BIGINT NOT NULL
);

-- Orders holding each product.
CREATE TABLE basket_products (
  product_id VARCHAR NOT NULL,
  n          BIGINT NOT NULL
);
