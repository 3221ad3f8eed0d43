/**
 * Where this server is, as its clients know it: PUBLIC_URL (the OAuth metadata's endpoints, OGC links, webhook
 * Links) and the issuer of its tokens, the exact `iss` it signs and accepts. In development and test without
 * PUBLIC_URL both are derived from HOST/PORT and follow the port the server actually bound (PORT=0 binds any free
 * one): serve() reports it synchronously right after Bun.serve binds, before the first request (so before the first
 * token is issued or verified). The metadata's `issuer` is then the tokens' `iss`, as RFC 8414 §3.3 and RFC 9068
 * require. JWT_ISSUER, when set, is the issuer whatever the port: instances on different ports that share tokens
 * (one database, one signing key) set one JWT_ISSUER, or one PUBLIC_URL.
 */
import type { AppConfig } from '../config.ts';

export interface PublicAddress {
  /** PUBLIC_URL: origin and path, without a trailing slash. */
  url(): string;
  /** The exact `iss` of every token this server issues, and the only one it accepts from its own keys. */
  issuer(): string;
  /** The OAuth metadata's `issuer`: JWT_ISSUER when set, else PUBLIC_URL. */
  metadataIssuer(): string;
  /** The port Bun.serve bound: a derived PUBLIC_URL (and the issuer derived from it) names it from now on. */
  listeningOn(port: number): void;
}

export function createPublicAddress(
  config: Pick<AppConfig, 'publicUrl' | 'publicUrlDerived' | 'issuerDerived' | 'metadataIssuer'> & {
    jwt: Pick<AppConfig['jwt'], 'issuer'>;
  },
): PublicAddress {
  let url = config.publicUrl;
  return {
    url: () => url,
    issuer: () => (config.issuerDerived ? url : config.jwt.issuer),
    metadataIssuer: () => (config.issuerDerived ? url : config.metadataIssuer),
    listeningOn(port) {
      if (config.publicUrlDerived) url = url.replace(/:\d+$/, `:${port}`);
    },
  };
}
