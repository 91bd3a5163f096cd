import { z } from 'zod';
import type { DestinationDefinition } from '../contract.ts';
import { createCsvDestination } from './csv-destination.ts';

/** `destinations.csv`: on by default; `dir` defaults to audiences/<database name>/ beside the database. */
export const csvSettingsSchema = z
  .object({
    dir: z.string().min(1).optional(),
    /** Largest drop of an audience written without --force, as a share of its last file (default 0.5). */
    maxShrink: z.number().min(0).max(1).optional(),
  })
  .strict();
export type CsvSettings = z.output<typeof csvSettingsSchema>;

/** Audience CSV files: each audience written whole, atomically, when it changed. */
export const csvDefinition: DestinationDefinition<CsvSettings> = {
  name: 'csv',
  settings: csvSettingsSchema,
  env: [],
  enabledByDefault: true,
  fromConfig: (settings) => ({
    kind: 'whole',
    capabilities: { maxRowsPerRequest: Number.POSITIVE_INFINITY, replace: true },
    ...createCsvDestination(settings ?? {}),
  }),
};
