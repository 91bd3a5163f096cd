import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadFilesSource } from '../connectors/sources/files/load.ts';
import { closeExportDir, type ExportDir, openExportDir, writeExport } from './export-dir.ts';

/**
 * A customer's `updated_at` counts for at most a day after the export that carried it (warehouse/merge.ts
 * versionOf): a record dated in the future must not outrank every later record, a withdrawal of consent included.
 */
let s: ExportDir;
beforeEach(async () => {
  s = await openExportDir('retarget-future-version-');
});
afterEach(() => closeExportDir(s));

let run = 0;
const load = () => loadFilesSource(s.wh, { dir: s.dir, runId: `r${++run}` });
const HEAD = 'customer_id,email,ads_consent,updated_at\n';
const consent = async () =>
  s.wh.json('SELECT customer_id, ads_consent, updated_at FROM customers ORDER BY 1');

describe('a customer record dated in the future', () => {
  it('is replaced by a later export: the withdrawal wins', async () => {
    writeExport(s.dir, 'customers/customers_2026-11-01.csv', `${HEAD}c1,a@example.com,yes,2099-01-01\n`);
    await load();
    writeExport(s.dir, 'customers/customers_2026-11-05.csv', `${HEAD}c1,a@example.com,no,2026-11-04 10:00\n`);
    await load();
    expect(await consent()).toEqual([
      { customer_id: 'c1', ads_consent: false, updated_at: '2026-11-04 10:00:00' },
    ]);
  });

  it('still wins over an older export, and a record of its own export day keeps its time', async () => {
    writeExport(s.dir, 'customers/customers_2026-11-05.csv', `${HEAD}c1,a@example.com,yes,2099-01-01\n`);
    // Changed during the day its file is dated by: later than the file's midnight.
    writeExport(
      s.dir,
      'customers/customers_2026-11-03.csv',
      `${HEAD}c2,b@example.com,yes,2026-11-03 18:00\n`,
    );
    await load();
    writeExport(s.dir, 'customers/customers_2026-11-02.csv', `${HEAD}c1,a@example.com,no,2026-11-01\n`);
    // Another export of the same day with an older record: the times within the day still decide.
    writeExport(
      s.dir,
      'customers/customers_2026-11-03_b.csv',
      `${HEAD}c2,b@example.com,no,2026-11-03 12:00\n`,
    );
    await load();
    expect(await consent()).toEqual([
      { customer_id: 'c1', ads_consent: true, updated_at: '2099-01-01 00:00:00' },
      { customer_id: 'c2', ads_consent: true, updated_at: '2026-11-03 18:00:00' },
    ]);
  });
});
