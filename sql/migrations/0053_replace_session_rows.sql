-- The rows an open replace session (Meta's usersreplace: --full-refresh) sent and the destination acknowledged, per
-- audience. A destination applies a replace only when the session's last batch arrives; until then it keeps its old
-- membership, so destination_members keeps the old rows (plus these, which it may hold once the session ends) and
-- becomes exactly these rows when the last batch is acknowledged (connectors/destinations/sync-state.ts). A replace
-- interrupted and resumed continues from them, so nothing acknowledged is sent twice.
CREATE TABLE destination_replace_rows (
  destination VARCHAR NOT NULL,
  audience    VARCHAR NOT NULL,
  customer_id VARCHAR NOT NULL USING COMPRESSION fsst,
  fingerprint VARCHAR NOT NULL USING COMPRESSION fsst,
  payload     VARCHAR,
  synced_at   TIMESTAMP NOT NULL
);

-- A replace an older version left open kept only the rows its session had sent (it dropped the old membership at
-- the first batch): those rows are the session's, so a resume continues from them instead of sending them again.
INSERT INTO destination_replace_rows
SELECT dm.destination, dm.audience, dm.customer_id, dm.fingerprint, dm.payload, dm.synced_at
FROM destination_members dm
WHERE dm.destination = 'meta' AND dm.audience IN (
  SELECT audience FROM (
    SELECT audience, bool_or(last_batch) AS finished,
      row_number() OVER (PARTITION BY audience ORDER BY min(session_started_at) DESC) AS latest
    FROM meta_sync_batches WHERE action = 'replace' GROUP BY audience, session_id
  ) WHERE latest = 1 AND NOT finished
);
