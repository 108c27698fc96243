#!/usr/bin/env node
'use strict';
// Writes a JWK set with one Ed25519 signing key (mode 0600) for the jwt provider.
// Usage: node scripts/generate-jwt-keys.js OUTFILE
const { writeFileSync, mkdirSync, existsSync } = require('node:fs');
const { dirname } = require('node:path');

async function main() {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: generate-jwt-keys.js OUTFILE\n');
    process.exit(2);
  }
  if (existsSync(out)) {
    return;
  }
  const { generateKeyPair, exportJWK, calculateJwkThumbprint } = require('jose');
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  jwk.kid = await calculateJwkThumbprint(jwk);
  jwk.alg = 'EdDSA';
  jwk.use = 'sig';
  mkdirSync(dirname(out), { recursive: true, mode: 0o700 });
  writeFileSync(out, JSON.stringify({ keys: [jwk] }, null, 2), { mode: 0o600 });
}

main().catch((err) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
