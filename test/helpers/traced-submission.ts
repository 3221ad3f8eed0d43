/**
 * What the tracing tests check of a traced permit submission, shared by otlp-tracing.test.ts (nginx simulated) and
 * nginx-tracing.test.ts (real nginx): the request span under the proxy's span, its children (token, guards, SQL, the
 * audit append) and the group commit linked to it, read from spans an OTLP receiver decoded (otlp-receiver.ts).
 */
import { expect } from 'bun:test';
import type { ReceivedSpan } from './otlp-receiver.ts';

/** OTLP `Span.kind` values the tests check. */
export const SPAN_KIND = { server: 2, client: 3 } as const;

export const SUBMIT_PERMIT = `mutation SubmitPermit($input: SubmitPermitInput!, $key: String!) {
  submitPermit(input: $input, idempotencyKey: $key) { receipt { id state permitNumber } } }`;

/** A valid SubmitPermitInput for `parcelId`. */
export const submissionInput = (parcelId: string, description = 'Rear addition, traced') => ({
  parcelId,
  permitType: 'BUILDING',
  workClass: 'ADDITION',
  description,
  valuation: 1000,
  applicant: { name: 'Ada Lovelace', email: 'ada@example.org', phone: '+1 555 010 2030' },
});

/** Where the audit group commit runs in a test server: the worker thread on PostgreSQL (the default there). */
export const AUDIT_APPENDER = process.env.TEST_DATABASE_URL ? 'worker' : 'inline';

/** Whether `span` descends from `ancestor` through received spans. */
export function descendsFrom(span: ReceivedSpan, ancestor: ReceivedSpan, all: ReceivedSpan[]): boolean {
  for (let s: ReceivedSpan | undefined = span; s; s = all.find((p) => p.spanId === s!.parentSpanId)) {
    if (s.parentSpanId === ancestor.spanId) return true;
  }
  return false;
}

/** The audit group-commit spans among `all` that link to `span`. */
export const groupCommitsLinkedTo = (all: ReceivedSpan[], span: ReceivedSpan) =>
  all.filter((s) => s.name === 'audit.group_commit' && s.links.some((l) => l.traceId === span.traceId && l.spanId === span.spanId));

/**
 * Checks one submission's trace (`spans`: the spans of its trace id) and returns its request span: a SERVER span
 * named `mutation SubmitPermit`, child of the proxy's `parentSpanId`, from `serviceName`; under it the token
 * verification, the guards, the breaker and the audit append, every SQL statement a CLIENT span, and the permit's
 * insert inside the audit append (the change and its staged entry in one transaction).
 */
export function expectSubmissionTrace(spans: ReceivedSpan[], parentSpanId: string, serviceName: string): ReceivedSpan {
  const root = spans.find((s) => s.parentSpanId === parentSpanId)!;
  expect(root).toBeDefined();
  expect(root.name).toBe('mutation SubmitPermit');
  expect(root.kind).toBe(SPAN_KIND.server);
  expect(root.attributes).toMatchObject({
    'graphql.operation.type': 'mutation',
    'graphql.operation.name': 'SubmitPermit',
    'http.response.status_code': 200,
  });
  expect(root.resource['service.name']).toBe(serviceName);

  const names = spans.map((s) => s.name);
  for (const name of ['auth.verify_token', 'rate_limit', 'graphql.validate', 'db.breaker', 'audit.append']) expect(names).toContain(name);
  const statements = spans.filter((s) => s.attributes['db.system.name'] === 'postgresql');
  expect(statements.length).toBeGreaterThanOrEqual(1);
  expect(statements.every((s) => s.kind === SPAN_KIND.client)).toBe(true);
  const append = spans.find((s) => s.name === 'audit.append')!;
  const inAppend = statements.filter((s) => descendsFrom(s, append, spans)).map((s) => String(s.attributes['db.query.text']));
  expect(inAppend.some((q) => /insert into "?permits"?/i.test(q))).toBe(true);
  for (const s of spans) if (s !== root) expect(descendsFrom(s, root, spans)).toBe(true);
  return root;
}
