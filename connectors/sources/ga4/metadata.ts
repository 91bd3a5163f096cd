import type { Ga4Metadata } from './client.ts';
import { type Ga4Config, Ga4ConfigError } from './config.ts';
import type { ResolvedReport } from './reports.ts';

export interface PropertyFields {
  dimensions: Set<string>;
  metrics: Set<string>;
}

export function propertyFields(metadata: Ga4Metadata): PropertyFields {
  return {
    dimensions: new Set((metadata.dimensions ?? []).map((d) => d.apiName ?? '').filter(Boolean)),
    metrics: new Set((metadata.metrics ?? []).map((m) => m.apiName ?? '').filter(Boolean)),
  };
}

/** Event parameter names that conventionally carry a product id. */
const ITEM_PARAM = /^customEvent:(item_?id|product_?id|sku|content_?id)$/i;

/**
 * The event-scoped custom dimension that carries the item id on events without items (add_to_wishlist), so
 * wishlist rows can name the product: configured explicitly, or discovered among the property's custom
 * dimensions; null when there is none (wishlist rows then come without a product).
 */
export function wishlistItemDimension(config: Ga4Config, fields: PropertyFields): string | null {
  const wanted = config.wishlistItemDimension;
  if (wanted === 'none') return null;
  if (wanted !== 'auto') {
    if (!fields.dimensions.has(wanted))
      throw new Ga4ConfigError(
        `GA4 property ${config.propertyId} has no dimension '${wanted}' (ga4.wishlistItemDimension); ` +
          `create an event-scoped custom dimension for the item id parameter, or set it to 'auto' or 'none'`,
      );
    return wanted;
  }
  return [...fields.dimensions].filter((d) => ITEM_PARAM.test(d)).sort()[0] ?? null;
}

/** Fails with a clear message before any report is requested when a field does not exist on the property. */
export function checkFieldsExist(config: Ga4Config, report: ResolvedReport, fields: PropertyFields): void {
  for (const d of report.dimensions) {
    if (fields.dimensions.has(d)) continue;
    const hint = d.startsWith('customUser:')
      ? ` Create a user-scoped custom dimension in GA4 (Admin > Custom definitions) for the user property ` +
        `the site sets to its customer id, or set ga4.customerDimension (GA4_CUSTOMER_DIMENSION).`
      : '';
    throw new Ga4ConfigError(
      `GA4 report '${report.name}': property ${config.propertyId} has no dimension '${d}'.${hint}`,
    );
  }
  for (const m of report.metrics)
    if (!fields.metrics.has(m))
      throw new Ga4ConfigError(
        `GA4 report '${report.name}': property ${config.propertyId} has no metric '${m}'`,
      );
}
