import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/config.ts';
import { tableOfName } from '../connectors/sources/files/discover.ts';
import {
  FilesLoadError,
  FilesSourceError,
  filesWarnings,
  loadFilesSource,
} from '../connectors/sources/files/load.ts';
import { forgetCustomer } from '../pipelines/ops/forget.ts';
import { runPipeline } from '../pipelines/run.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { tempDir } from './helpers/temp.ts';

let wh: Warehouse;
let dir: string;

beforeEach(async () => {
  wh = await Warehouse.open({ path: ':memory:' });
  dir = tempDir('files-report');
});
afterEach(() => wh.close());

const write = (name: string, text: string) => {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
};
const load = (runId = 'r1', maxRejectShare?: number) => loadFilesSource(wh, { dir, runId, maxRejectShare });
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the load to fail');
    },
    (err: Error) => err,
  );
const event = (i: number, occurredAt: unknown = '2026-01-01T10:00:00Z') =>
  JSON.stringify({
    event_id: `e${i}`,
    customer_id: `c${i}`,
    event_name: 'view_item',
    occurred_at: occurredAt,
  });
const PII = ['ann@example.com', '+1 415 555 0132', 'Ann', 'Berlin', '10115'];

describe('JSON lines: one bad value quarantines its row, never its neighbours', () => {
  it('a number among timestamps rejects only that row', async () => {
    const lines = Array.from({ length: 200 }, (_, i) => event(i));
    lines.splice(100, 0, event(999, 1767261600));
    write('events.jsonl', `${lines.join('\n')}\n`);
    const { tables } = await load();
    expect(tables.find((t) => t.table === 'events')).toMatchObject({
      rowsRead: 201,
      rowsLoaded: 200,
      rowsRejected: 1,
    });
    expect(await wh.json('SELECT reason FROM rejected_rows')).toEqual([
      { reason: 'unparseable occurred_at: 1767261600' },
    ]);
  });

  it('a bad timestamp deep in a large file is quarantined instead of aborting the load', async () => {
    // Far past the reader's type-inference sample, so a sampled type would fail the whole file at this row.
    const lines = Array.from({ length: 30_000 }, (_, i) => event(i));
    lines.push(event(30_000, 'not-a-date'));
    write('events/2026-01-01.jsonl', `${lines.join('\n')}\n`);
    const { tables } = await load();
    expect(tables.find((t) => t.table === 'events')).toMatchObject({
      rowsRead: 30_001,
      rowsLoaded: 30_000,
      rowsRejected: 1,
    });
  });
});

describe('a malformed line quarantines its row, never its table', () => {
  const reasons = () =>
    wh.json(
      "SELECT reason, source, json_extract_string(raw, '$.line') AS line FROM rejected_rows ORDER BY reason",
    );

  it('JSON lines: a malformed line and a non-object line among 10,000 are quarantined with their line numbers', async () => {
    const lines = Array.from({ length: 9_998 }, (_, i) => event(i));
    lines.splice(3_999, 0, '{"event_id": "x" "customer_id": "ann@example.com"}');
    lines.splice(7_499, 0, '["ann@example.com", "Berlin"]');
    const path = write('events.jsonl', `${lines.join('\n')}\n`);
    write('products.csv', 'product_id,name\np1,Cam\n');
    const { tables } = await load();
    expect(tables.find((t) => t.table === 'events')).toMatchObject({
      rowsRead: 10_000,
      rowsLoaded: 9_998,
      rowsRejected: 2,
    });
    expect(await reasons()).toEqual([
      { reason: 'JSON that is not an object at line 7500', source: path, line: lines[7_499] },
      { reason: 'malformed JSON at line 4000', source: path, line: lines[3_999] },
    ]);
    expect(await wh.scalar('SELECT count(*) FROM products')).toBe(1);
  });

  it('JSON lines: line numbers count from each file, blank lines included', async () => {
    const day = (bad: number[]) => {
      const lines = Array.from({ length: 30_000 }, (_, i) => event(i));
      for (const n of bad) lines[n - 1] = '{"event_id": ';
      lines.splice(10, 0, '', '   ');
      return `${lines.join('\n')}\n`;
    };
    write('events/2026-01-01.jsonl', day([]));
    const second = write('events/2026-01-02.jsonl', day([5]));
    const third = write('events/2026-01-03.jsonl', day([2, 29_000]));
    await load();
    expect(await reasons()).toEqual([
      { reason: 'malformed JSON at line 2', source: third, line: '{"event_id": ' },
      { reason: 'malformed JSON at line 29002', source: third, line: '{"event_id": ' },
      { reason: 'malformed JSON at line 5', source: second, line: '{"event_id": ' },
    ]);
  });

  it('CSV: rows with too many or too few fields are quarantined with their line numbers, inside the sniffed rows too', async () => {
    const rows = ['customer_id,email'];
    for (let i = 0; i < 9_998; i++) rows.push(`c${i},u${i}@example.com`);
    rows.splice(100, 0, `cX,${PII[0]},${PII[3]}`);
    rows.push('cY');
    // A repeated key makes the load read the file a second time, in order: still one rejected row per line.
    rows.push('c5,again@example.com');
    const path = write('customers.csv', `${rows.join('\n')}\n`);
    const { tables } = await load();
    expect(tables.find((t) => t.table === 'customers')).toMatchObject({
      rowsRead: 10_001,
      rowsLoaded: 9_998,
      rowsRejected: 2,
    });
    expect(await wh.scalar(`SELECT count(*) FROM customers WHERE email = 'again@example.com'`)).toBe(1);
    expect(await reasons()).toEqual([
      { reason: 'CSV row has 1 field, the header 2, at line 10001', source: path, line: 'cY' },
      { reason: 'CSV row has 3 fields, the header 2, at line 101', source: path, line: rows[100] },
    ]);
  });

  it('CSV: an unclosed quote quarantines each line it runs into; quoted values elsewhere still read', async () => {
    const rows = ['customer_id,first_name,email'];
    for (let i = 0; i < 5_000; i++) rows.push(`c${i},"Doe, J${i}",u${i}@example.com`);
    rows.push('cQ,"Unclosed,q@example.com', 'cR,Roe,r@example.com', 'cS,"Last, S",s@example.com');
    for (let i = 0; i < 5; i++) rows.push(`d${i},"Roe, D${i}",d${i}@example.com`);
    write('customers.csv', `${rows.join('\n')}\n`);
    const { tables } = await load();
    expect(tables.find((t) => t.table === 'customers')).toMatchObject({ rowsLoaded: 5_005, rowsRejected: 3 });
    expect(await wh.json('SELECT reason FROM rejected_rows ORDER BY reason')).toEqual([
      { reason: 'line 5003 inside the unclosed quote at line 5002' },
      { reason: 'line 5004 inside the unclosed quote at line 5002' },
      { reason: 'unclosed quote (or text after a closing quote) at line 5002' },
    ]);
    expect(await wh.scalar(`SELECT count(*) FROM customers WHERE first_name = 'Roe, D4'`)).toBe(1);
  });

  it('CSV: a doubled quote inside a quoted value (RFC 4180) is a quote, not an unclosed one', async () => {
    const rows = ['product_id,name,price'];
    for (let i = 0; i < 100; i++)
      rows.push(i % 4 ? `p${i},Mug ${i},10` : `p${i},"Dell 13"" Ultrabook ${i}",999`);
    write('products.csv', `${rows.join('\n')}\n`);
    const { tables } = await load();
    expect(tables.find((t) => t.table === 'products')).toMatchObject({ rowsLoaded: 100, rowsRejected: 0 });
    expect(await wh.json(`SELECT name FROM products WHERE product_id = 'p4'`)).toEqual([
      { name: 'Dell 13" Ultrabook 4' },
    ]);
  });

  it('CSV: an unclosed quote swallowing much of a file fails its table, never loses lines unseen', async () => {
    const store = (swallowed: number) => {
      const rows = ['customer_id,first_name,email'];
      for (let i = 0; i < 5_000; i++) rows.push(`c${i},"Doe, J${i}",u${i}@example.com`);
      rows.push(`cQ,"${PII[2]},${PII[0]}`);
      for (let i = 0; i < swallowed; i++) rows.push(`d${i},Roe,d${i}@example.com`);
      for (let i = 0; i < 50; i++) rows.push(`e${i},"Doe, E${i}",e${i}@example.com`);
      return write('customers.csv', `${rows.join('\n')}\n`);
    };
    store(350);
    const err = await failure(load());
    expect(err.message).toContain('customers: 352 of 5401 rows rejected');
    // Longer than the text DuckDB keeps of a skipped row: how far the quote runs is unknown.
    const path = store(600);
    const again = await failure(load('r2'));
    expect(again.message).toContain(
      `${path}: cannot be read as csv at line 5002: a quoted value is not closed and runs on too far to quarantine`,
    );
    for (const value of PII) expect(`${err.message}${again.message}`).not.toContain(value);
  });

  it('a file of mostly malformed lines still fails its table over the limit, naming no value', async () => {
    const lines = Array.from({ length: 100 }, (_, i) =>
      i % 10 < 6 ? `{"customer_id": "${PII[0]}", ` : event(i),
    );
    write('events.jsonl', `${lines.join('\n')}\n`);
    write('products.csv', 'product_id\np1\n');
    const err = await failure(load());
    expect(err.message).toContain('events: 60 of 100 rows rejected (60.0% > 5.0% allowed); nothing loaded');
    for (const value of PII) expect(err.message).not.toContain(value);
    expect(await wh.scalar('SELECT count(*) FROM events')).toBe(0);
    expect(await wh.scalar('SELECT count(*) FROM rejected_rows')).toBe(60);
    expect(await wh.scalar('SELECT count(*) FROM products')).toBe(1);
  });

  it("a forgotten customer's malformed line is dropped, not quarantined", async () => {
    await forgetCustomer(wh, 'c7');
    await forgetCustomer(wh, 'ann@example.com');
    const lines = Array.from({ length: 100 }, (_, i) => event(i));
    lines[7] = '{"event_id": "e7", "customer_id": "c7", "event_name": "view_item",';
    write('events.jsonl', `${lines.join('\n')}\n`);
    write('customers.csv', `customer_id,email\nc1,a@example.com\ncX,${PII[0]},${PII[3]}\n`);
    const { tables } = await load();
    expect(tables.find((t) => t.table === 'events')).toMatchObject({ rowsLoaded: 99, rowsForgotten: 1 });
    expect(tables.find((t) => t.table === 'customers')).toMatchObject({ rowsLoaded: 1, rowsForgotten: 1 });
    expect(await wh.scalar('SELECT count(*) FROM rejected_rows')).toBe(0);
  });
});

describe('file and column names', () => {
  it('accepts the obvious spellings of table names', () => {
    expect(
      [
        'Products.csv',
        'customer.csv',
        'orders_2026-11.csv',
        'orders-2.csv',
        'Order Items.jsonl',
        'EVENTS',
      ].map(tableOfName),
    ).toEqual(['products', 'customers', 'orders', 'orders', 'order_items', 'events']);
    expect(
      ['orders_items.csv', 'customers_orders.csv', 'prodcts.csv', 'manifest.json'].map(tableOfName),
    ).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('loads misspelt-but-obvious file names, and reports ignored files and unknown columns', async () => {
    write('Products.csv', 'product_id,name\np1,Cam\n');
    write('customer.csv', 'customer_id,Email_Address,loyalty_tier\nc1,a@example.com,gold\n');
    write('orders_2026-11.csv', 'order_id,customer_id,ordered_at\no1,c1,2026-11-01\n');
    write('order_items-2.csv', 'order_id,product_id,qty\no1,p1,3\n');
    write('prodcts.csv', 'product_id\np2\n');
    write('notes.txt', 'hello');
    write('_manifest.json', '{}');
    write('order_items/_SUCCESS', '');
    const report = await load();
    expect(await wh.json('SELECT customer_id, email FROM customers')).toEqual([
      { customer_id: 'c1', email: 'a@example.com' },
    ]);
    expect(await wh.json('SELECT order_id, quantity FROM order_items')).toEqual([
      { order_id: 'o1', quantity: 3 },
    ]);
    expect(await wh.scalar('SELECT count(*) FROM orders')).toBe(1);
    expect(await wh.scalar('SELECT count(*) FROM products')).toBe(1);
    expect(report.ignored).toEqual([
      { path: join(dir, 'notes.txt'), reason: 'not CSV, JSON lines or Parquet' },
      { path: join(dir, 'prodcts.csv'), reason: expect.stringMatching(/^name matches no table/) },
    ]);
    expect(report.tables.find((t) => t.table === 'customers')?.unknownColumns).toEqual(['loyalty_tier']);
    expect(filesWarnings(report)).toEqual([
      `ignored ${join(dir, 'notes.txt')}: not CSV, JSON lines or Parquet`,
      `ignored ${join(dir, 'prodcts.csv')}: name matches no table (customers, products, orders, order_items, events, product_complements)`,
      'customers: column(s) not in the files contract, not loaded: loyalty_tier',
    ]);
  });

  it('a file whose name names another table than its folder fails that table, naming the file', async () => {
    write('events/2026-01-01.csv', 'event_name,occurred_at\nview_item,2026-01-01\n');
    const path = write('events/orders.csv', 'order_id,customer_id,ordered_at\no1,c1,2026-01-01\n');
    write('products.csv', 'product_id\np1\n');
    await expect(load()).rejects.toThrow(
      `events: ${path}: ambiguous: the folder says events, the file name says orders; rename or move the file`,
    );
    expect(await wh.scalar('SELECT count(*) FROM events')).toBe(0);
    expect(await wh.scalar('SELECT count(*) FROM products')).toBe(1);
  });

  it('two columns meaning one field is an error naming both', async () => {
    const path = write('order_items.csv', 'order_id,product_id,quantity,qty\no1,p1,1,2\n');
    const err = await failure(load());
    expect(err.message).toContain(
      `${path}: columns quantity and qty both mean order_items.quantity; keep one of them`,
    );
  });
});

describe('every table is checked in one run', () => {
  it('reports every failing table with its counts, commits the good ones and nothing of the bad', async () => {
    write('customers.csv', 'customer_id,email\nc1,a@example.com\n');
    write('orders.csv', 'order_id,customer_id,ordered_at\no1,c1,2026-01-01\n,c2,2026-01-01\no3,c3,soon\n');
    const events = write('events.csv', 'customer_id,event_name\nc1,view_item\n');
    write('products.csv', 'product_id,price\np1,1\np2,x\np3,y\n');
    const err = await failure(load());
    expect(err).toBeInstanceOf(FilesLoadError);
    expect(err.message).toMatch(/^3 table\(s\) not loaded/);
    expect(err.message).toContain('products: 2 of 3 rows rejected');
    expect(err.message).toContain('orders: 2 of 3 rows rejected');
    expect(err.message).toContain(`events: ${events}: missing required column occurred_at for table events`);
    expect(await wh.scalar('SELECT count(*) FROM customers')).toBe(1);
    expect(await wh.scalar('SELECT count(*) FROM orders')).toBe(0);
    expect(await wh.scalar('SELECT count(*) FROM products')).toBe(0);
    expect(await wh.json('SELECT DISTINCT table_name FROM loaded_files')).toEqual([
      { table_name: 'customers' },
    ]);
    const tables = (err as FilesLoadError).report.tables;
    expect(tables.find((t) => t.table === 'orders')).toMatchObject({
      rowsRead: 3,
      rowsRejected: 2,
      rowsLoaded: 0,
    });
    expect(tables.find((t) => t.table === 'customers')).toMatchObject({ rowsLoaded: 1 });
    expect(tables.find((t) => t.table === 'customers')?.error).toBeUndefined();
  });
});

describe('errors name columns and lines, never values', () => {
  it('a customers CSV without a header row is named as such, without its values', async () => {
    const path = write(
      'customers.csv',
      `c1,${PII[0]},${PII[1]},${PII[2]},${PII[3]},${PII[4]}\nc2,bob@example.com,,Bob,Paris,75001\n`,
    );
    const err = await failure(load());
    expect(err).toBeInstanceOf(FilesSourceError);
    expect(err.message).toContain(
      `${path}: the first row looks like data, not a header: customers files need a header row with customer_id`,
    );
    for (const value of PII) expect(err.message).not.toContain(value);
  });

  it('a JSON document (an array) loads whole; one that does not parse fails its table, naming no value', async () => {
    write('products.json', '[\n  {"product_id": "p1", "name": "Cam"},\n  {"product_id": "p2"}\n]\n');
    await load();
    expect(await wh.scalar('SELECT count(*) FROM products')).toBe(2);
    const path = write('events.json', `[\n${event(1)},\n{"customer_id": "${PII[0]}" "event_name": 1}\n]\n`);
    const err = await failure(load('r2'));
    expect(err.message).toContain(`${path}: cannot be read as json: not valid JSON`);
    for (const value of PII) expect(err.message).not.toContain(value);
  });
});

describe('a run over a broken export', () => {
  it('fails once naming every broken table, keeps personal data out of the run record, and warns about the rest', async () => {
    const store = join(dir, 'store');
    const database = join(dir, 'db', 'run.duckdb');
    mkdirSync(store);
    writeFileSync(join(store, 'customers.csv'), `c1,${PII.join(',')}\n`);
    writeFileSync(join(store, 'orders.csv'), 'order_id,customer_id,ordered_at\n,c1,2026-01-01\n');
    writeFileSync(join(store, 'Products.csv'), 'product_id,name,colour\np1,Cam,red\n');
    writeFileSync(join(store, 'orders_old.csv.bak'), 'order_id\n');
    const config = parseConfig(
      { database, sources: { files: { dir: store } }, destinations: { csv: false }, segments: { dir } },
      'test',
    );
    const summary = await runPipeline({ config, segments: [], destinations: [], alerts: false });
    expect(summary.status).toBe('failed');
    expect(summary.error?.message).toMatch(
      /^2 table\(s\) not loaded.*customers: .*first row looks like data.*orders: 1 of 1 rows rejected/,
    );
    expect(summary.loads.find((t) => t.table === 'products')).toMatchObject({
      rowsLoaded: 1,
      unknownColumns: ['colour'],
    });
    expect(summary.warnings).toEqual(
      expect.arrayContaining([
        `ignored ${join(store, 'orders_old.csv.bak')}: not CSV, JSON lines or Parquet`,
        'products: column(s) not in the files contract, not loaded: colour',
      ]),
    );
    const db = await Warehouse.open({ path: database, readOnly: true });
    try {
      const stored = JSON.stringify(
        await db.json('SELECT error FROM pipeline_runs UNION ALL SELECT detail FROM pipeline_steps'),
      );
      expect(stored).toContain('first row looks like data');
      for (const value of PII) expect(stored).not.toContain(value);
    } finally {
      db.close();
    }
  });
});
