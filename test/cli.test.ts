import { execFile } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEMO_AS_OF, generateDemo } from '../pipelines/demo/generate.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { tempDir } from './helpers/temp.ts';

const exec = promisify(execFile);
const BIN = resolve('bin/retarget.mjs');

/** Runs the real CLI in a child process, as a user would. */
async function retarget(
  args: string[],
  cwd = process.cwd(),
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const work = tempDir('cli');
const source = join(work, 'store');
beforeAll(async () => {
  await generateDemo(source, { customers: 400 });
}, 120_000);

describe('retarget CLI, end to end on a generated store', () => {
  it('runs the whole pipeline, then re-runs without changing anything', async () => {
    const db = join(work, 'first.duckdb');
    const asOf = DEMO_AS_OF.toISOString();
    const run = await retarget(['run', '--source-dir', source, '--db', db, '--as-of', asOf, '--json']);
    expect(run.stderr).not.toMatch(/Error:|at .*\.ts:\d+/);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.status).toBe('succeeded');
    // Audience files go beside the database (audiences/<database name>/), never into the project's data/.
    expect(readdirSync(join(work, 'audiences', 'first'))).toContain('wishlisted.csv');
    expect(summary.loads.find((t: { table: string }) => t.table === 'events').rowsLoaded).toBeGreaterThan(0);
    const segments = new Set(summary.audiences.map((a: { segment: string }) => a.segment));
    for (const s of [
      'wishlisted',
      'category_browsers',
      'passive_past_buyers',
      'complementary_products',
      'cart_abandoners',
      'one_time_buyers',
    ]) {
      expect(segments, s).toContain(s);
    }

    const again = JSON.parse(
      (await retarget(['run', '--source-dir', source, '--db', db, '--as-of', asOf, '--json'])).stdout,
    );
    expect(again.loads.every((t: { rowsRead: number }) => t.rowsRead === 0)).toBe(true);
    expect(
      again.audiences.every((a: { entered: number; exited: number }) => a.entered === 0 && a.exited === 0),
    ).toBe(true);
    expect(
      again.destinations[0].audiences.every(
        (a: { adds: number; removes: number }) => a.adds + a.removes === 0,
      ),
    ).toBe(true);

    const wh = await Warehouse.open({ path: db, readOnly: true });
    try {
      expect(await wh.scalar(`SELECT count(*) FROM pipeline_runs WHERE status = 'succeeded'`)).toBe(2);
      expect(await wh.scalar('SELECT count(*) FROM audience_members')).toBeGreaterThan(0);
    } finally {
      wh.close();
    }
  });

  it('prints a readable summary, lists segments, previews and explains audiences', async () => {
    const db = join(work, 'readable.duckdb');
    const run = await retarget([
      'run',
      '--source-dir',
      source,
      '--db',
      db,
      '--as-of',
      DEMO_AS_OF.toISOString(),
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('SUCCEEDED');
    expect(run.stdout).toMatch(/Audiences[\s\S]*wishlisted/);
    expect(run.stdout).toMatch(/Destination csv/);

    const list = await retarget(['segments', '--db', db]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/wishlisted\s+\d+ members/);

    const preview = await retarget(['preview', 'wishlisted', '--db', db, '--limit', '3']);
    expect(preview.code).toBe(0);
    expect(preview.stdout).toContain('wishlisted as of');

    const explain = await retarget(['explain', 'passive_past_buyers']);
    expect(explain.code).toBe(0);
    expect(explain.stdout).toMatch(/SELECT/i);
  });

  it('dry run stores membership but sends nothing', async () => {
    const db = join(work, 'dry.duckdb');
    const out = join(work, 'dry-audiences');
    const config = join(work, 'dry.config.ts');
    writeFileSync(join(work, 'package.json'), '{"type": "module"}\n'); // as in a project: configs are ES modules
    writeFileSync(
      config,
      `export default { database: ${JSON.stringify(db)}, sources: { files: { dir: ${JSON.stringify(source)} } }, destinations: { csv: { dir: ${JSON.stringify(out)} } }, segments: { dir: ${JSON.stringify(resolve('segments'))} } };\n`,
    );
    const run = await retarget([
      '--config',
      config,
      'run',
      '--as-of',
      DEMO_AS_OF.toISOString(),
      '--dry-run',
      '--json',
    ]);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.dryRun).toBe(true);
    expect(
      summary.destinations[0].audiences.some(
        (a: { status: string; adds: number }) => a.status === 'planned' && a.adds > 0,
      ),
    ).toBe(true);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
    const wh = await Warehouse.open({ path: db, readOnly: true });
    try {
      expect(await wh.scalar('SELECT count(*) FROM audience_members')).toBeGreaterThan(0);
      expect(await wh.scalar('SELECT count(*) FROM destination_members')).toBe(0);
    } finally {
      wh.close();
    }
  });

  it('explains mistakes in one clear line, without a stack trace', async () => {
    const missing = await retarget([
      'run',
      '--source-dir',
      join(work, 'nope'),
      '--db',
      join(work, 'x.duckdb'),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stdout + missing.stderr).toContain('source directory not found');

    const bad = join(work, 'bad');
    await generateDemo(bad, { customers: 100 });
    writeFileSync(join(bad, 'orders.csv'), 'order_id,customer_id\no1,c1\n');
    const broken = await retarget(['run', '--source-dir', bad, '--db', join(work, 'bad.duckdb'), '--json']);
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout).error.message).toContain(
      'orders.csv: missing required column ordered_at',
    );

    const asOf = await retarget(['run', '--as-of', 'yesterday-ish']);
    expect(asOf.code).toBe(2);
    expect(asOf.stderr).toContain('not an ISO 8601 date or date-time');

    const unknown = await retarget(['preview', 'no_such_segment', '--db', join(work, 'first.duckdb')]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no segment named 'no_such_segment'");
    expect(unknown.stderr).not.toMatch(/\n\s+at /);
  });
});
