import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Warehouse } from '../warehouse/warehouse.ts';

/** A database written by an older retarget: read-only commands say how to upgrade it instead of misreading it. */

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('opening a database an older retarget wrote', () => {
  it('read-only: a clear error naming the missing schema changes; the next run upgrades it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'retarget-upgrade-'));
    const path = join(dir, 'old.duckdb');
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
});
