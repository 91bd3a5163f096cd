import type { RunSummary } from '../run.ts';

const n = (x: number) => x.toLocaleString('en-US');

/** A plain-text table; numbers are right-aligned with thousands separators. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? n(c) : c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r: Array<string | number>) =>
    r
      .map((c, i) =>
        typeof rows[0]?.[i] === 'number' ? String(c).padStart(widths[i]!) : String(c).padEnd(widths[i]!),
      )
      .join('  ');
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** Audience sizes and movements of one run. */
export function audiencesTable(
  audiences: ReadonlyArray<{ audience: string; members: unknown; entered: unknown; exited: unknown }>,
): string {
  return table(
    ['audience', 'members', 'entered', 'exited'],
    audiences.map((a) => [a.audience, Number(a.members), Number(a.entered), Number(a.exited)]),
  );
}

/** The readable run summary: loads, audiences, destinations, timings. */
export function formatRunSummary(s: RunSummary): string {
  const out: string[] = [];
  out.push(
    `Run ${s.runId} ${s.status.toUpperCase()}${s.dryRun ? ' (dry run: nothing sent)' : ''} — as of ${s.asOf}`,
  );
  out.push(`Database: ${s.database}`);
  if (s.loads.length) {
    out.push(
      '',
      'Loaded',
      table(
        ['table', 'files', 'skipped', 'read', 'loaded', 'rejected'],
        s.loads.map((t) => [t.table, t.files, t.filesSkipped, t.rowsRead, t.rowsLoaded, t.rowsRejected]),
      ),
    );
    const rejected = s.loads.reduce((k, t) => k + t.rowsRejected, 0);
    if (rejected > 0)
      out.push(
        `${n(rejected)} rejected row(s) quarantined: SELECT * FROM rejected_rows WHERE run_id = '${s.runId}'`,
      );
  }
  if (s.audiences.length) out.push('', 'Audiences', audiencesTable(s.audiences));
  for (const d of s.destinations) {
    const rows = d.audiences.filter((a) => a.status !== 'unchanged' || a.size > 0);
    out.push(
      '',
      `Destination ${d.destination}`,
      table(
        ['audience', 'status', 'adds', 'removes', 'size'],
        rows.map((a) => [
          a.audience,
          a.status + (a.message ? ` (${a.message})` : ''),
          a.adds,
          a.removes,
          a.size,
        ]),
      ),
    );
  }
  if (s.steps.length) {
    out.push(
      '',
      'Steps',
      table(
        ['step', 'seconds'],
        s.steps.map((st) => [st.step, st.seconds.toFixed(2)]),
      ),
    );
  }
  if (s.warnings?.length) out.push('', 'Warnings', ...s.warnings.map((w) => `! ${w}`));
  if (s.error) out.push('', `Error in ${s.error.step}: ${s.error.message}`);
  return out.join('\n');
}

/**
 * JSON output uses one naming style, camelCase (`runId`, `asOf`, `rowsRejected`), like the run summary and
 * alerts: database rows (`run_id`, `started_at`) are renamed on the way out. Only for records whose keys are
 * field names, never for maps keyed by data (table or audience names).
 */
export function camelKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelKeys);
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype)
    return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()),
      camelKeys(v),
    ]),
  );
}
