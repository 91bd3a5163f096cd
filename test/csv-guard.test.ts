import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { audienceFileName, createCsvDestination } from '../connectors/destinations/csv/csv-destination.ts';
import type { Destination, SyncContext } from '../plans/types.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { tempDir } from './helpers/temp.ts';

/** The shrink guard on audience files: a collapse is held unless --force, privacy removals are still written. */

let root: string;
let wh: Warehouse;
let dest: Destination;
let runs = 0;
beforeEach(async () => {
  root = tempDir('csv-guard');
  wh = await Warehouse.open({ path: join(root, 'shop.duckdb') });
  await wh.run(
    `INSERT INTO customers (customer_id, email, ads_consent)
     SELECT printf('c%02d', i), printf('c%02d@shop.example', i), true FROM range(1, 11) t(i)`,
  );
  dest = createCsvDestination({ dir: join(root, 'audiences') });
});
afterEach(() => wh.close());

async function members(ids: number[]): Promise<void> {
  await wh.run('DELETE FROM audience_members');
  await wh.run(
    `INSERT INTO audience_members (audience, segment, customer_id, entered_at, attributes) SELECT 'buyers', 'buyers', printf('c%02d', i), TIMESTAMP '2026-03-01', NULL
     FROM unnest([${ids.join(', ')}]::INTEGER[]) t(i)`,
  );
}
const sync = (over: Partial<SyncContext> = {}) =>
  dest.sync({
    wh,
    runId: `r${++runs}`,
    asOf: new Date('2026-03-01T03:00:00Z'),
    dryRun: false,
    force: false,
    fullRefresh: false,
    log: () => {},
    ...over,
  });
const fileIds = () =>
  readFileSync(join(root, 'audiences', audienceFileName('buyers')), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(',')[0]!.replaceAll('"', ''));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const ids = (n: number[]) => n.map((i) => `c${String(i).padStart(2, '0')}`);

describe('CSV destination: shrink guard', () => {
  it('holds a file that would lose more than half its members, until --force', async () => {
    await members(range(1, 10));
    await sync();
    await members([1, 2, 3]);
    const dry = (await sync({ dryRun: true })).audiences[0]!;
    expect(dry).toMatchObject({ status: 'held', size: 3 });
    const held = (await sync()).audiences[0]!;
    expect(held.status).toBe('held');
    expect(held.message).toMatch(/would shrink from 10 to 3 members.*--force/);
    expect(fileIds()).toEqual(ids(range(1, 10)));
    expect(await wh.scalar(`SELECT count(*) FROM destination_syncs WHERE status = 'held'`)).toBe(1);

    expect((await sync({ force: true })).audiences[0]!.status).toBe('synced');
    expect(fileIds()).toEqual(ids([1, 2, 3]));
  });

  it('still takes out of a held file the people who withdrew consent, and confirms only that', async () => {
    await members(range(1, 10));
    await sync();
    await members([1, 2]);
    await wh.run("UPDATE customers SET ads_consent = false WHERE customer_id = 'c05'");
    const held = (await sync()).audiences[0]!;
    expect(held.status).toBe('held');
    expect(held.message).toMatch(/from 9 to 2 members after 1 privacy removal.*wrote its 1 privacy removal/);
    expect(fileIds()).toEqual(ids([1, 2, 3, 4, 6, 7, 8, 9, 10]));
    expect(await wh.scalar(`SELECT count(*) FROM destination_members WHERE audience = 'buyers'`)).toBe(9);
    const row = await wh.one<{ removes: bigint }>(
      `SELECT removes FROM destination_syncs WHERE status = 'held'`,
    );
    expect(row?.removes).toBe(1n);
  });

  it('does not hold a file whose drop is mostly people who withdrew consent', async () => {
    await members(range(1, 10));
    await sync();
    // 10 -> 4 members, but 6 of the 10 left for privacy: measured on the 4 others, nothing shrank.
    await wh.run(
      `UPDATE customers SET ads_consent = false WHERE customer_id IN (${ids(range(5, 10))
        .map((i) => `'${i}'`)
        .join(', ')})`,
    );
    const report = (await sync()).audiences[0]!;
    expect(report).toMatchObject({ status: 'synced', size: 4, removes: 6 });
    expect(fileIds()).toEqual(ids(range(1, 4)));
  });
});
