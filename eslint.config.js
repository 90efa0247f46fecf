// Flat config: typescript-eslint's recommended rules over the whole TypeScript tree.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'models/**', 'var/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Only src/config.ts reads the environment (DESIGN.md section 7); the import form too, which the
      // property rule cannot see.
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read settings through src/config.ts.' }],
      'no-restricted-imports': ['error', {
        paths: ['node:process', 'process'].map((name) => ({ name, importNames: ['env'], message: 'Read settings through src/config.ts.' })),
      }],
    },
  },
  {
    // The web page's plain browser script (served as is, no build step).
    files: ['src/api/public/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        ['window', 'document', 'fetch', 'URL', 'FormData', 'FileReader', 'console', 'setTimeout', 'clearTimeout', 'encodeURIComponent', 'Image', 'Blob', 'navigator', 'location', 'AbortController'].map((g) => [g, 'readonly']),
      ),
    },
  },
  {
    // Tests and benches set up child processes' environments and read their own knobs (BENCH_*), which
    // are not production settings. workers/ stays covered: its entry points call loadConfig().
    files: ['src/config.ts', 'test/**', '**/*.test.ts', 'bench/**', 'vitest.config.ts'],
    rules: { 'no-restricted-properties': 'off', 'no-restricted-imports': 'off' },
  },
);
