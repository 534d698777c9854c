// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const workerMessage =
  'Page code (src/) must not import storage code (worker/): talk to storage through the Storage interface. Only the composition root, src/open-database.ts, may.';
const workerImport = { regex: '(^|/)worker/', message: workerMessage };
// no-restricted-imports sees only static imports and re-exports; these catch `import('…worker/…')`
// with a string or a template literal.
const workerDynamicImport = [
  { selector: 'ImportExpression[source.value=/(^|\\/)worker\\//]', message: workerMessage },
  {
    selector: 'ImportExpression > TemplateLiteral TemplateElement[value.raw=/(^|\\/)worker\\//]',
    message: workerMessage,
  },
];

// React is shelfdb/react's optional peer dependency: an import anywhere else would make `shelfdb`
// or `shelfdb/storage` need it. Tests and browser tests may render with it.
const reactMessage =
  'Only src/react/ (shelfdb/react) may import React: it is an optional peer dependency, and shelfdb and shelfdb/storage must work without it.';
const reactImport = { regex: '^react(-dom)?($|/)', message: reactMessage };
const reactDynamicImport = [
  { selector: 'ImportExpression[source.value=/^react(-dom)?($|\\/)/]', message: reactMessage },
];
// Flat config does not merge a rule's options across blocks: a later block that sets
// no-restricted-imports or no-restricted-syntax for a file replaces the earlier one, so each block
// below lists every restriction its files have.

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'scratch/',
      'test-results/',
      'playwright-report/',
      'bench/results/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['**/*.{js,mjs,cjs,jsx,ts,mts,cts,tsx}'],
    ignores: ['src/react/**', 'test/**', 'e2e/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [reactImport] }],
      'no-restricted-syntax': ['error', ...reactDynamicImport],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/open-database.ts', 'src/shared/**', 'src/react/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [workerImport, reactImport] }],
      'no-restricted-syntax': ['error', ...workerDynamicImport, ...reactDynamicImport],
    },
  },
  {
    files: ['src/react/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [workerImport] }],
      'no-restricted-syntax': ['error', ...workerDynamicImport],
    },
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!\\./|comlink$)',
              message:
                'src/shared/ is imported by both sides of postMessage and imports nothing outside itself (and Comlink, the link).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['worker/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./src/(?!shared/)',
              message: 'Storage code (worker/) may import only src/shared/ from the page side.',
            },
            reactImport,
          ],
        },
      ],
    },
  },
  {
    files: ['bench/**', 'scripts/**', 'e2e/**', 'demo/**', '.ci/**'],
    rules: { 'no-console': 'off' },
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        performance: 'readonly',
        window: 'readonly',
        document: 'readonly',
        fetch: 'readonly',
        setTimeout: 'readonly',
        requestAnimationFrame: 'readonly',
        Blob: 'readonly',
        File: 'readonly',
      },
    },
  },
);
