export {
  defaultRetry,
  type MetaConfig,
  type MetaConfigInput,
  metaConfigFromEnv,
  resolveMetaConfig,
} from './config.ts';
export { createMetaDestination, forgetMetaAudience, type MetaDestinationOptions } from './destination.ts';
export { MetaApiError } from './errors.ts';
export { hashedSql, META_SCHEMA, metaDesiredSql, normalizedSql } from './normalize.ts';
