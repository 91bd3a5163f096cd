import { ingestRelation } from '../../../warehouse/ingest.ts';
import { sqlIdent } from '../../../warehouse/values.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';
import type { LoadSummary } from '../contract.ts';
import { openScratch, removeScratch } from '../scratch.ts';
import { type AdoptionResult, adoptRegisteredGuests } from '../store-records.ts';
import { ChunkFile } from './chunks.ts';
import { EcwidClient } from './client.ts';
import type { EcwidConfig } from './config.ts';
import { type DeletionReport, pullDeletions } from './deletions.ts';
import { type ChunkContext, ECWID_OBJECTS, type EcwidObjectSpec, itemsRelation } from './objects.ts';
import { ObjectCursor, type PullWindow } from './windows.ts';

/**
 * One Ecwid pull: the store currency and categories, then customers, products, orders and abandoned carts, each
 * incrementally in chunks of pages committed with their cursor, then what the store deleted, then guests who
 * registered adopted by their registered customer. Fetching the next pages overlaps committing the last chunk,
 * so the pull runs at the request pace, not at the pace of fetch-then-load.
 */

export interface EcwidPullOptions {
  runId: string;
  now: Date;
  log(message: string): void;
  /** Test and cancellation point, e.g. `commit:ecwid/orders/2` inside the second orders chunk's transaction. */
  checkpoint(point: string): Promise<void>;
  /** Tests: no waiting (Retry-After, backoff). */
  sleep?: (ms: number) => Promise<void>;
}

export interface EcwidObjectReport {
  object: string;
  pages: number;
  items: number;
  window: PullWindow;
  loads: LoadSummary[];
}

export interface EcwidPullReport {
  storeId: string;
  objects: EcwidObjectReport[];
  deletions: DeletionReport[];
  adopted: AdoptionResult;
  requests: number;
  rateLimitedMs: number;
  seconds: number;
  warnings: string[];
}

/** The scratch folder (../scratch.ts) of the pages being loaded: customer data. */
const ECWID_PAGES = 'ecwid-pages';

export async function pullEcwid(
  wh: Warehouse,
  config: EcwidConfig,
  options: EcwidPullOptions,
): Promise<EcwidPullReport> {
  const started = performance.now();
  const client = new EcwidClient({ ...config, sleep: options.sleep });
  const dir = openScratch(wh, ECWID_PAGES);
  const categories = `ecwid_categories_${process.pid}`;
  const warnings: string[] = [];
  try {
    const profile = await client.get<{ formatsAndUnits?: { currency?: string } }>('profile');
    const ctx: ChunkContext = { currency: profile.formatsAndUnits?.currency ?? null, categories };
    if (!ctx.currency)
      warnings.push(
        `Ecwid store ${config.storeId}: the profile names no currency; products and orders without one load without`,
      );
    await loadCategories(wh, client, dir, categories);
    const objects: EcwidObjectReport[] = [];
    for (const spec of ECWID_OBJECTS)
      objects.push(await pullObject(wh, client, spec, ctx, config, options, dir));
    const deletions: DeletionReport[] = [];
    for (const object of ['orders', 'customers'] as const)
      deletions.push(await pullDeletions(wh, client, object, config, options, dir, warnings));
    const adopted = await adoptRegisteredGuests(wh);
    if (adopted.guests > 0)
      options.log(`ecwid: ${adopted.guests} guest(s) adopted by their registered customer`);
    return {
      storeId: config.storeId,
      objects,
      deletions,
      adopted,
      requests: client.requests,
      rateLimitedMs: client.rateLimitedMs,
      seconds: (performance.now() - started) / 1000,
      warnings,
    };
  } finally {
    removeScratch(wh, ECWID_PAGES);
    await wh.run(`DROP TABLE IF EXISTS ${sqlIdent(categories)}`);
  }
}

/** Every category's id and name (a full read each run: a store has few), for the products' category. */
async function loadCategories(wh: Warehouse, client: EcwidClient, dir: string, table: string): Promise<void> {
  const chunk = ChunkFile.in(dir, 'categories', 0);
  for (let offset = 0; ; ) {
    const page = await client.page<unknown>(
      'categories',
      { responseFields: 'total,count,offset,limit,items(id,name)' },
      offset,
    );
    chunk.append(page.items);
    offset += page.items.length;
    if (page.items.length === 0 || offset >= page.total) break;
  }
  await wh.run(`CREATE OR REPLACE TEMP TABLE ${sqlIdent(table)} (id VARCHAR, name VARCHAR)`);
  if (chunk.items > 0)
    await wh.run(
      `INSERT INTO ${sqlIdent(table)} SELECT id, name FROM read_json('${chunk.file.replaceAll("'", "''")}',
         format = 'newline_delimited', columns = {'id': 'VARCHAR', 'name': 'VARCHAR'})`,
    );
  chunk.remove();
}

/**
 * Pages one object's window into chunk files and commits each chunk (its rows and the window's offset in one
 * transaction) while the next pages are fetched; at most one chunk waits to be committed.
 */
async function pullObject(
  wh: Warehouse,
  client: EcwidClient,
  spec: EcwidObjectSpec,
  ctx: ChunkContext,
  config: EcwidConfig,
  options: EcwidPullOptions,
  dir: string,
): Promise<EcwidObjectReport> {
  const cursor = new ObjectCursor(wh, `${config.storeId}/${spec.name}`, options.runId);
  const window = await cursor.window(options.now, config.overlapMinutes * 60);
  const query = { updatedFrom: window.from, updatedTo: window.to, responseFields: spec.responseFields };
  const report: EcwidObjectReport = { object: spec.name, pages: 0, items: 0, window, loads: [] };
  let offset = window.offset;
  let n = 0;
  let chunk = ChunkFile.in(dir, spec.name, ++n);
  let committing: Promise<void> = Promise.resolve();
  const failed: unknown[] = []; // a chunk's commit error, thrown at the next page
  for (;;) {
    const page = await client.page<unknown>(spec.path, query, offset);
    if (failed.length) throw failed[0];
    chunk.append(page.items);
    offset += page.items.length;
    const last = page.items.length === 0 || offset >= page.total;
    if (chunk.pages < config.pagesPerCommit && !last) continue;
    await committing;
    if (failed.length) throw failed[0];
    const [done, through, number] = [chunk, offset, n];
    committing = commitChunk(wh, spec, ctx, config, options, done, number, async () =>
      cursor.committed(window, through, last),
    )
      .then((loads) => {
        report.pages += done.pages;
        report.items += done.items;
        mergeLoads(report.loads, loads);
      })
      .catch((error: unknown) => {
        failed.push(error);
      })
      .finally(() => done.remove());
    if (last) break;
    chunk = ChunkFile.in(dir, spec.name, ++n);
  }
  await committing;
  if (failed.length) throw failed[0];
  options.log(`ecwid ${spec.name}: ${report.items} item(s) in ${report.pages} page(s)`);
  return report;
}

/** Loads one chunk into its tables; the last table's transaction also records the window's progress. */
async function commitChunk(
  wh: Warehouse,
  spec: EcwidObjectSpec,
  ctx: ChunkContext,
  config: EcwidConfig,
  options: EcwidPullOptions,
  chunk: ChunkFile,
  number: number,
  progress: () => Promise<void>,
): Promise<LoadSummary[]> {
  const atCommit = async () => {
    await options.checkpoint(`commit:ecwid/${spec.name}/${number}`);
    await progress();
  };
  if (chunk.items === 0) {
    await wh.transaction(atCommit);
    return [];
  }
  const loads = spec.loads(itemsRelation(spec, chunk.file), ctx);
  const summaries: LoadSummary[] = [];
  for (const [i, load] of loads.entries()) {
    const r = await ingestRelation(wh, {
      table: load.table,
      relationSql: load.relationSql,
      runId: options.runId,
      source: `ecwid:${spec.name}`,
      maxRejectShare: config.maxRejectShare,
      replace: load.replaceWhere ? { where: load.replaceWhere } : undefined,
      beforeCommit: i === loads.length - 1 ? atCommit : undefined,
    });
    summaries.push({
      table: load.table === spec.name ? load.table : `${load.table} (ecwid ${spec.name})`,
      files: 0,
      filesSkipped: 0,
      rowsRead: r.rowsRead,
      rowsLoaded: r.rowsLoaded,
      rowsRejected: r.rowsRejected,
    });
  }
  return summaries;
}

function mergeLoads(into: LoadSummary[], loads: LoadSummary[]): void {
  for (const l of loads) {
    const have = into.find((x) => x.table === l.table);
    if (!have) into.push({ ...l });
    else {
      have.rowsRead += l.rowsRead;
      have.rowsLoaded += l.rowsLoaded;
      have.rowsRejected += l.rowsRejected;
    }
  }
}
