/** Test setup shared by the Meta tests: a DuckDB warehouse, the Graph fake, and a destination pointed at it. */
import { createHash } from 'node:crypto';
import { afterEach, expect } from 'vitest';
import type { MetaConfigInput, MetaRetryOptions } from '../../connectors/destinations/meta/config.ts';
import { createMetaDestination } from '../../connectors/destinations/meta/destination.ts';
import type { AudienceSyncReport, DestinationReport, SyncContext } from '../../plans/types.ts';
import { Warehouse } from '../../warehouse/warehouse.ts';
import { syncRunner } from './destination-setup.ts';
import { FakeMetaGraph, type FakeMetaGraphOptions } from './meta-graph.ts';

export { setMembers } from './destination-setup.ts';

/**
 * The key Meta (and so the fake) holds a customer under: EXTERN_ID, sent as the SHA-256 hex of customer_id, never
 * the raw id (connectors/destinations/meta/normalize.ts). Compare the fake's members, upload keys, invalid rows and
 * invalid_entry_samples with metaKey(id), never with the raw id: a raw id matches no key, so a `not.toContain`,
 * a `has` or a `members.delete` with one passes, or does nothing, whatever was sent.
 */
export function metaKey(customerId: string): string {
  return createHash('sha256').update(customerId, 'utf8').digest('hex');
}

/** Meta keys of these customers, sorted as FakeMetaGraph.memberKeys sorts its own: compare the two with toEqual. */
export function metaKeys(customerIds: readonly string[]): string[] {
  return customerIds.map(metaKey).sort();
}

export const TOKEN = 'EAAtestTOKENsecret0123456789';
export const ACCOUNT = '1234567890';

export interface MetaTest {
  wh: Warehouse;
  fake: FakeMetaGraph;
  logs: string[];
  /** Waits the destination asked for (honoured X-Business-Use-Case-Usage), in ms. */
  sleeps: number[];
  config: MetaConfigInput;
  run(over?: Partial<SyncContext>): Promise<DestinationReport>;
  runOne(audience: string, over?: Partial<SyncContext>): Promise<AudienceSyncReport>;
  close(): Promise<void>;
}

/** Retry settings with millisecond backoffs, so retried failures keep the tests fast; spread to vary retries. */
export const fastRetry: MetaRetryOptions = {
  retries: 4,
  minTimeoutMs: 1,
  maxTimeoutMs: 5,
  maxRetryTimeMs: 20_000,
  maxRegainWaitMs: 60 * 60_000,
};

export interface MetaSetupOptions {
  fake?: FakeMetaGraphOptions;
  config?: Partial<MetaConfigInput>;
  dbPath?: string;
}

export async function setupMeta(options: MetaSetupOptions = {}): Promise<MetaTest> {
  const fake = new FakeMetaGraph({ token: TOKEN, accountId: ACCOUNT, ...options.fake });
  const url = await fake.start();
  const wh = await Warehouse.open({ path: options.dbPath ?? ':memory:' });
  const logs: string[] = [];
  const sleeps: number[] = [];
  const config: MetaConfigInput = {
    accessToken: TOKEN,
    adAccountId: `act_${ACCOUNT}`,
    graphUrl: url,
    retry: { ...fastRetry, retries: 6 },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options.config,
  };
  const dest = createMetaDestination(config);
  const run = syncRunner(dest, wh, logs);
  return {
    wh,
    fake,
    logs,
    sleeps,
    config,
    run,
    async runOne(audience, over = {}) {
      const report = await run({ audiences: [audience], ...over });
      return report.audiences[0]!;
    },
    async close() {
      wh.close();
      await fake.stop();
    },
  };
}

/**
 * Registers an afterEach, so every test file checks the same thing: the access token never reached a log line,
 * and the warehouse and fake are closed even when the test failed. Returns setupMeta for the tests to call.
 */
export function setupMetaEach(): (options?: MetaSetupOptions) => Promise<MetaTest> {
  let current: MetaTest | undefined;
  afterEach(async () => {
    const t = current;
    current = undefined;
    if (!t) return;
    expect(t.logs.join('\n')).not.toContain(TOKEN);
    await t.close();
  });
  return async (options) => {
    current = await setupMeta(options);
    return current;
  };
}

/** Inserts customers c000001..c<n> (US, consented, with email and phone) in one statement. */
export async function seedCustomers(wh: Warehouse, n: number, from = 1): Promise<void> {
  await wh.run(
    `INSERT INTO customers (customer_id, email, phone, first_name, last_name, city, state, zip, country, created_at, ads_consent)
     SELECT printf('c%06d', i), printf('User%d@Example.com', i), printf('(555) %03d-%04d', i // 10000 % 1000, i % 10000),
            'Mary', 'Smith', 'Menlo Park', 'CA', '94025-1234', 'US', TIMESTAMP '2025-01-01', true
     FROM range($1, $2) t(i)`,
    [from, from + n],
  );
}

/** Customer ids that should be on Meta: consented members with a usable identifier. */
export async function expectedIds(wh: Warehouse, audience: string): Promise<string[]> {
  const rows = await wh.all<{ customer_id: string }>(
    `SELECT m.customer_id FROM audience_members m JOIN customers c USING (customer_id)
     WHERE m.audience = $1 AND c.ads_consent AND (c.email LIKE '%@%.%' OR c.phone IS NOT NULL) ORDER BY 1`,
    [audience],
  );
  return rows.map((r) => r.customer_id);
}

export async function confirmedIds(wh: Warehouse, audience: string): Promise<string[]> {
  const rows = await wh.all<{ customer_id: string }>(
    `SELECT customer_id FROM destination_members WHERE destination = 'meta' AND audience = $1 ORDER BY 1`,
    [audience],
  );
  return rows.map((r) => r.customer_id);
}

export async function externalId(wh: Warehouse, audience: string): Promise<string> {
  const row = await wh.one<{ external_id: string }>(
    `SELECT external_id FROM destination_audiences WHERE destination = 'meta' AND audience = $1`,
    [audience],
  );
  if (!row) throw new Error(`no Meta audience for ${audience}`);
  return row.external_id;
}
