import { complementsOf, days, purchased, segment } from '../dsl/index.ts';

export default segment('complementary_products')
  .describe('Bought a product in the last 90 days and has not yet bought one of its complements')
  .where(
    complementsOf(purchased().within(days(90)))
      .notYetBought()
      .declared()
      .mined({ minOrders: 5, minLift: 2.0 })
      .limit(10),
  );
