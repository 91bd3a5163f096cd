-- When each customer version was first seen (its version time then: updated_at, else the export time). A version
-- read again from a file dated only by its modification time (a restored or copied old export) keeps this time,
-- so an old record never looks newer than it is and never outranks a later withdrawal. NULL for versions loaded
-- before this column existed: those fall back to the modification time, as before.
ALTER TABLE customer_versions ADD COLUMN first_seen_at TIMESTAMP;
