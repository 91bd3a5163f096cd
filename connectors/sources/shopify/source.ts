import type { Warehouse } from '../../../warehouse/warehouse.ts';
import type {
  PartialLoadError,
  SourceDefinition,
  SourceLoad,
  SourceLoadContext,
  SourceLoadResult,
} from '../contract.ts';
import { openScratch, removeScratch } from '../scratch.ts';
import { adoptRegisteredGuests } from '../store-records.ts';
import { SHOPIFY_DOWNLOADS } from './bulk.ts';
import { createShopifyApi } from './client.ts';
import { type ShopifyConfig, type ShopifySettings, shopifyConfig, shopifySettingsSchema } from './config.ts';
import { type DeletionScan, scanDeletions, scanDue } from './deletions.ts';
import { SCANNED, SHOPIFY_OBJECTS, type ShopifyObjectName } from './objects.ts';
import { type ObjectPull, pullObject } from './pull.ts';

/** Load order: customers before orders (guests are adopted by the customers already loaded). */
const ORDER: readonly ShopifyObjectName[] = ['customers', 'products', 'orders', 'checkouts'];

export interface ShopifyObjectDetail {
  pull: ObjectPull;
  deletions: DeletionScan | null;
  /** Guests adopted by a registered customer after the orders loaded. */
  adopted?: number;
  requests: number;
  throttled: number;
  retried: number;
  waitedMs: number;
}

/**
 * Shopify: one recorded step per object (`load:shopify_customers`, `_products`, `_orders`, `_checkouts`), so
 * `retarget runs <run>` shows the rows pulled for each; each step pulls what changed, then (customers, orders)
 * removes what Shopify deleted.
 */
export const shopifySource: SourceDefinition<ShopifySettings> = {
  name: 'shopify',
  settings: shopifySettingsSchema,
  env: ['SHOPIFY_SHOP', 'SHOPIFY_ACCESS_TOKEN', 'SHOPIFY_API_VERSION', 'SHOPIFY_API_URL'],
  fromConfig(settings, env) {
    const config = shopifyConfig(settings, env);
    if (!config) return [];
    return ORDER.map(
      (name): SourceLoad => ({
        step: `shopify_${name}`,
        load: (wh, ctx) => loadObject(wh, config, name, ctx),
      }),
    );
  },
};

async function loadObject(
  wh: Warehouse,
  config: ShopifyConfig,
  name: ShopifyObjectName,
  ctx: SourceLoadContext,
): Promise<SourceLoadResult> {
  openScratch(wh, SHOPIFY_DOWNLOADS);
  try {
    return await pullAndScan(wh, config, name, ctx);
  } finally {
    removeScratch(wh, SHOPIFY_DOWNLOADS);
  }
}

async function pullAndScan(
  wh: Warehouse,
  config: ShopifyConfig,
  name: ShopifyObjectName,
  ctx: SourceLoadContext,
): Promise<SourceLoadResult> {
  const api = createShopifyApi(config, ctx.log);
  const object = SHOPIFY_OBJECTS[name];
  const pull = await pullObject(wh, api, config, object, ctx);
  const warnings: string[] = [];
  const detail: ShopifyObjectDetail = { pull, deletions: null, ...api.stats };
  try {
    if (SCANNED.includes(name) && (await scanDue(wh, config, object, ctx.asOf))) {
      detail.deletions = await scanDeletions(wh, api, config, object, ctx);
      if (detail.deletions.refused) warnings.push(detail.deletions.refused);
      else if (detail.deletions.deleted)
        ctx.log(`Shopify ${name}: removed ${detail.deletions.deleted} deleted in Shopify`);
    }
    if (name === 'orders') detail.adopted = (await adoptRegisteredGuests(wh)).guests;
  } catch (err) {
    // The pull itself committed: report its rows with the failure.
    (err as PartialLoadError).partial = result(pull, warnings, detail);
    throw err;
  }
  if (pull.skipped)
    ctx.log(
      name === 'orders'
        ? `Shopify orders: ${pull.skipped} line items of no catalogue product (custom items) not loaded`
        : `Shopify checkouts: ${pull.skipped} abandoned checkouts without a customer not loaded`,
    );
  Object.assign(detail, api.stats);
  return result(pull, warnings, detail);
}

function result(pull: ObjectPull, warnings: string[], detail: ShopifyObjectDetail): SourceLoadResult {
  return {
    loads: pull.loads,
    warnings,
    rowsIn: pull.objects,
    rowsOut: pull.loads.reduce((n, l) => n + l.rowsLoaded, 0),
    detail,
  };
}
