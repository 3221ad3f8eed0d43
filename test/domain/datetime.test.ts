/** The DateTime scalar: ISO 8601 with an explicit offset in, UTC (`Z`) out; impossible dates refused. */
import { describe, expect, test } from 'bun:test';
import { GraphQLError, Kind, parseValue as parseGraphQLValue } from 'graphql';
import { DateTimeScalar } from '../../src/graphql/scalars.ts';

const parse = (v: unknown) => DateTimeScalar.parseValue(v) as Date;
const literal = (src: string) => DateTimeScalar.parseLiteral(parseGraphQLValue(src), undefined) as Date;

function refused(fn: () => unknown): GraphQLError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(GraphQLError);
    expect((e as GraphQLError).extensions.code).toBe('BAD_USER_INPUT');
    return e as GraphQLError;
  }
  throw new Error('expected a refusal');
}

describe('DateTime input', () => {
  test.each([
    ['2026-01-01T10:00:00-08:00', '2026-01-01T18:00:00.000Z'],
    ['2026-01-01T10:00:00Z', '2026-01-01T10:00:00.000Z'],
    ['2026-01-01T10:00:00+00:00', '2026-01-01T10:00:00.000Z'],
    ['2026-01-01T10:00:00+05:30', '2026-01-01T04:30:00.000Z'],
    ['2026-01-01T01:00:00+02:00', '2025-12-31T23:00:00.000Z'],
    ['2026-06-15T12:34:56.789-07:00', '2026-06-15T19:34:56.789Z'],
    ['2026-03-08T02:30:00-08:00', '2026-03-08T10:30:00.000Z'],
    ['2026-01-01T10:00Z', '2026-01-01T10:00:00.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
  ])('%s is accepted as %s', (input, utc) => {
    expect(parse(input).toISOString()).toBe(utc);
    expect(literal(JSON.stringify(input)).toISOString()).toBe(utc);
  });

  test.each([
    '2026-01-01T10:00:00', // naive: ambiguous across time zones
    '2026-01-01T10:00:00.000',
    '2026-01-01',
    '2026-01-01 10:00:00Z',
    '2026-01-01T10:00:00+0800',
    '2026-01-01T10:00:00 PST',
    'Thu, 01 Jan 2026 10:00:00 GMT',
    '1767261600000',
    '',
  ])('%p without a (well-formed) offset is refused, naming the offset', (input) => {
    expect(refused(() => parse(input)).message).toMatch(/offset/);
  });

  test.each([
    '2026-02-30T10:00:00Z',
    '2026-02-29T10:00:00-08:00',
    '2026-04-31T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-00-10T00:00:00Z',
    '2026-01-00T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T23:60:00Z',
    '2026-01-01T10:00:00+25:00',
  ])('%s is not a real date-time and is refused (no rollover)', (input) => {
    expect(refused(() => parse(input)).message).toMatch(/real/);
  });

  test('non-strings and overlong strings are refused', () => {
    for (const v of [1767261600000, null, undefined, true, {}, ['2026-01-01T10:00:00Z'], `2026-01-01T10:00:00Z${' '.repeat(40)}`])
      refused(() => parse(v));
    refused(() => literal('1767261600000'));
    refused(() => literal('ENUM_LIKE'));
  });

  test('a refused literal carries its node, so it has a location in the document', () => {
    const ast = parseGraphQLValue('"2026-01-01T10:00:00"');
    expect(ast.kind).toBe(Kind.STRING);
    const e = refused(() => DateTimeScalar.parseLiteral(ast, undefined));
    expect(e.nodes?.[0]).toBe(ast);
  });
});

describe('DateTime output', () => {
  test('always UTC with milliseconds and Z', () => {
    expect(DateTimeScalar.serialize(new Date('2026-01-01T10:00:00-08:00'))).toBe('2026-01-01T18:00:00.000Z');
    expect(DateTimeScalar.serialize('2026-07-01T00:00:00+09:00')).toBe('2026-06-30T15:00:00.000Z');
    expect(DateTimeScalar.serialize(Date.UTC(2026, 0, 1))).toBe('2026-01-01T00:00:00.000Z');
  });

  test('round-trips: what it answers, it accepts, unchanged', () => {
    for (const s of ['2026-01-01T18:00:00.000Z', '1999-12-31T23:59:59.999Z', '2024-02-29T12:00:00.000Z']) {
      expect(DateTimeScalar.serialize(parse(s))).toBe(s);
    }
  });

  test('an invalid date cannot be answered', () => {
    expect(() => DateTimeScalar.serialize(new Date('nope'))).toThrow(GraphQLError);
    expect(() => DateTimeScalar.serialize('not a date')).toThrow(GraphQLError);
  });
});
