/** A GraphQL-over-SSE client for tests (distinct connections mode, as Yoga serves it): events as they arrive. */
export interface SseStream {
  status: number;
  events: any[];
  /** True once the server ended the stream. */
  ended: boolean;
  waitFor(n: number, timeoutMs?: number): Promise<any[]>;
  close(): void;
}

export async function subscribe(url: string, query: string, variables: Record<string, unknown>, token: string): Promise<SseStream> {
  const abort = new AbortController();
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
    signal: abort.signal,
  });
  const s: SseStream = {
    status: res.status,
    events: [],
    ended: false,
    async waitFor(n, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (s.events.length < n && !s.ended && Date.now() < until) await Bun.sleep(25);
      return s.events;
    },
    close: () => abort.abort(),
  };
  if (!res.body || !(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    s.events.push(await res.json().catch(() => null));
    s.ended = true;
    return s;
  }
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body!) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event === 'next' && data) s.events.push(JSON.parse(data));
          if (event === 'complete') s.ended = true;
        }
      }
    } catch {
      // aborted by close()
    }
    s.ended = true;
  })();
  return s;
}
