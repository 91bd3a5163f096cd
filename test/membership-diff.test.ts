import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EVALUATED } from '../audiences/evaluate.ts';
import { storeMembership } from '../audiences/membership.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { tempDir } from './helpers/temp.ts';

/**
 * Membership is stored as a diff: a night writes only the members who entered, left or whose row changed; every
 * other row stays where it is (same rowid), and history gets rows for entries and exits only.
 */

let wh: Warehouse;
beforeEach(async () => {
  wh = await Warehouse.open({ path: join(tempDir('members'), 'm.duckdb') });
});
afterEach(() => wh.close());

const T = (day: number) => new Date(Date.UTC(2026, 3, day, 3));

async function evaluated(members: Record<string, Record<string, number>>): Promise<void> {
  await wh.run(
    `CREATE OR REPLACE TEMP TABLE ${EVALUATED} (audience VARCHAR, segment VARCHAR, customer_id VARCHAR, attributes JSON)`,
  );
  for (const [audience, ids] of Object.entries(members))
    for (const [id, n] of Object.entries(ids))
      await wh.run(`INSERT INTO ${EVALUATED} VALUES ($1, $2, $3, json_object('n', $4::INTEGER))`, [
        audience,
        audience,
        id,
        n,
      ]);
}

const rows = () =>
  wh.json<{ audience: string; customer_id: string; n: number; entered_at: string; rid: number }>(
    `SELECT audience, customer_id, CAST(attributes->>'n' AS INTEGER) AS n, entered_at, rowid AS rid
     FROM audience_members ORDER BY audience, customer_id`,
  );

describe('membership stored as a diff', () => {
  it('writes only entries, exits and changed rows; unchanged rows keep their place; history only for changes', async () => {
    await evaluated({ a: { c1: 1, c2: 1, c3: 1, c4: 1, c5: 1 }, b: { c1: 1, c2: 1, c3: 1 } });
    await storeMembership(wh, 'r1', T(1));
    const before = new Map((await rows()).map((r) => [`${r.audience}/${r.customer_id}`, r]));

    await evaluated({ a: { c1: 1, c2: 7, c3: 1, c4: 1, c6: 1 }, b: { c1: 1, c2: 1, c3: 1 } });
    const changes = await storeMembership(wh, 'r2', T(2));
    expect(changes).toEqual([
      { audience: 'a', segment: 'a', members: 5, entered: 1, exited: 1 },
      { audience: 'b', segment: 'b', members: 3, entered: 0, exited: 0 },
    ]);

    const after = await rows();
    expect(after.map((r) => `${r.audience}/${r.customer_id}:${r.n}`)).toEqual([
      'a/c1:1',
      'a/c2:7',
      'a/c3:1',
      'a/c4:1',
      'a/c6:1',
      'b/c1:1',
      'b/c2:1',
      'b/c3:1',
    ]);
    for (const r of after) {
      const was = before.get(`${r.audience}/${r.customer_id}`);
      if (!was) continue;
      expect(r.rid, `${r.audience}/${r.customer_id} kept its row`).toBe(was.rid);
      expect(r.entered_at).toBe(was.entered_at); // a changed attribute is no re-entry
    }
    expect(
      await wh.json(
        `SELECT audience, customer_id, entered_run_id, exited_run_id FROM audience_membership_history
         WHERE entered_run_id = 'r2' OR exited_run_id = 'r2' ORDER BY customer_id`,
      ),
    ).toEqual([
      { audience: 'a', customer_id: 'c5', entered_run_id: 'r1', exited_run_id: 'r2' },
      { audience: 'a', customer_id: 'c6', entered_run_id: 'r2', exited_run_id: null },
    ]);
    expect(await wh.scalar('SELECT count(*) FROM audience_membership_history')).toBe(9);
  });

  it('keeps a held segment as stored while the others move', async () => {
    await evaluated({ a: { c1: 1 }, b: { c1: 1, c2: 1 } });
    await storeMembership(wh, 'r1', T(1));
    await evaluated({ a: { c2: 1 } }); // b failed this run: not evaluated, held
    await storeMembership(wh, 'r2', T(2), { heldSegments: ['b'] });
    expect((await rows()).map((r) => `${r.audience}/${r.customer_id}`)).toEqual(['a/c2', 'b/c1', 'b/c2']);
  });

  it('fills an empty audience_members with the evaluation only, though history still has open rows', async () => {
    await evaluated({ a: { c1: 1, c2: 1 } });
    await storeMembership(wh, 'r1', T(1));
    await evaluated({});
    await storeMembership(wh, 'r2', T(2), { dryRun: true }); // shows nobody; the history of r1 stays open
    expect(await rows()).toEqual([]);
    await evaluated({ a: { c2: 1, c3: 1 } });
    const changes = await storeMembership(wh, 'r3', T(3));
    expect(changes).toEqual([{ audience: 'a', segment: 'a', members: 2, entered: 1, exited: 1 }]);
    expect((await rows()).map((r) => `${r.audience}/${r.customer_id}`)).toEqual(['a/c2', 'a/c3']);
  });
});
