import type { Warehouse } from '../warehouse/warehouse.ts';
import { buildPlan, type Plan } from './plan.ts';

/**
 * The shrink guard protects against data accidents (a truncated feed, a broken segment), never against people
 * leaving: a removal that privacy requires (consent withdrawn, customer erased or gone) is never held.
 */

/**
 * SQL true when a remove of `customerId` is a privacy removal: no current consent for that customer (withdrawn,
 * erased, gone). Pass a qualified column: inside the subquery a bare `customer_id` would mean the customers one.
 */
export const privacyRemovalSql = (customerId: string) =>
  `NOT EXISTS (SELECT 1 FROM customers pc WHERE pc.customer_id = ${customerId} AND pc.ads_consent)`;

export interface ShrinkInput {
  /** Members the destination held after its last sync. */
  lastSize: number;
  /** Members it would hold after this plan. */
  size: number;
  /** Planned removes that privacy requires: they never count as shrink. */
  privacyRemoves: number;
  /** Largest allowed drop, as a share of lastSize (0.5: at most half may leave). */
  maxShrink: number;
}

/**
 * Why the plan must be held, or undefined. The shrink is measured on the other removals only: the audience is
 * compared as if every privacy removal had already happened before the last sync.
 */
export function shrinkHold(input: ShrinkInput): string | undefined {
  const base = input.lastSize - input.privacyRemoves;
  if (input.lastSize <= 0 || base <= 0) return undefined;
  if (input.size > 0 && input.size >= (1 - input.maxShrink) * base) return undefined;
  const privacy = input.privacyRemoves > 0 ? ` after ${input.privacyRemoves} privacy removal(s)` : '';
  return (
    `held: would shrink from ${base} to ${input.size} members${privacy} (more than maxShrink ${input.maxShrink}); ` +
    'rerun with --force to sync it'
  );
}

/**
 * Privacy removals an audience is due at a destination: confirmed members without current consent. A diff plan
 * removes every one of them (they can never be desired), so this is also its count of privacy removes.
 */
export async function countPrivacyRemoves(
  wh: Warehouse,
  destination: string,
  audience: string,
): Promise<number> {
  return wh.scalar(
    `SELECT count(*) FROM destination_members dm
     WHERE dm.destination = $1 AND dm.audience = $2 AND ${privacyRemovalSql('dm.customer_id')}`,
    [destination, audience],
  );
}

/** Privacy removals due per audience at a destination, in one query (for destinations planning every audience). */
export async function privacyRemovesByAudience(
  wh: Warehouse,
  destination: string,
): Promise<Map<string, number>> {
  const rows = await wh.all<{ audience: string; n: bigint }>(
    `SELECT dm.audience, count(*) AS n FROM destination_members dm
     WHERE dm.destination = $1 AND ${privacyRemovalSql('dm.customer_id')} GROUP BY dm.audience`,
    [destination],
  );
  return new Map(rows.map((r) => [r.audience, Number(r.n)]));
}

/**
 * The plan to apply when an audience is held: only its privacy removals (what the destination confirmed, minus
 * the people who must leave it). Same shape as any plan, so destinations send and confirm it the usual way.
 */
export async function privacyOnlyPlan(wh: Warehouse, plan: Plan): Promise<Plan> {
  return buildPlan(wh, {
    destination: plan.destination,
    audience: plan.audience,
    desiredSql: `SELECT dm.customer_id, dm.fingerprint, dm.payload FROM destination_members dm
                 WHERE dm.destination = $1 AND dm.audience = $2 AND NOT (${privacyRemovalSql('dm.customer_id')})`,
    desiredParams: [plan.destination, plan.audience],
  });
}
