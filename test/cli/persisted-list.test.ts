/** `bun run cli persisted list` (issue 18 item 16: schema/persisted/ named a command that did not exist). */
import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPersistedDocuments } from '../../src/guard/persisted-documents.ts';
import { CLI_TEST_TIMEOUT, runCli } from './support.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('cli persisted list', () => {
  test(
    '--json lists every trusted document the server loads, with the hash clients send and its name',
    async () => {
      const res = await runCli(['persisted', 'list', '--json']);
      expect(res.code).toBe(0);
      const report = JSON.parse(res.stdout) as { count: number; documents: { hash: string; name: string; type: string; file: string }[] };
      const served = loadPersistedDocuments();
      expect(report.count).toBe(served.size);
      expect(new Set(report.documents.map((d) => d.hash))).toEqual(new Set(served.keys()));
      for (const d of report.documents) {
        expect(d.hash).toBe(new Bun.CryptoHasher('sha256').update(served.get(d.hash)!).digest('hex'));
        expect(served.get(d.hash)).toContain(`${d.type} ${d.name}`);
        expect(d.file).toBe('operations.graphql');
      }
      expect(report.documents.map((d) => d.name)).toContain('PermitsGeoJSON');
      expect(report.documents.find((d) => d.name === 'SubmitPermit')?.type).toBe('mutation');
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'the text output is a table of hashes and names',
    async () => {
      const res = await runCli(['persisted', 'list']);
      expect(res.code).toBe(0);
      const [hash, text] = [...loadPersistedDocuments()].find(([, t]) => t.includes('query PermitStatus'))!;
      expect(text).toBeTruthy();
      expect(res.stdout).toMatch(new RegExp(`${hash}\\s+PermitStatus\\s+query`));
      expect(res.stdout).toContain(`${loadPersistedDocuments().size} trusted documents`);
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    '--dir lists another directory; a document that is not one operation fails naming it',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'pg-persisted-'));
      dirs.push(dir);
      writeFileSync(
        join(dir, 'a.graphql'),
        '# header\n# ---\nquery One { me { clientId } }\n# ---\nquery Two { me { role } } query Three { me { role } }\n# ---\n{ me { clientId } }\n',
      );
      const res = await runCli(['persisted', 'list', '--dir', dir, '--json']);
      expect(res.code).toBe(1);
      const report = JSON.parse(res.stdout) as { documents: { name: string | null; problem?: string }[] };
      expect(report.documents.map((d) => d.name)).toEqual(['One', null, null]);
      expect(report.documents[1]!.problem).toContain('2 operations');
      expect(report.documents[2]!.problem).toBeUndefined();
      const missing = await runCli(['persisted', 'list', '--dir', join(dir, 'nope')]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('no such directory');
    },
    CLI_TEST_TIMEOUT,
  );
});
