import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type EcwidConfig, ecwidConfig } from '../connectors/sources/ecwid/config.ts';
import { type EcwidPullOptions, pullEcwid } from '../connectors/sources/ecwid/pull.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { customerObject, makeStore, orderObject, type StoreModel, toEcwid } from './fakes/ecwid-data.ts';
import { FakeEcwidServer } from './fakes/ecwid-server.ts';
import { tempDir } from './helpers/temp.ts';

/** The Ecwid source against a local Ecwid REST API (test/fakes/ecwid-server.ts), into real DuckDB files. */

const NOW = Math.floor(Date.parse('2026-11-20T12:00:00Z') / 1000);
const DAY = 86_400;

let fake: FakeEcwidServer;
let dir: string;
let whs: Warehouse[] = [];
let model: StoreModel;

beforeEach(async () => {
  model = makeStore({ customers: 30, guests: 10, orders: 250, carts: 40, now: NOW });
  fake = await new FakeEcwidServer({ data: toEcwid(model) }).start();
  dir = tempDir('ecwid-test');
  whs = [];
});
afterEach(async () => {
  for (const wh of whs) wh.close();
  await fake.stop();
});

async function open(name = 'a'): Promise<Warehouse> {
  const wh = await Warehouse.open({ path: join(dir, `${name}.duckdb`) });
  whs.push(wh);
  return wh;
}

function config(over: Partial<EcwidConfig> = {}): EcwidConfig {
  const base = ecwidConfig(
    { pagesPerCommit: 1, retryBaseMs: 1 },
    { ECWID_STORE_ID: fake.storeId, ECWID_TOKEN: fake.token, ECWID_API_URL: fake.url },
  );
  return { ...(base as EcwidConfig), ...over };
}

const waits: number[] = [];
function options(over: Partial<EcwidPullOptions> = {}): EcwidPullOptions {
  return {
    runId: 'r1',
    now: new Date(NOW * 1000),
    log: () => {},
    checkpoint: async () => {},
    sleep: async (ms) => {
      waits.push(ms);
    },
    ...over,
  };
}

const count = (wh: Warehouse, sql: string) => wh.scalar(sql);
const snapshot = async (wh: Warehouse) => ({
  customers: await wh.json(
    'SELECT customer_id, email, first_name, country, ads_consent, updated_at FROM customers ORDER BY 1',
  ),
  // The data, not which load wrote it: a re-pulled row is written again, under the new load's number and time.
  products: await wh.json('SELECT * EXCLUDE (exported_at) FROM products ORDER BY 1'),
  orders: await wh.json('SELECT * EXCLUDE (load_seq, exported_at) FROM orders ORDER BY 1'),
  items: await wh.json('SELECT * EXCLUDE (load_seq, exported_at) FROM order_items ORDER BY 1, 2'),
  events: await wh.json('SELECT event_id, customer_id, product_id, occurred_at FROM events ORDER BY 1'),
});

describe('first pull', () => {
  it('loads customers, products, orders with lines and carts, mapped as documented', async () => {
    const wh = await open();
    const report = await pullEcwid(wh, config(), options());
    expect(
      await count(wh, "SELECT count(*) FROM customers WHERE NOT starts_with(customer_id, 'guest:')"),
    ).toBe(30);
    expect(await count(wh, 'SELECT count(*) FROM products')).toBe(12);
    expect(await count(wh, 'SELECT count(*) FROM orders')).toBe(250);
    const lines = model.orders.reduce((n, o) => n + o.items.length, 0);
    expect(await count(wh, 'SELECT count(*) FROM order_items')).toBe(lines);
    // Orders are keyed by order number (what /orders/deleted reports), money with the store currency.
    const o = model.orders[0]!;
    expect(await wh.json('SELECT * FROM orders WHERE order_id = $1', [String(o.number)])).toEqual([
      expect.objectContaining({
        currency: 'EUR',
        total: o.items.reduce((n, i) => n + i.price * i.quantity, 0).toFixed(4),
      }),
    ]);
    // Products carry the store currency (the profile's): Ecwid products name none of their own.
    expect(await wh.json("SELECT category, currency FROM products WHERE product_id = '101'")).toEqual([
      { category: 'Bags', currency: 'EUR' },
    ]);
    // Every page was a Bearer request of at most 100 items; the token never in a URL.
    expect(fake.requests.every((r) => r.authorization === `Bearer ${fake.token}`)).toBe(true);
    expect(fake.requests.some((r) => r.url.includes(fake.token))).toBe(false);
    expect(fake.requests.filter((r) => r.url.includes('/orders?')).length).toBe(3);
    expect(report.objects.find((x) => x.object === 'orders')?.items).toBe(250);
    expect(report.objects.flatMap((x) => x.loads).map((l) => l.table)).toEqual(
      expect.arrayContaining([
        'customers',
        'products',
        'orders',
        'order_items (ecwid orders)',
        'events (ecwid carts)',
      ]),
    );
  });

  it('maps payment status: cancelled, refunded and unpaid orders are not purchases', async () => {
    const wh = await open();
    await pullEcwid(wh, config(), options());
    const statuses = await wh.json<{ status: string; purchase: boolean }>(
      `SELECT DISTINCT o.status, c.order_id IS NOT NULL AS purchase
       FROM orders o LEFT JOIN completed_orders c USING (order_id) ORDER BY 1`,
    );
    expect(statuses).toEqual([
      { status: 'cancelled', purchase: false },
      { status: 'completed', purchase: true },
      { status: 'refunded', purchase: false },
      { status: 'unpaid', purchase: false },
    ]);
    const unpaid = model.orders.filter((o) => ['AWAITING_PAYMENT', 'INCOMPLETE'].includes(o.paymentStatus));
    expect(await count(wh, "SELECT count(*) FROM orders WHERE status = 'unpaid'")).toBe(unpaid.length);
  });

  it('maps consent: only acceptMarketing true is consent (false and null are not)', async () => {
    fake.data.customers[0] = { ...fake.data.customers[0], acceptMarketing: 'yes please' };
    const wh = await open();
    await pullEcwid(wh, config(), options());
    const consent = await wh.json<{ customer_id: string; ads_consent: boolean }>(
      "SELECT customer_id, ads_consent FROM customers WHERE NOT starts_with(customer_id, 'guest:') ORDER BY 1",
    );
    const expected = model.customers.map((c, i) => ({
      customer_id: String(c.id),
      ads_consent: i === 0 ? false : c.acceptMarketing === true,
    }));
    expect(consent).toEqual(expected);
    expect(expected.filter((c) => c.ads_consent).length).toBe(9); // some consent, most not
  });
});

describe('guests', () => {
  it('keys a guest order by normalised email, with a customers row; consent only when the order says so', async () => {
    const wh = await open();
    await pullEcwid(wh, config(), options());
    const guestOrders = model.orders.filter((o) => o.customerId === undefined);
    expect(guestOrders.length).toBeGreaterThan(0);
    const g = guestOrders[0]!;
    const key = `guest:${g.email.trim().toLowerCase()}`;
    expect(await wh.json('SELECT customer_id FROM orders WHERE order_id = $1', [String(g.number)])).toEqual([
      { customer_id: key },
    ]);
    const newest = guestOrders.filter((o) => o.email === g.email).sort((a, b) => b.at - a.at)[0]!;
    expect(await wh.json('SELECT email, ads_consent FROM customers WHERE customer_id = $1', [key])).toEqual([
      { email: g.email.trim(), ads_consent: newest.acceptMarketing === true },
    ]);
  });

  it('a guest who later registers is one customer: orders and carts move to the registered id', async () => {
    const wh = await open();
    await pullEcwid(wh, config(), options());
    const g = model.orders.find((o) => o.customerId === undefined)!;
    const key = `guest:${g.email.trim().toLowerCase()}`;
    const before = await count(wh, `SELECT count(*) FROM orders WHERE customer_id = '${key}'`);
    const carts = await count(wh, `SELECT count(*) FROM events WHERE customer_id = '${key}'`);
    expect(before).toBeGreaterThan(0);
    // They register (their email, other letter case) and order again as a customer.
    const later = NOW + DAY;
    fake.data.customers.push(
      customerObject({
        id: 5000,
        email: g.email.toUpperCase(),
        firstName: 'G',
        lastName: 'R',
        country: 'DE',
        acceptMarketing: true,
        at: later,
      }),
    );
    fake.data.orders.push(
      orderObject({
        number: 9001,
        customerId: 5000,
        email: g.email,
        paymentStatus: 'PAID',
        items: [{ productId: 100, price: 5, quantity: 1 }],
        at: later,
      }),
    );
    await pullEcwid(wh, config(), options({ now: new Date((later + 60) * 1000) }));
    expect(await count(wh, `SELECT count(*) FROM customers WHERE customer_id = '${key}'`)).toBe(0);
    expect(await count(wh, `SELECT count(*) FROM customer_versions WHERE customer_id = '${key}'`)).toBe(0);
    expect(await count(wh, "SELECT count(*) FROM orders WHERE customer_id = '5000'")).toBe(before + 1);
    expect(await count(wh, "SELECT count(*) FROM events WHERE customer_id = '5000'")).toBe(carts);
    expect(await count(wh, `SELECT count(*) FROM orders WHERE customer_id = '${key}'`)).toBe(0);
  });
});

describe('incremental pulls', () => {
  it('read only what changed since the last pull (with the overlap), apply changes and deletions, never double', async () => {
    const wh = await open();
    await pullEcwid(wh, config(), options());
    const orders = await count(wh, 'SELECT count(*) FROM orders');
    fake.requests.length = 0;
    const later = NOW + 2 * DAY;
    // One order refunded, one new order, one order and one customer deleted in the store.
    const changed = fake.data.orders[5]!;
    // ... and its first line removed: the order's lines are replaced, not merged.
    const items = changed.items as Array<{ productId: number }>;
    const kept = [{ productId: 111, price: 3, quantity: 4 }];
    Object.assign(changed, { paymentStatus: 'REFUNDED', updateTimestamp: later - 100, items: kept });
    fake.data.orders.push(
      orderObject({
        number: 9100,
        customerId: 1001,
        email: 'c1@example.com',
        paymentStatus: 'PAID',
        items: [{ productId: 101, price: 9, quantity: 2 }],
        at: later - 50,
      }),
    );
    const gone = fake.data.orders.splice(10, 1)[0]!;
    fake.data.deletedOrders.push({ id: String(gone.orderNumber), date: later - 10 });
    const goneCustomer = fake.data.customers.splice(3, 1)[0]!;
    fake.data.deletedCustomers.push({ id: goneCustomer.id as number, date: later - 10 });
    const report = await pullEcwid(wh, config(), options({ now: new Date(later * 1000) }));

    expect(report.objects.find((o) => o.object === 'orders')?.items).toBe(2); // only the changed ones
    expect(report.objects.find((o) => o.object === 'orders')?.window.from).toBe(NOW - 3600);
    expect(await count(wh, 'SELECT count(*) FROM orders')).toBe(orders); // +1 new, -1 deleted
    expect(
      await wh.json('SELECT status FROM orders WHERE order_id = $1', [String(changed.orderNumber)]),
    ).toEqual([{ status: 'refunded' }]);
    expect(
      await wh.json('SELECT product_id, quantity FROM order_items WHERE order_id = $1', [
        String(changed.orderNumber),
      ]),
    ).toEqual([{ product_id: '111', quantity: 4 }]);
    expect(items.length).toBeGreaterThan(0);
    expect(await count(wh, `SELECT count(*) FROM orders WHERE order_id = '${gone.orderNumber}'`)).toBe(0);
    expect(await count(wh, `SELECT count(*) FROM order_items WHERE order_id = '${gone.orderNumber}'`)).toBe(
      0,
    );
    expect(await count(wh, `SELECT count(*) FROM customers WHERE customer_id = '${goneCustomer.id}'`)).toBe(
      0,
    );
    expect(report.deletions).toEqual([
      { object: 'orders', reported: 1, deleted: 1, dependents: expect.any(Number) },
      { object: 'customers', reported: 1, deleted: 1, dependents: expect.any(Number) },
    ]);
    // The same pull again (everything inside the overlap) changes nothing and doubles nothing.
    const before = await snapshot(wh);
    await pullEcwid(wh, config(), options({ now: new Date((later + 60) * 1000) }));
    expect(await snapshot(wh)).toEqual(before);
  });
});

describe('rate limits and failures', () => {
  it('survives 429: waits Retry-After, and ends with the same data as an unthrottled pull', async () => {
    let clock = 0;
    fake.perMinute = 5;
    fake.clock = () => clock;
    waits.length = 0;
    const wh = await open();
    await pullEcwid(
      wh,
      config(),
      options({
        sleep: async (ms) => {
          waits.push(ms);
          clock += ms;
        },
      }),
    );
    const limited = fake.requests.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    // Every wait after a 429 is its Retry-After, in seconds, as sent.
    expect(waits.filter((w) => w >= 1000).length).toBeGreaterThanOrEqual(limited.length);
    fake.perMinute = 10_000;
    const fresh = await open('b');
    await pullEcwid(fresh, config(), options());
    expect(await snapshot(wh)).toEqual(await snapshot(fresh));
  });

  it('paces requests to requestsPerMinute', async () => {
    waits.length = 0;
    const wh = await open();
    await pullEcwid(wh, config({ requestsPerMinute: 60 }), options());
    const n = fake.requests.length;
    // 60 a minute: one request a second; the pacer waited about a second before each but the first.
    expect(waits.reduce((a, b) => a + b, 0)).toBeGreaterThan((n - 2) * 1000 * 0.9);
  });

  it('retries 5xx with backoff, then gives a clear error naming the store, never the token', async () => {
    fake.failNext = 2;
    const wh = await open();
    await pullEcwid(wh, config(), options());
    expect(await count(wh, 'SELECT count(*) FROM orders')).toBe(250);
    fake.failNext = 100;
    const err = await pullEcwid(wh, config({ maxAttempts: 3 }), options()).catch((e: Error) => e);
    expect(String(err)).toMatch(`Ecwid store ${fake.storeId}: GET /profile failed 3 times (last: HTTP 500)`);
    expect(String(err)).not.toContain(fake.token);
    // Network errors too: nothing listens there.
    const unreachable = config({ maxAttempts: 2 });
    await fake.stop();
    const down = await pullEcwid(wh, unreachable, options()).catch((e: Error) => e);
    expect(String(down)).toMatch(
      `Ecwid store ${fake.storeId}: GET /profile failed 2 times (last: fetch failed)`,
    );
    await fake.start();
  });

  it('402: a configuration error naming the store and what to do, not the token', async () => {
    fake.planWithoutApi = true;
    const wh = await open();
    const err = await pullEcwid(wh, config(), options()).catch((e: Error) => e);
    expect(String(err)).toContain(`Ecwid store ${fake.storeId}: the store's plan has no API access (402`);
    expect(String(err)).toContain('upgrade the store to a paid Ecwid plan');
    expect(String(err)).not.toContain(fake.token);
    expect(fake.requests.length).toBe(1); // not retried
  });

  it('403: names the store and the scopes; the token is never shown', async () => {
    const wh = await open();
    const err = await pullEcwid(wh, config({ token: 'secret_wrongToken999' }), options()).catch(
      (e: Error) => e,
    );
    expect(String(err)).toContain(`Ecwid store ${fake.storeId}: access denied (403 INVALID_API_TOKEN`);
    expect(String(err)).toContain('read_customers');
    expect(String(err)).not.toContain('secret_wrongToken999');
  });
});

describe('a pull stopped halfway', () => {
  it('resumes at the committed page: nothing lost, nothing doubled, committed pages not fetched again', async () => {
    const wh = await open();
    const crash = new Error('killed');
    const err = await pullEcwid(
      wh,
      config(),
      options({
        checkpoint: async (point) => {
          if (point === 'commit:ecwid/orders/2') throw crash;
        },
      }),
    ).catch((e: Error) => e);
    expect(err).toBe(crash);
    // Chunk 1 of orders (100) committed; chunk 2 rolled back with its cursor.
    expect(await count(wh, 'SELECT count(*) FROM orders')).toBe(100);
    fake.requests.length = 0;
    await pullEcwid(wh, config(), options({ now: new Date((NOW + 60) * 1000) }));
    const orderPages = fake.requests
      .filter((r) => r.url.includes('/orders?'))
      .map((r) => new URL(r.url, 'http://x').searchParams.get('offset'));
    expect(orderPages.slice(0, 2)).toEqual(['100', '200']); // resumed at 100, the same window
    const fresh = await open('b');
    await pullEcwid(fresh, config(), options());
    expect(await snapshot(wh)).toEqual(await snapshot(fresh));
  });
});
