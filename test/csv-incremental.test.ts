import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EVALUATED } from '../audiences/evaluate.ts';
import { storeMembership } from '../audiences/membership.ts';
import { audienceFileName, createCsvDestination } from '../connectors/destinations/csv/csv-destination.ts';
import type { DestinationReport } from '../plans/types.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { tempDir } from './helpers/temp.ts';

/**
 * The nightly CSV sync touches only the files whose content changes: members in or out, or a member's row (contact
 * fields, attributes: both are in the file). Every other file keeps its inode, mtime and bytes.
 */

let root: string;
let wh: Warehouse;
beforeEach(async () => {
  root = tempDir('csv-incr');
  wh = await Warehouse.open({ path: join(root, 'store.duckdb') });
  await wh.run(
    `INSERT INTO customers (customer_id, email, ads_consent)
     SELECT 'c' || i, 'c' || i || '@example.com', true FROM range(1, 9) t(i)`,
  );
});
afterEach(() => wh.close());

/** One night: evaluation (audience -> customer -> attributes) stored as membership, then the CSV sync. */
let runs = 0;
async function night(members: Record<string, Record<string, string>>): Promise<DestinationReport> {
  await wh.run(
    `CREATE OR REPLACE TEMP TABLE ${EVALUATED} (audience VARCHAR, segment VARCHAR, customer_id VARCHAR, attributes JSON)`,
  );
  for (const [audience, ids] of Object.entries(members))
    for (const [id, attributes] of Object.entries(ids))
      await wh.run(`INSERT INTO ${EVALUATED} VALUES ($1, $2, $3, $4)`, [audience, audience, id, attributes]);
  const runId = `r${++runs}`;
  const asOf = new Date(Date.UTC(2026, 2, runs, 3));
  await storeMembership(wh, runId, asOf);
  return createCsvDestination({ dir: join(root, 'out') }).sync({
    wh,
    runId,
    asOf,
    dryRun: false,
    force: false,
    fullRefresh: false,
    log: () => {},
  });
}

const file = (audience: string) => join(root, 'out', audienceFileName(audience));
const look = (audience: string) => {
  const s = statSync(file(audience), { bigint: true });
  return { ino: s.ino, mtimeNs: s.mtimeNs, bytes: readFileSync(file(audience), 'utf8') };
};
const statuses = (r: DestinationReport) => Object.fromEntries(r.audiences.map((a) => [a.audience, a.status]));
const confirmed = () =>
  wh.json(
    `SELECT audience, customer_id, fingerprint FROM destination_members ORDER BY audience, customer_id`,
  );

describe('CSV sync of an incremental night', () => {
  const one = '{"n":1}';
  it('leaves a file whose members and rows did not change untouched, rewrites the changed ones', async () => {
    await night({ stable: { c1: one, c2: one }, moving: { c3: one, c4: one }, attrs: { c5: one } });
    const before = { stable: look('stable'), moving: look('moving'), attrs: look('attrs') };
    await new Promise((r) => setTimeout(r, 20)); // a rewrite would get a later mtime

    const report = await night({
      stable: { c1: one, c2: one },
      moving: { c4: one, c6: one }, // c3 left, c6 entered
      attrs: { c5: '{"n":2}' }, // same member, new attributes: its row in the file changes
    });
    expect(statuses(report)).toEqual({ stable: 'unchanged', moving: 'synced', attrs: 'synced' });
    expect(look('stable')).toEqual(before.stable);
    for (const a of ['moving', 'attrs'] as const) {
      expect(look(a).ino).not.toBe(before[a].ino); // a new file renamed in place
      expect(look(a).bytes).not.toBe(before[a].bytes);
    }
    expect(look('moving').bytes).toContain('"c6"');
    expect(look('moving').bytes).not.toContain('"c3"');
    expect(look('attrs').bytes).toContain('""n"":2');
  });

  it('confirms the diff: leavers deleted, changed rows replaced in place, one row per member', async () => {
    await night({ a: { c1: one, c2: one, c3: one } });
    const first = (await confirmed()) as Array<{ customer_id: string; fingerprint: string }>;
    await night({ a: { c1: one, c2: '{"n":5}', c4: one } });
    const after = (await confirmed()) as Array<{ customer_id: string; fingerprint: string }>;
    expect(after.map((r) => r.customer_id)).toEqual(['c1', 'c2', 'c4']);
    const fp = (rows: typeof after, id: string) => rows.find((r) => r.customer_id === id)?.fingerprint;
    expect(fp(after, 'c1')).toBe(fp(first, 'c1'));
    expect(fp(after, 'c2')).not.toBe(fp(first, 'c2'));
    expect(statuses(await night({ a: { c1: one, c2: '{"n":5}', c4: one } }))).toEqual({ a: 'unchanged' });
  });

  it('rewrites a file when a contact field goes from missing to empty (two different cells)', async () => {
    await night({ a: { c1: one, c2: one } });
    expect(look('a').bytes).toContain('"c1","c1@example.com",,');
    await wh.run(`UPDATE customers SET phone = '' WHERE customer_id = 'c1'`);
    expect(statuses(await night({ a: { c1: one, c2: one } }))).toEqual({ a: 'synced' });
    expect(look('a').bytes).toContain('"c1","c1@example.com","",');
    expect(statuses(await night({ a: { c1: one, c2: one } }))).toEqual({ a: 'unchanged' });
  });
});
