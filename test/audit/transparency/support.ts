/** Shared steps of the transparency tests: grow the audit log of a test server and checkpoint it. */
import type { TestServer } from '../../helpers/server.ts';

/** Makes `n` audited requests, waits for their entries, then takes a checkpoint (the note follows it). */
export async function growAndCheckpoint(t: TestServer, n: number): Promise<void> {
  const tok = await t.token('demo-clerk');
  for (let i = 0; i < n; i++) await t.gql(`query { permit(number: "DC-BLD-2024-00000${(i % 3) + 1}") { number } }`, undefined, tok);
  await t.running.audit.flush();
  await t.running.audit.checkpoint();
}

export async function getText(url: string): Promise<{ status: number; type: string | null; body: string }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}
