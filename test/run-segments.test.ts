import { existsSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.ts';
import { createCsvDestination } from '../connectors/destinations/csv/csv-destination.ts';
import { createMetaDestination } from '../connectors/destinations/meta/destination.ts';
import { definitionFrom, orders, type SegmentDefinition, segment } from '../dsl/index.ts';
import { alertReasons } from '../pipelines/ops/alerts.ts';
import { type RunRequest, runPipeline } from '../pipelines/run.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { FakeMetaGraph } from './fakes/meta-graph.ts';
import { cli, ROOT, type Sandbox, sandbox, withDb, writeStore } from './ops-helpers.ts';

/**
 * One broken segment holds only its own audiences, one failing destination never stops the others, and an
 * audience that empties is flagged. Whole runs on a small store with the real segment loader and CSV files.
 */

const DSL = JSON.stringify(join(ROOT, 'dsl', 'index.ts'));
const VIEWERS = `import { performed, segment } from ${DSL};
export default segment('viewers').describe('Viewed a product').where(performed('view_item'));
`;

let s: Sandbox | undefined;
let fake: FakeMetaGraph | undefined;
afterEach(async () => {
  await fake?.stop();
  s?.cleanup();
  s = undefined;
  fake = undefined;
});

/** Writes a segment file with a modification time the loader has not seen. */
function writeSegment(name: string, source: string, bump = 0): void {
  const file = join(s!.segments, name);
  writeFileSync(file, source);
  const t = new Date(Date.now() + 1000 * (bump + 1));
  utimesSync(file, t, t);
}

async function run(over: Partial<RunRequest> = {}) {
  return runPipeline({ config: await loadConfig(s!.config), alerts: false, ...over });
}

const members = (audience: string) =>
  withDb(s!.db, (wh) =>
    wh.json(`SELECT customer_id FROM audience_members WHERE audience = $1 ORDER BY 1`, [audience]),
  );

describe('a broken segment file', () => {
  it('holds only its own audiences: they keep their members, and the run fails naming the file', async () => {
    s = sandbox();
    await writeStore(s.store, { customers: 6, events: 12 });
    writeSegment('viewers.ts', VIEWERS);
    const first = await run();
    expect(first.status, JSON.stringify(first.error)).toBe('succeeded');
    const viewers = await members('viewers');
    expect(viewers.length).toBeGreaterThan(0);

    // viewers.ts breaks (an invalid field), and new data arrives for everyone.
    writeSegment('viewers.ts', VIEWERS.replace(".describe('Viewed a product')", ".describe('')"), 1);
    await writeStore(s.store, { customers: 8, events: 0 });
    const broken = await run();
    expect(broken.status).toBe('failed');
    expect(broken.error).toMatchObject({ step: 'segments:load' });
    expect(broken.error!.message).toMatch(/viewers\.ts: description: must not be empty/);
    expect(broken.heldSegments).toEqual(['viewers']);
    expect(broken.warnings.join('\n')).toMatch(/segment 'viewers' held/);
    // The good segment evaluated and synced; the broken one kept its members (nothing to send for it).
    expect(broken.audiences.map((a) => a.audience)).toEqual(['buyers']);
    expect(broken.audiences[0]).toMatchObject({ members: 8, entered: 2 });
    const csv = broken.destinations.find((d) => d.destination === 'csv')!;
    expect(csv.audiences.map((a) => [a.audience, a.status])).toEqual([
      ['buyers', 'synced'],
      ['viewers', 'unchanged'],
    ]);
    expect(await members('viewers')).toEqual(viewers);
    expect(broken.emptied).toEqual([]);

    // A viewer withdraws consent while viewers is held: privacy never waits for the fix, the removal is synced.
    const viewer = (viewers[0] as { customer_id: string }).customer_id;
    const wh = await Warehouse.open({ path: s.db });
    await wh
      .run(`UPDATE customers SET ads_consent = false WHERE customer_id = $1`, [viewer])
      .finally(() => wh.close());
    const withdrawn = await run();
    expect(withdrawn.heldSegments).toEqual(['viewers']);
    const removal = withdrawn.destinations.find((d) => d.destination === 'csv')!.audiences;
    expect(removal.find((a) => a.audience === 'viewers')).toMatchObject({ status: 'synced', removes: 1 });
    await withDb(s.db, async (db) => {
      expect(
        await db.scalar(
          `SELECT count(*) FROM destination_members WHERE audience = 'viewers' AND customer_id = $1`,
          [viewer],
        ),
      ).toBe(0);
    });

    // A file that cannot even be imported says no name: every stored segment that did not load is held.
    writeSegment('viewers.ts', 'export default segment(', 2);
    const unreadable = await run();
    expect(unreadable.status).toBe('failed');
    expect(unreadable.error!.message).toMatch(/viewers\.ts: cannot be imported/);
    expect(unreadable.heldSegments).toEqual(['viewers']);
    expect(await members('viewers')).toEqual(viewers);

    // Fixed: it evaluates and syncs again.
    writeSegment('viewers.ts', VIEWERS, 3);
    const fixed = await run();
    expect(fixed.status, JSON.stringify(fixed.error)).toBe('succeeded');
    expect(fixed.heldSegments).toEqual([]);
  });

  it('validate reports every bad file; forget --sync removes the person even from a held segment', async () => {
    s = sandbox();
    await writeStore(s.store, { customers: 4 });
    expect((await cli(['--config', s.config, 'run'])).code).toBe(0);

    writeSegment('a_bad.ts', VIEWERS.replace("segment('viewers')", "segment('Bad Name')"));
    writeSegment('buyers.ts', 'export default 42;\n');
    writeSegment('c_dup.ts', VIEWERS);
    writeSegment('d_dup.ts', VIEWERS);
    const validate = await cli(['--config', s.config, 'validate']);
    expect(validate.code).toBe(1);
    expect(validate.stderr).toMatch(/a_bad\.ts: name: must be lower_snake_case/);
    expect(validate.stderr).toMatch(/buyers\.ts: /);
    expect(validate.stderr).toMatch(/d_dup\.ts: name: 'viewers' is already defined in .*c_dup\.ts/);
    expect(validate.stderr).toMatch(/3 segment file\(s\) invalid/);
    expect(validate.stdout).toMatch(/✓ viewers/);

    // buyers is held (its file is broken), yet an erasure is never held: c2 leaves the CSV export now.
    const forget = await cli(['--config', s.config, 'forget', 'c2', '--sync']);
    expect(forget.stdout).toMatch(/Synced now \(run \S+, failed\)/);
    await withDb(s.db, async (wh) => {
      expect(await wh.scalar('SELECT count(*) FROM forget_requests WHERE synced_at IS NULL')).toBe(0);
      expect(await wh.scalar(`SELECT count(*) FROM destination_members WHERE customer_id = 'c2'`)).toBe(0);
    });

    for (const f of ['a_bad.ts', 'c_dup.ts', 'd_dup.ts']) rmSync(join(s.segments, f));
    writeSegment(
      'buyers.ts',
      `import { orders, segment } from ${DSL};
export default segment('buyers').describe('At least one completed order').where(orders().count().atLeast(1));
`,
      1,
    );
    expect((await cli(['--config', s.config, 'run'])).code).toBe(0);
    await withDb(s.db, async (wh) => {
      expect(await wh.scalar('SELECT count(*) FROM forget_requests WHERE synced_at IS NULL')).toBe(0);
    });
  });
});

describe('a segment that fails to evaluate', () => {
  it('holds only its own audiences; the others evaluate and sync', async () => {
    s = sandbox();
    await writeStore(s.store, { customers: 4 });
    const buyers = definitionFrom(
      segment('buyers').describe('Buyers').where(orders().count().atLeast(1)),
      'buyers.ts',
    );
    // Valid data, but DuckDB cannot compare a timestamp with this text: the query fails at run time.
    const odd = {
      name: 'odd',
      description: 'Created on a date that is not a date',
      where: { kind: 'customer', column: 'created_at', op: 'equals', value: 'not a date' },
    } as SegmentDefinition;
    const summary = await run({
      segments: [
        { file: 'buyers.ts', definition: buyers },
        { file: 'odd.ts', definition: odd },
      ],
    });
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatchObject({ step: 'segments:evaluate' });
    expect(summary.error!.message).toMatch(/^odd\.ts: cannot be evaluated: .*not a date/);
    expect(summary.heldSegments).toEqual(['odd']);
    expect(summary.audiences.map((a) => [a.audience, a.members])).toEqual([['buyers', 4]]);
    const csv = summary.destinations.find((d) => d.destination === 'csv')!;
    expect(csv.audiences.map((a) => [a.audience, a.status])).toEqual([['buyers', 'synced']]);
  });
});

describe('destinations and empty audiences', () => {
  it('syncs every destination when one fails, and names every failure', async () => {
    s = sandbox();
    await writeStore(s.store, { customers: 5 });
    fake = new FakeMetaGraph({ token: 'EAAsegTOKEN123', accountId: '1234567890' });
    const meta = createMetaDestination({
      accessToken: 'EAAsegTOKEN123',
      adAccountId: 'act_1234567890',
      graphUrl: await fake.start(),
      retry: { retries: 1, minTimeoutMs: 1, maxTimeoutMs: 2, maxRetryTimeMs: 1_000, maxRegainWaitMs: 1_000 },
      sleep: async () => {},
    });
    // A CSV folder that cannot be created: a regular file stands where it should be.
    const blocked = join(s.dir, 'blocked');
    writeFileSync(blocked, 'not a folder');
    const csv = createCsvDestination({ dir: join(blocked, 'audiences') });

    const summary = await run({ destinations: [csv, meta] });
    expect(summary.status).toBe('failed');
    expect(summary.error!.step).toBe('sync:csv');
    expect(summary.destinations.find((d) => d.destination === 'meta')!.audiences[0]).toMatchObject({
      audience: 'buyers',
      status: 'synced',
      adds: 5,
    });
    expect(fake.memberKeys(fake.uploads[0]!.audienceId)).toHaveLength(5);

    // Both fail: the run names both.
    await writeStore(s.store, { customers: 7 });
    fake.inject({ kind: 'server', on: 'add', times: 1_000 });
    const both = await run({ destinations: [csv, meta] });
    expect(both.status).toBe('failed');
    expect(both.error!.message).toMatch(/sync:csv: .*; sync:meta: buyers: /);
    expect(existsSync(join(blocked, 'audiences'))).toBe(false);
  });

  it('flags an audience that had members and is now empty, in the summary and as an alert reason', async () => {
    s = sandbox();
    await writeStore(s.store, { customers: 3 });
    expect((await run()).status).toBe('succeeded');
    // Every order is cancelled: nobody is a buyer any more.
    writeFileSync(
      join(s.store, 'orders.csv'),
      'order_id,customer_id,ordered_at,status\no1,c1,2026-01-01,cancelled\no2,c2,2026-01-01,cancelled\no3,c3,2026-01-01,cancelled\n',
    );
    const summary = await run();
    expect(summary.status, JSON.stringify(summary.error)).toBe('succeeded');
    expect(summary.emptied).toEqual([{ audience: 'buyers', previousMembers: 3 }]);
    expect(summary.warnings.join('\n')).toMatch(/audience 'buyers' had 3 member\(s\) and is now empty/);
    const config = await loadConfig(s.config);
    expect(await alertReasons(undefined, summary, config.alerts)).toContainEqual({
      kind: 'emptied',
      audience: 'buyers',
      previousMembers: 3,
    });
    expect(readdirSync(s.audiences).length).toBeGreaterThan(0);
  });
});
