import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { safePointSync } from './safe-point.ts';

/**
 * The single-writer lock: a file next to the DuckDB file (`<db>.lock`) holding the writer's pid, host and start
 * time. Taken atomically (the content is written to a private temp file, then hard-linked into place, which
 * fails when the lock exists), so a reader never sees a half-written lock. A lock whose process is gone (same
 * host, pid dead or reused) is stale and taken over.
 */
export interface LockHolder {
  pid: number;
  hostname: string;
  /** ISO time the holder took the lock. */
  startedAt: string;
  /** What the holder is doing, e.g. 'retarget run'. */
  command: string;
  /** Linux process start time (clock ticks since boot), to tell a reused pid from the holder. */
  procStart?: string;
}

export class LockBusyError extends Error {
  constructor(
    readonly lockPath: string,
    readonly holder: LockHolder | undefined,
  ) {
    super(`${lockPath}: ${describeHolder(holder)}`);
    this.name = 'LockBusyError';
  }
}

export interface HeldLock {
  readonly path: string;
  readonly holder: LockHolder;
  /** Removes the lock if it is still ours. Safe to call twice. */
  release(): void;
}

export function lockPathFor(database: string): string {
  return `${database}.lock`;
}

/** "another retarget run (pid 123 on host, since 2026-...) is writing this database". */
export function describeHolder(holder: LockHolder | undefined): string {
  if (!holder) return 'another process is taking the lock right now';
  return `${holder.command} (pid ${holder.pid} on ${holder.hostname}, since ${holder.startedAt}) is writing this database`;
}

/** Takes the lock for `database` or throws LockBusyError naming the live holder. */
export function acquireLock(database: string, command: string): HeldLock {
  const path = lockPathFor(database);
  const holder: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date().toISOString(),
    command,
    procStart: procStartOf(process.pid),
  };
  const content = `${JSON.stringify(holder)}\n`;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 10; attempt++) {
    if (tryCreate(path, content)) return heldLock(path, holder, content);
    const current = readHolder(path);
    if (current === 'missing') continue; // released between our attempt and the read
    if (current === undefined || isAlive(current)) throw new LockBusyError(path, current);
    safePointSync('lock:takeover'); // test hook: widens the race between two takers of a stale lock
    removeStale(path, current);
  }
  throw new LockBusyError(path, undefined);
}

/** The current holder of a database's lock, if a live process holds it. */
export function readLockHolder(database: string): LockHolder | undefined {
  const current = readHolder(lockPathFor(database));
  return current && current !== 'missing' && isAlive(current) ? current : undefined;
}

function tryCreate(path: string, content: string): boolean {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, content, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // File systems without hard links: exclusive create, then write (a reader may briefly see it empty,
    // which counts as held).
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS' || code === 'EXDEV') {
      try {
        writeFileSync(path, content, { mode: 0o600, flag: 'wx' });
        return true;
      } catch (inner) {
        if ((inner as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw inner;
      }
    }
    throw err;
  } finally {
    unlinkSync(tmp);
  }
}

/** undefined: unreadable (being written by a non-atomic writer, or corrupt): treated as held. */
function readHolder(path: string): LockHolder | 'missing' | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as LockHolder;
    return typeof parsed.pid === 'number' && typeof parsed.hostname === 'string' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** A holder on another host cannot be checked: it is assumed alive (remove the file by hand if that host is gone). */
export function isAlive(holder: LockHolder): boolean {
  if (holder.hostname !== hostname()) return true;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  // The pid exists; on Linux, a different start time means the pid was reused by an unrelated process.
  const start = procStartOf(holder.pid);
  return !(holder.procStart && start && start !== holder.procStart);
}

/**
 * Removes a stale lock. Only the holder of `<lock>.takeover` may delete a lock file, and only after re-reading
 * it: two processes taking over the same stale lock can then never delete a fresh one.
 */
function removeStale(path: string, stale: LockHolder): void {
  const guard = `${path}.takeover`;
  try {
    writeFileSync(guard, `${process.pid}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Someone else is taking over; a guard older than a few seconds was left by a takeover that died.
    if (Date.now() - mtimeMs(guard) > 10_000) unlinkQuietly(guard);
    sleep(50);
    return;
  }
  try {
    const seen = readHolder(path);
    if (seen && seen !== 'missing' && seen.pid === stale.pid && seen.startedAt === stale.startedAt) {
      unlinkSync(path);
    }
  } finally {
    unlinkQuietly(guard);
  }
}

function mtimeMs(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return Date.now();
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function heldLock(path: string, holder: LockHolder, content: string): HeldLock {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    try {
      if (readFileSync(path, 'utf8') === content) unlinkSync(path);
    } catch {
      // already gone
    }
  };
  process.on('exit', release); // a normal exit or an uncaught error still frees the lock
  return { path, holder, release };
}

/** Field 22 of /proc/<pid>/stat (start time), or undefined off Linux. */
function procStartOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
