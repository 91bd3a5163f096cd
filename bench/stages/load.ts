import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { discoverFiles } from '../../connectors/sources/files/discover.ts';
import { loadFilesSource } from '../../connectors/sources/files/load.ts';
import { RAW_TABLES, TABLE_SPECS } from '../../warehouse/table-specs.ts';
import { sqlString } from '../../warehouse/values.ts';
import { Warehouse } from '../../warehouse/warehouse.ts';
import type { Format } from '../generate.ts';
import { type Paired, ratioStage, type StageResult, seconds } from '../measure.ts';

export interface LoadStageOptions {
  /** Files-contract directory (one folder or file per table). */
  dir: string;
  format: Format;
  /** Where the stage's scratch databases go. */
  workDir: string;
  reps: number;
  memoryLimit?: string;
  name?: string;
  /** Extra options for the bare reader (e.g. a CSV delimiter); the default lets DuckDB detect everything. */
  readerOptions?: string;
}

type Side = 'retarget' | 'keyed' | 'raw';

/**
 * Stage 1: retarget's loader against two loads of the same files by DuckDB alone, each into a fresh database
 * file and checkpointed at the end: `load:<format>`, the bare `INSERT INTO t SELECT * FROM read_parquet/read_csv`
 * into the migrations' tables with the primary keys they had when the issue set this target (the keyed baseline:
 * customers, products, orders and order lines lost their keys in 0041); and `load:<format>_vs_raw`, the physical limit,
 * `CREATE TABLE ... AS SELECT * FROM read_...` with no keys and no checks. The three sides take turns, each
 * repetition in a rotated order. All must end with the same row counts.
 */
export async function loadStages(options: LoadStageOptions): Promise<StageResult[]> {
  const { samples, rows } = await measureLoads(options, ['keyed', 'raw', 'retarget']);
  const name = options.name ?? `load:${options.format}`;
  return [
    judged(name, { retarget: samples.retarget, baseline: samples.keyed }, 1.3, rows, 'keyed'),
    judged(`${name}_vs_raw`, { retarget: samples.retarget, baseline: samples.raw }, 2.0, rows, 'raw'),
  ];
}

/** Retarget's loader against the keyed baseline only (the real datasets' load stage). */
export async function loadStage(options: LoadStageOptions): Promise<StageResult> {
  const { samples, rows } = await measureLoads(options, ['keyed', 'retarget']);
  return judged(
    options.name ?? `load:${options.format}`,
    { retarget: samples.retarget, baseline: samples.keyed },
    1.3,
    rows,
    'keyed',
  );
}

type Counts = Partial<Record<Side, Record<string, number>>>;

function judged(name: string, samples: Paired, target: number, rows: Counts, base: Side): StageResult {
  const key = (r: Record<string, number> | undefined) => RAW_TABLES.map((t) => r?.[t]).join(',');
  const equal = key(rows[base]) === key(rows.retarget);
  const stage = ratioStage(name, samples, target, { rows: rows.retarget, rows_equal: equal });
  if (base === 'raw')
    stage.note =
      'baseline: CREATE TABLE AS SELECT * FROM the reader, no keys, no checks (the physical limit)';
  if (!equal) {
    stage.note = `row counts differ: ${base} ${key(rows[base])} vs retarget ${key(rows.retarget)} (${RAW_TABLES.join(',')})`;
  }
  return stage;
}

async function measureLoads(
  options: LoadStageOptions,
  sides: Side[],
): Promise<{ samples: Record<Side, number[]>; rows: Counts }> {
  const dbPath = join(options.workDir, `load-${options.format}.duckdb`);
  const remove = () => {
    rmSync(dbPath, { force: true });
    rmSync(`${dbPath}.wal`, { force: true });
  };
  const samples: Record<Side, number[]> = { retarget: [], keyed: [], raw: [] };
  const rows: Counts = {};
  const run: Record<Side, (wh: Warehouse, rep: number) => Promise<unknown>> = {
    keyed: async (wh) => {
      await addIssueKeys(wh);
      await bareLoad(wh, options.dir, options.format, options.readerOptions);
    },
    raw: (wh) => bareLoad(wh, options.dir, options.format, options.readerOptions, 'raw_'),
    retarget: (wh, rep) => loadFilesSource(wh, { dir: options.dir, runId: `bench-load-${rep}` }),
  };
  for (let rep = 0; rep < options.reps; rep++) {
    // Rotate the order, so that no side always runs first (cold cache) or last.
    const order = sides.map((_, i) => sides[(i + rep) % sides.length]!);
    for (const side of order) {
      remove();
      const wh = await Warehouse.open({ path: dbPath, memoryLimit: options.memoryLimit });
      try {
        samples[side].push(
          await seconds(async () => {
            await run[side](wh, rep);
            await wh.run('CHECKPOINT');
          }),
        );
        const prefix = side === 'raw' ? 'raw_' : '';
        const counts: Record<string, number> = {};
        for (const t of RAW_TABLES)
          counts[t] = (await wh.scalar(
            `SELECT count(*) FROM duckdb_tables() WHERE table_name = '${prefix}${t}'`,
          ))
            ? await wh.scalar(`SELECT count(*) FROM ${prefix}${t}`)
            : 0;
        rows[side] = counts;
      } finally {
        wh.close();
      }
    }
  }
  remove();
  return { samples, rows };
}

/** The tables migration 0001 keyed (0041 dropped those keys): the keyed baseline loads into them with their keys. */
const ISSUE_KEYED = ['customers', 'products', 'orders', 'order_items'] as const;

async function addIssueKeys(wh: Pick<Warehouse, 'run'>): Promise<void> {
  for (const table of ISSUE_KEYED)
    await wh.run(`ALTER TABLE ${table} ADD PRIMARY KEY (${TABLE_SPECS[table].key.join(', ')})`);
}

/**
 * The bare DuckDB load: every table folder's files straight into the table. With a prefix, the physical limit:
 * each table created from its files (`CREATE TABLE <prefix><table> AS SELECT *`), no keys, no checks.
 */
export async function bareLoad(
  wh: Pick<Warehouse, 'run'>,
  dir: string,
  format: Format,
  readerOptions?: string,
  rawPrefix?: string,
): Promise<void> {
  const files = discoverFiles(dir);
  for (const table of RAW_TABLES) {
    const paths = files.filter((f) => f.table === table && f.sizeBytes > 0).map((f) => sqlString(f.path));
    if (paths.length === 0) continue;
    const list = `[${paths.join(', ')}]`;
    const reader =
      format === 'parquet'
        ? `read_parquet(${list})`
        : `read_csv(${list}, header = true${readerOptions ? `, ${readerOptions}` : ''})`;
    if (rawPrefix !== undefined) {
      await wh.run(`CREATE TABLE ${rawPrefix}${table} AS SELECT * FROM ${reader}`);
      continue;
    }
    // events.event_key is ours (not in files); the bare load fills it from event_id, which every row has.
    const extra = table === 'events' ? ', event_id AS event_key' : '';
    await wh.run(`INSERT INTO ${table} BY NAME SELECT *${extra} FROM ${reader}`);
  }
}
