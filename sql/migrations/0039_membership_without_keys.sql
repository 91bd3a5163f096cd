-- audience_members and destination_members without primary-key indexes (issue 13). Both are written only as
-- diffs computed in one set-based query per run (audiences/membership.ts, plans/), which already yield one row per
-- key, so the index enforced nothing the writers do not; but in DuckDB 1.5 it made every delete cost about 0.1 ms a
-- row and every commit re-serialise the whole index: on the scale-1 bench store (1.33M members) deleting 60,000
-- rows took 2.4 s plus 2.4 s to commit with the key, 0.08 s plus 0.01 s without. The key columns stay NOT NULL.

CREATE TABLE audience_members_0039 (
  audience    VARCHAR NOT NULL,
  segment     VARCHAR NOT NULL,
  customer_id VARCHAR NOT NULL,
  entered_at  TIMESTAMP NOT NULL,
  attributes  JSON,
  side        VARCHAR DEFAULT 'exposed'
);
INSERT INTO audience_members_0039 BY NAME SELECT * FROM audience_members;
DROP TABLE audience_members;
ALTER TABLE audience_members_0039 RENAME TO audience_members;

CREATE TABLE destination_members_0039 (
  destination VARCHAR NOT NULL,
  audience    VARCHAR NOT NULL,
  customer_id VARCHAR NOT NULL,
  fingerprint VARCHAR NOT NULL,
  payload     VARCHAR,
  synced_at   TIMESTAMP NOT NULL
);
INSERT INTO destination_members_0039 BY NAME SELECT * FROM destination_members;
DROP TABLE destination_members;
ALTER TABLE destination_members_0039 RENAME TO destination_members;
