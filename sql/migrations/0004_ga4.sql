-- Google Analytics 4 source: incremental state (connectors/sources/ga4).

-- Data API: per property and report definition, the last day pulled. The next run re-pulls a trailing window
-- ending there (GA4 restates recent days) and replaces those days' rows.
CREATE TABLE ga4_sync_state (
  property_id    VARCHAR NOT NULL,
  report         VARCHAR NOT NULL,
  pulled_through DATE NOT NULL,
  updated_at     TIMESTAMP NOT NULL,
  run_id         VARCHAR,
  PRIMARY KEY (property_id, report)
);

-- BigQuery export: one row per daily (or intraday) table date loaded. Tables within the re-read window of the
-- newest loaded date are read again each run and replace their earlier rows.
CREATE TABLE ga4_export_tables (
  table_date    DATE PRIMARY KEY,
  kind          VARCHAR NOT NULL,
  files         VARCHAR NOT NULL,
  rows_read     BIGINT NOT NULL,
  rows_loaded   BIGINT NOT NULL,
  rows_rejected BIGINT NOT NULL,
  loaded_at     TIMESTAMP NOT NULL,
  run_id        VARCHAR
);
