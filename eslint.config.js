// Lint: typescript-eslint's type-checked recommended rules, plus the rules that keep the
// architecture honest: no floating promises, no `any`, and no deep imports across folders
// (another folder is reached through its index.ts).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'bin/**', 'eslint.config.js', 'scripts/*.mjs', '.svcnet/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      'no-restricted-imports': ['error', {
        patterns: [{
          regex: '^(\\.\\./)+(?!.*index\\.ts$)[^./][^/]*/.+',
          message: 'Import another folder through its index.ts',
        }],
      }],
    },
  },
  {
    files: ['test/**', 'bench/**', '**/*.test.ts'],
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
