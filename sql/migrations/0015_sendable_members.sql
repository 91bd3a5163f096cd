-- The one consent rule, in one place: the audience members a destination may receive, with the contact fields it
-- normalises or exports. Every destination reads its desired rows from here, never from audience_members directly.
CREATE VIEW sendable_members AS
SELECT m.audience, m.segment, m.customer_id, m.attributes,
       c.email, c.phone, c.first_name, c.last_name, c.city, c.state, c.zip, c.country
FROM audience_members m JOIN customers c ON c.customer_id = m.customer_id
WHERE c.ads_consent;
