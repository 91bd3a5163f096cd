import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import type { RetargetConfig } from '../../config/config.ts';
import { redact } from '../../shared/redact.ts';
import { registerOpsCommands } from '../ops/commands.ts';
import { classify, EXIT, UserError } from './errors.ts';
import { parseAsOf, parseCount, parseNames, parsePeriod, parseYears } from './flags.ts';

export { EXIT, UserError } from './errors.ts';

/**
 * The `retarget` command line. Only commander and the flag parsers load up front: each command imports what it
 * needs (DuckDB, the SDKs, zod) when it runs, so `retarget --help` starts in a fraction of a second.
 */

const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

export function buildProgram(): Command {
  const program = new Command()
    .name('retarget')
    .description(
      'Retargeting audiences from your store data: load into DuckDB, segment, sync to ad platforms.',
    )
    .version(VERSION, '-V, --version', 'print the version')
    .option('-c, --config <file>', 'configuration file (default: ./retarget.config.ts when present)')
    .exitOverride();

  const config = async (): Promise<RetargetConfig> =>
    (await import('../../config/config.ts')).loadConfig(program.opts<{ config?: string }>().config);
  const exit = (code: number) => program.setOptionValue('exitCode', code);
  const segmentCommands = () => import('./segment-commands.ts');

  program
    .command('run')
    .description('load sources, evaluate every segment, plan and sync destinations')
    .option('--source-dir <dir>', "replace the files source's directory")
    .option('--db <file>', 'DuckDB file (default from config: data/retarget.duckdb)')
    .option(
      '--as-of <iso-8601>',
      'evaluate as of this date or date-time, UTC unless an offset is given (default now); later data is ignored',
      parseAsOf,
    )
    .option(
      '--sources <names>',
      'load only these sources, comma-separated (files, ga4, shopify, ecwid); default: every configured one',
      parseNames,
    )
    .option(
      '--destinations <names>',
      'sync only these destinations, comma-separated (csv, meta, google_ads); default: every configured one',
      parseNames,
    )
    .option('--dry-run', 'evaluate and store membership, print the plan, send nothing')
    .option('--json', 'print the summary as JSON')
    .option('--force', 'sync audiences the shrink guard would hold')
    .option('--full-refresh', "replace each destination audience's members instead of sending a diff")
    .action(async (flags) => {
      const cfg = await config();
      exit(await (await import('./run-command.ts')).runCommand(flags, 'cli', cfg));
    });

  program
    .command('demo')
    .description('generate the demo store once under data/demo, then run the pipeline on it (npm start)')
    .option('--json', 'print the summary as JSON')
    .option('--dry-run', 'send nothing')
    .action(async (flags) => {
      const cfg = await config();
      exit(await (await import('./run-command.ts')).demoCommand(flags, cfg));
    });

  program
    .command('segments')
    .description('list segments with their current audience sizes')
    .option('--db <file>', 'DuckDB file')
    .option('--json', 'print as JSON')
    .action(async (flags) => (await segmentCommands()).segmentsCommand(await config(), flags));

  program
    .command('preview <audience>')
    .description('members of an audience with the reasons they qualify')
    .option('--db <file>', 'DuckDB file')
    .option('--as-of <iso-8601>', 'evaluate as of this date or date-time (default: the last run)', parseAsOf)
    .option('--limit <n>', 'members to show (at least 1)', parseCount, 20)
    .option('--json', 'print as JSON')
    .action(async (audience: string, flags) =>
      (await segmentCommands()).previewCommand(await config(), audience, flags),
    );

  program
    .command('explain <audience>')
    .description('the SQL a segment compiles to')
    .option('--as-of <iso-8601>', 'evaluate as of this date or date-time (default now)', parseAsOf)
    .action(async (audience: string, flags) =>
      (await segmentCommands()).explainCommand(await config(), audience, flags),
    );

  program
    .command('validate')
    .description(
      'check that every segment definition is valid and compiles; warn about names the data has never seen',
    )
    .option(
      '--db <file>',
      'DuckDB file whose data the names are checked against (default from config, when it exists)',
    )
    .action(async (flags) => (await segmentCommands()).validateCommand(await config(), flags));

  program
    .command('sql <query>')
    .description('run a query on the DuckDB file, read-only (the analyst view: docs/analysts.md)')
    .option('--db <file>', 'DuckDB file')
    .option('--json', 'print the rows as a JSON array of objects')
    .option('--csv', 'print the rows as CSV with a header')
    .option('--max-rows <n>', 'rows shown in the table output (at least 1)', parseCount, 1000)
    // A query may start with a `-- comment` (as `retarget explain` output does): not an option.
    .allowUnknownOption()
    .action(async (query: string, flags) =>
      (await import('./sql.ts')).sqlCommand(await config(), query, flags),
    );

  program
    .command('metrics')
    .description('retention metrics per period, read-only (definitions: docs/metrics.md)')
    .option('--db <file>', 'DuckDB file')
    .option(
      '--as-of <iso-8601>',
      'count the whole periods ending at or before this date or date-time (default: the last run)',
      parseAsOf,
    )
    .option('--period <unit>', 'month, quarter or year', parsePeriod, 'quarter' as const)
    .option('--periods <n>', 'how many periods (at least 1)', parseCount, 4)
    .option(
      '--active-window <days>',
      'a customer is active with a completed order this recent',
      parseCount,
      365,
    )
    .option('--lifespan <years>', 'customer lifespan the clv assumes', parseYears, 2)
    .option('--json', 'print as JSON')
    .action(async (flags) => (await import('./metrics-command.ts')).metricsCommand(await config(), flags));

  program
    .command('lift [audience]')
    .description('holdout lift per audience: exposed vs held-out purchase rates, read-only (docs/metrics.md)')
    .option('--db <file>', 'DuckDB file')
    .option(
      '--days <n>',
      'window: purchases within N days of entering, members who entered N days ago',
      parseCount,
      14,
    )
    .option('--as-of <iso-8601>', 'measure as of this date or date-time (default: the last run)', parseAsOf)
    .option('--json', 'print as JSON')
    .action(async (audience: string | undefined, flags) =>
      (await import('./lift-command.ts')).liftCommand(await config(), audience, flags),
    );

  program
    .command('report')
    .description('write the HTML report: audiences, overlap, retention, lift, last runs (docs/report.md)')
    .option('--db <file>', 'DuckDB file')
    .option('--out <file>', 'HTML file to write (default: report.html beside the database)')
    .option('--as-of <iso-8601>', 'report as of this date or date-time (default: the last run)', parseAsOf)
    .action(async (flags) => (await import('./report-command.ts')).reportCommand(await config(), flags));

  registerOpsCommands(program, {
    config,
    openForReading: async (cfg, db) => (await import('./read.ts')).openForReading(cfg, db),
    userError: (message, exitCode) => new UserError(message, exitCode),
    setExitCode: exit,
    interrupted: EXIT.interrupted,
    parseCount,
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
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const { exitCode, known } = classify(err);
    // Printed redacted, like every stored message: no PII or secret reaches the terminal or a cron mail.
    process.stderr.write(`retarget: ${redact((err as Error).message)}\n`);
    const stack = String((err as Error).stack);
    if (!known && process.env.RETARGET_DEBUG) process.stderr.write(`${redact(stack)}\n`);
    else if (!known) process.stderr.write('(set RETARGET_DEBUG=1 for the stack trace)\n');
    return exitCode;
  }
}
