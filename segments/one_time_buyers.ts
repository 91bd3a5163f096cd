import { all, orders, segment } from '../dsl/index.ts';

export default segment('one_time_buyers')
  .describe('Exactly one completed order ever, placed in the last 90 days')
  .where(all(orders().count().equals(1), orders().daysSinceLast().lessThan(90)));
