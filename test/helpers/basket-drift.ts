import { timestampLiteral } from '../../warehouse/values.ts';
import type { Warehouse } from '../../warehouse/warehouse.ts';

/** Rows in one side only, both ways. */
export async function differences(wh: Warehouse, a: string, b: string): Promise<number> {
  return wh.scalar(
    `SELECT (SELECT count(*) FROM (${a} EXCEPT ALL ${b})) + (SELECT count(*) FROM (${b} EXCEPT ALL ${a}))`,
  );
}

/** Stored basket lines, pairs and products against a recount from today's orders: 0 when they match. */
export async function basketDrift(wh: Warehouse, asOf: Date): Promise<number> {
  const lines = `SELECT DISTINCT o.order_id, i.product_id FROM completed_orders o JOIN order_items i USING (order_id)
                 WHERE o.ordered_at <= ${timestampLiteral(asOf)}`;
  const pairs = `SELECT x.product_id AS a, y.product_id AS b, count(*) AS n FROM (${lines}) x
                 JOIN (${lines}) y ON x.order_id = y.order_id AND x.product_id < y.product_id GROUP BY ALL`;
  const products = `SELECT product_id, count(*) AS n FROM (${lines}) GROUP BY ALL`;
  return (
    (await differences(wh, 'SELECT order_id, product_id FROM basket_lines', lines)) +
    (await differences(wh, 'SELECT a, b, n FROM basket_pairs', pairs)) +
    (await differences(wh, 'SELECT product_id, n FROM basket_products', products))
  );
}
