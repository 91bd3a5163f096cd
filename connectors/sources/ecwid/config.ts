import { z } from 'zod';
import { redact } from '../../../shared/redact.ts';

/**
 * `sources.ecwid` in retarget.config.ts. The store and token come from the environment only (ECWID_STORE_ID,
 * ECWID_TOKEN; ECWID_API_URL overrides the base URL for proxies and tests): a token never sits in a file.
 */
export const ecwidSettingsSchema = z
  .object({
    /** Re-read this many minutes before the last pull's end, so a late-committed change is never missed. */
    overlapMinutes: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 60)
      .default(60),
    /** Pages per committed chunk: a pull stopped halfway keeps every chunk committed before. */
    pagesPerCommit: z.number().int().min(1).max(1000).default(50),
    /** Client-side pace; Ecwid allows 600 requests a minute per token (lower it when another app shares the token). */
    requestsPerMinute: z.number().int().min(1).max(600).default(600),
    /** Attempts per request on 5xx or network errors, with doubling backoff from retryBaseMs. */
    maxAttempts: z.number().int().min(1).max(10).default(5),
    retryBaseMs: z.number().int().min(0).max(60_000).default(1000),
    /** Abort a chunk when rejected rows exceed this share of rows read. */
    maxRejectShare: z.number().min(0).max(1).default(0.05),
  })
  .strict();
export type EcwidSettings = z.output<typeof ecwidSettingsSchema>;

export const ECWID_ENV = ['ECWID_STORE_ID', 'ECWID_TOKEN', 'ECWID_API_URL'] as const;
export const DEFAULT_ECWID_API_URL = 'https://app.ecwid.com/api/v3';

export interface EcwidConfig extends EcwidSettings {
  storeId: string;
  token: string;
  apiUrl: string;
}

/** The Ecwid configuration, or null when neither variable is set; half of it throws naming what is missing. */
export function ecwidConfig(settings: unknown, env: NodeJS.ProcessEnv): EcwidConfig | null {
  const storeId = env.ECWID_STORE_ID?.trim();
  const token = env.ECWID_TOKEN?.trim();
  if (!storeId && !token) return null;
  if (!storeId) throw new Error('ECWID_TOKEN is set but ECWID_STORE_ID is not: set both to pull from Ecwid');
  if (!token) throw new Error('ECWID_STORE_ID is set but ECWID_TOKEN is not: set both to pull from Ecwid');
  if (!/^\d+$/.test(storeId))
    throw new Error(
      `ECWID_STORE_ID must be the store's numeric id (Ecwid admin: Settings > General), got '${storeId}'`,
    );
  const apiUrl = env.ECWID_API_URL?.trim() || DEFAULT_ECWID_API_URL;
  if (!/^https?:\/\/[^/\s]+/.test(apiUrl))
    throw new Error(`ECWID_API_URL is not an http(s) URL: '${redact(apiUrl)}'`);
  return { ...ecwidSettingsSchema.parse(settings ?? {}), storeId, token, apiUrl };
}
