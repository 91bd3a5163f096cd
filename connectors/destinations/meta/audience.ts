import type { Warehouse } from '../../../warehouse/warehouse.ts';
import type { MetaConfig } from './config.ts';
import type { MetaGraph } from './graph.ts';
import { keyedAudienceName } from './state.ts';

export type Describe = (audience: string, segment: string | undefined) => string;

/**
 * The Meta Custom Audience of a retarget audience that has none stored yet: this database's audience of that
 * keyed name when Meta already holds it (a create whose answer or whose bookkeeping was lost), else a new one.
 * The runner stores its id before any member is sent.
 */
export async function adoptOrCreateAudience(
  wh: Warehouse,
  graph: MetaGraph,
  config: MetaConfig,
  audience: string,
  describe: Describe | undefined,
  log: (m: string) => void,
): Promise<string> {
  const segment = await wh.one<{ segment: string }>(
    'SELECT segment FROM audience_members WHERE audience = $1 LIMIT 1',
    [audience],
  );
  const description =
    describe?.(audience, segment?.segment) ??
    `Retargeting audience "${audience}"${segment ? ` (segment ${segment.segment})` : ''}, kept in sync by retarget.`;
  const name = await keyedAudienceName(wh, config.namePrefix, audience);
  const { id, adopted } = await graph.ensureAudience(name, description);
  log(`meta: ${audience}: ${adopted ? 'adopted the existing' : 'created'} Custom Audience ${id} ("${name}")`);
  return id;
}
