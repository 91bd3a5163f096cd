import { timestampLiteral } from '../warehouse/values.ts';

/**
 * Hand-written SQL for every shipped segment, written from the definitions in the foundation issue (not from
 * the compiler's output), as a competent analyst would write them against the data contract's tables and views.
 * Each yields (audience, customer_id) plus the evidence the definition asks members to carry (the wishlisted or
 * carted products, the recommended complements), so both sides do comparable work. The bench checks that each
 * returns exactly the same members as the compiled segment.
 */
export type Baseline = (asOf: Date) => string;

const DAY_MS = 86_400_000;
const T = (asOf: Date) => timestampLiteral(asOf);
const ago = (asOf: Date, days: number) => timestampLiteral(new Date(asOf.getTime() - days * DAY_MS));

/** An event for product p in the window, not followed (at or after it, up to T) by a completed purchase of p. */
function notBoughtSince(audience: string, eventName: string, days: number): Baseline {
  return (asOf) => `
    WITH ev AS (
      SELECT customer_id, product_id, occurred_at FROM events
      WHERE event_name = '${eventName}' AND customer_id IS NOT NULL
        AND occurred_at > ${ago(asOf, days)} AND occurred_at <= ${T(asOf)}
    ),
    last_bought AS (
      -- A purchase before the window cannot follow an event in it.
      SELECT o.customer_id, i.product_id, max(o.ordered_at) AS last_at
      FROM completed_orders o JOIN order_items i ON i.order_id = o.order_id
      WHERE o.ordered_at > ${ago(asOf, days)} AND o.ordered_at <= ${T(asOf)}
      GROUP BY ALL
    )
    SELECT '${audience}' AS audience, ev.customer_id, list(DISTINCT ev.product_id) AS products
    FROM ev LEFT JOIN last_bought b ON b.customer_id = ev.customer_id AND b.product_id = ev.product_id
    WHERE b.last_at IS NULL OR b.last_at < ev.occurred_at
    GROUP BY ev.customer_id`;
}

export const BASELINES: Record<string, Baseline> = {
  wishlisted: notBoughtSince('wishlisted', 'add_to_wishlist', 30),

  cart_abandoners: notBoughtSince('cart_abandoners', 'add_to_cart', 7),

  category_browsers: (asOf) => `
    WITH views AS (
      SELECT e.customer_id, COALESCE(NULLIF(e.category, ''), p.category) AS category, sum(e.event_count) AS n
      FROM events e LEFT JOIN products p ON p.product_id = e.product_id
      WHERE e.event_name = 'view_item' AND e.customer_id IS NOT NULL
        AND e.occurred_at > ${ago(asOf, 14)} AND e.occurred_at <= ${T(asOf)}
        AND COALESCE(NULLIF(e.category, ''), p.category) IS NOT NULL
      GROUP BY ALL
      HAVING sum(e.event_count) >= 3
    ),
    bought AS (
      SELECT DISTINCT customer_id, category FROM purchases
      WHERE ordered_at > ${ago(asOf, 14)} AND ordered_at <= ${T(asOf)}
    )
    SELECT 'category_browsers:' || v.category AS audience, v.customer_id, v.n
    FROM views v ANTI JOIN bought b ON b.customer_id = v.customer_id AND b.category = v.category`,

  passive_past_buyers: (asOf) => `
    SELECT 'passive_past_buyers' AS audience, customer_id, max(ordered_at) AS last_ordered_at
    FROM completed_orders
    WHERE customer_id IS NOT NULL AND ordered_at <= ${T(asOf)}
    GROUP BY customer_id
    HAVING max(ordered_at) <= ${ago(asOf, 180)} AND max(ordered_at) > ${ago(asOf, 1095)}`,

  one_time_buyers: (asOf) => `
    SELECT 'one_time_buyers' AS audience, customer_id
    FROM completed_orders
    WHERE customer_id IS NOT NULL AND ordered_at <= ${T(asOf)}
    GROUP BY customer_id
    HAVING count(*) = 1 AND max(ordered_at) > ${ago(asOf, 90)}`,

  complementary_products: (asOf) => `
    WITH basket AS (
      SELECT DISTINCT order_id, product_id FROM purchases WHERE ordered_at <= ${T(asOf)}
    ),
    n_orders AS (SELECT count(*) AS n FROM completed_orders WHERE ordered_at <= ${T(asOf)}),
    support AS (SELECT product_id, count(*) AS n FROM basket GROUP BY product_id),
    pairs AS (
      SELECT x.product_id AS a, y.product_id AS b, count(*) AS n_ab
      FROM basket x JOIN basket y ON y.order_id = x.order_id AND y.product_id <> x.product_id
      GROUP BY ALL HAVING count(*) >= 5
    ),
    mined AS (
      SELECT p.a, p.b, p.n_ab * t.n / (sa.n * sb.n) AS lift
      FROM pairs p JOIN support sa ON sa.product_id = p.a JOIN support sb ON sb.product_id = p.b, n_orders t
      WHERE p.n_ab * t.n >= 2.0 * sa.n * sb.n
    ),
    complements AS (
      SELECT product_id AS a, complement_id AS b, NULL::DOUBLE AS lift FROM product_complements
      UNION ALL SELECT a, b, lift FROM mined
    ),
    recent AS (
      SELECT DISTINCT customer_id, product_id FROM purchases
      WHERE customer_id IS NOT NULL AND ordered_at > ${ago(asOf, 90)} AND ordered_at <= ${T(asOf)}
    ),
    ever AS (
      SELECT DISTINCT customer_id, product_id FROM purchases
      WHERE customer_id IS NOT NULL AND ordered_at <= ${T(asOf)}
    ),
    candidates AS (
      SELECT r.customer_id, c.b AS product_id, max(c.lift) AS lift
      FROM recent r JOIN complements c ON c.a = r.product_id
      ANTI JOIN ever e ON e.customer_id = r.customer_id AND e.product_id = c.b
      GROUP BY ALL
    ),
    -- Each member's 10 best first: an ordered list() over every candidate ran out of memory at 1 GB.
    top AS (
      SELECT * FROM candidates
      QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY lift DESC NULLS FIRST, product_id) <= 10
    )
    SELECT 'complementary_products' AS audience, customer_id,
      list(product_id ORDER BY lift DESC NULLS FIRST, product_id) AS recommended
    FROM top GROUP BY customer_id`,
};
