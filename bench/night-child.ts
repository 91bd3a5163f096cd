// Child process for one nightly run, so its peak RSS is the run's own: `run-ts bench/night-child.ts '<json>'`.
// Prints one JSON line: {status, seconds, max_rss_mib, steps, error?}.
import { parseConfig } from '../config/config.ts';
import { SEGMENTS_DIR } from '../dsl/index.ts';
import { runPipeline } from '../pipelines/run.ts';

interface NightArgs {
  db: string;
  sourceDir: string;
  csvDir: string;
  asOf: string;
  memoryLimit?: string;
  /** The equality check's run: every segment evaluated in full (basket counts recounted), nothing loaded or kept. */
  fullCheck?: boolean;
}

const args = JSON.parse(process.argv[2] ?? '{}') as NightArgs;
const config = parseConfig(
  {
    database: args.db,
    ...(args.memoryLimit ? { memoryLimit: args.memoryLimit } : {}),
    sources: { files: { dir: args.sourceDir } },
    destinations: { csv: { dir: args.csvDir } },
    segments: { dir: SEGMENTS_DIR },
  },
  'bench',
);
const started = performance.now();
const summary = await runPipeline({
  config,
  asOf: new Date(args.asOf),
  trigger: 'bench',
  ...(args.fullCheck ? { fullRefresh: true, dryRun: true, sources: [] } : {}),
});
const seconds = (performance.now() - started) / 1000;
const out = {
  status: summary.status,
  seconds,
  // resourceUsage().maxRSS is in KiB: the peak resident set of this process (Node + DuckDB).
  max_rss_mib: process.resourceUsage().maxRSS / 1024,
  steps: summary.steps.map((s) => ({ step: s.step, seconds: s.seconds, rows_out: s.rowsOut ?? null })),
  segments: summary.segments.map((s) => ({ segment: s.segment, seconds: s.seconds, members: s.members })),
  rows_loaded: summary.loads.reduce((n, t) => n + t.rowsLoaded, 0),
  audiences: summary.audiences.length,
  members: summary.audiences.reduce((n, a) => n + a.members, 0),
  error: summary.error,
};
process.stdout.write(`\n${JSON.stringify(out)}\n`);
