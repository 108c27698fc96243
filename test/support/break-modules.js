'use strict';
// Preloaded into the API and worker by test/e2e/lazy-sdk.e2e-spec.ts (NODE_OPTIONS=--require …): while the file named
// by LEASH_TEST_BROKEN_MODULES_FILE exists, requiring a package listed in it (one name a line) throws the way a
// missing or broken install does. Lets a suite show what a process does when a client library cannot be loaded,
// and that it loads it again once it can. Test-only; nothing in dist/ knows about it.
const Module = require('node:module');
const { existsSync, readFileSync } = require('node:fs');

const file = process.env.LEASH_TEST_BROKEN_MODULES_FILE;
const load = Module._load;
Module._load = function (request, ...rest) {
  if (file && existsSync(file)) {
    const broken = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    if (broken.some((name) => request === name || request.startsWith(`${name}/`))) {
      const err = new Error(`Cannot find module '${request}' (broken on purpose by test/support/break-modules.js)`);
      err.code = 'MODULE_NOT_FOUND';
      throw err;
    }
  }
  return load.call(this, request, ...rest);
};
