-- Holdouts (docs/metrics.md, "Holdouts and lift"): a share of an audience's members is kept back from every
-- destination, so what the audience's ads changed can be measured against people who saw none.

-- The salt of the split, generated once when this database file is created (migrated) and never changed: a
-- member's side depends only on (salt, audience, customer_id), so the same people are held out night after night,
-- and another store's file splits its customers differently.
CREATE TABLE holdout_salt (salt VARCHAR NOT NULL);
INSERT INTO holdout_salt SELECT gen_random_uuid()::VARCHAR;

-- The side of each member ('exposed' or 'holdout'), and of each stay in the history (a stay has one side).
ALTER TABLE audience_members ADD COLUMN side VARCHAR DEFAULT 'exposed';
ALTER TABLE audience_membership_history ADD COLUMN side VARCHAR DEFAULT 'exposed';

-- The one consent rule of 0015, unchanged, plus: held-out members never leave for any destination (every
-- destination's desired rows, audience size, shrink guard and sync counts read this view).
CREATE OR REPLACE VIEW sendable_members AS
SELECT m.audience, m.segment, m.customer_id, m.attributes,
       c.email, c.phone, c.first_name, c.last_name, c.city, c.state, c.zip, c.country
FROM audience_members m JOIN customers c ON c.customer_id = m.customer_id
WHERE c.ads_consent AND m.side = 'exposed';
