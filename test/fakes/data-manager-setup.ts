/** Test setup shared by the Google Ads tests: a DuckDB warehouse, the Data Manager fake, the destination on it. */
import type { GoogleAdsConfigInput } from '../../connectors/destinations/google-ads/config.ts';
import { createGoogleAdsDestination } from '../../connectors/destinations/google-ads/index.ts';
import type { AudienceSyncReport, DestinationReport, SyncContext } from '../../plans/types.ts';
import { Warehouse } from '../../warehouse/warehouse.ts';
import { FakeDataManager } from './data-manager.ts';
import { syncRunner } from './destination-setup.ts';

export { setMembers } from './destination-setup.ts';

export const CUSTOMER = '1234567890';
export const MANAGER = '9876543210';

export interface GoogleAdsTest {
  wh: Warehouse;
  fake: FakeDataManager;
  endpoint: string;
  logs: string[];
  /** Backoff waits the destination asked for, in ms. */
  sleeps: number[];
  run(over?: Partial<SyncContext>): Promise<DestinationReport>;
  runOne(audience: string, over?: Partial<SyncContext>): Promise<AudienceSyncReport>;
  close(): Promise<void>;
}

export async function setupGoogleAds(
  options: { config?: Partial<GoogleAdsConfigInput>; dbPath?: string; fake?: FakeDataManager } = {},
): Promise<GoogleAdsTest> {
  // A fake already running (e.g. one a crashed child talked to) is reused, else one is started.
  const fake = options.fake ?? new FakeDataManager();
  const endpoint = options.fake?.endpoint ?? (await fake.start());
  const wh = await Warehouse.open({ path: options.dbPath ?? ':memory:' });
  const logs: string[] = [];
  const sleeps: number[] = [];
  const dest = createGoogleAdsDestination({
    customerId: '123-456-7890',
    loginCustomerId: MANAGER,
    endpoint,
    insecure: true,
    termsAccepted: true,
    retry: { retries: 5, minTimeoutMs: 10, maxTimeoutMs: 100, maxRetryTimeMs: 10_000 },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options.config,
  });
  const run = syncRunner(dest, wh, logs);
  return {
    wh,
    fake,
    endpoint,
    logs,
    sleeps,
    run,
    async runOne(audience, over = {}) {
      const report = await run({ audiences: [audience], ...over });
      if (report.error) throw new Error(report.error);
      return report.audiences[0]!;
    },
    async close() {
      wh.close();
      await fake.stop();
    },
  };
}

/**
 * Customers c001..c<n>, consented: emails User<i>@Example.com (c001 a gmail address with dots and a +tag), US
 * phones, and a full address (name, US, zip) for odd numbers only.
 */
export async function seedCustomers(wh: Warehouse, n: number): Promise<void> {
  await wh.run(
    `INSERT INTO customers (customer_id, email, phone, first_name, last_name, zip, country, created_at, ads_consent)
     SELECT printf('c%03d', i),
            CASE WHEN i = 1 THEN ' Jane.Doe+Shop@GMail.com ' ELSE printf('User%d@Example.com', i) END,
            printf('(650) 555-%04d', i), 'Mary', 'Smith', CASE WHEN i % 2 = 1 THEN '94025' END, 'US',
            TIMESTAMP '2025-01-01', true
     FROM range(1, $1 + 1) t(i)`,
    [n],
  );
}

export async function listId(wh: Warehouse, audience: string): Promise<string> {
  const row = await wh.one<{ external_id: string }>(
    `SELECT external_id FROM destination_audiences WHERE destination = 'google_ads' AND audience = $1`,
    [audience],
  );
  if (!row) throw new Error(`no user list for ${audience}`);
  return row.external_id;
}

export async function confirmedIds(wh: Warehouse, audience: string): Promise<string[]> {
  const rows = await wh.all<{ customer_id: string }>(
    `SELECT customer_id FROM destination_members WHERE destination = 'google_ads' AND audience = $1 ORDER BY 1`,
    [audience],
  );
  return rows.map((r) => r.customer_id);
}
