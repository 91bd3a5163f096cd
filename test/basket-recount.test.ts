import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { refreshBaskets } from '../audiences/baskets.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { storedCompression } from './helpers/compression.ts';
import { type TestStore, testStore } from './helpers/store.ts';
import { tempDir } from './helpers/temp.ts';
import { openOlderDatabase } from './older-database.ts';

// The basket counts' first run (empty tables) and --full-refresh count every basket directly instead of applying a
// diff: checked here against counts written out by hand, then moved on by an ordinary incremental night.
const T = new Date('2026-05-01T00:00:00Z');
const daysBefore = (days: number) => new Date(T.getTime() - days * 86_400_000);

let store: TestStore;
beforeEach(async () => {
  store = await testStore();
  await store.order('c1', { at: daysBefore(10), items: ['A', 'B', 'C'] });
  await store.order('c2', { at: daysBefore(5), items: ['A', 'B'], id: 'cancelled_later' });
  await store.order('c3', { at: daysBefore(4), items: ['C'] }); // one line: a product, no pair
  await store.order('c4', { at: daysBefore(3), items: ['A', 'B'], status: 'cancelled' });
  await store.order('c5', { at: daysBefore(2), items: ['B', 'C'], status: 'refunded' });
  await store.order('c6', { at: new Date(T.getTime() + 1000), items: ['A', 'B'] }); // after T
});
afterEach(() => store.close());

/** The three count tables as sorted "key=n" strings (lines as "order:product"). */
async function counts(): Promise<{ lines: number; pairs: string[]; products: string[] }> {
  const wh = store.wh;
  const pairs = await wh.all<{ k: string }>(
    `SELECT a || '+' || b || '=' || n AS k FROM basket_pairs ORDER BY k`,
  );
  const products = await wh.all<{ k: string }>(
    `SELECT product_id || '=' || n AS k FROM basket_products ORDER BY k`,
  );
  return {
    lines: await wh.scalar('SELECT count(*) FROM basket_lines'),
    pairs: pairs.map((r) => r.k),
    products: products.map((r) => r.k),
  };
}

describe('basket counts counted directly (first run, --full-refresh)', () => {
  const atT = { lines: 6, pairs: ['A+B=2', 'A+C=1', 'B+C=1'], products: ['A=2', 'B=2', 'C=2'] };

  it('the first run counts each completed basket up to T once, each pair once (a < b)', async () => {
    const first = await refreshBaskets(store.wh, T);
    expect(first).toEqual({ recounted: true, linesAdded: 6, linesRemoved: 0 });
    expect(await counts()).toEqual(atT);
  });

  it('the next night moves the recounted tables by the changed orders only', async () => {
    await refreshBaskets(store.wh, T);
    await store.order('c7', { at: daysBefore(1), items: ['A', 'C'] });
    await store.wh.run(`UPDATE orders SET status = 'cancelled' WHERE order_id = 'cancelled_later'`);
    const next = await refreshBaskets(store.wh, T);
    // The edit in place changed a row the last refresh saw: every basket is compared (basket-state.ts).
    expect(next).toEqual({ recounted: false, linesAdded: 2, linesRemoved: 2, orders: 2, compared: 'all' });
    expect(await counts()).toEqual({
      lines: 6,
      pairs: ['A+B=1', 'A+C=2', 'B+C=1'],
      products: ['A=2', 'B=1', 'C=3'],
    });
  });

  it('--full-refresh replaces whatever the tables held', async () => {
    await refreshBaskets(store.wh, T);
    await store.wh.run(`UPDATE basket_pairs SET n = n + 5`);
    await store.wh.run(`INSERT INTO basket_lines VALUES ('gone', 'A')`);
    const full = await refreshBaskets(store.wh, T, true);
    expect(full).toEqual({ recounted: true, linesAdded: 6, linesRemoved: 7 });
    expect(await counts()).toEqual(atT);
  });

  it('a line held twice (order_items has no key index) counts once, on the first run and on the next', async () => {
    const twice = (order: string, product: string) =>
      store.wh.run(`INSERT INTO order_items (order_id, product_id, quantity) VALUES ($1, $2, 1)`, [
        order,
        product,
      ]);
    await twice('o1', 'A');
    expect(await refreshBaskets(store.wh, T)).toMatchObject({ recounted: true, linesAdded: 6 });
    expect(await counts()).toEqual(atT);
    await twice('o1', 'B'); // an already counted order: nothing moves
    await store.order('c8', { at: daysBefore(1), items: ['A', 'C'], id: 'new' });
    await twice('new', 'A');
    expect(await refreshBaskets(store.wh, T)).toEqual({
      recounted: false,
      linesAdded: 2,
      linesRemoved: 0,
      orders: 1,
      compared: 'all', // lines inserted by hand are load 0: the rows seen before changed
    });
    expect(await counts()).toEqual({
      lines: 8,
      pairs: ['A+B=2', 'A+C=2', 'B+C=1'],
      products: ['A=3', 'B=2', 'C=3'],
    });
  });
});

describe('the stored basket compression (migration 0045)', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('basket-fsst');
  });

  it('a real recount writes basket ids FSST without a dictionary trial, even where a dictionary would win', async () => {
    // Compression is only applied to a database file. 60 orders x the same 100 products: DuckDB's own choice
    // would be a dictionary for every id column (order_items' product ids show it).
    const wh = await Warehouse.open({ path: join(dir, 'db.duckdb') });
    try {
      await wh.run(
        `INSERT INTO orders (order_id, customer_id, ordered_at, status)
         SELECT 'order-' || i, 'c' || i, TIMESTAMP '2026-04-30', 'completed' FROM range(60) t(i);
         INSERT INTO order_items (order_id, product_id, quantity)
         SELECT 'order-' || o.i, 'product-' || p.i, 1 FROM range(60) o(i), range(100) p(i)`,
      );
      await refreshBaskets(wh, T);
      await refreshBaskets(wh, T, true); // --full-refresh recounts into the same tables
      expect(await wh.scalar('SELECT count(*) FROM basket_pairs WHERE n = 60')).toBe(4950);
      expect(await storedCompression(wh, 'basket_lines')).toEqual({ order_id: 'FSST', product_id: 'FSST' });
      expect(await storedCompression(wh, 'basket_pairs')).toEqual({ a: 'FSST', b: 'FSST' });
      expect(await storedCompression(wh, 'order_items')).toMatchObject({ product_id: 'Dictionary' });
    } finally {
      wh.close();
    }
  });

  it('empties the basket tables of an older database: the next refresh counts every basket again', async () => {
    const { path, instance, connection } = await openOlderDatabase(dir, 45);
    await connection.run(
      `INSERT INTO orders (order_id, customer_id, ordered_at, status) VALUES ('o1', 'c1', TIMESTAMP '2026-04-30', 'completed');
       INSERT INTO order_items (order_id, product_id, quantity) VALUES ('o1', 'A', 1), ('o1', 'B', 1);
       INSERT INTO basket_lines VALUES ('o1', 'A'), ('stale', 'A');
       INSERT INTO basket_pairs VALUES ('A', 'B', 7);
       INSERT INTO basket_products VALUES ('A', 9)`,
    );
    connection.closeSync();
    instance.closeSync();

    const wh = await Warehouse.open({ path });
    try {
      expect(
        await wh.json(
          `SELECT (SELECT count(*) FROM basket_lines)::INT AS lines, (SELECT count(*) FROM basket_pairs)::INT AS pairs,
                  (SELECT count(*) FROM basket_products)::INT AS products`,
        ),
      ).toEqual([{ lines: 0, pairs: 0, products: 0 }]);
      expect(await refreshBaskets(wh, T)).toEqual({ recounted: true, linesAdded: 2, linesRemoved: 0 });
      expect(await wh.json('SELECT a, b, n::INT AS n FROM basket_pairs')).toEqual([{ a: 'A', b: 'B', n: 1 }]);
      await expect(wh.run(`INSERT INTO basket_pairs (a, b) VALUES ('A', 'C')`)).rejects.toThrow(/NOT NULL/i);
    } finally {
      wh.close();
    }
  });
});
