import { sql } from 'kysely';
import { type Frag, id, lit, type Rel, type Scope } from './compile-fragments.ts';
import type { ComplementsCondition } from './types.ts';

/**
 * complementsOf(): the complements (declared and/or mined from baskets) of the products a customer bought, minus
 * those already bought, as each member's top-N list of recommended products.
 */
export function compileComplements(s: Scope, c: ComplementsCondition, want: boolean): Rel {
  const key = want ? s.key(c.label ?? 'recommended_products') : 'recommended_products';
  if (want) s.evidence.set(c, { recommended: key });
  const sources: Frag[] = [];
  if (c.declared)
    sources.push(
      sql`SELECT product_id AS a, complement_id AS b, true AS declared, NULL::DOUBLE AS lift\nFROM product_complements WHERE product_id <> complement_id`,
    );
  // Purchased lines up to T, without the products join of the purchases view (no category needed here);
  // read for baskets, "ever bought" and (without category filters) the bought products. Planned into each reader,
  // not materialized: the materialized lines stay pinned while the recommendations aggregate, which then cannot
  // spill (scale 3, 13.4M lines, the query alone: fails at 750 MB and once in three at 1 GB; inlined it passes at
  // 500 MB, 12.0-14.9 s against 13.8-17.3 s; scale 1 equal, 3.5-3.9 s both ways).
  const lines = s.cte(
    'purchase_lines',
    sql`SELECT o.order_id, o.customer_id, o.ordered_at, i.product_id\nFROM completed_orders o JOIN order_items i ON i.order_id = o.order_id\nWHERE o.ordered_at <= ${s.t}`,
    true,
  );
  if (c.mined) sources.push(sql`SELECT a, b, declared, lift FROM ${id(minedPairs(s, lines, c.mined))}`);
  // Not grouped by pair here: the recommendations' GROUP BY takes bool_or(declared) and max(lift) over the same
  // rows anyway, and a grouped CTE's small estimate made DuckDB build the "ever bought" anti join's hash table on
  // the candidates (20M rows on wholesale baskets, uci-online-retail: 6.2 s -> 3.3 s; scale 1 unchanged, 2.3 s).
  const pairsAll = s.cte('complement_pairs', sql.join(sources, sql`\nUNION ALL\n`));
  const bw = s.purchaseWhere(c.of);
  // "Ever bought" probes the purchased lines as they are: an anti join needs no DISTINCT, and a customer rarely
  // buys a product twice (scale 1: 4.47M lines, 4.47M pairs), so de-duplicating first was a 1.2 s aggregate for
  // nothing. Scale-1 next night, medians of 4 alternating pairs: complementary_products 6.0 s -> 4.7 s CPU
  // (4.5 s -> 3.1 s wall), same rows. Restricting the lines to the recent buyers' measured no faster (5.0 s
  // against 4.8 s CPU): the semi join that finds them costs what the smaller probe saves.
  const anti = c.notYetBought
    ? sql`\nANTI JOIN ${id(lines)} ever\n  ON ever.customer_id = bo.customer_id AND ever.product_id = cp.b`
    : sql``;
  const boughtFrom = c.of.categories ? sql`purchases` : id(lines);
  const candidates = s.cte(
    'recommendations',
    sql`SELECT bo.customer_id, cp.b AS product_id, bool_or(cp.declared) AS declared, max(cp.lift) AS lift\nFROM (SELECT DISTINCT p.customer_id, p.product_id FROM ${boughtFrom} p WHERE ${sql.join(bw, sql` AND `)}) bo\nJOIN ${id(pairsAll)} cp ON cp.a = bo.product_id${anti}\nGROUP BY ALL`,
  );
  // Declared complements first (the merchant's intent), then by lift, then product_id for stable output.
  // Keep each member's top N before building lists: listing every candidate first runs out of memory at scale
  // (and so does min_by(product, rank, N): its per-member heaps do not spill, 1 GB was not enough at scale 1).
  // The list is sorted by the window's rank afterwards: an ORDER BY inside list() costs about twice as much.
  const order = sql`declared DESC, lift DESC NULLS LAST, product_id`;
  const body = sql`SELECT customer_id,\n  list_transform(list_sort(list(struct_pack(r := rn, p := product_id))), x -> x.p) AS ${id(key)}\nFROM (SELECT *, row_number() OVER (PARTITION BY customer_id ORDER BY ${order}) AS rn FROM ${id(candidates)}\n  QUALIFY rn <= ${lit(c.limit)})\nGROUP BY customer_id`;
  return { name: s.cte('complements', body), keyed: false, cols: want ? [key] : [] };
}

/** Mined pairs with their lift, from the basket counts (stored, or mined from the purchased lines). */
function minedPairs(s: Scope, lines: string, mined: { minOrders: number; minLift: number }): string {
  const { support, pairs } = s.storedBaskets
    ? storedBasketCounts(s, mined.minOrders)
    : basketCounts(s, lines, mined.minOrders);
  // lift = n_ab * N / (n_a * n_b), compared without division so thresholds are exact.
  return s.cte(
    'mined_pairs',
    sql`SELECT p.a, p.b, false AS declared, p.n_ab * t.n / (na.n * nb.n) AS lift\nFROM ${id(pairs)} p\nJOIN ${id(support)} na ON na.product_id = p.a\nJOIN ${id(support)} nb ON nb.product_id = p.b\nCROSS JOIN (SELECT count(*)::DOUBLE AS n FROM completed_orders WHERE ordered_at <= ${s.t}) t\nWHERE p.n_ab * t.n >= ${lit(mined.minLift)} * na.n * nb.n`,
  );
}

/** Orders per product and per product pair (both orders of a pair), mined from the baskets up to T. */
function basketCounts(s: Scope, lines: string, minOrders: number): { support: string; pairs: string } {
  const basket = s.cte('basket', sql`SELECT DISTINCT order_id, product_id FROM ${id(lines)}`);
  const support = s.cte(
    'product_orders',
    sql`SELECT product_id, count(*) AS n FROM ${id(basket)} GROUP BY product_id`,
  );
  const pairs = s.cte(
    'pair_orders',
    sql`SELECT x.product_id AS a, y.product_id AS b, count(*) AS n_ab\nFROM ${id(basket)} x JOIN ${id(basket)} y ON y.order_id = x.order_id AND y.product_id <> x.product_id\nGROUP BY ALL\nHAVING count(*) >= ${lit(minOrders)}`,
  );
  return { support, pairs };
}

/**
 * The same counts read from the tables audiences/baskets.ts keeps equal to the baskets up to T (the caller
 * refreshes them first); pairs are stored once (a < b), so both orders are read.
 */
function storedBasketCounts(s: Scope, minOrders: number): { support: string; pairs: string } {
  const support = s.cte('product_orders', sql`SELECT product_id, n FROM basket_products`);
  const pairs = s.cte(
    'pair_orders',
    sql`SELECT a, b, n AS n_ab FROM basket_pairs WHERE n >= ${lit(minOrders)}\nUNION ALL\nSELECT b, a, n FROM basket_pairs WHERE n >= ${lit(minOrders)}`,
  );
  return { support, pairs };
}
