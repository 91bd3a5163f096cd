import { orders, segment } from '../dsl/index.ts';

export default segment('passive_past_buyers')
  .describe('Last completed order 180 days to 3 years ago: quiet for six months, not yet lost')
  .where(orders().daysSinceLast().atLeast(180).lessThan(1095));
