/** Calendar days as 'YYYY-MM-DD' strings (GA4's own date format in requests), computed in UTC. */

const DAY_MS = 86_400_000;

export function isoDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

export function addDays(day: string, n: number): string {
  return isoDay(new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS));
}

/** Consecutive ranges of at most `size` days covering [from, to], oldest first. */
export function dayChunks(from: string, to: string, size: number): Array<{ from: string; to: string }> {
  const chunks: Array<{ from: string; to: string }> = [];
  for (let start = from; start <= to; start = addDays(start, size)) {
    const end = addDays(start, size - 1);
    chunks.push({ from: start, to: end < to ? end : to });
  }
  return chunks;
}

/** '20261120' -> '2026-11-20'. */
export function dashed(compact: string): string {
  return `${compact.slice(0, 4)}-${compact.slice(4, 6)}-${compact.slice(6, 8)}`;
}
