import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { discoverFiles } from '../../connectors/sources/files/discover.ts';
import { loadFilesSource } from '../../connectors/sources/files/load.ts';
import { RAW_TABLES } from '../../warehouse/table-specs.ts';
import { sqlString } from '../../warehouse/values.ts';
import { Warehouse } from '../../warehouse/warehouse.ts';
import type { Format } from '../generate.ts';
import { alternate, ratioStage, type StageResult } from '../measure.ts';

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

/**
 * Stage 1: retarget's loader vs DuckDB's bare `INSERT INTO t SELECT * FROM read_parquet/read_csv(...)` of the same
 * files into tables of the same schema (the migrations' tables, primary keys included), each into a fresh
 * database file, checkpointed at the end. Both sides must end with the same row counts.
 */
export async function loadStage(options: LoadStageOptions): Promise<StageResult> {
  const dbPath = join(options.workDir, `load-${options.format}.duckdb`);
  let wh: Warehouse | undefined;
  const fresh = async () => {
    wh?.close();
    rmSync(dbPath, { force: true });
    rmSync(`${dbPath}.wal`, { force: true });
    wh = await Warehouse.open({ path: dbPath, memoryLimit: options.memoryLimit });
  };
  const counts: Array<Record<string, number>> = [];
  const countRows = async (side: string) => {
    const row: Record<string, number> = { side: side === 'retarget' ? 1 : 0 };
    for (const t of RAW_TABLES) row[t] = await wh!.scalar(`SELECT count(*) FROM ${t}`);
    counts.push(row);
  };
  const samples = await alternate(
    options.reps,
    async () => {
      await bareLoad(wh!, options.dir, options.format, options.readerOptions);
      await wh!.run('CHECKPOINT');
      await countRows('baseline');
    },
    async (rep) => {
      await loadFilesSource(wh!, { dir: options.dir, runId: `bench-load-${rep}` });
      await wh!.run('CHECKPOINT');
      await countRows('retarget');
    },
    fresh,
  );
  wh?.close();
  rmSync(dbPath, { force: true });
  rmSync(`${dbPath}.wal`, { force: true });
  const key = (r: Record<string, number>) => RAW_TABLES.map((t) => r[t]).join(',');
  const base = counts.find((c) => c.side === 0)!;
  const ret = counts.find((c) => c.side === 1)!;
  const rows = Object.fromEntries(RAW_TABLES.map((t) => [t, ret[t]]));
  const equal = key(base) === key(ret);
  const stage = ratioStage(options.name ?? `load:${options.format}`, samples, 1.3, {
    rows,
    rows_equal: equal,
  });
  if (!equal) {
    stage.note = `row counts differ: baseline ${key(base)} vs retarget ${key(ret)} (${RAW_TABLES.join(',')})`;
  }
  return stage;
}

/** The bare DuckDB load: every table folder's files straight into the table. */
export async function bareLoad(
  wh: Warehouse,
  dir: string,
  format: Format,
  readerOptions?: string,
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
    // events.event_key is ours (not in files); the bare load fills it from event_id, which every row has.
    const extra = table === 'events' ? ', event_id AS event_key' : '';
    await wh.run(`INSERT INTO ${table} BY NAME SELECT *${extra} FROM ${reader}`);
  }
}
