/** `token`: fetches an access token from a running server's /oauth/token exactly as a client would. */
import type { Command } from './command.ts';
import { CliError, ExitCode, parseOptions, required, usageError } from './io.ts';

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded. */
const formEncode = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');

async function readStdin(): Promise<string> {
  return (await new Response(Bun.stdin.stream()).text()).trim();
}

export const token: Command = {
  name: 'token',
  summary: 'fetch an access token from the running server (client credentials grant)',
  help: `Usage: cli token --client ID --secret S [--scope "a b"] [--url http://127.0.0.1:4000] [--json]

POSTs grant_type=client_credentials to URL/oauth/token with HTTP Basic client authentication
(client_secret_basic) and prints the access token (with --json: the whole token response).
  --client ID     the client id
  --secret S      the client secret; "-" reads it from stdin (keeps it out of the process list)
  --scope "a b"   narrow the grant to these scopes (space-separated)
  --url URL       the server's base URL; default http://HOST:PORT from the configuration`,
  async run(argv, { out, config }) {
    const o = parseOptions(argv, {
      client: { type: 'string' },
      secret: { type: 'string' },
      scope: { type: 'string' },
      url: { type: 'string' },
    });
    const clientId = required(o.client, '--client');
    let secret = required(o.secret, '--secret');
    if (secret === '-') secret = await readStdin();
    if (!secret) throw usageError('--secret: stdin was empty');
    let base = o.url;
    if (!base) {
      const c = config();
      const host = c.host === '0.0.0.0' || c.host === '::' ? '127.0.0.1' : c.host.includes(':') ? `[${c.host}]` : c.host;
      base = `http://${host}:${c.port}`;
    }
    let endpoint: URL;
    try {
      endpoint = new URL('/oauth/token', base);
    } catch {
      throw usageError(`--url: not a URL: ${base}`);
    }
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (o.scope) form.set('scope', o.scope.trim().split(/\s+/).join(' '));
    let res: Response;
    try {
      res = await fetch(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          authorization: `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(secret)}`).toString('base64')}`,
        },
        body: form,
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw new CliError(`no answer from ${endpoint.origin}: ${(err as Error).message} (is the server running? see --url)`);
    }
    const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
    if (!res.ok || !body || typeof body.access_token !== 'string') {
      const reason =
        body && typeof body.error === 'string'
          ? `${body.error}${body.error_description ? `: ${String(body.error_description)}` : ''}`
          : `HTTP ${res.status}`;
      throw new CliError(`token request refused (${res.status}): ${reason}`);
    }
    if (!out.json) out.note(`token_type ${String(body.token_type)}, expires in ${String(body.expires_in)} s, scope: ${String(body.scope)}`);
    await out.result(body, () => body.access_token as string);
    return ExitCode.OK;
  },
};
