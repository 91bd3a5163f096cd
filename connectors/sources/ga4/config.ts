import { z } from 'zod';

/**
 * GA4 source configuration: environment variables for the usual case, or the same shape in retarget.config.ts.
 * Report definitions say which GA4 report fills which `events` columns; merchants may add or change them.
 */

/** A GA4 API name: standard (`itemId`) or custom (`customUser:customer_id`, `customEvent:item_id`). */
const apiName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*(:[A-Za-z0-9_]+)?$/, 'not a GA4 API name');
const eventName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,39}$/, 'not a GA4 event name');

/** Use the event-scoped item-id custom dimension discovered with GetMetadata (or configured). */
export const ITEM_PARAM_DIMENSION = 'auto:item_param';

const reportBase = {
  /** Unique; names the report in state, logs and event ids. */
  name: z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'use lower_snake_case, at most 40 characters'),
  /** `date`: occurred_at = the day at 00:00 UTC; `dateHour`: the hour. */
  time: z.enum(['date', 'dateHour']).default('date'),
  /** Overrides the property-wide customer dimension for this report. */
  customerDimension: apiName.optional(),
  /** Dimension carrying the product id, or `auto:item_param` (dropped when the property has none). */
  productDimension: z.union([z.literal(ITEM_PARAM_DIMENSION), apiName]).optional(),
  categoryDimension: apiName.optional(),
};

/** One `events` row per metric: each item-scoped metric counts one event (itemsViewed -> view_item). */
const itemsReport = z
  .object({
    ...reportBase,
    kind: z.literal('items'),
    metrics: z
      .record(apiName, eventName)
      .refine((m) => Object.keys(m).length >= 1 && Object.keys(m).length <= 10, '1 to 10 metrics'),
  })
  .strict();

/** Event name from the `eventName` dimension, count from one (event-scoped) metric. */
const eventsReport = z
  .object({
    ...reportBase,
    kind: z.literal('events'),
    eventNames: z.array(eventName).min(1),
    countMetric: apiName.default('eventCount'),
  })
  .strict();

export const ga4ReportSchema = z.discriminatedUnion('kind', [itemsReport, eventsReport]);
export type Ga4ReportDefinition = z.output<typeof ga4ReportSchema>;
export type Ga4ReportInput = z.input<typeof ga4ReportSchema>;

/**
 * Shipped reports. Item-scoped dimensions only combine with item-scoped metrics, so ecommerce item events come
 * from one metric per event; GA4 has no item-scoped wishlist metric, so wishlist adds come from eventCount.
 */
export const DEFAULT_GA4_REPORTS: Ga4ReportInput[] = [
  {
    name: 'ecommerce_items',
    kind: 'items',
    productDimension: 'itemId',
    categoryDimension: 'itemCategory',
    metrics: {
      itemsViewed: 'view_item',
      itemsAddedToCart: 'add_to_cart',
      itemsCheckedOut: 'begin_checkout',
      itemsPurchased: 'purchase',
    },
  },
  {
    name: 'wishlists',
    kind: 'events',
    eventNames: ['add_to_wishlist'],
    countMetric: 'eventCount',
    productDimension: ITEM_PARAM_DIMENSION,
  },
];

export const ga4ConfigSchema = z
  .object({
    /** Numeric GA4 property id ('properties/123' accepted). */
    propertyId: z
      .string()
      .transform((s) => s.trim().replace(/^properties\//, ''))
      .pipe(z.string().regex(/^\d+$/, 'GA4 property id must be numeric')),
    /** host:port of another Data API server (tests, proxies). */
    endpoint: z
      .string()
      .regex(/^[^:\s]+:\d+$/, 'expected host:port')
      .optional(),
    /** Plaintext to `endpoint`, no Google credentials: local fakes only. */
    insecure: z.boolean().default(false),
    /** Service account key file; otherwise Application Default Credentials. */
    credentialsFile: z.string().optional(),
    /** User-scoped custom dimension holding the store's customer id. */
    customerDimension: apiName.default('customUser:customer_id'),
    /** Event-scoped item id dimension for wishlists: discovered ('auto'), off ('none'), or an API name. */
    wishlistItemDimension: z.union([z.literal('auto'), z.literal('none'), apiName]).default('auto'),
    backfillDays: z.number().int().min(1).max(3650).default(90),
    trailingDays: z.number().int().min(0).max(30).default(3),
    /** Rows per request (GA4 allows up to 250,000); a page is held in memory while staged (~5 KB per row). */
    pageSize: z.number().int().min(1).max(250_000).default(100_000),
    /** Days per report request; each chunk of days is replaced atomically. */
    daysPerRequest: z.number().int().min(1).max(366).default(7),
    retries: z.number().int().min(0).max(20).default(5),
    retryMinTimeoutMs: z.number().int().min(0).default(1000),
    retryMaxTimeoutMs: z.number().int().min(0).default(30_000),
    requestTimeoutMs: z.number().int().min(1000).default(120_000),
    /** Abort a chunk when more than this share of its rows are malformed. */
    maxRejectShare: z.number().min(0).max(1).default(0.05),
    reports: z.array(ga4ReportSchema).min(1).prefault(DEFAULT_GA4_REPORTS),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.insecure && !c.endpoint)
      ctx.addIssue({ code: 'custom', path: ['endpoint'], message: 'insecure mode needs an endpoint' });
    const names = c.reports.map((r) => r.name);
    for (const dup of names.filter((n, i) => names.indexOf(n) !== i))
      ctx.addIssue({ code: 'custom', path: ['reports'], message: `duplicate report name '${dup}'` });
  });

export type Ga4Config = z.output<typeof ga4ConfigSchema>;
export type Ga4ConfigInput = z.input<typeof ga4ConfigSchema>;

export class Ga4ConfigError extends Error {
  override name = 'Ga4ConfigError';
}

/** Validates a GA4 config (e.g. from retarget.config.ts); the error names each bad field. */
export function parseGa4Config(input: Ga4ConfigInput): Ga4Config {
  const parsed = ga4ConfigSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${['ga4', ...i.path].join('.')}: ${i.message}`);
  throw new Ga4ConfigError(`invalid GA4 configuration: ${issues.join('; ')}`);
}

type Env = Record<string, string | undefined>;

/** The GA4 settings present in the environment (unset variables are left out, so config values apply). */
function envFields(env: Env): Partial<Ga4ConfigInput> {
  const int = (name: string): number | undefined => {
    const v = env[name]?.trim();
    if (!v) return undefined;
    if (!/^\d+$/.test(v)) throw new Ga4ConfigError(`${name} must be a whole number, got '${v}'`);
    return Number(v);
  };
  const text = (name: string): string | undefined => env[name]?.trim() || undefined;
  const insecure = text('GA4_INSECURE');
  const fields: Partial<Ga4ConfigInput> = {
    propertyId: text('GA4_PROPERTY_ID'),
    endpoint: text('GA4_API_ENDPOINT'),
    insecure: insecure === undefined ? undefined : ['1', 'true', 'yes'].includes(insecure.toLowerCase()),
    credentialsFile: text('GOOGLE_APPLICATION_CREDENTIALS'),
    customerDimension: text('GA4_CUSTOMER_DIMENSION'),
    wishlistItemDimension: text('GA4_WISHLIST_ITEM_DIMENSION'),
    backfillDays: int('GA4_BACKFILL_DAYS'),
    trailingDays: int('GA4_TRAILING_DAYS'),
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

/**
 * The Data API configuration from the environment, or undefined when GA4_PROPERTY_ID is unset.
 * GA4_PROPERTY_ID, GA4_API_ENDPOINT (host:port), GA4_INSECURE=1, GOOGLE_APPLICATION_CREDENTIALS,
 * GA4_CUSTOMER_DIMENSION, GA4_WISHLIST_ITEM_DIMENSION, GA4_BACKFILL_DAYS, GA4_TRAILING_DAYS.
 */
export function ga4ConfigFromEnv(env: Env = process.env): Ga4Config | undefined {
  const fields = envFields(env);
  return fields.propertyId ? parseGa4Config(fields as Ga4ConfigInput) : undefined;
}

/** BigQuery export files from the environment: GA4_EXPORT_PATHS (comma-separated paths or globs). */
export function ga4ExportPathsFromEnv(env: Env = process.env): string[] | undefined {
  const paths = (env.GA4_EXPORT_PATHS ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  return paths.length ? paths : undefined;
}

export const ga4ExportSchema = z
  .object({
    /** Export files, folders or globs. */
    paths: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    trailingDays: z.number().int().min(0).max(30).default(3),
    eventNames: z.array(eventName).min(1).optional(),
    maxRejectShare: z.number().min(0).max(1).default(0.05),
  })
  .strict();
export type Ga4ExportConfig = z.output<typeof ga4ExportSchema>;

export interface Ga4Sources {
  /** Set when a property id is configured (config `sources.ga4.propertyId` or GA4_PROPERTY_ID). */
  dataApi?: Ga4Config;
  /** Set when export paths are configured (config `sources.ga4.export.paths` or GA4_EXPORT_PATHS). */
  export?: Ga4ExportConfig;
}

/**
 * Both GA4 paths from the `sources.ga4` section of retarget.config.ts (the Data API fields at its top level,
 * the export files under `export`) and the environment, which wins where set. Throws Ga4ConfigError naming
 * each bad field; returns {} when GA4 is not configured at all.
 */
export function ga4SourcesFromConfig(
  section: Record<string, unknown> | undefined,
  env: Env = process.env,
): Ga4Sources {
  const { export: exportSection, ...apiSection } = section ?? {};
  const sources: Ga4Sources = {};
  const api = { ...apiSection, ...envFields(env) };
  // Any Data API setting without a property id is an error (a misspelt propertyId must not switch GA4 off quietly).
  if (api.propertyId !== undefined || Object.keys(apiSection).length > 0)
    sources.dataApi = parseGa4Config(api as Ga4ConfigInput);
  const envPaths = ga4ExportPathsFromEnv(env);
  const exp = {
    ...((exportSection as Record<string, unknown> | undefined) ?? {}),
    ...(envPaths && { paths: envPaths }),
  };
  if (exportSection !== undefined || envPaths) {
    const parsed = ga4ExportSchema.safeParse(exp);
    if (!parsed.success)
      throw new Ga4ConfigError(
        `invalid GA4 export configuration: ${parsed.error.issues
          .map((i) => `${['ga4', 'export', ...i.path].join('.')}: ${i.message}`)
          .join('; ')}`,
      );
    sources.export = parsed.data;
  }
  return sources;
}
