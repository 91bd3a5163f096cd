import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetaRows, META_SCHEMA } from '../connectors/destinations/meta/normalize.ts';
import { Warehouse } from '../warehouse/warehouse.ts';

let wh: Warehouse;
beforeAll(async () => {
  wh = await Warehouse.open({ path: ':memory:' });
});
afterAll(() => wh.close());

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const COLUMNS = 'customer_id, email, phone, first_name, last_name, city, state, zip, country';

/** Meta rows (usable, payload keyed by META_SCHEMA) for raw customers given as a VALUES list. */
async function metaRows(values: string, defaultCountry?: string) {
  await createMetaRows(wh, 'meta_rows', `SELECT * FROM (VALUES ${values}) t(${COLUMNS})`, [], {
    defaultCountry,
  });
  const rows = await wh.all<{ customer_id: string; usable: boolean; payload: string }>(
    'SELECT customer_id, usable, payload FROM meta_rows ORDER BY customer_id',
  );
  return rows.map((r) => {
    const values = JSON.parse(r.payload) as string[];
    return {
      id: r.customer_id,
      usable: r.usable,
      ...Object.fromEntries(META_SCHEMA.map((k, i) => [k, values[i]])),
    } as { id: string; usable: boolean } & Record<(typeof META_SCHEMA)[number], string>;
  });
}

describe('Meta rows (shared identifiers in Meta formats, hashed)', () => {
  it("hashes Meta's documented check values", async () => {
    const [row] = await metaRows(
      "('c1', 'mary@example.com', '+1 (555) 987-6543', NULL, NULL, NULL, NULL, NULL, 'US')",
    );
    expect(row!.EXTERN_ID).toBe(sha('c1')); // EXTERN_ID is hashed too (a store id may be an e-mail)
    expect(row!.EMAIL).toBe('f1904cf1a9d73a55fa5de0ac823c4403ded71afd4c3248d00bdcd0866552bb79');
    expect(row!.PHONE).toBe('1ef970831d7963307784fa8688e8fce101a15685d62aa765fed23f3a2c576a4e');
    expect(row!.COUNTRY).toBe(sha('us'));
    expect(row!.FN).toBe(''); // unknown keys are empty strings, not sha256('')
  });

  it('PHONE is the E.164 digits without "+", from the shared parse (issue 11 item 3)', async () => {
    const rows = await metaRows(`
      ('it', NULL, '06 1234 5678', NULL, NULL, NULL, NULL, NULL, 'IT'),
      ('ru', NULL, '8 (912) 345-67-89', NULL, NULL, NULL, NULL, NULL, 'Russia'),
      ('us', NULL, '415-555-0132 ext. 12', NULL, NULL, NULL, NULL, NULL, 'US'),
      ('xx', NULL, '555 987 6543', NULL, NULL, NULL, NULL, NULL, NULL)`);
    expect(Object.fromEntries(rows.map((r) => [r.id, r.PHONE]))).toEqual({
      it: sha('390612345678'),
      ru: sha('79123456789'),
      us: sha('14155550132'),
      xx: '', // no country, written nationally: unmatchable, not guessed
    });
    expect(rows.map((r) => r.usable)).toEqual([true, true, true, false]);
  });

  it('defaultCountry places national numbers of customers without a country', async () => {
    const [row] = await metaRows("('c1', NULL, '(415) 555-0132', NULL, NULL, NULL, NULL, NULL, NULL)", 'us');
    expect(row!.PHONE).toBe(sha('14155550132'));
  });

  it('rows without an email, phone, or name with zip/city are unusable', async () => {
    const rows = await metaRows(`
        ('a', 'a@b.co', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
        ('b', NULL, '+33 6 12 34 56 78', NULL, NULL, NULL, NULL, NULL, NULL),
        ('c', NULL, NULL, 'Ann', 'Lee', NULL, NULL, '94025', 'US'),
        ('d', 'nope', NULL, 'Ann', NULL, 'Paris', NULL, NULL, 'FR'),
        ('e', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);
    expect(Object.fromEntries(rows.map((r) => [r.id, r.usable]))).toEqual({
      a: true,
      b: true,
      c: true,
      d: false,
      e: false,
    });
  });

  it('the same customer written differently gives the same row and fingerprint', async () => {
    await createMetaRows(
      wh,
      'meta_rows',
      `SELECT * FROM (VALUES
        ('c1', ' Mary@Example.com', '06 1234 5678', 'Mary', 'Rossi', 'Roma', NULL, '00184', 'Italy'),
        ('c1', 'mary@example.com', '+39 06 1234 5678', ' MARY', 'Rossi ', 'ROMA', NULL, '00184', 'IT')
      ) t(${COLUMNS})`,
    );
    const rows = await wh.all<{ payload: string; fingerprint: string }>(
      'SELECT DISTINCT payload, fingerprint FROM meta_rows',
    );
    expect(rows).toHaveLength(1);
  });
});
