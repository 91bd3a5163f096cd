import type { Warehouse } from '../../warehouse/warehouse.ts';
import { TestStore } from './store.ts';

/**
 * The small store the retention metrics are checked against (test/metrics*.test.ts), evaluated as of 2026-07-15
 * over two quarters: Q1 = (2026-01-01, 2026-04-01], Q2 = (2026-04-01, 2026-07-01]. Every expected figure is worked
 * out by hand in the tests from the rows below. Revenue comes from the lines (the order totals say 1 on purpose).
 */

export const AS_OF = '2026-07-15';

const line = (quantity: number, price: number) => ({ product: 'p', quantity, price });

export async function seedMetricsStore(wh: Warehouse): Promise<void> {
  const s = new TestStore(wh);
  await s.product('p');
  const order = (customer: string | null, at: string, q: number, price: number, status = 'completed') =>
    s.order(customer, { at, items: [line(q, price)], status, total: 1 });
  // a: bought before, in Q1 and in Q2 (and after T: ignored).
  await order('a', '2025-06-01', 2, 50);
  await order('a', '2026-02-10', 3, 10);
  await order('a', '2026-05-05', 1, 70);
  await order('a', '2026-07-20', 1, 1000);
  // b: one order in June 2025.
  await order('b', '2025-06-20', 1, 40);
  // c: new in Q1; a cancelled order in Q2 never counts.
  await order('c', '2026-02-01', 1, 60);
  await order('c', '2026-05-01', 1, 500, 'cancelled');
  // d: a refunded order before, so first completed order (new) in Q2.
  await order('d', '2025-09-01', 1, 80, 'Refunded');
  await order('d', '2026-05-20', 1, 25);
  await order('d', '2026-06-30', 1, 15);
  // e: a very old order, then one exactly at 2026-04-01 00:00 (the end of Q1: periods are (S, E]).
  await order('e', '2024-12-01', 1, 20);
  await order('e', '2026-04-01T00:00:00Z', 1, 10);
  // f: only February 2025 (active at the start of Q1, no longer at its end).
  await order('f', '2025-02-01', 1, 5);
  // A guest order names no customer: in no figure.
  await order(null, '2026-02-15', 1, 999);

  // Carts and visits in Q2 (none in Q1).
  await event(wh, 'a', 'add_to_cart', '2026-05-04T10:00:00Z'); // bought 2026-05-05: converted
  await event(wh, 'a', 'add_to_cart', '2026-05-04T15:00:00Z'); // same (identity, day): the same cart
  await event(wh, 'anon:x', 'add_to_cart', '2026-06-01T10:00:00Z');
  await event(wh, 'anon:x', 'purchase', '2026-06-03T10:00:00Z'); // a purchase event counts
  await event(wh, 'b', 'add_to_cart', '2026-06-10T10:00:00Z'); // never bought: abandoned
  await event(wh, 'c', 'add_to_cart', '2026-04-20T10:00:00Z'); // only a cancelled order after: abandoned
  await event(wh, 'd', 'add_to_cart', '2026-05-10T10:00:00Z'); // bought 10 days later: abandoned
  await event(wh, 'd', 'add_to_cart', '2026-06-25T10:00:00Z'); // bought 5 days later
  await event(wh, 'e', 'add_to_cart', '2026-06-30T23:00:00Z'); // bought after E, within 7 days
  await event(wh, 'e', 'purchase', '2026-07-02T10:00:00Z');
  await event(wh, 'anon:w', 'purchase', '2026-06-14T09:00:00Z'); // bought before adding to the cart, not after:
  await event(wh, 'anon:w', 'add_to_cart', '2026-06-14T10:00:00Z'); // abandoned
  await event(wh, 'anon:y', 'view_item', '2026-06-05T10:00:00Z');
  await event(wh, 'anon:z', 'view_item', '2026-06-06T10:00:00Z');
}

let seq = 0;

/** An event of a customer, or of an anonymous visitor (`anon:<id>`, the same id on every call). */
async function event(wh: Warehouse, who: string, name: string, at: string): Promise<void> {
  const anonymous = who.startsWith('anon:') ? who.slice(5) : null;
  const key = `m${++seq}`;
  await wh.run(
    `INSERT INTO events (event_id, customer_id, anonymous_id, event_name, occurred_at, source, event_key)
     VALUES ($1, $2, $3, $4, $5, 'test', $1)`,
    [key, anonymous ? null : who, anonymous, name, new Date(at)],
  );
}
