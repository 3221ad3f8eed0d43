/** `keys rotate`: a new signing key for the built-in issuer; retired keys stay published for their tokens. */
import { createDevKey, publishedKeys, publishSigningKey, RETIRED_KEY_GRACE_MS } from '../auth/signing-keys.ts';
import type { Command } from './command.ts';
import { withDatabase } from './database.ts';
import { CliError, ExitCode, parseOptions } from './io.ts';

const GRACE_MINUTES = RETIRED_KEY_GRACE_MS / 60_000;

export const keysRotate: Command = {
  name: 'keys rotate',
  summary: 'new signing key; old public keys stay in the JWKS until their tokens expire',
  help: `Usage: cli keys rotate [--json]

Development (no SIGNING_KEY_PEM): writes a new ES256 key to DATA_DIR/keys/, publishes its public half and
retires the previous key, which stays in /.well-known/jwks.json for ${GRACE_MINUTES} minutes (the longest token
lifetime plus clock tolerance) so tokens it signed keep verifying. Restart the server to sign with the new key.
Production (SIGNING_KEY_PEM set): the key is configuration; rotate by deploying a new PEM and restarting the
instances one by one (this command then explains and exits non-zero).`,
  async run(argv, { out, config }) {
    parseOptions(argv, {});
    const cfg = config();
    if (cfg.jwt.signingKeyPem) {
      throw new CliError(
        [
          'SIGNING_KEY_PEM is set: the signing key is configuration, not something this command can replace.',
          'To rotate in production: generate a new ES256 key (e.g. `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`),',
          'set it as SIGNING_KEY_PEM and restart the instances one by one. Each instance publishes its key at start-up',
          `and retires the others, which stay in the JWKS for ${GRACE_MINUTES} minutes so tokens already issued keep verifying.`,
        ].join('\n'),
      );
    }
    // the key file is only written once the database is open, so a locked DATA_DIR leaves nothing behind
    const { key, published } = await withDatabase(cfg, async ({ db }) => {
      const key = await createDevKey(cfg.dataDir);
      await publishSigningKey(db, key);
      return { key, published: await publishedKeys(db) };
    });
    const retiredStillPublished = published.map((k) => k.kid).filter((kid) => kid !== key.kid);
    await out.result(
      { kid: key.kid, alg: key.publicJwk.alg, published: published.map((k) => k.kid), retiredGraceMinutes: GRACE_MINUTES },
      () =>
        [
          `New signing key ${key.kid} (ES256) written to ${cfg.dataDir}/keys and published.`,
          retiredStillPublished.length
            ? `Retired keys still in the JWKS for up to ${GRACE_MINUTES} minutes: ${retiredStillPublished.join(', ')}`
            : 'No earlier keys were published.',
          'Restart the server so it signs new tokens with this key.',
        ].join('\n'),
    );
    return ExitCode.OK;
  },
};
