/**
 * A webhook receiver for tests, built on the Standard Webhooks library's own verifier: every request is checked
 * with `Webhook.verify` against the secret; unverifiable requests are kept apart so a test can insist on none.
 * It de-duplicates by `webhook-id` as the specification tells receivers to (`processed`), and can be slow to
 * answer (`hold`), so that a test can kill the sender while a delivery is in flight.
 */
import { Webhook } from 'standardwebhooks';

export interface Received {
  id: string;
  timestamp: string;
  body: { type: string; timestamp: string; data: Record<string, any>; links?: { href: string; rel: string; type: string }[] };
}

export interface Receiver {
  url: string;
  /** Set once the webhook is registered (the secret is shown only then). */
  secret: string | null;
  /** Every verified request, repeats included, in arrival order. */
  verified: Received[];
  /** Verified deliveries de-duplicated by webhook-id: each event processed once, in order of first arrival. */
  processed: Received[];
  /** While set, a verified request is processed and then left unanswered until this settles (a slow receiver). */
  hold: Promise<void> | null;
  /** Requests being held now. */
  holding: number;
  /** The `Link` header of each verified request, by webhook-id. */
  links: Map<string, string | null>;
  /** Attempts of every request, verified or not, by webhook-id. */
  attempts: Map<string, number>;
  unverified: string[];
  /** Answers 500 to the first `n` attempts of each webhook-id. */
  failFirst: number;
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>;
  stop(): void;
}

export function startReceiver(): Receiver {
  const r: Receiver = {
    url: '',
    secret: null,
    verified: [],
    processed: [],
    hold: null,
    holding: 0,
    links: new Map(),
    attempts: new Map(),
    unverified: [],
    failFirst: 0,
    async waitFor(n, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      while (r.verified.length < n && Date.now() < until) await Bun.sleep(50);
      return r.verified;
    },
    stop: () => void server.stop(true),
  };
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      const text = await req.text();
      const id = req.headers.get('webhook-id') ?? '';
      const n = (r.attempts.get(id) ?? 0) + 1;
      r.attempts.set(id, n);
      if (n <= r.failFirst) return new Response('try later', { status: 500 });
      try {
        const headers = Object.fromEntries(req.headers.entries());
        const body = new Webhook(r.secret!).verify(text, headers) as Received['body'];
        const got = { id, timestamp: req.headers.get('webhook-timestamp')!, body };
        r.verified.push(got);
        r.links.set(id, req.headers.get('link'));
        if (!r.processed.some((p) => p.id === id)) r.processed.push(got);
        if (r.hold) {
          r.holding++;
          await r.hold.finally(() => r.holding--);
        }
        return new Response(null, { status: 204 });
      } catch (err) {
        r.unverified.push(`${id}: ${(err as Error).message}`);
        return new Response('bad signature', { status: 400 });
      }
    },
  });
  r.url = `http://127.0.0.1:${server.port}/hook`;
  return r;
}
