import { createHash } from 'node:crypto';
import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { audienceFileName, createCsvDestination } from '../connectors/destinations/csv/csv-destination.ts';
import { dropExport, stageExport, writeAudienceFile } from '../connectors/destinations/csv/export.ts';
import {
  TEXT_BATCH_ROWS,
  TEXT_FILE_MAX_ROWS,
  writeTextFiles,
} from '../connectors/destinations/csv/text-files.ts';
import type { DestinationReport } from '../plans/types.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { tempDir } from './helpers/temp.ts';

/**
 * Small audience files are written from a text DuckDB builds (one query for all of them) instead of a COPY each:
 * the two writers must produce the same bytes, and the hash recorded without reading the file back must be the
 * file's, or a file merely touched would be rewritten (or a changed one missed).
 */

let root: string;
let wh: Warehouse;
beforeEach(async () => {
  root = tempDir('csv-text');
  wh = await Warehouse.open({ path: join(root, 'store.duckdb') });
});
afterEach(() => wh.close());

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

async function member(audience: string, customerId: string, attributes = '{"n":1}'): Promise<void> {
  await wh.run(
    `INSERT INTO audience_members (audience, segment, customer_id, entered_at, attributes)
     VALUES ($1, $1, $2, TIMESTAMP '2026-03-01', $3)`,
    [audience, customerId, attributes],
  );
}

describe('CSV text files', () => {
  it('writes the same bytes as COPY, with the hash and size of the written file, owner-only', async () => {
    await wh.run(
      `INSERT INTO customers (customer_id, email, phone, first_name, last_name, city, state, zip, country, ads_consent) VALUES
       ('q1', 'a"b@x.example', NULL, '', 'O''Neil, "Jr."', 'São Paulo', 'SP', '01000', 'BR', true),
       ('q2', '=1+1@x.example', '+44 20 7946 0958', 'line' || chr(10) || 'break', 'cr' || chr(13) || 'lf', '東京', NULL, NULL, 'JP', true),
       ('q0', 'plain@x.example', '555', 'Ann', 'Lee', 'Lyon', '', '69001', 'FR', true)`,
    );
    await member('tricky', 'q1', '{"note":"say \\"hi\\", then, go"}');
    await member('tricky', 'q2', '{"list":[1,2],"s":"a,b"}');
    await member('tricky', 'q0');
    const rows = await stageExport(wh, ['tricky', 'nobody']);
    const copyDir = join(root, 'copy');
    const textDir = join(root, 'text');
    for (const audience of ['tricky', 'nobody'])
      await writeAudienceFile(wh, rows, audience, copyDir, join(copyDir, audienceFileName(audience)));
    const files = ['tricky', 'nobody'].map((audience) => ({
      audience,
      file: join(textDir, audienceFileName(audience)),
      rows: audience === 'tricky' ? 3 : 0,
    }));
    const written = await writeTextFiles(wh, rows, files, textDir);
    await dropExport(wh);

    for (const { audience, file } of files) {
      expect(readFileSync(file, 'utf8')).toBe(
        readFileSync(join(copyDir, audienceFileName(audience)), 'utf8'),
      );
      const record = written.get(audience);
      expect(record).toEqual({
        audience,
        path: file,
        size: statSync(file, { bigint: true }).size,
        mtimeNs: statSync(file, { bigint: true }).mtimeNs,
        sha256: sha256(file),
      });
      expect(statSync(file).mode & 0o777).toBe(0o600);
    }
    expect(readFileSync(files[0]!.file, 'utf8').split('\n')[1]).toMatch(/^"q0",/); // file order
    expect(readFileSync(files[1]!.file, 'utf8')).toBe(
      '"customer_id","email","phone","first_name","last_name","city","state","zip","country","attributes"\n',
    );
  });

  it('writes every file of many small audiences, a bounded number of rows per query', async () => {
    const perFile = TEXT_FILE_MAX_ROWS;
    const count = Math.floor(TEXT_BATCH_ROWS / perFile) + 2; // three batches
    await wh.run(
      `INSERT INTO customers (customer_id, email, ads_consent)
       SELECT 'c' || lpad(i::VARCHAR, 5, '0'), 'c' || i || '@x.example', true FROM range($1) t(i)`,
      [perFile],
    );
    await wh.run(
      `INSERT INTO audience_members (audience, segment, customer_id, entered_at, attributes)
       SELECT 'cat:' || a, 'cat', 'c' || lpad(i::VARCHAR, 5, '0'), TIMESTAMP '2026-03-01', '{}'
       FROM range($1) s(a), range($2) t(i)`,
      [count, perFile],
    );
    const audiences = Array.from({ length: count }, (_, a) => `cat:${a}`);
    const dir = join(root, 'many');
    const files = audiences.map((audience) => ({
      audience,
      file: join(dir, audienceFileName(audience)),
      rows: perFile,
    }));
    const written = await writeTextFiles(wh, await stageExport(wh, audiences), files, dir);
    expect(written.size).toBe(count);
    for (const { audience, file } of files) {
      expect(written.get(audience)).toMatchObject({ path: file, sha256: sha256(file) });
      const lines = readFileSync(file, 'utf8').split('\n');
      expect([lines.length, lines[1], lines[perFile]]).toEqual([
        perFile + 2,
        expect.stringMatching(/^"c00000",/),
        expect.stringMatching(/^"c00999",/),
      ]);
    }
  });

  it('records both kinds of file so that a touched file is left alone and a changed one rewritten', async () => {
    const big = TEXT_FILE_MAX_ROWS + 1;
    await wh.run(
      `INSERT INTO customers (customer_id, email, first_name, ads_consent)
       SELECT 'c' || i, 'c' || i || '@x.example', 'Name "' || i || '"', true FROM range(1, $1 + 1) t(i)`,
      [big],
    );
    await wh.run(
      `INSERT INTO audience_members (audience, segment, customer_id, entered_at, attributes)
       SELECT 'big', 'big', 'c' || i, TIMESTAMP '2026-03-01', '{"n":1}' FROM range(1, $1 + 1) t(i)`,
      [big],
    );
    for (const id of ['c1', 'c2', 'c3']) await member('small', id);
    const dir = join(root, 'out');
    let runs = 0;
    const sync = (): Promise<DestinationReport> =>
      createCsvDestination({ dir }).sync({
        wh,
        runId: `r${++runs}`,
        asOf: new Date(Date.UTC(2026, 2, runs, 3)),
        dryRun: false,
        force: false,
        fullRefresh: false,
        log: () => {},
      });
    const statuses = (r: DestinationReport) =>
      Object.fromEntries(r.audiences.map((a) => [a.audience, a.status]));
    const file = (a: string) => join(dir, audienceFileName(a));

    expect(statuses(await sync())).toEqual({ big: 'synced', small: 'synced' });
    expect(readFileSync(file('big'), 'utf8').trim().split('\n')).toHaveLength(big + 1);
    expect(
      await wh.json(
        `SELECT audience, CAST(size AS INTEGER) AS size, sha256 FROM csv_files ORDER BY audience`,
      ),
    ).toEqual(
      ['big', 'small'].map((a) => ({ audience: a, size: statSync(file(a)).size, sha256: sha256(file(a)) })),
    );

    const later = new Date(Date.now() + 60_000);
    for (const a of ['big', 'small']) utimesSync(file(a), later, later); // touched, same bytes
    expect(statuses(await sync())).toEqual({ big: 'unchanged', small: 'unchanged' });
    expect(Math.round(statSync(file('small')).mtimeMs)).toBe(later.getTime()); // not rewritten

    const edited = readFileSync(file('small'), 'utf8').replace('c2@x', 'c9@x'); // same size, other bytes
    writeFileSync(file('small'), edited);
    expect(statuses(await sync())).toEqual({ big: 'unchanged', small: 'synced' });
    expect(readFileSync(file('small'), 'utf8')).toContain('c2@x.example');
  });
});
