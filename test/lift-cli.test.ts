import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Warehouse } from '../warehouse/warehouse.ts';
import { type BareSandbox, bareSandbox, cli } from './ops-helpers.ts';

/** `retarget lift` through the real CLI: the table, an insufficient audience's message, flag and name errors. */

let bare: BareSandbox;
const lift = (...args: string[]) => cli(['--config', bare.config, 'lift', '--db', bare.db, ...args]);

beforeAll(async () => {
  bare = bareSandbox('retarget-lift-');
  const wh = await Warehouse.open({ path: bare.db });
  try {
    // 'a': 100 exposed (20 bought 10.00 each), 50 held out (5 bought); 'b': 10 held out only.
    await wh.run(
      `INSERT INTO audience_membership_history (audience, customer_id, entered_at, side)
       SELECT 'a', 'c' || i, TIMESTAMP '2026-03-01', CASE WHEN i < 100 THEN 'exposed' ELSE 'holdout' END FROM range(150) t(i)
       UNION ALL SELECT 'b', 'c' || i, TIMESTAMP '2026-03-01', 'holdout' FROM range(10) t(i)`,
    );
    await wh.run(
      `INSERT INTO orders (order_id, customer_id, ordered_at)
       SELECT 'o' || i, 'c' || i, TIMESTAMP '2026-03-05' FROM range(150) t(i) WHERE i < 20 OR i >= 145`,
    );
    await wh.run(
      "INSERT INTO order_items (order_id, product_id, quantity, unit_price) SELECT order_id, 'p1', 1, 10 FROM orders",
    );
    await wh.run(
      "INSERT INTO pipeline_runs (run_id, started_at, as_of, status) VALUES ('r1', TIMESTAMP '2026-04-01', TIMESTAMP '2026-04-01', 'succeeded')",
    );
  } finally {
    wh.close();
  }
});
afterAll(() => rmSync(bare.dir, { recursive: true, force: true }));

describe('retarget lift', () => {
  it('prints a table as of the last run, with the message of an audience too small to measure', async () => {
    const r = await lift();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Holdout lift as of 2026-04-01T00:00:00.000Z');
    // a: 20/100 = 20.00% vs 5/50 = 10.00%: +10.00 points, revenue 200/100 − 50/50 = +1.00
    expect(r.stdout).toMatch(
      /^a\s+—\s+20\/100\s+20\.00%\s+5\/50\s+10\.00%\s+\+10\.00\s+\[-1\.\d\d, \+21\.\d\d\]\s+\+1\.00$/m,
    );
    expect(r.stdout).toMatch(/^b: too few to measure: 0 exposed member\(s\), 10 held-out member\(s\)/m);
  });

  it('--json for one audience; an unknown audience and a bad --days are one clear line', async () => {
    const r = await lift('a', '--json', '--days', '7');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.window_days).toBe(7);
    expect(report.audiences.map((a: { audience: string }) => a.audience)).toEqual(['a']);
    expect(report.audiences[0]).toMatchObject({ exposed_purchasers: 20, holdout_purchasers: 5, lift: 0.1 });

    const unknown = await lift('nope');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/no audience named 'nope' in the membership history/);
    const bad = await lift('--days', '0');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--days.*at least 1/);
  });
});
