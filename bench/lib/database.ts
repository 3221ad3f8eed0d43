/**
 * A fresh PostgreSQL database per benchmark run (`bench_<timestamp>` next to the one DATABASE_URL names),
 * dropped afterwards unless --keep-db.
 */
import postgres from 'postgres';

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** `suffix`: a second database of the same run (the peer's, `bench_<timestamp>_<pid>_peer`). */
export async function createBenchDatabase(baseUrl: string, suffix = ''): Promise<BenchDatabase> {
  const name = `bench_${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}_${process.pid}${suffix ? `_${suffix}` : ''}`;
  const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const u = new URL(baseUrl);
  u.pathname = `/${name}`;
  return {
    name,
    url: u.toString(),
    async drop() {
      const a = postgres(baseUrl, { max: 1, onnotice: () => {} });
      try {
        await a.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await a.end();
      }
    },
  };
}

/** Read-only queries the harness needs to pick inputs (permit numbers, parcels) and to show what it did. */
export function openReader(url: string) {
  return postgres(url, { max: 2, onnotice: () => {} });
}

/** Tables whose rows the app updates or deletes as it runs (the rest only grow). */
const CHURNED = ['audit_pending', 'change_events', 'permits', 'permit_number_counters', 'jurisdiction_changes', 'webhook_deliveries'];

/**
 * Run before each measured run: waits until the previous run's audit entries are chained (staged ones, then the
 * read entries the workers hold: the chain's head and its checkpoints still for 300 ms), then vacuums the tables
 * it churned. A server with autovacuum off (CI's is) keeps every dead row of every earlier run, so each run paid
 * for all runs before it and the second run of an adjacent pair was the dearer one whatever it ran; production's
 * autovacuum keeps them down as this does.
 */
export function createSettler(url: string) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  return {
    async settle(): Promise<void> {
      for (let i = 0; i < 50; i++) {
        const [row] = await sql`select count(*)::int as n from audit_pending`;
        if (!row?.n) break;
        await Bun.sleep(100);
      }
      // the read entries the audit workers still hold (group-committed every 100 ms) and the checkpoints they set off:
      // chained and taken before the next run, which would otherwise pay for them
      const mark = async () => {
        const [row] =
          await sql`select (select coalesce(max(seq), 0) from audit_entries)::text || '/' || (select count(*) from audit_checkpoints)::text as m`;
        return String(row?.m);
      };
      let before = await mark();
      for (let i = 0; i < 40; i++) {
        await Bun.sleep(300);
        const now = await mark();
        if (now === before) break;
        before = now;
      }
      await sql.unsafe(`vacuum ${CHURNED.join(', ')}`);
    },
    end: () => sql.end(),
  };
}
