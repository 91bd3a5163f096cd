import { defineConfig } from './config/config.ts';

// The demo store's configuration: `npm start` generates data/demo once and runs the pipeline on it.
// Point sources.files.dir at your own exports (or pass --source-dir) to run on real data.
export default defineConfig({
  database: 'data/retarget.duckdb',
  sources: {
    files: { dir: 'data/demo', maxRejectShare: 0.05 },
  },
  // Audience CSV files go to data/audiences/retarget/ (audiences/<database name>/ beside the database, so another
  // --db never writes into this store's folder); set destinations.csv.dir to choose another folder.
  destinations: {
    csv: {},
  },
  segments: { dir: 'segments', disabled: [] },
});
