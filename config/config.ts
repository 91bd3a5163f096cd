import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import type { CsvSettings } from '../connectors/destinations/csv/index.ts';
import { destinationRegistry } from '../connectors/destinations/registry.ts';
import type { FilesSettings, filesSettingsSchema } from '../connectors/sources/files/source.ts';
import { sourceRegistry } from '../connectors/sources/registry.ts';
import {
  alertsConfigSchema,
  DEFAULT_ALERTS,
  DEFAULT_SCHEDULE,
  scheduleConfigSchema,
} from '../pipelines/ops/config-schema.ts';

/** What a connector section needs of a registered source or destination. */
interface ConnectorSettings {
  name: string;
  settings: z.ZodType;
  enabledByDefault?: boolean;
}

/**
 * `sources` or `destinations`: strict, one key per registered connector, so a misspelt or unknown connector is an
 * error naming the key. A connector enabled by default gets its schema's defaults; `false` turns it off.
 */
function connectorSection<Output, Input>(registry: readonly ConnectorSettings[]): z.ZodType<Output, Input> {
  const shape: Record<string, z.ZodType> = {};
  const defaults: Record<string, unknown> = {};
  for (const def of registry) {
    const entry = z.union([z.literal(false), def.settings]);
    if (def.enabledByDefault) defaults[def.name] = def.settings.parse({});
    shape[def.name] = def.enabledByDefault ? entry.default(defaults[def.name]) : entry.optional();
  }
  return z.object(shape).strict().default(defaults) as unknown as z.ZodType<Output, Input>;
}

/** The settings of the connectors the rest of the code reads by name; any other registered one is `unknown`. */
export type SourcesConfig = { files: false | FilesSettings } & Record<string, unknown>;
export type DestinationsConfig = { csv: false | CsvSettings } & Record<string, unknown>;
type SourcesInput = { files?: false | z.input<typeof filesSettingsSchema> } & Record<string, unknown>;
type DestinationsInput = { csv?: false | CsvSettings } & Record<string, unknown>;

/** A holdout share in config: 0 (none) up to, not including, 0.5. */
const configShare = () =>
  z
    .number({ error: 'must be a number from 0 to under 0.5' })
    .min(0, { error: 'must be at least 0 (0: no holdout)' })
    .lt(0.5, { error: 'must be less than 0.5 (the held-out side is the smaller one)' });

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
    /** One key per registered source (connectors/sources/registry.ts), each checked by its own schema. */
    sources: connectorSection<SourcesConfig, SourcesInput>(sourceRegistry),
    /** One key per registered destination (connectors/destinations/registry.ts); `false` turns one off. */
    destinations: connectorSection<DestinationsConfig, DestinationsInput>(destinationRegistry),
    segments: z
      .object({
        /** Folder of segment modules. */
        dir: z.string().min(1).default('segments'),
        /** Segment names not evaluated (their audiences empty out, guarded per destination). */
        disabled: z.array(z.string()).default([]),
      })
      .strict()
      .default({ dir: 'segments', disabled: [] }),
    /**
     * Holdouts (docs/metrics.md): the share of members kept from every destination to measure lift, by audience
     * name (a split segment's name covers all its audiences), else `default`; a segment's .holdout() wins.
     */
    holdouts: z
      .object({
        default: configShare().default(0),
        // Any key: one naming no segment is a warning of the run (audiences/holdouts.ts), with the name.
        audiences: z.record(z.string(), configShare()).default({}),
      })
      .strict()
      .default({ default: 0, audiences: {} }),
    /** `retarget schedule`; see docs/operations.md. */
    schedule: scheduleConfigSchema.default(DEFAULT_SCHEDULE),
    /** Failure alerts; see docs/operations.md. */
    alerts: alertsConfigSchema.default(DEFAULT_ALERTS),
    /** The HTML report (docs/report.md): written after each real run when `afterRun` is true (off by default). */
    report: z
      .object({
        afterRun: z.boolean().default(false),
        /** Where it goes (default: report.html beside the database). */
        out: z.string().min(1).optional(),
      })
      .strict()
      .default({ afterRun: false }),
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
    const issues = parsed.error.issues.flatMap(describeIssue);
    throw new ConfigError(`${origin}: invalid configuration:\n  ${issues.join('\n  ')}`);
  }
  return parsed.data;
}

/**
 * One line per problem, naming the key's full path: a misspelt key (`destinations.googel_ads`) is an error with
 * the keys that are allowed there, never silently dropped.
 */
function describeIssue(issue: z.core.$ZodIssue): string[] {
  const at = issue.path.map(String);
  // `false | settings`: what is wrong inside the settings, rather than "Invalid input".
  const settings =
    issue.code === 'invalid_union' ? issue.errors.find((e) => e.some((i) => i.path.length > 0)) : undefined;
  if (settings) return settings.flatMap((i) => describeIssue({ ...i, path: [...issue.path, ...i.path] }));
  if (issue.code !== 'unrecognized_keys') return [`${at.join('.') || '(root)'}: ${issue.message}`];
  const known = keysAt(configSchema, at);
  return issue.keys.map(
    (k) =>
      `${[...at, k].join('.')}: unknown key${known.length ? ` (allowed here: ${known.join(', ')})` : ''}`,
  );
}

/** The keys an object schema at `path` accepts (through defaults, optionals and unions). */
function keysAt(schema: z.ZodType, path: string[]): string[] {
  const def = schema.def as {
    type: string;
    shape?: Record<string, z.ZodType>;
    innerType?: z.ZodType;
    options?: z.ZodType[];
  };
  if (def.innerType) return keysAt(def.innerType, path);
  if (def.options) return [...new Set(def.options.flatMap((o) => keysAt(o, path)))];
  if (def.type !== 'object' || !def.shape) return [];
  if (path.length === 0) return Object.keys(def.shape);
  const next = def.shape[path[0]!];
  return next ? keysAt(next, path.slice(1)) : [];
}
