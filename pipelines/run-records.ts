import { randomBytes } from 'node:crypto';
import { redact } from '../shared/redact.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';

/** Sortable, unique run ids: r20261122T031500Z-7f3a. */
export function newRunId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `r${stamp}-${randomBytes(2).toString('hex')}`;
}

export async function startRun(wh: Warehouse, runId: string, asOf: Date, trigger: string): Promise<void> {
  await wh.run(
    `INSERT INTO pipeline_runs (run_id, started_at, status, as_of, trigger) VALUES ($1, now()::TIMESTAMP, 'running', $2, $3)`,
    [runId, asOf, trigger],
  );
}

/** Records the run's outcome; its error is redacted (no PII, no secret) like every stored message. */
export async function finishRun(wh: Warehouse, runId: string, status: string, error?: string): Promise<void> {
  await wh.run(
    `UPDATE pipeline_runs SET finished_at = now()::TIMESTAMP, status = $2, error = $3 WHERE run_id = $1`,
    [runId, status, error === undefined ? null : redact(error)],
  );
}

export interface StepOutcome {
  rowsIn?: number;
  rowsOut?: number;
  detail?: unknown;
}

export interface StepRecord {
  step: string;
  status: 'succeeded' | 'failed';
  seconds: number;
  rowsIn?: number;
  rowsOut?: number;
  error?: string;
}

/** Runs one step and records it in pipeline_steps (started, then finished with its outcome or error). */
export async function recordStep<T extends StepOutcome>(
  wh: Warehouse,
  runId: string,
  step: string,
  fn: () => Promise<T>,
): Promise<{ result: T; record: StepRecord }> {
  const started = performance.now();
  await wh.run(
    `INSERT INTO pipeline_steps (run_id, step, started_at, status) VALUES ($1, $2, now()::TIMESTAMP, 'running')`,
    [runId, step],
  );
  try {
    const result = await fn();
    const record: StepRecord = {
      step,
      status: 'succeeded',
      seconds: (performance.now() - started) / 1000,
      rowsIn: result.rowsIn,
      rowsOut: result.rowsOut,
    };
    await wh.run(
      `UPDATE pipeline_steps SET finished_at = now()::TIMESTAMP, status = 'succeeded', rows_in = $3, rows_out = $4, detail = $5
       WHERE run_id = $1 AND step = $2`,
      [
        runId,
        step,
        result.rowsIn ?? null,
        result.rowsOut ?? null,
        // A succeeded step's detail may still quote data (a segment that failed alone: its database error). Its
        // texts are redacted, not the JSON: a number such as 1.2345678901 seconds looks like a phone number.
        result.detail === undefined
          ? null
          : JSON.stringify(result.detail, (_key, v) => (typeof v === 'string' ? redact(v) : v)),
      ],
    );
    return { result, record };
  } catch (err) {
    // Redacted before it is stored or travels on (it becomes the run's error, printed and alerted).
    const message = redact((err as Error).message ?? String(err));
    await wh.run(
      `UPDATE pipeline_steps SET finished_at = now()::TIMESTAMP, status = 'failed', detail = $3 WHERE run_id = $1 AND step = $2`,
      [runId, step, JSON.stringify({ error: message })],
    );
    throw new StepError(step, message, (performance.now() - started) / 1000, err);
  }
}

export class StepError extends Error {
  constructor(
    readonly step: string,
    message: string,
    readonly seconds: number,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'StepError';
  }
}
