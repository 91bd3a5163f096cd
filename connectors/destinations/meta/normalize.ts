import { CONTACT_COLUMNS } from '../../../warehouse/table-specs.ts';
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
export const RAW_COLUMNS = ['customer_id', ...CONTACT_COLUMNS] as const;

export interface NormalizeOptions {
  /** ISO alpha-2 assumed for phone numbers of customers whose country is unknown. */
  defaultCountry?: string;
}

const ws = (expr: string) => `trim(${expr}, ' ' || chr(9) || chr(10) || chr(13) || chr(160))`;
/** NULL when empty, so a missing value hashes to "" rather than sha256(""). */
const nz = (expr: string) => `nullif(${expr}, '')`;

/** SQL for a dictionary: each distinct raw value of a column, its normalised value and that value's hash. */
function dictionary(column: string, normalize: (raw: string) => string): string {
  return `SELECT raw, v, sha256(v) AS h FROM (
      SELECT raw, ${nz(normalize('raw'))} AS v FROM (SELECT DISTINCT ${column} AS raw FROM src WHERE ${column} IS NOT NULL))`;
}

/** Like dictionary(), for columns whose rule depends on the country (US states and ZIP codes). */
function countryDictionary(column: string, normalize: (raw: string, isUs: string) => string): string {
  return `SELECT raw, raw_country, v, sha256(v) AS h FROM (
      SELECT p.raw, p.raw_country, ${nz(normalize('p.raw', "coalesce(dc.v, 'us') = 'us'"))} AS v
      FROM (SELECT DISTINCT ${column} AS raw, coalesce(country, '') AS raw_country FROM src WHERE ${column} IS NOT NULL) p
      LEFT JOIN d_country dc ON dc.raw = p.raw_country)`;
}

/**
 * SQL yielding, for every row of `sourceSql` (RAW_COLUMNS), the normalised plain values
 * (customer_id, email, phone, fn, ln, ct, st, zip, country) and, for the low-cardinality keys, their hashes
 * (fn_h, ln_h, ct_h, st_h, zip_h, country_h).
 *
 * Names, city, state, zip and country repeat a lot across customers, so they are normalised and hashed once per
 * distinct value (dictionaries joined back); only email and phone are worked on per row. String functions and
 * SHA-256 dominate the cost, so this keeps a million members within seconds.
 */
export function normalizedSql(sourceSql: string, options: NormalizeOptions = {}): string {
  const defaultCountry = options.defaultCountry
    ? `'${options.defaultCountry.replace(/[^a-z]/g, '')}'`
    : 'NULL';
  const name = (raw: string) =>
    `regexp_replace(nfc_normalize(lower(${ws(raw)})), '[^\\p{L}\\p{M}]+', '', 'g')`;
  return `
  WITH src AS MATERIALIZED (
    SELECT customer_id::VARCHAR AS customer_id, email::VARCHAR AS email, phone::VARCHAR AS phone,
      first_name::VARCHAR AS first_name, last_name::VARCHAR AS last_name, city::VARCHAR AS city,
      state::VARCHAR AS state, zip::VARCHAR AS zip, country::VARCHAR AS country
    FROM (${sourceSql})
  ),
  country_alias AS (${countryAliasValuesSql()}),
  calling_codes AS (${callingCodeValuesSql()}),
  us_states AS (${usStateValuesSql()}),
  d_country AS (
    SELECT r.raw, ca.iso2 AS v, sha256(ca.iso2) AS h, cc.calling_code
    FROM (SELECT DISTINCT coalesce(country, '') AS raw FROM src) r
    LEFT JOIN country_alias ca ON ca.alias_key = ${lookupKeySql('r.raw')}
    LEFT JOIN calling_codes cc ON cc.iso2 = coalesce(ca.iso2, ${defaultCountry})
  ),
  d_fn AS (${dictionary('first_name', name)}),
  d_ln AS (${dictionary('last_name', name)}),
  d_ct AS (${dictionary('city', (raw) => `regexp_replace(lower(strip_accents(${raw})), '[^a-z]+', '', 'g')`)}),
  d_st AS (${countryDictionary(
    'state',
    (raw, isUs) =>
      `CASE WHEN ${isUs} THEN coalesce((SELECT code FROM us_states u WHERE u.state_key = ${lookupKeySql(raw)}), ${lookupKeySql(raw)})
       ELSE ${lookupKeySql(raw)} END`,
  )}),
  d_zip AS (${countryDictionary(
    'zip',
    (
      raw,
      isUs,
    ) => `CASE WHEN ${isUs} AND regexp_full_match(${ws(raw)}, '[0-9]{5}(-?[0-9]{4})?') THEN left(${ws(raw)}, 5)
       ELSE regexp_replace(lower(${raw}), '\\s+', '', 'g') END`,
  )}),
  base AS (
    SELECT s.customer_id,
      lower(${ws('s.email')}) AS email_t,
      ${ws('s.phone')} AS phone_t,
      -- "(0)" is the trunk prefix some people write inside international numbers: +44 (0)20 ...
      regexp_replace(replace(s.phone, '(0)', ''), '[^0-9]+', '', 'g') AS phone_digits,
      dc.calling_code,
      dc.v AS country, dc.h AS country_h, d_fn.v AS fn, d_fn.h AS fn_h, d_ln.v AS ln, d_ln.h AS ln_h,
      d_ct.v AS ct, d_ct.h AS ct_h, d_st.v AS st, d_st.h AS st_h, d_zip.v AS zip, d_zip.h AS zip_h
    FROM src s
    LEFT JOIN d_country dc ON dc.raw = coalesce(s.country, '')
    LEFT JOIN d_fn ON d_fn.raw = s.first_name
    LEFT JOIN d_ln ON d_ln.raw = s.last_name
    LEFT JOIN d_ct ON d_ct.raw = s.city
    LEFT JOIN d_st ON d_st.raw = s.state AND d_st.raw_country = coalesce(s.country, '')
    LEFT JOIN d_zip ON d_zip.raw = s.zip AND d_zip.raw_country = coalesce(s.country, '')
  ),
  coded AS (
    SELECT b.*, ltrim(b.phone_digits, '0') AS phone_national,
      (starts_with(b.phone_t, '+') OR starts_with(b.phone_digits, '00')) AS phone_intl
    FROM base b
  ),
  norm AS (
    SELECT *,
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
      END AS phone_full
    FROM coded
  )
  SELECT customer_id, email,
    CASE WHEN length(phone_full) BETWEEN 8 AND 15 THEN phone_full END AS phone,
    fn, ln, ct, st, zip, country, fn_h, ln_h, ct_h, st_h, zip_h, country_h
  FROM norm`;
}

/**
 * SQL yielding, per row: customer_id, usable, payload (JSON array in META_SCHEMA order, hashed) and fingerprint
 * (identifies the exact row sent). A row is usable when it has an email, a phone, or a full name with a zip or city.
 * The payload is assembled by concatenation (hashes are hex; only the id needs JSON escaping), and the fingerprint
 * is md5 over the short normalised values (they determine the hashed row): both much cheaper than on the payload.
 */
export function hashedSql(sourceSql: string, options: NormalizeOptions = {}): string {
  const dictCols = ['fn', 'ln', 'ct', 'st', 'zip', 'country'];
  const plainCols = ['email', 'phone', ...dictCols];
  const h = (col: string) =>
    dictCols.includes(col) ? `coalesce(${col}_h, '')` : `coalesce(sha256(${col}), '')`;
  return `
  SELECT customer_id,
    (email IS NOT NULL OR phone IS NOT NULL
      OR (fn IS NOT NULL AND ln IS NOT NULL AND (zip IS NOT NULL OR ct IS NOT NULL))) AS usable,
    '[' || to_json(customer_id)::VARCHAR || ',"' || ${plainCols.map(h).join(` || '","' || `)} || '"]' AS payload,
    md5(concat_ws(chr(31), ${plainCols.map((c) => `coalesce(${c}, '')`).join(', ')})) AS fingerprint
  FROM (${normalizedSql(sourceSql, options)})`;
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
