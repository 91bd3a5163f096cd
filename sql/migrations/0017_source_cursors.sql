-- Incremental cursors of every source in one table (connectors/sources/cursors.ts), so a new source needs no
-- migration of its own for its cursor. A cursor's value sorts in its order (ISO dates) and never moves backwards.
CREATE TABLE source_cursors (
  source     VARCHAR NOT NULL,
  cursor_key VARCHAR NOT NULL,
  value      VARCHAR NOT NULL,
  updated_at TIMESTAMP NOT NULL,
  run_id     VARCHAR,
  PRIMARY KEY (source, cursor_key)
);

-- GA4's Data API progress moves here (key: property id / report); ga4_sync_state stays readable as a view.
INSERT INTO source_cursors
SELECT 'ga4', property_id || '/' || report, strftime(pulled_through, '%Y-%m-%d'), updated_at, run_id
FROM ga4_sync_state;
DROP TABLE ga4_sync_state;
CREATE VIEW ga4_sync_state AS
SELECT split_part(cursor_key, '/', 1) AS property_id,
       substr(cursor_key, strpos(cursor_key, '/') + 1) AS report,
       CAST(value AS DATE) AS pulled_through, updated_at, run_id
FROM source_cursors WHERE source = 'ga4';
