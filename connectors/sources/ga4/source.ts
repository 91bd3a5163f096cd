import { z } from 'zod';
import type { SourceDefinition, SourceLoad, SourceLoadContext } from '../contract.ts';
import { ga4SourcesFromConfig } from './config.ts';
import { pullGa4DataApi } from './data-api.ts';
import { loadGa4Export } from './export.ts';
import type { Ga4Logger } from './log.ts';

/** `sources.ga4`: checked field by field by ga4SourcesFromConfig (docs/ga4.md), which names each bad field. */
const ga4Settings = z.record(z.string(), z.unknown());

function ga4Log(ctx: SourceLoadContext): Ga4Logger {
  return {
    info: (o: object, m?: string) => ctx.log(`${m ?? ''} ${JSON.stringify(o)}`.trim()),
    warn: (o: object, m?: string) => ctx.log(`warning: ${m ?? ''} ${JSON.stringify(o)}`.trim()),
  };
}

/**
 * GA4, one source name (`ga4`) for both of its paths, each recorded as its own step: the Data API
 * (`load:ga4`) and the BigQuery export files (`load:ga4_export`).
 */
export const ga4Source: SourceDefinition<Record<string, unknown>> = {
  name: 'ga4',
  settings: ga4Settings,
  env: ['GA4_PROPERTY_ID', 'GA4_EXPORT_PATHS', 'GOOGLE_APPLICATION_CREDENTIALS'],
  fromConfig(settings, env) {
    const ga4 = ga4SourcesFromConfig(settings, env);
    const loads: SourceLoad[] = [];
    const api = ga4.dataApi;
    if (api)
      loads.push({
        step: 'ga4',
        async load(wh, ctx) {
          const r = await pullGa4DataApi(wh, api, { runId: ctx.runId, asOf: ctx.asOf, log: ga4Log(ctx) });
          if (r.stopped)
            ctx.log(`GA4 quota exhausted; the next run continues from here: ${r.stopped.message}`);
          const load = { table: 'events', files: 0, filesSkipped: 0, ...counts(r) };
          return { loads: [load], warnings: [], rowsIn: r.rowsRead, rowsOut: r.rowsLoaded, detail: r };
        },
      });
    const exp = ga4.export;
    if (exp)
      loads.push({
        step: 'ga4_export',
        async load(wh, ctx) {
          const r = await loadGa4Export(wh, exp, { runId: ctx.runId, asOf: ctx.asOf, log: ga4Log(ctx) });
          const files = r.tables.reduce((n, t) => n + t.files.length, 0);
          const load = { table: 'events', files, filesSkipped: r.tablesSkipped, ...counts(r) };
          return { loads: [load], warnings: [], rowsIn: r.rowsRead, rowsOut: r.rowsLoaded, detail: r };
        },
      });
    return loads;
  },
};

function counts(r: { rowsRead: number; rowsLoaded: number; rowsRejected: number }) {
  return { rowsRead: r.rowsRead, rowsLoaded: r.rowsLoaded, rowsRejected: r.rowsRejected };
}
