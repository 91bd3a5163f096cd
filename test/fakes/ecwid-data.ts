import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EcwidObject, FakeEcwidData } from './ecwid-server.ts';

/**
 * A small store described once and rendered two ways: as Ecwid REST objects for the fake API, and as the CSV
 * exports the files source reads, so a test can check that both paths give the same warehouse and audiences.
 */

export interface StoreCustomer {
  id: number;
  email: string;
  firstName: string;
  lastName: string;
  country: string;
  /** Ecwid's acceptMarketing: only true is consent. */
  acceptMarketing: boolean | null;
  at: number;
}

export interface StoreOrder {
  number: number;
  /** Absent for a guest checkout. */
  customerId?: number;
  email: string;
  acceptMarketing?: boolean | null;
  paymentStatus: 'PAID' | 'PARTIALLY_REFUNDED' | 'CANCELLED' | 'REFUNDED' | 'AWAITING_PAYMENT' | 'INCOMPLETE';
  items: Array<{ productId: number; price: number; quantity: number }>;
  at: number;
  updatedAt?: number;
}

export interface StoreCart {
  cartId: string;
  customerId?: number;
  email?: string;
  productIds: number[];
  at: number;
}

export interface StoreModel {
  categories: Array<{ id: number; name: string }>;
  products: Array<{ id: number; name: string; price: number; categoryId: number; at: number }>;
  customers: StoreCustomer[];
  orders: StoreOrder[];
  carts: StoreCart[];
  currency: string;
}

/** Ecwid's date format: '2024-05-01 05:26:28 +0000'. */
export function ecwidDate(seconds: number): string {
  return `${new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ')} +0000`;
}

const person = (firstName: string, lastName: string, country: string) => ({
  name: `${firstName} ${lastName}`,
  firstName,
  lastName,
  countryCode: country,
  city: 'Springfield',
  postalCode: '12345',
});

export function customerObject(c: StoreCustomer): EcwidObject {
  return {
    id: c.id,
    email: c.email,
    registered: ecwidDate(c.at),
    updated: ecwidDate(c.at),
    updateTimestamp: c.at,
    acceptMarketing: c.acceptMarketing,
    billingPerson: person(c.firstName, c.lastName, c.country),
    contacts: [{ contact: c.email, type: 'EMAIL', default: true }],
    stats: { numberOfOrders: 0 },
  };
}

export function orderObject(o: StoreOrder): EcwidObject {
  const updated = o.updatedAt ?? o.at;
  return {
    id: `EBJ${o.number}`,
    orderNumber: o.number,
    internalId: o.number * 7,
    email: o.email,
    ...(o.customerId === undefined ? {} : { customerId: o.customerId }),
    acceptMarketing: o.acceptMarketing ?? null,
    paymentStatus: o.paymentStatus,
    fulfillmentStatus: 'PROCESSING',
    total: o.items.reduce((n, i) => n + i.price * i.quantity, 0),
    createDate: ecwidDate(o.at),
    createTimestamp: o.at,
    updateDate: ecwidDate(updated),
    updateTimestamp: updated,
    billingPerson: person('Buyer', String(o.number), 'DE'),
    items: o.items.map((i, n) => ({
      id: n + 1,
      productId: i.productId,
      price: i.price,
      quantity: i.quantity,
    })),
  };
}

export function toEcwid(model: StoreModel): Partial<FakeEcwidData> {
  return {
    currency: model.currency,
    categories: model.categories.map((c) => ({ id: c.id, name: c.name })),
    products: model.products.map((p) => ({
      id: p.id,
      name: p.name,
      price: p.price,
      defaultCategoryId: p.categoryId,
      updateTimestamp: p.at,
    })),
    customers: model.customers.map(customerObject),
    orders: model.orders.map(orderObject),
    carts: model.carts.map((c) => ({
      cartId: c.cartId,
      email: c.email,
      ...(c.customerId === undefined ? {} : { customerId: c.customerId }),
      createDate: ecwidDate(c.at),
      createTimestamp: c.at,
      updateTimestamp: c.at,
      items: c.productIds.map((productId) => ({ productId, quantity: 1 })),
    })),
  };
}

const STATUS: Record<StoreOrder['paymentStatus'], string> = {
  PAID: 'completed',
  PARTIALLY_REFUNDED: 'completed',
  CANCELLED: 'cancelled',
  REFUNDED: 'refunded',
  AWAITING_PAYMENT: 'unpaid',
  INCOMPLETE: 'unpaid',
};

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
const csv = (rows: Array<Record<string, unknown>>) => {
  const head = Object.keys(rows[0] ?? {});
  const cell = (v: unknown) => (v === null || v === undefined ? '' : `"${String(v).replaceAll('"', '""')}"`);
  return `${[head.join(','), ...rows.map((r) => head.map((h) => cell(r[h])).join(','))].join('\n')}\n`;
};

/**
 * The same store as the CSV exports a merchant would hand the files source, with the store rules applied by
 * hand: guests keyed `guest:<email>` (registered emails adopted), statuses as completed_orders reads them.
 */
export function writeStoreCsv(model: StoreModel, dir: string): void {
  const registered = new Map(model.customers.map((c) => [c.email.trim().toLowerCase(), String(c.id)]));
  const key = (id: number | undefined, email: string | undefined) =>
    id !== undefined
      ? String(id)
      : email
        ? (registered.get(email.trim().toLowerCase()) ?? `guest:${email.trim().toLowerCase()}`)
        : null;
  const category = new Map(model.categories.map((c) => [c.id, c.name]));
  const customers: Array<Record<string, unknown>> = model.customers.map((c) => ({
    customer_id: c.id,
    email: c.email,
    first_name: c.firstName,
    last_name: c.lastName,
    country: c.country,
    ads_consent: c.acceptMarketing === true,
    created_at: iso(c.at),
  }));
  const guests = new Map<string, Record<string, unknown>>();
  for (const o of [...model.orders].sort((a, b) => a.at - b.at)) {
    const k = key(o.customerId, o.email);
    if (k?.startsWith('guest:'))
      guests.set(k, { customer_id: k, email: o.email, ads_consent: o.acceptMarketing === true });
  }
  for (const c of model.carts) {
    const k = key(c.customerId, c.email);
    if (k?.startsWith('guest:') && !guests.has(k))
      guests.set(k, { customer_id: k, email: c.email, ads_consent: false });
  }
  for (const g of guests.values())
    customers.push({ first_name: null, last_name: null, country: null, created_at: null, ...g });
  writeFileSync(join(dir, 'customers.csv'), csv(customers));
  writeFileSync(
    join(dir, 'products.csv'),
    csv(
      model.products.map((p) => ({
        product_id: p.id,
        name: p.name,
        category: category.get(p.categoryId),
        price: p.price,
      })),
    ),
  );
  writeFileSync(
    join(dir, 'orders.csv'),
    csv(
      model.orders.map((o) => ({
        order_id: o.number,
        customer_id: key(o.customerId, o.email),
        ordered_at: iso(o.at),
        status: STATUS[o.paymentStatus],
        total: o.items.reduce((n, i) => n + i.price * i.quantity, 0),
        currency: model.currency,
      })),
    ),
  );
  writeFileSync(
    join(dir, 'order_items.csv'),
    csv(
      model.orders.flatMap((o) =>
        o.items.map((i) => ({
          order_id: o.number,
          product_id: i.productId,
          quantity: i.quantity,
          unit_price: i.price,
        })),
      ),
    ),
  );
  writeFileSync(
    join(dir, 'events.csv'),
    csv(
      model.carts.flatMap((c) =>
        c.productIds.map((p) => ({
          event_id: `ecwid:cart:${c.cartId}:${p}`,
          customer_id: key(c.customerId, c.email),
          event_name: 'add_to_cart',
          product_id: p,
          occurred_at: iso(c.at),
          source: 'ecwid',
        })),
      ),
    ),
  );
}

/**
 * A deterministic store: `customers` registered customers, `guests` guest buyers, orders spread over the
 * customers and guests with every payment status, carts of some of them. Times are UNIX seconds before `now`.
 */
export function makeStore(opts: {
  customers: number;
  guests: number;
  orders: number;
  carts: number;
  now: number;
}): StoreModel {
  let s = 12345;
  const rnd = (n: number) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return Math.floor(s / 65_536) % n; // the high bits: an LCG's low bits cycle quickly
  };
  const day = 86_400;
  const categories = [
    { id: 11, name: 'Shoes' },
    { id: 12, name: 'Bags' },
    { id: 13, name: 'Hats' },
  ];
  const products = Array.from({ length: 12 }, (_, i) => ({
    id: 100 + i,
    name: `Product ${i}`,
    price: 10 + i,
    categoryId: 11 + (i % 3),
    at: opts.now - 200 * day,
  }));
  const consent = [true, false, null] as const;
  const customers: StoreCustomer[] = Array.from({ length: opts.customers }, (_, i) => ({
    id: 1000 + i,
    email: `c${i}@example.com`,
    firstName: `First${i}`,
    lastName: `Last${i}`,
    country: ['DE', 'FR', 'US'][i % 3] as string,
    acceptMarketing: consent[i % 3] as boolean | null,
    at: opts.now - (100 + rnd(50)) * day,
  }));
  const statuses: StoreOrder['paymentStatus'][] = [
    'PAID',
    'PAID',
    'PAID',
    'PARTIALLY_REFUNDED',
    'CANCELLED',
    'REFUNDED',
    'AWAITING_PAYMENT',
    'INCOMPLETE',
  ];
  const orders: StoreOrder[] = Array.from({ length: opts.orders }, (_, i) => {
    const buyer = rnd(opts.customers + opts.guests);
    const guest = buyer >= opts.customers;
    const items = Array.from({ length: 1 + rnd(3) }, (_, k) => ({
      productId: 100 + ((buyer + k * 5) % 12),
      price: 10 + rnd(40),
      quantity: 1 + rnd(3),
    }));
    const distinct = [...new Map(items.map((x) => [x.productId, x])).values()];
    return {
      number: 1 + i,
      ...(guest ? {} : { customerId: 1000 + buyer }),
      email: guest ? ` Guest${buyer - opts.customers}@Example.com` : `c${buyer}@example.com`,
      acceptMarketing: guest ? (consent[buyer % 3] as boolean | null) : null,
      paymentStatus: statuses[rnd(statuses.length)] as StoreOrder['paymentStatus'],
      items: distinct,
      at: opts.now - (1 + rnd(90)) * day - rnd(day),
    };
  });
  const carts: StoreCart[] = Array.from({ length: opts.carts }, (_, i) => {
    const buyer = rnd(opts.customers + opts.guests + 2);
    const who =
      buyer < opts.customers
        ? { customerId: 1000 + buyer, email: `c${buyer}@example.com` }
        : buyer < opts.customers + opts.guests
          ? { email: `guest${buyer - opts.customers}@example.com` }
          : { email: `cartonly${buyer}@example.com` };
    return { cartId: `cart-${i}`, ...who, productIds: [100 + rnd(12)], at: opts.now - (1 + rnd(20)) * day };
  });
  return { categories, products, customers, orders, carts, currency: 'EUR' };
}
