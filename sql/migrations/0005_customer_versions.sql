-- Which version of a customer record is stored, so older data never overrides newer (consent above all).
--   updated_at:  the record's own update time, when the export has one (an `updated_at` column)
--   exported_at: the export time of the file the stored version came from (a date/time in its name, else its
--                modification time)
ALTER TABLE customers ADD COLUMN updated_at TIMESTAMP;
ALTER TABLE customers ADD COLUMN exported_at TIMESTAMP;

-- Fingerprints (md5 of the loaded values) of every customer version ever loaded: a re-read of an old file,
-- even a copy with a new modification time, is recognised and never grants consent that a later version
-- withdrew. Purged with the customer by `retarget forget`. No key: rows are only added when new (an anti-join),
-- which loads faster than maintaining an index.
CREATE TABLE customer_versions (
  customer_id VARCHAR NOT NULL,
  fingerprint VARCHAR NOT NULL
);
