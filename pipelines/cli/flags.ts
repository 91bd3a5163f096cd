import { InvalidArgumentError } from 'commander';

/**
 * Flag parsers: each accepts exactly what its help says and rejects everything else with one line naming the
 * expected form (commander turns the error into "option '--x' argument 'v' is invalid. <message>", exit 2).
 */

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * An ISO 8601 date (`2026-11-01`, midnight UTC) or date-time (`2026-11-01T03:00:00Z`; no offset means UTC, like
 * every timestamp in retarget). The calendar date is checked: `Date` would turn 2026-02-30 into March 2.
 */
export function parseAsOf(value: string): Date {
  const m = ISO.exec(value.trim());
  const fail = () =>
    new InvalidArgumentError(
      'not an ISO 8601 date or date-time: use e.g. 2026-11-01 or 2026-11-01T03:00:00Z (UTC unless an offset is given)',
    );
  if (!m) throw fail();
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone] = m;
  const day = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  const calendar =
    day.getUTCFullYear() === Number(y) &&
    day.getUTCMonth() === Number(mo) - 1 &&
    day.getUTCDate() === Number(d);
  if (!calendar || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) throw fail();
  const offset = !zone || zone.toUpperCase() === 'Z' ? 'Z' : zone.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const at = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}${frac.slice(0, 4)}${offset}`);
  if (Number.isNaN(at.getTime())) throw fail();
  return at;
}

/** A whole number of at least 1 (`--limit`, `--max-rows`): `abc`, `0`, `-3` and `2.5` are refused. */
export function parseCount(value: string): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

/** A comma-separated list of names (`--sources files,ga4`). */
export function parseNames(value: string): string[] {
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new InvalidArgumentError('expected one or more names separated by commas');
  return names;
}

/** `--period`: one of the calendar periods retention metrics are counted over. */
export function parsePeriod(value: string): 'month' | 'quarter' | 'year' {
  const v = value.trim().toLowerCase();
  if (v === 'month' || v === 'quarter' || v === 'year') return v;
  throw new InvalidArgumentError('expected month, quarter or year');
}

/** `--lifespan`: a positive number of years, fractions allowed (1.5); `0`, `-1`, `abc` and `2y` are refused. */
export function parseYears(value: string): number {
  const n = /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!(n > 0 && n <= 100))
    throw new InvalidArgumentError('expected a number of years above 0 and at most 100 (e.g. 2 or 1.5)');
  return n;
}
