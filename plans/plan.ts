import { sqlIdent } from '../warehouse/values.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';

/**
 * A plan is the minimal diff between what an audience should hold at a destination and what that destination
 * last confirmed (destination_members). It is materialised as a temp table so destinations can read it in
 * batches and confirm batch by batch.
 *
 * Plan table columns: action ('add' | 'remove'), customer_id, fingerprint, payload. A member whose row changed
 * (e.g. new email) appears twice: a remove of the old row and an add of the new one.
 */
export interface PlanInput {
  destination: string;
  audience: string;
  /** SQL yielding the desired rows: (customer_id VARCHAR, fingerprint VARCHAR, payload VARCHAR). */
  desiredSql: string;
  desiredParams?: readonly unknown[];
  /** Plan a full replace: every desired row is an add, nothing is removed (for replace-style APIs). */
  fullRefresh?: boolean;
  /**
   * A full refresh without a replace call: every confirmed row is a remove and every desired row an add, so the
   * destination ends up holding exactly the desired rows even if its copy drifted from what it confirmed.
   */
  resendAll?: boolean;
  /**
   * Finish an interrupted replace in its own session: diff against the rows that session already sent
   * (destination_replace_rows, connectors/destinations/sync-state.ts) instead of the confirmed ones.
   */
  resumeReplace?: boolean;
}

export interface Plan {
  destination: string;
  audience: string;
  /** Temp table holding the plan rows. */
  table: string;
  adds: number;
  removes: number;
  /** Rows the destination will hold after the plan is applied. */
  size: number;
  /** Rows the destination holds now (last confirmed). */
  previousSize: number;
}

let planCounter = 0;

export async function buildPlan(wh: Warehouse, input: PlanInput): Promise<Plan> {
  const table = `plan_${process.pid}_${++planCounter}`;
  const params = [...(input.desiredParams ?? [])];
  const n = params.length;
  const dest = `$${n + 1}`;
  const aud = `$${n + 2}`;
  // What the diff is against: the confirmed rows, or those an interrupted replace session already sent.
  const against = input.resumeReplace ? 'destination_replace_rows' : 'destination_members';
  // seq numbers each action's rows in customer_id order, so batches are read and confirmed by a range filter
  // (cheap on the sorted table) instead of a sort per batch with LIMIT/OFFSET.
  await wh.run(
    `CREATE OR REPLACE TEMP TABLE ${sqlIdent(table)} AS
     SELECT *, row_number() OVER (PARTITION BY action ORDER BY customer_id) AS seq FROM (
     WITH desired AS (${input.desiredSql}),
     confirmed AS (
       SELECT customer_id, fingerprint, payload FROM ${against}
       WHERE destination = ${dest} AND audience = ${aud}
     )
     SELECT 'add' AS action, d.customer_id, d.fingerprint, d.payload
     FROM desired d
     ${input.fullRefresh || input.resendAll ? '' : 'WHERE NOT EXISTS (SELECT 1 FROM confirmed c WHERE c.customer_id = d.customer_id AND c.fingerprint = d.fingerprint)'}
     UNION ALL
     SELECT 'remove' AS action, c.customer_id, c.fingerprint, c.payload
     FROM confirmed c
     WHERE ${input.fullRefresh ? 'false' : input.resendAll ? 'true' : 'NOT EXISTS (SELECT 1 FROM desired d WHERE d.customer_id = c.customer_id AND d.fingerprint = c.fingerprint)'}
     ) ORDER BY action, customer_id`,
    [...params, input.destination, input.audience],
  );
  const counts = await wh.one<{ adds: bigint; removes: bigint; previous: bigint; sent: bigint | null }>(
    `SELECT count(*) FILTER (WHERE action = 'add') AS adds,
            count(*) FILTER (WHERE action = 'remove') AS removes,
            (SELECT count(*) FROM destination_members WHERE destination = $1 AND audience = $2) AS previous,
            ${input.resumeReplace ? `(SELECT count(*) FROM ${against} WHERE destination = $1 AND audience = $2)` : 'NULL'} AS sent
     FROM ${sqlIdent(table)}`,
    [input.destination, input.audience],
  );
  const adds = Number(counts?.adds ?? 0);
  const removes = Number(counts?.removes ?? 0);
  const previousSize = Number(counts?.previous ?? 0);
  // A resumed session ends holding what it sent plus its adds, less its removes.
  const base = input.resumeReplace ? Number(counts?.sent ?? 0) : previousSize;
  const size = input.fullRefresh ? adds : base + adds - removes;
  return {
    destination: input.destination,
    audience: input.audience,
    table,
    adds,
    removes,
    size,
    previousSize,
  };
}

/** Reads plan rows of one action in stable order, `limit` at a time from `offset`. */
export async function readPlanRows(
  wh: Warehouse,
  plan: Plan,
  action: 'add' | 'remove',
  offset: number,
  limit: number,
): Promise<Array<{ customer_id: string; fingerprint: string; payload: string | null }>> {
  return wh.all(
    `SELECT customer_id, fingerprint, payload FROM ${sqlIdent(plan.table)}
     WHERE action = $1 AND seq > $2 AND seq <= $2 + $3 ORDER BY seq`,
    [action, offset, limit],
  );
}

/** SQL for plan rows [offset, offset+limit) of one action (customer_id, fingerprint, payload). */
export function planRowsSql(plan: Plan, action: 'add' | 'remove', offset: number, limit: number): string {
  return `SELECT customer_id, fingerprint, payload FROM ${sqlIdent(plan.table)}
          WHERE action = '${action}' AND seq > ${Math.trunc(offset)} AND seq <= ${Math.trunc(offset) + Math.trunc(limit)}`;
}

/**
 * Records that the destination acknowledged plan rows [offset, offset+limit) of one action. Call it in the same
 * transaction as any other per-batch state, right after the destination confirms the batch.
 */
export async function confirmPlanRows(
  wh: Warehouse,
  plan: Plan,
  action: 'add' | 'remove',
  offset: number,
  limit: number,
): Promise<void> {
  const batch = planRowsSql(plan, action, offset, limit);
  if (action === 'remove') {
    await wh.run(
      `DELETE FROM destination_members m USING (${batch}) b
       WHERE m.destination = $1 AND m.audience = $2 AND m.customer_id = b.customer_id AND m.fingerprint = b.fingerprint`,
      [plan.destination, plan.audience],
    );
  } else {
    // An add replaces whatever row the member's key holds (a changed fingerprint): one row per key.
    await wh.run(
      `DELETE FROM destination_members m USING (${batch}) b
       WHERE m.destination = $1 AND m.audience = $2 AND m.customer_id = b.customer_id`,
      [plan.destination, plan.audience],
    );
    await wh.run(
      `INSERT INTO destination_members (destination, audience, customer_id, fingerprint, payload, synced_at)
       SELECT $1, $2, customer_id, fingerprint, payload, now()::TIMESTAMP FROM (${batch})`,
      [plan.destination, plan.audience],
    );
  }
}

export async function dropPlan(wh: Warehouse, plan: Plan): Promise<void> {
  await wh.run(`DROP TABLE IF EXISTS ${sqlIdent(plan.table)}`);
}
