/**
 * Trusted documents (PERSISTED_ONLY=true): third-party clients may only run operations registered by hash in
 * `schema/persisted/*.graphql`; holders of `schema:introspect` (analysts in GraphiQL) stay free.
 * Built on Yoga's persisted-operations plugin; refusals answer 400 QUERY_REJECTED.
 */
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import type { Plugin } from 'graphql-yoga';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scopeOf } from '../request-scope.ts';
import { queryRejected } from '../errors.ts';

export const PERSISTED_DIR = fileURLToPath(new URL('../../schema/persisted', import.meta.url));

export interface PersistedDocument {
  /** Hex SHA-256 of `text`: the id clients send. */
  hash: string;
  /** The operation exactly as registered (comment lines removed, trimmed). */
  text: string;
  /** The file it is registered in, relative to the directory. */
  file: string;
}

/** Every registered document in file order (`bun run cli persisted list` prints them). */
export function listPersistedDocuments(dir = PERSISTED_DIR): PersistedDocument[] {
  const docs: PersistedDocument[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .sort()) {
    const parts = readFileSync(join(dir, file), 'utf8').split(/^# ---\s*$/m);
    for (const part of parts) {
      const text = part
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .join('\n')
        .trim();
      if (text) docs.push({ hash: new Bun.CryptoHasher('sha256').update(text).digest('hex'), text, file });
    }
  }
  return docs;
}

/** hash (hex SHA-256 of the operation text) → operation text. */
export function loadPersistedDocuments(dir = PERSISTED_DIR): Map<string, string> {
  return new Map(listPersistedDocuments(dir).map((d) => [d.hash, d.text]));
}

export interface TrustedDocumentsOptions {
  documents: Map<string, string>;
}

/**
 * Only registered documents run, except for a principal with `schema:introspect` (an analyst in GraphiQL). The
 * library asks its `allowArbitraryOperations` with the Request alone, so one instance per answer is built and each
 * request is handed to the one its scope's principal calls for (only `onParams` does anything for text documents).
 */
export function useTrustedDocuments({ documents }: TrustedDocumentsOptions): Plugin {
  const strict = persistedOperations(documents, false);
  const open = persistedOperations(documents, true);
  return {
    onParams(payload) {
      const principal = scopeOf(payload.context).principal;
      return (principal?.scopes.has('schema:introspect') ? open : strict).onParams!(payload);
    },
  };
}

function persistedOperations(documents: Map<string, string>, allowArbitraryOperations: boolean): Plugin {
  return usePersistedOperations({
    allowArbitraryOperations,
    getPersistedOperation: (key) => documents.get(key) ?? null,
    extractPersistedOperationId: (params) => {
      const p = params as { documentId?: unknown; extensions?: { persistedQuery?: { sha256Hash?: unknown } } };
      const id = p.documentId ?? p.extensions?.persistedQuery?.sha256Hash;
      return typeof id === 'string' && /^[0-9a-f]{64}$/.test(id) ? id : null;
    },
    customErrors: {
      notFound: () => queryRejected('This operation is not a registered trusted document'),
      persistedQueryOnly: () =>
        queryRejected('Only registered trusted documents may run here (PERSISTED_ONLY): send documentId or persistedQuery.sha256Hash'),
      keyNotFound: () => queryRejected('A trusted document id is required'),
    },
  }) as Plugin;
}
