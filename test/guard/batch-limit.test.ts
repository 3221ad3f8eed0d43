import { afterAll, expect, test } from 'bun:test';
import { useBatchLimit } from '../../src/guard/use-batch-limit.ts';
import { startYoga } from './helpers.ts';

const app = startYoga([useBatchLimit({ limit: 10 })], { batching: { limit: 10 } });
afterAll(() => app.stop());

const batch = (n: number) =>
  fetch(app.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(Array.from({ length: n }, () => ({ query: '{ hello }' }))),
  });

test('10 batched operations run', async () => {
  const res = await batch(10);
  expect(res.status).toBe(200);
  const body = (await res.json()) as unknown[];
  expect(body).toHaveLength(10);
});

test('11 batched operations → 400 QUERY_REJECTED, nothing runs', async () => {
  app.calls.count = 0;
  const res = await batch(11);
  expect(res.status).toBe(400);
  const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
  expect(body.errors[0]!.extensions.code).toBe('QUERY_REJECTED');
  expect(body.errors[0]!.message).toBe('Batch limit of 10 operations exceeded, found 11.');
  expect(app.calls.count).toBe(0);
});

test("a measure-only client is served over the limit (up to Yoga's own), and the refusal it would have got is heard", async () => {
  const heard: string[] = [];
  const lenient = startYoga([useBatchLimit({ limit: 10, measureOnly: () => true, onWouldRefuse: (_c, m) => heard.push(m) })], {
    batching: { limit: 50 },
  });
  try {
    const res = await fetch(lenient.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(Array.from({ length: 11 }, () => ({ query: '{ hello }' }))),
    });
    expect(res.status).toBe(200);
    expect((await res.json()) as unknown[]).toHaveLength(11);
    expect(heard).toEqual(['Batch limit of 10 operations exceeded, found 11.']);
  } finally {
    lenient.stop();
  }
});
