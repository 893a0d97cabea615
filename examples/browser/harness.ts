// Builds the demo page, serves it on localhost and opens it in Debian's Chromium through
// playwright-core: shared by the browser test (test/browser.test.ts) and the benchmark
// (benchmarks/browser.bench.ts). Node only.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { isolationHeaders } from './vite.config';

const here = fileURLToPath(new URL('.', import.meta.url));

export const chromiumPath = process.env.PARCNET_CHROMIUM ?? '/usr/bin/chromium';

/** Builds the page with the demo's vite.config.ts into a fresh temporary folder. */
export async function buildDemo(): Promise<{ dir: string; remove: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'parcnet-demo-'));
  await build({ configFile: join(here, 'vite.config.ts'), logLevel: 'warn', build: { outDir: dir, emptyOutDir: true } });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm',
  '.json': 'application/json', '.png': 'image/png', '.jpg': 'image/jpeg', '.safetensors': 'application/octet-stream',
};

/**
 * Serves `dir` on a free localhost port; with `isolated` every response carries the COOP/COEP
 * headers that make the page cross-origin isolated (shared memory, kernel threads).
 */
export async function serve(dir: string, isolated: boolean): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname));
    const file = join(dir, path.endsWith('/') ? `${path}index.html` : path);
    if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) {
      response.writeHead(404).end(`not found: ${path}`);
      return;
    }
    response.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', ...(isolated ? isolationHeaders : {}) });
    response.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Debian's Chromium, headless, with the flags this machine's closed network needs. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`no Chromium at ${chromiumPath}: install Debian's (apt-get install -y chromium; .ci/run does) or set PARCNET_CHROMIUM`);
  }
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Opens the page and waits until it is ready (kernels loaded, samples decoded, nothing running). */
export async function openDemo(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(url);
  await page.waitForFunction(() => {
    const demo = (window as unknown as { parcnetDemo?: { busy: boolean } }).parcnetDemo;
    return demo !== undefined && !demo.busy && document.body.dataset.busy === undefined;
  }, undefined, { timeout: 60_000 });
  return { page, errors };
}

/** Waits until the page's current action has finished, and fails with its error if it had one. */
export async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => document.body.dataset.busy === undefined, undefined, { timeout: 120_000 });
  const error = await page.evaluate(() => (window as unknown as { parcnetDemo: { error: string | null } }).parcnetDemo.error);
  if (error) throw new Error(`demo page: ${error}`);
}

export const readBytes = (file: string): Uint8Array => new Uint8Array(readFileSync(file));
