import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/**
 * A local GA4 Data API (v1beta) on 127.0.0.1, served from @google-analytics/data's own protos so the real
 * BetaAnalyticsDataClient talks to it unchanged. It aggregates a list of facts the way GA4 does (group by the
 * requested dimensions, sum the metrics, drop all-zero rows), enforces item-scope compatibility, pages with
 * offset/limit, reports property quota, and can inject failures, quota exhaustion, thresholding and bad rows.
 */

const require = createRequire(import.meta.url);
const GA4_PACKAGE = require.resolve('@google-analytics/data/package.json');
const GA4_PROTOS = join(dirname(GA4_PACKAGE), 'build', 'protos');
// google-gax hides package.json behind "exports": resolve its entry point (as the client does) and cut there.
const GAX_MAIN = createRequire(GA4_PACKAGE).resolve('google-gax');
const GAX_PROTOS = join(
  GAX_MAIN.slice(0, GAX_MAIN.lastIndexOf('google-gax') + 'google-gax'.length),
  'build',
  'protos',
);

/** One group of identical events (count of them) as GA4 would have collected them. */
export interface FakeGa4Fact {
  /** YYYYMMDD in the property's time zone. */
  date: string;
  /** Two digits; defaults to '00'. */
  hour?: string;
  /** Value of the user-scoped customer dimension; absent = '(not set)'. */
  customer?: string;
  eventName: string;
  /** Item-scoped values (ecommerce events). */
  itemId?: string;
  itemCategory?: string;
  /** Value of the event-scoped item-id custom dimension (e.g. on add_to_wishlist). */
  paramItemId?: string;
  count: number;
}

export interface FakeRunReportRequest {
  property: string;
  dimensions: string[];
  metrics: string[];
  startDate: string;
  endDate: string;
  offset: number;
  limit: number;
  eventNameFilter?: string[];
  returnPropertyQuota: boolean;
}

export interface FakeGa4Options {
  propertyId?: string;
  customerDimension?: string;
  /** Event-scoped item id custom dimension, present in metadata when set. */
  itemParamDimension?: string | null;
  facts?: FakeGa4Fact[];
  /** Tokens charged per RunReport and the budgets; RESOURCE_EXHAUSTED once the daily budget is spent. */
  tokensPerRequest?: number;
  tokensPerDay?: number;
  tokensPerHour?: number;
  /**
   * Replaces fact aggregation: returns the report's total row count and a page of rows (dimension values then
   * metric values). Used to serve huge synthetic reports without materialising them.
   */
  report?: (req: FakeRunReportRequest) => { rowCount: number; rows: string[][] };
}

const ITEM_SCOPED_DIMENSIONS = new Set([
  'itemId',
  'itemName',
  'itemBrand',
  'itemVariant',
  'itemCategory',
  'itemCategory2',
  'itemCategory3',
  'itemCategory4',
  'itemCategory5',
  'itemListId',
  'itemListName',
  'itemAffiliation',
]);

/** Item-scoped metric -> the event that feeds it. */
export const FAKE_ITEM_METRICS: Record<string, string> = {
  itemsViewed: 'view_item',
  itemsAddedToCart: 'add_to_cart',
  itemsCheckedOut: 'begin_checkout',
  itemsPurchased: 'purchase',
  itemsViewedInList: 'view_item_list',
  itemsClickedInList: 'select_item',
};

const STANDARD_DIMENSIONS = ['date', 'dateHour', 'eventName', ...ITEM_SCOPED_DIMENSIONS];
const STANDARD_METRICS = ['eventCount', 'activeUsers', ...Object.keys(FAKE_ITEM_METRICS)];

interface Status {
  code: grpc.status;
  details: string;
}

export class FakeGa4Server {
  facts: FakeGa4Fact[];
  readonly propertyId: string;
  readonly customerDimension: string;
  itemParamDimension: string | null;
  /** Every RunReport request received, in order (including failed ones). */
  readonly requests: FakeRunReportRequest[] = [];
  metadataRequests = 0;
  /** Failures returned by the next RunReport calls, one per call. */
  readonly failNext: Status[] = [];
  /** When set, responses say some data was withheld by thresholding. */
  thresholded = false;
  /** Rewrites each returned row (dimension values then metric values), e.g. to corrupt one. */
  corrupt: ((row: string[]) => string[]) | null = null;
  tokensPerRequest: number;
  tokensPerDay: number;
  tokensPerHour: number;
  tokensConsumed = 0;
  private server: grpc.Server | null = null;
  private readonly customReport: FakeGa4Options['report'];

  constructor(options: FakeGa4Options = {}) {
    this.propertyId = options.propertyId ?? '123456';
    this.customerDimension = options.customerDimension ?? 'customUser:customer_id';
    this.itemParamDimension = options.itemParamDimension ?? null;
    this.facts = options.facts ?? [];
    this.tokensPerRequest = options.tokensPerRequest ?? 10;
    this.tokensPerDay = options.tokensPerDay ?? 200_000;
    this.tokensPerHour = options.tokensPerHour ?? 40_000;
    this.customReport = options.report;
  }

  /** Starts on an ephemeral port of 127.0.0.1; returns 'host:port' for GA4_API_ENDPOINT. */
  async start(): Promise<string> {
    const definition = protoLoader.loadSync('google/analytics/data/v1beta/analytics_data_api.proto', {
      includeDirs: [GA4_PROTOS, GAX_PROTOS],
      keepCase: false,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as {
      google: { analytics: { data: { v1beta: { BetaAnalyticsData: { service: grpc.ServiceDefinition } } } } };
    };
    const server = new grpc.Server();
    server.addService(pkg.google.analytics.data.v1beta.BetaAnalyticsData.service, {
      runReport: (call: grpc.ServerUnaryCall<RawRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        try {
          callback(null, this.runReport(call.request));
        } catch (err) {
          callback(err as Status, null);
        }
      },
      getMetadata: (
        call: grpc.ServerUnaryCall<{ name: string }, unknown>,
        cb: grpc.sendUnaryData<unknown>,
      ) => {
        this.metadataRequests++;
        if (call.request.name !== `properties/${this.propertyId}/metadata`)
          return cb({ code: grpc.status.NOT_FOUND, details: `unknown property ${call.request.name}` }, null);
        cb(null, this.metadata());
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    this.server = server;
    return `127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  }

  /** Restores the daily and hourly budgets (a new quota day). */
  resetQuota(): void {
    this.tokensConsumed = 0;
  }

  private metadata(): unknown {
    const custom = [{ apiName: this.customerDimension, uiName: 'Customer id', customDefinition: true }];
    if (this.itemParamDimension)
      custom.push({ apiName: this.itemParamDimension, uiName: 'Item id (event)', customDefinition: true });
    return {
      name: `properties/${this.propertyId}/metadata`,
      dimensions: [
        ...STANDARD_DIMENSIONS.map((apiName) => ({ apiName, uiName: apiName, customDefinition: false })),
        { apiName: 'customEvent:page_type', uiName: 'Page type', customDefinition: true },
        ...custom,
      ],
      metrics: STANDARD_METRICS.map((apiName) => ({ apiName, uiName: apiName, type: 'TYPE_INTEGER' })),
    };
  }

  private runReport(raw: RawRequest): unknown {
    const req = parseRequest(raw);
    this.requests.push(req);
    const failure = this.failNext.shift();
    if (failure) throw failure;
    if (req.property !== `properties/${this.propertyId}`)
      throw { code: grpc.status.NOT_FOUND, details: `unknown property ${req.property}` };
    if (this.tokensConsumed + this.tokensPerRequest > this.tokensPerDay)
      throw {
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: 'Exhausted property tokens per day quota. Consider waiting until tomorrow.',
      };
    this.checkFields(req);
    if (req.limit > 250_000) throw invalid('limit must not exceed 250000');
    this.tokensConsumed += this.tokensPerRequest;
    const { rowCount, rows } = this.customReport ? this.customReport(req) : this.aggregate(req);
    const nDims = req.dimensions.length;
    const out = rows.map((row) => {
      const r = this.corrupt ? this.corrupt(row) : row;
      return {
        dimensionValues: r.slice(0, nDims).map((value) => ({ value })),
        metricValues: r.slice(nDims).map((value) => ({ value })),
      };
    });
    const remainingDay = this.tokensPerDay - this.tokensConsumed;
    const remainingHour = this.tokensPerHour - this.tokensConsumed;
    return {
      dimensionHeaders: req.dimensions.map((name) => ({ name })),
      metricHeaders: req.metrics.map((name) => ({ name, type: 'TYPE_INTEGER' })),
      rows: out,
      rowCount,
      metadata: { currencyCode: 'USD', timeZone: 'UTC', subjectToThresholding: this.thresholded },
      propertyQuota: req.returnPropertyQuota
        ? {
            tokensPerDay: { consumed: this.tokensPerRequest, remaining: remainingDay },
            tokensPerHour: { consumed: this.tokensPerRequest, remaining: Math.max(0, remainingHour) },
            concurrentRequests: { consumed: 0, remaining: 10 },
          }
        : null,
      kind: 'analyticsData#runReport',
    };
  }

  private checkFields(req: FakeRunReportRequest): void {
    const metadata = this.metadata() as { dimensions: { apiName: string }[]; metrics: { apiName: string }[] };
    const dims = new Set(metadata.dimensions.map((d) => d.apiName));
    const mets = new Set(metadata.metrics.map((m) => m.apiName));
    for (const d of req.dimensions) if (!dims.has(d)) throw invalid(`Field ${d} is not a valid dimension.`);
    for (const m of req.metrics) if (!mets.has(m)) throw invalid(`Field ${m} is not a valid metric.`);
    if (req.dimensions.length > 9 || req.metrics.length > 10)
      throw invalid('Too many dimensions or metrics.');
    const itemDims = req.dimensions.filter((d) => ITEM_SCOPED_DIMENSIONS.has(d));
    const eventMetrics = req.metrics.filter((m) => !(m in FAKE_ITEM_METRICS));
    if (itemDims.length && eventMetrics.length)
      throw invalid(
        `Please remove ${eventMetrics.join(', ')} to make the request compatible. ` +
          `The request's dimensions & metrics are incompatible.`,
      );
  }

  private aggregate(req: FakeRunReportRequest): { rowCount: number; rows: string[][] } {
    const from = req.startDate.replaceAll('-', '');
    const to = req.endDate.replaceAll('-', '');
    const groups = new Map<string, { dims: string[]; sums: number[] }>();
    for (const f of this.facts) {
      if (f.date < from || f.date > to) continue;
      if (req.eventNameFilter && !req.eventNameFilter.includes(f.eventName)) continue;
      const dims = req.dimensions.map((d) => this.dimensionValue(f, d));
      const values = req.metrics.map((m) =>
        m === 'eventCount' ? f.count : FAKE_ITEM_METRICS[m] === f.eventName && f.itemId ? f.count : 0,
      );
      const key = dims.join('\u0001');
      const g = groups.get(key);
      if (g) g.sums = g.sums.map((s, i) => s + (values[i] ?? 0));
      else groups.set(key, { dims, sums: values });
    }
    const all = [...groups.values()]
      .filter((g) => g.sums.some((s) => s !== 0))
      .sort((a, b) => (a.dims.join('\u0001') < b.dims.join('\u0001') ? -1 : 1))
      .map((g) => [...g.dims, ...g.sums.map(String)]);
    return { rowCount: all.length, rows: all.slice(req.offset, req.offset + (req.limit || 10_000)) };
  }

  private dimensionValue(f: FakeGa4Fact, d: string): string {
    const notSet = '(not set)';
    if (d === 'date') return f.date;
    if (d === 'dateHour') return f.date + (f.hour ?? '00');
    if (d === 'eventName') return f.eventName;
    if (d === 'itemId') return f.itemId ?? notSet;
    if (d === 'itemCategory') return f.itemCategory ?? notSet;
    if (d === this.customerDimension) return f.customer ?? notSet;
    if (d === this.itemParamDimension) return f.paramItemId ?? notSet;
    return notSet;
  }
}

/** The request as proto-loader decodes it (camelCase, int64 as strings). */
interface RawRequest {
  property: string;
  dimensions: { name: string }[];
  metrics: { name: string }[];
  dateRanges: { startDate: string; endDate: string }[];
  offset: string;
  limit: string;
  returnPropertyQuota: boolean;
  dimensionFilter?: RawFilterExpression | null;
}

interface RawFilterExpression {
  filter?: {
    fieldName: string;
    inListFilter?: { values: string[] } | null;
    stringFilter?: { value: string } | null;
  } | null;
  andGroup?: { expressions: RawFilterExpression[] } | null;
}

function parseRequest(raw: RawRequest): FakeRunReportRequest {
  const range = raw.dateRanges[0];
  if (!range) throw invalid('dateRanges is required');
  return {
    property: raw.property,
    dimensions: raw.dimensions.map((d) => d.name),
    metrics: raw.metrics.map((m) => m.name),
    startDate: range.startDate,
    endDate: range.endDate,
    offset: Number(raw.offset || 0),
    limit: Number(raw.limit || 0),
    eventNameFilter: eventNameFilter(raw.dimensionFilter),
    returnPropertyQuota: raw.returnPropertyQuota,
  };
}

/** Supports the filters the connector sends: eventName in a list (or equal to a value). */
function eventNameFilter(expr: RawFilterExpression | null | undefined): string[] | undefined {
  if (!expr) return undefined;
  const f = expr.filter;
  if (f && f.fieldName === 'eventName') {
    if (f.inListFilter) return f.inListFilter.values;
    if (f.stringFilter) return [f.stringFilter.value];
  }
  if (f) throw invalid(`fake server: unsupported filter on ${f.fieldName}`);
  return undefined;
}

function invalid(details: string): Status {
  return { code: grpc.status.INVALID_ARGUMENT, details };
}
