import { CONTACT_COLUMNS } from '../warehouse/table-specs.ts';
/**
 * The plain data a segment definition compiles from. Builders (dsl/builders.ts) produce it; marketers may also
 * write it by hand. Everything is JSON-able so definitions can be stored, diffed and overridden in config.
 */

/** One audience per value of this column: `name:<category>` or `name:<product_id>`. */
export type SplitBy = 'category' | 'product';

/** Numeric bounds; every bound given must hold (`atLeast: 180, lessThan: 1095` means 180 <= x < 1095). */
export interface Bounds {
  equals?: number;
  atLeast?: number;
  atMost?: number;
  moreThan?: number;
  lessThan?: number;
}

/** Performed one of `events` (GA4 names) at or before T, optionally in the last `withinDays` days. */
export interface PerformedCondition {
  kind: 'performed';
  events: string[];
  products?: string[];
  categories?: string[];
  /** Window (T - N days, T]; absent = all history up to T. */
  withinDays?: number;
  /** Minimum sum of event_count over qualifying events (default 1). */
  atLeast?: number;
  /** Only events not followed (at or after them, up to T) by a matching purchase count. */
  notFollowedBy?: FollowingPurchase;
  /** Name used for this condition's evidence in `attributes` (default: the event names). */
  label?: string;
}

/** A purchase that cancels an earlier event: `purchased().ofSameProduct()` inside notFollowedBy. */
export interface FollowingPurchase {
  kind: 'purchased';
  /** The purchase must be of the event's product (an event without product is cancelled by any purchase). */
  sameProduct?: boolean;
  products?: string[];
  categories?: string[];
}

/** Bought (completed orders only) at or before T, optionally in the last `withinDays` days. */
export interface PurchasedCondition {
  kind: 'purchased';
  products?: string[];
  categories?: string[];
  withinDays?: number;
  /** Minimum number of distinct qualifying orders (default 1). */
  atLeast?: number;
  label?: string;
}

export type OrderMetric = 'count' | 'totalSpent' | 'daysSinceLast' | 'daysSinceFirst';

/** An aggregate over the customer's completed orders placed at or before T. */
export interface OrdersCondition extends Bounds {
  kind: 'orders';
  metric: OrderMetric;
}

export const CUSTOMER_COLUMNS = [...CONTACT_COLUMNS, 'created_at', 'ads_consent'] as const;
export type CustomerColumn = (typeof CUSTOMER_COLUMNS)[number];
export type CustomerOp = 'equals' | 'notEquals' | 'in' | 'notIn' | 'isNull' | 'isNotNull';
export type Scalar = string | number | boolean;

/** A comparison on the customer's row in `customers` (a customer without a row never matches). */
export interface CustomerCondition {
  kind: 'customer';
  column: CustomerColumn;
  op: CustomerOp;
  value?: Scalar | Scalar[];
}

/** Products that complement what the customer bought: each complement is a recommendation. */
export interface ComplementsCondition {
  kind: 'complements';
  /** What the customer bought (the "A" products), e.g. purchased in the last 90 days. */
  of: PurchasedCondition;
  /** Use the merchant's declared product_complements (product_id -> complement_id). */
  declared: boolean;
  /** Mine pairs from baskets of completed orders; false to skip. */
  mined: false | { minOrders: number; minLift: number };
  /** Drop complements the customer has ever bought (at or before T). */
  notYetBought: boolean;
  /** At most this many recommended products per member. */
  limit: number;
  label?: string;
}

export interface AllCondition {
  kind: 'all';
  all: Condition[];
}
export interface AnyCondition {
  kind: 'any';
  any: Condition[];
}
export interface NotCondition {
  kind: 'not';
  not: Condition;
}

export type Condition =
  | PerformedCondition
  | PurchasedCondition
  | OrdersCondition
  | CustomerCondition
  | ComplementsCondition
  | AllCondition
  | AnyCondition
  | NotCondition;

export interface SegmentDefinition {
  /** Lower-case identifier; the audience name (or its prefix when split). */
  name: string;
  description: string;
  splitBy?: SplitBy;
  /**
   * Share of the members held out (0 < share < 0.5): stored, never sent to a destination, so lift can be
   * measured (docs/metrics.md). Wins over the config's holdouts; absent = the config's, else no holdout.
   */
  holdout?: number;
  where: Condition;
}
