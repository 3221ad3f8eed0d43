import { afterAll, beforeAll, expect, test } from 'bun:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { setDefaultTimeout } from 'bun:test';

// starts databases and servers: Bun's 5 s default is too short on a busy machine
setDefaultTimeout(120_000);

let t: TestServer;
const lines: string[] = [];
beforeAll(async () => {
  t = await startTestServer({ RATE_LIMIT_SCALE: '0' }, { logLines: lines });
});
afterAll(() => t.stop());

test('a burst of 50 bad tokens from one address yields one security_alert line in the window', async () => {
  for (let i = 0; i < 50; i++) {
    const r = await t.gql(`{ me { clientId } }`, {}, `eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.${i}`);
    expect(r.status).toBe(401);
  }
  await t.running.audit.flush();
  const alerts = lines.map((l) => JSON.parse(l)).filter((l) => l.event === 'security_alert');
  expect(alerts).toHaveLength(1);
  expect(alerts[0].subject).toBe('ip:127.0.0.1');
  expect(alerts[0].kind).toBe('authentication_failure');
  // the alert names the subject, never the presented tokens
  expect(lines.join('\n')).not.toContain('eyJhbGciOiJub25lIn0');
});
