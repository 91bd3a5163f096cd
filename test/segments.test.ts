import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import cartAbandoners from '../segments/cart_abandoners.ts';
import categoryBrowsers from '../segments/category_browsers.ts';
import complementaryProducts from '../segments/complementary_products.ts';
import oneTimeBuyers from '../segments/one_time_buyers.ts';
import passivePastBuyers from '../segments/passive_past_buyers.ts';
import wishlisted from '../segments/wishlisted.ts';
import { type TestStore, testStore } from './helpers/store.ts';

// Every spec evaluates as of T. "N days before T" is exact: T - N * 24h.
const T = '2026-03-31T00:00:00Z';
const daysBefore = (days: number, seconds = 0) =>
  new Date(Date.parse(T) - days * 86_400_000 + seconds * 1000);
const secondsAfter = (seconds: number) => new Date(Date.parse(T) + seconds * 1000);

let store: TestStore;
beforeEach(async () => {
  store = await testStore();
});
afterEach(() => store.close());

describe('wishlisted: add_to_wishlist for p in the last 30 days, p not bought at or after it', () => {
  it('includes a wishlist just inside the window and excludes one exactly 30 days before T', async () => {
    await store.event('inside', 'add_to_wishlist', { product: 'p1', at: daysBefore(30, 1) });
    await store.event('edge', 'add_to_wishlist', { product: 'p1', at: daysBefore(30) });
    await store.event('at_t', 'add_to_wishlist', { product: 'p1', at: T });
    await store.event('future', 'add_to_wishlist', { product: 'p1', at: secondsAfter(1) });
    expect(await store.members(wishlisted, { asOf: T })).toEqual(['at_t', 'inside']);
  });

  it('is cancelled by a completed purchase of the same product at or after the wishlist, up to T', async () => {
    for (const c of [
      'bought_after',
      'bought_same_instant',
      'bought_before',
      'bought_other',
      'cancelled',
      'refunded',
      'after_t',
    ])
      await store.event(c, 'add_to_wishlist', { product: 'p1', at: daysBefore(10) });
    await store.order('bought_after', { at: daysBefore(5), items: ['p1'] });
    await store.order('bought_same_instant', { at: daysBefore(10), items: ['p1'] });
    await store.order('bought_before', { at: daysBefore(11), items: ['p1'] });
    await store.order('bought_other', { at: daysBefore(5), items: ['p2'] });
    await store.order('cancelled', { at: daysBefore(5), items: ['p1'], status: 'cancelled' });
    await store.order('refunded', { at: daysBefore(5), items: ['p1'], status: 'REFUNDED' });
    await store.order('after_t', { at: secondsAfter(1), items: ['p1'] });
    expect(await store.members(wishlisted, { asOf: T })).toEqual([
      'after_t',
      'bought_before',
      'bought_other',
      'cancelled',
      'refunded',
    ]);
  });

  it('keeps a member while another wishlisted product is still unbought, listing only unbought products', async () => {
    await store.event('c1', 'add_to_wishlist', { product: 'p1', at: daysBefore(10) });
    await store.event('c1', 'add_to_wishlist', { product: 'p2', at: daysBefore(9) });
    await store.event('c1', 'add_to_wishlist', { product: 'p3', at: daysBefore(8) });
    await store.order('c1', { at: daysBefore(2), items: ['p2'] });
    expect(await store.attributes(wishlisted, 'c1', { asOf: T })).toEqual({
      add_to_wishlist_count: 2,
      add_to_wishlist_products: ['p1', 'p3'],
    });
  });

  it('a re-wishlist after the purchase makes the customer a member again', async () => {
    await store.event('c1', 'add_to_wishlist', { product: 'p1', at: daysBefore(10) });
    await store.order('c1', { at: daysBefore(8), items: ['p1'] });
    await store.event('c1', 'add_to_wishlist', { product: 'p1', at: daysBefore(3) });
    expect(await store.members(wishlisted, { asOf: T })).toEqual(['c1']);
    expect(await store.members(wishlisted, { asOf: daysBefore(5) })).toEqual([]);
  });

  it('a wishlist without a product is cancelled by any purchase at or after it', async () => {
    await store.event('any_after', 'add_to_wishlist', { at: daysBefore(10) });
    await store.event('before_only', 'add_to_wishlist', { at: daysBefore(10) });
    await store.order('any_after', { at: daysBefore(4), items: ['p9'] });
    await store.order('before_only', { at: daysBefore(12), items: ['p9'] });
    expect(await store.members(wishlisted, { asOf: T })).toEqual(['before_only']);
  });

  it('needs a customer id but no customers row; anonymous and other events do not count', async () => {
    await store.event(null, 'add_to_wishlist', { product: 'p1', at: daysBefore(1) });
    await store.event('viewer', 'view_item', { product: 'p1', at: daysBefore(1) });
    await store.event('no_row', 'add_to_wishlist', { product: 'p1', at: daysBefore(1) });
    expect(await store.members(wishlisted, { asOf: T })).toEqual(['no_row']);
  });
});

describe('category_browsers:<category>: >= 3 view_item in the category in 14 days, no purchase in it in 14 days', () => {
  beforeEach(async () => {
    await store.product('shoe1', { category: 'Shoes' });
    await store.product('shoe2', { category: 'Shoes' });
    await store.product('hat1', { category: 'Hats' });
  });
  const views = async (c: string, product: string, times: number, at: Date) => {
    for (let i = 0; i < times; i++) await store.event(c, 'view_item', { product, at });
  };

  it('counts views per category (sum of event_count) inside (T - 14 days, T]', async () => {
    await views('three', 'shoe1', 2, daysBefore(3));
    await views('three', 'shoe2', 1, daysBefore(14, 1));
    await views('two_plus_edge', 'shoe1', 2, daysBefore(3));
    await views('two_plus_edge', 'shoe1', 1, daysBefore(14));
    await views('two_plus_future', 'shoe1', 2, daysBefore(3));
    await views('two_plus_future', 'shoe1', 1, secondsAfter(1));
    await store.event('counted', 'view_item', { product: 'hat1', at: daysBefore(1), count: 3 });
    expect(await store.audiences(categoryBrowsers, { asOf: T })).toEqual({
      'category_browsers:Hats': ['counted'],
      'category_browsers:Shoes': ['three'],
    });
  });

  it("takes the product's category when the event has none, and the event's own category otherwise", async () => {
    await store.event('c1', 'view_item', { product: 'shoe1', category: 'Sale', at: daysBefore(1), count: 3 });
    await store.event('c2', 'view_item', { category: 'Hats', at: daysBefore(1), count: 3 });
    await store.event('c3', 'view_item', { product: 'unknown', at: daysBefore(1), count: 3 });
    expect(await store.audiences(categoryBrowsers, { asOf: T })).toEqual({
      'category_browsers:Hats': ['c2'],
      'category_browsers:Sale': ['c1'],
    });
  });

  it('a purchase in the same category within 14 days removes only that audience', async () => {
    for (const c of ['bought_shoes', 'bought_hat', 'bought_edge', 'cancelled', 'after_t']) {
      await views(c, 'shoe1', 3, daysBefore(2));
      await views(c, 'hat1', 3, daysBefore(2));
    }
    await store.order('bought_shoes', { at: daysBefore(1), items: ['shoe2'] });
    await store.order('bought_hat', { at: daysBefore(13), items: ['hat1'] });
    await store.order('bought_edge', { at: daysBefore(14), items: ['shoe1', 'hat1'] });
    await store.order('cancelled', { at: daysBefore(1), items: ['shoe1'], status: 'cancelled' });
    await store.order('after_t', { at: secondsAfter(1), items: ['shoe1'] });
    expect(await store.audiences(categoryBrowsers, { asOf: T })).toEqual({
      'category_browsers:Hats': ['after_t', 'bought_edge', 'bought_shoes', 'cancelled'],
      'category_browsers:Shoes': ['after_t', 'bought_edge', 'bought_hat', 'cancelled'],
    });
  });

  it('carries the view count and explains membership per category', async () => {
    await views('c1', 'shoe1', 4, daysBefore(1));
    expect(await store.attributes(categoryBrowsers, 'c1', { asOf: T })).toEqual({ view_item_count: 4 });
    const [m] = await store.explain(categoryBrowsers, { asOf: T, audience: 'category_browsers:Shoes' });
    expect(m?.reasons).toEqual([
      "viewed in 'Shoes' 4x in the last 14 days (>= 3)",
      "no purchase in 'Shoes' in the last 14 days",
    ]);
  });
});

describe('passive_past_buyers: last completed order at least 180 and less than 1095 days before T', () => {
  it('pins both edges of the interval', async () => {
    await store.order('at_180', { at: daysBefore(180), items: ['p1'] });
    await store.order('just_under_180', { at: daysBefore(180, 1), items: ['p1'] });
    await store.order('just_under_1095', { at: daysBefore(1095, 1), items: ['p1'] });
    await store.order('at_1095', { at: daysBefore(1095), items: ['p1'] });
    expect(await store.members(passivePastBuyers, { asOf: T })).toEqual(['at_180', 'just_under_1095']);
  });

  it('uses the most recent completed order at or before T', async () => {
    for (const c of ['recent', 'recent_cancelled', 'recent_after_t', 'never_completed']) {
      await store.order(c, {
        at: daysBefore(400),
        items: ['p1'],
        status: c === 'never_completed' ? 'refunded' : 'completed',
      });
    }
    await store.order('recent', { at: daysBefore(10), items: ['p1'] });
    await store.order('recent_cancelled', { at: daysBefore(10), items: ['p1'], status: 'cancelled' });
    await store.order('recent_after_t', { at: secondsAfter(60), items: ['p1'] });
    expect(await store.members(passivePastBuyers, { asOf: T })).toEqual([
      'recent_after_t',
      'recent_cancelled',
    ]);
    expect(await store.attributes(passivePastBuyers, 'recent_cancelled', { asOf: T })).toEqual({
      last_order_at: '2025-02-24T00:00:00Z',
    });
  });
});

describe('one_time_buyers: exactly one completed order ever, placed in the last 90 days', () => {
  it('pins the 90-day edge', async () => {
    await store.order('inside', { at: daysBefore(90, 1), items: ['p1'] });
    await store.order('edge', { at: daysBefore(90), items: ['p1'] });
    expect(await store.members(oneTimeBuyers, { asOf: T })).toEqual(['inside']);
  });

  it('counts only completed orders at or before T', async () => {
    for (const c of ['two', 'second_cancelled', 'second_after_t', 'old_first'])
      await store.order(c, { at: daysBefore(5), items: ['p1'] });
    await store.order('two', { at: daysBefore(3), items: ['p1'] });
    await store.order('second_cancelled', { at: daysBefore(3), items: ['p1'], status: 'cancelled' });
    await store.order('second_after_t', { at: secondsAfter(1), items: ['p1'] });
    await store.order('old_first', { at: daysBefore(400), items: ['p1'] });
    await store.order(null, { at: daysBefore(5), items: ['p1'] });
    expect(await store.members(oneTimeBuyers, { asOf: T })).toEqual(['second_after_t', 'second_cancelled']);
    expect(await store.attributes(oneTimeBuyers, 'second_cancelled', { asOf: T })).toEqual({
      orders_count: 1,
      last_order_at: '2026-03-26T00:00:00Z',
    });
  });
});

describe('cart_abandoners: add_to_cart for p in the last 7 days, p not bought at or after it', () => {
  it('pins the 7-day edge and the purchase exclusions', async () => {
    await store.event('inside', 'add_to_cart', { product: 'p1', at: daysBefore(7, 1) });
    await store.event('edge', 'add_to_cart', { product: 'p1', at: daysBefore(7) });
    for (const c of ['bought', 'bought_before', 'refunded', 'other_product'])
      await store.event(c, 'add_to_cart', { product: 'p1', at: daysBefore(3) });
    await store.order('bought', { at: daysBefore(1), items: ['p1'] });
    await store.order('bought_before', { at: daysBefore(4), items: ['p1'] });
    await store.order('refunded', { at: daysBefore(1), items: ['p1'], status: 'refunded' });
    await store.order('other_product', { at: daysBefore(1), items: ['p2'] });
    expect(await store.members(cartAbandoners, { asOf: T })).toEqual([
      'bought_before',
      'inside',
      'other_product',
      'refunded',
    ]);
  });
});

describe('complementary_products: bought A in 90 days, complement B never bought; declared + mined (>= 5 orders, lift >= 2)', () => {
  /** n orders with these items and no known customer: they shape the basket statistics only. */
  const baskets = async (n: number, items: string[], status = 'completed') => {
    for (let i = 0; i < n; i++) await store.order(null, { at: daysBefore(200), items, status });
  };
  const recommended = async (c: string, asOf: string | Date = T) =>
    (await store.attributes(complementaryProducts, c, { asOf }))?.recommended_products;

  it('recommends declared complements (product_id -> complement_id only) of products bought in the last 90 days', async () => {
    await store.complement('A', 'B');
    await store.complement('C', 'A');
    await store.order('buyer', { at: daysBefore(90, 1), items: ['A'] });
    await store.order('edge', { at: daysBefore(90), items: ['A'] });
    await store.order('cancelled', { at: daysBefore(1), items: ['A'], status: 'cancelled' });
    await store.order('future', { at: secondsAfter(1), items: ['A'] });
    expect(await store.members(complementaryProducts, { asOf: T })).toEqual(['buyer']);
    expect(await recommended('buyer')).toEqual(['B']);
  });

  it('drops complements the member has ever bought (before A too), but not ones bought after T', async () => {
    await store.complement('A', 'B');
    await store.complement('A', 'C');
    await store.order('c1', { at: daysBefore(500), items: ['B'] });
    await store.order('c1', { at: daysBefore(10), items: ['A'] });
    await store.order('c1', { at: secondsAfter(5), items: ['C'] });
    await store.order('c2', { at: daysBefore(10), items: ['A', 'B', 'C'] });
    expect(await store.members(complementaryProducts, { asOf: T })).toEqual(['c1']);
    expect(await recommended('c1')).toEqual(['C']);
  });

  it('mines pairs from completed baskets at the lift threshold: lift = n(A,B) * N / (n(A) * n(B)) >= 2', async () => {
    // 5 baskets {A,B} and the buyer's {A}: n(A)=6, n(B)=5, n(A,B)=5, so lift = 5N/30 >= 2 <=> N >= 12.
    await baskets(5, ['A', 'B']);
    await store.order('buyer', { at: daysBefore(1), items: ['A'] });
    await baskets(5, ['Z']); // N = 11: lift 1.83
    await baskets(3, ['Z'], 'cancelled'); // cancelled orders are not in N
    await baskets(1, ['Y'], 'completed');
    expect(await store.members(complementaryProducts, { asOf: T })).toEqual(['buyer']); // N = 12: lift 2.0
    expect(await recommended('buyer')).toEqual(['B']);
  });

  it('below the threshold lift (N = 11) nothing is mined; baskets after T do not count', async () => {
    await baskets(5, ['A', 'B']);
    await store.order('buyer', { at: daysBefore(1), items: ['A'] });
    await baskets(5, ['Z']);
    await baskets(3, ['Z'], 'cancelled'); // not in N
    await store.order(null, { at: secondsAfter(1), items: ['Y'] });
    expect(await store.members(complementaryProducts, { asOf: T })).toEqual([]);
    await store.order(null, { at: daysBefore(1), items: ['Y'] });
    expect(await store.members(complementaryProducts, { asOf: T })).toEqual(['buyer']);
  });

  it('needs support in at least 5 completed orders, in both directions', async () => {
    await baskets(4, ['A', 'B']);
    await baskets(1, ['A', 'B'], 'refunded');
    await baskets(40, ['Z']);
    await store.order('buys_a', { at: daysBefore(1), items: ['A'] });
    await store.order('buys_b', { at: daysBefore(1), items: ['B'] });
    expect(await store.members(complementaryProducts, { asOf: T })).toEqual([]);
    await baskets(1, ['A', 'B']);
    expect(await recommended('buys_a')).toEqual(['B']);
    expect(await recommended('buys_b')).toEqual(['A']);
  });

  it('ranks declared complements first, then mined ones by lift, at most 10', async () => {
    // N = 46, n(A) = 11: lift(A,M1) = 5*46/(11*5) = 4.2 > lift(A,M2) = 5*46/(11*10) = 2.1.
    await baskets(5, ['A', 'M1']);
    await baskets(5, ['A', 'M2']);
    await baskets(5, ['M2', 'Z']);
    await baskets(30, ['Z']);
    await store.complement('A', 'D9');
    await store.complement('A', 'D1');
    await store.order('buyer', { at: daysBefore(1), items: ['A'] });
    expect(await recommended('buyer')).toEqual(['D1', 'D9', 'M1', 'M2']);
    for (let i = 10; i < 20; i++) await store.complement('A', `E${i}`);
    expect(await recommended('buyer')).toEqual([
      'D1',
      'D9',
      ...Array.from({ length: 8 }, (_, i) => `E${10 + i}`),
    ]);
  });

  it('explains the recommendation', async () => {
    await store.complement('A', 'B');
    await store.order('buyer', { at: daysBefore(1), items: ['A'] });
    const [m] = await store.explain(complementaryProducts, { asOf: T });
    expect(m?.customer_id).toBe('buyer');
    expect(m?.reasons[0]).toMatch(
      /^recommended 'B': complements \(declared; mined: >= 5 orders, lift >= 2\)/,
    );
  });
});

describe('order statuses', () => {
  it('treats cancelled, canceled and refunded orders (any case) as no purchase', async () => {
    for (const [c, status] of [
      ['a', 'Cancelled'],
      ['b', 'canceled'],
      ['c', 'REFUNDED'],
      ['d', 'shipped'],
    ] as const) {
      await store.order(c, { at: daysBefore(5), items: ['p1'], status });
    }
    expect(await store.members(oneTimeBuyers, { asOf: T })).toEqual(['d']);
  });
});
