import { z } from 'zod';
import { batchSettingsFields, type RetrySettings, retrySettingsSchema } from '../settings.ts';

/**
 * Configuration of the Google Ads destination (Customer Match through the Data Manager API). Credentials come from
 * Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS), never from retarget.config.ts.
 */
export type GoogleAdsRetry = RetrySettings;

export interface GoogleAdsConfig {
  /** Operating account (Google Ads customer id), digits only. */
  customerId: string;
  /** Manager account sent as the login account, digits only. */
  loginCustomerId?: string;
  /** host:port overriding datamanager.googleapis.com:443 (DATA_MANAGER_ENDPOINT). */
  endpoint?: string;
  /** Plaintext gRPC, no credentials (DATA_MANAGER_INSECURE=1): local fakes and proxies only. */
  insecure: boolean;
  /** The merchant accepted Google's Customer Match terms: without it nothing is sent. */
  termsAccepted: boolean;
  /** Prefix of the user list display names created on Google Ads. */
  namePrefix: string;
  /** Membership duration of created lists, in whole days (Google's maximum is 540). */
  membershipDays: number;
  /** Hold an audience whose new size is below (1 - maxShrink) of its last synced size. */
  maxShrink: number;
  /** Members per request (Google accepts at most 10,000). */
  batchSize: number;
  /** Country (ISO alpha-2) assumed for phone numbers of customers with no country. */
  defaultCountry?: string;
  /** Diagnostics are asked for requests at least this old (Google: wait 30 minutes). */
  statusDelayMs: number;
  /** A lock older than this is considered abandoned by a crashed run. */
  lockTtlMs: number;
  retry: GoogleAdsRetry;
  /** Waits; injectable so tests observe backoff without sleeping. */
  sleep?: (ms: number) => Promise<void>;
}

export const GOOGLE_ADS_DESTINATION = 'google_ads';
export const GOOGLE_ADS_MAX_MEMBERS = 10_000;
const MAX_MEMBERSHIP_DAYS = 540;

const defaultRetry: GoogleAdsRetry = {
  retries: 8,
  minTimeoutMs: 2_000,
  maxTimeoutMs: 120_000,
  maxRetryTimeMs: 20 * 60_000,
};

/** Settings accepted in retarget.config.ts (`destinations.google_ads`). */
export const googleAdsSettingsSchema = z
  .object({
    customerId: z.union([z.string(), z.number()]).optional(),
    loginCustomerId: z.union([z.string(), z.number()]).optional(),
    customerMatchTerms: z.literal('accepted').optional(),
    ...batchSettingsFields,
    membershipDays: z.number().int().min(1).max(MAX_MEMBERSHIP_DAYS).optional(),
    batchSize: z.number().int().min(1).max(GOOGLE_ADS_MAX_MEMBERS).optional(),
    retry: retrySettingsSchema.partial().strict().optional(),
  })
  .strict();

export type GoogleAdsSettings = z.infer<typeof googleAdsSettingsSchema>;
export type GoogleAdsConfigInput = Pick<GoogleAdsConfig, 'customerId'> &
  Partial<Omit<GoogleAdsConfig, 'retry'>> & { retry?: Partial<GoogleAdsRetry> };

/** Customer ids are written 123-456-7890 in the Google Ads UI; the API wants the digits. */
function customerDigits(value: string | undefined, name: string): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const digits = value.trim().replace(/-/g, '');
  if (!/^\d{10}$/.test(digits))
    throw new Error(`google-ads: ${name} must be a 10-digit customer id, dashes allowed (got "${value}")`);
  return digits;
}

/** Fills defaults and checks values; throws naming the bad setting. */
export function resolveGoogleAdsConfig(input: GoogleAdsConfigInput): GoogleAdsConfig {
  const customerId = customerDigits(input.customerId, 'GOOGLE_ADS_CUSTOMER_ID');
  if (!customerId) throw new Error('google-ads: GOOGLE_ADS_CUSTOMER_ID is empty');
  const endpoint = input.endpoint?.trim() || undefined;
  if (endpoint && !/^[^\s:/]+:\d+$/.test(endpoint))
    throw new Error(`google-ads: DATA_MANAGER_ENDPOINT must be host:port (got "${endpoint}")`);
  const membershipDays = input.membershipDays ?? MAX_MEMBERSHIP_DAYS;
  if (!(Number.isInteger(membershipDays) && membershipDays >= 1 && membershipDays <= MAX_MEMBERSHIP_DAYS))
    throw new Error(
      `google-ads: membershipDays must be a whole number of days in [1, 540] (got ${membershipDays})`,
    );
  const maxShrink = input.maxShrink ?? 0.5;
  if (!(maxShrink >= 0 && maxShrink <= 1))
    throw new Error(`google-ads: maxShrink must be within [0, 1] (got ${maxShrink})`);
  const batchSize = input.batchSize ?? GOOGLE_ADS_MAX_MEMBERS;
  if (!(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= GOOGLE_ADS_MAX_MEMBERS))
    throw new Error(`google-ads: batchSize must be an integer in [1, 10000] (got ${batchSize})`);
  const defaultCountry = input.defaultCountry?.trim().toLowerCase() || undefined;
  if (defaultCountry && !/^[a-z]{2}$/.test(defaultCountry))
    throw new Error(
      `google-ads: defaultCountry must be an ISO 3166-1 alpha-2 code (got "${input.defaultCountry}")`,
    );
  return {
    customerId,
    loginCustomerId: customerDigits(input.loginCustomerId, 'GOOGLE_ADS_LOGIN_CUSTOMER_ID'),
    endpoint,
    insecure: input.insecure ?? false,
    termsAccepted: input.termsAccepted ?? false,
    namePrefix: input.namePrefix ?? 'retarget: ',
    membershipDays,
    maxShrink,
    batchSize,
    defaultCountry,
    statusDelayMs: input.statusDelayMs ?? 30 * 60_000,
    lockTtlMs: input.lockTtlMs ?? 2 * 60 * 60_000,
    retry: { ...defaultRetry, ...input.retry },
    sleep: input.sleep,
  };
}

/**
 * Google Ads is enabled when GOOGLE_ADS_CUSTOMER_ID is set (or `customerId` in retarget.config.ts
 * `destinations.google_ads`). Optional: GOOGLE_ADS_LOGIN_CUSTOMER_ID, GOOGLE_ADS_CUSTOMER_MATCH_TERMS=accepted,
 * DATA_MANAGER_ENDPOINT=host:port, DATA_MANAGER_INSECURE=1. The environment wins over the file.
 */
export function googleAdsConfigFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  settings?: unknown,
): GoogleAdsConfig | undefined {
  const parsed = googleAdsSettingsSchema.safeParse(settings ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `.${issue.path.join('.')}` : '';
    throw new Error(`retarget.config.ts destinations.google_ads${where}: ${issue?.message ?? 'invalid'}`);
  }
  const file = parsed.data;
  const customerId = env.GOOGLE_ADS_CUSTOMER_ID?.trim() || (file.customerId ? String(file.customerId) : '');
  if (!customerId) return undefined;
  const terms = env.GOOGLE_ADS_CUSTOMER_MATCH_TERMS?.trim();
  if (terms && terms !== 'accepted')
    throw new Error(`GOOGLE_ADS_CUSTOMER_MATCH_TERMS must be "accepted" when set (got "${terms}")`);
  const login = env.GOOGLE_ADS_LOGIN_CUSTOMER_ID?.trim() || file.loginCustomerId;
  return resolveGoogleAdsConfig({
    ...file,
    customerId,
    loginCustomerId: login === undefined ? undefined : String(login),
    endpoint: env.DATA_MANAGER_ENDPOINT,
    insecure: env.DATA_MANAGER_INSECURE === '1',
    termsAccepted: terms === 'accepted' || file.customerMatchTerms === 'accepted',
  });
}
