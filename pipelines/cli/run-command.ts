import { resolve } from 'node:path';
import type { RetargetConfig } from '../../config/config.ts';
import { enabledSources } from '../../connectors/sources/registry.ts';
import type { Destination } from '../../plans/types.ts';
import { DEMO_AS_OF, ensureDemo } from '../demo/generate.ts';
import { stopOnSignals } from '../ops/commands.ts';
import { configuredSourceNames } from '../ops/schedule.ts';
import { configuredDestinations, RunRefused, runPipeline } from '../run.ts';
import { EXIT, UserError } from './errors.ts';
import { formatRunSummary } from './format.ts';
import { terminalReporter } from './reporter.ts';

export interface RunFlags {
  sourceDir?: string;
  db?: string;
  asOf?: Date;
  sources?: string[];
  destinations?: string[];
  dryRun?: boolean;
  json?: boolean;
  force?: boolean;
  fullRefresh?: boolean;
}

/**
 * Builds the configured sources and destinations from the config file and the environment, so half a setting
 * (META_ACCESS_TOKEN without META_AD_ACCOUNT_ID, a bad GA4 field) stops the command before anything is loaded.
 */
export function checkSettings(
  config: RetargetConfig,
  sources?: string[],
  destinationNames?: string[],
): Destination[] {
  let destinations: Destination[];
  try {
    enabledSources(config.sources);
    destinations = configuredDestinations(config);
  } catch (err) {
    throw new UserError(`configuration: ${(err as Error).message} (nothing was loaded)`);
  }
  const known = configuredSourceNames(config);
  const unknown = (sources ?? []).filter((s) => !known.includes(s));
  if (unknown.length)
    throw new UserError(
      `--sources: no source named ${unknown.map((s) => `'${s}'`).join(', ')} is configured (configured: ${known.join(', ') || 'none'})`,
    );
  return destinationNames ? pickDestinations(destinations, destinationNames) : destinations;
}

/** The configured destinations `--destinations` names; a name not configured (or misspelt) stops the run. */
function pickDestinations(configured: Destination[], names: string[]): Destination[] {
  const known = configured.map((d) => d.name);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length)
    throw new UserError(
      `--destinations: no destination named ${unknown.map((n) => `'${n}'`).join(', ')} is configured (configured: ${known.join(', ') || 'none'})`,
    );
  return configured.filter((d) => names.includes(d.name));
}

export async function runCommand(flags: RunFlags, trigger: string, config: RetargetConfig): Promise<number> {
  const destinations = checkSettings(config, flags.sources, flags.destinations);
  // First SIGINT/SIGTERM: stop at the next safe point (status 'cancelled'); second: exit at once.
  const stop = stopOnSignals((sig) =>
    process.stderr.write(`retarget: ${sig}: stopping at the next safe point (again to exit now)\n`),
  );
  const summary = await runPipeline({
    config,
    sourceDir: flags.sourceDir,
    db: flags.db,
    asOf: flags.asOf,
    sources: flags.sources,
    dryRun: flags.dryRun,
    force: flags.force,
    fullRefresh: flags.fullRefresh,
    trigger,
    destinations,
    signal: stop.signal,
    reporter: terminalReporter(process.stderr, flags.json),
  })
    .catch((err: unknown) => {
      // A backfill (--as-of before the latest stored run) is refused before anything is loaded: bad usage.
      throw err instanceof RunRefused ? new UserError(err.message, EXIT.usage) : err;
    })
    .finally(() => stop.dispose());
  process.stdout.write(
    flags.json ? `${JSON.stringify(summary, jsonReplacer, 2)}\n` : `\n${formatRunSummary(summary)}\n`,
  );
  return summary.status === 'succeeded'
    ? EXIT.ok
    : summary.status === 'cancelled'
      ? EXIT.interrupted
      : EXIT.failed;
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? Number(value) : value;
}

/** `retarget demo`: generate the demo store once, then run on it as of the demo's fixed date. */
export async function demoCommand(flags: RunFlags, config: RetargetConfig): Promise<number> {
  const dir = config.sources.files === false ? 'data/demo' : config.sources.files.dir;
  const { generated, manifest } = await ensureDemo(resolve(dir));
  if (!flags.json) {
    process.stderr.write(
      generated
        ? `Generated the demo store in ${dir} (${Object.entries(manifest.counts)
            .map(([t, c]) => `${c} ${t}`)
            .join(', ')})\n`
        : `Using the demo store in ${dir}\n`,
    );
  }
  return runCommand({ ...flags, sourceDir: dir, asOf: DEMO_AS_OF }, 'demo', config);
}
