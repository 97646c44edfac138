// Lint configuration. Besides typescript-eslint's checks, it enforces the direction of
// dependencies between the rooms of src/ (STYLE.md §2.2), the way Prometheus uses depguard:
// model <- storage <- tsdb; promql sees storage and model, never tsdb; scrape sees the
// Appendable, never the TSDB; only cmd/ wires concrete implementations together.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** A rule forbidding imports of the named src/ folders from the files it applies to. */
function forbid(files, folders, why) {
  return {
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: folders.map((f) => ({
            group: [`**/${f}`, `**/${f}/*`, `**/${f}/**`],
            message: `${why} (see STYLE.md §2.2)`,
          })),
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/**', 'dist-check/**', 'node_modules/**', '**/testdata/**', 'web/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's test() and describe() return promises the runner itself awaits.
          allowForKnownSafeCalls: [
            { from: 'package', name: ['test', 'it', 'describe', 'suite'], package: 'node:test' },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
      },
    },
  },
  forbid(
    ['src/model/**'],
    ['storage', 'tsdb', 'promql', 'scrape', 'web', 'remote', 'cmd', 'exposition', 'config'],
    'model is pure data and depends on nothing',
  ),
  forbid(
    ['src/storage/**'],
    ['tsdb', 'promql', 'scrape', 'web', 'remote', 'cmd'],
    'storage holds contracts only',
  ),
  forbid(
    ['src/tsdb/**'],
    ['promql', 'scrape', 'web', 'remote', 'cmd'],
    'the TSDB knows nothing of its users',
  ),
  forbid(
    ['src/promql/**'],
    ['tsdb', 'scrape', 'web', 'remote', 'cmd'],
    'the engine sees only the Querier',
  ),
  forbid(
    ['src/scrape/**'],
    ['tsdb', 'promql', 'web', 'remote', 'cmd'],
    'the scraper sees only the Appendable',
  ),
  forbid(
    ['src/exposition/**', 'src/relabel/**'],
    ['storage', 'tsdb', 'promql', 'scrape', 'web', 'remote', 'cmd'],
    'format code is pure',
  ),
  forbid(
    ['src/web/**'],
    ['tsdb', 'cmd'],
    'the API declares the interfaces it needs; cmd wires the TSDB in',
  ),
  forbid(['src/remote/**'], ['promql', 'web', 'cmd'], 'remote reads the WAL, not the engine'),
);
