import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createIdentifierTable } from '../connectors/destinations/identifiers/normalize.ts';
import { phoneParser, phoneParses } from '../connectors/destinations/identifiers/phones.ts';
import { dropForgottenCustomers, forgetCustomer } from '../pipelines/ops/forget.ts';
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

/** Normalises one raw customer inside DuckDB, as every destination does. */
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
  await createIdentifierTable(wh, 'ids', 'SELECT * FROM raw_in', [], { defaultCountry });
  const [row] = await wh.all<Record<string, string | null>>('SELECT * FROM ids');
  return row!;
}

describe('shared identifier normalisation (inside DuckDB)', () => {
  it('email: trims and lowercases; rejects non-addresses', async () => {
    expect((await normalize({ email: '  Mary@Example.COM \t' })).email).toBe('mary@example.com');
    expect((await normalize({ email: 'not an email' })).email).toBeNull();
    expect((await normalize({ email: '' })).email).toBeNull();
  });

  it.each([
    // issue 11 item 3: each of these used to hash a number nobody has
    ['06 1234 5678', 'IT', '+390612345678'], // Italy keeps the leading 0 after +39
    ['8 (912) 345-67-89', 'RU', '+79123456789'], // Russian trunk prefix 8
    ['415-555-0132 ext. 12', 'US', '+14155550132'], // extension dropped, number kept
    ['415 555 0132 x12', 'US', '+14155550132'],
    ['07911 123456', 'GB', '+447911123456'],
    ['0151 23456789', 'DE', '+4915123456789'],
    ['06 12 34 56 78', 'FR', '+33612345678'],
    ['06 12 34 56 78', 'France', '+33612345678'],
    ['06 1234 5678', 'Italia', '+390612345678'],
    ['+1 (415) 555-0132', 'US', '+14155550132'],
    ['(415) 555-0132', 'usa', '+14155550132'],
    ['1 415 555 0132', 'United States', '+14155550132'],
    ['+44 7911 123456', 'DE', '+447911123456'], // written internationally: its own calling code wins
    ['+44 (0)7911 123456', 'FR', '+447911123456'],
    ['0044 7911 123456', 'DE', '+447911123456'], // 00 international prefix
    ['33612345678', 'FR', '+33612345678'], // already carries the calling code
    ['+1 415 555 0132', undefined, '+14155550132'],
    ['0044 7911 123456', undefined, '+447911123456'],
    ['415 555 0132', undefined, null], // no country: national numbers cannot be placed
    ['12', 'US', null],
    ['call me maybe', 'US', null],
  ])('phone %s (%s) -> %s', async (phone, country, expected) => {
    expect((await normalize({ phone, country })).phone).toBe(expected);
  });

  it('phone: a default country applies only when the customer has none', async () => {
    expect((await normalize({ phone: '(415) 555-0132' }, 'us')).phone).toBe('+14155550132');
    expect((await normalize({ phone: '07911 123456', country: 'GB' }, 'us')).phone).toBe('+447911123456');
  });

  it('phones are parsed once per distinct (number, country) pair, not per row', async () => {
    await wh.run(`CREATE OR REPLACE TEMP TABLE many AS
      SELECT 'c' || i AS customer_id, NULL AS email,
        (['06 1234 5678', ' +39 06 1234 5678', '06 9876 5432', '333 123 4567'])[1 + i % 4] AS phone,
        NULL AS first_name, NULL AS last_name, NULL AS city, NULL AS state, NULL AS zip,
        (['IT', 'Italy', 'italia'])[1 + i % 3] AS country
      FROM range(12000) r(i)`);
    // 4 numbers in one country (three spellings of Italy), the second padded with a space: 4 pairs.
    const before = phoneParses();
    await createIdentifierTable(wh, 'many_ids', 'SELECT * FROM many');
    expect(phoneParses() - before).toBe(4);
    const byPhone = await wh.all<{ phone: string | null; n: bigint }>(
      'SELECT phone, count(*) AS n FROM many_ids GROUP BY phone ORDER BY phone',
    );
    expect(byPhone).toEqual([
      { phone: '+390612345678', n: 6000n },
      { phone: '+390698765432', n: 3000n },
      { phone: '+393331234567', n: 3000n },
    ]);
  });

  it('names: lowercase, no punctuation or spaces, accents and non-Latin letters kept (UTF-8, NFC)', async () => {
    const r = await normalize({ first_name: '  Mary-Ann ', last_name: "O'Brien Smith." });
    expect(r.fn).toBe('maryann');
    expect(r.ln).toBe('obriensmith');
    expect(r.fn_h).toBe(sha('maryann'));
    expect((await normalize({ first_name: 'Vale\u0301ry' })).fn).toBe('valéry'); // decomposed accent -> NFC
    expect((await normalize({ first_name: 'ÉLODIE' })).fn).toBe('élodie');
    expect((await normalize({ last_name: '王' })).ln).toBe('王');
    expect((await normalize({ first_name: '...' })).fn).toBeNull();
  });

  it('city: lowercase a-z only, accents stripped', async () => {
    expect((await normalize({ city: 'São Paulo' })).ct).toBe('saopaulo');
    expect((await normalize({ city: "St. John's" })).ct).toBe('stjohns');
  });

  it('state: US 2-letter code (names mapped), elsewhere lowercase letters only', async () => {
    expect((await normalize({ state: 'California', country: 'US' })).st).toBe('ca');
    expect((await normalize({ state: 'new york' })).st).toBe('ny');
    expect((await normalize({ state: 'Île-de-France', country: 'FR' })).st).toBe('iledefrance');
  });

  it('zip: US first 5 digits (ZIP+4), elsewhere lowercase without spaces', async () => {
    expect((await normalize({ zip: '94025-1234', country: 'US' })).zip).toBe('94025');
    expect((await normalize({ zip: '940251234', country: 'United States of America' })).zip).toBe('94025');
    expect((await normalize({ zip: 'SW1A 1AA', country: 'GB' })).zip).toBe('sw1a1aa');
    expect((await normalize({ zip: 'K1A 0B1', country: 'Canada' })).zip).toBe('k1a0b1');
  });

  it.each([
    ['Allemagne', 'de'], // French
    ['Deutschland', 'de'],
    ['Germany', 'de'],
    ['  DEU ', 'de'],
    ['XK', 'xk'], // Kosovo: a user-assigned code the old table lacked
    ['Kosovo', 'xk'],
    ['England', 'gb'], // aliases kept as data
    ['Holland', 'nl'],
    ['Éire', 'ie'],
    ['United States of America', 'us'],
    ['usa', 'us'],
    ['U.S.A.', 'us'],
    ["Côte d'Ivoire", 'ci'],
    ['cote d’ivoire', 'ci'],
    ['ESPAÑA', 'es'],
    ['Narnia', null],
  ])('country %s -> %s', async (country, expected) => {
    const r = await normalize({ country });
    expect(r.country).toBe(expected);
    expect(r.country_h).toBe(expected === null ? null : sha(expected));
  });

  it('loads the country and phone tables only when normalising (the CLI start never pays for them)', () => {
    const script = `
      import { createRequire } from 'node:module';
      const loaded = () => Object.keys(createRequire(import.meta.url).cache)
        .filter((p) => /i18n-iso-countries|libphonenumber-js/.test(p)).length > 0;
      const meta = await import('./connectors/destinations/meta/normalize.ts');
      const atImport = loaded();
      const { countryKeys } = await import('./connectors/destinations/identifiers/countries.ts');
      const { toE164 } = await import('./connectors/destinations/identifiers/phones.ts');
      countryKeys(); toE164('+14155550132');
      console.log(JSON.stringify({ atImport, afterUse: loaded(), schema: meta.META_SCHEMA.length }));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toEqual({ atImport: false, afterUse: true, schema: 9 });
  });
});

describe('parsed phone numbers are kept (phone_numbers) and never outlive the customer', () => {
  let db: Warehouse;
  beforeEach(async () => {
    db = await Warehouse.open({ path: ':memory:' });
    await db.run(
      `INSERT INTO customers (customer_id, email, phone, country, ads_consent) VALUES
       ('c1', 'c1@example.com', '06 1234 5678', 'IT', true),
       ('c2', 'c2@example.com', '06 1234 5678', 'Italia', true),
       ('c3', 'c3@example.com', '(415) 555-0132', 'US', true),
       ('c4', 'c4@example.com', '8 (912) 345-67-89', 'RU', true),
       ('c5', 'c5@example.com', '07911 123456', NULL, true)`,
    );
  });
  afterEach(() => db.close());

  /** Normalises `where` customers, as a sync does; returns the phones parsed and the E.164 per customer. */
  async function sync(where = 'true') {
    const before = phoneParses();
    await createIdentifierTable(db, 'ids', `SELECT * FROM customers WHERE ${where}`, [], {
      defaultCountry: 'gb',
    });
    const rows = await db.all<{ customer_id: string; phone: string | null }>(
      'SELECT customer_id, phone FROM ids ORDER BY customer_id',
    );
    return {
      parses: phoneParses() - before,
      phones: Object.fromEntries(rows.map((r) => [r.customer_id, r.phone])),
    };
  }
  const entries = () =>
    db.all<{ phone: string; country: string; e164: string | null }>(
      'SELECT phone, country, e164 FROM phone_numbers ORDER BY phone, country',
    );

  it('parses a number once: the next sync, and other audiences with the same customers, parse none', async () => {
    const first = await sync();
    expect(first.parses).toBe(4); // c1 and c2 share a number and a country
    expect(first.phones).toEqual({
      c1: '+390612345678',
      c2: '+390612345678',
      c3: '+14155550132',
      c4: '+79123456789',
      c5: '+447911123456',
    });
    expect(await entries()).toHaveLength(4);
    expect(await sync()).toEqual({ ...first, parses: 0 });
    expect((await sync("customer_id IN ('c2', 'c3')")).parses).toBe(0);
    await db.run("INSERT INTO customers (customer_id, phone, country) VALUES ('c6', '030 1234567', 'DE')");
    expect((await sync()).parses).toBe(1); // only the new number
  });

  it('parses again what another library version parsed', async () => {
    await sync();
    await db.run("UPDATE phone_numbers SET parser = 'libphonenumber-js 0.0.1 min' WHERE country = 'it'");
    const again = await sync();
    expect(again.parses).toBe(1);
    expect(again.phones.c1).toBe('+390612345678');
    expect(await db.all('SELECT DISTINCT parser FROM phone_numbers')).toEqual([{ parser: phoneParser() }]);
  });

  it("forget removes the person's parsed number", async () => {
    await sync();
    await forgetCustomer(db, 'c4@example.com');
    expect((await entries()).map((e) => e.phone)).toEqual(['(415) 555-0132', '06 1234 5678', '07911 123456']);
  });

  it('a changed number or country leaves no entry of the old one after the next sync', async () => {
    await sync();
    await db.run("UPDATE customers SET phone = '06 9876 5432' WHERE customer_id = 'c4'");
    await db.run("UPDATE customers SET country = 'CA' WHERE customer_id = 'c3'");
    await sync("customer_id = 'c1'"); // any sync sweeps, whoever its audience holds
    expect(await entries()).toEqual([
      { phone: '06 1234 5678', country: 'it', e164: '+390612345678' },
      { phone: '07911 123456', country: 'gb', e164: '+447911123456' },
    ]);
  });

  it('every run, once loaded, deletes parsed numbers no customer holds any more (even with no sync)', async () => {
    await sync();
    await db.run("UPDATE customers SET phone = NULL WHERE customer_id = 'c4'");
    await dropForgottenCustomers(db); // what a run calls after its loads
    expect((await entries()).map((e) => e.phone)).toEqual(['(415) 555-0132', '06 1234 5678', '07911 123456']);
  });
});
