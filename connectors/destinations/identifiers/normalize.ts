import { sqlIdent, sqlString } from '../../../warehouse/values.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';
import { createTempVarcharTable } from './bulk.ts';
import { countryKeys, lookupKeySql } from './countries.ts';
import { createPhoneTable, dropOrphanPhones } from './phones.ts';
import { usStateKeys } from './regions.ts';

/**
 * Platform-independent normalisation of customer identifiers, set-based in DuckDB. Every destination starts from
 * these plain values and applies only its own output rules (formats, hashing) on top:
 * email trim + lowercase (not an address = NULL) · phone E.164 with "+" (libphonenumber-js, see phones.ts) ·
 * fn/ln lowercase, no punctuation or spaces, letters kept in UTF-8 (NFC) · ct lowercase a-z only ·
 * st US: 2-letter code, else a-z only · zip lowercase without spaces, US: first 5 digits ·
 * country ISO 3166-1 alpha-2 lowercase (names in many languages, alpha-3 codes, aliases; see countries.ts).
 */
export interface IdentifierOptions {
  /** ISO alpha-2 assumed for phone numbers of customers whose country is unknown. */
  defaultCountry?: string;
}

const ws = (expr: string) => `trim(${expr}, ' ' || chr(9) || chr(10) || chr(13) || chr(160))`;
/** NULL when empty, so a missing value hashes to "" rather than sha256(""). */
const nz = (expr: string) => `nullif(${expr}, '')`;

let tableCounter = 0;

/**
 * Creates TEMP TABLE `target` holding, for every row of `sourceSql` (customer_id and the contact columns, `params`
 * bound), its normalised identifiers: customer_id, email, phone, fn, ln, ct, st, zip, country, and fn_h ...
 * country_h, the SHA-256 hex of those plain values (NULL when the value is NULL). Phones come from phone_numbers,
 * where a (number, country) pair is parsed in JS only the first time it is seen; everything else stays in SQL.
 * Ends by deleting the phone_numbers entries of numbers no customer has any more.
 */
export async function createIdentifierTable(
  wh: Warehouse,
  target: string,
  sourceSql: string,
  params: readonly unknown[] = [],
  options: IdentifierOptions = {},
): Promise<void> {
  const t = `identifiers_${process.pid}_${++tableCounter}`;
  const tables = {
    src: `${t}_src`,
    countries: `${t}_countries`,
    states: `${t}_states`,
    dc: `${t}_dc`,
    phones: `${t}_phones`,
    cc: `${t}_cc`,
  };
  const id = (k: keyof typeof tables) => sqlIdent(tables[k]);
  const defaultCountry = sqlString((options.defaultCountry ?? '').toLowerCase().replace(/[^a-z]/g, ''));
  try {
    await wh.run(
      `CREATE TEMP TABLE ${id('src')} AS SELECT customer_id::VARCHAR AS customer_id, email::VARCHAR AS email,
         phone::VARCHAR AS phone, first_name::VARCHAR AS first_name, last_name::VARCHAR AS last_name,
         city::VARCHAR AS city, state::VARCHAR AS state, zip::VARCHAR AS zip, coalesce(country::VARCHAR, '') AS country
       FROM (${sourceSql})`,
      params,
    );
    await createTempVarcharTable(wh, tables.countries, ['alias_key', 'iso2'], countryKeys());
    await createTempVarcharTable(wh, tables.states, ['state_key', 'code'], usStateKeys());
    // Each distinct country spelling once; `phone_country` is the country phones are read in ('' = unknown).
    await wh.run(
      `CREATE TEMP TABLE ${id('dc')} AS
       SELECT r.raw, c.iso2 AS v, sha256(c.iso2) AS h, coalesce(c.iso2, ${defaultCountry}) AS phone_country
       FROM (SELECT DISTINCT country AS raw FROM ${id('src')}) r
       LEFT JOIN ${id('countries')} c ON c.alias_key = ${lookupKeySql('r.raw')}`,
    );
    await createPhoneTable(
      wh,
      tables.phones,
      `SELECT DISTINCT s.phone AS raw, dc.phone_country AS country
       FROM ${id('src')} s JOIN ${id('dc')} dc ON dc.raw = s.country WHERE ${ws('s.phone')} <> ''`,
    );
    await wh.run(`CREATE OR REPLACE TEMP TABLE ${sqlIdent(target)} AS ${identifiersSql(id)}`);
    await dropOrphanPhones(wh, await customerPhonesSql(wh, tables.cc, tables.countries));
  } finally {
    for (const name of Object.values(tables)) await wh.run(`DROP TABLE IF EXISTS ${sqlIdent(name)}`);
  }
}

/**
 * Every customer's stored phone and the ISO alpha-2 of their country (NULL when unrecognised), as SQL; creates
 * the table of customer country spellings `cc` it joins.
 */
async function customerPhonesSql(wh: Warehouse, cc: string, countries: string): Promise<string> {
  await wh.run(
    `CREATE TEMP TABLE ${sqlIdent(cc)} AS
     SELECT r.raw, k.iso2 FROM (SELECT DISTINCT coalesce(country, '') AS raw FROM customers) r
     LEFT JOIN ${sqlIdent(countries)} k ON k.alias_key = ${lookupKeySql('r.raw')}`,
  );
  return `SELECT c.phone, cc.iso2 AS country FROM customers c
    JOIN ${sqlIdent(cc)} cc ON cc.raw = coalesce(c.country, '') WHERE c.phone IS NOT NULL`;
}

/** SQL for a dictionary: each distinct raw value of a column, its normalised value and that value's hash. */
function dictionary(src: string, column: string, normalize: (raw: string) => string): string {
  return `SELECT raw, v, sha256(v) AS h FROM (
      SELECT raw, ${nz(normalize('raw'))} AS v FROM (SELECT DISTINCT ${column} AS raw FROM ${src} WHERE ${column} IS NOT NULL))`;
}

/** Like dictionary(), for columns whose rule depends on the country (US states and ZIP codes). */
function countryDictionary(
  src: string,
  dc: string,
  column: string,
  normalize: (raw: string, isUs: string) => string,
): string {
  return `SELECT raw, raw_country, v, sha256(v) AS h FROM (
      SELECT p.raw, p.raw_country, ${nz(normalize('p.raw', "coalesce(dc.v, 'us') = 'us'"))} AS v
      FROM (SELECT DISTINCT ${column} AS raw, country AS raw_country FROM ${src} WHERE ${column} IS NOT NULL) p
      LEFT JOIN ${dc} dc ON dc.raw = p.raw_country)`;
}

/**
 * The identifier rows. Names, city, state, zip and country repeat a lot across customers, so they are normalised
 * and hashed once per distinct value (dictionaries joined back); only email is worked on per row.
 */
function identifiersSql(id: (k: 'src' | 'states' | 'dc' | 'phones') => string): string {
  const [src, dc] = [id('src'), id('dc')];
  const name = (raw: string) =>
    `regexp_replace(nfc_normalize(lower(${ws(raw)})), '[^\\p{L}\\p{M}]+', '', 'g')`;
  const state = (raw: string, isUs: string) =>
    `CASE WHEN ${isUs} THEN coalesce((SELECT code FROM ${id('states')} u WHERE u.state_key = ${lookupKeySql(raw)}), ${lookupKeySql(raw)})
     ELSE ${lookupKeySql(raw)} END`;
  const zip = (raw: string, isUs: string) =>
    `CASE WHEN ${isUs} AND regexp_full_match(${ws(raw)}, '[0-9]{5}(-?[0-9]{4})?') THEN left(${ws(raw)}, 5)
     ELSE regexp_replace(lower(${raw}), '\\s+', '', 'g') END`;
  return `
  WITH d_fn AS (${dictionary(src, 'first_name', name)}),
  d_ln AS (${dictionary(src, 'last_name', name)}),
  d_ct AS (${dictionary(src, 'city', (raw) => `regexp_replace(lower(strip_accents(${raw})), '[^a-z]+', '', 'g')`)}),
  d_st AS (${countryDictionary(src, dc, 'state', state)}),
  d_zip AS (${countryDictionary(src, dc, 'zip', zip)}),
  base AS (
    SELECT s.customer_id, lower(${ws('s.email')}) AS email_t, p.e164 AS phone,
      d_fn.v AS fn, d_ln.v AS ln, d_ct.v AS ct, d_st.v AS st, d_zip.v AS zip, dc.v AS country,
      d_fn.h AS fn_h, d_ln.h AS ln_h, d_ct.h AS ct_h, d_st.h AS st_h, d_zip.h AS zip_h, dc.h AS country_h
    FROM ${src} s
    JOIN ${dc} dc ON dc.raw = s.country
    LEFT JOIN ${id('phones')} p ON p.raw = s.phone AND p.country = dc.phone_country
    LEFT JOIN d_fn ON d_fn.raw = s.first_name
    LEFT JOIN d_ln ON d_ln.raw = s.last_name
    LEFT JOIN d_ct ON d_ct.raw = s.city
    LEFT JOIN d_st ON d_st.raw = s.state AND d_st.raw_country = s.country
    LEFT JOIN d_zip ON d_zip.raw = s.zip AND d_zip.raw_country = s.country
  )
  SELECT customer_id,
    CASE WHEN regexp_full_match(email_t, '[^@\\s]+@[^@\\s]+\\.[^@\\s]+') THEN email_t END AS email,
    phone, fn, ln, ct, st, zip, country, fn_h, ln_h, ct_h, st_h, zip_h, country_h
  FROM base`;
}
