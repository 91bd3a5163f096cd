import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FilesLoadError, FilesSourceError, loadFilesSource } from '../connectors/sources/files/load.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { tempDir } from './helpers/temp.ts';

let wh: Warehouse;
let dir: string;

beforeEach(async () => {
  wh = await Warehouse.open({ path: ':memory:' });
  dir = tempDir('files');
});
afterEach(() => wh.close());

const write = (name: string, text: string) => {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
};

const loadReport = (runId = 'r1', maxRejectShare?: number) =>
  loadFilesSource(wh, { dir, runId, maxRejectShare });
const load = async (runId = 'r1', maxRejectShare?: number) =>
  (await loadReport(runId, maxRejectShare)).tables;
const count = (table: string) => wh.scalar(`SELECT count(*) FROM ${table}`);

describe('files source', () => {
  it('loads CSV, JSON lines and Parquet into the contract tables, timestamps in UTC', async () => {
    write(
      'customers.csv',
      'customer_id,email,ads_consent,created_at\nc1,a@x.com,yes,2026-01-01T12:00:00+02:00\nc2,b@x.com,,2026-01-01\n',
    );
    write('products.jsonl', '{"product_id":"p1","name":"Cam","category":"Cameras","price":"199.90"}\n');
    write('orders.csv', 'order_id,customer_id,ordered_at,total\no1,c1,2026-01-05 10:00:00,199.9\n');
    const copy = join(dir, 'order_items.parquet');
    await wh.run(
      `COPY (SELECT 'o1' AS order_id, 'p1' AS product_id, 1 AS quantity, 199.9 AS unit_price) TO '${copy}' (FORMAT parquet)`,
    );
    const summary = await load();
    expect(summary.find((s) => s.table === 'customers')).toMatchObject({
      files: 1,
      rowsRead: 2,
      rowsLoaded: 2,
      rowsRejected: 0,
    });
    expect(await wh.json('SELECT customer_id, ads_consent, created_at FROM customers ORDER BY 1')).toEqual([
      { customer_id: 'c1', ads_consent: true, created_at: '2026-01-01 10:00:00' },
      { customer_id: 'c2', ads_consent: false, created_at: '2026-01-01 00:00:00' },
    ]);
    expect(await wh.json('SELECT order_id, status, total FROM orders')).toEqual([
      { order_id: 'o1', status: 'completed', total: '199.9000' },
    ]);
    expect(await count('order_items')).toBe(1);
    expect(await wh.json('SELECT product_id, price FROM products')).toEqual([
      { product_id: 'p1', price: '199.9000' },
    ]);
  });

  it('loading the same files twice changes nothing, and skips files already loaded', async () => {
    write(
      'events/2026-01-01.csv',
      'event_id,customer_id,event_name,occurred_at\ne1,c1,view_item,2026-01-01T10:00:00Z\n',
    );
    write(
      'events/2026-01-02.csv',
      'customer_id,event_name,occurred_at\nc1,view_item,2026-01-02T10:00:00Z\nc1,view_item,2026-01-02T10:00:00Z\n',
    );
    await load('r1');
    expect(await count('events')).toBe(2); // the two identical id-less rows are one event
    const again = await load('r2');
    expect(again.find((s) => s.table === 'events')).toMatchObject({ files: 0, filesSkipped: 2 });
    // A new file, plus an old one rewritten with the same rows: only new events land.
    write(
      'events/2026-01-03.csv',
      'event_id,customer_id,event_name,occurred_at\ne1,c1,view_item,2026-01-01T10:00:00Z\ne9,c2,add_to_cart,2026-01-03T10:00:00Z\n',
    );
    const third = await load('r3');
    expect(third.find((s) => s.table === 'events')).toMatchObject({ files: 1, rowsRead: 2, rowsLoaded: 1 });
    expect(await count('events')).toBe(3);
  });

  it('upserts by primary key: a newer export of a customer replaces the old row', async () => {
    write('customers/2026-01-01.csv', 'customer_id,email,ads_consent\nc1,old@x.com,true\n');
    await load('r1');
    write('customers/2026-01-02.csv', 'customer_id,email,ads_consent\nc1,new@x.com,false\n');
    await load('r2');
    expect(await wh.json('SELECT customer_id, email, ads_consent FROM customers')).toEqual([
      { customer_id: 'c1', email: 'new@x.com', ads_consent: false },
    ]);
  });

  it('quarantines bad rows with a reason and counts them', async () => {
    const rows = ['event_id,customer_id,event_name,occurred_at'];
    for (let i = 0; i < 40; i++) rows.push(`e${i},c${i},view_item,2026-01-01T10:00:00Z`);
    rows.push('bad1,c1,view_item,not-a-date', 'bad2,c1,,2026-01-01T10:00:00Z');
    write('events.csv', `${rows.join('\n')}\n`);
    const summary = await load('r1', 0.1);
    expect(summary.find((s) => s.table === 'events')).toMatchObject({
      rowsRead: 42,
      rowsLoaded: 40,
      rowsRejected: 2,
    });
    const rejected = await wh.all<{ reason: string; raw: string }>(
      'SELECT reason, raw FROM rejected_rows ORDER BY reason',
    );
    expect(rejected.map((r) => r.reason)).toEqual([
      'missing event_name',
      'unparseable occurred_at: not-a-date',
    ]);
    expect(JSON.parse(rejected[1]!.raw)).toMatchObject({ event_id: 'bad1', occurred_at: 'not-a-date' });
  });

  it('aborts a table whose rejected share is above the limit, keeping the evidence and loading nothing', async () => {
    write('orders.csv', 'order_id,customer_id,ordered_at\no1,c1,2026-01-01\n,c2,2026-01-01\no3,c3,soon\n');
    await expect(load('r1')).rejects.toThrow(FilesLoadError);
    await expect(load('r1')).rejects.toThrow(/2 of 3 rows rejected/);
    expect(await count('orders')).toBe(0);
    expect(await count('loaded_files')).toBe(0);
    expect(
      await wh.scalar(`SELECT count(*) FROM rejected_rows WHERE reason = 'missing order_id'`),
    ).toBeGreaterThan(0);
  });

  it('names the file and the column when a required column is missing', async () => {
    const path = write('orders.csv', 'order_id,customer_id\no1,c1\n');
    await expect(load()).rejects.toThrow(FilesSourceError);
    await expect(load()).rejects.toThrow(`${path}: missing required column ordered_at for table orders`);
  });

  it('treats a missing table as empty and an empty file as loaded', async () => {
    const path = write('products.csv', '');
    utimesSync(path, new Date('2026-01-01'), new Date('2026-01-01'));
    const summary = await load();
    expect(summary.every((s) => s.rowsRead === 0)).toBe(true);
    expect(await count('loaded_files')).toBe(1);
  });

  it('loads one table from files of several formats', async () => {
    write(
      'events/a.csv',
      'event_id,customer_id,event_name,occurred_at,event_count\ne1,c1,view_item,2026-01-01T10:00:00Z,2\n',
    );
    write(
      'events/b.jsonl',
      '{"event_id":"e2","customer_id":"c2","event_name":"add_to_cart","occurred_at":"2026-01-02T10:00:00+01:00","event_count":3}\n',
    );
    const copy = join(dir, 'events', 'c.parquet');
    await wh.run(
      `COPY (SELECT 'e3' AS event_id, 'c3' AS customer_id, 'view_item' AS event_name, TIMESTAMP '2026-01-03 10:00:00' AS occurred_at) TO '${copy}' (FORMAT parquet)`,
    );
    await load();
    expect(await wh.json('SELECT event_id, occurred_at, event_count FROM events ORDER BY 1')).toEqual([
      { event_id: 'e1', occurred_at: '2026-01-01 10:00:00', event_count: 2 },
      { event_id: 'e2', occurred_at: '2026-01-02 09:00:00', event_count: 3 },
      { event_id: 'e3', occurred_at: '2026-01-03 10:00:00', event_count: 1 },
    ]);
  });

  it('trims blank-padded values and accepts counts written as floats', async () => {
    write(
      'events.csv',
      'customer_id,event_name,occurred_at,event_count\n  c9 ,view_item,2026-01-01T00:00:00Z,2.0\n   ,view_item,2026-01-01T00:00:00Z,1\n',
    );
    await load('r1', 0.9);
    expect(await wh.json('SELECT customer_id, event_count FROM events')).toEqual([
      { customer_id: 'c9', event_count: 2 },
    ]);
    expect(await wh.json('SELECT reason FROM rejected_rows')).toEqual([
      { reason: 'no customer_id or anonymous_id' },
    ]);
  });

  it('fills event defaults: event_count 1, source files', async () => {
    write(
      'events.jsonl',
      '{"customer_id":"c1","event_name":"view_item","occurred_at":"2026-01-01T00:00:00Z","event_count":3}\n{"anonymous_id":"a1","event_name":"view_item","occurred_at":"2026-01-01T00:00:00Z"}\n',
    );
    await load();
    expect(
      await wh.json('SELECT customer_id, anonymous_id, event_count, source FROM events ORDER BY event_count'),
    ).toEqual([
      { customer_id: null, anonymous_id: 'a1', event_count: 1, source: 'files' },
      { customer_id: 'c1', anonymous_id: null, event_count: 3, source: 'files' },
    ]);
  });
});
