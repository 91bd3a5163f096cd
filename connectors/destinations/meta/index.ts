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
export { hashedSql, META_SCHEMA, metaDesiredSql, normalizedSql } from './normalize.ts';
