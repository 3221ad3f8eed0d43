import { describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../src/audit/canonical-json.ts';
import { entryHash, GENESIS_HASH, isHexSha256 } from '../../src/audit/hash-chain.ts';

describe('canonical JSON', () => {
  test('keys are sorted by UTF-16 code units and whitespace is removed', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 1, y: 2 } })).toBe('{"a":[true,null,"x"],"b":1,"c":{"y":2,"z":1}}');
  });

  test('numbers are serialised as RFC 8785 requires (the RFC sample values)', () => {
    expect(canonicalJson([333333333.33333329, 1e30, 4.5, 2e-3, 0.000000000000000000000000001, -0])).toBe(
      '[333333333.3333333,1e+30,4.5,0.002,1e-27,0]',
    );
  });

  test('values JSON cannot represent exactly are refused', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow();
    expect(() => canonicalJson({ n: Number.POSITIVE_INFINITY })).toThrow();
    expect(() => canonicalJson(undefined)).toThrow();
  });
});

describe('hash chain', () => {
  test('the genesis hash is 64 zeros', () => {
    expect(GENESIS_HASH).toBe('0'.repeat(64));
    expect(isHexSha256(GENESIS_HASH)).toBe(true);
  });

  test('an entry hash is SHA-256 over the previous hash as hex text followed by the canonical JSON', () => {
    const entry = { op: 'submitPermit', z: 1, a: { y: 'é', x: [1, 2] } };
    const expected = createHash('sha256')
      .update(`${GENESIS_HASH}{"a":{"x":[1,2],"y":"é"},"op":"submitPermit","z":1}`, 'utf8')
      .digest('hex');
    expect(entryHash(GENESIS_HASH, entry)).toBe(expected);
  });

  test('key order does not change the hash but any value or predecessor change does', () => {
    const h = entryHash(GENESIS_HASH, { a: 1, b: 2 });
    expect(entryHash(GENESIS_HASH, { b: 2, a: 1 })).toBe(h);
    expect(entryHash(GENESIS_HASH, { a: 1, b: 3 })).not.toBe(h);
    expect(entryHash(h, { a: 1, b: 2 })).not.toBe(h);
  });

  test('a malformed previous hash is refused', () => {
    expect(() => entryHash('abc', {})).toThrow();
    expect(() => entryHash(GENESIS_HASH.toUpperCase().replace(/0/g, 'A'), {})).toThrow();
  });
});
