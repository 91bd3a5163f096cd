-- Phone numbers parsed to E.164, so a night parses (libphonenumber-js, in JS) only numbers it has never seen.
--   phone:   the number exactly as stored in customers.phone (raw PII: an entry lives only while some customer
--            has that number; erasure and every normalisation delete the others)
--   country: ISO alpha-2 (lowercase) the number was read in: the customer's country, else the destination's
--            default country, '' for none
--   e164:    the result ("+390612345678"), NULL when it cannot be a phone number
--   parser:  the library, version and metadata flavour that parsed it; another one re-parses
CREATE TABLE phone_numbers (
  phone     VARCHAR NOT NULL,
  country   VARCHAR NOT NULL,
  e164      VARCHAR,
  parser    VARCHAR NOT NULL,
  parsed_at TIMESTAMP NOT NULL,
  PRIMARY KEY (phone, country)
);
