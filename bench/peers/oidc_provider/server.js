// Peer for tokensmith's benchmark: node-oidc-provider issuing RFC 9068 JWT access
// tokens for the client_credentials grant, through resource indicators (RFC 8707),
// which is how oidc-provider's documentation has an access token become a JWT.
//
// One static confidential client (client_secret_basic, scope "edit"); one RSA-2048
// signing key made at start; every token for the default resource is a JWT signed
// with RS256. JWT access tokens are not written to the adapter, so this workload
// touches no storage (the in-memory adapter is never consulted for it).
//
// Environment: PORT, BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, BENCH_RESOURCE.
// Run with NODE_ENV=production.

import { generateKeyPairSync, randomBytes } from 'node:crypto';

import Provider, { errors } from 'oidc-provider';

const port = Number(process.env.PORT || 3000);
const issuer = `http://127.0.0.1:${port}`;
const resource = process.env.BENCH_RESOURCE || 'https://api.bench.example';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }),
  kid: 'bench-rs256',
  alg: 'RS256',
  use: 'sig',
};

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.BENCH_CLIENT_ID || 'bench',
      client_secret: process.env.BENCH_CLIENT_SECRET,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'edit',
    },
  ],
  jwks: { keys: [signingKey] },
  scopes: ['edit'],
  ttl: { ClientCredentials: 3600 },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource() {
        return resource;
      },
      useGrantedResource() {
        return true;
      },
      getResourceServerInfo(ctx, resourceIndicator) {
        if (resourceIndicator !== resource) {
          throw new errors.InvalidTarget();
        }
        return {
          scope: 'edit',
          audience: resource,
          accessTokenTTL: 3600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
