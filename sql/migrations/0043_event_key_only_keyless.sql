-- events.event_key holds only the key of an event without an event_id (`h:` + an MD5 of every field); for an
-- event with one it is NULL (issue 13). An event's identity is COALESCE(event_id, event_key) (warehouse/merge.ts).
-- Repeating the event_id there made the first load's write half as slow again: on the scale-1 bench store
-- (20M events, all with an event_id) a bare CREATE TABLE AS of the events took 31-33 s, 47-55 s with the copy.
-- Rows loaded before keep their copy of the event_id, which gives the same identity.
--
-- event_id and session_id are stored FSST-compressed without DuckDB first trying a dictionary on every segment:
-- nearly every value is distinct, so the dictionary never wins (at scale 1 every one of their segments ended FSST
-- anyway), and trying it cost the write of 20M events 29.4-29.8 s -> 24.9-26.5 s wall (58 -> 49-52 CPU s), the
-- same file size. The other text columns keep DuckDB's choice (event names, sources and categories repeat).
-- A column's compression is fixed when its table is created: the events are copied once into the new table.
CREATE TABLE events_0043 (
  event_id     VARCHAR USING COMPRESSION fsst,
  customer_id  VARCHAR,
  anonymous_id VARCHAR,
  session_id   VARCHAR USING COMPRESSION fsst,
  event_name   VARCHAR NOT NULL,
  product_id   VARCHAR,
  category     VARCHAR,
  occurred_at  TIMESTAMP NOT NULL,
  event_count  INTEGER NOT NULL DEFAULT 1,
  source       VARCHAR,
  event_key    VARCHAR
);
INSERT INTO events_0043 BY NAME SELECT * FROM events;
DROP TABLE events;
ALTER TABLE events_0043 RENAME TO events;
