import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subjectHash } from '../pipelines/ops/forget.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';
import { cli, type Sandbox, sandbox, withDb, writeStore } from './ops-helpers.ts';

const sha = (v: string) => createHash('sha256').update(v).digest('hex');

/** Every VARCHAR/JSON cell in every table that mentions one of the ids or emails. */
async function traces(wh: Warehouse, ids: string[], emails: string[]): Promise<string[]> {
  const columns = await wh.all<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns c
     JOIN information_schema.tables t USING (table_schema, table_name)
     WHERE t.table_type = 'BASE TABLE' AND (data_type = 'VARCHAR' OR data_type = 'JSON')`,
  );
  const found: string[] = [];
  for (const { table_name: t, column_name: c } of columns) {
    const conditions = [
      ...ids.flatMap((id) => [`"${c}"::VARCHAR = '${id}'`, `"${c}"::VARCHAR LIKE '%"${id}"%'`]),
      ...emails.map((e) => `lower("${c}"::VARCHAR) LIKE '%${e}%'`),
    ];
    const n = await wh.scalar(`SELECT count(*) FROM "${t}" WHERE ${conditions.join(' OR ')}`);
    if (n > 0) found.push(`${t}.${c}: ${n}`);
  }
  return found;
}

describe('retarget forget', () => {
  let s: Sandbox;
  beforeAll(async () => {
    s = sandbox();
    await writeStore(s.store, { customers: 30, events: 300 });
    // Extra files: an event with an unparseable time (quarantined with its raw values) and a customer row
    // without an id but with c5's email (quarantined too): forget must clear those raw copies as well.
    writeFileSync(
      join(s.store, 'events.jsonl'),
      `${JSON.stringify({ event_id: 'x1', customer_id: 'c3', event_name: 'view_item', occurred_at: 'not a time' })}\n`,
    );
    writeFileSync(
      join(s.store, 'customers.jsonl'),
      `${JSON.stringify({ customer_id: '', email: ' C5@Example.com ', ads_consent: 'true' })}\n`,
    );
  });
  afterAll(() => s.cleanup());

  it('hashes a subject without keeping it: ids as given, emails trimmed and lower-cased', () => {
    expect(subjectHash('c3')).toBe(sha('c3'));
    expect(subjectHash(' C5@Example.com ')).toBe(sha('c5@example.com'));
  });

  it('removes every trace, drops them from the exports on sync, and survives a reload of the original files', async () => {
    const first = await cli(['--config', s.config, 'run']);
    expect(first.code, first.stdout).toBe(0);
    const exportFile = join(s.audiences, readdirSync(s.audiences).find((f) => f.endsWith('.csv'))!);
    expect(readFileSync(exportFile, 'utf8')).toMatch(/^"c3",/m);
    await withDb(s.db, async (wh) => {
      expect(await traces(wh, ['c3', 'c5'], ['c3@example.com', 'c5@example.com'])).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^customers\.customer_id/),
          expect.stringMatching(/^rejected_rows\.raw/),
        ]),
      );
    });

    // By id, without --sync: gone from the database; the export still lists them until the next sync.
    const byId = await cli(['--config', s.config, 'forget', 'c3', '--json']);
    expect(byId.code, byId.stderr).toBe(0);
    const result = JSON.parse(byId.stdout);
    expect(result).toMatchObject({ subjectKind: 'customer_id', subjectHash: sha('c3'), customers: 1 });
    expect(result.deleted).toMatchObject({
      customers: 1,
      orders: 1,
      order_items: 1,
      events: 10,
      rejected_rows: 1,
    });
    expect(byId.stdout).not.toMatch(/c3@example\.com/);
    expect(readFileSync(exportFile, 'utf8')).toMatch(/^"c3",/m);

    // By email, with --sync: the destinations drop them at once.
    const byEmail = await cli(['--config', s.config, 'forget', 'C5@example.COM', '--sync']);
    expect(byEmail.code, byEmail.stderr).toBe(0);
    expect(byEmail.stdout).toMatch(/1 customer\(s\) matched/);
    expect(byEmail.stdout).toMatch(/Synced now .*succeeded\): 2 removal/); // c3 and c5
    expect(readFileSync(exportFile, 'utf8')).not.toMatch(/^"c3",|^"c5",/m);

    const ids = ['c3', 'c5', 'o3', 'o5'];
    const emails = ['c3@example.com', 'c5@example.com'];
    await withDb(s.db, async (wh) => {
      expect(await traces(wh, ids, emails)).toEqual([]);
      const kept = await wh.all<{ kind: string; hash: string }>(
        'SELECT kind, hash FROM forgotten_customers ORDER BY kind, hash',
      );
      expect(kept).toEqual(
        expect.arrayContaining([
          { kind: 'customer_id', hash: sha('c3') },
          { kind: 'customer_id', hash: sha('c5') },
          { kind: 'email', hash: sha('c3@example.com') },
          { kind: 'email', hash: sha('c5@example.com') },
          { kind: 'order_id', hash: sha('o3') },
        ]),
      );
      expect(await wh.scalar('SELECT count(*) FROM forget_requests WHERE synced_at IS NULL')).toBe(0);
      expect(await wh.scalar('SELECT count(*) FROM customers')).toBe(28);
    });

    // Old files come back (new modification time: the loader reads them all again).
    const later = new Date(Date.now() + 60_000);
    for (const f of readdirSync(s.store)) utimesSync(join(s.store, f), later, later);
    const reload = await cli(['--config', s.config, 'run', '--json']);
    expect(reload.code, reload.stderr).toBe(0);
    const summary = JSON.parse(reload.stdout);
    // The load itself drops the forgotten (warehouse/erasure.ts): 28 loaded; c3, c5 and c5's id-less row dropped.
    expect(summary.loads.find((l: { table: string }) => l.table === 'customers')).toMatchObject({
      rowsLoaded: 28,
      rowsForgotten: 3,
    });
    expect(summary.forgotten.deleted).toMatchObject({ customers: 2, orders: 2, order_items: 2, events: 20 });
    await withDb(s.db, async (wh) => {
      expect(await traces(wh, ids, emails)).toEqual([]);
      expect(await wh.scalar('SELECT count(*) FROM customers')).toBe(28);
      expect(await wh.scalar('SELECT count(*) FROM audience_members')).toBe(28);
    });
    expect(readFileSync(exportFile, 'utf8')).not.toMatch(/^"c3",|^"c5",/m);
    expect(readFileSync(exportFile, 'utf8').trim().split('\n')).toHaveLength(29); // header + 28
  });
});
