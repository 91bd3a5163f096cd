import { sql } from 'kysely';
import { type Frag, id, lit, type Rel, type Scope } from './compile-fragments.ts';
import type { Condition, OrdersCondition } from './types.ts';

/** What orders() needs beyond Scope: day bounds and the query's shared CTEs. */
export interface OrdersScope extends Scope {
  /** T - N days as a literal. */
  since(days: number): Frag;
  /** The CTE of every known customer (for metrics that hold at zero orders). */
  universe(): string;
  /** The CTE of per-customer order aggregates (orderStatsQuery). */
  orderStats(): string;
}

/** Per-customer order aggregates, only those the segment uses (each costs time over all orders). */
export function orderStatsQuery(where: Condition, t: Frag): Frag {
  const used = new Set<string>();
  const walk = (c: Condition): void => {
    if (c.kind === 'orders') used.add(c.metric);
    else if (c.kind === 'all') c.all.forEach(walk);
    else if (c.kind === 'any') c.any.forEach(walk);
    else if (c.kind === 'not') walk(c.not);
  };
  walk(where);
  const aggs: Frag[] = [];
  if (used.has('count')) aggs.push(sql`count(*) AS orders_count`);
  if (used.has('totalSpent')) aggs.push(sql`sum(coalesce(total, 0)) AS total_spent`);
  if (used.has('daysSinceFirst')) aggs.push(sql`min(ordered_at) AS first_ordered_at`);
  if (used.has('daysSinceLast')) aggs.push(sql`max(ordered_at) AS last_ordered_at`);
  return sql`SELECT customer_id, ${sql.join(aggs, sql`, `)}\nFROM completed_orders\nWHERE customer_id IS NOT NULL AND ordered_at <= ${t}\nGROUP BY customer_id`;
}

/** Bounds on a "days since" metric as exact timestamp comparisons, consistent with windows. */
function daysSince(s: OrdersScope, col: Frag, c: OrdersCondition): Frag[] {
  const out: Frag[] = [];
  const at = (n: number) => s.since(n);
  if (c.atLeast !== undefined) out.push(sql`${col} <= ${at(c.atLeast)}`);
  if (c.moreThan !== undefined) out.push(sql`${col} < ${at(c.moreThan)}`);
  if (c.atMost !== undefined) out.push(sql`${col} >= ${at(c.atMost)}`);
  if (c.lessThan !== undefined) out.push(sql`${col} > ${at(c.lessThan)}`);
  if (c.equals !== undefined) out.push(sql`${col} <= ${at(c.equals)}`, sql`${col} > ${at(c.equals + 1)}`);
  return out;
}

function numeric(col: Frag, c: OrdersCondition): Frag[] {
  const out: Frag[] = [];
  if (c.equals !== undefined) out.push(sql`${col} = ${lit(c.equals)}`);
  if (c.atLeast !== undefined) out.push(sql`${col} >= ${lit(c.atLeast)}`);
  if (c.atMost !== undefined) out.push(sql`${col} <= ${lit(c.atMost)}`);
  if (c.moreThan !== undefined) out.push(sql`${col} > ${lit(c.moreThan)}`);
  if (c.lessThan !== undefined) out.push(sql`${col} < ${lit(c.lessThan)}`);
  return out;
}

/** Order aggregates; several under one all() share a single pass over order_stats. */
export function compileOrders(s: OrdersScope, cs: OrdersCondition[], want: boolean): Rel {
  const stats = s.orderStats();
  // count = 0 and totalSpent = 0 can hold for customers without orders: then start from the universe.
  const zeroOk = cs.every((c) => c.metric === 'count' || c.metric === 'totalSpent') && cs.every(holdsAtZero);
  const cols: Record<string, { key: string; expr: Frag }> = {};
  const where: Frag[] = [];
  const keysFor: Record<string, string> = {};
  for (const c of cs) {
    const metric = c.metric;
    if (!cols[metric]) {
      const expr = {
        count: sql`coalesce(s.orders_count, 0)`,
        totalSpent: sql`coalesce(s.total_spent, 0)`,
        // Evidence is the order time, not a day count: a count would change every night and churn every
        // member's attributes (and every export) although nothing about the member changed.
        daysSinceLast: sql`strftime(s.last_ordered_at, '%Y-%m-%dT%H:%M:%SZ')`,
        daysSinceFirst: sql`strftime(s.first_ordered_at, '%Y-%m-%dT%H:%M:%SZ')`,
      }[metric];
      const base = {
        count: 'orders_count',
        totalSpent: 'total_spent',
        daysSinceLast: 'last_order_at',
        daysSinceFirst: 'first_order_at',
      }[metric];
      cols[metric] = { key: want ? s.key(base) : base, expr };
    }
    keysFor[metric] = cols[metric].key;
    if (metric === 'count') where.push(...numeric(sql`coalesce(s.orders_count, 0)`, c));
    if (metric === 'totalSpent') where.push(...numeric(sql`coalesce(s.total_spent, 0)`, c));
    if (metric === 'daysSinceLast') where.push(...daysSince(s, sql`s.last_ordered_at`, c));
    if (metric === 'daysSinceFirst') where.push(...daysSince(s, sql`s.first_ordered_at`, c));
  }
  if (want) for (const c of cs) s.evidence.set(c, { [c.metric]: keysFor[c.metric]! });
  const select: Frag[] = [sql`${zeroOk ? sql`u` : sql`s`}.customer_id`];
  if (want) for (const { key, expr } of Object.values(cols)) select.push(sql`${expr} AS ${id(key)}`);
  const from = zeroOk
    ? sql`${id(s.universe())} u\nLEFT JOIN ${id(stats)} s ON s.customer_id = u.customer_id`
    : sql`${id(stats)} s`;
  const body = sql`SELECT ${sql.join(select, sql`, `)}\nFROM ${from}\nWHERE ${sql.join(where, sql`\n  AND `)}`;
  return {
    name: s.cte('orders', body),
    keyed: false,
    cols: want ? Object.values(cols).map((x) => x.key) : [],
  };
}

function holdsAtZero(c: OrdersCondition): boolean {
  const checks: boolean[] = [];
  if (c.equals !== undefined) checks.push(c.equals === 0);
  if (c.atLeast !== undefined) checks.push(0 >= c.atLeast);
  if (c.atMost !== undefined) checks.push(0 <= c.atMost);
  if (c.moreThan !== undefined) checks.push(0 > c.moreThan);
  if (c.lessThan !== undefined) checks.push(0 < c.lessThan);
  return checks.every(Boolean);
}
