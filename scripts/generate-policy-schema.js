#!/usr/bin/env node
'use strict';
// Writes deploy/policy.schema.json (JSON Schema of the policy file, for editor completion) from the
// zod schema in libs/contracts. Run after `node scripts/build.js`; a unit test fails when it is stale.
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const { policyJsonSchema } = require(join(root, 'dist/libs/contracts/src/policy-json-schema.js'));
writeFileSync(join(root, 'deploy/policy.schema.json'), `${JSON.stringify(policyJsonSchema(), null, 2)}\n`);
process.stdout.write('wrote deploy/policy.schema.json\n');
