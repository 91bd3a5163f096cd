import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { SourceLoadContext, SourceLoadResult } from '../connectors/sources/contract.ts';
import type { ShopifySettings } from '../connectors/sources/shopify/config.ts';
import { shopifySource } from '../connectors/sources/shopify/source.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { type FakeShopifyOptions, FakeShopifyServer } from './fakes/shopify-server.ts';
import { makeShopifyStore, type ShopifyStore } from './fakes/shopify-store.ts';

/** What the Shopify tests share: a fake shop with a store, a warehouse in a temp dir, and a pull of every object. */

export const TOKEN = 'shpat_test_0123456789abcdef';
export const SHOP = 'fake-shop.myshopify.com';
export const AS_OF = new Date('2026-11-20T12:00:00Z');

/** Fast settings: short polls and retry waits. */
export const FAST: Partial<ShopifySettings> = {
  pollMinMs: 5,
  pollMaxMs: 20,
  retryMinMs: 5,
  retryMaxMs: 2000,
};

export interface ShopifySetup {
  fake: FakeShopifyServer;
  store: ShopifyStore;
  wh: Warehouse;
  dir: string;
  env: Record<string, string>;
  logs: string[];
  /** Every Shopify step in order, as a run would; returns each step's result. */
  pull(settings?: Partial<ShopifySettings>, asOf?: Date): Promise<SourceLoadResult[]>;
  close(): Promise<void>;
}

export async function shopifySetup(
  options: Partial<FakeShopifyOptions> = {},
  customers = 30,
): Promise<ShopifySetup> {
  const store = makeShopifyStore(AS_OF, customers);
  const fake = new FakeShopifyServer({ token: TOKEN, data: { ...store }, runningPolls: 2, ...options });
  const url = await fake.start();
  const dir = mkdtempSync(join(tmpdir(), 'retarget-shopify-test-'));
  const wh = await Warehouse.open({ path: join(dir, 'w.duckdb') });
  const env = { SHOPIFY_SHOP: SHOP, SHOPIFY_ACCESS_TOKEN: TOKEN, SHOPIFY_API_URL: url };
  const logs: string[] = [];
  let runs = 0;
  return {
    fake,
    store,
    wh,
    dir,
    env,
    logs,
    async pull(settings = {}, asOf = AS_OF) {
      const ctx: SourceLoadContext = {
        runId: `test-${++runs}`,
        asOf,
        log: (m) => logs.push(m),
        checkpoint: async () => {},
        checkpointSync: () => {},
      };
      const results: SourceLoadResult[] = [];
      const parsed = shopifySource.settings.parse({ ...FAST, ...settings });
      for (const load of shopifySource.fromConfig(parsed, env)) results.push(await load.load(wh, ctx));
      return results;
    },
    async close() {
      wh.close();
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * One shop a test, closed after it: call at the top of a test file, then `const s = await openShop()` in a test.
 * rows() and count() query the warehouse of the shop the running test opened.
 */
export function shopifyPerTest() {
  let current: ShopifySetup | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  const wh = () => {
    if (!current) throw new Error('this test opened no shop: call openShop() first');
    return current.wh;
  };
  return {
    openShop: async (options: Partial<FakeShopifyOptions> = {}, customers = 30) => {
      current = await shopifySetup(options, customers);
      return current;
    },
    rows: (sql: string) => wh().json<Record<string, unknown>>(sql),
    count: (sql: string) => wh().scalar(sql),
  };
}
