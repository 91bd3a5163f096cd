import { sqlIdent } from '../../../warehouse/values.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';
import { googleEmailSql } from '../identifiers/google.ts';
import { createIdentifierTable, type IdentifierOptions } from '../identifiers/normalize.ts';

/**
 * Customer Match members as the Data Manager API takes them: per consented audience member, its UserData
 * identifiers as JSON (`[{"emailAddress":…},{"phoneNumber":…},{"address":{…}}]`), built set-based in DuckDB:
 * email in Google's form (identifiers/google.ts) and the E.164 phone WITH its "+", SHA-256 lowercase hex; the
 * address only when given name, family name, region code and postal code are all known (Google rejects a partial
 * one), names hashed, region code (ISO alpha-2, upper case) and postal code sent as they are. At most three
 * identifiers per member, well under Google's 10. The stored payload is what was sent, so a removal sends the
 * same identifiers even after the customer changed or was forgotten.
 */

let tableCounter = 0;

/** Raw contact fields of an audience's consented members ($1 = audience): the one consent rule. */
const SOURCE_SQL = `SELECT customer_id, email, phone, first_name, last_name, city, state, zip, country
  FROM sendable_members WHERE audience = $1`;

/**
 * Creates TEMP TABLE `target` (customer_id, usable, payload, fingerprint) for `audience`. A member is usable when
 * it has at least one identifier.
 */
export async function createGoogleRows(
  wh: Warehouse,
  target: string,
  audience: string,
  options: IdentifierOptions = {},
): Promise<void> {
  const ids = `google_identifiers_${process.pid}_${++tableCounter}`;
  try {
    await createIdentifierTable(wh, ids, SOURCE_SQL, [audience], options);
    await wh.run(`CREATE OR REPLACE TEMP TABLE ${sqlIdent(target)} AS ${googleRowsSql(sqlIdent(ids))}`);
  } finally {
    await wh.run(`DROP TABLE IF EXISTS ${sqlIdent(ids)}`);
  }
}

/** Hashes are hex and the region code letters: only the postal code needs JSON escaping. */
function googleRowsSql(identifiers: string): string {
  const email = `CASE WHEN email IS NOT NULL THEN '{"emailAddress":"' || sha256(${googleEmailSql('email')}) || '"}' END`;
  const phone = `CASE WHEN phone IS NOT NULL THEN '{"phoneNumber":"' || sha256(phone) || '"}' END`;
  const address = `CASE WHEN fn IS NOT NULL AND ln IS NOT NULL AND country IS NOT NULL AND zip IS NOT NULL
    THEN '{"address":{"givenName":"' || fn_h || '","familyName":"' || ln_h || '","regionCode":"' || upper(country)
      || '","postalCode":' || to_json(zip)::VARCHAR || '}}' END`;
  return `
  SELECT customer_id, payload <> '[]' AS usable, payload, md5(payload) AS fingerprint FROM (
    SELECT customer_id, '[' || concat_ws(',', ${email}, ${phone}, ${address}) || ']' AS payload FROM ${identifiers})`;
}

/** The identifiers of a stored payload, as the client sends them. */
export function parseIdentifiers(payload: string | null, customerId: string): object[] {
  try {
    const ids = JSON.parse(payload ?? '');
    if (Array.isArray(ids) && ids.length > 0) return ids;
  } catch {
    // reported below
  }
  throw new Error(`google-ads: stored identifiers of customer ${customerId} are unreadable`);
}
