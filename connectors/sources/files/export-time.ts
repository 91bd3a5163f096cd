import { basename } from 'node:path';
import type { ExportTime } from '../../../warehouse/merge.ts';

/**
 * When a file was exported: a date (and time) in its name when it has one (`customers_2026-11-01.csv`,
 * `customers/20261101.parquet`, `customers_2026-11-01T0300.csv`), read as UTC; else its modification time.
 * The name wins because a copy, a restore or a `touch` changes the modification time of an old export but not
 * its name, and the export time decides which version of a record is the newest.
 */
export function exportTimeOf(file: { path: string; modifiedAt: Date }): ExportTime {
  const named = timeInName(basename(file.path));
  return named ? { at: named, approximate: false } : { at: file.modifiedAt, approximate: true };
}

// A date, then optionally a time: `T03:00[:15]` / `T0300[15]`, or a compact `_0300[15]` not followed by a '-'
// (which would be the start of a second date, as in `2026-11-01_2026-11-02`).
const STAMP =
  /(?:^|\D)((?:19|20)\d\d)-?(\d\d)-?(\d\d)(?:T(\d\d):?(\d\d)(?::?(\d\d))?|[_ -](\d\d)(\d\d)(\d\d)?(?![\d-]))?(?!\d)/g;

/** The last valid date-time in a file name (a name may carry a sequence number or a range before it). */
export function timeInName(name: string): Date | undefined {
  let found: Date | undefined;
  for (const m of name.matchAll(STAMP)) {
    const n = m.slice(1).map((v) => (v ? Number(v) : undefined));
    const [year, month, day] = n as [number, number, number];
    const [hour = 0, minute = 0, second = 0] = n[3] !== undefined ? n.slice(3, 6) : n.slice(6, 9);
    const at = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
    const valid = at.getUTCMonth() === month - 1 && at.getUTCDate() === day && hour < 24;
    if (valid && minute < 60 && second < 60) found = at;
  }
  return found;
}
