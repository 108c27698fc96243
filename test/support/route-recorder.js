// Preloaded into the API (node --require): records every route Fastify registers, Nest's and any other,
// one "METHOD url" line each, to LEASH_TEST_ROUTES_FILE. Fastify announces each instance on the
// `fastify.initialization` diagnostics channel before any route is added.
'use strict';
const { appendFileSync } = require('node:fs');
const diagnostics = require('node:diagnostics_channel');

const file = process.env.LEASH_TEST_ROUTES_FILE;
if (file) {
  diagnostics.subscribe('fastify.initialization', ({ fastify }) => {
    fastify.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) {
        appendFileSync(file, `${method} ${route.url}\n`);
      }
    });
  });
}
