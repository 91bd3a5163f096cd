// The segment DSL: builders for marketers, validation, the SQL compiler and explanations.
export {
  all,
  any,
  ComplementsBuilder,
  type ConditionLike,
  complementsOf,
  customer,
  type Days,
  days,
  MetricBuilder,
  not,
  notPerformed,
  notPurchased,
  orders,
  PerformedBuilder,
  PurchasedBuilder,
  performed,
  purchased,
  SegmentBuilder,
  segment,
  toCondition,
} from './builders.ts';
export { compileSegment } from './compile.ts';
export { describe, explainMembers, explainSegment, type MemberExplanation } from './explain.ts';
export {
  definitionFrom,
  type LoadedSegment,
  loadSegmentFiles,
  loadSegments,
  SEGMENTS_DIR,
  type SegmentFileFailure,
  SegmentFilesError,
  segmentForAudience,
} from './load.ts';
export { parseDefinition, SegmentDefinitionError } from './schema.ts';
export type * from './types.ts';
export { CUSTOMER_COLUMNS } from './types.ts';
export { closest, namedValues, splitKeyProblem, unseenNameWarnings } from './vocabulary.ts';
