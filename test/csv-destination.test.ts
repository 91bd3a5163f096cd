import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/config.ts';
import { audienceFileName, createCsvDestination } from '../connectors/destinations/csv/csv-destination.ts';
import { OWNER_FILE } from '../connectors/destinations/csv/folder.ts';
import type { Destination, DestinationReport } from '../plans/types.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { tempDir } from './helpers/temp.ts';

let root: string;
const open: Warehouse[] = [];
beforeEach(() => {
  root = tempDir('csv-dest');
});
afterEach(() => {
  for (const wh of open.splice(0)) wh.close();
});

/** A database file in the temp folder with consented customers c1..cN and the given audiences. */
async function store(name: string, audiences: Record<string, string[]>, customers = 3): Promise<Warehouse> {
  const wh = await Warehouse.open({ path: join(root, name) });
  open.push(wh);
  await wh.run(
    `INSERT INTO customers (customer_id, email, ads_consent)
     SELECT 'c' || i, 'c' || i || '@${name.split('.')[0]}.example', true FROM range(1, $1 + 1) t(i)`,
    [customers],
  );
  await setMembers(wh, audiences);
  return wh;
}

async function setMembers(wh: Warehouse, audiences: Record<string, string[]>): Promise<void> {
  await wh.run('DELETE FROM audience_members');
  for (const [audience, ids] of Object.entries(audiences)) {
    for (const id of ids) {
      await wh.run(
        `INSERT INTO audience_members (audience, segment, customer_id, entered_at, attributes) VALUES ($1, $2, $3, TIMESTAMP '2026-03-01', '{"n":1}')`,
        [audience, audience.split(':')[0], id],
      );
    }
  }
}

let runs = 0;
function sync(
  dest: Destination,
  wh: Warehouse,
  opts: { dryRun?: boolean; fullRefresh?: boolean } = {},
): Promise<DestinationReport> {
  return dest.sync({
    wh,
    runId: `r${++runs}`,
    asOf: new Date('2026-03-01T03:00:00Z'),
    dryRun: opts.dryRun ?? false,
    force: false,
    fullRefresh: opts.fullRefresh ?? false,
    log: () => {},
  });
}

const statuses = (r: DestinationReport) => Object.fromEntries(r.audiences.map((a) => [a.audience, a.status]));
const csvFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.csv'))
    .sort();

describe('CSV destination: one folder per database', () => {
  it('by default each database writes to audiences/<database name>/ beside its file', async () => {
    const config = parseConfig({}, 'test');
    if (config.destinations.csv === false) throw new Error('csv is on by default');
    const dest = createCsvDestination(config.destinations.csv);
    const a = await store('a.duckdb', { wishlisted: ['c1'] });
    const b = await store('b.duckdb', { wishlisted: ['c2', 'c3'] });
    await sync(dest, a);
    await sync(dest, b);
    expect(readFileSync(join(root, 'audiences', 'a', 'wishlisted.csv'), 'utf8')).toContain('c1@a.example');
    expect(readFileSync(join(root, 'audiences', 'b', 'wishlisted.csv'), 'utf8')).toContain('c2@b.example');
  });

  it('refuses a folder another database owns, naming both databases, and leaves its files alone', async () => {
    const dir = join(root, 'shared');
    const dest = createCsvDestination({ dir });
    const a = await store('a.duckdb', { wishlisted: ['c1'] });
    const b = await store('b.duckdb', { wishlisted: ['c2'] });
    await sync(dest, a);
    const before = readFileSync(join(dir, 'wishlisted.csv'), 'utf8');
    await expect(sync(dest, b)).rejects.toThrow(
      `the audience folder ${dir} belongs to the database ${join(root, 'a.duckdb')}; this run uses ${join(root, 'b.duckdb')}`,
    );
    await expect(sync(dest, b, { dryRun: true })).rejects.toThrow(/belongs to the database/);
    expect(readFileSync(join(dir, 'wishlisted.csv'), 'utf8')).toBe(before);
    expect(statuses(await sync(dest, a))).toEqual({ wishlisted: 'unchanged' });
    expect(statSync(join(dir, OWNER_FILE)).mode & 0o777).toBe(0o600);
  });

  it('a dry run claims no folder', async () => {
    const dir = join(root, 'dry');
    const a = await store('a.duckdb', { wishlisted: ['c1'] });
    expect(statuses(await sync(createCsvDestination({ dir }), a, { dryRun: true }))).toEqual({
      wishlisted: 'planned',
    });
    expect(existsSync(dir)).toBe(false);
  });
});

describe('CSV destination: files changed outside retarget', () => {
  it('rewrites a file edited or deleted outside retarget; a file merely touched is left alone', async () => {
    const dir = join(root, 'out');
    const dest = createCsvDestination({ dir });
    const wh = await store('a.duckdb', { wishlisted: ['c1', 'c2'], buyers: ['c3'] });
    await sync(dest, wh);
    const file = join(dir, 'wishlisted.csv');
    const original = readFileSync(file, 'utf8');

    writeFileSync(file, original.replace('c2@a.example', 'c9@other-store.example'));
    const edited = await sync(dest, wh);
    expect(edited.audiences.find((a) => a.audience === 'wishlisted')).toMatchObject({
      status: 'synced',
      adds: 0,
      removes: 0,
      message: 'the file was changed outside retarget',
    });
    expect(statuses(edited).buyers).toBe('unchanged');
    expect(readFileSync(file, 'utf8')).toBe(original);

    rmSync(file);
    const deleted = await sync(dest, wh);
    expect(deleted.audiences.find((a) => a.audience === 'wishlisted')?.message).toBe(
      'the file was deleted outside retarget',
    );
    expect(readFileSync(file, 'utf8')).toBe(original);

    const later = new Date(Date.now() + 60_000);
    utimesSync(file, later, later);
    expect(statuses(await sync(dest, wh))).toEqual({ wishlisted: 'unchanged', buyers: 'unchanged' });
  });

  it('rewrites a file it has no record of (written by another database or an older version)', async () => {
    const dir = join(root, 'legacy');
    const dest = createCsvDestination({ dir });
    const wh = await store('a.duckdb', { wishlisted: ['c1'] });
    await sync(dest, wh);
    writeFileSync(join(dir, 'wishlisted.csv'), '"customer_id","email"\n"x1","someone@other.example"\n');
    await wh.run('DELETE FROM csv_files');
    const report = await sync(dest, wh);
    expect(report.audiences[0]).toMatchObject({
      status: 'synced',
      message: 'the file was not written by this database',
    });
    expect(readFileSync(join(dir, 'wishlisted.csv'), 'utf8')).toContain('c1@a.example');
  });

  it('--full-refresh rewrites every file', async () => {
    const dir = join(root, 'full');
    const dest = createCsvDestination({ dir });
    const wh = await store('a.duckdb', { wishlisted: ['c1'], buyers: ['c2'] });
    await sync(dest, wh);
    const file = join(dir, 'buyers.csv');
    const old = new Date('2020-01-01T00:00:00Z');
    utimesSync(file, old, old);
    await wh.run(
      `UPDATE csv_files SET mtime_ns = ${BigInt(old.getTime()) * 1_000_000n} WHERE audience = 'buyers'`,
    );
    expect(statuses(await sync(dest, wh))).toEqual({ wishlisted: 'unchanged', buyers: 'unchanged' });

    const refreshed = await sync(dest, wh, { fullRefresh: true });
    expect(statuses(refreshed)).toEqual({ wishlisted: 'synced', buyers: 'synced' });
    expect(statSync(file).mtimeMs).toBeGreaterThan(old.getTime());
  });
});

describe('CSV destination: file names', () => {
  const names = [
    'wishlisted',
    'Wishlisted',
    'category_browsers:Tents',
    'category_browsers:tents',
    'category_browsers:Chargers & Cables',
    'category_browsers:Chargers-Cables',
    'category_browsers:Палатки',
    'category_browsers:Рюкзаки',
    'category_browsers:テント',
    'category_browsers:con',
    'con',
  ];

  it('gives every audience its own bounded, lower-case file name, the same every night', () => {
    const files = names.map(audienceFileName);
    expect(new Set(files.map((f) => f.toLowerCase())).size).toBe(names.length);
    for (const f of files) expect(f).toMatch(/^[a-z0-9_-]{1,95}\.csv$/);
    expect(audienceFileName('wishlisted')).toBe('wishlisted.csv');
    expect(audienceFileName('category_browsers:Chargers & Cables')).toBe(
      'category_browsers--chargers-cables-fe9a18dc53.csv',
    );
    expect(audienceFileName('con')).not.toBe('con.csv');
    const long = audienceFileName(`category_browsers:${'x'.repeat(5000)}`);
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(95);
    expect(long).not.toBe(audienceFileName(`category_browsers:${'x'.repeat(4999)}`));
  });

  it('writes two audiences whose names differ only in case or script to two files', async () => {
    const dir = join(root, 'names');
    const wh = await store('a.duckdb', {
      'category_browsers:Палатки': ['c1'],
      'category_browsers:Рюкзаки': ['c2'],
      'category_browsers:Tents': ['c3'],
      'category_browsers:tents': ['c1', 'c2'],
    });
    const report = await sync(createCsvDestination({ dir }), wh);
    expect(report.audiences.map((a) => a.status)).toEqual(['synced', 'synced', 'synced', 'synced']);
    expect(csvFiles(dir)).toHaveLength(4);
    const tents = readFileSync(join(dir, audienceFileName('category_browsers:Tents')), 'utf8');
    expect(tents.trim().split('\n').slice(1)).toEqual([expect.stringMatching(/^"c3",/)]);
    const cyr = readFileSync(join(dir, audienceFileName('category_browsers:Рюкзаки')), 'utf8');
    expect(cyr.trim().split('\n').slice(1)).toEqual([expect.stringMatching(/^"c2",/)]);
  });
});

describe('CSV destination: one audience failing', () => {
  it('writes a 5,000-character category; an audience that cannot be written fails alone', async () => {
    const dir = join(root, 'fail');
    const long = `category_browsers:${'Très long nom '.repeat(360)}`;
    const wh = await store('a.duckdb', { [long]: ['c1'], blocked: ['c2'], wishlisted: ['c3'] });
    mkdirSync(join(dir, audienceFileName('blocked')), { recursive: true }); // a folder where the file should go
    const dest = createCsvDestination({ dir });

    const report = await sync(dest, wh);
    expect(statuses(report)).toEqual({ [long]: 'synced', blocked: 'failed', wishlisted: 'synced' });
    expect(report.audiences.find((a) => a.audience === 'blocked')?.message).toMatch(
      /^cannot write .*blocked\.csv: /,
    );
    expect(readFileSync(join(dir, audienceFileName(long)), 'utf8')).toContain('c1@a.example');
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect(
      await wh.json(
        `SELECT audience, status, error IS NOT NULL AS has_error FROM destination_syncs ORDER BY audience`,
      ),
    ).toEqual([
      { audience: 'blocked', status: 'failed', has_error: true },
      { audience: long, status: 'synced', has_error: false },
      { audience: 'wishlisted', status: 'synced', has_error: false },
    ]);

    rmSync(join(dir, audienceFileName('blocked')), { recursive: true });
    expect(statuses(await sync(dest, wh))).toEqual({
      [long]: 'unchanged',
      blocked: 'synced',
      wishlisted: 'unchanged',
    });
  });
});

describe('CSV destination: spreadsheet-safe cells', () => {
  it('neutralises cells a spreadsheet would run as formulas, in the file only', async () => {
    const dir = join(root, 'formulas');
    const wh = await store('a.duckdb', { wishlisted: ['f1', 'f2'] }, 0);
    await wh.run(
      `INSERT INTO customers (customer_id, email, phone, first_name, last_name, city, state, zip, country, ads_consent) VALUES
       ('f1', '@SUM(1+1)@x.example', '+1 415 555 0132', '=HYPERLINK("http://evil.example","x")', '+cmd|'' /C calc''!A0',
        '-2+3', chr(9) || '=1+1', chr(13) || '=1+1', 'US', true),
       ('f2', 'plain@x.example', NULL, 'Ann', 'O''Neil, Jr.', 'Lyon', NULL, '69001', 'FR', true)`,
    );
    await sync(createCsvDestination({ dir }), wh);
    expect(readFileSync(join(dir, 'wishlisted.csv'), 'utf8')).toBe(
      [
        '"customer_id","email","phone","first_name","last_name","city","state","zip","country","attributes"',
        `"f1","'@SUM(1+1)@x.example","+1 415 555 0132","'=HYPERLINK(""http://evil.example"",""x"")","'+cmd|' /C calc'!A0","'-2+3","'\t=1+1","'\r=1+1","US","{""n"":1}"`,
        `"f2","plain@x.example",,"Ann","O'Neil, Jr.","Lyon",,"69001","FR","{""n"":1}"`,
        '',
      ].join('\n'),
    );
    expect(await wh.scalar(`SELECT count(*) FROM customers WHERE first_name LIKE '=HYPERLINK%'`)).toBe(1);
  });
});

describe('CSV destination: file order', () => {
  it('sorts every file by customer_id, whatever order the members are stored in', async () => {
    const dir = join(root, 'order');
    const wh = await store(
      'a.duckdb',
      { b: ['c9', 'c3', 'c12', 'c1'], a: ['c8', 'c2', 'c10'], f: ['1', '=1'] },
      12,
    );
    await wh.run(`INSERT INTO customers (customer_id, ads_consent) VALUES ('1', true), ('=1', true)`);
    await sync(createCsvDestination({ dir }), wh);
    const ids = (f: string) =>
      readFileSync(join(dir, f), 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(',')[0]);
    expect(ids('a.csv')).toEqual(['"c10"', '"c2"', '"c8"']);
    expect(ids('b.csv')).toEqual(['"c1"', '"c12"', '"c3"', '"c9"']);
    expect(ids('f.csv')).toEqual([`"'=1"`, '"1"']); // by the cell as written: the quote mark sorts first
  });

  it('refuses to write files it cannot keep sorted (DuckDB told not to keep row order)', async () => {
    const dir = join(root, 'unordered');
    const wh = await store('a.duckdb', { a: ['c1', 'c2'] });
    await wh.run('SET preserve_insertion_order = false');
    const report = await sync(createCsvDestination({ dir }), wh);
    expect(report.audiences[0]).toMatchObject({
      status: 'failed',
      message: expect.stringMatching(/preserve_insertion_order is off/),
    });
    expect(existsSync(join(dir, 'a.csv'))).toBe(false);
  });
});

describe('CSV destination: temp files of an interrupted run', () => {
  it('removes the temp files a killed run left in its folder, and nothing else', async () => {
    const dir = join(root, 'temp');
    const dest = createCsvDestination({ dir });
    const wh = await store('a.duckdb', { wishlisted: ['c1'] });
    await sync(dest, wh);
    const leftovers = ['wishlisted.csv.tmp-4242', 'gone-audience-0123456789.csv.tmp-77'];
    const others = ['notes.txt', 'wishlisted.csv.bak', 'report.csv.tmp-draft'];
    for (const f of [...leftovers, ...others]) writeFileSync(join(dir, f), 'c1,someone@x.example\n');
    expect(statuses(await sync(dest, wh))).toEqual({ wishlisted: 'unchanged' });
    expect(readdirSync(dir).sort()).toEqual([OWNER_FILE, ...others, 'wishlisted.csv'].sort());
  });
});
