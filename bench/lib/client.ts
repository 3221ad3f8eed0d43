/** Small HTTP helpers the harness uses outside the measured runs (tokens, inputs, probes). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DemoClient {
  client_id: string;
  client_secret: string;
  role: string;
}

export function readDemoClients(dataDir: string): DemoClient[] {
  return JSON.parse(readFileSync(join(dataDir, 'demo-clients.json'), 'utf8')) as DemoClient[];
}

/** OAuth client credentials grant with client_secret_post. */
export async function fetchToken(baseUrl: string, clientId: string, secret: string): Promise<string> {
  const res = await fetch(`${baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }),
  });
  const body = (await res.json()) as { access_token?: string };
  if (!res.ok || !body.access_token) throw new Error(`token for ${clientId}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

export async function tokensFor(baseUrl: string, dataDir: string, clientIds: string[]): Promise<Record<string, string>> {
  const clients = readDemoClients(dataDir);
  const out: Record<string, string> = {};
  for (const id of clientIds) {
    const c = clients.find((x) => x.client_id === id);
    if (!c) throw new Error(`demo client ${id} missing from ${dataDir}/demo-clients.json`);
    out[id] = await fetchToken(baseUrl, id, c.client_secret);
  }
  return out;
}

export async function graphql<T>(baseUrl: string, token: string | null, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  if (!res.ok || body.errors) throw new Error(`graphql HTTP ${res.status}: ${JSON.stringify(body).slice(0, 500)}`);
  return body.data as T;
}
