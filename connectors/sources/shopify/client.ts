import { createAdminApiClient } from '@shopify/admin-api-client';
import { redact } from '../../../shared/redact.ts';
import type { ShopifyConfig } from './config.ts';

/**
 * Every Admin API call goes through @shopify/admin-api-client (the token travels in X-Shopify-Access-Token only).
 * The client's own retries are off: it would read `Retry-After: 2.0` as 2 ms and never retries THROTTLED (HTTP
 * 200), so calls are retried here, waiting what the cost bucket (`extensions.cost.throttleStatus`) says.
 */

export interface ThrottleStatus {
  maximumAvailable?: number;
  currentlyAvailable?: number;
  restoreRate?: number;
}

interface Cost {
  requestedQueryCost?: number;
  actualQueryCost?: number;
  throttleStatus?: ThrottleStatus;
}

/** A call Shopify refused, or gave up on after retries; its message never carries the token. */
export class ShopifyApiError extends Error {
  override name = 'ShopifyApiError';
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface ShopifyApi {
  /** Runs a query or mutation, retried when throttled or on 429/5xx/network errors; throws on anything else. */
  graphql<T>(what: string, query: string, variables?: Record<string, unknown>): Promise<T>;
  /** Calls made and retries waited, for the run's detail. */
  readonly stats: { requests: number; throttled: number; retried: number; waitedMs: number };
}

/** Where a request for the shop goes: the shop itself, or SHOPIFY_API_URL (plaintext allowed) in its place. */
function fetchFor(config: ShopifyConfig): typeof fetch | undefined {
  const base = config.apiUrl;
  if (!base) return undefined;
  // The client forces https on the shop domain; a proxy or local server gets the same path on its own base URL.
  const shopUrl = `https://${config.shop}`;
  return (url, init) => {
    const target = String(url);
    return fetch(target.startsWith(shopUrl) ? base + target.slice(shopUrl.length) : target, init);
  };
}

export function createShopifyApi(config: ShopifyConfig, log: (m: string) => void): ShopifyApi {
  const client = createAdminApiClient({
    storeDomain: config.shop,
    apiVersion: config.apiVersion,
    accessToken: config.accessToken,
    retries: 0,
    customFetchApi: fetchFor(config),
  });
  const stats = { requests: 0, throttled: 0, retried: 0, waitedMs: 0 };
  const clean = (text: string) => redact(text, { secrets: { SHOPIFY_ACCESS_TOKEN: config.accessToken } });
  return {
    stats,
    async graphql<T>(what: string, query: string, variables?: Record<string, unknown>): Promise<T> {
      for (let attempt = 1; ; attempt++) {
        stats.requests++;
        const res = await client.request(query, { variables });
        if (!res.errors) return res.data as T;
        const wait = retryWait(res, attempt, config);
        if (wait === null || attempt > config.retries) throw failure(config, what, res, attempt, clean);
        if (wait.throttled) stats.throttled++;
        stats.retried++;
        stats.waitedMs += wait.ms;
        log(`Shopify ${what}: ${wait.why}; retrying in ${(wait.ms / 1000).toFixed(1)} s`);
        await sleep(wait.ms);
      }
    },
  };
}

type Response = Awaited<ReturnType<ReturnType<typeof createAdminApiClient>['request']>>;

const errorCodes = (res: Response): string[] =>
  (res.errors?.graphQLErrors ?? []).map((e) => String((e.extensions as { code?: unknown })?.code ?? ''));

/** How long to wait before retrying, or null when retrying cannot help (bad token, missing scope, bad query). */
export function retryWait(
  res: Response,
  attempt: number,
  config: Pick<ShopifyConfig, 'retryMinMs' | 'retryMaxMs'>,
): { ms: number; why: string; throttled: boolean } | null {
  const status = res.errors?.networkStatusCode;
  const backoff = Math.min(config.retryMaxMs, config.retryMinMs * 2 ** (attempt - 1));
  if (errorCodes(res).includes('THROTTLED')) {
    const cost = (res.extensions as { cost?: Cost } | undefined)?.cost;
    return {
      ms: throttleWait(cost, config) ?? backoff,
      why: 'throttled (cost bucket empty)',
      throttled: true,
    };
  }
  if (status === 429) {
    const after = Number(res.errors?.response?.headers.get('Retry-After'));
    const ms = Number.isFinite(after) && after > 0 ? Math.min(config.retryMaxMs, after * 1000) : backoff;
    return { ms, why: 'rate limited (429)', throttled: true };
  }
  if (status === undefined || status >= 500)
    return { ms: backoff, why: status ? `HTTP ${status}` : 'network error', throttled: false };
  return null;
}

/**
 * The time the leaky bucket needs to refill what the query asks for: (requested - available) / restoreRate,
 * at least retryMinMs (the bucket reports whole points), at most retryMaxMs. Null without a throttle status.
 */
export function throttleWait(
  cost: Cost | undefined,
  config: Pick<ShopifyConfig, 'retryMinMs' | 'retryMaxMs'>,
): number | null {
  const t = cost?.throttleStatus;
  if (!t?.restoreRate || t.currentlyAvailable === undefined) return null;
  const need = (cost?.requestedQueryCost ?? t.maximumAvailable ?? 1) - t.currentlyAvailable;
  const ms = Math.ceil((Math.max(need, 1) / t.restoreRate) * 1000);
  return Math.min(config.retryMaxMs, Math.max(config.retryMinMs, ms));
}

function failure(
  config: ShopifyConfig,
  what: string,
  res: Response,
  attempt: number,
  clean: (t: string) => string,
): ShopifyApiError {
  const status = res.errors?.networkStatusCode;
  const codes = errorCodes(res).filter(Boolean);
  const messages = (res.errors?.graphQLErrors ?? []).map((e) => e.message).join('; ');
  const detail = messages || res.errors?.message || 'no detail';
  const where = `Shopify ${what} for ${config.shop}`;
  let message: string;
  if (status === 401)
    message = `${where}: the access token was refused (401); create a new Admin API token and set SHOPIFY_ACCESS_TOKEN`;
  else if (status === 403 || codes.includes('ACCESS_DENIED'))
    message = `${where}: access denied (${detail}); the app needs the read_customers, read_products and read_orders scopes, and manage_abandoned_checkouts for abandoned checkouts (docs/shopify.md)`;
  else if (status === 402 || status === 423)
    message = `${where}: the shop is unavailable (HTTP ${status}: frozen, unpaid or locked)`;
  else if (status === 404)
    message = `${where}: not found (404); check SHOPIFY_SHOP and SHOPIFY_API_VERSION (${config.apiVersion})`;
  else if (
    attempt > config.retries &&
    (status === undefined || status === 429 || status >= 500 || codes.includes('THROTTLED'))
  )
    message = `${where}: gave up after ${config.retries} retries (${codes[0] ?? (status ? `HTTP ${status}` : 'network error')}: ${detail}); the next run resumes from the last committed cursor`;
  else message = `${where} failed${status ? ` (HTTP ${status})` : ''}: ${detail}`;
  return new ShopifyApiError(clean(message), status, codes[0]);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
