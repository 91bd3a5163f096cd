import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/config.ts';
import { createMetaDestination } from '../connectors/destinations/meta/destination.ts';
import { definitionFrom, orders, segment } from '../dsl/index.ts';
import { forgetCustomer, forgetHolders } from '../pipelines/ops/forget.ts';
import { type RunRequest, runPipeline } from '../pipelines/run.ts';
import { shrinkHold } from '../plans/guard.ts';
import type { Destination } from '../plans/types.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { FakeMetaGraph } from './fakes/meta-graph.ts';
import { metaKey, metaKeys, seedCustomers } from './fakes/meta-graph-setup.ts';
import { tempDir } from './helpers/temp.ts';

/**
 * Privacy removals are never held: the shrink guard measures only the other removals, a held audience still
 * loses the people who withdrew consent or were erased, and a forget request is marked synced only once no
 * destination holds the person. Whole runs against a DuckDB file and the local Meta Graph fake.
 */

const TOKEN = 'EAAprivacyTOKEN0123456789';
const ACCOUNT = '1234567890';
const buyers = definitionFrom(
  segment('buyers').describe('At least one order').where(orders().count().atLeast(1)),
  'buyers.ts',
);

let dir: string;
let db: string;
let fake: FakeMetaGraph;
let meta: Destination;
beforeEach(async () => {
  dir = tempDir('privacy');
  db = join(dir, 'retarget.duckdb');
  fake = new FakeMetaGraph({ token: TOKEN, accountId: ACCOUNT });
  const graphUrl = await fake.start();
  meta = createMetaDestination({
    accessToken: TOKEN,
    adAccountId: `act_${ACCOUNT}`,
    graphUrl,
    retry: { retries: 1, minTimeoutMs: 1, maxTimeoutMs: 2, maxRetryTimeMs: 1_000, maxRegainWaitMs: 1_000 },
    sleep: async () => {},
  });
});
afterEach(() => fake.stop());

async function sql(...statements: string[]): Promise<void> {
  const wh = await Warehouse.open({ path: db });
  try {
    for (const s of statements) await wh.run(s);
  } finally {
    wh.close();
  }
}

async function query<T>(fn: (wh: Warehouse) => Promise<T>): Promise<T> {
  const wh = await Warehouse.open({ path: db });
  try {
    return await fn(wh);
  } finally {
    wh.close();
  }
}

/** Customers c000001..c<n>, consented, each with one order: all of them are buyers. */
async function store(n: number): Promise<void> {
  await query((wh) => seedCustomers(wh, n));
  await sql(
    `INSERT INTO orders (order_id, customer_id, ordered_at) SELECT 'o' || customer_id, customer_id, TIMESTAMP '2026-01-01' FROM customers`,
  );
}

const run = (over: Partial<RunRequest> = {}) =>
  runPipeline({
    config: parseConfig({ database: db, sources: { files: false }, destinations: { csv: false } }, 'test'),
    asOf: new Date('2026-02-01T00:00:00Z'),
    sources: [],
    segments: [{ file: 'buyers.ts', definition: buyers }],
    destinations: [meta],
    alerts: false,
    ...over,
  });

/** The Meta keys (metaKey: SHA-256 of customer_id) of the audience's members on the fake, sorted. */
const onMeta = () => {
  const id = fake.uploads[0]!.audienceId;
  return fake.memberKeys(id);
};
const metaReport = (summary: Awaited<ReturnType<typeof run>>) =>
  summary.destinations.find((d) => d.destination === 'meta')!.audiences[0]!;

describe('the shrink guard and privacy removals', () => {
  it('measures shrink on the removals privacy does not require', () => {
    const guard = { maxShrink: 0.5 };
    expect(shrinkHold({ ...guard, lastSize: 4, size: 1, privacyRemoves: 0 })).toMatch(/from 4 to 1/);
    expect(shrinkHold({ ...guard, lastSize: 4, size: 1, privacyRemoves: 3 })).toBeUndefined();
    expect(shrinkHold({ ...guard, lastSize: 1, size: 0, privacyRemoves: 1 })).toBeUndefined();
    expect(shrinkHold({ ...guard, lastSize: 100, size: 35, privacyRemoves: 5 })).toMatch(
      /from 95 to 35 members after 5 privacy removal/,
    );
    expect(shrinkHold({ ...guard, lastSize: 100, size: 50, privacyRemoves: 0 })).toBeUndefined();
  });

  it('syncs consent withdrawn by 3 of 4 members without --force', async () => {
    await store(4);
    const first = await run();
    expect(first.status, JSON.stringify(first.error)).toBe('succeeded');
    expect(onMeta()).toHaveLength(4);

    await sql(`UPDATE customers SET ads_consent = false WHERE customer_id <> 'c000001'`);
    const summary = await run();
    expect(metaReport(summary), metaReport(summary).message).toMatchObject({
      status: 'synced',
      removes: 3,
      size: 1,
    });
    expect(onMeta()).toEqual(metaKeys(['c000001']));
  });

  it('still sends and confirms the privacy removals of an audience it holds', async () => {
    await store(20);
    await run();
    // A feed accident empties most of the audience (held), while two remaining members withdraw consent.
    await sql(
      `DELETE FROM orders WHERE customer_id <= 'c000012'`,
      `UPDATE customers SET ads_consent = false WHERE customer_id IN ('c000019', 'c000020')`,
    );
    const held = metaReport(await run());
    expect(held).toMatchObject({ status: 'held', removes: 14, size: 6, requests: 1 });
    expect(held.message).toMatch(/from 18 to 6 members after 2 privacy removal.*sent its 2 privacy removal/);
    const expected = Array.from({ length: 18 }, (_, i) => `c${String(i + 1).padStart(6, '0')}`);
    expect(onMeta()).toEqual(metaKeys(expected));
    expect(
      await query((wh) =>
        wh.json(`SELECT customer_id FROM destination_members WHERE destination = 'meta' ORDER BY 1`),
      ),
    ).toEqual(expected.map((customer_id) => ({ customer_id })));
    expect(
      await query((wh) =>
        wh.json(`SELECT status FROM destination_syncs WHERE destination = 'meta' ORDER BY started_at`),
      ),
    ).toEqual([{ status: 'synced' }, { status: 'held' }]);

    // The accident is confirmed with --force: the rest goes.
    expect(metaReport(await run({ force: true }))).toMatchObject({ status: 'synced', removes: 12, size: 6 });
    expect(onMeta()).toHaveLength(6);
  });
});

describe('forget requests reach every destination before they count as synced', () => {
  it('removes a forgotten customer from a one-member audience and marks the request then', async () => {
    await store(1);
    await run();
    expect(onMeta()).toEqual(metaKeys(['c000001']));
    const request = await query((wh) => forgetCustomer(wh, 'User1@example.com'));
    expect(request.customers).toBe(1);

    const summary = await run();
    expect(metaReport(summary)).toMatchObject({ status: 'synced', removes: 1, size: 0 });
    expect(onMeta()).toEqual([]);
    expect(
      await query((wh) => wh.scalar('SELECT count(*) FROM forget_requests WHERE synced_at IS NOT NULL')),
    ).toBe(1);
  });

  it('keeps the request pending, naming the destination, while Meta still holds the person', async () => {
    await store(3);
    await run();
    await query((wh) => forgetCustomer(wh, 'c000002'));
    fake.inject({ kind: 'server', on: 'remove', times: 1_000 });

    const failing = await run();
    expect(failing.status).toBe('failed');
    expect(onMeta()).toContain(metaKey('c000002'));
    await query(async (wh) => {
      expect(await wh.scalar('SELECT count(*) FROM forget_requests WHERE synced_at IS NULL')).toBe(1);
      expect(await forgetHolders(wh)).toEqual([
        { requestId: expect.any(String), destination: 'meta', audiences: 1 },
      ]);
    });

    // Asked again (by email this time, the raw rows are long gone): still pending while Meta holds them.
    await query((wh) => forgetCustomer(wh, 'user2@example.com'));
    expect((await run()).status).toBe('failed');
    await query(async (wh) => {
      expect(await wh.scalar('SELECT count(*) FROM forget_requests WHERE synced_at IS NULL')).toBe(2);
      expect((await forgetHolders(wh)).map((h) => h.destination)).toEqual(['meta', 'meta']);
    });
  });
});
