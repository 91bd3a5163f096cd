export {
  defaultRetry,
  type MetaConfig,
  type MetaConfigInput,
  type MetaSettings,
  metaConfigFromEnv,
  metaSettingsSchema,
  resolveMetaConfig,
} from './config.ts';
export {
  createMetaDestination,
  forgetMetaAudience,
  type MetaDestinationOptions,
  metaDestinationFromConfig,
} from './destination.ts';
export { MetaApiError } from './errors.ts';
export { audienceSourceSql, createMetaRows, META_SCHEMA } from './normalize.ts';
