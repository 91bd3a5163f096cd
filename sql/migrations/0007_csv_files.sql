-- The CSV destination's own records.
--
-- database_identity: one random id per database file, written into the audience folder the database owns
-- (`.retarget-owner`), so a second database refuses to write into it instead of overwriting its files.
CREATE TABLE database_identity (
  database_id VARCHAR PRIMARY KEY,
  created_at  TIMESTAMP NOT NULL
);
INSERT INTO database_identity VALUES (CAST(uuid() AS VARCHAR), now()::TIMESTAMP);

-- csv_files: each audience file as last written (path, size, modification time, content hash), so a file
-- changed or deleted outside retarget is noticed and rewritten at the next sync.
CREATE TABLE csv_files (
  audience   VARCHAR PRIMARY KEY,
  path       VARCHAR NOT NULL,
  size       BIGINT NOT NULL,
  mtime_ns   BIGINT NOT NULL,
  sha256     VARCHAR NOT NULL,
  run_id     VARCHAR NOT NULL,
  written_at TIMESTAMP NOT NULL
);
