import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, freemem, hostname, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { StageResult } from './measure.ts';

export interface BenchReport {
  started_at: string;
  finished_at: string;
  ok: boolean;
  machine: {
    hostname: string;
    platform: string;
    release: string;
    cpus: number;
    cpu_model: string;
    total_mem_gib: number;
    free_mem_gib: number;
  };
  versions: { node: string; duckdb: string; retarget: string };
  scale: number;
  options: Record<string, unknown>;
  /** Every other figure: generation time, row counts, step timings. */
  figures: Record<string, unknown>;
  stages: StageResult[];
  datasets: Array<{
    name: string;
    rows: Record<string, number>;
    as_of: string;
    stages: StageResult[];
    error?: string;
  }>;
}

export function machine(): BenchReport['machine'] {
  const c = cpus();
  return {
    hostname: hostname(),
    platform: platform(),
    release: release(),
    cpus: c.length,
    cpu_model: c[0]?.model ?? 'unknown',
    total_mem_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    free_mem_gib: Math.round((freemem() / 2 ** 30) * 10) / 10,
  };
}

/** Writes bench/results/<timestamp>.json and returns its path. */
export function writeReport(report: BenchReport, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const stamp = report.started_at.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const path = join(dir, `${stamp}.json`);
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}

const fmt = (x: number | null | undefined, digits = 3) =>
  x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits);

/** The terminal table: one line per stage. */
export function stageTable(stages: StageResult[]): string {
  const header = ['stage', 'retarget s', 'baseline s', 'ratio', 'target', 'met'];
  const rows = stages.map((s) => {
    const value = s.unit ? `${fmt(s.value, s.unit === 'MiB' ? 0 : 0)} ${s.unit}` : fmt(s.ratio, 2);
    const target = s.target === null ? '-' : s.unit ? `<= ${fmt(s.target, 0)}` : `<= ${fmt(s.target, 2)}`;
    const target2 = s.unit === 'requests' ? `= ${fmt(s.target, 0)}` : target;
    const met = s.met === null ? '-' : s.met ? 'yes' : 'NO';
    return [s.name, fmt(s.retarget_s), fmt(s.baseline_s), value, target2, met];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
