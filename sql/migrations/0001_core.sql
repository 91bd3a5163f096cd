-- Core data contract. Names here are public: analysts and external tools depend on them.
-- All timestamps are TIMESTAMP values in UTC.

-- Raw data ------------------------------------------------------------------------------------------------

CREATE TABLE customers (
  customer_id VARCHAR PRIMARY KEY,
  email       VARCHAR,
  phone       VARCHAR,
  first_name  VARCHAR,
  last_name   VARCHAR,
  city        VARCHAR,
  state       VARCHAR,
  zip         VARCHAR,
  country     VARCHAR,
  created_at  TIMESTAMP,
  ads_consent BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE products (
  product_id VARCHAR PRIMARY KEY,
  name       VARCHAR,
  category   VARCHAR,
  brand      VARCHAR,
  price      DECIMAL(18, 4)
);

CREATE TABLE orders (
  order_id    VARCHAR PRIMARY KEY,
  customer_id VARCHAR,
  ordered_at  TIMESTAMP NOT NULL,
  status      VARCHAR NOT NULL DEFAULT 'completed',
  total       DECIMAL(18, 4),
  currency    VARCHAR
);

-- One line per product in an order: re-loading a line replaces it.
CREATE TABLE order_items (
  order_id   VARCHAR NOT NULL,
  product_id VARCHAR NOT NULL,
  quantity   INTEGER NOT NULL DEFAULT 1,
  unit_price DECIMAL(18, 4),
  PRIMARY KEY (order_id, product_id)
);

-- event_key de-duplicates: the event_id when there is one, else a hash of every field.
CREATE TABLE events (
  event_id     VARCHAR,
  customer_id  VARCHAR,
  anonymous_id VARCHAR,
  session_id   VARCHAR,
  event_name   VARCHAR NOT NULL,
  product_id   VARCHAR,
  category     VARCHAR,
  occurred_at  TIMESTAMP NOT NULL,
  event_count  INTEGER NOT NULL DEFAULT 1,
  source       VARCHAR,
  event_key    VARCHAR NOT NULL
);

CREATE TABLE product_complements (
  product_id    VARCHAR NOT NULL,
  complement_id VARCHAR NOT NULL
);

-- Load bookkeeping ----------------------------------------------------------------------------------------

CREATE TABLE rejected_rows (
  table_name  VARCHAR NOT NULL,
  reason      VARCHAR NOT NULL,
  raw         VARCHAR,
  run_id      VARCHAR,
  source      VARCHAR,
  rejected_at TIMESTAMP NOT NULL DEFAULT (now()::TIMESTAMP)
);

-- A file is skipped when the same path, size and modification time were loaded before.
CREATE TABLE loaded_files (
  path          VARCHAR NOT NULL,
  size_bytes    BIGINT NOT NULL,
  modified_at   TIMESTAMP NOT NULL,
  table_name    VARCHAR NOT NULL,
  run_id        VARCHAR,
  loaded_at     TIMESTAMP NOT NULL,
  rows_read     BIGINT NOT NULL,
  rows_rejected BIGINT NOT NULL,
  PRIMARY KEY (path, size_bytes, modified_at)
);

-- Runs ----------------------------------------------------------------------------------------------------

CREATE TABLE pipeline_runs (
  run_id      VARCHAR PRIMARY KEY,
  started_at  TIMESTAMP NOT NULL,
  finished_at TIMESTAMP,
  status      VARCHAR NOT NULL,
  as_of       TIMESTAMP NOT NULL,
  trigger     VARCHAR,
  error       VARCHAR
);

CREATE TABLE pipeline_steps (
  run_id      VARCHAR NOT NULL,
  step        VARCHAR NOT NULL,
  started_at  TIMESTAMP NOT NULL,
  finished_at TIMESTAMP,
  status      VARCHAR NOT NULL,
  rows_in     BIGINT,
  rows_out    BIGINT,
  detail      VARCHAR
);

-- Audiences -----------------------------------------------------------------------------------------------

-- Current members. attributes is JSON (e.g. the products a member wishlisted, recommended products).
CREATE TABLE audience_members (
  audience    VARCHAR NOT NULL,
  segment     VARCHAR NOT NULL,
  customer_id VARCHAR NOT NULL,
  entered_at  TIMESTAMP NOT NULL,
  attributes  JSON,
  PRIMARY KEY (audience, customer_id)
);

-- One row per stay in an audience; exited_at is NULL while the customer is still a member.
CREATE TABLE audience_membership_history (
  audience       VARCHAR NOT NULL,
  customer_id    VARCHAR NOT NULL,
  entered_at     TIMESTAMP NOT NULL,
  exited_at      TIMESTAMP,
  entered_run_id VARCHAR,
  exited_run_id  VARCHAR
);

-- Audience sizes per run, for trend charts.
CREATE TABLE audience_snapshots (
  run_id   VARCHAR NOT NULL,
  as_of    TIMESTAMP NOT NULL,
  audience VARCHAR NOT NULL,
  segment  VARCHAR NOT NULL,
  members  BIGINT NOT NULL,
  entered  BIGINT NOT NULL,
  exited   BIGINT NOT NULL
);

-- Destinations --------------------------------------------------------------------------------------------

-- What each destination last confirmed, per audience member. fingerprint identifies the exact row sent
-- (e.g. a hash of the hashed identifiers), so a changed email is a remove of the old row plus an add.
-- payload is the row as sent (JSON; hashed identifiers only, never raw PII), kept so a member can be removed
-- even after their raw data is gone.
CREATE TABLE destination_members (
  destination VARCHAR NOT NULL,
  audience    VARCHAR NOT NULL,
  customer_id VARCHAR NOT NULL,
  fingerprint VARCHAR NOT NULL,
  payload     VARCHAR,
  synced_at   TIMESTAMP NOT NULL,
  PRIMARY KEY (destination, audience, customer_id)
);

-- The destination's own id for an audience (e.g. a Meta Custom Audience id) and its last synced size.
CREATE TABLE destination_audiences (
  destination       VARCHAR NOT NULL,
  audience          VARCHAR NOT NULL,
  external_id       VARCHAR,
  created_at        TIMESTAMP NOT NULL,
  last_synced_at    TIMESTAMP,
  last_synced_size  BIGINT,
  status            VARCHAR NOT NULL DEFAULT 'active',
  PRIMARY KEY (destination, audience)
);

CREATE TABLE destination_syncs (
  run_id          VARCHAR NOT NULL,
  destination     VARCHAR NOT NULL,
  audience        VARCHAR NOT NULL,
  started_at      TIMESTAMP NOT NULL,
  finished_at     TIMESTAMP,
  adds            BIGINT NOT NULL DEFAULT 0,
  removes         BIGINT NOT NULL DEFAULT 0,
  invalid_entries BIGINT NOT NULL DEFAULT 0,
  status          VARCHAR NOT NULL,
  error           VARCHAR
);

-- Models: stable views over the raw tables ----------------------------------------------------------------

-- Events with the product's category filled in when the event carries none.
CREATE VIEW events_resolved AS
SELECT
  e.event_id, e.customer_id, e.anonymous_id, e.session_id, e.event_name, e.product_id,
  COALESCE(NULLIF(e.category, ''), p.category) AS category,
  e.occurred_at, e.event_count, e.source
FROM events e
LEFT JOIN products p ON p.product_id = e.product_id;

-- Orders that count as purchases: cancelled and refunded orders never do.
CREATE VIEW completed_orders AS
SELECT * FROM orders WHERE lower(trim(status)) NOT IN ('cancelled', 'canceled', 'refunded');

-- One row per purchased order line, with the buyer, time and product category.
CREATE VIEW purchases AS
SELECT
  o.order_id, o.customer_id, o.ordered_at, i.product_id, p.category, i.quantity, i.unit_price
FROM completed_orders o
JOIN order_items i ON i.order_id = o.order_id
LEFT JOIN products p ON p.product_id = i.product_id;
