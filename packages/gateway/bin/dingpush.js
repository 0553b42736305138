#!/usr/bin/env node
// Runs the built JavaScript (dist/, made by `npm run build`; `npm install` at the repository root builds it).
let cli;
try {
  cli = await import('../dist/cli/main.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/cli/main.js')) throw err;
  process.stderr.write('dingpush: not built yet (no dist/): run `npm run build` in the repository first\n');
  process.exit(1);
}
await cli.main(process.argv);
