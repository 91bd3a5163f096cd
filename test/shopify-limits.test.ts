import { describe, expect, it } from 'vitest';
import { retryWait } from '../connectors/sources/shopify/client.ts';
import { ShopifyConfigError, shopifyConfig } from '../connectors/sources/shopify/config.ts';
import { iso, makeCustomer } from './fakes/shopify-store.ts';
import { AS_OF, SHOP, shopifyPerTest, TOKEN } from './shopify-setup.ts';

/**
 * The Shopify source under its limits: throttling, 429 and 5xx, a failed bulk operation, a refused token; retry
 * waits; settings.
 */

const { openShop, rows, count } = shopifyPerTest();

describe('Shopify source: limits and failures', () => {
  it('survives THROTTLED answers, 429 and 5xx, waiting what the cost bucket says', async () => {
    const s = await openShop({ maximumAvailable: 12, restoreRate: 40, mutationCost: 10, pollCost: 2 });
    s.fake.failNextRequests.push(429, 502, 503);
    const started = Date.now();
    const results = await s.pull();
    expect(s.fake.stats.throttled).toBeGreaterThan(3);
    expect(s.fake.stats.serverErrors).toBe(3);
    // Each throttled call waited for the bucket to refill: (10 - available) / 40 points per second.
    expect(Date.now() - started).toBeGreaterThan(1000);
    const throttled = results.reduce((n, r) => n + (r.detail as { throttled: number }).throttled, 0);
    expect(throttled).toBe(s.fake.stats.throttled + 1); // and the 429
    expect(await count('SELECT count(*) FROM orders')).toBe(s.store.orders.length);
  }, 60_000);

  it('reports a failed bulk operation with its error code, loads nothing of it, and the next run resumes', async () => {
    const s = await openShop();
    await s.pull();
    s.fake.failNextOperations.push('ACCESS_DENIED');
    const cursorBefore = await rows(
      "SELECT cursor_key, value FROM source_cursors WHERE source = 'shopify' ORDER BY 1",
    );
    s.store.customers.push(makeCustomer(77, iso(AS_OF.getTime() + 3600_000), 'SUBSCRIBED'));
    await expect(s.pull({}, new Date(AS_OF.getTime() + 86_400_000))).rejects.toThrow(
      /bulk operation .* \(customers\) FAILED with error code ACCESS_DENIED/,
    );
    expect(await count("SELECT count(*) FROM customers WHERE customer_id = '1077'")).toBe(0);
    expect(
      await rows("SELECT cursor_key, value FROM source_cursors WHERE source = 'shopify' ORDER BY 1"),
    ).toEqual(cursorBefore);
    await s.pull({}, new Date(AS_OF.getTime() + 86_400_000));
    expect(await count("SELECT count(*) FROM customers WHERE customer_id = '1077'")).toBe(1);
  });

  it('never shows the token: a refused token is a clear error without it', async () => {
    const s = await openShop();
    s.env.SHOPIFY_ACCESS_TOKEN = 'shpat_wrong_token_abcdef123456';
    const err = await s.pull().catch((e: Error) => e);
    expect((err as Error).message).toMatch(/access token was refused \(401\).*SHOPIFY_ACCESS_TOKEN/);
    expect((err as Error).message).not.toContain('shpat_wrong_token_abcdef123456');
    expect(s.logs.join('\n')).not.toContain('shpat_');
  });
});

describe('Shopify retry waits', () => {
  const limits = { retryMinMs: 10, retryMaxMs: 60_000 };
  type Res = Parameters<typeof retryWait>[0];
  it('reads Retry-After as seconds (the client would read 2.0 as 2 ms) and THROTTLED from the bucket', () => {
    const limited = {
      errors: {
        networkStatusCode: 429,
        message: '',
        response: new Response('', { status: 429, headers: { 'Retry-After': '2.0' } }),
      },
    };
    expect(retryWait(limited as unknown as Res, 1, limits)).toMatchObject({ ms: 2000, throttled: true });
    const throttled = {
      errors: {
        networkStatusCode: 200,
        message: '',
        graphQLErrors: [{ message: 'Throttled', extensions: { code: 'THROTTLED' } }],
      },
      extensions: {
        cost: {
          requestedQueryCost: 250,
          throttleStatus: { maximumAvailable: 2000, currentlyAvailable: 50, restoreRate: 100 },
        },
      },
    };
    expect(retryWait(throttled as unknown as Res, 1, limits)).toMatchObject({ ms: 2000, throttled: true });
    expect(
      retryWait({ errors: { networkStatusCode: 503, message: '' } } as unknown as Res, 3, limits)?.ms,
    ).toBe(40);
    expect(
      retryWait({ errors: { networkStatusCode: 403, message: '' } } as unknown as Res, 1, limits),
    ).toBeNull();
  });
});

describe('Shopify settings', () => {
  it('is enabled by SHOPIFY_SHOP and SHOPIFY_ACCESS_TOKEN; half a configuration names what is missing', () => {
    expect(shopifyConfig(undefined, {})).toBeUndefined();
    expect(() => shopifyConfig(undefined, { SHOPIFY_SHOP: SHOP })).toThrow(/SHOPIFY_ACCESS_TOKEN is not/);
    expect(() => shopifyConfig(undefined, { SHOPIFY_ACCESS_TOKEN: TOKEN })).toThrow(/SHOPIFY_SHOP is not/);
    expect(() => shopifyConfig({ overlapMinutes: 5 }, {})).toThrow(ShopifyConfigError);
    expect(() =>
      shopifyConfig(undefined, { SHOPIFY_SHOP: 'example.com', SHOPIFY_ACCESS_TOKEN: TOKEN }),
    ).toThrow(/\*\.myshopify\.com/);
    const c = shopifyConfig(undefined, { SHOPIFY_SHOP: `https://${SHOP}/`, SHOPIFY_ACCESS_TOKEN: TOKEN });
    expect(c).toMatchObject({ shop: SHOP, apiVersion: '2026-10', overlapMinutes: 60 });
    expect(() =>
      shopifyConfig(undefined, {
        SHOPIFY_SHOP: SHOP,
        SHOPIFY_ACCESS_TOKEN: TOKEN,
        SHOPIFY_API_VERSION: '2026-05',
      }),
    ).toThrow(/SHOPIFY_API_VERSION/);
    expect(() =>
      shopifyConfig(undefined, {
        SHOPIFY_SHOP: SHOP,
        SHOPIFY_ACCESS_TOKEN: TOKEN,
        SHOPIFY_API_VERSION: '2025-10',
      }),
    ).toThrow(/2025-10 is too old.*2026-01 or later/);
    expect(
      shopifyConfig(undefined, {
        SHOPIFY_SHOP: SHOP,
        SHOPIFY_ACCESS_TOKEN: TOKEN,
        SHOPIFY_API_VERSION: '2026-01',
      })?.apiVersion,
    ).toBe('2026-01');
  });
});
