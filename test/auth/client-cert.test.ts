import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { X509Certificate } from 'node:crypto';
import { certThumbprint, readForwardedClientCert } from '../../src/auth/client-cert.ts';
import { createTrustedProxyMatcher } from '../../src/auth/trusted-proxy.ts';
import { createTestPki, opensslThumbprint, type TestPki } from '../helpers/certs.ts';

describe('createTrustedProxyMatcher', () => {
  const match = createTrustedProxyMatcher(['127.0.0.1', '10.0.0.0/8', ' 192.168.1.0/24 ', '::1', 'fd00::/8', '']);

  test.each([
    ['127.0.0.1', true],
    ['::ffff:127.0.0.1', true], // IPv4-mapped, as a dual-stack listener reports it
    ['::ffff:7f00:1', true], // the same, in hex form
    ['127.0.0.2', false],
    ['10.0.0.1', true],
    ['10.255.255.255', true],
    ['::ffff:10.20.30.40', true],
    ['11.0.0.1', false],
    ['192.168.1.77', true],
    ['192.168.2.1', false],
    ['::1', true],
    ['[::1]', true],
    ['fd12:3456::1', true],
    ['fe80::1', false],
    ['fe80::1%eth0', false],
    ['2001:db8::1', false],
  ])('%s → %p', (address, expected) => {
    expect(match(address)).toBe(expected);
  });

  test('garbage, empty and missing peers are never trusted', () => {
    for (const address of ['', 'localhost', 'not-an-ip', '127.0.0.1:8080', '999.1.1.1', null, undefined]) {
      expect(match(address)).toBe(false);
    }
  });

  test('an empty list trusts nobody', () => {
    const none = createTrustedProxyMatcher([]);
    expect(none('127.0.0.1')).toBe(false);
    expect(none('::1')).toBe(false);
  });

  test('IPv6 zone ids are ignored when matching', () => {
    expect(createTrustedProxyMatcher(['fe80::/10'])('fe80::1%eth0')).toBe(true);
  });

  test('invalid entries stop start-up, naming the entry', () => {
    expect(() => createTrustedProxyMatcher(['localhost'])).toThrow('"localhost"');
    expect(() => createTrustedProxyMatcher(['10.0.0.0/33'])).toThrow('prefix');
    expect(() => createTrustedProxyMatcher(['10.0.0.0/x'])).toThrow('prefix');
    expect(() => createTrustedProxyMatcher(['::/129'])).toThrow('prefix');
    expect(() => createTrustedProxyMatcher(['1.2.3'])).toThrow('"1.2.3"');
  });

  test('a /0 (trust everybody) is refused', () => {
    expect(() => createTrustedProxyMatcher(['0.0.0.0/0'])).toThrow('every address');
    expect(() => createTrustedProxyMatcher(['::/0'])).toThrow('every address');
  });
});

describe('certThumbprint and readForwardedClientCert', () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = createTestPki();
  });
  afterAll(() => pki.cleanup());

  const trustLoopback = createTrustedProxyMatcher(['127.0.0.1', '::1']);
  const forwarded = (headers: Record<string, string>) => new Request('http://app.test/graphql', { headers });
  // What nginx's $ssl_client_escaped_cert produces: every reserved character percent-encoded.
  const escape = (pem: string) => encodeURIComponent(pem);

  test('thumbprint equals openssl -fingerprint -sha256 in base64url (RFC 8705 x5t#S256)', () => {
    for (const files of [pki.clientA, pki.clientB, pki.foreignClient, pki.server, pki.cityCa]) {
      const expected = opensslThumbprint(files.certPath);
      expect(certThumbprint(files.cert)).toBe(expected);
      expect(expected).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 bytes, unpadded base64url
    }
  });

  test('PEM and DER give the same thumbprint; CRLF PEM too', () => {
    const der = new X509Certificate(pki.clientA.cert).raw;
    expect(certThumbprint(der)).toBe(certThumbprint(pki.clientA.cert));
    expect(certThumbprint(new Uint8Array(der))).toBe(certThumbprint(pki.clientA.cert));
    expect(certThumbprint(pki.clientA.cert.replaceAll('\n', '\r\n'))).toBe(certThumbprint(pki.clientA.cert));
  });

  test('different certificates give different thumbprints', () => {
    expect(certThumbprint(pki.clientA.cert)).not.toBe(certThumbprint(pki.clientB.cert));
  });

  test('not a certificate → throws', () => {
    expect(() => certThumbprint('hello')).toThrow();
    expect(() => certThumbprint(new Uint8Array([1, 2, 3]))).toThrow();
  });

  test('header from a trusted proxy → thumbprint', () => {
    const result = readForwardedClientCert(forwarded({ 'X-Client-Cert': escape(pki.clientA.cert) }), '127.0.0.1', trustLoopback);
    expect(result).toEqual({ thumbprint: opensslThumbprint(pki.clientA.certPath) });
  });

  test('IPv4-mapped trusted peer is trusted', () => {
    const result = readForwardedClientCert(forwarded({ 'X-Client-Cert': escape(pki.clientB.cert) }), '::ffff:127.0.0.1', trustLoopback);
    expect(result).toEqual({ thumbprint: certThumbprint(pki.clientB.cert) });
  });

  test('header from an untrusted peer → ignored, the certificate is not even parsed', () => {
    for (const peer of ['203.0.113.9', '127.0.0.2', '', null, undefined]) {
      expect(readForwardedClientCert(forwarded({ 'X-Client-Cert': escape(pki.clientA.cert) }), peer, trustLoopback)).toEqual({
        ignored: true,
        reason: 'untrusted_peer',
      });
    }
    expect(readForwardedClientCert(forwarded({ 'X-Client-Cert': 'garbage' }), '203.0.113.9', trustLoopback)).toEqual({
      ignored: true,
      reason: 'untrusted_peer',
    });
  });

  test('no header, or an empty one (nginx without a client certificate) → null', () => {
    expect(readForwardedClientCert(forwarded({}), '127.0.0.1', trustLoopback)).toBeNull();
    expect(readForwardedClientCert(forwarded({ 'X-Client-Cert': '' }), '127.0.0.1', trustLoopback)).toBeNull();
    expect(readForwardedClientCert(forwarded({}), '203.0.113.9', trustLoopback)).toBeNull();
  });

  test.each([
    ['bad_url_encoding', () => '%E0%A4%A'],
    ['not_a_pem_certificate', () => 'hello'],
    ['not_a_pem_certificate', () => escape(pki.clientA.key)],
    ['more_than_one_certificate', () => escape(pki.clientA.cert + pki.cityCa.cert)],
    ['unparseable_certificate', () => escape('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----')],
    ['header_too_large', () => 'A'.repeat(20_000)],
  ])('malformed header from a trusted proxy → invalid (%s)', (reason, value) => {
    expect(readForwardedClientCert(forwarded({ 'X-Client-Cert': value() }), '127.0.0.1', trustLoopback)).toEqual({
      invalid: true,
      reason,
    });
  });

  test("the deprecated tab-indented $ssl_client_cert form and raw '+' characters still parse", () => {
    const tabbed = pki.clientA.cert.trim().replaceAll('\n', '\n\t');
    expect(readForwardedClientCert(forwarded({ 'X-Client-Cert': escape(tabbed) }), '127.0.0.1', trustLoopback)).toEqual({
      thumbprint: certThumbprint(pki.clientA.cert),
    });
    // A proxy that leaves '+' and '/' unescaped: '+' must stay '+', not become a space.
    const lightlyEscaped = pki.clientA.cert.replaceAll('\n', '%0A').replaceAll(' ', '%20');
    expect(readForwardedClientCert(forwarded({ 'X-Client-Cert': lightlyEscaped }), '127.0.0.1', trustLoopback)).toEqual({
      thumbprint: certThumbprint(pki.clientA.cert),
    });
  });

  test('the result never carries the serial or subject', () => {
    const result = readForwardedClientCert(forwarded({ 'X-Client-Cert': escape(pki.clientA.cert) }), '127.0.0.1', trustLoopback);
    const serial = new X509Certificate(pki.clientA.cert).serialNumber;
    expect(Object.keys(result ?? {})).toEqual(['thumbprint']);
    expect(JSON.stringify(result)).not.toContain(serial);
  });
});
