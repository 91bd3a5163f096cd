/** Timing helpers: ratios, not absolute times, are what the bench judges (machines are noisy). */

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function seconds(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
}

export interface Paired {
  retarget: number[];
  baseline: number[];
}

/**
 * Runs baseline and retarget alternately (ABBA order, so neither always runs on a warmer cache or a quieter
 * machine), each `reps` times; `setup` runs untimed before every measurement.
 */
export async function alternate(
  reps: number,
  baseline: (rep: number) => Promise<unknown>,
  retarget: (rep: number) => Promise<unknown>,
  setup?: () => Promise<void>,
): Promise<Paired> {
  const out: Paired = { retarget: [], baseline: [] };
  for (let rep = 0; rep < reps; rep++) {
    const order: Array<'baseline' | 'retarget'> =
      rep % 2 === 0 ? ['baseline', 'retarget'] : ['retarget', 'baseline'];
    for (const which of order) {
      await setup?.();
      const fn = which === 'baseline' ? baseline : retarget;
      out[which].push(await seconds(() => fn(rep)));
    }
  }
  return out;
}

/** A stage row of the report: `ratio = retarget_s / baseline_s`, met when ratio <= target. */
export interface StageResult {
  name: string;
  retarget_s: number | null;
  baseline_s: number | null;
  ratio: number | null;
  /** Upper bound for `ratio` (or for `value` when the stage has a `unit`). */
  target: number | null;
  met: boolean | null;
  /** For stages judged on something else than a time ratio (e.g. peak RSS in MiB, requests). */
  value?: number;
  unit?: string;
  /** Every repetition, so the spread is visible. */
  samples?: Paired;
  note?: string;
  [extra: string]: unknown;
}

export function ratioStage(
  name: string,
  samples: Paired,
  target: number,
  extra: Record<string, unknown> = {},
): StageResult {
  const r = median(samples.retarget);
  const b = median(samples.baseline);
  const ratio = b > 0 ? r / b : null;
  return {
    name,
    retarget_s: round(r),
    baseline_s: round(b),
    ratio: ratio === null ? null : round(ratio, 3),
    target,
    met: ratio === null ? null : ratio <= target,
    samples: {
      retarget: samples.retarget.map((x) => round(x)),
      baseline: samples.baseline.map((x) => round(x)),
    },
    ...extra,
  };
}

export function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
