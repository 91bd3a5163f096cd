import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../config/config.ts';
import { ScheduleError, scheduledJobs } from '../pipelines/ops/schedule.ts';
import { runPipeline } from '../pipelines/run.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { micros, writeExportTable } from './fakes/ga4-export.ts';
import { cli, type Sandbox, sandbox, startCli, withDb, writeStore } from './ops-helpers.ts';

let s: Sandbox | undefined;
afterEach(() => s?.cleanup());

describe('schedule configuration', () => {
  it('defaults to one full run at 03:00 UTC', () => {
    const config = parseConfig({}, 'test');
    expect(config.schedule).toEqual({ cron: '0 3 * * *', timezone: 'UTC', sources: {}, destinations: {} });
    expect(scheduledJobs(config)).toEqual([
      { name: 'main', cron: '0 3 * * *', sources: undefined, destinations: undefined, evaluate: true },
    ]);
  });

  it('gives a source or destination with its own cron a job of its own, and leaves it out of the main run', () => {
    const config = parseConfig(
      {
        schedule: { cron: '0 4 * * *', sources: { files: '0 * * * *' }, destinations: { csv: '30 4 * * *' } },
      },
      'test',
    );
    expect(scheduledJobs(config)).toEqual([
      { name: 'main', cron: '0 4 * * *', sources: [], destinations: [], evaluate: true },
      { name: 'source:files', cron: '0 * * * *', sources: ['files'], evaluate: false },
      { name: 'destination:csv', cron: '30 4 * * *', sources: [], destinations: ['csv'], evaluate: true },
    ]);
  });

  it('rejects bad expressions, time zones and unknown names, naming the key', () => {
    expect(() => parseConfig({ schedule: { cron: '0 3 * *' } }, 'cfg')).toThrow(
      /schedule\.cron: a cron expression/,
    );
    expect(() => parseConfig({ schedule: { timezone: 'Mars/Olympus' } }, 'cfg')).toThrow(
      /schedule\.timezone/,
    );
    expect(() => scheduledJobs(parseConfig({ schedule: { cron: '99 3 * * *' } }, 'cfg'))).toThrow(
      /schedule for main: invalid cron expression '99 3 \* \* \*'/,
    );
    expect(() => scheduledJobs(parseConfig({ schedule: { sources: { ga5: '0 * * * *' } } }, 'cfg'))).toThrow(
      ScheduleError,
    );
    expect(() =>
      scheduledJobs(parseConfig({ schedule: { destinations: { tiktok: '0 * * * *' } } }, 'cfg')),
    ).toThrow(/schedule\.destinations\.tiktok: no such destination is configured \(configured: csv\)/);
  });
});

describe('what a job runs', () => {
  it('a load-only job leaves audiences alone; a sync-only job loads nothing', async () => {
    s = sandbox();
    await writeStore(s.store, { customers: 12 });
    const config = await loadConfig(s.config);
    const loadOnly = await runPipeline({ config, sources: ['files'], evaluate: false });
    expect(loadOnly.steps.map((x) => x.step)).toEqual(['load:files']);
    expect(loadOnly.loads.find((l) => l.table === 'customers')?.rowsLoaded).toBe(12);

    const syncOnly = await runPipeline({ config, sources: [] });
    expect(syncOnly.steps.map((x) => x.step)).toEqual([
      'segments:load',
      'segments:evaluate',
      'audiences:store',
      'sync:csv',
    ]);
    expect(syncOnly.audiences).toEqual([expect.objectContaining({ audience: 'buyers', members: 12 })]);

    await writeStore(s.store, { customers: 15 }); // new files: 3 more customers
    const loadAgain = await runPipeline({ config, evaluate: false });
    expect(loadAgain.audiences).toEqual([]);
    await withDb(s.db, async (wh) => {
      expect(await wh.scalar('SELECT count(*) FROM customers')).toBe(15);
      expect(await wh.scalar('SELECT count(*) FROM audience_members')).toBe(12); // untouched until evaluated
    });
  });
});

describe('one name per source: files and ga4 (config, schedule, run --sources)', () => {
  it('a scheduled GA4 job loads the configured BigQuery export, and the main run leaves GA4 to it', async () => {
    s = sandbox();
    await writeStore(s.store, { customers: 3 });
    const exportFile = join(s.dir, 'events_20261120.json');
    const mem = await Warehouse.open({ path: ':memory:' });
    try {
      await writeExportTable(mem, exportFile, [
        {
          micros: micros('2026-11-20T09:01:00Z'),
          name: 'view_item',
          userId: 'c1',
          pseudoId: 'px.1',
          sessionId: 1,
          items: [{ id: 'p1' }],
        },
      ]);
    } finally {
      mem.close();
    }
    const config = parseConfig(
      {
        database: s.db,
        sources: { files: { dir: s.store }, ga4: { export: { paths: exportFile } } },
        destinations: { csv: { dir: s.audiences } },
        segments: { dir: s.segments },
        schedule: { sources: { ga4: '0 * * * *' } },
      },
      'test',
    );
    const jobs = scheduledJobs(config);
    expect(jobs.map((j) => [j.name, j.sources])).toEqual([
      ['main', ['files']],
      ['source:ga4', ['ga4']],
    ]);
    const ga4Job = jobs[1]!;
    const summary = await runPipeline({
      config,
      sources: ga4Job.sources,
      evaluate: ga4Job.evaluate,
      asOf: new Date('2026-11-21T00:00:00Z'),
    });
    expect(summary.error).toBeUndefined();
    expect(summary.steps.map((x) => x.step)).toEqual(['load:ga4_export']);
    await withDb(s.db, async (wh) => {
      expect(await wh.scalar("SELECT count(*) FROM events WHERE source = 'ga4_export'")).toBe(1);
    });
  });

  it('refuses half a destination setting from the environment before loading anything (exit 2)', async () => {
    s = sandbox();
    await writeStore(s.store, { customers: 3 });
    const env = { META_ACCESS_TOKEN: 'test-token-not-real', META_AD_ACCOUNT_ID: '' };
    const run = await cli(['--config', s.config, 'run'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/configuration: .*META_ACCESS_TOKEN is set but META_AD_ACCOUNT_ID is not/);
    expect(run.stderr).not.toContain('test-token-not-real');
    expect(run.stderr).not.toMatch(/load:files/);
    expect(existsSync(s.db)).toBe(false); // refused before the database was even opened
    const schedule = await cli(['--config', s.config, 'schedule'], env);
    expect(schedule.code).toBe(2);
    expect(schedule.stderr).toMatch(/configuration: .*META_AD_ACCOUNT_ID/);

    const unknown = await cli(['--config', s.config, 'run', '--sources', 'ga4_export']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(
      "--sources: no source named 'ga4_export' is configured (configured: files)",
    );
  });
});

describe('retarget schedule', () => {
  it('fires on a fast cron, never overlaps, logs one line per start and end, and stops at a safe point on SIGTERM', async () => {
    s = sandbox({ schedule: { cron: '* * * * * *' } }); // every second
    await writeStore(s.store, { customers: 10 });
    // Each run lasts over 1.5 s, so ticks keep arriving while one is active.
    const proc = startCli(['--config', s.config, 'schedule'], {
      RETARGET_TEST_DELAY_AT: 'step:segments:evaluate=1500',
    });
    await proc.waitFor(/ready main cron="\* \* \* \* \* \*" timezone=UTC next=/);
    await proc.waitFor(/(end {3}main.*\n[\s\S]*){2}start main/, 30_000);
    proc.child.kill('SIGTERM');
    const done = await proc.done;
    expect(done.code, done.stderr).toBe(0);

    const lines = done.stdout.trim().split('\n');
    const events = lines
      .map((l) => /^\S+ (start|end|skip) +main/.exec(l)?.[1])
      .filter((e): e is string => e !== undefined);
    const runs = events.filter((e) => e !== 'skip');
    // Strict alternation: a run never starts before the previous one ended.
    expect(runs.join(' ')).toMatch(/^(start end )+start end$/);
    expect(runs.length).toBe(6);
    expect(events).toContain('skip');
    expect(lines.filter((l) => / end {3}main/.test(l)).slice(0, 2)).toEqual([
      expect.stringMatching(
        /status=succeeded took=\d+\.\ds loaded=\d+ rejected=0 audiences=1 adds=10 removes=0/,
      ),
      expect.stringMatching(/status=succeeded .* adds=0 removes=0/),
    ]);
    expect(done.stdout).toMatch(/SIGTERM received\n.*stopping: waiting for run r\S+ to reach a safe point\n/);
    expect(lines.at(-2)).toMatch(
      /end {3}main run=r\S+ status=cancelled .*stopped on request at a safe point/,
    );
    expect(lines.at(-1)).toMatch(/stopped$/);

    await withDb(s.db, async (wh) => {
      const rows = await wh.all<{ status: string; trigger: string; started_at: Date; finished_at: Date }>(
        'SELECT status, trigger, started_at, finished_at FROM pipeline_runs ORDER BY started_at',
      );
      expect(rows.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'cancelled']);
      expect(new Set(rows.map((r) => r.trigger))).toEqual(new Set(['schedule:main']));
      for (let i = 1; i < rows.length; i++) {
        expect(rows[i]!.started_at.getTime()).toBeGreaterThanOrEqual(rows[i - 1]!.finished_at.getTime());
      }
    });
  });

  it('computes the next run in the configured time zone and exits at once on SIGINT when idle', async () => {
    s = sandbox({ schedule: { cron: '0 3 * * *', timezone: 'Europe/Paris' } });
    const proc = startCli(['--config', s.config, 'schedule']);
    await proc.waitFor(/ready main/);
    proc.child.kill('SIGINT');
    const done = await proc.done;
    expect(done.code).toBe(0);
    // 03:00 in Paris is 02:00 UTC in winter, 01:00 UTC in summer.
    expect(done.stdout).toMatch(/next=\d{4}-\d{2}-\d{2}T0[12]:00:00\.000Z/);
    expect(done.stdout).toMatch(/SIGINT received\n\S+ stopped\n$/);
  });
});
