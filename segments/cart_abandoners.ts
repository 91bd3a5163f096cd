import { days, performed, purchased, segment } from '../dsl/index.ts';

export default segment('cart_abandoners')
  .describe('Added a product to the cart in the last 7 days and has not bought it since')
  .where(performed('add_to_cart').within(days(7)).notFollowedBy(purchased().ofSameProduct()));
