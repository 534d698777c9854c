// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const workerImport = {
  regex: '(^|/)worker/',
  message:
    'Page code (src/) must not import storage code (worker/): talk to storage through the Storage interface. Only src/open-database.ts may, with a dynamic import().',
};

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
    files: ['src/**/*.ts'],
    ignores: ['src/open-database.ts', 'src/index.ts', 'src/shared/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [workerImport] }] },
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!\\./)',
              message:
                'src/shared/ is imported by both sides of postMessage and imports nothing outside itself.',
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
      },
    },
  },
);
