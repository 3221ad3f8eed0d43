/**
 * Issue 22, SSRF: webhook targets on loopback, private, link-local and metadata addresses are refused in every
 * spelling when registered (BAD_USER_INPUT, nothing stored) and again before each delivery, after DNS; production
 * takes https only and refuses to start with WEBHOOK_ALLOW_PRIVATE.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { loadConfig } from '../../src/config.ts';
import { isForbiddenAddress } from '../../src/events/forbidden-addresses.ts';
import { deliveryTarget, urlProblem } from '../../src/events/webhook-target.ts';
import { buildSchema } from '../../src/graphql/schema.ts';
import { productionProblems } from '../../src/ops/production-checks.ts';
import { countRows, startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(60_000);

const REFUSED = [
  'http://localhost/hook',
  'http://LOCALHOST./hook',
  'http://foo.localhost/hook',
  'http://[::1]/hook',
  'http://[0:0:0:0:0:0:0:1]/hook',
  'http://0x7f000001/hook',
  'http://2130706433/hook',
  'http://127.1/hook',
  'http://0177.0.0.1/hook',
  'http://127.0.0.1:8080/hook',
  'http://[::ffff:127.0.0.1]/hook',
  'http://[::ffff:7f00:1]/hook',
  'http://169.254.169.254/latest/meta-data/',
  'http://[fd00:ec2::254]/latest',
  'http://[fd00::1]/hook',
  'http://[fe80::1]/hook',
  'http://10.0.0.5/hook',
  'http://172.16.0.1/hook',
  'http://192.168.1.1/hook',
  'http://100.100.100.200/hook',
  'http://0.0.0.0/hook',
  'http://0/hook',
  'http://[::]/hook',
  'http://[64:ff9b::a9fe:a9fe]/hook',
  'http://[64:ff9b:1::a9fe:a9fe]/hook', // local-use NAT64 of the metadata address
  'http://[::ffff:0:7f00:1]/hook', // IPv4-translated loopback (SIIT)
  'http://[::7f00:1]/hook', // IPv4-compatible loopback
  'http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook', // Teredo, carrying 127.0.0.1
  'http://[100::1]/hook',
  'http://[5f00::1]/hook',
  'http://metadata.google.internal/computeMetadata/v1/',
  'http://intranet/hook',
  'ftp://example.com/hook',
  'https://user:pass@example.com/hook',
  'not a url',
];

describe('webhook targets', () => {
  const dev = { production: false, allowPrivate: false };
  test.each(REFUSED)('%s is refused', (url) => {
    expect(urlProblem(url, dev)).not.toBeNull();
  });

  test('public targets pass; production takes https only', () => {
    expect(urlProblem('https://hooks.example.com/permits', dev)).toBeNull();
    expect(urlProblem('https://203.0.114.7/permits', dev)).toBeNull();
    expect(urlProblem('http://hooks.example.com/permits', dev)).toBeNull();
    expect(urlProblem('http://hooks.example.com/permits', { production: true, allowPrivate: false })).toMatch(/https/);
  });

  test('addresses a name resolves to are checked again at delivery, and the delivery goes to the address checked', async () => {
    // a name that resolved to a public address at registration and to a metadata address now (DNS rebinding)
    const rebound = await deliveryTarget('https://hooks.example.com/p', dev, async () => ['169.254.169.254']);
    expect(rebound).toEqual({ problem: 'resolves to a forbidden address (169.254.169.254)' });
    expect(await deliveryTarget('https://hooks.example.com/p', dev, async () => ['203.0.114.7', '10.0.0.1'])).toHaveProperty('problem');
    expect(await deliveryTarget('http://127.0.0.1/hook', dev)).toHaveProperty('problem');
    // pinned: connect to the checked IP, the name as Host and as the certificate's name
    expect(await deliveryTarget('https://hooks.example.com:8443/p?x=1', dev, async () => ['203.0.114.7'])).toEqual({
      url: 'https://203.0.114.7:8443/p?x=1',
      host: 'hooks.example.com:8443',
      serverName: 'hooks.example.com',
    });
    expect(await deliveryTarget('https://hooks.example.com/p', dev, async () => ['2606:4700::1'])).toMatchObject({
      url: 'https://[2606:4700::1]/p',
    });
    expect(isForbiddenAddress('127.0.0.53')).toBe(true);
    expect(isForbiddenAddress('::ffff:10.1.2.3')).toBe(true);
    expect(isForbiddenAddress('2002:c0a8:0101::1')).toBe(true); // 6to4 of 192.168.1.1
    expect(isForbiddenAddress('2606:4700:4700::1111')).toBe(false);
    // outside global unicast, whatever it embeds; inside it, the special-purpose and documentation blocks
    for (const ip of ['::1:2:3:4', '0:0:1::1', '200::1', '3fff::1', '2001:2::1', '2001:20::1', '2001:db8::1', '64:ff9b:1::808:808'])
      expect(isForbiddenAddress(ip), ip).toBe(true);
    for (const ip of ['2001:200::1', '2a00:1450:4001::1', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'])
      expect(isForbiddenAddress(ip), ip).toBe(false);
    expect(isForbiddenAddress('8.8.8.8')).toBe(false);
  });

  test('production refuses to start with WEBHOOK_ALLOW_PRIVATE', () => {
    const problems = productionProblems(loadConfig({ APP_ENV: 'production', WEBHOOK_ALLOW_PRIVATE: 'true' }), {
      signingKey: { development: false },
      schema: buildSchema(),
    });
    expect(problems.some((p) => p.includes('WEBHOOK_ALLOW_PRIVATE'))).toBe(true);
  });
});

describe('registerWebhook over HTTP', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  }, 60_000);
  afterAll(() => t.stop(), 30_000);

  test('every refused spelling answers BAD_USER_INPUT naming input.url, and nothing is stored', async () => {
    const tok = await t.token('demo-gis');
    for (const url of REFUSED) {
      const r = await t.gql(
        `mutation($u: String!) { registerWebhook(input: { url: $u, events: [PERMIT_SUBMITTED] }) { secret } }`,
        { u: url },
        tok,
      );
      expect(r.body.errors?.[0]?.extensions?.code, url).toBe('BAD_USER_INPUT');
      expect(r.body.errors?.[0]?.message ?? '', url).toContain('input.url');
    }
    expect(await countRows(t, 'webhooks')).toBe(0);
  });
});
