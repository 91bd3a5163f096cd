import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.ts';
import { createMetaDestination } from '../connectors/destinations/meta/destination.ts';
import { runPipeline } from '../pipelines/run.ts';
import { crashChildAtBatch } from './fakes/meta-crash.ts';
import type { FakeMetaGraph } from './fakes/meta-graph.ts';
import { ROOT, type Sandbox, sandbox, withDb, writeStore } from './ops-helpers.ts';

/**
 * A whole run (files -> DuckDB -> segments -> Meta) SIGKILLed in the middle of its Meta sync, against the local
 * Graph API fake: the next run marks it abandoned and finishes the sync; every member reaches Meta exactly once
 * and no acknowledged batch is sent again.
 */

const TOKEN = 'EAAB-ops-test-token';
const ACCOUNT = '1234567890';

let s: Sandbox | undefined;
let fake: FakeMetaGraph | undefined;
afterEach(async () => {
  await fake?.stop();
  s?.cleanup();
});

describe('a run killed in the middle of a Meta sync', () => {
  it('is finished by the next run with no duplicated, lost or double-sent rows', async () => {
    s = sandbox({ destinations: { csv: false } });
    await writeStore(s.store, { customers: 50 });
    const metaFor = (graphUrl: string) => ({
      accessToken: TOKEN,
      adAccountId: ACCOUNT,
      graphUrl,
      batchSize: 10,
      retry: { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 5, maxRetryTimeMs: 5_000, maxRegainWaitMs: 1_000 },
    });
    const sandboxConfig = s.config;
    const crash = await crashChildAtBatch({
      token: TOKEN,
      accountId: ACCOUNT,
      kind: 'add',
      batchSeq: 3, // the third batch never reaches Meta
      script: 'test/ops-child-run.ts',
      args: (graphUrl) => [sandboxConfig, JSON.stringify(metaFor(graphUrl))],
      cwd: ROOT,
    });
    fake = crash.fake;
    const meta = metaFor(fake.url);
    expect(crash.exit, crash.stderr).toBe('SIGKILL');
    expect(crash.stderr).not.toContain(TOKEN);

    const audienceId = fake.uploads[0]!.audienceId;
    expect(fake.memberKeys(audienceId)).toHaveLength(20); // batches 1 and 2 were acknowledged
    const sentBefore = fake.uploads.length;

    const summary = await runPipeline({
      config: await loadConfig(s.config),
      destinations: [createMetaDestination(meta)],
    });
    expect(summary.status, JSON.stringify(summary.error)).toBe('succeeded');
    expect(summary.abandoned).toHaveLength(1);
    expect(summary.destinations[0]!.audiences[0]).toMatchObject({
      audience: 'buyers',
      status: 'synced',
      adds: 30,
    });

    const resent = fake.uploads.slice(sentBefore);
    expect(resent.every((u) => u.kind === 'add')).toBe(true);
    expect(resent.reduce((n, u) => n + u.rows, 0)).toBe(30);
    expect(fake.memberKeys(audienceId)).toHaveLength(50);
    expect([...fake.addCounts.values()].every((n) => n === 1)).toBe(true);
    expect(fake.addCounts.size).toBe(50);

    await withDb(s.db, async (wh) => {
      expect(await wh.scalar("SELECT count(*) FROM destination_members WHERE destination = 'meta'")).toBe(50);
      const statuses = await wh.all<{ status: string }>(
        'SELECT status FROM pipeline_runs ORDER BY started_at',
      );
      expect(statuses.map((r) => r.status)).toEqual(['abandoned', 'succeeded']);
      expect(await wh.scalar('SELECT count(*) FROM customers')).toBe(50);
    });
  });
});
