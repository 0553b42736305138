// The part of the build tsc does not do: files under packages/*/src that are not TypeScript (the emulator's
// ui/inbox.html) are copied to the same place under dist/, where the compiled modules read them.
import { cpSync, readdirSync } from 'node:fs';
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
