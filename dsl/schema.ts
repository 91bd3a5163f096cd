import { z } from 'zod';
import {
  type Condition,
  CUSTOMER_COLUMNS,
  type PurchasedCondition,
  type SegmentDefinition,
} from './types.ts';

/** A definition that does not validate. The message names the file and the field path of each problem. */
export class SegmentDefinitionError extends Error {
  constructor(
    readonly file: string,
    readonly issues: Array<{ path: string; message: string }>,
  ) {
    super(issues.map((i) => `${file}: ${i.path ? `${i.path}: ` : ''}${i.message}`).join('\n'));
    this.name = 'SegmentDefinitionError';
  }
}

const posInt = () =>
  z
    .number({ error: 'must be a positive integer' })
    .int({ error: 'must be a positive integer' })
    .positive({ error: 'must be a positive integer' });
const nonEmptyString = () =>
  z.string({ error: 'must be a non-empty string' }).min(1, 'must be a non-empty string');
const stringList = () =>
  z.array(nonEmptyString(), { error: 'must be a list of strings' }).min(1, 'must name at least one value');
const label = () =>
  z
    .string({ error: 'must be a string' })
    .regex(/^[a-z][a-z0-9_]*$/, 'must be lower_snake_case (a-z, 0-9, _)')
    .optional();

const purchased = z.strictObject({
  kind: z.literal('purchased'),
  sameProduct: z.boolean().optional(), // only valid inside notFollowedBy; checkStructure says so
  products: stringList().optional(),
  categories: stringList().optional(),
  withinDays: posInt().optional(),
  atLeast: posInt().optional(),
  label: label(),
});

const followingPurchase = z.strictObject(
  {
    kind: z.literal('purchased', { error: 'notFollowedBy takes purchased()' }),
    sameProduct: z.boolean().optional(),
    products: stringList().optional(),
    categories: stringList().optional(),
  },
  { error: 'must be purchased() (optionally .ofSameProduct()), without a window or count' },
);

const performed = z.strictObject({
  kind: z.literal('performed'),
  events: stringList(),
  products: stringList().optional(),
  categories: stringList().optional(),
  withinDays: posInt().optional(),
  atLeast: posInt().optional(),
  notFollowedBy: followingPurchase.optional(),
  label: label(),
});

const bound = () => z.number({ error: 'must be a number' }).finite({ error: 'must be a finite number' });
const orders = z
  .strictObject({
    kind: z.literal('orders'),
    metric: z.enum(['count', 'totalSpent', 'daysSinceLast', 'daysSinceFirst'], {
      error: 'must be count, totalSpent, daysSinceLast or daysSinceFirst',
    }),
    equals: bound().optional(),
    atLeast: bound().optional(),
    atMost: bound().optional(),
    moreThan: bound().optional(),
    lessThan: bound().optional(),
  })
  .superRefine((o, ctx) => {
    const ops = (['equals', 'atLeast', 'atMost', 'moreThan', 'lessThan'] as const).filter(
      (k) => o[k] !== undefined,
    );
    if (ops.length === 0)
      ctx.addIssue({
        code: 'custom',
        message: 'needs a comparison (equals, atLeast, atMost, moreThan or lessThan)',
      });
    for (const k of ops) {
      const v = o[k] as number;
      if (o.metric !== 'totalSpent' && (!Number.isInteger(v) || v < 0))
        ctx.addIssue({ code: 'custom', path: [k], message: 'must be a non-negative integer' });
    }
  });

const scalar = z.union([z.string(), z.number(), z.boolean()], {
  error: 'must be a string, number or boolean',
});
const customer = z
  .strictObject({
    kind: z.literal('customer'),
    column: z.enum(CUSTOMER_COLUMNS, { error: `must be one of ${CUSTOMER_COLUMNS.join(', ')}` }),
    op: z.enum(['equals', 'notEquals', 'in', 'notIn', 'isNull', 'isNotNull'], {
      error: 'must be equals, notEquals, in, notIn, isNull or isNotNull',
    }),
    value: z.union([scalar, z.array(scalar)]).optional(),
  })
  .superRefine((c, ctx) => {
    const list = c.op === 'in' || c.op === 'notIn';
    const none = c.op === 'isNull' || c.op === 'isNotNull';
    if (list && (!Array.isArray(c.value) || c.value.length === 0))
      ctx.addIssue({ code: 'custom', path: ['value'], message: `${c.op} needs a non-empty list of values` });
    if (!list && !none && (c.value === undefined || Array.isArray(c.value)))
      ctx.addIssue({ code: 'custom', path: ['value'], message: `${c.op} needs a single value` });
    if (none && c.value !== undefined)
      ctx.addIssue({ code: 'custom', path: ['value'], message: `${c.op} takes no value` });
  });

const complements = z.strictObject({
  kind: z.literal('complements'),
  of: purchased,
  declared: z.boolean({ error: 'must be true or false' }),
  mined: z.union([
    z.literal(false),
    z.strictObject({
      minOrders: posInt(),
      minLift: z
        .number({ error: 'must be a positive number' })
        .positive({ error: 'must be a positive number' }),
    }),
  ]),
  notYetBought: z.boolean({ error: 'must be true or false' }),
  limit: posInt(),
  label: label(),
});

/** A held-out share: under half, so the exposed side is always the larger one. */
const holdoutShare = () =>
  z
    .number({ error: 'must be a number between 0 and 0.5 (e.g. .holdout(0.1))' })
    .gt(0, { error: 'must be greater than 0 (leave .holdout() out for no holdout)' })
    .lt(0.5, { error: 'must be less than 0.5 (the held-out side is the smaller one)' });

const KINDS = ['performed', 'purchased', 'orders', 'customer', 'complements', 'all', 'any', 'not'];

export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.discriminatedUnion(
    'kind',
    [
      performed,
      purchased,
      orders,
      customer,
      complements,
      z.strictObject({
        kind: z.literal('all'),
        all: z.array(conditionSchema).min(1, 'needs at least one condition'),
      }),
      z.strictObject({
        kind: z.literal('any'),
        any: z.array(conditionSchema).min(1, 'needs at least one condition'),
      }),
      z.strictObject({ kind: z.literal('not'), not: conditionSchema }),
    ],
    { error: `must be a condition (kind one of ${KINDS.join(', ')})` },
  ),
) as z.ZodType<Condition>;

export const segmentSchema = z.strictObject({
  name: z
    .string({ error: 'must be a string' })
    .regex(/^[a-z][a-z0-9_]*$/, 'must be lower_snake_case (a-z, 0-9, _), starting with a letter'),
  description: z.string({ error: 'must be a string (use .describe(...))' }).min(1, 'must not be empty'),
  splitBy: z.enum(['category', 'product'], { error: 'must be category or product' }).optional(),
  holdout: holdoutShare().optional(),
  where: conditionSchema,
});

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out;
}

/** Validates raw definition data (from builders or hand-written); throws SegmentDefinitionError naming `file`. */
export function parseDefinition(raw: unknown, file: string): SegmentDefinition {
  const result = segmentSchema.safeParse(raw);
  if (!result.success) {
    throw new SegmentDefinitionError(
      file,
      result.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })),
    );
  }
  const def = result.data as SegmentDefinition;
  const issues = checkStructure(def);
  if (issues.length > 0) throw new SegmentDefinitionError(file, issues);
  return def;
}

type Issue = { path: string; message: string };

/** Whether a condition yields (customer, key) rows under splitBy, when it is positive. */
export function isKeyed(c: Condition): boolean {
  switch (c.kind) {
    case 'performed':
    case 'purchased':
      return true;
    case 'all':
      return c.all.some((x) => x.kind !== 'not' && isKeyed(x));
    case 'any':
      return c.any.every(isKeyed);
    default:
      return false;
  }
}

/** Rules zod cannot see: how conditions combine under splitBy, where complements may appear. */
function checkStructure(def: SegmentDefinition): Issue[] {
  const issues: Issue[] = [];
  const split = def.splitBy;
  const walk = (c: Condition, path: string, inKeyedAll: boolean): void => {
    switch (c.kind) {
      case 'all':
        c.all.forEach((x, i) => {
          walk(x, `${path}.all[${i}]`, isKeyed(c));
        });
        return;
      case 'any': {
        c.any.forEach((x, i) => {
          walk(x, `${path}.any[${i}]`, false);
        });
        if (split) {
          const keyed = c.any.filter(isKeyed).length;
          if (keyed > 0 && keyed < c.any.length)
            issues.push({
              path,
              message: `under splitBy('${split}') any() must combine only performed()/purchased() conditions or none`,
            });
        }
        return;
      }
      case 'not':
        if (split && isKeyed(c.not) && !inKeyedAll)
          issues.push({
            path,
            message: `under splitBy('${split}') a not() of performed()/purchased() must sit in all() next to a positive one`,
          });
        walk(c.not, `${path}.not`, false);
        return;
      case 'complements':
        if (split) issues.push({ path, message: 'complementsOf() cannot be used with splitBy()' });
        if (!c.declared && !c.mined)
          issues.push({ path, message: 'complementsOf() needs .declared() and/or .mined(...)' });
        if (c.of.atLeast !== undefined)
          issues.push({
            path: `${path}.of.atLeast`,
            message: 'complementsOf(purchased()) takes no atLeast()',
          });
        checkPurchased(c.of, `${path}.of`);
        return;
      case 'purchased':
        checkPurchased(c, path);
        return;
      default:
        return;
    }
  };
  const checkPurchased = (p: PurchasedCondition, path: string): void => {
    if ((p as { sameProduct?: unknown }).sameProduct !== undefined)
      issues.push({ path, message: 'ofSameProduct() only makes sense inside notFollowedBy()' });
  };
  walk(def.where, 'where', false);
  if (split && !isKeyed(def.where))
    issues.push({
      path: 'where',
      message: `splitBy('${split}') needs at least one positive performed() or purchased() condition`,
    });
  return issues;
}
