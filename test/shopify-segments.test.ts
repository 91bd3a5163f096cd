import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeShopifyServer } from './fakes/shopify-server.ts';
import { makeShopifyStore, writeStoreCsv } from './fakes/shopify-store.ts';
import { cli, ROOT, type Sandbox, sandbox, withDb, writeConfig } from './ops-helpers.ts';
import { AS_OF, FAST, SHOP, TOKEN } from './shopify-setup.ts';

/**
 * The same store pulled from Shopify and loaded from CSV files (mapped by hand from the documented rules) gives
 * the same warehouse rows and the same audiences, with the shipped segments.
 */

let s: Sandbox | undefined;
let fake: FakeShopifyServer | undefined;
afterEach(async () => {
  await fake?.close();
  s?.cleanup();
});

const QUERIES = {
  audiences: 'SELECT audience, customer_id FROM audience_members ORDER BY ALL',
  customers: 'SELECT customer_id, email, ads_consent FROM customers ORDER BY ALL',
  products: 'SELECT product_id, name, category, price FROM products ORDER BY ALL',
  orders: 'SELECT order_id, customer_id, ordered_at, status, total, currency FROM orders ORDER BY ALL',
  order_items: 'SELECT order_id, product_id, quantity, unit_price FROM order_items ORDER BY ALL',
  events:
    'SELECT event_id, customer_id, event_name, product_id, occurred_at, event_count, source FROM events ORDER BY ALL',
};

async function contents(db: string): Promise<Record<string, unknown[]>> {
  return withDb(db, async (wh) => {
    const out: Record<string, unknown[]> = {};
    for (const [name, sql] of Object.entries(QUERIES)) out[name] = await wh.json(sql);
    return out;
  });
}

describe('segments on data pulled from Shopify', () => {
  it('equal those on the same data loaded from files', async () => {
    const store = makeShopifyStore(AS_OF, 40);
    fake = new FakeShopifyServer({ token: TOKEN, data: { ...store }, runningPolls: 1 });
    const url = await fake.start();
    s = sandbox();
    const csv = join(s.dir, 'csv');
    mkdirSync(csv);
    writeStoreCsv(store, csv);
    writeConfig(s, {
      sources: { files: { dir: csv }, shopify: FAST },
      segments: { dir: join(ROOT, 'segments') },
    });
    const env = { SHOPIFY_SHOP: SHOP, SHOPIFY_ACCESS_TOKEN: TOKEN, SHOPIFY_API_URL: url };
    const asOf = AS_OF.toISOString();
    const dbs = { files: join(s.dir, 'files.duckdb'), shopify: join(s.dir, 'shopify.duckdb') };
    for (const [source, db] of Object.entries(dbs)) {
      const r = await cli(
        ['run', '-c', s.config, '--db', db, '--sources', source, '--as-of', asOf, '--dry-run'],
        env,
      );
      expect(r.code, `${source}: ${r.stderr}`).toBe(0);
    }
    const fromFiles = await contents(dbs.files);
    const fromShopify = await contents(dbs.shopify);
    // Not trivially equal: several audiences have members, and every table has rows.
    for (const [name, rows] of Object.entries(fromFiles)) expect(rows.length, name).toBeGreaterThan(0);
    const audiences = new Set(fromFiles.audiences?.map((a) => (a as { audience: string }).audience));
    expect(audiences.size).toBeGreaterThanOrEqual(3);
    for (const name of Object.keys(QUERIES)) expect(fromShopify[name], name).toEqual(fromFiles[name]);
  }, 120_000);
});
