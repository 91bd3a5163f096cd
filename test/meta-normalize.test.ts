import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callingCodeOf } from '../connectors/destinations/meta/countries.ts';
import { hashedSql, normalizedSql } from '../connectors/destinations/meta/normalize.ts';
import { Warehouse } from '../warehouse/warehouse.ts';

type Raw = Partial<
  Record<'email' | 'phone' | 'first_name' | 'last_name' | 'city' | 'state' | 'zip' | 'country', string>
>;

let wh: Warehouse;
beforeAll(async () => {
  wh = await Warehouse.open({ path: ':memory:' });
});
afterAll(() => wh.close());

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** Normalises raw customers inside DuckDB, as the destination does. */
async function normalize(raw: Raw, defaultCountry?: string) {
  await wh.run(
    'CREATE OR REPLACE TEMP TABLE raw_in (customer_id VARCHAR, email VARCHAR, phone VARCHAR, first_name VARCHAR, last_name VARCHAR, city VARCHAR, state VARCHAR, zip VARCHAR, country VARCHAR)',
  );
  await wh.run('INSERT INTO raw_in VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
    'c1',
    raw.email ?? null,
    raw.phone ?? null,
    raw.first_name ?? null,
    raw.last_name ?? null,
    raw.city ?? null,
    raw.state ?? null,
    raw.zip ?? null,
    raw.country ?? null,
  ]);
  const [row] = await wh.all<Record<string, string | null>>(
    normalizedSql('SELECT * FROM raw_in', { defaultCountry }),
  );
  return row!;
}

describe('Meta normalisation (inside DuckDB)', () => {
  it("hashes Meta's documented check values", async () => {
    const rows = await wh.all<{ payload: string }>(
      hashedSql(
        `SELECT 'c1' AS customer_id, 'mary@example.com' AS email, '+1 (555) 987-6543' AS phone, NULL AS first_name,
           NULL AS last_name, NULL AS city, NULL AS state, NULL AS zip, 'US' AS country`,
      ),
    );
    const row = JSON.parse(rows[0]!.payload) as string[];
    expect(row[0]).toBe('c1'); // EXTERN_ID is not hashed
    expect(row[1]).toBe('f1904cf1a9d73a55fa5de0ac823c4403ded71afd4c3248d00bdcd0866552bb79');
    expect(row[2]).toBe('1ef970831d7963307784fa8688e8fce101a15685d62aa765fed23f3a2c576a4e');
    expect(row[8]).toBe(sha('us'));
    expect(row[3]).toBe(''); // unknown keys are empty strings, not sha256('')
  });

  it('email: trims and lowercases; rejects non-addresses', async () => {
    expect((await normalize({ email: '  Mary@Example.COM \t' })).email).toBe('mary@example.com');
    expect((await normalize({ email: 'not an email' })).email).toBeNull();
    expect((await normalize({ email: '' })).email).toBeNull();
  });

  it.each([
    ['+1 (555) 987-6543', 'US', '15559876543'],
    ['555-987-6543', 'US', '15559876543'], // national US number gets the calling code from the country
    ['1 555 987 6543', 'United States', '15559876543'],
    ['(555) 987.6543', 'usa', '15559876543'],
    ['07911 123456', 'GB', '447911123456'], // trunk 0 dropped, +44 added
    ['+44 (0)7911 123456', 'FR', '447911123456'],
    ['0044 7911 123456', 'DE', '447911123456'], // 00 international prefix
    ['06 12 34 56 78', 'France', '33612345678'],
    ['33612345678', 'FR', '33612345678'], // already carries the calling code
    ['030 1234567', 'Deutschland', '49301234567'],
    ['555 987 6543', undefined, null], // no country, too short to carry a calling code
    ['+1 555 987 6543', undefined, '15559876543'],
    ['12', 'US', null],
  ])('phone %s (%s) -> %s', async (phone, country, expected) => {
    expect((await normalize({ phone, country })).phone).toBe(expected);
  });

  it('phone: a default country applies only when the customer has none', async () => {
    expect((await normalize({ phone: '555 987 6543' }, 'us')).phone).toBe('15559876543');
    expect((await normalize({ phone: '07911 123456', country: 'GB' }, 'us')).phone).toBe('447911123456');
  });

  it('names: lowercase, no punctuation or spaces, accents and non-Latin letters kept (UTF-8, NFC)', async () => {
    const r = await normalize({ first_name: '  Mary-Ann ', last_name: "O'Brien Smith." });
    expect(r.fn).toBe('maryann');
    expect(r.ln).toBe('obriensmith');
    expect((await normalize({ first_name: 'Valéry' })).fn).toBe('valéry');
    expect((await normalize({ first_name: 'Vale\u0301ry' })).fn).toBe('valéry'); // decomposed accent -> NFC
    expect((await normalize({ first_name: 'ÉLODIE' })).fn).toBe('élodie');
    expect((await normalize({ last_name: '王' })).ln).toBe('王');
    expect((await normalize({ first_name: '...' })).fn).toBeNull();
  });

  it('city: lowercase a-z only, accents stripped', async () => {
    expect((await normalize({ city: 'Menlo Park' })).ct).toBe('menlopark');
    expect((await normalize({ city: 'São Paulo' })).ct).toBe('saopaulo');
    expect((await normalize({ city: "St. John's" })).ct).toBe('stjohns');
  });

  it('state: US 2-letter code (names mapped), elsewhere lowercase letters only', async () => {
    expect((await normalize({ state: 'CA', country: 'US' })).st).toBe('ca');
    expect((await normalize({ state: 'California', country: 'US' })).st).toBe('ca');
    expect((await normalize({ state: 'new york' })).st).toBe('ny');
    expect((await normalize({ state: 'Île-de-France', country: 'FR' })).st).toBe('iledefrance');
  });

  it('zip: US first 5 digits (ZIP+4), elsewhere lowercase without spaces', async () => {
    expect((await normalize({ zip: '94025-1234', country: 'US' })).zip).toBe('94025');
    expect((await normalize({ zip: '940251234', country: 'US' })).zip).toBe('94025');
    expect((await normalize({ zip: ' 94025 ', country: 'US' })).zip).toBe('94025');
    expect((await normalize({ zip: 'SW1A 1AA', country: 'GB' })).zip).toBe('sw1a1aa');
    expect((await normalize({ zip: 'K1A 0B1', country: 'Canada' })).zip).toBe('k1a0b1');
  });

  it.each([
    ['US', 'us'],
    ['usa', 'us'],
    ['U.S.A.', 'us'],
    ['United States of America', 'us'],
    ['United Kingdom', 'gb'],
    ['UK', 'gb'],
    ['Deutschland', 'de'],
    ['españa', 'es'],
    ['Côte d’Ivoire', 'ci'],
    ['FRA', 'fr'],
    ['Narnia', null],
  ])('country %s -> %s', async (country, expected) => {
    expect((await normalize({ country })).country).toBe(expected);
  });

  it('rows without an email, phone, or name with zip/city are unusable', async () => {
    const rows = await wh.all<{ customer_id: string; usable: boolean }>(
      hashedSql(`SELECT * FROM (VALUES
        ('a', 'a@b.co', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
        ('b', NULL, '+33 6 12 34 56 78', NULL, NULL, NULL, NULL, NULL, NULL),
        ('c', NULL, NULL, 'Ann', 'Lee', NULL, NULL, '94025', 'US'),
        ('d', 'nope', NULL, 'Ann', NULL, 'Paris', NULL, NULL, 'FR'),
        ('e', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
      ) t(customer_id, email, phone, first_name, last_name, city, state, zip, country) ORDER BY 1`),
    );
    expect(Object.fromEntries(rows.map((r) => [r.customer_id, r.usable]))).toEqual({
      a: true,
      b: true,
      c: true,
      d: false,
      e: false,
    });
  });

  it('ships calling codes for common countries', () => {
    expect(callingCodeOf('us')).toBe('1');
    expect(callingCodeOf('GB')).toBe('44');
    expect(callingCodeOf('de')).toBe('49');
  });
});
