// ESLint (flat config) with typescript-eslint's type-checked rules. The rules chosen are the ones
// that catch what ends a node's OS process or hides a bug the compiler cannot see: a Promise
// nobody handles, a Promise passed where a callback's result is ignored, an `await` of a
// non-Promise, a switch that misses a member of its union, and unused code. Every intended
// exception carries an `eslint-disable-next-line <rule> -- <reason>` comment.
//
// The types come from ONE TypeScript program over every package's src/ and test/ (plus the
// test-types folders, the examples and the bench): tsconfig.eslint.json, the base options of every
// package's own tsconfig. With a program per package (the project service), each of a dozen
// programs type-checked again what its files use of the packages it references; one program
// checks each file once (the CPU of the whole lint, measured on a shared 2-core machine: 222 s with
// a program per package, 133-143 s with one). A package imports another through its published
// declarations (dist/: run `npm run build` first, as `npm run check` does), as users do. The Observer's UI (DOM, JSX, its own module settings) keeps its own
// tsconfig through the project service.
import tseslint from 'typescript-eslint';

const typeAware = {
  parser: tseslint.parser,
  parserOptions: { project: './tsconfig.eslint.json', tsconfigRootDir: import.meta.dirname },
};
const ui = 'packages/observer/ui/**/*.ts';

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', '**/.bench-tmp/**', '**/coverage/**', '**/*.js', '**/*.mjs'],
  },
  {
    files: ['**/*.ts'],
    ignores: [ui],
    languageOptions: typeAware,
  },
  {
    files: [ui],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    files: ['**/*.ts'],
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's test()/describe() return Promises the runner itself awaits.
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // A `default` does not excuse a union's missing members: a new member must be decided on
      // at every switch over its union (a `default` may still guard values outside the type).
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: false, requireDefaultForNonUnion: false },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // The servers a remote client reaches (issue 63): no-floating-promises counts `p.then(a, b)`
    // and `p.catch(h)` as handled, but a throw inside `a`, `b` or `h` (a send to a process that
    // has ended) rejects the chain they make, which nobody holds: unhandledRejection, and the
    // node's OS process ends. Here work nobody awaits goes through the package's detach(), whose
    // chain cannot reject; a `.then(` / `.catch(` / `.finally(` chain whose result is dropped, or
    // a `void` Promise, is refused.
    files: ['packages/mcp/src/**/*.ts', 'packages/mcp/test/**/*.ts', 'packages/observer/src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          ignoreVoid: false,
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after'] },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ExpressionStatement > CallExpression[callee.property.name=/^(then|catch|finally)$/]',
          message:
            'A dropped promise chain: a throw in its callback reaches unhandledRejection. Use detach() (src/detach.ts), or await / return it.',
        },
        {
          selector: "UnaryExpression[operator='void'] > CallExpression[callee.property.name=/^(then|catch|finally)$/]",
          message:
            'A dropped promise chain: a throw in its callback reaches unhandledRejection. Use detach() (src/detach.ts), or await / return it.',
        },
      ],
    },
  },
);
