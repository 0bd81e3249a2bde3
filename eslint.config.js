// ESLint with typescript-eslint's type-aware rules: what a formatter cannot see and tsc does not check
// (a promise nobody awaits on a server path, an await on a non-promise, an unsafe template), plus one
// import order (simple-import-sort). Formatting is Prettier's alone (.prettierrc.json); see README, Lint.
import simpleImportSort from 'eslint-plugin-simple-import-sort';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'bench/results/', '**/*.mjs', '**/*.js', '!eslint.config.js'] },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'vitest.config.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['vitest.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'simple-import-sort': simpleImportSort },
    rules: {
      'simple-import-sort/imports': 'error',
      'simple-import-sort/exports': 'error',
      // A floating promise on the serving path is a lost error or an unanswered call.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      // An async function without await is how an interface's async method is implemented synchronously.
      '@typescript-eslint/require-await': 'off',
      // String(x) of an object is caught by no-base-to-string; numbers and the like in templates are fine.
      '@typescript-eslint/restrict-template-expressions': 'off',
      // Parsed wire data and third-party JSON are typed by narrowing where they enter; `any` there is deliberate.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    // The native evaluator throws plain values (EvalError, RequestFailure) on purpose: an erroring policy is a
    // normal outcome in Cedar, and an Error would capture a stack trace on every one (docs/native-engine.md).
    files: ['src/engine/native/**/*.ts'],
    rules: { '@typescript-eslint/only-throw-error': 'off' },
  },
  {
    // Tests assert on promises with expect(...).rejects and start servers they close in afterAll.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      // fast-check's letrec needs its tie() results cast to the arbitrary each one is.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
);
