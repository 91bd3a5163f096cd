/** Google Analytics 4 source: the Data API (aggregated reports) and BigQuery export files, into `events`. */
export type { Ga4Api } from './client.ts';
export { createGa4Client, Ga4QuotaExhausted } from './client.ts';
export {
  DEFAULT_GA4_REPORTS,
  type Ga4Config,
  Ga4ConfigError,
  type Ga4ConfigInput,
  type Ga4ExportConfig,
  type Ga4ReportDefinition,
  type Ga4ReportInput,
  type Ga4Sources,
  ga4ConfigFromEnv,
  ga4ConfigSchema,
  ga4ExportPathsFromEnv,
  ga4ExportSchema,
  ga4SourcesFromConfig,
  parseGa4Config,
} from './config.ts';
export {
  type Ga4PullOptions,
  type Ga4PullResult,
  type Ga4QuotaSnapshot,
  type Ga4ReportResult,
  pullGa4DataApi,
} from './data-api.ts';
export {
  EXPORT_SOURCE,
  type Ga4ExportOptions,
  type Ga4ExportResult,
  type Ga4ExportTableResult,
  loadGa4Export,
} from './export.ts';
export type { Ga4Logger, Ga4RunContext } from './log.ts';
export { DATA_API_SOURCE } from './stage.ts';
