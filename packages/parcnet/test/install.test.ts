import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, serve } from '../../../examples/browser/harness';

// parcnet as a user gets it: every package packed with `npm pack` and installed from the tarballs
// into an empty folder outside the repository, then used there with plain node, tsc, npx and Vite.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const fixtures = fileURLToPath(new URL('./consumer/', import.meta.url));
const PACKAGES = ['tensor', 'autograd', 'nn', 'parc', 'models', 'io', 'data', 'wasm', 'train', 'detection', 'segmentation', 'cli', 'parcnet'];

let consumer = '';
let packed: { name: string; filename: string; size: number; unpackedSize: number }[] = [];

function run(command: string, args: string[], cwd = consumer): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
}

describe('parcnet installed from its packed tarballs, outside the repository', () => {
  beforeAll(() => {
    run(process.execPath, [join(root, 'scripts/build-packages.mjs')], root);
    consumer = mkdtempSync(join(tmpdir(), 'parcnet-install-'));
    const tarballs = join(consumer, 'tarballs');
    mkdirSync(tarballs);
    packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', tarballs, ...PACKAGES.flatMap((p) => ['-w', `packages/${p}`])], root));
    const dependencies: Record<string, string> = { '@types/node': '^20' };
    for (const p of packed) dependencies[p.name] = `file:${join(tarballs, p.filename)}`;
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies }, null, 2));
    for (const file of readdirSync(fixtures)) copyFileSync(join(fixtures, file), join(consumer, file));
    // Third-party packages come from npm's cache where `npm ci` left them.
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline']);
  }, 600_000);

  afterAll(() => {
    if (consumer) rmSync(consumer, { recursive: true, force: true });
  });

  it('installs every package without tsx, TypeScript or a build step, each with its dist and licence', () => {
    expect(packed.map((p) => p.name).sort()).toEqual([...PACKAGES.filter((p) => p !== 'parcnet').map((p) => `@parcnet/${p}`), 'parcnet'].sort());
    expect(existsSync(join(consumer, 'node_modules', 'tsx'))).toBe(false);
    expect(existsSync(join(consumer, 'node_modules', 'typescript'))).toBe(false);
    for (const p of packed) {
      const dir = join(consumer, 'node_modules', p.name);
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string; private?: boolean; license: string };
      expect(manifest.private).toBeUndefined();
      expect(manifest.version).toBe('0.1.0');
      expect(manifest.license).toBe('MIT');
      expect(existsSync(join(dir, 'LICENSE'))).toBe(true);
      expect(existsSync(join(dir, 'dist', 'index.js'))).toBe(true);
      expect(existsSync(join(dir, 'dist', 'index.d.ts'))).toBe(true);
    }
  });

  it('plain node imports parcnet, takes a ParC-Net-XS training step on 2 WASM threads and gradchecks ParC', () => {
    const result = JSON.parse(run(process.execPath, ['step.mjs'])) as { loss: number; changed: boolean; threads: number; build: { path: string }; parcGradcheck: boolean };
    expect(result.loss).toBeGreaterThan(1);
    expect(result.loss).toBeLessThan(4);
    expect(result.changed).toBe(true);
    expect(result.threads).toBe(2);
    expect(result.build.path).toContain(join(consumer, 'node_modules', '@parcnet', 'wasm', 'build'));
    expect(result.parcGradcheck).toBe(true);
  }, 120_000);

  it('tsc --strict type-checks a consumer file against the shipped .d.ts files (NodeNext, no skipLibCheck)', () => {
    expect(() => run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'])).not.toThrow();
    // And the check is real: a wrong type in the consumer is reported.
    writeFileSync(join(consumer, 'wrong.ts'), "import { randn } from 'parcnet';\nconst n: string = randn(2, 3).shape;\nconsole.log(n);\n");
    let output = '';
    try {
      run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--strict', '--noEmit', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--types', 'node', 'wrong.ts']);
    } catch (e) {
      output = String((e as { stdout: string }).stdout);
    }
    expect(output).toMatch(/wrong\.ts\(2,7\): error TS2322/);
  }, 120_000);

  it('npx parcnet --help and npx parcnet info <file> work', () => {
    expect(run('npx', ['parcnet', '--help'])).toMatch(/parcnet: ParC-Net in TypeScript/);
    const weights = join(consumer, 'weights.safetensors');
    run(process.execPath, ['-e', `import('parcnet').then(async ({ io, models }) => io.saveSafetensors(models.parcnetXS({ numClasses: 10, cifarStem: true }).stateDict(), ${JSON.stringify(weights)}))`]);
    expect(run('npx', ['parcnet', 'info', weights])).toMatch(/487 tensors, 1,550,794 parameter values/);
  }, 120_000);

  it('Vite bundles a page that imports parcnet (the browser entry), with the .wasm files and the worker; in Chromium it trains a step on 2 threads', async () => {
    run(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build']);
    const assets = readdirSync(join(consumer, 'dist', 'assets'));
    expect(assets.filter((f) => f.endsWith('.wasm')).length).toBe(4);
    expect(assets.some((f) => f.startsWith('worker.browser') && f.endsWith('.js'))).toBe(true);
    const bundle = assets.filter((f) => f.startsWith('index') && f.endsWith('.js')).map((f) => readFileSync(join(consumer, 'dist', 'assets', f), 'utf8')).join('');
    // The browser entry: no Node modules in the bundle.
    expect(bundle).not.toMatch(/node:fs|node:worker_threads/);

    // The bundle runs: a bundler that dropped a module it thought free of side effects (kernel
    // registration, the autograd engine, the threads started before any kernel) fails here.
    const server = await serve(join(consumer, 'dist'), true);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(server.url);
      await page.waitForFunction(() => document.getElementById('out')?.textContent !== '', undefined, { timeout: 60_000 });
      const result = JSON.parse((await page.textContent('#out')) ?? '{}') as { error?: string; loss: number; threads: number; logits: number[] };
      expect(result.error).toBeUndefined();
      expect(Number.isFinite(result.loss)).toBe(true);
      expect(result.threads).toBe(2);
      expect(result.logits).toEqual([1, 10]);
    } finally {
      await browser.close();
      await server.close();
    }
  }, 180_000);
});
