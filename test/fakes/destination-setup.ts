/** Pieces the per-destination test setups (meta-graph-setup, data-manager-setup) share. */
import type { Destination, DestinationReport, SyncContext } from '../../plans/types.ts';
import type { Warehouse } from '../../warehouse/warehouse.ts';

let runCounter = 0;

/** Syncs as a run would (a fresh run id, now, no dry run, force or full refresh) unless the test overrides it. */
export function syncRunner(dest: Destination, wh: Warehouse, logs: string[]) {
  return (over: Partial<SyncContext> = {}): Promise<DestinationReport> =>
    dest.sync({
      wh,
      runId: `run-${++runCounter}`,
      asOf: new Date(),
      dryRun: false,
      force: false,
      fullRefresh: false,
      log: (m) => logs.push(m),
      ...over,
    });
}

/** Replaces an audience's members with the customers matched by `where` (SQL over customers c). */
export async function setMembers(wh: Warehouse, audience: string, where: string, params: unknown[] = []) {
  await wh.run('DELETE FROM audience_members WHERE audience = $1', [audience]);
  await wh.run(
    `INSERT INTO audience_members (audience, segment, customer_id, entered_at)
     SELECT $1, 'test_segment', customer_id, TIMESTAMP '2026-01-01' FROM customers c WHERE ${where}`,
    [audience, ...params],
  );
}
