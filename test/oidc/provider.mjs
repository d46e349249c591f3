// provider.mjs - a small but real OpenID Connect provider for NovaCron's tests
// (test/test_oidc.c, the browser test).  Node.js built-in modules only.
//
//   node test/oidc/provider.mjs [--port 0] [--client-id ID] [--client-secret S]
//                               [--auth-methods client_secret_basic,client_secret_post]
//                               [--redirect-uri URL] [--user SUB] [--email E]
//                               [--groups a,b] [--groups-claim groups] [--amr pwd,otp]
//                               [--tls-cert PEM --tls-key PEM]
//
// Listens on 127.0.0.1 (port 0: any free port) and prints one line
// "port N" when it is ready.  Its issuer is http://127.0.0.1:N, or
// https://127.0.0.1:N with --tls-cert and --tls-key.  With --client-secret the
// token endpoint takes the methods of --auth-methods (default both); without
// it, a public client (none).
//
//   GET  /.well-known/openid-configuration   discovery
//   GET  /jwks                                 an RSA (kid rsa-1) and an EC P-256 key (kid ec-1)
//   GET  /authorize                            the authorization-code flow with PKCE (S256 only);
//        approves at once, no page: the user is given by query parameters added to the URL
//        (sub, email, groups=a,b, amr=pwd,otp) or the startup options; alg=RS256|ES256 picks
//        the signing key; bad=MODE makes the ID token wrong on purpose:
//          expired, aud, iss, none (alg none), hs256 (HMAC keyed with the RSA public key),
//          kid (a key not in the JWKS), sig (a broken signature), nonce, azp (two audiences
//          and no azp), iat (issued an hour ahead); rotate=1 signs with a new RSA key, added to
//          the JWKS at that moment (a key rotation the client has not seen yet)
//   POST /token                                code + code_verifier + client authentication
//        (client_secret_basic or client_secret_post when --client-secret is given, none else)
//
// A code is good once and for 60 seconds.  Nothing is written to disk.  It
// stops on SIGTERM, and by itself when the process that started it is gone.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'client-id': { type: 'string', default: 'novacron' },
    'client-secret': { type: 'string' },
    'redirect-uri': { type: 'string' },
    user: { type: 'string', default: 'alice' },
    email: { type: 'string' },
    groups: { type: 'string', default: '' },
    'groups-claim': { type: 'string', default: 'groups' },
    'auth-methods': { type: 'string', default: 'client_secret_basic,client_secret_post' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    amr: { type: 'string', default: 'pwd' },
  },
});

const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const stranger = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });   // never published
const jwk = (pub, kid, alg) => ({ ...pub.export({ format: 'jwk' }), kid, alg, use: 'sig' });
const jwks = { keys: [jwk(rsa.publicKey, 'rsa-1', 'RS256'), jwk(ec.publicKey, 'ec-1', 'ES256')] };

const codes = new Map();     // code -> the login it stands for
let issuer = '';

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const list = (s) => (s ? s.split(',').filter((x) => x) : []);
const authMethods = opt['client-secret'] !== undefined ? list(opt['auth-methods']) : ['none'];

function idToken(login) {
  const now = Math.floor(Date.now() / 1000);
  const bad = login.bad || '';
  const alg = login.alg === 'ES256' ? 'ES256' : 'RS256';
  const header = { alg, kid: alg === 'ES256' ? 'ec-1' : 'rsa-1', typ: 'JWT' };
  const claims = {
    iss: issuer, sub: login.sub, aud: opt['client-id'], exp: now + 300, iat: now,
    nonce: login.nonce, auth_time: now, amr: login.amr,
  };
  if (login.email) claims.email = login.email;
  if (login.groups) claims[opt['groups-claim']] = login.groups;
  if (bad === 'expired') { claims.exp = now - 3600; claims.iat = now - 7200; }
  if (bad === 'aud') claims.aud = 'another-client';
  if (bad === 'azp') claims.aud = [opt['client-id'], 'another-client'];
  if (bad === 'iss') claims.iss = 'http://127.0.0.1:1';
  if (bad === 'nonce') claims.nonce = b64url(crypto.randomBytes(32));
  if (bad === 'iat') claims.iat = now + 3600;
  if (bad === 'none') header.alg = 'none';
  if (bad === 'hs256') header.alg = 'HS256';
  if (bad === 'kid') header.kid = 'rsa-unknown';
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  let sig;
  if (login.rotate) {
    const key = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    header.kid = `rsa-${jwks.keys.length + 1}`;
    jwks.keys.push(jwk(key.publicKey, header.kid, 'RS256'));
    const again = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    return `${again}.${b64url(crypto.sign('sha256', Buffer.from(again), key.privateKey))}`;
  }
  if (bad === 'none') {
    sig = Buffer.alloc(0);
  } else if (bad === 'hs256') {
    // the classic confusion: an HMAC keyed with the RSA public key the verifier knows
    sig = crypto.createHmac('sha256', rsa.publicKey.export({ type: 'spki', format: 'pem' })).update(input).digest();
  } else if (bad === 'kid') {
    sig = crypto.sign('sha256', Buffer.from(input), stranger.privateKey);
  } else if (alg === 'ES256') {
    sig = crypto.sign('sha256', Buffer.from(input), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
  } else {
    sig = crypto.sign('sha256', Buffer.from(input), rsa.privateKey);
  }
  if (bad === 'sig') sig[sig.length - 1] ^= 0x01;
  return `${input}.${b64url(sig)}`;
}

function send(res, code, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': typeof body === 'string' ? 'text/plain' : 'application/json',
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

function authorize(url, res) {
  const q = url.searchParams;
  const redirect = q.get('redirect_uri');
  if (q.get('client_id') !== opt['client-id']) return send(res, 400, { error: 'unauthorized_client' });
  if (!redirect || (opt['redirect-uri'] && redirect !== opt['redirect-uri']))
    return send(res, 400, { error: 'invalid_request', error_description: 'redirect_uri is not registered' });
  const back = new URL(redirect);
  const fail = (error) => {
    back.searchParams.set('error', error);
    if (q.get('state')) back.searchParams.set('state', q.get('state'));
    send(res, 302, '', { Location: back.toString() });
  };
  if (q.get('response_type') !== 'code') return fail('unsupported_response_type');
  if (!list((q.get('scope') || '').replace(/ /g, ',')).includes('openid')) return fail('invalid_scope');
  if (q.get('code_challenge_method') !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(q.get('code_challenge') || ''))
    return fail('invalid_request');
  if (!q.get('state') || !q.get('nonce')) return fail('invalid_request');
  if (q.get('deny')) return fail('access_denied');
  const code = b64url(crypto.randomBytes(32));
  codes.set(code, {
    redirect, challenge: q.get('code_challenge'), nonce: q.get('nonce'), expires: Date.now() + 60000,
    sub: q.get('sub') || opt.user, email: q.get('email') || opt.email,
    groups: list(q.get('groups') ?? opt.groups), amr: list(q.get('amr') ?? opt.amr),
    alg: q.get('alg'), bad: q.get('bad'), rotate: q.get('rotate'),
  });
  back.searchParams.set('code', code);
  back.searchParams.set('state', q.get('state'));
  send(res, 302, '', { Location: back.toString() });
}

function token(req, body, res) {
  const f = new URLSearchParams(body);
  let client = f.get('client_id');
  let secret = f.get('client_secret');
  const basic = /^Basic (.+)$/.exec(req.headers.authorization || '');
  if (basic) {
    const [u, p] = Buffer.from(basic[1], 'base64').toString().split(':');
    client = decodeURIComponent(u);
    secret = decodeURIComponent(p ?? '');
  }
  if (client !== opt['client-id']) return send(res, 401, { error: 'invalid_client' });
  if (opt['client-secret'] !== undefined) {
    const used = basic ? 'client_secret_basic' : 'client_secret_post';
    if (!authMethods.includes(used)) return send(res, 401, { error: 'invalid_client', error_description: `${used} is not taken` });
    const a = Buffer.from(secret || ''), b = Buffer.from(opt['client-secret']);
    if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) return send(res, 401, { error: 'invalid_client' });
  } else if (secret) {
    return send(res, 401, { error: 'invalid_client' });
  }
  if (f.get('grant_type') !== 'authorization_code') return send(res, 400, { error: 'unsupported_grant_type' });
  const login = codes.get(f.get('code') || '');
  codes.delete(f.get('code') || '');
  if (!login || login.expires < Date.now() || login.redirect !== f.get('redirect_uri'))
    return send(res, 400, { error: 'invalid_grant' });
  const verifier = f.get('code_verifier') || '';
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) ||
      b64url(crypto.createHash('sha256').update(verifier).digest()) !== login.challenge)
    return send(res, 400, { error: 'invalid_grant', error_description: 'PKCE verifier does not match' });
  send(res, 200, {
    access_token: b64url(crypto.randomBytes(32)), token_type: 'Bearer', expires_in: 300, id_token: idToken(login),
  });
}

const tls = opt['tls-cert'] && opt['tls-key'];
const handler = (req, res) => {
  const url = new URL(req.url, issuer);
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d) => {
    body += d;
    if (body.length > 65536) req.destroy();
  });
  req.on('end', () => {
    if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
      return send(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256', 'ES256'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: authMethods,
        scopes_supported: ['openid', 'profile', 'email', 'groups'],
        claims_supported: ['sub', 'email', 'groups', 'amr'],
      });
    }
    if (req.method === 'GET' && url.pathname === '/jwks') return send(res, 200, jwks);
    if (req.method === 'GET' && url.pathname === '/authorize') return authorize(url, res);
    if (req.method === 'POST' && url.pathname === '/token') return token(req, body, res);
    send(res, 404, { error: 'not_found' });
  });
};
const server = tls
  ? https.createServer({ cert: fs.readFileSync(opt['tls-cert']), key: fs.readFileSync(opt['tls-key']) }, handler)
  : http.createServer(handler);

server.listen(Number(opt.port), '127.0.0.1', () => {
  const { port } = server.address();
  issuer = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  process.stdout.write(`port ${port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
// a test that died without stopping it: go too (the parent is gone when ppid changes)
const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) process.exit(0); }, 1000).unref();
