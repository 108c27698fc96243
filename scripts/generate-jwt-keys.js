#!/usr/bin/env node
'use strict';
// Writes a JWK set with one signing key (mode 0600) for the jwt provider. ES256 (P-256) by default: every common
// verifier accepts it (jose, jsonwebtoken + jwks-rsa, PyJWT, Java and Go stacks); EdDSA (Ed25519) and RS256 (RSA
// 3072) on request.
// Usage: node scripts/generate-jwt-keys.js OUTFILE [--alg ES256|EdDSA|RS256]
const { writeFileSync, mkdirSync, existsSync } = require('node:fs');
const { dirname } = require('node:path');
const { parseArgs } = require('node:util');

const ALGS = ['ES256', 'EdDSA', 'RS256'];

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { alg: { type: 'string', default: 'ES256' } },
  });
  const [out] = positionals;
  if (!out || positionals.length > 1 || !ALGS.includes(values.alg)) {
    process.stderr.write(`usage: generate-jwt-keys.js OUTFILE [--alg ${ALGS.join('|')}] (default ES256)\n`);
    process.exit(2);
  }
  if (existsSync(out)) {
    // Never replaces a key set (it may sign live credentials); say so rather than look as if a key was made.
    process.stderr.write(`generate-jwt-keys: ${out} exists and was left unchanged; for a new key, name another file\n`);
    return;
  }
  const { generateKeyPair, exportJWK, calculateJwkThumbprint } = require('jose');
  const alg = values.alg;
  const { privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
    ...(alg === 'RS256' ? { modulusLength: 3072 } : {}),
  });
  const jwk = await exportJWK(privateKey);
  jwk.kid = await calculateJwkThumbprint(jwk);
  jwk.alg = alg;
  jwk.use = 'sig';
  mkdirSync(dirname(out), { recursive: true, mode: 0o700 });
  writeFileSync(out, JSON.stringify({ keys: [jwk] }, null, 2), { mode: 0o600 });
}

main().catch((err) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
