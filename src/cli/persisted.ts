/** `persisted list`: the trusted documents (PERSISTED_ONLY=true) with the hashes clients send and their names. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Kind, parse } from 'graphql';
import { listPersistedDocuments, PERSISTED_DIR } from '../guard/persisted-documents.ts';
import type { Command } from './command.ts';
import { CliError, ExitCode, parseOptions, table } from './io.ts';

/** Name and type of a document's operation; `problem` when it does not parse or holds other than one operation. */
function describe(text: string): { name: string | null; type: string | null; problem?: string } {
  try {
    const ops = parse(text).definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
    if (ops.length !== 1) return { name: null, type: null, problem: `holds ${ops.length} operations, not one` };
    return { name: ops[0]!.name?.value ?? null, type: ops[0]!.operation };
  } catch (err) {
    return { name: null, type: null, problem: (err as Error).message };
  }
}

export const persistedList: Command = {
  name: 'persisted list',
  summary: 'the trusted documents (PERSISTED_ONLY): hash, operation name and type, file',
  help: `Usage: cli persisted list [--dir DIR] [--json]

Prints every operation registered in DIR/*.graphql (default: schema/persisted, the documents the server loads)
with its id: the hex SHA-256 of its text, which clients send as {"documentId": HASH} or
{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": HASH}}} when PERSISTED_ONLY=true.
Exits 1 naming any document that does not parse as exactly one operation.`,
  async run(argv, { out }) {
    const o = parseOptions(argv, { dir: { type: 'string' } });
    const dir = o.dir ? resolve(o.dir) : PERSISTED_DIR;
    if (!existsSync(dir)) throw new CliError(`--dir: no such directory: ${dir}`);
    const documents = listPersistedDocuments(dir).map((d) => ({ hash: d.hash, ...describe(d.text), file: d.file }));
    const broken = documents.filter((d) => d.problem);
    await out.result({ dir, count: documents.length, documents }, () =>
      [
        table(
          ['HASH', 'NAME', 'TYPE', 'FILE'],
          documents.map((d) => [d.hash, d.name ?? '(anonymous)', d.type ?? '-', d.file]),
        ),
        '',
        `${documents.length} trusted documents in ${dir}.`,
        ...broken.map((d) => `  ${d.file} ${d.hash.slice(0, 12)}…: ${d.problem}`),
      ].join('\n'),
    );
    if (broken.length) {
      if (out.json) out.note(`documents that are not one operation: ${broken.map((d) => d.hash).join(', ')}`);
      return ExitCode.FAILED;
    }
    return ExitCode.OK;
  },
};
