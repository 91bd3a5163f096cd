import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, onTestFinished, TestRunner } from 'vitest';

/**
 * A fresh folder `retarget-<name>-XXXXXX` in the run's temp folder (test/global-temp.ts), removed when the test
 * that made it ends (called in a test or a beforeEach) or when its suite's tests are done (called at module level
 * or in a describe body; not in a beforeAll, which can no longer register an afterAll: the folder would stay until
 * the run ends). The run's folder is removed at the end anyway; removing each one as soon as it is done with keeps
 * a long run's disk use small.
 */
export function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `retarget-${name}-`));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  if (TestRunner.getCurrentTest()) onTestFinished(remove);
  else afterAll(remove);
  return dir;
}
