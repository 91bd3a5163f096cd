import { describe, expect, it } from 'vitest';
import { forgetCustomer } from '../pipelines/ops/forget.ts';
import { expectedStatus, iso, makeCustomer, makeOrder } from './fakes/shopify-store.ts';
import { AS_OF, SHOP, shopifyPerTest } from './shopify-setup.ts';

const { openShop, rows, count } = shopifyPerTest();

describe('Shopify source: first pull', () => {
  it('loads every object through bulk operations, children joined to parents out of order', async () => {
    const s = await openShop();
    const results = await s.pull();
    // One step per object, each reporting its tables.
    expect(results.map((r) => r.loads.map((l) => l.table))).toEqual([
      ['customers'],
      ['products'],
      ['customers (shopify orders)', 'orders', 'order_items (shopify orders)'],
      ['events (shopify checkouts)'],
    ]);
    // Everything was asked for (no filter), with groupObjects false, and each result downloaded without the token.
    expect(s.fake.stats.bulkQueries.filter((q) => q.includes('updated_at'))).toEqual([]);
    expect(s.fake.stats.downloads).toBeGreaterThan(0);
    expect(s.fake.stats.downloadsWithToken).toBe(0);
    expect(s.fake.stats.unauthorized).toBe(0);

    expect(await count("SELECT count(*) FROM customers WHERE NOT starts_with(customer_id, 'guest:')")).toBe(
      30,
    );
    expect(
      await rows(
        "SELECT customer_id, email, phone, first_name, last_name, city, state, zip, country, ads_consent FROM customers WHERE customer_id = '1001'",
      ),
    ).toEqual([
      {
        customer_id: '1001',
        email: 'c1@example.com',
        phone: '+33612340001',
        first_name: 'First1',
        last_name: 'Last1',
        city: 'Lyon',
        state: 'ARA',
        zip: '69001',
        country: 'FR',
        ads_consent: false,
      },
    ]);
    // Category: the product type, else the first collection listed (p3, p6 have no type); price with its currency.
    expect(
      await rows(
        "SELECT product_id, name, category, price::DOUBLE AS price, currency FROM products WHERE product_id IN ('501', '503') ORDER BY 1",
      ),
    ).toEqual([
      { product_id: '501', name: 'Product 1', category: 'Type1', price: 11.5, currency: 'EUR' },
      { product_id: '503', name: 'Product 3', category: 'Collection3', price: 13.5, currency: 'EUR' },
    ]);
    // Two variants of one product are one line (quantities summed, mean unit price); custom items are left out.
    expect(
      await rows(
        "SELECT product_id, quantity, unit_price::DOUBLE AS unit_price FROM order_items WHERE order_id = '9001' ORDER BY 1",
      ),
    ).toEqual([
      { product_id: '502', quantity: 3, unit_price: 12 },
      { product_id: '505', quantity: 1, unit_price: 7.5 },
    ]);
    expect(await count('SELECT count(*) FROM order_items')).toBe(
      2 * (await count('SELECT count(*) FROM orders')),
    );
    expect(s.logs.some((m) => /line items of no catalogue product/.test(m))).toBe(true);
    // Money keeps its currency.
    expect(await rows("SELECT total::DOUBLE AS total, currency FROM orders WHERE order_id = '9001'")).toEqual(
      [{ total: 21, currency: 'EUR' }],
    );
    // Cursors: the newest updated_at per object, in the shared table.
    const cursors = await rows(
      "SELECT cursor_key, value FROM source_cursors WHERE source = 'shopify' ORDER BY 1",
    );
    expect(cursors.map((c) => c.cursor_key)).toEqual([
      `${SHOP}/checkouts`,
      `${SHOP}/customers`,
      `${SHOP}/customers:scanned`,
      `${SHOP}/orders`,
      `${SHOP}/orders:scanned`,
      `${SHOP}/products`,
    ]);
    // What the deletion scan may remove is kept as id hashes: an erased person leaves no raw id there.
    expect(await count("SELECT count(*) FROM shopify_records WHERE object = 'customers'")).toBe(30);
    expect(await count("SELECT count(*) FROM shopify_records WHERE id = '1001'")).toBe(0);
    expect(await count("SELECT count(*) FROM shopify_records WHERE id = sha256('1001')")).toBe(1);
    const newestOrder = s.store.orders
      .map((o) => o.updatedAt as string)
      .sort()
      .pop();
    expect(cursors.find((c) => c.cursor_key === `${SHOP}/orders`)?.value).toBe(newestOrder);
  });

  it('maps consent: only SUBSCRIBED (of the default email, else emailMarketingConsent) is consent', async () => {
    const s = await openShop();
    await s.pull();
    const got = await rows(
      "SELECT customer_id, ads_consent FROM customers WHERE NOT starts_with(customer_id, 'guest:') ORDER BY customer_id::INT",
    );
    const expected = s.store.customers.map((c) => {
      const email = c.defaultEmailAddress as { marketingState: string | null };
      const legacy = c.emailMarketingConsent as { marketingState: string };
      return {
        customer_id: String(c.id).split('/').pop(),
        ads_consent: (email.marketingState ?? legacy.marketingState) === 'SUBSCRIBED',
      };
    });
    expect(got).toEqual(expected);
    // Both paths are exercised: consent through the default email and through emailMarketingConsent.
    expect(got.filter((r) => r.ads_consent).map((r) => r.customer_id)).toEqual(
      expect.arrayContaining(['1004', '1010']),
    );
    for (const id of ['1001', '1002', '1003', '1005'])
      expect(got.find((r) => r.customer_id === id)?.ads_consent, id).toBe(false);
    // Guests never consent.
    expect(
      await count("SELECT count(*) FROM customers WHERE starts_with(customer_id, 'guest:') AND ads_consent"),
    ).toBe(0);
  });

  it('keys guest orders by normalised email; a guest whose email is registered is that customer', async () => {
    const s = await openShop();
    await s.pull();
    // Buyers 31..36 are guests; 31 ordered as ' C2@Example.com ', the email of registered customer 1002.
    const guests = await rows(
      "SELECT DISTINCT customer_id FROM orders WHERE starts_with(customer_id, 'guest:') ORDER BY 1",
    );
    expect(guests.map((g) => g.customer_id)).toEqual(
      [32, 33, 34, 35, 36].map((n) => `guest:guest${n}@example.com`),
    );
    const adopted = s.store.orders
      .filter((o) => o.email === ' C2@Example.com ')
      .map((o) => String(o.id).split('/').pop());
    expect(adopted.length).toBeGreaterThan(0);
    const owners = await rows(
      `SELECT DISTINCT customer_id FROM orders WHERE order_id IN (${adopted.map((a) => `'${a}'`).join(',')})`,
    );
    expect(owners).toEqual([{ customer_id: '1002' }]);
    expect(await count("SELECT count(*) FROM customers WHERE customer_id = 'guest:c2@example.com'")).toBe(0);
    expect(await count("SELECT count(*) FROM customers WHERE starts_with(customer_id, 'guest:')")).toBe(5);
  });

  it('maps order status: cancelled, refunded, voided and unpaid orders are not purchases', async () => {
    const s = await openShop();
    await s.pull();
    const statuses = await rows('SELECT order_id, status FROM orders ORDER BY order_id');
    for (const o of s.store.orders) {
      const id = String(o.id).split('/').pop();
      expect(statuses.find((r) => r.order_id === id)?.status, `order ${id}`).toBe(expectedStatus(o));
    }
    expect(new Set(statuses.map((r) => r.status))).toEqual(
      new Set(['cancelled', 'refunded', 'unpaid', 'paid', 'partially_refunded', 'authorized']),
    );
    const notPurchases = await count(
      'SELECT count(*) FROM orders WHERE order_id NOT IN (SELECT order_id FROM completed_orders)',
    );
    expect(notPurchases).toBe(
      s.store.orders.filter(
        (o) =>
          o.cancelledAt ||
          ['REFUNDED', 'VOIDED', 'PENDING', 'EXPIRED'].includes(String(o.displayFinancialStatus)),
      ).length,
    );
    // A partially refunded order is still a purchase.
    expect(
      await count("SELECT count(*) FROM completed_orders WHERE status = 'partially_refunded'"),
    ).toBeGreaterThan(0);
  });

  it('turns abandoned checkouts into add_to_cart and begin_checkout events of their customer', async () => {
    const s = await openShop();
    await s.pull();
    const open = s.store.abandonedCheckouts.filter((c) => !c.completedAt && c.customer);
    expect(await count("SELECT count(*) FROM events WHERE source = 'shopify'")).toBe(open.length * 2 * 2);
    const first = open[0]!;
    const got = await rows(
      `SELECT event_name, product_id, event_count, customer_id, strftime(occurred_at, '%Y-%m-%dT%H:%M:%SZ') AS at
       FROM events WHERE starts_with(event_id, 'shopify:checkout:${String(first.id).split('/').pop()}:') ORDER BY product_id, event_name`,
    );
    const customer = String((first.customer as { id: string }).id)
      .split('/')
      .pop();
    expect(got.every((e) => e.customer_id === customer && e.at === first.createdAt)).toBe(true);
    expect(got.map((e) => e.event_name)).toEqual([
      'add_to_cart',
      'begin_checkout',
      'add_to_cart',
      'begin_checkout',
    ]);
    // Completed checkouts and those without a customer give no events.
    for (const c of s.store.abandonedCheckouts.filter((c) => c.completedAt || !c.customer))
      expect(
        await count(
          `SELECT count(*) FROM events WHERE starts_with(event_id, 'shopify:checkout:${String(c.id).split('/').pop()}:')`,
        ),
      ).toBe(0);
  });
});

describe('Shopify source: incremental pulls', () => {
  it('asks for what changed since the cursor less the overlap, and applies changes and deletions', async () => {
    const s = await openShop();
    await s.pull();
    const cursor = await s.wh.one<{ value: string }>(
      `SELECT value FROM source_cursors WHERE cursor_key = '${SHOP}/customers'`,
    );
    const later = new Date(AS_OF.getTime() + 86_400_000);
    const now = iso(later.getTime() - 3600_000);
    // Customer 1003 subscribes; customer 1004 and order 9005 are deleted; a new order and a new customer arrive;
    // an abandoned checkout is completed.
    const c3 = s.store.customers.findIndex((c) => c.id === 'gid://shopify/Customer/1003');
    s.store.customers[c3] = makeCustomer(3, now, 'SUBSCRIBED');
    s.store.customers.push(makeCustomer(99, now, 'SUBSCRIBED'));
    s.store.customers.splice(
      s.store.customers.findIndex((c) => c.id === 'gid://shopify/Customer/1004'),
      1,
    );
    s.store.orders.splice(
      s.store.orders.findIndex((o) => o.id === 'gid://shopify/Order/9005'),
      1,
    );
    const fresh = { ...makeOrder(500, 99, 200, later.getTime()), createdAt: now, updatedAt: now };
    s.store.orders.push(fresh);
    // Order 9002 loses its second product: its lines are restated, not added to.
    const changedOrder = s.store.orders.find((o) => o.id === 'gid://shopify/Order/9002')!;
    Object.assign(changedOrder, {
      updatedAt: now,
      lineItems: (changedOrder.lineItems as unknown[]).slice(0, 2),
    });
    const completed = s.store.abandonedCheckouts.find((c) => !c.completedAt && c.customer)!;
    Object.assign(completed, { completedAt: now, updatedAt: now });
    s.fake.stats.bulkQueries.length = 0;

    const results = await s.pull({}, later);
    const since = new Date(Date.parse(cursor!.value) - 60 * 60_000).toISOString().replace('.000Z', 'Z');
    expect(s.fake.stats.bulkQueries[0]).toContain(`customers(query: "updated_at:>='${since}'")`);
    // Only what changed (and what the overlap re-reads) was read.
    const changed = s.store.customers.filter((c) => String(c.updatedAt) >= since).length;
    expect(changed).toBeLessThan(s.store.customers.length / 2);
    expect(results[0]!.loads[0]).toMatchObject({ table: 'customers', rowsRead: changed });
    expect(await rows("SELECT ads_consent FROM customers WHERE customer_id = '1003'")).toEqual([
      { ads_consent: true },
    ]);
    expect(await count("SELECT count(*) FROM customers WHERE customer_id = '1099'")).toBe(1);
    expect(await count("SELECT count(*) FROM orders WHERE order_id = '9500'")).toBe(1);
    // Deleted in Shopify: gone, with the order's lines; the deleted customer's orders stay.
    expect(await count("SELECT count(*) FROM customers WHERE customer_id = '1004'")).toBe(0);
    expect(await count("SELECT count(*) FROM orders WHERE order_id = '9005'")).toBe(0);
    expect(await count("SELECT count(*) FROM order_items WHERE order_id = '9005'")).toBe(0);
    expect(await count("SELECT count(*) FROM orders WHERE customer_id = '1004'")).toBeGreaterThan(0);
    expect(results[0]!.detail).toMatchObject({ deletions: { deleted: 1 } });
    expect(await rows("SELECT product_id, quantity FROM order_items WHERE order_id = '9002'")).toEqual([
      { product_id: '503', quantity: 3 },
    ]);
    // The completed checkout is no longer abandoned.
    expect(
      await count(
        `SELECT count(*) FROM events WHERE starts_with(event_id, 'shopify:checkout:${String(completed.id).split('/').pop()}:')`,
      ),
    ).toBe(0);
    // A third pull with nothing new changes nothing.
    const before = await rows(
      'SELECT (SELECT count(*) FROM orders) o, (SELECT count(*) FROM order_items) i, (SELECT count(*) FROM events) e, (SELECT count(*) FROM customers) c',
    );
    await s.pull({}, later);
    expect(
      await rows(
        'SELECT (SELECT count(*) FROM orders) o, (SELECT count(*) FROM order_items) i, (SELECT count(*) FROM events) e, (SELECT count(*) FROM customers) c',
      ),
    ).toEqual(before);
  });

  it('an erased customer leaves no raw id anywhere and is not brought back by later pulls', async () => {
    const s = await openShop();
    await s.pull();
    const traces = async () => {
      const columns = await s.wh.all<{ t: string; c: string }>(
        `SELECT table_name AS t, column_name AS c FROM information_schema.columns JOIN information_schema.tables
         USING (table_schema, table_name) WHERE table_type = 'BASE TABLE' AND data_type = 'VARCHAR'`,
      );
      const found: string[] = [];
      for (const { t, c } of columns)
        if ((await count(`SELECT count(*) FROM "${t}" WHERE "${c}" IN ('1004', 'c4@example.com')`)) > 0)
          found.push(`${t}.${c}`);
      return found;
    };
    expect(await traces()).toContain('customers.customer_id');
    const records =
      "SELECT count(*) FROM shopify_records WHERE id IN (SELECT sha256('1004') UNION ALL SELECT sha256(order_id) FROM orders WHERE customer_id = '1004')";
    const theirs = await count(records);
    expect(theirs).toBeGreaterThan(1); // the customer and their orders
    const before = await count('SELECT count(*) FROM shopify_records');
    await forgetCustomer(s.wh, '1004');
    expect(await traces()).toEqual([]);
    // Their deletion-scan entries (id hashes) go with the erasure, not at the next scan; nobody else's do.
    expect(await count("SELECT count(*) FROM shopify_records WHERE id = sha256('1004')")).toBe(0);
    expect(await count('SELECT count(*) FROM shopify_records')).toBe(before - theirs);
    // Customer 1004 changes after the erasure: the next pull reads them again, and drops them.
    const c4 = s.store.customers.findIndex((c) => c.id === 'gid://shopify/Customer/1004');
    s.store.customers[c4] = makeCustomer(4, iso(AS_OF.getTime() + 3600_000), 'SUBSCRIBED');
    await s.pull({}, new Date(AS_OF.getTime() + 86_400_000));
    expect(s.fake.stats.bulkQueries.length).toBeGreaterThan(6);
    expect(await traces()).toEqual([]);
    expect(await count("SELECT count(*) FROM shopify_records WHERE id = sha256('1004')")).toBe(0);
  });

  it('does not trust an id scan that would remove most of what was loaded', async () => {
    const s = await openShop();
    await s.pull();
    const kept = s.store.orders.splice(0, s.store.orders.length - 5);
    const results = await s.pull({}, new Date(AS_OF.getTime() + 86_400_000));
    expect(results[2]!.warnings.join('\n')).toMatch(/nothing was removed.*read_all_orders/s);
    expect(await count('SELECT count(*) FROM orders')).toBe(kept.length + 5);
  });
});
