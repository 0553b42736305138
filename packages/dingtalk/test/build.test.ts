import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const pkg = new URL('..', import.meta.url).pathname;

describe('package build', () => {
  it('compiles to JavaScript with type declarations that plain Node can import', () => {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', 'tsconfig.build.json'], { cwd: pkg, stdio: 'pipe' });
    expect(existsSync(`${pkg}dist/index.js`)).toBe(true);
    expect(existsSync(`${pkg}dist/index.d.ts`)).toBe(true);
    expect(existsSync(`${pkg}dist/app-client.d.ts`)).toBe(true);
    const out = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', `import * as d from '${pkg}dist/index.js'; console.log(d.robotSignature('SECtestsecret0123456789', 1700000000000), typeof d.DingTalkApp, d.LIMITS.workNoticeUserIds)`],
      { encoding: 'utf8' },
    );
    expect(out.trim()).toBe('zrLWzK97t62y5CpqN8Ok9UIdPvX+jL1PNoW8nKT5a9k= function 100');
  }, 60_000);
});
