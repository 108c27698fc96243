#!/usr/bin/env node
'use strict';
const { main } = require('../dist/apps/cli/src/main.js');
// `leash --help | head`: once the reader is gone, the rest of the output has nowhere to go. End quietly, as Unix
// tools do, instead of Node's stack trace of the unhandled EPIPE.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') {
    process.exit(0);
  }
  throw err;
});
main(process.argv.slice(2)).then((code) => process.exit(code));
