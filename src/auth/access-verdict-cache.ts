/**
 * Remembers generic-auth's "allowed" verdicts. @envelop/generic-auth walks the whole document with a TypeInfo
 * visitor on every request (its rule needs the caller's scopes, so Yoga's validation cache cannot hold it); under
 * load that walk was a quarter of the full stack's CPU. The verdict depends only on
 *   the document, the operation name, the caller's scopes, and, when the document has @skip/@include with
 *   variables, the variables,
 * so an allowed combination is remembered per parsed document (Yoga's parse cache hands out the same
 * DocumentNode for the same text) and the walk is skipped the next time. Denials are never cached: they always
 * run the real rule, so their errors (paths, codes) are exactly generic-auth's.
 */
import { Kind, visit, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** Distinct allowed (operation, scopes, variables) combinations kept per document. */
const PER_DOCUMENT = 64;

const allowed = new WeakMap<DocumentNode, Set<string>>();
const conditional = new WeakMap<DocumentNode, boolean>();

/** Does the document include or skip anything depending on a variable? */
function hasConditionalFields(doc: DocumentNode): boolean {
  let found = conditional.get(doc);
  if (found === undefined) {
    found = false;
    visit(doc, {
      Directive(node) {
        if ((node.name.value === 'skip' || node.name.value === 'include') && node.arguments?.some((a) => a.value.kind === Kind.VARIABLE))
          found = true;
      },
    });
    conditional.set(doc, found);
  }
  return found;
}

interface ExecuteArgs {
  document: DocumentNode;
  operationName?: string | null;
  variableValues?: Record<string, unknown> | null;
  contextValue: Record<string, unknown>;
}

function verdictKey(args: ExecuteArgs, scopesOf: (context: Record<string, unknown>) => readonly string[] | null): string {
  const scopes = scopesOf(args.contextValue);
  const who = scopes ? [...scopes].sort().join(' ') : '\u0000anonymous';
  const vars = hasConditionalFields(args.document) ? JSON.stringify(args.variableValues ?? {}) : '';
  return `${args.operationName ?? ''}\u0000${who}\u0000${vars}`;
}

type ExecuteHook = (payload: { args: ExecuteArgs; setResultAndStopExecution: (r: unknown) => void }) => unknown;

/**
 * Wraps a generic-auth plugin: the extended-validation plugin it adds at init gets an `onExecute` that skips the
 * rule for a remembered allowed verdict. `scopesOf` reads the caller's scopes from the context (null: anonymous).
 */
export function withVerdictCache(authPlugin: Plugin, scopesOf: (context: Record<string, unknown>) => readonly string[] | null): Plugin {
  const wrapExecute =
    (inner: ExecuteHook): ExecuteHook =>
    (payload) => {
      const doc = payload.args.document;
      const key = verdictKey(payload.args, scopesOf);
      if (allowed.get(doc)?.has(key)) return undefined;
      let denied = false;
      const out = inner({
        ...payload,
        setResultAndStopExecution: (r) => {
          denied = true;
          payload.setResultAndStopExecution(r);
        },
      });
      if (!denied) {
        let keys = allowed.get(doc);
        if (!keys) allowed.set(doc, (keys = new Set()));
        if (keys.size < PER_DOCUMENT) keys.add(key);
      }
      return out;
    };
  const init = authPlugin.onPluginInit;
  return {
    ...authPlugin,
    onPluginInit: init
      ? (payload) =>
          init({
            ...payload,
            addPlugin: (added) => {
              const execute = (added as { onExecute?: ExecuteHook }).onExecute;
              payload.addPlugin(execute ? ({ ...added, onExecute: wrapExecute(execute) } as unknown as Plugin) : added);
            },
          })
      : undefined,
  } as Plugin;
}
