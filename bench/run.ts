// `npm run bench -- [--scale 0.1] [--reps 3] [--memory-limit 1GB] [--members 1000000] [--stages load,night,...]`
import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import {
  type BenchOptions,
  defaultOptions,
  runBench,
  STAGE_GROUPS,
  type StageGroup,
  targetsMet,
} from './bench.ts';
import { stageTable, writeReport } from './report.ts';

const positive = (name: string) => (value: string) => {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError(`${name} must be a positive number`);
  return n;
};
/** `--growth-scales 1,3`: two store sizes, the small one first. */
const scalePair = (value: string): [number, number] => {
  const [a, b, ...rest] = value.split(',').map(Number);
  if (!(a! > 0 && b! > a! && rest.length === 0))
    throw new InvalidArgumentError('--growth-scales must be two scales, the smaller first, e.g. 0.1,0.3');
  return [a!, b!];
};
const defaults = defaultOptions();
const program = new Command('bench')
  .description('retarget benchmark: each stage against what DuckDB itself does with the same data, same run')
  .option('--scale <s>', 'store size (1 = 1M customers, 20M events)', positive('--scale'), defaults.scale)
  .option(
    '--reps <n>',
    'alternating baseline/retarget repetitions per stage',
    positive('--reps'),
    defaults.reps,
  )
  .option(
    '--memory-limit <size>',
    "DuckDB memory_limit, e.g. 1GB ('none' for DuckDB's default)",
    defaults.memoryLimit,
  )
  .option('--members <n>', 'audience members for sync planning', positive('--members'), defaults.members)
  .option('--stages <list>', `comma-separated subset of ${STAGE_GROUPS.join(',')}`, STAGE_GROUPS.join(','))
  .option('--work-dir <dir>', 'scratch directory (generated files are cached here)', defaults.workDir)
  .option('--datasets <dir>', 'real datasets directory', defaults.datasetsDir)
  .option('--no-datasets', 'skip the real datasets')
  .option(
    '--dataset-reps <n>',
    'repetitions on the real datasets',
    positive('--dataset-reps'),
    defaults.datasetReps,
  )
  .option('--seed <n>', 'generator seed', positive('--seed'), defaults.seed)
  .option('--rss-target <mib>', 'peak RSS target in MiB', positive('--rss-target'), defaults.rssTargetMib)
  .option(
    '--growth-scales <a,b>',
    'store scales of the growth stage (small,large)',
    scalePair,
    defaults.growthScales,
  )
  .option('--out <dir>', 'where the JSON result goes', 'bench/results')
  .option('--strict', 'exit 2 when a target is missed (wrong results always exit 1)')
  .parse();

const o = program.opts<{
  scale: number;
  reps: number;
  memoryLimit: string;
  members: number;
  stages: string;
  workDir: string;
  datasets: string | false;
  seed: number;
  datasetReps: number;
  rssTarget: number;
  growthScales: [number, number];
  out: string;
  strict?: boolean;
}>();
const stages = o.stages.split(',').map((s) => s.trim()) as StageGroup[];
const unknown = stages.filter((s) => !STAGE_GROUPS.includes(s));
if (unknown.length) {
  console.error(`unknown stage(s): ${unknown.join(', ')} (known: ${STAGE_GROUPS.join(', ')})`);
  process.exit(2);
}
const options: BenchOptions = {
  scale: o.scale,
  reps: Math.round(o.reps),
  memoryLimit: o.memoryLimit === 'none' ? undefined : o.memoryLimit,
  members: Math.round(o.members),
  workDir: resolve(o.workDir),
  datasetsDir: o.datasets === false ? undefined : resolve(o.datasets),
  stages,
  datasetReps: Math.round(o.datasetReps),
  seed: Math.round(o.seed),
  rssTargetMib: o.rssTarget,
  growthScales: o.growthScales,
  log: (m) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}`),
};

const report = await runBench(options);
const path = writeReport(report, resolve(o.out));
console.log(
  `\nretarget bench, scale ${report.scale}, ${report.machine.cpus} CPUs, DuckDB ${report.versions.duckdb}, memory_limit ${options.memoryLimit ?? 'default'}`,
);
console.log(stageTable(report.stages));
for (const d of report.datasets) {
  console.log(
    `\nreal dataset: ${d.name} (${Object.entries(d.rows)
      .map(([t, n]) => `${t} ${n}`)
      .join(', ')})`,
  );
  console.log(d.error ? `  failed: ${d.error}` : stageTable(d.stages));
}
for (const s of [...report.stages, ...report.datasets.flatMap((d) => d.stages)]) {
  if (s.error) console.log(`! ${s.name}: ${s.error}`);
  else if (s.note && (s.met === false || /DIFFER|WRONG|no hand-written/.test(s.note)))
    console.log(`! ${s.name}: ${s.note}`);
}
console.log(`\nresults: ${path}`);
if (!report.ok) {
  console.error('bench FAILED: a result differs from the baseline (see the notes above)');
  process.exit(1);
}
if (o.strict && !targetsMet(report)) process.exit(2);
