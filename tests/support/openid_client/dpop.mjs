// openid-client (v6) as an application would use it with DPoP (RFC 9449): RFC 8414
// discovery, a DPoP key pair of its own making, a DPoP handle, the client_credentials
// grant (openid-client follows use_dpop_nonce by itself), then, if asked, a request
// to a protected resource with the bound token. Nothing here shapes a proof.
//
// Input (stdin, JSON): {issuer, client_id, client_secret, alg, requests, resource?}
// Output (stdout, JSON): one entry per request, {token: {...}, resource?: {...}} or {error: {...}}.
import * as client from 'openid-client';

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

const input = await readStdin();
const config = await client.discovery(
  new URL(input.issuer),
  input.client_id,
  undefined,
  client.ClientSecretBasic(input.client_secret),
  // The test server is plain http on loopback; RFC 8414 metadata, not OIDC discovery.
  { algorithm: 'oauth2', execute: [client.allowInsecureRequests] },
);
const keyPair = await client.randomDPoPKeyPair(input.alg);
const DPoP = client.getDPoPHandle(config, keyPair);
const jwk = await crypto.subtle.exportKey('jwk', keyPair.publicKey);

const results = [];
for (let i = 0; i < input.requests; i++) {
  try {
    const token = await client.clientCredentialsGrant(config, {}, { DPoP });
    const entry = { jwk, token: { access_token: token.access_token, token_type: token.token_type, expires_in: token.expires_in } };
    if (input.resource) {
      const response = await client.fetchProtectedResource(config, token.access_token, new URL(input.resource), 'GET', undefined, undefined, { DPoP });
      entry.resource = { status: response.status, body: await response.text() };
    }
    results.push(entry);
  } catch (error) {
    results.push({ error: { name: error.name, code: error.code, error: error.error, status: error.status, message: String(error.message) } });
  }
}
process.stdout.write(JSON.stringify(results));
