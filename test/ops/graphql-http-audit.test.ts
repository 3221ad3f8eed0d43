/**
 * GraphQL over HTTP conformance: graphql-http's server audits against the real server, with an analyst token
 * on every request. Every MUST passes; SHOULD/MAY audits not met are listed below with the reason (and in the
 * README, "GraphQL over HTTP"); a new, undocumented SHOULD/MAY failure fails the test.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { serverAudits } from 'graphql-http';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { setDefaultTimeout } from 'bun:test';

// starts databases and servers: Bun's 5 s default is too short on a busy machine
setDefaultTimeout(120_000);

let t: TestServer;
let token = '';

/** Adds the analyst's bearer token to every audit request. */
const fetchFn = (input: RequestInfo | URL, init: RequestInit = {}) => {
  const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

const audits = serverAudits({ url: () => `${t.url}/graphql`, fetchFn });

/** SHOULD/MAY audits this server does not meet, with the reason (keep in sync with the README). None today. */
export const KNOWN_SHOULD_FAILURES: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestServer({ RATE_LIMIT_SCALE: '0' });
  token = await t.token('demo-analyst');
}, 180_000);
afterAll(async () => {
  await t?.stop();
});

describe('GraphQL over HTTP (graphql-http server audits)', () => {
  const must = audits.filter((a) => a.name.startsWith('MUST'));
  const other = audits.filter((a) => !a.name.startsWith('MUST'));

  test('the audit list is not empty', () => {
    expect(must.length).toBeGreaterThan(10);
  });

  for (const audit of must) {
    test(`${audit.id} ${audit.name}`, async () => {
      const r = await audit.fn();
      if (r.status !== 'ok') {
        const body = r.response
          ? await r.response
              .clone()
              .text()
              .catch(() => '')
          : '';
        throw new Error(`${r.reason}\n${r.response?.status ?? ''} ${body.slice(0, 300)}`);
      }
    });
  }

  test('SHOULD and MAY audits: every one not met is documented', async () => {
    const failures: Record<string, string> = {};
    for (const audit of other) {
      const r = await audit.fn();
      if (r.status !== 'ok') failures[`${audit.id} ${audit.name}`] = `${r.reason} (HTTP ${r.response?.status ?? '?'})`;
    }
    console.log(`graphql-http: ${must.length} MUST passed; ${other.length - Object.keys(failures).length}/${other.length} SHOULD/MAY met`);
    for (const [name, reason] of Object.entries(failures)) console.log(`  not met: ${name}: ${reason}`);
    const nowPassing = Object.keys(KNOWN_SHOULD_FAILURES).filter((k) => !(k in failures));
    if (nowPassing.length) console.log(`  documented as not met but now passing (update the list and README): ${nowPassing.join('; ')}`);
    expect(Object.keys(failures).filter((k) => !(k in KNOWN_SHOULD_FAILURES))).toEqual([]);
  });
});
