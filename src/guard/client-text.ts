/**
 * The one place that decides what client text the service can carry. Two kinds of character in a string are
 * refused or replaced wherever a client sent them:
 * - U+0000 (NUL): PostgreSQL cannot store or compare it as text (a statement failed with a masked 500);
 * - a lone UTF-16 surrogate (`"\ud800"`, valid in JSON text): no UTF-8 encoding exists for it, so the audit entry
 *   holding it has no canonical JSON and cannot be hashed (the entry used to be replaced by a record naming nobody).
 * The request guard (use-client-text.ts) refuses them with BAD_USER_INPUT naming where they were; what the audit
 * records from a client (src/audit/append.ts `storable`) has them as U+FFFD, so an entry always carries who did what.
 *
 * Client JSON can also nest arbitrarily deep (a 2 MiB body holds a million `[`): every walk here is iterative and
 * stops at a depth cap, since a recursive one overflowed the stack at ~10,000 levels.
 */

/** Deepest nesting accepted in variables and extensions (an input object of this API nests a few levels). */
export const MAX_CLIENT_JSON_DEPTH = 64;

export type TextProblem = 'nul' | 'surrogate';

/** Why a string cannot be carried, or null when it can. */
export function textProblem(s: string): TextProblem | null {
  if (s.includes('\u0000')) return 'nul';
  return s.isWellFormed() ? null : 'surrogate';
}

const NUL = /\u0000/g;

/** `s` with U+0000 and lone surrogates replaced by U+FFFD (the replacement character); `s` itself when clean. */
export function storableText(s: string): string {
  if (textProblem(s) === null) return s;
  return s.toWellFormed().replace(NUL, '\uFFFD');
}

export const TEXT_MESSAGES: Readonly<Record<TextProblem | 'depth', string>> = {
  nul: 'must not contain U+0000 (NUL)',
  surrogate: 'must not contain a lone UTF-16 surrogate (U+D800 to U+DFFF without its pair)',
  depth: `must not nest deeper than ${MAX_CLIENT_JSON_DEPTH} levels`,
};

export interface ClientTextFinding {
  /** Where it was: `input.applicant.name`, `list[1]`; for a key, the object holding it (`(a key)` at the top). */
  path: string;
  problem: TextProblem | 'depth';
}

interface Frame {
  value: unknown;
  depth: number;
  parent: Frame | null;
  /** Segment of this value under its parent: a key or an array index. */
  key: string | number | null;
}

/** `input.applicant.name` / `list[1]`, built only for the value that is reported. */
function pathOf(frame: Frame | null, root: string): string {
  const parts: (string | number)[] = [];
  for (let f = frame; f && f.key !== null; f = f.parent) parts.push(f.key);
  let path = root;
  for (const k of parts.reverse()) path = typeof k === 'number' ? `${path}[${k}]` : path ? `${path}.${k}` : k;
  // a path is made of the client's own keys: bounded so an error message stays small, and made of storable text
  return storableText(path.length > 200 ? `${path.slice(0, 199)}…` : path);
}

export interface ClientJsonReport {
  /** The first string or key (depth-first, in key order) that cannot be carried. */
  text: ClientTextFinding | null;
  /** The first place nested deeper than the cap (the walk stops there). */
  tooDeep: ClientTextFinding | null;
}

/**
 * Walks `value` iteratively: every string and key is checked with `check`, and nesting deeper than `maxDepth` stops
 * the walk. After a bad text it goes on looking for too deep a nesting (the stronger refusal: nothing else may walk
 * such a value). `root` prefixes the paths (`''` for variables, which are named by their own names).
 */
export function inspectClientJson(
  value: unknown,
  root = '',
  maxDepth = MAX_CLIENT_JSON_DEPTH,
  check: (s: string) => TextProblem | null = textProblem,
): ClientJsonReport {
  let text: ClientTextFinding | null = null;
  // parsed JSON has no cycles, but audit entries are checked here too: the objects on the current path are kept so
  // an object met again inside itself is skipped (an `exit` frame takes its object off the path)
  const path = new Set<object>();
  const stack: (Frame | { exit: object })[] = [{ value, depth: 0, parent: null, key: null }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    if ('exit' in top) {
      path.delete(top.exit);
      continue;
    }
    const frame = top;
    const v = frame.value;
    if (typeof v === 'string') {
      const problem: TextProblem | null = text ? null : check(v);
      if (problem) text = { path: pathOf(frame, root) || root || '(a value)', problem };
      continue;
    }
    if (v === null || typeof v !== 'object' || path.has(v)) continue;
    if (frame.depth >= maxDepth) return { text, tooDeep: { path: pathOf(frame, root) || root || '(a value)', problem: 'depth' } };
    path.add(v);
    stack.push({ exit: v });
    const children: Frame[] = [];
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) children.push({ value: v[i], depth: frame.depth + 1, parent: frame, key: i });
    } else {
      for (const [k, child] of Object.entries(v)) {
        const problem: TextProblem | null = text ? null : check(k);
        if (problem) text = { path: pathOf(frame, root) || '(a key)', problem };
        children.push({ value: child, depth: frame.depth + 1, parent: frame, key: k });
      }
    }
    // pushed in reverse so the first key (or index) is looked at first
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return { text, tooDeep: null };
}

/** The path of the first string (or key) holding U+0000, or null (any depth). */
export function nulPath(value: unknown): string | null {
  return inspectClientJson(value, '', Infinity, (s) => (s.includes('\u0000') ? 'nul' : null)).text?.path ?? null;
}

export interface StorableCopyOptions {
  /**
   * Also make what JSON cannot carry exactly storable: a BigInt becomes its decimal text, a non-finite number null,
   * a cycle `"[CIRCULAR]"`, nesting below `maxDepth` `"[TRUNCATED]"`. Without it only text is replaced, and such
   * values are copied as they are (for the append to refuse and name).
   */
  salvage?: boolean;
  /** @default MAX_CLIENT_JSON_DEPTH */
  maxDepth?: number;
}

interface CopyJob {
  source: object;
  target: unknown[] | Record<string, unknown>;
  depth: number;
}

const omitted = (v: unknown) => v === undefined || typeof v === 'function' || typeof v === 'symbol';

/**
 * A copy of `value` as JSON would see it (values with `toJSON`, like Dates, as their JSON value; functions, symbols
 * and undefined members left out, or null in arrays), with every string and key passed through {@link storableText}.
 * Iterative, so no input can overflow the stack. Never changes its input.
 */
export function storableCopy(value: unknown, options: StorableCopyOptions = {}): unknown {
  const salvage = options.salvage ?? false;
  const maxDepth = options.maxDepth ?? MAX_CLIENT_JSON_DEPTH;
  /** Objects being copied on the current path (a cycle leads back to one of them). */
  const path = new Set<object>();
  const stack: (CopyJob | { exit: object })[] = [];
  /** The copy of one value; an object or array to fill is queued. */
  const copy = (v: unknown, depth: number): unknown => {
    let x = v;
    if (x !== null && typeof x === 'object' && typeof (x as { toJSON?: unknown }).toJSON === 'function')
      x = (x as { toJSON: () => unknown }).toJSON();
    if (typeof x === 'string') return storableText(x);
    if (typeof x === 'bigint') return salvage ? x.toString() : x;
    if (typeof x === 'number') return salvage && !Number.isFinite(x) ? null : x;
    if (x === null || typeof x !== 'object') return x;
    if (path.has(x)) return salvage ? '[CIRCULAR]' : x;
    if (depth > maxDepth) return salvage ? '[TRUNCATED]' : x;
    const target = Array.isArray(x) ? [] : ({} as Record<string, unknown>);
    stack.push({ source: x, target, depth });
    return target;
  };
  const result = copy(value, 0);
  while (stack.length > 0) {
    const job = stack.pop()!;
    if ('exit' in job) {
      path.delete(job.exit);
      continue;
    }
    const { source, target } = job;
    path.add(source);
    // the children are queued above this marker: the source leaves the path once they are all copied
    stack.push({ exit: source });
    if (Array.isArray(target)) {
      for (const v of source as unknown[]) {
        const c = copy(v, job.depth + 1);
        target.push(omitted(c) ? null : c);
      }
    } else {
      for (const [k, v] of Object.entries(source)) {
        const c = copy(v, job.depth + 1);
        if (!omitted(c)) target[storableText(k)] = c;
      }
    }
  }
  return result;
}
