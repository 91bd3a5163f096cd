import { afterEach, describe, expect, it } from 'vitest';
import { cli, type Sandbox, sandbox, startCli, withDb, writeStore } from './ops-helpers.ts';

/**
 * A run killed with SIGKILL (no chance to clean up) is followed by a run that completes with every row exactly
 * once: loads commit per table together with their loaded_files bookkeeping, so a killed load is redone whole.
 */

let s: Sandbox | undefined;
afterEach(() => s?.cleanup());

async function counts(db: string) {
  return withDb(db, async (wh) => ({
    customers: await wh.scalar('SELECT count(*) FROM customers'),
    orders: await wh.scalar('SELECT count(*) FROM orders'),
    items: await wh.scalar('SELECT count(*) FROM order_items'),
    events: await wh.scalar('SELECT count(*) FROM events'),
    distinctEvents: await wh.scalar('SELECT count(DISTINCT event_id) FROM events'),
    loadedFiles: await wh.scalar('SELECT count(*) FROM loaded_files'),
    members: await wh.scalar('SELECT count(*) FROM audience_members'),
    exported: await wh.scalar("SELECT count(*) FROM destination_members WHERE destination = 'csv'"),
    statuses: (await wh.all<{ status: string }>('SELECT status FROM pipeline_runs ORDER BY started_at')).map(
      (r) => r.status,
    ),
  }));
}

describe('a run killed in the middle of loading', () => {
  it('between tables: the next run marks it abandoned and loads the rest, nothing twice', async () => {
    s = sandbox();
    await writeStore(s.store, { customers: 50, events: 500 });
    const killed = startCli(['--config', s.config, 'run'], { RETARGET_TEST_HOLD_AT: 'load:orders' });
    await killed.waitFor(/holding at load:orders/);
    killed.child.kill('SIGKILL');
    await killed.done;

    const partial = await counts(s.db);
    expect(partial).toMatchObject({ customers: 50, orders: 0, events: 0, loadedFiles: 2 }); // customers, products

    const rerun = await cli(['--config', s.config, 'run', '--json']);
    expect(rerun.code).toBe(0);
    const summary = JSON.parse(rerun.stdout);
    const skipped = Object.fromEntries(
      summary.loads.map((l: { table: string; filesSkipped: number }) => [l.table, l.filesSkipped]),
    );
    expect(skipped).toMatchObject({ customers: 1, products: 1, orders: 0, events: 0 });
    expect(await counts(s.db)).toEqual({
      customers: 50,
      orders: 50,
      items: 50,
      events: 500,
      distinctEvents: 500,
      loadedFiles: 5,
      members: 50,
      exported: 50,
      statuses: ['abandoned', 'succeeded'],
    });
  });

  it('inside a big table load: the uncommitted rows vanish, the rerun loads each event exactly once', async () => {
    s = sandbox();
    const events = 300_000;
    await writeStore(s.store, { customers: 100, events });
    // Held after the events are merged, just before their transaction commits: the worst moment to die.
    const killed = startCli(['--config', s.config, 'run'], { RETARGET_TEST_HOLD_AT: 'commit:events' });
    await killed.waitFor(/holding at commit:events/);
    killed.child.kill('SIGKILL');
    await killed.done;

    const partial = await counts(s.db);
    expect(partial).toMatchObject({ customers: 100, orders: 100, events: 0, loadedFiles: 4 });

    const rerun = await cli(['--config', s.config, 'run']);
    expect(rerun.code).toBe(0);
    expect(await counts(s.db)).toEqual({
      customers: 100,
      orders: 100,
      items: 100,
      events,
      distinctEvents: events,
      loadedFiles: 5,
      members: 100,
      exported: 100,
      statuses: ['abandoned', 'succeeded'],
    });
  });
});
