import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLock, LockBusyError, lockPathFor, readLockHolder } from '../pipelines/ops/lock.ts';
import { type Sandbox, sandbox } from './ops-helpers.ts';

/** A pid that certainly belongs to no live process: a child that has already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(r.stdout);
}

describe('the lock file', () => {
  let s: Sandbox;
  beforeAll(() => {
    s = sandbox();
  });
  afterAll(() => s.cleanup());

  it('is taken atomically, names its holder, and refuses a second taker while the holder lives', () => {
    const lock = acquireLock(s.db, 'retarget run (test)');
    try {
      const content = JSON.parse(readFileSync(lockPathFor(s.db), 'utf8'));
      expect(content).toMatchObject({
        pid: process.pid,
        hostname: hostname(),
        command: 'retarget run (test)',
      });
      expect(statSync(lockPathFor(s.db)).mode & 0o777).toBe(0o600);
      expect(readLockHolder(s.db)?.pid).toBe(process.pid);
      let error: unknown;
      try {
        acquireLock(s.db, 'second');
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(LockBusyError);
      expect((error as Error).message).toMatch(
        new RegExp(`retarget run \\(test\\) \\(pid ${process.pid} on .+, since \\d{4}-`),
      );
    } finally {
      lock.release();
    }
    expect(existsSync(lockPathFor(s.db))).toBe(false);
    // No temp or takeover files are left next to the database.
    expect(readdirSync(join(s.dir, 'db')).filter((f) => f.includes('.lock'))).toEqual([]);
  });

  it('takes over a stale lock left by a dead process, or by a pid now reused by another process', () => {
    const stale = {
      pid: deadPid(),
      hostname: hostname(),
      startedAt: '2026-01-01T03:00:00.000Z',
      command: 'x',
    };
    writeFileSync(lockPathFor(s.db), JSON.stringify(stale));
    expect(readLockHolder(s.db)).toBeUndefined();
    const lock = acquireLock(s.db, 'taker');
    expect(JSON.parse(readFileSync(lockPathFor(s.db), 'utf8')).pid).toBe(process.pid);
    lock.release();

    // Our own (live) pid, but with another process start time: the pid was reused, the holder is gone.
    writeFileSync(lockPathFor(s.db), JSON.stringify({ ...stale, pid: process.pid, procStart: '1' }));
    const again = acquireLock(s.db, 'taker');
    again.release();
  });

  it('lets exactly one of several processes racing for the same stale lock win', async () => {
    const stale = {
      pid: deadPid(),
      hostname: hostname(),
      startedAt: '2026-01-01T03:00:00.000Z',
      command: 'x',
    };
    mkdirSync(join(s.dir, 'db'), { recursive: true });
    writeFileSync(lockPathFor(s.db), JSON.stringify(stale));
    // Each child says 'ready', then spins until the go file appears: they all try within microseconds.
    const go = join(s.dir, 'go');
    const script = `
      import { existsSync } from 'node:fs';
      import { acquireLock } from ${JSON.stringify(join(import.meta.dirname, '..', 'pipelines', 'ops', 'lock.ts'))};
      process.stdout.write('ready;');
      while (!existsSync(${JSON.stringify(go)})) {}
      try {
        const lock = acquireLock(${JSON.stringify(s.db)}, 'racer');
        process.stdout.write('won');
        setTimeout(() => lock.release(), 1500);
      } catch (err) {
        process.stdout.write(err.name);
      }`;
    let ready = 0;
    let allReady: () => void = () => {};
    const readyPromise = new Promise<void>((resolve) => {
      allReady = resolve;
    });
    const racers = Array.from(
      { length: 6 },
      () =>
        new Promise<string>((resolve) => {
          const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
            cwd: join(import.meta.dirname, '..'),
            // Every racer pauses between seeing the stale lock and removing it: without the takeover guard,
            // a late racer would delete the lock an early one just took, and two would win.
            env: { ...process.env, RETARGET_TEST_DELAY_AT: 'lock:takeover=300' },
          });
          let out = '';
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            if (d.toString().includes('ready;') && ++ready === 6) allReady();
          });
          child.on('close', () => resolve(out.replace('ready;', '')));
        }),
    );
    await readyPromise;
    writeFileSync(go, '');
    const results = await Promise.all(racers);
    expect(results.filter((r) => r === 'won')).toHaveLength(1);
    expect(results.filter((r) => r === 'LockBusyError')).toHaveLength(5);
    expect(existsSync(lockPathFor(s.db))).toBe(false);
  });

  it('treats a holder on another host as alive (it cannot be checked from here)', () => {
    const remote = {
      pid: deadPid(),
      hostname: 'elsewhere.example',
      startedAt: '2026-01-01T03:00:00Z',
      command: 'x',
    };
    writeFileSync(lockPathFor(s.db), JSON.stringify(remote));
    expect(() => acquireLock(s.db, 'taker')).toThrow(/pid \d+ on elsewhere.example/);
    writeFileSync(lockPathFor(s.db), '');
    expect(() => acquireLock(s.db, 'taker')).toThrow(LockBusyError); // unreadable: assume held
  });
});
