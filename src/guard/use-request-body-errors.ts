/**
 * A request whose body (or `variables`/`extensions` query parameter) is not valid JSON is answered 400 with a plain
 * message and the stable code BAD_REQUEST. Yoga echoed its JSON parser's own message (`extensions.originalError`,
 * engine-specific text about the client's bytes), and a GET or form request with broken `variables` JSON threw from
 * its parser as a masked 500 with a stack trace in the log.
 *
 * It wraps whichever request parser Yoga selected, so it must come after Yoga's parsers (any place in `plugins`).
 * Errors that are not about the client's text (a hung-up client, a body over the limit) pass unchanged.
 */
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

type RequestParser = (request: Request) => unknown;

export const INVALID_JSON_MESSAGE =
  'The request is not valid JSON: send an object (or a batch: an array of objects) with `query`, and `variables` and `extensions` as JSON objects';

const badRequest = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });

/** The error to answer for a parser's failure, or null to let it pass as it is. */
export function plainParseError(err: unknown): GraphQLError | null {
  // JSON.parse of a GET or form request's `variables`/`extensions`, and a nesting too deep for the parser itself
  if (err instanceof SyntaxError || err instanceof RangeError) return badRequest(INVALID_JSON_MESSAGE);
  if (!(err instanceof GraphQLError)) return null;
  const ext = err.extensions as { originalError?: unknown; code?: unknown };
  if (ext.originalError !== undefined || err.message.startsWith('POST body sent invalid JSON')) return badRequest(INVALID_JSON_MESSAGE);
  // multipart: Yoga appends the form parser's own message
  if (err.message.startsWith('POST body sent invalid multipart data')) return badRequest('The request is not valid multipart form data');
  return null;
}

export function useRequestBodyErrors(): Plugin {
  const wrapped = new WeakMap<RequestParser, RequestParser>();
  const wrap = (parser: RequestParser): RequestParser => {
    let w = wrapped.get(parser);
    if (!w) {
      const refuse = (err: unknown) => {
        throw plainParseError(err) ?? err;
      };
      w = (request: Request) => {
        let parsed: unknown;
        try {
          parsed = parser(request);
        } catch (err) {
          refuse(err);
        }
        // GET parses synchronously: no promise is added where there was none
        const then = (parsed as PromiseLike<unknown> | null)?.then;
        return typeof then === 'function' ? (parsed as PromiseLike<unknown>).then(undefined, refuse) : parsed;
      };
      wrapped.set(parser, w);
    }
    return w;
  };
  return {
    onRequestParse({ requestParser, setRequestParser }) {
      if (requestParser) setRequestParser(wrap(requestParser as RequestParser) as typeof requestParser);
    },
  };
}
