import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, type Sandbox, sandbox, startCli, withDb, writeStore } from './ops-helpers.ts';

/**
 * A run killed (SIGKILL) once its audiences are stored but before the CSV destination synced: the next run marks
 * it abandoned and syncs exactly the plan against what the destination last confirmed. (The CSV destination
 * applies an audience atomically; the per-batch kill against the Meta fake belongs with the Meta destination.)
 */

let s: Sandbox | undefined;
afterEach(() => s?.cleanup());

async function state(db: string) {
  return withDb(db, async (wh) => ({
    members: await wh.scalar('SELECT count(*) FROM audience_members'),
    exported: await wh.scalar("SELECT count(*) FROM destination_members WHERE destination = 'csv'"),
    statuses: (await wh.all<{ status: string }>('SELECT status FROM pipeline_runs ORDER BY started_at')).map(
      (r) => r.status,
    ),
  }));
}

describe('a run killed in the middle of syncing', () => {
  it('is completed by the next run: the export holds every member once, nothing is planned twice', async () => {
    s = sandbox();
    await writeStore(s.store, { customers: 40 });
    const killed = startCli(['--config', s.config, 'run'], { RETARGET_TEST_HOLD_AT: 'step:sync:csv' });
    await killed.waitFor(/holding at step:sync:csv/);
    killed.child.kill('SIGKILL');
    await killed.done;
    expect(await state(s.db)).toMatchObject({ members: 40, exported: 0, statuses: ['running'] });

    const rerun = await cli(['--config', s.config, 'run', '--json']);
    expect(rerun.code).toBe(0);
    const summary = JSON.parse(rerun.stdout);
    expect(summary.destinations[0].audiences[0]).toMatchObject({ audience: 'buyers', adds: 40, removes: 0 });
    expect(await state(s.db)).toMatchObject({
      members: 40,
      exported: 40,
      statuses: ['abandoned', 'succeeded'],
    });

    const again = await cli(['--config', s.config, 'run', '--json']);
    const third = JSON.parse(again.stdout);
    expect(third.destinations[0].audiences[0]).toMatchObject({ status: 'unchanged', adds: 0, removes: 0 });
  });
});

describe('retarget run and SIGINT', () => {
  it('stops at the next safe point, records the run as cancelled, frees the lock and exits 130', async () => {
    s = sandbox();
    await writeStore(s.store, { customers: 5 });
    const run = startCli(['--config', s.config, 'run'], {
      RETARGET_TEST_DELAY_AT: 'step:segments:evaluate=20000',
    });
    await run.waitFor(/✓ segments:load/);
    run.child.kill('SIGINT');
    const done = await run.done;
    expect(done.code).toBe(130);
    expect(done.stderr).toMatch(/SIGINT: stopping at the next safe point/);
    expect(done.stdout).toMatch(/CANCELLED/);
    expect(existsSync(`${s.db}.lock`)).toBe(false);
    expect(await state(s.db)).toMatchObject({ members: 0, statuses: ['cancelled'] });
  });
});
