import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/config.ts';
import { parseAsOf } from '../pipelines/cli/flags.ts';
import { DEMO_AS_OF, generateDemo } from '../pipelines/demo/generate.ts';
import { tempDir } from './helpers/temp.ts';
import { cli, type Sandbox, sandbox, startCli, writeStore } from './ops-helpers.ts';

/**
 * What a user types wrong, and what analysts run: strict flags, names the data has never seen, `retarget sql`,
 * one JSON naming style, `--version`, and a `--help` that loads no database driver. On a small demo store built
 * in a temp dir (never the project's data/).
 */

const exec = promisify(execFile);
const work = tempDir('cli-inputs');
let config: string;
let segmentsDir: string;
const DSL = resolve('dsl/index.ts');

/** The CLI with the temp config. */
const retarget = (...args: string[]) => cli(['--config', config, ...args]);
const oneLine = (text: string) => text.trim().split('\n').length === 1;

beforeAll(async () => {
  segmentsDir = join(work, 'segments');
  mkdirSync(segmentsDir);
  for (const f of readdirSync('segments')) {
    const text = readFileSync(join('segments', f), 'utf8').replace("'../dsl/index.ts'", JSON.stringify(DSL));
    writeFileSync(join(segmentsDir, f), text); // the shipped segments, importing the DSL from this checkout
  }
  writeFileSync(join(work, 'package.json'), '{ "type": "module" }\n');
  await generateDemo(join(work, 'store'), { customers: 400 });
  config = join(work, 'retarget.config.ts');
  writeFileSync(
    config,
    `export default ${JSON.stringify({
      database: join(work, 'retarget.duckdb'),
      sources: { files: { dir: join(work, 'store') } },
      destinations: { csv: { dir: join(work, 'audiences') } },
      segments: { dir: segmentsDir },
    })};\n`,
  );
  const run = await retarget('run', '--as-of', DEMO_AS_OF.toISOString(), '--json');
  expect(run.code, `${run.stdout.slice(-3000)}\n${run.stderr}`).toBe(0);
}, 180_000);

describe('flags accept exactly what their help says', () => {
  it('--as-of takes ISO 8601 dates and date-times only, checking the calendar', () => {
    expect(parseAsOf('2026-11-01').toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(parseAsOf('2026-11-01T03:04:05').toISOString()).toBe('2026-11-01T03:04:05.000Z');
    expect(parseAsOf('2026-11-01T03:04:05.123Z').toISOString()).toBe('2026-11-01T03:04:05.123Z');
    expect(parseAsOf('2026-11-01T03:00+01:00').toISOString()).toBe('2026-11-01T02:00:00.000Z');
    expect(parseAsOf('2024-02-29').toISOString()).toBe('2024-02-29T00:00:00.000Z');
    for (const bad of [
      '2026-02-30',
      '2025-02-29',
      '1',
      '2026',
      'yesterday',
      '11/01/2026',
      '2026-11-01T24:00',
      '',
    ])
      expect(() => parseAsOf(bad), bad).toThrow(/not an ISO 8601 date or date-time/);
  });

  it('bad values are one-line usage errors (exit 2), on every command', async () => {
    for (const args of [
      ['run', '--as-of', '2026-02-30'],
      ['preview', 'wishlisted', '--as-of', '1'],
      ['preview', 'wishlisted', '--limit', 'abc'],
      ['preview', 'wishlisted', '--limit', '0'],
      ['preview', 'wishlisted', '--limit', '2.5'],
      ['runs', '--limit', '-1'],
      ['sql', 'SELECT 1', '--max-rows', 'x'],
    ]) {
      const r = await retarget(...args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(oneLine(r.stderr), r.stderr).toBe(true);
      expect(r.stderr).toMatch(
        /argument '.*' is invalid\. (not an ISO 8601|expected a whole number of at least 1)/,
      );
    }
    const one = await retarget('preview', 'wishlisted', '--limit', '1', '--json');
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout).members).toHaveLength(1);
  });

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });

  it('--help loads no database driver (each command imports its modules when it runs)', async () => {
    const probe = join(work, 'probe.mjs');
    writeFileSync(
      probe,
      `import { register } from ${JSON.stringify(resolve('node_modules/tsx/dist/esm/api/index.mjs'))};
register();
const { buildProgram } = await import(${JSON.stringify(resolve('pipelines/cli/main.ts'))});
buildProgram().helpInformation();
const native = process.report.getReport().sharedObjects.filter((p) => /duckdb/i.test(p));
process.stdout.write(JSON.stringify(native));
`,
    );
    const { stdout } = await exec(process.execPath, [probe], { cwd: resolve('.') });
    expect(JSON.parse(stdout)).toEqual([]);
  });

  it('a command that sends nothing loads no ad platform or GA4 SDK (each loads on first use)', async () => {
    const probe = join(work, 'probe-sdk.mjs');
    writeFileSync(
      probe,
      `import { createRequire } from 'node:module';
import { register } from ${JSON.stringify(resolve('node_modules/tsx/dist/esm/api/index.mjs'))};
register();
const { main } = await import(${JSON.stringify(resolve('pipelines/cli/main.ts'))});
const code = await main(['node', 'retarget', '--config', ${JSON.stringify(config)}, 'sql', 'SELECT 1']);
const sdks = /facebook-nodejs-business-sdk|@google-ads|@google-analytics|google-gax|@grpc/;
const loaded = Object.keys(createRequire(import.meta.url).cache).filter((p) => sdks.test(p));
process.stderr.write(JSON.stringify({ code, loaded: loaded.length, first: loaded[0] }));
`,
    );
    const { stderr } = await exec(process.execPath, [probe], { cwd: resolve('.') });
    expect(JSON.parse(stderr)).toEqual({ code: 0, loaded: 0 });
  });
});

describe('names the data has never seen are errors or warnings, never a silent zero', () => {
  it('preview of an audience that does not exist is an error listing the known ones', async () => {
    const wrongCase = await retarget('preview', 'category_browsers:cameras');
    expect(wrongCase.code).toBe(2);
    expect(wrongCase.stderr).toContain(
      "no audience 'category_browsers:cameras': the data has no category 'cameras' (did you mean 'category_browsers:Cameras'?)",
    );
    expect(wrongCase.stderr).toMatch(/Known: category_browsers:\S+/);
    const unsplit = await retarget('preview', 'wishlisted:anything');
    expect(unsplit.code).toBe(2);
    expect(unsplit.stderr).toContain("'wishlisted' is a single audience");
    const ok = await retarget('preview', 'category_browsers:Cameras', '--limit', '1');
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('validate warns about event names and categories the data has never seen, with the closest known one', async () => {
    writeFileSync(
      join(segmentsDir, 'typos.ts'),
      `import { all, performed, purchased, segment } from ${JSON.stringify(DSL)};
export default segment('typos').describe('Typos').where(all(performed('view_itme'), purchased().category('cameras', 'Zebras')));
`,
    );
    try {
      const r = await retarget('validate');
      expect(r.code, r.stderr).toBe(0);
      const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning:'));
      expect(warnings).toEqual([
        expect.stringMatching(
          /typos\.ts: event 'view_itme' never appears in events \(did you mean 'view_item'\?\)$/,
        ),
        expect.stringMatching(
          /typos\.ts: category 'cameras' never appears in products or events \(did you mean 'Cameras'\?\)$/,
        ),
        expect.stringMatching(/typos\.ts: category 'Zebras' never appears in products or events$/),
      ]);
      expect(r.stdout).toMatch(/7 segment\(s\) valid, 3 warning\(s\)/);
    } finally {
      rmSync(join(segmentsDir, 'typos.ts'));
    }
    const clean = await retarget('validate');
    expect(clean.stderr).not.toContain('warning:');
  });
});

describe('retarget sql: the analyst view without a duckdb shell', () => {
  it('prints a table, JSON or CSV, read-only', async () => {
    const q = 'SELECT category, count(*) AS products FROM products GROUP BY ALL ORDER BY category LIMIT 2';
    const table = await retarget('sql', q);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^category\s+products\n─+\s+─+\n\S.*\s+\d+\n/);
    expect(table.stdout).toMatch(/\(2 rows\)\n$/);

    const json = JSON.parse((await retarget('sql', q, '--json')).stdout) as Array<Record<string, unknown>>;
    expect(json).toHaveLength(2);
    expect(typeof json[0]!.products).toBe('number'); // counts are numbers, not strings

    const csv = await retarget('sql', "SELECT 'a,b' AS x, 1 AS y, NULL AS z", '--csv');
    expect(csv.stdout).toBe('x,y,z\r\n"a,b",1,\r\n');

    const capped = await retarget('sql', 'SELECT * FROM range(5)', '--max-rows', '2');
    expect(capped.stdout).toMatch(/\(5 rows, first 2 shown/);
  });

  it('a write is refused by the read-only open, with a clear message', async () => {
    const r = await retarget('sql', 'DELETE FROM customers');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'sql only reads: the database is opened read-only, so DELETE statements are refused',
    );
    const count = await retarget('sql', 'SELECT count(*) AS n FROM customers', '--json');
    expect(JSON.parse(count.stdout)[0].n).toBeGreaterThan(0);
  });

  it('exits 75 with the usual message while a run holds the database', async () => {
    let s: Sandbox | undefined = sandbox();
    try {
      await writeStore(s.store, { customers: 5 });
      const first = startCli(['--config', s.config, 'run'], {
        RETARGET_TEST_HOLD_AT: 'step:segments:evaluate',
      });
      await first.waitFor(/holding at step:segments:evaluate/);
      const r = await cli(['--config', s.config, 'sql', 'SELECT 1']);
      first.child.kill('SIGKILL');
      await first.done;
      expect(r.code).toBe(75);
      expect(r.stderr).toMatch(/is busy: retarget run \(cli\) \(pid \d+ .*Try again when it finishes/);
    } finally {
      s?.cleanup();
      s = undefined;
    }
  });
});

describe('JSON output uses one naming style (camelCase), like run --json', () => {
  it('runs --json and runs <id> --json', async () => {
    const list = JSON.parse((await retarget('runs', '--json')).stdout) as Array<Record<string, unknown>>;
    expect(list[0]).toEqual(
      expect.objectContaining({
        runId: expect.any(String),
        startedAt: expect.any(String),
        rowsRejected: expect.any(Number),
      }),
    );
    const detail = JSON.parse((await retarget('runs', 'last', '--json')).stdout) as Record<string, unknown>;
    const keys = JSON.stringify(detail).match(/"[A-Za-z0-9_]+":/g) ?? [];
    expect(keys.length).toBeGreaterThan(10);
    expect(keys.filter((k) => k.includes('_'))).toEqual([]);
    expect(detail.run).toEqual(expect.objectContaining({ runId: list[0]!.runId, asOf: expect.any(String) }));
  });
});

describe('retarget.config.ts rejects unknown keys, naming their path', () => {
  it('a misspelt nested key is an error, not silently dropped', () => {
    const error = (input: unknown) => {
      try {
        parseConfig(input, 'cfg.ts');
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    expect(error({ destinations: { googel_ads: {} } })).toContain(
      'destinations.googel_ads: unknown key (allowed here: csv, meta, google_ads)',
    );
    expect(error({ sources: { files: { dir: 'x', maxRejectShar: 0.1 } } })).toContain(
      'sources.files.maxRejectShar: unknown key (allowed here: dir, maxRejectShare)',
    );
    expect(error({ segments: { disable: ['x'] } })).toContain('segments.disable: unknown key');
    expect(error({ destinations: { csv: { dri: 'x' } } })).toContain('destinations.csv.dri: unknown key');
    // Each registered connector's settings are checked by its own schema when the file is loaded (GA4's field by
    // field by its source, docs/ga4.md).
    expect(error({ destinations: { meta: { anything: 1 } } })).toContain(
      'destinations.meta.anything: unknown key',
    );
    expect(error({ sources: { ga4: { export: { paths: 'x' } } } })).toBe('accepted');
  });
});
