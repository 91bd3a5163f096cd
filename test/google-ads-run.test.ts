import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { parseConfig } from '../config/config.ts';
import { definitionFrom, orders, segment } from '../dsl/index.ts';
import { forgetCustomer, forgetHolders } from '../pipelines/ops/forget.ts';
import { runPipeline } from '../pipelines/run.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { FakeDataManager } from './fakes/data-manager.ts';
import { seedCustomers } from './fakes/data-manager-setup.ts';

/**
 * Whole runs with Google Ads enabled the way a user enables it (retarget.config.ts and the environment), through
 * the destinations registry, against the Data Manager fake: first sync, and the forget flow.
 */
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const buyers = definitionFrom(
  segment('buyers').describe('At least one order').where(orders().count().atLeast(1)),
  'buyers.ts',
);
const ENV = ['DATA_MANAGER_ENDPOINT', 'DATA_MANAGER_INSECURE'] as const;

let dir: string;
let db: string;
let fake: FakeDataManager;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'retarget-google-run-'));
  db = join(dir, 'retarget.duckdb');
  fake = new FakeDataManager();
  process.env.DATA_MANAGER_ENDPOINT = await fake.start();
  process.env.DATA_MANAGER_INSECURE = '1';
});
afterEach(async () => {
  for (const name of ENV) delete process.env[name];
  await fake.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function withDb<T>(fn: (wh: Warehouse) => Promise<T>): Promise<T> {
  const wh = await Warehouse.open({ path: db });
  try {
    return await fn(wh);
  } finally {
    wh.close();
  }
}

const run = (asOf: string) =>
  runPipeline({
    config: parseConfig(
      {
        database: db,
        sources: { files: false },
        destinations: {
          csv: false,
          google_ads: { customerId: '123-456-7890', customerMatchTerms: 'accepted', membershipDays: 30 },
        },
      },
      'test',
    ),
    asOf: new Date(asOf),
    sources: [],
    segments: [{ file: 'buyers.ts', definition: buyers }],
    alerts: false,
  });

it('a run syncs Google Ads from the configuration, and a forgotten customer leaves the list', async () => {
  await withDb(async (wh) => {
    await seedCustomers(wh, 3);
    await wh.run(
      `INSERT INTO orders (order_id, customer_id, ordered_at)
       SELECT 'o' || customer_id, customer_id, TIMESTAMP '2026-01-01' FROM customers`,
    );
  });
  const first = await run('2026-02-01T00:00:00Z');
  expect(first.status, JSON.stringify(first.error)).toBe('succeeded');
  const report = first.destinations.find((d) => d.destination === 'google_ads')!;
  expect(report.audiences[0]).toMatchObject({ audience: 'buyers', status: 'synced', adds: 3 });
  const list = [...fake.lists.values()][0]!;
  expect(list.membershipSeconds).toBe(String(30 * 86_400));
  expect(fake.emailHashes(list.id)).toContain(sha('janedoe@gmail.com'));

  await withDb((wh) => forgetCustomer(wh, 'c001'));
  const second = await run('2026-02-02T00:00:00Z');
  expect(second.status, JSON.stringify(second.error)).toBe('succeeded');
  expect(fake.emailHashes(list.id)).not.toContain(sha('janedoe@gmail.com'));
  expect(list.members.size).toBe(2);
  await withDb(async (wh) => {
    expect(await forgetHolders(wh)).toEqual([]);
    expect(await wh.scalar('SELECT count(*) FROM forget_requests WHERE synced_at IS NULL')).toBe(0);
  });
});
