import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RetargetConfig } from '../../config/config.ts';
import type { LoadedSegment } from '../../dsl/index.ts';
import { Warehouse } from '../../warehouse/warehouse.ts';
import { busyError } from '../ops/writer.ts';
import { EXIT, UserError } from './errors.ts';

/** Opens the database for reading, with a clear message when there is none yet or a run holds it. */
export async function openForReading(config: RetargetConfig, db?: string): Promise<Warehouse> {
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
export async function defaultAsOf(wh: Warehouse, asOf?: Date): Promise<Date> {
  if (asOf) return asOf;
  const last = await wh.one<{ as_of: Date }>(
    'SELECT as_of FROM pipeline_runs ORDER BY started_at DESC LIMIT 1',
  );
  return last?.as_of ?? new Date();
}

export function findSegment(segments: LoadedSegment[], audience: string): LoadedSegment {
  const name = audience.split(':')[0]!;
  const found = segments.find((s) => s.definition.name === name);
  if (!found) {
    throw new UserError(
      `no segment named '${name}'. Known: ${segments.map((s) => s.definition.name).join(', ')}`,
    );
  }
  return found;
}
