// A relying party built on openid-client (npm), run by tests/test_identity_live.py.
// It discovers the hub, runs the code flow with PKCE and private_key_jwt, checks the ID token
// against the JWKS (openid-client does), calls UserInfo, and gets a machine token by client
// credentials. The browser's part (the DEMO sign-in, or the broker and an identity provider)
// is played with fetch and a cookie jar.
import * as client from 'openid-client';

const input = JSON.parse(process.argv[2]);
const insecure = { execute: [client.allowInsecureRequests] }; // the test server is loopback http

async function importKey(jwk) {
  const key = await crypto.subtle.importKey(
    'jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  return { key, kid: jwk.kid };
}

const jar = new Map();
async function browse(url, init = {}) {
  const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const response = await fetch(url, {
    ...init, redirect: 'manual', headers: { ...(init.headers ?? {}), cookie } });
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const at = pair.indexOf('=');
    jar.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return response;
}

function csrfOf(page) {
  return page.match(/name="csrf_token" value="([^"]+)"/)[1];
}

// Through the broker: choose the identity provider, sign in there with password and TOTP,
// and come back through the hub's callback.
async function signInThroughBroker(authorizationUrl) {
  const broker = input.broker;
  let answer = await browse(authorizationUrl);
  if (answer.status !== 303) throw new Error(`authorize answered ${answer.status}`);
  const chooser = new URL(answer.headers.get('location'), input.issuer);
  const choosePage = await (await browse(chooser)).text();
  answer = await browse(new URL(chooser.pathname + '/provider', input.issuer), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ provider: broker.provider, csrf_token: csrfOf(choosePage) }),
  });
  if (answer.status !== 303) throw new Error(`choosing answered ${answer.status}`);
  answer = await browse(new URL(answer.headers.get('location'), input.issuer));
  if (answer.status !== 303) throw new Error(`provider authorize answered ${answer.status}`);
  const signInUrl = new URL(answer.headers.get('location'), input.issuer);
  const signInPage = await (await browse(signInUrl)).text();
  answer = await browse(signInUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      username: broker.username, password: broker.password, totp: broker.totp,
      csrf_token: csrfOf(signInPage) }),
  });
  // the provider's sign-in answers with its code, and the hub's callback with the hub's
  if (answer.status !== 302) throw new Error(`provider sign-in answered ${answer.status}`);
  answer = await browse(new URL(answer.headers.get('location'), input.issuer));
  if (answer.status !== 302) throw new Error(`hub callback answered ${answer.status}`);
  return new URL(answer.headers.get('location'));
}

async function signIn(authorizationUrl) {
  if (input.broker) return signInThroughBroker(authorizationUrl);
  let answer = await browse(authorizationUrl);
  if (answer.status !== 303) throw new Error(`authorize answered ${answer.status}`);
  const signInUrl = new URL(answer.headers.get('location'), input.issuer);
  const page = await (await browse(signInUrl)).text();
  const csrf = page.match(/name="csrf_token" value="([^"]+)"/)[1];
  answer = await browse(signInUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ nhs_number: input.nhs, csrf_token: csrf }),
  });
  if (answer.status !== 303) throw new Error(`sign-in answered ${answer.status}`);
  answer = await browse(new URL(answer.headers.get('location'), input.issuer));
  if (answer.status !== 302) throw new Error(`continue answered ${answer.status}`);
  return new URL(answer.headers.get('location'));
}

const rp = input.rp;
const config = await client.discovery(
  new URL(input.issuer), rp.client_id, { id_token_signed_response_alg: 'ES256' },
  client.PrivateKeyJwt(await importKey(rp.jwk)), insecure);

const verifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const nonce = client.randomNonce();
const authorizationUrl = client.buildAuthorizationUrl(config, {
  redirect_uri: rp.redirect_uri, scope: input.scope ?? 'openid', state, nonce,
  vtr: input.vtr ?? '["Cl"]',
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: 'S256',
});
const callback = await signIn(authorizationUrl);

// The client itself refuses a callback whose state is not the one it sent.
let stateRefused = false;
try {
  await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier, expectedState: 'another', expectedNonce: nonce });
} catch { stateRefused = true; }

const tokens = await client.authorizationCodeGrant(config, callback, {
  pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
const claims = tokens.claims();
const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);

// The same code a second time: the hub must refuse it.
let reuseRefused = false;
try {
  await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
} catch (error) { reuseRefused = error.error === 'invalid_grant'; }

const machine = await client.discovery(
  new URL(input.issuer), input.machine.client_id, {},
  client.PrivateKeyJwt(await importKey(input.machine.jwk)), insecure);
const machineTokens = await client.clientCredentialsGrant(machine, { scope: 'exchange' });

console.log(JSON.stringify({
  sub: claims.sub, vot: claims.vot, vtm: claims.vtm, iss: claims.iss,
  userinfo_sub: userinfo.sub, userinfo, id_token_claims: claims, stateRefused, reuseRefused,
  machine_token: machineTokens.access_token, machine_token_type: machineTokens.token_type,
  end_session: client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token }).href,
}));
