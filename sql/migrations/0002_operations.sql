-- Operations: data-protection requests (retarget forget). See docs/operations.md.

-- Who must never come back. Only SHA-256 hashes are kept (never the raw id or email), so a later load of old
-- files can recognise and drop the person's rows without the database holding their identity.
--   kind 'customer_id': sha256(customer_id)
--   kind 'email':       sha256(lower(trim(email)))
--   kind 'order_id':    sha256(order_id) of their orders, so old order_items files are dropped too
CREATE TABLE forgotten_customers (
  kind         VARCHAR NOT NULL,
  hash         VARCHAR NOT NULL,
  request_id   VARCHAR NOT NULL,
  forgotten_at TIMESTAMP NOT NULL,
  PRIMARY KEY (kind, hash)
);

-- One row per `retarget forget` request: what was removed, when it reached the destinations. No PII.
CREATE TABLE forget_requests (
  request_id   VARCHAR PRIMARY KEY,
  requested_at TIMESTAMP NOT NULL,
  subject_kind VARCHAR NOT NULL,   -- 'customer_id' | 'email'
  subject_hash VARCHAR NOT NULL,
  customers    BIGINT NOT NULL,    -- customer rows matched
  rows_deleted JSON,               -- per table
  synced_at    TIMESTAMP           -- when a sync removed them from destinations (--sync or the next run)
);
