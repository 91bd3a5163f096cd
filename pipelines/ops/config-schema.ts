import { z } from 'zod';

/** Schemas for the `schedule` and `alerts` keys of retarget.config.ts (see docs/operations.md). */

const cronExpression = z
  .string()
  .trim()
  .refine((v) => [5, 6].includes(v.split(/\s+/).length), {
    message: 'a cron expression has 5 fields (minute hour day month weekday) or 6 (with seconds first)',
  });

const timeZone = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a known IANA time zone (e.g. UTC, Europe/Paris)' },
);

export const scheduleConfigSchema = z
  .object({
    /** The full run: every source and destination that has no schedule of its own. */
    cron: cronExpression.default('0 3 * * *'),
    timezone: timeZone.default('UTC'),
    /** Load-only jobs per source name, e.g. { ga4: '0 * * * *' } (GA4 hourly). */
    sources: z.record(z.string(), cronExpression).default({}),
    /** Evaluate-and-sync jobs per destination name, e.g. { meta: '30 3 * * *' }. */
    destinations: z.record(z.string(), cronExpression).default({}),
  })
  .strict();

export const alertsConfigSchema = z
  .object({
    /** Webhook URL. Prefer webhookUrlEnv: such URLs usually embed a secret. */
    webhookUrl: z.url().optional(),
    /** Environment variable holding the webhook URL (used when set). */
    webhookUrlEnv: z.string().min(1).default('RETARGET_ALERT_WEBHOOK_URL'),
    /** Shell command run with the alert JSON on stdin. */
    command: z.string().min(1).optional(),
    timeoutSeconds: z.number().positive().default(10),
    onFailure: z.boolean().default(true),
    /** Audiences held by a destination's shrink guard. */
    onHeld: z.boolean().default(true),
    /** Alert when a table's rejected rows reach minRows and exceed share of rows read or spikeFactor x recent average. */
    rejectedRows: z
      .union([
        z.literal(false),
        z
          .object({
            share: z.number().min(0).max(1).default(0.01),
            spikeFactor: z.number().min(1).default(3),
            minRows: z.number().int().min(1).default(10),
          })
          .strict(),
      ])
      .default({ share: 0.01, spikeFactor: 3, minRows: 10 }),
  })
  .strict();

export type ScheduleConfig = z.output<typeof scheduleConfigSchema>;
export type AlertsConfig = z.output<typeof alertsConfigSchema>;

export const DEFAULT_SCHEDULE: ScheduleConfig = scheduleConfigSchema.parse({});
export const DEFAULT_ALERTS: AlertsConfig = alertsConfigSchema.parse({});
