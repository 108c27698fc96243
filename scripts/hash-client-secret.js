#!/usr/bin/env node
'use strict';
// Makes an introspection client secret and its policy `secretHash` (docs/policy.md, `introspection`).
//   node scripts/hash-client-secret.js            # new random secret (32 bytes, base64url) and its hash
//   printf %s "$SECRET" | node scripts/hash-client-secret.js --stdin   # hash an existing secret
// The secret is printed once; only the hash goes into the policy.
const { createHash, randomBytes } = require('node:crypto');
const { readFileSync } = require('node:fs');

const hash = (secret) => `sha256:${createHash('sha256').update(secret, 'utf8').digest('hex')}`;

if (process.argv.includes('--stdin')) {
  const secret = readFileSync(0, 'utf8');
  if (secret.length < 32) {
    process.stderr.write('hash-client-secret: use a random secret of at least 32 characters\n');
    process.exit(2);
  }
  process.stdout.write(`secretHash: ${hash(secret)}\n`);
} else {
  const secret = randomBytes(32).toString('base64url');
  process.stdout.write(`secret: ${secret}\nsecretHash: ${hash(secret)}\n`);
}
