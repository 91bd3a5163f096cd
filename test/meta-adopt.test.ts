import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetaDestination } from '../connectors/destinations/meta/destination.ts';
import { keyedAudienceName } from '../connectors/destinations/meta/state.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { crashChildAtBatch } from './fakes/meta-crash.ts';
import type { FakeMetaGraph } from './fakes/meta-graph.ts';
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

/**
 * A Custom Audience is never created twice: before creating, the ad account's audiences are looked up by the
 * audience's keyed name (prefix, audience, a short key of the database and audience), so a create whose answer
 * or bookkeeping was lost is adopted by the retry or the next run, and another database never adopts it.
 */

const setup = setupMetaEach();

const noRetry = { ...fastRetry, retries: 0, maxRegainWaitMs: 0 };

describe('Meta destination: one Custom Audience per audience, whatever was lost', () => {
  it('a connection reset after Meta created the audience: the retry finds it by name and adopts it', async () => {
    const t = await setup({ fake: { pageSize: 2 } });
    for (let i = 0; i < 5; i++) t.fake.addAudience(`someone else's list ${i}`); // three pages to look through
    await seedCustomers(t.wh, 10);
    await setMembers(t.wh, 'wishlisted', 'true');
    t.fake.inject({ kind: 'reset', on: 'create', afterApply: true });

    const report = await t.runOne('wishlisted');
    expect(report).toMatchObject({ status: 'synced', adds: 10 });
    expect(t.fake.faultsServed).toEqual([{ kind: 'reset', on: 'create' }]);
    const name = await keyedAudienceName(t.wh, 'retarget: ', 'wishlisted');
    const ours = [...t.fake.audiences.values()].filter((a) => a.name === name);
    expect(ours).toHaveLength(1); // exactly one, not an empty orphan plus a second one
    expect(t.fake.audiences.size).toBe(6);
    const id = await externalId(t.wh, 'wishlisted');
    expect(ours[0]!.id).toBe(id);
    expect(t.fake.memberKeys(id)).toEqual(metaKeys(await expectedIds(t.wh, 'wishlisted')));
    expect(t.fake.listRequests).toBe(3 + 3); // every page, before the create and again before the retry
    expect(t.logs.join('\n')).toContain(`adopted the existing Custom Audience ${id}`);
  });

  it('a create whose answer was lost with no retry left: the next run adopts the audience, not a second one', async () => {
    const t = await setup({ config: { retry: noRetry } });
    await seedCustomers(t.wh, 10);
    await setMembers(t.wh, 'wishlisted', 'true');
    t.fake.inject({ kind: 'reset', on: 'create', afterApply: true });
    expect((await t.runOne('wishlisted')).status).toBe('failed');
    expect(t.fake.audiences.size).toBe(1);
    expect(await t.wh.scalar('SELECT count(*) FROM destination_audiences')).toBe(0); // the id was never stored

    const next = await t.runOne('wishlisted');
    expect(next).toMatchObject({ status: 'synced', adds: 10 });
    expect(t.fake.audiences.size).toBe(1);
    const id = await externalId(t.wh, 'wishlisted');
    expect(t.fake.memberKeys(id)).toEqual(metaKeys(await expectedIds(t.wh, 'wishlisted')));
    expect(metaKeys(await confirmedIds(t.wh, 'wishlisted'))).toEqual(t.fake.memberKeys(id));
  });

  it('another database sharing the ad account never adopts this one’s audience', async () => {
    const t = await setup();
    await seedCustomers(t.wh, 10);
    await setMembers(t.wh, 'wishlisted', 'true');
    await t.runOne('wishlisted');
    const other = await Warehouse.open({ path: ':memory:' });
    try {
      await seedCustomers(other, 4);
      await setMembers(other, 'wishlisted', 'true');
      const report = await createMetaDestination(t.config).sync({
        wh: other,
        runId: 'other-run',
        asOf: new Date(),
        dryRun: false,
        force: false,
        fullRefresh: false,
        audiences: ['wishlisted'],
        log: (m) => t.logs.push(m),
      });
      expect(report.audiences[0]).toMatchObject({ status: 'synced', adds: 4 });
      expect(t.fake.audiences.size).toBe(2);
      expect(await externalId(other, 'wishlisted')).not.toBe(await externalId(t.wh, 'wishlisted'));
      expect(t.fake.memberKeys(await externalId(t.wh, 'wishlisted'))).toHaveLength(10);
    } finally {
      other.close();
    }
  });

  it('reads the audience list once per sync, and refuses to choose between two audiences of its name', async () => {
    const t = await setup();
    await seedCustomers(t.wh, 10);
    for (const audience of ['a_first', 'b_second', 'c_third']) await setMembers(t.wh, audience, 'true');
    const name = await keyedAudienceName(t.wh, 'retarget: ', 'c_third');
    const [x, y] = [t.fake.addAudience(name), t.fake.addAudience(name)];

    const report = await t.run();
    expect(report.audiences.map((a) => a.status)).toEqual(['synced', 'synced', 'failed']);
    expect(report.audiences[2]!.message).toContain(
      `2 Custom Audiences are named "${name}" in ad account act_1234567890 (ids ${x}, ${y}); delete all but one`,
    );
    expect(t.fake.listRequests).toBe(1); // once for the whole sync, not once per audience
    expect(t.fake.audiences.size).toBe(4); // nothing created for c_third
  });
});

describe('Meta destination: a run killed right after Meta created the audience', () => {
  let fake: FakeMetaGraph | undefined;
  afterEach(() => fake?.stop());

  it('the next run adopts it: exactly one audience (SIGKILL of a child process)', async () => {
    const dbPath = join(tempDir('meta-adopt'), 'db.duckdb');
    const seed = await Warehouse.open({ path: dbPath });
    await seedCustomers(seed, 10);
    await setMembers(seed, 'wishlisted', 'true');
    seed.close();
    const configFor = (graphUrl: string) => ({
      accessToken: TOKEN,
      adAccountId: ACCOUNT,
      graphUrl,
      retry: noRetry,
    });
    const crash = await crashChildAtBatch({
      token: TOKEN,
      accountId: ACCOUNT,
      kind: 'create',
      batchSeq: 0,
      script: 'test/fakes/meta-graph-child.ts',
      args: (graphUrl) => [dbPath, JSON.stringify({ config: configFor(graphUrl), runId: 'killed-run' })],
    });
    fake = crash.fake;
    expect(crash.exit, crash.stderr).toBe('SIGKILL');
    expect(fake.audiences.size).toBe(1);

    const wh = await Warehouse.open({ path: dbPath });
    try {
      expect(await wh.scalar('SELECT count(*) FROM destination_audiences')).toBe(0); // the id was never stored
      const report = await createMetaDestination(configFor(fake.url)).sync({
        wh,
        runId: 'next-run',
        asOf: new Date(),
        dryRun: false,
        force: false,
        fullRefresh: false,
        log: () => {},
      });
      expect(report.audiences[0]).toMatchObject({ status: 'synced', adds: 10 });
      expect(fake.audiences.size).toBe(1);
      const id = await externalId(wh, 'wishlisted');
      expect(fake.memberKeys(id)).toEqual(metaKeys(await expectedIds(wh, 'wishlisted')));
    } finally {
      wh.close();
    }
  });
});
