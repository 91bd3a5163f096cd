import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../config/config.ts';
import { ScheduleError, scheduledJobs } from '../pipelines/ops/schedule.ts';
import { runPipeline } from '../pipelines/run.ts';
import { type Sandbox, sandbox, startCli, withDb, writeStore } from './ops-helpers.ts';

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
