import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveMetaConfig } from '../connectors/destinations/meta/config.ts';
import { createMetaDestination } from '../connectors/destinations/meta/destination.ts';
import { MetaApiError } from '../connectors/destinations/meta/errors.ts';
import { MetaGraph } from '../connectors/destinations/meta/graph.ts';
import type { DestinationReport } from '../plans/types.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { crashChildAtBatch } from './fakes/meta-crash.ts';
import { FakeMetaGraph } from './fakes/meta-graph.ts';
import {
  ACCOUNT,
  confirmedIds,
  expectedIds,
  externalId,
  fastRetry,
  metaKeys,
  seedCustomers,
  setMembers,
  setupMetaEach,
  TOKEN,
} from './fakes/meta-graph-setup.ts';
import { tempDir } from './helpers/temp.ts';

const setup = setupMetaEach();

describe('Meta destination: retries and failures', () => {
  it('retries throttling (80003) honouring X-Business-Use-Case-Usage, then succeeds', async () => {
    const t = await setup({ config: { batchSize: 10 } });
    await seedCustomers(t.wh, 25);
    await setMembers(t.wh, 'cart_abandoners', 'true');
    t.fake.inject({ kind: 'throttle', on: 'add', times: 2, regainMinutes: 2 });
    const report = await t.runOne('cart_abandoners');
    expect(report).toMatchObject({ status: 'synced', adds: 25 });
    expect(t.fake.faultsServed).toEqual([
      { kind: 'throttle', on: 'add' },
      { kind: 'throttle', on: 'add' },
    ]);
    expect(t.sleeps).toEqual([120_000, 120_000]); // the estimated time to regain access, in ms
    const id = await externalId(t.wh, 'cart_abandoners');
    expect(t.fake.memberKeys(id)).toEqual(metaKeys(await expectedIds(t.wh, 'cart_abandoners')));
    expect(t.logs.some((l) => l.includes('80003'))).toBe(true);
  });

  it('retries HTTP 5xx and connection resets; a batch whose answer was lost is not applied twice', async () => {
    const t = await setup({ config: { batchSize: 10 } });
    await seedCustomers(t.wh, 30);
    await setMembers(t.wh, 'wishlisted', 'true');
    t.fake.inject({ kind: 'server', on: 'add', status: 503 });
    t.fake.inject({ kind: 'reset', on: 'add' });
    t.fake.inject({ kind: 'reset', on: 'add', afterApply: true });
    t.fake.inject({ kind: 'server', on: 'create' });
    const report = await t.runOne('wishlisted');
    expect(report).toMatchObject({ status: 'synced', adds: 30 });
    expect(t.fake.faultsServed.map((f) => f.kind)).toEqual(['server', 'server', 'reset', 'reset']);
    expect(t.fake.replays).toBe(1);
    const id = await externalId(t.wh, 'wishlisted');
    expect(t.fake.memberKeys(id)).toEqual(metaKeys(await expectedIds(t.wh, 'wishlisted')));
    expect([...t.fake.addCounts.values()].every((n) => n === 1)).toBe(true);
    expect(t.fake.audiences.size).toBe(1);
  });

  it('retries a non-JSON error page from a proxy in front of Graph', async () => {
    const t = await setup();
    await seedCustomers(t.wh, 5);
    await setMembers(t.wh, 'a_first', 'true');
    t.fake.inject({ kind: 'html', on: 'add', status: 502 });
    expect(await t.runOne('a_first')).toMatchObject({ status: 'synced', adds: 5 });
    expect(t.logs.some((l) => l.includes('non-JSON'))).toBe(true);
  });

  it('gives up after the retry budget and fails only that audience', async () => {
    const t = await setup({ config: { retry: { ...fastRetry, retries: 2 } } });
    await seedCustomers(t.wh, 10);
    await setMembers(t.wh, 'a_first', 'true');
    await setMembers(t.wh, 'b_second', 'true');
    t.fake.inject({ kind: 'server', on: 'create', times: 3 });
    const report = await t.run();
    expect(report.audiences.map((a) => a.status)).toEqual(['failed', 'synced']);
    expect(report.audiences[0]!.message).toMatch(/unexpected error.*code 2.*fbtrace_id/);
    expect(t.fake.faultsServed).toHaveLength(3); // 1 attempt + 2 retries
  });

  it('once a request has used up its budget, later audiences get one attempt each, not a budget each', async () => {
    const t = await setup({ config: { retry: { ...fastRetry, retries: 2 } } });
    await seedCustomers(t.wh, 10);
    for (const name of ['a_first', 'b_second', 'c_third']) await setMembers(t.wh, name, 'true');
    t.fake.inject({ kind: 'server', on: 'create', times: 100 }); // Meta stays down all night
    const report = await t.run();
    expect(report.audiences.map((a) => a.status)).toEqual(['failed', 'failed', 'failed']);
    expect(t.fake.faultsServed).toHaveLength(3 + 1 + 1); // a full budget once, then one attempt per audience
  });

  it('does not retry a throttle whose wait exceeds the budget', async () => {
    const t = await setup({ config: { retry: { ...fastRetry, maxRegainWaitMs: 10 * 60_000 } } });
    await seedCustomers(t.wh, 10);
    await setMembers(t.wh, 'a_first', 'true');
    t.fake.inject({ kind: 'throttle', on: 'add', regainMinutes: 45, times: 5 });
    const report = await t.runOne('a_first');
    expect(report.status).toBe('failed');
    expect(report.message).toMatch(/throttled: Meta asks to wait 45 min/);
    expect(t.fake.faultsServed).toHaveLength(1);
    expect(t.sleeps).toEqual([]);
  });

  it('isolates a permanent error: Meta message and fbtrace_id stored, no retry, other audiences still sync', async () => {
    const t = await setup();
    await seedCustomers(t.wh, 10);
    await setMembers(t.wh, 'a_first', 'true');
    await setMembers(t.wh, 'b_second', "customer_id <= 'c000005'");
    t.fake.inject({
      kind: 'error',
      on: 'add',
      code: 200,
      message: '(#200) The user does not have permission',
    });
    const report = await t.run();
    const [a, b] = report.audiences;
    expect(a).toMatchObject({ audience: 'a_first', status: 'failed' });
    expect(a!.message).toMatch(/\(#200\) The user does not have permission \[code 200, fbtrace_id A[\w-]+\]/);
    expect(b).toMatchObject({ audience: 'b_second', status: 'synced', adds: 5 });
    expect(t.fake.faultsServed).toHaveLength(1);
    const rows = await t.wh.all<{ audience: string; status: string; error: string | null }>(
      'SELECT audience, status, error FROM destination_syncs ORDER BY audience',
    );
    expect(rows.map((r) => [r.audience, r.status])).toEqual([
      ['a_first', 'failed'],
      ['b_second', 'synced'],
    ]);
    expect(rows[0]!.error).toContain('fbtrace_id');
    expect(await confirmedIds(t.wh, 'a_first')).toEqual([]); // nothing acknowledged, nothing recorded
    expect(await t.wh.scalar('SELECT count(*) FROM destination_locks')).toBe(0);
  });

  it('an invalid token (190) fails with Meta message and never reveals the token', async () => {
    const t = await setup({ config: { accessToken: 'EAAwrongTOKEN999' } });
    await seedCustomers(t.wh, 3);
    await setMembers(t.wh, 'a_first', 'true');
    const report = await t.runOne('a_first');
    expect(report.status).toBe('failed');
    expect(report.message).toMatch(/Invalid OAuth access token.*code 190/);
    expect(JSON.stringify(report)).not.toContain('EAAwrongTOKEN999');
    expect(t.logs.join('\n')).not.toContain('EAAwrongTOKEN999');
    const error = await t.wh.scalar("SELECT count(*) FROM destination_syncs WHERE error LIKE '%EAAwrong%'");
    expect(error).toBe(0);
  });

  it('never syncs an audience another live run holds; takes over a lock whose process died', async () => {
    const t = await setup();
    await seedCustomers(t.wh, 5);
    await setMembers(t.wh, 'a_first', 'true');
    await t.wh.run(
      `INSERT INTO destination_locks VALUES ('meta', 'a_first', 'other-run', 'some-other-host', 1, now()::TIMESTAMP, now()::TIMESTAMP)`,
    );
    const locked = await t.runOne('a_first');
    expect(locked).toMatchObject({ status: 'failed' });
    expect(locked.message).toContain('other-run');
    expect(t.fake.requestUrls).toEqual([]);

    // Same host, a pid that no longer exists: the run crashed, its lock is abandoned.
    const { hostname } = await import('node:os');
    await t.wh.run('UPDATE destination_locks SET host = $1, pid = 2147483000', [hostname()]);
    expect((await t.runOne('a_first')).status).toBe('synced');
    expect(await t.wh.scalar('SELECT count(*) FROM destination_locks')).toBe(0);
  });
});

describe('Meta destination: resume after a crash', () => {
  let fake: FakeMetaGraph | undefined;
  afterEach(() => fake?.stop());

  const configFor = (graphUrl: string) => ({
    accessToken: TOKEN,
    adAccountId: ACCOUNT,
    graphUrl,
    batchSize: 10,
    retry: fastRetry,
  });

  /** One ordinary sync of every audience, as the next nightly run would do it. */
  const syncNow = (
    config: ReturnType<typeof configFor>,
    wh: Warehouse,
    runId: string,
    log: (m: string) => void = () => {},
  ): Promise<DestinationReport> =>
    createMetaDestination(config).sync({
      wh,
      runId,
      asOf: new Date(),
      dryRun: false,
      force: false,
      fullRefresh: false,
      log,
    });

  /** Runs a sync in a child process and SIGKILLs it when it sends the given batch (before Meta applies it). */
  async function crashAt(kind: 'add' | 'replace', batchSeq: number, fullRefresh: boolean) {
    const dbPath = join(tempDir('meta-crash'), 'db.duckdb');
    const wh = await Warehouse.open({ path: dbPath });
    await seedCustomers(wh, 50);
    await setMembers(wh, 'cart_abandoners', 'true');
    wh.close();

    const crash = await crashChildAtBatch({
      token: TOKEN,
      accountId: ACCOUNT,
      kind,
      batchSeq,
      script: 'test/fakes/meta-graph-child.ts',
      args: (graphUrl) => [
        dbPath,
        JSON.stringify({ config: configFor(graphUrl), runId: 'crashed-run', fullRefresh }),
      ],
    });
    fake = crash.fake;
    const config = configFor(crash.fake.url);
    expect(crash.exit, crash.stderr).toBe('SIGKILL');
    expect(crash.stderr).not.toContain(TOKEN);
    return { dbPath, config };
  }

  it('resumes an interrupted upload: nothing sent twice, nothing lost', async () => {
    const { dbPath, config } = await crashAt('add', 3, false);
    const wh = await Warehouse.open({ path: dbPath });
    try {
      const id = await externalId(wh, 'cart_abandoners');
      expect(fake!.memberKeys(id)).toHaveLength(20); // batches 1 and 2 reached Meta
      expect(await confirmedIds(wh, 'cart_abandoners')).toHaveLength(20); // and were committed
      expect(await wh.scalar("SELECT count(*) FROM destination_syncs WHERE status = 'running'")).toBe(1);

      const before = fake!.uploads.length;
      const logs: string[] = [];
      const report: DestinationReport = await syncNow(config, wh, 'next-run', (m) => logs.push(m));
      expect(report.audiences[0]).toMatchObject({
        status: 'synced',
        adds: 30,
        removes: 0,
        size: 50,
        requests: 3,
      });
      const after = fake!.uploads.slice(before);
      expect(after.map((u) => [u.kind, u.batchSeq, u.rows, u.last, u.status])).toEqual([
        ['add', 1, 10, false, 200],
        ['add', 2, 10, false, 200],
        ['add', 3, 10, true, 200],
      ]);
      expect(fake!.memberKeys(id)).toEqual(metaKeys(await expectedIds(wh, 'cart_abandoners')));
      expect(fake!.addCounts.size).toBe(50);
      expect([...fake!.addCounts.values()].every((n) => n === 1)).toBe(true);
      expect(metaKeys(await confirmedIds(wh, 'cart_abandoners'))).toEqual(fake!.memberKeys(id));
      const syncs = await wh.all<{ run_id: string; status: string; adds: bigint }>(
        'SELECT run_id, status, adds FROM destination_syncs ORDER BY started_at',
      );
      expect(syncs).toEqual([
        { run_id: 'crashed-run', status: 'interrupted', adds: 20n },
        { run_id: 'next-run', status: 'synced', adds: 30n },
      ]);
      expect(logs.join('\n')).not.toContain(TOKEN);
    } finally {
      wh.close();
    }
  });

  it('resumes an interrupted replace in the same session, continuing its batch_seq', async () => {
    const { dbPath, config } = await crashAt('replace', 3, true);
    const wh = await Warehouse.open({ path: dbPath });
    try {
      const id = await externalId(wh, 'cart_abandoners');
      const crashedSession = fake!.uploads[0]!.sessionId;
      const before = fake!.uploads.length;
      const report = await syncNow(config, wh, 'next-run');
      expect(report.audiences[0]).toMatchObject({ status: 'synced', adds: 30, requests: 3 });
      const after = fake!.uploads.slice(before);
      expect(after.map((u) => [u.kind, u.sessionId, u.batchSeq, u.last, u.status])).toEqual([
        ['replace', crashedSession, 3, false, 200],
        ['replace', crashedSession, 4, false, 200],
        ['replace', crashedSession, 5, true, 200],
      ]);
      expect(fake!.memberKeys(id)).toEqual(metaKeys(await expectedIds(wh, 'cart_abandoners')));
      expect([...fake!.addCounts.values()].every((n) => n === 1)).toBe(true);
      // The next run is an ordinary diff again.
      const next = await syncNow(config, wh, 'third-run');
      expect(next.audiences[0]!.status).toBe('unchanged');
    } finally {
      wh.close();
    }
  });
});

describe('the Graph fake behaves as Meta documents (driven through the SDK)', () => {
  const row = (id: string) => [id, 'a'.repeat(64), '', '', '', '', '', '', ''];
  const session = (id: number, seq: number, last = false) => ({
    session_id: id,
    batch_seq: seq,
    last_batch_flag: last,
    estimated_num_total: 10,
  });

  async function graph() {
    const f = new FakeMetaGraph({ token: TOKEN, accountId: ACCOUNT });
    const url = await f.start();
    const g = new MetaGraph(
      resolveMetaConfig({
        accessToken: TOKEN,
        adAccountId: ACCOUNT,
        graphUrl: url,
        retry: { ...fastRetry, retries: 0 },
      }),
    );
    const { id } = await g.ensureAudience('retarget: x', 'test');
    return { f, g, id };
  }

  async function error(p: Promise<unknown>): Promise<MetaApiError> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MetaApiError);
    return err as MetaApiError;
  }

  it('rejects bad hashes, too many rows and out-of-order batches; enforces replace exclusivity', async () => {
    const { f, g, id } = await graph();
    try {
      expect(
        (
          await error(
            g.upload('add', id, [['c1', 'NOT-A-HASH', '', '', '', '', '', '', '']], session(1, 1), 0),
          )
        ).info,
      ).toMatchObject({ code: 100 });
      expect(
        (
          await error(
            g.upload('add', id, [['c1', 'A'.repeat(64), '', '', '', '', '', '', '']], session(1, 1), 0),
          )
        ).info.code,
      ).toBe(100);
      const many = Array.from({ length: 10_001 }, (_, i) => row(`c${i}`));
      expect((await error(g.upload('add', id, many, session(2, 1), 0))).message).toMatch(/at most 10000/);
      expect((await error(g.upload('add', id, [row('c1')], session(3, 2), 0))).message).toMatch(
        /start with batch_seq 1/,
      );
      await g.upload('add', id, [row('c1')], session(4, 1), 0);
      expect((await error(g.upload('add', id, [row('c2')], session(4, 3), 0))).message).toMatch(
        /out of order/,
      );
      await g.upload('add', id, [row('c2')], session(4, 2, true), 1);
      expect((await error(g.upload('add', id, [row('c3')], session(4, 3), 0))).message).toMatch(
        /already finished/,
      );

      expect((await error(g.upload('replace', id, [row('c9')], session(5, 2), 0))).info).toMatchObject({
        code: 2650,
        subcode: 1870147,
      });
      await g.upload('replace', id, [row('c9')], session(6, 1), 0);
      const busy = await error(g.upload('add', id, [row('c3')], session(7, 1), 0));
      expect(busy.info).toMatchObject({ code: 2650, subcode: 1870145 });
      expect(busy.transient).toBe(false);
      expect((await error(g.upload('replace', id, [row('c8')], session(8, 1), 0))).info.subcode).toBe(
        1870145,
      );
      await g.upload('replace', id, [row('c10')], session(6, 2, true), 1);
      expect(f.memberKeys(id)).toEqual(['c10', 'c9']);
      expect((await error(g.upload('replace', id, [row('c11')], session(6, 3), 0))).info.subcode).toBe(
        1870159,
      );
      // Meta closes a session 90 minutes after its first batch.
      await g.upload('replace', id, [row('c12')], session(10, 1), 0);
      const start = Date.now();
      f.now = () => start + 91 * 60_000;
      expect((await error(g.upload('replace', id, [row('c13')], session(10, 2), 0))).info.subcode).toBe(
        1870158,
      );
      f.now = () => Date.now();
      const missing = await error(g.upload('add', '999', [row('c1')], session(9, 1), 0));
      expect(missing.audienceMissing).toBe(true);
    } finally {
      await f.stop();
    }
  });
});
