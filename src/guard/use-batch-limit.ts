/**
 * Batched requests (a JSON array of operations) are limited to `limit` operations; more is refused with
 * 400 `QUERY_REJECTED` (Yoga's own limit answers 413 `BAD_REQUEST`, not the contract's code).
 *
 * Yoga refuses every batch unless `createYoga({ batching: { limit } })` is set: set it to the same limit, this
 * plugin runs before Yoga's own check and gives the contract's error. Each operation of a batch is then
 * rate-limited, cost-checked and audited on its own.
 */
import type { Plugin } from 'graphql-yoga';
import { rejection } from './use-armor-limits.ts';

export interface BatchLimitOptions {
  /** Most operations in one batched request. @default 10 */
  limit?: number;
}

const defaults: Required<BatchLimitOptions> = { limit: 10 };

export function useBatchLimit(options: BatchLimitOptions = {}): Plugin {
  const limit = options.limit ?? defaults.limit;
  return {
    onRequestParse() {
      return {
        onRequestParseDone({ requestParserResult }) {
          if (Array.isArray(requestParserResult) && requestParserResult.length > limit) {
            throw rejection(`Batch limit of ${limit} operations exceeded, found ${requestParserResult.length}.`);
          }
        },
      };
    },
  };
}
