import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Warehouse, type WarehouseOptions } from '../../warehouse/warehouse.ts';
import { acquireLock, describeHolder, type HeldLock, type LockHolder, readLockHolder } from './lock.ts';

/**
 * Opening the database as its single writer: our lock file first (so a second run fails fast with a clear
 * message), then DuckDB, whose own file lock refuses any other process (even a reader) while we hold it.
 */

/** Exit code for "the database is busy, try again later" (BSD EX_TEMPFAIL, which cron wrappers know). */
export const EXIT_BUSY = 75;

export class DatabaseBusyError extends Error {
  readonly exitCode = EXIT_BUSY;
  constructor(
    message: string,
    readonly holder?: LockHolder,
  ) {
    super(message);
    this.name = 'DatabaseBusyError';
  }
}

export interface Writer {
  wh: Warehouse;
  /** Closes the warehouse, then frees the lock. */
  close(): void;
}

/** Locks and opens a database for writing, or throws DatabaseBusyError naming who holds it. */
export async function openWriter(options: WarehouseOptions, command: string): Promise<Writer> {
  const inMemory = options.path === ':memory:' || options.path === '';
  let lock: HeldLock | undefined;
  if (!inMemory) {
    try {
      lock = acquireLock(resolve(options.path), command);
    } catch (err) {
      if ((err as Error).name === 'LockBusyError') {
        const holder = (err as { holder?: LockHolder }).holder;
        throw new DatabaseBusyError(`${resolve(options.path)} is busy: ${describeHolder(holder)}`, holder);
      }
      throw err;
    }
  }
  let wh: Warehouse;
  try {
    wh = await Warehouse.open(options);
  } catch (err) {
    lock?.release();
    throw busyError(err, options.path) ?? err;
  }
  return {
    wh,
    close() {
      try {
        wh.close();
      } finally {
        lock?.release();
      }
    },
  };
}

/**
 * Turns DuckDB's "Could not set lock on file" into a clear DatabaseBusyError naming the holder when it is a
 * retarget process (from the lock file), else the PID DuckDB reports (a duckdb shell, a notebook...).
 */
export function busyError(err: unknown, database: string): DatabaseBusyError | undefined {
  const message = String((err as Error)?.message ?? err);
  if (!/Could not set lock on file/i.test(message)) return undefined;
  const path = resolve(database);
  const pid = Number(/PID (\d+)/.exec(message)?.[1]);
  const holder = readLockHolder(path);
  if (holder && (!pid || holder.pid === pid)) {
    return new DatabaseBusyError(
      `${path} is busy: ${describeHolder(holder)}; DuckDB lets no other process open it until that finishes`,
      holder,
    );
  }
  return new DatabaseBusyError(
    `${path} is open in another process${pid ? ` (pid ${pid})` : ''}, e.g. a duckdb shell or a notebook; ` +
      'DuckDB allows one process at a time to write a file: close it and try again',
  );
}

/** A warning when an existing database file is readable by group or others (it holds customer PII). */
export function permissionWarning(path: string): string | undefined {
  if (path === ':memory:' || path === '') return undefined;
  try {
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) === 0) return undefined;
    return `warning: ${path} is readable by others (mode ${mode.toString(8)}); it holds customer PII: chmod 600 it`;
  } catch {
    return undefined;
  }
}
