// Part of `npm run build`, after tsc: bundles what `vmstation validate` loads into a few files
// under dist/bundle/validate/, which bin/vmstation.js starts for that verb (issue 16 §7: validate
// must start in at most twice a bare `node -e 0`). It is the same code as dist/cli/main.js
// (the CLI frame, the validate verb, the cluster file's stages) with yaml and commander inlined:
// Node then reads 6 files instead of about 110 (yaml alone is 72), a large part of validate's
// start-up once zod was out of the way. Every other package stays external (loaded from node_modules as before),
// and so do the other verbs: a validate run never loads them, and if one ever were, it would be
// the unbundled module under dist/cli/verbs/. test/local/cli/validate-bundle.test.ts runs the
// built command on every fixture and compares its output, byte for byte, with the CLI in-process.
import { rmSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
const outdir = path.join(root, 'dist/bundle/validate');
const verbsIndex = path.join(root, 'dist/cli/verbs/index.js');
/** Pure-JavaScript packages on the validate path; inlining them is the point. */
const INLINED = new Set(['yaml', 'commander']);

const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const external = Object.keys(pkg.dependencies)
  .filter((d) => !INLINED.has(d))
  .flatMap((d) => [d, `${d}/*`]);

/** The verbs other than validate stay the unbundled modules of dist/cli/verbs/. */
const otherVerbsExternal = {
  name: 'other-verbs-external',
  setup(b) {
    b.onResolve({ filter: /^\.\/[\w-]+\.js$/ }, (args) => {
      if (args.importer !== verbsIndex || args.kind !== 'dynamic-import' || args.path === './validate.js') return undefined;
      const target = path.resolve(path.dirname(args.importer), args.path);
      return { path: `./${path.relative(outdir, target)}`, external: true };
    });
  },
};

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { main: path.join(root, 'dist/cli/main.js') },
  outdir,
  bundle: true,
  // The zod fallback (config/validate.js, imported only for a file the fast path declines) must
  // stay a chunk of its own: inlined, its `import 'zod'` would be hoisted and load zod every time.
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  plugins: [otherVerbsExternal],
  // commander and yaml are CommonJS and require Node's built-in modules.
  banner: { js: "import { createRequire as __vmstationCreateRequire } from 'node:module'; const require = __vmstationCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
