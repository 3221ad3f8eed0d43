/**
 * `DateTime`: ISO 8601 with an explicit offset only (a naive `2026-01-01T10:00:00` is ambiguous across time
 * zones and refused), answered in UTC. `JSON`: output of GeoJSON; as input it accepts any JSON literal.
 */
import { GraphQLError, GraphQLScalarType, Kind, valueFromASTUntyped } from 'graphql';
import { ErrorCode } from '../errors.ts';

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

function parseDateTime(value: unknown): Date {
  const bad = (why: string) =>
    new GraphQLError(`DateTime ${why}; use ISO 8601 with an offset, e.g. 2026-01-01T10:00:00-08:00`, {
      extensions: { code: ErrorCode.BAD_USER_INPUT },
    });
  if (typeof value !== 'string' || value.length > 40) throw bad('must be a string');
  if (!ISO_WITH_OFFSET.test(value)) throw bad(`"${value}" has no offset or is malformed`);
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw bad(`"${value}" is not a real date`);
  // reject rolled-over dates such as 2026-02-30
  const [y, m, day] = value.slice(0, 10).split('-').map(Number);
  const probe = new Date(Date.UTC(y!, m! - 1, day!));
  if (probe.getUTCMonth() !== m! - 1 || probe.getUTCDate() !== day) throw bad(`"${value}" is not a real date`);
  // and hour 24 (`T24:00:00Z` would silently become the next day; RFC 3339 hours are 00–23)
  if (Number(value.slice(11, 13)) > 23) throw bad(`"${value}" is not a real time`);
  return d;
}

export const DateTimeScalar = new GraphQLScalarType({
  name: 'DateTime',
  serialize(value) {
    const d = value instanceof Date ? value : new Date(value as string);
    if (Number.isNaN(d.getTime())) throw new GraphQLError('DateTime cannot represent an invalid date');
    return d.toISOString();
  },
  parseValue: parseDateTime,
  parseLiteral(ast) {
    // the error carries the literal's node, so it has a location and its field path can be named
    try {
      if (ast.kind !== Kind.STRING) throw parseDateTime(undefined);
      return parseDateTime(ast.value);
    } catch (err) {
      if (!(err instanceof GraphQLError)) throw err;
      throw new GraphQLError(err.message, { nodes: ast, extensions: err.extensions });
    }
  },
});

export const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  serialize: (v) => v,
  parseValue: (v) => v,
  parseLiteral: (ast, vars) => valueFromASTUntyped(ast, vars),
});
