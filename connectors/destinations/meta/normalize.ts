import { sqlIdent } from '../../../warehouse/values.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';
import { createIdentifierTable, type IdentifierOptions } from '../identifiers/normalize.ts';

/**
 * Meta's customer-file rows: the shared identifiers (connectors/destinations/identifiers) in Meta's formats,
 * SHA-256 hashed (Meta "customer list" hashing guide). Only what is Meta's own lives here: the schema, the PHONE
 * format and the row assembly. EXTERN_ID is the SHA-256 of customer_id too (a store's id may be an e-mail, a guest's
 * is `guest:<email>`); a missing value is sent as "".
 */
export const META_SCHEMA = ['EXTERN_ID', 'EMAIL', 'PHONE', 'FN', 'LN', 'CT', 'ST', 'ZIP', 'COUNTRY'] as const;

export type NormalizeOptions = IdentifierOptions;

/**
 * Meta's value per hashed key, as SQL over the identifier columns. PHONE: Meta wants the E.164 digits without
 * the "+" (+390612345678 -> 390612345678); the others are the shared values as they are.
 */
const META_VALUES = {
  EMAIL: 'email',
  PHONE: "ltrim(phone, '+')",
  FN: 'fn',
  LN: 'ln',
  CT: 'ct',
  ST: 'st',
  ZIP: 'zip',
  COUNTRY: 'country',
} as const;

/** Shared values hashed once per distinct value already (column `<name>_h`): used when Meta sends them as they are. */
const PREHASHED = new Set(['fn', 'ln', 'ct', 'st', 'zip', 'country']);

/**
 * Part of every fingerprint, naming how the row is built. Rows confirmed when EXTERN_ID was still sent raw have
 * fingerprints without it, so the next diff removes each of them (by its stored payload, raw id included) and adds
 * its hashed row: a one-time re-send of every member that cleans the raw ids out of Meta and destination_members.
 */
const ROW_FORMAT = 'extern_id=sha256';

let tableCounter = 0;

/**
 * Creates TEMP TABLE `target` with, per row of `sourceSql` (customer_id and the contact columns, `params` bound):
 * customer_id, usable, payload (JSON array in META_SCHEMA order, hashed) and fingerprint (identifies the exact row
 * sent). A row is usable when it has an email, a phone, or a full name with a zip or city.
 */
export async function createMetaRows(
  wh: Warehouse,
  target: string,
  sourceSql: string,
  params: readonly unknown[] = [],
  options: NormalizeOptions = {},
): Promise<void> {
  const ids = `meta_identifiers_${process.pid}_${++tableCounter}`;
  try {
    await createIdentifierTable(wh, ids, sourceSql, params, options);
    await wh.run(`CREATE OR REPLACE TEMP TABLE ${sqlIdent(target)} AS ${metaRowsSql(sqlIdent(ids))}`);
  } finally {
    await wh.run(`DROP TABLE IF EXISTS ${sqlIdent(ids)}`);
  }
}

/**
 * The payload is assembled by concatenation (every value is a hex hash, nothing needs JSON escaping), and the
 * fingerprint is md5 over the short plain values (with customer_id, the row key, they determine the hashed row):
 * both much cheaper than on the payload.
 */
function metaRowsSql(identifiers: string): string {
  const keys = Object.keys(META_VALUES) as Array<keyof typeof META_VALUES>;
  const hashed = (k: keyof typeof META_VALUES) => {
    const value = META_VALUES[k];
    return `coalesce(${PREHASHED.has(value) ? `${value}_h` : `sha256(${value})`}, '')`;
  };
  // EXTERN_ID hashed too (an id may be an e-mail): Meta does not require it but accepts it, and recommends it.
  return `
  SELECT customer_id,
    (email IS NOT NULL OR phone IS NOT NULL
      OR (fn IS NOT NULL AND ln IS NOT NULL AND (zip IS NOT NULL OR ct IS NOT NULL))) AS usable,
    '["' || sha256(customer_id) || '","' || ${keys.map(hashed).join(` || '","' || `)} || '"]' AS payload,
    md5(concat_ws(chr(31), '${ROW_FORMAT}', ${keys.map((k) => `coalesce(${META_VALUES[k]}, '')`).join(', ')})) AS fingerprint
  FROM ${identifiers}`;
}

/** Raw contact fields of an audience's consented members ($1 = audience). No customers row means not sent. */
export function audienceSourceSql(audienceParam = '$1'): string {
  return `SELECT customer_id, email, phone, first_name, last_name, city, state, zip, country
    FROM sendable_members WHERE audience = ${audienceParam}`;
}
