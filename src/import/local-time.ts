/**
 * Dates from a legacy permit system: ISO 8601 with an offset is taken as written; a date or date-time without one
 * is local time of the jurisdiction (its `timezone`), which is what a clerk typed into the old system.
 */
import { instantOfWallClock } from '../domain/zoned-time.ts';

/** The instant, or null when the text is not a date this accepts. */
export function parseLegacyDate(text: string, timeZone: string): Date | null {
  const withOffset = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (withOffset) {
    const d = new Date(text);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number) as number[];
  const wall = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  const check = new Date(wall);
  if (check.getUTCMonth() !== mo! - 1 || check.getUTCDate() !== d! || h! > 23 || mi! > 59 || s! > 59) return null;
  return instantOfWallClock(wall, timeZone);
}
