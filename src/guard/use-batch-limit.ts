/**
 * Batched requests (a JSON array of operations) are limited to `limit` operations; more is refused with
 * 400 `QUERY_REJECTED` (Yoga's own limit answers 413 `BAD_REQUEST`, not the contract's code).
 *
 * Yoga refuses every batch unless `createYoga({ batching: { limit } })` is set: set it to at least this limit (this
 * plugin runs before Yoga's own check and gives the contract's error). Yoga's limit stays the hard ceiling for
 * measure-only clients (`measureOnly`), which are served over this one: `onWouldRefuse` hears it. Each operation of a
 * batch is then rate-limited, cost-checked and audited on its own.
 */
import type { Plugin } from 'graphql-yoga';
import { rejection } from './use-armor-limits.ts';

export interface BatchLimitOptions {
  /** Most operations in one batched request. @default 10 */
  limit?: number;
  /** Whether the request's client only measures (its Yoga server context). @default nobody */
  measureOnly?: (serverContext: object) => boolean;
  /** A measure-only client sent a batch over the limit; `message` is the refusal it would have got. @default nothing */
  onWouldRefuse?: (serverContext: object, message: string) => void;
}

const defaults = { limit: 10 };

export function useBatchLimit(options: BatchLimitOptions = {}): Plugin {
  const limit = options.limit ?? defaults.limit;
  const measureOnly = options.measureOnly ?? (() => false);
  const onWouldRefuse = options.onWouldRefuse ?? (() => {});
  return {
    onRequestParse({ serverContext }) {
      return {
        onRequestParseDone({ requestParserResult }) {
          if (Array.isArray(requestParserResult) && requestParserResult.length > limit) {
            const message = `Batch limit of ${limit} operations exceeded, found ${requestParserResult.length}.`;
            if (measureOnly(serverContext)) return onWouldRefuse(serverContext, message);
            throw rejection(message);
          }
        },
      };
    },
  };
}
