/**
 * U+0000 (NUL) in any string a client sends — a variable's value or key, or a string literal in the document — is
 * refused with BAD_USER_INPUT naming where it was. PostgreSQL cannot store or compare it as text: sent along, it made
 * the statement fail and the client got a masked INTERNAL_SERVER_ERROR (transitionPermit, amendPermit, auditLog,
 * revokeClient…) instead of a clear refusal. No field of this API has a use for it.
 */
import { GraphQLError, Kind, type ASTVisitor, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { badInput, ErrorCode } from '../errors.ts';

const MESSAGE = 'must not contain U+0000 (NUL)';

/** The path of the first string (or key) holding U+0000, or null. */
export function nulPath(value: unknown, path = ''): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const p = nulPath(v, `${path}[${i}]`);
      if (p !== null) return p;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const here = path ? `${path}.${k}` : k;
      if (k.includes('\u0000')) return path || '(a key)';
      const p = nulPath(v, here);
      if (p !== null) return p;
    }
  }
  return null;
}

/** Validation rule: string literals in the document (cached with the document by Yoga). */
function NoNulStringLiterals(context: ValidationContext): ASTVisitor {
  return {
    [Kind.STRING](node) {
      if (node.value.includes('\u0000')) {
        context.reportError(
          new GraphQLError(`a string literal ${MESSAGE}`, { nodes: [node], extensions: { code: ErrorCode.BAD_USER_INPUT } }),
        );
      }
    },
  };
}

export function useNoNulInput(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoNulStringLiterals);
    },
    onExecute({ args, setResultAndStopExecution }) {
      const path = nulPath(args.variableValues ?? {});
      if (path !== null) setResultAndStopExecution({ data: null, errors: [badInput(path, MESSAGE)] });
    },
  };
}
