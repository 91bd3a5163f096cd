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

/** A segment file that cannot be used this run. */
export interface SegmentFileFailure {
  file: string;
  /** import: the module fails to load; invalid: its definition does not validate; duplicate: name taken. */
  kind: 'import' | 'invalid' | 'duplicate';
  /** The segment name the file declares, when it could be read (its audiences are held). */
  segment?: string;
  error: SegmentDefinitionError;
}

export interface SegmentFiles {
  segments: LoadedSegment[];
  failures: SegmentFileFailure[];
}

/**
 * Imports every segments/*.ts module (one segment each, default export), validates it and checks names are
 * unique. A bad file never hides the others: every good segment is returned, with one failure per bad file
 * (a duplicate name is the failure of the later file in load order, the one that introduced it).
 */
export async function loadSegmentFiles(dir: string = SEGMENTS_DIR): Promise<SegmentFiles> {
  const files = readdirSync(dir)
    .filter(
      (f) => /\.(ts|mts|js|mjs)$/.test(f) && !/\.(test|spec|d)\.[mc]?[tj]s$/.test(f) && !f.startsWith('_'),
    )
    .sort();
  const segments: LoadedSegment[] = [];
  const failures: SegmentFileFailure[] = [];
  const byName = new Map<string, string>();
  for (const f of files) {
    const abs = resolve(dir, f);
    const file = relative(process.cwd(), abs) || f;
    let exported: unknown;
    try {
      // The modification time in the URL makes a long-running process (retarget schedule) see edited files.
      const url = `${pathToFileURL(abs).href}?mtime=${Math.trunc(statSync(abs).mtimeMs)}`;
      exported = ((await import(url)) as { default?: unknown }).default;
    } catch (err) {
      const message = `cannot be imported: ${(err as Error).message}`;
      failures.push({
        file,
        kind: 'import',
        error: new SegmentDefinitionError(file, [{ path: '', message }]),
      });
      continue;
    }
    let definition: SegmentDefinition;
    try {
      definition = definitionFrom(exported, file);
    } catch (err) {
      if (!(err instanceof SegmentDefinitionError)) throw err;
      failures.push({ file, kind: 'invalid', segment: declaredName(exported), error: err });
      continue;
    }
    const other = byName.get(definition.name);
    if (other) {
      const message = `'${definition.name}' is already defined in ${other}`;
      failures.push({
        file,
        kind: 'duplicate',
        error: new SegmentDefinitionError(file, [{ path: 'name', message }]),
      });
      continue;
    }
    byName.set(definition.name, file);
    segments.push({ file, definition });
  }
  return { segments, failures };
}

/** Several bad segment files at once: the message lists each file's problems. */
export class SegmentFilesError extends Error {
  constructor(readonly failures: SegmentFileFailure[]) {
    super(failures.map((f) => f.error.message).join('\n'));
    this.name = 'SegmentDefinitionError';
  }
}

/** Like loadSegmentFiles, but any bad file is an error naming every bad file and field. */
export async function loadSegments(dir: string = SEGMENTS_DIR): Promise<LoadedSegment[]> {
  const { segments, failures } = await loadSegmentFiles(dir);
  if (failures.length === 1) throw failures[0]!.error;
  if (failures.length > 1) throw new SegmentFilesError(failures);
  return segments;
}

/** The name an invalid module declares, if it is a lower_snake_case string (so its audiences can be held). */
function declaredName(exported: unknown): string | undefined {
  try {
    const raw =
      typeof (exported as { toDefinition?: unknown })?.toDefinition === 'function'
        ? (exported as SegmentBuilder).toDefinition()
        : exported;
    const name = (raw as { name?: unknown })?.name;
    return typeof name === 'string' && /^[a-z][a-z0-9_]*$/.test(name) ? name : undefined;
  } catch {
    return undefined;
  }
}

/** Finds the segment serving an audience: `name` or `name:<key>` for split segments. */
export function segmentForAudience(segments: LoadedSegment[], audience: string): LoadedSegment | undefined {
  return (
    segments.find((s) => s.definition.name === audience && !s.definition.splitBy) ??
    segments.find((s) => s.definition.splitBy && audience.startsWith(`${s.definition.name}:`)) ??
    segments.find((s) => s.definition.name === audience)
  );
}
