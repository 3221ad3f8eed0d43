/**
 * Query limits, refused cheaply before any resolver runs: token count (while parsing), then during validation
 * depth, aliases, directives (graphql-armor), cost with list multipliers (ours, see query-cost.ts), literal
 * field duplication, introspection and field suggestions (both only for `canSeeSuggestions` principals).
 *
 * Every refusal is a GraphQLError with `extensions.code = QUERY_REJECTED` and HTTP 400 (introspection: 403
 * FORBIDDEN), with a message naming the limit and the value found ("Query depth limit of 10 exceeded, found 50.").
 * Fragment cycles and repeated directives ("directive overloading"), which graphql's own rules already refuse,
 * are re-labelled QUERY_REJECTED too.
 *
 * Why not just `EnvelopArmorPlugin` with defaults:
 * - armor rules throw by default and skip Yoga's validation error path; we report into the context instead;
 * - armor's max-tokens with `propagateOnRejection: false` reports to a `null` context, i.e. lets the document
 *   through: tokens are limited here with graphql's own `maxTokens` parser option, which throws;
 * - armor's cost limit only multiplies literal `first`/`last`, ignores variables and `limit`;
 * - armor's block-field-suggestions hides suggestions from everyone, analysts included;
 * - Yoga caches validation results by document + rule *names*: every per-request decision (introspection
 *   allowed, suggestions shown, list-size variable values) is therefore encoded in a rule name, so one
 *   principal's cached result is never served to another.
 * - Yoga marks validation errors `http.spec = true`, which answers 200 to `application/json` clients; our
 *   rejections set `spec: false` so they always answer 400 (403 for introspection).
 *
 * Measure-only clients (`measureOnly`, for rolling out tighter limits) are served whatever limit they go over;
 * `onWouldRefuse` hears each limit that would have refused them (`LimitName`). Rules that are not limits (fragment
 * cycles, a missing slicing argument, introspection without the scope) refuse them as anyone. Yoga's caches must not
 * carry one client's leniency to another: the token count runs before Yoga's parse cache for every request (a
 * document parsed for a measure-only client is then never served past the limit), and a measure-only validation
 * adds a rule named for it, so its lenient result is cached apart.
 */
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import {
  GraphQLError,
  Kind,
  parse,
  Lexer,
  Source,
  TokenKind,
  type ASTVisitor,
  type DocumentNode,
  type ValidationContext,
  type ValidationRule,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ErrorCode, forbidden, queryRejected } from '../errors.ts';
import { computeQueryCost, listSizeVariables, queryDepth, selectOperation } from './query-cost.ts';
import { fieldPricesOf, type FieldPrices } from './field-prices.ts';

/** The Yoga/envelop context as the guard sees it during parse and validation (before context building). */
export interface GuardContext {
  request?: Request;
  params?: { variables?: Record<string, unknown> | null; operationName?: string | null };
}

/** The limits a measure-only client may go over (the names `onWouldRefuse` hears and the metric's `limit` label). */
export type LimitName = 'tokens' | 'depth' | 'aliases' | 'directives' | 'cost' | 'field_repeats' | 'introspection_depth';

export interface ArmorLimitsOptions {
  /** Maximum selection depth (fragments count as a level, like armor). @default 10 */
  maxDepth?: number;
  /**
   * Maximum depth inside `__schema` / `__type` (GraphiQL's own introspection query nests `ofType` about 9 deep,
   * so it gets its own, larger budget than `maxDepth`). @default 20
   */
  maxIntrospectionDepth?: number;
  /**
   * Maximum static cost: Σ over fields of the product of ancestor list sizes (`first`/`last`/`limit`, default
   * `defaultListSize`). The computed cost is kept for the rate limiter, see `getQueryCost`. @default 5000
   */
  maxCost?: number;
  /** Arguments that give a list field's size (literal or variable). @default ['first', 'last', 'limit'] */
  listSizeArguments?: string[];
  /** Size assumed for a list field without a size argument. @default 50 */
  defaultListSize?: number;
  /** Page size assumed for a Relay connection asked without `first` (the API's default page). @default 50 */
  connectionDefaultSize?: number;
  /**
   * Field prices (`Type.field` → weight, size): they override the defaults above for those fields.
   * @default the schema's own `@listSize` / `@cost` directives (none: the defaults apply everywhere)
   */
  prices?: FieldPrices;
  /** Maximum aliases per operation; every alias counts, `__typename` included (armor `allowList: []`). @default 15 */
  maxAliases?: number;
  /**
   * Maximum directives per operation (armor counts `>` this). Issue 4 says ten repeated directives on one field
   * are already too many, so at most 9 are allowed. @default 9
   */
  maxDirectives?: number;
  /** Maximum lexical tokens of a document; checked while parsing, before validation. @default 2000 */
  maxTokens?: number;
  /**
   * How often one response key (field name or alias) may be selected directly in one selection set
   * ("field duplication"); merging through fragments is not counted. @default 2
   */
  maxFieldRepeats?: number;
  /**
   * Whether this request's principal may see "Did you mean …" suggestions and use introspection
   * (`__schema`, `__type`). Called during parsing/validation, i.e. before Yoga builds the context: the principal
   * must already be on the server context (e.g. passed by the fetch handler: `yoga.fetch(req, { principal })`).
   * Introspection for others answers 403 `FORBIDDEN`. @default () => false (nobody)
   */
  canSeeSuggestions?: (context: GuardContext) => boolean;
  /** Replacement text for a removed suggestion. @default '' (the sentence is dropped) */
  suggestionMask?: string;
  /** Hears each validated operation's static cost and selection depth (extensions, histograms). @default nothing */
  onCost?: (context: GuardContext, cost: number, depth: number) => void;
  /** Whether this request's client only measures: served over any limit, each refusal it would get reported. @default nobody */
  measureOnly?: (context: GuardContext) => boolean;
  /** A measure-only client went over `limit`; `message` is the refusal it would have got. @default nothing */
  onWouldRefuse?: (context: GuardContext, limit: LimitName, message: string) => void;
}

const defaults: Required<ArmorLimitsOptions> = {
  maxDepth: 10,
  maxIntrospectionDepth: 20,
  maxCost: 5000,
  listSizeArguments: ['first', 'last', 'limit'],
  defaultListSize: 50,
  connectionDefaultSize: 50,
  prices: new Map(),
  maxAliases: 15,
  maxDirectives: 9,
  maxTokens: 2000,
  maxFieldRepeats: 2,
  canSeeSuggestions: () => false,
  suggestionMask: '',
  onCost: () => {},
  measureOnly: () => false,
  onWouldRefuse: () => {},
};

/** Which limit a refusal came from (the errors of cached validation results keep theirs). */
const limitOf = new WeakMap<GraphQLError, LimitName>();

/** What this plugin notes on the operation's own context, so the fact travels with the operation it belongs to. */
export interface CostedContext {
  /** The operation's static cost, computed during validation. */
  queryCost?: number;
}

/** The static cost computed for this operation during validation (undefined before validation). */
export function getQueryCost(context: object): number | undefined {
  return (context as CostedContext).queryCost;
}

/**
 * A QUERY_REJECTED error (errors.ts factory) keeping the original locations, answering 400 for any Accept; `limit`:
 * the limit refusing (a measure-only client is served over it). @default `from`'s limit, if any
 */
export function rejection(message: string, from?: GraphQLError, limit?: LimitName): GraphQLError {
  const base = queryRejected(message);
  const err = new GraphQLError(message, {
    nodes: from?.nodes,
    source: from?.source,
    positions: from?.positions,
    path: from?.path,
    extensions: { ...base.extensions, http: { status: 400, spec: false } },
  });
  const by = limit ?? (from && limitOf.get(from));
  if (by) limitOf.set(err, by);
  return err;
}

const SYNTAX_PREFIX = 'Syntax Error: ';
const SUGGESTION = /\s*Did you mean .+\?/g;

function maskSuggestions(err: GraphQLError, mask: string) {
  if (err.message.includes('Did you mean')) {
    err.message = err.message.replace(SUGGESTION, mask ? ` ${mask}` : '');
  }
}
const relabelled = [/^Cannot spread fragment ".*" within itself/, /^The directive ".*" can only be used once at this location\./];

function named(rule: ValidationRule, name: string): ValidationRule {
  Object.defineProperty(rule, 'name', { value: name });
  return rule;
}

function introspectionRule(context: ValidationContext): ASTVisitor {
  return {
    Field(node) {
      if (node.name.value === '__schema' || node.name.value === '__type') {
        const err = forbidden([node.name.value], 'Introspection is not allowed for this client');
        context.reportError(
          new GraphQLError(err.message, {
            nodes: [node],
            extensions: { ...err.extensions, http: { status: 403, spec: false } },
          }),
        );
      }
    },
  };
}

/** Depth of selections below an introspection root field (fragments followed, cycles refused elsewhere). */
function introspectionDepthRule(max: number): ValidationRule {
  return (context) => {
    const depthOf = (set: SelectionSetNode | undefined, seen: Set<string>): number => {
      let d = 0;
      for (const sel of set?.selections ?? []) {
        if (sel.kind === Kind.FIELD) d = Math.max(d, sel.selectionSet ? 1 + depthOf(sel.selectionSet, seen) : 1);
        else if (sel.kind === Kind.INLINE_FRAGMENT) d = Math.max(d, depthOf(sel.selectionSet, seen));
        else if (!seen.has(sel.name.value)) {
          const f = context.getFragment(sel.name.value);
          if (f) d = Math.max(d, depthOf(f.selectionSet, new Set([...seen, sel.name.value])));
        }
      }
      return d;
    };
    return {
      Field(node) {
        if (node.name.value !== '__schema' && node.name.value !== '__type') return;
        const depth = 1 + depthOf(node.selectionSet, new Set());
        if (depth > max) {
          context.reportError(rejection(`Introspection depth limit of ${max} exceeded, found ${depth}.`, undefined, 'introspection_depth'));
        }
      },
    };
  };
}

/** IBM `requireOneSlicingArgument`: a field that declares it must be given exactly one of its slicing arguments. */
function slicingArgumentsRule(prices: FieldPrices): ValidationRule {
  return (context) => ({
    Field(node) {
      const parent = context.getParentType();
      const price = parent && prices.get(`${parent.name}.${node.name.value}`);
      if (!price?.requireOneSlicingArgument || !price.slicingArguments?.length) return;
      const given = (node.arguments ?? []).filter((a) => price.slicingArguments!.includes(a.name.value)).length;
      if (given !== 1) {
        const names = price.slicingArguments.join(', ');
        context.reportError(
          rejection(`Field "${parent!.name}.${node.name.value}" needs exactly one of the arguments ${names}; found ${given}.`),
        );
      }
    },
  });
}

function fieldRepeatsRule(max: number): ValidationRule {
  return (context) => ({
    SelectionSet(node) {
      const counts = new Map<string, number>();
      for (const sel of node.selections) {
        if (sel.kind !== Kind.FIELD) continue;
        const key = sel.alias?.value ?? sel.name.value;
        const n = (counts.get(key) ?? 0) + 1;
        counts.set(key, n);
        if (n === max + 1) {
          const total = node.selections.filter((s) => s.kind === Kind.FIELD && (s.alias?.value ?? s.name.value) === key).length;
          context.reportError(
            rejection(`Field "${key}" selected ${total} times in one selection set; the limit is ${max}.`, undefined, 'field_repeats'),
          );
        }
      }
    },
  });
}

function countTokens(source: string, cap: number): number {
  const lexer = new Lexer(new Source(source));
  let n = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF && n < cap) n++;
  } catch {
    /* a lexing error further on: the count so far is enough for the message */
  }
  return n;
}

/** See the file comment. Put it after identity (it reads the principal) and before authorization. */
export function useArmorLimits(options: ArmorLimitsOptions = {}): Plugin {
  const o: Required<ArmorLimitsOptions> = { ...defaults, ...stripUndefined(options) };
  /** Per schema: its prices and every argument that sizes a list (the cost cache below must key on all of them). */
  const pricing = new WeakMap<object, { prices: FieldPrices; sizeArguments: string[]; requireOne: ValidationRule | undefined }>();
  const pricingOf = (schema: Parameters<typeof fieldPricesOf>[0]) => {
    let p = pricing.get(schema);
    if (!p) {
      const prices = options.prices ?? fieldPricesOf(schema);
      const slicing = [...prices.values()].flatMap((x) => x.slicingArguments ?? []);
      // the rule's verdict depends on the document only, so one name serves Yoga's validation cache
      const requireOne = [...prices.values()].some((x) => x.requireOneSlicingArgument)
        ? named(slicingArgumentsRule(prices), 'PGRequireOneSlicingArgument')
        : undefined;
      pricing.set(schema, (p = { prices, sizeArguments: [...new Set([...o.listSizeArguments, ...slicing])], requireOne }));
    }
    return p;
  };
  /** Per parsed document (Yoga's parse cache hands out one DocumentNode per text): its list-size variables and costs. */
  const costCache = new WeakMap<DocumentNode, { sizeVars: string[]; costs: Map<string, number>; depths: Map<string, number> }>();
  /** Reports armor's refusal, marked with the limit it came from. */
  const reportAs = (limit: LimitName) => ({
    propagateOnRejection: false,
    exposeLimits: true,
    onReject: [
      (ctx: ValidationContext | null, err: GraphQLError) => {
        limitOf.set(err, limit);
        ctx?.reportError(err);
      },
    ],
  });
  const armor = EnvelopArmorPlugin({
    maxDepth: { ...reportAs('depth'), n: o.maxDepth, ignoreIntrospection: true, flattenFragments: false },
    maxAliases: { ...reportAs('aliases'), n: o.maxAliases, allowList: [] },
    maxDirectives: { ...reportAs('directives'), n: o.maxDirectives },
    costLimit: { enabled: false }, // replaced by our list-multiplier cost
    maxTokens: { enabled: false }, // replaced by graphql's maxTokens (armor's never rejects without throwing)
    blockFieldSuggestion: { enabled: false }, // replaced by the per-principal masking below
  });
  const repeats = named(fieldRepeatsRule(o.maxFieldRepeats), `PGFieldRepeats${o.maxFieldRepeats}`);
  const introspectionDepth = named(introspectionDepthRule(o.maxIntrospectionDepth), `PGIntrospectionDepth${o.maxIntrospectionDepth}`);
  const introspection = named(introspectionRule, 'PGIntrospectionForbidden');
  const hideSuggestions = named(() => ({}), 'PGHideSuggestions');
  // adds nothing: it names a measure-only validation, whose result (limits let through) Yoga then caches apart
  const measuring = named(() => ({}), 'PGMeasureOnly');
  /** Results of measure-only validations (cached by Yoga, handed back on a hit) → the refusals taken out of them. */
  const measuredResults = new WeakMap<object, { limit: LimitName; message: string }[]>();

  return {
    onPluginInit({ addPlugin }) {
      addPlugin(armor as Plugin);
    },
    onExecutionResult({ result, context }) {
      const privileged = o.canSeeSuggestions(context);
      const results = Array.isArray(result) ? result : [result];
      for (const r of results) {
        if (!r || typeof r !== 'object' || !('errors' in r) || !Array.isArray(r.errors)) continue;
        for (const err of r.errors) {
          if (!(err instanceof GraphQLError)) continue;
          // Execution errors carry suggestions too (variable coercion: "Did you mean the enum value …?").
          if (!privileged) maskSuggestions(err, o.suggestionMask);
          // Yoga's parse-error hook forces `http.spec = true` (→ 200 for application/json): undo it for ours.
          const code = err.extensions.code;
          const http = err.extensions.http as { spec?: boolean } | undefined;
          if ((code === ErrorCode.QUERY_REJECTED || code === ErrorCode.FORBIDDEN) && http) http.spec = false;
        }
      }
    },
    onParse({ context, params, setParseFn }) {
      const ctx: GuardContext = context;
      const text = typeof params.source === 'string' ? params.source : params.source.body;
      const measureOnly = o.measureOnly(ctx);
      // counted here, before Yoga's parse cache, for every request: a document cached for a measure-only client must
      // not reach anyone else past the limit. A token is one character at least, so short documents are not lexed
      if (text.length > o.maxTokens && countTokens(text, o.maxTokens + 1) > o.maxTokens) {
        const cap = o.maxTokens * 50;
        const found = countTokens(text, cap);
        const message = `Token limit of ${o.maxTokens} exceeded, found ${found >= cap ? `more than ${cap}` : found}.`;
        if (!measureOnly) throw rejection(message, undefined, 'tokens');
        o.onWouldRefuse(ctx, 'tokens', message);
      }
      setParseFn((source, parseOptions) => {
        try {
          return parse(source, measureOnly ? parseOptions : { ...parseOptions, maxTokens: o.maxTokens });
        } catch (e) {
          if (e instanceof GraphQLError && /more tha[nt] \d+ tokens/.test(e.message)) {
            const text = typeof source === 'string' ? source : source.body;
            const cap = o.maxTokens * 50;
            const found = countTokens(text, cap);
            throw rejection(
              `Token limit of ${o.maxTokens} exceeded, found ${found >= cap ? `more than ${cap}` : found}.`,
              undefined,
              'tokens',
            );
          }
          throw e;
        }
      });
    },
    onValidate({ context, params, addValidationRule, extendContext }) {
      const ctx: GuardContext = context;
      const privileged = o.canSeeSuggestions(ctx);
      const document: DocumentNode = params.documentAST;
      const variables = ctx.params?.variables ?? null;
      const { prices, sizeArguments, requireOne } = pricingOf(params.schema);
      if (requireOne) addValidationRule(requireOne);
      let perDocument = costCache.get(document);
      if (!perDocument)
        costCache.set(
          document,
          (perDocument = { sizeVars: listSizeVariables(document, sizeArguments), costs: new Map(), depths: new Map() }),
        );
      const varKey = perDocument.sizeVars.map((v) => `${v}=${JSON.stringify(variables?.[v] ?? null)}`).join(',');
      // the cost depends on the document, the operation and those variables only: computed once per combination
      const costKey = `${ctx.params?.operationName ?? ''}\u0000${varKey}`;
      let cost = perDocument.costs.get(costKey);
      if (cost === undefined) {
        cost = computeQueryCost(params.schema, document, { ...o, prices }, variables, selectOperation(document, ctx.params?.operationName));
        if (perDocument.costs.size < 64) perDocument.costs.set(costKey, cost);
      }
      // on the operation's context, not in a side map: each operation of a batch has its own, and the rate limit reads it
      extendContext({ queryCost: cost } satisfies CostedContext as Partial<typeof context>);
      const opName = ctx.params?.operationName ?? '';
      let depth = perDocument.depths.get(opName);
      if (depth === undefined) {
        depth = queryDepth(document, selectOperation(document, ctx.params?.operationName));
        if (perDocument.depths.size < 64) perDocument.depths.set(opName, depth);
      }
      // a list size near Number.MAX_VALUE makes the cost Infinity: reported as the largest exact integer instead
      o.onCost(ctx, Math.min(cost, Number.MAX_SAFE_INTEGER), depth);
      // Yoga's validation cache answers by document and rule NAMES, and one document can cost differently per
      // operation and list-size values: a rule named after anything less than its verdict would let a verdict for a
      // cheap operation (validated first) answer for a costly one of the same document. So a cost within the limit
      // adds no rule at all, and one over it adds a rule named after the cost it reports.
      if (cost > o.maxCost) {
        const found = cost;
        addValidationRule(
          named(
            (vc) => ({
              Document() {
                vc.reportError(rejection(`Query cost limit of ${o.maxCost} exceeded, found ${found}.`, undefined, 'cost'));
              },
            }),
            `PGQueryCost${o.maxCost}Exceeded${found}`,
          ),
        );
      }
      addValidationRule(repeats);
      addValidationRule(introspectionDepth);
      if (!privileged) {
        addValidationRule(introspection);
        addValidationRule(hideSuggestions);
      }
      const measureOnly = o.measureOnly(ctx);
      if (measureOnly) addValidationRule(measuring);

      return ({ valid, result, setResult }) => {
        // a measure-only result from Yoga's cache: already mapped, the refusals it would have had are known
        const measured = measureOnly ? measuredResults.get(result) : undefined;
        if (measured) {
          for (const m of measured) o.onWouldRefuse(ctx, m.limit, m.message);
          return;
        }
        if (valid) return;
        const mapped = result.map((err) => {
          if (err.extensions.code === ErrorCode.QUERY_REJECTED || err.extensions.code === ErrorCode.FORBIDDEN) {
            return err;
          }
          if (err.message.startsWith(SYNTAX_PREFIX)) {
            return rejection(err.message.slice(SYNTAX_PREFIX.length), err);
          }
          if (relabelled.some((re) => re.test(err.message))) return rejection(err.message, err);
          if (!privileged) maskSuggestions(err, o.suggestionMask);
          return err;
        });
        const over = measureOnly ? mapped.filter((err) => limitOf.has(err)) : [];
        if (over.length === 0) return setResult(mapped);
        // served: the limits' refusals are taken out and reported; any other error still refuses
        const kept = mapped.filter((err) => !limitOf.has(err));
        const refusals = over.map((err) => ({ limit: limitOf.get(err)!, message: err.message }));
        measuredResults.set(kept, refusals);
        for (const m of refusals) o.onWouldRefuse(ctx, m.limit, m.message);
        setResult(kept);
      };
    },
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
