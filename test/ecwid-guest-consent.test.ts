import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type EcwidConfig, ecwidConfig } from '../connectors/sources/ecwid/config.ts';
import { type EcwidPullReport, pullEcwid } from '../connectors/sources/ecwid/pull.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { orderObject, type StoreOrder } from './fakes/ecwid-data.ts';
import { FakeEcwidServer } from './fakes/ecwid-server.ts';
import { tempDir } from './helpers/temp.ts';

/**
 * An Ecwid guest's consent is the marketing choice of the order they placed last: editing, refunding or cancelling
 * an order (which Ecwid re-dates, so the incremental pull reads it again) never changes it. The real pull against
 * the local Ecwid API (test/fakes/ecwid-server.ts), into real DuckDB files.
 */

const DAY = 86_400;
const T0 = Math.floor(Date.parse('2026-10-01T12:00:00Z') / 1000);

let fake: FakeEcwidServer;
let dir: string;
let wh: Warehouse;

beforeEach(async () => {
  fake = await new FakeEcwidServer({
    data: {
      currency: 'EUR',
      categories: [{ id: 1, name: 'Cameras' }],
      products: [{ id: 10, name: 'Cam', price: 100, defaultCategoryId: 1, updateTimestamp: T0 }],
    },
  }).start();
  dir = tempDir('ecwid-guest-consent');
  wh = await Warehouse.open({ path: join(dir, 'e.duckdb') });
});
afterEach(async () => {
  wh.close();
  await fake.stop();
});

function config(): EcwidConfig {
  const base = ecwidConfig(
    { pagesPerCommit: 1, retryBaseMs: 1 },
    { ECWID_STORE_ID: fake.storeId, ECWID_TOKEN: fake.token, ECWID_API_URL: fake.url },
  );
  return base as EcwidConfig;
}

/** One pull at `at` (UNIX seconds). */
const pull = (at: number, runId: string): Promise<EcwidPullReport> =>
  pullEcwid(wh, config(), {
    runId,
    now: new Date(at * 1000),
    log: () => {},
    checkpoint: async () => {},
    sleep: async () => {},
  });

/** A guest order (no customerId) of `email`, placed at `at`. */
function guestOrder(
  number: number,
  email: string,
  acceptMarketing: boolean | null,
  at: number,
  over: Partial<StoreOrder> = {},
): StoreOrder {
  return {
    number,
    email,
    acceptMarketing,
    paymentStatus: 'PAID',
    items: [{ productId: 10, price: 100, quantity: 1 }],
    at,
    ...over,
  };
}

/** Replaces an order in the store as Ecwid would after an edit: same order, new status, newer updateTimestamp. */
function edit(o: StoreOrder, paymentStatus: StoreOrder['paymentStatus'], updatedAt: number): void {
  const i = fake.data.orders.findIndex((x) => x.orderNumber === o.number);
  expect(i).toBeGreaterThanOrEqual(0);
  fake.data.orders[i] = orderObject({ ...o, paymentStatus, updatedAt });
}

/** DuckDB's text of a TIMESTAMP at UNIX seconds. */
const stamp = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ');

const guest = async (email: string) =>
  wh.json<{ ads_consent: boolean; updated_at: string }>(
    'SELECT ads_consent, CAST(updated_at AS VARCHAR) AS updated_at FROM customers WHERE customer_id = $1',
    [`guest:${email}`],
  );

const ordersRead = (r: EcwidPullReport) => r.objects.find((o) => o.object === 'orders')?.items;

describe('an Ecwid guest’s consent', () => {
  it('stays withdrawn when an older order that accepted marketing is refunded and pulled again', async () => {
    // The audit's scenario: yes on #1, no on #2, then the merchant refunds #1.
    const first = guestOrder(1, 'Gina@Example.com', true, T0);
    fake.data.orders.push(orderObject(first));
    await pull(T0 + DAY, 'r1');
    expect(await guest('gina@example.com')).toEqual([{ ads_consent: true, updated_at: stamp(T0) }]);

    const second = guestOrder(2, ' gina@example.com', false, T0 + 5 * DAY);
    fake.data.orders.push(orderObject(second));
    await pull(T0 + 6 * DAY, 'r2');
    expect(await guest('gina@example.com')).toEqual([
      { ads_consent: false, updated_at: stamp(T0 + 5 * DAY) },
    ]);

    edit(first, 'REFUNDED', T0 + 10 * DAY);
    const r3 = await pull(T0 + 11 * DAY, 'r3');
    // The refund was pulled (the order is refunded), and the withdrawal stands.
    expect(ordersRead(r3)).toBe(1);
    expect(await wh.json("SELECT status FROM orders WHERE order_id = '1'")).toEqual([{ status: 'refunded' }]);
    expect(await guest('gina@example.com')).toEqual([
      { ads_consent: false, updated_at: stamp(T0 + 5 * DAY) },
    ]);

    // Editing it once more (cancelled), pulled twice (the overlap re-reads it): still no.
    edit(first, 'CANCELLED', T0 + 12 * DAY);
    await pull(T0 + 12 * DAY + 600, 'r4');
    await pull(T0 + 12 * DAY + 1200, 'r5');
    expect(await guest('gina@example.com')).toEqual([
      { ads_consent: false, updated_at: stamp(T0 + 5 * DAY) },
    ]);

    // Only a newer order that accepts marketing grants consent again.
    fake.data.orders.push(orderObject(guestOrder(3, 'gina@example.com', true, T0 + 20 * DAY)));
    await pull(T0 + 21 * DAY, 'r6');
    expect(await guest('gina@example.com')).toEqual([
      { ads_consent: true, updated_at: stamp(T0 + 20 * DAY) },
    ]);
  });

  it('is the newest placed order’s when one pull reads several orders of a guest, whichever was updated last', async () => {
    const orders = [
      // Ann: yes, then no; the old yes was refunded last.
      guestOrder(1, 'ann@example.com', true, T0, { paymentStatus: 'REFUNDED', updatedAt: T0 + 8 * DAY }),
      guestOrder(2, 'Ann@example.com', false, T0 + 5 * DAY),
      // Bob: no, then yes; the old no was cancelled last (a newer yes is not undone by it either).
      guestOrder(3, 'bob@example.com', false, T0, { paymentStatus: 'CANCELLED', updatedAt: T0 + 8 * DAY }),
      guestOrder(4, 'bob@example.com', true, T0 + 5 * DAY),
      // Cid and Dee: two orders placed in the same second, a yes and a no, in either order: no.
      guestOrder(5, 'cid@example.com', true, T0 + 3 * DAY),
      guestOrder(6, 'cid@example.com', false, T0 + 3 * DAY),
      guestOrder(7, 'dee@example.com', false, T0 + 3 * DAY),
      guestOrder(8, 'dee@example.com', true, T0 + 3 * DAY, { updatedAt: T0 + 4 * DAY }),
    ];
    fake.data.orders.push(...orders.map(orderObject));
    const r = await pull(T0 + 10 * DAY, 'r1');
    expect(ordersRead(r)).toBe(8);
    expect(
      await wh.json(
        "SELECT customer_id, ads_consent, CAST(updated_at AS VARCHAR) AS updated_at FROM customers WHERE starts_with(customer_id, 'guest:') ORDER BY 1",
      ),
    ).toEqual([
      { customer_id: 'guest:ann@example.com', ads_consent: false, updated_at: stamp(T0 + 5 * DAY) },
      { customer_id: 'guest:bob@example.com', ads_consent: true, updated_at: stamp(T0 + 5 * DAY) },
      { customer_id: 'guest:cid@example.com', ads_consent: false, updated_at: stamp(T0 + 3 * DAY) },
      { customer_id: 'guest:dee@example.com', ads_consent: false, updated_at: stamp(T0 + 3 * DAY) },
    ]);
    // Every order is still there, each under its guest.
    expect(await wh.scalar("SELECT count(*) FROM orders WHERE starts_with(customer_id, 'guest:')")).toBe(8);
  });

  it('is the newest placed order’s when a guest’s orders land in different chunks of one pull', async () => {
    // The store lists the newer order first and the older, more recently updated one a page later: the chunks
    // commit newest-placed first, so the older statement arrives last and must not win.
    const fillers = Array.from({ length: 120 }, (_, i) =>
      orderObject(guestOrder(100 + i, `filler${i}@example.com`, null, T0 + DAY)),
    );
    fake.data.orders.push(
      orderObject(guestOrder(1, 'ann@example.com', false, T0 + 5 * DAY)),
      orderObject(guestOrder(2, 'bob@example.com', true, T0 + 5 * DAY)),
      ...fillers,
      orderObject(guestOrder(3, 'ann@example.com', true, T0, { updatedAt: T0 + 8 * DAY })),
      orderObject(guestOrder(4, 'bob@example.com', false, T0, { updatedAt: T0 + 8 * DAY })),
    );
    const r = await pull(T0 + 10 * DAY, 'r1');
    expect(r.objects.find((o) => o.object === 'orders')?.pages).toBe(2);
    expect(await guest('ann@example.com')).toEqual([{ ads_consent: false, updated_at: stamp(T0 + 5 * DAY) }]);
    expect(await guest('bob@example.com')).toEqual([{ ads_consent: true, updated_at: stamp(T0 + 5 * DAY) }]);
  });

  it('is none for an order whose creation time cannot be read (it cannot be placed among the statements)', async () => {
    const undated = orderObject(guestOrder(1, 'eve@example.com', true, T0));
    delete undated.createDate;
    delete undated.createTimestamp;
    // Enough good orders that the undated one is quarantined (orders need ordered_at) without failing the chunk.
    const fillers = Array.from({ length: 30 }, (_, i) =>
      orderObject(guestOrder(100 + i, `filler${i}@example.com`, null, T0)),
    );
    fake.data.orders.push(undated, ...fillers);
    await pull(T0 + DAY, 'r1');
    expect(await wh.scalar("SELECT count(*) FROM rejected_rows WHERE table_name = 'orders'")).toBe(1);
    expect(await guest('eve@example.com')).toEqual([{ ads_consent: false, updated_at: null }]);
  });

  it('does not change when the newest order is refunded or cancelled', async () => {
    const ann = [
      guestOrder(1, 'ann@example.com', true, T0),
      guestOrder(2, 'ann@example.com', false, T0 + 5 * DAY),
    ];
    const bob = [
      guestOrder(3, 'bob@example.com', false, T0),
      guestOrder(4, 'bob@example.com', true, T0 + 5 * DAY),
    ];
    fake.data.orders.push(...[...ann, ...bob].map(orderObject));
    await pull(T0 + 6 * DAY, 'r1');
    const before = [{ ads_consent: false, updated_at: stamp(T0 + 5 * DAY) }];
    const beforeBob = [{ ads_consent: true, updated_at: stamp(T0 + 5 * DAY) }];
    expect(await guest('ann@example.com')).toEqual(before);
    expect(await guest('bob@example.com')).toEqual(beforeBob);

    edit(ann[1]!, 'CANCELLED', T0 + 10 * DAY);
    edit(bob[1]!, 'REFUNDED', T0 + 10 * DAY);
    const r2 = await pull(T0 + 11 * DAY, 'r2');
    expect(ordersRead(r2)).toBe(2);
    expect(
      await wh.json("SELECT order_id, status FROM orders WHERE order_id IN ('2', '4') ORDER BY 1"),
    ).toEqual([
      { order_id: '2', status: 'cancelled' },
      { order_id: '4', status: 'refunded' },
    ]);
    expect(await guest('ann@example.com')).toEqual(before);
    expect(await guest('bob@example.com')).toEqual(beforeBob);

    // And an edit of the older orders after that changes nothing either.
    edit(ann[0]!, 'REFUNDED', T0 + 12 * DAY);
    edit(bob[0]!, 'REFUNDED', T0 + 12 * DAY);
    await pull(T0 + 13 * DAY, 'r3');
    expect(await guest('ann@example.com')).toEqual(before);
    expect(await guest('bob@example.com')).toEqual(beforeBob);
  });
});
