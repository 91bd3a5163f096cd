import { all, days, not, performed, purchased, segment } from '../dsl/index.ts';

export default segment('category_browsers')
  .describe('Viewed products of a category at least 3 times in 14 days without buying in it')
  .splitBy('category')
  .where(
    all(
      performed('view_item').within(days(14)).atLeast(3),
      not(purchased().within(days(14))), // keyed on the same category under splitBy('category')
    ),
  );
