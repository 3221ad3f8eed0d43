/**
 * Production start-up checklist. `productionProblems` returns one sentence per refusal, each naming the setting
 * and how to fix it; main.ts refuses to start (non-zero exit, the list on stderr) when it is not empty and
 * `APP_ENV=production`. Pure: no I/O, so every refusal is unit-tested.
 */
import type { GraphQLSchema } from 'graphql';
import { fieldsWithoutRule } from '../auth/policy.ts';
import type { SigningKey } from '../auth/signing-keys.ts';
import { DEV_AUDIENCE, DEV_ISSUER, type AppConfig } from '../config.ts';

export type ProductionCheckConfig = Pick<AppConfig, 'jwt' | 'logLevel' | 'corsOrigins' | 'openIntrospection'> &
  Partial<Pick<AppConfig, 'publicUrlSet' | 'webhooks'>>;

export interface ProductionCheckInputs {
  signingKey: Pick<SigningKey, 'development'>;
  schema: GraphQLSchema;
}

export function productionProblems(config: ProductionCheckConfig, { signingKey, schema }: ProductionCheckInputs): string[] {
  const problems: string[] = [];
  if (signingKey.development || !config.jwt.signingKeyPem) {
    problems.push(
      'SIGNING_KEY_PEM is not set: tokens would be signed with a development key from DATA_DIR/keys. ' +
        'Set SIGNING_KEY_PEM to a PKCS#8 ES256 private key (e.g. `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`).',
    );
  }
  if (config.jwt.issuer === DEV_ISSUER) {
    problems.push(`JWT_ISSUER is the development default (${DEV_ISSUER}). Set JWT_ISSUER to this deployment's public https URL.`);
  }
  // PUBLIC_URL defaults to JWT_ISSUER, which with JWKS_URL is the external provider's URL, not this server's
  if (config.jwt.jwksUrl && config.publicUrlSet === false) {
    problems.push(
      'PUBLIC_URL is not set while JWKS_URL is: the OAuth metadata would name the identity provider as this server. ' +
        "Set PUBLIC_URL to this deployment's public https URL.",
    );
  }
  if (config.jwt.audience === DEV_AUDIENCE) {
    problems.push(
      `JWT_AUDIENCE is the development default (${DEV_AUDIENCE}). Set JWT_AUDIENCE to an identifier unique to this deployment.`,
    );
  }
  if (config.logLevel === 'debug' || config.logLevel === 'trace') {
    problems.push(`LOG_LEVEL=${config.logLevel} may write request details to the log. Set LOG_LEVEL=info (or warn).`);
  }
  if (config.corsOrigins.some((o) => o.includes('*'))) {
    problems.push('CORS_ORIGINS contains a wildcard (*). List the exact origins allowed to call the API, comma-separated.');
  }
  if (config.openIntrospection) {
    problems.push(
      'OPEN_INTROSPECTION=true exposes the schema to every client. Unset it: analysts get introspection through the schema:introspect scope.',
    );
  }
  if (config.webhooks?.allowPrivate) {
    problems.push(
      'WEBHOOK_ALLOW_PRIVATE=true lets webhooks reach loopback and private addresses (SSRF). Unset it: it is for development and tests only.',
    );
  }
  const missing = fieldsWithoutRule(schema);
  if (missing.length) {
    problems.push(
      `Schema fields without an access rule: ${missing.join(', ')}. Add @public or @requiresScopes to each ` +
        '(see `bun run cli policy audit`).',
    );
  }
  return problems;
}

/** The message main.ts prints before exiting non-zero. */
export const formatProductionProblems = (problems: string[]) =>
  `refusing to start with APP_ENV=production:\n${problems.map((p) => `  - ${p}`).join('\n')}`;
