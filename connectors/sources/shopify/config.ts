import { z } from 'zod';

/**
 * Shopify source settings: the shop and token from the environment only (SHOPIFY_SHOP, SHOPIFY_ACCESS_TOKEN), the
 * version and base URL from the environment too (SHOPIFY_API_VERSION, SHOPIFY_API_URL); tuning in
 * `sources.shopify` of retarget.config.ts.
 */

/** The newest stable Admin API version this source was written and checked against. */
export const DEFAULT_API_VERSION = '2026-10';

export const shopifySettingsSchema = z
  .object({
    /**
     * Minutes re-read before the last pulled updated_at: Shopify's search index (the bulk query filter) can lag
     * behind a write, so rows updated just before the previous pull are asked for again (re-reads are idempotent).
     */
    overlapMinutes: z
      .number()
      .int()
      .min(0)
      .max(24 * 60)
      .default(60),
    /** Hours between full id scans that remove customers and orders deleted in Shopify (0: every run). */
    deletionScanHours: z
      .number()
      .min(0)
      .max(24 * 30)
      .default(0),
    /** A scan that would remove more than this share of the loaded customers or orders is not applied. */
    maxDeletionShare: z.number().min(0).max(1).default(0.2),
    /** First wait between bulk operation polls; each wait grows by half up to pollMaxMs. */
    pollMinMs: z.number().int().min(1).default(1000),
    pollMaxMs: z.number().int().min(1).default(30_000),
    /** Give up waiting for one bulk operation after this long (Shopify allows up to 10 days). */
    bulkTimeoutMinutes: z
      .number()
      .min(0.01)
      .default(6 * 60),
    /** Retries of one GraphQL call that was throttled, rate limited (429), or failed with 5xx / network errors. */
    retries: z.number().int().min(0).max(50).default(10),
    retryMinMs: z.number().int().min(0).default(1000),
    retryMaxMs: z.number().int().min(0).default(60_000),
    /** Abort an object's load when more than this share of its rows is rejected. */
    maxRejectShare: z.number().min(0).max(1).default(0.05),
  })
  .strict();
export type ShopifySettings = z.output<typeof shopifySettingsSchema>;

export interface ShopifyConfig extends ShopifySettings {
  /** The shop's `*.myshopify.com` domain. */
  shop: string;
  accessToken: string;
  apiVersion: string;
  /** Another base URL (proxy, local fake), plaintext allowed: requests for the shop go there instead. */
  apiUrl?: string;
}

export class ShopifyConfigError extends Error {
  override name = 'ShopifyConfigError';
}

/** bulkOperation(id:) and bulkOperationRunQuery's groupObjects argument are new in this version. */
const OLDEST_VERSION = '2026-01';
const SHOP = /^[a-z0-9][a-z0-9-]*\.myshopify\.com$/;
const VERSION = /^(\d{4}-(01|04|07|10)|unstable)$/;

/** The shop domain as Shopify names it: `name.myshopify.com` (a pasted https:// URL or trailing slash is accepted). */
function shopDomain(value: string): string {
  const shop = value
    .trim()
    .toLowerCase()
    .replace(/^https?:\/\//, '')
    .replace(/\/+$/, '');
  if (!SHOP.test(shop))
    throw new ShopifyConfigError(`SHOPIFY_SHOP must be the shop's *.myshopify.com domain, got '${shop}'`);
  return shop;
}

function apiUrl(value: string | undefined): string | undefined {
  const url = value?.trim();
  if (!url) return undefined;
  if (!/^https?:\/\/[^/\s]+$/.test(url.replace(/\/+$/, '')))
    throw new ShopifyConfigError(
      `SHOPIFY_API_URL must be a base URL like http://127.0.0.1:8080, got '${url}'`,
    );
  return url.replace(/\/+$/, '');
}

/**
 * The Shopify configuration, or undefined when neither SHOPIFY_SHOP nor SHOPIFY_ACCESS_TOKEN is set. One without
 * the other, or tuning in retarget.config.ts without them, is an error naming what is missing.
 */
export function shopifyConfig(
  settings: unknown,
  env: Record<string, string | undefined>,
): ShopifyConfig | undefined {
  const shop = env.SHOPIFY_SHOP?.trim();
  const token = env.SHOPIFY_ACCESS_TOKEN?.trim();
  if (!shop && !token) {
    if (settings !== undefined)
      throw new ShopifyConfigError(
        'sources.shopify is configured but SHOPIFY_SHOP and SHOPIFY_ACCESS_TOKEN are not set',
      );
    return undefined;
  }
  if (!shop) throw new ShopifyConfigError('SHOPIFY_ACCESS_TOKEN is set but SHOPIFY_SHOP is not');
  if (!token) throw new ShopifyConfigError('SHOPIFY_SHOP is set but SHOPIFY_ACCESS_TOKEN is not');
  const version = env.SHOPIFY_API_VERSION?.trim() || DEFAULT_API_VERSION;
  if (!VERSION.test(version))
    throw new ShopifyConfigError(`SHOPIFY_API_VERSION must look like 2026-10, got '${version}'`);
  if (version !== 'unstable' && version < OLDEST_VERSION)
    throw new ShopifyConfigError(
      `SHOPIFY_API_VERSION ${version} is too old: bulk operations polled by id (bulkOperation(id:)) and groupObjects need ${OLDEST_VERSION} or later`,
    );
  const parsed = shopifySettingsSchema.safeParse(settings ?? {});
  if (!parsed.success)
    throw new ShopifyConfigError(
      `invalid Shopify settings: ${parsed.error.issues.map((i) => `${['sources', 'shopify', ...i.path].join('.')}: ${i.message}`).join('; ')}`,
    );
  return {
    ...parsed.data,
    shop: shopDomain(shop),
    accessToken: token,
    apiVersion: version,
    apiUrl: apiUrl(env.SHOPIFY_API_URL),
  };
}
