import type { Warehouse } from '../warehouse/warehouse.ts';

export interface StatementTiming {
  seconds: number;
  sql: string;
}

/**
 * Records how long each statement of a Warehouse takes (wrapping this one instance's run/all/json methods),
 * to find which of a component's statements dominates before reading its EXPLAIN ANALYZE.
 */
export function recordStatements(wh: Warehouse): { timings: StatementTiming[]; stop: () => void } {
  const timings: StatementTiming[] = [];
  const methods = ['run', 'all', 'json'] as const;
  const originals = methods.map((m) => wh[m]);
  for (const m of methods) {
    const original = wh[m].bind(wh) as (sql: string, params?: readonly unknown[]) => Promise<unknown>;
    Object.defineProperty(wh, m, {
      configurable: true,
      value: async (sql: string, params?: readonly unknown[]) => {
        const started = performance.now();
        try {
          return await original(sql, params);
        } finally {
          timings.push({
            seconds: (performance.now() - started) / 1000,
            sql: sql.replace(/\s+/g, ' ').trim(),
          });
        }
      },
    });
  }
  return {
    timings,
    stop: () => {
      methods.forEach((m, i) => {
        Object.defineProperty(wh, m, { configurable: true, value: originals[i] });
      });
    },
  };
}
