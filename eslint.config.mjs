// Lint rules: type-checked TypeScript, and the import directions of SPEC §3.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import jest from 'eslint-plugin-jest';

const LIBS = ['core', 'contracts', 'config', 'policy', 'providers', 'leases', 'approvals', 'audit', 'broker'];
// Which @leash libs each lib/app may import (SPEC §3).
const ALLOWED = {
  'libs/core': [],
  'libs/contracts': ['core'],
  'libs/config': ['core'],
  'libs/policy': ['core', 'contracts'],
  'libs/providers': ['core', 'config'],
  'libs/leases': ['core', 'config'],
  'libs/approvals': ['core', 'config', 'contracts'],
  'libs/audit': ['core', 'contracts'],
  'libs/broker': ['core', 'contracts', 'config', 'policy', 'providers', 'leases', 'approvals', 'audit'],
  // apps/api maps every lib's error codes to problem+json, so it may import their public error types.
  'apps/api': LIBS,
  'apps/worker': ['core', 'contracts', 'config', 'broker', 'policy', 'providers'],
  'apps/cli': ['core', 'contracts'],
};
// SDKs that only adapter files may import.
const SDKS = ['ioredis', 'bullmq', '@aws-sdk/*', '@google-cloud/*', '@kubernetes/client-node', '@slack/web-api'];

const boundaries = Object.entries(ALLOWED).map(([dir, allowed]) => ({
  files: [`${dir}/src/**/*.ts`],
  ignores: ['**/*.spec.ts'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          ...(LIBS.some((l) => !allowed.includes(l))
            ? [
                {
                  group: LIBS.filter((l) => !allowed.includes(l)).map((l) => `@leash/${l}`),
                  message: `${dir} may import only @leash/{${allowed.join(',')}} (SPEC §3)`,
                },
              ]
            : []),
          { group: ['../../*/src/*', '../../../libs/*', '../../../apps/*'], message: 'import other libs through their @leash alias' },
          ...(dir.startsWith('libs/')
            ? [{ group: SDKS, message: 'SDKs are imported only in adapter files (*.adapter.ts, *.factory.ts)' }]
            : []),
        ],
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.test-artifacts/**', 'bench/results/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      eqeqeq: 'error',
      curly: 'error',
    },
  },
  ...boundaries,
  {
    // Adapter files are where SDKs live.
    files: ['libs/**/*.adapter.ts', 'libs/**/*.factory.ts', 'libs/**/*.store.ts', 'libs/broker/src/broker.module.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['test/**/*.ts', '**/*.spec.ts', 'bench/**/*.ts'],
    plugins: { jest },
    rules: {
      'jest/no-focused-tests': 'error',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
);
