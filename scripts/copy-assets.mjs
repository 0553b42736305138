// The part of the build tsc does not do: files under packages/*/src that are not TypeScript (the emulator's
// ui/inbox.html, the gateway's dashboard under ui/) are copied to the same place under dist/, where the compiled
// modules read them; and the browser modules the dashboard imports (preact, htm, uPlot, marked: ESM files, no bundler)
// are copied from node_modules to packages/gateway/dist/ui/vendor/.
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
for (const pkg of readdirSync(join(root, 'packages'))) {
  const src = join(root, 'packages', pkg, 'src');
  for (const file of readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (!file.isFile() || extname(file.name) === '.ts') continue;
    const from = join(file.parentPath, file.name);
    cpSync(from, join(root, 'packages', pkg, 'dist', from.slice(src.length + 1)));
  }
}

const gateway = join(root, 'packages', 'gateway');
const require = createRequire(join(gateway, 'package.json'));
// A package's folder from its resolvable paths (not every package exports its package.json).
const dirOf = (name) => {
  const paths = require.resolve.paths(name) ?? [];
  for (const p of paths) {
    try {
      readdirSync(join(p, name));
      return join(p, name);
    } catch {}
  }
  throw new Error(`copy-assets: ${name} is not installed (npm install)`);
};
const vendor = join(gateway, 'dist', 'ui', 'vendor');
mkdirSync(vendor, { recursive: true });
for (const [name, file, as] of [
  ['preact', 'dist/preact.mjs', 'preact.mjs'],
  ['preact', 'hooks/dist/hooks.mjs', 'preact-hooks.mjs'],
  ['htm', 'dist/htm.mjs', 'htm.mjs'],
  ['uplot', 'dist/uPlot.esm.js', 'uplot.mjs'],
  ['uplot', 'dist/uPlot.min.css', 'uplot.css'],
  ['marked', 'lib/marked.esm.js', 'marked.mjs'],
]) {
  cpSync(join(dirOf(name), file), join(vendor, as));
}
