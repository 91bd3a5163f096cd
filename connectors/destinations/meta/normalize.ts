import { callingCodeValuesSql, countryAliasValuesSql, lookupKeySql, usStateValuesSql } from './countries.ts';

/**
 * Meta's customer-file normalisation and hashing, as one set-based DuckDB query over all members.
 * Rules (Meta "customer list" hashing guide, /work/shared/reference/ad-platforms.md):
 * EMAIL trim + lowercase · PHONE digits only, no leading zeros, with country calling code · FN/LN lowercase,
 * no punctuation or spaces, letters kept in UTF-8 (NFC) · CT lowercase a-z only · ST US: 2-letter code, else a-z only
 * · ZIP lowercase without spaces, US: first 5 digits · COUNTRY ISO 3166-1 alpha-2 lowercase · EXTERN_ID not hashed.
 */
export const META_SCHEMA = ['EXTERN_ID', 'EMAIL', 'PHONE', 'FN', 'LN', 'CT', 'ST', 'ZIP', 'COUNTRY'] as const;

/** Columns a raw source query must yield (all VARCHAR; NULLs allowed). */
export const RAW_COLUMNS = [
  'customer_id',
  'email',
  'phone',
  'first_name',
  'last_name',
  'city',
  'state',
  'zip',
  'country',
] as const;

export interface NormalizeOptions {
  /** ISO alpha-2 assumed for phone numbers of customers whose country is unknown. */
  defaultCountry?: string;
}

const ws = (expr: string) => `trim(${expr}, ' ' || chr(9) || chr(10) || chr(13) || chr(160))`;
/** NULL when empty, so a missing value hashes to "" rather than sha256(""). */
const nz = (expr: string) => `nullif(${expr}, '')`;

/**
 * SQL yielding, for every row of `sourceSql` (RAW_COLUMNS), the normalised plain values
 * (customer_id, email, phone, fn, ln, ct, st, zip, country) and `usable` (enough to match a person).
 */
export function normalizedSql(sourceSql: string, options: NormalizeOptions = {}): string {
  const defaultCountry = options.defaultCountry
    ? `'${options.defaultCountry.replace(/[^a-z]/g, '')}'`
    : 'NULL';
  return `
  WITH src AS (${sourceSql}),
  country_alias AS (${countryAliasValuesSql()}),
  calling_codes AS (${callingCodeValuesSql()}),
  us_states AS (${usStateValuesSql()}),
  base AS (
    SELECT
      s.customer_id::VARCHAR AS customer_id,
      lower(${ws('s.email::VARCHAR')}) AS email_t,
      ${ws('s.phone::VARCHAR')} AS phone_t,
      -- "(0)" is the trunk prefix some people write inside international numbers: +44 (0)20 ...
      regexp_replace(replace(s.phone::VARCHAR, '(0)', ''), '[^0-9]', '', 'g') AS phone_digits,
      nfc_normalize(lower(${ws('s.first_name::VARCHAR')})) AS fn_t,
      nfc_normalize(lower(${ws('s.last_name::VARCHAR')})) AS ln_t,
      regexp_replace(lower(strip_accents(s.city::VARCHAR)), '[^a-z]', '', 'g') AS ct_t,
      ${lookupKeySql('s.state::VARCHAR')} AS st_key,
      regexp_replace(lower(s.zip::VARCHAR), '\\s', '', 'g') AS zip_t,
      ca.iso2 AS country
    FROM src s
    LEFT JOIN country_alias ca ON ca.alias_key = ${lookupKeySql('s.country::VARCHAR')}
  ),
  coded AS (
    SELECT b.*, cc.calling_code,
      ltrim(b.phone_digits, '0') AS phone_national,
      (starts_with(b.phone_t, '+') OR starts_with(b.phone_digits, '00')) AS phone_intl
    FROM base b
    LEFT JOIN calling_codes cc ON cc.iso2 = coalesce(b.country, ${defaultCountry})
  ),
  norm AS (
    SELECT
      customer_id,
      CASE WHEN regexp_full_match(email_t, '[^@\\s]+@[^@\\s]+\\.[^@\\s]+') THEN email_t END AS email,
      CASE
        WHEN phone_national IS NULL OR phone_national = '' THEN NULL
        -- written with + or 00: already international
        WHEN phone_intl THEN phone_national
        -- no known country: only numbers long enough to carry a calling code already
        WHEN calling_code IS NULL THEN CASE WHEN length(phone_national) >= 11 THEN phone_national END
        -- North American Numbering Plan: 10 national digits, or 11 starting with 1
        WHEN calling_code = '1' THEN CASE
          WHEN length(phone_national) = 10 THEN '1' || phone_national
          WHEN length(phone_national) = 11 AND starts_with(phone_national, '1') THEN phone_national END
        -- a trunk prefix 0 marks a national number
        WHEN starts_with(phone_digits, '0') THEN calling_code || phone_national
        -- digits already starting with the calling code and long enough to hold a subscriber number
        WHEN starts_with(phone_national, calling_code) AND length(phone_national) - length(calling_code) >= 8
          THEN phone_national
        ELSE calling_code || phone_national
      END AS phone_full,
      ${nz("regexp_replace(fn_t, '[^\\p{L}\\p{M}]', '', 'g')")} AS fn,
      ${nz("regexp_replace(ln_t, '[^\\p{L}\\p{M}]', '', 'g')")} AS ln,
      ${nz('ct_t')} AS ct,
      ${nz("CASE WHEN coalesce(country, 'us') = 'us' THEN coalesce((SELECT code FROM us_states u WHERE u.state_key = st_key), st_key) ELSE st_key END")} AS st,
      ${nz("CASE WHEN coalesce(country, 'us') = 'us' AND regexp_full_match(zip_t, '[0-9]{5}(-?[0-9]{4})?') THEN left(zip_t, 5) ELSE zip_t END")} AS zip,
      country
    FROM coded
  )
  SELECT customer_id, email,
    CASE WHEN length(phone_full) BETWEEN 8 AND 15 THEN phone_full END AS phone,
    fn, ln, ct, st, zip, country
  FROM norm`;
}

const h = (col: string) => `coalesce(sha256(${col}), '')`;

/**
 * SQL yielding, per row: customer_id, usable, payload (JSON array in META_SCHEMA order, hashed) and fingerprint
 * (identifies the exact row sent). A row is usable when it has an email, a phone, or a full name with a zip or city.
 */
export function hashedSql(sourceSql: string, options: NormalizeOptions = {}): string {
  return `
  WITH n AS (${normalizedSql(sourceSql, options)}),
  hashed AS (
    SELECT customer_id,
      (email IS NOT NULL OR phone IS NOT NULL
        OR (fn IS NOT NULL AND ln IS NOT NULL AND (zip IS NOT NULL OR ct IS NOT NULL))) AS usable,
      [customer_id, ${h('email')}, ${h('phone')}, ${h('fn')}, ${h('ln')}, ${h('ct')}, ${h('st')}, ${h('zip')}, ${h('country')}] AS row
    FROM n
  )
  SELECT customer_id, usable, to_json(row)::VARCHAR AS payload, sha256(array_to_string(row, '|')) AS fingerprint
  FROM hashed`;
}

/** Raw contact fields of an audience's consented members ($1 = audience). No customers row means not sent. */
export function audienceSourceSql(audienceParam = '$1'): string {
  return `SELECT c.customer_id, c.email, c.phone, c.first_name, c.last_name, c.city, c.state, c.zip, c.country
    FROM audience_members m JOIN customers c ON c.customer_id = m.customer_id
    WHERE m.audience = ${audienceParam} AND c.ads_consent`;
}

/** Desired rows for buildPlan: (customer_id, fingerprint, payload) of usable consented members ($1 = audience). */
export function metaDesiredSql(options: NormalizeOptions = {}): string {
  return `SELECT customer_id, fingerprint, payload FROM (${hashedSql(audienceSourceSql('$1'), options)}) WHERE usable`;
}

/** Counts consented members ($1 = audience) with no usable identifier. */
export function metaUnmatchableSql(options: NormalizeOptions = {}): string {
  return `SELECT count(*) AS n FROM (${hashedSql(audienceSourceSql('$1'), options)}) WHERE NOT usable`;
}
