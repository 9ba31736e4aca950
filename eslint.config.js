// @ts-check
/**
 * ESLint (flat config). Run by `npm run lint` and by scripts/test.sh before the tests, so a lint
 * error fails `npm test` and CI.
 *
 * TypeScript is linted with type information (typescript-eslint's project service reads
 * tsconfig.json), because the rules this project needs most are the typed ones: a promise nobody
 * awaits or catches (no-floating-promises), an async function handed to something that ignores its
 * promise, such as an event listener (no-misused-promises), and `any` leaking out of JSON.parse,
 * caught errors or untyped libraries into typed code (no-explicit-any, no-unsafe-*).
 * Layout and quotes are Prettier's job: eslint-config-prettier comes last and switches off every
 * rule that would argue with it.
 */
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: ['**/node_modules/', '**/dist/', 'softphone/dist/', 'data/', '.cache/', 'test/.tmp/', 'bench/.tmp/', 'config/schema/*.json'],
  },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Spelled out although recommendedTypeChecked has them: these are why the linter is here.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unsafe-assignment': 'error',
      '@typescript-eslint/no-unsafe-member-access': 'error',
      '@typescript-eslint/no-unsafe-call': 'error',
      '@typescript-eslint/no-unsafe-return': 'error',
      '@typescript-eslint/no-unsafe-argument': 'error',
      // Off: interfaces are async where a later implementation does I/O (LocationStore, a listener's
      // close, a Handler), and the in-memory or synchronous implementation of today is no defect.
      '@typescript-eslint/require-await': 'off',
      // `x != null` (null or undefined) is the one loose comparison worth keeping.
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      // A leading underscore marks a parameter or binding that is unused on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    // vitest's asymmetric matchers (expect.stringMatching, expect.any…) are typed `any`, so every
    // `toMatchObject({ message: expect.stringMatching(…) })` reads as an unsafe assignment; in tests
    // that rule flags the matcher, not a leak of untyped data. The other no-unsafe-* rules stay.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  {
    // Plain JavaScript (this file, bin/): Node ESM, no type information.
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      sourceType: 'module',
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly' },
    },
  },
  prettier,
);
