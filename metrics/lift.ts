import type { Warehouse } from '../warehouse/warehouse.ts';

/**
 * Holdout lift per audience (`retarget lift`, the report): did members who could be reached buy more than the
 * held-out members, who were never sent anywhere? Definitions: docs/metrics.md, "Holdouts and lift".
 */

/** One audience: field names are the JSON contract of `retarget lift --json` (rates and lift as fractions). */
export interface AudienceLift {
  audience: string;
  /** Share of the audience's current members held out (null when it has none). */
  holdout_share: number | null;
  exposed_members: number;
  exposed_purchasers: number;
  exposed_rate: number | null;
  holdout_members: number;
  holdout_purchasers: number;
  holdout_rate: number | null;
  /** exposed_rate − holdout_rate. */
  lift: number | null;
  ci_low: number | null;
  ci_high: number | null;
  /** Revenue per exposed member − revenue per held-out member, within the window. */
  incremental_revenue_per_exposed: number | null;
  /** Whether both sides are large enough for the interval to mean something (else every figure is null). */
  sufficient: boolean;
  message: string | null;
}

export interface LiftReport {
  as_of: string;
  window_days: number;
  audiences: AudienceLift[];
}

export interface LiftOptions {
  /** One audience (default: every audience with a holdout). */
  audience?: string;
  /** Days after entering in which a purchase counts; members must have entered at least this long ago. */
  days?: number;
  /** Default: the latest run's T (metrics_as_of). */
  asOf?: Date;
}

export const DEFAULT_LIFT_DAYS = 14;
/** Below these, the normal approximation of the interval is not trustworthy (docs/metrics.md). */
export const MIN_SIDE_MEMBERS = 30;
export const MIN_SIDE_OUTCOMES = 5;
/** z for a two-sided 95% interval. */
const Z95 = 1.959964;

/** Aggregates of one side of one audience, as the SQL below counts them. */
export interface SideCounts {
  members: number;
  purchasers: number;
  revenue: number;
}

/**
 * The figures from both sides' counts: difference of two proportions with the unpooled (Wald) standard error,
 * sqrt(p1(1−p1)/n1 + p2(1−p2)/n2), interval = lift ± 1.96 × se. Pure, so the arithmetic is tested on its own.
 */
export function liftFigures(
  exposed: SideCounts,
  holdout: SideCounts,
  days: number,
): Omit<AudienceLift, 'audience' | 'holdout_share'> {
  const counts = {
    exposed_members: exposed.members,
    exposed_purchasers: exposed.purchasers,
    holdout_members: holdout.members,
    holdout_purchasers: holdout.purchasers,
  };
  const why = insufficiency(exposed, holdout, days);
  if (why)
    return {
      ...counts,
      exposed_rate: null,
      holdout_rate: null,
      lift: null,
      ci_low: null,
      ci_high: null,
      incremental_revenue_per_exposed: null,
      sufficient: false,
      message: why,
    };
  const p1 = exposed.purchasers / exposed.members;
  const p2 = holdout.purchasers / holdout.members;
  const se = Math.sqrt((p1 * (1 - p1)) / exposed.members + (p2 * (1 - p2)) / holdout.members);
  const lift = p1 - p2;
  return {
    ...counts,
    exposed_rate: round(p1, 6),
    holdout_rate: round(p2, 6),
    lift: round(lift, 6),
    ci_low: round(lift - Z95 * se, 6),
    ci_high: round(lift + Z95 * se, 6),
    incremental_revenue_per_exposed: round(
      exposed.revenue / exposed.members - holdout.revenue / holdout.members,
      2,
    ),
    sufficient: true,
    message: null,
  };
}

/** Why an interval would mean nothing: a side with too few members, purchasers or non-purchasers. */
function insufficiency(exposed: SideCounts, holdout: SideCounts, days: number): string | undefined {
  const problems: string[] = [];
  for (const [name, s] of [
    ['exposed', exposed],
    ['held-out', holdout],
  ] as const) {
    if (s.members < MIN_SIDE_MEMBERS) problems.push(`${s.members} ${name} member(s)`);
    else if (s.purchasers < MIN_SIDE_OUTCOMES) problems.push(`${s.purchasers} ${name} purchaser(s)`);
    else if (s.members - s.purchasers < MIN_SIDE_OUTCOMES)
      problems.push(`${s.members - s.purchasers} ${name} non-purchaser(s)`);
  }
  if (problems.length === 0) return undefined;
  return (
    `too few to measure: ${problems.join(', ')} who entered at least ${days} days ago ` +
    `(each side needs ${MIN_SIDE_MEMBERS} members, ${MIN_SIDE_OUTCOMES} purchasers and ${MIN_SIDE_OUTCOMES} non-purchasers)`
  );
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * Per audience and side, set-based: each (audience, customer) counts once, by their first stay that entered
 * since the audience's first held-out entry (so both sides entered over the same time) and at least `days`
 * before T; they purchased if a completed order of theirs falls in (entered, entered + days]. A stay a side change
 * started (the previous one ended at the same T) is not an entry: that person was already a member, and counting
 * them would compare long-time members on one side with newcomers on the other.
 */
const SIDES_SQL = `
WITH stays AS (
  SELECT audience, customer_id, entered_at, coalesce(side, 'exposed') AS side,
         coalesce(lag(exited_at) OVER (PARTITION BY audience, customer_id ORDER BY entered_at) = entered_at, false)
           AS side_change
  FROM audience_membership_history WHERE $3::VARCHAR IS NULL OR audience = $3
),
starts AS (SELECT audience, min(entered_at) AS since FROM stays WHERE side = 'holdout' GROUP BY audience),
units AS (
  SELECT s.audience, s.customer_id, arg_min(s.side, s.entered_at) AS side, min(s.entered_at) AS entered_at
  FROM stays s JOIN starts t ON t.audience = s.audience
  WHERE NOT s.side_change AND s.entered_at >= t.since AND s.entered_at <= $1::TIMESTAMP - to_days($2::INTEGER)
  GROUP BY s.audience, s.customer_id
),
bought AS (
  SELECT u.audience, u.customer_id, coalesce(sum(i.unit_price * i.quantity), 0) AS revenue
  FROM units u
  JOIN customer_orders o ON o.customer_id = u.customer_id
   AND o.ordered_at > u.entered_at AND o.ordered_at <= u.entered_at + to_days($2::INTEGER)
  LEFT JOIN order_items i ON i.order_id = o.order_id
  GROUP BY u.audience, u.customer_id
)
SELECT u.audience, u.side, count(*) AS members, count(b.customer_id) AS purchasers,
       coalesce(sum(b.revenue), 0)::DOUBLE AS revenue
FROM units u LEFT JOIN bought b ON b.audience = u.audience AND b.customer_id = u.customer_id
GROUP BY u.audience, u.side`;

/** Audiences with a held-out stay in their history (or the one asked for), with their current held-out share. */
const AUDIENCES_SQL = `
WITH h AS (
  SELECT audience, bool_or(coalesce(side, 'exposed') = 'holdout') AS has_holdout FROM audience_membership_history
  WHERE $1::VARCHAR IS NULL OR audience = $1 GROUP BY audience
),
m AS (
  SELECT audience, avg((side = 'holdout')::INTEGER)::DOUBLE AS share FROM audience_members
  WHERE $1::VARCHAR IS NULL OR audience = $1 GROUP BY audience
)
SELECT h.audience, h.has_holdout, m.share FROM h LEFT JOIN m ON m.audience = h.audience
WHERE h.has_holdout OR $1::VARCHAR IS NOT NULL ORDER BY h.audience`;

export async function audienceLift(wh: Warehouse, options: LiftOptions = {}): Promise<LiftReport> {
  const days = options.days ?? DEFAULT_LIFT_DAYS;
  const asOf =
    options.asOf ?? (await wh.one<{ as_of: Date }>('SELECT as_of FROM metrics_as_of'))?.as_of ?? new Date();
  const audience = options.audience ?? null;
  const names = await wh.all<{ audience: string; has_holdout: boolean; share: number | null }>(
    AUDIENCES_SQL,
    [audience],
  );
  const sides = await wh.all<{
    audience: string;
    side: string;
    members: bigint;
    purchasers: bigint;
    revenue: number;
  }>(SIDES_SQL, [asOf, days, audience]);
  const count = (a: string, side: string): SideCounts => {
    const r = sides.find((s) => s.audience === a && s.side === side);
    return {
      members: Number(r?.members ?? 0),
      purchasers: Number(r?.purchasers ?? 0),
      revenue: r?.revenue ?? 0,
    };
  };
  return {
    as_of: asOf.toISOString(),
    window_days: days,
    // Built field by field: the key order is the JSON contract.
    audiences: names.map(({ audience: a, has_holdout, share }) => {
      const f = liftFigures(count(a, 'exposed'), count(a, 'holdout'), days);
      return {
        audience: a,
        holdout_share: share === null ? null : round(share, 4),
        exposed_members: f.exposed_members,
        exposed_purchasers: f.exposed_purchasers,
        exposed_rate: f.exposed_rate,
        holdout_members: f.holdout_members,
        holdout_purchasers: f.holdout_purchasers,
        holdout_rate: f.holdout_rate,
        lift: f.lift,
        ci_low: f.ci_low,
        ci_high: f.ci_high,
        incremental_revenue_per_exposed: f.incremental_revenue_per_exposed,
        sufficient: f.sufficient,
        message: has_holdout ? f.message : noHoldoutMessage(a),
      };
    }),
  };
}

function noHoldoutMessage(audience: string): string {
  return (
    `no held-out members: give the segment .holdout(share) or set holdouts.audiences.${audience.split(':')[0]} ` +
    'in retarget.config.ts (docs/metrics.md)'
  );
}
