/**
 * Client text the service cannot carry (src/guard/client-text.ts: U+0000, lone UTF-16 surrogates) is refused with
 * BAD_USER_INPUT naming where it was, and so is JSON nested deeper than the cap. Each operation's parameters are
 * walked once, iteratively, before anything else looks inside them:
 * - nesting over the cap in variables or extensions, and bad text in the operation name (no operation can bear it),
 *   are refused at once, HTTP 400, before the document is parsed;
 * - bad text in variables (values and keys, used or not) or extensions is refused when the operation would execute
 *   (or subscribe), after the access policy (a caller without access is refused as such whatever it sent) and before any resolver;
 * - string literals in the document: a validation rule (the parser itself refuses lone surrogates there).
 * Before, NUL made statements fail (a masked 500) and a lone surrogate made the request's audit entry impossible to
 * hash (it was replaced by a record naming nobody, while the request went through).
 */
import { GraphQLError, Kind, type ASTVisitor, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { badInput, ErrorCode } from '../errors.ts';
import { inspectClientJson, TEXT_MESSAGES, textProblem, type ClientTextFinding } from './client-text.ts';

/** Validation rule: string literals in the document (cached with the document by Yoga). */
function ClientTextStringLiterals(context: ValidationContext): ASTVisitor {
  return {
    [Kind.STRING](node) {
      const problem = textProblem(node.value);
      if (problem) {
        context.reportError(
          new GraphQLError(`a string literal ${TEXT_MESSAGES[problem]}`, { nodes: [node], extensions: { code: ErrorCode.BAD_USER_INPUT } }),
        );
      }
    },
  };
}

/** A refusal answered before parsing: a request error, HTTP 400. */
function requestRefusal(f: ClientTextFinding): GraphQLError {
  return new GraphQLError(`${f.path}: ${TEXT_MESSAGES[f.problem]}`, {
    extensions: { code: ErrorCode.BAD_USER_INPUT, field: f.path, http: { status: 400 } },
  });
}

interface Params {
  operationName?: unknown;
  variables?: unknown;
  extensions?: unknown;
}

export function useClientText(): Plugin {
  /** Bad text found in an operation's variables or extensions, refused once it would execute (by its context). */
  const pending = new WeakMap<object, ClientTextFinding>();
  return {
    onParams({ params, context, setResult }) {
      const p = params as Params;
      const name = typeof p.operationName === 'string' ? textProblem(p.operationName) : null;
      if (name) return setResult({ errors: [requestRefusal({ path: 'operationName', problem: name })] });
      const variables = inspectClientJson(p.variables);
      const extensions = inspectClientJson(p.extensions, 'extensions');
      const tooDeep = variables.tooDeep ?? extensions.tooDeep;
      if (tooDeep) return setResult({ errors: [requestRefusal(tooDeep)] });
      const found = variables.text ?? extensions.text;
      if (!found) return;
      pending.set(context, found);
    },
    onValidate({ addValidationRule }) {
      addValidationRule(ClientTextStringLiterals);
    },
    onExecute({ args, setResultAndStopExecution }) {
      const found = pending.get(args.contextValue as object);
      if (found) setResultAndStopExecution({ data: null, errors: [badInput(found.path, TEXT_MESSAGES[found.problem])] });
    },
    // a subscription is subscribed, never executed: without this its bad text went through (SSE and WebSocket)
    onSubscribe({ args, setResultAndStopExecution }) {
      const found = pending.get(args.contextValue as object);
      if (found) setResultAndStopExecution({ data: null, errors: [badInput(found.path, TEXT_MESSAGES[found.problem])] });
    },
  };
}
