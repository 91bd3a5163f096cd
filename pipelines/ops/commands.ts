import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { RetargetConfig } from '../../config/config.ts';
import type { Warehouse } from '../../warehouse/warehouse.ts';
import { camelKeys } from '../cli/format.ts';
import { describeHolder, readLockHolder } from './lock.ts';
import { formatRunDetail, formatRunList, listRuns, showRun } from './runs.ts';

// Modules that load DuckDB or the vendor SDKs are imported inside the actions: `retarget --help` loads none.

/** What the CLI lends the operations commands (kept in main.ts: config loading, read-only opening, errors). */
export interface CliContext {
  config(): Promise<RetargetConfig>;
  openForReading(config: RetargetConfig, db?: string): Promise<Warehouse>;
  userError(message: string, exitCode?: number): Error;
  setExitCode(code: number): void;
  /** Exit code of a cancelled (SIGINT/SIGTERM) run. */
  interrupted: number;
  /** Parser of count flags (`--limit`): a whole number of at least 1, else a one-line usage error. */
  parseCount(value: string): number;
}

/**
 * Stops a job gracefully on the first SIGINT/SIGTERM (at the next safe point) and exits at once on the second.
 * Returns the signal and a function removing the handlers.
 */
export function stopOnSignals(onFirst: (signal: NodeJS.Signals) => void = () => {}): {
  signal: AbortSignal;
  dispose(): void;
} {
  const controller = new AbortController();
  const handler = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.stderr.write(
        `retarget: ${sig} again: exiting now (the next run will mark this one abandoned)\n`,
      );
      process.exit(130);
    }
    onFirst(sig);
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

export function registerOpsCommands(program: Command, cli: CliContext): void {
  program
    .command('runs [run_id]')
    .description(
      "recent runs, or one run's steps, timings, rejected rows and sync results ('last' for the latest)",
    )
    .option('--db <file>', 'DuckDB file')
    .option('--limit <n>', 'runs to list (at least 1)', cli.parseCount, 20)
    .option('--json', 'print as JSON')
    .action(async (runId: string | undefined, flags: { db?: string; limit: number; json?: boolean }) => {
      const cfg = await cli.config();
      const path = resolve(flags.db ?? cfg.database);
      const holder = existsSync(path) ? readLockHolder(path) : undefined;
      let wh: Warehouse;
      try {
        wh = await cli.openForReading(cfg, flags.db);
      } catch (err) {
        // DuckDB lets nobody read the file while a run writes it: say what is running instead.
        if (holder && (err as { exitCode?: number }).exitCode === 75) {
          throw cli.userError(
            `a run is in progress: ${describeHolder(holder)}. DuckDB lets no other process open ${path} until it ` +
              'finishes, so past runs cannot be listed now; try again later.',
            75,
          );
        }
        throw err;
      }
      try {
        if (runId) {
          const detail = await showRun(wh, runId);
          if (!detail) throw cli.userError(`no run '${runId}' (or more than one run starts with it)`, 1);
          process.stdout.write(
            flags.json ? `${JSON.stringify(camelKeys(detail), null, 2)}\n` : `${formatRunDetail(detail)}\n`,
          );
        } else {
          const runs = await listRuns(wh, flags.limit);
          process.stdout.write(
            flags.json ? `${JSON.stringify(camelKeys(runs), null, 2)}\n` : `${formatRunList(runs)}\n`,
          );
        }
      } finally {
        wh.close();
      }
    });

  program
    .command('schedule')
    .description('run on the configured cron schedule in the foreground (default 03:00 UTC daily)')
    .option('--db <file>', 'DuckDB file (default from config)')
    .option('--source-dir <dir>', "replace the files source's directory")
    .action(async (flags: { db?: string; sourceDir?: string }) => {
      const cfg = await cli.config();
      const out = (line: string) => process.stdout.write(`${line}\n`);
      const { runScheduler } = await import('./schedule.ts');
      const stop = stopOnSignals((sig) => out(`${new Date().toISOString()} ${sig} received`));
      try {
        await runScheduler({
          config: cfg,
          db: flags.db,
          sourceDir: flags.sourceDir,
          signal: stop.signal,
          out,
        });
      } finally {
        stop.dispose();
      }
    });

  program
    .command('forget <customer>')
    .description(
      'data-protection request: delete a customer (by customer_id or email) and their events, keep only a hash ' +
        'so old files never bring them back; destinations drop them on the next sync',
    )
    .option('--db <file>', 'DuckDB file')
    .option('--sync', 'sync every destination now (re-evaluating audiences as of the last run)')
    .option('--json', 'print as JSON')
    .action(async (subject: string, flags: { db?: string; sync?: boolean; json?: boolean }) =>
      (await import('./forget-command.ts')).forgetCommand(cli, subject, flags),
    );
}
