import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadFilesSource } from '../connectors/sources/files/load.ts';
import { closeExportDir, type ExportDir, openExportDir, writeExport } from './export-dir.ts';

/**
 * Products, orders and order lines keep the export time of the file their stored row came from: a row is replaced
 * only by one from an export at least as new, whatever order the files are read in (README, docs/analysts.md).
 */
let s: ExportDir;
beforeEach(async () => {
  s = await openExportDir('retarget-export-times-');
});
afterEach(() => closeExportDir(s));

let run = 0;
const load = () => loadFilesSource(s.wh, { dir: s.dir, runId: `r${++run}` });
const ORDERS = 'order_id,customer_id,ordered_at,status,total\n';

describe('an older export read after a newer one', () => {
  it('leaves a newer order as it is (a late file), and a newer export still replaces it', async () => {
    writeExport(
      s.dir,
      'orders/orders_2026-11-01.csv',
      `${ORDERS}o1,c1,2026-09-01,refunded,20\no2,c2,2026-09-02,completed,5\n`,
    );
    await load();
    writeExport(
      s.dir,
      'orders/orders_2026-10-01.csv',
      `${ORDERS}o1,c1,2026-09-01,completed,20\no3,c3,2026-09-03,completed,7\n`,
    );
    await load();
    expect(await s.wh.json('SELECT order_id, status FROM orders ORDER BY 1')).toEqual([
      { order_id: 'o1', status: 'refunded' },
      { order_id: 'o2', status: 'completed' },
      { order_id: 'o3', status: 'completed' },
    ]);
    writeExport(s.dir, 'orders/orders_2026-11-02.csv', `${ORDERS}o1,c1,2026-09-01,cancelled,20\n`);
    await load();
    expect(await s.wh.json("SELECT status, exported_at FROM orders WHERE order_id = 'o1'")).toEqual([
      { status: 'cancelled', exported_at: '2026-11-02 00:00:00' },
    ]);
    expect(await s.wh.scalar('SELECT count(*) FROM orders')).toBe(3);
  });

  it('leaves a newer product as it is when a dated file is touched and read again', async () => {
    writeExport(s.dir, 'products/products_2026-10-01.csv', 'product_id,category,price\np1,Cameras,100\n');
    writeExport(s.dir, 'products/products_2026-11-01.csv', 'product_id,category,price\np1,Tripods,120\n');
    await load();
    // A touch changes the modification time, not the date in the name: the file is read again and still older.
    writeExport(
      s.dir,
      'products/products_2026-10-01.csv',
      'product_id,category,price\np1,Cameras,100\n',
      new Date(),
    );
    const report = await load();
    expect(report.tables.find((t) => t.table === 'products')).toMatchObject({ rowsRead: 1, rowsLoaded: 0 });
    expect(await s.wh.json('SELECT product_id, category, price FROM products')).toEqual([
      { product_id: 'p1', category: 'Tripods', price: '120.0000' },
    ]);
  });

  it('keeps a newer order line, and replaces it from the same export read again (a corrected re-export)', async () => {
    const lines = 'order_id,product_id,quantity,unit_price\n';
    writeExport(s.dir, 'order_items/items_2026-11-01.csv', `${lines}o1,p1,2,10\n`);
    await load();
    writeExport(s.dir, 'order_items/items_2026-10-01.csv', `${lines}o1,p1,5,10\no1,p2,1,3\n`);
    await load();
    expect(await s.wh.json('SELECT order_id, product_id, quantity FROM order_items ORDER BY 2')).toEqual([
      { order_id: 'o1', product_id: 'p1', quantity: 2 },
      { order_id: 'o1', product_id: 'p2', quantity: 1 },
    ]);
    writeExport(s.dir, 'order_items/items_2026-11-01.csv', `${lines}o1,p1,3,10\n`, new Date());
    await load();
    expect(await s.wh.json("SELECT quantity FROM order_items WHERE product_id = 'p1'")).toEqual([
      { quantity: 3 },
    ]);
    expect(await s.wh.scalar('SELECT count(*) FROM order_items')).toBe(2);
  });

  it('replaces a row stored before export times were kept (no exported_at) by any version', async () => {
    await s.wh.run(
      "INSERT INTO orders (order_id, customer_id, ordered_at, status) VALUES ('o1', 'c1', TIMESTAMP '2026-09-01', 'completed')",
    );
    writeExport(s.dir, 'orders/orders_2020-01-01.csv', `${ORDERS}o1,c1,2026-09-01,refunded,20\n`);
    await load();
    expect(await s.wh.json('SELECT order_id, status FROM orders')).toEqual([
      { order_id: 'o1', status: 'refunded' },
    ]);
  });
});
