import { sqlIdent, sqlList } from '../warehouse/values.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';

/**
 * Plans every audience of a destination in one pass, for destinations that apply an audience whole (files):
 * one diff over all audiences instead of a plan per audience, so two hundred category audiences cost one query.
 * Same rules as buildPlan: a diff of (customer_id, fingerprint) against destination_members.
 */
export interface AllAudiencesPlanInput {
  destination: string;
  /** SQL yielding the desired rows of every audience: (audience, customer_id, fingerprint, payload). */
  desiredSql: string;
  /** Only these audiences (default: every desired or confirmed one). */
  audiences?: string[];
}

export interface AudiencePlanSummary {
  audience: string;
  adds: number;
  removes: number;
  size: number;
  previousSize: number;
}

export interface AllAudiencesPlan {
  destination: string;
  /** Temp table of plan rows: (audience, action, customer_id, fingerprint, payload). */
  table: string;
  audiences: AudiencePlanSummary[];
}

let counter = 0;

export async function buildAllAudiencesPlan(
  wh: Warehouse,
  input: AllAudiencesPlanInput,
): Promise<AllAudiencesPlan> {
  const table = `plan_all_${process.pid}_${++counter}`;
  const only = input.audiences ? `AND audience IN (SELECT unnest(${sqlList(input.audiences)}))` : '';
  const params: unknown[] = [input.destination];
  // One full join: a row without a partner on the other side is an add (desired only) or a remove (confirmed
  // only). Two anti-joins built a hash table of every member twice and computed the desired rows twice.
  await wh.run(
    `CREATE OR REPLACE TEMP TABLE ${sqlIdent(table)} AS
     WITH desired AS (SELECT *, true AS _desired FROM (${input.desiredSql}) WHERE true ${only}),
     confirmed AS (
       SELECT audience, customer_id, fingerprint, payload, true AS _confirmed
       FROM destination_members WHERE destination = $1 ${only}
     )
     SELECT CASE WHEN c._confirmed THEN c.audience ELSE d.audience END AS audience,
            CASE WHEN c._confirmed THEN 'remove' ELSE 'add' END AS action,
            CASE WHEN c._confirmed THEN c.customer_id ELSE d.customer_id END AS customer_id,
            CASE WHEN c._confirmed THEN c.fingerprint ELSE d.fingerprint END AS fingerprint,
            CASE WHEN c._confirmed THEN c.payload ELSE d.payload END AS payload
     FROM desired d FULL JOIN confirmed c
       ON c.audience = d.audience AND c.customer_id = d.customer_id AND c.fingerprint = d.fingerprint
     WHERE d._desired IS NULL OR c._confirmed IS NULL`,
    params,
  );
  return {
    destination: input.destination,
    table,
    audiences: await audienceSummaries(wh, table, params, only),
  };
}

/**
 * Each audience's adds, removes and sizes. The plan is a diff of two sets, so the desired size is the confirmed
 * one plus adds minus removes: the desired rows (a join of every member with its customer) are not counted again.
 */
async function audienceSummaries(
  wh: Warehouse,
  table: string,
  params: unknown[],
  only: string,
): Promise<AudiencePlanSummary[]> {
  const rows = await wh.all<{ audience: string; adds: bigint; removes: bigint; previous: bigint }>(
    `WITH confirmed AS (
       SELECT audience, count(*) AS n FROM destination_members WHERE destination = $1 ${only} GROUP BY audience
     ),
     changes AS (
       SELECT audience, count(*) FILTER (WHERE action = 'add') AS adds, count(*) FILTER (WHERE action = 'remove') AS removes
       FROM ${sqlIdent(table)} GROUP BY audience
     )
     SELECT audience, COALESCE(changes.adds, 0) AS adds, COALESCE(changes.removes, 0) AS removes,
            COALESCE(confirmed.n, 0) AS previous
     FROM confirmed FULL JOIN changes USING (audience)
     ORDER BY audience`,
    params,
  );
  return rows.map((r) => ({
    audience: r.audience,
    adds: Number(r.adds),
    removes: Number(r.removes),
    size: Number(r.previous + r.adds - r.removes),
    previousSize: Number(r.previous),
  }));
}

/**
 * Records that the destination now holds the planned rows of these audiences: the removes' stored rows are deleted
 * (a leaver, or a member whose fingerprint changed), then the adds are inserted, so a key holds one row. A key's
 * stored row always is a remove of the plan (its fingerprint either matches the desired one, and the key is not
 * planned, or not, and the stored row is planned out), so an add never needs a delete of its own: a first sync
 * deletes nothing instead of probing every add.
 */
export async function confirmAudiences(
  wh: Warehouse,
  plan: AllAudiencesPlan,
  audiences: string[],
): Promise<void> {
  if (audiences.length === 0) return;
  const t = sqlIdent(plan.table);
  const only = `audience IN (SELECT unnest(${sqlList(audiences)}))`;
  await wh.run(
    `DELETE FROM destination_members m USING (SELECT audience, customer_id FROM ${t} WHERE action = 'remove' AND ${only}) p
     WHERE m.destination = $1 AND m.audience = p.audience AND m.customer_id = p.customer_id`,
    [plan.destination],
  );
  await wh.run(
    `INSERT INTO destination_members (destination, audience, customer_id, fingerprint, payload, synced_at)
     SELECT $1, audience, customer_id, fingerprint, payload, now()::TIMESTAMP FROM ${t}
     WHERE action = 'add' AND ${only}`,
    [plan.destination],
  );
}

export async function dropAllAudiencesPlan(wh: Warehouse, plan: AllAudiencesPlan): Promise<void> {
  await wh.run(`DROP TABLE IF EXISTS ${sqlIdent(plan.table)}`);
}
