/**
 * A request whose client hung up before its response (a dropped connection, a load generator stopping) is not a
 * server fault: the audit and the metrics record it with nginx's 499 and the code CLIENT_CLOSED_REQUEST, in place of
 * the 500 / INTERNAL_SERVER_ERROR its aborted body read or execution ends with, so a 5xx alert does not fire on it.
 */

/** The status recorded for such a request. */
export const CLIENT_CLOSED_STATUS = 499;
export const CLIENT_CLOSED_CODE = 'CLIENT_CLOSED_REQUEST';

/** The status to record for `request` answered (or failed) with `status`. */
export function recordedStatus(request: Request, status: number): number {
  return request.signal.aborted ? CLIENT_CLOSED_STATUS : status;
}

/** The error codes to record for a request whose client hung up: its masked abort error becomes CLIENT_CLOSED_REQUEST. */
export function clientClosedCodes(codes: readonly string[]): string[] {
  return [...codes.filter((c) => c !== 'INTERNAL_SERVER_ERROR' && c !== CLIENT_CLOSED_CODE), CLIENT_CLOSED_CODE];
}
