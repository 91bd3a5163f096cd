import { sqlList } from '../warehouse/values.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';
import type { Condition, SegmentDefinition, SplitBy } from './types.ts';

/**
 * The data a definition names (event names, categories, product ids), checked against what the warehouse has
 * seen. A typo (`view_itme`, `cameras` for `Cameras`) compiles and runs fine but matches nobody: a silent zero
 * that only the data can reveal.
 */

export interface NamedValues {
  events: Set<string>;
  categories: Set<string>;
  products: Set<string>;
}

/** Every event name, category and product id the definition's conditions mention. */
export function namedValues(def: SegmentDefinition): NamedValues {
  const out: NamedValues = { events: new Set(), categories: new Set(), products: new Set() };
  const scope = (s: { products?: string[]; categories?: string[] } | undefined) => {
    for (const p of s?.products ?? []) out.products.add(p);
    for (const c of s?.categories ?? []) out.categories.add(c);
  };
  const walk = (c: Condition): void => {
    if (c.kind === 'performed') {
      for (const e of c.events) out.events.add(e);
      scope(c);
      scope(c.notFollowedBy);
    } else if (c.kind === 'purchased') scope(c);
    else if (c.kind === 'complements') scope(c.of);
    else if (c.kind === 'all') c.all.forEach(walk);
    else if (c.kind === 'any') c.any.forEach(walk);
    else if (c.kind === 'not') walk(c.not);
  };
  walk(def.where);
  return out;
}

/** What the warehouse has seen, for one kind of name. */
interface Seen {
  what: string;
  where: string;
  /** The names the data holds among `names`. */
  present(names: string[]): Promise<Set<string>>;
  /** Candidates for "did you mean" (distinct values; bounded). */
  candidates(): Promise<string[]>;
}

const SEEN: Record<keyof NamedValues, (wh: Warehouse) => Seen> = {
  events: (wh) => ({
    what: 'event',
    where: 'events',
    present: (names) =>
      distinct(
        wh,
        `SELECT DISTINCT event_name AS v FROM events WHERE event_name IN (SELECT unnest(${sqlList(names)}))`,
      ),
    candidates: async () => [
      ...(await distinct(wh, 'SELECT DISTINCT event_name AS v FROM events LIMIT 1000')),
    ],
  }),
  categories: (wh) => ({
    what: 'category',
    where: 'products or events',
    present: (names) =>
      distinct(
        wh,
        `SELECT category AS v FROM products WHERE category IN (SELECT unnest(${sqlList(names)}))
         UNION SELECT category FROM events WHERE category IN (SELECT unnest(${sqlList(names)}))`,
      ),
    candidates: async () => [
      ...(await distinct(
        wh,
        'SELECT category AS v FROM products WHERE category IS NOT NULL UNION SELECT category FROM events WHERE category IS NOT NULL LIMIT 5000',
      )),
    ],
  }),
  products: (wh) => ({
    what: 'product',
    where: 'products or events',
    present: (names) =>
      distinct(
        wh,
        `SELECT product_id AS v FROM products WHERE product_id IN (SELECT unnest(${sqlList(names)}))
         UNION SELECT product_id FROM events WHERE product_id IN (SELECT unnest(${sqlList(names)}))`,
      ),
    candidates: async () => [],
  }),
};

async function distinct(wh: Warehouse, sql: string): Promise<Set<string>> {
  return new Set((await wh.all<{ v: string }>(sql)).map((r) => r.v));
}

/**
 * One warning per name the data has never seen, e.g. "segments/x.ts: event 'view_itme' never appears in events
 * (did you mean 'view_item'?)". Tables without rows are not judged (a fresh database has seen nothing yet).
 */
export async function unseenNameWarnings(
  wh: Warehouse,
  segments: ReadonlyArray<{ file: string; definition: SegmentDefinition }>,
): Promise<string[]> {
  const warnings: string[] = [];
  const hasRows = {
    events: await wh.scalar('SELECT count(*) FROM (SELECT 1 FROM events LIMIT 1)'),
    products: await wh.scalar('SELECT count(*) FROM (SELECT 1 FROM products LIMIT 1)'),
  };
  for (const kind of ['events', 'categories', 'products'] as const) {
    if (kind === 'events' ? !hasRows.events : !hasRows.events && !hasRows.products) continue;
    const seen = SEEN[kind](wh);
    const perSegment = segments.map((s) => ({ file: s.file, names: [...namedValues(s.definition)[kind]] }));
    const all = [...new Set(perSegment.flatMap((s) => s.names))];
    if (all.length === 0) continue;
    const present = await seen.present(all);
    const missing = all.filter((n) => !present.has(n));
    if (missing.length === 0) continue;
    const candidates = await seen.candidates();
    for (const { file, names } of perSegment) {
      for (const name of names.filter((n) => !present.has(n))) {
        const hint = closest(name, candidates);
        warnings.push(
          `${file}: ${seen.what} '${name}' never appears in ${seen.where}${hint ? ` (did you mean '${hint}'?)` : ''}`,
        );
      }
    }
  }
  return warnings;
}

/**
 * The known name closest to `name`: a case-insensitive match first, then the smallest edit distance if it is
 * small for the name's length (a hint that is far off misleads more than it helps).
 */
export function closest(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  const same = known.find((k) => k.toLowerCase() === lower);
  if (same) return same;
  let best: { k: string; d: number } | undefined;
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase());
    if (!best || d < best.d) best = { k, d };
  }
  return best && best.d <= Math.max(1, Math.floor(name.length / 3)) ? best.k : undefined;
}

/** Levenshtein distance with adjacent transpositions (`itme` -> `item` is one edit). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [
    i,
    ...Array<number>(b.length).fill(0),
  ]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * Whether the data has `key` as a value of the split column (`category_browsers:cameras` when the category is
 * `Cameras` is no audience at all), with the closest known value as a hint.
 */
export async function splitKeyProblem(
  wh: Warehouse,
  splitBy: SplitBy,
  key: string,
): Promise<{ hint?: string } | undefined> {
  const seen = SEEN[splitBy === 'category' ? 'categories' : 'products'](wh);
  if ((await seen.present([key])).has(key)) return undefined;
  return { hint: closest(key, await seen.candidates()) };
}
