import type { SourceDefinition, SourceLoadResult } from '../contract.ts';
import { ECWID_ENV, type EcwidSettings, ecwidConfig, ecwidSettingsSchema } from './config.ts';
import { type EcwidPullReport, pullEcwid } from './pull.ts';

/**
 * Ecwid (docs/ecwid.md): enabled when ECWID_STORE_ID and ECWID_TOKEN are set; one step, `load:ecwid`, whose
 * summary has a row per object and table (rows pulled, loaded, rejected).
 */
export const ecwidSource: SourceDefinition<EcwidSettings> = {
  name: 'ecwid',
  settings: ecwidSettingsSchema,
  env: ECWID_ENV,
  fromConfig(settings, env) {
    const config = ecwidConfig(settings, env);
    if (!config) return [];
    return [
      {
        step: 'ecwid',
        async load(wh, ctx) {
          const report = await pullEcwid(wh, config, {
            runId: ctx.runId,
            now: new Date(),
            log: ctx.log,
            checkpoint: ctx.checkpoint,
          });
          return result(report);
        },
      },
    ];
  },
};

function result(report: EcwidPullReport): SourceLoadResult {
  const loads = report.objects.flatMap((o) => o.loads);
  return {
    loads,
    warnings: report.warnings,
    rowsIn: loads.reduce((n, l) => n + l.rowsRead, 0),
    rowsOut: loads.reduce((n, l) => n + l.rowsLoaded, 0),
    // `loads` at the top: `retarget runs <run>` shows them per table.
    detail: { loads, ...report },
  };
}
