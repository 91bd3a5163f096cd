import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { Warehouse } from '../warehouse/warehouse.ts';
import { FakeDataManager } from './fakes/data-manager.ts';
import {
  confirmedIds,
  listId,
  seedCustomers,
  setMembers,
  setupGoogleAds,
} from './fakes/data-manager-setup.ts';
import { tempDir } from './helpers/temp.ts';

const CHILD = fileURLToPath(new URL('./fakes/data-manager-child.ts', import.meta.url));
it('a run SIGKILLed between requests resumes at the next request: nothing confirmed is resent, no second list', async () => {
  const db = join(tempDir('google-resume'), 'store.duckdb');
  const wh = await Warehouse.open({ path: db });
  await seedCustomers(wh, 7);
  await setMembers(wh, 'buyers', 'true');
  wh.close();

  // A child process sends 2 members per request and is killed when its 3rd ingest reaches Google, before Google
  // applies it (the answer never comes back).
  const fake = new FakeDataManager();
  const endpoint = await fake.start();
  const config = { customerId: '1234567890', endpoint, insecure: true, termsAccepted: true, batchSize: 2 };
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CHILD, db, JSON.stringify({ config, runId: 'crashed' })],
    { stdio: 'ignore' },
  );
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  fake.beforeCall = async (method, nth) => {
    if (method !== 'IngestAudienceMembers' || nth !== 3) return;
    child.kill('SIGKILL');
    await exit;
    throw new Error('client died');
  };
  expect(await exit).toBe('SIGKILL');
  fake.beforeCall = undefined;
  const id = [...fake.lists.keys()][0]!;
  expect(fake.lists.get(id)!.members.size).toBe(4); // two requests applied

  // The next run on the same database sends only the 3 members not confirmed yet, to the same list.
  const t = await setupGoogleAds({ dbPath: db, fake, config: { batchSize: 2 } });
  try {
    expect(await confirmedIds(t.wh, 'buyers')).toHaveLength(4);
    expect(await t.runOne('buyers')).toMatchObject({ status: 'synced', adds: 3, size: 7 });
    expect(await listId(t.wh, 'buyers')).toBe(id);
    expect(fake.lists.size).toBe(1);
    expect(fake.lists.get(id)!.members.size).toBe(7);
    const sizes = fake
      .callsOf('IngestAudienceMembers')
      .map((c) => (c.request.audienceMembers as unknown[]).length);
    // The crashed run's two applied requests (its killed 3rd never reached Google), then only the 3 left.
    expect(sizes).toEqual([2, 2, 2, 1]);
    // The crashed run's sync row is marked interrupted when its lock is taken over.
    const rows = await t.wh.all("SELECT status FROM destination_syncs WHERE run_id = 'crashed'");
    expect(rows).toEqual([{ status: 'interrupted' }]);
  } finally {
    await t.close();
  }
});
