'use strict';
// Jest runs TypeScript and the ESM-only dependencies (NestJS 12, jose, client-node) through swc as CommonJS.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      keepClassNames: true,
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  },
];
const esmOnly = ['@nestjs', 'jose', '@kubernetes/client-node', 'openid-client', 'oauth4webapi', 'cookie', 'oidc-provider'];
const libs = ['core', 'contracts', 'config', 'policy', 'providers', 'leases', 'approvals', 'audit', 'broker'];
const moduleNameMapper = {
  '^(\\.{1,2}/.*)\\.js$': '$1',
  ...Object.fromEntries(libs.map((l) => [`^@leash/${l}$`, `<rootDir>/libs/${l}/src/index.ts`])),
};
const common = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j|mj)s$': swc },
  transformIgnorePatterns: [`node_modules/(?!(.*/)?(${esmOnly.join('|')})/)`],
  moduleNameMapper,
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/apps/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.js',
      globalTeardown: '<rootDir>/test/support/global-teardown.js',
    },
  ],
  testTimeout: 60000,
};
