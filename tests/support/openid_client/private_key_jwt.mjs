// openid-client (v6) as an application would use it: RFC 8414 discovery of the
// issuer, then the client_credentials grant with PrivateKeyJwt client
// authentication. Nothing here shapes the assertion: openid-client makes it.
//
// Input (stdin, JSON): {issuer, client_id, jwk (private, with kid), alg, scope, requests}
// Output (stdout, JSON): one entry per request, {token: {...}} or {error: {...}}.
import * as client from 'openid-client';

const SUBTLE_ALGORITHMS = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  PS256: { name: 'RSA-PSS', hash: 'SHA-256' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  Ed25519: { name: 'Ed25519' },
};

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

const input = await readStdin();
const { kid, alg: _alg, use: _use, ...jwk } = input.jwk;
const key = await crypto.subtle.importKey('jwk', jwk, SUBTLE_ALGORITHMS[input.alg], false, ['sign']);
const config = await client.discovery(
  new URL(input.issuer),
  input.client_id,
  undefined,
  client.PrivateKeyJwt({ key, kid }),
  // The test server is plain http on loopback; RFC 8414 metadata, not OIDC discovery.
  { algorithm: 'oauth2', execute: [client.allowInsecureRequests] },
);

const results = [];
for (let i = 0; i < input.requests; i++) {
  try {
    const token = await client.clientCredentialsGrant(config, input.scope ? { scope: input.scope } : {});
    results.push({ token: { access_token: token.access_token, token_type: token.token_type, expires_in: token.expires_in, scope: token.scope } });
  } catch (error) {
    results.push({ error: { name: error.name, code: error.code, error: error.error, status: error.status, message: String(error.message) } });
  }
}
process.stdout.write(JSON.stringify(results));
