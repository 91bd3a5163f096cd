import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockPathFor } from '../pipelines/ops/lock.ts';
import { cli, type Sandbox, sandbox, startCli, withDb, writeStore } from './ops-helpers.ts';

describe('two runs at once', () => {
  let s: Sandbox;
  beforeAll(async () => {
    s = sandbox();
    await writeStore(s.store, { customers: 30, events: 200 });
  });
  afterAll(() => s.cleanup());

  it('refuses the second run with exit 75, lets `runs` say why it cannot read, and recovers after a SIGKILL', async () => {
    // Owner-only files even under a permissive umask.
    const first = startCli(['--config', s.config, 'run'], {
      RETARGET_TEST_HOLD_AT: 'step:segments:evaluate',
    });
    await first.waitFor(/holding at step:segments:evaluate/);
    const pid = first.child.pid!;

    const second = await cli(['--config', s.config, 'run']);
    expect(second.code).toBe(75);
    expect(second.stderr).toMatch(
      new RegExp(`busy: retarget run \\(cli\\) \\(pid ${pid} on .+, since \\d{4}-`),
    );

    const runs = await cli(['--config', s.config, 'runs']);
    expect(runs.code).toBe(75);
    expect(runs.stderr).toMatch(new RegExp(`a run is in progress: retarget run \\(cli\\) \\(pid ${pid}`));
    expect(runs.stderr).toMatch(/try again later/);

    // `segments` still lists the definitions, and says why it shows no sizes.
    const segments = await cli(['--config', s.config, 'segments']);
    expect(segments.code).toBe(0);
    expect(segments.stdout).toMatch(/^buyers /m);
    expect(segments.stderr).toMatch(new RegExp(`sizes unavailable: .*busy.*pid ${pid}`));

    // While the run is active: the database, its WAL and the lock are owner-only.
    for (const f of readdirSync(join(s.dir, 'db'))) {
      expect({ f, mode: statSync(join(s.dir, 'db', f)).mode & 0o077 }).toEqual({ f, mode: 0 });
    }
    expect(readdirSync(join(s.dir, 'db'))).toContain('retarget.duckdb.wal');

    first.child.kill('SIGKILL');
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(lockPathFor(s.db))).toBe(true); // stale: nobody cleaned it up

    const third = await cli(['--config', s.config, 'run', '--json']);
    expect(third.code, third.stderr).toBe(0);
    const summary = JSON.parse(third.stdout);
    expect(summary.status).toBe('succeeded');
    expect(summary.abandoned).toHaveLength(1);
    expect(existsSync(lockPathFor(s.db))).toBe(false);

    await withDb(s.db, async (wh) => {
      const runs = await wh.all<{ run_id: string; status: string; error: string | null }>(
        'SELECT run_id, status, error FROM pipeline_runs ORDER BY started_at',
      );
      expect(runs.map((r) => r.status)).toEqual(['abandoned', 'succeeded']);
      expect(runs[0]!.run_id).toBe(summary.abandoned[0]);
      expect(runs[0]!.error).toMatch(/killed or crashed.*found by run/);
      const steps = await wh.all<{ step: string; status: string }>(
        'SELECT step, status FROM pipeline_steps WHERE run_id = $1 ORDER BY started_at',
        [runs[0]!.run_id],
      );
      expect(steps.map((x) => x.status)).not.toContain('running');
      // The killed run's load committed; the rerun skipped the files and still holds every row once.
      expect(await wh.scalar('SELECT count(*) FROM customers')).toBe(30);
      expect(await wh.scalar('SELECT count(*) FROM events')).toBe(200);
      expect(await wh.scalar('SELECT count(*) FROM audience_members')).toBe(30);
    });

    const list = await cli(['--config', s.config, 'runs']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/abandoned/);
    const detail = await cli(['--config', s.config, 'runs', summary.runId]);
    expect(detail.stdout).toMatch(/sync:csv\s+succeeded/);
    expect(detail.stdout).toMatch(/csv\s+buyers\s+synced\s+30/);

    // Something else (a duckdb shell, a notebook: here this test process) has the file open: a run says so.
    await withDb(s.db, async () => {
      const blocked = await cli(['--config', s.config, 'run']);
      expect(blocked.code).toBe(75);
      expect(blocked.stderr).toMatch(
        new RegExp(
          `retarget\\.duckdb is open in another process \\(pid ${process.pid}\\), e\\.g\\. a duckdb shell`,
        ),
      );
    });
    expect(existsSync(lockPathFor(s.db))).toBe(false); // the refused run left no lock behind

    // Database file and exports stay owner-only after the run.
    expect(statSync(s.db).mode & 0o777).toBe(0o600);
    for (const f of readdirSync(s.audiences)) expect(statSync(join(s.audiences, f)).mode & 0o777).toBe(0o600);
  });
});
