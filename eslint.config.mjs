import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.data/', '.tools/', 'dist/', 'coverage/', 'designer/dist/', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no I/O, no Node built-ins (but the
    // three the sandbox provides), nothing from the API or the database layer.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'Node built-ins are not available in the workflow sandbox.' },
            { group: ['**/db', '**/db/**', '**/api', '**/api/**', '**/activities/**', '**/runtime/**', '**/commands/**'], message: 'Workflow code may not import I/O layers; import activity types with `import type`.', allowTypeImports: true },
          ],
          paths: ['fs', 'path', 'os', 'child_process', 'http', 'https', 'net', 'crypto', 'process', 'pg', 'slonik', 'express'].map((name) => ({
            name,
            message: 'Not available in the Temporal workflow sandbox.',
          })),
        },
      ],
      'no-restricted-globals': ['error', { name: 'setTimeout', message: 'Use sleep() or condition() from @temporalio/workflow.' }],
    },
  },
);
