/**
 * Development only: one demo client per role (two contractors bound to different contractor records, a clerk
 * in each jurisdiction), written to DATA_DIR/demo-clients.json (mode 0600) so a newcomer can get a token.
 */
import { eq } from 'drizzle-orm';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../db/client.ts';
import { apiClients } from '../db/schema/clients.ts';
import { demoLicense } from '../db/seed.ts';
import { registerClient, rotateClientSecret } from './client-registry.ts';

export interface DemoClient {
  client_id: string;
  client_secret: string;
  role: string;
  jurisdiction: string;
  contractor: string | null;
}

export const DEMO_CLIENTS: Omit<DemoClient, 'client_secret'>[] = [
  { client_id: 'demo-contractor-a', role: 'contractor', jurisdiction: 'demo-city', contractor: demoLicense('demo-city', 0) },
  { client_id: 'demo-contractor-b', role: 'contractor', jurisdiction: 'demo-city', contractor: demoLicense('demo-city', 1) },
  { client_id: 'demo-gis', role: 'gis_vendor', jurisdiction: 'demo-city', contractor: null },
  { client_id: 'demo-inspector', role: 'inspector', jurisdiction: 'demo-city', contractor: null },
  { client_id: 'demo-clerk', role: 'clerk', jurisdiction: 'demo-city', contractor: null },
  { client_id: 'demo-clerk-other', role: 'clerk', jurisdiction: 'other-town', contractor: null },
  { client_id: 'demo-analyst', role: 'analyst', jurisdiction: 'demo-city', contractor: null },
  { client_id: 'demo-compliance', role: 'compliance', jurisdiction: 'demo-city', contractor: null },
  { client_id: 'demo-admin', role: 'admin', jurisdiction: 'demo-city', contractor: null },
];

/** Creates (or, when the file was lost, re-keys) the demo clients and returns them with their secrets. */
export async function ensureDemoClients(db: Db, file: string | null): Promise<DemoClient[]> {
  if (file && existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DemoClient[];
  const out: DemoClient[] = [];
  for (const c of DEMO_CLIENTS) {
    const [existing] = await db.select({ id: apiClients.clientId }).from(apiClients).where(eq(apiClients.clientId, c.client_id));
    const secret = existing
      ? await rotateClientSecret(db, c.client_id)
      : (await registerClient(db, { clientId: c.client_id, role: c.role, jurisdiction: c.jurisdiction, contractorLicense: c.contractor })).secret;
    if (secret) out.push({ ...c, client_secret: secret });
  }
  if (file) writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`, { mode: 0o600 });
  return out;
}

export const demoClientsFile = (dataDir: string) => join(dataDir, 'demo-clients.json');
