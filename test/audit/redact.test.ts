import { describe, expect, test } from 'bun:test';
import { isSensitiveKey, REDACTED, redactString, redactVariables } from '../../src/audit/redact.ts';

const JWT =
  'eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJjb250cmFjdG9yLTEiLCJzY29wZSI6InBlcm1pdHM6c3VibWl0In0.MEUCIQDx4Z5uQm0o3dM8mQ6eYtJf2cHkA1b2c3d4e5f6g7h8i9';

describe('redaction of audit variables', () => {
  test('applicant contact data is redacted leaf by leaf while the rest of the input stays', () => {
    const input = {
      input: {
        parcelId: 'P-1',
        permitType: 'BUILDING',
        valuation: 125000,
        applicant: { name: 'Ada Lovelace', email: 'ada@example.org', phone: '+1 555 0100' },
      },
      idempotencyKey: 'k-1',
    };
    expect(redactVariables(input)).toEqual({
      input: {
        parcelId: 'P-1',
        permitType: 'BUILDING',
        valuation: 125000,
        applicant: { name: REDACTED, email: REDACTED, phone: REDACTED },
      },
      idempotencyKey: 'k-1',
    });
    expect(input.input.applicant.email).toBe('ada@example.org'); // input untouched
  });

  test('an applicant given as a scalar or with nested parts is redacted too', () => {
    expect(redactVariables({ Applicant: 'Ada' })).toEqual({ Applicant: REDACTED });
    expect(redactVariables({ applicant: { address: { street: '1 Main St' }, tags: ['x'] } })).toEqual({
      applicant: { address: { street: REDACTED }, tags: [REDACTED] },
    });
  });

  test('a name outside applicant data (an operation or contractor name) is kept', () => {
    expect(redactVariables({ operationName: 'SubmitPermit', contractor: { name: 'Acme Builders' } })).toEqual({
      operationName: 'SubmitPermit',
      contractor: { name: 'Acme Builders' },
    });
  });

  test('secrets, tokens, auth headers, cookies, client certificates and serials are redacted whatever the key case', () => {
    const input = {
      password: 'hunter2',
      SECRET: 's',
      client_secret: 'cs',
      clientSecret: 'cs2',
      token: 't',
      access_token: 'at',
      refreshToken: 'rt',
      headers: {
        Authorization: 'Bearer abc.def',
        cookie: 'sid=1',
        'X-Client-Cert': '-----BEGIN CERTIFICATE-----...',
        'x-client-identity': 'CN=client',
        'X-Forwarded-For': '10.0.0.1',
        'content-type': 'application/json',
      },
      cert: { serial: '0A:1B', serialNumber: '0A1B', thumbprint: 'abc123' },
    };
    expect(redactVariables(input)).toEqual({
      password: REDACTED,
      SECRET: REDACTED,
      client_secret: REDACTED,
      clientSecret: REDACTED,
      token: REDACTED,
      access_token: REDACTED,
      refreshToken: REDACTED,
      headers: {
        Authorization: REDACTED,
        cookie: REDACTED,
        'X-Client-Cert': REDACTED,
        'x-client-identity': REDACTED,
        'X-Forwarded-For': REDACTED,
        'content-type': 'application/json',
      },
      cert: { serial: REDACTED, serialNumber: REDACTED, thumbprint: 'abc123' },
    });
  });

  test('a JWT or an email address is redacted wherever it appears in a string value', () => {
    expect(redactVariables({ note: JWT })).toEqual({ note: REDACTED });
    expect(redactVariables({ description: `call me at bob.smith+permits@mail.example.com or use ${JWT} please` })).toEqual({
      description: `call me at ${REDACTED} or use ${REDACTED} please`,
    });
    expect(redactVariables(['x', { deep: [{ deeper: 'Bearer opaque-token_123' }] }])).toEqual([
      'x',
      { deep: [{ deeper: `Bearer ${REDACTED}` }] },
    ]);
    expect(redactString('aaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbb.cccccccccccccccccccc')).toBe(REDACTED);
  });

  test('ordinary dotted values, numbers and permit numbers are not mistaken for secrets', () => {
    const input = { version: '1.2.3', host: 'api.example.com', permitNumber: 'DC-2026-000123', count: 3, ok: true, none: null };
    expect(redactVariables(input)).toEqual(input);
  });

  test('keys that are themselves an email address are redacted', () => {
    expect(redactVariables({ 'ada@example.org': 1 })).toEqual({ [REDACTED]: 1 });
  });

  test('the result is JSON-safe even for cycles, bigints, dates and very deep input', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(redactVariables(cyclic)).toEqual({ a: 1, self: '[CIRCULAR]' });
    expect(redactVariables({ n: 10n, d: new Date('2026-01-02T03:04:05Z') })).toEqual({ n: '10', d: '2026-01-02T03:04:05.000Z' });
    let deep: unknown = 'leaf';
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(() => JSON.stringify(redactVariables(deep))).not.toThrow();
  });

  test('scanning adversarial megabyte strings stays linear', () => {
    const started = performance.now();
    for (const s of ['eyJ'.repeat(700_000), `${'a'.repeat(2_000_000)}@`, 'a@'.repeat(1_000_000), `${'a.'.repeat(1_000_000)}@x`]) {
      redactString(s);
    }
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  test('the sensitive key check is case- and separator-insensitive', () => {
    for (const k of ['EMAIL', 'Phone', 'contactEmail', 'new_password', 'X-CLIENT-CERT', 'Access-Token'])
      expect(isSensitiveKey(k)).toBe(true);
    for (const k of ['name', 'permitNumber', 'status', 'thumbprint']) expect(isSensitiveKey(k)).toBe(false);
  });
});
