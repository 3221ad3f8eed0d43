/** Issue 20, logs: readable lines in a developer's terminal, JSON everywhere else. */
import { describe, expect, test } from 'bun:test';
import { createLogger } from '../../src/logger.ts';
import { prettyLine, prettyLogDestination, usePrettyLogs } from '../../src/ops/pretty-log.ts';

describe('log format', () => {
  test('auto: pretty only in development on a terminal; LOG_FORMAT forces either', () => {
    expect(usePrettyLogs('auto', 'development', true)).toBe(true);
    expect(usePrettyLogs('auto', 'development', false)).toBe(false);
    expect(usePrettyLogs('auto', 'production', true)).toBe(false);
    expect(usePrettyLogs('auto', 'test', true)).toBe(false);
    expect(usePrettyLogs('json', 'development', true)).toBe(false);
    expect(usePrettyLogs('pretty', 'production', false)).toBe(true);
  });

  test('the logger writes readable lines through the pretty destination, secrets still censored', () => {
    const out: string[] = [];
    const log = createLogger('info', prettyLogDestination({ write: (s) => out.push(s) }, false));
    log.info({ requestId: 'r-1', client: 'demo-analyst', client_secret: 's3cret', note: 'two words' }, 'token granted');
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} INFO {2}token granted {2}requestId=r-1 client=demo-analyst client_secret=\[REDACTED\] note="two words"\n$/,
    );
    expect(out[0]).not.toContain('s3cret');
  });

  test('an error shows its stack below the line; colours only when asked; non-JSON passes through', () => {
    const err = { type: 'Error', message: 'boom', stack: 'Error: boom\n    at here' };
    const json = JSON.stringify({ level: 50, time: '2026-01-02T03:04:05.678Z', msg: 'internal error', err });
    expect(prettyLine(json, false)).toBe('03:04:05.678 ERROR internal error\n    Error: boom\n        at here\n');
    expect(prettyLine(json, true)).toContain('\x1b[31mERROR\x1b[0m');
    expect(prettyLine('not json', false)).toBe('not json');
  });
});
