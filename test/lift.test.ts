import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { audienceLift, liftFigures } from '../metrics/lift.ts';
import { Warehouse } from '../warehouse/warehouse.ts';

let wh: Warehouse;
beforeEach(async () => {
  wh = await Warehouse.open({ path: ':memory:' });
});
afterEach(() => wh.close());

const ENTERED = '2026-03-01 00:00:00';
const T = new Date('2026-03-31T00:00:00Z');

/** Stays in `audience` entered at `at`: ids prefix0..prefix<n-1> on one side. */
async function stays(audience: string, prefix: string, n: number, side: string, at = ENTERED): Promise<void> {
  await wh.run(
    `INSERT INTO audience_membership_history (audience, customer_id, entered_at, side)
     SELECT $1, $2 || i, $3::TIMESTAMP, $4 FROM range($5) t(i)`,
    [audience, prefix, at, side, n],
  );
  await wh.run(
    `INSERT INTO audience_members (audience, segment, customer_id, entered_at, side)
     SELECT $1, $1, $2 || i, $3::TIMESTAMP, $4 FROM range($5) t(i)`,
    [audience, prefix, at, side, n],
  );
}

let orderNo = 0;
async function order(
  customer: string,
  at: string,
  price: number,
  qty = 1,
  status = 'completed',
): Promise<void> {
  const id = `o${++orderNo}`;
  await wh.run(
    'INSERT INTO orders (order_id, customer_id, ordered_at, status) VALUES ($1, $2, $3::TIMESTAMP, $4)',
    [id, customer, at, status],
  );
  await wh.run(
    'INSERT INTO order_items (order_id, product_id, quantity, unit_price) VALUES ($1, $2, $3, $4)',
    [id, 'p1', qty, price],
  );
}

describe('holdout lift', () => {
  it('purchase rates, their difference with a 95% interval and incremental revenue, by hand', async () => {
    // 40 exposed and 30 held-out members entered on 1 March; the window is (1 March, 15 March].
    await stays('a', 'e', 40, 'exposed');
    await stays('a', 'h', 30, 'holdout');
    for (let i = 0; i < 10; i++) await order(`e${i}`, '2026-03-05 10:00:00', 20, 2); // 10 buyers × 40
    await order('e0', '2026-03-15 00:00:00', 10); // a second order, last instant of the window: 410 in all
    await order('e10', '2026-03-15 00:00:01', 99); // after the window
    await order('e11', '2026-03-03 00:00:00', 99, 1, 'cancelled'); // not a purchase
    await order('e12', ENTERED, 99); // at entry, not after it
    for (let i = 0; i < 6; i++) await order(`h${i}`, '2026-03-10 00:00:00', 30); // 6 buyers × 30 = 180
    // Not measured: entered before the holdout started, or less than 14 days before T.
    await stays('a', 'early', 5, 'exposed', '2026-02-01 00:00:00');
    await stays('a', 'late', 5, 'holdout', '2026-03-20 00:00:00');
    for (const c of ['early0', 'late0']) await order(c, '2026-03-21 00:00:00', 50);
    // Nor a member whose side changed on 1 March (a share change): already a member since February.
    await wh.run(
      `INSERT INTO audience_membership_history (audience, customer_id, entered_at, exited_at, side) VALUES
         ('a', 'moved', TIMESTAMP '2026-02-01', TIMESTAMP '${ENTERED}', 'exposed'),
         ('a', 'moved', TIMESTAMP '${ENTERED}', NULL, 'holdout')`,
    );
    await order('moved', '2026-03-05 00:00:00', 500);

    const report = await audienceLift(wh, { asOf: T });
    expect(report.as_of).toBe('2026-03-31T00:00:00.000Z');
    expect(report.window_days).toBe(14);
    // p1 = 10/40 = 0.25, p2 = 6/30 = 0.2, se = sqrt(0.25·0.75/40 + 0.2·0.8/30) = 0.1001041, 1.96·se = 0.1962.
    expect(report.audiences).toEqual([
      {
        audience: 'a',
        holdout_share: 0.4375, // 35 of the 80 current members
        exposed_members: 40,
        exposed_purchasers: 10,
        exposed_rate: 0.25,
        holdout_members: 30,
        holdout_purchasers: 6,
        holdout_rate: 0.2,
        lift: 0.05,
        ci_low: -0.1462,
        ci_high: 0.2462,
        incremental_revenue_per_exposed: 4.25, // 410/40 − 180/30
        sufficient: true,
        message: null,
      },
    ]);
    // A longer window counts e10's order, and only members who entered at least 20 days before T.
    const wide = await audienceLift(wh, { asOf: T, days: 20, audience: 'a' });
    expect(wide.audiences[0]).toMatchObject({
      exposed_members: 40,
      exposed_purchasers: 11,
      holdout_members: 30,
    });
  });

  it('too few members or purchasers on a side: no number, a message saying so', async () => {
    await stays('small', 'e', 40, 'exposed');
    await stays('small', 'h', 29, 'holdout');
    await stays('rare', 'x', 40, 'exposed');
    await stays('rare', 'y', 40, 'holdout');
    for (let i = 0; i < 10; i++) await order(`x${i}`, '2026-03-05 00:00:00', 10);
    for (let i = 0; i < 10; i++) await order(`e${i}`, '2026-03-05 00:00:00', 10);
    for (let i = 0; i < 10; i++) await order(`h${i}`, '2026-03-05 00:00:00', 10);
    for (let i = 0; i < 4; i++) await order(`y${i}`, '2026-03-05 00:00:00', 10);
    const report = await audienceLift(wh, { asOf: T });
    const [rare, small] = report.audiences;
    expect(small).toMatchObject({
      audience: 'small',
      exposed_members: 40,
      holdout_members: 29,
      holdout_purchasers: 10,
      exposed_rate: null,
      lift: null,
      ci_low: null,
      ci_high: null,
      incremental_revenue_per_exposed: null,
      sufficient: false,
    });
    expect(small?.message).toMatch(
      /^too few to measure: 29 held-out member\(s\) who entered at least 14 days ago/,
    );
    expect(rare).toMatchObject({ audience: 'rare', holdout_purchasers: 4, sufficient: false, lift: null });
    expect(rare?.message).toMatch(/4 held-out purchaser\(s\)/);
  });

  it('an audience without a holdout is listed only when asked for, and says how to get one', async () => {
    await stays('plain', 'e', 40, 'exposed');
    expect((await audienceLift(wh, { asOf: T })).audiences).toEqual([]);
    const [plain] = (await audienceLift(wh, { asOf: T, audience: 'plain' })).audiences;
    expect(plain).toMatchObject({ audience: 'plain', holdout_share: 0, sufficient: false, lift: null });
    expect(plain?.message).toMatch(
      /no held-out members: give the segment \.holdout\(share\) or set holdouts\.audiences\.plain/,
    );
  });

  it('liftFigures: the interval is symmetric around the lift and narrows with more members', () => {
    const small = liftFigures(
      { members: 100, purchasers: 30, revenue: 0 },
      { members: 100, purchasers: 20, revenue: 0 },
      14,
    );
    const big = liftFigures(
      { members: 10_000, purchasers: 3000, revenue: 0 },
      { members: 10_000, purchasers: 2000, revenue: 0 },
      14,
    );
    expect(small.lift).toBeCloseTo(0.1, 9);
    expect((small.ci_high! + small.ci_low!) / 2).toBeCloseTo(0.1, 6);
    // se = sqrt(0.3·0.7/100 + 0.2·0.8/100) = 0.0608276; 1.96·se = 0.119220
    expect(small.ci_high! - 0.1).toBeCloseTo(0.11922, 5);
    expect(big.ci_high! - big.ci_low!).toBeCloseTo((small.ci_high! - small.ci_low!) / 10, 5);
  });
});
