import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import type { PartialLoadError, SourceDefinition, SourceLoadResult } from '../contract.ts';
import { FilesLoadError, type FilesLoadReport, filesWarnings, loadFilesSource } from './load.ts';

/** `sources.files` in retarget.config.ts: on by default, reading the demo store's folder. */
export const filesSettingsSchema = z
  .object({
    dir: z.string().min(1).default('data/demo'),
    /** Abort a table's load when rejected rows exceed this share of rows read. */
    maxRejectShare: z.number().min(0).max(1).default(0.05),
  })
  .strict();
export type FilesSettings = z.output<typeof filesSettingsSchema>;

function result(report: FilesLoadReport): SourceLoadResult {
  return {
    loads: report.tables,
    warnings: filesWarnings(report),
    rowsIn: report.tables.reduce((n, t) => n + t.rowsRead, 0),
    rowsOut: report.tables.reduce((n, t) => n + t.rowsLoaded, 0),
    detail: report.tables,
  };
}

/** The files source: a folder of CSV / JSON Lines exports, one subfolder or file prefix per table. */
export const filesSource: SourceDefinition<FilesSettings> = {
  name: 'files',
  settings: filesSettingsSchema,
  env: [],
  enabledByDefault: true,
  fromConfig(settings) {
    const files = filesSettingsSchema.parse(settings ?? {});
    return [
      {
        step: 'files',
        async load(wh, ctx) {
          const dir = resolve(ctx.sourceDir ?? files.dir);
          if (!existsSync(dir))
            throw new Error(
              `source directory not found: ${dir} (pass --source-dir, set sources.files.dir in retarget.config.ts, or run \`npm start\` for the demo store)`,
            );
          const report = await loadFilesSource(wh, {
            dir,
            runId: ctx.runId,
            maxRejectShare: files.maxRejectShare,
            beforeCommit: (table) => ctx.checkpoint(`commit:${table}`), // a kill here loses the whole table
            log: (m) => {
              const table = /^(\w+): reading/.exec(m)?.[1];
              if (table) ctx.checkpointSync(`load:${table}`);
              ctx.log(m);
            },
          }).catch((err: unknown) => {
            // Ignored files, unknown columns and every failing table are reported, also when some table failed.
            if (err instanceof FilesLoadError) (err as PartialLoadError).partial = result(err.report);
            throw err;
          });
          return result(report);
        },
      },
    ];
  },
};
