import { Ga4ConfigError, type Ga4ReportDefinition, ITEM_PARAM_DIMENSION } from './config.ts';

/** A report definition made concrete for one property: the request's fields and where each column comes from. */
export interface ResolvedReport {
  name: string;
  kind: 'items' | 'events';
  time: 'date' | 'dateHour';
  dimensions: string[];
  metrics: string[];
  /** Index in `dimensions` of each mapped column. */
  columns: { time: number; customer: number; eventName?: number; product?: number; category?: number };
  /** items: the event name each metric counts, by metric index. */
  metricEvents?: string[];
  /** events: the eventName filter. */
  eventNames?: string[];
}

/** GA4's item-scoped dimensions: they combine only with item-scoped (and user/session) metrics. */
export const ITEM_SCOPED_DIMENSIONS = new Set([
  'itemAffiliation',
  'itemBrand',
  'itemCategory',
  'itemCategory2',
  'itemCategory3',
  'itemCategory4',
  'itemCategory5',
  'itemId',
  'itemListId',
  'itemListName',
  'itemListPosition',
  'itemName',
  'itemPromotionCreativeName',
  'itemPromotionCreativeSlot',
  'itemPromotionId',
  'itemPromotionName',
  'itemVariant',
]);

export const ITEM_SCOPED_METRICS = new Set([
  'itemsViewed',
  'itemsAddedToCart',
  'itemsCheckedOut',
  'itemsPurchased',
  'itemsViewedInList',
  'itemsClickedInList',
  'itemsViewedInPromotion',
  'itemsClickedInPromotion',
  'itemRevenue',
  'grossItemRevenue',
  'itemDiscountAmount',
  'itemRefundAmount',
]);

export interface ReportContext {
  customerDimension: string;
  /** The event-scoped item id dimension, when the property has one. */
  itemParamDimension: string | null;
}

export function resolveReport(def: Ga4ReportDefinition, ctx: ReportContext): ResolvedReport {
  const dimensions: string[] = [def.time, def.customerDimension ?? ctx.customerDimension];
  const columns: ResolvedReport['columns'] = { time: 0, customer: 1 };
  const add = (name: string): number => dimensions.push(name) - 1;
  if (def.kind === 'events') columns.eventName = add('eventName');
  const product =
    def.productDimension === ITEM_PARAM_DIMENSION ? ctx.itemParamDimension : def.productDimension;
  if (product) columns.product = add(product);
  if (def.categoryDimension) columns.category = add(def.categoryDimension);
  const resolved: ResolvedReport =
    def.kind === 'items'
      ? {
          name: def.name,
          kind: 'items',
          time: def.time,
          dimensions,
          metrics: Object.keys(def.metrics),
          columns,
          metricEvents: Object.values(def.metrics),
        }
      : {
          name: def.name,
          kind: 'events',
          time: def.time,
          dimensions,
          metrics: [def.countMetric],
          columns,
          eventNames: def.eventNames,
        };
  checkCompatibility(resolved);
  return resolved;
}

/** GA4's documented limits and scope rules, checked before spending quota on a request GA4 would refuse. */
export function checkCompatibility(r: ResolvedReport): void {
  const where = `GA4 report '${r.name}'`;
  if (new Set(r.dimensions).size !== r.dimensions.length)
    throw new Ga4ConfigError(`${where}: a dimension is used twice (${r.dimensions.join(', ')})`);
  if (r.dimensions.length > 9)
    throw new Ga4ConfigError(`${where}: at most 9 dimensions, has ${r.dimensions}`);
  if (r.metrics.length > 10) throw new Ga4ConfigError(`${where}: at most 10 metrics`);
  const itemDims = r.dimensions.filter((d) => ITEM_SCOPED_DIMENSIONS.has(d));
  const nonItemMetrics = r.metrics.filter((m) => !ITEM_SCOPED_METRICS.has(m));
  if (itemDims.length && nonItemMetrics.length)
    throw new Ga4ConfigError(
      `${where}: item-scoped dimension(s) ${itemDims.join(', ')} cannot be combined with ` +
        `event-scoped metric(s) ${nonItemMetrics.join(', ')}; use item-scoped metrics (e.g. itemsViewed)`,
    );
  if (r.kind === 'items' && nonItemMetrics.length)
    throw new Ga4ConfigError(`${where}: 'items' reports take item-scoped metrics, not ${nonItemMetrics}`);
}
