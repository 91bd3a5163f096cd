import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EVALUATED } from '../audiences/evaluate.ts';
import type { HoldoutShares } from '../audiences/holdouts.ts';
import { storeMembership } from '../audiences/membership.ts';
import { audienceFileName } from '../connectors/destinations/csv/csv-destination.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';
import { externalId, metaKey, metaKeys, seedCustomers, setupMetaEach } from './fakes/meta-graph-setup.ts';
import { cli, type Sandbox, sandbox, writeConfig, writeStore } from './ops-helpers.ts';

/** Held-out members never leave: not in CSV files (through real runs), not in Meta's uploads, not in the guard. */

const shares = (share: number): HoldoutShares => ({ segments: {}, audiences: {}, default: share });
const T1 = new Date('2026-03-01T03:00:00Z');

/** Every customer (c000001..) is evaluated into `audience`, then stored with the given holdout share. */
async function storeAll(wh: Warehouse, audience: string, share: number, run: string): Promise<void> {
  await wh.run(
    `CREATE OR REPLACE TEMP TABLE ${EVALUATED} AS
     SELECT $1::VARCHAR AS audience, $1::VARCHAR AS segment, customer_id, '{}'::JSON AS attributes FROM customers`,
    [audience],
  );
  await storeMembership(wh, run, T1, { holdouts: shares(share) });
}
const sideIds = async (wh: Warehouse, side: string) =>
  (
    await wh.all<{ customer_id: string }>(
      'SELECT customer_id FROM audience_members WHERE side = $1 ORDER BY 1',
      [side],
    )
  ).map((r) => r.customer_id);
const sha256 = (v: string) => createHash('sha256').update(v).digest('hex');

describe('Meta: held-out members are never sent', () => {
  const setup = setupMetaEach();

  it('uploads only exposed members: neither their ids nor their hashed emails reach Meta', async () => {
    const t = await setup();
    await seedCustomers(t.wh, 400);
    await storeAll(t.wh, 'buyers', 0.25, 'r1');
    const held = await sideIds(t.wh, 'holdout');
    const exposed = await sideIds(t.wh, 'exposed');
    expect(held.length).toBeGreaterThan(50);

    const report = await t.runOne('buyers');
    expect(report).toMatchObject({ status: 'synced', adds: exposed.length, size: exposed.length });
    const id = await externalId(t.wh, 'buyers');
    expect(t.fake.memberKeys(id)).toEqual(metaKeys(exposed));
    // Upload keys are EXTERN_IDs, i.e. metaKey(customer_id): every exposed member's was sent, no held-out one's.
    const sentKeys = new Set(t.fake.uploads.flatMap((u) => u.keys));
    expect(exposed.every((c) => sentKeys.has(metaKey(c)))).toBe(true);
    expect(held.filter((c) => sentKeys.has(metaKey(c)))).toEqual([]);
    // The email hashes Meta holds: exactly the exposed members' (seedCustomers: User<i>@Example.com).
    const emailHash = (c: string) => sha256(`user${Number(c.slice(1))}@example.com`);
    const hashes = new Set([...(t.fake.audience(id)?.members.values() ?? [])].map((row) => row[1]));
    expect(hashes.size).toBe(exposed.length);
    expect(held.filter((c) => hashes.has(emailHash(c)))).toEqual([]);
    expect(exposed.every((c) => hashes.has(emailHash(c)))).toBe(true);
  });

  it('the shrink guard and sync counts see exposed members only', async () => {
    const t = await setup({ config: { maxShrink: 0.3 } });
    await seedCustomers(t.wh, 400);
    await storeAll(t.wh, 'buyers', 0, 'r1');
    expect(await t.runOne('buyers')).toMatchObject({ status: 'synced', size: 400 });
    // Holding out ~40% would take that many people off Meta: more than maxShrink 0.3, so the guard holds it.
    await storeAll(t.wh, 'buyers', 0.4, 'r2');
    const exposed = (await sideIds(t.wh, 'exposed')).length;
    const held = await t.runOne('buyers');
    expect(held).toMatchObject({ status: 'held', size: exposed, removes: 400 - exposed, adds: 0 });
    expect(held.message).toMatch(new RegExp(`would shrink from 400 to ${exposed} members`));
    const forced = await t.runOne('buyers', { force: true });
    expect(forced).toMatchObject({ status: 'synced', size: exposed, removes: 400 - exposed });
    expect(t.fake.memberKeys(await externalId(t.wh, 'buyers'))).toEqual(
      metaKeys(await sideIds(t.wh, 'exposed')),
    );
  });
});

describe('CSV through real runs: held-out members never in the files, the same people every night', () => {
  let s: Sandbox;
  beforeEach(async () => {
    s = sandbox();
    await writeStore(s.store, { customers: 300 });
  });
  afterEach(() => s.cleanup());

  const fileIds = () =>
    readFileSync(join(s.audiences, audienceFileName('buyers')), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',')[0]!.replaceAll('"', ''))
      .sort();

  it('holdouts.audiences in the config: the file holds exposed members only, night after night', async () => {
    writeConfig(s, { holdouts: { audiences: { buyers: 0.3, buyres: 0.1 } } });
    const run = (asOf: string) => cli(['--config', s.config, 'run', '--as-of', asOf]);
    const first = await run('2026-02-01T03:00:00Z');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout + first.stderr).toContain(
      'holdouts.audiences.buyres in the config names no segment, so nobody is held out for it',
    );
    const { Warehouse } = await import('../warehouse/warehouse.ts');
    const read = async () => {
      const wh = await Warehouse.open({ path: s.db, readOnly: true });
      try {
        return { held: await sideIds(wh, 'holdout'), exposed: await sideIds(wh, 'exposed') };
      } finally {
        wh.close();
      }
    };
    const night1 = await read();
    expect(night1.held.length).toBeGreaterThan(50);
    expect(night1.held.length + night1.exposed.length).toBe(300);
    expect(fileIds()).toEqual(night1.exposed);
    const listed = await cli(['--config', s.config, 'segments', '--json']);
    const buyers = JSON.parse(listed.stdout).find((r: { segment: string }) => r.segment === 'buyers');
    expect(buyers).toMatchObject({ members: 300, heldOut: night1.held.length });

    const second = await run('2026-02-02T03:00:00Z');
    expect(second.code, second.stderr).toBe(0);
    expect(await read()).toEqual(night1);
    expect(fileIds()).toEqual(night1.exposed);

    const lift = await cli(['--config', s.config, 'lift', '--json']);
    expect(lift.code, lift.stderr).toBe(0);
    const report = JSON.parse(lift.stdout);
    expect(report).toMatchObject({ as_of: '2026-02-02T03:00:00.000Z', window_days: 14 });
    expect(Object.keys(report.audiences[0])).toEqual([
      'audience',
      'holdout_share',
      'exposed_members',
      'exposed_purchasers',
      'exposed_rate',
      'holdout_members',
      'holdout_purchasers',
      'holdout_rate',
      'lift',
      'ci_low',
      'ci_high',
      'incremental_revenue_per_exposed',
      'sufficient',
      'message',
    ]);
    expect(report.audiences[0]).toMatchObject({ audience: 'buyers', sufficient: false, lift: null });
    expect(report.audiences[0].message).toMatch(/too few to measure: 0 exposed member/);
  });
});
