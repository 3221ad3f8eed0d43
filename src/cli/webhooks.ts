/** `webhooks list|replay`: webhook deliveries from the operator's shell (issue 22). Secrets are never shown. */
import { webhookSummaries, replayDeliveries } from '../events/webhook-admin.ts';
import type { Command } from './command.ts';
import { withDatabase } from './database.ts';
import { CliError, ExitCode, parseOptions, required, table, usageError } from './io.ts';

export const webhooksList: Command = {
  name: 'webhooks list',
  summary: 'every webhook with its pending, delivered and dead-lettered deliveries',
  help: `Usage: cli webhooks list [--json]

Lists every webhook (owner, URL, events, state) with counts of its deliveries by state and the last error.`,
  async run(argv, { out, config }) {
    parseOptions(argv, {});
    const hooks = await withDatabase(config(), ({ db }) => webhookSummaries(db));
    await out.result(hooks, () =>
      hooks.length === 0
        ? 'No webhooks registered.'
        : table(
            ['ID', 'CLIENT', 'URL', 'STATE', 'PENDING', 'DELIVERED', 'DEAD', 'LAST ERROR'],
            hooks.map((h) => [
              h.id,
              h.clientId,
              h.url,
              h.deleted ? 'deleted' : h.active ? 'active' : 'disabled',
              String(h.pending),
              String(h.delivered),
              String(h.dead),
              (h.disabledReason ?? h.lastError ?? '-').slice(0, 60),
            ]),
          ),
    );
    return ExitCode.OK;
  },
};

export const webhooksReplay: Command = {
  name: 'webhooks replay',
  summary: "send a webhook's dead-lettered deliveries (or all since a time) again",
  help: `Usage: cli webhooks replay --id WEBHOOK_ID [--since TIME] [--json]

Queues a webhook's dead-lettered deliveries again, or with --since every delivery created since TIME (ISO 8601,
e.g. 2026-12-01T00:00:00Z), delivered ones included. Each keeps its webhook-id, so receivers can de-duplicate.
A webhook the server disabled after failing for days is enabled again.`,
  async run(argv, { out, config }) {
    const o = parseOptions(argv, { id: { type: 'string' }, since: { type: 'string' } });
    const id = required(o.id, '--id');
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw usageError('--id: not a webhook id (a UUID)');
    const since = o.since === undefined ? undefined : new Date(o.since);
    if (since && Number.isNaN(since.getTime())) throw usageError(`--since: not a time: ${o.since}`);
    const queued = await withDatabase(config(), ({ db }) => replayDeliveries(db, id, since));
    if (queued === null) throw new CliError(`no webhook ${id} (unknown, or deleted)`);
    await out.result({ webhookId: id, queued }, () => `Queued ${queued} deliveries of webhook ${id} again.`);
    return ExitCode.OK;
  },
};
