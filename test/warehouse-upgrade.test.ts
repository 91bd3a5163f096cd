import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Warehouse } from '../warehouse/warehouse.ts';
import { tempDir } from './helpers/temp.ts';
import { openOlderDatabase } from './older-database.ts';

/** A database written by an older retarget: read-only commands say how to upgrade it instead of misreading it. */

describe('opening a database an older retarget wrote', () => {
  it('read-only: a clear error naming the missing schema changes; the next run upgrades it', async () => {
    const path = join(tempDir('upgrade'), 'old.duckdb');
    // As an older version left it: the sendable_members view (migration 15) not there yet.
    const wh = await Warehouse.open({ path });
    await wh.run('DROP VIEW sendable_members');
    await wh.run('DELETE FROM schema_migrations WHERE version = 15');
    wh.close();

    await expect(Warehouse.open({ path, readOnly: true })).rejects.toThrow(
      /written by an older retarget \(schema changes 15_sendable_members not applied yet\); run `retarget run`/,
    );
    (await Warehouse.open({ path })).close(); // what a run does first
    const upgraded = await Warehouse.open({ path, readOnly: true });
    expect(await upgraded.scalar('SELECT count(*) FROM sendable_members')).toBe(0);
    upgraded.close();
  });

  it('0039 keeps every member and confirmed row while dropping the key indexes', async () => {
    const { path, instance, connection } = await openOlderDatabase(tempDir('upgrade'), 39);
    await connection.run(
      `INSERT INTO customers (customer_id, email, ads_consent) VALUES ('c1', 'a@example.com', true), ('c2', 'b@example.com', true);
       INSERT INTO audience_members VALUES ('a', 'a', 'c1', TIMESTAMP '2026-01-01', '{"n":1}', 'exposed'),
                                           ('a', 'a', 'c2', TIMESTAMP '2026-01-02', NULL, 'holdout');
       INSERT INTO destination_members VALUES ('csv', 'a', 'c1', 'f1', NULL, TIMESTAMP '2026-01-03')`,
    );
    connection.closeSync();
    instance.closeSync();

    const wh = await Warehouse.open({ path });
    try {
      expect(await wh.json('SELECT * FROM audience_members ORDER BY customer_id')).toEqual([
        {
          audience: 'a',
          segment: 'a',
          customer_id: 'c1',
          entered_at: '2026-01-01 00:00:00',
          attributes: '{"n":1}',
          side: 'exposed',
        },
        {
          audience: 'a',
          segment: 'a',
          customer_id: 'c2',
          entered_at: '2026-01-02 00:00:00',
          attributes: null,
          side: 'holdout',
        },
      ]);
      expect(await wh.json('SELECT customer_id, fingerprint FROM destination_members')).toEqual([
        { customer_id: 'c1', fingerprint: 'f1' },
      ]);
      expect(await wh.scalar('SELECT count(*) FROM sendable_members')).toBe(1);
      expect(
        await wh.scalar(
          `SELECT count(*) FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'
           AND table_name IN ('audience_members', 'destination_members')`,
        ),
      ).toBe(0);
      await expect(
        wh.run(`INSERT INTO audience_members (audience, segment, customer_id) VALUES ('a', 'a', 'c3')`),
      ).rejects.toThrow(/NOT NULL/i);
    } finally {
      wh.close();
    }
  });
});
