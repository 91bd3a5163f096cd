import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadFilesSource } from '../connectors/sources/files/load.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { closeExportDir, type ExportDir, openExportDir, writeExport } from './export-dir.ts';
import { openOlderDatabase } from './older-database.ts';

/**
 * The keyed raw tables have no primary-key index (migration 0041, issue 13): the merge alone keeps one row per
 * key. Every reload below runs against stored rows, so each one exercises the delete-then-insert path.
 */

let scratch: ExportDir;
let wh: Warehouse;
let dir: string;
let run = 0;

beforeEach(async () => {
  scratch = await openExportDir('retarget-keyless-');
  ({ wh, dir } = scratch);
});
afterEach(() => closeExportDir(scratch));

const write = (name: string, text: string, modifiedAt?: Date) => writeExport(dir, name, text, modifiedAt);
const load = async () => {
  const report = await loadFilesSource(wh, { dir, runId: `r${++run}` });
  expect(report.tables.filter((t) => t.error)).toEqual([]);
  return report;
};

const KEYS = {
  customers: 'customer_id',
  products: 'product_id',
  orders: 'order_id',
  order_items: 'order_id, product_id',
};
/** Keys held by more than one row, in any keyed table: always empty. */
const repeatedKeys = async () => {
  const found: unknown[] = [];
  for (const [table, key] of Object.entries(KEYS))
    found.push(
      ...(await wh.json(
        `SELECT '${table}' AS t, concat_ws('/', ${key}) AS k, count(*) AS n FROM ${table} GROUP BY ALL HAVING n > 1`,
      )),
    );
  return found;
};

const ORDERS = 'order_id,customer_id,ordered_at,status\n';
const LINES = 'order_id,product_id,quantity,unit_price\n';

describe('keyed tables without an index keep one row per key', () => {
  it('re-loading a changed file replaces its rows, and adds the new ones', async () => {
    write('customers.csv', 'customer_id,email\nc1,a@example.com\nc2,b@example.com\n', new Date('2026-11-01'));
    write('products.csv', 'product_id,name\np1,Mug\np2,Plate\n', new Date('2026-11-01'));
    write(
      'orders.csv',
      `${ORDERS}o1,c1,2026-10-01,completed\no2,c2,2026-10-02,completed\n`,
      new Date('2026-11-01'),
    );
    write('order_items.csv', `${LINES}o1,p1,1,5\no1,p2,2,7\no2,p1,1,5\n`, new Date('2026-11-01'));
    await load();
    // The same paths, changed (a new modification time): each is read again against the stored rows.
    write(
      'customers.csv',
      'customer_id,email\nc1,new@example.com\nc3,c@example.com\n',
      new Date('2026-11-02'),
    );
    write('products.csv', 'product_id,name\np1,Big mug\n', new Date('2026-11-02'));
    write(
      'orders.csv',
      `${ORDERS}o1,c1,2026-10-01,refunded\no3,c3,2026-10-03,completed\n`,
      new Date('2026-11-02'),
    );
    write('order_items.csv', `${LINES}o1,p2,3,7\no3,p2,1,7\n`, new Date('2026-11-02'));
    await load();
    expect(await repeatedKeys()).toEqual([]);
    expect(await wh.json('SELECT customer_id, email FROM customers ORDER BY 1')).toEqual([
      { customer_id: 'c1', email: 'new@example.com' },
      { customer_id: 'c2', email: 'b@example.com' },
      { customer_id: 'c3', email: 'c@example.com' },
    ]);
    expect(await wh.json('SELECT product_id, name FROM products ORDER BY 1')).toEqual([
      { product_id: 'p1', name: 'Big mug' },
      { product_id: 'p2', name: 'Plate' },
    ]);
    expect(await wh.json('SELECT order_id, status FROM orders ORDER BY 1')).toEqual([
      { order_id: 'o1', status: 'refunded' },
      { order_id: 'o2', status: 'completed' },
      { order_id: 'o3', status: 'completed' },
    ]);
    expect(await wh.json('SELECT order_id, product_id, quantity FROM order_items ORDER BY 1, 2')).toEqual([
      { order_id: 'o1', product_id: 'p1', quantity: 1 },
      { order_id: 'o1', product_id: 'p2', quantity: 3 },
      { order_id: 'o2', product_id: 'p1', quantity: 1 },
      { order_id: 'o3', product_id: 'p2', quantity: 1 },
    ]);
  });

  it('a file repeating a key over stored rows keeps its last row, once', async () => {
    write('orders/a_2026-11-01.csv', `${ORDERS}o1,c1,2026-10-01,completed\n`);
    write('order_items/a_2026-11-01.csv', `${LINES}o1,p1,1,5\n`);
    write('customers/a_2026-11-01.csv', 'customer_id,email\nc1,a@example.com\n');
    await load();
    write('orders/b_2026-11-02.csv', `${ORDERS}o1,c1,2026-10-01,cancelled\no1,c1,2026-10-01,refunded\n`);
    write('order_items/b_2026-11-02.csv', `${LINES}o1,p1,2,5\no1,p1,4,5\no1,p1,3,5\n`);
    write(
      'customers/b_2026-11-02.csv',
      'customer_id,email\nc1,one@example.com\nc1,two@example.com\nc1,three@example.com\n',
    );
    await load();
    expect(await repeatedKeys()).toEqual([]);
    expect(await wh.json('SELECT status FROM orders')).toEqual([{ status: 'refunded' }]);
    expect(await wh.json('SELECT quantity FROM order_items')).toEqual([{ quantity: 3 }]);
    expect(await wh.json('SELECT email FROM customers')).toEqual([{ email: 'three@example.com' }]);
  });

  it('an older customers file read later replaces no newer customer, and loses none', async () => {
    write('customers/customers_2026-11-02.csv', 'customer_id,email,ads_consent\nc1,new@example.com,false\n');
    await load();
    // Older for c1 (must not replace it, nor delete it), new for c2 (must load).
    write(
      'customers/customers_2026-11-01.csv',
      'customer_id,email,ads_consent\nc1,old@example.com,true\nc2,b@example.com,true\n',
    );
    const report = await load();
    expect(report.tables.find((t) => t.table === 'customers')?.rowsLoaded).toBe(1);
    expect(await repeatedKeys()).toEqual([]);
    expect(await wh.json('SELECT customer_id, email, ads_consent FROM customers ORDER BY 1')).toEqual([
      { customer_id: 'c1', email: 'new@example.com', ads_consent: false },
      { customer_id: 'c2', email: 'b@example.com', ads_consent: true },
    ]);
  });

  it('a customer version race: versions in one batch and stored, the newest wins, one row each', async () => {
    write(
      'customers/customers_2026-11-01.csv',
      'customer_id,email,ads_consent,updated_at\nc1,v2@example.com,true,2026-10-02T00:00:00Z\n' +
        'c2,v2@example.com,false,2026-10-02T00:00:00Z\nc3,v1@example.com,true,2026-10-01T00:00:00Z\n',
    );
    await load();
    // Two files read together: c1 two versions newer than the stored one; c2 a tie granting (the withdrawal stays);
    // c3 newer in the older-named file, older in the other.
    write(
      'customers/customers_2026-11-02.csv',
      'customer_id,email,ads_consent,updated_at\nc1,v3@example.com,true,2026-10-03T00:00:00Z\n' +
        'c2,tie@example.com,true,2026-10-02T00:00:00Z\nc3,v3@example.com,false,2026-10-03T00:00:00Z\n',
    );
    write(
      'customers/customers_2026-11-03.csv',
      'customer_id,email,ads_consent,updated_at\nc1,v2b@example.com,false,2026-10-02T12:00:00Z\n' +
        'c3,v0@example.com,true,2026-09-30T00:00:00Z\n',
    );
    await load();
    expect(await repeatedKeys()).toEqual([]);
    expect(await wh.json('SELECT customer_id, email, ads_consent FROM customers ORDER BY 1')).toEqual([
      { customer_id: 'c1', email: 'v3@example.com', ads_consent: true },
      { customer_id: 'c2', email: 'tie@example.com', ads_consent: false },
      { customer_id: 'c3', email: 'v3@example.com', ads_consent: false },
    ]);
  });

  it('a restored copy read in the same batch as a later withdrawal keeps its first time, and does not outrank it', async () => {
    const granted = 'customer_id,email,ads_consent\nc1,a@example.com,true\n';
    // Undated files (their modification times date them): the original, the withdrawal, then a copy of the original.
    write('customers/a.csv', granted, new Date('2026-11-01'));
    write(
      'customers/b.csv',
      'customer_id,email,ads_consent\nc1,a@example.com,false\n',
      new Date('2026-11-02'),
    );
    write('customers/c.csv', granted, new Date('2026-11-03'));
    await load();
    expect(await repeatedKeys()).toEqual([]);
    expect(await wh.json('SELECT ads_consent, exported_at FROM customers')).toEqual([
      { ads_consent: false, exported_at: '2026-11-02 00:00:00' },
    ]);
  });

  it('the tables carry no primary-key index, and their key columns stay NOT NULL', async () => {
    expect(
      await wh.scalar(
        `SELECT count(*) FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'
         AND table_name IN ('customers', 'products', 'orders', 'order_items')`,
      ),
    ).toBe(0);
    await expect(wh.run(`INSERT INTO order_items (order_id, quantity) VALUES ('o1', 1)`)).rejects.toThrow(
      /NOT NULL/i,
    );
  });
});

describe('migration 0041 on a database an older retarget wrote', () => {
  it('keeps every row, the defaults, and the views that read the tables', async () => {
    const { path, instance, connection } = await openOlderDatabase(scratch.root, 41);
    await connection.run(
      `INSERT INTO customers (customer_id, email, ads_consent, updated_at, exported_at)
         VALUES ('c1', 'a@example.com', true, TIMESTAMP '2026-10-01', TIMESTAMP '2026-10-02');
       INSERT INTO products VALUES ('p1', 'Mug', 'kitchen', 'B', 5, 'EUR');
       INSERT INTO orders VALUES ('o1', 'c1', TIMESTAMP '2026-10-05', 'completed', 10, 'EUR'),
                                 ('o2', 'c1', TIMESTAMP '2026-10-06', 'refunded', 10, 'EUR');
       INSERT INTO order_items VALUES ('o1', 'p1', 2, 5), ('o2', 'p1', 2, 5);
       INSERT INTO events (event_name, customer_id, product_id, occurred_at, event_key)
         VALUES ('view_item', 'c1', 'p1', TIMESTAMP '2026-10-04', 'k1');
       INSERT INTO audience_members VALUES ('a', 'a', 'c1', TIMESTAMP '2026-10-07', NULL, 'exposed');`,
    );
    connection.closeSync();
    instance.closeSync();

    const upgraded = await Warehouse.open({ path });
    try {
      expect(
        await upgraded.json('SELECT customer_id, email, ads_consent, updated_at, exported_at FROM customers'),
      ).toEqual([
        {
          customer_id: 'c1',
          email: 'a@example.com',
          ads_consent: true,
          updated_at: '2026-10-01 00:00:00',
          exported_at: '2026-10-02 00:00:00',
        },
      ]);
      expect(await upgraded.json('SELECT * FROM products')).toEqual([
        {
          product_id: 'p1',
          name: 'Mug',
          category: 'kitchen',
          brand: 'B',
          price: '5.0000',
          currency: 'EUR',
          exported_at: null,
        },
      ]);
      expect(await upgraded.scalar('SELECT count(*) FROM order_items')).toBe(2);
      // The views bind to the new tables.
      expect(await upgraded.json('SELECT order_id FROM completed_orders')).toEqual([{ order_id: 'o1' }]);
      expect(await upgraded.json('SELECT category FROM events_resolved')).toEqual([{ category: 'kitchen' }]);
      expect(await upgraded.scalar('SELECT count(*) FROM sendable_members')).toBe(1);
      expect(await upgraded.json('SELECT order_id FROM customer_orders')).toEqual([{ order_id: 'o1' }]);
      // The defaults survive.
      await upgraded.run(
        `INSERT INTO orders (order_id, ordered_at) VALUES ('o3', TIMESTAMP '2026-10-08');
         INSERT INTO customers (customer_id) VALUES ('c2');
         INSERT INTO order_items (order_id, product_id) VALUES ('o3', 'p1')`,
      );
      expect(await upgraded.json("SELECT status FROM orders WHERE order_id = 'o3'")).toEqual([
        { status: 'completed' },
      ]);
      expect(await upgraded.json("SELECT ads_consent FROM customers WHERE customer_id = 'c2'")).toEqual([
        { ads_consent: false },
      ]);
      expect(await upgraded.json("SELECT quantity FROM order_items WHERE order_id = 'o3'")).toEqual([
        { quantity: 1 },
      ]);
    } finally {
      upgraded.close();
    }
  });
});
