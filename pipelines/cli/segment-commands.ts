import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RetargetConfig } from '../../config/config.ts';
import {
  compileSegment,
  explainMembers,
  explainSegment,
  type LoadedSegment,
  loadSegmentFiles,
  loadSegments,
  splitKeyProblem,
  unseenNameWarnings,
} from '../../dsl/index.ts';
import { Warehouse } from '../../warehouse/warehouse.ts';
import { EXIT, UserError } from './errors.ts';
import { defaultAsOf, findSegment, openForReading } from './read.ts';

/** The segment commands: segments, preview, explain, validate (loaded only when one of them runs). */

/** Opens the database for reading if it exists; while a run holds it, says what is skipped and returns undefined. */
async function openIfReadable(config: RetargetConfig, db: string | undefined, skipped: string) {
  if (!existsSync(resolve(db ?? config.database))) return undefined;
  return openForReading(config, db).catch((err: unknown) => {
    if (err instanceof UserError && err.exitCode === EXIT.busy) {
      process.stderr.write(`retarget: ${skipped}: ${err.message}\n`);
      return undefined;
    }
    throw err;
  });
}

export async function segmentsCommand(
  config: RetargetConfig,
  flags: { db?: string; json?: boolean },
): Promise<void> {
  const segments = await loadSegments(resolve(config.segments.dir));
  const sizes = new Map<
    string,
    { audiences: number; members: number; heldOut: number; dryRun: string | null }
  >();
  // While a run writes the database nobody else may open it: still list the definitions, without sizes.
  const wh = await openIfReadable(config, flags.db, 'sizes unavailable');
  if (wh) {
    try {
      // Sizes from a dry run (audience_dry_runs) are what it evaluated, not what the destinations hold.
      for (const r of await wh.all<{
        segment: string;
        audiences: bigint;
        members: bigint;
        held_out: bigint;
        dry_run: string | null;
      }>(
        `SELECT segment, count(DISTINCT audience) AS audiences, count(*) AS members,
                count(*) FILTER (WHERE side = 'holdout') AS held_out, max(d.run_id) AS dry_run
         FROM audience_members LEFT JOIN audience_dry_runs d USING (audience) GROUP BY segment`,
      )) {
        sizes.set(r.segment, {
          audiences: Number(r.audiences),
          members: Number(r.members),
          heldOut: Number(r.held_out),
          dryRun: r.dry_run,
        });
      }
    } finally {
      wh.close();
    }
  }
  const rows = segments.map((s) => ({
    segment: s.definition.name,
    description: s.definition.description,
    file: s.file,
    audiences: sizes.get(s.definition.name)?.audiences ?? 0,
    members: sizes.get(s.definition.name)?.members ?? 0,
    // Held-out members are in `members` but never sent to a destination (docs/metrics.md, Holdouts).
    heldOut: sizes.get(s.definition.name)?.heldOut ?? 0,
    disabled: config.segments.disabled.includes(s.definition.name),
    dryRun: sizes.get(s.definition.name)?.dryRun ?? null,
  }));
  if (flags.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else {
    for (const r of rows) {
      process.stdout.write(
        `${r.segment.padEnd(24)} ${String(r.members).padStart(7)} members in ${r.audiences} audience(s)${r.heldOut ? ` (${r.heldOut} held out, not sent)` : ''}${r.disabled ? ' [disabled]' : ''}${r.dryRun ? ` [dry run ${r.dryRun}: not synced]` : ''}\n    ${r.description}\n`,
      );
    }
  }
}

/**
 * `name:<key>` must name an audience the data can have: a key the data has never seen (`cameras` for
 * `Cameras`) is an error listing the known audiences, never an empty preview.
 */
async function checkAudience(wh: Warehouse, segment: LoadedSegment, audience: string): Promise<void> {
  const colon = audience.indexOf(':');
  if (colon < 0) return;
  const { name, splitBy } = segment.definition;
  if (!splitBy)
    throw new UserError(`no audience '${audience}': '${name}' is a single audience (preview ${name})`);
  const key = audience.slice(colon + 1);
  const problem = await splitKeyProblem(wh, splitBy, key);
  if (!problem) return;
  const known = (
    await wh.all<{ audience: string }>(
      'SELECT DISTINCT audience FROM audience_members WHERE segment = $1 ORDER BY audience',
      [name],
    )
  ).map((r) => r.audience);
  const shown =
    known.length > 20 ? [...known.slice(0, 20), `… (${known.length - 20} more: retarget segments)`] : known;
  throw new UserError(
    `no audience '${audience}': the data has no ${splitBy} '${key}'` +
      `${problem.hint ? ` (did you mean '${name}:${problem.hint}'?)` : ''}. ` +
      `Known: ${shown.join(', ') || `none stored yet (run \`retarget run\` first)`}`,
  );
}

export async function previewCommand(
  config: RetargetConfig,
  audience: string,
  flags: { db?: string; asOf?: Date; limit: number; json?: boolean },
): Promise<void> {
  const segment = findSegment(await loadSegments(resolve(config.segments.dir)), audience);
  const wh = await openForReading(config, flags.db);
  try {
    await checkAudience(wh, segment, audience);
    const asOf = await defaultAsOf(wh, flags.asOf);
    const members = await explainMembers(wh, segment.definition, {
      asOf,
      audience: audience.includes(':') ? audience : undefined,
      limit: flags.limit,
    });
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ audience, asOf: asOf.toISOString(), members }, null, 2)}\n`);
      return;
    }
    process.stdout.write(`${audience} as of ${asOf.toISOString()}: showing ${members.length} member(s)\n`);
    for (const m of members) {
      process.stdout.write(`\n${m.customer_id}${m.audience !== audience ? `  [${m.audience}]` : ''}\n`);
      for (const r of m.reasons) process.stdout.write(`  - ${r}\n`);
    }
  } finally {
    wh.close();
  }
}

export async function explainCommand(
  config: RetargetConfig,
  audience: string,
  flags: { asOf?: Date },
): Promise<void> {
  const segment = findSegment(await loadSegments(resolve(config.segments.dir)), audience);
  process.stdout.write(`-- file: ${segment.file}\n`);
  process.stdout.write(`${explainSegment(segment.definition, { asOf: flags.asOf ?? new Date() })}\n`);
}

/**
 * Every definition compiles and DuckDB binds its SQL; when the database exists, names the data has never seen
 * (an event or category typo) are warned about, read-only.
 */
export async function validateCommand(config: RetargetConfig, flags: { db?: string }): Promise<void> {
  // Every bad file is reported, not just the first.
  const files = await loadSegmentFiles(resolve(config.segments.dir));
  const problems = files.failures.map((f) => f.error.message);
  const segments: LoadedSegment[] = [];
  const mem = await Warehouse.open({ path: ':memory:' });
  try {
    for (const s of files.segments) {
      try {
        const { sql, parameters } = compileSegment(s.definition, { asOf: new Date() });
        await mem.all(`EXPLAIN ${sql}`, parameters); // DuckDB binds it: names, types, functions
        segments.push(s);
        process.stdout.write(`✓ ${s.definition.name} (${s.file})\n`);
      } catch (err) {
        problems.push(`${s.file}: does not compile: ${(err as Error).message}`);
      }
    }
  } finally {
    mem.close();
  }
  for (const p of problems) process.stderr.write(`✗ ${p}\n`);
  const warnings: string[] = [];
  const wh = await openIfReadable(config, flags.db, 'names not checked against the data');
  if (wh) {
    try {
      warnings.push(...(await unseenNameWarnings(wh, segments)));
    } finally {
      wh.close();
    }
  }
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  process.stdout.write(
    `${segments.length} segment(s) valid${warnings.length ? `, ${warnings.length} warning(s): a name the data has never seen matches nobody` : ''}\n`,
  );
  if (problems.length > 0)
    throw new UserError(`${problems.length} segment file(s) invalid (each listed above)`, EXIT.failed);
}
