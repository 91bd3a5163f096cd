import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildPlan, confirmPlanRows, dropPlan } from '../plans/plan.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { tempDir } from './helpers/temp.ts';

/**
 * destination_members has no key index (0039): confirming keeps one row per (destination, audience, customer)
 * by itself, whatever order a destination confirms its add and remove batches in.
 */

let dir: string;
let wh: Warehouse;
beforeEach(async () => {
  dir = tempDir('confirm');
  wh = await Warehouse.open({ path: join(dir, 'c.duckdb') });
  await wh.run(
    `INSERT INTO destination_members VALUES
       ('meta', 'a', 'c1', 'old-email', NULL, now()::TIMESTAMP), ('meta', 'a', 'c2', 'same', NULL, now()::TIMESTAMP)`,
  );
});
afterEach(() => wh.close());

const stored = () =>
  wh.json<{ customer_id: string; fingerprint: string }>(
    `SELECT customer_id, fingerprint FROM destination_members WHERE destination = 'meta' AND audience = 'a'
     ORDER BY customer_id, fingerprint`,
  );

async function planChangedEmail() {
  return buildPlan(wh, {
    destination: 'meta',
    audience: 'a',
    desiredSql: `SELECT * FROM (VALUES ('c1', 'new-email', NULL), ('c2', 'same', NULL)) d(customer_id, fingerprint, payload)`,
  });
}

describe('confirming plan rows without a key index', () => {
  for (const order of [
    ['add', 'remove'],
    ['remove', 'add'],
  ] as const) {
    it(`a changed member holds one row, adds and removes confirmed ${order.join(' then ')}`, async () => {
      const plan = await planChangedEmail();
      expect([plan.adds, plan.removes]).toEqual([1, 1]);
      await confirmPlanRows(wh, plan, order[0], 0, 10);
      if (order[0] === 'add')
        expect(await stored()).toEqual([
          { customer_id: 'c1', fingerprint: 'new-email' },
          { customer_id: 'c2', fingerprint: 'same' },
        ]);
      await confirmPlanRows(wh, plan, order[1], 0, 10);
      expect(await stored()).toEqual([
        { customer_id: 'c1', fingerprint: 'new-email' },
        { customer_id: 'c2', fingerprint: 'same' },
      ]);
      await dropPlan(wh, plan);
    });
  }
});
