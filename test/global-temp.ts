import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * vitest globalSetup: every test file, and every process a test starts, gets its temp folder (os.tmpdir(), which
 * reads TMPDIR) inside one folder for this run, removed when the run ends. A test killed mid-way, or one that
 * forgets its own cleanup, then leaves nothing behind: runs used to leave databases and customer files in the
 * system temp folder.
 */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'retarget-test-run-'));
  process.env.TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true });
}
