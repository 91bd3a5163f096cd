import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type RawBuilder,
  sql,
} from 'kysely';
import type { Database } from '../warehouse/schema.ts';
import { sqlString, timestampLiteral } from '../warehouse/values.ts';
import { readableCompiler } from './readable-sql.ts';
import type {
  ComplementsCondition,
  Condition,
  CustomerCondition,
  OrdersCondition,
  PerformedCondition,
  PurchasedCondition,
  Scalar,
  SegmentDefinition,
} from './types.ts';

/**
 * Compiles a segment definition to one set-based SQL query. Every condition becomes a CTE of qualifying
 * (customer_id[, split_key]) rows plus evidence columns: all() joins them (anti-joins for not()), any() unions
 * them, a standalone not() subtracts from the universe of known customers. DuckDB plans each as hash joins.
 */

/** Kysely with DuckDB's SQL flavour (the Postgres compiler, as warehouse/kysely-dialect.ts), for compiling only. */
const compiler = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

const DAY_MS = 86_400_000;

/** Where each condition's evidence lands in `attributes` (used to explain membership). */
export type EvidenceKeys = Map<Condition, Record<string, string>>;

export interface CompiledSegment {
  sql: string;
  parameters: unknown[];
  evidence: EvidenceKeys;
}

interface Rel {
  name: string;
  keyed: boolean;
  /** Evidence columns (also the JSON keys in attributes). */
  cols: string[];
}

type Frag = RawBuilder<unknown>;
const id = (name: string): Frag => sql.raw(name);
/**
 * Values are inlined as escaped literals, not parameters: DuckDB prunes row groups and pushes filters into
 * scans only for constants (measured on 20M events: parameters made cart_abandoners 2x slower).
 */
const lit = (v: Scalar | Date): Frag =>
  sql.raw(
    v instanceof Date
      ? timestampLiteral(v)
      : typeof v === 'string'
        ? sqlString(v)
        : typeof v === 'boolean'
          ? String(v).toUpperCase()
          : Number.isFinite(v)
            ? String(v)
            : 'NULL',
  );
const lits = (vs: Scalar[]): Frag => sql.join(vs.map(lit));

class Compiler {
  private readonly ctes: Array<{ name: string; body: Frag }> = [];
  private readonly used = new Set<string>();
  private counter = 0;
  private universeName?: string;
  private orderStatsName?: string;
  readonly evidence: EvidenceKeys = new Map();

  constructor(
    private readonly def: SegmentDefinition,
    private readonly asOf: Date,
    private readonly storedBaskets = false,
  ) {}

  private get split() {
    return this.def.splitBy;
  }
  private get t(): Frag {
    return lit(this.asOf);
  }
  /** T - N days (exact 24-hour days; timestamps are UTC). */
  private since(days: number): Frag {
    return lit(new Date(this.asOf.getTime() - days * DAY_MS));
  }
  private cte(prefix: string, body: Frag): string {
    const name = `${prefix}_${++this.counter}`;
    this.ctes.push({ name, body });
    return name;
  }
  /** A unique evidence key (column name and JSON key). */
  private key(name: string): string {
    const base = name.toLowerCase().replace(/[^a-z0-9_]/g, '_'); // event names become SQL column names
    let k = base;
    for (let i = 2; this.used.has(k); i++) k = `${base}_${i}`;
    this.used.add(k);
    return k;
  }

  build(): Frag {
    const top = this.compile(this.def.where, true);
    const audience = top.keyed
      ? sql`${lit(this.def.name)} || ':' || r.split_key`
      : sql`${lit(this.def.name)}::VARCHAR`;
    const attrs =
      top.cols.length === 0
        ? sql`'{}'::JSON`
        : sql`json_object(${sql.join(
            top.cols.map((c) => sql`${lit(c)}, r.${id(c)}`),
            sql`, `,
          )})`;
    const withs = sql.join(
      this.ctes.map((c) => sql`${id(c.name)} AS (\n${c.body}\n)`),
      sql`,\n`,
    );
    return sql`WITH\n${withs}\nSELECT ${audience} AS audience, r.customer_id, ${attrs} AS attributes\nFROM ${id(top.name)} r`;
  }

  /** `want` = the result's evidence is shown (false under not(): only membership matters). */
  compile(c: Condition, want: boolean): Rel {
    switch (c.kind) {
      case 'performed':
        return this.performed(c, want);
      case 'purchased':
        return this.purchased(c, want);
      case 'orders':
        return this.orders([c], want);
      case 'customer':
        return this.customers([c]);
      case 'complements':
        return this.complements(c, want);
      case 'all':
        return this.all(c.all, want);
      case 'any':
        return this.any(c.any, want);
      case 'not':
        return this.all([c], want);
    }
  }

  private keyExpr(alias: string): Frag | undefined {
    if (this.split === 'category') return sql`${id(alias)}.category`;
    if (this.split === 'product') return sql`${id(alias)}.product_id`;
    return undefined;
  }

  private inList(col: Frag, values: string[] | undefined): Frag[] {
    return values ? [sql`${col} IN (${lits(values)})`] : [];
  }

  private performed(c: PerformedCondition, want: boolean): Rel {
    const keyExpr = this.keyExpr('e');
    const label = c.label ?? c.events.join('_or_');
    const countKey = want ? this.key(`${label}_count`) : undefined;
    const productsKey = want && c.notFollowedBy ? this.key(`${label}_products`) : undefined;
    if (countKey)
      this.evidence.set(c, { count: countKey, ...(productsKey ? { products: productsKey } : {}) });
    // events_resolved only when the category matters: it joins products for every event.
    const source = c.categories || this.split === 'category' ? 'events_resolved' : 'events';
    const where: Frag[] = [
      sql`e.customer_id IS NOT NULL`,
      sql`e.event_name IN (${lits(c.events)})`,
      sql`e.occurred_at <= ${this.t}`,
    ];
    if (c.withinDays !== undefined) where.push(sql`e.occurred_at > ${this.since(c.withinDays)}`);
    where.push(...this.inList(sql`e.product_id`, c.products), ...this.inList(sql`e.category`, c.categories));
    if (keyExpr) where.push(sql`${keyExpr} IS NOT NULL`);
    const joins: Frag[] = [];
    const f = c.notFollowedBy;
    if (f) {
      // An event is cancelled by a matching purchase at or after it (<= T): compare with the latest such
      // purchase. Purchases before the window cannot follow an event in it, so only the window's are read.
      // With ofSameProduct, one aggregate gives the latest per (customer, product) and, in the grouping set
      // with product_id NULL, per customer: an event without a product matches that row (any purchase).
      const pw: Frag[] = [sql`p.customer_id IS NOT NULL`, sql`p.ordered_at <= ${this.t}`];
      if (c.withinDays !== undefined) pw.push(sql`p.ordered_at > ${this.since(c.withinDays)}`);
      pw.push(...this.inList(sql`p.product_id`, f.products), ...this.inList(sql`p.category`, f.categories));
      const from = sql`${this.purchaseSource(!!f.categories)} p\nWHERE ${sql.join(pw, sql` AND `)}`;
      if (f.sameProduct) {
        const last = this.cte(
          'last_purchase',
          sql`SELECT p.customer_id, p.product_id, max(p.ordered_at) AS last_at\nFROM ${from}\nGROUP BY GROUPING SETS ((p.customer_id, p.product_id), (p.customer_id))`,
        );
        joins.push(
          sql`LEFT JOIN ${id(last)} lp ON lp.customer_id = e.customer_id AND lp.product_id IS NOT DISTINCT FROM e.product_id`,
        );
      } else {
        const last = this.cte(
          'last_purchase',
          sql`SELECT p.customer_id, max(p.ordered_at) AS last_at\nFROM ${from}\nGROUP BY p.customer_id`,
        );
        joins.push(sql`LEFT JOIN ${id(last)} lp ON lp.customer_id = e.customer_id`);
      }
      where.push(sql`(lp.last_at IS NULL OR lp.last_at < e.occurred_at)`);
    }
    const select: Frag[] = [sql`e.customer_id`];
    if (keyExpr) select.push(sql`${keyExpr} AS split_key`);
    if (countKey) select.push(sql`sum(e.event_count) AS ${id(countKey)}`);
    if (productsKey)
      select.push(
        sql`list(DISTINCT e.product_id ORDER BY e.product_id) FILTER (WHERE e.product_id IS NOT NULL) AS ${id(productsKey)}`,
      );
    // sum(event_count) >= 1 is "some event with a positive count": a row filter, cheaper than HAVING.
    const atLeast = c.atLeast ?? 1;
    if (atLeast === 1) where.push(sql`e.event_count >= 1`);
    const having = atLeast > 1 ? sql`\nHAVING sum(e.event_count) >= ${lit(atLeast)}` : sql``;
    const body = sql`SELECT ${sql.join(select, sql`, `)}\nFROM ${id(source)} e${joins.length ? sql`\n${sql.join(joins, sql`\n`)}` : sql``}\nWHERE ${sql.join(where, sql`\n  AND `)}\nGROUP BY ALL${having}`;
    return {
      name: this.cte('performed', body),
      keyed: keyExpr !== undefined,
      cols: [countKey, productsKey].filter((x): x is string => !!x),
    };
  }

  /**
   * The purchases view, or the same rows without its products join when no category is needed: DuckDB
   * keeps the join otherwise, and it is a probe per purchased line.
   */
  private purchaseSource(needCategory: boolean): Frag {
    return needCategory
      ? sql`purchases`
      : sql`(SELECT o.order_id, o.customer_id, o.ordered_at, i.product_id\n  FROM completed_orders o JOIN order_items i ON i.order_id = o.order_id)`;
  }

  private purchaseWhere(c: PurchasedCondition): Frag[] {
    const where: Frag[] = [sql`p.customer_id IS NOT NULL`, sql`p.ordered_at <= ${this.t}`];
    if (c.withinDays !== undefined) where.push(sql`p.ordered_at > ${this.since(c.withinDays)}`);
    where.push(...this.inList(sql`p.product_id`, c.products), ...this.inList(sql`p.category`, c.categories));
    return where;
  }

  private purchased(c: PurchasedCondition, want: boolean): Rel {
    const keyExpr = this.keyExpr('p');
    const ordersKey = want ? this.key(`${c.label ?? 'purchased'}_orders`) : undefined;
    if (ordersKey) this.evidence.set(c, { orders: ordersKey });
    const where = this.purchaseWhere(c);
    if (keyExpr) where.push(sql`${keyExpr} IS NOT NULL`);
    const select: Frag[] = [sql`p.customer_id`];
    if (keyExpr) select.push(sql`${keyExpr} AS split_key`);
    if (ordersKey) select.push(sql`count(DISTINCT p.order_id) AS ${id(ordersKey)}`);
    const atLeast = c.atLeast ?? 1;
    const having = atLeast > 1 ? sql`\nHAVING count(DISTINCT p.order_id) >= ${lit(atLeast)}` : sql``;
    const source = this.purchaseSource(!!c.categories || this.split === 'category');
    const body = sql`SELECT ${sql.join(select, sql`, `)}\nFROM ${source} p\nWHERE ${sql.join(where, sql`\n  AND `)}\nGROUP BY ALL${having}`;
    return {
      name: this.cte('purchased', body),
      keyed: keyExpr !== undefined,
      cols: ordersKey ? [ordersKey] : [],
    };
  }

  private universe(): string {
    this.universeName ??= this.cte(
      'known_customers',
      sql`SELECT customer_id FROM customers\nUNION\nSELECT customer_id FROM orders WHERE customer_id IS NOT NULL AND ordered_at <= ${this.t}\nUNION\nSELECT customer_id FROM events WHERE customer_id IS NOT NULL AND occurred_at <= ${this.t}`,
    );
    return this.universeName;
  }

  /** Per-customer order aggregates, only those the segment uses (each costs time over all orders). */
  private orderStats(): string {
    const used = new Set<string>();
    const walk = (c: Condition): void => {
      if (c.kind === 'orders') used.add(c.metric);
      else if (c.kind === 'all') c.all.forEach(walk);
      else if (c.kind === 'any') c.any.forEach(walk);
      else if (c.kind === 'not') walk(c.not);
    };
    walk(this.def.where);
    const aggs: Frag[] = [];
    if (used.has('count')) aggs.push(sql`count(*) AS orders_count`);
    if (used.has('totalSpent')) aggs.push(sql`sum(coalesce(total, 0)) AS total_spent`);
    if (used.has('daysSinceFirst')) aggs.push(sql`min(ordered_at) AS first_ordered_at`);
    if (used.has('daysSinceLast')) aggs.push(sql`max(ordered_at) AS last_ordered_at`);
    this.orderStatsName ??= this.cte(
      'order_stats',
      sql`SELECT customer_id, ${sql.join(aggs, sql`, `)}\nFROM completed_orders\nWHERE customer_id IS NOT NULL AND ordered_at <= ${this.t}\nGROUP BY customer_id`,
    );
    return this.orderStatsName;
  }

  /** Bounds on a "days since" metric as exact timestamp comparisons, consistent with windows. */
  private daysSince(col: Frag, c: OrdersCondition): Frag[] {
    const out: Frag[] = [];
    const at = (n: number) => this.since(n);
    if (c.atLeast !== undefined) out.push(sql`${col} <= ${at(c.atLeast)}`);
    if (c.moreThan !== undefined) out.push(sql`${col} < ${at(c.moreThan)}`);
    if (c.atMost !== undefined) out.push(sql`${col} >= ${at(c.atMost)}`);
    if (c.lessThan !== undefined) out.push(sql`${col} > ${at(c.lessThan)}`);
    if (c.equals !== undefined) out.push(sql`${col} <= ${at(c.equals)}`, sql`${col} > ${at(c.equals + 1)}`);
    return out;
  }

  private numeric(col: Frag, c: OrdersCondition): Frag[] {
    const out: Frag[] = [];
    if (c.equals !== undefined) out.push(sql`${col} = ${lit(c.equals)}`);
    if (c.atLeast !== undefined) out.push(sql`${col} >= ${lit(c.atLeast)}`);
    if (c.atMost !== undefined) out.push(sql`${col} <= ${lit(c.atMost)}`);
    if (c.moreThan !== undefined) out.push(sql`${col} > ${lit(c.moreThan)}`);
    if (c.lessThan !== undefined) out.push(sql`${col} < ${lit(c.lessThan)}`);
    return out;
  }

  /** Order aggregates; several under one all() share a single pass over order_stats. */
  private orders(cs: OrdersCondition[], want: boolean): Rel {
    const stats = this.orderStats();
    // count = 0 and totalSpent = 0 can hold for customers without orders: then start from the universe.
    const zeroOk =
      cs.every((c) => c.metric === 'count' || c.metric === 'totalSpent') && cs.every(holdsAtZero);
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
        cols[metric] = { key: want ? this.key(base) : base, expr };
      }
      keysFor[metric] = cols[metric].key;
      if (metric === 'count') where.push(...this.numeric(sql`coalesce(s.orders_count, 0)`, c));
      if (metric === 'totalSpent') where.push(...this.numeric(sql`coalesce(s.total_spent, 0)`, c));
      if (metric === 'daysSinceLast') where.push(...this.daysSince(sql`s.last_ordered_at`, c));
      if (metric === 'daysSinceFirst') where.push(...this.daysSince(sql`s.first_ordered_at`, c));
    }
    if (want) for (const c of cs) this.evidence.set(c, { [c.metric]: keysFor[c.metric]! });
    const select: Frag[] = [sql`${zeroOk ? sql`u` : sql`s`}.customer_id`];
    if (want) for (const { key, expr } of Object.values(cols)) select.push(sql`${expr} AS ${id(key)}`);
    const from = zeroOk
      ? sql`${id(this.universe())} u\nLEFT JOIN ${id(stats)} s ON s.customer_id = u.customer_id`
      : sql`${id(stats)} s`;
    const body = sql`SELECT ${sql.join(select, sql`, `)}\nFROM ${from}\nWHERE ${sql.join(where, sql`\n  AND `)}`;
    return {
      name: this.cte('orders', body),
      keyed: false,
      cols: want ? Object.values(cols).map((x) => x.key) : [],
    };
  }

  /** Customer attribute comparisons; several under one all() read customers once. */
  private customers(cs: CustomerCondition[]): Rel {
    const where = cs.map((c): Frag => {
      const col = sql`c.${id(c.column)}`;
      const v = c.value;
      const list = Array.isArray(v) ? lits(v) : sql``;
      switch (c.op) {
        case 'equals':
          return sql`${col} = ${lit(v as Scalar)}`;
        case 'notEquals':
          return sql`${col} IS DISTINCT FROM ${lit(v as Scalar)}`;
        case 'in':
          return sql`${col} IN (${list})`;
        case 'notIn':
          return sql`(${col} IS NULL OR ${col} NOT IN (${list}))`;
        case 'isNull':
          return sql`${col} IS NULL`;
        default:
          return sql`${col} IS NOT NULL`;
      }
    });
    const body = sql`SELECT c.customer_id\nFROM customers c\nWHERE ${sql.join(where, sql`\n  AND `)}`;
    return { name: this.cte('customer', body), keyed: false, cols: [] };
  }

  private complements(c: ComplementsCondition, want: boolean): Rel {
    const key = want ? this.key(c.label ?? 'recommended_products') : 'recommended_products';
    if (want) this.evidence.set(c, { recommended: key });
    const sources: Frag[] = [];
    if (c.declared)
      sources.push(
        sql`SELECT product_id AS a, complement_id AS b, true AS declared, NULL::DOUBLE AS lift\nFROM product_complements WHERE product_id <> complement_id`,
      );
    // Purchased lines up to T, without the products join of the purchases view (no category needed here);
    // read once for baskets, "ever bought" and (without category filters) the bought products.
    const lines = this.cte(
      'purchase_lines',
      sql`SELECT o.order_id, o.customer_id, o.ordered_at, i.product_id\nFROM completed_orders o JOIN order_items i ON i.order_id = o.order_id\nWHERE o.ordered_at <= ${this.t}`,
    );
    if (c.mined) {
      const { support, pairs } = this.storedBaskets
        ? this.storedBasketCounts(c.mined.minOrders)
        : this.basketCounts(lines, c.mined.minOrders);
      // lift = n_ab * N / (n_a * n_b), compared without division so thresholds are exact.
      const mined = this.cte(
        'mined_pairs',
        sql`SELECT p.a, p.b, false AS declared, p.n_ab * t.n / (na.n * nb.n) AS lift\nFROM ${id(pairs)} p\nJOIN ${id(support)} na ON na.product_id = p.a\nJOIN ${id(support)} nb ON nb.product_id = p.b\nCROSS JOIN (SELECT count(*)::DOUBLE AS n FROM completed_orders WHERE ordered_at <= ${this.t}) t\nWHERE p.n_ab * t.n >= ${lit(c.mined.minLift)} * na.n * nb.n`,
      );
      sources.push(sql`SELECT a, b, declared, lift FROM ${id(mined)}`);
    }
    const pairsAll = this.cte(
      'complement_pairs',
      sql`SELECT a, b, bool_or(declared) AS declared, max(lift) AS lift\nFROM (\n${sql.join(sources, sql`\nUNION ALL\n`)}\n)\nGROUP BY a, b`,
    );
    const bw = this.purchaseWhere(c.of);
    const anti = c.notYetBought
      ? sql`\nANTI JOIN (SELECT DISTINCT customer_id, product_id FROM ${id(lines)} WHERE customer_id IS NOT NULL) ever\n  ON ever.customer_id = bo.customer_id AND ever.product_id = cp.b`
      : sql``;
    const boughtFrom = c.of.categories ? sql`purchases` : id(lines);
    const candidates = this.cte(
      'recommendations',
      sql`SELECT bo.customer_id, cp.b AS product_id, bool_or(cp.declared) AS declared, max(cp.lift) AS lift\nFROM (SELECT DISTINCT p.customer_id, p.product_id FROM ${boughtFrom} p WHERE ${sql.join(bw, sql` AND `)}) bo\nJOIN ${id(pairsAll)} cp ON cp.a = bo.product_id${anti}\nGROUP BY ALL`,
    );
    // Declared complements first (the merchant's intent), then by lift, then product_id for stable output.
    // Keep each member's top N before building lists: listing every candidate first runs out of memory at scale
    // (and so does min_by(product, rank, N): its per-member heaps do not spill, 1 GB was not enough at scale 1).
    // The list is sorted by the window's rank afterwards: an ORDER BY inside list() costs about twice as much.
    const order = sql`declared DESC, lift DESC NULLS LAST, product_id`;
    const body = sql`SELECT customer_id,\n  list_transform(list_sort(list(struct_pack(r := rn, p := product_id))), x -> x.p) AS ${id(key)}\nFROM (SELECT *, row_number() OVER (PARTITION BY customer_id ORDER BY ${order}) AS rn FROM ${id(candidates)}\n  QUALIFY rn <= ${lit(c.limit)})\nGROUP BY customer_id`;
    return { name: this.cte('complements', body), keyed: false, cols: want ? [key] : [] };
  }

  /** Orders per product and per product pair (both orders of a pair), mined from the baskets up to T. */
  private basketCounts(lines: string, minOrders: number): { support: string; pairs: string } {
    const basket = this.cte('basket', sql`SELECT DISTINCT order_id, product_id FROM ${id(lines)}`);
    const support = this.cte(
      'product_orders',
      sql`SELECT product_id, count(*) AS n FROM ${id(basket)} GROUP BY product_id`,
    );
    const pairs = this.cte(
      'pair_orders',
      sql`SELECT x.product_id AS a, y.product_id AS b, count(*) AS n_ab\nFROM ${id(basket)} x JOIN ${id(basket)} y ON y.order_id = x.order_id AND y.product_id <> x.product_id\nGROUP BY ALL\nHAVING count(*) >= ${lit(minOrders)}`,
    );
    return { support, pairs };
  }

  /**
   * The same counts read from the tables audiences/baskets.ts keeps equal to the baskets up to T (the caller
   * refreshes them first); pairs are stored once (a < b), so both orders are read.
   */
  private storedBasketCounts(minOrders: number): { support: string; pairs: string } {
    const support = this.cte('product_orders', sql`SELECT product_id, n FROM basket_products`);
    const pairs = this.cte(
      'pair_orders',
      sql`SELECT a, b, n AS n_ab FROM basket_pairs WHERE n >= ${lit(minOrders)}\nUNION ALL\nSELECT b, a, n FROM basket_pairs WHERE n >= ${lit(minOrders)}`,
    );
    return { support, pairs };
  }

  private all(children: Condition[], want: boolean): Rel {
    const positives = children.filter((c) => c.kind !== 'not');
    const negatives = children
      .filter((c): c is Condition & { kind: 'not' } => c.kind === 'not')
      .map((c) => c.not);
    if (negatives.length === 0 && positives.length === 1) return this.compile(positives[0]!, want);
    const orders = positives.filter((c): c is OrdersCondition => c.kind === 'orders');
    const custs = positives.filter((c): c is CustomerCondition => c.kind === 'customer');
    const rels: Rel[] = positives
      .filter((c) => c.kind !== 'orders' && c.kind !== 'customer')
      .map((c) => this.compile(c, want));
    if (orders.length) rels.push(this.orders(orders, want));
    if (custs.length) rels.push(this.customers(custs));
    rels.sort((a, b) => Number(b.keyed) - Number(a.keyed)); // a keyed relation drives the join
    const negs = negatives.map((c) => this.compile(c, false));
    const head: Rel = rels[0] ?? { name: this.universe(), keyed: false, cols: [] };
    const aliasOf = (i: number) => `r${i}`;
    const joins: Frag[] = [];
    rels.slice(1).forEach((r, i) => {
      const a = aliasOf(i + 1);
      const onKey = r.keyed && head.keyed ? sql` AND ${id(a)}.split_key = r0.split_key` : sql``;
      joins.push(sql`JOIN ${id(r.name)} ${id(a)} ON ${id(a)}.customer_id = r0.customer_id${onKey}`);
    });
    negs.forEach((r, i) => {
      const a = `n${i}`;
      const onKey = r.keyed && head.keyed ? sql` AND ${id(a)}.split_key = r0.split_key` : sql``;
      joins.push(sql`ANTI JOIN ${id(r.name)} ${id(a)} ON ${id(a)}.customer_id = r0.customer_id${onKey}`);
    });
    const select: Frag[] = [sql`r0.customer_id`];
    if (head.keyed) select.push(sql`r0.split_key`);
    const cols: string[] = [];
    [head, ...rels.slice(1)].forEach((r, i) => {
      for (const c of r.cols) {
        select.push(sql`${id(aliasOf(i))}.${id(c)}`);
        cols.push(c);
      }
    });
    const body = sql`SELECT ${sql.join(select, sql`, `)}\nFROM ${id(head.name)} r0\n${sql.join(joins, sql`\n`)}`;
    return { name: this.cte('all', body), keyed: head.keyed, cols };
  }

  private any(children: Condition[], want: boolean): Rel {
    if (children.length === 1) return this.compile(children[0]!, want);
    const rels = children.map((c) => this.compile(c, want));
    const keyed = rels[0]!.keyed;
    const cols = rels.flatMap((r) => r.cols);
    const select: Frag[] = [sql`customer_id`];
    if (keyed) select.push(sql`split_key`);
    for (const c of cols) select.push(sql`any_value(${id(c)}) AS ${id(c)}`);
    const union = sql.join(
      rels.map((r) => sql`SELECT * FROM ${id(r.name)}`),
      sql`\nUNION ALL BY NAME\n`,
    );
    const body = sql`SELECT ${sql.join(select, sql`, `)}\nFROM (\n${union}\n)\nGROUP BY ALL`;
    return { name: this.cte('any', body), keyed, cols };
  }
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

export interface CompileOptions {
  asOf: Date;
  /**
   * Mined complements read the basket counts kept by audiences/baskets.ts instead of mining every order; only
   * after refreshBaskets(asOf) in the same transaction or run (default false: mined in the query).
   */
  storedBaskets?: boolean;
}

/** Internal: the query plus where each condition's evidence lands in attributes. */
export function compileWithEvidence(
  def: SegmentDefinition,
  opts: CompileOptions & { readable?: boolean },
): CompiledSegment {
  const c = new Compiler(def, opts.asOf, opts.storedBaskets);
  const compiled = c.build().compile(opts.readable ? readableCompiler : compiler);
  return { sql: compiled.sql, parameters: [...compiled.parameters], evidence: c.evidence };
}

/**
 * One SQL query returning (audience VARCHAR, customer_id VARCHAR, attributes JSON) for the segment as of
 * `asOf`. audience is the segment name, or `name:<key>` for split segments. Expects a validated definition.
 */
export function compileSegment(
  def: SegmentDefinition,
  opts: CompileOptions,
): { sql: string; parameters: unknown[] } {
  const { sql: text, parameters } = compileWithEvidence(def, opts);
  return { sql: text, parameters };
}
