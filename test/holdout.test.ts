import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EVALUATED } from '../audiences/evaluate.ts';
import { type HoldoutShares, holdoutShares, unknownHoldoutNames } from '../audiences/holdouts.ts';
import { storeMembership } from '../audiences/membership.ts';
import { parseConfig } from '../config/config.ts';
import { parseDefinition, performed, SegmentDefinitionError, segment } from '../dsl/index.ts';
import { Warehouse } from '../warehouse/warehouse.ts';

let wh: Warehouse;
beforeEach(async () => {
  wh = await Warehouse.open({ path: ':memory:' });
});
afterEach(() => wh.close());

const T1 = new Date('2026-03-01T03:00:00Z');
const T2 = new Date('2026-03-02T03:00:00Z');
const T3 = new Date('2026-03-09T03:00:00Z');
const shares = (p: Partial<HoldoutShares>): HoldoutShares => ({
  segments: {},
  audiences: {},
  default: 0,
  ...p,
});

/** This run's evaluation, set-based: customers c<from>..c<to-1> in `audience`, in the given order. */
async function evaluate(
  db: Warehouse,
  audience: string,
  from: number,
  to: number,
  order = 'ASC',
): Promise<void> {
  await db.run(
    `CREATE OR REPLACE TEMP TABLE ${EVALUATED} (audience VARCHAR, segment VARCHAR, customer_id VARCHAR, attributes JSON)`,
  );
  await db.run(
    `INSERT INTO ${EVALUATED} SELECT $1, split_part($1, ':', 1), 'c' || i, '{}' FROM range($2, $3) t(i) ORDER BY i ${order}`,
    [audience, from, to],
  );
}

async function heldOut(db: Warehouse, audience = 'a'): Promise<string[]> {
  const rows = await db.all<{ customer_id: string }>(
    "SELECT customer_id FROM audience_members WHERE audience = $1 AND side = 'holdout' ORDER BY customer_id",
    [audience],
  );
  return rows.map((r) => r.customer_id);
}

describe('holdout split', () => {
  it('holds out the same people night after night, whatever the run, as-of time or evaluation order', async () => {
    await evaluate(wh, 'a', 0, 2000);
    await storeMembership(wh, 'r1', T1, { holdouts: shares({ default: 0.2 }) });
    const first = await heldOut(wh);
    expect(first.length).toBeGreaterThan(300);
    expect(first.length).toBeLessThan(500);

    await evaluate(wh, 'a', 0, 2000, 'DESC');
    await storeMembership(wh, 'r2-other-run', T3, { holdouts: shares({ default: 0.2 }) });
    expect(await heldOut(wh)).toEqual(first);

    // Members who stay keep their side when others leave and new people enter.
    await evaluate(wh, 'a', 1000, 3000);
    await storeMembership(wh, 'r3', new Date('2026-04-01T03:00:00Z'), { holdouts: shares({ default: 0.2 }) });
    const stayed = (await heldOut(wh)).filter((c) => Number(c.slice(1)) < 2000);
    expect(stayed).toEqual(first.filter((c) => Number(c.slice(1)) >= 1000));
    // Nobody moved side, so nobody's history stay was cut: one stay per person.
    expect(
      await wh.scalar(
        'SELECT count(*) FROM (SELECT customer_id FROM audience_membership_history GROUP BY ALL HAVING count(*) > 1)',
      ),
    ).toBe(0);
  });

  it('holds out the configured share of 100,000 members, each split audience on its own', async () => {
    await evaluate(wh, 'big', 0, 100_000);
    await wh.run(`INSERT INTO ${EVALUATED} SELECT 'big:x', 'big', customer_id, attributes FROM ${EVALUATED}`);
    const started = performance.now();
    await storeMembership(wh, 'r1', T1, { holdouts: shares({ audiences: { big: 0.1 } }) });
    expect(performance.now() - started).toBeLessThan(10_000);
    const rows = await wh.all<{ audience: string; share: number }>(
      "SELECT audience, avg((side = 'holdout')::INTEGER) AS share FROM audience_members GROUP BY audience ORDER BY audience",
    );
    // 5 standard deviations of a binomial share at n = 100,000: sqrt(0.1 × 0.9 / 100000) ≈ 0.00095.
    for (const r of rows) expect(Math.abs(r.share - 0.1)).toBeLessThan(0.005);
    // The audience is part of the hash: the two audiences hold out different people (overlap ≈ 0.1 × 0.1).
    const both = await wh.scalar(
      "SELECT count(*) FROM audience_members a JOIN audience_members b USING (customer_id) WHERE a.audience = 'big' AND b.audience = 'big:x' AND a.side = 'holdout' AND b.side = 'holdout'",
    );
    expect(both).toBeGreaterThan(500);
    expect(both).toBeLessThan(1500);
  });

  it('a new database file gets a new salt, so a different split of the same people', async () => {
    const other = await Warehouse.open({ path: ':memory:' });
    try {
      for (const db of [wh, other]) {
        await evaluate(db, 'a', 0, 2000);
        await storeMembership(db, 'r1', T1, { holdouts: shares({ default: 0.2 }) });
      }
      const a = await heldOut(wh);
      const b = new Set(await heldOut(other));
      expect(a.filter((c) => b.has(c)).length).toBeLessThan(a.length / 2);
      expect(await wh.scalar('SELECT count(*) FROM holdout_salt')).toBe(1);
    } finally {
      other.close();
    }
  });

  it('a missing salt is an error, not a silent split of nobody', async () => {
    await evaluate(wh, 'a', 0, 100);
    await wh.run('DELETE FROM holdout_salt');
    await expect(storeMembership(wh, 'r1', T1, { holdouts: shares({ default: 0.2 }) })).rejects.toThrow(
      /holdout_salt holds 0 rows instead of 1: restore it from a backup/,
    );
    expect(await wh.scalar('SELECT count(*) FROM audience_members')).toBe(0);
  });

  it('no holdout unless asked: every member exposed, and sendable', async () => {
    await evaluate(wh, 'a', 0, 500);
    await wh.run(
      "INSERT INTO customers (customer_id, ads_consent) SELECT 'c' || i, true FROM range(500) t(i)",
    );
    await storeMembership(wh, 'r1', T1);
    expect(await heldOut(wh)).toEqual([]);
    expect(await wh.scalar("SELECT count(*) FROM sendable_members WHERE audience = 'a'")).toBe(500);
  });

  it('held-out members are stored but not sendable', async () => {
    await evaluate(wh, 'a', 0, 1000);
    await wh.run(
      "INSERT INTO customers (customer_id, ads_consent) SELECT 'c' || i, true FROM range(1000) t(i)",
    );
    await storeMembership(wh, 'r1', T1, { holdouts: shares({ default: 0.3 }) });
    const held = await heldOut(wh);
    expect(await wh.scalar('SELECT count(*) FROM audience_members')).toBe(1000);
    expect(await wh.scalar("SELECT count(*) FROM sendable_members WHERE audience = 'a'")).toBe(
      1000 - held.length,
    );
    expect(
      await wh.scalar(
        "SELECT count(*) FROM sendable_members s JOIN audience_members m USING (audience, customer_id) WHERE m.side = 'holdout'",
      ),
    ).toBe(0);
  });

  it('history rows carry the side; a share change ends the stay and starts one on the new side', async () => {
    await evaluate(wh, 'a', 0, 1000);
    await storeMembership(wh, 'r1', T1, { holdouts: shares({ default: 0.1 }) });
    const before = await heldOut(wh);
    const openHeld = await wh.all<{ customer_id: string }>(
      "SELECT customer_id FROM audience_membership_history WHERE exited_at IS NULL AND side = 'holdout' ORDER BY 1",
    );
    expect(openHeld.map((r) => r.customer_id)).toEqual(before);

    await evaluate(wh, 'a', 0, 1000);
    const changes = await storeMembership(wh, 'r2', T2, { holdouts: shares({ default: 0.2 }) });
    const after = await heldOut(wh);
    // Raising the share only moves exposed people to the holdout.
    expect(before.every((c) => after.includes(c))).toBe(true);
    const moved = after.length - before.length;
    expect(moved).toBeGreaterThan(50);
    expect(changes).toEqual([{ audience: 'a', segment: 'a', members: 1000, entered: 0, exited: 0 }]);
    const stays = await wh.one<{ closed: bigint; reopened: bigint }>(
      `SELECT count(*) FILTER (WHERE exited_at = $1 AND side = 'exposed') AS closed,
              count(*) FILTER (WHERE entered_at = $1 AND exited_at IS NULL AND side = 'holdout') AS reopened
       FROM audience_membership_history`,
      [T2],
    );
    expect(Number(stays?.closed)).toBe(moved);
    expect(Number(stays?.reopened)).toBe(moved);
    expect(
      await wh.scalar("SELECT count(*) FROM audience_members WHERE side = 'holdout' AND entered_at = $1", [
        T2,
      ]),
    ).toBe(moved);
  });

  it("a segment's own .holdout wins over the config, an audience's config over the default", async () => {
    const loaded = (def: ReturnType<typeof segment>, file: string) => ({
      file,
      definition: parseDefinition(def.toDefinition(), file),
    });
    const where = performed('view_item');
    const segs = [
      loaded(segment('own').describe('x').holdout(0.4).where(where), 'segments/own.ts'),
      loaded(segment('plain').describe('x').where(where), 'segments/plain.ts'),
    ];
    const config = parseConfig({ holdouts: { default: 0.05, audiences: { own: 0.01, named: 0.3 } } }, 'test');
    expect(holdoutShares(segs, config.holdouts)).toEqual({
      segments: { own: 0.4 },
      audiences: { own: 0.01, named: 0.3 },
      default: 0.05,
    });
    await wh.run(
      `CREATE OR REPLACE TEMP TABLE ${EVALUATED} (audience VARCHAR, segment VARCHAR, customer_id VARCHAR, attributes JSON)`,
    );
    for (const a of ['own', 'plain', 'named'])
      await wh.run(`INSERT INTO ${EVALUATED} SELECT $1, $1, 'c' || i, '{}' FROM range(20000) t(i)`, [a]);
    await storeMembership(wh, 'r1', T1, { holdouts: holdoutShares(segs, config.holdouts) });
    const got = await wh.all<{ audience: string; share: number }>(
      "SELECT audience, avg((side = 'holdout')::INTEGER) AS share FROM audience_members GROUP BY 1 ORDER BY 1",
    );
    // Within 4 standard deviations at n = 20,000 (at most sqrt(0.4 × 0.6 / 20000) ≈ 0.0035).
    const expected: Record<string, number> = { named: 0.3, own: 0.4, plain: 0.05 };
    expect(got.map((r) => r.audience)).toEqual(['named', 'own', 'plain']);
    for (const r of got) expect(Math.abs(r.share - expected[r.audience]!)).toBeLessThan(0.014);
  });
});

describe('holdout validation', () => {
  it('.holdout(share) outside (0, 0.5) is an error naming the file and field', () => {
    for (const bad of [0, 0.5, -0.1, 1, Number.NaN]) {
      const def = segment('x').describe('x').holdout(bad).where(performed('view_item')).toDefinition();
      expect(() => parseDefinition(def, 'segments/x.ts')).toThrow(SegmentDefinitionError);
      expect(() => parseDefinition(def, 'segments/x.ts')).toThrow(/^segments\/x\.ts: holdout: must be/);
    }
    expect(
      parseDefinition(
        segment('x').describe('x').holdout(0.1).where(performed('view_item')).toDefinition(),
        'f',
      ).holdout,
    ).toBe(0.1);
  });

  it('config keys naming no segment are reported (a split audience counts as its segment)', () => {
    const config = { default: 0, audiences: { 'cat:Cameras': 0.1, own: 0.1, onw: 0.2 } };
    expect(unknownHoldoutNames(config, ['cat', 'own'])).toEqual(['onw']);
  });

  it('config holdouts: shares from 0 to under 0.5, named by key', () => {
    expect(parseConfig({}, 'c').holdouts).toEqual({ default: 0, audiences: {} });
    expect(() => parseConfig({ holdouts: { default: 0.5 } }, 'retarget.config.ts')).toThrow(
      /holdouts\.default: must be less than 0\.5/,
    );
    expect(() => parseConfig({ holdouts: { audiences: { a: -1 } } }, 'c')).toThrow(
      /holdouts\.audiences\.a: must be at least 0/,
    );
    expect(() => parseConfig({ holdouts: { share: 0.1 } }, 'c')).toThrow(/holdouts\.share: unknown key/);
  });
});
