-- events.event_key holds only the key of an event without an event_id (`h:` + an MD5 of every field); for an
-- event with one it is NULL (issue 13). An event's identity is COALESCE(event_id, event_key) (warehouse/merge.ts).
-- Repeating the event_id there made the first load's write half as slow again: on the scale-1 bench store
-- (20M events, all with an event_id) a bare CREATE TABLE AS of the events took 31-33 s, 47-55 s with the copy.
-- Rows loaded before keep their copy of the event_id, which gives the same identity: nothing is rewritten.
ALTER TABLE events ALTER COLUMN event_key DROP NOT NULL;
