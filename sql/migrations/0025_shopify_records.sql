-- The customers and orders the Shopify source loaded, by Shopify id: its periodic full id scan removes those that
-- Shopify no longer lists, and only those (rows other sources loaded are never touched).
CREATE TABLE shopify_records (
  object VARCHAR NOT NULL,
  id     VARCHAR NOT NULL,
  PRIMARY KEY (object, id)
);
