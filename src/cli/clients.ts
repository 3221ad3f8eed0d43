/** `clients create|list|revoke|rotate-secret`: the OAuth client registry from the operator's shell. */
import { isRole, ROLES } from '../auth/policy.ts';
import { listClients, publicClient, registerClient, revokeClient, rotateClientSecret, SECRET_OVERLAP_MS } from '../auth/client-registry.ts';
import type { Command } from './command.ts';
import { withDatabase } from './database.ts';
import { CliError, ExitCode, fromDomainError, parseOptions, required, table, usageError } from './io.ts';

/** Domain input fields → the flags that carry them, for error messages. */
const FLAGS = {
  'input.clientId': '--id',
  'input.role': '--role',
  'input.jurisdiction': '--jurisdiction',
  'input.contractorLicense': '--contractor',
  'input.certThumbprint': '--cert-thumbprint',
};

const OVERLAP_HOURS = SECRET_OVERLAP_MS / 3_600_000;
const SECRET_WARNING = 'The secret is shown only this once: store it now (it cannot be read back, only rotated).';

export const clientsCreate: Command = {
  name: 'clients create',
  summary: 'register an OAuth client; prints its secret once',
  help: `Usage: cli clients create --id ID --role ROLE --jurisdiction J [--contractor LICENSE] [--cert-thumbprint SHA256] [--json]

Registers a client for the client credentials grant and prints its secret (shown only this once).
  --id ID                  client id: 3-64 characters of a-z 0-9 . _ -
  --role ROLE              one of ${ROLES.join(', ')}
  --jurisdiction J         the tenant the client belongs to (e.g. demo-city)
  --contractor LICENSE     contractor license the client is bound to (required for, and only for, role contractor)
  --cert-thumbprint SHA256 bind tokens to a client certificate (base64url SHA-256, RFC 8705 x5t#S256)
  --json                   machine-readable output`,
  async run(argv, { out, config }) {
    const o = parseOptions(argv, {
      id: { type: 'string' },
      role: { type: 'string' },
      jurisdiction: { type: 'string' },
      contractor: { type: 'string' },
      'cert-thumbprint': { type: 'string' },
    });
    const clientId = required(o.id, '--id');
    const role = required(o.role, '--role');
    const jurisdiction = required(o.jurisdiction, '--jurisdiction');
    // checked before the database is opened, so a typo fails fast
    if (!isRole(role)) throw usageError(`--role: unknown role "${role}"; must be one of ${ROLES.join(', ')}`);
    const { client, secret } = await withDatabase(config(), async ({ db }) => {
      try {
        return await registerClient(db, {
          clientId,
          role,
          jurisdiction,
          contractorLicense: o.contractor ?? null,
          certThumbprint: o['cert-thumbprint'] ?? null,
        });
      } catch (err) {
        throw fromDomainError(err, FLAGS);
      }
    });
    await out.result({ ...publicClient(client), clientSecret: secret }, () =>
      [
        `Registered client ${client.clientId} (${client.role}, ${client.jurisdictionId}${client.contractorLicense ? `, contractor ${client.contractorLicense}` : ''}${client.certThumbprint ? ', certificate-bound' : ''}).`,
        `client_secret: ${secret}`,
        SECRET_WARNING,
      ].join('\n'),
    );
    return ExitCode.OK;
  },
};

export const clientsList: Command = {
  name: 'clients list',
  summary: 'list registered clients (never their secrets)',
  help: `Usage: cli clients list [--json]

Lists every registered client with role, jurisdiction, contractor binding and status. Secrets are never shown.`,
  async run(argv, { out, config }) {
    parseOptions(argv, {});
    const clients = (await withDatabase(config(), ({ db }) => listClients(db))).map(publicClient);
    await out.result(clients, () =>
      clients.length === 0
        ? 'No clients registered.'
        : table(
            ['CLIENT', 'ROLE', 'JURISDICTION', 'CONTRACTOR', 'CERT', 'STATUS', 'CREATED'],
            clients.map((c) => [
              c.clientId,
              c.role,
              c.jurisdiction,
              c.contractor ?? '-',
              c.certBound ? 'bound' : '-',
              c.status,
              c.createdAt,
            ]),
          ),
    );
    return ExitCode.OK;
  },
};

export const clientsRevoke: Command = {
  name: 'clients revoke',
  summary: 'revoke a client: no new tokens, its issued tokens are refused',
  help: `Usage: cli clients revoke --id ID [--json]

Revokes an active client. It can no longer obtain tokens, and running servers refuse its tokens once they
refresh their revocation list.`,
  async run(argv, { out, config }) {
    const o = parseOptions(argv, { id: { type: 'string' } });
    const clientId = required(o.id, '--id');
    const revoked = await withDatabase(config(), ({ db }) => revokeClient(db, clientId));
    if (!revoked) throw new CliError(`no active client ${clientId} (unknown, or already revoked)`);
    await out.result({ clientId, status: 'revoked' }, () => `Revoked client ${clientId}.`);
    return ExitCode.OK;
  },
};

export const clientsRotateSecret: Command = {
  name: 'clients rotate-secret',
  summary: 'issue a new secret; the old one keeps working for a while',
  help: `Usage: cli clients rotate-secret --id ID [--json]

Gives an active client a new secret (printed once). The previous secret keeps working for 24 hours so the
client's deployments can switch over without downtime.`,
  async run(argv, { out, config }) {
    const o = parseOptions(argv, { id: { type: 'string' } });
    const clientId = required(o.id, '--id');
    const secret = await withDatabase(config(), ({ db }) => rotateClientSecret(db, clientId));
    if (secret === null) throw new CliError(`no active client ${clientId} (unknown, or revoked)`);
    await out.result({ clientId, clientSecret: secret, previousSecretValidHours: OVERLAP_HOURS }, () =>
      [
        `New secret for ${clientId}; the previous one keeps working for ${OVERLAP_HOURS} hours.`,
        `client_secret: ${secret}`,
        SECRET_WARNING,
      ].join('\n'),
    );
    return ExitCode.OK;
  },
};
