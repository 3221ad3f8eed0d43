/** Cursor pagination shared by every list: one page size rule and one opaque cursor format for all connections. */
import { badInput } from '../errors.ts';

export const PAGE = { default: 50, max: 200 } as const;

/** `first` defaults to 50 and may not exceed 200 (a clear error rather than a silent cap). */
export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return PAGE.default;
  if (!Number.isInteger(first) || first < 0 || first > PAGE.max) throw badInput('first', `must be between 0 and ${PAGE.max}`);
  return first;
}

/** Opaque cursors: base64url of the row id the page ends at. */
export const encodeCursor = (id: string) => Buffer.from(`c:${id}`).toString('base64url');

export function decodeCursor(cursor: string | null | undefined): string | null {
  if (!cursor) return null;
  const raw = Buffer.from(cursor, 'base64url').toString();
  const id = raw.startsWith('c:') ? raw.slice(2) : '';
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw badInput('after', 'is not a cursor this API issued');
  return id;
}

export interface Page<T> {
  nodes: T[];
  hasNextPage: boolean;
  endCursor: string | null;
  startCursor: string | null;
}

/** A page from `size + 1` rows fetched in cursor order (the extra row only tells that there is a next page). */
export function toPage<T extends { id: string }>(rows: T[], size: number): Page<T> {
  const nodes = rows.slice(0, size);
  return {
    nodes,
    hasNextPage: rows.length > size,
    startCursor: nodes[0] ? encodeCursor(nodes[0].id) : null,
    endCursor: nodes.at(-1) ? encodeCursor(nodes.at(-1)!.id) : null,
  };
}
