import type { Warehouse } from '../warehouse/warehouse.ts';
import { compileWithEvidence, type EvidenceKeys } from './compile.ts';
import type { Bounds, Condition, OrdersCondition, SegmentDefinition, SplitBy } from './types.ts';

/** Readable SQL for the segment, parameters inlined (for `retarget explain`). */
export function explainSegment(def: SegmentDefinition, opts: { asOf: Date }): string {
  const { sql: inlined } = compileWithEvidence(def, { asOf: opts.asOf, readable: true });
  const header = [
    `-- segment ${def.name}${def.splitBy ? ` (one audience per ${def.splitBy}: ${def.name}:<${def.splitBy}>)` : ''}`,
    `-- ${def.description}`,
    `-- as of ${opts.asOf.toISOString()}: ${describe(def.where, def.splitBy)}`,
  ];
  return `${header.join('\n')}\n${inlined};\n`;
}

export interface MemberExplanation {
  audience: string;
  customer_id: string;
  attributes: Record<string, unknown>;
  reasons: string[];
}

/**
 * Members of the segment (optionally one audience of a split segment) with human-readable reasons they
 * qualify, for `retarget preview <audience>`. Runs the compiled query; only the preview rows reach JS.
 */
export async function explainMembers(
  wh: Warehouse,
  def: SegmentDefinition,
  opts: { asOf: Date; audience?: string; limit?: number },
): Promise<MemberExplanation[]> {
  const { sql, parameters, evidence } = compileWithEvidence(def, opts);
  const params = [...parameters];
  let filter = '';
  if (opts.audience !== undefined) {
    params.push(opts.audience);
    filter = `WHERE audience = $${params.length}`;
  }
  const limit = Math.max(1, Math.floor(opts.limit ?? 20));
  const rows = await wh.all<{ audience: string; customer_id: string; attributes: string }>(
    `SELECT audience, customer_id, attributes::VARCHAR AS attributes FROM (\n${sql}\n) m ${filter}
     ORDER BY audience, customer_id LIMIT ${limit}`,
    params,
  );
  return rows.map((r) => {
    const attributes = JSON.parse(r.attributes) as Record<string, unknown>;
    const key = def.splitBy ? r.audience.slice(def.name.length + 1) : undefined;
    const ctx: ReasonCtx = { asOf: opts.asOf, split: def.splitBy, key, attributes, evidence };
    return { audience: r.audience, customer_id: r.customer_id, attributes, reasons: reasons(def.where, ctx) };
  });
}

interface ReasonCtx {
  asOf: Date;
  split?: SplitBy;
  key?: string;
  attributes: Record<string, unknown>;
  evidence: EvidenceKeys;
}

const VERBS: Record<string, string> = {
  view_item: 'viewed',
  view_item_list: 'viewed lists',
  add_to_wishlist: 'wishlisted',
  add_to_cart: 'added to cart',
  begin_checkout: 'began checkout',
  purchase: 'purchased',
};

const quoteList = (xs: string[]) => xs.map((x) => `'${x}'`).join(', ');
const window = (days?: number) => (days === undefined ? 'ever (up to T)' : `in the last ${days} days`);

function scope(c: { products?: string[]; categories?: string[] }, split?: SplitBy, key?: string): string {
  const parts: string[] = [];
  if (key !== undefined) parts.push(split === 'category' ? `in '${key}'` : `of product '${key}'`);
  else if (split) parts.push(`in the same ${split}`);
  if (c.products) parts.push(`of ${quoteList(c.products)}`);
  if (c.categories) parts.push(`in ${quoteList(c.categories)}`);
  return parts.length ? ` ${parts.join(' ')}` : '';
}

function bounds(b: Bounds): string {
  const parts: string[] = [];
  if (b.equals !== undefined) parts.push(`= ${b.equals}`);
  if (b.atLeast !== undefined) parts.push(`>= ${b.atLeast}`);
  if (b.moreThan !== undefined) parts.push(`> ${b.moreThan}`);
  if (b.atMost !== undefined) parts.push(`<= ${b.atMost}`);
  if (b.lessThan !== undefined) parts.push(`< ${b.lessThan}`);
  return parts.join(' and ');
}

const METRIC: Record<OrdersCondition['metric'], string> = {
  count: 'completed orders',
  totalSpent: 'total spent',
  daysSinceLast: 'days since last completed order',
  daysSinceFirst: 'days since first completed order',
};

/** A static description of a condition (no member data), e.g. for explain headers and negations. */
export function describe(c: Condition, split?: SplitBy, key?: string): string {
  switch (c.kind) {
    case 'performed': {
      const follow = c.notFollowedBy
        ? `, not followed by a purchase${c.notFollowedBy.sameProduct ? ' of the same product' : ''}${scope(c.notFollowedBy)}`
        : '';
      return `${c.events.join(' or ')}${scope(c, split, key)} ${window(c.withinDays)} >= ${c.atLeast ?? 1}x${follow}`;
    }
    case 'purchased':
      return `purchase${scope(c, split, key)} ${window(c.withinDays)}${(c.atLeast ?? 1) > 1 ? ` in >= ${c.atLeast} orders` : ''}`;
    case 'orders':
      return `${METRIC[c.metric]} ${bounds(c)}`;
    case 'customer':
      return `customer ${c.column} ${c.op}${c.value === undefined ? '' : ` ${JSON.stringify(c.value)}`}`;
    case 'complements':
      return `complements (${[c.declared ? 'declared' : '', c.mined ? `mined: >= ${c.mined.minOrders} orders, lift >= ${c.mined.minLift}` : ''].filter(Boolean).join('; ')}) of products bought ${window(c.of.withinDays)}${c.notYetBought ? ', not yet bought' : ''}`;
    case 'all':
      return `all of (${c.all.map((x) => describe(x, split, key)).join('; ')})`;
    case 'any':
      return `any of (${c.any.map((x) => describe(x, split, key)).join('; ')})`;
    case 'not':
      if (c.not.kind === 'purchased') return `no ${describe(c.not, split, key)}`;
      if (c.not.kind === 'performed') return `no ${describe(c.not, split, key)}`;
      return `not ${describe(c.not, split, key)}`;
  }
}

/** Why a member qualifies: one sentence per condition, with the evidence found in its attributes. */
function reasons(c: Condition, ctx: ReasonCtx): string[] {
  const ev = ctx.evidence.get(c);
  const val = (k?: string) => (k === undefined ? undefined : ctx.attributes[k]);
  switch (c.kind) {
    case 'performed': {
      const verb =
        c.events.length === 1
          ? (VERBS[c.events[0]!] ?? `performed ${c.events[0]}`)
          : `performed ${c.events.join(' or ')}`;
      const count = val(ev?.count);
      const products = val(ev?.products) as string[] | undefined;
      const what = products?.length ? ` ${quoteList(products)}` : '';
      const follow = c.notFollowedBy ? ', not purchased since' : '';
      return [
        `${verb}${what}${scope(c, ctx.split, ctx.key)} ${count ?? '?'}x ${window(c.withinDays)} (>= ${c.atLeast ?? 1})${follow}`,
      ];
    }
    case 'purchased':
      return [
        `bought${scope(c, ctx.split, ctx.key)} in ${val(ev?.orders) ?? '?'} order(s) ${window(c.withinDays)} (>= ${c.atLeast ?? 1})`,
      ];
    case 'orders': {
      const v = val(ev?.[c.metric]);
      if (typeof v === 'string' && (c.metric === 'daysSinceLast' || c.metric === 'daysSinceFirst')) {
        const days = Math.floor((ctx.asOf.getTime() - Date.parse(v)) / 86_400_000);
        return [`${METRIC[c.metric]}: ${days} (${bounds(c)}; on ${v.slice(0, 10)})`];
      }
      return [`${METRIC[c.metric]}: ${v ?? '?'} (${bounds(c)})`];
    }
    case 'customer':
      return [describe(c)];
    case 'complements': {
      const recs = (val(ev?.recommended) as string[] | undefined) ?? [];
      return [`recommended ${quoteList(recs)}: ${describe(c)}`];
    }
    case 'all':
      return c.all.flatMap((x) => reasons(x, ctx));
    case 'any': {
      // Only branches with evidence in this member's attributes are known to hold.
      const held = c.any.filter((x) => {
        const keys = ctx.evidence.get(x);
        return (
          keys &&
          Object.values(keys).some((k) => ctx.attributes[k] !== null && ctx.attributes[k] !== undefined)
        );
      });
      return held.length ? held.flatMap((x) => reasons(x, ctx)) : [describe(c, ctx.split, ctx.key)];
    }
    case 'not':
      return [describe(c, ctx.split, ctx.key)];
  }
}
