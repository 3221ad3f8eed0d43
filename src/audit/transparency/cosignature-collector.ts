/**
 * The log's side of C2SP tlog-witness: pushes each new checkpoint to the witnesses of `AUDIT_WITNESSES` with a
 * consistency proof from the size each one last cosigned, and keeps the cosignatures that verify with that
 * witness's key, so GET /audit/checkpoint can publish the checkpoint with them.
 *
 * Each cosignature is kept in `audit_cosignatures` (cosignature-store.ts) when a store is given, so a restart or
 * another instance publishes it without asking again, and starts from the size the witness last cosigned; a
 * witness that answers 409 tells us the size it last cosigned all the same, and we retry once from there.
 */
import type { TreeHead } from './checkpoint-note.ts';
import { verifiedCosignatures } from './cosignature.ts';
import type { CosignatureStore } from './cosignature-store.ts';
import type { NoteVerifier } from './signed-note.ts';

export interface WitnessEndpoint {
  /** Submission prefix: add-checkpoint is POSTed to `<url>/add-checkpoint`. */
  url: string;
  key: NoteVerifier;
}

export interface CollectorDeps {
  witnesses: readonly WitnessEndpoint[];
  /** Consistency proof (hex) between two sizes of this log. */
  consistency: (fromSize: number, toSize: number) => Promise<string[]>;
  /** Where cosignatures are kept across restarts and instances. @default memory only */
  store?: CosignatureStore;
  fetch?: typeof fetch;
  onError?: (witness: WitnessEndpoint, message: string) => void;
  /** Per request. @default 5000 */
  timeoutMs?: number;
}

const headKey = (h: TreeHead) => `${h.origin}\n${h.size}\n${h.rootHash}`;

export function createCosignatureCollector(d: CollectorDeps) {
  const lastSize = new Map<WitnessEndpoint, number>();
  let collected: { key: string; lines: Map<WitnessEndpoint, string> } = { key: '', lines: new Map() };
  let inFlight: { key: string; done: Promise<void> } | null = null;
  // a witness that refused this tree is not asked again for it on every read of the checkpoint
  const refused = new Map<WitnessEndpoint, { key: string; at: number }>();
  const RETRY_MS = 30_000;

  async function post(w: WitnessEndpoint, head: TreeHead, note: string, old: number): Promise<Response> {
    const proof = old > 0 && old < head.size ? await d.consistency(old, head.size) : [];
    const body = `old ${old}\n${proof.map((h) => `${Buffer.from(h, 'hex').toString('base64')}\n`).join('')}\n${note}`;
    return (d.fetch ?? fetch)(`${w.url.replace(/\/$/, '')}/add-checkpoint`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      signal: AbortSignal.timeout(d.timeoutMs ?? 5000),
    });
  }

  async function askOne(w: WitnessEndpoint, head: TreeHead, note: string): Promise<string | null> {
    let old = lastSize.get(w);
    if (old === undefined) {
      const stored = d.store ? await d.store.lastCosignedSize(w.key) : 0;
      old = stored <= head.size ? stored : 0;
    }
    let res = await post(w, head, note, old);
    if (res.status === 409 && res.headers.get('content-type')?.startsWith('text/x.tlog.size')) {
      const size = Number((await res.text()).trim());
      if (!Number.isSafeInteger(size) || size < 0 || size > head.size)
        throw new Error(`witness reports size ${size}, beyond this log's ${head.size}`);
      lastSize.set(w, size);
      res = await post(w, head, note, size);
    }
    const text = await res.text();
    if (res.status !== 200) throw new Error(`add-checkpoint answered ${res.status}: ${text.trim().slice(0, 200)}`);
    const line = text.split('\n').find((l) => verifiedCosignatures(`${note}${l}\n`, [w.key]).length > 0);
    if (!line) throw new Error('no cosignature from its key verifies');
    lastSize.set(w, head.size);
    // not kept: this instance still publishes it; another asks the witness again
    await d.store?.save(head, w.key, `${line}\n`).catch((err) => d.onError?.(w, `cosignature not stored: ${(err as Error).message}`));
    return `${line}\n`;
  }

  return {
    /** Cosignature lines collected for exactly this tree (none for another). */
    linesFor(head: TreeHead): string[] {
      return collected.key === headKey(head) ? [...collected.lines.values()] : [];
    },
    /** Asks every witness to cosign `note` (the log-signed checkpoint of `head`); one round per tree at a time. */
    collect(head: TreeHead, note: string): Promise<void> {
      const key = headKey(head);
      if (inFlight?.key === key) return inFlight.done;
      const done = (async () => {
        const lines = collected.key === key ? collected.lines : new Map<WitnessEndpoint, string>();
        await Promise.all(
          d.witnesses
            .filter((w) => !lines.has(w))
            .filter((w) => {
              const r = refused.get(w);
              return !r || r.key !== key || Date.now() - r.at > RETRY_MS;
            })
            .map(async (w) => {
              try {
                const line = await askOne(w, head, note);
                if (line) lines.set(w, line);
              } catch (err) {
                refused.set(w, { key, at: Date.now() });
                d.onError?.(w, (err as Error).message);
              }
            }),
        );
        collected = { key, lines };
      })();
      inFlight = { key, done };
      void done.finally(() => {
        if (inFlight?.key === key) inFlight = null;
      });
      return done;
    },
  };
}
