/**
 * A full pipeline run (load files, evaluate, sync) with the Meta destination, in a separate process, so a test
 * can SIGKILL it in the middle of a sync like a real crash.
 * Usage: node --import tsx test/ops-child-run.ts <retarget.config.ts> <json: Meta config>
 */

import { loadConfig } from '../config/config.ts';
import { createMetaDestination } from '../connectors/destinations/meta/destination.ts';
import { runPipeline } from '../pipelines/run.ts';

const [configFile, metaJson] = process.argv.slice(2);
const config = await loadConfig(configFile);
const summary = await runPipeline({
  config,
  trigger: 'test',
  destinations: [createMetaDestination(JSON.parse(metaJson ?? '{}'))],
  reporter: {
    stepStarted() {},
    stepFinished() {},
    progress() {},
    info: (m) => process.stderr.write(`${m}\n`),
  },
});
process.stdout.write(JSON.stringify(summary));
