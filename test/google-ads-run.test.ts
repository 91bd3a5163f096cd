import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { parseConfig } from '../config/config.ts';
import { createGoogleAdsDestination } from '../connectors/destinations/google-ads/index.ts';
import { definitionFrom, orders, segment } from '../dsl/index.ts';
import { UserError } from '../pipelines/cli/errors.ts';
import { checkSettings } from '../pipelines/cli/run-command.ts';
import { forgetCustomer, forgetHolders } from '../pipelines/ops/forget.ts';
import { formatRunDetail, showRun } from '../pipelines/ops/runs.ts';
import { type RunRequest, runPipeline } from '../pipelines/run.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { FakeDataManager } from './fakes/data-manager.ts';
import { seedCustomers } from './fakes/data-manager-setup.ts';
import { tempDir } from './helpers/temp.ts';

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
  dir = tempDir('google-run');
  db = join(dir, 'retarget.duckdb');
  fake = new FakeDataManager();
  process.env.DATA_MANAGER_ENDPOINT = await fake.start();
  process.env.DATA_MANAGER_INSECURE = '1';
});
afterEach(async () => {
  for (const name of ENV) delete process.env[name];
  await fake.stop();
});

async function withDb<T>(fn: (wh: Warehouse) => Promise<T>): Promise<T> {
  const wh = await Warehouse.open({ path: db });
  try {
    return await fn(wh);
  } finally {
    wh.close();
  }
}

const config = (csv: unknown = false) =>
  parseConfig(
    {
      database: db,
      sources: { files: false },
      destinations: {
        csv,
        google_ads: { customerId: '123-456-7890', customerMatchTerms: 'accepted', membershipDays: 30 },
      },
    },
    'test',
  );

const run = (asOf: string, over: Partial<RunRequest> = {}) =>
  runPipeline({
    config: config(),
    asOf: new Date(asOf),
    sources: [],
    segments: [{ file: 'buyers.ts', definition: buyers }],
    alerts: false,
    ...over,
  });

async function seedBuyers(n: number): Promise<void> {
  await withDb(async (wh) => {
    await seedCustomers(wh, n);
    await wh.run(
      `INSERT INTO orders (order_id, customer_id, ordered_at)
       SELECT 'o' || customer_id, customer_id, TIMESTAMP '2026-01-01' FROM customers`,
    );
  });
}

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

it('run --destinations syncs only the named destinations; a name not configured stops the run naming them', async () => {
  await seedBuyers(2);
  const cfg = config({ dir: join(dir, 'audiences') });
  const only = checkSettings(cfg, [], ['csv']);
  expect(only.map((d) => d.name)).toEqual(['csv']);
  const summary = await run('2026-02-01T00:00:00Z', { config: cfg, destinations: only });
  expect(summary.status, JSON.stringify(summary.error)).toBe('succeeded');
  expect(summary.destinations.map((d) => d.destination)).toEqual(['csv']);
  expect(fake.calls).toEqual([]);

  let error: unknown;
  try {
    checkSettings(cfg, [], ['csv', 'google-ads']);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(UserError);
  expect((error as UserError).exitCode).toBe(2);
  expect((error as UserError).message).toBe(
    "--destinations: no destination named 'google-ads' is configured (configured: csv, google_ads)",
  );
});

it("retarget runs shows what Google said about a run's requests, and nothing for a run that sent none", async () => {
  await seedBuyers(3);
  const google = () =>
    createGoogleAdsDestination({
      customerId: '123-456-7890',
      endpoint: fake.endpoint,
      insecure: true,
      termsAccepted: true,
      statusDelayMs: 0,
    });
  fake.requestStatus = 'PARTIAL_SUCCESS';
  const first = await run('2026-02-01T00:00:00Z', { destinations: [google()] });
  expect(first.status, JSON.stringify(first.error)).toBe('succeeded');
  // The next run asks Google about the first run's requests (delay 0 here; 30 minutes by default).
  const second = await run('2026-02-02T00:00:00Z', { destinations: [google()] });
  expect(second.status, JSON.stringify(second.error)).toBe('succeeded');
  await withDb(async (wh) => {
    const detail = (await showRun(wh, first.runId))!;
    expect(detail.google_ads_requests).toEqual([
      {
        audience: 'buyers',
        action: 'add',
        status: 'PARTIAL_SUCCESS',
        requests: 1,
        members: 3,
        record_count: 3,
        user_identifier_count: expect.any(Number),
        match_rate_ranges: ['MATCH_RATE_RANGE_51_TO_60'],
        errors: [{ reason: 'PROCESSING_ERROR_REASON_NO_CONSENT', records: 2 }],
      },
    ]);
    const text = formatRunDetail(detail);
    expect(text).toContain('Google Ads requests');
    expect(text).toMatch(
      /buyers +add +PARTIAL_SUCCESS .*MATCH_RATE_RANGE_51_TO_60 +PROCESSING_ERROR_REASON_NO_CONSENT 2/,
    );
    // The second run sent nothing (no change): no section, no key in the JSON.
    const quiet = (await showRun(wh, second.runId))!;
    expect(quiet).not.toHaveProperty('google_ads_requests');
    expect(formatRunDetail(quiet)).not.toContain('Google Ads');
  });
});

it('--full-refresh removes every member Google confirmed, then sends every desired member again', async () => {
  await seedBuyers(3);
  const first = await run('2026-02-01T00:00:00Z');
  expect(first.status, JSON.stringify(first.error)).toBe('succeeded');
  const list = [...fake.lists.values()][0]!;
  // Drift a diff cannot see: Google lost a member it had accepted.
  list.members.delete([...list.members][0]!);
  const sentBefore = fake.calls.length;
  const refresh = await run('2026-02-02T00:00:00Z', { fullRefresh: true });
  expect(refresh.status, JSON.stringify(refresh.error)).toBe('succeeded');
  const report = refresh.destinations.find((d) => d.destination === 'google_ads')!;
  expect(report.audiences[0]).toMatchObject({
    audience: 'buyers',
    status: 'synced',
    adds: 3,
    removes: 3,
    size: 3,
  });
  const calls = fake.calls.slice(sentBefore).filter((c) => c.method.endsWith('AudienceMembers'));
  expect(calls.map((c) => [c.method, c.code])).toEqual([
    ['RemoveAudienceMembers', 0],
    ['IngestAudienceMembers', 0],
  ]);
  expect(list.members.size).toBe(3);
  await withDb(async (wh) => {
    expect(await wh.scalar("SELECT count(*) FROM destination_members WHERE destination = 'google_ads'")).toBe(
      3,
    );
  });
});
