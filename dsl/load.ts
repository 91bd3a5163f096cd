import { readdirSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SegmentBuilder } from './builders.ts';
import { parseDefinition, SegmentDefinitionError } from './schema.ts';
import type { SegmentDefinition } from './types.ts';

export const SEGMENTS_DIR = fileURLToPath(new URL('../segments/', import.meta.url));

export interface LoadedSegment {
  /** The module's path, relative to the working directory (as shown in errors). */
  file: string;
  definition: SegmentDefinition;
}

/** Turns a module's default export (a builder or plain data) into validated definition data. */
export function definitionFrom(exported: unknown, file: string): SegmentDefinition {
  if (exported === undefined)
    throw new SegmentDefinitionError(file, [
      { path: '', message: "has no default export (export default segment('name')...)" },
    ]);
  // Duck-typed: a segments dir outside the repo may import its own copy of the builders.
  const raw =
    exported instanceof SegmentBuilder ||
    (typeof exported === 'object' &&
      exported !== null &&
      typeof (exported as { toDefinition?: unknown }).toDefinition === 'function')
      ? (exported as SegmentBuilder).toDefinition()
      : exported;
  return parseDefinition(raw, file);
}

/**
 * Imports every segments/*.ts module (one segment each, default export), validates it and checks names are
 * unique. Throws SegmentDefinitionError naming the file and field of the first bad definition.
 */
export async function loadSegments(dir: string = SEGMENTS_DIR): Promise<LoadedSegment[]> {
  const files = readdirSync(dir)
    .filter(
      (f) => /\.(ts|mts|js|mjs)$/.test(f) && !/\.(test|spec|d)\.[mc]?[tj]s$/.test(f) && !f.startsWith('_'),
    )
    .sort();
  const loaded: LoadedSegment[] = [];
  const byName = new Map<string, string>();
  for (const f of files) {
    const abs = resolve(dir, f);
    const file = relative(process.cwd(), abs) || f;
    let mod: { default?: unknown };
    try {
      // The modification time in the URL makes a long-running process (retarget schedule) see edited files.
      const url = `${pathToFileURL(abs).href}?mtime=${Math.trunc(statSync(abs).mtimeMs)}`;
      mod = (await import(url)) as { default?: unknown };
    } catch (err) {
      throw new SegmentDefinitionError(file, [
        { path: '', message: `cannot be imported: ${(err as Error).message}` },
      ]);
    }
    const definition = definitionFrom(mod.default, file);
    const other = byName.get(definition.name);
    if (other)
      throw new SegmentDefinitionError(file, [
        { path: 'name', message: `'${definition.name}' is already defined in ${other}` },
      ]);
    byName.set(definition.name, file);
    loaded.push({ file, definition });
  }
  return loaded;
}

/** Finds the segment serving an audience: `name` or `name:<key>` for split segments. */
export function segmentForAudience(segments: LoadedSegment[], audience: string): LoadedSegment | undefined {
  return (
    segments.find((s) => s.definition.name === audience && !s.definition.splitBy) ??
    segments.find((s) => s.definition.splitBy && audience.startsWith(`${s.definition.name}:`)) ??
    segments.find((s) => s.definition.name === audience)
  );
}
