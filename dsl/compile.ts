import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
} from 'kysely';
import type { Database } from '../warehouse/schema.ts';
import { compileComplements } from './compile-complements.ts';
import { type EvidenceKeys, type Frag, id, lit, lits, type Rel } from './compile-fragments.ts';
import { compileOrders, type OrdersScope, orderStatsQuery } from './compile-orders.ts';
import { readableCompiler } from './readable-sql.ts';
import type {
  Condition,
  CustomerCondition,
  OrdersCondition,
  PerformedCondition,
  PurchasedCondition,
  Scalar,
  SegmentDefinition,
} from './types.ts';

export type { EvidenceKeys } from './compile-fragments.ts';

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

export interface CompiledSegment {
  sql: string;
  parameters: unknown[];
  evidence: EvidenceKeys;
}

class Compiler implements OrdersScope {
  private readonly ctes: Array<{ name: string; body: Frag; inline: boolean }> = [];
  private readonly used = new Set<string>();
  private counter = 0;
  private universeName?: string;
  private orderStatsName?: string;
  readonly evidence: EvidenceKeys = new Map();

  constructor(
    private readonly def: SegmentDefinition,
    private readonly asOf: Date,
    readonly storedBaskets = false,
  ) {}

  private get split() {
    return this.def.splitBy;
  }
  get t(): Frag {
    return lit(this.asOf);
  }
  /** T - N days (exact 24-hour days; timestamps are UTC). */
  since(days: number): Frag {
    return lit(new Date(this.asOf.getTime() - days * DAY_MS));
  }
  cte(prefix: string, body: Frag, inline = false): string {
    const name = `${prefix}_${++this.counter}`;
    this.ctes.push({ name, body, inline });
    return name;
  }
  key(name: string): string {
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
      this.ctes.map((c) => sql`${id(c.name)} AS ${c.inline ? sql`NOT MATERIALIZED ` : sql``}(\n${c.body}\n)`),
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
        return compileOrders(this, [c], want);
      case 'customer':
        return this.customers([c]);
      case 'complements':
        return compileComplements(this, c, want);
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

  purchaseWhere(c: PurchasedCondition): Frag[] {
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

  universe(): string {
    this.universeName ??= this.cte(
      'known_customers',
      sql`SELECT customer_id FROM customers\nUNION\nSELECT customer_id FROM orders WHERE customer_id IS NOT NULL AND ordered_at <= ${this.t}\nUNION\nSELECT customer_id FROM events WHERE customer_id IS NOT NULL AND occurred_at <= ${this.t}`,
    );
    return this.universeName;
  }

  /** Per-customer order aggregates, one CTE shared by every orders() condition. */
  orderStats(): string {
    this.orderStatsName ??= this.cte('order_stats', orderStatsQuery(this.def.where, this.t));
    return this.orderStatsName;
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
    if (orders.length) rels.push(compileOrders(this, orders, want));
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
