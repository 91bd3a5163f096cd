import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import {
  alertsConfigSchema,
  DEFAULT_ALERTS,
  DEFAULT_SCHEDULE,
  scheduleConfigSchema,
} from '../pipelines/ops/config-schema.ts';

/**
 * retarget.config.ts: typed, validated configuration. Secrets never live here: they come from the environment
 * (META_ACCESS_TOKEN, GOOGLE_APPLICATION_CREDENTIALS, ...).
 */
export const configSchema = z
  .object({
    /** DuckDB file. */
    database: z.string().min(1).default('data/retarget.duckdb'),
    /** DuckDB memory_limit, e.g. '2GB'. */
    memoryLimit: z.string().optional(),
    sources: z
      .object({
        files: z
          .union([
            z.literal(false),
            z.object({
              dir: z.string().min(1),
              /** Abort a table's load when rejected rows exceed this share of rows read. */
              maxRejectShare: z.number().min(0).max(1).default(0.05),
            }),
          ])
          .default({ dir: 'data/demo', maxRejectShare: 0.05 }),
        /** GA4 settings; see docs/ga4.md. Validated by the GA4 source. */
        ga4: z.record(z.string(), z.unknown()).optional(),
      })
      .default({ files: { dir: 'data/demo', maxRejectShare: 0.05 } }),
    destinations: z
      .object({
        /** Audience CSV files: the default destination. */
        csv: z
          .union([z.literal(false), z.object({ dir: z.string().min(1) })])
          .default({ dir: 'data/audiences' }),
        /** Meta Custom Audiences settings; see docs/meta.md. Validated by the Meta destination. */
        meta: z.record(z.string(), z.unknown()).optional(),
      })
      .default({ csv: { dir: 'data/audiences' } }),
    segments: z
      .object({
        /** Folder of segment modules. */
        dir: z.string().min(1).default('segments'),
        /** Segment names not evaluated (their audiences empty out, guarded per destination). */
        disabled: z.array(z.string()).default([]),
      })
      .default({ dir: 'segments', disabled: [] }),
    /** `retarget schedule`; see docs/operations.md. */
    schedule: scheduleConfigSchema.default(DEFAULT_SCHEDULE),
    /** Failure alerts; see docs/operations.md. */
    alerts: alertsConfigSchema.default(DEFAULT_ALERTS),
  })
  .strict();

export type RetargetConfigInput = z.input<typeof configSchema>;
export type RetargetConfig = z.output<typeof configSchema>;

/** Typed helper for retarget.config.ts. */
export function defineConfig(config: RetargetConfigInput): RetargetConfigInput {
  return config;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const DEFAULT_CONFIG_FILE = 'retarget.config.ts';

/** Loads and validates the config file (default ./retarget.config.ts); built-in defaults when there is none. */
export async function loadConfig(file?: string, cwd = process.cwd()): Promise<RetargetConfig> {
  const path = resolve(cwd, file ?? DEFAULT_CONFIG_FILE);
  if (!existsSync(path)) {
    if (file) throw new ConfigError(`config file not found: ${path}`);
    return parseConfig({}, '(defaults)');
  }
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (err) {
    throw new ConfigError(`${path}: cannot be loaded: ${(err as Error).message}`);
  }
  return parseConfig(mod.default ?? {}, path);
}

export function parseConfig(input: unknown, origin: string): RetargetConfig {
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`${origin}: invalid configuration:\n  ${issues.join('\n  ')}`);
  }
  return parsed.data;
}
