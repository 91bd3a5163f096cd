import { compileSegment } from '../../dsl/compile.ts';
import { explainMembers, type MemberExplanation } from '../../dsl/explain.ts';
import { definitionFrom } from '../../dsl/load.ts';
import type { SegmentDefinition } from '../../dsl/types.ts';
import { Warehouse } from '../../warehouse/warehouse.ts';

/**
 * A fresh in-memory warehouse with a vocabulary for segment specs: state customers, products, events and
 * orders, then ask who is in a segment as of T. Rows go in with plain SQL (no file loader involved).
 */

type Time = string | Date;
type Segmentish = SegmentDefinition | { toDefinition(): SegmentDefinition };
const at = (t: Time): Date => (t instanceof Date ? t : new Date(t));

export interface OrderItem {
  product: string;
  quantity?: number;
  price?: number;
}

export class TestStore {
  private orderSeq = 0;
  private eventSeq = 0;
  constructor(readonly wh: Warehouse) {}

  async customer(
    id: string,
    fields: Partial<{
      email: string;
      country: string;
      city: string;
      ads_consent: boolean;
      created_at: Time;
    }> = {},
  ): Promise<void> {
    await this.wh.run(
      'INSERT INTO customers (customer_id, email, country, city, ads_consent, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
      [
        id,
        fields.email ?? `${id}@example.com`,
        fields.country ?? null,
        fields.city ?? null,
        fields.ads_consent ?? false,
        fields.created_at ? at(fields.created_at) : null,
      ],
    );
  }

  async product(
    id: string,
    fields: { category?: string; name?: string; price?: number } = {},
  ): Promise<void> {
    await this.wh.run('INSERT INTO products (product_id, name, category, price) VALUES ($1, $2, $3, $4)', [
      id,
      fields.name ?? id,
      fields.category ?? null,
      fields.price ?? null,
    ]);
  }

  /** An event; customerId null = anonymous. */
  async event(
    customerId: string | null,
    name: string,
    opts: { at: Time; product?: string; category?: string; count?: number },
  ): Promise<void> {
    const key = `e${++this.eventSeq}`;
    await this.wh.run(
      `INSERT INTO events (event_id, customer_id, anonymous_id, event_name, product_id, category, occurred_at, event_count, source, event_key)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'test', $1)`,
      [
        key,
        customerId,
        customerId ? null : `anon-${key}`,
        name,
        opts.product ?? null,
        opts.category ?? null,
        at(opts.at),
        opts.count ?? 1,
      ],
    );
  }

  /** An order with its lines; status defaults to 'completed'. Returns the order_id. */
  async order(
    customerId: string | null,
    opts: { at: Time; items?: Array<string | OrderItem>; status?: string; id?: string; total?: number },
  ): Promise<string> {
    const orderId = opts.id ?? `o${++this.orderSeq}`;
    const items = (opts.items ?? []).map((i) => (typeof i === 'string' ? { product: i } : i));
    const total = opts.total ?? items.reduce((s, i) => s + (i.price ?? 10) * (i.quantity ?? 1), 0);
    await this.wh.run(
      'INSERT INTO orders (order_id, customer_id, ordered_at, status, total, currency) VALUES ($1, $2, $3, $4, $5, $6)',
      [orderId, customerId, at(opts.at), opts.status ?? 'completed', total, 'EUR'],
    );
    for (const i of items)
      await this.wh.run(
        'INSERT INTO order_items (order_id, product_id, quantity, unit_price) VALUES ($1, $2, $3, $4)',
        [orderId, i.product, i.quantity ?? 1, i.price ?? 10],
      );
    return orderId;
  }

  async complement(productId: string, complementId: string): Promise<void> {
    await this.wh.run('INSERT INTO product_complements VALUES ($1, $2)', [productId, complementId]);
  }

  /** Every row the segment's compiled query returns, attributes parsed, sorted by audience and customer. */
  async rows(
    seg: Segmentish,
    opts: { asOf: Time },
  ): Promise<Array<{ audience: string; customer_id: string; attributes: Record<string, unknown> }>> {
    const def = definitionFrom(seg, 'test');
    const q = compileSegment(def, { asOf: at(opts.asOf) });
    const rows = await this.wh.all<{ audience: string; customer_id: string; attributes: string }>(
      `SELECT audience, customer_id, attributes::VARCHAR AS attributes FROM (${q.sql}) ORDER BY 1, 2`,
      q.parameters,
    );
    return rows.map((r) => ({ ...r, attributes: JSON.parse(r.attributes) as Record<string, unknown> }));
  }

  /** Sorted member ids; for a split segment pass the audience (`name:<key>`), or get every member. */
  async members(seg: Segmentish, opts: { asOf: Time; audience?: string }): Promise<string[]> {
    const rows = await this.rows(seg, opts);
    const ids = rows
      .filter((r) => opts.audience === undefined || r.audience === opts.audience)
      .map((r) => r.customer_id);
    return [...new Set(ids)].sort();
  }

  /** Audience name -> sorted member ids. */
  async audiences(seg: Segmentish, opts: { asOf: Time }): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {};
    for (const r of await this.rows(seg, opts)) {
      out[r.audience] ??= [];
      out[r.audience]!.push(r.customer_id);
    }
    return out;
  }

  /** Attributes of one member (of one audience), or undefined when not a member. */
  async attributes(
    seg: Segmentish,
    customerId: string,
    opts: { asOf: Time; audience?: string },
  ): Promise<Record<string, unknown> | undefined> {
    const rows = await this.rows(seg, opts);
    return rows.find(
      (r) => r.customer_id === customerId && (opts.audience === undefined || r.audience === opts.audience),
    )?.attributes;
  }

  async explain(
    seg: Segmentish,
    opts: { asOf: Time; audience?: string; limit?: number },
  ): Promise<MemberExplanation[]> {
    return explainMembers(this.wh, definitionFrom(seg, 'test'), { ...opts, asOf: at(opts.asOf) });
  }

  close(): void {
    this.wh.close();
  }
}

/** A fresh in-memory warehouse (migrations applied). */
export async function testStore(): Promise<TestStore> {
  return new TestStore(await Warehouse.open({ path: ':memory:' }));
}
