import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { refreshBaskets } from '../audiences/baskets.ts';
import { deleteStoreRecords } from '../connectors/sources/store-records.ts';
import { ingestRelation } from '../warehouse/ingest.ts';
import { timestampLiteral } from '../warehouse/values.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { basketDrift } from './helpers/basket-drift.ts';
import { tempDir } from './helpers/temp.ts';

// The basket refresh after real loads (migration 0047): the merge stamps each load's rows with its number, and the
// refresh compares only the baskets of orders loaded since its last run or placed between its T and this one,
// unless a row it saw before was deleted, replaced or edited. Every step is checked against a recount.
const DAY = 86_400_000;
const T0 = new Date('2026-03-01T00:00:00Z');
const day = (k: number) => new Date(T0.getTime() + k * DAY);

let dir: string;
let wh: Warehouse;
let run = 0;
beforeEach(async () => {
  dir = tempDir('basket-loads');
  wh = await Warehouse.open({ path: join(dir, 'db.duckdb') });
});
afterEach(() => wh.close());

/** Loads orders as a source would: [order_id, days after T0, status, products]. */
async function loadOrders(orders: Array<[string, number, string, string[]]>): Promise<void> {
  const runId = `r${++run}`;
  const rows = orders.map(
    ([id, k, status]) => `('${id}', 'c-${id}', ${timestampLiteral(day(k))}, '${status}')`,
  );
  await ingestRelation(wh, {
    table: 'orders',
    relationSql: `SELECT * FROM (VALUES ${rows.join(', ')}) v(order_id, customer_id, ordered_at, status)`,
    source: 'test',
    runId,
  });
  const lines = orders.flatMap(([id, , , products]) => products.map((p) => `('${id}', '${p}')`));
  await ingestRelation(wh, {
    table: 'order_items',
    relationSql: `SELECT * FROM (VALUES ${lines.join(', ')}) v(order_id, product_id)`,
    source: 'test',
    runId,
  });
}

describe('basket refresh after loads', () => {
  it('stamps every row a merge writes with one number, higher than any before', async () => {
    const stamps = (table: string) =>
      wh.all<{ seq: bigint; n: bigint }>(
        `SELECT load_seq AS seq, count(*) AS n FROM ${table} GROUP BY ALL ORDER BY load_seq`,
      );
    await loadOrders([
      ['o1', -5, 'completed', ['A', 'B']],
      ['o2', -4, 'completed', ['A', 'C']],
    ]);
    const [orders, lines] = [await stamps('orders'), await stamps('order_items')];
    expect(orders.map((r) => Number(r.n))).toEqual([2]); // both orders: one number
    expect(lines.map((r) => Number(r.n))).toEqual([4]);
    await loadOrders([['o3', -3, 'completed', ['B']]]);
    const later = await stamps('orders');
    expect(later.map((r) => Number(r.n))).toEqual([2, 1]);
    expect(Number(later[1]!.seq)).toBeGreaterThan(Number(lines[0]!.seq));
  });

  it('compares only loaded and newly placed orders, and every basket once a row seen before changed', async () => {
    await loadOrders([
      ['o1', -10, 'completed', ['A', 'B', 'C']],
      ['o2', -5, 'completed', ['A', 'B']],
      ['o3', -3, 'completed', ['B', 'C']],
      ['o4', 2, 'completed', ['A', 'C']], // after T: enters when T passes it, with no load
    ]);
    expect(await refreshBaskets(wh, day(0))).toMatchObject({ recounted: true });
    // The next night: the day's order and a late one placed long before.
    await loadOrders([
      ['o5', 0.5, 'completed', ['A', 'B']],
      ['o6', -20, 'completed', ['B', 'C']],
    ]);
    expect(await refreshBaskets(wh, day(1))).toMatchObject({ compared: 'loaded', orders: 2, linesAdded: 4 });
    expect(await basketDrift(wh, day(1))).toBe(0);
    // Nothing loaded; T moves past o4, then back before it (a dry run of an earlier T), then forward again.
    expect(await refreshBaskets(wh, day(3))).toMatchObject({ compared: 'loaded', orders: 1, linesAdded: 2 });
    expect(await basketDrift(wh, day(3))).toBe(0);
    expect(await refreshBaskets(wh, day(1))).toMatchObject({
      compared: 'loaded',
      orders: 1,
      linesRemoved: 2,
    });
    expect(await basketDrift(wh, day(1))).toBe(0);
    expect(await refreshBaskets(wh, day(3))).toMatchObject({ compared: 'loaded', orders: 1 });
    expect(await refreshBaskets(wh, day(3))).toMatchObject({ compared: 'loaded', orders: 0 });
    // A re-load replaces o2 (now refunded): a row seen before is gone, so every basket is compared.
    await loadOrders([['o2', -5, 'refunded', ['A', 'B']]]);
    expect(await refreshBaskets(wh, day(3))).toMatchObject({ compared: 'all', orders: 1, linesRemoved: 2 });
    expect(await basketDrift(wh, day(3))).toBe(0);
    // The store deleted o3 with its lines: no load brings that, the fingerprint of the rows seen does.
    await deleteStoreRecords(wh, 'orders', ['o3']);
    expect(await refreshBaskets(wh, day(3))).toMatchObject({ compared: 'all', orders: 1, linesRemoved: 2 });
    expect(await basketDrift(wh, day(3))).toBe(0);
    expect(await refreshBaskets(wh, day(3))).toMatchObject({ compared: 'loaded', orders: 0 });
  });
});
