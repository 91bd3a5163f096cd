/** Crash tests against the Meta fake: a child process that syncs, killed the moment it sends a given batch. */
import { type ChildProcess, spawn } from 'node:child_process';
import type { UploadKind } from '../../connectors/destinations/meta/graph.ts';
import { FakeMetaGraph } from './meta-graph.ts';

export interface CrashedChild {
  fake: FakeMetaGraph;
  /** The child's exit: 'SIGKILL' when it died as planned. */
  exit: number | NodeJS.Signals | null;
  stderr: string;
}

/**
 * Starts a Graph fake and a child process (`node --import tsx <script> ...args(graphUrl)`), and SIGKILLs the child
 * when it sends batch `batchSeq` of an upload of `kind`, before Meta applies it; or, for kind 'create', once Meta
 * has created the audience but before the child hears of it. Resolves once the child is dead.
 */
export async function crashChildAtBatch(options: {
  token: string;
  accountId: string;
  kind: UploadKind | 'create';
  batchSeq: number;
  script: string;
  args: (graphUrl: string) => string[];
  cwd?: string;
}): Promise<CrashedChild> {
  let child: ChildProcess | undefined;
  let killed = false;
  const kill = async () => {
    killed = true;
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child!.kill('SIGKILL');
    await exited;
    throw new Error('client died'); // the answer never reaches the client
  };
  const fake = new FakeMetaGraph({
    token: options.token,
    accountId: options.accountId,
    beforeUpload: async (info) => {
      if (!killed && info.kind === options.kind && info.batchSeq === options.batchSeq) await kill();
    },
    afterCreate: async () => {
      if (!killed && options.kind === 'create') await kill();
    },
  });
  const url = await fake.start();
  child = spawn(process.execPath, ['--import', 'tsx', options.script, ...options.args(url)], {
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exit = await new Promise<number | NodeJS.Signals | null>((resolve) =>
    child!.once('exit', (code, signal) => resolve(signal ?? code)),
  );
  return { fake, exit, stderr };
}
