import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeShopifyServer } from './fakes/shopify-server.ts';
import { makeShopifyStore } from './fakes/shopify-store.ts';
import { cli, type Sandbox, sandbox, startCli, withDb, writeConfig } from './ops-helpers.ts';
import { AS_OF, FAST, SHOP, TOKEN } from './shopify-setup.ts';

/**
 * `retarget run --sources shopify` as a user runs it (the real CLI in a child process): killed in the middle of
 * the orders (after the guests and orders committed, inside the lines' transaction), then run again, it ends with
 * exactly what one uninterrupted run loads; `retarget runs` shows the rows pulled per object.
 */

let s: Sandbox | undefined;
let fake: FakeShopifyServer | undefined;
afterEach(async () => {
  await fake?.close();
  s?.cleanup();
  s = undefined;
  fake = undefined;
});

const TABLES = `SELECT (SELECT count(*) FROM customers) AS customers, (SELECT count(*) FROM products) AS products,
  (SELECT count(*) FROM orders) AS orders, (SELECT count(*) FROM order_items) AS order_items,
  (SELECT sum(quantity) FROM order_items) AS quantity, (SELECT count(*) FROM events) AS events,
  (SELECT sum(event_count) FROM events) AS event_count,
  (SELECT count(*) FROM orders WHERE starts_with(customer_id, 'guest:')) AS guest_orders`;

async function setup(): Promise<Record<string, string>> {
  fake = new FakeShopifyServer({ token: TOKEN, data: { ...makeShopifyStore(AS_OF) }, runningPolls: 1 });
  const url = await fake.start();
  s = sandbox();
  writeConfig(s, { sources: { files: { dir: s.store }, shopify: FAST } });
  return { SHOPIFY_SHOP: SHOP, SHOPIFY_ACCESS_TOKEN: TOKEN, SHOPIFY_API_URL: url };
}

const run = (db: string) => [
  'run',
  '-c',
  s!.config,
  '--db',
  db,
  '--sources',
  'shopify',
  '--as-of',
  AS_OF.toISOString(),
];
/** Two databases share the sandbox's audience folder: the kill test sends nothing. */
const dryRun = (db: string) => [...run(db), '--dry-run'];

describe('retarget run --sources shopify', () => {
  it('killed mid-pull, then run again: nothing lost, nothing doubled', async () => {
    const env = await setup();
    const once = `${s!.dir}/once.duckdb`;
    const first = await cli(dryRun(once), env);
    expect(first.code, first.stderr).toBe(0);
    const expected = await withDb(once, (wh) => wh.json(TABLES));

    const killed = startCli(dryRun(s!.db), { ...env, RETARGET_TEST_HOLD_AT: 'commit:shopify_orders' });
    await killed.waitFor(/holding at commit:shopify_orders/, 60_000);
    killed.child.kill('SIGKILL');
    await killed.done;
    // The guests and orders committed; the lines and the orders cursor did not.
    const partial = await withDb(s!.db, async (wh) => ({
      tables: (await wh.json<Record<string, unknown>>(TABLES))[0],
      cursor: await wh.scalar(`SELECT count(*) FROM source_cursors WHERE cursor_key = '${SHOP}/orders'`),
    }));
    expect(partial.tables?.orders).toBe((expected[0] as Record<string, unknown>).orders);
    expect(Number(partial.tables?.order_items)).toBe(0);
    expect(partial.cursor).toBe(0);
    // The killed run left its download (customer data) beside the database; the next run removes it.
    const downloads = join(dirname(s!.db), `.${basename(s!.db)}.shopify-downloads`);
    expect(readdirSync(downloads).length).toBeGreaterThan(0);

    const again = await cli(dryRun(s!.db), env);
    expect(again.code, again.stderr).toBe(0);
    expect(await withDb(s!.db, (wh) => wh.json(TABLES))).toEqual(expected);
    expect(existsSync(downloads)).toBe(false);

    // A third run pulls the overlap again and still changes nothing.
    expect((await cli(dryRun(s!.db), env)).code).toBe(0);
    expect(await withDb(s!.db, (wh) => wh.json(TABLES))).toEqual(expected);
  }, 180_000);

  it('retarget runs shows the rows pulled per object', async () => {
    const env = await setup();
    const done = await cli([...run(s!.db), '--json'], env);
    expect(done.code, done.stderr).toBe(0);
    const summary = JSON.parse(done.stdout) as {
      runId: string;
      loads: Array<{ table: string; rowsLoaded: number }>;
    };
    expect(summary.loads.map((l) => l.table)).toEqual([
      'customers',
      'products',
      'customers (shopify orders)',
      'orders',
      'order_items (shopify orders)',
      'events (shopify checkouts)',
    ]);
    const shown = await cli(['runs', summary.runId, '--db', s!.db], env);
    expect(shown.code, shown.stderr).toBe(0);
    for (const step of ['customers', 'products', 'orders', 'checkouts'])
      expect(shown.stdout).toMatch(
        new RegExp(`load:shopify_${step}\\s+succeeded.*\\s[1-9]\\d*\\s+[1-9]\\d*\\s`),
      );
    expect(shown.stdout + shown.stderr).not.toContain(TOKEN);
  }, 120_000);
});
