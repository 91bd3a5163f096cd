import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  all,
  any,
  closest,
  compileSegment,
  customer,
  days,
  explainSegment,
  loadSegments,
  not,
  notPerformed,
  notPurchased,
  orders,
  parseDefinition,
  performed,
  purchased,
  SegmentDefinitionError,
  segment,
  segmentForAudience,
} from '../dsl/index.ts';
import { type TestStore, testStore } from './helpers/store.ts';
import { tempDir } from './helpers/temp.ts';

const T = '2026-03-31T00:00:00Z';
const daysBefore = (days: number, seconds = 0) =>
  new Date(Date.parse(T) - days * 86_400_000 + seconds * 1000);
const DSL = fileURLToPath(new URL('../dsl/index.ts', import.meta.url));

describe('loadSegments', () => {
  const dirWith = (files: Record<string, string>): string => {
    const dir = tempDir('segments');
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  };
  const header = `import { all, any, complementsOf, customer, days, not, orders, performed, purchased, segment } from '${DSL}';\n`;
  const loadError = async (body: string, file = 'bad.ts'): Promise<string> => {
    try {
      await loadSegments(dirWith({ [file]: header + body }));
    } catch (err) {
      expect(err).toBeInstanceOf(SegmentDefinitionError);
      return (err as Error).message;
    }
    throw new Error('expected a SegmentDefinitionError');
  };

  it('loads the six shipped segments as validated plain data', async () => {
    const loaded = await loadSegments();
    // The shipped six are there; a segment a marketer adds (docs/segments.md) must not fail this test.
    expect(loaded.map((s) => s.definition.name)).toEqual(
      expect.arrayContaining([
        'cart_abandoners',
        'category_browsers',
        'complementary_products',
        'one_time_buyers',
        'passive_past_buyers',
        'wishlisted',
      ]),
    );
    expect(loaded.find((s) => s.definition.name === 'wishlisted')).toEqual({
      file: 'segments/wishlisted.ts',
      definition: {
        name: 'wishlisted',
        description: 'Wishlisted a product in the last 30 days and has not bought it since',
        where: {
          kind: 'performed',
          events: ['add_to_wishlist'],
          withinDays: 30,
          notFollowedBy: { kind: 'purchased', sameProduct: true },
        },
      },
    });
    expect(JSON.parse(JSON.stringify(loaded))).toEqual(loaded); // plain, JSON-able data
    expect(segmentForAudience(loaded, 'category_browsers:Shoes')?.definition.name).toBe('category_browsers');
    expect(segmentForAudience(loaded, 'wishlisted')?.definition.name).toBe('wishlisted');
    expect(segmentForAudience(loaded, 'nope')).toBeUndefined();
  });

  it('names the file and the field path of a bad value', async () => {
    const msg = await loadError(
      `export default segment('foo').describe('x').where(all(performed('view_item'), performed('add_to_cart').within(days(-3))));`,
    );
    expect(msg).toMatch(/bad\.ts: where\.all\[1\]\.withinDays: must be a positive integer$/);
  });

  it.each([
    [`segment('Foo').describe('x').where(performed('a'))`, 'name: must be lower_snake_case'],
    [`segment('foo').where(performed('a'))`, 'description: must be a string (use .describe(...))'],
    [`segment('foo').describe('x')`, 'where: must be a condition'],
    [
      `segment('foo').describe('x').where(performed('a').atLeast(1.5))`,
      'where.atLeast: must be a positive integer',
    ],
    [`segment('foo').describe('x').where(performed([]))`, 'where.events: must name at least one value'],
    [
      `segment('foo').describe('x').where({ kind: 'performed', events: ['a'], withinDay: 3 })`,
      'where: Unrecognized key',
    ],
    [
      `segment('foo').describe('x').where({ kind: 'bought' })`,
      'where.kind: must be a condition (kind one of',
    ],
    [`segment('foo').describe('x').where(any(orders().count()))`, 'where.any[0]: needs a comparison'],
    [
      `segment('foo').describe('x').where(orders().daysSinceLast().atLeast(-1))`,
      'where.atLeast: must be a non-negative integer',
    ],
    [
      `segment('foo').describe('x').where(customer('shoe_size').equals(3))`,
      'where.column: must be one of email',
    ],
    [
      `segment('foo').describe('x').where(customer('country').in())`,
      'where.value: in needs a non-empty list',
    ],
    [
      `segment('foo').describe('x').where(purchased().ofSameProduct())`,
      'where: ofSameProduct() only makes sense inside notFollowedBy()',
    ],
    [
      `segment('foo').describe('x').where(performed('a').notFollowedBy(purchased().within(days(3))))`,
      'where.notFollowedBy: must be purchased() (optionally .ofSameProduct()), without a window or count',
    ],
    [
      `segment('foo').describe('x').where(complementsOf(purchased()))`,
      'where: complementsOf() needs .declared() and/or .mined(...)',
    ],
    [
      `segment('foo').describe('x').where(complementsOf(purchased()).declared().mined({ minOrders: 0, minLift: 2 }))`,
      'where.mined.minOrders: must be a positive integer',
    ],
    [`segment('foo').describe('x').splitBy('brand')`, 'splitBy: must be category or product'],
    [
      `segment('foo').describe('x').splitBy('category').where(orders().count().atLeast(1))`,
      "where: splitBy('category') needs at least one positive performed() or purchased() condition",
    ],
    [
      `segment('foo').describe('x').splitBy('category').where(all(customer('country').equals('US'), not(purchased())))`,
      "where.all[1]: under splitBy('category') a not() of performed()/purchased() must sit in all() next to a positive one",
    ],
    [
      `segment('foo').describe('x').splitBy('category').where(any(performed('a'), orders().count().atLeast(1)))`,
      "where: under splitBy('category') any() must combine only",
    ],
    [
      `segment('foo').describe('x').splitBy('product').where(all(performed('a'), complementsOf(purchased()).declared()))`,
      'where.all[1]: complementsOf() cannot be used with splitBy()',
    ],
  ])('rejects %s', async (body, expected) => {
    const msg = await loadError(`export default ${body};`);
    expect(msg).toContain(`bad.ts: ${expected}`);
  });

  it('rejects duplicate names, missing default exports and modules that fail to import', async () => {
    const dup = `export default segment('same').describe('x').where(performed('a'));`;
    await expect(loadSegments(dirWith({ 'a.ts': header + dup, 'b.ts': header + dup }))).rejects.toThrow(
      /b\.ts: name: 'same' is already defined in .*a\.ts/,
    );
    expect(await loadError('export const x = 1;', 'nodefault.ts')).toMatch(
      /nodefault\.ts: has no default export/,
    );
    expect(await loadError('throw new Error("boom");', 'boom.ts')).toMatch(
      /boom\.ts: cannot be imported: boom/,
    );
  });

  it('sees a segment file edited since the last load', async () => {
    const dir = dirWith({
      'edit.ts': `${header}export default segment('v1').describe('x').where(performed('a'));`,
    });
    expect((await loadSegments(dir)).map((l) => l.definition.name)).toEqual(['v1']);
    writeFileSync(
      join(dir, 'edit.ts'),
      `${header}export default segment('v2').describe('x').where(performed('a'));`,
    );
    utimesSync(join(dir, 'edit.ts'), new Date(), new Date(Date.now() + 5000));
    expect((await loadSegments(dir)).map((l) => l.definition.name)).toEqual(['v2']);
  });

  it('accepts hand-written plain data and skips test files and _helpers', async () => {
    const dir = dirWith({
      'plain.ts': `export default { name: 'plain', description: 'd', where: { kind: 'orders', metric: 'count', atLeast: 2 } };`,
      'plain.test.ts': 'throw new Error("not a segment");',
      '_shared.ts': 'export const x = 1;',
    });
    const loaded = await loadSegments(dir);
    expect(loaded.map((l) => l.definition.name)).toEqual(['plain']);
  });
});

describe('conditions', () => {
  let store: TestStore;
  beforeEach(async () => {
    store = await testStore();
  });
  afterEach(() => store.close());
  const seg = (where: Parameters<ReturnType<typeof segment>['where']>[0]) =>
    segment('s').describe('test').where(where);

  it('performed: event lists, product and category filters, atLeast sums event_count, all history when no window', async () => {
    await store.product('p1', { category: 'Shoes' });
    await store.event('c1', 'add_to_cart', { product: 'p1', at: daysBefore(400) });
    await store.event('c1', 'begin_checkout', { product: 'p1', at: daysBefore(1) });
    await store.event('c2', 'add_to_cart', { product: 'p2', at: daysBefore(1), count: 2 });
    await store.event('c3', 'view_item', { product: 'p1', at: daysBefore(1) });
    expect(
      await store.members(seg(performed(['add_to_cart', 'begin_checkout']).atLeast(2)), { asOf: T }),
    ).toEqual(['c1', 'c2']);
    expect(await store.members(seg(performed('add_to_cart').within(days(30))), { asOf: T })).toEqual(['c2']);
    expect(
      await store.members(seg(performed(['add_to_cart', 'view_item']).product('p1')), { asOf: T }),
    ).toEqual(['c1', 'c3']);
    expect(await store.members(seg(performed('view_item').category('Shoes', 'Hats')), { asOf: T })).toEqual([
      'c3',
    ]);
  });

  it('purchased: atLeast counts distinct completed orders, not lines', async () => {
    await store.product('p1', { category: 'Shoes' });
    await store.order('one_order_two_lines', { at: daysBefore(1), items: ['p1', 'p2'] });
    await store.order('two_orders', { at: daysBefore(1), items: ['p1'] });
    await store.order('two_orders', { at: daysBefore(2), items: ['p2'] });
    await store.order('cancelled_second', { at: daysBefore(1), items: ['p1'] });
    await store.order('cancelled_second', { at: daysBefore(2), items: ['p1'], status: 'cancelled' });
    expect(await store.members(seg(purchased().atLeast(2)), { asOf: T })).toEqual(['two_orders']);
    expect(await store.members(seg(purchased().category('Shoes')), { asOf: T })).toEqual([
      'cancelled_second',
      'one_order_two_lines',
      'two_orders',
    ]);
    expect(
      await store.attributes(seg(purchased().product('p2').as('p2')), 'two_orders', { asOf: T }),
    ).toEqual({
      p2_orders: 1,
    });
  });

  it('not() subtracts from every known customer: customers rows, buyers and event-only customers up to T', async () => {
    await store.customer('row_only');
    await store.event('events_only', 'view_item', { at: daysBefore(1) });
    await store.event('future_only', 'view_item', { at: daysBefore(-1) });
    await store.order('buyer', { at: daysBefore(1), items: ['p1'] });
    await store.order('cancelled_buyer', { at: daysBefore(1), items: ['p1'], status: 'cancelled' });
    expect(await store.members(seg(not(purchased())), { asOf: T })).toEqual([
      'cancelled_buyer',
      'events_only',
      'row_only',
    ]);
    expect(await store.members(seg(notPurchased()), { asOf: T })).toEqual(
      await store.members(seg(not(purchased())), { asOf: T }),
    );
    expect(await store.members(seg(notPerformed('view_item')), { asOf: T })).toEqual([
      'buyer',
      'cancelled_buyer',
      'row_only',
    ]);
  });

  it('orders(): count and totalSpent treat customers without orders as 0; daysSince never matches them', async () => {
    await store.customer('never');
    await store.order('one', { at: daysBefore(10), items: [{ product: 'p1', price: 30 }] });
    await store.order('two', { at: daysBefore(400), items: [{ product: 'p1', price: 50 }] });
    await store.order('two', { at: daysBefore(5), items: [{ product: 'p1', price: 60 }] });
    const members = (c: Parameters<typeof seg>[0]) => store.members(seg(c), { asOf: T });
    expect(await members(orders().count().equals(0))).toEqual(['never']);
    expect(await members(orders().count().lessThan(2))).toEqual(['never', 'one']);
    expect(await members(orders().count().atLeast(2))).toEqual(['two']);
    expect(await members(orders().totalSpent().moreThan(30))).toEqual(['two']);
    expect(await members(orders().totalSpent().atMost(30))).toEqual(['never', 'one']);
    expect(await members(orders().daysSinceLast().atMost(10))).toEqual(['one', 'two']);
    expect(await members(orders().daysSinceLast().moreThan(5))).toEqual(['one']);
    expect(await members(orders().daysSinceLast().equals(10))).toEqual(['one']);
    expect(await members(orders().daysSinceFirst().atLeast(365))).toEqual(['two']);
    expect(await members(not(orders().daysSinceLast().lessThan(30)))).toEqual(['never']);
  });

  it('daysSinceLast().equals(n) means n <= days < n + 1', async () => {
    await store.order('exactly', { at: daysBefore(10), items: ['p1'] });
    await store.order('almost_11', { at: daysBefore(11, 1), items: ['p1'] });
    await store.order('eleven', { at: daysBefore(11), items: ['p1'] });
    await store.order('under', { at: daysBefore(10, 1), items: ['p1'] });
    expect(await store.members(seg(orders().daysSinceLast().equals(10)), { asOf: T })).toEqual([
      'almost_11',
      'exactly',
    ]);
  });

  it('customer(): comparisons need a customers row; notEquals and notIn include NULL', async () => {
    await store.customer('us', { country: 'US', ads_consent: true });
    await store.customer('fr', { country: 'FR' });
    await store.customer('unknown');
    await store.order('no_row', { at: daysBefore(1), items: ['p1'] });
    const members = (c: Parameters<typeof seg>[0]) => store.members(seg(c), { asOf: T });
    expect(await members(customer('country').equals('US'))).toEqual(['us']);
    expect(await members(customer('country').notEquals('US'))).toEqual(['fr', 'unknown']);
    expect(await members(customer('country').in('US', 'FR'))).toEqual(['fr', 'us']);
    expect(await members(customer('country').notIn('US'))).toEqual(['fr', 'unknown']);
    expect(await members(customer('country').isNull())).toEqual(['unknown']);
    expect(await members(customer('ads_consent').equals(true))).toEqual(['us']);
    expect(await members(not(customer('ads_consent').equals(true)))).toEqual(['fr', 'no_row', 'unknown']);
    expect(
      await members(all(customer('country').isNotNull(), customer('ads_consent').equals(false))),
    ).toEqual(['fr']);
  });

  it('any() unions its branches and keeps the evidence of each', async () => {
    await store.event('viewer', 'view_item', { at: daysBefore(1), count: 2 });
    await store.order('buyer', { at: daysBefore(1), items: ['p1'] });
    await store.order('both', { at: daysBefore(1), items: ['p1'] });
    await store.event('both', 'view_item', { at: daysBefore(1) });
    const s = seg(any(performed('view_item'), purchased()));
    expect(await store.rows(s, { asOf: T })).toEqual([
      { audience: 's', customer_id: 'both', attributes: { view_item_count: 1, purchased_orders: 1 } },
      { audience: 's', customer_id: 'buyer', attributes: { view_item_count: null, purchased_orders: 1 } },
      { audience: 's', customer_id: 'viewer', attributes: { view_item_count: 2, purchased_orders: null } },
    ]);
    const explained = await store.explain(s, { asOf: T });
    expect(explained.map((m) => m.reasons)).toEqual([
      ['viewed 1x ever (up to T) (>= 1)', 'bought in 1 order(s) ever (up to T) (>= 1)'],
      ['bought in 1 order(s) ever (up to T) (>= 1)'],
      ['viewed 2x ever (up to T) (>= 1)'],
    ]);
  });

  it('all() joins positives and anti-joins negatives; nested combinations work', async () => {
    for (const c of ['a', 'b', 'c']) await store.event(c, 'view_item', { at: daysBefore(1) });
    await store.event('b', 'add_to_cart', { at: daysBefore(1) });
    await store.order('c', { at: daysBefore(1), items: ['p1'] });
    await store.customer('a', { country: 'US' });
    await store.customer('c', { country: 'US' });
    const s = seg(
      all(
        performed('view_item'),
        not(all(performed('add_to_cart'))),
        any(customer('country').equals('US'), purchased()),
      ),
    );
    expect(await store.members(s, { asOf: T })).toEqual(['a', 'c']);
    expect(
      await store.members(seg(all(performed('view_item'), not(purchased()), not(performed('add_to_cart')))), {
        asOf: T,
      }),
    ).toEqual(['a']);
  });

  it('splitBy(product) keys performed and purchased conditions by product', async () => {
    await store.event('c1', 'view_item', { product: 'p1', at: daysBefore(1) });
    await store.event('c1', 'view_item', { product: 'p2', at: daysBefore(1) });
    await store.event('c1', 'view_item', { at: daysBefore(1) });
    await store.order('c1', { at: daysBefore(1), items: ['p2'] });
    await store.customer('c1', { country: 'US' });
    const s = segment('viewed_not_bought')
      .describe('x')
      .splitBy('product')
      .where(all(performed('view_item'), notPurchased(), customer('country').equals('US')));
    expect(await store.audiences(s, { asOf: T })).toEqual({ 'viewed_not_bought:p1': ['c1'] });
  });

  it('under splitBy, any() of keyed conditions unions per value and not() correlates on the same value', async () => {
    await store.product('shoe', { category: 'Shoes' });
    await store.product('hat', { category: 'Hats' });
    await store.event('c1', 'add_to_cart', { product: 'shoe', at: daysBefore(1) });
    await store.event('c1', 'add_to_wishlist', { product: 'hat', at: daysBefore(1) });
    await store.event('c2', 'add_to_wishlist', { product: 'hat', at: daysBefore(1) });
    await store.order('c2', { at: daysBefore(2), items: ['hat'] });
    await store.order('c1', { at: daysBefore(0.5), items: ['shoe'] }); // removes c1 from Shoes only
    await store.customer('c1');
    const s = segment('interested')
      .describe('x')
      .splitBy('category')
      .where(
        all(
          any(performed('add_to_cart'), performed('add_to_wishlist')),
          not(all(purchased().within(days(1)), customer('country').isNull())),
          notPurchased().within(days(3)).category('Hats'),
        ),
      );
    expect(await store.audiences(s, { asOf: T })).toEqual({ 'interested:Hats': ['c1'] });
    expect(await store.attributes(s, 'c1', { asOf: T })).toEqual({
      add_to_cart_count: null,
      add_to_wishlist_count: 1,
    });
    await store.wh.run("UPDATE orders SET status = 'refunded' WHERE customer_id = 'c2'");
    expect(await store.audiences(s, { asOf: T })).toEqual({ 'interested:Hats': ['c1', 'c2'] });
  });

  it('explainMembers filters by audience, limits rows and gives reasons', async () => {
    for (const c of ['c1', 'c2', 'c3']) await store.order(c, { at: daysBefore(200), items: ['p1'] });
    const s = segment('quiet')
      .describe('x')
      .where(all(orders().daysSinceLast().atLeast(180), orders().count().equals(1)));
    const explained = await store.explain(s, { asOf: T, limit: 2 });
    expect(explained).toEqual([
      {
        audience: 'quiet',
        customer_id: 'c1',
        attributes: { last_order_at: '2025-09-12T00:00:00Z', orders_count: 1 },
        reasons: [
          'days since last completed order: 200 (>= 180; on 2025-09-12)',
          'completed orders: 1 (= 1)',
        ],
      },
      expect.objectContaining({ customer_id: 'c2' }),
    ]);
    expect(await store.explain(s, { asOf: T, audience: 'other' })).toEqual([]);
  });
});

describe('compileSegment and explainSegment', () => {
  const def = parseDefinition(
    segment('category_browsers')
      .describe('Browsed a category')
      .splitBy('category')
      .where(all(performed('view_item').within(days(14)).atLeast(3), not(purchased().within(days(14)))))
      .toDefinition(),
    'test',
  );

  it('compiles to one set-based statement with values inlined as literals', () => {
    const { sql, parameters } = compileSegment(def, { asOf: new Date(T) });
    expect(sql.startsWith('WITH')).toBe(true);
    expect(sql).not.toContain(';');
    expect(sql).not.toMatch(/EXISTS|LATERAL/i); // no correlated subqueries: joins only
    expect(sql).toContain('ANTI JOIN');
    expect(sql).toContain("e.occurred_at > TIMESTAMP '2026-03-17 00:00:00.000'");
    expect(parameters).toEqual([]);
  });

  it('escapes values and odd event names', async () => {
    const store = await testStore();
    try {
      await store.event('c1', "it's \\ odd", { at: daysBefore(1) });
      const s = segment('odd').describe('x').where(performed("it's \\ odd"));
      expect(await store.rows(s, { asOf: T })).toEqual([
        { audience: 'odd', customer_id: 'c1', attributes: { it_s___odd_count: 1 } },
      ]);
    } finally {
      store.close();
    }
  });

  it('explainSegment inlines parameters into SQL that runs and gives the same members', async () => {
    const store = await testStore();
    try {
      await store.product('p1', { category: 'Shoes' });
      await store.event('c1', 'view_item', { product: 'p1', at: daysBefore(1), count: 3 });
      await store.event('c2', 'view_item', { product: 'p1', at: daysBefore(1), count: 3 });
      await store.order('c2', { at: daysBefore(1), items: ['p1'] });
      const text = explainSegment(def, { asOf: new Date(T) });
      expect(text).toContain(
        '-- segment category_browsers (one audience per category: category_browsers:<category>)',
      );
      expect(text).toContain("e.occurred_at > TIMESTAMP '2026-03-17 00:00:00.000'");
      expect(text).toContain("e.event_name IN ('view_item')");
      expect(text).not.toMatch(/\$\d/);
      const rows = await store.wh.all(text.replace(/;\s*$/, ''));
      expect(rows).toEqual([
        { audience: 'category_browsers:Shoes', customer_id: 'c1', attributes: '{"view_item_count":3}' },
      ]);
    } finally {
      store.close();
    }
  });

  it('explainSegment keeps values that look like placeholders, quotes and backslashes exactly', async () => {
    const store = await testStore();
    const odd = ['Under $10', '$1', 'p$2x', "it's", 'back\\slash'];
    try {
      for (const [i, category] of odd.entries()) {
        await store.product(`p${i}`, { category });
        await store.event(`c${i}`, 'view_item', { product: `p${i}`, at: daysBefore(1) });
      }
      await store.product('p9', { category: 'Other' });
      await store.event('c9', 'view_item', { product: 'p9', at: daysBefore(1) });
      const s = parseDefinition(
        segment('odd')
          .describe('x')
          .where(performed('view_item').category(...odd))
          .toDefinition(),
        'test',
      );
      const text = explainSegment(s, { asOf: new Date(T) });
      expect(text).toContain("e.category IN ('Under $10', '$1', 'p$2x', 'it''s', 'back\\slash')");
      const explained = await store.wh.all<{ customer_id: string }>(text.replace(/;\s*$/, ''));
      const compiled = compileSegment(s, { asOf: new Date(T) });
      const direct = await store.wh.all<{ customer_id: string }>(compiled.sql, compiled.parameters);
      const ids = (rows: Array<{ customer_id: string }>) => rows.map((r) => r.customer_id).sort();
      expect(ids(explained)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
      expect(ids(explained)).toEqual(ids(direct));
    } finally {
      store.close();
    }
  });

  it('closest: a case-insensitive match, else a near edit (a transposition counts as one), else nothing', () => {
    expect(closest('view_itme', ['view_item', 'view_item_list', 'purchase'])).toBe('view_item');
    expect(closest('cameras', ['Cameras', 'Camera Bags'])).toBe('Cameras');
    expect(closest('Zebras', ['Cameras', 'Tents'])).toBeUndefined();
  });

  it('parseDefinition rejects unvalidated builder output with the given file name', () => {
    expect(() =>
      parseDefinition(
        segment('x')
          .describe('d')
          .where(performed('a').within(days(0)))
          .toDefinition(),
        'segments/x.ts',
      ),
    ).toThrow('segments/x.ts: where.withinDays: must be a positive integer');
  });
});
