/**
 * Emits one `security_alert` log line (and calls `onAlert`, e.g. a metric) when one client or address collects
 * more than `threshold` authentication failures or forbidden results within `windowMs`; once per window.
 */
import { LRUCache } from 'lru-cache';
import type { Logger } from '../logger.ts';

export interface SecurityAlertOptions {
  /** @default 20 */
  threshold?: number;
  /** @default 60000 */
  windowMs?: number;
  onAlert?: (subject: string, count: number) => void;
}

export function createSecurityAlerts(log: Logger, { threshold = 20, windowMs = 60_000, onAlert }: SecurityAlertOptions = {}) {
  const windows = new LRUCache<string, { count: number; until: number; alerted: boolean }>({ max: 100_000 });
  return {
    /** Counts one failure for each subject (`client:<id>`, `ip:<addr>`). */
    failure(subjects: string[], kind: string, now = Date.now()) {
      for (const subject of subjects) {
        let w = windows.get(subject);
        if (!w || w.until <= now) w = { count: 0, until: now + windowMs, alerted: false };
        w.count += 1;
        windows.set(subject, w);
        if (w.count > threshold && !w.alerted) {
          w.alerted = true;
          log.warn({ event: 'security_alert', subject, kind, count: w.count, windowSeconds: windowMs / 1000 }, 'security_alert');
          onAlert?.(subject, w.count);
        }
      }
    },
  };
}
export type SecurityAlerts = ReturnType<typeof createSecurityAlerts>;
