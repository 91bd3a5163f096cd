import { z } from 'zod';
import { batchSettingsFields, type RetrySettings, retrySettingsSchema } from '../settings.ts';

/** Configuration of the Meta Custom Audiences destination. Secrets come from the environment only. */
export interface MetaRetryOptions extends RetrySettings {
  /** Longest wait honoured from X-Business-Use-Case-Usage before giving up on the audience for this run. */
  maxRegainWaitMs: number;
}

export interface MetaConfig {
  accessToken: string;
  /** Ad account id without the `act_` prefix. */
  adAccountId: string;
  /** Graph host, e.g. https://graph.facebook.com (or a proxy / local fake). */
  graphUrl: string;
  /** Prefix of the Custom Audience names created on Meta, e.g. "retarget: ". */
  namePrefix: string;
  /** Hold an audience whose new size is below (1 - maxShrink) of its last synced size. */
  maxShrink: number;
  /** Rows per request (Meta accepts at most 10,000). */
  batchSize: number;
  /** Longest URL sent: DELETE requests carry their payload in the query string. */
  maxUrlBytes: number;
  /** Country (ISO alpha-2) assumed for phone numbers of customers with no country; none by default. */
  defaultCountry?: string;
  /** A lock older than this is considered abandoned by a crashed run. */
  lockTtlMs: number;
  retry: MetaRetryOptions;
  /** Waits; injectable so tests can observe honoured waits without sleeping. */
  sleep?: (ms: number) => Promise<void>;
}

export const META_DESTINATION = 'meta';
export const META_MAX_ROWS = 10_000;

export const defaultRetry: MetaRetryOptions = {
  retries: 8,
  minTimeoutMs: 2_000,
  maxTimeoutMs: 120_000,
  maxRetryTimeMs: 30 * 60_000,
  maxRegainWaitMs: 15 * 60_000,
};

export type MetaConfigInput = Pick<MetaConfig, 'accessToken' | 'adAccountId'> &
  Partial<Omit<MetaConfig, 'retry'>> & { retry?: Partial<MetaRetryOptions> };

/** Fills defaults and checks values; throws naming the bad setting. */
export function resolveMetaConfig(input: MetaConfigInput): MetaConfig {
  const accessToken = input.accessToken?.trim();
  if (!accessToken) throw new Error('meta: META_ACCESS_TOKEN is empty');
  const adAccountId = String(input.adAccountId ?? '')
    .trim()
    .replace(/^act_/, '');
  if (!/^\d+$/.test(adAccountId)) {
    throw new Error(
      `meta: META_AD_ACCOUNT_ID must be digits, with or without "act_" (got "${input.adAccountId}")`,
    );
  }
  const graphUrl = (input.graphUrl ?? 'https://graph.facebook.com').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(graphUrl))
    throw new Error(`meta: META_GRAPH_URL is not a URL: "${graphUrl}"`);
  const maxShrink = input.maxShrink ?? 0.5;
  if (!(maxShrink >= 0 && maxShrink <= 1))
    throw new Error(`meta: maxShrink must be within [0, 1] (got ${maxShrink})`);
  const batchSize = input.batchSize ?? META_MAX_ROWS;
  if (!(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= META_MAX_ROWS)) {
    throw new Error(`meta: batchSize must be an integer in [1, ${META_MAX_ROWS}] (got ${batchSize})`);
  }
  const maxUrlBytes = input.maxUrlBytes ?? 32_000;
  if (!(maxUrlBytes >= 2_000))
    throw new Error(`meta: maxUrlBytes must be at least 2000 (got ${maxUrlBytes})`);
  const defaultCountry = input.defaultCountry?.trim().toLowerCase() || undefined;
  if (defaultCountry && !/^[a-z]{2}$/.test(defaultCountry)) {
    throw new Error(
      `meta: defaultCountry must be an ISO 3166-1 alpha-2 code (got "${input.defaultCountry}")`,
    );
  }
  return {
    accessToken,
    adAccountId,
    graphUrl,
    namePrefix: input.namePrefix ?? 'retarget: ',
    maxShrink,
    batchSize,
    maxUrlBytes,
    defaultCountry,
    lockTtlMs: input.lockTtlMs ?? 2 * 60 * 60_000,
    retry: { ...defaultRetry, ...input.retry },
    sleep: input.sleep,
  };
}

/** Settings accepted in retarget.config.ts (`destinations.meta`). The token is a secret: environment only. */
export const metaSettingsSchema = z
  .object({
    /** Never in the file: said plainly instead of "unknown key". */
    accessToken: z.never({ error: 'put the access token in META_ACCESS_TOKEN, not the file' }).optional(),
    adAccountId: z.union([z.string(), z.number()]).optional(),
    graphUrl: z.string().optional(),
    ...batchSettingsFields,
    batchSize: z.number().int().min(1).max(META_MAX_ROWS).optional(),
    maxUrlBytes: z.number().int().min(2_000).optional(),
    retry: retrySettingsSchema
      .extend({ maxRegainWaitMs: z.number().min(0) })
      .partial()
      .strict()
      .optional(),
  })
  .strict();

export type MetaSettings = z.infer<typeof metaSettingsSchema>;

/**
 * Meta is enabled when META_ACCESS_TOKEN and META_AD_ACCOUNT_ID are set (the account id may instead come from
 * retarget.config.ts `destinations.meta.adAccountId`); META_GRAPH_URL overrides the Graph host.
 * Optional environment: META_AUDIENCE_PREFIX, META_MAX_SHRINK, META_DEFAULT_COUNTRY.
 * `settings` are the non-secret options from retarget.config.ts; the environment wins for the three META_ names.
 */
export function metaConfigFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  settings?: Record<string, unknown>,
): MetaConfig | undefined {
  if (settings && 'accessToken' in settings) {
    throw new Error(
      'retarget.config.ts destinations.meta: put the access token in META_ACCESS_TOKEN, not the file',
    );
  }
  const parsed = metaSettingsSchema.safeParse(settings ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `.${issue.path.join('.')}` : '';
    throw new Error(`retarget.config.ts destinations.meta${where}: ${issue?.message ?? 'invalid'}`);
  }
  const file = parsed.data;
  const accessToken = env.META_ACCESS_TOKEN?.trim();
  const adAccountId =
    env.META_AD_ACCOUNT_ID?.trim() || (file.adAccountId ? String(file.adAccountId) : undefined);
  if (!accessToken || !adAccountId) {
    if (settings && Object.keys(settings).length > 0 && adAccountId && !accessToken) {
      throw new Error('Meta is configured in retarget.config.ts but META_ACCESS_TOKEN is not set');
    }
    // Half a configuration is a mistake, not a wish to skip Meta: say so rather than silently not syncing.
    if (accessToken && !adAccountId)
      throw new Error('META_ACCESS_TOKEN is set but META_AD_ACCOUNT_ID is not');
    if (!accessToken && env.META_AD_ACCOUNT_ID?.trim()) {
      throw new Error('META_AD_ACCOUNT_ID is set but META_ACCESS_TOKEN is not');
    }
    return undefined;
  }
  const envShrink = env.META_MAX_SHRINK ? Number(env.META_MAX_SHRINK) : undefined;
  return resolveMetaConfig({
    ...file,
    accessToken,
    adAccountId,
    graphUrl: env.META_GRAPH_URL?.trim() || file.graphUrl,
    namePrefix: env.META_AUDIENCE_PREFIX ?? file.namePrefix,
    maxShrink: envShrink ?? file.maxShrink,
    defaultCountry: env.META_DEFAULT_COUNTRY ?? file.defaultCountry,
  });
}
