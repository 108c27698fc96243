#!/usr/bin/env node
'use strict';
// Installs what `npm run demo` and `npm test` need on a fresh machine: npm packages, redis-server, and the
// Debian packages named as command:package arguments (npm test asks for chromium, for the console's browser tests).
const { execSync, spawnSync } = require('node:child_process');
const { existsSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const say = (m) => process.stderr.write(`[setup] ${m}\n`);

// `NAME.py` is a Python module of Debian's interpreter (e.g. jwt.py for python3-jwt); anything else a command.
function has(cmd) {
  if (cmd.endsWith('.py')) {
    return spawnSync('/usr/bin/python3', ['-c', `import ${cmd.slice(0, -3)}`], { stdio: 'ignore' }).status === 0;
  }
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function ensureNodeModules() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) {
    return;
  }
  say('installing npm packages (npm ci)…');
  execSync('npm ci --no-audit --no-fund', { cwd: root, stdio: 'inherit' });
}

function ensureDebianPackage(command, pkg) {
  if (has(command)) {
    return;
  }
  if (process.getuid && process.getuid() !== 0) {
    say(`${command} is missing; install the Debian package "${pkg}" (sudo apt-get install -y ${pkg}) and retry`);
    process.exit(1);
  }
  say(`installing ${pkg} from Debian…`);
  execSync('apt-get update -qq', { stdio: 'inherit' });
  execSync(`DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${pkg}`, { stdio: 'inherit' });
}

ensureNodeModules();
ensureDebianPackage('redis-server', 'redis-server');
for (const extra of process.argv.slice(2)) {
  const [command, pkg] = extra.split(':');
  ensureDebianPackage(command, pkg ?? command);
}
