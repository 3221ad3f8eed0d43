/** The documents clients discover the token issuer by (JWKS, RFC 8414 metadata), built here so routes only serve them. */
import type { JWK } from 'jose';

export const jwksResponse = (keys: JWK[]) => Response.json({ keys }, { headers: { 'Cache-Control': 'public, max-age=60' } });

/**
 * RFC 8414 authorization server metadata for the built-in issuer: `issuer` is JWT_ISSUER when set, else
 * PUBLIC_URL (the tokens' `iss` either way); the endpoints live under the external base URL (PUBLIC_URL).
 */
export const authorizationServerMetadata = (issuer: string, baseUrl: string) =>
  Response.json(
    {
      issuer,
      token_endpoint: `${baseUrl}/oauth/token`,
      jwks_uri: `${baseUrl}/.well-known/jwks.json`,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      token_endpoint_auth_signing_alg_values_supported: ['ES256'],
      response_types_supported: ['token'],
      tls_client_certificate_bound_access_tokens: true,
      scopes_supported: undefined,
    },
    { headers: { 'Cache-Control': 'public, max-age=300' } },
  );
