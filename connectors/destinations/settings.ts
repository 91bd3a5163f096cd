import { z } from 'zod';

/**
 * Settings every batch destination accepts under `destinations.<name>` in retarget.config.ts, defined once so
 * they mean and validate the same everywhere; each destination adds its own next to them.
 */

/** The backoff a destination's client applies to transient errors (the client of each vendor knows which). */
export interface RetrySettings {
  /** Retries per request after the first attempt. */
  retries: number;
  /** First backoff delay; doubles each retry, randomised (jitter) up to 2x. */
  minTimeoutMs: number;
  maxTimeoutMs: number;
  /** Total time one request may spend retrying, waits included (the retry budget). */
  maxRetryTimeMs: number;
}

export const retrySettingsSchema = z.object({
  retries: z.number().int().min(0),
  minTimeoutMs: z.number().min(0),
  maxTimeoutMs: z.number().min(0),
  maxRetryTimeMs: z.number().min(0),
});

/** Spread into a destination's settings object. */
export const batchSettingsFields = {
  /** Prefix of the audience names created at the platform. */
  namePrefix: z.string().optional(),
  /** Largest share of an audience one sync may remove before it is held (privacy removals never count). */
  maxShrink: z.number().min(0).max(1).optional(),
  /** Country assumed for phone numbers and addresses without one (ISO 3166-1 alpha-2). */
  defaultCountry: z.string().optional(),
  /** How long a per-audience sync lock lives before another run may take it over. */
  lockTtlMs: z.number().int().positive().optional(),
};
