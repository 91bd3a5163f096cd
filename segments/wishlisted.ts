import { days, performed, purchased, segment } from '../dsl/index.ts';

export default segment('wishlisted')
  .describe('Wishlisted a product in the last 30 days and has not bought it since')
  .where(performed('add_to_wishlist').within(days(30)).notFollowedBy(purchased().ofSameProduct()));
