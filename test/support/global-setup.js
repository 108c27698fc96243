'use strict';
const { existsSync, rmSync } = require('node:fs');
const { join } = require('node:path');

module.exports = async () => {
  const root = join(__dirname, '..', '..');
  if (!existsSync(join(root, 'dist/apps/api/src/main.js'))) {
    throw new Error('dist/ is missing: run `npm test` (it builds first) or `npm run build`');
  }
  rmSync(join(root, '.test-artifacts', 'logs'), {
    recursive: true,
    force: true,
  });
};
