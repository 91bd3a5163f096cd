import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { round, type StageResult } from '../measure.ts';
import { compareWithFull, type MembershipCheck } from './night-check.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface NightResult {
  status: string;
  seconds: number;
  max_rss_mib: number;
  steps: Array<{ step: string; seconds: number; rows_out: number | null }>;
  /** Each segment's evaluation time (the part of segments:evaluate it took). */
  segments: Array<{ segment: string; seconds: number; members: number }>;
  rows_loaded: number;
  audiences: number;
  members: number;
  error?: { step: string; message: string };
}

export interface NightArgs {
  db: string;
  sourceDir: string;
  csvDir: string;
  asOf: Date;
  memoryLimit?: string;
  /** Evaluate everything in full (--full-refresh), as a dry run loading nothing: the equality check. */
  fullCheck?: boolean;
}

/** One nightly run (runPipeline: load, evaluate, store, CSV destination) in a child process. */
export async function runNight(args: NightArgs): Promise<NightResult> {
  const payload = JSON.stringify({ ...args, asOf: args.asOf.toISOString() });
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin/run-ts.mjs'), join(ROOT, 'bench/night-child.ts'), payload],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((done) => child.on('close', done));
  const last = stdout.trim().split('\n').pop() ?? '';
  let result: NightResult;
  try {
    result = JSON.parse(last) as NightResult;
  } catch {
    throw new Error(`nightly run child exited with ${code}: ${stderr.trim() || stdout.trim()}`);
  }
  if (result.status !== 'succeeded')
    throw new Error(`nightly run failed at ${result.error?.step}: ${result.error?.message}`);
  return result;
}

/** Hard-links every file under `from` into `to` (same size and mtime, so the loader sees the same files). */
export function linkTree(from: string, to: string): void {
  for (const entry of readdirSync(from, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const src = join(entry.parentPath, entry.name);
    const dst = join(to, relative(from, src));
    mkdirSync(dirname(dst), { recursive: true });
    rmSync(dst, { force: true });
    linkSync(src, dst);
  }
}

export interface NightStageOptions {
  /** Base files (files contract) and the next day's files, same layout. */
  baseDir: string;
  incrementDir: string;
  workDir: string;
  asOf: Date;
  memoryLimit?: string;
  /** Peak RSS target for stage 5 (MiB). */
  rssTargetMib: number;
}

export interface NightStages {
  incremental: StageResult;
  memory: StageResult;
  full: NightResult;
  next: NightResult;
  /** The database after both nights (for the segment stage). */
  db: string;
  /** The as-of time of the second night. */
  nextAsOf: Date;
}

/**
 * Stage 3 and 5: a full nightly run on a fresh database, then one more day of events and orders lands as new
 * files and the next night runs (target: <= 10% of the full run). Peak RSS is the full run's (target in MiB).
 * The next night's membership must equal a full evaluation of the same data, or the stage fails.
 */
export async function nightStages(options: NightStageOptions): Promise<NightStages> {
  const source = join(options.workDir, 'night-source');
  const db = join(options.workDir, 'night.duckdb');
  const csvDir = join(options.workDir, 'night-audiences');
  for (const p of [source, db, `${db}.wal`, csvDir]) rmSync(p, { recursive: true, force: true });
  linkTree(options.baseDir, source);
  const common = { db, sourceDir: source, csvDir, memoryLimit: options.memoryLimit };
  const full = await runNight({ ...common, asOf: options.asOf });
  linkTree(options.incrementDir, source);
  const nextAsOf = new Date(options.asOf.getTime() + 86_400_000);
  const next = await runNight({ ...common, asOf: nextAsOf });
  const membership = await checkAgainstFull(db, { ...common, asOf: nextAsOf });
  const ratio = next.seconds / full.seconds;
  const incremental: StageResult = {
    name: 'incremental_night',
    retarget_s: round(next.seconds),
    baseline_s: round(full.seconds),
    ratio: round(ratio, 3),
    target: 0.1,
    met: ratio <= 0.1,
    membership,
    ...(membership.equal
      ? {}
      : { error: "the incremental night's membership differs from a full evaluation of the same data" }),
    note: 'retarget_s = the next night (one new day of files), baseline_s = the full first night; membership = the next night vs a full evaluation (--full-refresh) of a copy',
    steps_full: full.steps.map((s) => ({ ...s, seconds: round(s.seconds) })),
    steps_next: next.steps.map((s) => ({ ...s, seconds: round(s.seconds) })),
  };
  const rss = Math.max(full.max_rss_mib, next.max_rss_mib);
  const memory: StageResult = {
    name: 'peak_rss',
    retarget_s: round(full.seconds),
    baseline_s: null,
    ratio: null,
    target: options.rssTargetMib,
    met: rss <= options.rssTargetMib,
    value: round(rss, 1),
    unit: 'MiB',
    memory_limit: options.memoryLimit ?? '(DuckDB default: 80% of RAM)',
    note: 'peak resident set of the nightly run process (Node + DuckDB), max of both nights',
  };
  rmSync(csvDir, { recursive: true, force: true });
  return { incremental, memory, full, next, db, nextAsOf };
}

/** Evaluates a copy of the database in full (not timed) and compares its membership with the incremental one. */
async function checkAgainstFull(db: string, args: NightArgs): Promise<MembershipCheck> {
  const copy = db.replace(/\.duckdb$/, '-full.duckdb');
  for (const p of [copy, `${copy}.wal`]) rmSync(p, { force: true });
  copyFileSync(db, copy);
  if (existsSync(`${db}.wal`)) copyFileSync(`${db}.wal`, `${copy}.wal`);
  try {
    await runNight({ ...args, db: copy, csvDir: `${args.csvDir}-full`, fullCheck: true });
    return await compareWithFull(db, copy);
  } finally {
    for (const p of [copy, `${copy}.wal`, `${args.csvDir}-full`]) rmSync(p, { recursive: true, force: true });
  }
}
