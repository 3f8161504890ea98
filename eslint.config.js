// ESLint with typescript-eslint's type-aware rules over the engine, the tests and the bench.
// `npm run lint`; `npm test` runs it after the type check. The rules that catch real bugs
// here are the promise ones: a floating promise is a failure nobody awaits (an unhandled
// rejection, or a step that finishes after the run reported it), and a promise passed where a
// callback's result is ignored (an event handler, a `forEach`) is the same bug in disguise.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', 'test/fixtures/', 'scratch/', 'tmp/'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // Each file is checked with the tsconfig.json nearest to it (bench/ has its own).
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // Off on purpose: an `async` method without `await` is how a module's probe/apply (and a
      // test's fake connection) honours an interface that returns a promise, and `async` is what
      // turns a throw inside it into a rejection instead of a synchronous exception.
      '@typescript-eslint/require-await': 'off',
      // `_name` marks a parameter or binding kept for its position (a callback's signature, a
      // destructuring that drops a key), as TypeScript's noUnusedLocals already allows.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Tests read JSON as `any` on purpose (the apiserver's answers in test/integration/k8s/fixture.ts,
    // the Job manifest tsplay prints): its shape is what they assert, and a wrong shape fails the
    // test. The unsafe-any rules guard the engine, where an unchecked `any` is a bug; here they
    // would only ask for casts that check nothing.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Plain JavaScript (this file, a node --import hook): no tsconfig covers it, so no type-aware rules.
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', performance: 'readonly', setInterval: 'readonly' } },
  },
);
