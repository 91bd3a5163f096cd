import { IngestError, ingestRelation } from '../../../warehouse/ingest.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';
import { removeScratch } from '../scratch.ts';
import {
  callGa4,
  createGa4Client,
  type Ga4Api,
  Ga4QuotaExhausted,
  type RetryPolicy,
  type RunReportRequest,
  type RunReportResponse,
} from './client.ts';
import type { Ga4Config } from './config.ts';
import { addDays, dayChunks, isoDay } from './dates.ts';
import { type Ga4Logger, type Ga4RunContext, silentLogger } from './log.ts';
import { checkFieldsExist, propertyFields, wishlistItemDimension } from './metadata.ts';
import { type ResolvedReport, resolveReport } from './reports.ts';
import { DATA_API_SOURCE, GA4_PAGES, ReportStage } from './stage.ts';
import { markPulled, pulledThrough } from './state.ts';

export interface Ga4QuotaSnapshot {
  tokensPerDayRemaining: number | null;
  tokensPerHourRemaining: number | null;
}

export interface Ga4ReportResult {
  report: string;
  /** Days requested this run (inclusive), or null when there was nothing to pull. */
  from: string | null;
  to: string | null;
  /** Last day pulled after this run (ga4_sync_state). */
  pulledThrough: string | null;
  requests: number;
  /** Report rows received from GA4. */
  rowsFetched: number;
  /** Event rows offered to the loader, loaded, and rejected (see rejected_rows). */
  rowsRead: number;
  rowsLoaded: number;
  rowsRejected: number;
  /** Rows of responses GA4 flagged as subject to thresholding (some data withheld). */
  thresholdedRows: number;
  /** Rows without a customer value (anonymous or '(other)'): not loaded. */
  unattributedRows: number;
}

export interface Ga4PullResult {
  propertyId: string;
  /** The event-scoped item id dimension used for wishlists, or null (wishlist rows without product). */
  wishlistItemDimension: string | null;
  reports: Ga4ReportResult[];
  rowsRead: number;
  rowsLoaded: number;
  rowsRejected: number;
  thresholdedRows: number;
  unattributedRows: number;
  /** Set when the run stopped early because the property quota is spent; the next run resumes. */
  stopped: { reason: 'quota'; message: string } | null;
  quota: Ga4QuotaSnapshot | null;
}

export interface Ga4PullOptions extends Ga4RunContext {
  /** An already created client (kept open); by default one is created from the config and closed after. */
  client?: Ga4Api;
}

/**
 * Pulls every configured report for the days since the last run (first run: a backfill), re-pulling a trailing
 * window that replaces those days' rows, so re-runs never double count. Each chunk of days is staged page by page
 * and loaded in one transaction with its progress mark. When the property quota runs out it stops cleanly: what
 * was committed stays, and the next run continues from there.
 */
export async function pullGa4DataApi(
  wh: Warehouse,
  config: Ga4Config,
  ctx: Ga4PullOptions,
): Promise<Ga4PullResult> {
  const log = ctx.log ?? silentLogger;
  const client = ctx.client ?? (await createGa4Client(config));
  const policy: RetryPolicy = {
    retries: config.retries,
    minTimeoutMs: config.retryMinTimeoutMs,
    maxTimeoutMs: config.retryMaxTimeoutMs,
    timeoutMs: config.requestTimeoutMs,
  };
  const result: Ga4PullResult = {
    propertyId: config.propertyId,
    wishlistItemDimension: null,
    reports: [],
    rowsRead: 0,
    rowsLoaded: 0,
    rowsRejected: 0,
    thresholdedRows: 0,
    unattributedRows: 0,
    stopped: null,
    quota: null,
  };
  try {
    const [metadata] = await callGa4(
      'GetMetadata',
      (timeout) => client.getMetadata({ name: `properties/${config.propertyId}/metadata` }, { timeout }),
      policy,
      log,
    );
    const fields = propertyFields(metadata);
    const itemParam = wishlistItemDimension(config, fields);
    result.wishlistItemDimension = itemParam;
    const reports = config.reports.map((def) => {
      const report = resolveReport(def, {
        customerDimension: config.customerDimension,
        itemParamDimension: itemParam,
      });
      checkFieldsExist(config, report, fields);
      return report;
    });
    if (!itemParam)
      log.info(
        { property: config.propertyId },
        'GA4: no event-scoped item id dimension; wishlist events load without a product',
      );
    for (const report of reports) {
      const summary = await pullReport(wh, client, config, report, { ...ctx, log }, policy, result);
      result.reports.push(summary);
      for (const k of [
        'rowsRead',
        'rowsLoaded',
        'rowsRejected',
        'thresholdedRows',
        'unattributedRows',
      ] as const)
        result[k] += summary[k];
      if (result.stopped) break;
    }
  } catch (err) {
    if (!(err instanceof Ga4QuotaExhausted)) throw err;
    result.stopped = { reason: 'quota', message: err.message };
  } finally {
    removeScratch(wh, GA4_PAGES);
    if (!ctx.client) await client.close();
  }
  if (result.stopped)
    log.warn(
      { property: config.propertyId, reason: result.stopped.message },
      'GA4 quota exhausted: stopped cleanly; the next run continues from the last loaded days',
    );
  if (result.thresholdedRows)
    log.warn({ rows: result.thresholdedRows }, 'GA4 applied thresholding: some rows were withheld');
  return result;
}

/** The days to request: the backfill on a first run, else the trailing window before the mark through as-of. */
export function pullRange(
  config: Pick<Ga4Config, 'backfillDays' | 'trailingDays'>,
  last: string | null,
  asOf: Date,
): { from: string; to: string } | null {
  const to = isoDay(asOf);
  const from = last ? addDays(last, 1 - config.trailingDays) : addDays(to, 1 - config.backfillDays);
  return from <= to ? { from, to } : null;
}

async function pullReport(
  wh: Warehouse,
  client: Ga4Api,
  config: Ga4Config,
  report: ResolvedReport,
  ctx: Ga4RunContext & { log: Ga4Logger },
  policy: RetryPolicy,
  result: Ga4PullResult,
): Promise<Ga4ReportResult> {
  const last = await pulledThrough(wh, config.propertyId, report.name);
  const range = pullRange(config, last, ctx.asOf);
  const summary: Ga4ReportResult = {
    report: report.name,
    from: range?.from ?? null,
    to: range?.to ?? null,
    pulledThrough: last,
    requests: 0,
    rowsFetched: 0,
    rowsRead: 0,
    rowsLoaded: 0,
    rowsRejected: 0,
    thresholdedRows: 0,
    unattributedRows: 0,
  };
  if (!range) return summary;
  ctx.log.info({ report: report.name, from: range.from, to: range.to, last }, 'GA4: pulling report');
  try {
    for (const chunk of dayChunks(range.from, range.to, config.daysPerRequest)) {
      await pullChunk(wh, client, config, report, chunk, ctx, policy, summary, result);
    }
  } catch (err) {
    if (!(err instanceof Ga4QuotaExhausted)) throw err;
    result.stopped = { reason: 'quota', message: err.message };
  }
  summary.pulledThrough = await pulledThrough(wh, config.propertyId, report.name);
  return summary;
}

/** One chunk of days: every page staged, then mapped and loaded in a single transaction with the progress mark. */
async function pullChunk(
  wh: Warehouse,
  client: Ga4Api,
  config: Ga4Config,
  report: ResolvedReport,
  chunk: { from: string; to: string },
  ctx: Ga4RunContext & { log: Ga4Logger },
  policy: RetryPolicy,
  summary: Ga4ReportResult,
  result: Ga4PullResult,
): Promise<void> {
  const stage = await ReportStage.create(wh, report);
  try {
    let offset = 0;
    for (;;) {
      const request = reportRequest(config, report, chunk, offset);
      const [response] = await callGa4(
        `RunReport ${report.name} ${chunk.from}..${chunk.to} offset ${offset}`,
        (timeout) => client.runReport(request, { timeout }),
        policy,
        ctx.log,
      );
      summary.requests++;
      const rows = response.rows ?? [];
      await stage.append(rows);
      summary.rowsFetched += rows.length;
      if (response.metadata?.subjectToThresholding) summary.thresholdedRows += rows.length;
      if (response.metadata?.dataLossFromOtherRow && offset === 0)
        ctx.log.warn(
          { report: report.name, from: chunk.from, to: chunk.to },
          "GA4 grouped some rows into '(other)' (cardinality limit): those are not loaded; use fewer days per request",
        );
      result.quota = quotaSnapshot(response) ?? result.quota;
      offset += rows.length;
      const total = Number(response.rowCount ?? 0);
      ctx.log.info(
        { report: report.name, from: chunk.from, to: chunk.to, rows: offset, of: total },
        'GA4: page staged',
      );
      const more = rows.length > 0 && offset < total;
      // A partial chunk is never loaded: stop now and re-request the whole chunk next run.
      if (more && quotaSpent(result.quota)) throw new Ga4QuotaExhausted(quotaMessage(result.quota));
      if (!more) break;
    }
    summary.unattributedRows += await stage.unattributedRows();
    const end = new Date(Date.parse(`${addDays(chunk.to, 1)}T00:00:00Z`));
    const loaded = await ingestRelation(wh, {
      table: 'events',
      relationSql: stage.eventsSql(),
      runId: ctx.runId,
      source: `${DATA_API_SOURCE}:${report.name}`,
      maxRejectShare: config.maxRejectShare,
      // GA4 restates recent days: this chunk's days replace whatever this report loaded for them before.
      replace: {
        where: `source = '${DATA_API_SOURCE}' AND starts_with(event_id, $1) AND occurred_at >= $2 AND occurred_at < $3`,
        params: [`ga4:${report.name}:`, new Date(Date.parse(`${chunk.from}T00:00:00Z`)), end],
      },
      beforeCommit: () => markPulled(wh, config.propertyId, report.name, chunk.to, ctx.runId),
    }).catch((err: unknown) => {
      if (err instanceof IngestError)
        throw new IngestError(
          `GA4 report '${report.name}' ${chunk.from}..${chunk.to}: ${err.message}`,
          err.result,
        );
      throw err;
    });
    summary.rowsRead += loaded.rowsRead;
    summary.rowsLoaded += loaded.rowsLoaded;
    summary.rowsRejected += loaded.rowsRejected;
    ctx.log.info(
      {
        report: report.name,
        from: chunk.from,
        to: chunk.to,
        rows: loaded.rowsLoaded,
        rejected: loaded.rowsRejected,
      },
      'GA4: chunk loaded',
    );
    if (quotaSpent(result.quota)) throw new Ga4QuotaExhausted(quotaMessage(result.quota));
  } finally {
    await stage.drop();
  }
}

function reportRequest(
  config: Ga4Config,
  report: ResolvedReport,
  chunk: { from: string; to: string },
  offset: number,
): RunReportRequest {
  return {
    property: `properties/${config.propertyId}`,
    dimensions: report.dimensions.map((name) => ({ name })),
    metrics: report.metrics.map((name) => ({ name })),
    dateRanges: [{ startDate: chunk.from, endDate: chunk.to }],
    dimensionFilter: report.eventNames
      ? { filter: { fieldName: 'eventName', inListFilter: { values: report.eventNames } } }
      : null,
    // A total order over all dimensions keeps offset paging stable.
    orderBys: report.dimensions.map((dimensionName) => ({ dimension: { dimensionName } })),
    offset,
    limit: config.pageSize,
    returnPropertyQuota: true,
  };
}

function quotaSnapshot(response: RunReportResponse): Ga4QuotaSnapshot | null {
  const q = response.propertyQuota;
  if (!q) return null;
  return {
    tokensPerDayRemaining: q.tokensPerDay?.remaining ?? null,
    tokensPerHourRemaining: q.tokensPerHour?.remaining ?? null,
  };
}

function quotaSpent(q: Ga4QuotaSnapshot | null): boolean {
  return !!q && ((q.tokensPerDayRemaining ?? 1) <= 0 || (q.tokensPerHourRemaining ?? 1) <= 0);
}

function quotaMessage(q: Ga4QuotaSnapshot | null): string {
  return `property token quota spent (per day remaining ${q?.tokensPerDayRemaining}, per hour remaining ${q?.tokensPerHourRemaining})`;
}
