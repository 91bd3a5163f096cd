-- The ids of people and orders are stored FSST-compressed without DuckDB first trying a dictionary on every segment,
-- the way 0043 stores event and session ids (issue 13): events.customer_id and anonymous_id, orders.order_id and
-- customer_id, order_items.order_id, customers.customer_id, email and phone, the customer versions' ids and
-- fingerprints, and the customer ids (and sync fingerprints) of the membership tables. A segment of 122,880 rows holds tens of thousands of distinct customers or
-- orders in any store with that many rows, so the dictionary rarely wins, and where it would (a few hundred
-- customers) these columns are small. Measured on the bench stores, the events' customer and product ids took 1.32,
-- 26.23 and 218.64 MB with the customer ids FSST at scales 0.01, 0.1 and 1, against 1.32, 26.75 and 218.64 MB with
-- DuckDB's choice; the membership tables the same size both ways at scales 0.1 and 1. At scale 1 (20.7M events; alternating copies of the
-- stored tables) the events' write took 20.65-22.47 s against 23.22-23.47 s (three pairs; 40-44 against 46 CPU s),
-- orders 0.95-1.19 s against 1.19-1.43 s, order lines 1.91-2.41 against 2.23-2.51 s, customers 0.98-1.16 against
-- 1.19-1.46 s, customer_versions 0.33-0.36 against 0.56-0.61 s, audience_members 0.93-1.20 against 1.05-1.44 s,
-- the history 0.64-0.68 against 0.77-0.84 s and destination_members 0.60-0.72 against 0.83-0.84 s, the same file
-- size.
--
-- Product ids keep DuckDB's choice: a catalog of a few thousand products makes a dictionary win (forcing FSST on
-- events' product_id cost 26.75 -> 34.09 MB for the two id columns at scale 0.1). So do names, cities, statuses,
-- event names, audience names and members' attributes, which repeat.
--
-- A column's compression is fixed when its table is created: each table is copied once into its new shape.
CREATE TABLE events_0049 (
  event_id     VARCHAR USING COMPRESSION fsst,
  customer_id  VARCHAR USING COMPRESSION fsst,
  anonymous_id VARCHAR USING COMPRESSION fsst,
  session_id   VARCHAR USING COMPRESSION fsst,
  event_name   VARCHAR NOT NULL,
  product_id   VARCHAR,
  category     VARCHAR,
  occurred_at  TIMESTAMP NOT NULL,
  event_count  INTEGER NOT NULL DEFAULT 1,
  source       VARCHAR,
  event_key    VARCHAR
);
INSERT INTO events_0049 BY NAME SELECT * FROM events;
DROP TABLE events;
ALTER TABLE events_0049 RENAME TO events;

CREATE TABLE orders_0049 (
  order_id    VARCHAR NOT NULL USING COMPRESSION fsst,
  customer_id VARCHAR USING COMPRESSION fsst,
  ordered_at  TIMESTAMP NOT NULL,
  status      VARCHAR NOT NULL DEFAULT 'completed',
  total       DECIMAL(18, 4),
  currency    VARCHAR,
  load_seq    BIGINT NOT NULL DEFAULT 0
);
INSERT INTO orders_0049 BY NAME SELECT * FROM orders;
DROP TABLE orders;
ALTER TABLE orders_0049 RENAME TO orders;

CREATE TABLE order_items_0049 (
  order_id   VARCHAR NOT NULL USING COMPRESSION fsst,
  product_id VARCHAR NOT NULL,
  quantity   INTEGER NOT NULL DEFAULT 1,
  unit_price DECIMAL(18, 4),
  load_seq   BIGINT NOT NULL DEFAULT 0
);
INSERT INTO order_items_0049 BY NAME SELECT * FROM order_items;
DROP TABLE order_items;
ALTER TABLE order_items_0049 RENAME TO order_items;

CREATE TABLE customers_0049 (
  customer_id VARCHAR NOT NULL USING COMPRESSION fsst,
  email       VARCHAR USING COMPRESSION fsst,
  phone       VARCHAR USING COMPRESSION fsst,
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
INSERT INTO customers_0049 BY NAME SELECT * FROM customers;
DROP TABLE customers;
ALTER TABLE customers_0049 RENAME TO customers;

CREATE TABLE customer_versions_0049 (
  customer_id   VARCHAR NOT NULL USING COMPRESSION fsst,
  fingerprint   VARCHAR NOT NULL USING COMPRESSION fsst,
  first_seen_at TIMESTAMP
);
INSERT INTO customer_versions_0049 BY NAME SELECT * FROM customer_versions;
DROP TABLE customer_versions;
ALTER TABLE customer_versions_0049 RENAME TO customer_versions;

CREATE TABLE audience_members_0049 (
  audience    VARCHAR NOT NULL,
  segment     VARCHAR NOT NULL,
  customer_id VARCHAR NOT NULL USING COMPRESSION fsst,
  entered_at  TIMESTAMP NOT NULL,
  attributes  JSON,
  side        VARCHAR DEFAULT 'exposed'
);
INSERT INTO audience_members_0049 BY NAME SELECT * FROM audience_members;
DROP TABLE audience_members;
ALTER TABLE audience_members_0049 RENAME TO audience_members;

CREATE TABLE audience_membership_history_0049 (
  audience       VARCHAR NOT NULL,
  customer_id    VARCHAR NOT NULL USING COMPRESSION fsst,
  entered_at     TIMESTAMP NOT NULL,
  exited_at      TIMESTAMP,
  entered_run_id VARCHAR,
  exited_run_id  VARCHAR,
  side           VARCHAR DEFAULT 'exposed'
);
INSERT INTO audience_membership_history_0049 BY NAME SELECT * FROM audience_membership_history;
DROP TABLE audience_membership_history;
ALTER TABLE audience_membership_history_0049 RENAME TO audience_membership_history;

CREATE TABLE destination_members_0049 (
  destination VARCHAR NOT NULL,
  audience    VARCHAR NOT NULL,
  customer_id VARCHAR NOT NULL USING COMPRESSION fsst,
  fingerprint VARCHAR NOT NULL USING COMPRESSION fsst,
  payload     VARCHAR,
  synced_at   TIMESTAMP NOT NULL
);
INSERT INTO destination_members_0049 BY NAME SELECT * FROM destination_members;
DROP TABLE destination_members;
ALTER TABLE destination_members_0049 RENAME TO destination_members;
