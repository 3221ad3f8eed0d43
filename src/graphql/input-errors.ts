/**
 * Makes GraphQL's own input-value errors speak the contract: `BAD_USER_INPUT` with `extensions.field`
 * naming the field path (`input.permitType`, `input.checklist.0.item`), like the domain's own refusals.
 *
 * - Variable coercion (`{"permitType": "SPACESHIP"}`, a null for a non-null field, a naive DateTime): the
 *   executor answers HTTP 400 with errors that carry no code (or the scalar's code but no field). The path is
 *   only in the message (`Variable "$input" got invalid value … at "input.permitType"; …`), so it is read
 *   from there; the 400 status is kept.
 * - Literals in the document (`permitType: SPACESHIP`): ValuesOfCorrectTypeRule reports them as
 *   `GRAPHQL_VALIDATION_FAILED`; the value node is located in the document to name its path.
 * - A resolver's refusal of several values at once (`badInputs`) becomes one error per value.
 * Nothing else is touched: other validation errors keep `GRAPHQL_VALIDATION_FAILED`.
 */
import { GraphQLError, Kind, type ASTNode, type DocumentNode, type ExecutionResult, type ValueNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ErrorCode } from '../errors.ts';

const VARIABLE_ERROR = /^Variable "\$([_A-Za-z][_0-9A-Za-z]*)"/;
const AT_PATH = /^Variable "\$[_A-Za-z][_0-9A-Za-z]*" got invalid value .*? at "([^"]+)"; /s;
const MISSING_FIELD = /^Field "(?:[_A-Za-z][_0-9A-Za-z]*\.)?([_A-Za-z][_0-9A-Za-z]*)" of required type/;

const VALUE_KINDS = new Set<string>([Kind.INT, Kind.FLOAT, Kind.STRING, Kind.BOOLEAN, Kind.NULL, Kind.ENUM, Kind.LIST, Kind.OBJECT]);

/** `input.checklist[0].item` → `input.checklist.0.item` (the path style of every other BAD_USER_INPUT). */
const normalisePath = (p: string) => p.replace(/\[(\d+)\]/g, '.$1');

/**
 * Field path of a variable coercion error, or null when the error is not one. When the document is given and
 * uses the variable exactly once, the path is told from the argument it feeds (`$i.windowStart` passed as
 * `input` → `input.windowStart`); otherwise from the variable's name.
 */
export function variableErrorField(message: string, doc?: DocumentNode): string | null {
  const v = VARIABLE_ERROR.exec(message);
  if (!v) return null;
  const name = v[1]!;
  const at = AT_PATH.exec(message);
  const path = normalisePath(at ? at[1]! : name);
  const uses = doc ? variableUses(doc, name) : [];
  return uses.length === 1 ? uses[0]! + path.slice(name.length) : path;
}

function rebuild(error: GraphQLError, field: string): GraphQLError {
  const { http, ...rest } = (error.extensions ?? {}) as Record<string, unknown>;
  return new GraphQLError(error.message, {
    ...(error.nodes ? { nodes: error.nodes } : {}),
    ...(error.source ? { source: error.source } : {}),
    ...(error.positions ? { positions: error.positions } : {}),
    ...(error.path ? { path: error.path } : {}),
    extensions: { ...rest, code: ErrorCode.BAD_USER_INPUT, field, ...(http ? { http } : {}) },
  });
}

/**
 * Calls `found(value, path)` for every value in the arguments (and variable defaults) of a document. Recursive over the
 * document: validation only runs on documents within the token limit (2,000, src/guard/use-armor-limits.ts), so at
 * most ~1,000 levels deep (test/guard/client-text.test.ts).
 */
function eachValue(doc: DocumentNode, found: (v: ValueNode, path: string) => boolean | undefined): void {
  let done = false;
  const walk = (v: ValueNode, path: string[]): void => {
    if (done) return;
    if (found(v, path.join('.'))) {
      done = true;
      return;
    }
    if (v.kind === Kind.OBJECT) for (const f of v.fields) walk(f.value, [...path, f.name.value]);
    else if (v.kind === Kind.LIST) v.values.forEach((x, i) => walk(x, [...path, String(i)]));
  };
  const visitNode = (n: unknown): void => {
    if (done || !n || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach(visitNode);
    const node = n as { kind?: string; arguments?: readonly { name: { value: string }; value: ValueNode }[] };
    if (node.kind === Kind.VARIABLE_DEFINITION) {
      const d = n as { variable: { name: { value: string } }; defaultValue?: ValueNode };
      if (d.defaultValue) walk(d.defaultValue, [d.variable.name.value]);
      return;
    }
    if (node.arguments) for (const a of node.arguments) walk(a.value, [a.name.value]);
    for (const [k, child] of Object.entries(n)) if (k !== 'loc' && k !== 'arguments' && typeof child === 'object') visitNode(child);
  };
  visitNode(doc);
}

/** Path of a value node inside the arguments (or variable defaults) of a document, e.g. `input.permitType`. */
export function literalPath(doc: DocumentNode, target: ASTNode): string | null {
  let at: string | null = null;
  eachValue(doc, (v, path) => {
    if (v !== target) return false;
    at = path;
    return true;
  });
  return at;
}

/** Argument paths where `$name` is used. */
function variableUses(doc: DocumentNode, name: string): string[] {
  const uses: string[] = [];
  eachValue(doc, (v, path) => {
    if (v.kind === Kind.VARIABLE && v.name.value === name) uses.push(path);
  });
  return uses;
}

/**
 * A domain refusal of several values (`badInputs`, src/errors.ts) as one error per value, each naming its field:
 * the first keeps the shape a single refusal has always had, so clients reading `errors[0]` see no change.
 */
function eachIssue(e: GraphQLError): GraphQLError[] {
  const { invalid, ...rest } = e.extensions ?? {};
  if (!invalid?.length) return [e];
  return invalid.map(
    (issue) =>
      new GraphQLError(`${issue.field}: ${issue.message}`, {
        ...(e.nodes ? { nodes: e.nodes } : {}),
        ...(e.source ? { source: e.source } : {}),
        ...(e.positions ? { positions: e.positions } : {}),
        ...(e.path ? { path: e.path } : {}),
        ...(e.originalError ? { originalError: e.originalError } : {}),
        extensions: { ...rest, field: issue.field },
      }),
  );
}

export function useInputErrors(): Plugin {
  return {
    onValidate({ params }) {
      return ({ valid, result, setResult }) => {
        if (valid) return;
        let changed = false;
        const mapped = result.map((e) => {
          const node = e.nodes?.[0];
          if (!node || !VALUE_KINDS.has(node.kind)) return e;
          const at = literalPath(params.documentAST, node);
          if (at === null) return e;
          const missing = MISSING_FIELD.exec(e.message);
          changed = true;
          return rebuild(e, missing ? `${at}.${missing[1]}` : at);
        });
        if (changed) setResult(mapped);
      };
    },
    onExecute({ args }) {
      const doc = args.document;
      return {
        onExecuteDone({ result, setResult }) {
          if (!result || typeof result !== 'object' || Symbol.asyncIterator in result) return;
          const r = result as ExecutionResult;
          if (r.errors?.some((e) => e.extensions?.invalid)) return setResult({ ...r, errors: r.errors.flatMap(eachIssue) });
          if (!r.errors?.length || 'data' in r) return;
          let changed = false;
          const errors = r.errors.map((e) => {
            const field = e.path ? null : variableErrorField(e.message, doc);
            if (field === null) return e;
            changed = true;
            return rebuild(e, field);
          });
          if (changed) setResult({ ...r, errors });
        },
      };
    },
  };
}
