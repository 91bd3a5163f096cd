import { sqlIdent } from '../warehouse/values.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';
import { EVALUATED } from './evaluate.ts';

export interface MembershipChange {
  audience: string;
  segment: string;
  members: number;
  entered: number;
  exited: number;
}

/**
 * Makes audience_members equal to this run's evaluation, keeping the history: customers who entered get a new
 * history row, customers who left get theirs closed, all at T (the run's as-of time). Audiences of segments that
 * were not evaluated (removed or disabled) empty out. One transaction: an analyst never sees half a run.
 */
export async function storeMembership(wh: Warehouse, runId: string, asOf: Date): Promise<MembershipChange[]> {
  const ev = sqlIdent(EVALUATED);
  return wh.transaction(async () => {
    await wh.run(
      `CREATE OR REPLACE TEMP TABLE membership_exits AS
       SELECT m.audience, m.segment, m.customer_id FROM audience_members m
       WHERE NOT EXISTS (SELECT 1 FROM ${ev} e WHERE e.audience = m.audience AND e.customer_id = m.customer_id)`,
    );
    await wh.run(
      `CREATE OR REPLACE TEMP TABLE membership_entries AS
       SELECT e.audience, e.segment, e.customer_id, e.attributes FROM ${ev} e
       WHERE NOT EXISTS (SELECT 1 FROM audience_members m WHERE m.audience = e.audience AND m.customer_id = e.customer_id)`,
    );
    await wh.run(
      `UPDATE audience_membership_history h SET exited_at = $1, exited_run_id = $2
       FROM membership_exits x
       WHERE h.exited_at IS NULL AND h.audience = x.audience AND h.customer_id = x.customer_id`,
      [asOf, runId],
    );
    await wh.run(
      `DELETE FROM audience_members m USING membership_exits x
       WHERE m.audience = x.audience AND m.customer_id = x.customer_id`,
    );
    await wh.run(
      `UPDATE audience_members m SET attributes = e.attributes FROM ${ev} e
       WHERE m.audience = e.audience AND m.customer_id = e.customer_id
         AND CAST(m.attributes AS VARCHAR) IS DISTINCT FROM CAST(e.attributes AS VARCHAR)`,
    );
    await wh.run(
      `INSERT INTO audience_members (audience, segment, customer_id, entered_at, attributes)
       SELECT audience, segment, customer_id, $1, attributes FROM membership_entries`,
      [asOf],
    );
    await wh.run(
      `INSERT INTO audience_membership_history (audience, customer_id, entered_at, exited_at, entered_run_id, exited_run_id)
       SELECT audience, customer_id, $1, NULL, $2, NULL FROM membership_entries`,
      [asOf, runId],
    );
    await wh.run(
      `CREATE OR REPLACE TEMP TABLE membership_changes AS
       WITH sizes AS (SELECT audience, any_value(segment) AS segment, count(*) AS members FROM ${ev} GROUP BY audience),
       ins AS (SELECT audience, count(*) AS n FROM membership_entries GROUP BY audience),
       outs AS (SELECT audience, any_value(segment) AS segment, count(*) AS n FROM membership_exits GROUP BY audience),
       names AS (SELECT audience FROM sizes UNION SELECT audience FROM outs)
       SELECT names.audience, COALESCE(sizes.segment, outs.segment) AS segment,
              COALESCE(sizes.members, 0) AS members, COALESCE(ins.n, 0) AS entered, COALESCE(outs.n, 0) AS exited
       FROM names LEFT JOIN sizes USING (audience) LEFT JOIN ins USING (audience) LEFT JOIN outs USING (audience)`,
    );
    await wh.run(
      `INSERT INTO audience_snapshots (run_id, as_of, audience, segment, members, entered, exited)
       SELECT $1, $2, audience, segment, members, entered, exited FROM membership_changes`,
      [runId, asOf],
    );
    const changes = await wh.all<{
      audience: string;
      segment: string;
      members: bigint;
      entered: bigint;
      exited: bigint;
    }>('SELECT * FROM membership_changes ORDER BY audience');
    await wh.run('DROP TABLE membership_changes');
    await wh.run('DROP TABLE membership_exits');
    await wh.run('DROP TABLE membership_entries');
    return changes.map((c) => ({
      audience: c.audience,
      segment: c.segment,
      members: Number(c.members),
      entered: Number(c.entered),
      exited: Number(c.exited),
    }));
  });
}
