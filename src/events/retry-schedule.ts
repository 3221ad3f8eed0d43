/**
 * When a failed webhook delivery is tried again and when it is given up on (issue 22: exponential backoff with
 * jitter, retried for at least a day). Its own module so that the schedule can be checked without a dispatcher.
 */

/** The first retry delay when WEBHOOK_RETRY_BASE_MS is not set. */
export const DEFAULT_RETRY_BASE_MS = 5000;
/** No delay between two attempts is longer than this (before jitter). */
export const MAX_RETRY_DELAY_MS = 3600_000;
/** A delivery failing for this long is dead-lettered: more than a day. */
export const DEFAULT_GIVE_UP_AFTER_MS = 25 * 3600_000;

/**
 * The delay before attempt `attempts + 1`, after `attempts` failed ones: `baseMs` doubled per attempt, capped at an
 * hour, times a random factor in [0.5, 1.5) so that the retries of many deliveries spread out.
 */
export function retryDelayMs(attempts: number, baseMs = DEFAULT_RETRY_BASE_MS, random: () => number = Math.random): number {
  return Math.min(baseMs * 2 ** (attempts - 1), MAX_RETRY_DELAY_MS) * (0.5 + random());
}
