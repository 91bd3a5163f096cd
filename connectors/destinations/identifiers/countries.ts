import { createRequire } from 'node:module';

/**
 * Country names and codes -> ISO 3166-1 alpha-2, from i18n-iso-countries (maintained: ISO codes, official names
 * and common aliases in many languages) plus the few everyday spellings it lacks. Loaded lazily, on the first
 * normalisation, so commands that never normalise do not pay for it.
 */

/** Names people write that the library does not know, as data: spelling -> alpha-2. */
const ALIASES: Readonly<Record<string, string>> = {
  England: 'GB',
  Scotland: 'GB',
  Wales: 'GB',
  'Northern Ireland': 'GB',
  Britain: 'GB',
  'United Kingdom of Great Britain and Northern Ireland': 'GB',
  America: 'US',
  'US Virgin Islands': 'VI',
  'British Virgin Islands': 'VG',
  Emirates: 'AE',
  PRC: 'CN',
  Korea: 'KR',
  'DR Congo': 'CD',
  Macedonia: 'MK',
  'Republic of Ireland': 'IE',
  Éire: 'IE',
  Česko: 'CZ',
  Hrvatska: 'HR',
  Bosnia: 'BA',
  Antigua: 'AG',
  'The Bahamas': 'BS',
};

/**
 * Languages whose country names resolve (Latin script: the lookup key keeps a-z only). English first: where two
 * languages use one spelling for different countries, the earlier language wins.
 */
const LOCALES = [
  'en',
  'fr',
  'de',
  'es',
  'it',
  'nl',
  'pt',
  'sv',
  'da',
  'nb',
  'fi',
  'pl',
  'cs',
  'ro',
  'hu',
  'tr',
];

/** The key names are looked up by: lowercase, accents stripped, letters a-z only (mirrors lookupKeySql). */
export function lookupKey(name: string): string {
  return name
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .toLowerCase()
    .replace(/[^a-z]/g, '');
}

/** The same key computed in DuckDB. */
export function lookupKeySql(expr: string): string {
  return `regexp_replace(lower(strip_accents(${expr})), '[^a-z]+', '', 'g')`;
}

interface CountriesLibrary {
  registerLocale(locale: unknown): void;
  getAlpha2Codes(): Record<string, string>;
  getAlpha3Codes(): Record<string, string>;
  getNames(lang: string, options: { select: 'all' }): Record<string, string[]>;
}

let keys: ReadonlyArray<readonly [string, string]> | undefined;

/** Every known spelling of a country as (lookup key, lowercase alpha-2); built once, on first use. */
export function countryKeys(): ReadonlyArray<readonly [string, string]> {
  keys ??= buildCountryKeys();
  return keys;
}

function buildCountryKeys(): Array<readonly [string, string]> {
  // The library's plain entry point: its default Node entry registers all 70+ languages at import.
  const require = createRequire(import.meta.url);
  const lib = require('i18n-iso-countries/index.js') as CountriesLibrary;
  for (const locale of LOCALES) lib.registerLocale(require(`i18n-iso-countries/langs/${locale}.json`));
  const seen = new Map<string, string>();
  const add = (spelling: string, alpha2: string) => {
    const key = lookupKey(spelling);
    if (key && !seen.has(key)) seen.set(key, alpha2.toLowerCase());
  };
  for (const alpha2 of Object.keys(lib.getAlpha2Codes())) add(alpha2, alpha2);
  for (const [alpha3, alpha2] of Object.entries(lib.getAlpha3Codes())) add(alpha3, alpha2);
  for (const [spelling, alpha2] of Object.entries(ALIASES)) add(spelling, alpha2);
  for (const locale of LOCALES) {
    for (const [alpha2, names] of Object.entries(lib.getNames(locale, { select: 'all' }))) {
      for (const name of names) add(name, alpha2);
    }
  }
  return [...seen];
}
