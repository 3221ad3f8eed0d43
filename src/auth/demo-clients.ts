/**
 * Development only: one demo client per role (two contractors bound to different contractor records, a clerk
 * in each jurisdiction), written to DATA_DIR/demo-clients.json (mode 0600) so a newcomer can get a token.
 * The file outlives the database it was made for (DATA_DIR stays when DATABASE_URL changes, or the embedded
 * database is reset), so at every start each entry is checked against the current database and re-registered
 * or re-keyed when it would not work there.
 */
import { eq } from 'drizzle-orm';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../db/client.ts';
import { apiClients } from '../db/schema/clients.ts';
import { demoLicense } from '../db/seed.ts';
import type { Logger } from '../logger.ts';
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

/** The saved entries, or none when the file is missing or not what we wrote (it is then rewritten). */
export function readSaved(file: string | null, log?: Logger): DemoClient[] {
  if (!file || !existsSync(file)) return [];
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (!Array.isArray(parsed)) throw new Error('not a list');
    return parsed.filter((c): c is DemoClient => typeof c?.client_id === 'string' && typeof c?.client_secret === 'string');
  } catch (err) {
    log?.warn({ file, reason: (err as Error).message }, 'demo clients file unreadable: writing a new one');
    return [];
  }
}

/**
 * The saved entry as it stands in this database when its secret is the client's current one (not merely the
 * previous one still overlapping), else null. Attributes come from the database, the source of truth.
 */
async function workingHere(db: Db, saved: DemoClient): Promise<DemoClient | null> {
  const [c] = await db.select().from(apiClients).where(eq(apiClients.clientId, saved.client_id));
  if (c?.status !== 'active' || saved.client_secret.length > 256) return null;
  if (!(await Bun.password.verify(saved.client_secret, c.secretHash))) return null;
  return {
    client_id: c.clientId,
    client_secret: saved.client_secret,
    role: c.role,
    jurisdiction: c.jurisdictionId,
    contractor: c.contractorLicense,
  };
}

/**
 * Returns the demo clients with secrets that work on this database: entries of `file` that do are kept as they
 * are; missing clients are registered, existing ones with another secret are re-keyed, and the file is rewritten
 * only then. A revoked demo client stays revoked (and out of the file). Logs name clients, never secrets.
 */
export async function ensureDemoClients(db: Db, file: string | null, log?: Logger): Promise<DemoClient[]> {
  const saved = readSaved(file, log);
  const out: DemoClient[] = [];
  const renewed: string[] = [];
  for (const c of DEMO_CLIENTS) {
    const entry = saved.find((s) => s.client_id === c.client_id);
    const kept = entry ? await workingHere(db, entry) : null;
    if (kept) {
      out.push(kept);
      continue;
    }
    try {
      const [existing] = await db.select({ id: apiClients.clientId }).from(apiClients).where(eq(apiClients.clientId, c.client_id));
      const secret = existing
        ? await rotateClientSecret(db, c.client_id)
        : (await registerClient(db, { clientId: c.client_id, role: c.role, jurisdiction: c.jurisdiction, contractorLicense: c.contractor }))
            .secret;
      if (!secret) continue;
      const fresh = { ...c, client_secret: secret };
      // a client that already existed keeps its attributes from the database
      out.push(existing ? ((await workingHere(db, fresh)) ?? fresh) : fresh);
      renewed.push(c.client_id);
    } catch (err) {
      // e.g. a database without the demo jurisdictions (SEED=none): the other demo clients are still made
      log?.warn({ clientId: c.client_id, reason: (err as Error).message }, 'demo client not registered');
    }
  }
  const stale = saved.length !== out.length || renewed.length > 0;
  if (file && stale) {
    writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    if (saved.length) log?.info({ file, renewed }, 'demo clients did not work on this database: registered anew');
  }
  return out;
}

export const demoClientsFile = (dataDir: string) => join(dataDir, 'demo-clients.json');
