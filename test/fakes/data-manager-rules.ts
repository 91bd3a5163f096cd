/**
 * Data Manager fake, part 2: Google's fast-fail validation of IngestAudienceMembers / RemoveAudienceMembers and the
 * error shape it answers with (google.rpc.Status with ErrorInfo and BadRequest in the grpc-status-details-bin
 * trailer), as documented on the "understand errors" and "formatting" pages: one bad record fails the request.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
// Both packages' main entry is build/src/index.js; their protos are in build/protos.
const protosOf = (pkg: string) => join(dirname(require.resolve(pkg)), '..', 'protos');
const GAX_PROTOS = protosOf('google-gax');
export const DATAMANAGER_PROTOS = protosOf('@google-ads/datamanager');
export const PROTO_INCLUDE_DIRS = [DATAMANAGER_PROTOS, GAX_PROTOS];

const rpc = new protobuf.Root();
rpc.resolvePath = (_origin, target) => join(GAX_PROTOS, target);
rpc.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto']);
const Status = rpc.lookupType('google.rpc.Status');
const ErrorInfo = rpc.lookupType('google.rpc.ErrorInfo');
const BadRequest = rpc.lookupType('google.rpc.BadRequest');

export interface FieldViolation {
  field: string;
  description: string;
  reason: string;
}

/** A gRPC error the way Data Manager sends it: code, message, and the rich details in the trailer. */
export class DataManagerError {
  constructor(
    readonly code: grpc.status,
    readonly reason: string,
    readonly violations: FieldViolation[] = [],
    readonly message = 'There was a problem with the request.',
  ) {}

  toServiceError(): Partial<grpc.ServiceError> {
    const any = (type: protobuf.Type, value: object) => ({
      type_url: `type.googleapis.com/${type.fullName.slice(1)}`,
      value: type.encode(type.create(value)).finish(),
    });
    const details = [any(ErrorInfo, { reason: this.reason, domain: 'datamanager.googleapis.com' })];
    if (this.violations.length > 0) details.push(any(BadRequest, { fieldViolations: this.violations }));
    const metadata = new grpc.Metadata();
    const status = Status.create({ code: this.code, message: this.message, details });
    metadata.set('grpc-status-details-bin', Buffer.from(Status.encode(status).finish()));
    return { code: this.code, details: this.message, metadata };
  }
}

const invalid = (reason: string, field: string, description: string) =>
  new DataManagerError(grpc.status.INVALID_ARGUMENT, reason, [{ field, description, reason }]);

const HEX = /^[0-9a-fA-F]*$/;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** The first problem with one hashed value, as Google reports it. */
function checkHash(value: unknown, field: string, what: string): DataManagerError | undefined {
  if (typeof value !== 'string' || !HEX.test(value) || value === '')
    return invalid('INVALID_HEX_ENCODING', field, `${what} is not hex encoded.`);
  if (!SHA256_HEX.test(value))
    return invalid('INVALID_SHA256_FORMAT', field, `${what} is not a SHA-256 hash.`);
  return undefined;
}

interface Identifier {
  emailAddress?: string;
  phoneNumber?: string;
  address?: { givenName?: string; familyName?: string; regionCode?: string; postalCode?: string };
}

function checkIdentifier(id: Identifier, field: string): DataManagerError | undefined {
  if (id.emailAddress !== undefined && id.emailAddress !== '')
    return checkHash(id.emailAddress, `${field}.email_address`, 'Email');
  if (id.phoneNumber !== undefined && id.phoneNumber !== '')
    return checkHash(id.phoneNumber, `${field}.phone_number`, 'Phone number');
  const a = id.address;
  if (!a) return invalid('INVALID_ARGUMENT', field, 'User identifier has no value.');
  const missing = (['givenName', 'familyName', 'regionCode', 'postalCode'] as const).find((k) => !a[k]);
  if (missing) return invalid('INVALID_ARGUMENT', `${field}.address`, `Address is missing ${missing}.`);
  if (!/^[A-Z]{2}$/.test(a.regionCode ?? ''))
    return invalid('INVALID_REGION_CODE', `${field}.address.region_code`, 'Region code is invalid.');
  return (
    checkHash(a.givenName, `${field}.address.given_name`, 'Given name') ??
    checkHash(a.familyName, `${field}.address.family_name`, 'Family name')
  );
}

export interface MemberRequest {
  destinations?: Array<{ operatingAccount?: { accountId?: string }; productDestinationId?: string }>;
  audienceMembers?: Array<{
    userData?: { userIdentifiers?: Identifier[] };
    data?: string;
    consent?: unknown;
  }>;
  encoding?: string;
  termsOfService?: { customerMatchTermsOfServiceStatus?: string };
}

/** Every rule of an ingest or remove request; the first violation fails the whole request. */
export function validateMembers(
  req: MemberRequest,
  kind: 'ingest' | 'remove',
  knownList: (account: string, id: string) => boolean,
): DataManagerError | undefined {
  const dests = req.destinations ?? [];
  if (dests.length === 0) return invalid('INVALID_ARGUMENT', 'destinations', 'Destinations are required.');
  if (dests.length > 10)
    return invalid('TOO_MANY_DESTINATIONS', 'destinations', 'The maximum number of destinations is 10.');
  for (const [i, d] of dests.entries()) {
    if (!knownList(d.operatingAccount?.accountId ?? '', d.productDestinationId ?? ''))
      return invalid(
        'INVALID_USER_LIST_ID',
        `destinations[${i}].product_destination_id`,
        'The user list does not exist.',
      );
  }
  const members = req.audienceMembers ?? [];
  if (members.length === 0)
    return invalid('INVALID_ARGUMENT', 'audience_members', 'Audience members are required.');
  if (members.length > 10_000)
    return invalid('TOO_MANY_AUDIENCE_MEMBERS', 'audience_members', 'The maximum is 10,000.');
  if (req.encoding !== 'HEX' && req.encoding !== 'BASE64')
    return invalid('INVALID_ARGUMENT', 'encoding', 'Encoding is required for UserData uploads.');
  if (kind === 'ingest' && req.termsOfService?.customerMatchTermsOfServiceStatus !== 'ACCEPTED')
    return new DataManagerError(grpc.status.INVALID_ARGUMENT, 'TERMS_AND_CONDITIONS_NOT_SIGNED');
  if (new Set(members.map((m) => m.data)).size > 1)
    return new DataManagerError(grpc.status.INVALID_ARGUMENT, 'MULTIPLE_DATA_TYPES_NOT_ALLOWED');
  for (const [i, m] of members.entries()) {
    const field = `audience_members.audience_members[${i}].user_data.user_identifiers`;
    const ids = m.userData?.userIdentifiers ?? [];
    if (m.data !== 'userData' || ids.length === 0)
      return invalid('INVALID_ARGUMENT', `audience_members.audience_members[${i}]`, 'No user data.');
    if (ids.length > 10) return invalid('TOO_MANY_USER_IDENTIFIERS', field, 'The maximum is 10.');
    for (const [j, id] of ids.entries()) {
      const problem = checkIdentifier(id, `${field}[${j}]`);
      if (problem) return problem;
    }
  }
  return undefined;
}
