import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadFilesSource } from '../connectors/sources/files/load.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { writeExport } from './export-dir.ts';
import { tempDir } from './helpers/temp.ts';

/**
 * Values a source types or spreads out so that a sampled schema or a cast changes them without a word: keys first
 * seen late in a JSON file, ids stored as doubles, fractional counts, amounts that are not finite numbers.
 */

let wh: Warehouse;
let dir: string;

beforeEach(async () => {
  wh = await Warehouse.open({ path: ':memory:' });
  dir = tempDir('files-types');
});
afterEach(() => wh.close());

const write = (name: string, text: string) => writeExport(dir, name, text);
/** A Parquet file written by DuckDB from a SELECT (the column types are the SELECT's). */
const parquet = (name: string, select: string) => {
  mkdirSync(join(dir, name, '..'), { recursive: true });
  return wh.run(`COPY (${select}) TO '${join(dir, name)}' (FORMAT parquet)`);
};
// Every case here rejects on purpose: let the table load whatever its rejected share.
const load = () => loadFilesSource(wh, { dir, runId: 'r1', maxRejectShare: 1 });
const rejected = (table: string) =>
  wh.json(`SELECT reason, source FROM rejected_rows WHERE table_name = '${table}' ORDER BY reason`);

/** Enough lines that a key appearing only after them lies beyond DuckDB's default JSON sample (20,480). */
const EARLY = 20_490;
const pageView = (i: number) =>
  JSON.stringify({
    event_id: `v${i}`,
    customer_id: 'c1',
    event_name: 'page_view',
    occurred_at: '2026-10-01',
  });
const wishlist = (i: number) =>
  JSON.stringify({
    event_id: `w${i}`,
    customer_id: 'c1',
    event_name: 'add_to_wishlist',
    product_id: 'p1',
    occurred_at: '2026-10-02',
    ...(i === 9 ? { loyalty_tier: 'gold' } : {}),
  });

describe('JSON: every key of every line is read', () => {
  it('a key first seen after line 20,480 of a JSON lines file loads, and a late unknown key is reported', async () => {
    const lines = [
      ...Array.from({ length: EARLY }, (_, i) => pageView(i)),
      ...Array.from({ length: 10 }, (_, i) => wishlist(i)),
    ];
    write('events.jsonl', `${lines.join('\n')}\n`);
    const { tables } = await load();
    // Was: product_id never read (every event NULL) and loyalty_tier never reported.
    expect(
      await wh.json('SELECT product_id, count(*)::INTEGER AS n FROM events GROUP BY ALL ORDER BY 1'),
    ).toEqual([
      { product_id: 'p1', n: 10 },
      { product_id: null, n: EARLY },
    ]);
    expect(tables.find((t) => t.table === 'events')).toMatchObject({
      rowsLoaded: EARLY + 10,
      rowsRejected: 0,
      unknownColumns: ['loyalty_tier'],
    });
  });

  it('a late key of a .json document (one array) loads too', async () => {
    const rows = [
      ...Array.from({ length: EARLY }, (_, i) => pageView(i)),
      ...Array.from({ length: 10 }, (_, i) => wishlist(i)),
    ];
    write('events.json', `[\n${rows.join(',\n')}\n]\n`);
    const { tables } = await load();
    expect(await wh.scalar(`SELECT count(*) FROM events WHERE product_id = 'p1'`)).toBe(10);
    expect(tables.find((t) => t.table === 'events')?.unknownColumns).toEqual(['loyalty_tier']);
  });
});

describe('ids stored as floating point', () => {
  it('a whole DOUBLE id is its integer text; a fraction or one beyond 2^53 is quarantined naming the column', async () => {
    write('customers.csv', 'customer_id,email\n1001,a@x.com\n');
    // pandas writes an id column holding one null as float64: 1001.0.
    await parquet(
      'orders.parquet',
      `SELECT * FROM (VALUES ('o1', 1001.0::DOUBLE), ('o2', NULL::DOUBLE), ('o3', 1001.5::DOUBLE),
                             ('o4', 9007199254740993::DOUBLE), ('o5', -42.0::DOUBLE), ('o6', 'nan'::DOUBLE))
         t(order_id, customer_id), (SELECT TIMESTAMP '2026-10-01 10:00:00' AS ordered_at)`,
    );
    await parquet(
      'order_items.parquet',
      `SELECT * FROM (VALUES (1.00::DECIMAL(10, 2), 7.00::DECIMAL(10, 2)), (1.00, 7.25)) t(order_id, product_id)`,
    );
    const { tables } = await load();
    // Was: '1001.0' (no customers row, never joined), '1001.5', '9007199254740992.0', '-42.0', 'nan'; items '1.00'.
    expect(await wh.json('SELECT order_id, customer_id FROM orders ORDER BY 1')).toEqual([
      { order_id: 'o1', customer_id: '1001' },
      { order_id: 'o2', customer_id: null },
      { order_id: 'o5', customer_id: '-42' },
    ]);
    expect(await wh.scalar('SELECT count(*) FROM orders JOIN customers USING (customer_id)')).toBe(1);
    const source = join(dir, 'orders.parquet');
    expect(await rejected('orders')).toEqual([
      {
        reason: 'invalid customer_id: 1001.5 (a DOUBLE value read as text must be a whole number below 2^53)',
        source,
      },
      {
        reason:
          'invalid customer_id: 9007199254740992.0 (a DOUBLE value read as text must be a whole number below 2^53)',
        source,
      },
      {
        reason: 'invalid customer_id: nan (a DOUBLE value read as text must be a whole number below 2^53)',
        source,
      },
    ]);
    expect(tables.find((t) => t.table === 'orders')).toMatchObject({ rowsLoaded: 3, rowsRejected: 3 });
    expect(await wh.json('SELECT order_id, product_id FROM order_items')).toEqual([
      { order_id: '1', product_id: '7' },
    ]);
    expect(await rejected('order_items')).toEqual([
      {
        reason: 'invalid product_id: 7.25 (a DECIMAL(10,2) value read as text must be a whole number)',
        source: join(dir, 'order_items.parquet'),
      },
    ]);
  });
});

describe('integer columns hold whole numbers only', () => {
  it('quantity 1.5 or 2.5 is quarantined, not rounded; 2, " 2 ", 2.0 and 1e1 load', async () => {
    write('orders.csv', 'order_id,customer_id,ordered_at\no1,c1,2026-10-01\n');
    write(
      'order_items/lines.csv',
      'order_id,product_id,quantity,unit_price\no1,p1,2,10\no1,p2, 2 ,10\no1,p3,2.0,10\no1,p4,1e1,10\n' +
        'o1,p5,1.5,10\no1,p6,2.5,10\no1,p7,-1.5,10\n',
    );
    // A typed source: a DOUBLE quantity column (3.0 is 3; 0.5 was rounded to 1).
    await parquet(
      'order_items/more.parquet',
      `SELECT * FROM (VALUES ('o2', 'p1', 3.0::DOUBLE), ('o2', 'p2', 0.5::DOUBLE)) t(order_id, product_id, quantity)`,
    );
    write(
      'events.jsonl',
      '{"customer_id":"c1","event_name":"view_item","occurred_at":"2026-10-01","event_count":"3.0"}\n' +
        '{"customer_id":"c1","event_name":"view_item","occurred_at":"2026-10-02","event_count":1.5}\n',
    );
    const { tables } = await load();
    // Was: p5 2, p6 3 (revenue 50 instead of 40 for p5 and p6), p7 -2 rejected only as negative, o2/p2 1.
    expect(await wh.json('SELECT order_id, product_id, quantity FROM order_items ORDER BY 1, 2')).toEqual([
      { order_id: 'o1', product_id: 'p1', quantity: 2 },
      { order_id: 'o1', product_id: 'p2', quantity: 2 },
      { order_id: 'o1', product_id: 'p3', quantity: 2 },
      { order_id: 'o1', product_id: 'p4', quantity: 10 },
      { order_id: 'o2', product_id: 'p1', quantity: 3 },
    ]);
    const csv = join(dir, 'order_items', 'lines.csv');
    expect(await rejected('order_items')).toEqual([
      { reason: 'quantity is not a whole number: -1.5', source: csv },
      { reason: 'quantity is not a whole number: 0.5', source: join(dir, 'order_items', 'more.parquet') },
      { reason: 'quantity is not a whole number: 1.5', source: csv },
      { reason: 'quantity is not a whole number: 2.5', source: csv },
    ]);
    expect(tables.find((t) => t.table === 'order_items')).toMatchObject({ rowsLoaded: 5, rowsRejected: 4 });
    expect(await wh.json('SELECT event_count FROM events')).toEqual([{ event_count: 3 }]);
    expect(await rejected('events')).toEqual([
      { reason: 'event_count is not a whole number: 1.5', source: join(dir, 'events.jsonl') },
    ]);
  });
});

describe('amounts from typed sources', () => {
  it('a NaN, infinite or too large DOUBLE amount is quarantined, not loaded as NULL', async () => {
    await parquet(
      'products.parquet',
      `SELECT * FROM (VALUES ('p1', 19.99::DOUBLE), ('p2', 'nan'::DOUBLE), ('p3', 'inf'::DOUBLE),
                             ('p4', '-inf'::DOUBLE), ('p5', 1e15::DOUBLE), ('p6', NULL::DOUBLE)) t(product_id, price)`,
    );
    const { tables } = await load();
    // Was: p2 to p5 loaded with price NULL, counted as 0, no rejected row.
    expect(await wh.json('SELECT product_id, price FROM products ORDER BY 1')).toEqual([
      { product_id: 'p1', price: '19.9900' },
      { product_id: 'p6', price: null },
    ]);
    const source = join(dir, 'products.parquet');
    expect(await rejected('products')).toEqual([
      { reason: 'invalid price: -inf', source },
      { reason: 'invalid price: 1000000000000000.0', source },
      { reason: 'invalid price: inf', source },
      { reason: 'invalid price: nan', source },
    ]);
    expect(tables.find((t) => t.table === 'products')).toMatchObject({ rowsLoaded: 2, rowsRejected: 4 });
  });
});
