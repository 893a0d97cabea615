// Compiles every package's TypeScript sources to ESM JavaScript with .d.ts files in its dist/
// (TypeScript project references, tsconfig.build.json), then copies the plain .mjs modules that
// tsc does not emit (the kernel threads' and data workers' entry scripts) beside them, and puts the
// repository's LICENSE in each package folder for `npm pack`.
// Run by `npm ci` (the root "prepare" script) after the WASM kernels are built, and by `npm test`.
import { execFileSync } from 'node:child_process';
import { copyFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-b', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

for (const name of readdirSync(join(root, 'packages'))) {
  if (name === 'testing') continue; // test helpers only: not built, not published
  copyFileSync(join(root, 'LICENSE'), join(root, 'packages', name, 'LICENSE'));
  const src = join(root, 'packages', name, 'src');
  for (const file of readdirSync(src)) {
    if (file.endsWith('.mjs')) copyFileSync(join(src, file), join(root, 'packages', name, 'dist', file));
  }
}
