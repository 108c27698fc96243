#!/usr/bin/env node
'use strict';
// Compiles apps and libs into dist/ (Nest monorepo build, tsc builder; rewrites @leash/* aliases).
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

const root = join(__dirname, '..');
execFileSync(process.execPath, [join(root, 'node_modules/@nestjs/cli/bin/nest.js'), 'build', 'api'], {
  cwd: root,
  stdio: 'inherit',
});
