/**
 * Runs one Meta sync in a separate process, so tests can kill it mid-sync (SIGKILL) like a real crash.
 * Usage: node --import tsx meta-graph-child.ts <db file> <json: {config, runId, fullRefresh}>
 */
import { createMetaDestination } from '../../connectors/destinations/meta/destination.ts';
import { Warehouse } from '../../warehouse/warehouse.ts';

const [dbPath, json] = process.argv.slice(2);
const { config, runId, fullRefresh } = JSON.parse(json ?? '{}');
const wh = await Warehouse.open({ path: dbPath! });
const report = await createMetaDestination(config).sync({
  wh,
  runId,
  asOf: new Date(),
  dryRun: false,
  force: false,
  fullRefresh: Boolean(fullRefresh),
  log: (m) => process.stderr.write(`${m}\n`),
});
wh.close();
process.stdout.write(JSON.stringify(report));
