import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeNode } from './shopify-server.ts';

/**
 * A small deterministic Shopify store (customers, products, orders with line items, abandoned checkouts) in the
 * shape the Admin API returns, and the same store written as the CSV files the files source reads, mapped by
 * hand from the documented rules (docs/shopify.md) so the two loads can be compared.
 */

export interface ShopifyStore {
  customers: FakeNode[];
  products: FakeNode[];
  orders: FakeNode[];
  abandonedCheckouts: FakeNode[];
}

const gid = (type: string, n: number | string) => `gid://shopify/${type}/${n}`;
const tail = (id: string) => id.split('/').pop() as string;
export const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const DAY = 86_400_000;
const MARKETING = ['SUBSCRIBED', 'NOT_SUBSCRIBED', 'UNSUBSCRIBED', 'PENDING', 'SUBSCRIBED', 'INVALID'];
const FINANCIAL = [
  'PAID',
  'PAID',
  'PENDING',
  'REFUNDED',
  'PARTIALLY_REFUNDED',
  'VOIDED',
  'PAID',
  'AUTHORIZED',
];

export function money(amount: number, currencyCode = 'EUR') {
  return { shopMoney: { amount: amount.toFixed(2), currencyCode } };
}

export function makeCustomer(n: number, updatedAt: string, marketing: string | null): FakeNode {
  return {
    id: gid('Customer', 1000 + n),
    createdAt: '2025-01-01T00:00:00Z',
    updatedAt,
    firstName: `First${n}`,
    lastName: `Last${n}`,
    // Every fifth customer predates defaultEmailAddress's consent: only emailMarketingConsent says it.
    defaultEmailAddress:
      n % 5 === 0
        ? { emailAddress: `c${n}@example.com`, marketingState: null }
        : { emailAddress: `c${n}@example.com`, marketingState: marketing },
    emailMarketingConsent: { marketingState: n % 5 === 0 ? marketing : 'NOT_SUBSCRIBED' },
    defaultPhoneNumber: { phoneNumber: `+3361234${String(n).padStart(4, '0')}` },
    defaultAddress: { city: 'Lyon', province: 'ARA', zip: '69001', countryCodeV2: 'FR' },
  };
}

/** `customers` registered customers, 8 products, about two orders each (some by guests), 20 checkouts. */
export function makeShopifyStore(asOf: Date, customers = 30): ShopifyStore {
  const now = asOf.getTime();
  const store: ShopifyStore = { customers: [], products: [], orders: [], abandonedCheckouts: [] };
  for (let n = 1; n <= customers; n++)
    store.customers.push(
      makeCustomer(n, iso(now - (n % 7) * DAY - DAY), MARKETING[n % MARKETING.length] ?? null),
    );
  for (let p = 1; p <= 8; p++)
    store.products.push({
      id: gid('Product', 500 + p),
      title: `Product ${p}`,
      productType: p % 3 === 0 ? '' : `Type${p % 3}`,
      updatedAt: iso(now - p * DAY),
      priceRangeV2: { minVariantPrice: { amount: `${10 + p}.50`, currencyCode: 'EUR' } },
      collections: [
        { id: gid('Collection', 70 + p), title: `Collection${p}` },
        { id: gid('Collection', 90 + p), title: `Second${p}` },
      ],
    });
  let o = 0;
  for (let n = 1; n <= customers + 6; n++)
    for (let k = 0; k < 1 + (n % 3); k++) store.orders.push(makeOrder(++o, n, customers, now));
  for (let c = 1; c <= 20; c++) {
    const customer = c % 6 === 0 ? null : { id: gid('Customer', 1000 + ((c * 7) % customers) + 1) };
    store.abandonedCheckouts.push({
      id: gid('AbandonedCheckout', 3000 + c),
      createdAt: iso(now - (c % 10) * DAY),
      updatedAt: iso(now - (c % 10) * DAY + 3600_000),
      completedAt: c % 5 === 0 ? iso(now - (c % 10) * DAY + 7200_000) : null,
      customer,
      lineItems: [
        {
          id: gid('AbandonedCheckoutLineItem', c * 10 + 1),
          quantity: 1 + (c % 2),
          product: { id: gid('Product', 500 + (c % 8) + 1) },
        },
        {
          id: gid('AbandonedCheckoutLineItem', c * 10 + 2),
          quantity: 1,
          product: { id: gid('Product', 500 + ((c + 3) % 8) + 1) },
        },
      ],
    });
  }
  return store;
}

/** Order `o` of buyer `n`: buyers past `customers` are guests (one of them with a registered customer's email). */
export function makeOrder(o: number, n: number, customers: number, now: number): FakeNode {
  const guest = n > customers;
  const email = guest
    ? n === customers + 1
      ? ' C2@Example.com '
      : `guest${n}@example.com`
    : `c${n}@example.com`;
  const created = now - ((o * 37) % 400) * DAY - 3600_000;
  const product = (k: number) => ({ id: gid('Product', 500 + ((o + k) % 8) + 1) });
  return {
    id: gid('Order', 9000 + o),
    email,
    phone: null,
    createdAt: iso(created),
    updatedAt: iso(created + DAY),
    cancelledAt: o % 11 === 0 ? iso(created + 2 * DAY) : null,
    displayFinancialStatus: FINANCIAL[o % FINANCIAL.length],
    customer: guest ? null : { id: gid('Customer', 1000 + n) },
    totalPriceSet: money(20 + o),
    billingAddress: {
      firstName: `G${n}`,
      lastName: 'Guest',
      city: 'Nantes',
      province: 'PDL',
      zip: '44000',
      countryCodeV2: 'FR',
    },
    lineItems: [
      { id: gid('LineItem', o * 10 + 1), quantity: 1, product: product(0), originalUnitPriceSet: money(10) },
      // The same product again (another variant): one order_items row, quantities summed.
      { id: gid('LineItem', o * 10 + 2), quantity: 2, product: product(0), originalUnitPriceSet: money(13) },
      { id: gid('LineItem', o * 10 + 3), quantity: 1, product: product(3), originalUnitPriceSet: money(7.5) },
      // A custom item of no catalogue product: not loaded.
      { id: gid('LineItem', o * 10 + 4), quantity: 1, product: null, originalUnitPriceSet: money(1) },
    ],
  };
}

// ---- The same store as the files source's CSV files, mapped by hand ----

const csvValue = (v: unknown) => {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

function writeCsv(file: string, rows: Record<string, unknown>[]): void {
  const header = Object.keys(rows[0] ?? {});
  const lines = [header.join(','), ...rows.map((r) => header.map((h) => csvValue(r[h])).join(','))];
  writeFileSync(file, `${lines.join('\n')}\n`);
}

// biome-ignore lint/suspicious/noExplicitAny: API nodes are untyped JSON here, read field by field as documented
type Obj = Record<string, any>;

export function expectedStatus(o: Obj): string {
  if (o.cancelledAt || o.displayFinancialStatus === 'VOIDED') return 'cancelled';
  if (o.displayFinancialStatus === 'REFUNDED') return 'refunded';
  if (['PENDING', 'EXPIRED'].includes(o.displayFinancialStatus)) return 'unpaid';
  return o.displayFinancialStatus.toLowerCase();
}

export function writeStoreCsv(store: ShopifyStore, dir: string): void {
  const registered = new Map<string, string>();
  for (const c of store.customers as Obj[])
    registered.set(c.defaultEmailAddress.emailAddress.trim().toLowerCase(), tail(c.id));
  const buyer = (o: Obj) => {
    if (o.customer) return tail(o.customer.id);
    const email = String(o.email).trim().toLowerCase();
    return registered.get(email) ?? `guest:${email}`;
  };
  const customers = (store.customers as Obj[]).map((c) => ({
    customer_id: tail(c.id),
    email: c.defaultEmailAddress.emailAddress,
    updated_at: c.updatedAt,
    ads_consent:
      (c.defaultEmailAddress.marketingState ?? c.emailMarketingConsent.marketingState) === 'SUBSCRIBED',
  }));
  const guests = new Map<string, Obj>();
  for (const o of store.orders as Obj[])
    if (buyer(o).startsWith('guest:'))
      guests.set(buyer(o), {
        customer_id: buyer(o),
        email: o.email.trim(),
        updated_at: o.updatedAt,
        ads_consent: false,
      });
  writeCsv(join(dir, 'customers.csv'), [...customers, ...guests.values()]);
  writeCsv(
    join(dir, 'products.csv'),
    (store.products as Obj[]).map((p) => ({
      product_id: tail(p.id),
      name: p.title,
      category: p.productType || p.collections[0]?.title,
      price: p.priceRangeV2.minVariantPrice.amount,
    })),
  );

  writeCsv(
    join(dir, 'orders.csv'),
    (store.orders as Obj[]).map((o) => ({
      order_id: tail(o.id),
      customer_id: buyer(o),
      ordered_at: o.createdAt,
      status: expectedStatus(o),
      total: o.totalPriceSet.shopMoney.amount,
      currency: o.totalPriceSet.shopMoney.currencyCode,
    })),
  );
  const items = new Map<string, Obj>();
  for (const o of store.orders as Obj[])
    for (const l of o.lineItems as Obj[]) {
      if (!l.product) continue;
      const key = `${tail(o.id)}|${tail(l.product.id)}`;
      const row = items.get(key) ?? {
        order_id: tail(o.id),
        product_id: tail(l.product.id),
        quantity: 0,
        paid: 0,
      };
      row.quantity += l.quantity;
      row.paid += l.quantity * Number(l.originalUnitPriceSet.shopMoney.amount);
      items.set(key, row);
    }
  writeCsv(
    join(dir, 'order_items.csv'),
    [...items.values()].map(({ paid, ...r }) => ({ ...r, unit_price: (paid / r.quantity).toFixed(4) })),
  );
  const events: Obj[] = [];
  for (const c of store.abandonedCheckouts as Obj[]) {
    if (c.completedAt || !c.customer) continue;
    for (const l of c.lineItems as Obj[])
      for (const name of ['add_to_cart', 'begin_checkout'])
        events.push({
          event_id: `shopify:checkout:${tail(c.id)}:${tail(l.id)}:${name}`,
          customer_id: tail(c.customer.id),
          event_name: name,
          product_id: tail(l.product.id),
          occurred_at: c.createdAt,
          event_count: l.quantity,
          source: 'shopify',
        });
  }
  writeCsv(join(dir, 'events.csv'), events);
}
