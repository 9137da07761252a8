// Lint rules that carry the architecture (see ARCHITECTURE.md):
// - `node:*` (and bare Node built-ins) may be imported only in src/platform/ and src/cli/,
//   so that src/layers, src/sandbox and src/cluster run unchanged in a browser.
// - dependencies point down: layers ← sandbox ← cluster ← clients.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';
import globals from 'globals';

const nodeBuiltins = [...builtinModules.filter((m) => !m.startsWith('_')), ...builtinModules.map((m) => `node:${m}`)];
const noNode = {
  paths: nodeBuiltins.map((name) => ({
    name,
    message: 'Node built-ins are allowed only in src/platform/ and src/cli/ (inject the platform instead).',
  })),
  patterns: [{ group: ['node:*'], message: 'Node built-ins are allowed only in src/platform/ and src/cli/.' }],
};
const upward = (...layers) =>
  layers.map((layer) => ({
    group: [`**/${layer}/*`, `**/${layer}`],
    message: `Dependencies point down (layers ← sandbox ← cluster ← clients): this folder may not import ${layer}.`,
  }));

// Code under `files` may not import Node built-ins (tests beside it may: they run in
// Node) nor the folders in `patterns`.
const restrict = (files, patterns, ignores = []) => [
  {
    files: [files],
    ignores: [...ignores, '**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { ...noNode, patterns: [...noNode.patterns, ...patterns] }] },
  },
  ...(patterns.length > 0
    ? [{ files: [files.replace('*.ts', '*.test.ts')], rules: { 'no-restricted-imports': ['error', { patterns }] } }]
    : []),
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'guests/**/*.wasm', 'guests/as/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Scripts, benchmarks and tests run in Node.
    files: ['**/*.mjs', '**/*.js', 'scripts/**', 'bench/**', 'test/**', 'guests/**'],
    languageOptions: { globals: globals.node },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  ...restrict('src/**/*.ts', [], ['src/platform/**', 'src/cli/**']),
  ...restrict('src/layers/**/*.ts', upward('sandbox', 'cluster', 'cli')),
  ...restrict('src/sandbox/**/*.ts', upward('cluster', 'cli')),
  ...restrict('src/cluster/**/*.ts', upward('cli')),
);
