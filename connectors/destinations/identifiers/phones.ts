import { createRequire } from 'node:module';
import type { CountryCode, PhoneNumber } from 'libphonenumber-js/min';
import { sqlIdent, sqlString } from '../../../warehouse/values.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';
import { createTempVarcharTable } from './bulk.ts';

/**
 * Phone numbers -> E.164 ("+390612345678") with libphonenumber-js, once per distinct (raw number, country) pair.
 *
 * Metadata flavour: "min", deliberately. "max" only adds the per-range patterns behind isValid() (is this range
 * assigned to an operator?); parsing (trunk prefixes such as Russia's 8, Italy's kept 0, international prefixes,
 * extensions) and the possible-length check behind isPossible() are the same with both flavours (checked on 735,000
 * random inputs across every region: not one E.164 result or possible-length verdict differed). We accept a number
 * whose length is possible for its country rather than one in an assigned range: a number in an unassigned or
 * fictional range (Meta's own example +1 555 987 6543) only matches nobody, while an assigned-range table that
 * lags the regulators (an old package version) would silently drop real customers. And min is half the size.
 */
type Library = {
  parsePhoneNumberFromString(
    text: string,
    options: { defaultCountry?: CountryCode },
  ): PhoneNumber | undefined;
  isSupportedCountry(code: string): code is CountryCode;
};

let library: Library | undefined;
let parses = 0;

/** Number of phone parses since the process started (a pair is parsed once, then read from phone_numbers). */
export function phoneParses(): number {
  return parses;
}

/**
 * E.164 of a raw phone number, or null when it cannot be a phone number. `country` (ISO alpha-2, any case) is the
 * customer's: it applies to numbers written nationally; a number written with + keeps its own calling code.
 * Extensions ("ext. 12", "x12") are dropped: platforms match the line, not the extension.
 */
export function toE164(raw: string, country?: string | null): string | null {
  // Loaded on first use: the CLI's start never pays for the metadata.
  library ??= createRequire(import.meta.url)('libphonenumber-js/min') as Library;
  parses++;
  const code = country?.toUpperCase();
  const known = code && library.isSupportedCountry(code) ? code : undefined;
  const text = raw.trim();
  // Without a country, 00 is the international prefix almost everywhere (the library needs one to know it).
  const input = !known && text.startsWith('00') ? `+${text.slice(2)}` : text;
  const phone = library.parsePhoneNumberFromString(input, known ? { defaultCountry: known } : {});
  return phone?.isPossible() ? phone.number : null;
}

/**
 * What parsed an entry of phone_numbers: the library version and its metadata flavour. An entry made by another
 * parser is parsed again (a new release may place numbers differently).
 */
export function phoneParser(): string {
  const { version } = createRequire(import.meta.url)('libphonenumber-js/package.json') as { version: string };
  return `libphonenumber-js ${version} min`;
}

/**
 * Creates TEMP TABLE `table` (raw, country, e164) for the distinct pairs `pairsSql` yields (columns raw, country),
 * from the phone_numbers table: only pairs it lacks (or that another parser made) are read out, parsed in JS in one
 * batch, bulk-loaded and stored; everything else is a join. Parsing costs ~15 µs a number, a join almost nothing.
 */
export async function createPhoneTable(wh: Warehouse, table: string, pairsSql: string): Promise<void> {
  const [pairs, parsed] = [`${table}_pairs`, `${table}_parsed`];
  const parser = phoneParser();
  try {
    await wh.run(`CREATE OR REPLACE TEMP TABLE ${sqlIdent(pairs)} AS ${pairsSql}`);
    const reader = await wh.connection.runAndReadAll(
      `SELECT p.raw, p.country FROM ${sqlIdent(pairs)} p
       ANTI JOIN phone_numbers n ON n.phone = p.raw AND n.country = p.country AND n.parser = ${sqlString(parser)}`,
    );
    const [raws = [], countries = []] = reader.getColumnsJS() as Array<Array<string>>;
    const rows = function* () {
      for (let i = 0; i < raws.length; i++) {
        const [raw, country] = [raws[i] ?? '', countries[i] ?? ''];
        yield [raw, country, toE164(raw, country)];
      }
    };
    await createTempVarcharTable(wh, parsed, ['phone', 'country', 'e164'], rows());
    await wh.run(
      `INSERT OR REPLACE INTO phone_numbers (phone, country, e164, parser, parsed_at)
       SELECT phone, country, e164, $1, now()::TIMESTAMP FROM ${sqlIdent(parsed)}`,
      [parser],
    );
    await wh.run(
      `CREATE OR REPLACE TEMP TABLE ${sqlIdent(table)} AS
       SELECT p.raw, p.country, n.e164 FROM ${sqlIdent(pairs)} p
       JOIN phone_numbers n ON n.phone = p.raw AND n.country = p.country`,
    );
  } finally {
    for (const t of [pairs, parsed]) await wh.run(`DROP TABLE IF EXISTS ${sqlIdent(t)}`);
  }
}

/**
 * Deletes the phone_numbers entries no customer reaches any more: they hold raw numbers (PII), which must not
 * outlive the customer's own record. `liveSql` yields every customer's (phone, country): the stored number and
 * the ISO alpha-2 of their country, NULL when unrecognised (such a customer keeps the number's entries in every
 * country, since each destination reads it in its own default country).
 */
export async function dropOrphanPhones(wh: Warehouse, liveSql: string): Promise<void> {
  await wh.run(
    `WITH live AS (${liveSql}),
     orphans AS (
       SELECT n.phone, n.country FROM phone_numbers n
       ANTI JOIN (SELECT DISTINCT phone, country FROM live WHERE country IS NOT NULL) k
         ON k.phone = n.phone AND k.country = n.country
       ANTI JOIN (SELECT DISTINCT phone FROM live WHERE country IS NULL) u ON u.phone = n.phone
     )
     DELETE FROM phone_numbers n USING orphans o WHERE n.phone = o.phone AND n.country = o.country`,
  );
}
