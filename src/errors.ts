/**
 * The error codes clients rely on (`extensions.code`, with the HTTP status each answers) and one factory per code.
 * Clients get a short message and a stable
 * `extensions.code`; details go to the log. Anything not built here is masked by Yoga.
 */
import { GraphQLError } from 'graphql';

export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  QUERY_REJECTED: 'QUERY_REJECTED',
  RATE_LIMITED: 'RATE_LIMITED',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  CONFLICT: 'CONFLICT',
  NOT_FOUND: 'NOT_FOUND',
  SERVICE_DEGRADED: 'SERVICE_DEGRADED',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

declare module 'graphql' {
  interface GraphQLErrorExtensions {
    code?: ErrorCode | string;
    /** Field path of a refused input value, e.g. `input.applicant.email`. */
    field?: string;
    /** Refused field paths of an operation (FORBIDDEN). */
    fields?: string[];
    /** Every refused input value of a call, when there are several (BAD_USER_INPUT). */
    invalid?: { field: string; message: string }[];
  }
}

type Extra = Record<string, unknown>;

function make(message: string, code: ErrorCode, status: number, extra: Extra = {}, headers?: Record<string, string>) {
  return new GraphQLError(message, {
    extensions: { code, ...extra, http: { status, ...(headers ? { headers } : {}) } },
  });
}

export const unauthenticated = (message = 'Authentication required') =>
  make(message, ErrorCode.UNAUTHENTICATED, 401, {}, { 'WWW-Authenticate': 'Bearer' });

/** Why a token was refused, as far as the client may know: the category only, never which check failed. */
export type TokenFailure = 'expired' | 'malformed' | 'bad_signature' | 'not_accepted';

/** RFC 6750 `error_description` of each category (ASCII, no quotes: it goes into a header). */
export const TOKEN_FAILURE_DESCRIPTION: Record<TokenFailure, string> = {
  expired: 'the token expired',
  malformed: 'the token is malformed',
  bad_signature: 'the token signature is invalid',
  not_accepted: 'the token is not accepted',
};

/** `Bearer error="invalid_token"`, with the category's `error_description` when it is known. */
export const invalidTokenChallenge = (failure?: TokenFailure) =>
  failure ? `Bearer error="invalid_token", error_description="${TOKEN_FAILURE_DESCRIPTION[failure]}"` : 'Bearer error="invalid_token"';

export const invalidToken = (failure?: TokenFailure) =>
  make(
    failure ? `Invalid access token: ${TOKEN_FAILURE_DESCRIPTION[failure]}` : 'Invalid access token',
    ErrorCode.UNAUTHENTICATED,
    401,
    {},
    { 'WWW-Authenticate': invalidTokenChallenge(failure) },
  );

export const forbidden = (fields: string[], message?: string) =>
  make(message ?? `Not allowed to access: ${fields.join(', ')}`, ErrorCode.FORBIDDEN, 403, { fields });

/** A value the caller may not use (another tenant's jurisdiction): FORBIDDEN naming the input field. */
export const forbiddenInput = (field: string, message: string) => make(`${field}: ${message}`, ErrorCode.FORBIDDEN, 403, { field });

export const queryRejected = (message: string) => make(message, ErrorCode.QUERY_REJECTED, 400);

export const rateLimited = (retryAfterSeconds: number) =>
  make(
    `Rate limit exceeded; retry after ${retryAfterSeconds} s`,
    ErrorCode.RATE_LIMITED,
    429,
    {},
    {
      'Retry-After': String(retryAfterSeconds),
    },
  );

/** Domain errors carry no HTTP status: they answer 200 with the code, like GraphQL validation of values. */
export const badInput = (field: string, message: string) =>
  new GraphQLError(`${field}: ${message}`, { extensions: { code: ErrorCode.BAD_USER_INPUT, field } });

/** One refused input value: its field path and what is wrong with it. */
export interface InputIssue {
  field: string;
  message: string;
}

/**
 * Several refused values at once, so a client fixes them in one round: shaped as the first one's `badInput`
 * (its field, every message joined), the whole list in `extensions.invalid`; the GraphQL layer answers one error
 * per issue (src/graphql/input-errors.ts).
 */
export function badInputs(issues: [InputIssue, ...InputIssue[]]): GraphQLError {
  if (issues.length === 1) return badInput(issues[0].field, issues[0].message);
  return new GraphQLError(issues.map((i) => `${i.field}: ${i.message}`).join('; '), {
    extensions: { code: ErrorCode.BAD_USER_INPUT, field: issues[0].field, invalid: issues },
  });
}

export const conflict = (message: string) => new GraphQLError(message, { extensions: { code: ErrorCode.CONFLICT } });

export const notFound = (what: string) => new GraphQLError(`${what} not found`, { extensions: { code: ErrorCode.NOT_FOUND } });

export const serviceDegraded = (message = 'The permit database is unavailable; try again shortly') =>
  make(message, ErrorCode.SERVICE_DEGRADED, 503);
