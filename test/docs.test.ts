import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/temp.ts';

/**
 * The docs run as written: every `npx retarget` / `npm start` command in the README, docs/segments.md,
 * docs/analysts.md and docs/metrics.md, every SQL example of docs/analysts.md, the JSON example of docs/metrics.md,
 * and the TypeScript snippets of docs/segments.md (lint clean, the spec passes, the example segment loads next to
 * the shipped ones and names data the demo has). On the full demo store in a temp dir standing in for a fresh clone
 * (relative paths like data/ land there).
 */

const exec = promisify(execFile);
const ROOT = resolve('.');
const BIN = join(ROOT, 'bin', 'retarget.mjs');
const DOCS = ['README.md', 'docs/segments.md', 'docs/analysts.md', 'docs/metrics.md'];
/** Commands that are not retarget's to run here: installing, the whole test suite, the user's own exports. */
const SKIP = /^(npm (install|test|ci|run)\b|npx vitest\b)|exports\//;

const work = tempDir('docs');
let config: string;

const read = (doc: string) => readFileSync(join(ROOT, doc), 'utf8');
const blocks = (doc: string, lang: string) =>
  [...read(doc).matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1]!);

/** The shell lines of a doc's ```sh blocks, without trailing comments. */
function commands(doc: string): string[] {
  return blocks(doc, 'sh')
    .flatMap((b) => b.split('\n'))
    .map((l) => l.replace(/\s+#[^'"]*$/, '').trim())
    .filter((l) => l && !l.startsWith('#') && !SKIP.test(l));
}

/** Runs a documented command line in the temp clone: `npx retarget` and `npm start` are this checkout's CLI. */
async function sh(line: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const cli = `${process.execPath} ${BIN} --config ${config}`;
  const command = line.replaceAll('npx retarget', cli).replace(/^npm start$/, `${cli} demo`);
  try {
    const { stdout, stderr } = await exec('sh', ['-c', command], { cwd: work, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A segment module importing the DSL of this checkout (as it would from a clone's segments/). */
const withDsl = (text: string) =>
  text.replace("'../dsl/index.ts'", JSON.stringify(join(ROOT, 'dsl', 'index.ts')));

beforeAll(async () => {
  writeFileSync(join(work, 'package.json'), '{ "type": "module" }\n');
  symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'));
  mkdirSync(join(work, 'segments'));
  for (const f of readdirSync(join(ROOT, 'segments')))
    writeFileSync(join(work, 'segments', f), withDsl(read(join('segments', f))));
  // docs/segments.md: "Create segments/<name>.ts": its example, next to the shipped ones.
  const example = blocks('docs/segments.md', 'ts')[0]!;
  const name = /segment\('(\w+)'\)/.exec(example)![1]!;
  writeFileSync(join(work, 'segments', `${name}.ts`), withDsl(example));
  // The defaults of a clone (data/retarget.duckdb, data/demo, audiences beside the database), segments from above.
  config = join(work, 'retarget.config.ts');
  writeFileSync(config, `export default { segments: { dir: ${JSON.stringify(join(work, 'segments'))} } };\n`);
  const start = await sh('npm start');
  expect(start.code, start.stderr).toBe(0);
}, 240_000);

describe('every documented command runs as written on the demo store', () => {
  for (const doc of DOCS) {
    it(`${doc}`, async () => {
      const lines = commands(doc);
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) {
        const r = await sh(line);
        expect({ line, code: r.code, stderr: r.stderr.match(/^retarget: .*$/m)?.[0] }).toEqual({
          line,
          code: 0,
          stderr: undefined,
        });
        if (/ validate$/.test(line)) expect(r.stderr, line).not.toContain('warning:');
        if (/ preview /.test(line)) expect(r.stdout, line).toMatch(/showing [1-9]\d* member/);
        if (line.includes('came_back')) {
          // The retention example finds customers who came back (it used to return 0 on the demo, always).
          expect(r.stdout, line).toMatch(/^passive_past_buyers\s+[1-9][\d,]*\s+[1-9][\d,]*$/m);
        }
      }
    }, 300_000);
  }

  it('docs/analysts.md: every SQL example', async () => {
    const statements = blocks('docs/analysts.md', 'sql')
      .flatMap((b) => b.split(/;\s*(?:\n|$)/))
      .map((q) => q.trim())
      .filter((q) => q.replace(/--.*$/gm, '').trim());
    expect(statements.length).toBeGreaterThan(2);
    for (const q of statements) {
      const r = await exec(process.execPath, [BIN, '--config', config, 'sql', q], { cwd: work }).then(
        () => 'ok',
        (err: { stderr: string }) => err.stderr,
      );
      expect({ q, r }).toEqual({ q, r: 'ok' });
    }
  }, 120_000);

  it('docs/metrics.md: the JSON example is the demo store as printed', async () => {
    const r = await sh('npx retarget metrics --json --periods 1');
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(blocks('docs/metrics.md', 'json')[0]!));
  }, 60_000);
});

describe('the TypeScript snippets of docs/segments.md', () => {
  it('pass the lint as written', async () => {
    const [segment, spec] = blocks('docs/segments.md', 'ts');
    const lint = join(work, 'lint');
    for (const d of ['segments', 'test']) mkdirSync(join(lint, d), { recursive: true });
    const biome = JSON.parse(read('biome.json')) as Record<string, unknown>;
    delete biome.$schema;
    writeFileSync(join(lint, 'biome.json'), JSON.stringify(biome));
    writeFileSync(join(lint, 'segments', 'example.ts'), segment!);
    writeFileSync(join(lint, 'test', 'example.test.ts'), spec!);
    const biomeBin = join(ROOT, 'node_modules', '.bin', 'biome');
    const r = await exec(biomeBin, ['check', 'segments/example.ts', 'test/example.test.ts'], {
      cwd: lint,
    }).then(
      () => 'clean',
      (err: { stdout: string; stderr: string }) => `${err.stdout}${err.stderr}`,
    );
    expect(r).toBe('clean');
  }, 60_000);

  it('the spec passes', async () => {
    const spec = blocks('docs/segments.md', 'ts')[1]!
      .replace("'../segments/wishlisted.ts'", JSON.stringify(join(ROOT, 'segments', 'wishlisted.ts')))
      .replace("'./helpers/store.ts'", JSON.stringify(join(ROOT, 'test', 'helpers', 'store.ts')));
    mkdirSync(join(work, 'spec'), { recursive: true });
    writeFileSync(join(work, 'spec', 'example.test.ts'), spec);
    const vitest = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
    const r = await exec(process.execPath, [vitest, 'run', '--root', join(work, 'spec')], { cwd: work }).then(
      ({ stdout }) => stdout,
      (err: { stdout: string; stderr: string }) => `FAILED\n${err.stdout}${err.stderr}`,
    );
    expect(r).toMatch(/1 passed/);
  }, 120_000);
});
