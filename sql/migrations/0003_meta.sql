-- Meta Custom Audiences destination: per-batch upload log and per-audience sync locks.

-- One row per batch Meta acknowledged. Sessions (session_id) group the batches of one upload; a replace
-- session with no last_batch row was interrupted and is resumed (or redone) by the next run.
CREATE TABLE meta_sync_batches (
  run_id                VARCHAR NOT NULL,
  audience              VARCHAR NOT NULL,
  external_id           VARCHAR NOT NULL,
  action                VARCHAR NOT NULL,   -- 'add' | 'remove' | 'replace'
  session_id            BIGINT NOT NULL,
  batch_seq             INTEGER NOT NULL,
  last_batch            BOOLEAN NOT NULL,
  rows_sent             INTEGER NOT NULL,
  num_received          BIGINT,
  num_invalid_entries   BIGINT NOT NULL DEFAULT 0,
  invalid_entry_samples JSON,
  session_started_at    TIMESTAMP NOT NULL,
  acknowledged_at       TIMESTAMP NOT NULL
);

-- Two runs never sync the same audience at once: a run holds this row while it syncs the audience.
CREATE TABLE destination_locks (
  destination  VARCHAR NOT NULL,
  audience     VARCHAR NOT NULL,
  run_id       VARCHAR NOT NULL,
  host         VARCHAR NOT NULL,
  pid          INTEGER NOT NULL,
  locked_at    TIMESTAMP NOT NULL,
  heartbeat_at TIMESTAMP NOT NULL,
  PRIMARY KEY (destination, audience)
);
