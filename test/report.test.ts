import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/config.ts';
import { audienceLift } from '../metrics/lift.ts';
import { runPipeline } from '../pipelines/run.ts';
import { buildReport } from '../report/build.ts';
import { gatherHistory } from '../report/gather.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { tempDir } from './helpers/temp.ts';

/** The report's page without a browser: user text escaped, no personal data, and the run's report switch. */

const dir = tempDir('report-unit');

const HOSTILE = `category_browsers:<script>alert(1)</script><img src=x onerror="alert(2)">`;
const AS_OF = new Date('2026-11-01T00:00:00Z');

/** Two runs of history for a hostile audience name (a split value is data: a product category, say). */
async function seedHostile(wh: Warehouse): Promise<void> {
  await wh.run(
    `INSERT INTO pipeline_runs (run_id, started_at, finished_at, status, as_of, trigger, error) VALUES
       ('r1', TIMESTAMP '2026-10-25 03:00', TIMESTAMP '2026-10-25 03:01', 'succeeded', TIMESTAMP '2026-10-25', 'cli', NULL),
       ('r2', TIMESTAMP '2026-11-01 03:00', TIMESTAMP '2026-11-01 03:01', 'failed', $1, 'cli',
        'sync: <b>bad</b> row for jane.doe@example.com')`,
    [AS_OF],
  );
  await wh.run(
    `INSERT INTO audience_snapshots (run_id, as_of, audience, segment, members, entered, exited) VALUES
       ('r1', TIMESTAMP '2026-10-25', $1, 'category_browsers', 2, 2, 0),
       ('r1', TIMESTAMP '2026-10-25', 'wishlisted', 'wishlisted', 1, 1, 0),
       ('r2', $2, $1, 'category_browsers', 3, 1, 0),
       ('r2', $2, 'wishlisted', 'wishlisted', 1, 0, 0)`,
    [HOSTILE, AS_OF],
  );
  await wh.run(
    `INSERT INTO audience_membership_history (audience, customer_id, entered_at, entered_run_id)
     SELECT $1, 'cust-id-' || i, TIMESTAMP '2026-10-25', 'r1' FROM range(3) t(i)
     UNION ALL SELECT 'wishlisted', 'cust-id-0', TIMESTAMP '2026-10-25', 'r1'`,
    [HOSTILE],
  );
  // Not members at T: one left before it, one entered after it.
  await wh.run(
    `INSERT INTO audience_membership_history (audience, customer_id, entered_at, exited_at, entered_run_id) VALUES
       ('wishlisted', 'cust-id-1', TIMESTAMP '2026-10-20', TIMESTAMP '2026-10-25', 'r0'),
       ('wishlisted', 'cust-id-2', TIMESTAMP '2026-11-08', NULL, 'r3')`,
  );
  await wh.run(
    `INSERT INTO destination_syncs (run_id, destination, audience, started_at, status, error)
     VALUES ('r2', 'csv', $1, TIMESTAMP '2026-11-01 03:00', 'failed', '<script>x</script> for +1 555 123 4567')`,
    [HOSTILE],
  );
}

describe('retarget report page', () => {
  it('escapes audience names and stored errors, and shows no personal data', async () => {
    const wh = await Warehouse.open({ path: join(dir, 'hostile.duckdb') });
    let page: string;
    try {
      await seedHostile(wh);
      page = await buildReport(wh, AS_OF);
      // The overlap is counted from the membership at T: 3 in the split audience, 1 of them also wishlisted.
      const { overlap } = await gatherHistory(wh, AS_OF);
      expect(overlap.sort((x, y) => x.a.localeCompare(y.a) || x.b.localeCompare(y.b))).toEqual([
        { a: HOSTILE, b: HOSTILE, shared: 3 },
        { a: HOSTILE, b: 'wishlisted', shared: 1 },
        { a: 'wishlisted', b: HOSTILE, shared: 1 },
        { a: 'wishlisted', b: 'wishlisted', shared: 1 },
      ]);
    } finally {
      wh.close();
    }
    // The page has no element of its own that runs or loads anything: any of these came from data.
    expect(page).not.toMatch(/<script|<img|<b>|onerror="/i);
    expect(page).toContain('category_browsers:&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=');
    expect(page).toContain(
      'data-audience="category_browsers:&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(2)&quot;&gt;"',
    );
    expect(page).toContain('&lt;b&gt;bad&lt;/b&gt;');
    // Stored errors are redacted again: no email or phone number reaches a file people pass around.
    expect(page).not.toMatch(/jane\.doe|555 123 4567/);
    expect(page).not.toContain('cust-id-'); // counts only: no customer id
    expect(page).toMatch(/data-metric="members" data-audience="category_browsers:[^"]*" data-value="3"/);
    // As of the first run: its sizes, and no later run.
    const earlier = await Warehouse.open({ path: join(dir, 'hostile.duckdb'), readOnly: true });
    try {
      const before = await buildReport(earlier, new Date('2026-10-25T00:00:00Z'));
      expect(before).toMatch(/data-metric="members" data-audience="category_browsers:[^"]*" data-value="2"/);
      expect(before).not.toContain('data-run="r2"');
      expect(before).toContain('data-run="r1"');
    } finally {
      earlier.close();
    }
  });
});

/**
 * An audience with a holdout, large enough to measure: 60 exposed (20 bought within 14 days of entering) and
 * 40 held out (6 bought), everyone entered on 2026-10-01; one exposed buyer bought after the window.
 */
async function seedLift(wh: Warehouse): Promise<void> {
  await wh.run(
    `CREATE TEMP TABLE people AS
     SELECT 'e' || i AS customer_id, 'exposed' AS side, i < 20 AS bought FROM range(60) t(i)
     UNION ALL SELECT 'h' || i, 'holdout', i < 6 FROM range(40) t(i)`,
  );
  await wh.run(
    `INSERT INTO audience_membership_history (audience, customer_id, entered_at, entered_run_id, side)
     SELECT 'buyers', customer_id, TIMESTAMP '2026-10-01', 'r1', side FROM people`,
  );
  await wh.run(
    `INSERT INTO audience_members (audience, segment, customer_id, entered_at, side)
     SELECT 'buyers', 'buyers', customer_id, TIMESTAMP '2026-10-01', side FROM people`,
  );
  await wh.run(
    `INSERT INTO orders (order_id, customer_id, ordered_at, status)
     SELECT 'o-' || customer_id, customer_id, TIMESTAMP '2026-10-05', 'completed' FROM people WHERE bought
     UNION ALL SELECT 'late', 'e59', TIMESTAMP '2026-10-20', 'completed'`,
  );
  await wh.run(
    `INSERT INTO order_items (order_id, product_id, quantity, unit_price) SELECT order_id, 'p1', 1, 10 FROM orders`,
  );
}

describe('retarget report: holdout lift', () => {
  it('shows the figures of retarget lift with the interval drawn; no holdouts says so', async () => {
    const wh = await Warehouse.open({ path: join(dir, 'lift.duckdb') });
    let page: string;
    let lift: Awaited<ReturnType<typeof audienceLift>>;
    let none: string;
    try {
      none = await buildReport(wh, AS_OF);
      await seedLift(wh);
      page = await buildReport(wh, AS_OF);
      lift = await audienceLift(wh, { asOf: AS_OF });
    } finally {
      wh.close();
    }
    expect(none).toContain('No holdouts configured');
    expect(page).not.toContain('No holdouts configured');
    const [buyers] = lift.audiences;
    expect(buyers).toMatchObject({ audience: 'buyers', sufficient: true, exposed_purchasers: 20 });
    for (const [field, value] of Object.entries(buyers!)) {
      if (field === 'audience' || field === 'sufficient' || field === 'message') continue;
      expect(page, field).toContain(`data-metric="${field}" data-audience="buyers" data-value="${value}"`);
    }
    expect(page).toContain(`data-metric="lift" data-audience="buyers" data-value="${buyers!.lift}">+18.33<`);
    const svg = page.slice(page.indexOf('<section id="lift"')).match(/<svg[\s\S]*?<\/svg>/)?.[0] ?? '';
    expect(svg).toContain('aria-label="Holdout lift per audience with its 95% interval"');
    // The whisker: a stem and two caps, inside the plot (the y axis covers both ends of the interval).
    const lines = [
      ...svg.matchAll(/<path d="M([\d.-]+) ([\d.-]+)L([\d.-]+) ([\d.-]+)"[^>]*stroke="#1d2430"/g),
    ];
    expect(lines).toHaveLength(3);
    const ys = lines.flatMap((l) => [Number(l[2]), Number(l[4])]);
    expect(Math.min(...ys)).toBeGreaterThanOrEqual(24); // the grid's top
    expect(Math.max(...ys)).toBeLessThanOrEqual(320 - 90); // above the x axis labels
  });
});

describe('retarget run with report.afterRun', () => {
  const run = (name: string, report: Record<string, unknown>) =>
    runPipeline({
      config: parseConfig({ database: join(dir, name, 'store.duckdb'), report }, 'test'),
      sources: [],
      segments: [],
      destinations: [],
      alerts: false,
    });

  it('writes the report beside the database after the run; off by default', async () => {
    const on = await run('on', { afterRun: true });
    expect(on.status).toBe('succeeded');
    expect(readFileSync(join(dir, 'on', 'report.html'), 'utf8')).toContain(`as of ${on.asOf}`);
    const off = await run('off', {});
    expect(off.status).toBe('succeeded');
    expect(existsSync(join(dir, 'off', 'report.html'))).toBe(false);
  });

  it('a report that cannot be written is a warning: the run still succeeds', async () => {
    const blocker = join(dir, 'not-a-folder');
    writeFileSync(blocker, '');
    const out = join(blocker, 'report.html');
    const summary = await run('blocked', { afterRun: true, out });
    expect(summary.status).toBe('succeeded');
    expect(summary.warnings).toEqual([expect.stringContaining(`report not written to ${out}: `)]);
  });

  it('the config section is strict', () => {
    expect(() => parseConfig({ report: { afterrun: true } }, 'retarget.config.ts')).toThrow(
      /report\.afterrun: unknown key \(allowed here: afterRun, out\)/,
    );
  });
});
