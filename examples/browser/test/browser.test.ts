// The demo page in a real browser (Debian's Chromium through playwright-core): it loads with the
// WASM kernels active, classifies a known image with the logits of the Node forward, and three
// training steps of the head lower the loss; served with and without cross-origin isolation.
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { noGrad } from '@parcnet/autograd';
import { classifierInput, decodeImage, validateTransforms } from '@parcnet/data';
import { loadSafetensors } from '@parcnet/io';
import { parcnetXS } from '@parcnet/models';
import { saveWeights } from '@parcnet/train';
import { buildDemo, launchChromium, openDemo, readBytes, serve, settled } from '../harness';

const golden = process.env.PARCNET_GOLDEN ?? fileURLToPath(new URL('../../../../shared/golden', import.meta.url));
const image = fileURLToPath(new URL('../../cifar10/sample/test/cat/0000.jpg', import.meta.url));
const CIFAR10 = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

interface PageState {
  loadMilliseconds: number;
  threads: number;
  isolated: boolean;
  wasmKernels: string[];
  weights: { model: string; parameters: number } | null;
  lastClassification: { top: { label: string; probability: number }[]; logits: number[]; kernels: Record<string, number> } | null;
  losses: number[];
}

const pageState = (page: Page): Promise<PageState> => page.evaluate(() => (window as unknown as { parcnetDemo: PageState }).parcnetDemo);

let browser: Browser;
let demo: Awaited<ReturnType<typeof buildDemo>>;
let work: string;
let weightsFile: string;
let nodeLogits: Float32Array;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'parcnet-browser-test-'));
  // The golden ParC-Net-XS (official init, calibrated BN, ImageNet stem) as a parcnet weights file at 64×64.
  const model = parcnetXS({ numClasses: 10 });
  model.loadStateDict((await loadSafetensors(join(golden, 'parcnet_xs_c10_state_dict.safetensors'))).tensors);
  model.eval();
  const info = { model: 'parcnet-xs', num_classes: 10, cifar_stem: false, classes: CIFAR10, input_size: [64, 64] as [number, number], transforms: validateTransforms(['bgr', 'toFloat'], 'test') };
  weightsFile = join(work, 'parcnet-xs-golden.safetensors');
  await saveWeights(weightsFile, model, info);
  nodeLogits = noGrad(() => model.forward(classifierInput(decodeImage(readBytes(image), image), info.input_size, info.transforms))).toTypedArray() as Float32Array;
  demo = await buildDemo();
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  demo?.remove();
  rmSync(work, { recursive: true, force: true });
});

/** Loads the golden weights and the cat image through the page's file inputs; returns the page's state. */
async function classifyInPage(page: Page): Promise<PageState> {
  await page.setInputFiles('#weights-file', weightsFile);
  await page.waitForFunction(() => (window as unknown as { parcnetDemo: PageState }).parcnetDemo.weights !== null);
  await settled(page);
  await page.setInputFiles('#image-file', image);
  await page.waitForFunction(() => (window as unknown as { parcnetDemo: PageState }).parcnetDemo.lastClassification !== null);
  await settled(page);
  return pageState(page);
}

/** Serves the built page (with or without the isolation headers), opens it, runs `body`, closes both. */
async function withPage(isolated: boolean, query: string, body: (page: Page, errors: string[]) => Promise<void>): Promise<void> {
  const server = await serve(demo.dir, isolated);
  const { page, errors } = await openDemo(browser, `${server.url}${query}`);
  try {
    await body(page, errors);
  } finally {
    await page.close();
    await server.close();
  }
}

const maxDifference = (a: ArrayLike<number>, b: ArrayLike<number>): number => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const argmax = (values: ArrayLike<number>): number => Array.from(values).reduce((best, v, i, all) => (v > all[best] ? i : best), 0);

describe('the demo page in Chromium', () => {
  let isolatedLogits: number[] = [];

  it('cross-origin isolated: loads with the WASM kernels on 2 threads, classifies like Node, and 3 head steps lower the loss', async () => {
    await withPage(true, '', async (page, errors) => {
      const loaded = await pageState(page);
      expect(loaded.isolated).toBe(true);
      expect(loaded.threads).toBeGreaterThan(1);
      for (const op of ['Conv2D', 'BatchMatMul', 'ParcConv', 'BatchNormApply', 'Silu']) expect(loaded.wasmKernels).toContain(op);

      const state = await classifyInPage(page);
      const result = state.lastClassification!;
      // The forward really ran in WASM: every Conv2D and ParC call, none on the reference kernels.
      expect(result.kernels['Conv2D:wasm']).toBeGreaterThan(20);
      expect(result.kernels['ParcConv:wasm']).toBeGreaterThan(0);
      expect(result.kernels['Conv2D:reference'] ?? 0).toBe(0);
      expect(result.logits).toHaveLength(10);
      expect(maxDifference(result.logits, nodeLogits)).toBeLessThan(1e-4);
      expect(CIFAR10.indexOf(result.top[0].label)).toBe(argmax(nodeLogits));
      isolatedLogits = result.logits;

      await page.fill('#steps', '3');
      await page.click('#train');
      await page.waitForFunction(() => (window as unknown as { parcnetDemo: PageState }).parcnetDemo.losses.length === 4);
      await settled(page);
      const { losses } = await pageState(page);
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses[3]).toBeLessThan(losses[0]);
      expect(errors).toEqual([]);
    });
  });

  it('not isolated: one thread on the single-memory build, the same logits', async () => {
    await withPage(false, '', async (page, errors) => {
      const loaded = await pageState(page);
      expect(loaded.isolated).toBe(false);
      expect(loaded.threads).toBe(1);
      const state = await classifyInPage(page);
      expect(state.lastClassification!.kernels['Conv2D:wasm']).toBeGreaterThan(20);
      // Every reduction is split the same way whatever the thread count, so the logits are identical.
      expect(state.lastClassification!.logits).toEqual(isolatedLogits);
      expect(errors).toEqual([]);
    });
  });

  it('loads weights from a URL given as ?weights= and classifies a dropped image', async () => {
    copyFileSync(weightsFile, join(demo.dir, 'golden.safetensors'));
    await withPage(true, '?weights=golden.safetensors', async (page, errors) => {
      const loaded = await pageState(page);
      expect(loaded.weights).toMatchObject({ model: 'parcnet-xs' });
      expect(await page.textContent('#weights-info')).toContain('golden.safetensors: parcnet-xs');
      // This time the image is dropped on the page, as a user would.
      const dropped = await page.evaluateHandle((bytes) => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([new Uint8Array(bytes)], 'dropped-cat.jpg', { type: 'image/jpeg' }));
        return transfer;
      }, Array.from(readBytes(image)));
      await page.dispatchEvent('#drop-zone', 'drop', { dataTransfer: dropped });
      await page.waitForFunction(() => (window as unknown as { parcnetDemo: PageState }).parcnetDemo.lastClassification !== null);
      await settled(page);
      expect(maxDifference((await pageState(page)).lastClassification!.logits, nodeLogits)).toBeLessThan(1e-4);
      expect(await page.textContent('#classify-time')).toMatch(/^dropped-cat\.jpg: forward in [\d.]+ ms/);
      expect(errors).toEqual([]);
    });
  });

  it('refuses a file that is not a weights file, naming it, and keeps working', async () => {
    await withPage(true, '', async (page) => {
      await page.setInputFiles('#weights-file', image);
      await page.waitForFunction(() => (window as unknown as { parcnetDemo: { error: string | null } }).parcnetDemo.error !== null);
      const error = await page.evaluate(() => (window as unknown as { parcnetDemo: { error: string } }).parcnetDemo.error);
      expect(error).toContain('0000.jpg');
      expect(await page.textContent('#status')).toContain('0000.jpg');
      const state = await classifyInPage(page);
      expect(maxDifference(state.lastClassification!.logits, nodeLogits)).toBeLessThan(1e-4);
    });
  });
});

describe('the packages a page imports', () => {
  // Node-only code lives in *.node.ts adapters (and worker.mjs), picked by the `browser` condition.
  it('import no Node built-in outside their Node adapters', () => {
    const root = fileURLToPath(new URL('../../../packages/', import.meta.url));
    const offenders: string[] = [];
    for (const name of ['tensor', 'autograd', 'nn', 'parc', 'models', 'io', 'wasm']) {
      const walk = (dir: string): void => {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          const path = join(dir, entry.name);
          if (entry.isDirectory()) walk(path);
          else if (/\.(ts|mjs)$/.test(entry.name) && !/\.node\.ts$|^worker\.mjs$/.test(entry.name)) {
            if (/from '(node:[\w/]+|fs|fs\/promises|os|path|url|worker_threads)'/.test(readFileSync(path, 'utf8'))) offenders.push(path.slice(root.length));
          }
        }
      };
      walk(join(root, name, 'src'));
    }
    expect(offenders).toEqual([]);
  });
});
