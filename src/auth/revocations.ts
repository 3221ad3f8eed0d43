/**
 * Revoked clients, refreshed from the database every `refreshMs` (so a revocation made by another instance
 * takes effect within a minute) and at once for revocations made in this process.
 */
import type { Executor } from '../db/client.ts';
import { revokedClientIds } from './client-registry.ts';

export function createRevocations(db: Executor, { refreshMs = 30_000 } = {}) {
  let revoked = new Set<string>();
  let timer: ReturnType<typeof setInterval> | null = null;
  const refresh = async () => {
    try {
      revoked = new Set(await revokedClientIds(db));
    } catch {
      // database unavailable: keep the last known list
    }
  };
  return {
    refresh,
    start() {
      timer ??= setInterval(refresh, refreshMs);
      timer.unref?.();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
    isRevoked: (clientId: string) => revoked.has(clientId),
    markRevoked: (clientId: string) => {
      revoked.add(clientId);
    },
  };
}
export type Revocations = ReturnType<typeof createRevocations>;
