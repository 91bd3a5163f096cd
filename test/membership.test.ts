import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EVALUATED } from '../audiences/evaluate.ts';
import { storeMembership } from '../audiences/membership.ts';
import { audienceFileName, createCsvDestination } from '../connectors/destinations/csv/csv-destination.ts';
import type { SyncContext } from '../plans/types.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { tempDir } from './helpers/temp.ts';

let wh: Warehouse;
beforeEach(async () => {
  wh = await Warehouse.open({ path: ':memory:' });
});
afterEach(() => wh.close());

/** States this run's evaluation: audience -> member ids. */
async function evaluated(members: Record<string, string[]>): Promise<void> {
  await wh.run(
    `CREATE OR REPLACE TEMP TABLE ${EVALUATED} (audience VARCHAR, segment VARCHAR, customer_id VARCHAR, attributes JSON)`,
  );
  for (const [audience, ids] of Object.entries(members)) {
    for (const id of ids) {
      await wh.run(`INSERT INTO ${EVALUATED} VALUES ($1, $2, $3, '{"n":1}')`, [
        audience,
        audience.split(':')[0],
        id,
      ]);
    }
  }
}

const T1 = new Date('2026-03-01T03:00:00Z');
const T2 = new Date('2026-03-02T03:00:00Z');
const T3 = new Date('2026-03-03T03:00:00Z');

describe('audience membership and history', () => {
  it('records who entered and left on which run', async () => {
    await evaluated({ wishlisted: ['c1', 'c2'] });
    expect(await storeMembership(wh, 'r1', T1)).toEqual([
      { audience: 'wishlisted', segment: 'wishlisted', members: 2, entered: 2, exited: 0 },
    ]);
    await evaluated({ wishlisted: ['c2', 'c3'] });
    expect(await storeMembership(wh, 'r2', T2)).toEqual([
      { audience: 'wishlisted', segment: 'wishlisted', members: 2, entered: 1, exited: 1 },
    ]);
    await evaluated({ wishlisted: ['c1'] });
    await storeMembership(wh, 'r3', T3);

    expect(await wh.json('SELECT customer_id, entered_at FROM audience_members ORDER BY 1')).toEqual([
      { customer_id: 'c1', entered_at: '2026-03-03 03:00:00' },
    ]);
    expect(
      await wh.json(
        'SELECT customer_id, entered_at, exited_at, entered_run_id, exited_run_id FROM audience_membership_history ORDER BY customer_id, entered_at',
      ),
    ).toEqual([
      {
        customer_id: 'c1',
        entered_at: '2026-03-01 03:00:00',
        exited_at: '2026-03-02 03:00:00',
        entered_run_id: 'r1',
        exited_run_id: 'r2',
      },
      {
        customer_id: 'c1',
        entered_at: '2026-03-03 03:00:00',
        exited_at: null,
        entered_run_id: 'r3',
        exited_run_id: null,
      },
      {
        customer_id: 'c2',
        entered_at: '2026-03-01 03:00:00',
        exited_at: '2026-03-03 03:00:00',
        entered_run_id: 'r1',
        exited_run_id: 'r3',
      },
      {
        customer_id: 'c3',
        entered_at: '2026-03-02 03:00:00',
        exited_at: '2026-03-03 03:00:00',
        entered_run_id: 'r2',
        exited_run_id: 'r3',
      },
    ]);
    expect(await wh.scalar('SELECT count(*) FROM audience_snapshots')).toBe(3);
  });

  it('empties audiences that are no longer evaluated (a split value nobody qualifies for)', async () => {
    await evaluated({ 'category_browsers:Shoes': ['c1'], 'category_browsers:Bags': ['c2'] });
    await storeMembership(wh, 'r1', T1);
    await evaluated({ 'category_browsers:Shoes': ['c1'] });
    const changes = await storeMembership(wh, 'r2', T2);
    expect(changes.find((c) => c.audience === 'category_browsers:Bags')).toMatchObject({
      members: 0,
      exited: 1,
    });
    expect(
      await wh.scalar(`SELECT count(*) FROM audience_members WHERE audience = 'category_browsers:Bags'`),
    ).toBe(0);
  });

  it('leaves the audiences of held segments exactly as stored, even when their rows were evaluated', async () => {
    await evaluated({ 'category_browsers:Shoes': ['c1', 'c2'], wishlisted: ['c1'] });
    await storeMembership(wh, 'r1', T1);
    await evaluated({ 'category_browsers:Shoes': ['c3'], wishlisted: ['c2'] });
    const changes = await storeMembership(wh, 'r2', T2, { heldSegments: ['category_browsers'] });
    expect(changes.map((c) => c.audience)).toEqual(['wishlisted']);
    expect(await wh.json('SELECT audience, customer_id FROM audience_members ORDER BY ALL')).toEqual([
      { audience: 'category_browsers:Shoes', customer_id: 'c1' },
      { audience: 'category_browsers:Shoes', customer_id: 'c2' },
      { audience: 'wishlisted', customer_id: 'c2' },
    ]);
    expect(
      await wh.scalar(
        `SELECT count(*) FROM audience_membership_history WHERE audience LIKE 'category_browsers:%' AND exited_at IS NULL`,
      ),
    ).toBe(2);
  });
});

describe('CSV destination', () => {
  const ctx = (_dir: string, runId: string, dryRun = false): SyncContext => ({
    wh,
    runId,
    asOf: T1,
    dryRun,
    force: false,
    fullRefresh: false,
    log: () => {},
  });

  it('writes consented members only, sends minimal diffs, and removes revoked consent', async () => {
    const dir = tempDir('csv');
    await wh.run(
      `INSERT INTO customers (customer_id, email, ads_consent) VALUES ('c1', 'a@x.com', true), ('c2', 'b@x.com', false), ('c3', 'c@x.com', true)`,
    );
    await evaluated({ wishlisted: ['c1', 'c2', 'c3', 'ghost'] });
    await storeMembership(wh, 'r1', T1);
    const csv = createCsvDestination({ dir });

    const dry = await csv.sync(ctx(dir, 'r1', true));
    expect(dry.audiences).toEqual([
      { audience: 'wishlisted', status: 'planned', adds: 2, removes: 0, size: 2 },
    ]);
    expect(await wh.scalar('SELECT count(*) FROM destination_members')).toBe(0);

    const first = await csv.sync(ctx(dir, 'r1'));
    expect(first.audiences[0]).toMatchObject({ status: 'synced', adds: 2, removes: 0, size: 2 });
    const file = join(dir, audienceFileName('wishlisted'));
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines[0]).toBe(
      '"customer_id","email","phone","first_name","last_name","city","state","zip","country","attributes"',
    );
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(['"c1"', '"c3"']);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const again = await csv.sync(ctx(dir, 'r2'));
    expect(again.audiences[0]).toMatchObject({ status: 'unchanged', adds: 0, removes: 0 });

    await wh.run(`UPDATE customers SET ads_consent = false WHERE customer_id = 'c3'`);
    const revoked = await csv.sync(ctx(dir, 'r3'));
    expect(revoked.audiences[0]).toMatchObject({ status: 'synced', adds: 0, removes: 1, size: 1 });
    expect(readFileSync(file, 'utf8')).not.toContain('c@x.com');
    expect(
      await wh.json(`SELECT run_id, adds, removes, status FROM destination_syncs ORDER BY run_id`),
    ).toEqual([
      { run_id: 'r1', adds: '2', removes: '0', status: 'synced' },
      { run_id: 'r3', adds: '0', removes: '1', status: 'synced' },
    ]);
  });

  it('gives split audiences safe file names', () => {
    expect(audienceFileName('category_browsers:Home & Garden')).toMatch(
      /^category_browsers--home-garden-[0-9a-f]{10}\.csv$/,
    );
    expect(audienceFileName('category_browsers:Électronique')).toMatch(
      /^category_browsers--electronique-[0-9a-f]{10}\.csv$/,
    );
  });
});
