import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig, type RetargetConfig } from '../../config/config.ts';
import {
  compileSegment,
  explainMembers,
  explainSegment,
  type LoadedSegment,
  loadSegments,
} from '../../dsl/index.ts';
import { Warehouse } from '../../warehouse/warehouse.ts';
import { DEMO_AS_OF, ensureDemo } from '../demo/generate.ts';
import { registerOpsCommands, stopOnSignals } from '../ops/commands.ts';
import { ScheduleError } from '../ops/schedule.ts';
import { busyError, DatabaseBusyError, EXIT_BUSY } from '../ops/writer.ts';
import { runPipeline } from '../run.ts';
import { formatRunSummary } from './format.ts';
import { terminalReporter } from './reporter.ts';

/**
 * Exit codes: 0 ok, 1 the job failed, 2 bad usage or configuration, 75 the database is busy (another run holds
 * it: try again later), 130 the run was stopped by SIGINT/SIGTERM at a safe point.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, busy: EXIT_BUSY, interrupted: 130 } as const;

/** A failure to report as one clear line, without a stack trace. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
  }
}

function parseAsOf(value: string): Date {
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) throw new InvalidArgumentError(`not an ISO timestamp: ${value}`);
  // An offset-less timestamp means UTC, like every timestamp in retarget.
  return /[zZ]|[+-]\d{2}:?\d{2}$/.test(value) || /^\d{4}-\d{2}-\d{2}$/.test(value)
    ? at
    : new Date(`${value}Z`);
}

interface RunFlags {
  sourceDir?: string;
  db?: string;
  asOf?: Date;
  dryRun?: boolean;
  json?: boolean;
  force?: boolean;
  fullRefresh?: boolean;
  config?: string;
}

async function runCommand(flags: RunFlags, trigger: string, config?: RetargetConfig): Promise<number> {
  const cfg = config ?? (await loadConfig(flags.config));
  // First SIGINT/SIGTERM: stop at the next safe point (status 'cancelled'); second: exit at once.
  const stop = stopOnSignals((sig) =>
    process.stderr.write(`retarget: ${sig}: stopping at the next safe point (again to exit now)\n`),
  );
  const summary = await runPipeline({
    config: cfg,
    sourceDir: flags.sourceDir,
    db: flags.db,
    asOf: flags.asOf,
    dryRun: flags.dryRun,
    force: flags.force,
    fullRefresh: flags.fullRefresh,
    trigger,
    signal: stop.signal,
    reporter: terminalReporter(process.stderr, flags.json),
  }).finally(() => stop.dispose());
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

/** Opens the database for reading, with a clear message when there is none yet. */
async function openForReading(config: RetargetConfig, db?: string): Promise<Warehouse> {
  const path = resolve(db ?? config.database);
  if (!existsSync(path))
    throw new UserError(`no database at ${path}: run \`retarget run\` (or \`npm start\`) first`);
  try {
    return await Warehouse.open({ path, readOnly: true });
  } catch (err) {
    const busy = busyError(err, path);
    if (busy) throw new UserError(`${busy.message}. Try again when it finishes.`, EXIT.busy);
    const message = (err as Error).message;
    if (/lock/i.test(message)) {
      throw new UserError(
        `${path} is locked by a running job; try again when it finishes (${message.split('\n')[0]})`,
        EXIT.failed,
      );
    }
    throw err;
  }
}

/** Read-only commands evaluate as of the latest run's T unless told otherwise, so they match stored audiences. */
async function defaultAsOf(wh: Warehouse, asOf?: Date): Promise<Date> {
  if (asOf) return asOf;
  const last = await wh.one<{ as_of: Date }>(
    'SELECT as_of FROM pipeline_runs ORDER BY started_at DESC LIMIT 1',
  );
  return last?.as_of ?? new Date();
}

function findSegment(segments: LoadedSegment[], audience: string): LoadedSegment {
  const name = audience.split(':')[0]!;
  const found = segments.find((s) => s.definition.name === name);
  if (!found) {
    throw new UserError(
      `no segment named '${name}'. Known: ${segments.map((s) => s.definition.name).join(', ')}`,
    );
  }
  return found;
}

export function buildProgram(): Command {
  const program = new Command()
    .name('retarget')
    .description(
      'Retargeting audiences from your store data: load into DuckDB, segment, sync to ad platforms.',
    )
    .option('-c, --config <file>', 'configuration file (default: ./retarget.config.ts when present)')
    .showHelpAfterError()
    .exitOverride();

  const config = () => loadConfig(program.opts<{ config?: string }>().config);

  program
    .command('run')
    .description('load sources, evaluate every segment, plan and sync destinations')
    .option('--source-dir <dir>', "replace the files source's directory")
    .option('--db <file>', 'DuckDB file (default from config: data/retarget.duckdb)')
    .option(
      '--as-of <iso-timestamp>',
      'evaluate as of this time (default now); later data is ignored',
      parseAsOf,
    )
    .option('--dry-run', 'evaluate and store membership, print the plan, send nothing')
    .option('--json', 'print the summary as JSON')
    .option('--force', 'sync audiences the shrink guard would hold')
    .option('--full-refresh', "replace each destination audience's members instead of sending a diff")
    .action(async (flags: RunFlags) => {
      program.setOptionValue('exitCode', await runCommand(flags, 'cli', await config()));
    });

  program
    .command('demo')
    .description('generate the demo store once under data/demo, then run the pipeline on it (npm start)')
    .option('--json', 'print the summary as JSON')
    .option('--dry-run', 'send nothing')
    .action(async (flags: RunFlags) => {
      const cfg = await config();
      const dir = cfg.sources.files === false ? 'data/demo' : cfg.sources.files.dir;
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
      program.setOptionValue(
        'exitCode',
        await runCommand({ ...flags, sourceDir: dir, asOf: DEMO_AS_OF }, 'demo', cfg),
      );
    });

  program
    .command('segments')
    .description('list segments with their current audience sizes')
    .option('--db <file>', 'DuckDB file')
    .option('--json', 'print as JSON')
    .action(async (flags: { db?: string; json?: boolean }) => {
      const cfg = await config();
      const segments = await loadSegments(resolve(cfg.segments.dir));
      const sizes = new Map<string, { audiences: number; members: number }>();
      const path = resolve(flags.db ?? cfg.database);
      // While a run writes the database nobody else may open it: still list the definitions, without sizes.
      const wh = existsSync(path)
        ? await openForReading(cfg, flags.db).catch((err: unknown) => {
            if (err instanceof UserError && err.exitCode === EXIT.busy) {
              process.stderr.write(`retarget: sizes unavailable: ${err.message}\n`);
              return undefined;
            }
            throw err;
          })
        : undefined;
      if (wh) {
        try {
          for (const r of await wh.all<{ segment: string; audiences: bigint; members: bigint }>(
            'SELECT segment, count(DISTINCT audience) AS audiences, count(*) AS members FROM audience_members GROUP BY segment',
          )) {
            sizes.set(r.segment, { audiences: Number(r.audiences), members: Number(r.members) });
          }
        } finally {
          wh.close();
        }
      }
      const rows = segments.map((s) => ({
        segment: s.definition.name,
        description: s.definition.description,
        file: s.file,
        audiences: sizes.get(s.definition.name)?.audiences ?? 0,
        members: sizes.get(s.definition.name)?.members ?? 0,
        disabled: cfg.segments.disabled.includes(s.definition.name),
      }));
      if (flags.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else {
        for (const r of rows) {
          process.stdout.write(
            `${r.segment.padEnd(24)} ${String(r.members).padStart(7)} members in ${r.audiences} audience(s)${r.disabled ? ' [disabled]' : ''}\n    ${r.description}\n`,
          );
        }
      }
    });

  program
    .command('preview <audience>')
    .description('members of an audience with the reasons they qualify')
    .option('--db <file>', 'DuckDB file')
    .option('--as-of <iso-timestamp>', 'evaluate as of this time (default: the last run)', parseAsOf)
    .option('--limit <n>', 'members to show', (v) => Number.parseInt(v, 10), 20)
    .option('--json', 'print as JSON')
    .action(async (audience: string, flags: { db?: string; asOf?: Date; limit: number; json?: boolean }) => {
      const cfg = await config();
      const segment = findSegment(await loadSegments(resolve(cfg.segments.dir)), audience);
      const wh = await openForReading(cfg, flags.db);
      try {
        const asOf = await defaultAsOf(wh, flags.asOf);
        const members = await explainMembers(wh, segment.definition, {
          asOf,
          audience: audience.includes(':') ? audience : undefined,
          limit: flags.limit,
        });
        if (flags.json) {
          process.stdout.write(
            `${JSON.stringify({ audience, asOf: asOf.toISOString(), members }, null, 2)}\n`,
          );
          return;
        }
        process.stdout.write(
          `${audience} as of ${asOf.toISOString()}: showing ${members.length} member(s)\n`,
        );
        for (const m of members) {
          process.stdout.write(`\n${m.customer_id}${m.audience !== audience ? `  [${m.audience}]` : ''}\n`);
          for (const r of m.reasons) process.stdout.write(`  - ${r}\n`);
        }
      } finally {
        wh.close();
      }
    });

  program
    .command('explain <audience>')
    .description('the SQL a segment compiles to')
    .option('--as-of <iso-timestamp>', 'evaluate as of this time (default now)', parseAsOf)
    .action(async (audience: string, flags: { asOf?: Date }) => {
      const cfg = await config();
      const segment = findSegment(await loadSegments(resolve(cfg.segments.dir)), audience);
      process.stdout.write(`-- file: ${segment.file}\n`);
      process.stdout.write(`${explainSegment(segment.definition, { asOf: flags.asOf ?? new Date() })}\n`);
    });

  program
    .command('validate')
    .description('check that every segment definition is valid and compiles')
    .action(async () => {
      const cfg = await config();
      const segments = await loadSegments(resolve(cfg.segments.dir));
      const wh = await Warehouse.open({ path: ':memory:' });
      try {
        for (const s of segments) {
          const { sql, parameters } = compileSegment(s.definition, { asOf: new Date() });
          await wh.all(`EXPLAIN ${sql}`, parameters); // DuckDB binds it: names, types, functions
          process.stdout.write(`✓ ${s.definition.name} (${s.file})\n`);
        }
      } finally {
        wh.close();
      }
      process.stdout.write(`${segments.length} segment(s) valid\n`);
    });

  registerOpsCommands(program, {
    config,
    openForReading,
    userError: (message, exitCode) => new UserError(message, exitCode),
    setExitCode: (code) => program.setOptionValue('exitCode', code),
    interrupted: EXIT.interrupted,
  });

  return program;
}

/** Runs the CLI; returns the process exit code. Errors become one clear line, never a stack trace. */
export async function main(argv: string[]): Promise<number> {
  // Everything retarget writes (DuckDB file and WAL, audience exports, lock) holds or derives from customer
  // PII: owner-only, whatever the shell's umask.
  process.umask(0o077);
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return (program.getOptionValue('exitCode') as number | undefined) ?? EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const exitCode =
      err instanceof UserError
        ? err.exitCode
        : err instanceof DatabaseBusyError
          ? EXIT.busy
          : err instanceof ConfigError || err instanceof ScheduleError
            ? EXIT.usage
            : EXIT.failed;
    const name = (err as Error).name;
    const known =
      err instanceof UserError ||
      err instanceof ConfigError ||
      err instanceof DatabaseBusyError ||
      err instanceof ScheduleError ||
      /DefinitionError|SourceError|IngestError/.test(name);
    process.stderr.write(`retarget: ${(err as Error).message}\n`);
    if (!known && process.env.RETARGET_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    else if (!known) process.stderr.write('(set RETARGET_DEBUG=1 for the stack trace)\n');
    return exitCode;
  }
}
