import { describe, expect, test } from 'bun:test';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { buildSchema as buildSdl } from 'graphql';
import { buildSchema } from '../../src/graphql/schema.ts';
import { fieldPricesOf } from '../../src/guard/field-prices.ts';
import { compareWithSnapshot, SNAPSHOT_FILE, snapshotOf } from '../../src/ops/schema-snapshot.ts';

const current = buildSchema();
const update = process.env.UPDATE_SCHEMA_SNAPSHOT === '1';
if (update || !existsSync(SNAPSHOT_FILE)) writeFileSync(SNAPSHOT_FILE, snapshotOf(current));
const snapshot = readFileSync(SNAPSHOT_FILE, 'utf8');

describe('schema snapshot', () => {
  test('the served schema has no breaking change against schema/__snapshot__/schema.graphql', () => {
    const { breaking, dangerous } = compareWithSnapshot(snapshot, current);
    if (dangerous.length) console.warn(`schema: dangerous (non-breaking) changes:\n  ${dangerous.join('\n  ')}`);
    if (breaking.length) {
      throw new Error(
        `breaking schema changes against the snapshot:\n  ${breaking.join('\n  ')}\n` +
          'Deprecate with @deprecated(reason: "...") instead of removing or changing; if the break is intended, ' +
          'rewrite the snapshot: UPDATE_SCHEMA_SNAPSHOT=1 bun test test/ops/schema-snapshot.test.ts',
      );
    }
    if (snapshotOf(current) !== snapshot) {
      console.warn('schema: non-breaking changes are not in the snapshot yet; refresh it with UPDATE_SCHEMA_SNAPSHOT=1');
    }
  });

  test('the snapshot is valid SDL that contains the contract operations', () => {
    const s = buildSdl(snapshot);
    const q = s.getQueryType()!.getFields();
    for (const f of [
      'permitStatus',
      'permit',
      'permits',
      'permitsGeoJSON',
      'parcels',
      'permitStats',
      'auditLog',
      'auditVerification',
      'submissionReceipt',
      'me',
    ]) {
      expect(q[f]).toBeDefined();
    }
  });

  test('the published SDL carries the cost directives, exactly the prices the limiter reads', () => {
    // the cost limit and the rate limit price operations by fieldPricesOf(served schema) (use-armor-limits.ts)
    const served = fieldPricesOf(current);
    expect(served.size).toBeGreaterThan(20);
    expect(fieldPricesOf(buildSdl(snapshot))).toEqual(served);
    expect(snapshot).toMatch(/^ {2}permitsGeoJSON\(.*\): JSON! @listSize\(assumedSize: 5000, .*\) @cost\(weight: 3\)$/m);
  });

  test('removing a field from a copy of the schema is detected as breaking', () => {
    const removed = snapshot.replace(/^\s+permitStats\(.*$/m, '');
    expect(removed).not.toBe(snapshot);
    const { breaking } = compareWithSnapshot(snapshot, buildSdl(removed));
    expect(breaking).toContainEqual(expect.stringContaining('Query.permitStats was removed'));
  });

  test('making an argument required and changing a field type are detected as breaking', () => {
    const changed = snapshot
      .replace(/permitStatus\(number: String!\)/, 'permitStatus(number: String!, jurisdiction: String!)')
      .replace(/^(\s+count): Int!$/m, '$1: String!');
    expect(changed).not.toBe(snapshot);
    const { breaking } = compareWithSnapshot(snapshot, buildSdl(changed));
    expect(breaking.some((b) => b.includes('jurisdiction'))).toBe(true);
    expect(breaking.some((b) => b.includes('PermitStat.count'))).toBe(true);
  });

  test('deprecating a field and adding a field are not breaking', () => {
    const evolved = snapshot
      .replace(/^(\s+permitStats\(.*\)[^\n]*)$/m, '$1 @deprecated(reason: "use permitStatsV2")')
      .replace(/^type PermitStat \{$/m, 'type PermitStat {\n  share: Float');
    expect(evolved).not.toBe(snapshot);
    expect(compareWithSnapshot(snapshot, buildSdl(evolved)).breaking).toEqual([]);
  });
});
