// A local Sigstore instance for the keyless tests and rehearsals, on 127.0.0.1 only.
//
//   node server.mjs --trust-config PATH [--port 0]
//
// From the npm package @sigstore/mock (Sigstore's own mocks, pinned in package-lock.json):
//   the certificate authority (initializeCA: short-lived leaf certificates with the GitHub OIDC
//   extensions and an embedded SCT), the CT log that signs the SCT (initializeCTLog), the
//   transparency log (initializeTLog: signed entry timestamps, inclusion proofs, signed
//   checkpoints) and their request handlers (fulcioHandler, rekorHandler).
// Written here, because no package provides it:
//   - the HTTP server and the thin adapters from sigstore-python's wire format to the handlers'
//     (Fulcio: the token from `Authorization: Bearer`, the CSR from base64; Rekor v1: a DSSE
//     entry rewritten into Rekor's canonical dsse 0.0.1 form, as the real Rekor stores it);
//   - Fulcio's GitHub principal: the identity token must be one this issuer signed and still
//     valid, and the certificate's URI SAN is https://github.com/<job_workflow_ref>;
//   - an OIDC issuer in the shape of GitHub's runner token service: POST /oidc/jobs registers
//     a job's claims and answers its request token; GET /oidc/token?audience=X with
//     `Authorization: bearer <request token>` answers {"value": <RS256 JWT>} as the runner does
//     behind ACTIONS_ID_TOKEN_REQUEST_URL; /.well-known/openid-configuration and /.well-known/jwks
//     publish the key;
//   - the trust configuration (ClientTrustConfig JSON) of this start's fresh keys.
// On start it prints one JSON line: {"url": ..., "trust_config": ..., "issuer": ...}.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import mock from '@sigstore/mock';

const GITHUB = 'https://github.com';
const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
const TOKEN_LIFETIME_S = 300;

function argument(name, fallback) {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

const b64url = (data) => Buffer.from(data).toString('base64url');
const b64 = (data) => Buffer.from(data).toString('base64');
const sha256 = (data) => crypto.createHash('sha256').update(data).digest();
const p256 = () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });

// --- the OIDC issuer ----------------------------------------------------------------------------

const oidcKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const oidcKid = b64url(sha256(oidcKey.publicKey.export({ format: 'der', type: 'spki' }))).slice(0, 16);
const jobs = new Map(); // request token -> the job's claims

function mintToken(claims, audience) {
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    jti: crypto.randomUUID(),
    iss: GITHUB_ISSUER,
    aud: audience,
    nbf: now - 5,
    iat: now - 5,
    exp: now + TOKEN_LIFETIME_S,
    ...claims,
  };
  const header = { alg: 'RS256', typ: 'JWT', kid: oidcKid };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature = crypto.sign('RSA-SHA256', Buffer.from(input), oidcKey.privateKey);
  return `${input}.${b64url(signature)}`;
}

// The claims of a token this issuer signed, or an Error saying why not.
function verifiedClaims(token) {
  const parts = String(token).split('.');
  if (parts.length !== 3) return new Error('the identity token is not a JWT');
  const ok = crypto.verify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`),
    oidcKey.publicKey, Buffer.from(parts[2], 'base64url'));
  if (!ok) return new Error('the identity token was not signed by this issuer');
  const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
  const now = Date.now() / 1000;
  if (!(claims.nbf <= now && now < claims.exp)) return new Error('the identity token has expired');
  return claims;
}

function jwks() {
  const jwk = oidcKey.publicKey.export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: oidcKid, alg: 'RS256', use: 'sig' }] };
}

// --- Fulcio, the CT log and Rekor from @sigstore/mock -----------------------------------------

const ctlogKey = p256();
const caKey = p256();
const tlogKey = p256();
const ctLog = await mock.initializeCTLog(ctlogKey);
const ca = await mock.initializeCA(caKey, ctLog);
const server = http.createServer();
await new Promise((resolve) => server.listen(Number(argument('--port', '0')), '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}`;
const tlog = await mock.initializeTLog(url, tlogKey);
const fulcio = mock.fulcioHandler(ca, { subjectClaim: 'fulcio_san' });
const rekor = mock.rekorHandler(tlog);

// sigstore-python: {"certificateSigningRequest": base64(PEM)} and the token as a Bearer header.
// The handler: {"credentials": {"oidcIdentityToken"}, "certificateSigningRequest": PEM}; it reads
// the token's claims without checking them, so the checks a real Fulcio makes are done here.
function fulcioRequest(body, headers) {
  const token = (headers.authorization || '').replace(/^Bearer\s+/i, '');
  const claims = verifiedClaims(token);
  if (claims instanceof Error) return { error: claims };
  if (![].concat(claims.aud).includes('sigstore')) {
    return { error: new Error(`the identity token's audience is ${claims.aud}, not sigstore`) };
  }
  if (!claims.job_workflow_ref) return { error: new Error('the token has no job_workflow_ref') };
  const request = JSON.parse(body);
  const csr = Buffer.from(request.certificateSigningRequest, 'base64').toString();
  // The handler decodes the JWT without a signature check; fulcio_san names the SAN claim.
  const forHandler = `${b64url('{"alg":"none"}')}.${b64url(JSON.stringify({
    ...claims, fulcio_san: `${GITHUB}/${claims.job_workflow_ref}`,
  }))}.`;
  return {
    body: JSON.stringify({ credentials: { oidcIdentityToken: forHandler },
      certificateSigningRequest: csr }),
  };
}

// Rekor v1 stores a dsse 0.0.1 entry in its canonical form: hashes of the envelope and payload,
// and the signatures with their verifiers; the proposed form (the whole envelope) is not kept.
function rekorRequest(body) {
  const entry = JSON.parse(body);
  if (entry.kind !== 'dsse') return { body };
  const proposed = entry.spec.proposedContent;
  const envelope = JSON.parse(proposed.envelope);
  const canonical = {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256(proposed.envelope).toString('hex') },
      payloadHash: {
        algorithm: 'sha256',
        value: sha256(Buffer.from(envelope.payload, 'base64')).toString('hex'),
      },
      signatures: envelope.signatures.map((s, i) => ({
        signature: s.sig, verifier: proposed.verifiers[i] ?? proposed.verifiers[0],
      })),
    },
  };
  return { body: JSON.stringify(canonical) };
}

// --- the trust configuration ------------------------------------------------------------------

function trustConfig() {
  const start = { start: new Date(Date.now() - 60_000).toISOString() };
  const spki = (key) => key.publicKey.export({ format: 'der', type: 'spki' });
  const key = (pair) => ({ rawBytes: b64(spki(pair)), keyDetails: 'PKIX_ECDSA_P256_SHA_256',
    validFor: start });
  const service = { url, majorApiVersion: 1, validFor: start, operator: 'local' };
  return {
    mediaType: 'application/vnd.dev.sigstore.clienttrustconfig.v0.1+json',
    trustedRoot: {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [{ baseUrl: url, hashAlgorithm: 'SHA2_256', publicKey: key(tlogKey),
        logId: { keyId: b64(sha256(spki(tlogKey))) } }],
      certificateAuthorities: [{
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: url,
        certChain: { certificates: [{ rawBytes: b64(ca.rootCertificate) }] },
        validFor: start,
      }],
      ctlogs: [{ baseUrl: url, hashAlgorithm: 'SHA2_256', publicKey: key(ctlogKey),
        logId: { keyId: b64(Buffer.from(ctLog.logID)) } }],
      timestampAuthorities: [],
    },
    signingConfig: {
      mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
      caUrls: [service],
      oidcUrls: [],
      rekorTlogUrls: [service],
      tsaUrls: [],
      rekorTlogConfig: { selector: 'ANY' },
      tsaConfig: { selector: 'ANY' },
    },
  };
}

// --- HTTP -------------------------------------------------------------------------------------

function send(response, status, body, type = 'application/json') {
  const data = typeof body === 'string' || ArrayBuffer.isView(body) ? body : JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(data) });
  response.end(data);
}

async function viaHandler(handler, adapted, response) {
  if (adapted.error) return send(response, 401, { code: 401, message: adapted.error.message });
  const result = await handler.fn(adapted.body);
  return send(response, result.statusCode, result.response, result.contentType || 'text/plain');
}

async function route(request, body, response) {
  const { pathname, searchParams } = new URL(request.url, url);
  const key = `${request.method} ${pathname}`;
  if (key === `POST ${fulcio.path}`) {
    return viaHandler(fulcio, fulcioRequest(body, request.headers), response);
  }
  if (key === `POST ${rekor.path}`) return viaHandler(rekor, rekorRequest(body), response);
  if (key === 'POST /oidc/jobs') {
    const requestToken = crypto.randomBytes(24).toString('hex');
    jobs.set(requestToken, JSON.parse(body).claims);
    return send(response, 201, { request_token: requestToken,
      request_url: `${url}/oidc/token?api-version=2.0` });
  }
  if (key === 'GET /oidc/token') {
    const bearer = (request.headers.authorization || '').replace(/^bearer\s+/i, '');
    const claims = jobs.get(bearer);
    if (claims === undefined) return send(response, 401, { message: 'Bad credentials' });
    const audience = searchParams.get('audience') || `${GITHUB}/${claims.repository_owner}`;
    return send(response, 200, { count: 1, value: mintToken(claims, audience) });
  }
  if (key === 'GET /.well-known/openid-configuration') {
    return send(response, 200, { issuer: GITHUB_ISSUER, jwks_uri: `${url}/.well-known/jwks`,
      id_token_signing_alg_values_supported: ['RS256'] });
  }
  if (key === 'GET /.well-known/jwks') return send(response, 200, jwks());
  return send(response, 404, { message: `no such endpoint: ${key}` });
}

server.on('request', (request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    route(request, Buffer.concat(chunks).toString(), response).catch((error) => {
      send(response, 500, { message: String(error && error.stack || error) });
    });
  });
});

const trustConfigPath = argument('--trust-config');
fs.writeFileSync(trustConfigPath, JSON.stringify(trustConfig(), null, 2));
process.stdout.write(`${JSON.stringify({ url, trust_config: trustConfigPath,
  issuer: GITHUB_ISSUER })}\n`);
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
