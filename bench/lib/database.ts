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
