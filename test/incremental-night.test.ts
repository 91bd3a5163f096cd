import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { refreshBaskets } from '../audiences/baskets.ts';
import { EVALUATED, evaluateSegments } from '../audiences/evaluate.ts';
import { compareWithFull } from '../bench/stages/night-check.ts';
import { parseConfig } from '../config/config.ts';
import { compileSegment, type LoadedSegment, loadSegments, SEGMENTS_DIR } from '../dsl/index.ts';
import { runPipeline } from '../pipelines/run.ts';
import { timestampLiteral } from '../warehouse/values.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { basketDrift, differences } from './helpers/basket-drift.ts';
import { tempDir } from './helpers/temp.ts';

/**
 * The incremental night (basket counts kept in tables, only changed orders recounted) must give exactly what a full
 * evaluation gives, night after night, whatever happened to the orders: new, late, re-loaded with other lines,
 * cancelled, reinstated, deleted, or placed after T.
 */

const DAY = 86_400_000;
const T0 = new Date('2026-06-01T00:00:00Z');
const night = (k: number) => new Date(T0.getTime() + k * DAY);

let wh: Warehouse;
let segments: LoadedSegment[];
beforeEach(async () => {
  wh = await Warehouse.open({ path: join(tempDir('incr'), 'night.duckdb') });
  segments = await loadSegments();
  await seed(wh);
});
afterEach(() => wh.close());

/** Orders `ids` placed at `at` minus (hash % spread) minutes, with 1-4 neighbouring products (pairs repeat). */
async function addOrders(ids: string, at: Date, spreadMinutes: number): Promise<void> {
  await wh.run(
    `INSERT INTO orders (order_id, customer_id, ordered_at, status, total)
     SELECT 'o' || i, 'c' || (hash(i, 'cust') % 120), ${timestampLiteral(at)} - to_minutes((hash(i, 't') % ${spreadMinutes})::BIGINT),
            CASE WHEN hash(i, 's') % 20 = 0 THEN 'refunded' ELSE 'completed' END, 10
     FROM ${ids}`,
  );
  await wh.run(
    `INSERT INTO order_items (order_id, product_id, quantity)
     SELECT DISTINCT 'o' || i, 'p' || ((hash(i, 'base') % 12 + k) % 12), 1
     FROM ${ids}, range(0, 4) r(k) WHERE k < 1 + hash(i, 'n') % 4`,
  );
}

/** A store: 12 products in 3 categories (declared complements too), 120 customers, 400 orders, browsing events. */
async function seed(w: Warehouse): Promise<void> {
  await w.run(
    `INSERT INTO products (product_id, name, category) SELECT 'p' || i, 'P' || i, 'cat' || (i % 3) FROM range(12) t(i)`,
  );
  await w.run(`INSERT INTO product_complements VALUES ('p1', 'p7'), ('p2', 'p9')`);
  await w.run(
    `INSERT INTO customers (customer_id, email, ads_consent) SELECT 'c' || i, 'c' || i || '@example.com', true FROM range(120) t(i)`,
  );
  await addOrders('range(0, 400) t(i)', T0, 200 * 24 * 60);
  await addEvents(0);
}

async function addEvents(k: number): Promise<void> {
  await wh.run(
    `INSERT INTO events (customer_id, event_name, product_id, category, occurred_at, event_count, event_key)
     SELECT 'c' || (hash(i, 'ec') % 120), ['view_item', 'add_to_cart', 'add_to_wishlist'][(1 + hash(i, 'en') % 3)::BIGINT],
            'p' || (hash(i, 'ep') % 12), 'cat' || (hash(i, 'ep') % 12 % 3),
            ${timestampLiteral(night(k))} - to_minutes((hash(i, 'et') % ${k === 0 ? 20 * 24 * 60 : 24 * 60})::BIGINT), 1,
            'e' || ${k} || '-' || i
     FROM range(${k === 0 ? 1500 : 120}) t(i)`,
  );
}

/** One day of changes to the orders, as a nightly load would bring them. */
async function nextDay(k: number): Promise<void> {
  const at = night(k);
  await addOrders(`range(${1000 * k}, ${1000 * k + 25}) t(i)`, at, 24 * 60); // the day's orders
  await addOrders(`range(${1000 * k + 900}, ${1000 * k + 903}) t(i)`, new Date(at.getTime() - 20 * DAY), 60); // late
  await addOrders(`range(${1000 * k + 950}, ${1000 * k + 952}) t(i)`, new Date(at.getTime() + 2 * DAY), 60); // after T
  // Re-loaded with other lines: one line dropped, another product added.
  const changed = `SELECT order_id FROM orders WHERE hash(order_id, ${k}, 'chg') % 25 = 0`;
  await wh.run(
    `DELETE FROM order_items WHERE order_id IN (${changed})
       AND product_id = (SELECT min(product_id) FROM order_items i2 WHERE i2.order_id = order_items.order_id)`,
  );
  await wh.run(
    `INSERT INTO order_items (order_id, product_id, quantity)
     SELECT order_id, product_id, 1 FROM (SELECT order_id, 'p' || (hash(order_id, ${k}) % 12) AS product_id FROM (${changed})) c
     WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = c.order_id AND i.product_id = c.product_id)`,
  );
  await wh.run(`UPDATE orders SET status = 'cancelled' WHERE hash(order_id, ${k}, 'cxl') % 40 = 0`);
  await wh.run(
    `UPDATE orders SET status = 'completed' WHERE status = 'cancelled' AND hash(order_id, ${k}, 'back') % 3 = 0`,
  );
  const deleted = `SELECT order_id FROM orders WHERE hash(order_id, ${k}, 'del') % 60 = 0`;
  await wh.run(`DELETE FROM order_items WHERE order_id IN (${deleted})`);
  await wh.run(`DELETE FROM orders WHERE order_id NOT IN (SELECT order_id FROM order_items)`);
  await addEvents(k);
}

/** Every segment evaluated with baskets mined in the query (no stored counts): the reference. */
async function fullEvaluation(asOf: Date): Promise<void> {
  await wh.run(
    'CREATE OR REPLACE TEMP TABLE reference (audience VARCHAR, customer_id VARCHAR, attributes VARCHAR)',
  );
  for (const { definition } of segments) {
    const { sql, parameters } = compileSegment(definition, { asOf });
    await wh.run(
      `INSERT INTO reference SELECT audience, customer_id, CAST(CAST(attributes AS JSON) AS VARCHAR) FROM (${sql})`,
      parameters,
    );
  }
}

const EVALUATED_ROWS = `SELECT audience, customer_id, CAST(attributes AS VARCHAR) FROM ${EVALUATED}`;

describe('incremental night', () => {
  it('equals a full evaluation row for row over nights of new, late, changed, cancelled and deleted orders', async () => {
    for (let k = 0; k <= 4; k++) {
      if (k > 0) await nextDay(k);
      const asOf = night(k);
      const evaluations = await evaluateSegments(wh, segments, asOf);
      expect(evaluations.filter((e) => e.error)).toEqual([]);
      await fullEvaluation(asOf);
      expect(await differences(wh, EVALUATED_ROWS, 'SELECT * FROM reference'), `night ${k}`).toBe(0);
      expect(await basketDrift(wh, asOf), `basket counts, night ${k}`).toBe(0);
      // Not vacuous: mined pairs pass the shipped thresholds and complements are recommended.
      expect(await wh.scalar('SELECT count(*) FROM basket_pairs WHERE n >= 5')).toBeGreaterThan(0);
      const complements = evaluations.find((e) => e.segment === 'complementary_products');
      expect(complements?.members).toBeGreaterThan(0);
    }
  });

  it('moves only the changed orders, and back and forth in time (a dry run of an earlier T)', async () => {
    await refreshBaskets(wh, night(0));
    await nextDay(1);
    const day1 = await refreshBaskets(wh, night(1));
    expect(day1.orders).toBeGreaterThan(0);
    expect(day1.orders).toBeLessThan(100); // the day's changes, not the 400 orders
    expect(await basketDrift(wh, night(1))).toBe(0);
    const back = await refreshBaskets(wh, night(-30));
    expect(back.linesRemoved).toBeGreaterThan(0);
    expect(await basketDrift(wh, night(-30))).toBe(0);
    await refreshBaskets(wh, night(1));
    expect(await basketDrift(wh, night(1))).toBe(0);
    expect((await refreshBaskets(wh, night(1))).orders).toBe(0); // nothing changed: nothing moves
  });

  it('--full-refresh counts every order again (stored counts are a cache, never trusted blindly)', async () => {
    await evaluateSegments(wh, segments, night(0));
    await wh.run('UPDATE basket_pairs SET n = n + 100'); // a damaged cache
    await evaluateSegments(wh, segments, night(0));
    expect(await basketDrift(wh, night(0))).toBeGreaterThan(0); // incremental keeps what it stored
    await evaluateSegments(wh, segments, night(0), undefined, { fullRefresh: true });
    expect(await basketDrift(wh, night(0))).toBe(0);
    await fullEvaluation(night(0));
    expect(await differences(wh, EVALUATED_ROWS, 'SELECT * FROM reference')).toBe(0);
  });

  it("the bench's check fails when the incremental membership or pair counts differ from the full one", async () => {
    await evaluateSegments(wh, segments, night(0));
    await wh.run(
      `INSERT INTO audience_members (audience, segment, customer_id, entered_at, attributes)
       SELECT audience, segment, customer_id, ${timestampLiteral(night(0))}, attributes FROM ${EVALUATED}`,
    );
    await wh.run('CHECKPOINT');
    const dir = tempDir('incr-check');
    const [same, other] = [join(dir, 'same.duckdb'), join(dir, 'other.duckdb')];
    copyFileSync(wh.path, same);
    const equal = await compareWithFull(wh.path, same);
    expect(equal).toMatchObject({ equal: true, only_incremental: 0, only_full: 0, pair_rows_differing: 0 });
    expect(equal.rows).toBeGreaterThan(0);
    const change = async (sql: string) => {
      copyFileSync(wh.path, other); // each change on a fresh copy
      const changed = await Warehouse.open({ path: other });
      await changed.run(sql);
      changed.close();
      return compareWithFull(wh.path, other);
    };
    const pairs = await change(
      'UPDATE basket_pairs SET n = n + 1 WHERE a = (SELECT min(a) FROM basket_pairs)',
    );
    expect(pairs).toMatchObject({ equal: false, only_incremental: 0, only_full: 0 });
    expect(pairs.pair_rows_differing).toBeGreaterThan(0);
    const members = await change(
      `DELETE FROM audience_members WHERE customer_id = (SELECT min(customer_id) FROM audience_members)`,
    );
    expect(members.equal).toBe(false);
    expect(members.only_incremental).toBeGreaterThan(0);
  });

  it('whole runs: each night stores the membership a full evaluation (--full-refresh) of its data gives', async () => {
    const path = wh.path;
    const dir = join(path, '..');
    const config = (db: string, out: string) =>
      parseConfig(
        { database: db, destinations: { csv: { dir: join(dir, out) } }, segments: { dir: SEGMENTS_DIR } },
        'test',
      );
    for (let k = 0; k <= 3; k++) {
      if (k > 0) await nextDay(k);
      await wh.run('CHECKPOINT');
      wh.close();
      const run = await runPipeline({
        config: config(path, 'csv'),
        asOf: night(k),
        sources: [],
        alerts: false,
      });
      expect(run.status, JSON.stringify(run.error)).toBe('succeeded');
      const copy = join(dir, `full-${k}.duckdb`);
      copyFileSync(path, copy);
      const full = await runPipeline({
        config: config(copy, 'csv-full'),
        asOf: night(k),
        sources: [],
        alerts: false,
        fullRefresh: true,
        dryRun: true,
      });
      expect(full.status).toBe('succeeded');
      const check = await compareWithFull(path, copy);
      expect(check, `night ${k}`).toMatchObject({ equal: true });
      expect(check.rows).toBeGreaterThan(100);
      wh = await Warehouse.open({ path });
    }
  });
});
