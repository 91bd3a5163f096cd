import type {
  Bounds,
  ComplementsCondition,
  Condition,
  CustomerColumn,
  CustomerOp,
  FollowingPurchase,
  OrderMetric,
  OrdersCondition,
  PerformedCondition,
  PurchasedCondition,
  Scalar,
  SegmentDefinition,
  SplitBy,
} from './types.ts';

/**
 * Small immutable builders that produce plain condition data. They never throw on bad values: validation
 * happens when segments are loaded, so the error can name the file and the field.
 */

/** Anything that stands for a condition: a builder or plain condition data. */
export type ConditionLike = Condition | { toCondition(): Condition };

export function toCondition(c: ConditionLike): Condition {
  return 'toCondition' in c && typeof c.toCondition === 'function' ? c.toCondition() : (c as Condition);
}

/** A length of time in days, for windows: `within(days(14))`. */
export interface Days {
  days: number;
}
export function days(n: number): Days {
  return { days: n };
}
const daysOf = (d: Days | number): number => (typeof d === 'number' ? d : d?.days);

export class SegmentBuilder {
  constructor(private readonly data: Partial<SegmentDefinition> & { name: string }) {}
  /** What the audience is, in one sentence (shown by `retarget segments`). */
  describe(description: string): SegmentBuilder {
    return new SegmentBuilder({ ...this.data, description });
  }
  /** One audience per value: `name:<category>` or `name:<product_id>`. */
  splitBy(column: SplitBy): SegmentBuilder {
    return new SegmentBuilder({ ...this.data, splitBy: column });
  }
  /** Hold out this share of the members (0 < share < 0.5): stored, never sent, compared in `retarget lift`. */
  holdout(share: number): SegmentBuilder {
    return new SegmentBuilder({ ...this.data, holdout: share });
  }
  where(condition: ConditionLike): SegmentBuilder {
    return new SegmentBuilder({ ...this.data, where: toCondition(condition) });
  }
  /** The plain data (validated later by loadSegments / parseDefinition). */
  toDefinition(): SegmentDefinition {
    return { ...this.data } as SegmentDefinition;
  }
  toJSON(): SegmentDefinition {
    return this.toDefinition();
  }
}

export function segment(name: string): SegmentBuilder {
  return new SegmentBuilder({ name });
}

abstract class Negatable<T extends Condition> {
  protected abstract readonly data: T;
  protected abstract readonly negated: boolean;
  toCondition(): Condition {
    return this.negated ? { kind: 'not', not: this.data } : this.data;
  }
}

export class PerformedBuilder extends Negatable<PerformedCondition> {
  constructor(
    protected readonly data: PerformedCondition,
    protected readonly negated = false,
  ) {
    super();
  }
  private with(patch: Partial<PerformedCondition>): PerformedBuilder {
    return new PerformedBuilder({ ...this.data, ...patch }, this.negated);
  }
  /** Only events about these products. */
  product(...productIds: string[]): PerformedBuilder {
    return this.with({ products: productIds });
  }
  /** Only events in these categories (the product's category when the event has none). */
  category(...categories: string[]): PerformedBuilder {
    return this.with({ categories });
  }
  /** Only events in (T - N days, T]. */
  within(window: Days): PerformedBuilder {
    return this.with({ withinDays: daysOf(window) });
  }
  /** At least n events (sum of event_count). */
  atLeast(n: number): PerformedBuilder {
    return this.with({ atLeast: n });
  }
  /** Only events with no matching purchase at or after them (up to T). */
  notFollowedBy(purchase: PurchasedBuilder): PerformedBuilder {
    const p = purchase.toCondition() as PurchasedCondition & { sameProduct?: boolean };
    const follow: FollowingPurchase = { kind: 'purchased' };
    for (const [k, v] of Object.entries(p))
      if (k !== 'kind') (follow as unknown as Record<string, unknown>)[k] = v;
    return this.with({ notFollowedBy: follow });
  }
  /** Key for this condition's evidence in the member attributes. */
  as(label: string): PerformedBuilder {
    return this.with({ label });
  }
}

/** Performed one of these GA4 events (e.g. 'view_item', 'add_to_cart'). */
export function performed(event: string | string[]): PerformedBuilder {
  return new PerformedBuilder({ kind: 'performed', events: Array.isArray(event) ? event : [event] });
}
/** Sugar for not(performed(...)). */
export function notPerformed(event: string | string[]): PerformedBuilder {
  return new PerformedBuilder({ kind: 'performed', events: Array.isArray(event) ? event : [event] }, true);
}

export class PurchasedBuilder extends Negatable<PurchasedCondition> {
  constructor(
    protected readonly data: PurchasedCondition & { sameProduct?: boolean },
    protected readonly negated = false,
  ) {
    super();
  }
  private with(patch: Partial<PurchasedCondition & { sameProduct?: boolean }>): PurchasedBuilder {
    return new PurchasedBuilder({ ...this.data, ...patch }, this.negated);
  }
  product(...productIds: string[]): PurchasedBuilder {
    return this.with({ products: productIds });
  }
  category(...categories: string[]): PurchasedBuilder {
    return this.with({ categories });
  }
  /** Only orders placed in (T - N days, T]. */
  within(window: Days): PurchasedBuilder {
    return this.with({ withinDays: daysOf(window) });
  }
  /** At least n distinct completed orders containing a qualifying product. */
  atLeast(n: number): PurchasedBuilder {
    return this.with({ atLeast: n });
  }
  /** Inside notFollowedBy(): the purchase must be of the event's own product. */
  ofSameProduct(): PurchasedBuilder {
    return this.with({ sameProduct: true });
  }
  as(label: string): PurchasedBuilder {
    return this.with({ label });
  }
}

/** Bought in a completed order (cancelled, refunded and unpaid orders never count). */
export function purchased(): PurchasedBuilder {
  return new PurchasedBuilder({ kind: 'purchased' });
}
/** Sugar for not(purchased()...). */
export function notPurchased(): PurchasedBuilder {
  return new PurchasedBuilder({ kind: 'purchased' }, true);
}

export class MetricBuilder {
  constructor(private readonly data: OrdersCondition) {}
  private with(patch: Bounds): MetricBuilder {
    return new MetricBuilder({ ...this.data, ...patch });
  }
  equals(n: number): MetricBuilder {
    return this.with({ equals: n });
  }
  atLeast(n: number): MetricBuilder {
    return this.with({ atLeast: n });
  }
  atMost(n: number): MetricBuilder {
    return this.with({ atMost: n });
  }
  moreThan(n: number): MetricBuilder {
    return this.with({ moreThan: n });
  }
  lessThan(n: number): MetricBuilder {
    return this.with({ lessThan: n });
  }
  toCondition(): Condition {
    return this.data;
  }
}

/** Aggregates over the customer's completed orders placed at or before T. */
export function orders() {
  const metric = (m: OrderMetric) => new MetricBuilder({ kind: 'orders', metric: m });
  return {
    /** Number of completed orders (0 for a customer without orders). */
    count: () => metric('count'),
    /** Sum of orders.total over completed orders (0 without orders). */
    totalSpent: () => metric('totalSpent'),
    /** Days from the last completed order to T (never matches without orders). */
    daysSinceLast: () => metric('daysSinceLast'),
    /** Days from the first completed order to T (never matches without orders). */
    daysSinceFirst: () => metric('daysSinceFirst'),
  };
}

/** A comparison on the customer's `customers` row. */
export function customer(column: CustomerColumn) {
  const make = (op: CustomerOp, value?: Scalar | Scalar[]): Condition =>
    value === undefined ? { kind: 'customer', column, op } : { kind: 'customer', column, op, value };
  return {
    equals: (value: Scalar) => make('equals', value),
    /** True also when the column is NULL. */
    notEquals: (value: Scalar) => make('notEquals', value),
    in: (...values: Scalar[]) => make('in', values),
    /** True also when the column is NULL. */
    notIn: (...values: Scalar[]) => make('notIn', values),
    isNull: () => make('isNull'),
    isNotNull: () => make('isNotNull'),
  };
}

export class ComplementsBuilder {
  constructor(private readonly data: ComplementsCondition) {}
  private with(patch: Partial<ComplementsCondition>): ComplementsBuilder {
    return new ComplementsBuilder({ ...this.data, ...patch });
  }
  /** Skip complements the customer has ever bought (at or before T). */
  notYetBought(): ComplementsBuilder {
    return this.with({ notYetBought: true });
  }
  /** Pairs bought together in >= minOrders completed orders with lift >= minLift. */
  mined(opts: { minOrders: number; minLift: number } = { minOrders: 5, minLift: 2.0 }): ComplementsBuilder {
    return this.with({ mined: { minOrders: opts.minOrders, minLift: opts.minLift } });
  }
  /** The merchant's declared product_complements (product_id -> complement_id). */
  declared(): ComplementsBuilder {
    return this.with({ declared: true });
  }
  /** At most n recommended products per member. */
  limit(n: number): ComplementsBuilder {
    return this.with({ limit: n });
  }
  as(label: string): ComplementsBuilder {
    return this.with({ label });
  }
  toCondition(): Condition {
    return this.data;
  }
}

/** Complements of the products matched by `bought` (e.g. purchased().within(days(90))). */
export function complementsOf(bought: PurchasedBuilder): ComplementsBuilder {
  return new ComplementsBuilder({
    kind: 'complements',
    of: bought.toCondition() as PurchasedCondition,
    declared: false,
    mined: false,
    notYetBought: false,
    limit: 10,
  });
}

export function all(...conditions: ConditionLike[]): Condition {
  return { kind: 'all', all: conditions.map(toCondition) };
}
export function any(...conditions: ConditionLike[]): Condition {
  return { kind: 'any', any: conditions.map(toCondition) };
}
export function not(condition: ConditionLike): Condition {
  return { kind: 'not', not: toCondition(condition) };
}
