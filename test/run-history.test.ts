import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/config.ts';
import { createCsvDestination } from '../connectors/destinations/csv/csv-destination.ts';
import { days, definitionFrom, performed, segment } from '../dsl/index.ts';
import { RunRefused, type RunRequest, runPipeline } from '../pipelines/run.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { tempDir } from './helpers/temp.ts';
import { cli, sandbox, writeStore } from './ops-helpers.ts';

/**
 * The run's history never contradicts itself: dry runs leave no trace in the history, backfills are refused,
 * and any sequence of real, dry and backfill runs keeps every stay ordered and at most one open per member.
 */

let dir: string;
let db: string;
beforeEach(() => {
  dir = tempDir('history');
  db = join(dir, 'retarget.duckdb');
});

const DAY = 86_400_000;
const T0 = Date.parse('2026-03-01T00:00:00Z');
const at = (day: number) => new Date(T0 + day * DAY);

const viewers = definitionFrom(
  segment('viewers')
    .describe('Viewed a product in the last 3 days')
    .where(performed('view_item').within(days(3))),
  'viewers.ts',
);

/** A tiny deterministic random generator (mulberry32): failures reproduce from the seed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 12 consented customers, each viewing a product on a few random days of a 40-day window. */
async function seed(rand: () => number): Promise<void> {
  const wh = await Warehouse.open({ path: db });
  try {
    for (let c = 1; c <= 12; c++) {
      await wh.run(`INSERT INTO customers (customer_id, email, ads_consent) VALUES ($1, $2, true)`, [
        `c${c}`,
        `c${c}@example.com`,
      ]);
      for (let k = 0; k < 4; k++) {
        const when = at(Math.floor(rand() * 40));
        await wh.run(
          `INSERT INTO events (customer_id, event_name, product_id, occurred_at, event_key) VALUES ($1, 'view_item', 'p1', $2, $3)`,
          [`c${c}`, when, `c${c}-${k}`],
        );
      }
    }
  } finally {
    wh.close();
  }
}

function run(asOf: Date, over: Partial<RunRequest> = {}) {
  return runPipeline({
    config: parseConfig({ database: db, sources: { files: false }, destinations: { csv: false } }, 'test'),
    asOf,
    sources: [],
    segments: [{ file: 'viewers.ts', definition: viewers }],
    destinations: [],
    alerts: false,
    ...over,
  });
}

async function withDb<T>(fn: (wh: Warehouse) => Promise<T>): Promise<T> {
  const wh = await Warehouse.open({ path: db, readOnly: true });
  try {
    return await fn(wh);
  } finally {
    wh.close();
  }
}

/** History rows that contradict each other: closed before opened, two open stays, overlapping stays. */
async function contradictions(wh: Warehouse): Promise<unknown[]> {
  return wh.json(
    `WITH h AS (
       SELECT *, lead(entered_at) OVER (PARTITION BY audience, customer_id ORDER BY entered_at, exited_at NULLS LAST) AS next_entered
       FROM audience_membership_history)
     SELECT 'closed before opened' AS problem, audience, customer_id FROM h WHERE exited_at < entered_at
     UNION ALL SELECT 'overlapping stays', audience, customer_id FROM h
       WHERE next_entered IS NOT NULL AND (exited_at IS NULL OR next_entered < exited_at)
     UNION ALL SELECT 'two open stays', audience, customer_id FROM h WHERE exited_at IS NULL
       GROUP BY audience, customer_id HAVING count(*) > 1`,
  );
}

const openStays = (wh: Warehouse) =>
  wh.json(
    'SELECT audience, customer_id, entered_at FROM audience_membership_history WHERE exited_at IS NULL ORDER BY ALL',
  );

describe('run history', () => {
  it('a dry run stores its membership marked as such and leaves history, snapshots and destinations alone', async () => {
    await seed(random(7));
    const out = join(dir, 'audiences');
    const csv = createCsvDestination({ dir: out });
    const first = await run(at(10), { destinations: [csv] });
    expect(first.status, JSON.stringify(first.error)).toBe('succeeded');
    const before = await withDb(async (wh) => ({
      open: await openStays(wh),
      history: await wh.scalar('SELECT count(*) FROM audience_membership_history'),
      snapshots: await wh.scalar('SELECT count(*) FROM audience_snapshots'),
      synced: await wh.json('SELECT * FROM destination_members ORDER BY ALL'),
    }));
    expect(before.open.length).toBeGreaterThan(0);
    const files = readdirSync(out);

    // Ten days later the audience is different: the dry run shows it, and records nothing of it.
    const dry = await run(at(20), { destinations: [csv], dryRun: true });
    expect(dry.status).toBe('succeeded');
    const dryMembers = await withDb(async (wh) => {
      expect(await openStays(wh)).toEqual(before.open);
      expect(await wh.scalar('SELECT count(*) FROM audience_membership_history')).toBe(before.history);
      expect(await wh.scalar('SELECT count(*) FROM audience_snapshots')).toBe(before.snapshots);
      expect(await wh.json('SELECT * FROM destination_members ORDER BY ALL')).toEqual(before.synced);
      expect(await wh.json('SELECT audience, run_id FROM audience_dry_runs')).toEqual([
        { audience: 'viewers', run_id: dry.runId },
      ]);
      return wh.json('SELECT customer_id FROM audience_members ORDER BY 1');
    });
    expect(dryMembers).not.toEqual(
      before.open.map((o) => ({ customer_id: (o as { customer_id: string }).customer_id })),
    );
    expect(readdirSync(out)).toEqual(files);

    // The next real run measures entries and exits against the last real membership, not the dry rows.
    const real = await run(at(20));
    const change = real.audiences.find((a) => a.audience === 'viewers')!;
    expect(change).toEqual(dry.audiences.find((a) => a.audience === 'viewers'));
    await withDb(async (wh) => {
      expect(await wh.scalar('SELECT count(*) FROM audience_dry_runs')).toBe(0);
      const open = await wh.scalar(
        'SELECT count(*) FROM audience_membership_history WHERE exited_at IS NULL',
      );
      expect(open).toBe(change.members);
      expect(await wh.scalar('SELECT count(*) FROM audience_membership_history')).toBe(
        before.history + change.entered,
      );
    });
  });

  it('refuses a real run as of a time before the latest stored run, and allows it as a dry run', async () => {
    await seed(random(11));
    expect((await run(at(20))).status).toBe('succeeded');
    await expect(run(at(10))).rejects.toThrow(RunRefused);
    await expect(run(at(10))).rejects.toThrow(/before the latest stored run .*--dry-run/);
    expect((await run(at(10), { dryRun: true })).status).toBe('succeeded');
    expect((await run(at(20))).status).toBe('succeeded'); // the same time again is fine
    await withDb(async (wh) => {
      expect(await contradictions(wh)).toEqual([]);
      expect(await wh.scalar(`SELECT count(*) FROM pipeline_runs WHERE as_of = $1`, [at(10)])).toBe(1); // the dry one
    });
  });

  it('stays ordered under random sequences of real, dry and backfill runs', async () => {
    for (const seedValue of [1, 2]) {
      rmSync(db, { force: true });
      const rand = random(seedValue);
      await seed(rand);
      let latest = -1;
      for (let i = 0; i < 10; i++) {
        const day = Math.floor(rand() * 45);
        const dryRun = rand() < 0.35;
        const before = await withDb(openStays).catch(() => []);
        if (!dryRun && day < latest) {
          await expect(run(at(day))).rejects.toThrow(RunRefused);
        } else {
          const summary = await run(at(day), { dryRun });
          expect(summary.status, JSON.stringify(summary.error)).toBe('succeeded');
          if (!dryRun) latest = day;
        }
        await withDb(async (wh) => {
          const where = `seed ${seedValue} step ${i} (day ${day}${dryRun ? ', dry' : ''})`;
          expect(await contradictions(wh), where).toEqual([]);
          if (dryRun || day < latest) expect(await openStays(wh), where).toEqual(before);
          else {
            // After a real run the stored membership is the real one: exactly the open stays.
            expect(await wh.scalar('SELECT count(*) FROM audience_dry_runs'), where).toBe(0);
            expect(
              await wh.json('SELECT audience, customer_id, entered_at FROM audience_members ORDER BY ALL'),
              where,
            ).toEqual(await openStays(wh));
          }
        });
      }
    }
  });

  it('the CLI refuses a backfill with exit 2 and a way out, before loading anything', async () => {
    const s = sandbox();
    try {
      await writeStore(s.store, { customers: 3 });
      expect((await cli(['--config', s.config, 'run', '--as-of', '2026-02-01'])).code).toBe(0);
      const back = await cli(['--config', s.config, 'run', '--as-of', '2026-01-15']);
      expect(back.code).toBe(2);
      expect(back.stderr).toMatch(
        /before the latest stored run \(as of 2026-02-01T00:00:00.000Z\).*--dry-run/,
      );
      expect((await cli(['--config', s.config, 'run', '--as-of', '2026-01-15', '--dry-run'])).code).toBe(0);
      const listed = await cli(['--config', s.config, 'segments']);
      expect(listed.stdout).toMatch(/buyers .* \[dry run r\S+: not synced\]/);
    } finally {
      s.cleanup();
    }
  });
});
